/* bclient.h — the broker client for C programs (services, trivselctl, tests): a DEALER socket
 * with CURVE in the libuv loop, speaking proto/PROTOCOL.md.
 *
 * Publishing is at-least-once from here and exactly-once in the log: a publish is kept and sent
 * again (same event id) until the broker acknowledges it, across broker restarts and
 * reconnections; the broker stores it once. Only a refusal that a retry cannot fix (invalid,
 * not permitted) ends a publish with an error.
 *
 * Subscriptions are re-established after a reconnect. Deliveries come with credit: the client
 * gives the broker `credit` deliveries at a time and gives one back with each tr_bclient_ack,
 * so at most `credit` unacknowledged deliveries are ever held.
 *
 * Loop thread only. Callbacks may call back into the client.
 */
#ifndef TR_BCLIENT_H
#define TR_BCLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "error.h"
#include "trivsel/broker.pb-c.h"
#include "trivsel/envelope.pb-c.h"

typedef struct tr_bclient tr_bclient_t;

typedef struct tr_bclient_options {
    const char *endpoint;          /* "tcp://127.0.0.1:7400" */
    const char *server_public_key; /* the broker's, Z85 (40 characters) */
    const char *secret_key;        /* this client's, Z85; its public key is derived */
    const char *client_name;       /* for the broker's logs and status */
    uint32_t retry_ms;             /* resend an unacknowledged publish after this; 0 = 2000 */
} tr_bclient_options_t;

/* A session began (Welcome); called again after every re-established session. */
typedef void (*tr_bclient_welcome_cb)(tr_bclient_t *c, const Trivsel__Broker__Welcome *w, void *arg);
/* A publish ended: stored (error NULL; position, duplicate) or refused for good (error). */
typedef void (*tr_bclient_published_cb)(tr_bclient_t *c, const char *event_id, uint64_t position, bool duplicate,
                                        const Trivsel__Broker__Error *error, void *arg);
/* An event. Acknowledge it with tr_bclient_ack once it is handled (event is borrowed). */
typedef void (*tr_bclient_delivery_cb)(tr_bclient_t *c, const char *subscription, const Trivsel__Envelope *event,
                                       uint32_t attempt, void *arg);
/* Errors that belong to no publish: a refused subscription, a refused key, ... */
typedef void (*tr_bclient_error_cb)(tr_bclient_t *c, const Trivsel__Broker__Error *error, void *arg);
typedef void (*tr_bclient_status_cb)(tr_bclient_t *c, const Trivsel__Broker__StatusReply *status, void *arg);

int tr_bclient_new(uv_loop_t *loop, const tr_bclient_options_t *options, tr_bclient_t **out, tr_error_t *err);
void tr_bclient_on_welcome(tr_bclient_t *c, tr_bclient_welcome_cb cb, void *arg);
void tr_bclient_on_error(tr_bclient_t *c, tr_bclient_error_cb cb, void *arg);

/* Queues ev (copied) until acknowledged; cb once at the end. The envelope needs event_id,
 * subject, type, municipality, occurred_at and payload. */
int tr_bclient_publish(tr_bclient_t *c, const Trivsel__Envelope *ev, tr_bclient_published_cb cb, void *arg);
/* Publishes ready-made envelope bytes (e.g. from JSON); event_id must be the envelope's. */
int tr_bclient_publish_raw(tr_bclient_t *c, const char *event_id, const uint8_t *envelope, size_t len,
                           tr_bclient_published_cb cb, void *arg);
size_t tr_bclient_pending(const tr_bclient_t *c);

int tr_bclient_subscribe(tr_bclient_t *c, const char *name, const char *pattern, uint32_t credit,
                         uint32_t ack_timeout_ms, Trivsel__Broker__StartAt start_at, tr_bclient_delivery_cb cb,
                         void *arg);
/* Acknowledges a delivery and gives its credit back (sent in batches, before the loop waits). */
void tr_bclient_ack(tr_bclient_t *c, const char *subscription, uint64_t position);
/* Leaves a subscription; delete also forgets its stored position. */
void tr_bclient_unsubscribe(tr_bclient_t *c, const char *subscription, bool delete_);
int tr_bclient_status(tr_bclient_t *c, tr_bclient_status_cb cb, void *arg);

/* Closes the socket and handles and frees c; unacknowledged publishes are dropped (their
 * callbacks are not called). closed_cb (may be NULL) when done. */
void tr_bclient_close(tr_bclient_t *c, void (*closed_cb)(void *arg), void *arg);

#endif
