/* emit.c — what every part of the daemon needs to say something: envelopes into the outbox of
 * the transaction at hand, time, ids, and the counting of what was refused or ignored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "intake.h"
#include "log.h"

int intake_emit(intake_out_t out, const char *event_id, const char *subject,
                const char *municipality, const char *case_id, int64_t occurred_us,
                const ProtobufCMessage *msg, tr_error_t *err)
{
    Trivsel__Envelope ev;
    Google__Protobuf__Timestamp occurred;
    uint8_t *payload = NULL;
    intake_timestamp(&occurred, occurred_us);
    int rc = tr_envelope_make(&ev, event_id, subject, municipality, case_id, &occurred, msg,
                              &payload, err);
    if (rc < 0)
        goto out;
    if (out.handling) {
        rc = tr_handling_emit(out.handling, &ev);
    } else {
        intake_outbox_t *box = out.outbox;
        if (box->n == box->cap) {
            size_t cap = box->cap ? 2 * box->cap : 64;
            uint8_t **envelopes = realloc(box->envelopes, cap * sizeof *envelopes);
            if (envelopes)
                box->envelopes = envelopes;
            int *lengths = realloc(box->lengths, cap * sizeof *lengths);
            if (lengths)
                box->lengths = lengths;
            if (!envelopes || !lengths) {
                rc = TR_ENOMEM;
                goto out;
            }
            box->cap = cap;
        }
        size_t len = trivsel__envelope__get_packed_size(&ev);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf) {
            rc = TR_ENOMEM;
            goto out;
        }
        trivsel__envelope__pack(&ev, buf);
        box->envelopes[box->n] = buf;
        box->lengths[box->n++] = (int)len;
    }
    if (rc < 0)
        tr_error_set(err, rc, "cannot emit %s: %s", subject, tr_strerror(rc));
out:
    free(payload);
    return rc;
}

int intake_outbox_write(intake_outbox_t *box, tr_pg_txn_t *txn)
{
    if (box->n == 0)
        return 0;
    static const char *const casts[1] = {"bytea"};
    char *sql = tr_pg_rows_sql("INSERT INTO broker.outbox (envelope) VALUES ", box->n, 1, casts, "");
    int *formats = calloc(box->n, sizeof *formats);
    int rc = TR_ENOMEM;
    if (sql && formats) {
        for (size_t i = 0; i < box->n; i++)
            formats[i] = 1;
        rc = tr_pg_txn_query_binary(txn, sql, (int)box->n, (const char *const *)box->envelopes, box->lengths,
                                    formats, NULL, NULL);
    }
    free(sql);
    free(formats);
    return rc;
}

void intake_outbox_release(intake_outbox_t *box)
{
    for (size_t i = 0; i < box->n; i++)
        free(box->envelopes[i]);
    free(box->envelopes);
    free(box->lengths);
    *box = (intake_outbox_t){0};
}

int64_t intake_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * INTAKE_US_PER_SECOND + ts.tv_nsec / 1000;
}

void intake_us_text(int64_t us, char buf[40])
{
    int64_t s = us / INTAKE_US_PER_SECOND, frac = us % INTAKE_US_PER_SECOND;
    if (frac < 0) {
        s--;
        frac += INTAKE_US_PER_SECOND;
    }
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char text[96]; /* what the compiler cannot rule out for any int; 27 bytes for years 1900-9999 */
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
    snprintf(buf, 40, "%.39s", text);
}

void intake_timestamp(Google__Protobuf__Timestamp *ts, int64_t us)
{
    google__protobuf__timestamp__init(ts);
    ts->seconds = us / INTAKE_US_PER_SECOND;
    int64_t frac = us % INTAKE_US_PER_SECOND;
    if (frac < 0) {
        ts->seconds--;
        frac += INTAKE_US_PER_SECOND;
    }
    ts->nanos = (int32_t)(frac * 1000);
}

void intake_uuid(char out[37])
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

void intake_count_refusal(intake_t *in, const char *kind, const intake_problems_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        tr_metric_inc(tr_metrics_counter(
            in->metrics, "trivsel_intake_refused_total",
            "Events refused, by what was refused and the problem's code (an event with "
            "several problems counts once per problem).",
            "event", kind, "reason", p->items[i]->code, NULL));
    tr_metric_inc(tr_metrics_counter(in->metrics, "trivsel_intake_refused_events_total",
                                     "Events refused, by what was refused.", "event", kind, NULL));
}

void intake_ignore(intake_t *in, const Trivsel__Envelope *ev, const char *reason,
                   const char *detail)
{
    tr_metric_inc(tr_metrics_counter(in->metrics, "trivsel_intake_ignored_total",
                                     "Inbound events that changed nothing, by subject and reason.",
                                     "subject", ev->subject, "reason", reason, NULL));
    tr_log_warn("event ignored", TR_LOG_STR("subject", ev->subject),
                TR_LOG_STR("event_id", ev->event_id), TR_LOG_STR("publisher", ev->publisher),
                TR_LOG_STR("reason", reason), TR_LOG_STR("detail", detail));
}

const char *intake_enum_name(const ProtobufCEnumDescriptor *d, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    return v ? v->name : "";
}

int intake_enum_value(const ProtobufCEnumDescriptor *d, const char *name)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(d, name);
    return v ? v->value : 0;
}

int64_t intake_col_us(const PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

ProtobufCMessage *intake_col_message(const PGresult *res, int row, int col,
                                     const ProtobufCMessageDescriptor *desc)
{
    size_t len = 0;
    unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), &len);
    if (!bytes)
        return NULL;
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, bytes);
    PQfreemem(bytes);
    return m;
}
