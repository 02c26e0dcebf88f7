/* trivsel-ordering — the catalogue of offers, orders under BUM and LEON, and the monthly
 * settlement where "pengene følger barnet" (DOMAIN.md §3, EVENTS.md ordering). Wiring only:
 * configuration, the broker client, the exactly-once handlers, the deadline timer and
 * shutdown. The parts are described in ordering.h.
 *
 * Two subscriptions. "ordering" takes every ordering.> subject in log order, so an offer
 * published before an order is known when the order is checked, and an order is placed before
 * its adjustment or its supplier's answer is handled; the events this service emits itself come
 * back on it and are passed over. "ordering.decisions" takes assessment.decision.registered. An
 * order naming a decision this service has not seen yet is refused (unknown_decision): the case
 * system orders on a registered decision. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ordering.h"

static const tr_config_var_t vars[] = {
    {"TRIVSEL_BROKER_ADDRESS", TR_CONFIG_STRING, "tcp://127.0.0.1:7400", NULL,
     "the broker's address"},
    {"TRIVSEL_BROKER_PUBLIC_KEY_FILE", TR_CONFIG_FILE, NULL, NULL,
     "file holding the broker's public key"},
    {"TRIVSEL_CLIENT_KEY_FILE", TR_CONFIG_FILE, NULL, NULL,
     "file holding this service's secret key (principal ordering)"},
    {"TRIVSEL_ORDERING_CASEWORKER_SYSTEMS", TR_CONFIG_STRING, "", NULL,
     "principals (comma-separated) that are caseworkers' systems: only they request, adjust and end"
     " orders (BUM), e.g. fagsystem; empty: nobody may"},
    {"TRIVSEL_ORDERING_DECISION_PUBLISHERS", TR_CONFIG_STRING, "assessment", NULL,
     "principals (comma-separated) whose assessment.decision.registered count"},
    {"TRIVSEL_ORDERING_ACCEPT_HVERDAGE", TR_CONFIG_INT, "5", "0..60",
     "hverdage after the day of ordering by which the supplier must accept; later, the order is"
     " flagged"},
    {"TRIVSEL_ORDERING_AUTO_SETTLE", TR_CONFIG_BOOL, "true", NULL,
     "settle each month automatically once it has ended (trivselctl settle works either way)"},
    {"TRIVSEL_ORDERING_SETTLEMENT_DELAY", TR_CONFIG_DURATION, "0s", NULL,
     "how long after a month's end (Danish time) the automatic settlement runs"},
    {"TRIVSEL_ORDERING_SETTLEMENT_PART_LINES", TR_CONFIG_INT, "500", "1..2000",
     "settlement lines per ordering.settlement.calculated event; a month with more is sent in"
     " parts (500 lines stay well under the broker's 256 KiB event limit)"},
    {"TRIVSEL_ORDERING_DEADLINE_POLL", TR_CONFIG_DURATION, "30s", NULL,
     "look for due flags and settlements this often even without a notification"},
};

typedef struct service {
    ordering_t o;
    tr_handler_t *events, *decisions;
    bool settings_loaded, welcomed;
    char broker_key[64], client_key[64];
} service_t;

/* A principal list: names of letters, digits, '_', '-', '.', separated by commas. */
static int check_list(const tr_config_t *cfg, const char *name, tr_error_t *err)
{
    const char *list = tr_config_string(cfg, name);
    for (const char *p = list; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_-., ", *p)))
            return tr_error_set(err, TR_ECONFIG,
                                "%s=\"%s\" is not valid: must be principal names separated by"
                                " commas, e.g. fagsystem",
                                name, list);
    }
    return 0;
}

static void settings_release(ordering_settings_t *s)
{
    free(s->caseworker_systems);
    free(s->decision_publishers);
    *s = (ordering_settings_t){0};
}

