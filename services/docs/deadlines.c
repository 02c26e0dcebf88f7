/* deadlines.c — what becomes due with time (ARCHITECTURE.md principle 3): docs.report.due a
 * configured time before a status report's due day ends, docs.report.overdue when it has ended
 * (Danish time), docs.hours.reconciled after each month of an accepted order. They are rows in
 * docs.deadline (orders.c writes them); the daemon keeps only ONE libuv timer, set to the next
 * due row (never longer than TRIVSEL_DOCS_DEADLINE_POLL), and looks again on a NOTIFY
 * docs_deadline, a reconnect and at start. One transaction claims the due rows with
 * FOR UPDATE SKIP LOCKED, marks them fired and writes their events into broker.outbox, so a row
 * fires once across restarts and instances; one that fell due while no instance ran fires at
 * start. A report closes its unfired rows (submission.c); a warning whose report is already
 * overdue when claimed is closed as superseded instead of sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs.h"
#include "log.h"

#define RETRY_MS 1000
#define BATCH "100"

/* Columns: 0 id, 1 kind, 2 municipality, 3 order_id, 4 case_id, 5 supplier_cvr,
 * 6 report_number, 7 month, 8 caseworker id, 9 name, 10 team, 11 order's team, 12 due_date,
 * 13 period_start, 14 period_end, 15 superseded, 16 days_active, 17 ordered_minutes,
 * 18 delivered_minutes, 19 notes_count, 20 due_at (epoch). */
static const char claim_sql[] =
    "WITH due AS ("
    "  SELECT id FROM docs.deadline WHERE fired_at IS NULL AND closed_at IS NULL"
    "   AND due_at <= now() ORDER BY due_at, id LIMIT " BATCH " FOR UPDATE SKIP LOCKED),"
    " fired AS ("
    "  UPDATE docs.deadline d SET fired_at = now() FROM due WHERE d.id = due.id"
    "  RETURNING d.id, d.kind, d.municipality, d.order_id, d.report_number, d.month, d.due_at)"
    " SELECT f.id, f.kind, f.municipality, f.order_id, o.case_id, o.supplier_cvr,"
    "  f.report_number, f.month, o.caseworker_id, o.caseworker_name, o.caseworker_team, o.team,"
    "  coalesce(to_char(r.due_date, 'YYYY-MM-DD'), ''),"
    "  coalesce(to_char(r.period_start, 'YYYY-MM-DD'), ''),"
    "  coalesce(to_char(r.period_end, 'YYYY-MM-DD'), ''),"
    "  f.kind = 'report_due' AND coalesce(r.overdue_at <= now(), false),"
    "  coalesce(h.days_active, 0), coalesce(h.ordered_minutes, 0),"
    "  coalesce(h.delivered_minutes, 0), coalesce(h.notes_count, 0),"
    "  extract(epoch FROM f.due_at)::bigint"
    " FROM fired f JOIN docs.orders o ON o.municipality = f.municipality"
    "  AND o.order_id = f.order_id"
    " LEFT JOIN docs.report r ON r.municipality = f.municipality AND r.order_id = f.order_id"
    "  AND r.report_number = f.report_number AND f.kind <> 'hours'"
    " LEFT JOIN LATERAL docs.month_hours(f.municipality, f.order_id, f.month) h ON true"
    " ORDER BY f.id";

static const char next_sql[] =
    "SELECT ceil(extract(epoch FROM ((SELECT due_at FROM docs.deadline"
    " WHERE fired_at IS NULL AND closed_at IS NULL ORDER BY due_at LIMIT 1) - clock_timestamp())) * 1000)::bigint";

struct docs_deadlines {
    docs_t *d;
    uv_timer_t timer;
    bool running, again, stopping;
    void (*stopped_cb)(void *arg);
    void *stopped_arg;
    tr_pg_txn_t *txn;
    int fired;
};

static void pass(docs_deadlines_t *dl);

static void closed_cb(uv_handle_t *h)
{
    free(h->data);
}

static void stopped(docs_deadlines_t *dl)
{
    void (*cb)(void *) = dl->stopped_cb;
    void *arg = dl->stopped_arg;
    uv_close((uv_handle_t *)&dl->timer, closed_cb);
    if (cb)
        cb(arg);
}

static void timer_cb(uv_timer_t *t)
{
    pass(t->data);
}

