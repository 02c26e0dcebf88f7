/* assessment.h — trivsel-assessment: the børnefaglig undersøgelse, trivselslineal scores, the
 * child's own view, decisions, barnets plan and follow-up (DOMAIN.md §2, EVENTS.md assessment).
 * What the parts of the daemon share.
 *
 *   main.c          wiring: configuration, the broker client, the handler, the deadline engine
 *   sag.c           intake.underretning.registered and intake.triage.completed: the case and
 *                   its underretninger as assessment knows them
 *   investigation.c opening (from a triage, or for any abuse case) and concluding an
 *                   investigation, and its deadline events
 *   scores.c        assessment.score.recorded: the trivselslineal series
 *   conversation.c  assessment.child_conversation.recorded: the børnesamtale or why not
 *   phases.c        the case's state and casework phase, and which event fits which phase
 *   decision.c      assessment.decision.made -> assessment.decision.registered, and the
 *                   decision's deadlines (appeal due / expired, plan due / overdue,
 *                   follow-up due / overdue)
 *   plan.c          assessment.plan.recorded: barnets plan and held follow-ups
 *   deadlines.c     the deadline engine: one timer, claims with FOR UPDATE SKIP LOCKED
 *   dates.c         the deadlines as pure functions of the events' timestamps
 *   refusal.c       problems found in an event, and the refusal that records them
 *   emit.c          envelopes into broker.outbox, ids, timestamps, SQL text helpers
 *
 * Every inbound event is handled through common/handler: one transaction records it as handled,
 * applies it (or records its refusal) and writes the events it causes into broker.outbox.
 * Everything runs on the daemon's loop thread.
 */
#ifndef ASSESSMENT_H
#define ASSESSMENT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"
#include "dates.h"
#include "handler.h"
#include "metrics.h"
#include "trivsel/assessment.pb-c.h"
#include "trivsel/intake.pb-c.h"

/* The NOTIFY channel: a deadline row was added, moved or closed; every instance re-reads. */
#define ASM_DEADLINE_CHANNEL "assessment_deadline"
/* The subject of refusals. Not in EVENTS.md yet: announced only when the catalogue knows it. */
#define ASM_REFUSED_SUBJECT "assessment.event.refused"
/* Longest id (case, underretning, decision, plan) taken from a sender, as the envelope's. */
#define ASM_ID_MAX 100
/* Longest free text taken from a sender (a conclusion, reasons, a child's view). */
#define ASM_TEXT_MAX 20000

typedef struct asm_deadlines asm_deadlines_t;

/* Where an emitted event goes: the transaction of an event being handled, or the deadline
 * engine's own. Exactly one is set. */
typedef struct asm_out {
    tr_handling_t *handling;
    tr_pg_txn_t *txn;
} asm_out_t;

typedef struct asm_settings {
    int64_t investigation_warning_ms; /* investigation.due_soon this long before the due day ends */
    int64_t followup_warning_ms;      /* followup.due this long before the follow-up day ends */
    int64_t plan_warning_ms;          /* plan.due this long before the plan's due day ends */
    int64_t appeal_warning_ms;        /* appeal.due this long before the appeal deadline ends */
    int64_t clock_skew_ms;            /* how far in the future a sender's timestamp may lie */
    const char *intake_principal;     /* who may publish intake.underretning.registered */
} asm_settings_t;

typedef struct asm
{
    tr_daemon_t *daemon;
    tr_pg_t *pg;
    tr_metrics_t *metrics;
    tr_bclient_t *client;
    tr_handler_t *handler;
    asm_deadlines_t *deadlines;
    asm_settings_t settings;
    /* The catalogue knows ASM_REFUSED_SUBJECT: refusals are also published. */
    bool announce_refusals;
}
asm_t;

/* ---- refusal.c: problems ------------------------------------------------------------------- */

typedef struct asm_problems {
    Trivsel__Problem **items; /* each owned, strings malloc'd */
    size_t n, cap;
} asm_problems_t;

/* Adds a problem: field in .proto names ("measures[0].purpose", "" for the whole event), a
 * stable snake_case code, and the message for people. Out of memory loses the problem's text,
 * never the problem: the event is refused all the same. */
