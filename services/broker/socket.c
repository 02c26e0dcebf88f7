/* socket.c — the broker's ROUTER socket: CURVE on, every peer authenticated by zap.c; one
 * session per peer (routing id), begun with Hello; heartbeats; dispatch of the commands. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "broker.h"
#include "log.h"
#include "zwatch.h"

#define PROTOCOL_VERSION 1

/* ZMQ_ZAP_ENFORCE_DOMAIN is a draft option in libzmq 4.3's header; the library accepts it when
 * built with draft support. Without it, libzmq still sends every CURVE handshake to the ZAP
 * handler that zap.c binds before this socket exists, so the handler decides either way. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

session_t *socket_session(broker_t *b, const uint8_t *routing_id, size_t routing_len)
{
    for (session_t *s = b->sessions; s; s = s->next) {
        if (s->routing_len == routing_len && memcmp(s->routing_id, routing_id, routing_len) == 0)
            return s;
    }
    return NULL;
}

static void session_free(broker_t *b, session_t *s)
{
    for (session_t **pp = &b->sessions; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    subscription_session_gone(b, s);
    b->nsessions--;
    tr_metric_set(b->m.clients, (double)b->nsessions);
    free(s);
}

void socket_drop_principal(broker_t *b, const char *principal)
{
    for (session_t *s = b->sessions, *next; s; s = next) {
        next = s->next;
        if (strcmp(s->principal, principal) == 0) {
            tr_log_info("session closed: the principal's key is disabled", TR_LOG_STR("principal", principal));
            audit_refusal(b, principal, "disabled", "", "the key is disabled: its open session was closed");
            socket_send_error(b, s->routing_id, s->routing_len, TRIVSEL__BROKER__ERROR_CODE__ERROR_DISABLED, NULL,
                              NULL, "the key of principal %s is disabled", principal);
            session_free(b, s);
        }
    }
}

int socket_send_raw(broker_t *b, const uint8_t *routing_id, size_t routing_len, const uint8_t *data, size_t len)
{
    if (!b->router)
        return TR_ECLOSED;
    if (zmq_send(b->router, routing_id, routing_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(b->router, data, len, ZMQ_DONTWAIT) < 0) {
        /* EHOSTUNREACH: the peer is gone (ROUTER_MANDATORY says so instead of dropping
         * silently); EAGAIN: its queue is full. Either way the message is lost here: a
         * delivery is redelivered after its ack timeout, a reply is retried by the client. */
        tr_metric_inc(b->m.dropped_sends);
        return errno == EAGAIN ? TR_EAGAIN : TR_ECLOSED;
    }
    if (b->router_watch)
        tr_zwatch_kick(b->router_watch);
    return 0;
}

int socket_send(broker_t *b, const uint8_t *routing_id, size_t routing_len, const Trivsel__Broker__ServerMessage *msg)
{
    uint8_t stackbuf[4096];
    size_t len = trivsel__broker__server_message__get_packed_size(msg);
    uint8_t *buf = len <= sizeof stackbuf ? stackbuf : malloc(len);
    if (!buf)
        return TR_ENOMEM;
    trivsel__broker__server_message__pack(msg, buf);
    int rc = socket_send_raw(b, routing_id, routing_len, buf, len);
    if (buf != stackbuf)
        free(buf);
    return rc;
}

void socket_send_error(broker_t *b, const uint8_t *routing_id, size_t routing_len, Trivsel__Broker__ErrorCode code,
                       const char *event_id, const char *subscription, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    Trivsel__Broker__Error error = TRIVSEL__BROKER__ERROR__INIT;
    error.code = code;
    error.reason = reason;
    error.event_id = (char *)(event_id ? event_id : "");
    error.subscription = (char *)(subscription ? subscription : "");
    Trivsel__Broker__ServerMessage msg = TRIVSEL__BROKER__SERVER_MESSAGE__INIT;
    msg.reply_case = TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_ERROR;
    msg.error = &error;
    broker_count_refusal(b, code);
    socket_send(b, routing_id, routing_len, &msg);
}

void socket_refuse(broker_t *b, session_t *s, const char *action, const char *subject, const char *why,
                   const char *event_id, const char *subscription, const char *reason)
{
    tr_log_warn("request refused", TR_LOG_STR("principal", s->principal), TR_LOG_STR("action", action),
                TR_LOG_STR("subject", subject), TR_LOG_STR("reason", why));
    tr_metric_inc(tr_metrics_counter(b->metrics, "trivsel_broker_permission_refusals_total",
                                     "requests a principal may not make, by action and why", "action", action,
                                     "reason", why, NULL));
    char audit_action[32];
    snprintf(audit_action, sizeof audit_action, "%s_refused", action);
    audit_refusal(b, s->principal, audit_action, subject, reason);
    socket_send_error(b, s->routing_id, s->routing_len, TRIVSEL__BROKER__ERROR_CODE__ERROR_NOT_PERMITTED, event_id,
                      subscription, "%s", reason);
}

