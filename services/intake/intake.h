/* intake.h — trivsel-intake: underretninger, the child's case, triage and the reporter's
 * deadlines (DOMAIN.md §1, EVENTS.md intake). What the parts of the daemon share.
 *
 *   main.c         wiring: configuration, the broker client, one handler per subject, shutdown
 *   settings.c     the TRIVSEL_INTAKE_* variables that need more than the config table
 *   validate.c     the checks on incoming events (pure)
 *   dates.c        the deadlines as functions of the events' own timestamps (pure)
 *   underretning.c intake.underretning.received: refusal, or registration on the child's case
 *   triage.c       intake.triage.completed, and the triage deadlines' events
 *   receipt.c      intake.receipt.sent, and the receipt deadline's event
 *   orientation.c  assessment.investigation.opened, intake.orientation.sent, and orientation.due
 *   decision.c     assessment.decision.registered: the measures on the case
 *   deadlines.c    the deadline engine: one timer, claims with FOR UPDATE SKIP LOCKED
 *   emit.c         envelopes into broker.outbox, timestamps, ids
 *
 * Everything runs on the daemon's loop thread.
 */
#ifndef INTAKE_H
#define INTAKE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "handler.h"
#include "metrics.h"
#include "dates.h"
#include "validate.h"
#include "trivsel/assessment.pb-c.h"
#include "trivsel/intake.pb-c.h"

/* The NOTIFY channel: a deadline row was added or closed; every instance re-reads. */
#define INTAKE_DEADLINE_CHANNEL "intake_deadline"

typedef struct intake_deadlines intake_deadlines_t;

/* The leader a team's overdue triage is escalated to (TRIVSEL_INTAKE_TEAM_LEADERS). */
typedef struct intake_team_leader {
    char *team; /* "" = every team without its own entry ("*" in the variable) */
    char *id;
    char *name;
} intake_team_leader_t;

typedef struct intake_settings {
    int64_t triage_warning_ms;  /* intake.triage.due_soon this long before the 24 hours end */
    int64_t clock_skew_ms;      /* how far in the future a sender's timestamp may be */
    int orientation_hverdage;   /* the orientation's limit after the outcome is known */
    const char *municipalities; /* "630,575", or "" for any; borrowed from the config */
    intake_team_leader_t *leaders;
    size_t nleaders;
} intake_settings_t;

typedef struct intake {
    tr_daemon_t *daemon;
    tr_pg_t *pg;
    tr_metrics_t *metrics;
    tr_bclient_t *client;
    tr_handler_t *handlers[6];
    size_t nhandlers;
    intake_deadlines_t *deadlines;
    intake_settings_t settings;
    tr_metric_t *registered, *new_cases, *triages_on_time, *triages_late;
    uv_timer_t *drain_timer;
} intake_t;

/* settings.c: parses TRIVSEL_INTAKE_TEAM_LEADERS ("Modtageteamet=ABJ:Anne Bjerg;*=KLM:Karin
 * Lund") and checks TRIVSEL_INTAKE_MUNICIPALITIES ("630,575"). Returns 0, or TR_ECONFIG with
 * err naming the variable. s->leaders is owned by s: intake_settings_release(). */
int intake_settings_load(intake_settings_t *s, const tr_config_t *cfg, tr_error_t *err);
void intake_settings_release(intake_settings_t *s);
/* The leader for team (or the "*" entry); NULL when none is configured. Borrowed. */
const intake_team_leader_t *intake_settings_leader(const intake_settings_t *s, const char *team);
/* Validation options as of now. */
intake_validate_options_t intake_validate_options(const intake_t *in);

/* The handlers, one per subject (tr_handle_cb; arg is the intake_t). */
void intake_underretning_received_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg);
void intake_triage_completed_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg);
void intake_receipt_sent_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg);
void intake_orientation_sent_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg);
void intake_investigation_opened_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg);
void intake_decision_registered_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg);

/* ---- emit.c ---- */

/* Envelopes the deadline engine gathers from a batch of deadlines and writes into broker.outbox
 * with one statement (intake_outbox_write). */
typedef struct intake_outbox {
    uint8_t **envelopes; /* packed */
    int *lengths;
    size_t n, cap;
} intake_outbox_t;

/* Where an emitted event goes: the transaction of an event being handled, or the deadline
 * engine's batch. Exactly one is set. */
typedef struct intake_out {
    tr_handling_t *handling;
    intake_outbox_t *outbox;
} intake_out_t;

/* Emits msg on subject in the transaction: an envelope with event_id, municipality, the case
 * as correlation id and occurred_us as occurred-at. Returns 0 or a negative code with err. */
int intake_emit(intake_out_t out, const char *event_id, const char *subject,
                const char *municipality, const char *case_id, int64_t occurred_us,
                const ProtobufCMessage *msg, tr_error_t *err);

/* Queues the INSERT of box's envelopes into broker.outbox in txn (nothing when box is empty).
 * Returns 0 or a negative code. */
int intake_outbox_write(intake_outbox_t *box, tr_pg_txn_t *txn);
/* Frees what box holds; it is empty again. */
void intake_outbox_release(intake_outbox_t *box);