void asm_problem(asm_problems_t *p, const char *field, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void asm_problems_release(asm_problems_t *p);

/* ---- phases.c: the case's state ------------------------------------------------------------ */

/* The casework phases (seed 003), numbered as trivsel.assessment.CasePhase. */
typedef enum {
    ASM_PHASE_UNKNOWN = 0,
    ASM_PHASE_STARTED = 1,    /* sagen starter */
    ASM_PHASE_INFORMED = 2,   /* sagen oplyses: an investigation runs */
    ASM_PHASE_CONSIDERED = 3, /* sagen overvejes: concluded */
    ASM_PHASE_DECIDED = 4,    /* sagen afgøres og meddeles */
    ASM_PHASE_FOLLOWED_UP = 5 /* evaluering og opfølgning */
} asm_phase_t;

/* "started", ... as stored in assessment.sag.phase; "" for ASM_PHASE_UNKNOWN. */
const char *asm_phase_key(asm_phase_t phase);
asm_phase_t asm_phase_from_key(const char *key);

/* The case an event concerns, as loaded (locked) in the event's transaction. */
typedef struct asm_case {
    bool known; /* the case exists in the event's municipality */
    char case_id[ASM_ID_MAX + 1];
    char municipality[4];
    asm_phase_t phase;
    bool abuse_case;        /* any underretning on the case */
    bool parents_suspected; /* any underretning on the case */
    /* The investigation that runs (not concluded), if any. */
    bool running;
    char running_id[37];
    tr_date_t running_due;
    int64_t running_aware_at_us;
    bool running_abuse_case, running_parents_suspected;
    char caseworker_id[101], caseworker_name[201], team[101];
    /* Some investigation of the case was concluded. */
    bool any_concluded;
    /* A triage of an underretning received since the last conclusion found acute measures
     * needed: a decision may come before the investigation is concluded. */
    bool acute_measures_needed;
} asm_case_t;

/* One inbound event being handled. Freed in one place, asm_work_finish. */
typedef struct asm_work asm_work_t;
typedef void (*asm_work_fn)(asm_work_t *w);

struct asm_work {
    asm_t *a;
    tr_handling_t *h;
    const Trivsel__Envelope *ev; /* valid until asm_work_finish */
    ProtobufCMessage *msg;       /* the unpacked payload */
    asm_problems_t problems;
    asm_case_t sag;
    PGresult *loaded; /* the part's own query result, kept for its decide step (or NULL) */
    asm_work_fn decide;
};

/* Starts work on an event: unpacks its payload as desc (a payload that does not decode is
 * refused). NULL when out of memory (the event is then tried again). */
asm_work_t *asm_work_new(asm_t *a, tr_handling_t *h, const Trivsel__Envelope *ev,
                         const ProtobufCMessageDescriptor *desc);
/* Ends the handling: error NULL commits; otherwise rolls back (tried again). Frees w. */
void asm_work_finish(asm_work_t *w, const char *error);
/* Refuses the event with w->problems (recorded, counted, logged, and announced when the
 * catalogue knows ASM_REFUSED_SUBJECT), then commits. Frees w. */
void asm_work_refuse(asm_work_t *w);

/* Loads and locks the case (w->sag), then runs part_sql (may be NULL) with its parameters and
 * keeps its result in w->loaded, then calls decide(w) — or finishes with the error when a query
 * failed. The case row is locked FOR UPDATE, so two instances handle one case's events one after
 * the other. */
void asm_case_load(asm_work_t *w, const char *case_id, const char *part_sql, int nparams,
                   const char *const *values, asm_work_fn decide);

/* Sets the case's phase in the event's transaction. */
int asm_phase_set(asm_work_t *w, const char *case_id, asm_phase_t phase);

/* The phase rules: each adds the problem that keeps the event out of the case's phase. */
void asm_phase_check_conversation(asm_work_t *w, bool investigation_concluded);
void asm_phase_check_conclusion(asm_work_t *w, bool investigation_concluded);
void asm_phase_check_decision(asm_work_t *w);
void asm_phase_check_score(asm_work_t *w, bool investigation_concluded);

/* ---- the parts: one tr_handle_cb per inbound subject (arg is the asm_t) -------------------- */

void asm_registered_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg); /* sag.c */
void asm_triage_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg);     /* sag.c */
void asm_concluded_cb(tr_handling_t *h, const Trivsel__Envelope *ev,
                      void *arg);                                            /* investigation.c */
void asm_score_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg); /* scores.c */
void asm_conversation_cb(tr_handling_t *h, const Trivsel__Envelope *ev,
                         void *arg);                                            /* conversation.c */
void asm_decision_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg); /* decision.c */
void asm_plan_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg);     /* plan.c */

/* ---- investigation.c: opening --------------------------------------------------------------- */

/* What opens an investigation (or joins the running one). */
typedef struct asm_opening {
    const char *case_id, *underretning_id;
    const char *because;                /* "triage" or "abuse_case" */
    int64_t aware_at_us;                /* the underretning's received_at */
    bool abuse_case, parents_suspected; /* the underretning's */
    const char *caseworker_id, *caseworker_name, *team;
    const Trivsel__Child *child; /* may be NULL */
} asm_opening_t;

