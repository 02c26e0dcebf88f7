/* trivsel-intake — underretninger, the child's case, triage and the reporter's deadlines
 * (DOMAIN.md §1, EVENTS.md intake). Wiring only: configuration, the broker client, one
 * exactly-once handler per subject it consumes, the deadline engine, and shutdown. The parts
 * are described in intake.h. */
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "log.h"

static const tr_config_var_t vars[] = {
    {"TRIVSEL_BROKER_ADDRESS", TR_CONFIG_STRING, "tcp://127.0.0.1:7400", NULL,
     "the broker's address"},
    {"TRIVSEL_BROKER_PUBLIC_KEY_FILE", TR_CONFIG_FILE, NULL, NULL,
     "file holding the broker's public key"},
    {"TRIVSEL_CLIENT_KEY_FILE", TR_CONFIG_FILE, NULL, NULL,
     "file holding this service's secret key (principal intake)"},
    {"TRIVSEL_INTAKE_TRIAGE_WARNING", TR_CONFIG_DURATION, "4h", NULL,
     "intake.triage.due_soon this long before the 24 hours of Barnets Lov §136 end"},
    {"TRIVSEL_INTAKE_CLOCK_SKEW", TR_CONFIG_DURATION, "5m", NULL,
     "how far in the future a sender's received-at or triaged-at may lie (its clock may be ahead)"},
    {"TRIVSEL_INTAKE_ORIENTATION_HVERDAGE", TR_CONFIG_INT, "10", "1..60",
     "hverdage to orient a public-employee reporter after the outcome is known (the law sets no "
     "limit)"},
    {"TRIVSEL_INTAKE_MUNICIPALITIES", TR_CONFIG_STRING, "", NULL,
     "kommunekoder served, e.g. 630,575; empty = every municipality"},
    {"TRIVSEL_INTAKE_TEAM_LEADERS", TR_CONFIG_STRING, "", NULL,
     "overdue triages are escalated to: TEAM=ID:NAME;...; * = every other team, e.g. "
     "Modtageteamet=ABJ:Anne Bjerg"},
    {"TRIVSEL_INTAKE_DEADLINE_POLL", TR_CONFIG_DURATION, "30s", NULL,
     "re-read the next deadline this often even without a notification, and count the open "
     "ones (trivsel_intake_deadlines_open)"},
    {"TRIVSEL_INTAKE_DEADLINE_BATCH", TR_CONFIG_INT, "1000", "1..10000",
     "deadlines claimed per transaction"},
};

/* pipelined: the handling of one event needs nothing from the C side of those before it (see
 * tr_handler_options_t): an underretning's registration is one call whose statements see what
 * the ones before it wrote, so a batch's calls go to the server without waiting for each other. */
static const struct {
    const char *subscription, *subject;
    tr_handle_cb cb;
    bool pipelined;
} consumed[] = {
    {"intake.received", "intake.underretning.received", intake_underretning_received_cb, true},
    {"intake.triage", "intake.triage.completed", intake_triage_completed_cb, false},
    {"intake.receipt", "intake.receipt.sent", intake_receipt_sent_cb, false},
    {"intake.orientation", "intake.orientation.sent", intake_orientation_sent_cb, false},
    {"intake.investigation", "assessment.investigation.opened", intake_investigation_opened_cb, false},
    {"intake.decision", "assessment.decision.registered", intake_decision_registered_cb, false},
};
#define NCONSUMED (sizeof consumed / sizeof consumed[0])

static const intake_deadline_kind_t kinds[] = {
    {"triage_due_soon", intake_triage_due_soon_fire},
    {"triage_overdue", intake_triage_overdue_fire},
    {"receipt_overdue", intake_receipt_overdue_fire},
};

typedef struct service {
    intake_t in;
    bool settings_loaded, welcomed, deadlines_stopped;
    char broker_key[64], client_key[64];
} service_t;

static int check_config(const tr_config_t *cfg, void *arg, tr_error_t *err)
{
    service_t *s = arg;
    if (s->settings_loaded)
        intake_settings_release(&s->in.settings);
    int rc = intake_settings_load(&s->in.settings, cfg, err);
    s->settings_loaded = rc == 0;
    return rc;
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
    if (strcmp(channel, INTAKE_DEADLINE_CHANNEL) == 0)
        intake_deadlines_changed(s->in.deadlines);
}

static void reconnected(void *arg)
{
    service_t *s = arg;
    intake_deadlines_changed(s->in.deadlines);
}

