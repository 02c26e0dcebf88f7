#include "metrics.h"

#include "version.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum kind { COUNTER, GAUGE };

struct family {
    char *name;
    char *help;
    enum kind kind;
    char *label_names; /* "code,path": every series of a name must have the same label names */
    tr_metric_t **series;
    size_t n_series, cap_series;
};

struct tr_metric {
    struct family *family;
    char *labels; /* `code="200",path="/healthz"`: sorted by name, values escaped; "" if none */
    double value;
};

struct tr_metrics {
    struct family **families; /* in the order names were first asked for: the render order */
    size_t n_families, cap_families;
};

/* A growing string. Once an allocation fails it stays failed, so callers check once at the
 * end instead of after every append. */
struct buf {
    char *s;
    size_t len, cap;
    bool failed;
};

static void buf_grow(struct buf *b, size_t more)
{
    if (b->failed || b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->failed = true;
        return;
    }
    b->s = s;
    b->cap = cap;
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
    buf_grow(b, n);
    if (b->failed)
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* Prometheus text format: label values escape backslash, double quote and newline; HELP text
 * escapes only backslash and newline. */
static void buf_escaped(struct buf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            buf_puts(b, "\\\\");
        else if (*s == '\n')
            buf_puts(b, "\\n");
        else if (*s == '"' && quote)
            buf_puts(b, "\\\"");
        else
            buf_add(b, s, 1);
    }
}

/* Returns b's string, which the caller then owns, or NULL if any append failed. */
static char *buf_take(struct buf *b)
{
    if (b->failed) {
        free(b->s);
        return NULL;
    }
    return b->s ? b->s : strdup("");
}

static bool valid_name(const char *s, bool colon)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++) {
        bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                  (*s >= '0' && *s <= '9') || *s == '_' || (colon && *s == ':');
        if (!ok)
            return false;
    }
    return true;
}

static bool valid_label_name(const char *s)
{
    /* Names starting with "__" are reserved for Prometheus's own use. */
    return valid_name(s, false) && strncmp(s, "__", 2) != 0;
}

static void series_free(tr_metric_t *x)
{
    if (x) {
        free(x->labels);
        free(x);
    }
}

static void family_free(struct family *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_series; i++)
        series_free(f->series[i]);
    free(f->series);
    free(f->name);
    free(f->help);
    free(f->label_names);
    free(f);
}

static struct family *family_find(const tr_metrics_t *m, const char *name)
{
    for (size_t i = 0; i < m->n_families; i++)
        if (strcmp(m->families[i]->name, name) == 0)
            return m->families[i];
    return NULL;
}

static struct family *family_add(tr_metrics_t *m, const char *name, const char *help,
                                 enum kind kind, const char *label_names)
{
    if (m->n_families == m->cap_families) {
        size_t cap = m->cap_families ? 2 * m->cap_families : 16;
        struct family **families = realloc(m->families, cap * sizeof *families);
        if (!families)
            return NULL;
        m->families = families;
        m->cap_families = cap;
    }
    struct family *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->name = strdup(name);
    f->help = strdup(help);
    f->label_names = strdup(label_names);
    f->kind = kind;
    if (!f->name || !f->help || !f->label_names) {
        family_free(f);
        return NULL;
    }
    m->families[m->n_families++] = f;
    return f;
}

static tr_metric_t *series_add(struct family *f, char *labels)
{
    if (f->n_series == f->cap_series) {
        size_t cap = f->cap_series ? 2 * f->cap_series : 4;
        tr_metric_t **series = realloc(f->series, cap * sizeof *series);
        if (!series)
            return NULL;
        f->series = series;
        f->cap_series = cap;
    }
    tr_metric_t *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->family = f;
    x->labels = labels;
    f->series[f->n_series++] = x;
    return x;
}

static tr_metric_t *lookup(tr_metrics_t *m, enum kind kind, const char *name, const char *help,
                           va_list ap)
{
    assert(m && name && help);
    assert(valid_name(name, true));

    const char *keys[TR_METRICS_MAX_LABELS], *values[TR_METRICS_MAX_LABELS];
    size_t n = 0;
    for (const char *key; (key = va_arg(ap, const char *)) != NULL; n++) {
        assert(n < TR_METRICS_MAX_LABELS);
        assert(valid_label_name(key));
        const char *value = va_arg(ap, const char *);
        assert(value != NULL); /* a label name without a value */
        /* Insertion sort by label name: the same label set must name the same series whatever
         * order the caller wrote it in. */
        size_t i = n;
        for (; i > 0 && strcmp(keys[i - 1], key) > 0; i--) {
            keys[i] = keys[i - 1];
            values[i] = values[i - 1];
        }
        assert(i == 0 || strcmp(keys[i - 1], key) != 0); /* a label named twice */
        keys[i] = key;
        values[i] = value;
    }

    struct buf names = {0}, labels = {0};
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            buf_puts(&names, ",");
            buf_puts(&labels, ",");
        }
        buf_puts(&names, keys[i]);
        buf_puts(&labels, keys[i]);
        buf_puts(&labels, "=\"");
        buf_escaped(&labels, values[i], true);
        buf_puts(&labels, "\"");
    }
    char *names_s = buf_take(&names), *labels_s = buf_take(&labels);
    tr_metric_t *x = NULL;
    if (!names_s || !labels_s)
        goto out;

    struct family *f = family_find(m, name);
    if (f) {
        assert(f->kind == kind);                      /* one name, one type */
        assert(strcmp(f->label_names, names_s) == 0); /* one name, one set of label names */
        for (size_t i = 0; i < f->n_series; i++) {
            if (strcmp(f->series[i]->labels, labels_s) == 0) {
                x = f->series[i];
                goto out;
            }
        }
    } else if (!(f = family_add(m, name, help, kind, names_s))) {
        goto out;
    }
    if ((x = series_add(f, labels_s)) != NULL)
        labels_s = NULL; /* the series owns it now */
