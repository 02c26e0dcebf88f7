/* trivselctl orders list — the orders trivsel-ordering holds, for operators: which are waiting
 * for their supplier, which were flagged as not accepted in time (--unaccepted), their period
 * and budget. Read-only, as the database's admin (like keys list): no child's name or CPR
 * number is printed, only the case's id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "money.h"
#include "pg.h"

static int usage(FILE *out)
{
    fprintf(out,
            "usage: trivselctl orders list [--unaccepted] [--municipality KOMMUNEKODE]\n\nLists the"
            " orders of trivsel-ordering, oldest first: municipality, order, case,\nsupplier CVR,"
            " status (placed = waiting for the supplier, accepted, declined;\n\"ended\" when the"
            " caseworker ended it), period, budget and the time by which the\nsupplier must accept."
            " FLAGS: unaccepted = not accepted in time (flagged), leon =\nplaced with a LEON"
            " reason.\n  --unaccepted   only orders flagged as not accepted in time and still"
            " waiting\n\nDatabase access as for migrate (TRIVSEL_DATABASE_URL, _USER,"
            " _PASSWORD_FILE).\n");
    return out == stdout ? 0 : 2;
}

static int list(bool unaccepted, const char *municipality)
{
    PGconn *conn = ctl_database_connect("trivselctl orders");
    if (!conn)
        return 1;
    const char *v[2] = {unaccepted ? "true" : "false", municipality};
    PGresult *res = PQexecParams(
        conn,
        "SELECT municipality, order_id, case_id, supplier_cvr, CASE WHEN ended_at IS NOT NULL AND"
        " status <> 'declined' THEN status || ',ended' ELSE status END, start_date || '..' ||"
        " end_date, budget_oere, to_char(accept_due_at AT TIME ZONE 'Europe/Copenhagen',"
        " 'YYYY-MM-DD HH24:MI'), concat_ws(',', CASE WHEN unaccepted_flagged_at IS NOT NULL THEN"
        " 'unaccepted' END,   CASE WHEN leon_reason <> '' THEN 'leon' END)"
        " FROM ordering.orders"
        " WHERE ($2::text IS NULL OR municipality = $2)"
        " AND (NOT $1::boolean OR (status = 'placed' AND ended_at IS NULL AND unaccepted_flagged_at"
        " IS NOT NULL))"
        " ORDER BY placed_at, municipality, order_id",
        2, NULL, v, NULL, NULL, 0);
    int rc = 1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "trivselctl: %s", PQresultErrorMessage(res));
        goto out;
    }
    printf("%-4s %-20s %-16s %-8s %-16s %-22s %16s %-16s %s\n", "MUN", "ORDER", "CASE", "SUPPLIER",
           "STATUS", "PERIOD", "BUDGET", "ACCEPT BY", "FLAGS");
    for (int i = 0; i < PQntuples(res); i++) {
        char budget[TR_MONEY_FORMAT_MAX];
        tr_money_format(strtoll(PQgetvalue(res, i, 6), NULL, 10), budget, sizeof budget);
        printf("%-4s %-20s %-16s %-8s %-16s %-22s %16s %-16s %s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
               PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), budget, PQgetvalue(res, i, 7),
               PQgetvalue(res, i, 8));
    }
    rc = 0;
out:
    PQclear(res);
    PQfinish(conn);
    return rc;
}

int ctl_orders(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return usage(argc < 2 ? stderr : stdout);
    if (strcmp(argv[1], "list") != 0)
        return usage(stderr);
    bool unaccepted = false;
    const char *municipality = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--unaccepted") == 0)
            unaccepted = true;
        else if (strcmp(argv[i], "--municipality") == 0 && i + 1 < argc)
            municipality = argv[++i];
        else {
            fprintf(stderr,
                    "trivselctl orders: unexpected argument \"%s\": see trivselctl orders --help\n",
                    argv[i]);
            return 2;
        }
    }
    return list(unaccepted, municipality);
}
