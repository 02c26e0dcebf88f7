/* emit.c — what the parts of trivsel-ordering share: the list of problems a refusal names,
 * emitting events into the outbox, refusals, rejected events, dates and months. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ordering.h"
#include "utf8.h"

void problems_add(problems_t *p, const char *field, const char *code, const char *fmt, ...)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        Trivsel__Problem **items = realloc(p->items, cap * sizeof *items);
        if (!items)
            return; /* out of memory: the refusal names fewer problems, never none (see below) */
        p->items = items;
        p->cap = cap;
    }
    Trivsel__Problem *x = malloc(sizeof *x);
    char text[TR_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* Made from outside input, perhaps cut in the middle of a character: it goes out in an event. */
    tr_utf8_repair(text);
    if (!x)
        return;
    trivsel__problem__init(x);
    x->field = strdup(field);
    x->code = strdup(code);
    x->problem = strdup(text);
    if (!x->field || !x->code || !x->problem) {
        free(x->field);
        free(x->code);
        free(x->problem);
        free(x);
        return;
    }
    p->items[p->n++] = x;
}

bool problems_has(const problems_t *p, const char *code)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->items[i]->code, code) == 0)
            return true;
    }
    return false;
}

void problems_release(problems_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i]->field);
        free(p->items[i]->code);
        free(p->items[i]->problem);
        free(p->items[i]);
    }
    free(p->items);
    *p = (problems_t){0};
}

bool ordering_listed(const char *list, const char *principal)
{
    size_t len = strlen(principal);
    for (const char *p = list; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t n = strcspn(p, ", ");
        if (n == len && len > 0 && strncmp(p, principal, len) == 0)
            return true;
        p += n;
    }
    return false;
}

int ordering_emit(tr_handling_t *h, const Trivsel__Envelope *cause, const char *what,
                  const char *subject, const char *correlation_id, const ProtobufCMessage *msg)
{
    char id[96];
    snprintf(id, sizeof id, "ordering-%llu-%s", (unsigned long long)cause->position, what);
    Trivsel__Envelope ev;
    uint8_t *payload = NULL;
    tr_error_t err = {0};
    int rc = tr_envelope_make(&ev, id, subject, cause->municipality, correlation_id,
                              cause->occurred_at, msg, &payload, &err);
    if (rc == 0)
        rc = tr_handling_emit(h, &ev);
    if (rc < 0)
        tr_log_error("cannot emit", TR_LOG_STR("subject", subject), TR_LOG_STR("event_id", id),
                     TR_LOG_STR("error", err.message[0] ? err.message : tr_strerror(rc)));
    free(payload);
    return rc;
}

int ordering_refuse(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *cause,
                    const char *order_id, const char *correlation_id, const problems_t *problems,
                    Trivsel__Ordering__OfferPrice **cheaper, size_t ncheaper)
{
    Trivsel__Ordering__OrderRefused r = TRIVSEL__ORDERING__ORDER_REFUSED__INIT;
    Trivsel__Problem fallback = TRIVSEL__PROBLEM__INIT, *one = &fallback;
    r.order_id = (char *)order_id;
    if (strcmp(cause->subject, "ordering.order.requested") == 0)
        r.requested_event_id = cause->event_id;
    r.refused_subject = cause->subject;
    r.refused_event_id = cause->event_id;
    r.problems = problems->items;
    r.n_problems = problems->n;
    if (problems->n == 0) {
        /* Only when memory ran out while listing them: still say why, in general. */
        fallback.problem =
            "the order could not be checked (the service ran out of memory); send it again";
        fallback.code = "internal";
        r.problems = &one;
        r.n_problems = 1;
    }
    r.cheaper_offers = cheaper;
    r.n_cheaper_offers = ncheaper;
    for (size_t i = 0; i < r.n_problems; i++)
        tr_metric_inc(tr_metrics_counter(o->metrics, "trivsel_ordering_problems_total",
                                         "Problems named in refusals, by code.", "code",
                                         r.problems[i]->code, NULL));
    tr_metric_inc(o->orders_refused);
    tr_log_info("refused", TR_LOG_STR("subject", cause->subject),
                TR_LOG_STR("event_id", cause->event_id), TR_LOG_STR("order_id", order_id),
                TR_LOG_STR("first_problem", r.problems[0]->code),
                TR_LOG_INT("problems", (long long)r.n_problems));
    return ordering_emit(h, cause, "refused", "ordering.order.refused", correlation_id, &r.base);
}

static void ignore_result_cb(PGresult *res, const char *error, void *arg)
{
    (void)res;
    (void)error; /* an error aborts the transaction; the commit reports it */
    (void)arg;
}

void ordering_exec(tr_handling_t *h, const char *sql, int n, const char *const *values)
{
    tr_handling_query(h, sql, n, values, ignore_result_cb, NULL);
}

