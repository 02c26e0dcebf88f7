/* trivselctl intake — for operators: the open underretninger and their deadlines (DOMAIN.md
 * §1), read from the intake schema as the admin (the database variables as for migrate).
 *
 *   trivselctl intake list [--overdue] [--due-within DURATION] [--municipality KODE]
 *
 * One line per open deadline: the 24-hour triage (not yet triaged), the kvittering (not yet
 * sent) and the orientation of a public-employee reporter (due, not yet sent), with the time it
 * is due in Danish time. A deadline given as a date runs to the end of that day (23:59). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "ctl.h"
#include "pg.h"

typedef struct open_deadline {
    char underretning_id[37], case_id[37], municipality[4], team[101], deadline[12];
    bool abuse_case;
    int64_t received, due; /* UTC seconds; due is the instant it has passed */
} open_deadline_t;

static int usage(FILE *out)
{
    fprintf(out, "usage: trivselctl intake list [--overdue] [--due-within DURATION] "
                 "[--municipality KODE]\n\n"
                 "Lists open underretninger with their deadlines in Danish time: the 24-hour "
                 "triage, the kvittering\n"
                 "(6 hverdage) and the orientation of a public-employee reporter. --overdue: those "
                 "whose deadline has\n"
                 "passed; --due-within 6h: those due within that time from now (both: either). "
                 "Database access as\n"
                 "for migrate (TRIVSEL_DATABASE_URL, _USER, _PASSWORD_FILE).\n");
    return out == stdout ? 0 : 2;
}

static int by_due(const void *a, const void *b)
{
    const open_deadline_t *x = a, *y = b;
    return x->due < y->due   ? -1
           : x->due > y->due ? 1
                             : strcmp(x->underretning_id, y->underretning_id);
}

/* Open deadlines. Triage: its instant. Kvittering and orientation: a date, due by its end. */
static const char list_sql[] =
    "SELECT u.id, u.case_id, u.municipality, u.team, u.abuse_case, 'triage',"
    "   extract(epoch FROM u.triage_due_at)::bigint, '', extract(epoch FROM u.received_at)::bigint"
    "  FROM intake.underretning u WHERE u.triaged_at IS NULL AND ($1::text IS NULL OR "
    "u.municipality = $1)"
    " UNION ALL"
    " SELECT u.id, u.case_id, u.municipality, u.team, u.abuse_case, 'kvittering', NULL,"
    "   to_char(u.receipt_due_date, 'YYYY-MM-DD'), extract(epoch FROM u.received_at)::bigint"
    "  FROM intake.underretning u WHERE u.receipt_required AND u.receipt_sent_at IS NULL"
    "   AND ($1::text IS NULL OR u.municipality = $1)"
    " UNION ALL"
    " SELECT u.id, u.case_id, u.municipality, u.team, u.abuse_case, 'orientering', NULL,"
    "   to_char(o.due_date, 'YYYY-MM-DD'), extract(epoch FROM u.received_at)::bigint"
    "  FROM intake.orientation o JOIN intake.underretning u ON u.id = o.underretning_id"
    " WHERE o.sent_at IS NULL AND ($1::text IS NULL OR u.municipality = $1)";

