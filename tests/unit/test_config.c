/* test_config.c — configuration tables: every type, defaults, required variables, the one-line
 * messages an operator sees, reading secret files and --help. Variables come from a table
 * passed as the lookup function's argument, so the tests never touch the environment. */
#include "config.h"

#include "check.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* name=value pairs, ending with a NULL name. */
typedef struct env {
    const char *name;
    const char *value;
} env_t;

static const char *lookup_cb(const char *name, void *arg)
{
    for (const env_t *e = arg; e->name; e++) {
        if (strcmp(e->name, name) == 0)
            return e->value;
    }
    return NULL;
}

#define N(vars) (sizeof(vars) / sizeof((vars)[0]))

/* One variable of the given type: loads it from env and returns the configuration, or NULL
 * with err filled. */
static tr_config_t *load_one(const tr_config_var_t *var, const env_t *env, tr_error_t *err)
{
    tr_config_t *cfg = (tr_config_t *)0x1;
    tr_error_clear(err);
    int rc = tr_config_load(var, 1, lookup_cb, (void *)env, &cfg, err);
    if (rc == 0)
        CHECK(cfg != NULL);
    else
        CHECK(cfg == NULL);
    CHECK_INT_EQ(rc, err->code);
    return cfg;
}

/* The error message for one variable set to value, or "" when it loads. */
static const char *error_for(const tr_config_var_t *var, const char *value, tr_error_t *err)
{
    env_t env[] = {{var->name, value}, {NULL, NULL}};
    tr_config_t *cfg = load_one(var, env, err);
    if (cfg) {
        tr_config_destroy(&cfg);
        return "";
    }
    CHECK_INT_EQ(err->code, TR_ECONFIG);
    return err->message;
}

static const tr_config_var_t port_var = {"TRIVSEL_PORT", TR_CONFIG_INT, "7400", "1..65535",
                                         "port to listen on"};
static const tr_config_var_t timeout_var = {"TRIVSEL_TIMEOUT", TR_CONFIG_DURATION, "30s", NULL,
                                            "how long to wait for an answer"};
static const tr_config_var_t level_var = {"TRIVSEL_LOG_LEVEL", TR_CONFIG_ENUM, "info",
                                          "debug|info|warn|error", "lowest log level written"};
static const tr_config_var_t metrics_var = {"TRIVSEL_METRICS", TR_CONFIG_BOOL, "false", NULL,
                                            "serve /metrics"};
static const tr_config_var_t password_var = {"TRIVSEL_DATABASE_PASSWORD_FILE", TR_CONFIG_FILE, "",
                                             NULL, "file holding the database password"};
static const tr_config_var_t url_var = {"TRIVSEL_DATABASE_URL", TR_CONFIG_STRING, NULL, NULL,
                                        "libpq URL of the database"};

/* A file under a fresh temporary folder holding content; path gets its name. */
static void temp_file(char *path, size_t len, const char *content, size_t content_len)
{
    char dir[] = "/tmp/trivsel-config.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, len, "%s/secret", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fwrite(content, 1, content_len, f);
        fclose(f);
    }
}

static void remove_temp_file(const char *path)
{
    unlink(path);
    char dir[256];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    rmdir(dir);
}

static void test_string_value_is_returned(void)
{
    env_t env[] = {{"TRIVSEL_DATABASE_URL", "postgresql:///trivsel?host=/run/pg"}, {NULL, NULL}};
    tr_error_t err;
    tr_config_t *cfg = load_one(&url_var, env, &err);
    CHECK_STR_EQ(cfg ? tr_config_string(cfg, "TRIVSEL_DATABASE_URL") : NULL,
                 "postgresql:///trivsel?host=/run/pg");
    tr_config_destroy(&cfg);
    CHECK(cfg == NULL);
}

