#include "pbjson.h"

#include <assert.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A value quoted in a message is cut after this many characters: enough to recognise it, never
 * a whole pasted document. SHOW_SIZE holds the worst case: every character a 4-byte sequence or
 * a \xHH escape, plus quotes, "..." and NUL. */
enum { SHOW_CHARS = 48, SHOW_SIZE = SHOW_CHARS * 4 + 8 };

/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since 1970: the range of
 * google.protobuf.Timestamp (timestamp.proto). */
#define TIMESTAMP_MIN INT64_C(-62135596800)
#define TIMESTAMP_MAX INT64_C(253402300799)
#define TIMESTAMP_NAME "google.protobuf.Timestamp"
#define TIMESTAMP_HINT "must be RFC 3339, e.g. 2024-03-28T08:15:00Z"

/* JSON -> message: where in the document we are, for messages. */
typedef struct reader {
    const tr_pbjson_options_t *opts;
    tr_error_t *err;
    size_t path_len;
    char path[TR_ERROR_MESSAGE_MAX]; /* "$.publish.event.payload"; cut when longer */
} reader_t;

/* Message -> JSON. */
typedef struct writer {
    const tr_pbjson_options_t *opts;
    bool lossy; /* wrote something tr_pbjson_parse would not read back as the same message */
} writer_t;

static int read_message(reader_t *r, const ProtobufCMessageDescriptor *desc, const json_t *v,
                        int depth, ProtobufCMessage **out);
static json_t *write_message(writer_t *w, const ProtobufCMessage *msg, int depth);

/* ---- text helpers */

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 when it is not one. Rejects
 * overlong forms, surrogates and code points above U+10FFFF, as RFC 3629 requires. */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

