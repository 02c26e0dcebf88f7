/* deadlines.c — the deadline engine (ARCHITECTURE.md principle 3). Deadlines are rows in
 * intake.deadline (kind, due_at in UTC, fired_at); the daemon keeps only the next due time in
 * memory, in ONE libuv timer, and reads it again after every firing, on every notification that
 * rows changed (NOTIFY intake_deadline, from any instance), after a reconnection and every
 * poll_ms. When the timer runs out, one transaction claims the due rows with
 * FOR UPDATE SKIP LOCKED, marks them fired and writes their events into broker.outbox: a row
 * fires once, whichever of several instances claims it, and a row that fell due while no
 * instance ran is due at once when one starts. Times are the database's clock, the one clock
 * all instances share.
 *
 * A claim's rows are written with three statements whatever their number (their events into the
 * outbox, the fired rows' event ids, the superseded rows closed), so a batch of a thousand
 * costs little more than a batch of one: when many fall due together (make bench: 10,000 in one
 * second) the engine catches up in a few transactions.
 *
 * Reading the next due time is one step down the partial index of open deadlines, whatever
 * their number; it runs after every registration and every firing. Counting the open deadlines
 * (the trivsel_intake_deadlines_open gauge) reads all of them, a third of a second with a
 * million open (make bench), so it runs only at start and every poll_ms, never in the way of
 * the firing.
 */
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "log.h"

#define RETRY_MS 1000
/* A claim that found nothing due: another instance holds those rows (or a triage is closing
 * them). Look again a little later rather than at once. */
#define IDLE_CLAIM_MS 100

/* The claimed rows with what their events need. Columns, in order: deadline id, kind, due_at,
 * underretning id, case id, municipality, team, abuse_case, received_at, triage_due_at,
 * receipt_due_date, the database's now. */
static const char claim_sql[] =
    "WITH due AS ("
    "  SELECT id FROM intake.deadline"
    "   WHERE fired_at IS NULL AND closed_at IS NULL AND due_at <= now()"
    "   ORDER BY due_at, id LIMIT $1"
    "     FOR UPDATE SKIP LOCKED)"
    " UPDATE intake.deadline d SET fired_at = now()"
    "   FROM due, intake.underretning u"
    "  WHERE d.id = due.id AND u.id = d.underretning_id"
    " RETURNING d.id, d.kind, (extract(epoch FROM d.due_at) * 1000000)::bigint,"
    "  u.id, u.case_id, u.municipality, u.team, u.abuse_case,"
    "  (extract(epoch FROM u.received_at) * 1000000)::bigint,"
    "  (extract(epoch FROM u.triage_due_at) * 1000000)::bigint,"
    "  coalesce(to_char(u.receipt_due_date, 'YYYY-MM-DD'), ''),"
    "  (extract(epoch FROM now()) * 1000000)::bigint";

/* Milliseconds until the first open deadline is due (negative: overdue); NULL when none. The
 * first entry of the open-deadline index, not min(): with statistics from when the table was
 * small the planner aggregated over every open row (37 ms at 40,000, after every NOTIFY). */
static const char next_sql[] =
    "SELECT ceil(extract(epoch FROM ((SELECT due_at FROM intake.deadline"
    "  WHERE fired_at IS NULL AND closed_at IS NULL ORDER BY due_at LIMIT 1) - clock_timestamp())) * 1000)::bigint";

/* Open deadlines per kind, for the gauge. */
static const char count_sql[] =
    "SELECT kind, count(*) FROM intake.deadline WHERE fired_at IS NULL AND closed_at IS NULL"
    " GROUP BY kind";

typedef struct fired {
    size_t kind;
    char id[24]; /* the deadline's */
    char underretning_id[37];
    char event_id[100];
    bool superseded;
} fired_t;

struct intake_deadlines {
    intake_t *in;
    intake_deadlines_options_t o;
    uv_timer_t timer, poll;
    int open_handles;
    bool reading, firing, again, stopping, counting;
    tr_metric_t **open, **fired_total, *superseded_total;
    fired_t *fired; /* of the transaction in flight, logged and counted once committed */
    size_t nfired;
    void (*stopped_cb)(void *arg);
    void *stopped_arg;
};

static void reread(intake_deadlines_t *d);
static void fire(intake_deadlines_t *d);

