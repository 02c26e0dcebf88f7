/* trivselctl status — the broker's view: the log position, every subscription with its
 * position and backlog, and the connected clients. Operators only (the broker checks). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "messaging.h"
#include "pbjson.h"

#define DEFAULT_TIMEOUT "10s"
#define MAX_COLUMNS 8

typedef struct status {
    ctl_session_t session;
    bool json;
    const char *timeout;
} status_t;

static int usage(FILE *out)
{
    fprintf(out,
            "usage: trivselctl status [--json] [--timeout DURATION]\n"
            "\n"
            "Asks the broker, with an operator's key, for its state and prints the log\n"
            "position; each durable subscription with its principal, name, pattern,\n"
            "acknowledged position, backlog (matching events after that position),\n"
            "connected consumers and deliveries in flight; and the connected clients.\n"
            "\n"
            "  --json              the broker's StatusReply in protobuf's canonical JSON\n"
            "  --timeout DURATION  give up without an answer after this long (default %s)\n"
            "\n"
            "Exit status: 0 printed; 1 refused by the broker (not an operator) or timed\n"
            "out; 2 bad usage.\n"
            "\n"
            "Environment:\n",
            DEFAULT_TIMEOUT);
    ctl_session_print_env(out);
    return out == stdout ? 0 : 2;
}

/* A table printed with each column as wide as its widest cell; numbers to the right. */
typedef struct table {
    size_t ncols, nrows;
    const char *const *header;
    const bool *right;
    char **cells; /* nrows * ncols, owned */
} table_t;

static void table_print(const table_t *t)
{
    size_t width[MAX_COLUMNS];
    for (size_t c = 0; c < t->ncols; c++) {
        width[c] = strlen(t->header[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t n = strlen(t->cells[r * t->ncols + c]);
            if (n > width[c])
                width[c] = n;
        }
    }
    for (size_t r = 0; r <= t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = r == 0 ? t->header[c] : t->cells[(r - 1) * t->ncols + c];
            bool last = c + 1 == t->ncols;
            if (t->right[c])
                printf("%*s%s", (int)width[c], cell, last ? "" : "  ");
            else if (last)
                printf("%s", cell);
            else
                printf("%-*s  ", (int)width[c], cell);
        }
        putchar('\n');
    }
}

static void table_free(table_t *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
}

static char *cell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *cell(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static int print_subscriptions(const Trivsel__Broker__StatusReply *r)
{
    static const char *const header[] = {"PRINCIPAL", "NAME",      "PATTERN",  "ACKED",
                                         "BACKLOG",   "CONSUMERS", "IN FLIGHT"};
    static const bool right[] = {false, false, false, true, true, true, true};
    table_t t = {.ncols = 7, .nrows = r->n_subscriptions, .header = header, .right = right};
    printf("subscriptions: %zu\n", r->n_subscriptions);
    if (!r->n_subscriptions)
        return 0;
    if (!(t.cells = calloc(t.nrows * t.ncols, sizeof *t.cells)))
        return -1;
    int rc = 0;
    for (size_t i = 0; i < r->n_subscriptions; i++) {
        const Trivsel__Broker__SubscriptionStatus *s = r->subscriptions[i];
        char **row = t.cells + i * t.ncols;
        row[0] = cell("%s", s->principal);
        row[1] = cell("%s", s->name);
        row[2] = cell("%s", s->pattern);
        row[3] = cell("%" PRIu64, s->acked_position);
        row[4] = cell("%" PRIu64, s->backlog);
        row[5] = cell("%" PRIu32, s->consumers);
        row[6] = cell("%" PRIu32, s->in_flight);
        for (size_t c = 0; c < t.ncols; c++)
            rc = row[c] ? rc : -1;
    }
    if (rc == 0)
        table_print(&t);
    table_free(&t);
    return rc;
}

static int print_clients(const Trivsel__Broker__StatusReply *r)
{
    static const char *const header[] = {"PRINCIPAL", "CLIENT", "IDLE"};
    static const bool right[] = {false, false, true};
    table_t t = {.ncols = 3, .nrows = r->n_clients, .header = header, .right = right};
    printf("clients: %zu\n", r->n_clients);
    if (!r->n_clients)
        return 0;
    if (!(t.cells = calloc(t.nrows * t.ncols, sizeof *t.cells)))
        return -1;
    int rc = 0;
    for (size_t i = 0; i < r->n_clients; i++) {
        const Trivsel__Broker__ClientStatus *c = r->clients[i];
        char **row = t.cells + i * t.ncols;
        row[0] = cell("%s", c->principal);
        row[1] = cell("%s", c->client_name[0] ? c->client_name : "-");
        row[2] = cell("%.1fs", c->idle_ms / 1000.0);
        for (size_t k = 0; k < t.ncols; k++)
            rc = row[k] ? rc : -1;
    }
    if (rc == 0)
        table_print(&t);
    table_free(&t);
    return rc;
}

static void status_cb(tr_bclient_t *c, const Trivsel__Broker__StatusReply *reply, void *arg)
{
    status_t *st = arg;
    int rc = 0;
    (void)c;
    if (st->json) {
        char *json = tr_pbjson_format(&reply->base, TR_PBJSON_PRETTY);
        if (json)
            printf("%s\n", json);
        else
            rc = -1;
        free(json);
    } else {
        printf("log position: %" PRIu64 "\n\n", reply->log_position);
        if (print_subscriptions(reply) == 0) {
            putchar('\n');
            rc = print_clients(reply);
        } else {
            rc = -1;
        }
    }
    if (rc < 0)
        fprintf(stderr, "trivselctl: out of memory\n");
    ctl_session_finish(&st->session, rc < 0 ? 1 : 0);
}

/* Asked again after every new session: an answer owed by a lost one never comes. */
static void welcome_cb(tr_bclient_t *c, const Trivsel__Broker__Welcome *w, void *arg)
{
    (void)w;
    tr_bclient_status(c, status_cb, arg);
}

static void timeout_cb(ctl_session_t *s)
{
    status_t *st = s->arg;
    if (s->welcomed)
        fprintf(stderr, "trivselctl: no status from the broker at %s within %s\n", s->address,
                st->timeout);
    else
        fprintf(stderr, "trivselctl: cannot reach the broker at %s: no session within %s\n",
                s->address, st->timeout);
    ctl_session_finish(s, 1);
}

int ctl_status(int argc, char **argv)
{
    status_t st = {.timeout = DEFAULT_TIMEOUT};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout);
        if (strcmp(a, "--json") == 0) {
            st.json = true;
        } else if (strcmp(a, "--timeout") == 0 && v) {
            st.timeout = v, i++;
        } else {
            fprintf(stderr,
                    "trivselctl status: unexpected argument \"%s\": see trivselctl status --help\n",
                    a);
            return 2;
        }
    }
    uint64_t timeout_ms;
    if (ctl_parse_timeout("status", st.timeout, &timeout_ms) < 0)
        return 2;
    st.session.arg = &st;
    st.session.welcome_cb = welcome_cb;
    if (ctl_session_open(&st.session, "status", timeout_ms, timeout_cb) < 0)
        return 1;
    return ctl_session_run(&st.session);
}