static bool utf8_valid(const char *s, size_t len)
{
    size_t i = 0, n;
    while (i < len) {
        n = utf8_seq_len((const unsigned char *)s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* s for a message: valid UTF-8 as is (a Danish name stays readable), control characters and
 * invalid bytes as \xHH, '"' and '\' escaped, cut after SHOW_CHARS characters. */
static void show_text(char buf[SHOW_SIZE], const char *s, size_t len, bool quoted)
{
    size_t o = 0, i = 0, chars = 0, n;
    if (quoted)
        buf[o++] = '"';
    for (; i < len && chars < SHOW_CHARS; chars++) {
        unsigned char c = (unsigned char)s[i];
        n = utf8_seq_len((const unsigned char *)s + i, len - i);
        if (n == 0 || c < 0x20 || c == 0x7F) {
            snprintf(buf + o, 5, "\\x%02X", c);
            o += 4;
            i++;
        } else if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
            i++;
        } else {
            memcpy(buf + o, s + i, n);
            o += n;
            i += n;
        }
    }
    if (i < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    if (quoted)
        buf[o++] = '"';
    buf[o] = '\0';
}

/* A JSON value for a message: a string quoted and cut, a number as written by jansson (which,
 * unlike printf, does not follow the locale's decimal comma) — with 15 digits when they read
 * back as the same number, so 1e39 is not shown as 1.0000000000000001e+39. */
static void show_json(char buf[SHOW_SIZE], const json_t *v)
{
    size_t n;
    json_t *back;
    if (json_is_string(v)) {
        show_text(buf, json_string_value(v), json_string_length(v), true);
        return;
    }
    n = json_dumpb(v, buf, SHOW_SIZE - 1, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    back = n > 0 && n < SHOW_SIZE ? json_loadb(buf, n, JSON_DECODE_ANY, NULL) : NULL;
    if (!back || !json_equal(back, v))
        n = json_dumpb(v, buf, SHOW_SIZE - 1, JSON_ENCODE_ANY);
    json_decref(back);
    if (n == 0 || n >= SHOW_SIZE)
        n = (size_t)snprintf(buf, SHOW_SIZE, "a number");
    buf[n] = '\0';
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "an unknown JSON value";
}

/* protoc's ToJsonName: drop each '_' and upper-case the letter after it ("event_id" ->
 * "eventId"). Writes at most size bytes with a NUL; returns the full length, as snprintf. */
static size_t json_name(const char *proto_name, char *buf, size_t size)
{
    size_t n = 0;
    bool upper = false;
    for (const char *p = proto_name; *p; p++) {
        char c = *p;
        if (c == '_') {
            upper = true;
            continue;
        }
        if (upper && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        upper = false;
        if (n + 1 < size)
            buf[n] = c;
        n++;
    }
    if (size > 0)
        buf[n < size ? n : size - 1] = '\0';
    return n;
}

/* Whether key is proto_name's JSON name, without building it. */
static bool json_name_equals(const char *proto_name, const char *key, size_t key_len)
{
    size_t j = 0;
    bool upper = false;
    for (const char *p = proto_name; *p; p++) {
        char c = *p;
        if (c == '_') {
            upper = true;
            continue;
        }
        if (upper && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        upper = false;
        if (j >= key_len || key[j] != c)
            return false;
        j++;
    }
    return j == key_len;
}

/* The field a JSON key names: its lowerCamelCase name or its .proto name. */
static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc,
                                                  const char *key, size_t key_len)
{
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const char *name = desc->fields[i].name;
        if ((strlen(name) == key_len && memcmp(name, key, key_len) == 0) ||
            json_name_equals(name, key, key_len))
            return &desc->fields[i];
    }
    return NULL;
}

/* protoc turns `map<K, V> labels = 1;` into `repeated LabelsEntry labels = 1;` with a nested
 * message {K key = 1; V value = 2;}; protobuf-c's descriptors do not keep the map_entry option
 * that marks it, so recognise the shape. */
static bool is_map_field(const ProtobufCMessageDescriptor *parent,
                         const ProtobufCFieldDescriptor *f)
{
    const ProtobufCMessageDescriptor *entry = f->descriptor;
    size_t plen = strlen(parent->name), slen;
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE ||
        entry->n_fields != 2)
        return false;
    slen = strlen(entry->short_name);
    return strncmp(entry->name, parent->name, plen) == 0 && entry->name[plen] == '.' &&
           slen > 5 && strcmp(entry->short_name + slen - 5, "Entry") == 0 &&
           entry->fields[0].id == 1 && strcmp(entry->fields[0].name, "key") == 0 &&
           entry->fields[1].id == 2 && strcmp(entry->fields[1].name, "value") == 0;
}

static size_t value_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: return sizeof(int32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: return sizeof(int64_t);
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
    }
    assert(!"unknown protobuf-c field type");
    return 0;
}

static ProtobufCMessage *message_new(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *msg = malloc(desc->sizeof_message);
    if (msg)
        protobuf_c_message_init(desc, msg);
    return msg;
}

/* ---- google.protobuf.Timestamp */

/* Its seconds and nanos fields, when desc is the well-known Timestamp. */
static bool timestamp_fields(const ProtobufCMessageDescriptor *desc,
                             const ProtobufCFieldDescriptor **seconds,
                             const ProtobufCFieldDescriptor **nanos)
{
    if (strcmp(desc->name, TIMESTAMP_NAME) != 0)
        return false;
    *seconds = protobuf_c_message_descriptor_get_field_by_name(desc, "seconds");
    *nanos = protobuf_c_message_descriptor_get_field_by_name(desc, "nanos");
    return *seconds && *nanos && (*seconds)->type == PROTOBUF_C_TYPE_INT64 &&
           (*seconds)->label != PROTOBUF_C_LABEL_REPEATED &&
           (*nanos)->type == PROTOBUF_C_TYPE_INT32 && (*nanos)->label != PROTOBUF_C_LABEL_REPEATED;
}

/* Days since 1970-01-01 in the proleptic Gregorian calendar, and back (Howard Hinnant's
 * algorithms: exact for every year, no tables, no time zone database). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* RFC 3339's date-time: YYYY-MM-DDTHH:MM:SS[.1-9 digits](Z|+HH:MM|-HH:MM), 'T' and 'Z' in either
 * case (RFC 3339 §5.6). No leap second: Timestamp has none (it uses a smeared clock). Returns
 * false when the text is not one; *in_range says whether it lies in Timestamp's range. */
static bool parse_rfc3339(const char *s, size_t len, int64_t *seconds, int32_t *nanos,
                          bool *in_range)
{
    int year, month, day, hour, minute, second, off_h = 0, off_m = 0, sign = 0, ns = 0;
    size_t i = 19, nd = 0;
    int64_t secs;
    if (len < 20 || !digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &month) ||
        s[7] != '-' || !digits(s + 8, 2, &day) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s + 11, 2, &hour) || s[13] != ':' || !digits(s + 14, 2, &minute) ||
        s[16] != ':' || !digits(s + 17, 2, &second))
        return false;
    if (s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++)
            if (nd < 9)
                ns = ns * 10 + (s[i] - '0');
        if (nd == 0 || nd > 9)
            return false;
        for (; nd < 9; nd++)
            ns *= 10;
    }
    if (i < len && (s[i] == 'Z' || s[i] == 'z'))
        i++;
    else if (i < len && (s[i] == '+' || s[i] == '-')) {
        sign = s[i] == '+' ? 1 : -1;
        if (len - i < 6 || !digits(s + i + 1, 2, &off_h) || s[i + 3] != ':' ||
            !digits(s + i + 4, 2, &off_m))
            return false;
        i += 6;
    } else
        return false;
    if (i != len || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
        hour > 23 || minute > 59 || second > 59 || off_h > 23 || off_m > 59)
        return false;
    /* The local time minus its offset is UTC: 09:15+01:00 is 08:15Z. */
    secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
           sign * (off_h * 3600 + off_m * 60);
    *in_range = secs >= TIMESTAMP_MIN && secs <= TIMESTAMP_MAX;
    *seconds = secs;
    *nanos = ns;
    return true;
}

/* "2026-11-23T08:15:00Z", with 3, 6 or 9 fractional digits when nanos needs them (as protojson).
 * Returns false when the value lies outside Timestamp's range and so has no such text. */
static bool format_rfc3339(int64_t seconds, int32_t nanos, char buf[64])
{
    int64_t days = seconds / 86400, rem = seconds % 86400, year;
    int month, day, n;
    if (seconds < TIMESTAMP_MIN || seconds > TIMESTAMP_MAX || nanos < 0 || nanos > 999999999)
        return false;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, &year, &month, &day);
    n = snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02d", (int)year, month, day,
                 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    /* whole seconds have no fraction */
    if (nanos != 0 && nanos % 1000000 == 0)
        n += snprintf(buf + n, (size_t)(64 - n), ".%03d", (int)(nanos / 1000000));
    else if (nanos != 0 && nanos % 1000 == 0)
        n += snprintf(buf + n, (size_t)(64 - n), ".%06d", (int)(nanos / 1000));
    else if (nanos != 0)
        n += snprintf(buf + n, (size_t)(64 - n), ".%09d", (int)nanos);
    snprintf(buf + n, (size_t)(64 - n), "Z");
    return true;
}