static void hello(broker_t *b, const uint8_t *rid, size_t rlen, const principal_t *p, const Trivsel__Broker__Hello *h)
{
    if (h->protocol_version != PROTOCOL_VERSION) {
        socket_send_error(b, rid, rlen, TRIVSEL__BROKER__ERROR_CODE__ERROR_PROTOCOL_VERSION, NULL, NULL,
                          "protocol version %u is not supported: this broker speaks version %d",
                          h->protocol_version, PROTOCOL_VERSION);
        return;
    }
    session_t *s = socket_session(b, rid, rlen);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return;
        memcpy(s->routing_id, rid, rlen);
        s->routing_len = rlen;
        s->next = b->sessions;
        b->sessions = s;
        b->nsessions++;
        tr_metric_set(b->m.clients, (double)b->nsessions);
    }
    snprintf(s->principal, sizeof s->principal, "%s", p->name);
    snprintf(s->client_name, sizeof s->client_name, "%s", h->client_name ? h->client_name : "");
    s->last_seen_ms = broker_now_ms(b);
    tr_log_info("session started", TR_LOG_STR("principal", p->name), TR_LOG_STR("client", s->client_name));
    Trivsel__Broker__Welcome w = TRIVSEL__BROKER__WELCOME__INIT;
    w.protocol_version = PROTOCOL_VERSION;
    w.principal = (char *)p->name;
    w.kind = p->kind;
    w.cvr = (char *)p->cvr;
    w.heartbeat_interval_ms = b->heartbeat_ms;
    w.max_event_bytes = b->max_event_bytes;
    Trivsel__Broker__ServerMessage msg = TRIVSEL__BROKER__SERVER_MESSAGE__INIT;
    msg.reply_case = TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_WELCOME;
    msg.welcome = &w;
    socket_send(b, rid, rlen, &msg);
}

static void handle(broker_t *b, const uint8_t *rid, size_t rlen, zmq_msg_t *body)
{
    const char *user_id = zmq_msg_gets(body, "User-Id");
    const principal_t *p = user_id ? principals_by_name(b, user_id) : NULL;
    if (!p || !p->enabled) {
        /* Its session was closed when the key was disabled; the connection outlived it. */
        audit_refusal(b, user_id ? user_id : "", "disabled", "", "a message on a disabled key's connection");
        socket_send_error(b, rid, rlen, TRIVSEL__BROKER__ERROR_CODE__ERROR_DISABLED, NULL, NULL,
                          "the key of principal %s is not enabled", user_id ? user_id : "(none)");
        return;
    }
    Trivsel__Broker__ClientMessage *cm =
        trivsel__broker__client_message__unpack(NULL, zmq_msg_size(body), zmq_msg_data(body));
    if (!cm) {
        tr_log_warn("malformed message refused", TR_LOG_STR("principal", p->name),
                    TR_LOG_INT("bytes", (long long)zmq_msg_size(body)));
        socket_send_error(b, rid, rlen, TRIVSEL__BROKER__ERROR_CODE__ERROR_MALFORMED, NULL, NULL,
                          "the frame (%zu bytes) is not a trivsel.broker.ClientMessage", zmq_msg_size(body));
        return;
    }
    if (cm->command_case == TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_HELLO) {
        hello(b, rid, rlen, p, cm->hello);
        goto out;
    }
    session_t *s = socket_session(b, rid, rlen);
    if (!s || strcmp(s->principal, p->name) != 0) {
        socket_send_error(b, rid, rlen, TRIVSEL__BROKER__ERROR_CODE__ERROR_HELLO_REQUIRED, NULL, NULL,
                          "no session: send Hello first");
        goto out;
    }
    s->last_seen_ms = broker_now_ms(b);
    switch (cm->command_case) {
    case TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_PUBLISH:
        if (!cm->publish->event) {
            socket_send_error(b, rid, rlen, TRIVSEL__BROKER__ERROR_CODE__ERROR_INVALID_ENVELOPE, NULL, NULL,
                              "Publish without an event");
            break;
        }
        publish_handle(b, s, p, cm->publish->event);
        break;
    case TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_SUBSCRIBE:
        subscription_subscribe(b, s, p, cm->subscribe);
        break;
    case TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_CREDIT:
        subscription_credit(b, s, cm->credit);
        break;
    case TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_ACK:
        subscription_ack(b, s, cm->ack);
        break;
    case TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_UNSUBSCRIBE:
        subscription_unsubscribe(b, s, cm->unsubscribe);
        break;
    case TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_PING: {
        Trivsel__Broker__Pong pong = TRIVSEL__BROKER__PONG__INIT;
        pong.nonce = cm->ping->nonce;
        Trivsel__Broker__ServerMessage msg = TRIVSEL__BROKER__SERVER_MESSAGE__INIT;
        msg.reply_case = TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_PONG;
        msg.pong = &pong;
        socket_send(b, rid, rlen, &msg);
        break;
    }
    case TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_STATUS:
        if (p->kind != TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_OPERATOR) {
            char reason[BROKER_NAME_MAX + 64];
            snprintf(reason, sizeof reason, "status is for operators; %s is not one", p->name);
            socket_refuse(b, s, "status", "", "not_operator", NULL, NULL, reason);
            break;
        }
        status_handle(b, s);
        break;
    default:
        socket_send_error(b, rid, rlen, TRIVSEL__BROKER__ERROR_CODE__ERROR_MALFORMED, NULL, NULL,
                          "the message holds no command");
        break;
    }
out:
    trivsel__broker__client_message__free_unpacked(cm, NULL);
}