static void test_required_missing_names_the_variable(void)
{
    env_t env[] = {{NULL, NULL}};
    tr_error_t err;
    CHECK(load_one(&url_var, env, &err) == NULL);
    CHECK_INT_EQ(err.code, TR_ECONFIG);
    CHECK_STR_EQ(err.message,
                 "TRIVSEL_DATABASE_URL is not set: it is required (libpq URL of the database)");
}

static void test_required_set_empty_counts_as_missing(void)
{
    tr_error_t err;
    CHECK_STR_EQ(error_for(&url_var, "", &err),
                 "TRIVSEL_DATABASE_URL is not set: it is required (libpq URL of the database)");
}

static void test_default_used_when_unset_or_empty(void)
{
    tr_config_var_t vars[] = {port_var, timeout_var, level_var, metrics_var};
    env_t env[] = {{"TRIVSEL_PORT", ""}, {NULL, NULL}};
    tr_config_t *cfg = NULL;
    tr_error_t err = {0};
    CHECK_INT_EQ(tr_config_load(vars, N(vars), lookup_cb, env, &cfg, &err), 0);
    if (!cfg)
        return;
    CHECK_INT_EQ(tr_config_int(cfg, "TRIVSEL_PORT"), 7400);
    CHECK_STR_EQ(tr_config_string(cfg, "TRIVSEL_PORT"), "7400");
    CHECK_INT_EQ(tr_config_duration_ms(cfg, "TRIVSEL_TIMEOUT"), 30000);
    CHECK_STR_EQ(tr_config_string(cfg, "TRIVSEL_LOG_LEVEL"), "info");
    CHECK_INT_EQ(tr_config_bool(cfg, "TRIVSEL_METRICS"), false);
    tr_config_destroy(&cfg);
}

static void test_optional_empty_reads_as_empty(void)
{
    tr_config_var_t vars[] = {
        {"TRIVSEL_TENANT", TR_CONFIG_STRING, "", NULL, "tenant name"},
        password_var,
        {"TRIVSEL_LIMIT", TR_CONFIG_INT, "", "1..10", "a limit"},
    };
    env_t env[] = {{"TRIVSEL_TENANT", ""}, {NULL, NULL}};
    tr_config_t *cfg = NULL;
    tr_error_t err = {0};
    CHECK_INT_EQ(tr_config_load(vars, N(vars), lookup_cb, env, &cfg, &err), 0);
    if (!cfg)
        return;
    CHECK_STR_EQ(tr_config_string(cfg, "TRIVSEL_TENANT"), "");
    CHECK_STR_EQ(tr_config_string(cfg, "TRIVSEL_DATABASE_PASSWORD_FILE"), "");
    CHECK_INT_EQ(tr_config_int(cfg, "TRIVSEL_LIMIT"), 0);
    tr_config_destroy(&cfg);
}

static void test_int_within_range(void)
{
    const char *texts[] = {"1", "7400", "65535"};
    const int64_t values[] = {1, 7400, 65535};
    for (size_t i = 0; i < N(texts); i++) {
        env_t env[] = {{"TRIVSEL_PORT", texts[i]}, {NULL, NULL}};
        tr_error_t err;
        tr_config_t *cfg = load_one(&port_var, env, &err);
        CHECK_INT_EQ(cfg ? tr_config_int(cfg, "TRIVSEL_PORT") : -1, values[i]);
        tr_config_destroy(&cfg);
    }
}

