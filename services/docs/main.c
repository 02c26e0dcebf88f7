/* trivsel-docs — the suppliers' documentation: diary notes, status reports, progress
 * measurements and plans on the orders they hold, the status reports' due dates, and delivered
 * against ordered hours (DOMAIN.md §4, EVENTS.md docs). Wiring only: configuration, the broker
 * client, the exactly-once handler, the deadline timer and shutdown. The parts are described
 * in docs.h.
 *
 * One subscription, ">", in log order: an order is placed and accepted before a submission on
 * it is judged, whichever subjects they came on. Subjects this service does not read (and its
 * own answers, which come back) are passed over; the handled row each leaves is the price of
 * that order. */
#include <stdlib.h>
#include <string.h>

#include "docs.h"
#include "log.h"

static const tr_config_var_t vars[] = {
    {"TRIVSEL_BROKER_ADDRESS", TR_CONFIG_STRING, "tcp://127.0.0.1:7400", NULL,
     "the broker's address"},
    {"TRIVSEL_BROKER_PUBLIC_KEY_FILE", TR_CONFIG_FILE, NULL, NULL,
     "file holding the broker's public key"},
    {"TRIVSEL_CLIENT_KEY_FILE", TR_CONFIG_FILE, NULL, NULL,
     "file holding this service's secret key (principal docs)"},
    {"TRIVSEL_DOCS_ORDERING_PRINCIPAL", TR_CONFIG_STRING, "ordering", NULL,
     "the principal whose ordering.order.placed/adjusted/ended.CVR events are taken (the ordering"
     " service)"},
    {"TRIVSEL_DOCS_GRACE_DAYS", TR_CONFIG_INT, "14", "0..365",
     "days after an order's period ends that its supplier may still submit documentation"},
    {"TRIVSEL_DOCS_CLOCK_SKEW", TR_CONFIG_DURATION, "5m", NULL,
     "how far after the broker's published-at a submission's occurred-at may lie (the supplier's"
     " clock may be ahead)"},
    {"TRIVSEL_DOCS_REPORT_WARNING", TR_CONFIG_DURATION, "14d", NULL,
     "docs.report.due this long before a status report's due day ends"},
    {"TRIVSEL_DOCS_HOURS_DELAY", TR_CONFIG_DURATION, "3d", NULL,
     "docs.hours.reconciled this long after a month ends (or after the order's acceptance, for a"
     " month already over), for diary notes written late"},
    {"TRIVSEL_DOCS_DEADLINE_POLL", TR_CONFIG_DURATION, "30s", NULL,
     "look for due deadlines this often even without a notification"},
};

typedef struct service {
    docs_t d;
    tr_handler_t *events;
    bool settings_loaded, welcomed;
    char broker_key[64], client_key[64];
} service_t;

static void settings_release(docs_settings_t *s)
{
    free(s->ordering_principal);
    *s = (docs_settings_t){0};
}

static int check_config(const tr_config_t *cfg, void *arg, tr_error_t *err)
{
    service_t *s = arg;
    if (s->settings_loaded)
        settings_release(&s->d.settings);
    docs_settings_t *st = &s->d.settings;
    st->ordering_principal = strdup(tr_config_string(cfg, "TRIVSEL_DOCS_ORDERING_PRINCIPAL"));
    st->grace_days = (int)tr_config_int(cfg, "TRIVSEL_DOCS_GRACE_DAYS");
    st->clock_skew_ms = tr_config_duration_ms(cfg, "TRIVSEL_DOCS_CLOCK_SKEW");
    st->report_warning_ms = tr_config_duration_ms(cfg, "TRIVSEL_DOCS_REPORT_WARNING");
    st->hours_delay_ms = tr_config_duration_ms(cfg, "TRIVSEL_DOCS_HOURS_DELAY");
    st->poll_ms = tr_config_duration_ms(cfg, "TRIVSEL_DOCS_DEADLINE_POLL");
    s->settings_loaded = true;
    if (!st->ordering_principal)
        return tr_error_set(err, TR_ENOMEM, "out of memory");
    if (st->poll_ms < 100)
        return tr_error_set(err, TR_ECONFIG, "TRIVSEL_DOCS_DEADLINE_POLL must be at least 100ms");
    return 0;
}

static bool prefixed(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void event_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    docs_t *d = arg;
    const char *s = ev->subject;
    if (docs_kind_of_subject(s) != TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_UNSPECIFIED)
        docs_submitted_cb(d, h, ev);
    else if (prefixed(s, "ordering.order.placed."))
        docs_order_placed_cb(d, h, ev);
    else if (prefixed(s, "ordering.order.accepted."))
        docs_order_accepted_cb(d, h, ev);
    else if (prefixed(s, "ordering.order.adjusted."))
        docs_order_adjusted_cb(d, h, ev);
    else if (prefixed(s, "ordering.order.ended."))
        docs_order_ended_cb(d, h, ev);
    else
        tr_handling_done(h, NULL);
}

static void welcome_cb(tr_bclient_t *c, const Trivsel__Broker__Welcome *w, void *arg)
{
    service_t *s = arg;
    (void)c;
    (void)w;
    s->welcomed = true;
}

