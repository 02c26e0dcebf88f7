/* trivselctl audit verify — checks the audit log's hash chain (broker.audit, migration
 * broker/0003): every row's hash covers the row and the hash before it, so a changed row, a
 * removed row or a cut-off end shows as the first place where the chain does not hold. Reads
 * as the database admin (TRIVSEL_DATABASE_URL, _USER, _PASSWORD_FILE), in pages of 10,000. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "pg.h"

static int usage(FILE *out)
{
    fprintf(out, "usage: trivselctl audit verify\n\n"
                 "Checks the hash chain of the audit log and names the first broken row.\n"
                 "Exit status 0 when the chain is whole, 1 when it is broken or cannot be read.\n");
    return out == stdout ? 0 : 2;
}

static int verify(PGconn *conn)
{
    /* hex of the hash each row must point back to: 32 zero bytes before the first */
    char expected_prev[80] = "\\x0000000000000000000000000000000000000000000000000000000000000000";
    long long last_seq = 0, rows = 0;
    for (;;) {
        char after[24];
        snprintf(after, sizeof after, "%lld", last_seq);
        const char *values[1] = {after};
        PGresult *res = PQexecParams(
            conn,
            "SELECT seq, prev_hash, hash, sha256(prev_hash || convert_to(broker.audit_row_text(a), 'UTF8')),"
            " to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), principal, action"
            " FROM broker.audit a WHERE seq > $1 ORDER BY seq LIMIT 10000",
            1, NULL, values, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "trivselctl: cannot read the audit log: %s", PQresultErrorMessage(res));
            PQclear(res);
            return 1;
        }
        int n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            long long seq = atoll(PQgetvalue(res, i, 0));
            const char *why = NULL;
            if (seq != last_seq + 1)
                why = "rows before it are missing (the sequence jumps)";
            else if (strcmp(PQgetvalue(res, i, 1), expected_prev) != 0)
                why = "it does not point to the hash of the row before it";
            else if (strcmp(PQgetvalue(res, i, 2), PQgetvalue(res, i, 3)) != 0)
                why = "its content does not match its hash (the row was changed)";
            if (why) {
                printf("audit chain broken at row %lld (%s UTC, %s, %s): %s\n", seq, PQgetvalue(res, i, 4),
                       PQgetvalue(res, i, 5), PQgetvalue(res, i, 6), why);
                PQclear(res);
                return 1;
            }
            snprintf(expected_prev, sizeof expected_prev, "%s", PQgetvalue(res, i, 2));
            last_seq = seq;
            rows++;
        }
        PQclear(res);
        if (n < 10000)
            break;
    }
    PGresult *res = PQexec(conn, "SELECT last_seq, hash FROM broker.audit_head");
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        fprintf(stderr, "trivselctl: cannot read the audit chain's head\n");
        rc = 1;
    } else if (atoll(PQgetvalue(res, 0, 0)) != last_seq) {
        printf("audit chain broken after row %lld: the chain's head is at row %s, so later rows are missing\n",
               last_seq, PQgetvalue(res, 0, 0));
        rc = 1;
    } else if (strcmp(PQgetvalue(res, 0, 1), expected_prev) != 0) {
        /* The last row is there, but it is not the row the chain ended with: it was changed
         * and its hash computed anew. */
        printf("audit chain broken at row %lld: its hash is not the one the chain's head kept (the row was changed and"
               " hashed again)\n",
               last_seq);
        rc = 1;
    } else {
        printf("audit chain intact: %lld row%s\n", rows, rows == 1 ? "" : "s");
    }
    PQclear(res);
    return rc;
}

int ctl_audit(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--help") == 0)
        return usage(stdout);
    if (argc != 2 || strcmp(argv[1], "verify") != 0)
        return usage(stderr);
    PGconn *conn = ctl_database_connect("trivselctl audit");
    if (!conn)
        return 1;
    int rc = verify(conn);
    PQfinish(conn);
    return rc;
}
