/* deadlines.c — what is still owed on a child's case, read from the services' schemas as the
 * admin: the open deadlines `trivselctl case show` lists and `trivselctl demo` follows step by
 * step. Intake: the 24-hour triage and the kvittering. Assessment: the børnefaglig
 * undersøgelse, barnets plan, the follow-ups and the appeal deadline. Ordering: the supplier's
 * answer to an order and the next monthly settlement of its period. Docs: the supplier's next
 * status report and the next month whose hours are reconciled. A schema that is not there is
 * skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "ctl.h"

/* Each query: what, a date ("YYYY-MM-DD", due at the end of that day) or an instant (epoch
 * seconds), and the note for a deadline that has passed (see ctl_deadline_state). */
static const char assessment_sql[] =
    "SELECT 'børnefaglig undersøgelse ' || i.investigation_id, to_char(i.due_date, "
    "'YYYY-MM-DD'), NULL::bigint,"
    "  'overdue: a foreløbig vurdering is required'"
    "  FROM assessment.investigation i WHERE i.case_id = $1 AND i.concluded_at IS NULL"
    " UNION ALL"
    " SELECT 'barnets plan, decision ' || d.decision_id, to_char(d.plan_due_date, "
    "'YYYY-MM-DD'), NULL, 'overdue'"
    "  FROM assessment.decision d WHERE d.case_id = $1 AND d.plan_required"
    "   AND NOT EXISTS (SELECT FROM assessment.plan p WHERE p.decision_id = d.decision_id)"
    " UNION ALL"
    " SELECT CASE WHEN f.first_followup THEN 'first follow-up' ELSE 'follow-up' END || ', "
    "decision ' || d.decision_id,"
    "  to_char(f.due_date, 'YYYY-MM-DD'), NULL, 'overdue'"
    "  FROM assessment.followup f JOIN assessment.decision d ON d.decision_id = f.decision_id"
    "  WHERE d.case_id = $1 AND f.held_at IS NULL"
    " UNION ALL"
    " SELECT 'appeal deadline (klagefrist), decision ' || d.decision_id, "
    "to_char(d.appeal_deadline, 'YYYY-MM-DD'),"
    "  NULL, 'passed: the decision is final unless an appeal came'"
    "  FROM assessment.decision d WHERE d.case_id = $1"
    "   AND d.appeal_deadline >= (now() AT TIME ZONE 'Europe/Copenhagen')::date";

static const char intake_sql[] =
    "SELECT 'triage (24 hours), underretning ' || u.id, NULL, extract(epoch FROM "
    "u.triage_due_at)::bigint,"
    "  'overdue'"
    "  FROM intake.underretning u WHERE u.case_id::text = $1 AND u.triaged_at IS NULL"
    " UNION ALL"
    " SELECT 'kvittering (6 hverdage), underretning ' || u.id, to_char(u.receipt_due_date, "
    "'YYYY-MM-DD'), NULL,"
    "  'overdue'"
    "  FROM intake.underretning u WHERE u.case_id::text = $1 AND u.receipt_required AND "
    "u.receipt_sent_at IS NULL";

/* The next month of an order's period that is not settled: one per order, not all six. */
static const char ordering_sql[] =
    "SELECT 'supplier''s answer, order ' || o.order_id || ' (CVR ' || o.supplier_cvr || ')',"
    "  NULL, extract(epoch FROM o.accept_due_at)::bigint,"
    "  'overdue: flagged as not accepted in time'"
    "  FROM ordering.orders o WHERE o.case_id = $1 AND o.status = 'placed' AND o.ended_at IS NULL"
    " UNION ALL"
    " SELECT 'monthly settlement ' || d.month || ' (kommune ' || o.municipality || '), order ' ||"
    "  o.order_id, NULL, extract(epoch FROM d.due_at)::bigint,"
    "  'overdue: waits for the answers of its orders, or trivselctl settle ' || d.month"
    "  FROM ordering.orders o CROSS JOIN LATERAL ("
    "    SELECT s.month, s.due_at FROM ordering.settlement_due s"
    "     WHERE s.municipality = o.municipality"
    "       AND s.month BETWEEN to_char(o.start_date, 'YYYY-MM') AND to_char(o.end_date, 'YYYY-MM')"
    "       AND NOT EXISTS (SELECT FROM ordering.settlement x"
    "         WHERE x.municipality = s.municipality AND x.month = s.month)"
    "     ORDER BY s.month LIMIT 1) d"
    "  WHERE o.case_id = $1 AND o.status <> 'declined'";

