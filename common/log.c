#include "log.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

/* Set once by tr_log_init before the loop starts; see log.h for why this is process-wide. */
static const char *log_service = "trivsel";
static tr_log_level_t log_level = TR_LOG_INFO;
static FILE *log_out;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void tr_log_init(const char *service, tr_log_level_t level)
{
    log_service = service;
    log_level = level;
}

void tr_log_set_output(FILE *out)
{
    log_out = out;
}

int tr_log_level_parse(const char *text, tr_log_level_t *out, tr_error_t *err)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (text && strcmp(text, level_names[i]) == 0) {
            *out = (tr_log_level_t)i;
            return 0;
        }
    }
    return tr_error_set(err, TR_EINVAL, "invalid log level \"%s\": must be debug, info, warn or error",
                        text ? text : "");
}

/* The next character of p as JSON text: writes it to out (at most 6 bytes, *out_len of them)
 * and returns how many bytes of p it took. A byte that does not start a well-formed UTF-8
 * sequence becomes U+FFFD, so a line stays valid JSON whatever a message holds. */
static size_t json_char(const unsigned char *p, char out[6], size_t *out_len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = p[0];
    size_t n = 0;
    if (c < 0x80) {
        switch (c) {
        case '"': out[0] = '\\', out[1] = '"', n = 2; break;
        case '\\': out[0] = '\\', out[1] = '\\', n = 2; break;
        case '\n': out[0] = '\\', out[1] = 'n', n = 2; break;
        case '\r': out[0] = '\\', out[1] = 'r', n = 2; break;
        case '\t': out[0] = '\\', out[1] = 't', n = 2; break;
        default:
            if (c < 0x20) {
                memcpy(out, "\\u00", 4);
                out[4] = hex[c >> 4], out[5] = hex[c & 0xf], n = 6;
            } else {
                out[0] = (char)c, n = 1;
            }
        }
        *out_len = n;
        return 1;
    }
    /* RFC 3629: the range of the second byte depends on the first (no overlong forms, no
     * UTF-16 surrogates, nothing past U+10FFFF). */
    size_t need = 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        need = 1;
    else if (c >= 0xe0 && c <= 0xef)
        need = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    bool valid = need > 0 && p[1] >= lo && p[1] <= hi;
    for (size_t i = 2; valid && i <= need; i++)
        valid = p[i] >= 0x80 && p[i] <= 0xbf;
    if (!valid) {
        memcpy(out, "\xef\xbf\xbd", 3);
        *out_len = 3;
        return 1;
    }
    memcpy(out, p, need + 1);
    *out_len = need + 1;
    return need + 1;
}

size_t tr_log_json_string(char *buf, size_t len, const char *s)
{
    size_t n = 0;
    char out[6];
    size_t k;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 < len)                                                                           \
            buf[n] = (c);                                                                          \
        n++;                                                                                       \
    } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
        p += json_char(p, out, &k);
        for (size_t i = 0; i < k; i++)
            PUT(out[i]);
    }
    PUT('"');
#undef PUT
    if (len > 0)
        buf[n < len ? n : len - 1] = '\0';
    return n;
}

/* Appends to line at *used, never past cap; returns false once the line is full. */
static bool append(char *line, size_t cap, size_t *used, const char *text)
{
    size_t n = strlen(text);
    if (*used + n >= cap)
        return false;
    memcpy(line + *used, text, n + 1);
    *used += n;
    return true;
}

/* Appends s as a JSON string. When it does not fit whole, writes as much as fits, cut between
 * two characters (never inside an escape or a UTF-8 sequence), closes the string and returns
 * false. */
static bool append_json(char *line, size_t cap, size_t *used, const char *s)
{
    size_t n = *used;
    if (n + 3 > cap) /* not even "" and the terminator */
        return false;
    line[n++] = '"';
    bool whole = true;
    char out[6];
    size_t k;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
        size_t took = json_char(p, out, &k);
        if (n + k + 2 > cap) { /* keep room for the closing quote and the terminator */
            whole = false;
            break;
        }
        memcpy(line + n, out, k);
        n += k;
        p += took;
    }
    line[n++] = '"';
    line[n] = '\0';
    *used = n;
    return whole;
}

void tr_log_write(tr_log_level_t level, const char *msg, const tr_log_field_t *fields)
{
    assert(level >= TR_LOG_DEBUG && level <= TR_LOG_ERROR);
    if (level < log_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[8192], scratch[64];
    size_t used = 0;
    snprintf(scratch, sizeof scratch, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             ts.tv_nsec / 1000000);
    append(line, sizeof line, &used, scratch);
    append(line, sizeof line, &used, "\"level\":\"");
    append(line, sizeof line, &used, level_names[level]);
    append(line, sizeof line, &used, "\",\"service\":");
    append_json(line, sizeof line, &used, log_service);
    append(line, sizeof line, &used, ",\"msg\":");
    /* Keep room for the closing marker whatever the fields hold. */
    const size_t body_cap = sizeof line - 32;
    /* A message too long for the line is cut; fields that do not fit are left out whole, from
     * the first that does not fit: a cut value could be mistaken for a whole one. */
    bool whole = append_json(line, body_cap, &used, msg);
    for (const tr_log_field_t *f = fields; whole && f && f->type != TR_LOG_FIELD_END; f++) {
        size_t field_start = used;
        whole = append(line, body_cap, &used, ",") && append_json(line, body_cap, &used, f->key) &&
                append(line, body_cap, &used, ":");
        if (whole && f->type == TR_LOG_FIELD_STR) {
            whole = f->str ? append_json(line, body_cap, &used, f->str)
                           : append(line, body_cap, &used, "null");
        } else if (whole) {
            snprintf(scratch, sizeof scratch, "%lld", f->num);
            whole = append(line, body_cap, &used, scratch);
        }
        if (!whole) {
            used = field_start;
            line[used] = '\0';
        }
    }
    if (!whole)
        append(line, sizeof line, &used, ",\"truncated\":true");
    append(line, sizeof line, &used, "}\n");
    FILE *out = log_out ? log_out : stderr;
    fputs(line, out);
    fflush(out);
}