/* ---- base64 (RFC 4648) */

static json_t *base64_json(const uint8_t *data, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = (len + 2) / 3 * 4, o = 0;
    char *text = malloc(n + 1);
    json_t *result = NULL;
    if (!text)
        goto out;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        text[o++] = alphabet[v >> 18 & 63];
        text[o++] = alphabet[v >> 12 & 63];
        text[o++] = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
        text[o++] = i + 2 < len ? alphabet[v & 63] : '=';
    }
    result = json_stringn_nocheck(text, n);
out:
    free(text);
    return result;
}

static int base64_value(char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

/* Standard or URL-safe alphabet (a text with '-' or '_' is URL-safe, as Go's protojson decides),
 * padding optional — what protojson and json_format accept. Returns 0, TR_EINVAL when s is not
 * base64, or TR_ENOMEM. */
static int base64_decode(const char *s, size_t len, ProtobufCBinaryData *out)
{
    size_t pad = 0, n, out_len, o = 0;
    uint32_t acc = 0;
    int bits = 0, rc = 0;
    uint8_t *data = NULL;
    bool url;
    while (pad < 2 && pad < len && s[len - 1 - pad] == '=')
        pad++;
    n = len - pad;
    if ((pad > 0 && len % 4 != 0) || n % 4 == 1) {
        rc = TR_EINVAL;
        goto out;
    }
    url = memchr(s, '-', n) || memchr(s, '_', n);
    out_len = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (out_len > 0 && !(data = malloc(out_len))) {
        rc = TR_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int v = base64_value(s[i], url);
        if (v < 0) {
            rc = TR_EINVAL;
            goto out;
        }
        acc = (acc << 6 | (uint32_t)v) & 0xFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            data[o++] = (uint8_t)(acc >> bits);
        }
    }
    out->data = data;
    out->len = out_len;
    data = NULL;
out:
    free(data);
    return rc;
}

/* ---- JSON -> message */

static int fail(reader_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(reader_t *r, const char *fmt, ...)
{
    char detail[TR_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return tr_error_set(r->err, TR_EINVAL, "at \"%s\": %s", r->path, detail);
}

static int oom(reader_t *r)
{
    return tr_error_set(r->err, TR_ENOMEM, "out of memory");
}

/* Appends to the path; returns the old length for path_pop(). A path too long for the buffer
 * is cut: the message it goes into is no longer anyway. */
static size_t path_push(reader_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_push(reader_t *r, const char *fmt, ...)
{
    size_t old = r->path_len, room = sizeof r->path - old;
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(r->path + old, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->path_len += (size_t)n < room ? (size_t)n : room - 1;
    return old;
}

static size_t path_push_key(reader_t *r, const char *key, size_t key_len)
{
    char shown[SHOW_SIZE];
    show_text(shown, key, key_len, false);
    return path_push(r, ".%s", shown);
}

static void path_pop(reader_t *r, size_t old)
{
    r->path_len = old;
    r->path[old] = '\0';
}

/* An integer field from a JSON number (a whole one: 1.0 and 1e3 are fine, as in protojson) or
 * a string of decimal digits, which is how 64-bit values arrive. */
static int read_integer(reader_t *r, const json_t *v, const char *type_name, bool is_signed,
                        int bits, void *slot)
{
    char shown[SHOW_SIZE];
    bool neg = false, too_big = false;
    uint64_t mag = 0, pos_max, neg_max;
    int64_t sv;

    switch (json_typeof(v)) {
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        neg = i < 0;
        mag = neg ? -(uint64_t)i : (uint64_t)i;
        break;
    }
    case JSON_REAL: {
        double d = json_real_value(v);
        if (!isfinite(d) || floor(d) != d) {
            show_json(shown, v);
            return fail(r, "expected an integer, got %s", shown);
        }
        neg = d < 0;
        if (fabs(d) >= 18446744073709551616.0) /* 2^64 */
            too_big = true;
        else
            mag = (uint64_t)fabs(d);
        break;
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v), i = 0;
        bool ok;
        if (len > 0 && s[0] == '-') {
            neg = true;
            i++;
        }
        ok = i < len; /* "" and "-" are not numbers */
        for (; ok && i < len; i++) {
            unsigned d = (unsigned)(s[i] - '0');
            ok = s[i] >= '0' && s[i] <= '9';
            if (ok && mag > (UINT64_MAX - d) / 10)
                too_big = true;
            else if (ok)
                mag = mag * 10 + d;
        }
        if (!ok) {
            show_json(shown, v);
            return fail(r, "expected an integer, got %s", shown);
        }
        break;
    }
    default: return fail(r, "expected an integer, got %s", json_kind(v));
    }

    pos_max = is_signed ? (UINT64_C(1) << (bits - 1)) - 1
                        : (bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1);
    neg_max = is_signed ? UINT64_C(1) << (bits - 1) : 0;
    if (too_big || mag > (neg ? neg_max : pos_max)) {
        show_json(shown, v);
        if (is_signed)
            return fail(r,
                        "value %s is out of range for %s: must be between -%" PRIu64
                        " and %" PRIu64,
                        shown, type_name, neg_max, pos_max);
        return fail(r, "value %s is out of range for %s: must be between 0 and %" PRIu64, shown,
                    type_name, pos_max);
    }
    /* Two's complement by arithmetic, not by converting an out-of-range uint64_t. */
    sv = neg && mag > 0 ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
    if (bits == 64 && is_signed)
        *(int64_t *)slot = sv;
    else if (bits == 64)
        *(uint64_t *)slot = mag;
    else if (is_signed)
        *(int32_t *)slot = (int32_t)sv;
    else
        *(uint32_t *)slot = (uint32_t)mag;
    return 0;
}

/* JSON's number grammar (RFC 8259 §6), for numbers given as strings. */
static bool is_json_number(const char *s, size_t len)
{
    size_t i = 0;
#define DIGIT(k) ((k) < len && s[k] >= '0' && s[k] <= '9')
    if (i < len && s[i] == '-')
        i++;
    if (i < len && s[i] == '0')
        i++;
    else if (DIGIT(i))
        while (DIGIT(i))
            i++;
    else
        return false;
    if (i < len && s[i] == '.') {
        if (!DIGIT(i + 1))
            return false;
        for (i++; DIGIT(i); i++)
            ;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (!DIGIT(i))
            return false;
        while (DIGIT(i))
            i++;
    }
#undef DIGIT
    return i == len;
}

/* float and double: a number, "NaN", "Infinity", "-Infinity" or a number in a string. */
static int read_float(reader_t *r, const json_t *v, bool is_float, void *slot)
{
    char shown[SHOW_SIZE];
    double d;
    switch (json_typeof(v)) {
    case JSON_INTEGER: d = (double)json_integer_value(v); break;
    case JSON_REAL: d = json_real_value(v); break;
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        json_error_t jerr;
        json_t *number;
        show_json(shown, v);
        if (strcmp(s, "NaN") == 0)
            d = NAN;
        else if (strcmp(s, "Infinity") == 0)
            d = INFINITY;
        else if (strcmp(s, "-Infinity") == 0)
            d = -INFINITY;
        else if (!is_json_number(s, len))
            return fail(r, "expected a number, got %s", shown);
        else {
            /* jansson reads it: strtod would follow the locale's decimal comma. */
            number = json_loadb(s, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
            if (!number && json_error_code(&jerr) == json_error_out_of_memory)
                return oom(r);
            if (!number)
                return fail(r, "value %s is out of range for %s", shown,
                            is_float ? "float" : "double");
            d = json_number_value(number);
            json_decref(number);
        }
        break;
    }
    default: return fail(r, "expected a number, got %s", json_kind(v));
    }
    if (is_float && isfinite(d) && fabs(d) > FLT_MAX) {
        show_json(shown, v);
        return fail(r, "value %s is out of range for float", shown);
    }
    if (is_float)
        *(float *)slot = (float)d;
    else
        *(double *)slot = d;
    return 0;
}

static int read_enum(reader_t *r, const ProtobufCEnumDescriptor *ed, const json_t *v, void *slot)
{
    char shown[SHOW_SIZE];
    const ProtobufCEnumValue *ev;
    if (json_is_number(v))
        return read_integer(r, v, ed->name, true, 32, slot);
    if (!json_is_string(v))
        return fail(r, "expected an enum name or an integer, got %s", json_kind(v));
    ev = protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));
    if (!ev || strlen(json_string_value(v)) != json_string_length(v)) {
        show_json(shown, v);
        return fail(r, "unknown value %s of enum %s", shown, ed->name);
    }
    *(int32_t *)slot = ev->value;
    return 0;
}

