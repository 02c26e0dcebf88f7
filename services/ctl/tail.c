/* trivselctl tail — follow the events on a subject pattern, one JSON line each.
 *
 * It takes a durable subscription of its own, tail-<host>-<pid>, so it never takes events from
 * a service's subscription, and deletes it on the way out. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalogue.h"
#include "ctl.h"
#include "messaging.h"
#include "pbjson.h"
#include "subject.h"

#define NAME_MAX_LEN CTL_SUBSCRIPTION_NAME_MAX
#define MAX_CREDIT 64
/* The Unsubscribe goes out with the last acknowledgements; the client lingers on close so it
 * leaves the socket, and the broker deletes the subscription once its last position write is
 * done. */

typedef struct tail {
    ctl_session_t session;
    const char *pattern;
    const char *timeout; /* as given, for messages; NULL: none */
    char name[NAME_MAX_LEN + 1];
    long count; /* stop after this many events; 0: at a signal */
    long printed;
    bool stopping;
    int exit_code;
    uv_signal_t sigint, sigterm;
} tail_t;

static int usage(FILE *out)
{
    fprintf(out,
            "usage: trivselctl tail PATTERN [--from-start] [--count N] [--timeout DURATION]\n"
            "\n"
            "Prints each event whose subject matches PATTERN (\"*\" one token, \">\" the rest:\n"
            "\"intake.>\") as one line of JSON, the envelope in protobuf's canonical JSON\n"
            "(EVENTS.md) with the payload as its event type's JSON, and acknowledges it.\n"
            "\n"
            "  --from-start        begin at the first matching event in the log, not at\n"
            "                      the next one published\n"
            "  --count N           stop after N events\n"
            "  --timeout DURATION  stop after this long; with --count, fewer than N\n"
            "                      events by then is a failure\n"
            "\n"
            "Stops at SIGINT or SIGTERM too. Reads through a durable subscription of its\n"
            "own, tail-<host>-<pid>, deleted when it stops, so it takes no events from\n"
            "anyone else's. Exit status: 0 stopped as asked; 1 refused by the broker, or\n"
            "--count not reached within --timeout; 2 bad usage.\n"
            "\n"
            "Environment:\n");
    ctl_session_print_env(out);
    return out == stdout ? 0 : 2;
}

static const ProtobufCMessageDescriptor *
payload_type_cb(const ProtobufCMessage *parent, const ProtobufCFieldDescriptor *field, void *arg)
{
    (void)arg;
    if (parent->descriptor != &trivsel__envelope__descriptor || strcmp(field->name, "payload") != 0)
        return NULL;
    const char *type = ((const Trivsel__Envelope *)parent)->type;
    const tr_event_type_t *et = tr_catalogue_by_type(type);
    /* A type this trivselctl does not know is shown as base64. */
    return et ? et->descriptor : tr_catalogue_descriptor(type);
}

static void finish_cb(ctl_session_t *s)
{
    tail_t *t = s->arg;
    ctl_session_finish(s, t->exit_code);
}

static void unsubscribe_cb(ctl_session_t *s)
{
    tail_t *t = s->arg;
    tr_bclient_unsubscribe(s->client, t->name, true);
    ctl_session_after(s, 0, finish_cb);
}

/* Stops taking events, then deletes the subscription and ends. */
static void stop(tail_t *t, int code)
{
    if (t->stopping)
        return;
    t->stopping = true;
    t->exit_code = code;
    ctl_session_after(&t->session, 0, unsubscribe_cb);
}

static void delivery_cb(tr_bclient_t *c, const char *subscription, const Trivsel__Envelope *event,
                        uint32_t attempt, void *arg)
{
    tail_t *t = arg;
    (void)attempt;
    if (t->stopping)
        return; /* not acknowledged: the subscription is about to go */
    tr_pbjson_options_t opts = {.flags = TR_PBJSON_COMPACT, .bytes_type = payload_type_cb};
    char *json = tr_pbjson_format_opts(&event->base, &opts);
    if (!json) {
        fprintf(stderr, "trivselctl: out of memory\n");
        stop(t, 1);
        return;
    }
    int rc = printf("%s\n", json);
    free(json);
    if (rc < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "trivselctl: cannot write to standard output: %s\n", strerror(errno));
        stop(t, 1);
        return;
    }
    tr_bclient_ack(c, subscription, event->position);
    if (t->count && ++t->printed >= t->count)
        stop(t, 0);
}

