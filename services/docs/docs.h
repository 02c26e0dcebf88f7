/* docs.h — trivsel-docs's parts (DOMAIN.md §4, EVENTS.md docs):
 *
 *   orders.c       ordering.order.placed/accepted/adjusted/ended.CVR: who may document what,
 *                  and the status reports and monthly reconciliations an accepted order needs
 *   validate.c     the content of a submission: every problem, named (pure; unit-tested)
 *   submission.c   docs.{note,report,measurement,plan}.submitted.CVR: the supplier's right to
 *                  document on the order, the content, then accepted or rejected (and audited)
 *   deadlines.c    the one timer that fires docs.report.due, docs.report.overdue and
 *                  docs.hours.reconciled from the deadline rows
 *   emit.c         what the parts share: problems, emitting, statements, dates
 *
 * Every event is handled exactly once through common/handler: its effects and the events it
 * emits commit in one transaction. Loop thread only.
 */
#ifndef DOCS_H
#define DOCS_H

#include <stdbool.h>
#include <stdint.h>

#include "calendar.h"
#include "daemon.h"
#include "handler.h"
#include "metrics.h"
#include "trivsel/docs.pb-c.h"
#include "trivsel/ordering.pb-c.h"

/* NOTIFY channel: deadline rows changed. */
#define DOCS_DEADLINE_CHANNEL "docs_deadline"

typedef struct docs_deadlines docs_deadlines_t;

typedef struct docs_settings {
    char *ordering_principal; /* the only publisher of ordering.order.placed/adjusted/ended.CVR */
    int grace_days;           /* after the order's end, submissions are still taken */
    int64_t clock_skew_ms;    /* how far a submission's occurred_at may lie after published_at */
    int64_t report_warning_ms;
    int64_t hours_delay_ms;
    int64_t poll_ms;
} docs_settings_t;

typedef struct docs {
    tr_daemon_t *daemon;
    tr_pg_t *pg;
    tr_bclient_t *client;
    tr_metrics_t *metrics;
    docs_settings_t settings;
    docs_deadlines_t *deadlines;
    tr_metric_t *accepted, *rejected, *orders_known, *orders_accepted, *ignored;
} docs_t;

/* ---- emit.c ---------------------------------------------------------------------------------- */

typedef struct problems {
    Trivsel__Problem **items;
    size_t n, cap;
} problems_t;

void problems_add(problems_t *p, const char *field, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool problems_has(const problems_t *p, const char *code);
void problems_release(problems_t *p);

/* Emits msg on subject in h's transaction; event id "docs-<cause position>-<what>". */
int docs_emit(tr_handling_t *h, const Trivsel__Envelope *cause, const char *what,
              const char *subject, const char *correlation_id, const ProtobufCMessage *msg);

/* Emits msg into broker.outbox in txn (the deadline timer's transaction). */
int docs_emit_txn(tr_pg_txn_t *txn, const char *event_id, const char *subject,
                  const char *municipality, const char *correlation_id, int64_t occurred_s,
                  const ProtobufCMessage *msg, tr_error_t *err);

/* A statement in the event's transaction whose result nobody reads (an error aborts it). */
void docs_exec(tr_handling_t *h, const char *sql, int n, const char *const *values);

/* An event that changed nothing and has nobody to answer: logged and counted. */
void docs_ignore(docs_t *d, const Trivsel__Envelope *ev, const char *reason);

/* An order event from a principal that may not send it: ignored as above, and written to
 * broker.audit (action docs_event_refused, with detail) in h's transaction. */
void docs_refuse(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev, const char *reason,
                 const char *detail);

/* bytes as PostgreSQL's hex text form of bytea; the caller frees it; NULL when out of memory. */
char *docs_hex(const uint8_t *data, size_t len);

/* Parses a "YYYY-MM-DD" field: problem missing_field (when required and empty) or invalid_date.
 * Returns true when *out is set. */
bool docs_date_field(problems_t *p, const char *field, const char *text, bool required,
                     tr_date_t *out);

/* A date column ("YYYY-MM-DD") of a row. */
tr_date_t docs_date_value(const PGresult *res, int row, int col);

/* The CPR number as 10 digits without the dash into out[11]; false when not a CPR number. */
bool docs_cpr_digits(const char *text, char out[11]);

/* "note", "report", "measurement", "plan" from a submission subject; 0 when not one. */
Trivsel__Docs__SubmissionKind docs_kind_of_subject(const char *subject);
const char *docs_kind_word(Trivsel__Docs__SubmissionKind kind);

/* ---- validate.c ------------------------------------------------------------------------------ */

/* What the checks of a submission need to know besides its content. */
typedef struct submission_facts {
    const char *submission_id, *order_id, *child_cpr;
    tr_date_t doc_date; /* valid when has_date */
    bool has_date;
    /* For a report: the period it covers. */
    tr_date_t period_start, period_end;
    bool has_period;
    uint32_t duration_minutes;
} submission_facts_t;

/* Checks the content of a decoded submission of the kind; every problem into p, the facts
 * into f (borrowed from msg). today: the Danish day of submission (no date may lie after it,
 * except a plan's next evaluation). */
void docs_validate(Trivsel__Docs__SubmissionKind kind, const ProtobufCMessage *msg,
                   tr_date_t today, problems_t *p, submission_facts_t *f);

/* ---- orders.c -------------------------------------------------------------------------------- */

void docs_order_placed_cb(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev);
void docs_order_accepted_cb(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev);
void docs_order_adjusted_cb(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev);
void docs_order_ended_cb(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev);

/* The status reports of an order from start to end, every interval months: report k is due on
 * start + k * interval months, while that is on or before end. Returns how many (at most max),
 * with the due dates into due[]. */
int docs_report_due_dates(tr_date_t start, tr_date_t end, int interval, tr_date_t *due, int max);

/* ---- submission.c ---------------------------------------------------------------------------- */

void docs_submitted_cb(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev);

/* ---- deadlines.c ----------------------------------------------------------------------------- */

int docs_deadlines_new(docs_t *d, docs_deadlines_t **out, tr_error_t *err);
void docs_deadlines_kick(docs_deadlines_t *dl);
void docs_deadlines_stop(docs_deadlines_t *dl, void (*done_cb)(void *arg), void *arg);

#endif