static void idle(docs_deadlines_t *dl, uint64_t delay_ms)
{
    dl->running = false;
    if (dl->stopping) {
        stopped(dl);
        return;
    }
    if (dl->again) {
        dl->again = false;
        pass(dl);
        return;
    }
    uv_update_time(dl->timer.loop);
    uv_timer_start(&dl->timer, timer_cb, delay_ms, 0);
}

static void next_cb(PGresult *res, const char *error, void *arg)
{
    docs_deadlines_t *dl = arg;
    uint64_t poll = (uint64_t)dl->d->settings.poll_ms, delay = poll;
    if (error)
        tr_log_warn("cannot read the next deadline", TR_LOG_STR("error", error));
    else if (!PQgetisnull(res, 0, 0)) {
        long long ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        delay = ms <= 0 ? 0 : (uint64_t)ms + 10; /* a little after, so now() is past it */
        if (delay > poll)
            delay = poll;
    }
    idle(dl, delay);
}

static void next(docs_deadlines_t *dl)
{
    if (tr_pg_query(dl->d->pg, next_sql, 0, NULL, next_cb, dl) < 0)
        idle(dl, RETRY_MS);
}

static void committed_cb(const char *error, void *arg)
{
    docs_deadlines_t *dl = arg;
    if (error) {
        tr_log_warn("deadlines not fired; trying again", TR_LOG_STR("error", error));
        idle(dl, RETRY_MS);
        return;
    }
    next(dl);
}

static void abandon(docs_deadlines_t *dl, const char *why)
{
    tr_log_warn("deadlines not fired; trying again", TR_LOG_STR("error", why));
    tr_pg_rollback(dl->txn, NULL, NULL);
    idle(dl, RETRY_MS);
}

static int fire_report(docs_deadlines_t *dl, const PGresult *res, int i, bool overdue,
                       char *event_id, tr_error_t *err)
{
    Trivsel__Period period = TRIVSEL__PERIOD__INIT;
    period.start_date = PQgetvalue(res, i, 13);
    period.end_date = PQgetvalue(res, i, 14);
    Trivsel__Employee cw = TRIVSEL__EMPLOYEE__INIT;
    cw.id = PQgetvalue(res, i, 8);
    cw.name = PQgetvalue(res, i, 9);
    cw.team = PQgetvalue(res, i, 10);
    const char *cvr = PQgetvalue(res, i, 5);
    char subject[64];
    snprintf(subject, sizeof subject, "docs.report.%s.%s", overdue ? "overdue" : "due", cvr);
    /* The same fields in both messages (docs.proto): one fills the other's layout. */
    Trivsel__Docs__ReportDue due = TRIVSEL__DOCS__REPORT_DUE__INIT;
    Trivsel__Docs__ReportOverdue late = TRIVSEL__DOCS__REPORT_OVERDUE__INIT;
    const ProtobufCMessage *msg;
    if (overdue) {
        late.order_id = PQgetvalue(res, i, 3);
        late.case_id = PQgetvalue(res, i, 4);
        late.supplier_cvr = (char *)cvr;
        late.report_number = (uint32_t)atoi(PQgetvalue(res, i, 6));
        late.due_date = PQgetvalue(res, i, 12);
        late.period = &period;
        late.caseworker = &cw;
        late.team = PQgetvalue(res, i, 11);
        msg = &late.base;
    } else {
        due.order_id = PQgetvalue(res, i, 3);
        due.case_id = PQgetvalue(res, i, 4);
        due.supplier_cvr = (char *)cvr;
        due.report_number = (uint32_t)atoi(PQgetvalue(res, i, 6));
        due.due_date = PQgetvalue(res, i, 12);
        due.period = &period;
        due.caseworker = &cw;
        due.team = PQgetvalue(res, i, 11);
        msg = &due.base;
    }
    snprintf(event_id, 200, "docs-report-%s-%s-%s-%s", overdue ? "overdue" : "due",
             PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 6));
    return docs_emit_txn(dl->txn, event_id, subject, PQgetvalue(res, i, 2), PQgetvalue(res, i, 4),
                         strtoll(PQgetvalue(res, i, 20), NULL, 10), msg, err);
}

