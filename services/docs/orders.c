/* orders.c — what trivsel-docs learns from the ordering events: who may document on which
 * child, over which period, and what is required of them.
 *
 *   ordering.order.placed.CVR     the order (child, period, scope, documentation requirements);
 *                                 only from the ordering principal
 *   ordering.order.accepted.CVR   the supplier with that CVR accepts it (the broker lets a
 *                                 supplier publish only under its own CVR): from now on it may
 *                                 document, and its status reports and months are scheduled
 *   ordering.order.adjusted.CVR   a new scope from a day, and the whole period; ordering only
 *   ordering.order.ended.CVR      the last day of delivery; ordering only
 *
 * The ordering service decides whether an answer counts; this mirrors its rule (an answer to a
 * placed order of the answering CVR that was not ended), so both agree without asking.
 * Scheduling: report k is due on start + k x interval months (tr_calendar_add_months) and must
 * be in by the end of that day, Danish time (docs.report.overdue then), with docs.report.due
 * TRIVSEL_DOCS_REPORT_WARNING before; each month of the period is reconciled
 * TRIVSEL_DOCS_HOURS_DELAY after it ends (or after the acceptance, for a month already over, so
 * the diary notes of a late-accepted order can still come in). A changed period deletes the
 * rows that fell outside it and adds those it gained; fired rows stay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docs.h"
#include "log.h"
#include "subject.h"

/* 20 years of monthly reports is more than any order runs. */
#define MAX_REPORTS 240

int docs_report_due_dates(tr_date_t start, tr_date_t end, int interval, tr_date_t *due, int max)
{
    int n = 0;
    if (interval <= 0)
        return 0;
    for (int k = 1; n < max; k++) {
        tr_date_t d = tr_calendar_add_months(start, k * interval);
        if (tr_calendar_compare(d, end) > 0)
            break;
        due[n++] = d;
    }
    return n;
}

/* An order from anyone else would let a supplier document on a child nobody ordered for it. */
static bool from_ordering(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev)
{
    if (strcmp(ev->publisher, d->settings.ordering_principal) == 0)
        return true;
    char detail[200];
    snprintf(detail, sizeof detail, "only %s publishes %s", d->settings.ordering_principal, ev->subject);
    docs_refuse(d, h, ev, "not_ordering", detail);
    return false;
}

/* ---- the schedule ---------------------------------------------------------------------------- */

typedef struct sched {
    docs_t *d;
    tr_handling_t *h;
    const Trivsel__Envelope *ev;
    char municipality[16];
    char *order_id;
} sched_t;

static void sched_free(sched_t *s)
{
    free(s->order_id);
    free(s);
}

static void text_ts(char buf[32], int64_t s)
{
    snprintf(buf, 32, "%lld", (long long)s);
}

