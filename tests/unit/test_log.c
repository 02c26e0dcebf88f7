/* test_log.c — the JSON lines a log shipper reads: key order, escaping, levels, field types,
 * and a line that does not fit, which must still parse. Output goes to a memory stream. */
#include "log.h"

#include "check.h"

#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>

typedef struct capture {
    char *text;
    size_t len;
    FILE *out;
} capture_t;

static void capture_start(capture_t *c, const char *service, tr_log_level_t level)
{
    c->text = NULL;
    c->len = 0;
    c->out = open_memstream(&c->text, &c->len);
    CHECK(c->out != NULL);
    tr_log_init(service, level);
    tr_log_set_output(c->out);
}

/* Stops capturing; c->text then holds everything written (the caller frees it). */
static void capture_stop(capture_t *c)
{
    tr_log_set_output(NULL);
    tr_log_init("trivsel", TR_LOG_INFO);
    fclose(c->out);
}

/* The line without its "time" member, which changes, and checks that member's shape:
 * {"time":"2026-11-23T16:01:02.123Z", then the rest. Returns a pointer into line. */
static const char *after_time(const char *line)
{
    static const char prefix[] = "{\"time\":\"";
    if (strncmp(line, prefix, sizeof prefix - 1) != 0) {
        CHECK_FAIL_("line does not start with the time: %s", line);
        return line;
    }
    const char *t = line + sizeof prefix - 1;
    struct tm tm = {0};
    const char *end = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
    bool shape = end && end - t == 19 && end[0] == '.' && end[1] >= '0' && end[1] <= '9' &&
                 end[2] >= '0' && end[2] <= '9' && end[3] >= '0' && end[3] <= '9' &&
                 strncmp(end + 4, "Z\",", 3) == 0;
    if (!shape) {
        CHECK_FAIL_("time is not RFC 3339 UTC with milliseconds: %s", line);
        return line;
    }
    time_t logged = timegm(&tm), now = time(NULL);
    if (logged < now - 5 || logged > now + 1)
        CHECK_FAIL_("time %.24s is not now", t);
    return end + 7; /* after .mmmZ", */
}

/* Parses one line with jansson; the caller decrefs. */
static json_t *parse(const char *line)
{
    json_error_t error;
    json_t *j = json_loads(line, 0, &error);
    if (!j)
        CHECK_FAIL_("not valid JSON (%s at %d): %.300s", error.text, error.position, line);
    return j;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; p && *p; p++)
        n += *p == '\n';
    return n;
}

static void test_line_shape_and_key_order(void)
{
    capture_t c;
    capture_start(&c, "broker", TR_LOG_INFO);
    tr_log_info("listening", TR_LOG_STR("endpoint", "tcp://0.0.0.0:7400"),
                TR_LOG_INT("port", 7400));
    capture_stop(&c);
    CHECK_INT_EQ(count_lines(c.text), 1);
    CHECK_STR_EQ(after_time(c.text),
                 "\"level\":\"info\",\"service\":\"broker\",\"msg\":\"listening\","
                 "\"endpoint\":\"tcp://0.0.0.0:7400\",\"port\":7400}\n");
    json_t *j = parse(c.text);
    CHECK_INT_EQ(json_object_size(j), 6);
    json_decref(j);
    free(c.text);
}

static void test_no_fields(void)
{
    capture_t c;
    capture_start(&c, "intake", TR_LOG_DEBUG);
    tr_log_error("stopping");
    capture_stop(&c);
    CHECK_STR_EQ(after_time(c.text),
                 "\"level\":\"error\",\"service\":\"intake\",\"msg\":\"stopping\"}\n");
    free(c.text);
}

static void test_default_service_is_trivsel(void)
{
    capture_t c;
    c.out = open_memstream(&c.text, &c.len);
    tr_log_set_output(c.out);
    tr_log_info("hello");
    tr_log_debug("not shown at the default level");
    capture_stop(&c);
    CHECK_STR_EQ(after_time(c.text),
                 "\"level\":\"info\",\"service\":\"trivsel\",\"msg\":\"hello\"}\n");
    free(c.text);
}