static int start(tr_daemon_t *d, void *arg)
{
    service_t *s = arg;
    intake_t *in = &s->in;
    const tr_config_t *cfg = tr_daemon_config(d);
    tr_error_t err = {0};
    in->daemon = d;
    in->pg = tr_daemon_pg(d);
    in->metrics = tr_daemon_metrics(d);
    in->registered = tr_metrics_counter(in->metrics,
                                        "trivsel_intake_underretninger_registered_total",
                                        "Underretninger registered on a case.", NULL);
    in->new_cases = tr_metrics_counter(in->metrics, "trivsel_intake_cases_created_total",
                                       "Cases (sager) made by a child's first underretning.", NULL);
    in->triages_on_time = tr_metrics_counter(in->metrics, "trivsel_intake_triages_recorded_total",
                                             "Triages recorded, by whether they were late.", "late",
                                             "false", NULL);
    in->triages_late = tr_metrics_counter(in->metrics, "trivsel_intake_triages_recorded_total",
                                          "Triages recorded, by whether they were late.", "late",
                                          "true", NULL);
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
                              .client_name = "trivsel-intake"};
    if (tr_bclient_new(tr_daemon_loop(d), &o, &in->client, &err) < 0) {
        tr_log_error("cannot start", TR_LOG_STR("error", err.message));
        return TR_ECONFIG;
    }
    memset(s->client_key, 0, sizeof s->client_key);
    tr_bclient_on_welcome(in->client, welcome_cb, s);
    for (size_t i = 0; i < NCONSUMED; i++) {
        tr_handler_options_t ho = {.schema = "intake",
                                   .subscription = consumed[i].subscription,
                                   .pattern = consumed[i].subject,
                                   /* Room for a full batch: what waits while one
                                    * transaction commits goes into the next together. */
                                   .credit = 64,
                                   .ack_timeout_ms = 30000,
                                   .pipelined = consumed[i].pipelined};
        if (tr_handler_new(tr_daemon_loop(d), in->pg, in->client, &ho, consumed[i].cb, in,
                           &in->handlers[in->nhandlers], &err) < 0) {
            tr_log_error("cannot start", TR_LOG_STR("error", err.message));
            return TR_ECONFIG;
        }
        in->nhandlers++;
    }
    intake_deadlines_options_t dopt = {
        .kinds = kinds,
        .nkinds = sizeof kinds / sizeof kinds[0],
        .batch = (int)tr_config_int(cfg, "TRIVSEL_INTAKE_DEADLINE_BATCH"),
        .poll_ms = tr_config_duration_ms(cfg, "TRIVSEL_INTAKE_DEADLINE_POLL")};
    int rc = tr_pg_listen(in->pg, INTAKE_DEADLINE_CHANNEL);
    if (rc == 0)
        rc = intake_deadlines_new(in, &dopt, &in->deadlines, &err);
    if (rc < 0) {
        tr_log_error("cannot start",
                     TR_LOG_STR("error", err.message[0] ? err.message : tr_strerror(rc)));
        return rc;
    }
    tr_log_info("intake started", TR_LOG_INT("triage_warning_ms", in->settings.triage_warning_ms),
                TR_LOG_INT("team_leaders", (long long)in->settings.nleaders),
                TR_LOG_STR("municipalities",
                           in->settings.municipalities[0] ? in->settings.municipalities : "all"));
    return 0;
}

static void client_closed_cb(void *arg)
{
    service_t *s = arg;
    tr_daemon_drained(s->in.daemon);
}

static void deadlines_stopped_cb(void *arg)
{
    service_t *s = arg;
    s->in.deadlines = NULL;
    s->deadlines_stopped = true;
}

/* SIGTERM: no new firing; the events in hand are finished; then the broker session closes. */
static void drain_check_cb(uv_timer_t *t)
{
    service_t *s = t->data;
    intake_t *in = &s->in;
    if (!s->deadlines_stopped)
        return;
    for (size_t i = 0; i < in->nhandlers; i++) {
        if (!tr_handler_idle(in->handlers[i]))
            return;
    }
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    for (size_t i = 0; i < in->nhandlers; i++)
        tr_handler_destroy(&in->handlers[i]);
    tr_bclient_close(in->client, client_closed_cb, s);
}

static void drain(tr_daemon_t *d, void *arg)
{
    service_t *s = arg;
    uv_timer_t *t = malloc(sizeof *t);
    if (s->in.deadlines)
        intake_deadlines_stop(s->in.deadlines, deadlines_stopped_cb, s);
    else
        s->deadlines_stopped = true;
    if (!t) {
        tr_daemon_fail(d, "out of memory");
        return;
    }
    uv_timer_init(tr_daemon_loop(d), t);
    t->data = s;
    uv_timer_start(t, drain_check_cb, 0, 20);
}

int main(int argc, char **argv)
{
    static service_t s;
    tr_daemon_spec_t spec = {
        .name = "intake",
        .program = "trivsel-intake",
        .summary = "underretninger, the child's case, the 24-hour triage, kvittering and "
                   "orientation deadlines",
        .default_http = "0.0.0.0:9101",
        .vars = vars,
        .nvars = sizeof vars / sizeof vars[0],
        .start = start,
        .drain = drain,
        .ready = ready,
        .notify = notify,
        .reconnected = reconnected,
        .check_config = check_config,
        .arg = &s};
    int status = tr_daemon_main(&spec, argc, argv);
    if (s.settings_loaded)
        intake_settings_release(&s.in.settings);
    return status;
}
