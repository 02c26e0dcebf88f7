/* trivsel-broker — wiring only: configuration, the loop, start and shutdown. The broker's parts
 * live in the files beside this one (see broker.h). */
#include <string.h>
#include <zmq.h>

#include "broker.h"
#include "log.h"

static const tr_config_var_t broker_vars[] = {
    {"TRIVSEL_BROKER_ENDPOINT", TR_CONFIG_STRING, "tcp://0.0.0.0:7400", NULL,
     "ZeroMQ endpoint the broker binds (CURVE is always on)"},
    {"TRIVSEL_BROKER_SECRET_KEY_FILE", TR_CONFIG_FILE, NULL, NULL,
     "file holding the broker's CURVE secret key (Z85, 40 characters; trivselctl keys generate)"},
    {"TRIVSEL_BROKER_MAX_EVENT_BYTES", TR_CONFIG_INT, "262144", "1024..16777216",
     "largest serialized event envelope accepted"},
    {"TRIVSEL_BROKER_HEARTBEAT", TR_CONFIG_DURATION, "5s", NULL,
     "heartbeat interval told to clients; a client silent for 3 intervals is gone"},
    {"TRIVSEL_BROKER_OUTBOX_SWEEP", TR_CONFIG_DURATION, "1s", NULL,
     "how often the services' outbox is swept when no notification came"},
};

static const char *const error_names[] = {
    "unspecified", "malformed", "hello_required", "protocol_version", "invalid_envelope",
    "unknown_subject", "type_mismatch", "invalid_payload", "too_large", "not_permitted",
    "invalid_pattern", "unknown_subscription", "unavailable", "disabled", "internal",
};

const char *broker_error_name(Trivsel__Broker__ErrorCode code)
{
    size_t i = (size_t)code;
    return i < sizeof error_names / sizeof error_names[0] ? error_names[i] : "unspecified";
}

void broker_count_refusal(broker_t *b, Trivsel__Broker__ErrorCode code)
{
    tr_metric_inc(tr_metrics_counter(b->metrics, "trivsel_broker_refusals_total",
                                     "requests refused, by reason", "reason", broker_error_name(code), NULL));
}

uint64_t broker_now_ms(const broker_t *b)
{
    return uv_now(b->loop);
}

static int ready(void *arg, char *reason, size_t len)
{
    broker_t *b = arg;
    if (!b->router) {
        snprintf(reason, len, "socket not bound");
        return 0;
    }
    if (!b->principals_loaded) {
        snprintf(reason, len, "principals not loaded");
        return 0;
    }
    return 1;
}

static void notify(const char *channel, const char *payload, void *arg)
{
    broker_t *b = arg;
    (void)payload;
    if (strcmp(channel, "trivsel_outbox") == 0)
        outbox_wake(b);
    else if (strcmp(channel, "trivsel_principals") == 0)
        principals_load(b);
}

static void reconnected(void *arg)
{
    broker_t *b = arg;
    principals_load(b);
    outbox_wake(b);
}

