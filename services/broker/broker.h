/* broker.h — the parts of trivsel-broker and what they share. One broker object lives for the
 * process; everything runs on its libuv loop. See proto/PROTOCOL.md for the protocol. */
#ifndef BROKER_H
#define BROKER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "daemon.h"
#include "trivsel/broker.pb-c.h"
#include "trivsel/envelope.pb-c.h"

#define BROKER_NAME_MAX 64
#define BROKER_ROUTING_MAX 32
#define BROKER_WINDOW 1024 /* events a subscription holds in memory: fetched, not yet acked */
/* Events in one group commit at most, and their bytes (a batch of big events stays a modest
 * statement): one transaction, one statement, one WAL flush for all of them. */
#define BROKER_PUBLISH_BATCH 2000
#define BROKER_PUBLISH_BATCH_BYTES (8 << 20)

typedef struct broker broker_t;
typedef struct session session_t;
typedef struct subscription subscription_t;
typedef struct consumer consumer_t;

/* principals.c — who may connect and what they may do, cached from broker.principal. */
typedef struct principal {
    char name[BROKER_NAME_MAX];
    Trivsel__Broker__PrincipalKind kind;
    char cvr[9];
    char public_key[41]; /* Z85 */
    bool enabled;
    char **publish, **subscribe; /* patterns */
    size_t npublish, nsubscribe;
} principal_t;

void principals_load(broker_t *b);  /* (re)reads the table; drops sessions of disabled keys */
const principal_t *principals_by_key(const broker_t *b, const char *z85_key);
const principal_t *principals_by_name(const broker_t *b, const char *name);
/* 0 when allowed; else fills reason (for the client) and returns TR_EPERM. */
int principals_may_publish(const principal_t *p, const char *subject, char *reason, size_t len);
int principals_may_subscribe(const principal_t *p, const char *pattern, char *reason, size_t len);
/* Why a publish or subscribe was refused, as a metric label: "not_own_cvr" (a supplier on a
 * subject or pattern not ending in its CVR) or "not_granted" (no grant covers it). */
const char *principals_why_refused(const principal_t *p, const char *subject_or_pattern);
void principals_free(broker_t *b);

/* zap.c — the ZAP handler at inproc://zeromq.zap.01 answering from the principals cache. */
int zap_start(broker_t *b);
void zap_stop(broker_t *b);

/* socket.c — the ROUTER socket, sessions and heartbeats. */
struct session {
    session_t *next;
    uint8_t routing_id[BROKER_ROUTING_MAX];
    size_t routing_len;
    char principal[BROKER_NAME_MAX];
    char client_name[BROKER_NAME_MAX];
    uint64_t last_seen_ms;
    consumer_t *consumers; /* this session's consumers, linked through next_in_session */
};
int socket_start(broker_t *b);
void socket_stop(broker_t *b);
/* Sends one ServerMessage (or raw bytes already encoded) to a session / routing id. Returns 0,
 * or a negative code when the peer is gone or its queue is full (the message is dropped and
 * counted; deliveries are redelivered, replies are retried by the client). */
int socket_send(broker_t *b, const uint8_t *routing_id, size_t routing_len, const Trivsel__Broker__ServerMessage *msg);
int socket_send_raw(broker_t *b, const uint8_t *routing_id, size_t routing_len, const uint8_t *data, size_t len);
/* Counts the error by code (trivsel_broker_refusals_total) and sends it; auditing is the caller's. */
void socket_send_error(broker_t *b, const uint8_t *routing_id, size_t routing_len,
                       Trivsel__Broker__ErrorCode code, const char *event_id, const char *subscription,
                       const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* A request the session's principal may not make (action "publish", "subscribe" or "status" on
 * subject, a subject or pattern; why: the metric label): answered ERROR_NOT_PERMITTED with the
 * reason, counted in trivsel_broker_permission_refusals_total{action,reason} and audited as
 * "<action>_refused". */
void socket_refuse(broker_t *b, session_t *s, const char *action, const char *subject, const char *why,
                   const char *event_id, const char *subscription, const char *reason);
session_t *socket_session(broker_t *b, const uint8_t *routing_id, size_t routing_len);
void socket_drop_principal(broker_t *b, const char *principal);

/* publish.c — checks an envelope and writes it to the log with group commit. */
void publish_handle(broker_t *b, session_t *s, const principal_t *p, Trivsel__Envelope *event);
/* Checks an envelope from a principal; 0 or a protocol error code with reason. Fills in the
 * broker's fields (publisher, published_at) on success. */
Trivsel__Broker__ErrorCode publish_check(broker_t *b, const principal_t *p, const char *publisher,
                                         Trivsel__Envelope *event, char *reason, size_t len);
/* Queues an already checked, re-encoded envelope for the log; cb gets the position. outbox_id:
 * the broker.outbox row it comes from, deleted in the transaction that stores it (NULL for a
 * client's publish). */
