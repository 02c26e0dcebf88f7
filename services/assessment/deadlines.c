/* deadlines.c — the deadline engine (ARCHITECTURE.md principle 3). Deadlines are rows in
 * assessment.deadline (kind, due_at in UTC, fired_at), written in the transaction of the event
 * they follow from. The daemon keeps one libuv timer, set to the next due row (or the poll
 * interval, whichever is sooner). When it fires, one transaction claims the due rows with
 * FOR UPDATE SKIP LOCKED, writes each row's event into broker.outbox and marks the row fired:
 * a row fires exactly once, across restarts (rows due while the daemon was down fire at once
 * on start) and with several instances (a row another instance holds is skipped, and is fired
 * by it). Each event's id is derived from the row ("deadline-<id>-<kind>"), so even a second
 * writing of it would be stored once by the broker.
 *
 * A warning whose deadline has passed as well when it comes up (the daemon was down, or the
 * case arrived late) is closed as 'superseded' instead of fired: no "due soon" after the fact.
 * Every instance LISTENs on ASM_DEADLINE_CHANNEL; a handler that adds, moves or closes rows
 * notifies it, and each instance re-reads its next due row. */
#include <stdlib.h>
#include <string.h>

#include "assessment.h"
#include "log.h"

struct asm_deadlines {
    asm_t *a;
    uv_timer_t timer;
    int64_t poll_ms;
    int batch;
    bool busy;  /* a read of the next row, or a claim, is in flight */
    bool again; /* something changed meanwhile: read again when done */
    bool stopping;
    void (*stopped)(void *arg);
    void *stopped_arg;
    tr_metric_t *fired, *superseded;
};

typedef struct claim {
    asm_deadlines_t *d;
    tr_pg_txn_t *txn;
    int claimed;
    char error[320];
} claim_t;

static void reload(asm_deadlines_t *d);
static void claim(asm_deadlines_t *d);

static void closed_cb(uv_handle_t *handle)
{
    asm_deadlines_t *d = handle->data;
    void (*stopped)(void *) = d->stopped;
    void *arg = d->stopped_arg;
    free(d);
    if (stopped)
        stopped(arg);
}

/* The work in flight ended: stop if asked, else go on. */
static bool idle(asm_deadlines_t *d)
{
    d->busy = false;
    if (d->stopping) {
        uv_close((uv_handle_t *)&d->timer, closed_cb);
        return false;
    }
    return true;
}

static void timer_cb(uv_timer_t *t)
{
    claim(t->data);
}

static void arm(asm_deadlines_t *d, int64_t delay_ms)
{
    if (delay_ms < 0)
        delay_ms = 0;
    if (delay_ms > d->poll_ms)
        delay_ms = d->poll_ms;
    uv_timer_start(&d->timer, timer_cb, (uint64_t)delay_ms, 0);
}

/* ---- the next due row ---------------------------------------------------------------------- */

static void next_cb(PGresult *res, const char *error, void *arg)
{
    asm_deadlines_t *d = arg;
    if (!idle(d))
        return;
    if (d->again) {
        d->again = false;
        reload(d);
        return;
    }
    if (error) {
        tr_log_warn("cannot read the next deadline; trying again", TR_LOG_STR("error", error));
        arm(d, 1000);
        return;
    }
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        arm(d, d->poll_ms); /* nothing open: look again after the poll interval */
        return;
    }
    /* Relative to the database's clock, which the claim compares against. */
    arm(d, strtoll(PQgetvalue(res, 0, 0), NULL, 10));
}

static void reload(asm_deadlines_t *d)
{
    if (d->stopping)
        return;
    if (d->busy) {
        d->again = true;
        return;
    }
    uv_timer_stop(&d->timer);
    d->busy = true;
    d->again = false;
    if (tr_pg_query(d->a->pg,
                    "SELECT ceil(extract(epoch FROM (SELECT due_at FROM assessment.deadline"
                    " WHERE fired_at IS NULL AND closed_at IS NULL ORDER BY due_at LIMIT 1) - now()) * 1000)::bigint",
                    0, NULL, next_cb, d) < 0) {
        d->busy = false;
        arm(d, 1000);
    }
}

void asm_deadlines_changed(asm_deadlines_t *d)
{
    if (d)
        reload(d);
}