static int fire_hours(docs_deadlines_t *dl, const PGresult *res, int i, char *event_id,
                      tr_error_t *err)
{
    Trivsel__Docs__HoursReconciled h = TRIVSEL__DOCS__HOURS_RECONCILED__INIT;
    h.order_id = PQgetvalue(res, i, 3);
    h.case_id = PQgetvalue(res, i, 4);
    h.supplier_cvr = PQgetvalue(res, i, 5);
    h.month = PQgetvalue(res, i, 7);
    h.days_active = (uint32_t)atoi(PQgetvalue(res, i, 16));
    h.ordered_minutes = (uint32_t)atoi(PQgetvalue(res, i, 17));
    h.delivered_minutes = (uint32_t)atoi(PQgetvalue(res, i, 18));
    h.notes_count = (uint32_t)atoi(PQgetvalue(res, i, 19));
    h.difference_minutes = (int32_t)h.delivered_minutes - (int32_t)h.ordered_minutes;
    snprintf(event_id, 200, "docs-hours-%s-%s-%s", PQgetvalue(res, i, 2), h.order_id, h.month);
    return docs_emit_txn(dl->txn, event_id, "docs.hours.reconciled", PQgetvalue(res, i, 2),
                         h.case_id, strtoll(PQgetvalue(res, i, 20), NULL, 10), &h.base, err);
}

static void claimed_cb(PGresult *res, const char *error, void *arg)
{
    docs_deadlines_t *dl = arg;
    if (error) {
        abandon(dl, error);
        return;
    }
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(res, i, 0), *kind = PQgetvalue(res, i, 1);
        if (strcmp(PQgetvalue(res, i, 15), "t") == 0) {
            const char *v[1] = {id};
            tr_pg_txn_query(dl->txn,
                            "UPDATE docs.deadline SET fired_at = NULL, closed_at = now(),"
                            " closed_reason = 'superseded' WHERE id = $1",
                            1, v, NULL, NULL);
            tr_log_info("deadline superseded", TR_LOG_STR("kind", kind),
                        TR_LOG_STR("order_id", PQgetvalue(res, i, 3)));
            continue;
        }
        char event_id[200];
        tr_error_t err = {0};
        int rc = strcmp(kind, "hours") == 0
                     ? fire_hours(dl, res, i, event_id, &err)
                     : fire_report(dl, res, i, strcmp(kind, "report_overdue") == 0, event_id, &err);
        if (rc < 0) {
            abandon(dl, err.message);
            return;
        }
        const char *v[2] = {id, event_id};
        tr_pg_txn_query(dl->txn, "UPDATE docs.deadline SET fired_event_id = $2 WHERE id = $1", 2,
                        v, NULL, NULL);
        tr_metric_inc(tr_metrics_counter(dl->d->metrics, "trivsel_docs_deadlines_fired_total",
                                         "Deadlines fired (their event written), by kind.",
                                         "kind", kind, NULL));
        tr_log_info("deadline fired", TR_LOG_STR("kind", kind),
                    TR_LOG_STR("order_id", PQgetvalue(res, i, 3)),
                    TR_LOG_STR("event_id", event_id));
    }
    tr_pg_commit(dl->txn, committed_cb, dl);
}

static void begun_cb(tr_pg_txn_t *txn, const char *error, void *arg)
{
    docs_deadlines_t *dl = arg;
    if (error) {
        idle(dl, RETRY_MS);
        return;
    }
    dl->txn = txn;
    if (tr_pg_txn_query(txn, claim_sql, 0, NULL, claimed_cb, dl) < 0)
        abandon(dl, "cannot queue the claim");
}

static void pass(docs_deadlines_t *dl)
{
    if (dl->running) {
        dl->again = true;
        return;
    }
    if (dl->stopping)
        return;
    dl->running = true;
    uv_timer_stop(&dl->timer);
    if (tr_pg_begin(dl->d->pg, begun_cb, dl) < 0)
        idle(dl, RETRY_MS);
}

int docs_deadlines_new(docs_t *d, docs_deadlines_t **out, tr_error_t *err)
{
    docs_deadlines_t *dl = calloc(1, sizeof *dl);
    if (!dl)
        return tr_error_set(err, TR_ENOMEM, "out of memory");
    dl->d = d;
    uv_timer_init(tr_daemon_loop(d->daemon), &dl->timer);
    dl->timer.data = dl;
    *out = dl;
    pass(dl);
    return 0;
}

void docs_deadlines_kick(docs_deadlines_t *dl)
{
    if (dl)
        pass(dl);
}

void docs_deadlines_stop(docs_deadlines_t *dl, void (*done_cb)(void *arg), void *arg)
{
    dl->stopping = true;
    dl->stopped_cb = done_cb;
    dl->stopped_arg = arg;
    uv_timer_stop(&dl->timer);
    if (!dl->running)
        stopped(dl); /* else the pass in hand ends in idle(), which stops */
}