static int read_string(reader_t *r, const json_t *v, char **slot)
{
    char shown[SHOW_SIZE];
    const char *s;
    size_t len;
    char *copy;
    if (!json_is_string(v))
        return fail(r, "expected a string, got %s", json_kind(v));
    s = json_string_value(v);
    len = json_string_length(v);
    /* jansson refuses both when it parses text, but a caller's json_t may hold either. */
    if (memchr(s, '\0', len))
        return fail(r, "string contains \\u0000, which a protobuf-c string cannot hold");
    if (!utf8_valid(s, len)) {
        show_text(shown, s, len, true);
        return fail(r, "invalid UTF-8 in string %s", shown);
    }
    if (!(copy = malloc(len + 1)))
        return oom(r);
    memcpy(copy, s, len + 1);
    *slot = copy;
    return 0;
}

static int read_bytes(reader_t *r, const json_t *v, ProtobufCBinaryData *slot)
{
    char shown[SHOW_SIZE];
    int rc;
    if (!json_is_string(v))
        return fail(r, "expected a base64 string, got %s", json_kind(v));
    rc = base64_decode(json_string_value(v), json_string_length(v), slot);
    if (rc == TR_ENOMEM)
        return oom(r);
    if (rc != 0) {
        show_json(shown, v);
        return fail(r, "invalid base64 %s: must be standard or URL-safe base64 (RFC 4648)",
                    shown);
    }
    return 0;
}

static int read_timestamp(reader_t *r, const ProtobufCMessageDescriptor *desc,
                          const ProtobufCFieldDescriptor *seconds_f,
                          const ProtobufCFieldDescriptor *nanos_f, const json_t *v,
                          ProtobufCMessage **out)
{
    char shown[SHOW_SIZE];
    int64_t seconds;
    int32_t nanos;
    bool in_range;
    ProtobufCMessage *msg;
    if (!json_is_string(v))
        return fail(r, "expected a string, got %s", json_kind(v));
    show_json(shown, v);
    if (!parse_rfc3339(json_string_value(v), json_string_length(v), &seconds, &nanos, &in_range))
        return fail(r, "invalid timestamp %s: " TIMESTAMP_HINT, shown);
    if (!in_range)
        return fail(r,
                    "timestamp %s is out of range: must be between 0001-01-01T00:00:00Z and "
                    "9999-12-31T23:59:59Z",
                    shown);
    if (!(msg = message_new(desc)))
        return oom(r);
    *(int64_t *)((char *)msg + seconds_f->offset) = seconds;
    *(int32_t *)((char *)msg + nanos_f->offset) = nanos;
    *out = msg;
    return 0;
}