static void test_escaping(void)
{
    const char *msg = "say \"hej\" C:\\dir\nnext\r\ttab \x01\x1f\x7f æøå €";
    capture_t c;
    capture_start(&c, "docs", TR_LOG_INFO);
    tr_log_warn(msg, TR_LOG_STR("path\"key", "a\\b"));
    capture_stop(&c);
    CHECK_INT_EQ(count_lines(c.text), 1);
    CHECK_STR_EQ(
        after_time(c.text),
        "\"level\":\"warn\",\"service\":\"docs\",\"msg\":\"say \\\"hej\\\" C:\\\\dir\\nnext"
        "\\r\\ttab \\u0001\\u001f\x7f æøå €\",\"path\\\"key\":\"a\\\\b\"}\n");
    json_t *j = parse(c.text);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "msg")), msg);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "path\"key")), "a\\b");
    json_decref(j);
    free(c.text);
}

static void test_every_control_character_round_trips(void)
{
    char msg[32];
    for (int i = 1; i < 32; i++)
        msg[i - 1] = (char)i;
    msg[31] = '\0';
    capture_t c;
    capture_start(&c, "docs", TR_LOG_INFO);
    tr_log_info(msg);
    capture_stop(&c);
    CHECK_INT_EQ(count_lines(c.text), 1);
    json_t *j = parse(c.text);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "msg")), msg);
    json_decref(j);
    free(c.text);
}

static void test_invalid_utf8_is_replaced(void)
{
    /* a stray continuation byte, a cut-off sequence, an overlong '/', a UTF-16 surrogate */
    capture_t c;
    capture_start(&c, "docs", TR_LOG_INFO);
    tr_log_info("a\x80"
                "b\xc3"
                "c\xc0\xaf"
                "d\xed\xa0\x80"
                "e\xff");
    capture_stop(&c);
    json_t *j = parse(c.text);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "msg")),
                 "a\xef\xbf\xbd"
                 "b\xef\xbf\xbd"
                 "c\xef\xbf\xbd\xef\xbf\xbd"
                 "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                 "e\xef\xbf\xbd");
    json_decref(j);
    free(c.text);
}

static void test_level_filtering(void)
{
    capture_t c;
    capture_start(&c, "ordering", TR_LOG_WARN);
    tr_log_debug("d");
    tr_log_info("i");
    tr_log_warn("w");
    tr_log_error("e");
    capture_stop(&c);
    CHECK_INT_EQ(count_lines(c.text), 2);
    const char *second = c.text ? strchr(c.text, '\n') : NULL;
    CHECK_STR_CONTAINS(c.text, "\"level\":\"warn\",\"service\":\"ordering\",\"msg\":\"w\"}\n");
    CHECK_STR_EQ(second ? after_time(second + 1) : NULL,
                 "\"level\":\"error\",\"service\":\"ordering\",\"msg\":\"e\"}\n");
    free(c.text);

    capture_start(&c, "ordering", TR_LOG_DEBUG);
    tr_log_debug("d");
    capture_stop(&c);
    CHECK_STR_EQ(after_time(c.text),
                 "\"level\":\"debug\",\"service\":\"ordering\",\"msg\":\"d\"}\n");
    free(c.text);

    capture_start(&c, "ordering", TR_LOG_ERROR);
    tr_log_warn("w");
    capture_stop(&c);
    CHECK_INT_EQ(c.len, 0);
    free(c.text);
}

static void test_int_fields(void)
{
    capture_t c;
    capture_start(&c, "broker", TR_LOG_INFO);
    tr_log_info("counts", TR_LOG_INT("zero", 0), TR_LOG_INT("negative", -42),
                TR_LOG_INT("min", LLONG_MIN), TR_LOG_INT("max", LLONG_MAX));
    capture_stop(&c);
    CHECK_STR_EQ(after_time(c.text),
                 "\"level\":\"info\",\"service\":\"broker\",\"msg\":\"counts\",\"zero\":0,"
                 "\"negative\":-42,\"min\":-9223372036854775808,\"max\":9223372036854775807}\n");
    json_t *j = parse(c.text);
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "min")), LLONG_MIN);
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "max")), LLONG_MAX);
    json_decref(j);
    free(c.text);
}