int asm_deadlines_notify(asm_work_t *w)
{
    return tr_handling_query(w->h, "SELECT pg_notify('" ASM_DEADLINE_CHANNEL "', '')", 0, NULL,
                             NULL, NULL);
}

/* ---- claiming and firing --------------------------------------------------------------------- */

static const char claim_sql[] =
    "SELECT d.id, d.kind, d.case_id, s.municipality, coalesce(d.investigation_id::text, ''),"
    "  coalesce(d.decision_id, ''), to_char(d.due_date, 'YYYY-MM-DD'),"
    "  (extract(epoch FROM d.due_at) * 1000000)::bigint, coalesce(f.first_followup, false),"
    "  coalesce(i.abuse_case, EXISTS (SELECT FROM assessment.underretning u"
    "                                 WHERE u.case_id = d.case_id AND u.abuse_case)),"
    "  coalesce(i.caseworker_id, dc.caseworker_id, ''), coalesce(i.caseworker_name, "
    "dc.caseworker_name, ''),"
    "  coalesce(i.team, dc.team, ''), (extract(epoch FROM now()) * 1000000)::bigint"
    " FROM assessment.deadline d"
    " JOIN assessment.sag s ON s.case_id = d.case_id"
    " LEFT JOIN assessment.investigation i ON i.investigation_id = d.investigation_id"
    " LEFT JOIN assessment.decision dc ON dc.decision_id = d.decision_id"
    " LEFT JOIN assessment.followup f ON f.id = d.followup_id"
    " WHERE d.fired_at IS NULL AND d.closed_at IS NULL AND d.due_at <= now()"
    " ORDER BY d.due_at, d.id LIMIT $1"
    " FOR UPDATE OF d SKIP LOCKED";

static void committed_cb(const char *error, void *arg)
{
    claim_t *c = arg;
    asm_deadlines_t *d = c->d;
    int claimed = c->claimed;
    free(c);
    if (!idle(d))
        return;
    if (error) {
        tr_log_warn("deadlines not fired; trying again", TR_LOG_STR("error", error));
        arm(d, 1000);
        return;
    }
    if (claimed == d->batch) /* there may be more due now */
        claim(d);
    else
        reload(d);
}

static void rolled_back_cb(const char *error, void *arg)
{
    claim_t *c = arg;
    asm_deadlines_t *d = c->d;
    (void)error;
    tr_log_error("deadlines not fired; trying again", TR_LOG_STR("error", c->error));
    free(c);
    if (!idle(d))
        return;
    arm(d, d->poll_ms);
}

