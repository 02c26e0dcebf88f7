/* intake_client — a client of trivsel-intake for the integration tests, as the case system
 * (fagsystem), the letter system or assessment would be: it publishes events whose payload is
 * given as protobuf JSON (EVENTS.md), and reads events back as JSON, one per line.
 *
 *   intake_client publish SUBJECT EVENT_ID PAYLOAD_JSON [--municipality M] [--correlation C]
 *                 [--occurred RFC3339]
 *       publishes one event (occurred-at default: now); prints "ack EVENT_ID POSITION new" or
 *       "... duplicate", or "error CODE REASON" (exit 1).
 *   intake_client consume NAME PATTERN COUNT
 *       subscribes (from the beginning), prints each delivery as the envelope's JSON with the
 *       payload decoded, acknowledges it, and stops after COUNT.
 *   intake_client decode
 *       reads envelopes as hex, one per line (e.g. from broker.event), and prints their JSON.
 *
 * Reads TRIVSEL_BROKER_ADDRESS, TRIVSEL_BROKER_PUBLIC_KEY_FILE, TRIVSEL_CLIENT_KEY_FILE;
 * --timeout S (default 30) bounds the wait. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bclient.h"
#include "catalogue.h"
#include "pbjson.h"

typedef struct client {
    uv_loop_t loop;
    tr_bclient_t *client;
    uv_timer_t timeout;
    long want, seen;
    int exit_code;
} client_t;

static const ProtobufCMessageDescriptor *
payload_type_cb(const ProtobufCMessage *parent, const ProtobufCFieldDescriptor *field, void *arg)
{
    (void)arg;
    if (parent->descriptor != &trivsel__envelope__descriptor || strcmp(field->name, "payload") != 0)
        return NULL;
    const tr_event_type_t *et = tr_catalogue_by_type(((const Trivsel__Envelope *)parent)->type);
    return et ? et->descriptor : NULL;
}

static void print_envelope(const Trivsel__Envelope *ev)
{
    tr_pbjson_options_t opts = {.flags = TR_PBJSON_COMPACT, .bytes_type = payload_type_cb};
    char *json = tr_pbjson_format_opts(&ev->base, &opts);
    printf("%s\n", json ? json : "null");
    fflush(stdout);
    free(json);
}

static char *read_key(const char *var)
{
    static char keys[2][64];
    static int k;
    const char *path = getenv(var);
    char *buf = keys[k++ % 2];
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f || !fgets(buf, 64, f)) {
        fprintf(stderr, "intake_client: cannot read %s (%s)\n", var, path ? path : "unset");
        exit(2);
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

static void stop(client_t *c, int code)
{
    c->exit_code = code;
    uv_stop(&c->loop);
}

static void timeout_cb(uv_timer_t *t)
{
    client_t *c = t->data;
    fprintf(stderr, "intake_client: timed out (seen %ld of %ld)\n", c->seen, c->want);
    stop(c, 1);
}

static const char *code_name(Trivsel__Broker__ErrorCode code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&trivsel__broker__error_code__descriptor, code);
    return v ? v->name : "?";
}

static void published_cb(tr_bclient_t *b, const char *event_id, uint64_t position, bool duplicate,
                         const Trivsel__Broker__Error *error, void *arg)
{
    (void)b;
    if (error) {
        printf("error %s %s\n", code_name(error->code), error->reason);
        stop(arg, 1);
        return;
    }
    printf("ack %s %llu %s\n", event_id, (unsigned long long)position,
           duplicate ? "duplicate" : "new");
    stop(arg, 0);
}

static void error_cb(tr_bclient_t *b, const Trivsel__Broker__Error *e, void *arg)
{
    (void)b;
    printf("error %s %s\n", code_name(e->code), e->reason);
    stop(arg, 1);
}

static void delivery_cb(tr_bclient_t *b, const char *subscription, const Trivsel__Envelope *ev,
                        uint32_t attempt, void *arg)
{
    client_t *c = arg;
    (void)attempt;
    print_envelope(ev);
    tr_bclient_ack(b, subscription, ev->position);
    if (++c->seen >= c->want)
        stop(c, 0);
}

static int decode(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        line[strcspn(line, "\r\n")] = '\0';
        size_t len = strlen(line) / 2;
        uint8_t *bytes = malloc(len ? len : 1);
        for (size_t i = 0; bytes && i < len; i++)
            sscanf(line + 2 * i, "%2hhx", &bytes[i]);
        Trivsel__Envelope *ev = bytes ? trivsel__envelope__unpack(NULL, len, bytes) : NULL;
        if (ev) {
            print_envelope(ev);
            trivsel__envelope__free_unpacked(ev, NULL);
        } else {
            printf("undecodable\n");
            rc = 1;
        }
        free(bytes);
    }
    free(line);
    return rc;
}

/* RFC 3339 UTC ("2024-03-21T09:15:00Z", optional fraction) to a timestamp. */
static int parse_time(const char *text, Google__Protobuf__Timestamp *ts)
{
    struct tm tm = {0};
    const char *rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    ts->seconds = timegm(&tm);
    ts->nanos = 0;
    if (*rest == '.') {
        long frac = 0;
        int digits = 0;
        for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
            frac = digits < 9 ? frac * 10 + (*rest - '0') : frac;
        for (; digits < 9; digits++)
            frac *= 10;
        ts->nanos = (int32_t)frac;
    }
    return *rest == 'Z' ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: see the comment at the top of tests/tools/intake_client.c\n");
        return 2;
    }
    if (strcmp(argv[1], "decode") == 0)
        return decode();
    const char *municipality = "630", *correlation = "", *occurred = NULL, *pos[3] = {0};
    long timeout_s = 30;
    int npos = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(a, "--municipality") == 0)
            municipality = v, i++;
        else if (strcmp(a, "--correlation") == 0)
            correlation = v, i++;
        else if (strcmp(a, "--occurred") == 0)
            occurred = v, i++;
        else if (strcmp(a, "--timeout") == 0)
            timeout_s = atol(v), i++;
        else if (npos < 3)
            pos[npos++] = a;
    }
    if (npos < 3) {
        fprintf(stderr, "intake_client: missing arguments\n");
        return 2;
    }
    client_t c = {.exit_code = 1};
    uv_loop_init(&c.loop);
    const char *endpoint = getenv("TRIVSEL_BROKER_ADDRESS") ? getenv("TRIVSEL_BROKER_ADDRESS")
                                                            : "tcp://127.0.0.1:7400";
    tr_bclient_options_t o = {.endpoint = endpoint,
                              .server_public_key = read_key("TRIVSEL_BROKER_PUBLIC_KEY_FILE"),
                              .secret_key = read_key("TRIVSEL_CLIENT_KEY_FILE"),
                              .client_name = "intake_client",
                              .retry_ms = 1000};
    tr_error_t err = {0};
    if (tr_bclient_new(&c.loop, &o, &c.client, &err) < 0) {
        fprintf(stderr, "intake_client: %s\n", err.message);
        return 2;
    }
    tr_bclient_on_error(c.client, error_cb, &c);
    uv_timer_init(&c.loop, &c.timeout);
    c.timeout.data = &c;
    uv_timer_start(&c.timeout, timeout_cb, (uint64_t)timeout_s * 1000, 0);

    ProtobufCMessage *payload = NULL;
    uint8_t *bytes = NULL;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    if (strcmp(argv[1], "publish") == 0) {
        const tr_event_type_t *et = tr_catalogue_by_subject(pos[0]);
        if (!et) {
            fprintf(stderr, "intake_client: unknown subject \"%s\"\n", pos[0]);
            return 2;
        }
        if (tr_pbjson_parse(et->descriptor, pos[2], strlen(pos[2]), &payload, &err) < 0) {
            fprintf(stderr, "intake_client: %s\n", err.message);
            return 2;
        }
        if (occurred) {
            if (parse_time(occurred, &ts) < 0) {
                fprintf(stderr, "intake_client: invalid --occurred \"%s\"\n", occurred);
                return 2;
            }
        } else {
            ts.seconds = time(NULL);
        }
        size_t len = protobuf_c_message_get_packed_size(payload);
        bytes = malloc(len ? len : 1);
        protobuf_c_message_pack(payload, bytes);
        Trivsel__Envelope ev = TRIVSEL__ENVELOPE__INIT;
        ev.event_id = (char *)pos[1];
        ev.subject = (char *)pos[0];
        ev.type = (char *)et->type_name;
        ev.municipality = (char *)municipality;
        ev.correlation_id = (char *)correlation;
        ev.occurred_at = &ts;
        ev.payload.data = bytes;
        ev.payload.len = len;
        tr_bclient_publish(c.client, &ev, published_cb, &c);
    } else if (strcmp(argv[1], "consume") == 0) {
        c.want = atol(pos[2]);
        tr_bclient_subscribe(c.client, pos[0], pos[1], 100, 0,
                             TRIVSEL__BROKER__START_AT__START_AT_BEGINNING, delivery_cb, &c);
    } else {
        fprintf(stderr, "intake_client: unknown mode \"%s\"\n", argv[1]);
        return 2;
    }
    uv_run(&c.loop, UV_RUN_DEFAULT);
    int code = c.exit_code;
    tr_bclient_close(c.client, NULL, NULL);
    uv_close((uv_handle_t *)&c.timeout, NULL);
    uv_run(&c.loop, UV_RUN_DEFAULT);
    uv_loop_close(&c.loop);
    if (payload)
        protobuf_c_message_free_unpacked(payload, NULL);
    free(bytes);
    return code;
}
