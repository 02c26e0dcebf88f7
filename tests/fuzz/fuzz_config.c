/* fuzz_config.c — libFuzzer target: configuration values (common/config.c), as every program
 * reads its environment at start: tr_config_load() over a table with a variable of every type,
 * each given the input as its value, and tr_config_parse_duration().
 *
 * The input is the value (up to its first NUL). For each variable, loaded alone:
 *   - an empty value gives the default, or TR_ECONFIG naming the variable when it is required;
 *   - otherwise tr_config_load() accepts exactly what an independent reading of config.h
 *     accepts, and reads the same number: INT a decimal integer ([-]digits, nothing else) within
 *     MIN..MAX; DURATION a whole number and one unit of ms, s, m, h, d that fits in int64
 *     milliseconds; ENUM one of the words; BOOL true/false, yes/no, 1/0, on/off; STRING
 *     anything; FILE a readable file that is not a folder (tried only for names without "/",
 *     so the fuzzer cannot wander the file system or block on a FIFO);
 *   - a refusal is TR_ECONFIG with a message that names the variable, and no configuration.
 * tr_config_parse_duration() agrees with DURATION.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#include "fuzz.h"

#define TARGET "fuzz_config"

static const tr_config_var_t vars[] = {
    {"TRIVSEL_FUZZ_STRING", TR_CONFIG_STRING, "fallback", NULL, "any text"},
    {"TRIVSEL_FUZZ_PORT", TR_CONFIG_INT, NULL, "1..65535", "a port, required"},
    {"TRIVSEL_FUZZ_OFFSET", TR_CONFIG_INT, "0", "-5..5", "a small signed number"},
    {"TRIVSEL_FUZZ_ANY_INT", TR_CONFIG_INT, "7", NULL, "any int64"},
    {"TRIVSEL_FUZZ_BYTES", TR_CONFIG_INT, "262144", "1024..16777216", "a size"},
    {"TRIVSEL_FUZZ_TIMEOUT", TR_CONFIG_DURATION, "30s", NULL, "a duration"},
    {"TRIVSEL_FUZZ_LOG_LEVEL", TR_CONFIG_ENUM, "info", "debug|info|warn|error", "a word"},
    {"TRIVSEL_FUZZ_ONE_WORD", TR_CONFIG_ENUM, NULL, "only", "one word, required"},
    {"TRIVSEL_FUZZ_ENABLED", TR_CONFIG_BOOL, "false", NULL, "a yes or no"},
    {"TRIVSEL_FUZZ_KEY_FILE", TR_CONFIG_FILE, "", NULL, "a file"},
};

static const char *lookup(const char *name, void *arg)
{
    (void)name;
    return arg;
}

/* [-]digits and nothing else, within lo..hi: 0 and *out, else -1. */
static int reference_int(const char *t, long long lo, long long hi, long long *out)
{
    const char *p = t + (t[0] == '-');
    if (!*p)
        return -1;
    for (const char *q = p; *q; q++) {
        if (*q < '0' || *q > '9')
            return -1;
    }
    errno = 0;
    long long n = strtoll(t, NULL, 10);
    if (errno || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

static int reference_duration(const char *t, long long *ms)
{
    static const struct {
        const char *suffix;
        long long ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    size_t digits = strspn(t, "0123456789");
    if (digits == 0)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(t + digits, units[i].suffix) == 0) {
            __int128 n = 0;
            for (size_t k = 0; k < digits; k++) {
                n = n * 10 + (t[k] - '0');
                if (n > INT64_MAX)
                    return -1;
            }
            n *= units[i].ms;
            if (n > INT64_MAX)
                return -1;
            *ms = (long long)n;
            return 0;
        }
    }
    return -1;
}

static bool reference_enum(const char *allowed, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = allowed; p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0)
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

static int reference_bool(const char *t)
{
    static const char *yes[] = {"true", "yes", "1", "on"}, *no[] = {"false", "no", "0", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(t, yes[i]) == 0)
            return 1;
        if (strcmp(t, no[i]) == 0)
            return 0;
    }
    return -1;
}

static void check_var(const tr_config_var_t *v, const char *value)
{
    static int not_a_config;
    tr_config_t *cfg = (tr_config_t *)&not_a_config; /* load must set it, to NULL on failure */
    struct stat st;
    tr_error_t err = {0};
    int rc = tr_config_load(v, 1, lookup, (void *)value, &cfg, &err);
    const char *t = value[0] ? value : v->default_value;
    long long lo = INT64_MIN, hi = INT64_MAX, n = 0;
    bool ok;
    if (v->allowed && v->type == TR_CONFIG_INT)
        sscanf(v->allowed, "%lld..%lld", &lo, &hi);

    if (!t)
        ok = false;
    else if (!t[0])
        ok = true; /* optional and empty by default */
    else if (v->type == TR_CONFIG_INT)
        ok = reference_int(t, lo, hi, &n) == 0;
    else if (v->type == TR_CONFIG_DURATION)
        ok = reference_duration(t, &n) == 0;
    else if (v->type == TR_CONFIG_ENUM)
        ok = reference_enum(v->allowed, t);
    else if (v->type == TR_CONFIG_BOOL)
        ok = (n = reference_bool(t)) >= 0;
    else if (v->type == TR_CONFIG_FILE)
        ok = access(t, R_OK) == 0 && stat(t, &st) == 0 && !S_ISDIR(st.st_mode);
    else
        ok = true;

    if (rc != (ok ? 0 : TR_ECONFIG))
        fuzz_broken(TARGET, "%s=\"%s\": load gave %d (%s), expected %s", v->name, value, rc,
                    err.message, ok ? "acceptance" : "TR_ECONFIG");
    if (rc != 0) {
        if (cfg || !strstr(err.message, v->name))
            fuzz_broken(TARGET, "%s=\"%s\": a refusal without the name, or with a configuration",
                        v->name, value);
        return;
    }
    if (strcmp(tr_config_string(cfg, v->name), t) != 0)
        fuzz_broken(TARGET, "%s=\"%s\" reads as \"%s\"", v->name, value,
                    tr_config_string(cfg, v->name));
    if (t[0] && v->type == TR_CONFIG_INT && tr_config_int(cfg, v->name) != n)
        fuzz_broken(TARGET, "%s=\"%s\" reads as %lld", v->name, value,
                    (long long)tr_config_int(cfg, v->name));
    if (t[0] && v->type == TR_CONFIG_DURATION && tr_config_duration_ms(cfg, v->name) != n)
        fuzz_broken(TARGET, "%s=\"%s\" reads as %lld ms", v->name, value,
                    (long long)tr_config_duration_ms(cfg, v->name));
    if (t[0] && v->type == TR_CONFIG_BOOL && tr_config_bool(cfg, v->name) != (n == 1))
        fuzz_broken(TARGET, "%s=\"%s\" reads as the other truth value", v->name, value);
    tr_config_destroy(&cfg);
    if (cfg)
        fuzz_broken(TARGET, "tr_config_destroy left the pointer set");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *value = fuzz_cstring(data, size);
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        if (vars[i].type == TR_CONFIG_FILE && strchr(value, '/'))
            continue;
        check_var(&vars[i], value);
    }

    int64_t ms = -42;
    long long want;
    tr_error_t err = {0};
    int rc = tr_config_parse_duration(value, &ms, &err);
    if (reference_duration(value, &want) == 0 ? rc != 0 || ms != want
                                              : rc != TR_EINVAL || !err.message[0] || ms != -42)
        fuzz_broken(TARGET, "parse_duration(\"%s\") gave %d, %lld ms", value, rc, (long long)ms);
    free(value);
    return 0;
}