static void handle_closed_cb(uv_handle_t *h)
{
    intake_deadlines_t *d = h->data;
    if (--d->open_handles > 0)
        return;
    void (*cb)(void *) = d->stopped_cb;
    void *arg = d->stopped_arg;
    free(d->open);
    free(d->fired_total);
    free(d->fired);
    free(d);
    if (cb)
        cb(arg);
}

/* Once stopping and nothing is in flight, closes the timers (and then frees d). */
static void check_stopped(intake_deadlines_t *d)
{
    if (!d->stopping || d->reading || d->firing || d->counting ||
        uv_is_closing((uv_handle_t *)&d->timer))
        return;
    uv_close((uv_handle_t *)&d->timer, handle_closed_cb);
    uv_close((uv_handle_t *)&d->poll, handle_closed_cb);
}

static void reread_cb(uv_timer_t *t)
{
    reread(t->data);
}

static void retry_later(intake_deadlines_t *d)
{
    if (!d->stopping)
        uv_timer_start(&d->timer, reread_cb, RETRY_MS, 0);
}

static void timer_cb(uv_timer_t *t)
{
    fire(t->data);
}

static void next_cb(PGresult *res, const char *error, void *arg)
{
    intake_deadlines_t *d = arg;
    d->reading = false;
    if (error) {
        tr_log_warn("cannot read the next deadline; trying again", TR_LOG_STR("error", error));
        retry_later(d);
        check_stopped(d);
        return;
    }
    bool any = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
    int64_t first_ms = any ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    if (d->stopping) {
        check_stopped(d);
    } else if (d->again) {
        reread(d); /* something changed while reading */
    } else if (!any) {
        uv_timer_stop(&d->timer);
    } else if (first_ms <= 0) {
        fire(d);
    } else {
        uv_update_time(d->timer.loop);
        uv_timer_start(&d->timer, timer_cb, (uint64_t)first_ms, 0);
    }
}

static void reread(intake_deadlines_t *d)
{
    if (d->stopping)
        return;
    if (d->reading || d->firing) {
        d->again = true;
        return;
    }
    d->again = false;
    d->reading = true;
    if (tr_pg_query(d->in->pg, next_sql, 0, NULL, next_cb, d) < 0) {
        d->reading = false;
        retry_later(d);
    }
}

static void committed_cb(const char *error, void *arg)
{
    intake_deadlines_t *d = arg;
    d->firing = false;
    if (error) {
        tr_log_warn("deadlines not fired; trying again", TR_LOG_STR("error", error));
        d->nfired = 0;
        retry_later(d);
        check_stopped(d);
        return;
    }
    for (size_t i = 0; i < d->nfired; i++) {
        const fired_t *f = &d->fired[i];
        if (f->superseded) {
            tr_metric_inc(d->superseded_total);
            tr_log_info("deadline superseded", TR_LOG_STR("kind", d->o.kinds[f->kind].kind),
                        TR_LOG_STR("underretning_id", f->underretning_id));
        } else {
            tr_metric_inc(d->fired_total[f->kind]);
            tr_log_info("deadline fired", TR_LOG_STR("kind", d->o.kinds[f->kind].kind),
                        TR_LOG_STR("underretning_id", f->underretning_id),
                        TR_LOG_STR("event_id", f->event_id));
        }
    }
    bool claimed = d->nfired > 0;
    d->nfired = 0;
    d->again = false;
    if (claimed)
        reread(d); /* after every firing: the next one, or more that were due than one batch */
    else if (!d->stopping)
        uv_timer_start(&d->timer, reread_cb, IDLE_CLAIM_MS, 0); /* what was due is another's now */
    check_stopped(d);
}

static void abandon(intake_deadlines_t *d, tr_pg_txn_t *txn, const char *why)
{
    tr_log_warn("deadlines not fired; trying again", TR_LOG_STR("error", why));
    d->nfired = 0;
    tr_pg_rollback(txn, NULL, NULL);
    d->firing = false;
    retry_later(d);
    check_stopped(d);
}

typedef struct claim {
    intake_deadlines_t *d;
    tr_pg_txn_t *txn;
} claim_t;

/* Queues the statement that records the batch's fired rows (superseded false: their event ids)
 * or closes its superseded ones: one row of parameters per deadline. */
