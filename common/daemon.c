#include "daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "migrate.h"
#include "version.h"

static const tr_config_var_t common_vars[] = {
    {"TRIVSEL_DATABASE_URL", TR_CONFIG_STRING, NULL, NULL,
     "PostgreSQL connection URL or libpq string, without the password"},
    {"TRIVSEL_DATABASE_USER", TR_CONFIG_STRING, "", NULL, "database role to log in as"},
    {"TRIVSEL_DATABASE_PASSWORD_FILE", TR_CONFIG_FILE, "", NULL,
     "file holding that role's password"},
    {"TRIVSEL_DATABASE_WAIT", TR_CONFIG_DURATION, "30s", NULL,
     "how long to wait at start for the database to accept connections"},
    {"TRIVSEL_HTTP_ADDRESS", TR_CONFIG_STRING, "", NULL, "HOST:PORT of /healthz, /readyz and /metrics"},
    {"TRIVSEL_LOG_LEVEL", TR_CONFIG_ENUM, "info", "debug|info|warn|error", "lowest level logged"},
    {"TRIVSEL_SHUTDOWN_TIMEOUT", TR_CONFIG_DURATION, "8s", NULL,
     "on SIGTERM, how long in-flight work may take before the daemon exits anyway"},
};
#define NCOMMON (sizeof common_vars / sizeof common_vars[0])

struct tr_daemon {
    const tr_daemon_spec_t *spec;
    uv_loop_t loop;
    tr_config_t *config;
    tr_metrics_t *metrics;
    tr_pg_options_t pg_options;
    char db_user[64];
    char db_password[256];
    tr_pg_t *pg;
    tr_http_t *http;
    uv_signal_t sigterm, sigint;
    uv_timer_t shutdown_timer;
    tr_metric_t *db_connected;
    bool draining, drained, started, failed;
    bool was_connected;
    int exit_code;
};

const tr_config_var_t *tr_daemon_common_vars(size_t *n)
{
    *n = NCOMMON;
    return common_vars;
}

uv_loop_t *tr_daemon_loop(tr_daemon_t *d) { return &d->loop; }
const tr_config_t *tr_daemon_config(tr_daemon_t *d) { return d->config; }
tr_metrics_t *tr_daemon_metrics(tr_daemon_t *d) { return d->metrics; }
tr_pg_t *tr_daemon_pg(tr_daemon_t *d) { return d->pg; }
const tr_pg_options_t *tr_daemon_pg_options(tr_daemon_t *d) { return &d->pg_options; }
bool tr_daemon_draining(const tr_daemon_t *d) { return d->draining; }

static void usage(const tr_daemon_spec_t *spec, const tr_config_var_t *vars, size_t n)
{
    printf("%s %s — %s\n\n", spec->program, TR_VERSION, spec->summary);
    printf("usage: %s [--help | --version | --check-config]\n\n", spec->program);
    printf("Configured by environment variables:\n");
    tr_config_print_help(vars, n, stdout);
    printf("\nSignals: SIGTERM or SIGINT finish in-flight work, then exit 0.\n");
}

static int ready_cb(void *arg, char *reason, size_t len)
{
    tr_daemon_t *d = arg;
    if (d->draining) {
        snprintf(reason, len, "shutting down");
        return 0;
    }
    if (!tr_pg_connected(d->pg)) {
        snprintf(reason, len, "database not reachable: %s", tr_pg_last_error(d->pg));
        return 0;
    }
    if (!d->started) {
        snprintf(reason, len, "starting");
        return 0;
    }
    if (d->spec->ready)
        return d->spec->ready(d->spec->arg, reason, len);
    return 1;
}

static void close_walk_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void pg_closed_cb(void *arg)
{
    tr_daemon_t *d = arg;
    d->pg = NULL;
    /* Everything else that is still open (signals, timers, the service's handles that it did
     * not close) closes now, and uv_run returns. */
    uv_walk(&d->loop, close_walk_cb, NULL);
}

static void http_closed_cb(void *arg)
{
    tr_daemon_t *d = arg;
    d->http = NULL;
    if (d->pg)
        tr_pg_close(d->pg, pg_closed_cb, d);
    else
        pg_closed_cb(d);
}

static void finish(tr_daemon_t *d)
{
    if (d->drained)
        return;
    d->drained = true;
    tr_log_info("stopping", TR_LOG_INT("queued_database_work", d->pg ? (long long)tr_pg_pending(d->pg) : 0));
    if (d->http)
        tr_http_close(d->http, http_closed_cb, d);
    else
        http_closed_cb(d);
}

void tr_daemon_drained(tr_daemon_t *d)
{
    finish(d);
}

void tr_daemon_fail(tr_daemon_t *d, const char *why)
{
    tr_log_error("stopping after a fatal error", TR_LOG_STR("error", why));
    d->exit_code = 1;
    d->draining = true;
    finish(d);
}

static void shutdown_timeout_cb(uv_timer_t *t)
{
    tr_daemon_t *d = t->data;
    tr_log_error("shutdown timed out; exiting with work unfinished (it will be redelivered)",
                 TR_LOG_INT("timeout_ms", tr_config_duration_ms(d->config, "TRIVSEL_SHUTDOWN_TIMEOUT")));
    exit(1);
}

