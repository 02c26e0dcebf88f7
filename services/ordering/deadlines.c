/* deadlines.c — what becomes due with time (ARCHITECTURE.md principle 3: deadlines are data,
 * computed from the events' own timestamps and kept in the database):
 *
 *   - an order not accepted by its accept_due_at is flagged (acceptance.c);
 *   - a month is settled when its ordering.settlement_due row is due: after the month has
 *     ended in Danish time plus TRIVSEL_ORDERING_SETTLEMENT_DELAY (automatic, unless
 *     TRIVSEL_ORDERING_AUTO_SETTLE is off), or at once when `trivselctl settle` asked for it.
 *     The automatic run waits while an order active in the month still awaits its supplier's
 *     answer within its acceptance deadline: an order placed after its month ended (a late
 *     registration) would otherwise be settled at once as not accepted, and a settled month
 *     is never computed again. Once the supplier answers (its NOTIFY runs a pass) or the
 *     deadline passes (the order is flagged), the month is settled.
 *
 * One pass does both, then sleeps until the next due instant (never longer than
 * TRIVSEL_ORDERING_DEADLINE_POLL, in case a notification was missed). A NOTIFY on
 * ordering_deadline, a reconnect and the start run a pass at once, so whatever fell due while
 * the daemon was down happens at start. Each month is claimed with FOR UPDATE SKIP LOCKED in the
 * transaction that settles it: with several instances, one settles it, once. */
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "ordering.h"

struct ordering_deadlines {
    ordering_t *o;
    uv_timer_t timer;
    bool running, again, stopping;
    void (*stopped_cb)(void *arg);
    void *stopped_arg;
    tr_pg_txn_t *txn;
    char municipality[8], month[8];
};

/* A settlement_due row d that may be settled now, as far as its orders go: asked for by
 * `trivselctl settle`, or no order active in the month still awaits its supplier's answer. */
#define SETTLEABLE                                                                                 \
    " (d.requested_at IS NOT NULL OR NOT EXISTS (SELECT 1 FROM ordering.orders o"                 \
    "   WHERE o.municipality = d.municipality AND o.status = 'placed' AND o.ended_at IS NULL"     \
    "   AND o.unaccepted_flagged_at IS NULL AND o.accept_due_at > now()"                          \
    "   AND to_char(o.start_date, 'YYYY-MM') <= d.month AND to_char(o.end_date, 'YYYY-MM') >="    \
    " d.month))"

static void pass(ordering_deadlines_t *dl);
static void stopped(ordering_deadlines_t *dl);

static void timer_cb(uv_timer_t *t)
{
    pass(t->data);
}

static void idle(ordering_deadlines_t *dl, uint64_t delay_ms)
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
    uv_timer_start(&dl->timer, timer_cb, delay_ms, 0);
}

static void next_due_cb(PGresult *res, const char *error, void *arg)
{
    ordering_deadlines_t *dl = arg;
    uint64_t poll = (uint64_t)dl->o->settings.poll_ms, delay = poll;
    if (!error && !PQgetisnull(res, 0, 0)) {
        double in_ms = atof(PQgetvalue(res, 0, 0)) * 1000.0;
        /* A little after the instant, so now() in the claim is past it. */
        delay = in_ms <= 0 ? 0 : (uint64_t)in_ms + 10;
        if (delay > poll)
            delay = poll;
    }
    idle(dl, delay);
}

static void next_due(ordering_deadlines_t *dl)
{
    const char *v[1] = {dl->o->settings.auto_settle ? "true" : "false"};
    if (tr_pg_query(dl->o->pg,
                    "SELECT extract(epoch FROM least("
                    "  (SELECT min(accept_due_at) FROM ordering.orders WHERE status = 'placed' AND"
                    " ended_at IS NULL"
                    "    AND unaccepted_flagged_at IS NULL),"
                    "  (SELECT min(due_at) FROM ordering.settlement_due d WHERE ($1::boolean OR"
                    " requested_at IS NOT NULL) AND" SETTLEABLE
                    "    AND NOT EXISTS (SELECT 1 FROM ordering.settlement s"
                    "      WHERE s.municipality = d.municipality AND s.month = d.month))) - now())",
                    1, v, next_due_cb, dl) < 0)
        idle(dl, (uint64_t)dl->o->settings.poll_ms);
}

static void claim(ordering_deadlines_t *dl);

static void committed_cb(const char *error, void *arg)
{
    ordering_deadlines_t *dl = arg;
    if (error) {
        tr_log_warn("settlement not committed; trying again later", TR_LOG_STR("month", dl->month),
                    TR_LOG_STR("error", error));
        idle(dl, (uint64_t)dl->o->settings.poll_ms);
        return;
    }
    claim(dl); /* the next due month, if any */
}