typedef void (*publish_done_cb)(broker_t *b, void *arg, uint64_t position, bool duplicate, const char *error);
void publish_enqueue(broker_t *b, const Trivsel__Envelope *event, const char *outbox_id, publish_done_cb cb,
                     void *arg);
void publish_stop(broker_t *b);
bool publish_idle(const broker_t *b);

/* outbox.c — moves the services' outbox rows into the log. */
void outbox_start(broker_t *b);
void outbox_wake(broker_t *b);
bool outbox_idle(const broker_t *b);
void outbox_stop(broker_t *b);

/* subscription.c — durable subscriptions: delivery, credit, acks, redelivery. */
struct consumer {
    consumer_t *next_in_sub, *next_in_session;
    subscription_t *sub;
    session_t *session;
    uint32_t credit;
    bool audited; /* an outside principal: each delivery is audited before it is sent */
};
void subscription_subscribe(broker_t *b, session_t *s, const principal_t *p, const Trivsel__Broker__Subscribe *req);
void subscription_credit(broker_t *b, session_t *s, const Trivsel__Broker__Credit *req);
void subscription_ack(broker_t *b, session_t *s, const Trivsel__Broker__Ack *req);
void subscription_unsubscribe(broker_t *b, session_t *s, const Trivsel__Broker__Unsubscribe *req);
/* A session ended: its consumers go, their unacknowledged deliveries are redelivered. */
void subscription_session_gone(broker_t *b, session_t *s);
/* New events were committed up to position: wake the subscriptions that wait for them. */
void subscription_new_events(broker_t *b, uint64_t position);
void subscription_start(broker_t *b);
void subscription_stop(broker_t *b);
bool subscription_idle(const broker_t *b);
void subscription_status(broker_t *b, Trivsel__Broker__StatusReply *reply); /* in-memory part */

/* audit.c — rows in broker.audit: deliveries to outside principals (sent only once their row
 * is committed) and refused attempts. */
void audit_start(broker_t *b);
void audit_refusal(broker_t *b, const char *principal, const char *action, const char *subject, const char *detail);
void audit_delivery(broker_t *b, const char *principal, const uint8_t *envelope, size_t len, uint64_t position,
                    const char *sub_principal, const char *sub_name, const uint8_t *routing_id, size_t routing_len);
bool audit_idle(const broker_t *b);
void audit_drain(broker_t *b); /* writes what waits now */
void audit_stop(broker_t *b);
/* subscription.c: sends a delivery whose audit row is committed, if it is still this session's. */
void subscription_send_audited(broker_t *b, const char *principal, const char *name, uint64_t position,
                               const uint8_t *routing_id, size_t routing_len);

/* status.c — StatusRequest: subscriptions with positions and backlog, connected clients. */
void status_handle(broker_t *b, session_t *s);
void status_start(broker_t *b); /* refreshes the backlog gauges every 15 s */
void status_stop(broker_t *b);

typedef struct broker_metrics {
    tr_metric_t *publishes, *acks, *duplicates, *deliveries, *redeliveries, *consumer_acks;
    tr_metric_t *clients, *outbox_moved, *outbox_refused, *dropped_sends;
} broker_metrics_t;

struct broker {
    tr_daemon_t *daemon;
    uv_loop_t *loop;
    /* Three connections, so that no one waits behind another's commit: pg writes the log
     * (publishes, outbox moves) and everything else; reader reads the log for deliveries and
     * the status; auditor writes broker.audit, whose commit a delivery waits for. */
    tr_pg_t *pg, *reader, *auditor;
    int open_connections; /* of reader and auditor, while they close at the end */
    bool stopped;         /* drained: everything stopped, the connections closing */
    tr_metrics_t *metrics;
    broker_metrics_t m;
    /* configuration */
    char endpoint[256];
    char secret_key[41]; /* Z85; never logged */
    char public_key[41];
    uint32_t max_event_bytes;
    uint32_t heartbeat_ms;
    uint64_t outbox_sweep_ms;
    /* ZeroMQ */
    void *zctx, *router, *zap;
    struct tr_zwatch *router_watch, *zap_watch;
    uv_timer_t heartbeat_timer;
    session_t *sessions;
    size_t nsessions;
    /* principals */
    principal_t *principals;
    size_t nprincipals;
    bool principals_loaded, principals_loading, principals_reload;
    /* the log */
    uint64_t log_position; /* highest committed position known */
    struct publish_state *publish;
    struct outbox_state *outbox;
    struct audit_state *audit;
    subscription_t *subscriptions;
    uv_timer_t redelivery_timer;
    uv_timer_t status_timer;
    bool draining;
};

/* Counts a refusal by reason (trivsel_broker_refusals_total{reason=...}). */
void broker_count_refusal(broker_t *b, Trivsel__Broker__ErrorCode code);
const char *broker_error_name(Trivsel__Broker__ErrorCode code);
uint64_t broker_now_ms(const broker_t *b);
/* Binds the socket (once the principals are loaded). */
int broker_open(broker_t *b);
/* Called by the parts when their in-flight work ends, to finish a drain. */
void broker_check_drained(broker_t *b);

#endif
