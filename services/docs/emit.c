/* emit.c — what the parts of trivsel-docs share: the problems a rejection names, emitting
 * events into the outbox, statements whose result nobody reads, dates and CPR numbers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpr.h"
#include "docs.h"
#include "log.h"
#include "utf8.h"

void problems_add(problems_t *p, const char *field, const char *code, const char *fmt, ...)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        Trivsel__Problem **items = realloc(p->items, cap * sizeof *items);
        if (!items)
            return; /* out of memory: fewer problems named; submission.c never rejects with none */
        p->items = items;
        p->cap = cap;
    }
    char text[TR_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* Made from outside input, perhaps cut in the middle of a character: it goes out in an event. */
    tr_utf8_repair(text);
    Trivsel__Problem *x = malloc(sizeof *x);
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

int docs_emit(tr_handling_t *h, const Trivsel__Envelope *cause, const char *what,
              const char *subject, const char *correlation_id, const ProtobufCMessage *msg)
{
    char id[96];
    snprintf(id, sizeof id, "docs-%llu-%s", (unsigned long long)cause->position, what);
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

int docs_emit_txn(tr_pg_txn_t *txn, const char *event_id, const char *subject,
                  const char *municipality, const char *correlation_id, int64_t occurred_s,
                  const ProtobufCMessage *msg, tr_error_t *err)
{
    Trivsel__Envelope ev;
    Google__Protobuf__Timestamp occurred = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    occurred.seconds = occurred_s;
    uint8_t *payload = NULL, *buf = NULL;
    int rc = tr_envelope_make(&ev, event_id, subject, municipality, correlation_id, &occurred, msg,
                              &payload, err);
    if (rc < 0)
        goto out;
    size_t len = trivsel__envelope__get_packed_size(&ev);
    buf = malloc(len ? len : 1);
    if (!buf) {
        rc = tr_error_set(err, TR_ENOMEM, "out of memory");
        goto out;
    }
    trivsel__envelope__pack(&ev, buf);
    const char *values[1] = {(const char *)buf};
    int lengths[1] = {(int)len}, formats[1] = {1};
    rc = tr_pg_txn_query_binary(txn, "INSERT INTO broker.outbox (envelope) VALUES ($1)", 1, values,
                                lengths, formats, NULL, NULL);
    if (rc < 0)
        tr_error_set(err, rc, "cannot emit %s: %s", subject, tr_strerror(rc));
out:
    free(buf);
    free(payload);
    return rc;
}

static void ignore_result_cb(PGresult *res, const char *error, void *arg)
{
    (void)res;
    (void)error; /* an error aborts the transaction; the commit reports it */
    (void)arg;
}

void docs_exec(tr_handling_t *h, const char *sql, int n, const char *const *values)
{
    tr_handling_query(h, sql, n, values, ignore_result_cb, NULL);
}

void docs_ignore(docs_t *d, const Trivsel__Envelope *ev, const char *reason)
{
    tr_metric_inc(tr_metrics_counter(d->metrics, "trivsel_docs_events_ignored_total",
                                     "Order events that changed nothing, by reason.", "reason",
                                     reason, NULL));
    tr_log_warn("event ignored", TR_LOG_STR("subject", ev->subject),
                TR_LOG_STR("event_id", ev->event_id), TR_LOG_STR("publisher", ev->publisher),
                TR_LOG_STR("reason", reason));
}

void docs_refuse(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev, const char *reason,
                 const char *detail)
{
    docs_ignore(d, ev, reason);
    const char *v[4] = {ev->publisher, ev->subject, ev->event_id, detail};
    docs_exec(h,
              "INSERT INTO broker.audit (principal, action, subject, event_id, detail)"
              " VALUES ($1, 'docs_event_refused', $2, $3, $4)",
              4, v);
}

char *docs_hex(const uint8_t *data, size_t len)
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

bool docs_date_field(problems_t *p, const char *field, const char *text, bool required,
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

tr_date_t docs_date_value(const PGresult *res, int row, int col)
{
    tr_date_t d = {1970, 1, 1};
    tr_calendar_parse_date(PQgetvalue(res, row, col), &d, NULL);
    return d;
}

bool docs_cpr_digits(const char *text, char out[11])
{
    tr_cpr_t cpr;
    if (!text || tr_cpr_parse(text, &cpr, NULL) < 0)
        return false;
    size_t n = 0;
    for (const char *s = text; *s && n < 10; s++) {
        if (*s >= '0' && *s <= '9')
            out[n++] = *s;
    }
    out[n] = '\0';
    return n == 10;
}

Trivsel__Docs__SubmissionKind docs_kind_of_subject(const char *subject)
{
    static const struct {
        const char *prefix;
        Trivsel__Docs__SubmissionKind kind;
    } kinds[] = {
        {"docs.note.submitted.", TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_NOTE},
        {"docs.report.submitted.", TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_REPORT},
        {"docs.measurement.submitted.",
         TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_MEASUREMENT},
        {"docs.plan.submitted.", TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_PLAN},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strncmp(subject, kinds[i].prefix, strlen(kinds[i].prefix)) == 0)
            return kinds[i].kind;
    }
    return TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_UNSPECIFIED;
}

const char *docs_kind_word(Trivsel__Docs__SubmissionKind kind)
{
    switch (kind) {
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_NOTE:
        return "note";
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_REPORT:
        return "report";
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_MEASUREMENT:
        return "measurement";
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_PLAN:
        return "plan";
    default:
        return "";
    }
}