/* Reads up to a batch of messages; zwatch calls again while more wait. */
static void readable_cb(void *arg)
{
    broker_t *b = arg;
    for (int i = 0; i < 256 && b->router && !b->draining; i++) {
        zmq_msg_t rid, body;
        zmq_msg_init(&rid);
        if (zmq_msg_recv(&rid, b->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&rid);
            return;
        }
        zmq_msg_init(&body);
        int ok = zmq_msg_more(&rid) && zmq_msg_recv(&body, b->router, ZMQ_DONTWAIT) >= 0;
        /* A peer that sends more than one frame breaks the protocol: drain and refuse. */
        bool extra = ok && zmq_msg_more(&body);
        while (ok && zmq_msg_more(&body)) {
            zmq_msg_t tail;
            zmq_msg_init(&tail);
            zmq_msg_recv(&tail, b->router, ZMQ_DONTWAIT);
            int more = zmq_msg_more(&tail);
            zmq_msg_close(&tail);
            if (!more)
                break;
        }
        if (ok && zmq_msg_size(&rid) <= BROKER_ROUTING_MAX) {
            if (extra)
                socket_send_error(b, zmq_msg_data(&rid), zmq_msg_size(&rid), TRIVSEL__BROKER__ERROR_CODE__ERROR_MALFORMED,
                                  NULL, NULL, "a message must be exactly one frame");
            else
                handle(b, zmq_msg_data(&rid), zmq_msg_size(&rid), &body);
        }
        zmq_msg_close(&body);
        zmq_msg_close(&rid);
    }
}

static void heartbeat_cb(uv_timer_t *t)
{
    broker_t *b = t->data;
    uint64_t now = broker_now_ms(b), limit = 3 * (uint64_t)b->heartbeat_ms;
    for (session_t *s = b->sessions, *next; s; s = next) {
        next = s->next;
        if (now - s->last_seen_ms > limit) {
            tr_log_info("session ended: no heartbeat", TR_LOG_STR("principal", s->principal),
                        TR_LOG_STR("client", s->client_name));
            session_free(b, s);
        }
    }
}

int socket_start(broker_t *b)
{
    int one = 1, zero = 0, hwm = 100000;
    int64_t maxmsg = (int64_t)b->max_event_bytes + 65536;
    b->router = zmq_socket(b->zctx, ZMQ_ROUTER);
    zmq_setsockopt(b->router, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(b->router, ZMQ_CURVE_SECRETKEY, b->secret_key, 40);
    zmq_setsockopt(b->router, ZMQ_ZAP_DOMAIN, "trivsel", 7);
    if (zmq_setsockopt(b->router, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) != 0)
        tr_log_info("ZMQ_ZAP_ENFORCE_DOMAIN not supported by this libzmq; the ZAP handler is bound first, "
                    "so every handshake still goes through it");
    zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(b->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    /* A frame far beyond the event limit is cut off by ZeroMQ itself (it disconnects the
     * peer); below that, publish_check refuses it with a reason. */
    zmq_setsockopt(b->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(b->router, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(b->router, b->endpoint) != 0) {
        tr_log_error("cannot bind the broker socket", TR_LOG_STR("endpoint", b->endpoint),
                     TR_LOG_STR("error", zmq_strerror(zmq_errno())));
        zmq_close(b->router);
        b->router = NULL;
        return TR_EIO;
    }
    /* With a wildcard port ("tcp://127.0.0.1:*") the kernel picks it: log the real one. */
    size_t eplen = sizeof b->endpoint;
    zmq_getsockopt(b->router, ZMQ_LAST_ENDPOINT, b->endpoint, &eplen);
    if (tr_zwatch_new(b->loop, b->router, readable_cb, b, &b->router_watch) != 0)
        return TR_EIO;
    uv_timer_init(b->loop, &b->heartbeat_timer);
    b->heartbeat_timer.data = b;
    uv_timer_start(&b->heartbeat_timer, heartbeat_cb, b->heartbeat_ms, b->heartbeat_ms);
    return 0;
}

void socket_stop(broker_t *b)
{
    if (b->router_watch) {
        tr_zwatch_close(b->router_watch, NULL, NULL);
        b->router_watch = NULL;
    }
    if (uv_is_active((uv_handle_t *)&b->heartbeat_timer) || b->heartbeat_timer.data)
        uv_close((uv_handle_t *)&b->heartbeat_timer, NULL);
    b->heartbeat_timer.data = NULL;
    while (b->sessions)
        session_free(b, b->sessions);
    if (b->router) {
        zmq_close(b->router);
        b->router = NULL;
    }
}