static int check_config(const tr_config_t *cfg, void *arg, tr_error_t *err)
{
    service_t *s = arg;
    int rc;
    if ((rc = check_list(cfg, "TRIVSEL_ORDERING_CASEWORKER_SYSTEMS", err)) < 0 ||
        (rc = check_list(cfg, "TRIVSEL_ORDERING_DECISION_PUBLISHERS", err)) < 0)
        return rc;
    if (s->settings_loaded)
        settings_release(&s->o.settings);
    ordering_settings_t *st = &s->o.settings;
    st->caseworker_systems = strdup(tr_config_string(cfg, "TRIVSEL_ORDERING_CASEWORKER_SYSTEMS"));
    st->decision_publishers = strdup(tr_config_string(cfg, "TRIVSEL_ORDERING_DECISION_PUBLISHERS"));
    st->accept_hverdage = (int)tr_config_int(cfg, "TRIVSEL_ORDERING_ACCEPT_HVERDAGE");
    st->auto_settle = tr_config_bool(cfg, "TRIVSEL_ORDERING_AUTO_SETTLE");
    st->settlement_delay_ms = tr_config_duration_ms(cfg, "TRIVSEL_ORDERING_SETTLEMENT_DELAY");
    st->poll_ms = tr_config_duration_ms(cfg, "TRIVSEL_ORDERING_DEADLINE_POLL");
    st->settlement_part_lines = (size_t)tr_config_int(cfg, "TRIVSEL_ORDERING_SETTLEMENT_PART_LINES");
    s->settings_loaded = true;
    if (!st->caseworker_systems || !st->decision_publishers)
        return tr_error_set(err, TR_ENOMEM, "out of memory");
    if (st->poll_ms < 100)
        return tr_error_set(err, TR_ECONFIG,
                            "TRIVSEL_ORDERING_DEADLINE_POLL must be at least 100ms");
    return 0;
}

/* The ordering.> subscription: one handler per subject, by the subject's form. */
static void event_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    ordering_t *o = arg;
    const char *s = ev->subject;
    if (strcmp(s, "ordering.offer.published") == 0)
        ordering_offer_published_cb(o, h, ev);
    else if (strcmp(s, "ordering.order.requested") == 0)
        ordering_order_requested_cb(o, h, ev);
    else if (strcmp(s, "ordering.order.adjusted") == 0)
        ordering_order_adjusted_cb(o, h, ev);
    else if (strcmp(s, "ordering.order.ended") == 0)
        ordering_order_ended_cb(o, h, ev);
    else if (strncmp(s, "ordering.order.accepted.", 24) == 0)
        ordering_order_answered_cb(o, h, ev, true);
    else if (strncmp(s, "ordering.order.declined.", 24) == 0)
        ordering_order_answered_cb(o, h, ev, false);
    else {
        /* What this service emits (placed, refused, adjusted.CVR, ended.CVR, settlement). From
         * anyone else it would be a forgery the broker's permissions should have stopped. */
        if (strcmp(ev->publisher, "ordering") != 0)
            ordering_reject(o, h, ev, "not_ordering",
                            "only trivsel-ordering publishes on this subject");
        tr_handling_done(h, NULL);
    }
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
    if (strcmp(channel, ORDERING_DEADLINE_CHANNEL) == 0)
        ordering_deadlines_kick(s->o.deadlines);
}

static void reconnected(void *arg)
{
    service_t *s = arg;
    ordering_deadlines_kick(s->o.deadlines);
}

static tr_metric_t *counter(ordering_t *o, const char *name, const char *help)
{
    return tr_metrics_counter(o->metrics, name, help, NULL);
}

