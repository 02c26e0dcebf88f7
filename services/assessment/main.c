/* trivsel-assessment — the børnefaglig undersøgelse, trivselslineal scores, decisions, barnets
 * plan and follow-up (DOMAIN.md §2, EVENTS.md assessment). Wiring only: configuration, the
 * broker client, one exactly-once handler, the deadline engine, and shutdown. The parts are
 * described in assessment.h.
 *
 * One subscription on ">" rather than one per subject: the broker delivers one case's events
 * in log order within a subscription (PROTOCOL.md, Ordering), and assessment's inputs depend on
 * each other across services (a triage after its registration, a decision after the triage that
 * allowed it). Events of subjects it does not consume are acknowledged and change nothing. */
#include <stdlib.h>
#include <string.h>

#include "assessment.h"
#include "catalogue.h"
#include "log.h"

static const tr_config_var_t vars[] = {
    {"TRIVSEL_BROKER_ADDRESS", TR_CONFIG_STRING, "tcp://127.0.0.1:7400", NULL,
     "the broker's address"},
    {"TRIVSEL_BROKER_PUBLIC_KEY_FILE", TR_CONFIG_FILE, NULL, NULL,
     "file holding the broker's public key"},
    {"TRIVSEL_CLIENT_KEY_FILE", TR_CONFIG_FILE, NULL, NULL,
     "file holding this service's secret key (principal assessment)"},
    {"TRIVSEL_ASSESSMENT_INVESTIGATION_WARNING", TR_CONFIG_DURATION, "14d", NULL,
     "assessment.investigation.due_soon this long before the investigation's 4 months end"},
    {"TRIVSEL_ASSESSMENT_FOLLOWUP_WARNING", TR_CONFIG_DURATION, "14d", NULL,
     "assessment.followup.due this long before the follow-up's date ends"},
    {"TRIVSEL_ASSESSMENT_PLAN_WARNING", TR_CONFIG_DURATION, "14d", NULL,
     "assessment.plan.due this long before barnets plan's due date ends"},
    {"TRIVSEL_ASSESSMENT_APPEAL_WARNING", TR_CONFIG_DURATION, "7d", NULL,
     "assessment.appeal.due this long before a decision's appeal deadline ends"},
    {"TRIVSEL_ASSESSMENT_CLOCK_SKEW", TR_CONFIG_DURATION, "5m", NULL,
     "how far in the future a sender's timestamp may lie (its clock may be ahead)"},
    {"TRIVSEL_ASSESSMENT_INTAKE_PRINCIPAL", TR_CONFIG_STRING, "intake", NULL,
     "the principal whose intake.underretning.registered events are taken (the intake service)"},
    {"TRIVSEL_ASSESSMENT_DEADLINE_POLL", TR_CONFIG_DURATION, "30s", NULL,
     "re-read the next deadline this often even without a notification"},
    {"TRIVSEL_ASSESSMENT_DEADLINE_BATCH", TR_CONFIG_INT, "100", "1..10000",
     "deadlines claimed per transaction"},
};

/* The subjects consumed, and who handles each. */
static const struct {
    const char *subject;
    tr_handle_cb cb;
} consumed[] = {
    {"intake.underretning.registered", asm_registered_cb},
    {"intake.triage.completed", asm_triage_cb},
    {"assessment.score.recorded", asm_score_cb},
    {"assessment.child_conversation.recorded", asm_conversation_cb},
    {"assessment.investigation.concluded", asm_concluded_cb},
    {"assessment.decision.made", asm_decision_cb},
    {"assessment.plan.recorded", asm_plan_cb},
};

typedef struct service {
    asm_t a;
    bool welcomed, deadlines_stopped;
    char broker_key[64], client_key[64];
} service_t;

static void handle_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    asm_t *a = arg;
    for (size_t i = 0; i < sizeof consumed / sizeof consumed[0]; i++)
        if (strcmp(ev->subject, consumed[i].subject) == 0) {
            consumed[i].cb(h, ev, a);
            return;
        }
    const tr_event_type_t *type = tr_catalogue_by_subject(ev->subject);
    if (type && !type->inbound && strncmp(ev->subject, "assessment.", 11) == 0 &&
        strcmp(ev->publisher, "assessment") != 0) {
        /* Only this service speaks for assessment: say so, but it changes nothing here. */
        tr_metric_inc(tr_metrics_counter(
            a->metrics, "trivsel_assessment_foreign_events_total",
            "Events on assessment's own (outbound) subjects published by another "
            "principal; ignored.",
            "subject", ev->subject, NULL));
        tr_log_warn("event on an assessment subject from another publisher ignored",
                    TR_LOG_STR("subject", ev->subject), TR_LOG_STR("publisher", ev->publisher),
                    TR_LOG_STR("event_id", ev->event_id));
    }
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
    if (strcmp(channel, ASM_DEADLINE_CHANNEL) == 0)
        asm_deadlines_changed(s->a.deadlines);
}

static void reconnected(void *arg)
{
    service_t *s = arg;
    asm_deadlines_changed(s->a.deadlines);
}

