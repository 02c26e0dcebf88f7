/* handler.h — "handle this event exactly once" for services (ARCHITECTURE.md principle 2).
 *
 * A service subscribes through a handler. For every delivered event the handler opens one
 * database transaction and, in it:
 *   1. records the event as handled in <schema>.handled_event (publisher, event_id) — if it is
 *      already there, the event was handled before: the transaction ends and the event is
 *      acknowledged, with no other effect;
 *   2. calls the service's handle_cb, which runs its statements with tr_handling_query() and
 *      emits events with tr_handling_emit() (rows in broker.outbox, moved into the log by the
 *      broker), then calls tr_handling_done();
 *   3. commits, and only then acknowledges the delivery.
 * A crash at any instant leaves either nothing (the broker redelivers) or everything (the
 * redelivery finds the handled row): the effects happen once and the emitted events are
 * written once.
 *
 * Group commit: the deliveries waiting when a transaction begins are handled in it, up to
 * `batch` events, so one commit (one WAL flush) serves them all; those that arrive meanwhile
 * wait for the next one, so a transaction never grows while events keep coming (at 1,000/s
 * joining late ones kept a transaction open for up to 64 of them). Each event still goes through
 * steps 1 and 2 on its own, in delivery order, and sees what the events before it wrote. If any
 * of them fails (tr_handling_done with an error, or a statement error), the whole transaction is
 * rolled back and its events are tried again after retry_ms, each in a transaction of its own,
 * so one bad event never holds back the others for long. Nothing is acknowledged before the
 * commit.
 *
 * Events are handled one at a time per handler, in delivery order (see `pipelined` for the
 * exception). Loop thread only.
 */
#ifndef TR_HANDLER_H
#define TR_HANDLER_H

#include <stdbool.h>

#include "bclient.h"
#include "pg.h"

typedef struct tr_handler tr_handler_t;
typedef struct tr_handling tr_handling_t; /* one event being handled */

/* event is valid until tr_handling_done. */
typedef void (*tr_handle_cb)(tr_handling_t *h, const Trivsel__Envelope *event, void *arg);

typedef struct tr_handler_options {
    const char *schema;       /* the service's schema, holding handled_event */
    const char *subscription; /* durable subscription name */
    const char *pattern;      /* subject pattern */
    uint32_t credit;          /* deliveries held at once; 0 = 64 */
    uint32_t ack_timeout_ms;  /* 0 = the broker's default */
    uint32_t retry_ms;        /* after a failed transaction, try the event again; 0 = 1000 */
    uint32_t batch;           /* events in one transaction at most (group commit); 0 = 64 */
    /* The service's handle_cb needs nothing from the C side of the events before it in the
     * transaction (only what they wrote, which its statements see, as they run after theirs):
     * the next event's handle_cb is then called as soon as the one before it returns, and a
     * transaction's statements go to the server without waiting for each other's results.
     * Events may then finish in any order; what they emit is written in delivery order. */
    bool pipelined;
} tr_handler_options_t;

int tr_handler_new(uv_loop_t *loop, tr_pg_t *pg, tr_bclient_t *client, const tr_handler_options_t *options,
                   tr_handle_cb cb, void *arg, tr_handler_t **out, tr_error_t *err);

/* A statement in the event's transaction (see tr_pg_txn_query). */
int tr_handling_query(tr_handling_t *h, const char *sql, int nparams, const char *const *values, tr_pg_result_cb cb,
                      void *arg);
/* Emits an event in the same transaction (the transaction's events are written to broker.outbox by one
 * statement before its COMMIT). ev must be complete (see tr_envelope_make). */
int tr_handling_emit(tr_handling_t *h, const Trivsel__Envelope *ev);
/* Ends the handling: error NULL commits (then acknowledges), with the events handled in the same
 * transaction; otherwise rolls back and the event is tried again after retry_ms, alone (a
 * transient failure: the database, not the event, was wrong).
 * An event that is itself wrong is not an error here: the service records or emits the refusal
 * and commits. */
void tr_handling_done(tr_handling_t *h, const char *error);
/* The delivery attempt (1 on first delivery). */
uint32_t tr_handling_attempt(const tr_handling_t *h);

/* Events handled (committed) and skipped as already handled, for tests and metrics. */
uint64_t tr_handler_handled(const tr_handler_t *h);
uint64_t tr_handler_skipped(const tr_handler_t *h);
/* True when no event is being handled or waiting. */
bool tr_handler_idle(const tr_handler_t *h);
void tr_handler_destroy(tr_handler_t **h);

/* Fills an envelope for an event this service emits: the type from the catalogue for subject,
 * payload packed from msg into *payload_buf (the caller frees it after use), occurred_at from
 * occurred (borrowed). event_id should be derived from what caused it (e.g. the input event's
 * id plus a suffix), so that emitting again yields the same id. Returns TR_EINVAL with err for
 * an unknown subject or a payload of the wrong type. */
int tr_envelope_make(Trivsel__Envelope *ev, const char *event_id, const char *subject, const char *municipality,
                     const char *correlation_id, Google__Protobuf__Timestamp *occurred, const ProtobufCMessage *msg,
                     uint8_t **payload_buf, tr_error_t *err);

#endif