static void test_null_string_field(void)
{
    capture_t c;
    capture_start(&c, "broker", TR_LOG_INFO);
    tr_log_info("lookup", TR_LOG_STR("tenant", NULL), TR_LOG_STR("empty", ""));
    capture_stop(&c);
    CHECK_STR_EQ(after_time(c.text), "\"level\":\"info\",\"service\":\"broker\",\"msg\":\"lookup\","
                                     "\"tenant\":null,\"empty\":\"\"}\n");
    json_t *j = parse(c.text);
    CHECK(json_is_null(json_object_get(j, "tenant")));
    json_decref(j);
    free(c.text);
}

/* msg of n bytes repeating unit. The caller frees it. */
static char *repeated(const char *prefix, const char *unit, size_t n)
{
    size_t plen = strlen(prefix), ulen = strlen(unit);
    char *s = malloc(plen + n + 1);
    memcpy(s, prefix, plen);
    for (size_t i = 0; i < n; i++)
        s[plen + i] = unit[i % ulen];
    s[plen + n] = '\0';
    return s;
}

/* Logs msg with fields; checks the one line that comes out parses, is no longer than the
 * line limit, and is marked truncated; returns it parsed (the caller decrefs). */
static json_t *log_truncated(const char *msg, const tr_log_field_t *fields)
{
    capture_t c;
    capture_start(&c, "docs", TR_LOG_INFO);
    tr_log_write(TR_LOG_INFO, msg, fields);
    capture_stop(&c);
    CHECK_INT_EQ(count_lines(c.text), 1);
    if (c.len > 8192)
        CHECK_FAIL_("a line of %zu bytes", c.len);
    CHECK(c.len > 0 && c.text[c.len - 1] == '\n');
    CHECK_STR_CONTAINS(c.text, ",\"truncated\":true}\n");
    json_t *j = parse(c.text);
    CHECK(json_is_true(json_object_get(j, "truncated")));
    free(c.text);
    return j;
}

static void test_long_message_is_truncated(void)
{
    char *msg = repeated("", "abcdefghij", 20000);
    json_t *j = log_truncated(msg, (const tr_log_field_t[]){{0}});
    const char *got = json_string_value(json_object_get(j, "msg"));
    CHECK(got != NULL);
    if (got) {
        /* cut, but only just: the line keeps nearly all of its 8 KiB */
        CHECK(strlen(got) > 8000 && strlen(got) < 8192);
        CHECK(strncmp(got, msg, strlen(got)) == 0);
    }
    CHECK_STR_EQ(json_string_value(json_object_get(j, "service")), "docs");
    json_decref(j);
    free(msg);
}

/* The cut must never split an escape (\" or \u0001) or a UTF-8 sequence; shifting the text by
 * one byte at a time puts every kind of unit on the boundary. */
static void test_truncation_never_splits_a_character(void)
{
    const char *units[] = {"\"", "\x01", "\xc3\xa6", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\\"};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        for (size_t shift = 0; shift < 8; shift++) {
            char prefix[9];
            memset(prefix, 'p', shift);
            prefix[shift] = '\0';
            char *msg = repeated(prefix, units[u], 12000 - 12000 % strlen(units[u]));
            json_t *j = log_truncated(msg, (const tr_log_field_t[]){{0}});
            const char *got = json_string_value(json_object_get(j, "msg"));
            if (!got || strncmp(got, msg, strlen(got)) != 0 || strlen(got) < 1000)
                CHECK_FAIL_("unit %zu shift %zu: msg is not a long prefix of the original", u,
                            shift);
            json_decref(j);
            free(msg);
        }
    }
}

static void test_fields_cut_at_a_field_boundary(void)
{
    char *value = repeated("", "0123456789", 3000);
    for (size_t shift = 0; shift < 40; shift++) {
        char *msg = repeated("m", "x", shift);
        json_t *j = log_truncated(msg, (const tr_log_field_t[]){
                                           TR_LOG_INT("first", 1),
                                           TR_LOG_STR("a", value),
                                           TR_LOG_STR("b", value),
                                           TR_LOG_STR("c", value),
                                           TR_LOG_INT("after", 2),
                                           {0},
                                       });
        /* whole fields only, in order, and none after the first that did not fit */
        CHECK_STR_EQ(json_string_value(json_object_get(j, "msg")), msg);
        CHECK_INT_EQ(json_integer_value(json_object_get(j, "first")), 1);
        CHECK_STR_EQ(json_string_value(json_object_get(j, "a")), value);
        CHECK_STR_EQ(json_string_value(json_object_get(j, "b")), value);
        CHECK(json_object_get(j, "c") == NULL);
        CHECK(json_object_get(j, "after") == NULL);
        json_decref(j);
        free(msg);
    }
    free(value);
}