static int start(tr_daemon_t *d, void *arg)
{
    service_t *s = arg;
    asm_t *a = &s->a;
    const tr_config_t *cfg = tr_daemon_config(d);
    tr_error_t err = {0};
    a->daemon = d;
    a->pg = tr_daemon_pg(d);
    a->metrics = tr_daemon_metrics(d);
    a->settings.investigation_warning_ms =
        tr_config_duration_ms(cfg, "TRIVSEL_ASSESSMENT_INVESTIGATION_WARNING");
    a->settings.followup_warning_ms = tr_config_duration_ms(cfg,
                                                            "TRIVSEL_ASSESSMENT_FOLLOWUP_WARNING");
    a->settings.plan_warning_ms = tr_config_duration_ms(cfg, "TRIVSEL_ASSESSMENT_PLAN_WARNING");
    a->settings.appeal_warning_ms = tr_config_duration_ms(cfg,
                                                          "TRIVSEL_ASSESSMENT_APPEAL_WARNING");
    a->settings.clock_skew_ms = tr_config_duration_ms(cfg, "TRIVSEL_ASSESSMENT_CLOCK_SKEW");
    a->settings.intake_principal = tr_config_string(cfg, "TRIVSEL_ASSESSMENT_INTAKE_PRINCIPAL");
    /* assessment.event.refused is not in EVENTS.md yet: refusals are recorded in
     * assessment.refused_event always, and published once the catalogue has the subject. */
    a->announce_refusals = tr_catalogue_by_subject(ASM_REFUSED_SUBJECT) != NULL;
    if (tr_config_read_file(cfg, "TRIVSEL_BROKER_PUBLIC_KEY_FILE", s->broker_key,
                            sizeof s->broker_key, &err) < 0 ||
        tr_config_read_file(cfg, "TRIVSEL_CLIENT_KEY_FILE", s->client_key, sizeof s->client_key,
                            &err) < 0) {
        tr_log_error("cannot start", TR_LOG_STR("error", err.message));
        return TR_ECONFIG;
    }
    tr_bclient_options_t o = {.endpoint = tr_config_string(cfg, "TRIVSEL_BROKER_ADDRESS"),
                              .server_public_key = s->broker_key,
                              .secret_key = s->client_key,
                              .client_name = "trivsel-assessment"};
    if (tr_bclient_new(tr_daemon_loop(d), &o, &a->client, &err) < 0) {
        tr_log_error("cannot start", TR_LOG_STR("error", err.message));
        return TR_ECONFIG;
    }
    memset(s->client_key, 0, sizeof s->client_key);
    tr_bclient_on_welcome(a->client, welcome_cb, s);
    tr_handler_options_t ho = {.schema = "assessment",
                               .subscription = "assessment",
                               .pattern = ">",
                               .credit = 32,
                               .ack_timeout_ms = 30000};
    if (tr_handler_new(tr_daemon_loop(d), a->pg, a->client, &ho, handle_cb, a, &a->handler, &err) <
        0) {
        tr_log_error("cannot start", TR_LOG_STR("error", err.message));
        return TR_ECONFIG;
    }
    asm_deadline_options_t dopt = {
        .poll_ms = tr_config_duration_ms(cfg, "TRIVSEL_ASSESSMENT_DEADLINE_POLL"),
        .batch = (int)tr_config_int(cfg, "TRIVSEL_ASSESSMENT_DEADLINE_BATCH")};
    int rc = tr_pg_listen(a->pg, ASM_DEADLINE_CHANNEL);
    if (rc == 0)
        rc = asm_deadlines_start(a, &dopt, &a->deadlines, &err);
    if (rc < 0) {
        tr_log_error("cannot start",
                     TR_LOG_STR("error", err.message[0] ? err.message : tr_strerror(rc)));
        return rc;
    }
    tr_log_info("assessment started",
                TR_LOG_INT("investigation_warning_ms", a->settings.investigation_warning_ms),
                TR_LOG_INT("followup_warning_ms", a->settings.followup_warning_ms),
                TR_LOG_INT("plan_warning_ms", a->settings.plan_warning_ms),
                TR_LOG_INT("appeal_warning_ms", a->settings.appeal_warning_ms),
                TR_LOG_STR("intake_principal", a->settings.intake_principal),
                TR_LOG_INT("refusals_published", a->announce_refusals));
    return 0;
}

static void client_closed_cb(void *arg)
{
    service_t *s = arg;
    tr_daemon_drained(s->a.daemon);
}

static void deadlines_stopped_cb(void *arg)
{
    service_t *s = arg;
    s->a.deadlines = NULL;
    s->deadlines_stopped = true;
}

/* SIGTERM: no new firing; the event in hand is finished; then the broker session closes. */
static void drain_check_cb(uv_timer_t *t)
{
    service_t *s = t->data;
    asm_t *a = &s->a;
    if (!s->deadlines_stopped || (a->handler && !tr_handler_idle(a->handler)))
        return;
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    tr_handler_destroy(&a->handler);
    tr_bclient_close(a->client, client_closed_cb, s);
}

static void drain(tr_daemon_t *d, void *arg)
{
    service_t *s = arg;
    if (s->a.deadlines)
        asm_deadlines_stop(s->a.deadlines, deadlines_stopped_cb, s);
    else
        s->deadlines_stopped = true;
    if (!s->a.client) {
        tr_daemon_drained(d);
        return;
    }
    uv_timer_t *t = malloc(sizeof *t);
    if (!t) {
        tr_daemon_fail(d, "out of memory");
        return;
    }
    uv_timer_init(tr_daemon_loop(d), t);
    t->data = s;
    uv_timer_start(t, drain_check_cb, 0, 50);
}

int main(int argc, char **argv)
{
    service_t s = {0};
    tr_daemon_spec_t spec = {
        .name = "assessment",
        .program = "trivsel-assessment",
        .summary = "børnefaglige undersøgelser, trivselslineal scores, decisions, plans and "
                   "follow-up",
        .default_http = "0.0.0.0:9102",
        .vars = vars,
        .nvars = sizeof vars / sizeof vars[0],
        .start = start,
        .drain = drain,
        .ready = ready,
        .notify = notify,
        .reconnected = reconnected,
        .arg = &s};
    return tr_daemon_main(&spec, argc, argv);
}
