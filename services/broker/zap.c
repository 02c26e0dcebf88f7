/* zap.c — the ZAP handler (RFC 27) that decides who may connect. Without it a CURVE server lets
 * in anyone who knows the server's public key; with it, only keys registered and enabled in
 * broker.principal get in, and ZeroMQ stamps every message with the principal's name as its
 * User-Id, which is the only identity the broker trusts. Answers come from the in-memory
 * cache, so the handshake never waits for the database. */
#include <string.h>
#include <zmq.h>

#include "broker.h"
#include "log.h"
#include "zwatch.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

static int recv_frames(void *sock, zmq_msg_t *frames, int max, int *n)
{
    *n = 0;
    int more = 1;
    while (more) {
        zmq_msg_t tmp;
        zmq_msg_init(&tmp);
        if (zmq_msg_recv(&tmp, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&tmp);
            return -1;
        }
        more = zmq_msg_more(&tmp);
        if (*n < max)
            frames[(*n)++] = tmp;
        else
            zmq_msg_close(&tmp);
    }
    return 0;
}

static void reply(void *sock, zmq_msg_t *request_id, const char *code, const char *text, const char *user_id)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, zmq_msg_data(request_id), zmq_msg_size(request_id), ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user_id, strlen(user_id), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

static void readable_cb(void *arg)
{
    broker_t *b = arg;
    for (int batch = 0; batch < 64; batch++) {
        zmq_msg_t f[8];
        int n;
        if (recv_frames(b->zap, f, 8, &n) < 0)
            break;
        /* version, request id, domain, address, identity, mechanism, client key */
        if (n < 6) {
            tr_log_warn("malformed ZAP request");
        } else if (n < 7 || zmq_msg_size(&f[5]) != 5 || memcmp(zmq_msg_data(&f[5]), "CURVE", 5) != 0 ||
                   zmq_msg_size(&f[6]) != 32) {
            reply(b->zap, &f[1], "400", "CURVE required", "");
            broker_count_refusal(b, TRIVSEL__BROKER__ERROR_CODE__ERROR_NOT_PERMITTED);
        } else {
            char key[41], address[64];
            zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
            snprintf(address, sizeof address, "%.*s", (int)zmq_msg_size(&f[3]), (const char *)zmq_msg_data(&f[3]));
            const principal_t *p = principals_by_key(b, key);
            if (p && p->enabled) {
                reply(b->zap, &f[1], "200", "OK", p->name);
            } else {
                reply(b->zap, &f[1], "400", p ? "key disabled" : "unknown key", "");
                tr_log_warn("connection refused", TR_LOG_STR("reason", p ? "key disabled" : "unknown key"),
                            TR_LOG_STR("public_key", key), TR_LOG_STR("address", address));
                char detail[160];
                snprintf(detail, sizeof detail, "%s from %s, key %s", p ? "key disabled" : "unknown key", address, key);
                audit_refusal(b, p ? p->name : "", "connection_refused", "", detail);
                tr_metric_inc(tr_metrics_counter(b->metrics, "trivsel_broker_connections_refused_total",
                                                 "CURVE handshakes refused by the ZAP handler", "reason",
                                                 p ? "key_disabled" : "unknown_key", NULL));
            }
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
}

int zap_start(broker_t *b)
{
    b->zctx = zmq_ctx_new();
    b->zap = zmq_socket(b->zctx, ZMQ_REP);
    int linger = 0;
    zmq_setsockopt(b->zap, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(b->zap, ZAP_ENDPOINT) != 0) {
        tr_log_error("cannot bind the ZAP handler", TR_LOG_STR("error", zmq_strerror(zmq_errno())));
        return TR_EIO;
    }
    return tr_zwatch_new(b->loop, b->zap, readable_cb, b, &b->zap_watch) == 0 ? 0 : TR_EIO;
}

void zap_stop(broker_t *b)
{
    if (b->zap_watch) {
        tr_zwatch_close(b->zap_watch, NULL, NULL);
        b->zap_watch = NULL;
    }
    if (b->zap) {
        zmq_close(b->zap);
        b->zap = NULL;
    }
    if (b->zctx) {
        zmq_ctx_term(b->zctx);
        b->zctx = NULL;
    }
}
