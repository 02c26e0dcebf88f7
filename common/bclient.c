#include "bclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "log.h"
#include "zwatch.h"

#define PROTOCOL_VERSION 1
#define TICK_MS 100

typedef struct pending_pub {
    struct pending_pub *next;
    char *event_id;
    uint8_t *bytes;
    size_t len;
    uint64_t sent_ms; /* 0: not sent in this session yet */
    tr_bclient_published_cb cb;
    void *arg;
} pending_pub_t;

typedef struct sub {
    struct sub *next;
    char *name, *pattern;
    uint32_t credit, ack_timeout_ms;
    Trivsel__Broker__StartAt start_at;
    tr_bclient_delivery_cb cb;
    void *arg;
    uint64_t *acks; /* acknowledged positions not yet sent */
    size_t nacks, cap;
    uint32_t credit_owed; /* credit to give back, not yet sent */
} sub_t;

struct tr_bclient {
    uv_loop_t *loop;
    void *zctx, *sock, *monitor;
    tr_zwatch_t *watch, *monitor_watch;
    uv_timer_t timer;
    uv_prepare_t flush;
    char *endpoint, *client_name;
    uint32_t retry_ms, heartbeat_ms;
    bool welcomed;
    uint64_t hello_sent_ms, last_recv_ms, last_send_ms;
    pending_pub_t *pending;
    size_t npending;
    sub_t *subs;
    tr_bclient_welcome_cb welcome_cb;
    void *welcome_arg;
    tr_bclient_error_cb error_cb;
    void *error_arg;
    tr_bclient_status_cb status_cb;
    void *status_arg;
    int open_handles;
    bool closing;
    void (*closed_cb)(void *arg);
    void *closed_arg;
};

static uint64_t now_ms(tr_bclient_t *c)
{
    return uv_now(c->loop);
}

static int send_bytes(tr_bclient_t *c, const uint8_t *buf, size_t len)
{
    if (zmq_send(c->sock, buf, len, ZMQ_DONTWAIT) < 0)
        return TR_EAGAIN; /* no connection (ZMQ_IMMEDIATE) or queue full: the caller retries */
    c->last_send_ms = now_ms(c);
    tr_zwatch_kick(c->watch);
    return 0;
}

static int send_msg(tr_bclient_t *c, const Trivsel__Broker__ClientMessage *msg)
{
    uint8_t stackbuf[2048];
    size_t len = trivsel__broker__client_message__get_packed_size(msg);
    uint8_t *buf = len <= sizeof stackbuf ? stackbuf : malloc(len);
    if (!buf)
        return TR_ENOMEM;
    trivsel__broker__client_message__pack(msg, buf);
    int rc = send_bytes(c, buf, len);
    if (buf != stackbuf)
        free(buf);
    return rc;
}

static void send_hello(tr_bclient_t *c)
{
    Trivsel__Broker__Hello hello = TRIVSEL__BROKER__HELLO__INIT;
    hello.protocol_version = PROTOCOL_VERSION;
    hello.client_name = c->client_name;
    Trivsel__Broker__ClientMessage msg = TRIVSEL__BROKER__CLIENT_MESSAGE__INIT;
    msg.command_case = TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_HELLO;
    msg.hello = &hello;
    c->hello_sent_ms = now_ms(c);
    send_msg(c, &msg);
}

/* A Publish message is field 2 (Publish) holding field 1 (Envelope): encoded around the
 * stored envelope bytes so a retry resends exactly the same event. */
static int send_publish(tr_bclient_t *c, pending_pub_t *p)
{
    uint8_t hdr[24];
    size_t h = 0, inner = 1 + 10 + p->len;
    uint8_t inner_hdr[12];
    size_t ih = 0;
    inner_hdr[ih++] = (1 << 3) | 2;
    for (uint64_t v = p->len; ; v >>= 7) {
        inner_hdr[ih++] = (uint8_t)(v >= 0x80 ? (v | 0x80) : v);
        if (v < 0x80)
            break;
    }
    inner = ih + p->len;
    hdr[h++] = (2 << 3) | 2;
    for (uint64_t v = inner; ; v >>= 7) {
        hdr[h++] = (uint8_t)(v >= 0x80 ? (v | 0x80) : v);
        if (v < 0x80)
            break;
    }
    size_t total = h + ih + p->len;
    uint8_t *buf = malloc(total);
    if (!buf)
        return TR_ENOMEM;
    memcpy(buf, hdr, h);
    memcpy(buf + h, inner_hdr, ih);
    memcpy(buf + h + ih, p->bytes, p->len);
    int rc = send_bytes(c, buf, total);
    free(buf);
    if (rc == 0)
        p->sent_ms = now_ms(c);
    return rc;
}