static int start(tr_daemon_t *d, void *arg)
{
    service_t *s = arg;
    ordering_t *o = &s->o;
    const tr_config_t *cfg = tr_daemon_config(d);
    tr_error_t err = {0};
    o->daemon = d;
    o->pg = tr_daemon_pg(d);
    o->metrics = tr_daemon_metrics(d);
    o->offers_published = counter(o, "trivsel_ordering_offers_published_total",
                                  "Offer versions added to the catalogue.");
    o->offers_rejected = counter(o, "trivsel_ordering_offers_rejected_total",
                                 "Offers that were not valid.");
    o->orders_placed = counter(o, "trivsel_ordering_orders_placed_total",
                               "Orders placed with a supplier.");
    o->orders_refused = counter(o, "trivsel_ordering_refusals_total",
                                "Requests, adjustments and ends refused (ordering.order.refused).");
    o->adjustments = counter(o, "trivsel_ordering_orders_adjusted_total",
                             "Orders adjusted by the caseworker.");
    o->ends = counter(o, "trivsel_ordering_orders_ended_total", "Orders ended by the caseworker.");
    o->orders_accepted = counter(o, "trivsel_ordering_orders_accepted_total",
                                 "Orders accepted by their supplier.");
    o->orders_declined = counter(o, "trivsel_ordering_orders_declined_total",
                                 "Orders declined by their supplier.");
    o->answers_rejected =
        counter(o, "trivsel_ordering_answers_rejected_total",
                "Supplier answers that changed nothing (not its order, answered already, ...).");
    o->flagged_total =
        counter(o, "trivsel_ordering_orders_flagged_unaccepted_total",
                "Orders flagged because their supplier did not accept them in time.");
    o->unaccepted = tr_metrics_gauge(
        o->metrics, "trivsel_ordering_orders_unaccepted",
        "Orders flagged as not accepted in time and still waiting for their supplier.", NULL);
    o->settlements = counter(o, "trivsel_ordering_settlements_total",
                             "Months settled (ordering.settlement.calculated).");
    o->decisions = counter(o, "trivsel_ordering_decisions_total", "Decisions registered.");
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
                               .client_name = "trivsel-ordering"};
    int rc = tr_bclient_new(tr_daemon_loop(d), &bo, &o->client, &err);
    memset(s->client_key, 0, sizeof s->client_key);
    if (rc < 0) {
        tr_log_error("cannot start", TR_LOG_STR("error", err.message));
        return TR_ECONFIG;
    }
    tr_bclient_on_welcome(o->client, welcome_cb, s);
    tr_handler_options_t eo = {.schema = "ordering",
                               .subscription = "ordering",
                               .pattern = "ordering.>",
                               .credit = 16,
                               .ack_timeout_ms = 30000};
    tr_handler_options_t dopt = {.schema = "ordering",
                                 .subscription = "ordering.decisions",
                                 .pattern = "assessment.decision.registered",
                                 .credit = 16,
                                 .ack_timeout_ms = 30000};
    if (tr_handler_new(tr_daemon_loop(d), o->pg, o->client, &eo, event_cb, o, &s->events, &err) <
            0 ||
        tr_handler_new(tr_daemon_loop(d), o->pg, o->client, &dopt, ordering_decision_registered_cb,
                       o, &s->decisions, &err) < 0 ||
        (rc = tr_pg_listen(o->pg, ORDERING_DEADLINE_CHANNEL)) < 0 ||
        ordering_deadlines_new(o, &o->deadlines, &err) < 0) {
        tr_log_error("cannot start",
                     TR_LOG_STR("error", err.message[0] ? err.message : tr_strerror(rc)));
        return TR_ECONFIG;
    }
    tr_log_info("ordering started",
                TR_LOG_STR("caseworker_systems", o->settings.caseworker_systems[0]
                                                     ? o->settings.caseworker_systems
                                                     : "(none: every order is refused)"),
                TR_LOG_STR("decision_publishers", o->settings.decision_publishers),
                TR_LOG_INT("accept_hverdage", o->settings.accept_hverdage),
                TR_LOG_INT("auto_settle", o->settings.auto_settle));
    return 0;
}

/* ---- shutdown -------------------------------------------------------------------------------- */

static void client_closed_cb(void *arg)
{
    service_t *s = arg;
    tr_daemon_drained(s->o.daemon);
}

static void deadlines_stopped_cb(void *arg)
{
    service_t *s = arg;
    s->o.deadlines = NULL;
    tr_bclient_close(s->o.client, client_closed_cb, s);
}

static void drain_check_cb(uv_timer_t *t)
{
    service_t *s = t->data;
    if ((s->events && !tr_handler_idle(s->events)) ||
        (s->decisions && !tr_handler_idle(s->decisions)))
        return;
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    tr_handler_destroy(&s->events);
    tr_handler_destroy(&s->decisions);
    if (s->o.deadlines)
        ordering_deadlines_stop(s->o.deadlines, deadlines_stopped_cb, s);
    else
        deadlines_stopped_cb(s);
}

/* SIGTERM: finish the events and the deadline pass in hand, then close. */
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
        .name = "ordering",
        .program = "trivsel-ordering",
        .summary = "the catalogue of offers, orders under BUM and LEON, and the monthly settlement",
        .default_http = "0.0.0.0:9103",
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
    settings_release(&s.o.settings);
    return rc;
}