static void signal_cb(uv_signal_t *h, int signum)
{
    tr_daemon_t *d = h->data;
    if (d->draining)
        return;
    tr_log_info("signal received: finishing in-flight work", TR_LOG_STR("signal", strsignal(signum)));
    d->draining = true;
    uv_timer_start(&d->shutdown_timer, shutdown_timeout_cb,
                   (uint64_t)tr_config_duration_ms(d->config, "TRIVSEL_SHUTDOWN_TIMEOUT"), 0);
    uv_unref((uv_handle_t *)&d->shutdown_timer);
    if (d->spec->drain && d->started)
        d->spec->drain(d, d->spec->arg);
    else
        finish(d);
}

static void state_cb(bool connected, void *arg)
{
    tr_daemon_t *d = arg;
    tr_metric_set(d->db_connected, connected ? 1 : 0);
    if (connected) {
        tr_log_info("database connected");
        if (!d->started) {
            int rc = d->spec->start ? d->spec->start(d, d->spec->arg) : 0;
            if (rc < 0) {
                tr_daemon_fail(d, tr_strerror(rc));
                return;
            }
            d->started = true;
            tr_log_info("ready", TR_LOG_STR("version", TR_VERSION));
            if (d->draining && d->spec->drain)
                d->spec->drain(d, d->spec->arg);
        } else if (d->spec->reconnected) {
            d->spec->reconnected(d->spec->arg);
        }
    }
}

static void notify_cb(const char *channel, const char *payload, void *arg)
{
    tr_daemon_t *d = arg;
    if (d->spec->notify)
        d->spec->notify(channel, payload, d->spec->arg);
}

/* Set by a signal during the start-up wait, before the loop's own handlers exist. A signal
 * handler can only talk through a global of this type; nothing else here is global. */
static volatile sig_atomic_t stop_requested;

static void early_signal(int signum)
{
    (void)signum;
    stop_requested = 1;
}

/* Least privilege (ARCHITECTURE.md principle 4): a daemon works through its own role, which
 * reaches its own schema only. A superuser would bypass every grant, so the daemon refuses to
 * run as one, whatever TRIVSEL_DATABASE_USER says. */
static int check_role(PGconn *conn, const char *daemon, tr_error_t *err)
{
    PGresult *res = PQexec(conn, "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user");
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        rc = tr_error_set(err, TR_EDB, "cannot read the database role's attributes: %s", PQerrorMessage(conn));
    else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
        rc = tr_error_set(err, TR_EINVAL,
                          "refusing to work as the database superuser \"%s\": give trivsel-%s its own role"
                          " (TRIVSEL_DATABASE_USER, default trivsel_%s, made by trivselctl migrate)",
                          PQgetvalue(res, 0, 0), daemon, daemon);
    PQclear(res);
    return rc;
}

/* Waits for the database at start (a container may start before PostgreSQL), then checks the
 * schema: a daemon must not run on a schema it was not built for. A connection lost during the
 * check (PostgreSQL restarting just then) is waited out like one not made yet; a schema that
 * does not fit ends the start at once. SIGTERM or SIGINT during the wait ends it at once with
 * exit status 0: as PID 1 in a container nothing else would. */