/* One value of field f's type into slot; depth is that of the object or array holding it. */
static int read_value(reader_t *r, const ProtobufCFieldDescriptor *f, const json_t *v,
                      void *slot, int depth)
{
    ProtobufCMessage *sub;
    int rc;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: return read_integer(r, v, "int32", true, 32, slot);
    case PROTOBUF_C_TYPE_SINT32: return read_integer(r, v, "sint32", true, 32, slot);
    case PROTOBUF_C_TYPE_SFIXED32: return read_integer(r, v, "sfixed32", true, 32, slot);
    case PROTOBUF_C_TYPE_UINT32: return read_integer(r, v, "uint32", false, 32, slot);
    case PROTOBUF_C_TYPE_FIXED32: return read_integer(r, v, "fixed32", false, 32, slot);
    case PROTOBUF_C_TYPE_INT64: return read_integer(r, v, "int64", true, 64, slot);
    case PROTOBUF_C_TYPE_SINT64: return read_integer(r, v, "sint64", true, 64, slot);
    case PROTOBUF_C_TYPE_SFIXED64: return read_integer(r, v, "sfixed64", true, 64, slot);
    case PROTOBUF_C_TYPE_UINT64: return read_integer(r, v, "uint64", false, 64, slot);
    case PROTOBUF_C_TYPE_FIXED64: return read_integer(r, v, "fixed64", false, 64, slot);
    case PROTOBUF_C_TYPE_FLOAT: return read_float(r, v, true, slot);
    case PROTOBUF_C_TYPE_DOUBLE: return read_float(r, v, false, slot);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v))
            return fail(r, "expected true or false, got %s", json_kind(v));
        *(protobuf_c_boolean *)slot = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: return read_enum(r, f->descriptor, v, slot);
    case PROTOBUF_C_TYPE_STRING: return read_string(r, v, slot);
    case PROTOBUF_C_TYPE_BYTES: return read_bytes(r, v, slot);
    case PROTOBUF_C_TYPE_MESSAGE:
        rc = read_message(r, f->descriptor, v, depth + 1, &sub);
        if (rc == 0)
            *(ProtobufCMessage **)slot = sub;
        return rc;
    }
    assert(!"unknown protobuf-c field type");
    return TR_EINVAL;
}

/* Whether v is the object form of a bytes field holding a message (tr_pbjson_bytes_type_fn). */
static bool is_embedded(const reader_t *r, const ProtobufCFieldDescriptor *f, const json_t *v)
{
    return f->type == PROTOBUF_C_TYPE_BYTES && f->label != PROTOBUF_C_LABEL_REPEATED &&
           r->opts->bytes_type && json_is_object(v);
}

/* A bytes field given as the JSON object of the message it holds: read that message, store it
 * serialized. parent's other fields are set by now (see read_message). */
static int read_embedded(reader_t *r, const ProtobufCMessage *parent,
                         const ProtobufCFieldDescriptor *f, const json_t *v, int depth,
                         ProtobufCBinaryData *slot)
{
    const ProtobufCMessageDescriptor *desc = r->opts->bytes_type(parent, f, r->opts->arg);
    ProtobufCMessage *sub = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc;
    if (!desc) {
        rc = fail(r, "expected a base64 string, got an object: no message type is known for "
                     "this field's content");
        goto out;
    }
    rc = read_message(r, desc, v, depth + 1, &sub);
    if (rc != 0)
        goto out;
    size = protobuf_c_message_get_packed_size(sub);
    if (size > 0) {
        if (!(data = malloc(size))) {
            rc = oom(r);
            goto out;
        }
        protobuf_c_message_pack(sub, data);
    }
    slot->data = data;
    slot->len = size;
out:
    if (sub)
        protobuf_c_message_free_unpacked(sub, NULL);
    return rc;
}

static int read_repeated(reader_t *r, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                         const json_t *v, int depth)
{
    size_t n, size, *count;
    char *array;
    int rc = 0;
    if (is_map_field(msg->descriptor, f))
        return fail(r, "map fields are not supported (field %s of %s)", f->name,
                    msg->descriptor->name);
    if (!json_is_array(v))
        return fail(r, "expected an array, got %s", json_kind(v));
    if (depth + 1 > TR_PBJSON_MAX_DEPTH)
        return fail(r, "nested deeper than %d levels", TR_PBJSON_MAX_DEPTH);
    n = json_array_size(v);
    if (n == 0)
        return 0;
    size = value_size(f->type);
    if (!(array = calloc(n, size)))
        return oom(r);
    /* msg owns the array from here, and the elements as count grows, so on an error the
     * caller's protobuf_c_message_free_unpacked() frees exactly what was read. */
    *(void **)((char *)msg + f->offset) = array;
    count = (size_t *)((char *)msg + f->quantifier_offset);
    *count = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t mark = path_push(r, "[%zu]", i);
        rc = read_value(r, f, json_array_get(v, i), array + i * size, depth + 1);
        path_pop(r, mark);
        if (rc == 0)
            (*count)++;
    }
    return rc;
}