static void send_subscribe(tr_bclient_t *c, sub_t *s)
{
    Trivsel__Broker__Subscribe req = TRIVSEL__BROKER__SUBSCRIBE__INIT;
    req.name = s->name;
    req.pattern = s->pattern;
    req.credit = s->credit;
    req.ack_timeout_ms = s->ack_timeout_ms;
    req.start_at = s->start_at;
    Trivsel__Broker__ClientMessage msg = TRIVSEL__BROKER__CLIENT_MESSAGE__INIT;
    msg.command_case = TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_SUBSCRIBE;
    msg.subscribe = &req;
    /* The subscription starts again with full credit, so credit owed is forgiven; pending
     * acknowledgements are kept and sent (the broker ignores those it no longer holds). */
    s->credit_owed = 0;
    send_msg(c, &msg);
}

static pending_pub_t *take_pending(tr_bclient_t *c, const char *event_id)
{
    for (pending_pub_t **pp = &c->pending; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->event_id, event_id) == 0) {
            pending_pub_t *p = *pp;
            *pp = p->next;
            c->npending--;
            return p;
        }
    }
    return NULL;
}

static void pending_free(pending_pub_t *p)
{
    free(p->event_id);
    free(p->bytes);
    free(p);
}

static sub_t *find_sub(tr_bclient_t *c, const char *name)
{
    for (sub_t *s = c->subs; s; s = s->next) {
        if (strcmp(s->name, name) == 0)
            return s;
    }
    return NULL;
}

static void report_error(tr_bclient_t *c, const Trivsel__Broker__Error *e)
{
    if (c->error_cb)
        c->error_cb(c, e, c->error_arg);
    else
        tr_log_warn("broker error", TR_LOG_STR("code", protobuf_c_enum_descriptor_get_value(
                                                           &trivsel__broker__error_code__descriptor, e->code)
                                                           ? protobuf_c_enum_descriptor_get_value(
                                                                 &trivsel__broker__error_code__descriptor, e->code)
                                                                 ->name
                                                           : "?"),
                    TR_LOG_STR("reason", e->reason));
}

static void on_error(tr_bclient_t *c, const Trivsel__Broker__Error *e)
{
    if (e->code == TRIVSEL__BROKER__ERROR_CODE__ERROR_HELLO_REQUIRED) {
        c->welcomed = false;
        if (now_ms(c) - c->hello_sent_ms >= 200)
            send_hello(c);
        return;
    }
    if (e->event_id && e->event_id[0]) {
        if (e->code == TRIVSEL__BROKER__ERROR_CODE__ERROR_UNAVAILABLE)
            return; /* kept: the retry timer sends it again */
        pending_pub_t *p = take_pending(c, e->event_id);
        if (p) {
            if (p->cb)
                p->cb(c, p->event_id, 0, false, e, p->arg);
            pending_free(p);
            return;
        }
    }
    report_error(c, e);
}

static void on_message(tr_bclient_t *c, const uint8_t *data, size_t len)
{
    Trivsel__Broker__ServerMessage *m = trivsel__broker__server_message__unpack(NULL, len, data);
    if (!m) {
        tr_log_warn("malformed message from the broker ignored", TR_LOG_INT("bytes", (long long)len));
        return;
    }
    c->last_recv_ms = now_ms(c);
    switch (m->reply_case) {
    case TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_WELCOME:
        c->welcomed = true;
        c->heartbeat_ms = m->welcome->heartbeat_interval_ms ? m->welcome->heartbeat_interval_ms : 5000;
        for (sub_t *s = c->subs; s; s = s->next)
            send_subscribe(c, s);
        for (pending_pub_t *p = c->pending; p; p = p->next)
            send_publish(c, p);
        if (c->welcome_cb)
            c->welcome_cb(c, m->welcome, c->welcome_arg);
        break;
    case TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_PUBLISH_ACK: {
        pending_pub_t *p = take_pending(c, m->publish_ack->event_id);
        if (p) {
            if (p->cb)
                p->cb(c, p->event_id, m->publish_ack->position, m->publish_ack->duplicate, NULL, p->arg);
            pending_free(p);
        }
        break;
    }
    case TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_DELIVERY: {
        sub_t *s = find_sub(c, m->delivery->subscription);
        if (s && m->delivery->event)
            s->cb(c, s->name, m->delivery->event, m->delivery->attempt, s->arg);
        break;
    }
    case TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_ERROR:
        on_error(c, m->error);
        break;
    case TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_STATUS:
        if (c->status_cb) {
            tr_bclient_status_cb cb = c->status_cb;
            c->status_cb = NULL;
            cb(c, m->status, c->status_arg);
        }
        break;
    default:
        break; /* Subscribed, Pong: the session is alive, nothing else to do */
    }
    trivsel__broker__server_message__free_unpacked(m, NULL);
}