/* Queues, in w's transaction, a new investigation (deadlines and the opened event included) or,
 * when w->sag.running, the underretning's joining of it (an opened event with joined_running).
 * Returns 0 or a negative code. */
int asm_investigation_open(asm_work_t *w, const asm_opening_t *o);

/* ---- the deadline events ------------------------------------------------------------------- */

/* One claimed deadline row, with what its event needs. Strings borrowed from the query result. */
typedef struct asm_due {
    int64_t id;
    const char *kind; /* investigation_due_soon, investigation_overdue, plan_due, plan_overdue,
                         followup_due, followup_overdue, appeal_due, appeal_expired */
    const char *case_id, *municipality;
    const char *investigation_id, *decision_id;
    const char *due_date; /* "YYYY-MM-DD" */
    int64_t due_at_us;
    bool first_followup;
    bool abuse_case;
    const char *caseworker_id, *caseworker_name, *team;
} asm_due_t;

/* Emit the event of a due row into out, with event_id. Return 0 or a negative code with err. */
int asm_investigation_deadline_event(const asm_due_t *d, asm_out_t out, const char *event_id,
                                     tr_error_t *err);
int asm_decision_deadline_event(const asm_due_t *d, asm_out_t out, const char *event_id,
                                tr_error_t *err);

/* ---- deadlines.c: the engine ------------------------------------------------------------------
 */

typedef struct asm_deadline_options {
    int64_t poll_ms; /* re-read the next due deadline this often without a notification */
    int batch;       /* rows claimed per transaction */
} asm_deadline_options_t;

int asm_deadlines_start(asm_t *a, const asm_deadline_options_t *o, asm_deadlines_t **out,
                        tr_error_t *err);
/* Something changed (a NOTIFY, a reconnection): re-read the next due deadline. */
void asm_deadlines_changed(asm_deadlines_t *d);
/* Stops the timer; done(arg) once no claim is in flight. Frees d. */
void asm_deadlines_stop(asm_deadlines_t *d, void (*done)(void *arg), void *arg);

/* Queues the NOTIFY that makes every instance re-read its next deadline. */
int asm_deadlines_notify(asm_work_t *w);

/* ---- emit.c ------------------------------------------------------------------------------------
 */

/* Emits msg on subject: an envelope with event_id, the municipality, the case as correlation id
 * and occurred_us as occurred-at. Returns 0 or a negative code with err. */
int asm_emit(asm_out_t out, const char *event_id, const char *subject, const char *municipality,
             const char *case_id, int64_t occurred_us, const ProtobufCMessage *msg,
             tr_error_t *err);

/* The id of an event this service emits because of the event being handled: "<what>-" and 32
 * hex digits of a hash of the handled event's publisher and id, so that handling it again
 * yields the same id, and two publishers' equal ids do not collide. buf holds 100 bytes. */
void asm_event_id(const Trivsel__Envelope *cause, const char *what, char buf[100]);

#define ASM_US_PER_SECOND INT64_C(1000000)
int64_t asm_now_us(void);
/* A Timestamp as microseconds; 0 for NULL. */
int64_t asm_ts_us(const Google__Protobuf__Timestamp *ts);
/* True when ts is set and lies where the calendar can work on it (asm_instant_ok). */
bool asm_ts_ok(const Google__Protobuf__Timestamp *ts);
void asm_timestamp(Google__Protobuf__Timestamp *ts, int64_t us);
/* RFC 3339 UTC with microseconds, for a query parameter. */
void asm_us_text(int64_t us, char buf[40]);
/* The column's text as microseconds: queries write (extract(epoch FROM x) * 1000000)::bigint. */
int64_t asm_col_us(const PGresult *res, int row, int col);
/* A column's text copied into buf (len bytes), "" for NULL. */
void asm_col_text(const PGresult *res, int row, int col, char *buf, size_t len);
bool asm_col_bool(const PGresult *res, int row, int col);
/* A new random (version 4) UUID. */
void asm_uuid(char out[37]);
bool asm_is_uuid(const char *s);
/* A PostgreSQL text[] literal of items, quoted and escaped; the caller frees it. NULL when out
 * of memory. */
char *asm_text_array(char *const *items, size_t n);
/* The name of an enum value ("TRIAGE_OUTCOME_AFDAEKNING"), "" when unknown. */
const char *asm_enum_name(const ProtobufCEnumDescriptor *d, int value);
/* "YYYY-MM-DD". */
void asm_date_text(tr_date_t d, char buf[TR_CALENDAR_DATE_LEN]);

#endif
