#include "handler.h"

#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "log.h"

typedef struct delivery {
    struct delivery *next;
    uint8_t *bytes; /* the envelope, packed: the client's copy is gone after its callback */
    size_t len;
    uint32_t attempt;
} delivery_t;

struct tr_handling {
    tr_handler_t *handler;
    tr_pg_txn_t *txn;
    Trivsel__Envelope *event;
    delivery_t *delivery;
    bool duplicate;
};

struct tr_handler {
    uv_loop_t *loop;
    tr_pg_t *pg;
    tr_bclient_t *client;
    char *schema, *subscription;
    char insert_handled[256];
    uint32_t retry_ms;
    tr_handle_cb cb;
    void *arg;
    delivery_t *queue, *queue_tail;
    tr_handling_t *current;
    uv_timer_t retry;
    uint64_t handled, skipped;
    bool destroyed;
};

static void next_event(tr_handler_t *hd);

static void delivery_cb(tr_bclient_t *c, const char *subscription, const Trivsel__Envelope *event, uint32_t attempt,
                        void *arg)
{
    tr_handler_t *hd = arg;
    (void)c;
    (void)subscription;
    delivery_t *d = calloc(1, sizeof *d);
    if (!d)
        return; /* not acknowledged: redelivered */
    d->len = trivsel__envelope__get_packed_size(event);
    d->bytes = malloc(d->len ? d->len : 1);
    if (!d->bytes) {
        free(d);
        return;
    }
    trivsel__envelope__pack(event, d->bytes);
    d->attempt = attempt;
    if (hd->queue_tail)
        hd->queue_tail->next = d;
    else
        hd->queue = d;
    hd->queue_tail = d;
    if (!hd->current)
        next_event(hd);
}

static void delivery_free(delivery_t *d)
{
    free(d->bytes);
    free(d);
}

static void retry_cb(uv_timer_t *t)
{
    next_event(t->data);
}

/* The handling ended: committed (ok) or not (the event stays first in the queue). */
static void finish(tr_handler_t *hd, bool ok)
{
    tr_handling_t *h = hd->current;
    hd->current = NULL;
    uint64_t position = h->event->position;
    trivsel__envelope__free_unpacked(h->event, NULL);
    free(h);
    if (!ok) {
        uv_timer_start(&hd->retry, retry_cb, hd->retry_ms, 0);
        return;
    }
    delivery_t *d = hd->queue;
    hd->queue = d->next;
    if (!hd->queue)
        hd->queue_tail = NULL;
    delivery_free(d);
    tr_bclient_ack(hd->client, hd->subscription, position);
    next_event(hd);
}

static void committed_cb(const char *error, void *arg)
{
    tr_handling_t *h = arg;
    tr_handler_t *hd = h->handler;
    if (error) {
        tr_log_warn("event not handled; trying again", TR_LOG_STR("event_id", h->event->event_id),
                    TR_LOG_STR("subject", h->event->subject), TR_LOG_STR("error", error));
    } else if (h->duplicate) {
        hd->skipped++;
        tr_log_debug("event already handled; skipped", TR_LOG_STR("event_id", h->event->event_id));
    } else {
        hd->handled++;
    }
    finish(hd, error == NULL);
}

static void recorded_cb(PGresult *res, const char *error, void *arg)
{
    tr_handling_t *h = arg;
    tr_handler_t *hd = h->handler;
    if (error) {
        /* Nothing else is queued in this transaction: its COMMIT, which reports the error (at
         * once when the connection is gone), ends it and the event is tried again. */
        tr_pg_commit(h->txn, committed_cb, h);
        return;
    }
    if (PQntuples(res) == 0) {
        /* Handled before (a redelivery, or a retry after a lost acknowledgement). */
        h->duplicate = true;
        tr_pg_commit(h->txn, committed_cb, h);
        return;
    }
    hd->cb(h, h->event, hd->arg);
}

static void begun_cb(tr_pg_txn_t *txn, const char *error, void *arg)
{
    tr_handling_t *h = arg;
    tr_handler_t *hd = h->handler;
    if (error) {
        tr_log_warn("cannot begin a transaction; trying again", TR_LOG_STR("error", error));
        finish(hd, false);
        return;
    }
    h->txn = txn;
    char position[24];
    snprintf(position, sizeof position, "%llu", (unsigned long long)h->event->position);
    const char *values[4] = {h->event->publisher, h->event->event_id, h->event->subject, position};
    tr_pg_txn_query(txn, hd->insert_handled, 4, values, recorded_cb, h);
}

static void next_event(tr_handler_t *hd)
{
    if (hd->current || !hd->queue || hd->destroyed)
        return;
    delivery_t *d = hd->queue;
    tr_handling_t *h = calloc(1, sizeof *h);
    if (!h) {
        uv_timer_start(&hd->retry, retry_cb, hd->retry_ms, 0);
        return;
    }
    h->handler = hd;
    h->delivery = d;
    h->event = trivsel__envelope__unpack(NULL, d->len, d->bytes);
    hd->current = h;
    if (!h->event || tr_pg_begin(hd->pg, begun_cb, h) < 0) {
        if (!h->event) {
            /* Cannot happen for bytes we packed ourselves; drop rather than loop. */
            hd->current = NULL;
            free(h);
            hd->queue = d->next;
            if (!hd->queue)
                hd->queue_tail = NULL;
            delivery_free(d);
            next_event(hd);
            return;
        }
        finish(hd, false);
    }
}