static int check_schema(tr_daemon_t *d)
{
    tr_error_t err = {0};
    int64_t wait_ms = tr_config_duration_ms(d->config, "TRIVSEL_DATABASE_WAIT");
    int rc = TR_EDB;
    struct sigaction sa = {.sa_handler = early_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    for (int64_t waited = 0;; waited += 100) {
        tr_error_clear(&err);
        PGconn *conn = tr_pg_connect_blocking(&d->pg_options, &err);
        if (conn) {
            rc = tr_migrate_check(conn, d->spec->name, &err);
            if (rc == 0)
                rc = check_role(conn, d->spec->name, &err);
            bool lost = rc < 0 && PQstatus(conn) == CONNECTION_BAD;
            PQfinish(conn);
            if (!lost)
                break;
        }
        if (waited >= wait_ms || stop_requested)
            break;
        if (waited == 0)
            tr_log_warn("waiting for the database", TR_LOG_STR("error", err.message));
        uv_sleep(100);
    }
    if (stop_requested) {
        tr_log_info("signal received while starting: stopped");
        return 1;
    }
    if (rc < 0) {
        tr_log_error("cannot start", TR_LOG_STR("error", err.message));
        return -1;
    }
    return 0;
}

int tr_daemon_main(const tr_daemon_spec_t *spec, int argc, char **argv)
{
    tr_daemon_t d = {.spec = spec};
    tr_error_t err = {0};
    int exit_code = 1;
    size_t nvars = NCOMMON + spec->nvars;
    tr_config_var_t *vars = calloc(nvars, sizeof *vars);
    char default_user[64], default_http[64];
    bool check_only = false;

    if (!vars)
        return 1;
    memcpy(vars, common_vars, sizeof common_vars);
    if (spec->nvars)
        memcpy(vars + NCOMMON, spec->vars, spec->nvars * sizeof *vars);
    snprintf(default_user, sizeof default_user, "trivsel_%s", spec->name);
    snprintf(default_http, sizeof default_http, "%s", spec->default_http);
    for (size_t i = 0; i < NCOMMON; i++) {
        if (strcmp(vars[i].name, "TRIVSEL_DATABASE_USER") == 0)
            vars[i].default_value = default_user;
        if (strcmp(vars[i].name, "TRIVSEL_HTTP_ADDRESS") == 0)
            vars[i].default_value = default_http;
    }

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(spec, vars, nvars);
            exit_code = 0;
            goto out;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", spec->program, TR_VERSION);
            exit_code = 0;
            goto out;
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check_only = true;
        } else {
            fprintf(stderr, "%s: unknown argument \"%s\": use --help, --version or --check-config\n",
                    spec->program, argv[i]);
            exit_code = 2;
            goto out;
        }
    }

    if (tr_config_load(vars, nvars, tr_config_getenv, NULL, &d.config, &err) < 0) {
        fprintf(stderr, "%s: %s\n", spec->program, err.message);
        exit_code = 2;
        goto out;
    }
    if (spec->check_config && spec->check_config(d.config, spec->arg, &err) < 0) {
        fprintf(stderr, "%s: %s\n", spec->program, err.message);
        exit_code = 2;
        goto out;
    }
    const char *pwfile = tr_config_string(d.config, "TRIVSEL_DATABASE_PASSWORD_FILE");
    if (pwfile[0] && tr_config_read_file(d.config, "TRIVSEL_DATABASE_PASSWORD_FILE", d.db_password,
                                         sizeof d.db_password, &err) < 0) {
        fprintf(stderr, "%s: %s\n", spec->program, err.message);
        exit_code = 2;
        goto out;
    }
    if (check_only) {
        printf("%s: configuration is valid\n", spec->program);
        exit_code = 0;
        goto out;
    }

    tr_log_level_t level;
    tr_log_level_parse(tr_config_string(d.config, "TRIVSEL_LOG_LEVEL"), &level, NULL);
    tr_log_init(spec->name, level);
    snprintf(d.db_user, sizeof d.db_user, "%s", tr_config_string(d.config, "TRIVSEL_DATABASE_USER"));
    d.pg_options = (tr_pg_options_t){.url = tr_config_string(d.config, "TRIVSEL_DATABASE_URL"),
                                     .user = d.db_user,
                                     .password = d.db_password,
                                     .application_name = spec->program};
    tr_log_info("starting", TR_LOG_STR("version", TR_VERSION), TR_LOG_STR("database_user", d.db_user));
    int checked = check_schema(&d);
    if (checked != 0) {
        exit_code = checked > 0 ? 0 : 1;
        goto out;
    }

    uv_loop_init(&d.loop);
    d.metrics = tr_metrics_new(spec->name);
    d.db_connected = tr_metrics_gauge(d.metrics, "trivsel_database_connected",
                                      "1 when the database connection is up", NULL);
    if (tr_http_new(&d.loop, tr_config_string(d.config, "TRIVSEL_HTTP_ADDRESS"), d.metrics, ready_cb, &d,
                    &d.http, &err) < 0) {
        tr_log_error("cannot start", TR_LOG_STR("error", err.message));
        goto loop_out;
    }
    tr_log_info("http endpoint listening", TR_LOG_STR("address", tr_config_string(d.config, "TRIVSEL_HTTP_ADDRESS")),
                TR_LOG_INT("port", tr_http_port(d.http)));
    uv_signal_init(&d.loop, &d.sigterm);
    uv_signal_init(&d.loop, &d.sigint);
    d.sigterm.data = d.sigint.data = &d;
    uv_signal_start(&d.sigterm, signal_cb, SIGTERM);
    uv_signal_start(&d.sigint, signal_cb, SIGINT);
    uv_timer_init(&d.loop, &d.shutdown_timer);
    d.shutdown_timer.data = &d;
    if (tr_pg_new(&d.loop, &d.pg_options, state_cb, notify_cb, &d, &d.pg, &err) < 0) {
        tr_log_error("cannot start", TR_LOG_STR("error", err.message));
        goto loop_out;
    }
    uv_run(&d.loop, UV_RUN_DEFAULT);
    exit_code = d.exit_code;
    if (exit_code == 0)
        tr_log_info("stopped");
loop_out:
    if (d.http || d.pg) {
        /* start-up failed half way: close what was opened */
        if (d.http)
            tr_http_close(d.http, NULL, NULL);
        if (d.pg)
            tr_pg_close(d.pg, NULL, NULL);
        uv_walk(&d.loop, close_walk_cb, NULL);
        uv_run(&d.loop, UV_RUN_DEFAULT);
        exit_code = 1;
    }
    uv_loop_close(&d.loop);
    tr_metrics_destroy(&d.metrics);
out:
    memset(d.db_password, 0, sizeof d.db_password);
    tr_config_destroy(&d.config);
    free(vars);
    return exit_code;
}