static void schedule_read_cb(PGresult *res, const char *error, void *arg)
{
    sched_t *s = arg;
    if (error) {
        tr_handling_done(s->h, error);
        sched_free(s);
        return;
    }
    if (PQntuples(res) == 0) { /* not accepted: scheduled at the acceptance */
        tr_handling_done(s->h, NULL);
        sched_free(s);
        return;
    }
    tr_date_t start = docs_date_value(res, 0, 0), end = docs_date_value(res, 0, 1);
    int interval = atoi(PQgetvalue(res, 0, 2));
    int64_t accepted_s = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    tr_date_t due[MAX_REPORTS];
    int n = docs_report_due_dates(start, end, interval, due, MAX_REPORTS);
    char count[16], endmonth[16];
    snprintf(count, sizeof count, "%d", n);
    snprintf(endmonth, sizeof endmonth, "%04d-%02d", end.year % 10000, end.month % 100);
    const char *dv[4] = {s->municipality, s->order_id, count, endmonth};
    /* What fell outside a shortened period and has not fired. */
    docs_exec(s->h,
              "DELETE FROM docs.deadline WHERE municipality = $1 AND order_id = $2"
              " AND fired_at IS NULL AND closed_at IS NULL"
              " AND ((kind <> 'hours' AND report_number > $3::integer)"
              "   OR (kind = 'hours' AND month > $4))",
              4, dv);
    docs_exec(s->h,
              "DELETE FROM docs.report r WHERE municipality = $1 AND order_id = $2"
              " AND report_number > $3::integer AND closed_at IS NULL AND NOT EXISTS ("
              "  SELECT 1 FROM docs.deadline x WHERE x.municipality = r.municipality"
              "   AND x.order_id = r.order_id AND x.report_number = r.report_number)",
              3, dv);
    for (int k = 0; k < n; k++) {
        tr_date_t from = k == 0 ? start : due[k - 1];
        tr_date_t to = tr_calendar_add_days(due[k], -1);
        char number[16], due_s[TR_CALENDAR_DATE_LEN], from_s[TR_CALENDAR_DATE_LEN],
            to_s[TR_CALENDAR_DATE_LEN], overdue[32], warn[32];
        snprintf(number, sizeof number, "%d", k + 1);
        tr_calendar_format_date(due[k], due_s);
        tr_calendar_format_date(from, from_s);
        tr_calendar_format_date(to, to_s);
        int64_t overdue_s = tr_calendar_end_of_day_utc(due[k]);
        text_ts(overdue, overdue_s);
        text_ts(warn, overdue_s - s->d->settings.report_warning_ms / 1000);
        const char *rv[7] = {s->municipality, s->order_id, number, due_s, from_s, to_s, overdue};
        docs_exec(s->h,
                  "INSERT INTO docs.report (municipality, order_id, report_number, due_date,"
                  " period_start, period_end, overdue_at)"
                  " VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7::bigint))"
                  " ON CONFLICT (municipality, order_id, report_number) DO UPDATE"
                  " SET due_date = $4, period_start = $5, period_end = $6,"
                  " overdue_at = to_timestamp($7::bigint) WHERE docs.report.closed_at IS NULL",
                  7, rv);
        const char *wv[5] = {s->municipality, s->order_id, number, warn, overdue};
        docs_exec(s->h,
                  "INSERT INTO docs.deadline (municipality, order_id, kind, report_number, due_at)"
                  " SELECT $1, $2, k, $3::integer, to_timestamp(t::bigint)"
                  " FROM (VALUES ('report_due', $4), ('report_overdue', $5)) v(k, t)"
                  " WHERE NOT EXISTS (SELECT 1 FROM docs.report r WHERE r.municipality = $1"
                  "   AND r.order_id = $2 AND r.report_number = $3::integer"
                  "   AND r.closed_at IS NOT NULL)"
                  " ON CONFLICT (municipality, order_id, kind, report_number, month) DO UPDATE"
                  " SET due_at = EXCLUDED.due_at WHERE docs.deadline.fired_at IS NULL",
                  5, wv);
    }
    /* Every month of the period (none when it ended before it began). */
    int y = start.year, m = start.month;
    while (tr_calendar_compare(start, end) <= 0) {
        char month[16], due_s[32];
        snprintf(month, sizeof month, "%04d-%02d", y % 10000, m % 100);
        tr_date_t last = {y, m, tr_calendar_days_in_month(y, m)};
        int64_t at = tr_calendar_end_of_day_utc(last);
        if (at < accepted_s)
            at = accepted_s;
        text_ts(due_s, at + s->d->settings.hours_delay_ms / 1000);
        const char *hv[4] = {s->municipality, s->order_id, month, due_s};
        docs_exec(s->h,
                  "INSERT INTO docs.deadline (municipality, order_id, kind, month, due_at)"
                  " VALUES ($1, $2, 'hours', $3, to_timestamp($4::bigint))"
                  " ON CONFLICT (municipality, order_id, kind, report_number, month) DO NOTHING",
                  4, hv);
        if (y == end.year && m == end.month)
            break;
        if (++m > 12)
            m = 1, y++;
    }
    docs_exec(s->h, "SELECT pg_notify('" DOCS_DEADLINE_CHANNEL "', '')", 0, NULL);
    tr_handling_done(s->h, NULL);
    sched_free(s);
}

/* Reads the (accepted) order in h's transaction and brings its report and month rows in line
 * with its period; then ends the handling. */
static void schedule(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev, const char *order_id)
{
    sched_t *s = calloc(1, sizeof *s);
    if (!s || !(s->order_id = strdup(order_id))) {
        free(s);
        tr_handling_done(h, "out of memory");
        return;
    }
    s->d = d;
    s->h = h;
    s->ev = ev;
    snprintf(s->municipality, sizeof s->municipality, "%s", ev->municipality);
    const char *v[2] = {ev->municipality, order_id};
    tr_handling_query(h,
                      "SELECT start_date, end_date, report_interval_months,"
                      " extract(epoch FROM accepted_at)::bigint"
                      " FROM docs.orders WHERE municipality = $1 AND order_id = $2"
                      " AND status = 'accepted'",
                      2, v, schedule_read_cb, s);
}

