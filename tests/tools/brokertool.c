/* brokertool — a broker client for the integration tests, built on common/bclient. Each mode
 * does one thing a real client does and prints what it saw, one line per fact, for the test
 * scripts to check.
 *
 *   brokertool publish COUNT [--prefix P] [--subject S] [--cases K]
 *       publishes COUNT events (event ids P-0 ... P-(COUNT-1); correlation id "case-(i mod K)"),
 *       retrying until each is acknowledged; prints "ack ID POSITION new|duplicate" per event
 *       and "acked N duplicates D" at the end.
 *   brokertool publish-one SUBJECT [--type T] [--municipality M] [--payload-hex H] [--id ID]
 *       one event; prints "ack ..." or "error CODE REASON".
 *   brokertool consume NAME PATTERN COUNT [--no-ack] [--credit C] [--ack-timeout MS]
 *                 [--start new] [--exit-after K]
 *                 [--idle-exit MS]
 *       prints "delivery POSITION EVENT_ID ATTEMPT CORRELATION MONOTONIC_NS" per delivery,
 *       acknowledges it (unless --no-ack), and stops after COUNT distinct events, printing
 *       "handled N redelivered R" (R: deliveries of events already handled, which a service
 *       would skip by event id) — or stops when nothing came for MS (--idle-exit), or, with
 *       --exit-after K, dies abruptly (_exit) after K deliveries, as a crashed consumer would.
 *   brokertool status
 *   brokertool raw-malformed
 *       sends a frame that is not protobuf and a two-frame message; prints the errors.
 *
 * Reads TRIVSEL_BROKER_ADDRESS, TRIVSEL_BROKER_PUBLIC_KEY_FILE and TRIVSEL_CLIENT_KEY_FILE.
 * Exits 0 when it saw what it was asked to; 1 on a timeout (--timeout S, default 60).
 */
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bclient.h"
#include "catalogue.h"

typedef struct tool {
    uv_loop_t loop;
    tr_bclient_t *client;
    uv_timer_t timeout;
    int exit_code;
    long want, seen, deliveries, duplicates, exit_after, redelivered;
    uint64_t idle_exit_ms;
    uv_timer_t idle;
    bool no_ack;
    char **seen_ids;
    bool quiet, stop_on_error;
} tool_t;

static char *read_key(const char *var)
{
    const char *path = getenv(var);
    static char keys[2][64];
    static int k;
    char *buf = keys[k++ % 2];
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f || !fgets(buf, 64, f)) {
        fprintf(stderr, "brokertool: cannot read %s (%s)\n", var, path ? path : "unset");
        exit(2);
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

static void stop(tool_t *t, int code)
{
    t->exit_code = code;
    uv_stop(&t->loop);
}

static void timeout_cb(uv_timer_t *h)
{
    tool_t *t = h->data;
    fprintf(stderr, "brokertool: timed out (seen %ld of %ld)\n", t->seen, t->want);
    stop(t, 1);
}

static const char *code_name(Trivsel__Broker__ErrorCode code)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&trivsel__broker__error_code__descriptor, code);
    return v ? v->name : "?";
}

static void published_cb(tr_bclient_t *c, const char *event_id, uint64_t position, bool duplicate,
                         const Trivsel__Broker__Error *error, void *arg)
{
    tool_t *t = arg;
    (void)c;
    if (error) {
        printf("error %s %s\n", code_name(error->code), error->reason);
    } else {
        if (!t->quiet)
            printf("ack %s %llu %s\n", event_id, (unsigned long long)position, duplicate ? "duplicate" : "new");
        t->duplicates += duplicate;
    }
    fflush(stdout);
    if (++t->seen == t->want) {
        if (!t->stop_on_error)
            printf("acked %ld duplicates %ld\n", t->seen, t->duplicates);
        stop(t, 0);
    }
}

static void error_cb(tr_bclient_t *c, const Trivsel__Broker__Error *e, void *arg)
{
    tool_t *t = arg;
    (void)c;
    printf("error %s %s\n", code_name(e->code), e->reason);
    fflush(stdout);
    if (t->stop_on_error)
        stop(t, 0); /* a mode that waits for one answer, and this is it */
}

static void make_envelope(Trivsel__Envelope *ev, Google__Protobuf__Timestamp *ts, const char *id, const char *subject,
                          const char *correlation)
{
    trivsel__envelope__init(ev);
    google__protobuf__timestamp__init(ts);
    ts->seconds = 1763884800; /* 2025-11-23 */
    const tr_event_type_t *et = tr_catalogue_by_subject(subject);
    ev->event_id = (char *)id;
    ev->subject = (char *)subject;
    ev->type = (char *)(et ? et->type_name : "unknown");
    ev->municipality = "630";
    ev->occurred_at = ts;
    ev->correlation_id = (char *)correlation;
    /* An empty payload is a valid message of any type: the broker checks well-formedness,
     * the services check content. */
}