static int start(tr_daemon_t *d, void *arg)
{
    broker_t *b = arg;
    const tr_config_t *cfg = tr_daemon_config(d);
    tr_error_t err = {0};
    b->daemon = d;
    b->loop = tr_daemon_loop(d);
    b->pg = tr_daemon_pg(d);
    tr_pg_t **extra[2] = {&b->reader, &b->auditor};
    for (int i = 0; i < 2; i++) {
        if (tr_pg_new(b->loop, tr_daemon_pg_options(d), NULL, NULL, b, extra[i], &err) < 0) {
            tr_log_error("cannot open the database connections", TR_LOG_STR("error", err.message));
            return TR_EDB;
        }
        b->open_connections++;
    }
    b->metrics = tr_daemon_metrics(d);
    snprintf(b->endpoint, sizeof b->endpoint, "%s", tr_config_string(cfg, "TRIVSEL_BROKER_ENDPOINT"));
    b->max_event_bytes = (uint32_t)tr_config_int(cfg, "TRIVSEL_BROKER_MAX_EVENT_BYTES");
    b->heartbeat_ms = (uint32_t)tr_config_duration_ms(cfg, "TRIVSEL_BROKER_HEARTBEAT");
    b->outbox_sweep_ms = (uint64_t)tr_config_duration_ms(cfg, "TRIVSEL_BROKER_OUTBOX_SWEEP");
    if (tr_config_read_file(cfg, "TRIVSEL_BROKER_SECRET_KEY_FILE", b->secret_key, sizeof b->secret_key, &err) < 0 ||
        strlen(b->secret_key) != 40 || zmq_curve_public(b->public_key, b->secret_key) != 0) {
        tr_log_error("invalid broker key", TR_LOG_STR("error", err.code ? err.message
                                                                      : "TRIVSEL_BROKER_SECRET_KEY_FILE must hold a Z85 CURVE secret key of 40 characters"));
        return TR_ECONFIG;
    }
    b->m = (broker_metrics_t){
        .publishes = tr_metrics_counter(b->metrics, "trivsel_broker_publishes_total", "publish requests received", NULL),
        .acks = tr_metrics_counter(b->metrics, "trivsel_broker_acks_total", "publishes acknowledged after commit", NULL),
        .duplicates = tr_metrics_counter(b->metrics, "trivsel_broker_duplicates_total",
                                         "publishes acknowledged as retries of a stored event", NULL),
        .deliveries = tr_metrics_counter(b->metrics, "trivsel_broker_deliveries_total", "events delivered to consumers", NULL),
        .redeliveries = tr_metrics_counter(b->metrics, "trivsel_broker_redeliveries_total",
                                           "events delivered again after no acknowledgement", NULL),
        .consumer_acks = tr_metrics_counter(b->metrics, "trivsel_broker_consumer_acks_total",
                                            "deliveries acknowledged by consumers", NULL),
        .clients = tr_metrics_gauge(b->metrics, "trivsel_broker_connected_clients", "sessions with a client", NULL),
        .outbox_moved = tr_metrics_counter(b->metrics, "trivsel_broker_outbox_moved_total",
                                           "service outbox events moved into the log", NULL),
        .outbox_refused = tr_metrics_counter(b->metrics, "trivsel_broker_outbox_refused_total",
                                             "service outbox events refused (see broker.outbox_refused)", NULL),
        .dropped_sends = tr_metrics_counter(b->metrics, "trivsel_broker_dropped_sends_total",
                                            "messages to clients dropped: peer gone or queue full", NULL),
    };
    tr_pg_listen(b->pg, "trivsel_outbox");
    tr_pg_listen(b->pg, "trivsel_principals");
    principals_load(b);
    audit_start(b);
    subscription_start(b);
    outbox_start(b);
    status_start(b);
    /* The socket opens once the principals are loaded (principals.c calls broker_open):
     * before that, every key would be refused as unknown. */
    return zap_start(b);
}

int broker_open(broker_t *b)
{
    if (b->router || b->draining)
        return 0;
    int rc = socket_start(b);
    if (rc < 0) {
        tr_daemon_fail(b->daemon, "cannot bind the broker socket");
        return rc;
    }
    tr_log_info("broker listening", TR_LOG_STR("endpoint", b->endpoint), TR_LOG_STR("public_key", b->public_key));
    return 0;
}

static void connection_closed_cb(void *arg)
{
    broker_t *b = arg;
    if (--b->open_connections == 0)
        tr_daemon_drained(b->daemon);
}

void broker_check_drained(broker_t *b)
{
    if (b->draining)
        audit_drain(b);
    if (b->draining && !b->stopped && publish_idle(b) && outbox_idle(b) && subscription_idle(b) && audit_idle(b)) {
        b->stopped = true;
        socket_stop(b);
        zap_stop(b);
        subscription_stop(b);
        status_stop(b);
        audit_stop(b);
        outbox_stop(b);
        publish_stop(b);
        principals_free(b);
        memset(b->secret_key, 0, sizeof b->secret_key);
        /* The daemon frame closes pg; the other two close first (their queued work done). */
        if (b->open_connections == 0)
            tr_daemon_drained(b->daemon);
        if (b->reader)
            tr_pg_close(b->reader, connection_closed_cb, b);
        if (b->auditor)
            tr_pg_close(b->auditor, connection_closed_cb, b);
    }
}

/* SIGTERM: stop reading the socket (clients retry against the next broker), let the commits in
 * flight finish and their acknowledgements go out, then stop. */
static void drain(tr_daemon_t *d, void *arg)
{
    broker_t *b = arg;
    (void)d;
    b->draining = true;
    broker_check_drained(b);
}

int main(int argc, char **argv)
{
    broker_t broker = {0};
    tr_daemon_spec_t spec = {
        .name = "broker",
        .program = "trivsel-broker",
        .summary = "the durable event log, subscriptions, identities and permissions",
        .default_http = "0.0.0.0:9100",
        .vars = broker_vars,
        .nvars = sizeof broker_vars / sizeof broker_vars[0],
        .start = start,
        .drain = drain,
        .ready = ready,
        .notify = notify,
        .reconnected = reconnected,
        .arg = &broker,
    };
    return tr_daemon_main(&spec, argc, argv);
}