/* ---- the events ------------------------------------------------------------------------------ */

void docs_order_placed_cb(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev)
{
    if (!from_ordering(d, h, ev)) {
        tr_handling_done(h, NULL);
        return;
    }
    Trivsel__Ordering__OrderPlaced *o =
        trivsel__ordering__order_placed__unpack(NULL, ev->payload.len, ev->payload.data);
    tr_date_t start, end;
    char cpr[11];
    if (!o || !o->order_id[0] || !o->period ||
        tr_calendar_parse_date(o->period->start_date, &start, NULL) < 0 ||
        tr_calendar_parse_date(o->period->end_date, &end, NULL) < 0 || !o->child ||
        !docs_cpr_digits(o->child->cpr, cpr)) {
        docs_ignore(d, ev, "invalid_order");
        goto out;
    }
    char interval[16], minutes[16];
    snprintf(interval, sizeof interval, "%u",
             o->documentation ? o->documentation->status_report_interval_months : 0);
    snprintf(minutes, sizeof minutes, "%u", o->scope ? o->scope->minutes_per_week : 0);
    const Trivsel__Employee *cw = o->caseworker;
    const char *v[14] = {ev->municipality,
                         o->order_id,
                         o->case_id,
                         tr_subject_last_token(ev->subject),
                         cpr,
                         o->period->start_date,
                         o->period->end_date,
                         interval,
                         cw ? cw->id : "",
                         cw ? cw->name : "",
                         cw ? cw->team : "",
                         o->team,
                         ev->event_id,
                         minutes};
    docs_exec(h,
              "INSERT INTO docs.orders (municipality, order_id, case_id, supplier_cvr, child_cpr,"
              " start_date, end_date, report_interval_months, caseworker_id, caseworker_name,"
              " caseworker_team, team, placed_event_id)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
              " ON CONFLICT DO NOTHING",
              13, v);
    const char *sv[4] = {ev->municipality, o->order_id, o->period->start_date, minutes};
    docs_exec(h,
              "INSERT INTO docs.order_scope (municipality, order_id, effective_from,"
              " minutes_per_week) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
              4, sv);
    tr_metric_inc(d->orders_known);
    tr_log_info("order known", TR_LOG_STR("order_id", o->order_id),
                TR_LOG_STR("supplier_cvr", tr_subject_last_token(ev->subject)));
out:
    if (o)
        trivsel__ordering__order_placed__free_unpacked(o, NULL);
    tr_handling_done(h, NULL);
}

typedef struct accept {
    docs_t *d;
    tr_handling_t *h;
    const Trivsel__Envelope *ev;
    char *order_id;
} accept_t;

static void accept_read_cb(PGresult *res, const char *error, void *arg)
{
    accept_t *a = arg;
    if (error) {
        tr_handling_done(a->h, error);
        goto out;
    }
    /* The ordering service's rule: an answer to a placed, not ended order of this CVR. */
    if (PQntuples(res) == 0 ||
        strcmp(PQgetvalue(res, 0, 0), tr_subject_last_token(a->ev->subject)) != 0) {
        /* Unknown, or another supplier's: the same to the supplier, and audited. */
        char detail[200];
        snprintf(detail, sizeof detail, "supplier %s has no order \"%s\"", tr_subject_last_token(a->ev->subject),
                 a->order_id);
        docs_refuse(a->d, a->h, a->ev, "unknown_order", detail);
        tr_handling_done(a->h, NULL);
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "placed") != 0 || strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
        docs_ignore(a->d, a->ev, "order_not_open");
        tr_handling_done(a->h, NULL);
        goto out;
    }
    const char *v[3] = {a->ev->municipality, a->order_id, a->ev->publisher};
    docs_exec(a->h,
              "UPDATE docs.orders SET status = 'accepted', accepted_by = $3, accepted_at = now()"
              " WHERE municipality = $1 AND order_id = $2",
              3, v);
    tr_metric_inc(a->d->orders_accepted);
    tr_log_info("order accepted", TR_LOG_STR("order_id", a->order_id),
                TR_LOG_STR("publisher", a->ev->publisher));
    schedule(a->d, a->h, a->ev, a->order_id);
