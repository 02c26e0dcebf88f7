/* metrics.h — a daemon's registry of counters and gauges, rendered in the Prometheus text
 * exposition format 0.0.4 for GET /metrics (see http.h).
 *
 * Loop rule: a registry and its series are used from the daemon's libuv loop thread only; nothing
 * here locks.
 *
 *   tr_metric_t *refused = tr_metrics_counter(m, "trivsel_messages_refused_total",
 *                                             "Messages refused, by reason.",
 *                                             "reason", "unauthorised", NULL);
 *   tr_metric_inc(refused);
 *
 * A series is looked up by a linear search over its name and labels: look it up once and keep the
 * pointer where a hot path counts. Pointers stay valid until the registry is destroyed.
 */
#ifndef TR_METRICS_H
#define TR_METRICS_H

typedef struct tr_metrics tr_metrics_t;
typedef struct tr_metric tr_metric_t; /* one time series: a name and its label values */

/* At most this many labels on one series. */
#define TR_METRICS_MAX_LABELS 8

/* A new registry holding two series from the start:
 *   trivsel_build_info{service="<service>",version="<TR_VERSION>"} 1
 *   process_start_time_seconds <now, as seconds since the epoch>
 * Call it early in main(): the start time is taken here. Returns NULL when out of memory. */
tr_metrics_t *tr_metrics_new(const char *service);

/* Frees the registry and every series in it. Safe on NULL; sets *m to NULL. */
void tr_metrics_destroy(tr_metrics_t **m);

/* The counter (or gauge) series with this name and labels, made at 0 the first time it is asked
 * for. Labels are "name", "value" pairs ended by NULL; their order does not matter (asking again
 * with the same labels in another order returns the same series). Values are any text; they are
 * escaped when rendered. The help text is taken from the first call for a name.
 *
 * Programming errors are assertions: a name not matching [a-zA-Z_:][a-zA-Z0-9_:]*, a label name not
 * matching [a-zA-Z_][a-zA-Z0-9_]* or starting with "__", a label named twice, a name without a
 * value, more than TR_METRICS_MAX_LABELS labels, a name used as both counter and gauge, or
 * series of one name with different label names.
 *
 * Returns NULL only when out of memory; the tr_metric_ functions below do nothing with NULL, so a
 * daemon short of memory loses that series, not its service. The registry owns the series. */
tr_metric_t *tr_metrics_counter(tr_metrics_t *m, const char *name, const char *help, ...)
    __attribute__((sentinel));
tr_metric_t *tr_metrics_gauge(tr_metrics_t *m, const char *name, const char *help, ...)
    __attribute__((sentinel));

/* Counters and gauges: add 1, or add v. A counter never goes down: v < 0 on a counter is an
 * assertion. Gauges take any v. NULL does nothing. */
void tr_metric_inc(tr_metric_t *x);
void tr_metric_add(tr_metric_t *x, double v);

/* Gauges only (assertion): set the value. NULL does nothing. */
void tr_metric_set(tr_metric_t *g, double v);

/* The current value; 0 for NULL. */
double tr_metric_value(const tr_metric_t *x);

/* The whole registry in the Prometheus text format 0.0.4: for each name, in the order names were
 * first asked for, one "# HELP" and one "# TYPE" line, then its series in the order they were
 * made. Values use the shortest decimal form that reads
 * back exactly ("1", "0.1"), and "+Inf", "-Inf", "NaN". The returned string is the caller's to
 * free; NULL when out of memory. */
char *tr_metrics_render(const tr_metrics_t *m);

#endif