static void idle_cb(uv_timer_t *h)
{
    tool_t *t = h->data;
    printf("handled %ld redelivered %ld\n", t->seen, t->redelivered);
    fflush(stdout);
    stop(t, 0);
}

static void delivery_cb(tr_bclient_t *c, const char *subscription, const Trivsel__Envelope *ev, uint32_t attempt,
                        void *arg)
{
    tool_t *t = arg;
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    printf("delivery %llu %s %u %s %lld%09ld\n", (unsigned long long)ev->position, ev->event_id, attempt,
           ev->correlation_id, (long long)mono.tv_sec, mono.tv_nsec);
    fflush(stdout);
    if (t->idle_exit_ms)
        uv_timer_start(&t->idle, idle_cb, t->idle_exit_ms, 0);
    t->deliveries++;
    if (t->exit_after && t->deliveries >= t->exit_after)
        _exit(0); /* a consumer that dies without acknowledging */
    bool first = true;
    for (long i = 0; i < t->seen; i++) {
        if (strcmp(t->seen_ids[i], ev->event_id) == 0)
            first = false;
    }
    if (first && t->seen < t->want)
        t->seen_ids[t->seen++] = strdup(ev->event_id);
    else if (!first)
        t->redelivered++;
    if (!t->no_ack)
        tr_bclient_ack(c, subscription, ev->position);
    if (t->seen >= t->want && !t->no_ack) {
        printf("handled %ld redelivered %ld\n", t->seen, t->redelivered);
        fflush(stdout);
        stop(t, 0);
    }
}

static void status_cb(tr_bclient_t *c, const Trivsel__Broker__StatusReply *s, void *arg)
{
    (void)c;
    printf("log_position %llu\n", (unsigned long long)s->log_position);
    for (size_t i = 0; i < s->n_subscriptions; i++) {
        Trivsel__Broker__SubscriptionStatus *x = s->subscriptions[i];
        printf("subscription %s %s %s acked %llu backlog %llu consumers %u in_flight %u\n", x->principal, x->name,
               x->pattern, (unsigned long long)x->acked_position, (unsigned long long)x->backlog, x->consumers,
               x->in_flight);
    }
    for (size_t i = 0; i < s->n_clients; i++)
        printf("client %s %s\n", s->clients[i]->principal, s->clients[i]->client_name);
    stop(arg, 0);
}

static void welcome_status_cb(tr_bclient_t *c, const Trivsel__Broker__Welcome *w, void *arg)
{
    (void)w;
    tr_bclient_status(c, status_cb, arg);
}