/* The first open status report and the next month to reconcile of each order. */
static const char docs_sql[] =
    "SELECT 'status report ' || r.report_number || ' (' || r.period_start || '..' ||"
    "  r.period_end || '), order ' || o.order_id, to_char(r.due_date, 'YYYY-MM-DD'), NULL::bigint,"
    "  'overdue'"
    "  FROM docs.orders o CROSS JOIN LATERAL ("
    "    SELECT * FROM docs.report x WHERE x.municipality = o.municipality"
    "     AND x.order_id = o.order_id AND x.closed_at IS NULL"
    "     ORDER BY x.report_number LIMIT 1) r"
    "  WHERE o.case_id = $1"
    " UNION ALL"
    " SELECT 'hours of ' || h.month || ' reconciled (delivered against ordered), order ' ||"
    "  o.order_id, NULL, extract(epoch FROM h.due_at)::bigint, 'overdue'"
    "  FROM docs.orders o CROSS JOIN LATERAL ("
    "    SELECT * FROM docs.deadline x WHERE x.municipality = o.municipality"
    "     AND x.order_id = o.order_id AND x.kind = 'hours' AND x.fired_at IS NULL"
    "     AND x.closed_at IS NULL ORDER BY x.due_at LIMIT 1) h"
    "  WHERE o.case_id = $1";

void ctl_span(int64_t seconds, char *buf, size_t len)
{
    int64_t m = seconds / 60, d = m / 1440, h = m / 60 % 24;
    m %= 60;
    if (d > 0)
        snprintf(buf, len, "%lld d %lld h", (long long)d, (long long)h);
    else if (h > 0)
        snprintf(buf, len, "%lld h %lld m", (long long)h, (long long)m);
    else
        snprintf(buf, len, "%lld m", (long long)m);
}

void ctl_deadline_due_text(const ctl_deadline_t *d, char buf[32])
{
    /* A date's deadline is shown as its last minute, 23:59. */
    tr_calendar_format_local(d->instant ? d->due : d->due - 60, buf, 32);
}

void ctl_deadline_state(const ctl_deadline_t *d, int64_t now, char *buf, size_t len)
{
    char left[32];
    ctl_span(d->due <= now ? now - d->due : d->due - now, left, sizeof left);
    if (d->due > now)
        snprintf(buf, len, "due in %s", left);
    else if (strncmp(d->note, "overdue:", 8) == 0)
        snprintf(buf, len, "overdue by %s:%s", left, d->note + 8);
    else
        snprintf(buf, len, "%s by %s", d->note, left);
}

static int by_due(const void *a, const void *b)
{
    const ctl_deadline_t *x = a, *y = b;
    return x->due < y->due ? -1 : x->due > y->due;
}

int ctl_open_deadlines(PGconn *conn, const char *case_id, int64_t now, ctl_deadline_t **out,
                       int *count)
{
    PGresult *present = ctl_query(conn,
                                  "SELECT to_regclass('assessment.decision') IS NOT NULL,"
                                  "  to_regclass('intake.underretning') IS NOT NULL,"
                                  "  to_regclass('ordering.settlement_due') IS NOT NULL,"
                                  "  to_regclass('docs.report') IS NOT NULL",
                                  0, NULL, PGRES_TUPLES_OK);
    if (!present)
        return -1;
    static const char *const sql[] = {assessment_sql, intake_sql, ordering_sql, docs_sql};
    enum { NPARTS = sizeof sql / sizeof sql[0] };
    PGresult *parts[NPARTS] = {NULL};
    const char *values[1] = {case_id};
    int rc = -1, n = 0, kept = 0;
    for (int p = 0; p < NPARTS; p++) {
        if (!ctl_colb(present, 0, p))
            continue;
        if (!(parts[p] = ctl_query(conn, sql[p], 1, values, PGRES_TUPLES_OK)))
            goto out;
        n += PQntuples(parts[p]);
    }
    ctl_deadline_t *rows = calloc((size_t)(n ? n : 1), sizeof *rows);
    if (!rows) {
        fprintf(stderr, "trivselctl: out of memory\n");
        goto out;
    }
    for (int p = 0; p < NPARTS; p++) {
        for (int i = 0; parts[p] && i < PQntuples(parts[p]); i++) {
            ctl_deadline_t *r = &rows[kept];
            if (!PQgetisnull(parts[p], i, 2)) {
                r->due = strtoll(PQgetvalue(parts[p], i, 2), NULL, 10);
                r->instant = true;
            } else {
                tr_date_t d;
                if (tr_calendar_parse_date(ctl_col(parts[p], i, 1), &d, NULL) < 0)
                    continue;
                r->due = tr_calendar_end_of_day_utc(d);
            }
            /* An appeal deadline that has passed is no longer open. */
            if (strncmp(ctl_col(parts[p], i, 0), "appeal", 6) == 0 && r->due <= now)
                continue;
            snprintf(r->what, sizeof r->what, "%s", ctl_col(parts[p], i, 0));
            snprintf(r->note, sizeof r->note, "%s", ctl_col(parts[p], i, 3));
            kept++;
        }
    }
    qsort(rows, (size_t)kept, sizeof *rows, by_due);
    *out = rows;
    *count = kept;
    rc = 0;
out:
    for (int p = 0; p < NPARTS; p++)
        PQclear(parts[p]);
    PQclear(present);
    return rc;
}
