/* daemon.h — what every trivsel daemon does the same way, so that its main.c is wiring only:
 * --help, --version and --check-config; configuration from the environment (the common
 * variables below plus the daemon's own); JSON logs; the database connection and the check that
 * its schema is current; the HTTP endpoint (/healthz, /readyz, /metrics); SIGTERM and SIGINT.
 *
 * Shutdown: on SIGTERM or SIGINT the daemon turns not-ready and calls the service's drain
 * callback, which stops taking new work and calls tr_daemon_drained() once what was in flight
 * is finished; then queued database work completes, handles close and the program exits 0.
 * If that takes longer than TRIVSEL_SHUTDOWN_TIMEOUT the program exits 1 (what it had not
 * committed is redelivered: nothing is lost, see ARCHITECTURE.md principle 2).
 */
#ifndef TR_DAEMON_H
#define TR_DAEMON_H

#include <stdbool.h>
#include <uv.h>

#include "config.h"
#include "metrics.h"
#include "pg.h"

typedef struct tr_daemon tr_daemon_t;

typedef struct tr_daemon_spec {
    const char *name;         /* "broker": log service name and schema component */
    const char *program;      /* "trivsel-broker" */
    const char *summary;      /* one line for --help */
    const char *default_http; /* "0.0.0.0:9100" */
    const tr_config_var_t *vars; /* the daemon's own variables */
    size_t nvars;
    /* Called once the database is reachable and the schema current, inside the loop. Returns 0
     * or a negative code (the daemon then exits 1). */
    int (*start)(tr_daemon_t *d, void *arg);
    /* SIGTERM: stop taking work; call tr_daemon_drained() when in-flight work is done. NULL
     * means nothing to drain. */
    void (*drain)(tr_daemon_t *d, void *arg);
    /* Optional extra readiness (e.g. the broker's socket is bound): 1 ready, 0 not, with reason. */
    int (*ready)(void *arg, char *reason, size_t reason_len);
    /* Optional: LISTEN/NOTIFY deliveries on the daemon's connection (see tr_pg_listen). */
    void (*notify)(const char *channel, const char *payload, void *arg);
    /* Optional: the database connection came back after a loss (re-read what may have changed). */
    void (*reconnected)(void *arg);
    /* Optional: checks what the table cannot (a list in one variable, values that depend on each
     * other), for the start and --check-config alike. Returns 0, or a negative code with err
     * naming the variable; the daemon then exits 2. */
    int (*check_config)(const tr_config_t *cfg, void *arg, tr_error_t *err);
    void *arg;
} tr_daemon_spec_t;

/* Runs the daemon; returns the process exit status (0 after a clean shutdown, 1 on a start-up
 * or runtime failure, 2 on bad usage or configuration). */
int tr_daemon_main(const tr_daemon_spec_t *spec, int argc, char **argv);

/* The variables every daemon reads, for documentation (trivselctl lists them). */
const tr_config_var_t *tr_daemon_common_vars(size_t *n);

uv_loop_t *tr_daemon_loop(tr_daemon_t *d);
const tr_config_t *tr_daemon_config(tr_daemon_t *d);
tr_metrics_t *tr_daemon_metrics(tr_daemon_t *d);
tr_pg_t *tr_daemon_pg(tr_daemon_t *d);
/* Database options (URL, the daemon's role and password) for extra connections. Borrowed. */
const tr_pg_options_t *tr_daemon_pg_options(tr_daemon_t *d);
bool tr_daemon_draining(const tr_daemon_t *d);
void tr_daemon_drained(tr_daemon_t *d);
/* Stops the daemon after a fatal runtime error; it exits 1. */
void tr_daemon_fail(tr_daemon_t *d, const char *why);

#endif