out:
    free(names_s);
    free(labels_s);
    return x;
}

tr_metric_t *tr_metrics_counter(tr_metrics_t *m, const char *name, const char *help, ...)
{
    va_list ap;
    va_start(ap, help);
    tr_metric_t *x = lookup(m, COUNTER, name, help, ap);
    va_end(ap);
    return x;
}

tr_metric_t *tr_metrics_gauge(tr_metrics_t *m, const char *name, const char *help, ...)
{
    va_list ap;
    va_start(ap, help);
    tr_metric_t *x = lookup(m, GAUGE, name, help, ap);
    va_end(ap);
    return x;
}

tr_metrics_t *tr_metrics_new(const char *service)
{
    assert(service);
    tr_metrics_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    /* The Prometheus convention for constant facts about a process: a gauge fixed at 1 whose
     * labels carry the facts, so queries can join on it instead of every series repeating them. */
    tr_metric_t *info = tr_metrics_gauge(
        m, "trivsel_build_info",
        "A metric with a constant 1 value labelled by the service and version of trivsel.",
        "service", service, "version", TR_VERSION, NULL);
    tr_metric_t *start = tr_metrics_gauge(m, "process_start_time_seconds",
                                          "Start time of the process since unix epoch in seconds.",
                                          NULL);
    if (!info || !start) {
        tr_metrics_destroy(&m);
        return NULL;
    }
    tr_metric_set(info, 1);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    tr_metric_set(start, (double)now.tv_sec + (double)now.tv_nsec / 1e9);
    return m;
}

void tr_metrics_destroy(tr_metrics_t **m)
{
    if (!m || !*m)
        return;
    for (size_t i = 0; i < (*m)->n_families; i++)
        family_free((*m)->families[i]);
    free((*m)->families);
    free(*m);
    *m = NULL;
}

void tr_metric_inc(tr_metric_t *x)
{
    tr_metric_add(x, 1);
}

void tr_metric_add(tr_metric_t *x, double v)
{
    if (!x)
        return;
    assert(x->family->kind == GAUGE || v >= 0); /* counters only go up */
    x->value += v;
}

void tr_metric_set(tr_metric_t *g, double v)
{
    if (!g)
        return;
    assert(g->family->kind == GAUGE); /* a counter that is set could go down */
    g->value = v;
}

double tr_metric_value(const tr_metric_t *x)
{
    return x ? x->value : 0;
}

/* The shortest of %.15g and %.17g that reads back to the same double: "0.1", not
 * "0.10000000000000001", yet no value changes on its way to Prometheus. */
static void format_value(double v, char *out, size_t size)
{
    if (isnan(v)) {
        snprintf(out, size, "NaN");
    } else if (isinf(v)) {
        snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(out, size, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, size, "%.17g", v);
    }
}

char *tr_metrics_render(const tr_metrics_t *m)
{
    assert(m);
    struct buf b = {0};
    for (size_t i = 0; i < m->n_families; i++) {
        const struct family *f = m->families[i];
        if (f->n_series == 0)
            continue; /* only after running out of memory while making its first series */
        buf_puts(&b, "# HELP ");
        buf_puts(&b, f->name);
        buf_puts(&b, " ");
        buf_escaped(&b, f->help, false);
        buf_puts(&b, "\n# TYPE ");
        buf_puts(&b, f->name);
        buf_puts(&b, f->kind == COUNTER ? " counter\n" : " gauge\n");
        for (size_t j = 0; j < f->n_series; j++) {
            const tr_metric_t *x = f->series[j];
            char value[40];
            format_value(x->value, value, sizeof value);
            buf_puts(&b, f->name);
            if (x->labels[0]) {
                buf_puts(&b, "{");
                buf_puts(&b, x->labels);
                buf_puts(&b, "}");
            }
            buf_puts(&b, " ");
            buf_puts(&b, value);
            buf_puts(&b, "\n");
        }
    }
    return buf_take(&b);
}