/* The current time, UTC microseconds. */
int64_t intake_now_us(void);
/* RFC 3339 UTC with microseconds, "2024-03-21T09:15:00.000000Z", for a query parameter. */
void intake_us_text(int64_t us, char buf[40]);
/* A timestamp message for us (the caller's storage). */
void intake_timestamp(Google__Protobuf__Timestamp *ts, int64_t us);
/* A new random (version 4) UUID in canonical text form. */
void intake_uuid(char out[37]);
/* Counts refusals of kind ("underretning", "triage") by problem code. */
void intake_count_refusal(intake_t *in, const char *kind, const intake_problems_t *p);
/* Counts an inbound event that was not acted on (e.g. a receipt for an unknown underretning),
 * and logs it without personal data. */
void intake_ignore(intake_t *in, const Trivsel__Envelope *ev, const char *reason,
                   const char *detail);
/* The name of an enum value ("REPORTER_KIND_ANONYMOUS"), or "" when unknown. */
const char *intake_enum_name(const ProtobufCEnumDescriptor *d, int value);
/* The value of an enum name, or 0 when unknown. */
int intake_enum_value(const ProtobufCEnumDescriptor *d, const char *name);
/* Text of a column as microseconds: the query writes timestamps as
 * (extract(epoch FROM x) * 1000000)::bigint. */
int64_t intake_col_us(const PGresult *res, int row, int col);
/* Unpacks a bytea column (text format) as a message of desc; NULL when it cannot. The caller
 * frees it with protobuf_c_message_free_unpacked. */
ProtobufCMessage *intake_col_message(const PGresult *res, int row, int col,
                                     const ProtobufCMessageDescriptor *desc);

/* ---- deadlines.c ---- */

/* Kinds of deadline and what firing one emits. fire() is called in the claiming transaction
 * with the claimed row (columns: see INTAKE_DEADLINE_COLUMNS in deadlines.c) and emits its
 * event through out. Returns 1 when it emitted, 0 when the deadline is superseded (nothing to
 * say any more), or a negative code with err (the whole claim is rolled back and retried). */
typedef struct intake_deadline_row {
    const char *kind;
    int64_t due_us;
    const char *underretning_id, *case_id, *municipality, *team;
    bool abuse_case;
    int64_t received_us, triage_due_us;
    const char *receipt_due_date; /* "YYYY-MM-DD" or "" */
} intake_deadline_row_t;

typedef struct intake_deadline_kind {
    const char *kind;
    int (*fire)(intake_t *in, intake_out_t out, const intake_deadline_row_t *row, int64_t now_us,
                char *event_id, size_t event_id_len, tr_error_t *err);
} intake_deadline_kind_t;

typedef struct intake_deadlines_options {
    const intake_deadline_kind_t *kinds;
    size_t nkinds;
    int batch;       /* rows claimed per transaction */
    int64_t poll_ms; /* re-read this often even without a notification */
} intake_deadlines_options_t;

int intake_deadlines_new(intake_t *in, const intake_deadlines_options_t *o,
                         intake_deadlines_t **out, tr_error_t *err);
/* Something may have changed (a notification, a reconnection): re-read the next due time. */
void intake_deadlines_changed(intake_deadlines_t *d);
/* Stops firing; stopped_cb runs once nothing is in flight and the timers are closed, and d is
 * freed then. */
void intake_deadlines_stop(intake_deadlines_t *d, void (*stopped_cb)(void *arg), void *arg);

/* The kinds, defined with the events they emit. */
int intake_triage_due_soon_fire(intake_t *in, intake_out_t out, const intake_deadline_row_t *row,
                                int64_t now_us, char *event_id, size_t event_id_len,
                                tr_error_t *err);
int intake_triage_overdue_fire(intake_t *in, intake_out_t out, const intake_deadline_row_t *row,
                               int64_t now_us, char *event_id, size_t event_id_len,
                               tr_error_t *err);
int intake_receipt_overdue_fire(intake_t *in, intake_out_t out, const intake_deadline_row_t *row,
                                int64_t now_us, char *event_id, size_t event_id_len,
                                tr_error_t *err);

/* ---- orientation.c ---- */

/* The outcome for the reporters of some underretninger became known at known_us (from the
 * event source_event_id). In the handling's transaction, for each underretning of municipality
 * with a public-employee reporter, received after `since` (RFC 3339, or "-infinity"), that
 * `which_sql` selects (a condition over intake.underretning u, with $1 = which_value and
 * $2 = known_at) and that has not had this outcome before: records the orientation and emits
 * intake.orientation.due. Then calls done(h, error, arg), which ends the handling. */
void intake_orientation_outcome(intake_t *in, tr_handling_t *h, const char *municipality,
                                const char *which_sql, const char *which_value, const char *since,
                                Trivsel__Intake__OrientationOutcome outcome, int64_t known_us,
                                const char *source_event_id,
                                void (*done)(tr_handling_t *h, const char *error, void *arg),
                                void *arg);

#endif
