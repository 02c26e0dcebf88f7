#include "log.h"

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

size_t tr_log_json_string(char *buf, size_t len, const char *s)
{
    size_t n = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 < len)                                                                           \
            buf[n] = (c);                                                                          \
        n++;                                                                                       \
    } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': PUT('\\'); PUT('"'); break;
        case '\\': PUT('\\'); PUT('\\'); break;
        case '\n': PUT('\\'); PUT('n'); break;
        case '\r': PUT('\\'); PUT('r'); break;
        case '\t': PUT('\\'); PUT('t'); break;
        default:
            if (*p < 0x20) {
                char esc[7];
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                for (int i = 0; i < 6; i++)
                    PUT(esc[i]);
            } else {
                PUT((char)*p);
            }
        }
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

static bool append_json(char *line, size_t cap, size_t *used, const char *s)
{
    size_t need = tr_log_json_string(line + *used, cap - *used, s);
    if (*used + need >= cap)
        return false;
    *used += need;
    return true;
}

void tr_log_write(tr_log_level_t level, const char *msg, const tr_log_field_t *fields)
{
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
    bool ok = append_json(line, body_cap, &used, msg);
    for (const tr_log_field_t *f = fields; ok && f && f->type != TR_LOG_FIELD_END; f++) {
        ok = append(line, body_cap, &used, ",") && append_json(line, body_cap, &used, f->key) &&
             append(line, body_cap, &used, ":");
        if (!ok)
            break;
        if (f->type == TR_LOG_FIELD_STR) {
            ok = f->str ? append_json(line, body_cap, &used, f->str)
                        : append(line, body_cap, &used, "null");
        } else {
            snprintf(scratch, sizeof scratch, "%lld", f->num);
            ok = append(line, body_cap, &used, scratch);
        }
    }
    if (!ok) /* a line that did not fit is cut at a field boundary and marked */
        append(line, sizeof line, &used, ",\"truncated\":true");
    append(line, sizeof line, &used, "}\n");
    FILE *out = log_out ? log_out : stderr;
    fputs(line, out);
    fflush(out);
}