static void test_int_out_of_range_or_malformed(void)
{
    tr_error_t err;
    CHECK_STR_EQ(error_for(&port_var, "0", &err),
                 "TRIVSEL_PORT=\"0\" is not valid: must be a whole number from 1 to 65535");
    CHECK_STR_EQ(error_for(&port_var, "65536", &err),
                 "TRIVSEL_PORT=\"65536\" is not valid: must be a whole number from 1 to 65535");
    CHECK_STR_EQ(error_for(&port_var, "-1", &err),
                 "TRIVSEL_PORT=\"-1\" is not valid: must be a whole number from 1 to 65535");
    CHECK_STR_EQ(error_for(&port_var, "74OO", &err),
                 "TRIVSEL_PORT=\"74OO\" is not valid: must be a whole number from 1 to 65535");
    CHECK_STR_EQ(error_for(&port_var, "7400.0", &err),
                 "TRIVSEL_PORT=\"7400.0\" is not valid: must be a whole number from 1 to 65535");
    CHECK_STR_EQ(error_for(&port_var, "http", &err),
                 "TRIVSEL_PORT=\"http\" is not valid: must be a whole number from 1 to 65535");
    CHECK_STR_EQ(
        error_for(&port_var, "99999999999999999999", &err),
        "TRIVSEL_PORT=\"99999999999999999999\" is not valid: must be a whole number from 1 "
        "to 65535");
    /* strtoll alone would take these as 7400 */
    CHECK_STR_EQ(error_for(&port_var, " 7400", &err),
                 "TRIVSEL_PORT=\" 7400\" is not valid: must be a whole number from 1 to 65535");
    CHECK_STR_EQ(error_for(&port_var, "+7400", &err),
                 "TRIVSEL_PORT=\"+7400\" is not valid: must be a whole number from 1 to 65535");
}

static void test_int_negative_range(void)
{
    tr_config_var_t offset_var = {"TRIVSEL_OFFSET", TR_CONFIG_INT, "0", "-12..14", "hours"};
    env_t env[] = {{"TRIVSEL_OFFSET", "-12"}, {NULL, NULL}};
    tr_error_t err;
    tr_config_t *cfg = load_one(&offset_var, env, &err);
    CHECK_INT_EQ(cfg ? tr_config_int(cfg, "TRIVSEL_OFFSET") : 0, -12);
    tr_config_destroy(&cfg);
    CHECK_STR_EQ(error_for(&offset_var, "-13", &err),
                 "TRIVSEL_OFFSET=\"-13\" is not valid: must be a whole number from -12 to 14");
}

static int64_t duration(const char *text)
{
    int64_t ms = -42;
    tr_error_t err = {0};
    int rc = tr_config_parse_duration(text, &ms, &err);
    if (rc != 0)
        printf("#   %s: %s\n", text, err.message);
    CHECK_INT_EQ(rc, 0);
    return ms;
}

static void test_duration_units(void)
{
    CHECK_INT_EQ(duration("250ms"), 250);
    CHECK_INT_EQ(duration("30s"), 30000);
    CHECK_INT_EQ(duration("5m"), 300000);
    CHECK_INT_EQ(duration("6h"), 21600000);
    CHECK_INT_EQ(duration("2d"), 172800000);
    CHECK_INT_EQ(duration("0s"), 0);
    CHECK_INT_EQ(duration("9223372036854775807ms"), INT64_MAX);
    /* the largest whole number of days that fits in int64 milliseconds */
    CHECK_INT_EQ(duration("106751991167d"), INT64_C(9223372036828800000));
}

static const char *duration_error(const char *text, tr_error_t *err)
{
    int64_t ms = -42;
    tr_error_clear(err);
    int rc = tr_config_parse_duration(text, &ms, err);
    CHECK_INT_EQ(rc, TR_EINVAL);
    CHECK_INT_EQ(err->code, TR_EINVAL);
    CHECK_INT_EQ(ms, -42);
    return err->message;
}

static void test_duration_rejects_bad_text_and_overflow(void)
{
    tr_error_t err;
    CHECK_STR_EQ(duration_error("30", &err),
                 "invalid duration \"30\": must be a whole number with a unit ms, s, m, h or d, "
                 "e.g. 30s");
    const char *bad[] = {"s",  "-5s", "1.5s", "30 s", "30S",  "30sec", "5w",
                         "m5", " 5s", "+5s",  "",     "0x1s", "5ms "};
    for (size_t i = 0; i < N(bad); i++) {
        char expected[200];
        snprintf(expected, sizeof expected,
                 "invalid duration \"%s\": must be a whole number with a unit ms, s, m, h or d, "
                 "e.g. 30s",
                 bad[i]);
        CHECK_STR_EQ(duration_error(bad[i], &err), expected);
    }
    /* overflow: past int64 milliseconds after the unit, and past int64 before it */
    CHECK_STR_CONTAINS(duration_error("106751991168d", &err), "\"106751991168d\"");
    CHECK_STR_CONTAINS(duration_error("2562047788015216h", &err), "\"2562047788015216h\"");
    CHECK_STR_CONTAINS(duration_error("9223372036854775808ms", &err), "\"9223372036854775808ms\"");
}