static int mark(intake_deadlines_t *d, tr_pg_txn_t *txn, bool superseded)
{
    static const char *const fired_casts[2] = {"bigint", "text"}, *const closed_casts[1] = {"bigint"};
    size_t n = 0;
    for (size_t i = 0; i < d->nfired; i++)
        n += d->fired[i].superseded == superseded;
    if (n == 0)
        return 0;
    char *sql = superseded
                    ? tr_pg_rows_sql("UPDATE intake.deadline d SET closed_at = d.fired_at, fired_at = NULL,"
                                     " closed_reason = 'superseded' FROM (VALUES ",
                                     n, 1, closed_casts, ") v (id) WHERE d.id = v.id")
                    : tr_pg_rows_sql("UPDATE intake.deadline d SET fired_event_id = v.event_id FROM (VALUES ", n,
                                     2, fired_casts, ") v (id, event_id) WHERE d.id = v.id");
    const char **values = calloc(2 * n, sizeof *values);
    int rc = TR_ENOMEM;
    if (sql && values) {
        size_t k = 0;
        for (size_t i = 0; i < d->nfired; i++) {
            const fired_t *f = &d->fired[i];
            if (f->superseded != superseded)
                continue;
            values[k++] = f->id;
            if (!superseded)
                values[k++] = f->event_id;
        }
        rc = tr_pg_txn_query(txn, sql, (int)k, values, NULL, NULL);
    }
    free(sql);
    free(values);
    return rc;
}

static void claim_result_cb(PGresult *res, const char *error, void *arg)
{
    claim_t *c = arg;
    intake_deadlines_t *d = c->d;
    tr_pg_txn_t *txn = c->txn;
    free(c);
    if (error) {
        abandon(d, txn, error);
        return;
    }
    int n = PQntuples(res);
    free(d->fired);
    d->fired = calloc((size_t)(n ? n : 1), sizeof *d->fired);
    d->nfired = 0;
    if (!d->fired) {
        abandon(d, txn, "out of memory");
        return;
    }
    intake_outbox_t box = {0};
    for (int i = 0; i < n; i++) {
        intake_deadline_row_t row = {.kind = PQgetvalue(res, i, 1),
                                     .due_us = intake_col_us(res, i, 2),
                                     .underretning_id = PQgetvalue(res, i, 3),
                                     .case_id = PQgetvalue(res, i, 4),
                                     .municipality = PQgetvalue(res, i, 5),
                                     .team = PQgetvalue(res, i, 6),
                                     .abuse_case = strcmp(PQgetvalue(res, i, 7), "t") == 0,
                                     .received_us = intake_col_us(res, i, 8),
                                     .triage_due_us = intake_col_us(res, i, 9),
                                     .receipt_due_date = PQgetvalue(res, i, 10)};
        int64_t now_us = intake_col_us(res, i, 11);
        size_t k = 0;
        while (k < d->o.nkinds && strcmp(d->o.kinds[k].kind, row.kind) != 0)
            k++;
        if (k == d->o.nkinds) {
            intake_outbox_release(&box);
            abandon(d, txn, "a deadline of an unknown kind");
            return;
        }
        fired_t *f = &d->fired[d->nfired++];
        f->kind = k;
        snprintf(f->id, sizeof f->id, "%s", PQgetvalue(res, i, 0));
        snprintf(f->underretning_id, sizeof f->underretning_id, "%s", row.underretning_id);
        tr_error_t err = {0};
        int rc = d->o.kinds[k].fire(d->in, (intake_out_t){.outbox = &box}, &row, now_us, f->event_id,
                                    sizeof f->event_id, &err);
        if (rc < 0) {
            intake_outbox_release(&box);
            abandon(d, txn, err.message);
            return;
        }
        f->superseded = rc == 0;
    }
    /* The whole batch in three statements, whatever its size: its events, the fired rows' event
     * ids, the superseded rows closed. */
    int rc = intake_outbox_write(&box, txn);
    intake_outbox_release(&box);
    if (rc == 0)
        rc = mark(d, txn, false);
    if (rc == 0)
        rc = mark(d, txn, true);
    if (rc < 0) {
        abandon(d, txn, tr_strerror(rc));
        return;
    }
    tr_pg_commit(txn, committed_cb, d);
}

