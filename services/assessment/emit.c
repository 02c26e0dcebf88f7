/* emit.c — envelopes into broker.outbox, the ids of emitted events, timestamps and the small
 * text helpers the SQL of the parts needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "assessment.h"

int asm_emit(asm_out_t out, const char *event_id, const char *subject, const char *municipality,
             const char *case_id, int64_t occurred_us, const ProtobufCMessage *msg, tr_error_t *err)
{
    Google__Protobuf__Timestamp occurred;
    asm_timestamp(&occurred, occurred_us);
    Trivsel__Envelope ev;
    uint8_t *payload = NULL;
    int rc = tr_envelope_make(&ev, event_id, subject, municipality, case_id, &occurred, msg,
                              &payload, err);
    if (rc < 0)
        goto out;
    if (out.handling) {
        rc = tr_handling_emit(out.handling, &ev);
    } else {
        size_t len = trivsel__envelope__get_packed_size(&ev);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf) {
            rc = tr_error_set(err, TR_ENOMEM, "out of memory");
            goto out;
        }
        trivsel__envelope__pack(&ev, buf);
        const char *values[1] = {(const char *)buf};
        int lengths[1] = {(int)len}, formats[1] = {1};
        rc = tr_pg_txn_query_binary(out.txn, "INSERT INTO broker.outbox (envelope) VALUES ($1)", 1,
                                    values, lengths, formats, NULL, NULL);
        free(buf);
    }
    if (rc < 0)
        tr_error_set(err, rc, "cannot queue the event into broker.outbox: %s", tr_strerror(rc));
out:
    free(payload);
    return rc;
}

/* FNV-1a, 64 bits, from the given offset basis. */
static uint64_t fnv1a(uint64_t h, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

void asm_event_id(const Trivsel__Envelope *cause, const char *what, char buf[100])
{
    /* Two independent 64-bit hashes of "publisher\0event_id": 128 bits, so ids of different
     * causes do not meet in practice, while the same cause always gives the same id. */
    const char *publisher = cause->publisher ? cause->publisher : "";
    const char *id = cause->event_id ? cause->event_id : "";
    uint64_t a = UINT64_C(0xcbf29ce484222325), b = UINT64_C(0x84222325cbf29ce4);
    a = fnv1a(a, publisher, strlen(publisher) + 1);
    b = fnv1a(b, publisher, strlen(publisher) + 1);
    a = fnv1a(a, id, strlen(id));
    b = fnv1a(b, id, strlen(id));
    snprintf(buf, 100, "%.60s-%016llx%016llx", what, (unsigned long long)a, (unsigned long long)b);
}

int64_t asm_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * ASM_US_PER_SECOND + ts.tv_nsec / 1000;
}

int64_t asm_ts_us(const Google__Protobuf__Timestamp *ts)
{
    if (!ts)
        return 0;
    return ts->seconds * ASM_US_PER_SECOND + ts->nanos / 1000;
}

bool asm_ts_ok(const Google__Protobuf__Timestamp *ts)
{
    return ts && ts->nanos >= 0 && ts->nanos < 1000000000 && asm_instant_ok(ts->seconds);
}

void asm_timestamp(Google__Protobuf__Timestamp *ts, int64_t us)
{
    google__protobuf__timestamp__init(ts);
    ts->seconds = us / ASM_US_PER_SECOND;
    int64_t frac = us % ASM_US_PER_SECOND;
    if (frac < 0) {
        ts->seconds--;
        frac += ASM_US_PER_SECOND;
    }
    ts->nanos = (int32_t)(frac * 1000);
}

void asm_us_text(int64_t us, char buf[40])
{
    int64_t s = us / ASM_US_PER_SECOND, frac = us % ASM_US_PER_SECOND;
    if (frac < 0) {
        s--;
        frac += ASM_US_PER_SECOND;
    }
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char text[96];
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)frac);
    snprintf(buf, 40, "%.39s", text);
}

int64_t asm_col_us(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return 0;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

void asm_col_text(const PGresult *res, int row, int col, char *buf, size_t len)
{
    snprintf(buf, len, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

bool asm_col_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

void asm_uuid(char out[37])
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

bool asm_is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

char *asm_text_array(char *const *items, size_t n)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += 2 * strlen(items[i] ? items[i] : "") + 3;
    char *out = malloc(len), *p = out;
    if (!out)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        for (const char *s = items[i] ? items[i] : ""; *s; s++) {
            if (*s == '"' || *s == '\\')
                *p++ = '\\';
            *p++ = *s;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = '\0';
    return out;
}

const char *asm_enum_name(const ProtobufCEnumDescriptor *d, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    return v ? v->name : "";
}

void asm_date_text(tr_date_t d, char buf[TR_CALENDAR_DATE_LEN])
{
    tr_calendar_format_date(d, buf);
}