/* One field of msg from v; depth is msg's. */
static int read_field(reader_t *r, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                      const json_t *v, int depth)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    void *slot = (char *)msg + f->offset;
    void *quantifier = (char *)msg + f->quantifier_offset;
    int rc;

    if (json_is_null(v)) /* the default, which msg already holds (as protojson) */
        return 0;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return read_repeated(r, msg, f, v, depth);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t set = *(uint32_t *)quantifier;
        const ProtobufCFieldDescriptor *other = protobuf_c_message_descriptor_get_field(desc, set);
        if (set != 0 && set != f->id && other) {
            char a[64], b[64];
            json_name(other->name, a, sizeof a);
            json_name(f->name, b, sizeof b);
            return fail(r,
                        "fields \"%s\" and \"%s\" are both set, but they are members of one "
                        "oneof",
                        a, b);
        }
    }
    if (is_embedded(r, f, v))
        rc = read_embedded(r, msg, f, v, depth, slot);
    else
        rc = read_value(r, f, v, slot, depth);
    if (rc != 0)
        return rc;
    /* Presence: a oneof records which member is set; a proto2 or proto3 `optional` scalar has
     * a has_ flag (strings and messages are present when not NULL). */
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        *(uint32_t *)quantifier = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
             f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)quantifier = 1;
    return 0;
}

/* v, a JSON value at nesting depth depth (the document's root is 1), as a message of type desc. */
static int read_message(reader_t *r, const ProtobufCMessageDescriptor *desc, const json_t *v,
                        int depth, ProtobufCMessage **out)
{
    const ProtobufCFieldDescriptor *seconds_f, *nanos_f;
    /* jansson's iterators take a non-const object; they do not change it. */
    json_t *object = (json_t *)v;
    ProtobufCMessage *msg = NULL;
    bool *seen = NULL;
    int rc = 0;

    *out = NULL;
    if (timestamp_fields(desc, &seconds_f, &nanos_f)) {
        rc = read_timestamp(r, desc, seconds_f, nanos_f, v, &msg);
        goto out;
    }
    if (!json_is_object(v)) {
        rc = fail(r, "expected an object, got %s", json_kind(v));
        goto out;
    }
    if (depth > TR_PBJSON_MAX_DEPTH) {
        rc = fail(r, "nested deeper than %d levels", TR_PBJSON_MAX_DEPTH);
        goto out;
    }
    msg = message_new(desc);
    seen = calloc(desc->n_fields + 1, sizeof *seen);
    if (!msg || !seen) {
        rc = oom(r);
        goto out;
    }
    /* Two passes: a bytes field given as a message object is read last, because the hook that
     * names its type may need the other fields (the Envelope's payload needs its type), and JSON
     * does not order keys. */
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (void *it = json_object_iter(object); it && rc == 0;
             it = json_object_iter_next(object, it)) {
            const char *key = json_object_iter_key(it);
            size_t key_len = json_object_iter_key_len(it), mark;
            const json_t *value = json_object_iter_value(it);
            const ProtobufCFieldDescriptor *f = find_field(desc, key, key_len);
            char shown[SHOW_SIZE], name[64];
            if ((f && is_embedded(r, f, value)) != (pass == 1))
                continue;
            mark = path_push_key(r, key, key_len);
            if (!f) {
                show_text(shown, key, key_len, true);
                rc = fail(r, "unknown field %s in %s", shown, desc->name);
            } else if (seen[f - desc->fields]) {
                json_name(f->name, name, sizeof name);
                rc = fail(r, "duplicate field: \"%s\" and \"%s\" are the same field", f->name,
                          name);
            } else {
                seen[f - desc->fields] = true;
                rc = read_field(r, msg, f, value, depth);
            }
            path_pop(r, mark);
        }
    }
out:
    free(seen);
    if (rc != 0 && msg) {
        protobuf_c_message_free_unpacked(msg, NULL);
        msg = NULL;
    }
    *out = msg;
    return rc;
}

/* Counts the nesting of objects and arrays in the text before jansson builds it, so a hostile
 * document is refused with a clear message (jansson's own limit is 2048 levels). */
static int check_depth(const char *json, size_t len, tr_error_t *err)
{
    int depth = 0, line = 1, column = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)json[i];
        if (c == '\n') {
            line++;
            column = 0;
        } else if ((c & 0xC0) != 0x80) /* columns count characters, as jansson's do */
            column++;
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"')
            in_string = true;
        else if ((c == '{' || c == '[') && ++depth > TR_PBJSON_MAX_DEPTH)
            return tr_error_set(err, TR_EINVAL,
                                "JSON nested deeper than %d levels at line %d, column %d",
                                TR_PBJSON_MAX_DEPTH, line, column);
        else if ((c == '}' || c == ']') && depth > 0)
            depth--;
    }
    return 0;
}

int tr_pbjson_from_value_opts(const ProtobufCMessageDescriptor *desc, const json_t *value,
                              const tr_pbjson_options_t *opts, ProtobufCMessage **out,
                              tr_error_t *err)
{
    const tr_pbjson_options_t none = {0};
    reader_t r = {.opts = opts ? opts : &none, .err = err, .path_len = 1, .path = "$"};
    assert(desc != NULL && value != NULL && out != NULL);
    return read_message(&r, desc, value, 1, out);
}

int tr_pbjson_from_value(const ProtobufCMessageDescriptor *desc, const json_t *value,
                         ProtobufCMessage **out, tr_error_t *err)
{
    return tr_pbjson_from_value_opts(desc, value, NULL, out, err);
}