static void test_duration_variable(void)
{
    env_t env[] = {{"TRIVSEL_TIMEOUT", "250ms"}, {NULL, NULL}};
    tr_error_t err;
    tr_config_t *cfg = load_one(&timeout_var, env, &err);
    CHECK_INT_EQ(cfg ? tr_config_duration_ms(cfg, "TRIVSEL_TIMEOUT") : -1, 250);
    tr_config_destroy(&cfg);
    CHECK_STR_EQ(error_for(&timeout_var, "30", &err),
                 "TRIVSEL_TIMEOUT=\"30\" is not valid: must be a duration such as 250ms, 30s, 5m, "
                 "6h or 2d");
    CHECK_STR_EQ(error_for(&timeout_var, "999999999999d", &err),
                 "TRIVSEL_TIMEOUT=\"999999999999d\" is not valid: must be a duration such as "
                 "250ms, 30s, 5m, 6h or 2d");
}

static void test_enum_words(void)
{
    const char *words[] = {"debug", "info", "warn", "error"};
    for (size_t i = 0; i < N(words); i++) {
        env_t env[] = {{"TRIVSEL_LOG_LEVEL", words[i]}, {NULL, NULL}};
        tr_error_t err;
        tr_config_t *cfg = load_one(&level_var, env, &err);
        CHECK_STR_EQ(cfg ? tr_config_string(cfg, "TRIVSEL_LOG_LEVEL") : NULL, words[i]);
        tr_config_destroy(&cfg);
    }
}

static void test_enum_rejects_other_words(void)
{
    tr_error_t err;
    CHECK_STR_EQ(error_for(&level_var, "verbose", &err),
                 "TRIVSEL_LOG_LEVEL=\"verbose\" is not valid: must be one of debug, info, warn, "
                 "error");
    /* a prefix, a longer word, another case, the separator itself */
    const char *bad[] = {"war", "warning", "INFO", "info|warn", "|", "debug "};
    for (size_t i = 0; i < N(bad); i++) {
        char expected[200];
        snprintf(expected, sizeof expected,
                 "TRIVSEL_LOG_LEVEL=\"%s\" is not valid: must be one of debug, info, warn, error",
                 bad[i]);
        CHECK_STR_EQ(error_for(&level_var, bad[i], &err), expected);
    }
}

static void test_bool_spellings(void)
{
    const char *yes[] = {"true", "yes", "1", "on"}, *no[] = {"false", "no", "0", "off"};
    tr_config_var_t var = metrics_var;
    for (int want = 0; want < 2; want++) {
        var.default_value = want ? "false" : "true"; /* so the default cannot pass the test */
        for (size_t i = 0; i < 4; i++) {
            env_t env[] = {{"TRIVSEL_METRICS", want ? yes[i] : no[i]}, {NULL, NULL}};
            tr_error_t err;
            tr_config_t *cfg = load_one(&var, env, &err);
            CHECK(cfg != NULL);
            if (cfg && tr_config_bool(cfg, "TRIVSEL_METRICS") != (bool)want)
                CHECK_FAIL_("TRIVSEL_METRICS=%s read as %d", env[0].value, !want);
            tr_config_destroy(&cfg);
        }
    }
}