static void settled_cb(const char *error, void *arg)
{
    ordering_deadlines_t *dl = arg;
    if (error) {
        tr_log_warn("cannot settle; trying again later",
                    TR_LOG_STR("municipality", dl->municipality), TR_LOG_STR("month", dl->month),
                    TR_LOG_STR("error", error));
        tr_pg_rollback(dl->txn, NULL, NULL);
        idle(dl, (uint64_t)dl->o->settings.poll_ms);
        return;
    }
    tr_pg_commit(dl->txn, committed_cb, dl);
}

static void nothing_cb(const char *error, void *arg)
{
    ordering_deadlines_t *dl = arg;
    (void)error;
    next_due(dl);
}

static void ignore_cb(PGresult *res, const char *error, void *arg)
{
    (void)res;
    (void)error;
    (void)arg;
}

static void claimed_cb(PGresult *res, const char *error, void *arg)
{
    ordering_deadlines_t *dl = arg;
    if (error || PQntuples(res) == 0) {
        if (error)
            tr_log_warn("cannot read due settlements", TR_LOG_STR("error", error));
        tr_pg_commit(dl->txn, nothing_cb, dl);
        return;
    }
    snprintf(dl->municipality, sizeof dl->municipality, "%s", PQgetvalue(res, 0, 0));
    snprintf(dl->month, sizeof dl->month, "%s", PQgetvalue(res, 0, 1));
    int year = atoi(dl->month), month = atoi(dl->month + 5);
    int64_t ended = ordering_month_end_utc(year, month);
    if (ended > (int64_t)time(NULL)) {
        /* Asked for too early (the row says due, the calendar says the month runs on): a month
         * is settled only once it has ended, whoever asks. */
        char at[32];
        snprintf(at, sizeof at, "%lld", (long long)ended);
        const char *v[3] = {dl->municipality, dl->month, at};
        tr_pg_txn_query(dl->txn,
                        "UPDATE ordering.settlement_due SET due_at = to_timestamp($3::bigint)"
                        " WHERE municipality = $1 AND month = $2",
                        3, v, ignore_cb, NULL);
        tr_pg_commit(dl->txn, committed_cb, dl);
        return;
    }
    ordering_settle(dl->o, dl->txn, dl->municipality, dl->month, settled_cb, dl);
}

static void begun_cb(tr_pg_txn_t *txn, const char *error, void *arg)
{
    ordering_deadlines_t *dl = arg;
    if (error) {
        idle(dl, (uint64_t)dl->o->settings.poll_ms);
        return;
    }
    dl->txn = txn;
    const char *v[1] = {dl->o->settings.auto_settle ? "true" : "false"};
    tr_pg_txn_query(txn,
                    "SELECT municipality, month FROM ordering.settlement_due d"
                    " WHERE due_at <= now() AND ($1::boolean OR requested_at IS NOT NULL) AND"
                    SETTLEABLE
                    " AND NOT EXISTS (SELECT 1 FROM ordering.settlement s"
                    "   WHERE s.municipality = d.municipality AND s.month = d.month)"
                    " ORDER BY month, municipality LIMIT 1 FOR UPDATE SKIP LOCKED",
                    1, v, claimed_cb, dl);
}

static void claim(ordering_deadlines_t *dl)
{
    if (dl->stopping || tr_pg_begin(dl->o->pg, begun_cb, dl) < 0)
        idle(dl, (uint64_t)dl->o->settings.poll_ms);
}

static void flagged_cb(void *arg)
{
    claim(arg);
}

static void pass(ordering_deadlines_t *dl)
{
    if (dl->running) {
        dl->again = true;
        return;
    }
    if (dl->stopping)
        return;
    dl->running = true;
    uv_timer_stop(&dl->timer);
    ordering_flag_unaccepted(dl->o, flagged_cb, dl);
}

int ordering_deadlines_new(ordering_t *o, ordering_deadlines_t **out, tr_error_t *err)
{
    ordering_deadlines_t *dl = calloc(1, sizeof *dl);
    if (!dl)
        return tr_error_set(err, TR_ENOMEM, "out of memory");
    dl->o = o;
    uv_timer_init(tr_daemon_loop(o->daemon), &dl->timer);
    dl->timer.data = dl;
    *out = dl;
    pass(dl);
    return 0;
}

void ordering_deadlines_kick(ordering_deadlines_t *dl)
{
    if (dl)
        pass(dl);
}

static void closed_cb(uv_handle_t *h)
{
    free(h->data);
}

/* Closes the timer (which frees dl) and reports the stop. */
static void stopped(ordering_deadlines_t *dl)
{
    void (*cb)(void *) = dl->stopped_cb;
    void *arg = dl->stopped_arg;
    dl->stopped_cb = NULL;
    uv_close((uv_handle_t *)&dl->timer, closed_cb);
    if (cb)
        cb(arg);
}

void ordering_deadlines_stop(ordering_deadlines_t *dl, void (*done_cb)(void *arg), void *arg)
{
    dl->stopping = true;
    dl->stopped_cb = done_cb;
    dl->stopped_arg = arg;
    uv_timer_stop(&dl->timer);
    if (!dl->running)
        stopped(dl); /* else the pass in hand ends in idle(), which stops */
}