int tr_pbjson_parse_opts(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                         const tr_pbjson_options_t *opts, ProtobufCMessage **out,
                         tr_error_t *err)
{
    json_t *root = NULL;
    json_error_t jerr;
    int rc;
    assert(desc != NULL && out != NULL && (json != NULL || len == 0));
    *out = NULL;
    if (len > TR_PBJSON_MAX_DOCUMENT) {
        rc = tr_error_set(err, TR_EINVAL,
                          "JSON document too large: %zu bytes, the limit is %d (1 MiB)", len,
                          TR_PBJSON_MAX_DOCUMENT);
        goto out;
    }
    rc = check_depth(json, len, err);
    if (rc != 0)
        goto out;
    /* Duplicate keys are an error, as in protojson: which of two values was meant is unknown. */
    root = json_loadb(json ? json : "", len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            rc = tr_error_set(err, TR_ENOMEM, "out of memory");
        else
            rc = tr_error_set(err, TR_EINVAL, "invalid JSON at line %d, column %d: %s",
                              jerr.line, jerr.column, jerr.text);
        goto out;
    }
    rc = tr_pbjson_from_value_opts(desc, root, opts, out, err);
out:
    json_decref(root);
    return rc;
}

int tr_pbjson_parse(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                    ProtobufCMessage **out, tr_error_t *err)
{
    return tr_pbjson_parse_opts(desc, json, len, NULL, out, err);
}

/* ---- message -> JSON */

/* Whether a field is written: proto3 leaves out a field holding its default unless it has
 * explicit presence (a oneof member, `optional`, proto2). */
static bool is_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const char *slot = (const char *)msg + f->offset;
    const char *quantifier = (const char *)msg + f->quantifier_offset;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return *(const uint32_t *)quantifier == f->id;
    switch (f->label) {
    case PROTOBUF_C_LABEL_REQUIRED: return true;
    case PROTOBUF_C_LABEL_REPEATED: return *(const size_t *)quantifier > 0;
    case PROTOBUF_C_LABEL_OPTIONAL:
        if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
            const void *p = *(const void *const *)slot;
            return p != NULL && p != f->default_value;
        }
        return *(const protobuf_c_boolean *)quantifier;
    case PROTOBUF_C_LABEL_NONE: break;
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)slot;
        return s != NULL && s[0] != '\0';
    }
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)slot)->len > 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(const void *const *)slot != NULL;
    default: {
        /* Every bit zero is the default; -0.0 and NaN are not (as protobuf-go decides). */
        static const char zero[8];
        return memcmp(slot, zero, value_size(f->type)) != 0;
    }
    }
}

/* w->lossy when d is a NaN other than the one "NaN" reads back as (in a payload decoded from
 * bytes, which must then encode to the same bytes). */
static json_t *write_double(writer_t *w, double d, bool is_float)
{
    if (isnan(d)) {
        float f = (float)d, canonical_f = NAN;
        double canonical = NAN;
        if (is_float ? memcmp(&f, &canonical_f, sizeof f) != 0
                     : memcmp(&d, &canonical, sizeof d) != 0)
            w->lossy = true;
        return json_string("NaN");
    }
    if (isinf(d))
        return json_string(d > 0 ? "Infinity" : "-Infinity");
    return json_real(d);
}

/* A string field; invalid UTF-8 (protobuf-c does not check it on unpack) becomes U+FFFD, since
 * JSON text must be UTF-8. */
static json_t *write_string(writer_t *w, const char *s)
{
    size_t len, o = 0, n;
    char *fixed = NULL;
    json_t *result = NULL;
    if (!s)
        s = "";
    len = strlen(s);
    if (utf8_valid(s, len))
        return json_stringn_nocheck(s, len);
    w->lossy = true;
    if (!(fixed = malloc(len * 3 + 1)))
        goto out;
    for (size_t i = 0; i < len; i += n) {
        n = utf8_seq_len((const unsigned char *)s + i, len - i);
        if (n == 0) {
            memcpy(fixed + o, "\xEF\xBF\xBD", 3);
            o += 3;
            n = 1;
        } else {
            memcpy(fixed + o, s + i, n);
            o += n;
        }
    }
    result = json_stringn_nocheck(fixed, o);
out:
    free(fixed);
    return result;
}

/* A bytes field whose content the hook names: the message's object when the bytes decode as it,
 * encode back to exactly the same bytes and hold nothing JSON loses — so reading the JSON back
 * gives the same bytes — and base64 otherwise. */
static json_t *write_embedded(writer_t *w, const ProtobufCMessage *parent,
                              const ProtobufCFieldDescriptor *f, const ProtobufCBinaryData *bd,
                              int depth)
{
    const ProtobufCMessageDescriptor *desc = w->opts->bytes_type(parent, f, w->opts->arg);
    writer_t inner = {.opts = w->opts};
    ProtobufCMessage *sub = NULL;
    uint8_t *packed = NULL;
    json_t *object = NULL;
    bool out_of_memory = false;
    size_t size;
    if (!desc)
        goto out;
    sub = protobuf_c_message_unpack(desc, NULL, bd->len, bd->data);
    if (!sub)
        goto out;
    size = protobuf_c_message_get_packed_size(sub);
    if (size != bd->len)
        goto out;
    if (!(packed = malloc(size + 1))) {
        out_of_memory = true;
        goto out;
    }
    protobuf_c_message_pack(sub, packed);
    if (size > 0 && memcmp(packed, bd->data, size) != 0)
        goto out;
    object = write_message(&inner, sub, depth + 1);
    if (!object)
        out_of_memory = true;
    else if (inner.lossy) {
        json_decref(object);
        object = NULL;
    }
out:
    if (sub)
        protobuf_c_message_free_unpacked(sub, NULL);
    free(packed);
    if (!object && !out_of_memory)
        object = base64_json(bd->data, bd->len);
    return object;
}