int tr_handler_new(uv_loop_t *loop, tr_pg_t *pg, tr_bclient_t *client, const tr_handler_options_t *o, tr_handle_cb cb,
                   void *arg, tr_handler_t **out, tr_error_t *err)
{
    *out = NULL;
    for (const char *p = o->schema; *p; p++) {
        /* The schema is the program's own constant, but it is spliced into SQL: allow only a
         * plain identifier. */
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            return tr_error_set(err, TR_EINVAL, "invalid schema name \"%s\"", o->schema);
    }
    tr_handler_t *hd = calloc(1, sizeof *hd);
    if (!hd)
        return tr_error_set(err, TR_ENOMEM, "out of memory");
    hd->loop = loop;
    hd->pg = pg;
    hd->client = client;
    hd->schema = strdup(o->schema);
    hd->subscription = strdup(o->subscription);
    hd->retry_ms = o->retry_ms ? o->retry_ms : 1000;
    hd->cb = cb;
    hd->arg = arg;
    snprintf(hd->insert_handled, sizeof hd->insert_handled,
             "INSERT INTO %s.handled_event (publisher, event_id, subject, position) VALUES ($1, $2, $3, $4)"
             " ON CONFLICT DO NOTHING RETURNING 1",
             o->schema);
    uv_timer_init(loop, &hd->retry);
    hd->retry.data = hd;
    int rc = tr_bclient_subscribe(client, o->subscription, o->pattern, o->credit ? o->credit : 64, o->ack_timeout_ms,
                                  TRIVSEL__BROKER__START_AT__START_AT_BEGINNING, delivery_cb, hd);
    if (rc < 0) {
        tr_handler_destroy(&hd);
        return tr_error_set(err, rc, "cannot subscribe \"%s\": %s", o->subscription, tr_strerror(rc));
    }
    *out = hd;
    return 0;
}

int tr_handling_query(tr_handling_t *h, const char *sql, int nparams, const char *const *values, tr_pg_result_cb cb,
                      void *arg)
{
    return tr_pg_txn_query(h->txn, sql, nparams, values, cb, arg);
}

int tr_handling_emit(tr_handling_t *h, const Trivsel__Envelope *ev)
{
    size_t len = trivsel__envelope__get_packed_size(ev);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return TR_ENOMEM;
    trivsel__envelope__pack(ev, buf);
    const char *values[1] = {(const char *)buf};
    int lengths[1] = {(int)len}, formats[1] = {1};
    int rc = tr_pg_txn_query_binary(h->txn, "INSERT INTO broker.outbox (envelope) VALUES ($1)", 1, values, lengths,
                                    formats, NULL, NULL);
    free(buf);
    return rc;
}

void tr_handling_done(tr_handling_t *h, const char *error)
{
    if (error) {
        tr_log_warn("event handling failed; rolled back, trying again", TR_LOG_STR("event_id", h->event->event_id),
                    TR_LOG_STR("error", error));
        tr_pg_rollback(h->txn, NULL, NULL);
        finish(h->handler, false);
        return;
    }
    tr_pg_commit(h->txn, committed_cb, h);
}

uint32_t tr_handling_attempt(const tr_handling_t *h)
{
    return h->delivery->attempt;
}

uint64_t tr_handler_handled(const tr_handler_t *h)
{
    return h->handled;
}

uint64_t tr_handler_skipped(const tr_handler_t *h)
{
    return h->skipped;
}

bool tr_handler_idle(const tr_handler_t *h)
{
    return !h->current && !h->queue;
}

static void timer_closed_cb(uv_handle_t *t)
{
    tr_handler_t *hd = t->data;
    while (hd->queue) {
        delivery_t *d = hd->queue;
        hd->queue = d->next;
        delivery_free(d);
    }
    free(hd->schema);
    free(hd->subscription);
    free(hd);
}

void tr_handler_destroy(tr_handler_t **hp)
{
    if (!hp || !*hp)
        return;
    tr_handler_t *hd = *hp;
    *hp = NULL;
    hd->destroyed = true;
    uv_close((uv_handle_t *)&hd->retry, timer_closed_cb);
}

int tr_envelope_make(Trivsel__Envelope *ev, const char *event_id, const char *subject, const char *municipality,
                     const char *correlation_id, Google__Protobuf__Timestamp *occurred, const ProtobufCMessage *msg,
                     uint8_t **payload_buf, tr_error_t *err)
{
    const tr_event_type_t *et = tr_catalogue_by_subject(subject);
    *payload_buf = NULL;
    if (!et)
        return tr_error_set(err, TR_EINVAL, "no event type is published on subject \"%s\"", subject);
    if (msg->descriptor != et->descriptor)
        return tr_error_set(err, TR_EINVAL, "a %s is not the payload of subject \"%s\" (%s is)",
                            msg->descriptor->name, subject, et->type_name);
    size_t len = protobuf_c_message_get_packed_size(msg);
    *payload_buf = malloc(len ? len : 1);
    if (!*payload_buf)
        return tr_error_set(err, TR_ENOMEM, "out of memory");
    protobuf_c_message_pack(msg, *payload_buf);
    trivsel__envelope__init(ev);
    ev->event_id = (char *)event_id;
    ev->subject = (char *)subject;
    ev->type = (char *)et->type_name;
    ev->municipality = (char *)municipality;
    ev->correlation_id = (char *)(correlation_id ? correlation_id : "");
    ev->occurred_at = occurred;
    ev->payload.data = *payload_buf;
    ev->payload.len = len;
    return 0;
}