static void claimed_cb(PGresult *res, const char *error, void *arg)
{
    claim_t *c = arg;
    asm_deadlines_t *d = c->d;
    if (error) {
        snprintf(c->error, sizeof c->error, "%s", error);
        tr_pg_rollback(c->txn, rolled_back_cb, c);
        return;
    }
    int n = PQntuples(res);
    c->claimed = n;
    for (int i = 0; i < n; i++) {
        asm_due_t due = {
            .id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
            .kind = PQgetvalue(res, i, 1),
            .case_id = PQgetvalue(res, i, 2),
            .municipality = PQgetvalue(res, i, 3),
            .investigation_id = PQgetvalue(res, i, 4),
            .decision_id = PQgetvalue(res, i, 5),
            .due_date = PQgetvalue(res, i, 6),
            .due_at_us = asm_col_us(res, i, 7),
            .first_followup = asm_col_bool(res, i, 8),
            .abuse_case = asm_col_bool(res, i, 9),
            .caseworker_id = PQgetvalue(res, i, 10),
            .caseworker_name = PQgetvalue(res, i, 11),
            .team = PQgetvalue(res, i, 12),
        };
        int64_t now_us = asm_col_us(res, i, 13);
        char id[24];
        snprintf(id, sizeof id, "%lld", (long long)due.id);
        bool warning = strcmp(due.kind, "investigation_due_soon") == 0 ||
                       strcmp(due.kind, "followup_due") == 0 ||
                       strcmp(due.kind, "plan_due") == 0 || strcmp(due.kind, "appeal_due") == 0;
        tr_date_t due_date;
        if (warning && tr_calendar_parse_date(due.due_date, &due_date, NULL) == 0 &&
            asm_overdue_at(due_date) * ASM_US_PER_SECOND <= now_us) {
            const char *values[1] = {id};
            tr_pg_txn_query(
                c->txn,
                "UPDATE assessment.deadline SET closed_at = now(), closed_reason = 'superseded'"
                " WHERE id = $1::bigint",
                1, values, NULL, NULL);
            tr_metric_inc(d->superseded);
            continue;
        }
        char event_id[100];
        snprintf(event_id, sizeof event_id, "deadline-%s-%s", id, due.kind);
        tr_error_t err = {0};
        asm_out_t out = {.txn = c->txn};
        int rc = strncmp(due.kind, "investigation_", 14) == 0
                     ? asm_investigation_deadline_event(&due, out, event_id, &err)
                     : asm_decision_deadline_event(&due, out, event_id, &err);
        if (rc < 0) {
            snprintf(c->error, sizeof c->error, "deadline %s (%.24s): %.200s", id, due.kind,
                     err.message);
            tr_pg_rollback(c->txn, rolled_back_cb, c);
            return;
        }
        const char *values[2] = {id, event_id};
        tr_pg_txn_query(c->txn,
                        "UPDATE assessment.deadline SET fired_at = now(), fired_event_id = $2 "
                        "WHERE id = $1::bigint",
                        2, values, NULL, NULL);
        tr_metric_inc(tr_metrics_counter(d->a->metrics, "trivsel_assessment_deadlines_fired_total",
                                         "Deadline events written to the outbox, by kind.", "kind",
                                         due.kind, NULL));
        tr_log_info("deadline fired", TR_LOG_STR("kind", due.kind),
                    TR_LOG_STR("case_id", due.case_id), TR_LOG_STR("due_date", due.due_date),
                    TR_LOG_STR("event_id", event_id));
    }
    tr_pg_commit(c->txn, committed_cb, c);
}

static void begun_cb(tr_pg_txn_t *txn, const char *error, void *arg)
{
    claim_t *c = arg;
    asm_deadlines_t *d = c->d;
    if (error) {
        free(c);
        if (!idle(d))
            return;
        tr_log_warn("cannot begin claiming deadlines; trying again", TR_LOG_STR("error", error));
        arm(d, 1000);
        return;
    }
    c->txn = txn;
    char batch[16];
    snprintf(batch, sizeof batch, "%d", d->batch);
    const char *values[1] = {batch};
    tr_pg_txn_query(txn, claim_sql, 1, values, claimed_cb, c);
}

static void claim(asm_deadlines_t *d)
{
    if (d->stopping)
        return;
    if (d->busy) {
        d->again = true;
        return;
    }
    claim_t *c = calloc(1, sizeof *c);
    if (!c) {
        arm(d, 1000);
        return;
    }
    c->d = d;
    d->busy = true;
    d->again = false;
    if (tr_pg_begin(d->a->pg, begun_cb, c) < 0) {
        free(c);
        d->busy = false;
        arm(d, 1000);
    }
}

/* ---- life ------------------------------------------------------------------------------------ */

int asm_deadlines_start(asm_t *a, const asm_deadline_options_t *o, asm_deadlines_t **out,
                        tr_error_t *err)
{
    asm_deadlines_t *d = calloc(1, sizeof *d);
    if (!d)
        return tr_error_set(err, TR_ENOMEM, "out of memory");
    d->a = a;
    d->poll_ms = o->poll_ms > 0 ? o->poll_ms : 30000;
    d->batch = o->batch > 0 ? o->batch : 100;
    d->superseded =
        tr_metrics_counter(a->metrics, "trivsel_assessment_deadlines_superseded_total",
                           "Warnings closed unfired because their deadline had passed too.", NULL);
    uv_timer_init(tr_daemon_loop(a->daemon), &d->timer);
    d->timer.data = d;
    *out = d;
    reload(d); /* rows due while the daemon was down fire at once */
    return 0;
}

void asm_deadlines_stop(asm_deadlines_t *d, void (*done)(void *arg), void *arg)
{
    d->stopping = true;
    d->stopped = done;
    d->stopped_arg = arg;
    uv_timer_stop(&d->timer);
    if (!d->busy)
        uv_close((uv_handle_t *)&d->timer, closed_cb);
}