static void error_cb(tr_bclient_t *c, const Trivsel__Broker__Error *e, void *arg)
{
    tail_t *t = arg;
    (void)c;
    if (t->stopping)
        return;
    ctl_print_refusal(e);
    stop(t, 1);
}

static void timeout_cb(ctl_session_t *s)
{
    tail_t *t = s->arg;
    if (t->stopping)
        return;
    if (!t->count) {
        stop(t, 0);
        return;
    }
    if (s->welcomed)
        fprintf(stderr, "trivselctl: %ld of %ld events on \"%s\" within %s\n", t->printed, t->count,
                t->pattern, t->timeout);
    else
        fprintf(stderr, "trivselctl: cannot reach the broker at %s: no session within %s\n",
                s->address, t->timeout);
    stop(t, 1);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    tail_t *t = h->data;
    (void)signum;
    if (t->stopping)
        ctl_session_finish(&t->session, t->exit_code); /* asked twice: do not wait */
    else
        stop(t, 0);
}

static void close_cb(ctl_session_t *s)
{
    tail_t *t = s->arg;
    uv_close((uv_handle_t *)&t->sigint, NULL);
    uv_close((uv_handle_t *)&t->sigterm, NULL);
}

int ctl_tail(int argc, char **argv)
{
    tail_t t = {0};
    bool from_start = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout);
        if (strcmp(a, "--from-start") == 0) {
            from_start = true;
        } else if (strcmp(a, "--count") == 0 && v) {
            char *end;
            errno = 0;
            t.count = strtol(v, &end, 10);
            if (errno || end == v || *end || t.count < 1) {
                fprintf(stderr,
                        "trivselctl tail: invalid --count \"%s\": must be a whole number from 1\n",
                        v);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--timeout") == 0 && v) {
            t.timeout = v, i++;
        } else if (a[0] != '-' && !t.pattern) {
            t.pattern = a;
        } else {
            fprintf(stderr,
                    "trivselctl tail: unexpected argument \"%s\": see trivselctl tail --help\n", a);
            return 2;
        }
    }
    if (!t.pattern) {
        fprintf(stderr, "trivselctl tail: PATTERN is required: see trivselctl tail --help\n");
        return 2;
    }
    tr_error_t err = {0};
    if (tr_subject_check_pattern(t.pattern, &err) < 0) {
        fprintf(stderr, "trivselctl: %s\n", err.message);
        return 2;
    }
    uint64_t timeout_ms = 0;
    if (t.timeout && ctl_parse_timeout("tail", t.timeout, &timeout_ms) < 0)
        return 2;
    ctl_subscription_name("tail", t.name);

    t.session.arg = &t;
    t.session.error_cb = error_cb;
    t.session.close_cb = close_cb;
    if (ctl_session_open(&t.session, "tail", timeout_ms, timeout_cb) < 0)
        return 1;
    /* A reader that went away (tail ... | head) is a write error, not a silent death that
     * would leave the subscription behind. */
    signal(SIGPIPE, SIG_IGN);
    uv_signal_init(&t.session.loop, &t.sigint);
    uv_signal_init(&t.session.loop, &t.sigterm);
    t.sigint.data = t.sigterm.data = &t;
    uv_signal_start(&t.sigint, signal_cb, SIGINT);
    uv_signal_start(&t.sigterm, signal_cb, SIGTERM);
    uint32_t credit = t.count && t.count < MAX_CREDIT ? (uint32_t)t.count : MAX_CREDIT;
    int rc = tr_bclient_subscribe(t.session.client, t.name, t.pattern, credit, 0,
                                  from_start ? TRIVSEL__BROKER__START_AT__START_AT_BEGINNING
                                             : TRIVSEL__BROKER__START_AT__START_AT_NEW,
                                  delivery_cb, &t);
    if (rc < 0) {
        fprintf(stderr, "trivselctl: cannot subscribe: %s\n", tr_strerror(rc));
        ctl_session_finish(&t.session, 1);
    }
    return ctl_session_run(&t.session);
}
