/* echo_service — the smallest service there is, for testing the exactly-once machinery with
 * real processes: as the intake role, for every intake.underretning.received it inserts a row
 * into intake.echo_seen (a table the test creates) and emits intake.underretning.registered
 * with the event id "<received id>/registered", all through common/handler. The test kills it
 * with SIGKILL at random moments and checks that every effect and every emitted event exists
 * exactly once.
 *
 * Environment: the daemon's usual variables (TRIVSEL_DATABASE_URL, ..._PASSWORD_FILE, ...),
 * plus TRIVSEL_BROKER_ADDRESS, TRIVSEL_BROKER_PUBLIC_KEY_FILE, TRIVSEL_CLIENT_KEY_FILE. */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "handler.h"
#include "log.h"
#include "trivsel/intake.pb-c.h"

typedef struct echo {
    tr_bclient_t *client;
    tr_handler_t *handler;
    tr_daemon_t *daemon;
} echo_t;

static const tr_config_var_t vars[] = {
    {"TRIVSEL_BROKER_ADDRESS", TR_CONFIG_STRING, "tcp://127.0.0.1:7400", NULL, "the broker"},
    {"TRIVSEL_BROKER_PUBLIC_KEY_FILE", TR_CONFIG_FILE, NULL, NULL, "the broker's public key"},
    {"TRIVSEL_CLIENT_KEY_FILE", TR_CONFIG_FILE, NULL, NULL, "this client's secret key"},
};

static void inserted_cb(PGresult *res, const char *error, void *arg)
{
    (void)res;
    (void)error; /* an error aborts the transaction; the commit reports it */
    (void)arg;
}

static void handle_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    (void)arg;
    const char *values[1] = {ev->event_id};
    tr_handling_query(h, "INSERT INTO intake.echo_seen (event_id) VALUES ($1)", 1, values, inserted_cb, NULL);
    Trivsel__Intake__UnderretningRegistered registered = TRIVSEL__INTAKE__UNDERRETNING_REGISTERED__INIT;
    char id[160];
    snprintf(id, sizeof id, "%s/registered", ev->event_id);
    Trivsel__Envelope out;
    uint8_t *payload = NULL;
    tr_error_t err = {0};
    if (tr_envelope_make(&out, id, "intake.underretning.registered", ev->municipality, ev->correlation_id,
                         ev->occurred_at, &registered.base, &payload, &err) < 0) {
        tr_handling_done(h, err.message);
        return;
    }
    tr_handling_emit(h, &out);
    free(payload);
    tr_handling_done(h, NULL);
}

static char *read_key(const tr_config_t *cfg, const char *name)
{
    static char keys[2][64];
    static int k;
    char *buf = keys[k++ % 2];
    tr_config_read_file(cfg, name, buf, 64, NULL);
    return buf;
}

static int start(tr_daemon_t *d, void *arg)
{
    echo_t *e = arg;
    const tr_config_t *cfg = tr_daemon_config(d);
    tr_error_t err = {0};
    e->daemon = d;
    tr_bclient_options_t o = {.endpoint = tr_config_string(cfg, "TRIVSEL_BROKER_ADDRESS"),
                              .server_public_key = read_key(cfg, "TRIVSEL_BROKER_PUBLIC_KEY_FILE"),
                              .secret_key = read_key(cfg, "TRIVSEL_CLIENT_KEY_FILE"),
                              .client_name = "echo-service"};
    if (tr_bclient_new(tr_daemon_loop(d), &o, &e->client, &err) < 0) {
        tr_log_error("cannot start", TR_LOG_STR("error", err.message));
        return TR_ECONFIG;
    }
    tr_handler_options_t ho = {.schema = "intake", .subscription = "echo", .pattern = "intake.underretning.received",
                               .credit = 32, .ack_timeout_ms = 5000};
    if (tr_handler_new(tr_daemon_loop(d), tr_daemon_pg(d), e->client, &ho, handle_cb, e, &e->handler, &err) < 0) {
        tr_log_error("cannot start", TR_LOG_STR("error", err.message));
        return TR_ECONFIG;
    }
    return 0;
}

static void closed_cb(void *arg)
{
    echo_t *e = arg;
    tr_daemon_drained(e->daemon);
}

static void drain_check_cb(uv_timer_t *t)
{
    echo_t *e = t->data;
    if (!tr_handler_idle(e->handler))
        return;
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    tr_log_info("echo service stopping", TR_LOG_INT("handled", (long long)tr_handler_handled(e->handler)),
                TR_LOG_INT("skipped", (long long)tr_handler_skipped(e->handler)));
    tr_handler_destroy(&e->handler);
    tr_bclient_close(e->client, closed_cb, e);
}

/* SIGTERM: finish the event in hand, then close. */
static void drain(tr_daemon_t *d, void *arg)
{
    uv_timer_t *t = malloc(sizeof *t);
    uv_timer_init(tr_daemon_loop(d), t);
    t->data = arg;
    uv_timer_start(t, drain_check_cb, 0, 50);
}

int main(int argc, char **argv)
{
    echo_t e = {0};
    tr_daemon_spec_t spec = {.name = "intake",
                             .program = "echo-service",
                             .summary = "test service: echoes underretninger exactly once",
                             .default_http = "127.0.0.1:0",
                             .vars = vars,
                             .nvars = sizeof vars / sizeof vars[0],
                             .start = start,
                             .drain = drain,
                             .arg = &e};
    return tr_daemon_main(&spec, argc, argv);
}