void ordering_reject(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *ev, const char *code,
                     const char *reason)
{
    const char *v[6] = {ev->municipality, ev->publisher, ev->event_id, ev->subject, code, reason};
    ordering_exec(h,
                  "INSERT INTO ordering.rejected_event (municipality, publisher, event_id, subject,"
                  " code, reason)"
                  " VALUES ($1, $2, $3, $4, $5, $6)",
                  6, v);
    /* A refused attempt by a principal (an answer to another supplier's order, a forged
     * order): in the audit log too, in the same transaction. */
    char detail[TR_ERROR_MESSAGE_MAX + 64];
    snprintf(detail, sizeof detail, "%s: %s", code, reason);
    const char *a[4] = {ev->publisher, ev->subject, ev->event_id, detail};
    ordering_exec(h,
                  "INSERT INTO broker.audit (principal, action, subject, event_id, detail)"
                  " VALUES ($1, 'ordering_event_refused', $2, $3, $4)",
                  4, a);
    tr_metric_inc(
        tr_metrics_counter(o->metrics, "trivsel_ordering_events_rejected_total",
                           "Events that changed nothing and had nobody to answer, by code.", "code",
                           code, NULL));
    tr_log_warn("event rejected", TR_LOG_STR("subject", ev->subject),
                TR_LOG_STR("event_id", ev->event_id), TR_LOG_STR("publisher", ev->publisher),
                TR_LOG_STR("code", code), TR_LOG_STR("reason", reason));
}

char *ordering_hex(const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *hex = malloc(2 * len + 3);
    if (!hex)
        return NULL;
    hex[0] = '\\';
    hex[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        hex[2 + 2 * i] = digits[data[i] >> 4];
        hex[3 + 2 * i] = digits[data[i] & 15];
    }
    hex[2 + 2 * len] = '\0';
    return hex;
}

char *ordering_hex_message(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return NULL;
    protobuf_c_message_pack(msg, buf);
    char *hex = ordering_hex(buf, len);
    free(buf);
    return hex;
}

bool ordering_date_field(problems_t *p, const char *field, const char *text, bool required,
                         tr_date_t *out)
{
    if (!text || !text[0]) {
        if (required)
            problems_add(p, field, "missing_field", "%s is required", field);
        return false;
    }
    tr_error_t err = {0};
    if (tr_calendar_parse_date(text, out, &err) < 0) {
        problems_add(p, field, "invalid_date", "%s", err.message);
        return false;
    }
    return true;
}

tr_date_t ordering_date_value(const PGresult *res, int row, int col)
{
    tr_date_t d = {1970, 1, 1};
    tr_calendar_parse_date(PQgetvalue(res, row, col), &d, NULL);
    return d;
}

void ordering_month_of(tr_date_t d, char buf[8])
{
    snprintf(buf, 8, "%04u-%02u", (unsigned)d.year % 10000u, (unsigned)d.month % 100u);
}

int64_t ordering_month_end_utc(int year, int month)
{
    tr_date_t last = {year, month, tr_calendar_days_in_month(year, month)};
    return tr_calendar_end_of_day_utc(last);
}

void ordering_schedule_months(ordering_t *o, tr_handling_t *h, const char *municipality,
                              tr_date_t start, tr_date_t end)
{
    if (tr_calendar_compare(start, end) > 0)
        return;
    int y = start.year, m = start.month;
    for (;;) {
        char month[8], due[32];
        snprintf(month, sizeof month, "%04d-%02d", y, m);
        /* Danish month end plus the delay, as Unix seconds: PostgreSQL turns it into a timestamptz.
         */
        snprintf(due, sizeof due, "%lld",
                 (long long)(ordering_month_end_utc(y, m) +
                             o->settings.settlement_delay_ms / 1000));
        const char *v[3] = {municipality, month, due};
        ordering_exec(h,
                      "INSERT INTO ordering.settlement_due (municipality, month, due_at)"
                      " VALUES ($1, $2, to_timestamp($3::bigint)) ON CONFLICT DO NOTHING",
                      3, v);
        if (y == end.year && m == end.month)
            break;
        if (++m > 12)
            m = 1, y++;
    }
    ordering_exec(h, "SELECT pg_notify('" ORDERING_DEADLINE_CHANNEL "', '')", 0, NULL);
}

const char *ordering_legal_basis_name(int legal_basis)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&trivsel__legal_basis__descriptor, legal_basis);
    return v ? v->name : "LEGAL_BASIS_UNKNOWN";
}

const char *ordering_legal_basis_label(int legal_basis)
{
    static const char *const labels[] = {
        [TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_1] =
            "Barnets Lov §32 stk. 1 nr. 1",
        [TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_2] =
            "Barnets Lov §32 stk. 1 nr. 2",
        [TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_3] =
            "Barnets Lov §32 stk. 1 nr. 3",
        [TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_4] =
            "Barnets Lov §32 stk. 1 nr. 4",
        [TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5] =
            "Barnets Lov §32 stk. 1 nr. 5",
        [TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_6] =
            "Barnets Lov §32 stk. 1 nr. 6",
        [TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_7] =
            "Barnets Lov §32 stk. 1 nr. 7",
        [TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_8] =
            "Barnets Lov §32 stk. 1 nr. 8",
        [TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_104_105] = "Barnets Lov §§104-105",
        [TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_SERVICELOVEN_85] = "Serviceloven §85",
        [TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_46] = "Barnets Lov §46",
        [TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_47] = "Barnets Lov §47",
    };
    if (legal_basis <= 0 || (size_t)legal_basis >= sizeof labels / sizeof labels[0] ||
        !labels[legal_basis])
        return "no legal basis";
    return labels[legal_basis];
}