static void test_bool_rejects_other_words(void)
{
    tr_error_t err;
    CHECK_STR_EQ(error_for(&metrics_var, "maybe", &err),
                 "TRIVSEL_METRICS=\"maybe\" is not valid: must be true or false");
    CHECK_STR_EQ(error_for(&metrics_var, "2", &err),
                 "TRIVSEL_METRICS=\"2\" is not valid: must be true or false");
    CHECK_STR_EQ(error_for(&metrics_var, "y", &err),
                 "TRIVSEL_METRICS=\"y\" is not valid: must be true or false");
}

static void test_file_readable(void)
{
    char path[256];
    temp_file(path, sizeof path, "hemmelig\n", 9);
    env_t env[] = {{"TRIVSEL_DATABASE_PASSWORD_FILE", path}, {NULL, NULL}};
    tr_error_t err;
    tr_config_t *cfg = load_one(&password_var, env, &err);
    CHECK_STR_EQ(cfg ? tr_config_string(cfg, "TRIVSEL_DATABASE_PASSWORD_FILE") : NULL, path);
    tr_config_destroy(&cfg);
    remove_temp_file(path);
}

static void test_file_unreadable(void)
{
    tr_error_t err;
    CHECK_STR_EQ(error_for(&password_var, "/nonexistent/trivsel/password", &err),
                 "TRIVSEL_DATABASE_PASSWORD_FILE=\"/nonexistent/trivsel/password\" is not valid: "
                 "the file cannot be read (No such file or directory)");
    CHECK_STR_EQ(error_for(&password_var, "/etc/passwd/password", &err),
                 "TRIVSEL_DATABASE_PASSWORD_FILE=\"/etc/passwd/password\" is not valid: the file "
                 "cannot be read (Not a directory)");
    /* a folder opens for reading, but holds no password */
    CHECK_STR_EQ(error_for(&password_var, "/tmp", &err),
                 "TRIVSEL_DATABASE_PASSWORD_FILE=\"/tmp\" is not valid: the file cannot be read "
                 "(Is a directory)");
    if (geteuid() != 0) { /* root reads anything */
        char path[256];
        temp_file(path, sizeof path, "x", 1);
        chmod(path, 0);
        char expected[400];
        snprintf(expected, sizeof expected,
                 "TRIVSEL_DATABASE_PASSWORD_FILE=\"%s\" is not valid: the file cannot be read "
                 "(Permission denied)",
                 path);
        CHECK_STR_EQ(error_for(&password_var, path, &err), expected);
        remove_temp_file(path);
    }
}

static void test_first_bad_variable_is_reported(void)
{
    tr_config_var_t vars[] = {url_var, port_var, level_var};
    env_t env[] = {{"TRIVSEL_DATABASE_URL", "postgresql:///x"},
                   {"TRIVSEL_PORT", "0"},
                   {"TRIVSEL_LOG_LEVEL", "verbose"},
                   {NULL, NULL}};
    tr_config_t *cfg = (tr_config_t *)0x1;
    tr_error_t err = {0};
    CHECK_INT_EQ(tr_config_load(vars, N(vars), lookup_cb, env, &cfg, &err), TR_ECONFIG);
    CHECK(cfg == NULL);
    CHECK_STR_EQ(err.message,
                 "TRIVSEL_PORT=\"0\" is not valid: must be a whole number from 1 to 65535");
}

static void test_bad_default_is_reported(void)
{
    tr_config_var_t var = level_var;
    var.default_value = "loud";
    env_t env[] = {{NULL, NULL}};
    tr_error_t err;
    CHECK(load_one(&var, env, &err) == NULL);
    CHECK_STR_EQ(
        err.message,
        "TRIVSEL_LOG_LEVEL=\"loud\" is not valid: must be one of debug, info, warn, error");
}

/* Loads password_var naming path and reads it into a buffer of len bytes. */
static int read_secret(const char *path, char *buf, size_t len, tr_error_t *err)
{
    env_t env[] = {{"TRIVSEL_DATABASE_PASSWORD_FILE", path}, {NULL, NULL}};
    tr_config_t *cfg = load_one(&password_var, env, err);
    if (!cfg)
        return -100;
    memset(buf, 'X', len);
    tr_error_clear(err);
    int rc = tr_config_read_file(cfg, "TRIVSEL_DATABASE_PASSWORD_FILE", buf, len, err);
    tr_config_destroy(&cfg);
    return rc;
}