static void test_long_key_is_dropped_whole(void)
{
    char *key = repeated("k", "y", 9000);
    json_t *j = log_truncated("short", (const tr_log_field_t[]){
                                           TR_LOG_INT("before", 7),
                                           TR_LOG_INT(key, 1),
                                           {0},
                                       });
    CHECK_STR_EQ(json_string_value(json_object_get(j, "msg")), "short");
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "before")), 7);
    CHECK_INT_EQ(json_object_size(j), 6); /* time, level, service, msg, before, truncated */
    json_decref(j);
    free(key);
}

static void test_line_just_fitting_is_not_truncated(void)
{
    /* Grow the message until the line is cut: every line before that is whole and unmarked. */
    bool cut = false;
    for (size_t n = 8000; n < 8300 && !cut; n++) {
        char *msg = repeated("", "z", n);
        capture_t c;
        capture_start(&c, "docs", TR_LOG_INFO);
        tr_log_info(msg);
        capture_stop(&c);
        json_t *j = parse(c.text);
        cut = json_object_get(j, "truncated") != NULL;
        if (!cut)
            CHECK_STR_EQ(json_string_value(json_object_get(j, "msg")), msg);
        CHECK(c.len <= 8192);
        json_decref(j);
        free(c.text);
        free(msg);
    }
    CHECK(cut);
}

static void test_json_string_reports_needed_size(void)
{
    char buf[8];
    CHECK_INT_EQ(tr_log_json_string(buf, sizeof buf, "a\"b"), 6);
    CHECK_STR_EQ(buf, "\"a\\\"b\"");
    CHECK_INT_EQ(tr_log_json_string(buf, 4, "abcdef"), 8);
    CHECK_STR_EQ(buf, "\"ab");
    CHECK_INT_EQ(tr_log_json_string(NULL, 0, "\x01"), 8);
    CHECK_INT_EQ(tr_log_json_string(buf, sizeof buf, NULL), 2);
    CHECK_STR_EQ(buf, "\"\"");
}

static void test_level_parse(void)
{
    const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        tr_log_level_t level = (tr_log_level_t)99;
        CHECK_INT_EQ(tr_log_level_parse(names[i], &level, NULL), 0);
        CHECK_INT_EQ(level, i);
    }
    tr_error_t err = {0};
    tr_log_level_t level = TR_LOG_ERROR;
    CHECK_INT_EQ(tr_log_level_parse("verbose", &level, &err), TR_EINVAL);
    CHECK_STR_EQ(err.message, "invalid log level \"verbose\": must be debug, info, warn or error");
    CHECK_INT_EQ(level, TR_LOG_ERROR);
    CHECK_INT_EQ(tr_log_level_parse(NULL, &level, &err), TR_EINVAL);
    CHECK_STR_EQ(err.message, "invalid log level \"\": must be debug, info, warn or error");
}

int main(void)
{
    CHECK_RUN(test_line_shape_and_key_order);
    CHECK_RUN(test_no_fields);
    CHECK_RUN(test_default_service_is_trivsel);
    CHECK_RUN(test_escaping);
    CHECK_RUN(test_every_control_character_round_trips);
    CHECK_RUN(test_invalid_utf8_is_replaced);
    CHECK_RUN(test_level_filtering);
    CHECK_RUN(test_int_fields);
    CHECK_RUN(test_null_string_field);
    CHECK_RUN(test_long_message_is_truncated);
    CHECK_RUN(test_truncation_never_splits_a_character);
    CHECK_RUN(test_fields_cut_at_a_field_boundary);
    CHECK_RUN(test_long_key_is_dropped_whole);
    CHECK_RUN(test_line_just_fitting_is_not_truncated);
    CHECK_RUN(test_json_string_reports_needed_size);
    CHECK_RUN(test_level_parse);
    return check_done();
}