static int ready(void *arg, char *reason, size_t len)
{
    service_t *s = arg;
    if (!s->welcomed) {
        snprintf(reason, len, "no session with the broker yet");
        return 0;
    }
    return 1;
}

static void notify(const char *channel, const char *payload, void *arg)
{
    service_t *s = arg;
    (void)payload;
    if (strcmp(channel, DOCS_DEADLINE_CHANNEL) == 0)
        docs_deadlines_kick(s->d.deadlines);
}

static void reconnected(void *arg)
{
    service_t *s = arg;
    docs_deadlines_kick(s->d.deadlines);
}

static int start(tr_daemon_t *dm, void *arg)
{
    service_t *s = arg;
    docs_t *d = &s->d;
    const tr_config_t *cfg = tr_daemon_config(dm);
    tr_error_t err = {0};
    d->daemon = dm;
    d->pg = tr_daemon_pg(dm);
    d->metrics = tr_daemon_metrics(dm);
    d->rejected = tr_metrics_counter(d->metrics, "trivsel_docs_submissions_rejected_total",
                                     "Submissions rejected (and audited).", NULL);
    d->orders_known = tr_metrics_counter(d->metrics, "trivsel_docs_orders_placed_total",
                                         "Orders learnt from ordering.order.placed.", NULL);
    d->orders_accepted = tr_metrics_counter(d->metrics, "trivsel_docs_orders_accepted_total",
                                            "Orders accepted by their supplier.", NULL);
    if (tr_config_read_file(cfg, "TRIVSEL_BROKER_PUBLIC_KEY_FILE", s->broker_key,
                            sizeof s->broker_key, &err) < 0 ||
        tr_config_read_file(cfg, "TRIVSEL_CLIENT_KEY_FILE", s->client_key, sizeof s->client_key,
                            &err) < 0) {
        tr_log_error("cannot start", TR_LOG_STR("error", err.message));
        return TR_ECONFIG;
    }
    tr_bclient_options_t bo = {.endpoint = tr_config_string(cfg, "TRIVSEL_BROKER_ADDRESS"),
                               .server_public_key = s->broker_key,
                               .secret_key = s->client_key,
                               .client_name = "trivsel-docs"};
    int rc = tr_bclient_new(tr_daemon_loop(dm), &bo, &d->client, &err);
    memset(s->client_key, 0, sizeof s->client_key);
    if (rc < 0) {
        tr_log_error("cannot start", TR_LOG_STR("error", err.message));
        return TR_ECONFIG;
    }
    tr_bclient_on_welcome(d->client, welcome_cb, s);
    tr_handler_options_t eo = {.schema = "docs",
                               .subscription = "docs",
                               .pattern = ">",
                               .credit = 16,
                               .ack_timeout_ms = 30000};
    if (tr_handler_new(tr_daemon_loop(dm), d->pg, d->client, &eo, event_cb, d, &s->events, &err) <
            0 ||
        (rc = tr_pg_listen(d->pg, DOCS_DEADLINE_CHANNEL)) < 0 ||
        docs_deadlines_new(d, &d->deadlines, &err) < 0) {
        tr_log_error("cannot start",
                     TR_LOG_STR("error", err.message[0] ? err.message : tr_strerror(rc)));
        return TR_ECONFIG;
    }
    tr_log_info("docs started", TR_LOG_STR("ordering_principal", d->settings.ordering_principal),
                TR_LOG_INT("grace_days", d->settings.grace_days));
    return 0;
}

/* ---- shutdown -------------------------------------------------------------------------------- */

static void client_closed_cb(void *arg)
{
    service_t *s = arg;
    tr_daemon_drained(s->d.daemon);
}

static void deadlines_stopped_cb(void *arg)
{
    service_t *s = arg;
    s->d.deadlines = NULL;
    tr_bclient_close(s->d.client, client_closed_cb, s);
}

static void drain_check_cb(uv_timer_t *t)
{
    service_t *s = t->data;
    if (s->events && !tr_handler_idle(s->events))
        return;
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    tr_handler_destroy(&s->events);
    if (s->d.deadlines)
        docs_deadlines_stop(s->d.deadlines, deadlines_stopped_cb, s);
    else
        deadlines_stopped_cb(s);
}

/* SIGTERM: finish the event and the deadline pass in hand, then close. */
static void drain(tr_daemon_t *d, void *arg)
{
    uv_timer_t *t = malloc(sizeof *t);
    if (!t) {
        tr_daemon_fail(d, "out of memory");
        return;
    }
    uv_timer_init(tr_daemon_loop(d), t);
    t->data = arg;
    uv_timer_start(t, drain_check_cb, 0, 50);
}

int main(int argc, char **argv)
{
    service_t s = {0};
    tr_daemon_spec_t spec = {
        .name = "docs",
        .program = "trivsel-docs",
        .summary = "the suppliers' documentation, status report due dates and delivered hours",
        .default_http = "0.0.0.0:9104",
        .vars = vars,
        .nvars = sizeof vars / sizeof vars[0],
        .start = start,
        .drain = drain,
        .ready = ready,
        .notify = notify,
        .reconnected = reconnected,
        .check_config = check_config,
        .arg = &s};
    int rc = tr_daemon_main(&spec, argc, argv);
    settings_release(&s.d.settings);
    return rc;
}
