/* acceptance.c — the supplier's answer (BUM: the udfører delivers what was ordered; it may
 * accept or decline, with a reason, and recommend, but never change the scope or end the order)
 * and the flag on orders not accepted in time.
 *
 * Who answers: the supplier whose CVR ends the subject (ordering.order.accepted.CVR). The broker
 * lets a supplier principal publish only under its own CVR (ARCHITECTURE.md principle 5), so
 * the CVR in the subject is the authenticated supplier's. An answer to an order placed with
 * another supplier, to an unknown order, to one answered or ended already, or from a caseworker's
 * system (the bestiller does not answer for the udfører) changes nothing: there is no subject to
 * tell the supplier on (EVENTS.md has none), so it is recorded in ordering.rejected_event,
 * logged and counted (trivsel_ordering_events_rejected_total).
 *
 * Not accepted within TRIVSEL_ORDERING_ACCEPT_HVERDAGE hverdage (order.c sets accept_due_at):
 * the order is flagged (orders.unaccepted_flagged_at), logged, counted
 * (trivsel_ordering_orders_flagged_unaccepted_total), shown in the gauge
 * trivsel_ordering_orders_unaccepted and in `trivselctl orders list --unaccepted`. No event is
 * emitted: EVENTS.md has no subject for it. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ordering.h"
#include "subject.h"

typedef struct answer {
    ordering_t *o;
    tr_handling_t *h;
    const Trivsel__Envelope *ev;
    bool accepted;
    char cvr[16];
    char *order_id, *reason;
} answer_t;

static void answer_free(answer_t *a)
{
    free(a->order_id);
    free(a->reason);
    free(a);
}

static void reject(answer_t *a, const char *code, const char *reason)
{
    ordering_reject(a->o, a->h, a->ev, code, reason);
    tr_metric_inc(a->o->answers_rejected);
    tr_handling_done(a->h, NULL);
    answer_free(a);
}

static void order_cb(PGresult *res, const char *error, void *arg)
{
    answer_t *a = arg;
    char reason[TR_ERROR_MESSAGE_MAX];
    if (error) {
        tr_handling_done(a->h, error);
        answer_free(a);
        return;
    }
    /* An order of another supplier is "unknown" to this one: the answer says nothing about
     * other suppliers' orders, even to the log reader. */
    if (PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 0), a->cvr) != 0) {
        snprintf(reason, sizeof reason, "supplier %s has no order \"%s\"", a->cvr, a->order_id);
        reject(a, "unknown_order", reason);
        return;
    }
    const char *status = PQgetvalue(res, 0, 1);
    if (strcmp(status, "placed") != 0) {
        snprintf(reason, sizeof reason, "order \"%s\" was %s already", a->order_id, status);
        reject(a, "order_answered", reason);
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
        snprintf(reason, sizeof reason, "order \"%s\" was ended by the caseworker", a->order_id);
        reject(a, "order_ended", reason);
        return;
    }
    char *answer = ordering_hex(a->ev->payload.data, a->ev->payload.len);
    if (!answer) {
        tr_handling_done(a->h, "out of memory");
        answer_free(a);
        return;
    }
    const char *v[6] = {a->ev->municipality, a->order_id, a->accepted ? "accepted" : "declined",
                        a->ev->publisher,    answer,      a->accepted ? NULL : a->reason};
    ordering_exec(a->h,
                  "UPDATE ordering.orders SET status = $3, answered_at = now(), answered_by = $4,"
                  " answer = $5, decline_reason = $6 WHERE municipality = $1 AND order_id = $2",
                  6, v);
    /* The deadline timer refreshes the unaccepted gauge. */
    ordering_exec(a->h, "SELECT pg_notify('" ORDERING_DEADLINE_CHANNEL "', '')", 0, NULL);
    free(answer);
    tr_metric_inc(a->accepted ? a->o->orders_accepted : a->o->orders_declined);
    tr_log_info(a->accepted ? "order accepted" : "order declined",
                TR_LOG_STR("order_id", a->order_id), TR_LOG_STR("supplier_cvr", a->cvr),
                TR_LOG_STR("publisher", a->ev->publisher));
    tr_handling_done(a->h, NULL);
    answer_free(a);
}