static void readable_cb(void *arg)
{
    tr_bclient_t *c = arg;
    for (int i = 0; i < 256 && !c->closing; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, c->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        on_message(c, zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
    }
}

/* Socket events: a finished handshake starts a session at once; a refused key is reported
 * (the broker's ZAP handler answers 400 and ZeroMQ would otherwise retry silently). */
static void monitor_cb(void *arg)
{
    tr_bclient_t *c = arg;
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, c->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        zmq_msg_init(&addr);
        zmq_msg_recv(&addr, c->monitor, ZMQ_DONTWAIT);
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&ev) >= 6) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
        }
        zmq_msg_close(&ev);
        zmq_msg_close(&addr);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            send_hello(c);
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
            c->welcomed = false;
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            char reason[160];
            snprintf(reason, sizeof reason,
                     "the broker refused this client's key (ZAP status %u): the key is unknown or disabled", value);
            Trivsel__Broker__Error e = TRIVSEL__BROKER__ERROR__INIT;
            e.code = TRIVSEL__BROKER__ERROR_CODE__ERROR_NOT_PERMITTED;
            e.reason = reason;
            report_error(c, &e);
        }
    }
}

static void tick_cb(uv_timer_t *t)
{
    tr_bclient_t *c = t->data;
    uint64_t now = now_ms(c);
    if (!c->welcomed) {
        if (now - c->hello_sent_ms >= 1000)
            send_hello(c);
        return;
    }
    for (pending_pub_t *p = c->pending; p; p = p->next) {
        if (!p->sent_ms || now - p->sent_ms >= c->retry_ms)
            send_publish(c, p);
    }
    if (now - c->last_send_ms >= c->heartbeat_ms) {
        Trivsel__Broker__Ping ping = TRIVSEL__BROKER__PING__INIT;
        ping.nonce = now;
        Trivsel__Broker__ClientMessage msg = TRIVSEL__BROKER__CLIENT_MESSAGE__INIT;
        msg.command_case = TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_PING;
        msg.ping = &ping;
        send_msg(c, &msg);
    }
    /* Silence for three heartbeats: the broker may have restarted and forgotten us. */
    if (now - c->last_recv_ms > 3 * (uint64_t)c->heartbeat_ms) {
        c->welcomed = false;
        send_hello(c);
    }
}

/* Before the loop waits: send the acknowledgements and credit gathered this turn. */
static void flush_cb(uv_prepare_t *h)
{
    tr_bclient_t *c = h->data;
    if (!c->welcomed)
        return;
    for (sub_t *s = c->subs; s; s = s->next) {
        if (s->nacks) {
            Trivsel__Broker__Ack ack = TRIVSEL__BROKER__ACK__INIT;
            ack.subscription = s->name;
            ack.positions = s->acks;
            ack.n_positions = s->nacks;
            Trivsel__Broker__ClientMessage msg = TRIVSEL__BROKER__CLIENT_MESSAGE__INIT;
            msg.command_case = TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_ACK;
            msg.ack = &ack;
            if (send_msg(c, &msg) == 0)
                s->nacks = 0;
        }
        if (s->credit_owed) {
            Trivsel__Broker__Credit credit = TRIVSEL__BROKER__CREDIT__INIT;
            credit.subscription = s->name;
            credit.credit = s->credit_owed;
            Trivsel__Broker__ClientMessage msg = TRIVSEL__BROKER__CLIENT_MESSAGE__INIT;
            msg.command_case = TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_CREDIT;
            msg.credit = &credit;
            if (send_msg(c, &msg) == 0)
                s->credit_owed = 0;
        }
    }
}