/* Malformed input over a raw CURVE DEALER: the broker must refuse it and keep serving. */
static int raw_malformed(const char *endpoint, const char *server_key, const char *secret_key)
{
    char public_key[41];
    zmq_curve_public(public_key, secret_key);
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int timeout = 5000, linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_key, 40);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, public_key, 40);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret_key, 40);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_connect(s, endpoint);
    const char garbage[] = "\xff\xff\xff\xff this is not protobuf";
    zmq_send(s, garbage, sizeof garbage - 1, 0);
    zmq_send(s, "a", 1, ZMQ_SNDMORE);
    zmq_send(s, "b", 1, 0);
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, 0) < 0) {
            printf("no reply\n");
            rc = 1;
            break;
        }
        Trivsel__Broker__ServerMessage *sm = trivsel__broker__server_message__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        if (sm && sm->reply_case == TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_ERROR)
            printf("error %s %s\n", code_name(sm->error->code), sm->error->reason);
        else
            printf("unexpected reply\n");
        if (sm)
            trivsel__broker__server_message__free_unpacked(sm, NULL);
        zmq_msg_close(&m);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    tool_t t = {.exit_code = 1};
    if (argc < 2) {
        fprintf(stderr, "usage: see the comment at the top of tests/tools/brokertool.c\n");
        return 2;
    }
    const char *mode = argv[1];
    const char *endpoint = getenv("TRIVSEL_BROKER_ADDRESS") ? getenv("TRIVSEL_BROKER_ADDRESS") : "tcp://127.0.0.1:7400";
    char *server_key = read_key("TRIVSEL_BROKER_PUBLIC_KEY_FILE");
    char *secret_key = read_key("TRIVSEL_CLIENT_KEY_FILE");
    if (strcmp(mode, "raw-malformed") == 0)
        return raw_malformed(endpoint, server_key, secret_key);

    const char *prefix = "ev", *subject = "intake.underretning.received", *type = NULL, *municipality = NULL,
               *id = NULL, *start = "beginning";
    long cases = 0, credit = 10, ack_timeout = 0, timeout_s = 60;
    const char *positional[4] = {0};
    int npos = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(a, "--prefix") == 0) prefix = v, i++;
        else if (strcmp(a, "--subject") == 0) subject = v, i++;
        else if (strcmp(a, "--cases") == 0) cases = atol(v), i++;
        else if (strcmp(a, "--type") == 0) type = v, i++;
        else if (strcmp(a, "--municipality") == 0) municipality = v, i++;
        else if (strcmp(a, "--id") == 0) id = v, i++;
        else if (strcmp(a, "--credit") == 0) credit = atol(v), i++;
        else if (strcmp(a, "--ack-timeout") == 0) ack_timeout = atol(v), i++;
        else if (strcmp(a, "--start") == 0) start = v, i++;
        else if (strcmp(a, "--exit-after") == 0) t.exit_after = atol(v), i++;
        else if (strcmp(a, "--timeout") == 0) timeout_s = atol(v), i++;
        else if (strcmp(a, "--idle-exit") == 0) t.idle_exit_ms = (uint64_t)atol(v), i++;
        else if (strcmp(a, "--no-ack") == 0) t.no_ack = true;
        else if (strcmp(a, "--quiet") == 0) t.quiet = true;
        else if (npos < 4) positional[npos++] = a;
    }

    uv_loop_init(&t.loop);
    tr_bclient_options_t opts = {.endpoint = endpoint, .server_public_key = server_key, .secret_key = secret_key,
                                 .client_name = "brokertool", .retry_ms = 1000};
    tr_error_t err = {0};
    if (tr_bclient_new(&t.loop, &opts, &t.client, &err) < 0) {
        fprintf(stderr, "brokertool: %s\n", err.message);
        return 2;
    }
    tr_bclient_on_error(t.client, error_cb, &t);
    uv_timer_init(&t.loop, &t.timeout);
    t.timeout.data = &t;
    uv_timer_start(&t.timeout, timeout_cb, (uint64_t)timeout_s * 1000, 0);
    uv_timer_init(&t.loop, &t.idle);
    t.idle.data = &t;
    /* A consumer that never gets anything also ends: the idle time plus a start-up margin. */
    if (t.idle_exit_ms)
        uv_timer_start(&t.idle, idle_cb, t.idle_exit_ms + 5000, 0);

    if (strcmp(mode, "publish") == 0 && npos >= 1) {
        t.want = atol(positional[0]);
        for (long i = 0; i < t.want; i++) {
            char eid[128], corr[64];
            snprintf(eid, sizeof eid, "%s-%ld", prefix, i);
            snprintf(corr, sizeof corr, "case-%ld", cases ? i % cases : i);
            Trivsel__Envelope ev;
            Google__Protobuf__Timestamp ts;
            make_envelope(&ev, &ts, eid, subject, corr);
            tr_bclient_publish(t.client, &ev, published_cb, &t);
        }
    } else if (strcmp(mode, "publish-one") == 0 && npos >= 1) {
        t.want = 1;
        t.stop_on_error = true;
        Trivsel__Envelope ev;
        Google__Protobuf__Timestamp ts;
        make_envelope(&ev, &ts, id ? id : "one", positional[0], "case-1");
        if (type)
            ev.type = (char *)type;
        if (municipality)
            ev.municipality = (char *)municipality;
        tr_bclient_publish(t.client, &ev, published_cb, &t);
    } else if (strcmp(mode, "consume") == 0 && npos >= 3) {
        t.want = atol(positional[2]);
        t.seen_ids = calloc((size_t)t.want + 1, sizeof *t.seen_ids);
        tr_bclient_subscribe(t.client, positional[0], positional[1], (uint32_t)credit, (uint32_t)ack_timeout,
                             strcmp(start, "new") == 0 ? TRIVSEL__BROKER__START_AT__START_AT_NEW
                                                       : TRIVSEL__BROKER__START_AT__START_AT_BEGINNING,
                             delivery_cb, &t);
        t.stop_on_error = t.want == 0; /* COUNT 0: wait for the refusal */
    } else if (strcmp(mode, "status") == 0) {
        tr_bclient_on_welcome(t.client, welcome_status_cb, &t);
        t.stop_on_error = true; /* a refused status is its answer */
    } else {
        fprintf(stderr, "brokertool: unknown mode or missing arguments\n");
        return 2;
    }
    uv_run(&t.loop, UV_RUN_DEFAULT);
    int code = t.exit_code;
    tr_bclient_close(t.client, NULL, NULL);
    uv_close((uv_handle_t *)&t.timeout, NULL);
    uv_close((uv_handle_t *)&t.idle, NULL);
    uv_run(&t.loop, UV_RUN_DEFAULT);
    uv_loop_close(&t.loop);
    for (long i = 0; t.seen_ids && i < t.seen; i++)
        free(t.seen_ids[i]);
    free(t.seen_ids);
    return code;
}