static int list(bool overdue, int64_t within_ms, const char *municipality)
{
    PGconn *conn = ctl_database_connect("trivselctl intake");
    if (!conn)
        return 1;
    const char *values[1] = {municipality};
    PGresult *res = PQexecParams(conn, list_sql, 1, NULL, values, NULL, NULL, 0);
    int rc = 1;
    open_deadline_t *rows = NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "trivselctl: cannot read the intake schema: %s", PQresultErrorMessage(res));
        goto out;
    }
    int n = PQntuples(res), kept = 0;
    rows = calloc((size_t)(n ? n : 1), sizeof *rows);
    if (!rows) {
        fprintf(stderr, "trivselctl: out of memory\n");
        goto out;
    }
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < n; i++) {
        open_deadline_t *r = &rows[kept];
        snprintf(r->underretning_id, sizeof r->underretning_id, "%s", PQgetvalue(res, i, 0));
        snprintf(r->case_id, sizeof r->case_id, "%s", PQgetvalue(res, i, 1));
        snprintf(r->municipality, sizeof r->municipality, "%s", PQgetvalue(res, i, 2));
        snprintf(r->team, sizeof r->team, "%s",
                 PQgetvalue(res, i, 3)[0] ? PQgetvalue(res, i, 3) : "-");
        r->abuse_case = strcmp(PQgetvalue(res, i, 4), "t") == 0;
        snprintf(r->deadline, sizeof r->deadline, "%s", PQgetvalue(res, i, 5));
        r->received = strtoll(PQgetvalue(res, i, 8), NULL, 10);
        if (!PQgetisnull(res, i, 6)) {
            r->due = strtoll(PQgetvalue(res, i, 6), NULL, 10);
        } else {
            tr_date_t d;
            if (tr_calendar_parse_date(PQgetvalue(res, i, 7), &d, NULL) < 0)
                continue;
            r->due = tr_calendar_end_of_day_utc(d);
        }
        bool is_overdue = r->due <= now,
             is_soon = !is_overdue && within_ms >= 0 && r->due < now + within_ms / 1000;
        if ((overdue || within_ms >= 0) && !((overdue && is_overdue) || is_soon))
            continue;
        kept++;
    }
    qsort(rows, (size_t)kept, sizeof *rows, by_due);
    printf("%-36s  %-36s  %-7s  %-16s  %-11s  %-22s  %-22s  %-5s  %s\n", "UNDERRETNING", "CASE",
           "KOMMUNE", "TEAM", "DEADLINE", "RECEIVED (DANISH TIME)", "DUE (DANISH TIME)", "ABUSE",
           "STATE");
    for (int i = 0; i < kept; i++) {
        const open_deadline_t *r = &rows[i];
        char received[32], due[32], span[32], state[48];
        tr_calendar_format_local(r->received, received, sizeof received);
        /* A date's deadline is shown as its last minute, 23:59. */
        tr_calendar_format_local(strcmp(r->deadline, "triage") == 0 ? r->due : r->due - 60, due,
                                 sizeof due);
        ctl_span(r->due <= now ? now - r->due : r->due - now, span, sizeof span);
        snprintf(state, sizeof state, r->due <= now ? "overdue by %s" : "due in %s", span);
        printf("%-36s  %-36s  %-7s  %-16s  %-11s  %-22s  %-22s  %-5s  %s\n", r->underretning_id,
               r->case_id, r->municipality, r->team, r->deadline, received, due,
               r->abuse_case ? "yes" : "no", state);
    }
    printf("(%d open deadline%s)\n", kept, kept == 1 ? "" : "s");
    rc = 0;
out:
    free(rows);
    PQclear(res);
    PQfinish(conn);
    return rc;
}

int ctl_intake(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0)
        return usage(argc < 2 ? stderr : stdout);
    if (strcmp(argv[1], "list") != 0)
        return usage(stderr);
    bool overdue = false;
    int64_t within_ms = -1;
    const char *municipality = NULL;
    for (int i = 2; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--overdue") == 0) {
            overdue = true;
        } else if (strcmp(argv[i], "--due-within") == 0 && v) {
            tr_error_t err = {0};
            if (tr_config_parse_duration(v, &within_ms, &err) < 0) {
                fprintf(stderr, "trivselctl intake list: --due-within: %s\n", err.message);
                return 2;
            }
            i++;
        } else if (strcmp(argv[i], "--municipality") == 0 && v) {
            if (strlen(v) != 3 || strspn(v, "0123456789") != 3) {
                fprintf(stderr,
                        "trivselctl intake list: invalid municipality \"%s\": must be 3 digits, "
                        "e.g. 630\n",
                        v);
                return 2;
            }
            municipality = v;
            i++;
        } else {
            fprintf(stderr, "trivselctl intake list: unexpected argument \"%s\"\n", argv[i]);
            return usage(stderr);
        }
    }
    return list(overdue, within_ms, municipality);
}