int tr_bclient_new(uv_loop_t *loop, const tr_bclient_options_t *o, tr_bclient_t **out, tr_error_t *err)
{
    char public_key[41];
    int rc = 0;
    *out = NULL;
    if (!o->secret_key || strlen(o->secret_key) != 40 || zmq_curve_public(public_key, o->secret_key) != 0)
        return tr_error_set(err, TR_EINVAL, "invalid client secret key: must be a Z85 CURVE key of 40 characters");
    if (!o->server_public_key || strlen(o->server_public_key) != 40)
        return tr_error_set(err, TR_EINVAL, "invalid broker public key \"%.60s\": must be 40 Z85 characters",
                            o->server_public_key ? o->server_public_key : "");
    tr_bclient_t *c = calloc(1, sizeof *c);
    if (!c)
        return tr_error_set(err, TR_ENOMEM, "out of memory");
    c->loop = loop;
    c->endpoint = strdup(o->endpoint);
    c->client_name = strdup(o->client_name ? o->client_name : "");
    c->retry_ms = o->retry_ms ? o->retry_ms : 2000;
    c->heartbeat_ms = 5000;
    c->zctx = zmq_ctx_new();
    c->sock = zmq_socket(c->zctx, ZMQ_DEALER);
    int one = 1, zero = 0, ivl = 100, ivl_max = 2000;
    zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, o->server_public_key, 40);
    zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, public_key, 40);
    zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, o->secret_key, 40);
    /* Queue only on a finished connection: a message never sits in the pipe of a dead one. */
    zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(c->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(c->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    char monitor_ep[64];
    snprintf(monitor_ep, sizeof monitor_ep, "inproc://bclient-monitor-%p", (void *)c);
    zmq_socket_monitor(c->sock, monitor_ep,
                       ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_DISCONNECTED);
    c->monitor = zmq_socket(c->zctx, ZMQ_PAIR);
    zmq_setsockopt(c->monitor, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(c->monitor, monitor_ep);
    if (zmq_connect(c->sock, c->endpoint) != 0) {
        rc = tr_error_set(err, TR_EINVAL, "invalid broker endpoint \"%s\": %s", c->endpoint,
                          zmq_strerror(zmq_errno()));
        zmq_close(c->monitor);
        zmq_close(c->sock);
        zmq_ctx_term(c->zctx);
        free(c->endpoint);
        free(c->client_name);
        free(c);
        return rc;
    }
    tr_zwatch_new(loop, c->sock, readable_cb, c, &c->watch);
    tr_zwatch_new(loop, c->monitor, monitor_cb, c, &c->monitor_watch);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, tick_cb, TICK_MS, TICK_MS);
    uv_prepare_init(loop, &c->flush);
    c->flush.data = c;
    uv_prepare_start(&c->flush, flush_cb);
    *out = c;
    return 0;
}

void tr_bclient_on_welcome(tr_bclient_t *c, tr_bclient_welcome_cb cb, void *arg)
{
    c->welcome_cb = cb;
    c->welcome_arg = arg;
}

void tr_bclient_on_error(tr_bclient_t *c, tr_bclient_error_cb cb, void *arg)
{
    c->error_cb = cb;
    c->error_arg = arg;
}

int tr_bclient_publish_raw(tr_bclient_t *c, const char *event_id, const uint8_t *envelope, size_t len,
                           tr_bclient_published_cb cb, void *arg)
{
    if (c->closing)
        return TR_ECLOSED;
    pending_pub_t *p = calloc(1, sizeof *p);
    if (!p)
        return TR_ENOMEM;
    p->event_id = strdup(event_id);
    p->bytes = malloc(len ? len : 1);
    if (!p->event_id || !p->bytes) {
        pending_free(p);
        return TR_ENOMEM;
    }
    memcpy(p->bytes, envelope, len);
    p->len = len;
    p->cb = cb;
    p->arg = arg;
    /* Appended, so publishes go out in the order they were made. */
    pending_pub_t **tail = &c->pending;
    while (*tail)
        tail = &(*tail)->next;
    *tail = p;
    c->npending++;
    if (c->welcomed)
        send_publish(c, p);
    return 0;
}

int tr_bclient_publish(tr_bclient_t *c, const Trivsel__Envelope *ev, tr_bclient_published_cb cb, void *arg)
{
    size_t len = trivsel__envelope__get_packed_size(ev);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return TR_ENOMEM;
    trivsel__envelope__pack(ev, buf);
    int rc = tr_bclient_publish_raw(c, ev->event_id, buf, len, cb, arg);
    free(buf);
    return rc;
}

size_t tr_bclient_pending(const tr_bclient_t *c)
{
    return c->npending;
}

int tr_bclient_subscribe(tr_bclient_t *c, const char *name, const char *pattern, uint32_t credit,
                         uint32_t ack_timeout_ms, Trivsel__Broker__StartAt start_at, tr_bclient_delivery_cb cb,
                         void *arg)
{
    if (find_sub(c, name))
        return TR_EEXIST;
    sub_t *s = calloc(1, sizeof *s);
    if (!s)
        return TR_ENOMEM;
    s->name = strdup(name);
    s->pattern = strdup(pattern);
    s->credit = credit ? credit : 1;
    s->ack_timeout_ms = ack_timeout_ms;
    s->start_at = start_at;
    s->cb = cb;
    s->arg = arg;
    s->next = c->subs;
    c->subs = s;
    if (c->welcomed)
        send_subscribe(c, s);
    return 0;
}

void tr_bclient_ack(tr_bclient_t *c, const char *subscription, uint64_t position)
{
    sub_t *s = find_sub(c, subscription);
    if (!s)
        return;
    if (s->nacks == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        uint64_t *acks = realloc(s->acks, cap * sizeof *acks);
        if (!acks)
            return;
        s->acks = acks;
        s->cap = cap;
    }
    s->acks[s->nacks++] = position;
    s->credit_owed++;
}

void tr_bclient_unsubscribe(tr_bclient_t *c, const char *subscription, bool delete_)
{
    for (sub_t **pp = &c->subs; *pp; pp = &(*pp)->next) {
        sub_t *s = *pp;
        if (strcmp(s->name, subscription) != 0)
            continue;
        flush_cb(&c->flush);
        Trivsel__Broker__Unsubscribe req = TRIVSEL__BROKER__UNSUBSCRIBE__INIT;
        req.subscription = s->name;
        req.delete_ = delete_;
        Trivsel__Broker__ClientMessage msg = TRIVSEL__BROKER__CLIENT_MESSAGE__INIT;
        msg.command_case = TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_UNSUBSCRIBE;
        msg.unsubscribe = &req;
        send_msg(c, &msg);
        *pp = s->next;
        free(s->name);
        free(s->pattern);
        free(s->acks);
        free(s);
        return;
    }
}

int tr_bclient_status(tr_bclient_t *c, tr_bclient_status_cb cb, void *arg)
{
    Trivsel__Broker__StatusRequest req = TRIVSEL__BROKER__STATUS_REQUEST__INIT;
    Trivsel__Broker__ClientMessage msg = TRIVSEL__BROKER__CLIENT_MESSAGE__INIT;
    msg.command_case = TRIVSEL__BROKER__CLIENT_MESSAGE__COMMAND_STATUS;
    msg.status = &req;
    c->status_cb = cb;
    c->status_arg = arg;
    return send_msg(c, &msg);
}

static void handle_closed_cb(uv_handle_t *h)
{
    tr_bclient_t *c = h->data;
    if (--c->open_handles > 0)
        return;
    void (*cb)(void *) = c->closed_cb;
    void *arg = c->closed_arg;
    /* Give what was sent last (acknowledgements, an Unsubscribe) half a second to leave. */
    int linger = 500;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(c->monitor);
    zmq_close(c->sock);
    zmq_ctx_term(c->zctx);
    while (c->pending) {
        pending_pub_t *p = c->pending;
        c->pending = p->next;
        pending_free(p);
    }
    while (c->subs) {
        sub_t *s = c->subs;
        c->subs = s->next;
        free(s->name);
        free(s->pattern);
        free(s->acks);
        free(s);
    }
    free(c->endpoint);
    free(c->client_name);
    free(c);
    if (cb)
        cb(arg);
}

static void watch_closed_cb(void *arg)
{
    tr_bclient_t *c = arg;
    uv_handle_t fake = {.data = c};
    handle_closed_cb(&fake);
}

void tr_bclient_close(tr_bclient_t *c, void (*closed_cb)(void *arg), void *arg)
{
    if (c->closing)
        return;
    flush_cb(&c->flush); /* last acknowledgements go out */
    c->closing = true;
    c->closed_cb = closed_cb;
    c->closed_arg = arg;
    c->open_handles = 4;
    zmq_socket_monitor(c->sock, NULL, 0);
    tr_zwatch_close(c->watch, watch_closed_cb, c);
    tr_zwatch_close(c->monitor_watch, watch_closed_cb, c);
    uv_close((uv_handle_t *)&c->timer, handle_closed_cb);
    uv_close((uv_handle_t *)&c->flush, handle_closed_cb);
}