out:
    free(a->order_id);
    free(a);
}

void docs_order_accepted_cb(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev)
{
    Trivsel__Ordering__OrderAccepted *x =
        trivsel__ordering__order_accepted__unpack(NULL, ev->payload.len, ev->payload.data);
    accept_t *a = calloc(1, sizeof *a);
    if (!x || !a || !(a->order_id = strdup(x->order_id))) {
        if (x)
            trivsel__ordering__order_accepted__free_unpacked(x, NULL);
        free(a);
        docs_ignore(d, ev, "invalid_answer");
        tr_handling_done(h, NULL);
        return;
    }
    trivsel__ordering__order_accepted__free_unpacked(x, NULL);
    *a = (accept_t){.d = d, .h = h, .ev = ev, .order_id = a->order_id};
    const char *v[2] = {ev->municipality, a->order_id};
    tr_handling_query(h,
                      "SELECT supplier_cvr, status, ended FROM docs.orders"
                      " WHERE municipality = $1 AND order_id = $2 FOR UPDATE",
                      2, v, accept_read_cb, a);
}

void docs_order_adjusted_cb(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev)
{
    if (!from_ordering(d, h, ev)) {
        tr_handling_done(h, NULL);
        return;
    }
    Trivsel__Ordering__OrderAdjustedForSupplier *x =
        trivsel__ordering__order_adjusted_for_supplier__unpack(NULL, ev->payload.len,
                                                               ev->payload.data);
    tr_date_t from, end;
    if (!x || !x->order_id[0] || tr_calendar_parse_date(x->effective_from, &from, NULL) < 0 ||
        (x->period && x->period->end_date[0] &&
         tr_calendar_parse_date(x->period->end_date, &end, NULL) < 0)) {
        docs_ignore(d, ev, "invalid_adjustment");
        if (x)
            trivsel__ordering__order_adjusted_for_supplier__free_unpacked(x, NULL);
        tr_handling_done(h, NULL);
        return;
    }
    if (x->scope) {
        char minutes[16];
        snprintf(minutes, sizeof minutes, "%u", x->scope->minutes_per_week);
        const char *v[4] = {ev->municipality, x->order_id, x->effective_from, minutes};
        docs_exec(h,
                  "INSERT INTO docs.order_scope (municipality, order_id, effective_from,"
                  " minutes_per_week) SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM"
                  " docs.orders WHERE municipality = $1 AND order_id = $2)"
                  " ON CONFLICT (municipality, order_id, effective_from)"
                  " DO UPDATE SET minutes_per_week = EXCLUDED.minutes_per_week",
                  4, v);
    }
    if (x->period && x->period->end_date[0]) {
        const char *v[3] = {ev->municipality, x->order_id, x->period->end_date};
        docs_exec(h,
                  "UPDATE docs.orders SET end_date = $3 WHERE municipality = $1 AND order_id = $2",
                  3, v);
    }
    tr_log_info("order adjusted", TR_LOG_STR("order_id", x->order_id));
    schedule(d, h, ev, x->order_id);
    trivsel__ordering__order_adjusted_for_supplier__free_unpacked(x, NULL);
}

void docs_order_ended_cb(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev)
{
    if (!from_ordering(d, h, ev)) {
        tr_handling_done(h, NULL);
        return;
    }
    Trivsel__Ordering__OrderEndedForSupplier *x =
        trivsel__ordering__order_ended_for_supplier__unpack(NULL, ev->payload.len,
                                                            ev->payload.data);
    tr_date_t end;
    if (!x || !x->order_id[0] || tr_calendar_parse_date(x->end_date, &end, NULL) < 0) {
        docs_ignore(d, ev, "invalid_end");
        if (x)
            trivsel__ordering__order_ended_for_supplier__free_unpacked(x, NULL);
        tr_handling_done(h, NULL);
        return;
    }
    const char *v[3] = {ev->municipality, x->order_id, x->end_date};
    docs_exec(h,
              "UPDATE docs.orders SET end_date = least(end_date, $3::date), ended = true"
              " WHERE municipality = $1 AND order_id = $2",
              3, v);
    tr_log_info("order ended", TR_LOG_STR("order_id", x->order_id),
                TR_LOG_STR("end_date", x->end_date));
    schedule(d, h, ev, x->order_id);
    trivsel__ordering__order_ended_for_supplier__free_unpacked(x, NULL);
}