static void test_read_file_strips_newline(void)
{
    const char *contents[] = {"hemmelig\n", "hemmelig\r\n", "hemmelig", "hemmelig\n\n"};
    for (size_t i = 0; i < N(contents); i++) {
        char path[256], buf[64];
        tr_error_t err;
        temp_file(path, sizeof path, contents[i], strlen(contents[i]));
        CHECK_INT_EQ(read_secret(path, buf, sizeof buf, &err), 0);
        CHECK_STR_EQ(buf, "hemmelig");
        remove_temp_file(path);
    }
}

static void test_read_file_keeps_inner_spaces(void)
{
    char path[256], buf[64];
    tr_error_t err;
    temp_file(path, sizeof path, " to ord \n", 9);
    CHECK_INT_EQ(read_secret(path, buf, sizeof buf, &err), 0);
    CHECK_STR_EQ(buf, " to ord ");
    remove_temp_file(path);
}

static void test_read_file_exactly_fits(void)
{
    char path[256], buf[9];
    tr_error_t err;
    /* 8 characters in a 9-byte buffer, with and without the newline an editor adds */
    temp_file(path, sizeof path, "12345678", 8);
    CHECK_INT_EQ(read_secret(path, buf, sizeof buf, &err), 0);
    CHECK_STR_EQ(buf, "12345678");
    remove_temp_file(path);
    temp_file(path, sizeof path, "12345678\n", 9);
    CHECK_INT_EQ(read_secret(path, buf, sizeof buf, &err), 0);
    CHECK_STR_EQ(buf, "12345678");
    remove_temp_file(path);
}

static void test_read_file_refuses_too_long(void)
{
    char path[256], buf[9], expected[400];
    tr_error_t err;
    temp_file(path, sizeof path, "123456789\n", 10);
    CHECK_INT_EQ(read_secret(path, buf, sizeof buf, &err), TR_ECONFIG);
    CHECK_INT_EQ(err.code, TR_ECONFIG);
    snprintf(expected, sizeof expected,
             "TRIVSEL_DATABASE_PASSWORD_FILE=\"%s\": the file is longer than 8 bytes", path);
    CHECK_STR_EQ(err.message, expected);
    /* the message names the file, never its content */
    CHECK(strstr(err.message, "123456789") == NULL);
    CHECK_STR_EQ(buf, ""); /* no half-read secret left behind */
    remove_temp_file(path);
}

static void test_read_file_unset_or_gone(void)
{
    char buf[16], path[256], expected[400];
    tr_error_t err;
    CHECK_INT_EQ(read_secret("", buf, sizeof buf, &err), TR_ECONFIG);
    CHECK_STR_EQ(err.message, "TRIVSEL_DATABASE_PASSWORD_FILE is not set");

    /* removed between start-up and reading */
    temp_file(path, sizeof path, "x", 1);
    env_t env[] = {{"TRIVSEL_DATABASE_PASSWORD_FILE", path}, {NULL, NULL}};
    tr_config_t *cfg = load_one(&password_var, env, &err);
    remove_temp_file(path);
    if (!cfg)
        return;
    CHECK_INT_EQ(tr_config_read_file(cfg, "TRIVSEL_DATABASE_PASSWORD_FILE", buf, sizeof buf, &err),
                 TR_ECONFIG);
    snprintf(expected, sizeof expected,
             "TRIVSEL_DATABASE_PASSWORD_FILE=\"%s\": the file cannot be read (No such file or "
             "directory)",
             path);
    CHECK_STR_EQ(err.message, expected);
    tr_config_destroy(&cfg);
}

