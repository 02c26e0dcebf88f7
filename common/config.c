#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct value {
    const tr_config_var_t *var;
    char *text;  /* as given, or the default */
    int64_t num; /* INT, DURATION (ms), BOOL (0/1) */
} value_t;

struct tr_config {
    value_t *values;
    size_t n;
};

const char *tr_config_getenv(const char *name, void *arg)
{
    (void)arg;
    return getenv(name);
}

int tr_config_parse_duration(const char *text, int64_t *ms, tr_error_t *err)
{
    static const struct {
        const char *suffix;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    const char *p = text;
    if (!p || !isdigit((unsigned char)*p))
        goto bad;
    errno = 0;
    char *end;
    long long n = strtoll(p, &end, 10);
    if (errno)
        goto bad;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (n > INT64_MAX / units[i].ms)
                goto bad;
            *ms = n * units[i].ms;
            return 0;
        }
    }
bad:
    return tr_error_set(err, TR_EINVAL,
                        "invalid duration \"%s\": must be a whole number with a unit ms, s, m, h or d, "
                        "e.g. 30s",
                        text ? text : "");
}

static int parse_bool(const char *t, int64_t *out)
{
    static const char *yes[] = {"true", "yes", "1", "on"}, *no[] = {"false", "no", "0", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(t, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(t, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static bool enum_has(const char *allowed, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = allowed; *p;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == wl && strncmp(p, word, l) == 0)
            return true;
        p += l + (bar ? 1 : 0);
    }
    return false;
}

/* "debug|info" -> "debug, info" for messages. */
static void enum_list(const char *allowed, char *buf, size_t len)
{
    size_t n = 0;
    for (const char *p = allowed; *p && n + 3 < len; p++) {
        if (*p == '|') {
            buf[n++] = ',';
            buf[n++] = ' ';
        } else {
            buf[n++] = *p;
        }
    }
    buf[n] = '\0';
}

static int check(const tr_config_var_t *v, const char *t, value_t *out, tr_error_t *err)
{
    switch (v->type) {
    case TR_CONFIG_STRING:
        return 0;
    case TR_CONFIG_INT: {
        long long lo = INT64_MIN, hi = INT64_MAX;
        if (v->allowed)
            sscanf(v->allowed, "%lld..%lld", &lo, &hi);
        char *end;
        errno = 0;
        long long n = strtoll(t, &end, 10);
        /* strtoll alone skips leading spaces and takes a '+': " 7400" is not a port number */
        bool digits = isdigit((unsigned char)t[0]) || (t[0] == '-' && isdigit((unsigned char)t[1]));
        if (!digits || errno || *end != '\0' || n < lo || n > hi)
            return tr_error_set(err, TR_ECONFIG, "%s=\"%s\" is not valid: must be a whole number from %lld to %lld",
                                v->name, t, lo, hi);
        out->num = n;
        return 0;
    }
    case TR_CONFIG_DURATION: {
        tr_error_t e;
        if (tr_config_parse_duration(t, &out->num, &e) < 0)
            return tr_error_set(err, TR_ECONFIG,
                                "%s=\"%s\" is not valid: must be a duration such as 250ms, 30s, 5m, 6h or 2d",
                                v->name, t);
        return 0;
    }
    case TR_CONFIG_ENUM:
        if (!enum_has(v->allowed, t)) {
            char list[256];
            enum_list(v->allowed, list, sizeof list);
            return tr_error_set(err, TR_ECONFIG, "%s=\"%s\" is not valid: must be one of %s", v->name, t, list);
        }
        return 0;
    case TR_CONFIG_BOOL:
        if (parse_bool(t, &out->num) < 0)
            return tr_error_set(err, TR_ECONFIG, "%s=\"%s\" is not valid: must be true or false", v->name, t);
        return 0;
    case TR_CONFIG_FILE: {
        /* Open it rather than ask access(): that answers for the real, not the effective user,
         * and says yes to a folder, which opens but holds no key. */
        int fd = open(t, O_RDONLY | O_CLOEXEC);
        struct stat st;
        int e = fd < 0 ? errno : fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
        if (fd >= 0)
            close(fd);
        if (e)
            return tr_error_set(err, TR_ECONFIG,
                                "%s=\"%s\" is not valid: the file cannot be read (%s)", v->name, t,
                                strerror(e));
        return 0;
    }
    }
    return tr_error_set(err, TR_ECONFIG, "%s: unknown variable type", v->name);
}

int tr_config_load(const tr_config_var_t *vars, size_t n, tr_config_lookup_fn lookup, void *arg,
                   tr_config_t **out, tr_error_t *err)
{
    int rc = 0;
    *out = NULL;
    tr_config_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg || !(cfg->values = calloc(n ? n : 1, sizeof *cfg->values))) {
        rc = tr_error_set(err, TR_ENOMEM, "out of memory reading the configuration");
        goto out;
    }
    cfg->n = n;
    for (size_t i = 0; i < n; i++) {
        const tr_config_var_t *v = &vars[i];
        value_t *val = &cfg->values[i];
        val->var = v;
        const char *t = lookup(v->name, arg);
        if (t == NULL || t[0] == '\0') {
            if (v->default_value == NULL) {
                rc = tr_error_set(err, TR_ECONFIG, "%s is not set: it is required (%s)", v->name, v->help);
                goto out;
            }
            t = v->default_value;
        }
        if (!(val->text = strdup(t))) {
            rc = tr_error_set(err, TR_ENOMEM, "out of memory reading the configuration");
            goto out;
        }
        if (t[0] != '\0' && (rc = check(v, t, val, err)) < 0)
            goto out;
    }
    *out = cfg;
    cfg = NULL;
out:
    tr_config_destroy(&cfg);
    return rc;
}

void tr_config_destroy(tr_config_t **cfg)
{
    if (!cfg || !*cfg)
        return;
    for (size_t i = 0; i < (*cfg)->n; i++)
        free((*cfg)->values[i].text);
    free((*cfg)->values);
    free(*cfg);
    *cfg = NULL;
}

static const value_t *find(const tr_config_t *cfg, const char *name, tr_config_type_t type)
{
    for (size_t i = 0; i < cfg->n; i++) {
        if (strcmp(cfg->values[i].var->name, name) == 0) {
            assert(cfg->values[i].var->type == type || type == TR_CONFIG_STRING);
            return &cfg->values[i];
        }
    }
    fprintf(stderr, "BUG: configuration variable %s read but not declared\n", name);
    abort();
}

const char *tr_config_string(const tr_config_t *cfg, const char *name)
{
    return find(cfg, name, TR_CONFIG_STRING)->text;
}

int64_t tr_config_int(const tr_config_t *cfg, const char *name)
{
    return find(cfg, name, TR_CONFIG_INT)->num;
}

int64_t tr_config_duration_ms(const tr_config_t *cfg, const char *name)
{
    return find(cfg, name, TR_CONFIG_DURATION)->num;
}

bool tr_config_bool(const tr_config_t *cfg, const char *name)
{
    return find(cfg, name, TR_CONFIG_BOOL)->num != 0;
}

int tr_config_read_file(const tr_config_t *cfg, const char *name, char *buf, size_t len, tr_error_t *err)
{
    const value_t *v = find(cfg, name, TR_CONFIG_FILE);
    assert(buf && len > 0);
    int rc = 0;
    FILE *f = NULL;
    if (v->text[0] == '\0') {
        rc = tr_error_set(err, TR_ECONFIG, "%s is not set", name);
        goto out;
    }
    if (!(f = fopen(v->text, "r"))) {
        rc = tr_error_set(err, TR_ECONFIG, "%s=\"%s\": the file cannot be read (%s)", name, v->text,
                          strerror(errno));
        goto out;
    }
    size_t got = fread(buf, 1, len - 1, f);
    /* What does not fit may only be the line end an editor adds. */
    for (int c; got == len - 1 && (c = fgetc(f)) != EOF;) {
        if (c != '\n' && c != '\r') {
            rc = tr_error_set(err, TR_ECONFIG, "%s=\"%s\": the file is longer than %zu bytes", name,
                              v->text, len - 1);
            goto out;
        }
    }
    if (ferror(f)) {
        rc = tr_error_set(err, TR_ECONFIG, "%s=\"%s\": the file cannot be read (%s)", name, v->text,
                          strerror(errno));
        goto out;
    }
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
        got--;
    buf[got] = '\0';
out:
    if (rc < 0) /* no half-read secret left behind, and always a string */
        memset(buf, 0, len);
    if (f)
        fclose(f);
    return rc;
}

void tr_config_print_help(const tr_config_var_t *vars, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const tr_config_var_t *v = &vars[i];
        fprintf(out, "  %-36s %s", v->name, v->help);
        if (v->default_value == NULL)
            fprintf(out, " (required)");
        else if (v->default_value[0])
            fprintf(out, " (default: %s)", v->default_value);
        fputc('\n', out);
    }
}
