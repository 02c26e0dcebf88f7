/* ordering.h — trivsel-ordering's parts (DOMAIN.md §3, EVENTS.md ordering):
 *
 *   catalogue.c    ordering.offer.published: offers and their versions; which version is in
 *                  effect on a day
 *   decision.c     assessment.decision.registered: what orders need to know of a decision
 *   order.c        ordering.order.requested: the checks, the budget, placing or refusing
 *   leon.c         LEON: the cheaper offers for the same legal basis and target group
 *   acceptance.c   the supplier's accept / decline; orders not accepted in time are flagged
 *   adjustment.c   ordering.order.adjusted and ordering.order.ended from the caseworker
 *   settlement.c   the monthly settlement (the arithmetic is common/settlement.c)
 *   deadlines.c    the timer that flags unaccepted orders and runs due settlements
 *   emit.c         what the parts share: problems, refusals, emitting, reading rows
 *
 * Every event is handled exactly once through common/handler: its effects and the events it
 * emits commit in one transaction. Loop thread only.
 */
#ifndef ORDERING_H
#define ORDERING_H

#include <stdbool.h>
#include <stdint.h>

#include "calendar.h"
#include "daemon.h"
#include "handler.h"
#include "metrics.h"
#include "settlement.h"
#include "trivsel/assessment.pb-c.h"
#include "trivsel/ordering.pb-c.h"

/* NOTIFY channel: a deadline row changed (a new order, an answer, trivselctl settle). */
#define ORDERING_DEADLINE_CHANNEL "ordering_deadline"

typedef struct ordering_deadlines ordering_deadlines_t;

typedef struct ordering_settings {
    char *caseworker_systems;  /* comma-separated principals that may order, adjust and end */
    char *decision_publishers; /* comma-separated principals whose decisions count */
    int accept_hverdage;
    bool auto_settle;
    int64_t settlement_delay_ms;
    /* Lines (and child totals, unaccepted orders) per ordering.settlement.calculated event. */
    size_t settlement_part_lines;
    int64_t poll_ms;
} ordering_settings_t;

typedef struct ordering {
    tr_daemon_t *daemon;
    tr_pg_t *pg;
    tr_bclient_t *client;
    tr_metrics_t *metrics;
    ordering_settings_t settings;
    ordering_deadlines_t *deadlines;
    tr_metric_t *offers_published, *offers_rejected;
    tr_metric_t *orders_placed, *orders_refused, *adjustments, *ends;
    tr_metric_t *orders_accepted, *orders_declined, *answers_rejected;
    tr_metric_t *flagged_total, *unaccepted;
    tr_metric_t *settlements, *decisions;
} ordering_t;

/* ---- emit.c ---------------------------------------------------------------------------------- */

/* Every problem found with an event, for the refusal. */
typedef struct problems {
    Trivsel__Problem **items;
    size_t n, cap;
} problems_t;

