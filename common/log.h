/* log.h — JSON-lines logging to stderr: one object per line with time (RFC 3339 UTC, ms),
 * level, service, msg and the fields given.
 *
 *   tr_log_info("listening", TR_LOG_STR("endpoint", ep), TR_LOG_INT("port", 7400));
 *   {"time":"2026-11-23T16:01:02.123Z","level":"info","service":"broker","msg":"listening",
 *    "endpoint":"tcp://0.0.0.0:7400","port":7400}
 *
 * The service name and level are set once at start (tr_log_init) and only read afterwards:
 * the one piece of process-wide state, because passing a logger into every function would
 * buy nothing. Never log secrets or a child's personal data (CPR numbers, names, free text).
 */
#ifndef TR_LOG_H
#define TR_LOG_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

typedef enum { TR_LOG_DEBUG = 0, TR_LOG_INFO, TR_LOG_WARN, TR_LOG_ERROR } tr_log_level_t;

typedef enum { TR_LOG_FIELD_END = 0, TR_LOG_FIELD_STR, TR_LOG_FIELD_INT } tr_log_field_type_t;

typedef struct tr_log_field {
    tr_log_field_type_t type;
    const char *key;
    const char *str;
    long long num;
} tr_log_field_t;

#define TR_LOG_STR(k, v) ((tr_log_field_t){.type = TR_LOG_FIELD_STR, .key = (k), .str = (v)})
#define TR_LOG_INT(k, v) ((tr_log_field_t){.type = TR_LOG_FIELD_INT, .key = (k), .num = (v)})

/* Sets the service name (borrowed: must outlive the process, e.g. a literal) and the lowest
 * level written. Until called, the service is "trivsel" and the level info. */
void tr_log_init(const char *service, tr_log_level_t level);

/* Redirects output (tests); NULL restores stderr. */
void tr_log_set_output(FILE *out);

/* Parses "debug", "info", "warn" or "error". */
int tr_log_level_parse(const char *text, tr_log_level_t *out, tr_error_t *err);

/* Writes one line if level is enabled. fields ends with a TR_LOG_FIELD_END entry. */
void tr_log_write(tr_log_level_t level, const char *msg, const tr_log_field_t *fields);

/* Appends s to buf as a JSON string literal (with quotes). Returns the bytes it needed. */
size_t tr_log_json_string(char *buf, size_t len, const char *s);

#define TR_LOG_(level, msg, ...)                                                                   \
    tr_log_write((level), (msg), (const tr_log_field_t[]){__VA_ARGS__ __VA_OPT__(, ){0}})
#define tr_log_debug(msg, ...) TR_LOG_(TR_LOG_DEBUG, msg __VA_OPT__(, ) __VA_ARGS__)
#define tr_log_info(msg, ...) TR_LOG_(TR_LOG_INFO, msg __VA_OPT__(, ) __VA_ARGS__)
#define tr_log_warn(msg, ...) TR_LOG_(TR_LOG_WARN, msg __VA_OPT__(, ) __VA_ARGS__)
#define tr_log_error(msg, ...) TR_LOG_(TR_LOG_ERROR, msg __VA_OPT__(, ) __VA_ARGS__)

#endif