static void test_read_file_replaced_by_folder(void)
{
    char buf[16], path[256], expected[400];
    tr_error_t err;
    temp_file(path, sizeof path, "x", 1);
    env_t env[] = {{"TRIVSEL_DATABASE_PASSWORD_FILE", path}, {NULL, NULL}};
    tr_config_t *cfg = load_one(&password_var, env, &err);
    unlink(path);
    CHECK_INT_EQ(mkdir(path, 0700), 0);
    if (cfg) {
        CHECK_INT_EQ(tr_config_read_file(cfg, "TRIVSEL_DATABASE_PASSWORD_FILE", buf, sizeof buf,
                                         &err),
                     TR_ECONFIG);
        snprintf(expected, sizeof expected,
                 "TRIVSEL_DATABASE_PASSWORD_FILE=\"%s\": the file cannot be read (Is a directory)",
                 path);
        CHECK_STR_EQ(err.message, expected);
        CHECK_STR_EQ(buf, "");
    }
    rmdir(path);
    remove_temp_file(path);
    tr_config_destroy(&cfg);
}

static void test_print_help(void)
{
    tr_config_var_t vars[] = {url_var, port_var, password_var, level_var};
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    tr_config_print_help(vars, N(vars), out);
    fclose(out);
    CHECK_STR_EQ(text,
                 "  TRIVSEL_DATABASE_URL                 libpq URL of the database (required)\n"
                 "  TRIVSEL_PORT                         port to listen on (default: 7400)\n"
                 "  TRIVSEL_DATABASE_PASSWORD_FILE       file holding the database password\n"
                 "  TRIVSEL_LOG_LEVEL                    lowest log level written (default: "
                 "info)\n");
    free(text);
}

static void test_undeclared_variable_aborts(void)
{
    env_t env[] = {{NULL, NULL}};
    tr_error_t err;
    tr_config_t *cfg = load_one(&port_var, env, &err);
    if (!cfg)
        return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr))
            _exit(0);
        tr_config_int(cfg, "TRIVSEL_PROT");
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    CHECK_INT_EQ(WIFSIGNALED(status) ? WTERMSIG(status) : 0, SIGABRT);
    tr_config_destroy(&cfg);
}

static void test_destroy_null_is_safe(void)
{
    tr_config_t *cfg = NULL;
    tr_config_destroy(&cfg);
    tr_config_destroy(NULL);
    CHECK(cfg == NULL);
}

int main(void)
{
    CHECK_RUN(test_string_value_is_returned);
    CHECK_RUN(test_required_missing_names_the_variable);
    CHECK_RUN(test_required_set_empty_counts_as_missing);
    CHECK_RUN(test_default_used_when_unset_or_empty);
    CHECK_RUN(test_optional_empty_reads_as_empty);
    CHECK_RUN(test_int_within_range);
    CHECK_RUN(test_int_out_of_range_or_malformed);
    CHECK_RUN(test_int_negative_range);
    CHECK_RUN(test_duration_units);
    CHECK_RUN(test_duration_rejects_bad_text_and_overflow);
    CHECK_RUN(test_duration_variable);
    CHECK_RUN(test_enum_words);
    CHECK_RUN(test_enum_rejects_other_words);
    CHECK_RUN(test_bool_spellings);
    CHECK_RUN(test_bool_rejects_other_words);
    CHECK_RUN(test_file_readable);
    CHECK_RUN(test_file_unreadable);
    CHECK_RUN(test_first_bad_variable_is_reported);
    CHECK_RUN(test_bad_default_is_reported);
    CHECK_RUN(test_read_file_strips_newline);
    CHECK_RUN(test_read_file_keeps_inner_spaces);
    CHECK_RUN(test_read_file_exactly_fits);
    CHECK_RUN(test_read_file_refuses_too_long);
    CHECK_RUN(test_read_file_unset_or_gone);
    CHECK_RUN(test_read_file_replaced_by_folder);
    CHECK_RUN(test_print_help);
    CHECK_RUN(test_undeclared_variable_aborts);
    CHECK_RUN(test_destroy_null_is_safe);
    return check_done();
}