void problems_add(problems_t *p, const char *field, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool problems_has(const problems_t *p, const char *code);
void problems_release(problems_t *p);

/* Whether principal is in the comma-separated list. */
bool ordering_listed(const char *list, const char *principal);

/* Emits msg on subject in h's transaction. The event id is "ordering-<cause position>-<what>":
 * the same on every redelivery of the cause, so emitting again stores nothing twice. Returns
 * 0 or a negative code (logged). */
int ordering_emit(tr_handling_t *h, const Trivsel__Envelope *cause, const char *what,
                  const char *subject, const char *correlation_id, const ProtobufCMessage *msg);

/* Emits ordering.order.refused for the cause: every problem, the cheaper offers (may be NULL),
 * and counts each problem's code. */
int ordering_refuse(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *cause,
                    const char *order_id, const char *correlation_id, const problems_t *problems,
                    Trivsel__Ordering__OfferPrice **cheaper, size_t ncheaper);

/* Records an event that changed nothing and has nobody to answer on a subject (in
 * ordering.rejected_event and broker.audit), logs it and counts it. */
void ordering_reject(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *ev, const char *code,
                     const char *reason);

/* bytes as PostgreSQL's hex text form of bytea ("\x0a1b..."), for a text parameter. The caller
 * frees it; NULL when out of memory. */
char *ordering_hex(const uint8_t *data, size_t len);
/* The message packed, as ordering_hex. */
char *ordering_hex_message(const ProtobufCMessage *msg);

/* Parses an optional "YYYY-MM-DD" field; a problem (field, code "invalid_date") when it is not
 * a date, or "missing_field" when required and empty. Returns true when *out is set. */
bool ordering_date_field(problems_t *p, const char *field, const char *text, bool required,
                         tr_date_t *out);

/* Reads a date column ("YYYY-MM-DD") of a row. */
tr_date_t ordering_date_value(const PGresult *res, int row, int col);

/* "YYYY-MM" of a date, into buf[8]. */
void ordering_month_of(tr_date_t d, char buf[8]);

/* The first instant after Danish month (year, month) has ended. */
int64_t ordering_month_end_utc(int year, int month);

/* A statement in the event's transaction whose result nobody reads (an error aborts the
 * transaction; the commit reports it). */
void ordering_exec(tr_handling_t *h, const char *sql, int n, const char *const *values);

/* Queues the settlement_due rows (due when each month ends, plus the delay) for every month of
 * start..end, and a NOTIFY so the deadline timer looks again. */
void ordering_schedule_months(ordering_t *o, tr_handling_t *h, const char *municipality,
                              tr_date_t start, tr_date_t end);

/* The legal basis's enum name, e.g. "LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5" (static). */
const char *ordering_legal_basis_name(int legal_basis);
/* For people: "Barnets Lov §32 stk. 1 nr. 5" (static, UTF-8). */
const char *ordering_legal_basis_label(int legal_basis);

/* ---- catalogue.c ----------------------------------------------------------------------------- */

typedef struct offer_version {
    char *offer_id;
    int version;
    tr_date_t valid_from;
    bool open_ended;
    tr_date_t valid_to;
    char supplier_cvr[9];
    char *supplier_name;
    int supplier_kind;
    bool supplier_suspended;
    char *title;
    int price_model;
    tr_oere_t price_oere;
    int legal_bases[16];
    size_t nlegal_bases;
    /* Read from a 13th column when the query has one (leon.c: this version covers the order's
     * legal basis and target group). */
    bool matches;
} offer_version_t;

/* The columns catalogue_versions_read() expects, for a SELECT list over ordering.offer_version v
 * joined with ordering.supplier s. */
#define CATALOGUE_VERSION_COLUMNS                                                                  \
    "v.offer_id, v.version, v.valid_from, coalesce(v.valid_to::text, ''), v.supplier_cvr, "        \
    "s.name, s.kind,"                                                                              \
    " s.suspended, v.title, v.price_model, v.price_oere, array_to_string(v.legal_bases, ',')"

/* The rows of res as versions (caller frees with catalogue_versions_free). */
offer_version_t *catalogue_versions_read(const PGresult *res, size_t *n);
void catalogue_versions_free(offer_version_t *v, size_t n);

/* The version of offer_id in effect on day, among v[0..n) (any order, any offers): NULL when
 * none has begun, or the one in effect has ended (valid_to before day). */
const offer_version_t *catalogue_in_effect(const offer_version_t *v, size_t n, const char *offer_id,
                                           tr_date_t day);

/* Whether offer_id can be ordered on every day of from..to; if not, *gap is the first day it
 * cannot. */
bool catalogue_covers(const offer_version_t *v, size_t n, const char *offer_id, tr_date_t from,
                      tr_date_t to, tr_date_t *gap);

bool catalogue_has_legal_basis(const offer_version_t *v, int legal_basis);

void ordering_offer_published_cb(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *ev);

/* ---- decision.c ------------------------------------------------------------------------------ */

void ordering_decision_registered_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg);

/* ---- order.c --------------------------------------------------------------------------------- */

void ordering_order_requested_cb(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *ev);

/* ---- leon.c ---------------------------------------------------------------------------------- */

/* The offers among candidates (versions of other offers sharing the ordered version's legal basis
 * and a target group code) that could deliver the order for less: valid on every day of the
 * period, supplier not suspended, and costing less than own_budget for the same scope and
 * period at their price (in effect on the start day). Sorted cheapest first. Offers priced per
 * hour are not comparable when the order has no hours (minutes_per_week 0) and are left out.
 * candidates holds every version of each such offer, with `matches` set on the versions that
 * cover the legal basis and share a code. Returns the number found, with *out the caller's to
 * free with leon_free(); -1 when out of memory (*out is then NULL). */
int leon_cheaper_offers(const offer_version_t *candidates, size_t n, tr_date_t start, tr_date_t end,
                        uint32_t minutes_per_week, tr_oere_t own_budget,
                        Trivsel__Ordering__OfferPrice ***out);
void leon_free(Trivsel__Ordering__OfferPrice **offers, size_t n);

/* ---- acceptance.c ---------------------------------------------------------------------------- */

void ordering_order_answered_cb(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *ev,
                                bool accepted);

/* Flags every placed order whose acceptance is overdue (one statement); then refreshes the
 * gauge. done_cb(arg) afterwards. */
void ordering_flag_unaccepted(ordering_t *o, void (*done_cb)(void *arg), void *arg);

/* ---- adjustment.c ---------------------------------------------------------------------------- */

void ordering_order_adjusted_cb(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *ev);
void ordering_order_ended_cb(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *ev);

/* ---- settlement.c ---------------------------------------------------------------------------- */

/* Settles (municipality, month) in txn, whose caller has claimed the month's due row: if it is
 * not settled yet, computes every accepted order's line, stores the result and emits
 * ordering.settlement.calculated into the outbox. done_cb(error, arg) when the statements are
 * queued and their results read (the caller commits). */
void ordering_settle(ordering_t *o, tr_pg_txn_t *txn, const char *municipality, const char *month,
                     void (*done_cb)(const char *error, void *arg), void *arg);

/* ---- deadlines.c ----------------------------------------------------------------------------- */

int ordering_deadlines_new(ordering_t *o, ordering_deadlines_t **out, tr_error_t *err);
/* Look again now (a NOTIFY, a reconnect). */
void ordering_deadlines_kick(ordering_deadlines_t *dl);
/* Stops the timers; done_cb once no pass is running. */
void ordering_deadlines_stop(ordering_deadlines_t *dl, void (*done_cb)(void *arg), void *arg);

#endif