static void begun_cb(tr_pg_txn_t *txn, const char *error, void *arg)
{
    intake_deadlines_t *d = arg;
    if (error) {
        tr_log_warn("cannot begin firing deadlines; trying again", TR_LOG_STR("error", error));
        d->firing = false;
        retry_later(d);
        check_stopped(d);
        return;
    }
    claim_t *c = malloc(sizeof *c);
    char batch[16];
    snprintf(batch, sizeof batch, "%d", d->o.batch);
    const char *values[1] = {batch};
    if (!c) {
        abandon(d, txn, "out of memory");
        return;
    }
    *c = (claim_t){.d = d, .txn = txn};
    if (tr_pg_txn_query(txn, claim_sql, 1, values, claim_result_cb, c) < 0) {
        free(c);
        abandon(d, txn, "cannot queue the claim");
    }
}

static void fire(intake_deadlines_t *d)
{
    if (d->stopping)
        return;
    if (d->reading || d->firing) {
        d->again = true;
        return;
    }
    uv_timer_stop(&d->timer);
    d->firing = true;
    if (tr_pg_begin(d->in->pg, begun_cb, d) < 0) {
        d->firing = false;
        retry_later(d);
    }
}

static void counted_cb(PGresult *res, const char *error, void *arg)
{
    intake_deadlines_t *d = arg;
    d->counting = false;
    if (!error) {
        for (size_t k = 0; k < d->o.nkinds; k++) {
            double n = 0;
            for (int i = 0; i < PQntuples(res); i++) {
                if (strcmp(PQgetvalue(res, i, 0), d->o.kinds[k].kind) == 0)
                    n = (double)strtoll(PQgetvalue(res, i, 1), NULL, 10);
            }
            tr_metric_set(d->open[k], n);
        }
    }
    check_stopped(d);
}

static void count(intake_deadlines_t *d)
{
    if (d->stopping || d->counting)
        return;
    d->counting = tr_pg_query(d->in->pg, count_sql, 0, NULL, counted_cb, d) == 0;
}

static void poll_cb(uv_timer_t *t)
{
    reread(t->data);
    count(t->data);
}

int intake_deadlines_new(intake_t *in, const intake_deadlines_options_t *o,
                         intake_deadlines_t **out, tr_error_t *err)
{
    intake_deadlines_t *d = calloc(1, sizeof *d);
    if (!d)
        return tr_error_set(err, TR_ENOMEM, "out of memory");
    d->in = in;
    d->o = *o;
    d->open = calloc(o->nkinds, sizeof *d->open);
    d->fired_total = calloc(o->nkinds, sizeof *d->fired_total);
    if (!d->open || !d->fired_total) {
        free(d->open);
        free(d->fired_total);
        free(d);
        return tr_error_set(err, TR_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < o->nkinds; k++) {
        d->open[k] = tr_metrics_gauge(in->metrics, "trivsel_intake_deadlines_open",
                                      "Deadlines not yet fired or met, by kind.", "kind",
                                      o->kinds[k].kind, NULL);
        d->fired_total[k] = tr_metrics_counter(in->metrics, "trivsel_intake_deadlines_fired_total",
                                               "Deadlines fired (their event written), by kind.",
                                               "kind", o->kinds[k].kind, NULL);
    }
    d->superseded_total =
        tr_metrics_counter(in->metrics, "trivsel_intake_deadlines_superseded_total",
                           "Warnings not sent because the deadline itself had passed too.", NULL);
    uv_loop_t *loop = tr_daemon_loop(in->daemon);
    uv_timer_init(loop, &d->timer);
    uv_timer_init(loop, &d->poll);
    d->timer.data = d->poll.data = d;
    d->open_handles = 2;
    uv_timer_start(&d->poll, poll_cb, (uint64_t)o->poll_ms, (uint64_t)o->poll_ms);
    *out = d;
    reread(d); /* at start: what fell due while no instance ran fires at once */
    count(d);
    return 0;
}

void intake_deadlines_changed(intake_deadlines_t *d)
{
    if (d)
        reread(d);
}

void intake_deadlines_stop(intake_deadlines_t *d, void (*stopped_cb)(void *arg), void *arg)
{
    d->stopping = true;
    d->stopped_cb = stopped_cb;
    d->stopped_arg = arg;
    uv_timer_stop(&d->timer);
    uv_timer_stop(&d->poll);
    check_stopped(d);
}