/* One value of field f's type from slot; depth is that of the object or array holding it;
 * single when it is not an element of a repeated field. NULL only when out of memory. */
static json_t *write_value(writer_t *w, const ProtobufCMessage *parent,
                           const ProtobufCFieldDescriptor *f, const void *slot, int depth,
                           bool single)
{
    char text[32];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: return json_integer(*(const int32_t *)slot);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: return json_integer(*(const uint32_t *)slot);
    /* 64-bit integers as strings: a JavaScript reader's doubles hold only 53 bits. */
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(text, sizeof text, "%" PRId64, *(const int64_t *)slot);
        return json_string(text);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(text, sizeof text, "%" PRIu64, *(const uint64_t *)slot);
        return json_string(text);
    case PROTOBUF_C_TYPE_FLOAT: return write_double(w, *(const float *)slot, true);
    case PROTOBUF_C_TYPE_DOUBLE: return write_double(w, *(const double *)slot, false);
    case PROTOBUF_C_TYPE_BOOL: return json_boolean(*(const protobuf_c_boolean *)slot);
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t v = *(const int32_t *)slot;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        /* A number the .proto does not name (a newer sender's value) stays a number. */
        return ev ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING: return write_string(w, *(const char *const *)slot);
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bd = slot;
        if (single && w->opts->bytes_type)
            return write_embedded(w, parent, f, bd, depth);
        return base64_json(bd->data, bd->len);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)slot;
        if (!sub) { /* only in a repeated field of a broken message */
            w->lossy = true;
            return json_object();
        }
        return write_message(w, sub, depth + 1);
    }
    }
    assert(!"unknown protobuf-c field type");
    return NULL;
}

/* Adds value under proto_name's JSON name; takes value's reference, also on failure. */
static int set_field(json_t *object, const char *proto_name, json_t *value)
{
    char small[64], *name = small;
    size_t n = json_name(proto_name, small, sizeof small);
    int rc = -1;
    if (n >= sizeof small) {
        if (!(name = malloc(n + 1)))
            goto out;
        json_name(proto_name, name, n + 1);
    }
    rc = json_object_set_new_nocheck(object, name, value);
    value = NULL; /* taken by jansson, also when it fails */
out:
    json_decref(value);
    if (name != small)
        free(name);
    return rc;
}

/* msg at nesting depth depth (the root is 1). NULL only when out of memory. */
static json_t *write_message(writer_t *w, const ProtobufCMessage *msg, int depth)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const ProtobufCFieldDescriptor *seconds_f, *nanos_f;
    json_t *object = NULL, *value;
    char text[64];

    /* Unknown fields are not written, not even a Timestamp's, which is only its text. */
    if (msg->n_unknown_fields > 0)
        w->lossy = true;
    if (timestamp_fields(desc, &seconds_f, &nanos_f)) {
        if (format_rfc3339(*(const int64_t *)((const char *)msg + seconds_f->offset),
                           *(const int32_t *)((const char *)msg + nanos_f->offset), text))
            return json_string(text);
        /* Out of range: no RFC 3339 text; the object shows the true values, and reading it
         * back is an error rather than a different time. */
        w->lossy = true;
    }
    if (depth > TR_PBJSON_MAX_DEPTH)
        w->lossy = true;
    if (!(object = json_object()))
        goto fail;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        const char *slot = (const char *)msg + f->offset;
        if (!is_present(msg, f))
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
            const char *array = *(const char *const *)slot;
            size_t size = value_size(f->type);
            if (is_map_field(desc, f) || depth + 1 > TR_PBJSON_MAX_DEPTH)
                w->lossy = true;
            value = json_array();
            for (size_t k = 0; value && k < n; k++)
                if (json_array_append_new(value, write_value(w, msg, f, array + k * size,
                                                             depth + 1, false)) != 0) {
                    json_decref(value);
                    value = NULL;
                }
        } else
            value = write_value(w, msg, f, slot, depth, true);
        if (set_field(object, f->name, value) != 0)
            goto fail;
    }
    return object;
fail:
    json_decref(object);
    return NULL;
}

json_t *tr_pbjson_to_value_opts(const ProtobufCMessage *msg, const tr_pbjson_options_t *opts)
{
    const tr_pbjson_options_t none = {0};
    writer_t w = {.opts = opts ? opts : &none};
    assert(msg != NULL);
    return write_message(&w, msg, 1);
}

json_t *tr_pbjson_to_value(const ProtobufCMessage *msg)
{
    return tr_pbjson_to_value_opts(msg, NULL);
}

char *tr_pbjson_format_opts(const ProtobufCMessage *msg, const tr_pbjson_options_t *opts)
{
    json_t *value = tr_pbjson_to_value_opts(msg, opts);
    size_t flags = JSON_ENCODE_ANY;
    char *text;
    if (!value)
        return NULL;
    flags |= opts && (opts->flags & TR_PBJSON_COMPACT) ? JSON_COMPACT : JSON_INDENT(2);
    text = json_dumps(value, flags);
    json_decref(value);
    return text;
}

char *tr_pbjson_format(const ProtobufCMessage *msg, int flags)
{
    tr_pbjson_options_t opts = {.flags = flags};
    return tr_pbjson_format_opts(msg, &opts);
}