void ordering_order_answered_cb(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *ev,
                                bool accepted)
{
    answer_t *a = calloc(1, sizeof *a);
    if (!a) {
        tr_handling_done(h, "out of memory");
        return;
    }
    *a = (answer_t){.o = o, .h = h, .ev = ev, .accepted = accepted};
    snprintf(a->cvr, sizeof a->cvr, "%s", tr_subject_last_token(ev->subject));
    bool ok;
    if (accepted) {
        Trivsel__Ordering__OrderAccepted *x =
            trivsel__ordering__order_accepted__unpack(NULL, ev->payload.len, ev->payload.data);
        ok = x && x->order_id[0];
        a->order_id = strdup(x ? x->order_id : "");
        a->reason = strdup("");
        if (x)
            trivsel__ordering__order_accepted__free_unpacked(x, NULL);
    } else {
        Trivsel__Ordering__OrderDeclined *x =
            trivsel__ordering__order_declined__unpack(NULL, ev->payload.len, ev->payload.data);
        ok = x && x->order_id[0];
        a->order_id = strdup(x ? x->order_id : "");
        a->reason = strdup(x ? x->reason : "");
        if (x)
            trivsel__ordering__order_declined__free_unpacked(x, NULL);
    }
    if (!a->order_id || !a->reason) {
        tr_handling_done(h, "out of memory");
        answer_free(a);
        return;
    }
    if (!ok) {
        reject(a, "missing_field", "order_id is required");
        return;
    }
    if (!accepted && !a->reason[strspn(a->reason, " \t\r\n")]) {
        reject(a, "missing_field", "a supplier that declines gives the reason");
        return;
    }
    if (ordering_listed(o->settings.caseworker_systems, ev->publisher)) {
        reject(a, "not_supplier", "a caseworker's system does not answer for the supplier (BUM)");
        return;
    }
    const char *v[2] = {ev->municipality, a->order_id};
    if (tr_handling_query(h,
                          "SELECT supplier_cvr, status, ended_at IS NOT NULL FROM ordering.orders"
                          " WHERE municipality = $1 AND order_id = $2 FOR UPDATE",
                          2, v, order_cb, a) < 0) {
        tr_handling_done(h, "cannot query the database");
        answer_free(a);
    }
}

/* ---- the flag -------------------------------------------------------------------------------- */

typedef struct flag {
    ordering_t *o;
    void (*done_cb)(void *arg);
    void *arg;
} flag_t;

static void counted_cb(PGresult *res, const char *error, void *arg)
{
    flag_t *f = arg;
    if (!error)
        tr_metric_set(f->o->unaccepted, atof(PQgetvalue(res, 0, 0)));
    f->done_cb(f->arg);
    free(f);
}

static void flagged_cb(PGresult *res, const char *error, void *arg)
{
    flag_t *f = arg;
    if (error) {
        tr_log_warn("cannot flag unaccepted orders", TR_LOG_STR("error", error));
    } else {
        for (int i = 0; i < PQntuples(res); i++) {
            tr_metric_inc(f->o->flagged_total);
            tr_log_warn("order not accepted in time",
                        TR_LOG_STR("municipality", PQgetvalue(res, i, 0)),
                        TR_LOG_STR("order_id", PQgetvalue(res, i, 1)),
                        TR_LOG_STR("supplier_cvr", PQgetvalue(res, i, 2)),
                        TR_LOG_STR("accept_due_at", PQgetvalue(res, i, 3)));
        }
    }
    if (tr_pg_query(
            f->o->pg,
            "SELECT count(*) FROM ordering.orders WHERE status = 'placed' AND ended_at IS NULL"
            " AND unaccepted_flagged_at IS NOT NULL",
            0, NULL, counted_cb, f) < 0) {
        f->done_cb(f->arg);
        free(f);
    }
}

void ordering_flag_unaccepted(ordering_t *o, void (*done_cb)(void *arg), void *arg)
{
    flag_t *f = malloc(sizeof *f);
    if (!f) {
        done_cb(arg);
        return;
    }
    *f = (flag_t){o, done_cb, arg};
    /* One statement: concurrent instances each flag an order at most once (the second UPDATE
     * re-checks unaccepted_flagged_at after the first commits). */
    if (tr_pg_query(
            o->pg,
            "UPDATE ordering.orders SET unaccepted_flagged_at = now()"
            " WHERE status = 'placed' AND ended_at IS NULL AND unaccepted_flagged_at IS NULL"
            " AND accept_due_at <= now()"
            " RETURNING municipality, order_id, supplier_cvr, to_char(accept_due_at AT TIME ZONE"
            " 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            0, NULL, flagged_cb, f) < 0) {
        done_cb(arg);
        free(f);
    }
}
