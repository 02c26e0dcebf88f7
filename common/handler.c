#include "handler.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue.h"
#include "log.h"
#include "pgarray.h"

typedef struct delivery {
    struct delivery *next;
    uint8_t *bytes; /* the envelope, packed: the client's copy is gone after its callback */
    size_t len;
    uint32_t attempt;
    uint64_t position;
    bool duplicate; /* handled before: skipped in this transaction */
    bool recorded;  /* recorded as handled (or found so) in the open transaction already */
    /* What its handling emitted, as elements of a binary bytea[] (4 bytes of length in network
     * order, then the envelope, for each): written with the transaction's others at its end,
     * in delivery order. */
    uint8_t *emitted;
    size_t emitted_len, emitted_cap;
    uint32_t emitted_n;
} delivery_t;

struct tr_handling {
    tr_handler_t *handler;
    tr_pg_txn_t *txn;
    Trivsel__Envelope *event;
    delivery_t *delivery;
};

struct tr_handler {
    uv_loop_t *loop;
    tr_pg_t *pg;
    tr_bclient_t *client;
    char *schema, *subscription;
    char insert_handled[256], insert_handled_many[320];
    uint32_t retry_ms, batch;
    bool pipelined;
    tr_handle_cb cb;
    void *arg;
    /* Deliveries not yet acknowledged, in order. The first `batched` of them are started in
     * the open transaction `txn`; `next` is the one after them. */
    delivery_t *queue, *queue_tail, *next;
    tr_pg_txn_t *txn;
    uint32_t batched;
    uint32_t inflight; /* started, not done */
    bool txn_failed;   /* an event of the open transaction failed: it rolls back when all are done */
    bool pumping;      /* in pump(): an event done meanwhile leaves the next step to it */
    /* After a failed transaction, this many events go one per transaction: the one that failed
     * is tried again alone and cannot take the others down with it again. */
    uint32_t alone;
    uv_timer_t retry;
    uint64_t handled, skipped;
    bool beginning, recording, committing, destroyed;
};

static void next_event(tr_handler_t *hd);
static void pump(tr_handler_t *hd);

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
    d->position = event->position;
    if (hd->queue_tail)
        hd->queue_tail->next = d;
    else
        hd->queue = d;
    hd->queue_tail = d;
    if (!hd->next)
        hd->next = d;
    next_event(hd);
}

static void forget_emitted(delivery_t *d)
{
    free(d->emitted);
    d->emitted = NULL;
    d->emitted_len = d->emitted_cap = 0;
    d->emitted_n = 0;
}

static void delivery_free(delivery_t *d)
{
    forget_emitted(d);
    free(d->bytes);
    free(d);
}

static void retry_cb(uv_timer_t *t)
{
    next_event(t->data);
}

/* The transaction failed: nothing of it happened. Its events stay first in the queue and are
 * tried again after retry_ms, one per transaction. */
static void failed(tr_handler_t *hd)
{
    for (delivery_t *d = hd->queue; d; d = d->next) {
        d->recorded = false;
        forget_emitted(d);
    }
    hd->alone = hd->batched > hd->alone ? hd->batched : hd->alone;
    hd->batched = 0;
    hd->txn = NULL;
    hd->txn_failed = false;
    hd->committing = false;
    hd->next = hd->queue;
    uv_timer_start(&hd->retry, retry_cb, hd->retry_ms, 0);
}

static void committed_cb(const char *error, void *arg)
{
    tr_handler_t *hd = arg;
    if (error) {
        Trivsel__Envelope *first = trivsel__envelope__unpack(NULL, hd->queue->len, hd->queue->bytes);
        tr_log_warn("event not handled; trying again", TR_LOG_STR("event_id", first ? first->event_id : "?"),
                    TR_LOG_STR("subject", first ? first->subject : "?"), TR_LOG_INT("events", hd->batched),
                    TR_LOG_STR("error", error));
        if (first)
            trivsel__envelope__free_unpacked(first, NULL);
        failed(hd);
        return;
    }
    tr_log_debug("events handled in one transaction", TR_LOG_STR("subscription", hd->subscription),
                 TR_LOG_INT("events", hd->batched));
    /* Done, every one of them: acknowledged only now. */
    for (uint32_t i = 0; i < hd->batched; i++) {
        delivery_t *d = hd->queue;
        hd->queue = d->next;
        if (d->duplicate) {
            hd->skipped++;
            tr_log_debug("event already handled; skipped", TR_LOG_INT("position", (long long)d->position));
        } else {
            hd->handled++;
        }
        tr_bclient_ack(hd->client, hd->subscription, d->position);
        delivery_free(d);
    }
    if (!hd->queue)
        hd->queue_tail = NULL;
    hd->alone = hd->alone > hd->batched ? hd->alone - hd->batched : 0;
    hd->batched = 0;
    hd->txn = NULL;
    hd->committing = false;
    next_event(hd);
}

/* Every event of the transaction is done: the events they emitted go to broker.outbox in one
 * statement, in delivery order, then it commits. */
static void commit(tr_handler_t *hd)
{
    hd->committing = true;
    uint32_t n = 0;
    size_t len = 20; /* the array's header */
    delivery_t *d = hd->queue;
    for (uint32_t i = 0; i < hd->batched; i++, d = d->next) {
        n += d->emitted_n;
        len += d->emitted_len;
    }
    uint8_t *array = n ? malloc(len) : NULL;
    if (n && !array) {
        tr_pg_rollback(hd->txn, NULL, NULL);
        failed(hd);
        return;
    }
    if (n) {
        /* One dimension, no NULLs, bytea (oid 17), n elements from 1. */
        uint32_t header[5] = {htonl(1), htonl(0), htonl(17), htonl(n), htonl(1)};
        memcpy(array, header, sizeof header);
        size_t at = sizeof header;
        d = hd->queue;
        for (uint32_t i = 0; i < hd->batched; i++, d = d->next) {
            if (d->emitted_len)
                memcpy(array + at, d->emitted, d->emitted_len);
            at += d->emitted_len;
        }
        const char *values[1] = {(const char *)array};
        int lengths[1] = {(int)len}, formats[1] = {1};
        tr_pg_txn_query_binary(hd->txn, "INSERT INTO broker.outbox (envelope) SELECT unnest($1::bytea[])", 1, values,
                               lengths, formats, NULL, NULL);
        free(array);
    }
    tr_pg_commit(hd->txn, committed_cb, hd);
}

/* One event's part of the transaction ended: error NULL, it is in. */
static void event_done(tr_handling_t *h, const char *error)
{
    tr_handler_t *hd = h->handler;
    hd->inflight--;
    trivsel__envelope__free_unpacked(h->event, NULL);
    free(h);
    if (error)
        hd->txn_failed = true;
    pump(hd);
}

static void recorded_cb(PGresult *res, const char *error, void *arg)
{
    tr_handling_t *h = arg;
    tr_handler_t *hd = h->handler;
    if (error) {
        /* The transaction is aborted (a statement of an earlier event in it failed, or the
         * connection was lost, or the service may not record events): no event of it can be
         * done. Said, so a service that keeps failing here is not silently stuck. */
        tr_log_warn("event not handled; trying again", TR_LOG_STR("event_id", h->event->event_id),
                    TR_LOG_STR("subject", h->event->subject), TR_LOG_STR("error", error));
        event_done(h, error);
        return;
    }
    if (PQntuples(res) == 0) {
        /* Handled before (a redelivery, or a retry after a lost acknowledgement). */
        h->delivery->duplicate = true;
        event_done(h, NULL);
        return;
    }
    h->delivery->duplicate = false;
    hd->cb(h, h->event, hd->arg);
}

/* Starts handling the next delivery in the open transaction. Returns false when it could not
 * (out of memory): the transaction then fails. */
static bool start_next(tr_handler_t *hd)
{
    delivery_t *d = hd->next;
    tr_handling_t *h = calloc(1, sizeof *h);
    Trivsel__Envelope *event = h ? trivsel__envelope__unpack(NULL, d->len, d->bytes) : NULL;
    hd->batched++; /* counted even when it fails, so the retry takes it alone too */
    hd->next = d->next;
    if (!event) {
        /* Out of memory (bytes we packed ourselves always unpack): as a failed event. */
        free(h);
        hd->txn_failed = true;
        return false;
    }
    *h = (tr_handling_t){.handler = hd, .txn = hd->txn, .event = event, .delivery = d};
    hd->inflight++;
    if (d->recorded) {
        if (d->duplicate)
            event_done(h, NULL);
        else
            hd->cb(h, h->event, hd->arg);
        return true;
    }
    char position[24];
    snprintf(position, sizeof position, "%llu", (unsigned long long)event->position);
    const char *values[4] = {event->publisher, event->event_id, event->subject, position};
    if (tr_pg_txn_query(hd->txn, hd->insert_handled, 4, values, recorded_cb, h) < 0)
        event_done(h, "cannot queue a statement");
    return true;
}

/* The open transaction's next step: start the next event while one may start, commit when all
 * are done, roll back when one failed and the others are done. An event may start when it is
 * the transaction's first, or when it was waiting as the transaction began (recorded with the
 * others) and the one before it is done — or, for a pipelined handler, as soon as the one
 * before it has queued its statements. */
static void pump(tr_handler_t *hd)
{
    if (hd->pumping)
        return;
    hd->pumping = true;
    uint32_t limit = hd->alone ? 1 : hd->batch;
    for (;;) {
        if (hd->txn_failed) {
            if (hd->inflight > 0)
                break;
            tr_pg_rollback(hd->txn, NULL, NULL);
            failed(hd);
            break;
        }
        bool may_start = hd->next && hd->batched < limit && !hd->destroyed &&
                         (hd->batched == 0 || hd->next->recorded) && (hd->inflight == 0 || hd->pipelined);
        if (may_start) {
            start_next(hd);
            continue;
        }
        if (hd->inflight == 0)
            commit(hd);
        break;
    }
    hd->pumping = false;
}

static void many_recorded_cb(PGresult *res, const char *error, void *arg)
{
    tr_handler_t *hd = arg;
    hd->recording = false;
    if (error) {
        /* As for one event: the transaction is aborted, nothing of it can be done. */
        tr_log_warn("events not recorded as handled; trying again", TR_LOG_STR("error", error));
        hd->batched++;
        tr_pg_rollback(hd->txn, NULL, NULL);
        failed(hd);
        return;
    }
    /* The positions recorded now; every other delivery of the batch was handled before. A
     * position delivered twice in one batch (a redelivery) is new only the first time. */
    uint32_t n = 0;
    for (delivery_t *d = hd->next; d && n < hd->batch; d = d->next, n++) {
        if (!d->recorded)
            break;
        d->duplicate = true;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        uint64_t position = strtoull(PQgetvalue(res, i, 0), NULL, 10);
        for (delivery_t *d = hd->next; d && d->recorded; d = d->next) {
            if (d->position == position && d->duplicate) {
                d->duplicate = false;
                break;
            }
        }
    }
    pump(hd);
}

/* At the start of a transaction, the deliveries waiting are recorded as handled with one
 * statement instead of one each. Returns false when fewer than two wait or memory is short:
 * the next is then recorded alone. */
static bool record_waiting(tr_handler_t *hd)
{
    uint32_t limit = hd->alone ? 1 : hd->batch, n = 0;
    for (delivery_t *d = hd->next; d && n < limit; d = d->next)
        n++;
    if (n < 2)
        return false;
    tr_pg_array_t arrays[4];
    for (int c = 0; c < 4; c++)
        tr_pg_array_init(&arrays[c]);
    bool ok = true;
    uint32_t i = 0;
    for (delivery_t *d = hd->next; ok && d && i < n; d = d->next, i++) {
        Trivsel__Envelope *ev = trivsel__envelope__unpack(NULL, d->len, d->bytes);
        char position[24];
        if (!ev) {
            ok = false;
            break;
        }
        snprintf(position, sizeof position, "%llu", (unsigned long long)ev->position);
        tr_pg_array_add(&arrays[0], ev->publisher);
        tr_pg_array_add(&arrays[1], ev->event_id);
        tr_pg_array_add(&arrays[2], ev->subject);
        tr_pg_array_add(&arrays[3], position);
        trivsel__envelope__free_unpacked(ev, NULL);
    }
    const char *values[4];
    for (int c = 0; ok && c < 4; c++)
        ok = (values[c] = tr_pg_array_text(&arrays[c])) != NULL;
    if (ok)
        ok = tr_pg_txn_query(hd->txn, hd->insert_handled_many, 4, values, many_recorded_cb, hd) == 0;
    for (int c = 0; c < 4; c++)
        tr_pg_array_release(&arrays[c]);
    if (!ok)
        return false;
    hd->recording = true;
    i = 0;
    for (delivery_t *d = hd->next; d && i < n; d = d->next, i++)
        d->recorded = true;
    return true;
}

static void begun_cb(tr_pg_txn_t *txn, const char *error, void *arg)
{
    tr_handler_t *hd = arg;
    hd->beginning = false;
    if (error) {
        tr_log_warn("cannot begin a transaction; trying again", TR_LOG_STR("error", error));
        failed(hd);
        return;
    }
    hd->txn = txn;
    if (!record_waiting(hd))
        pump(hd);
}

/* Starts a transaction for the deliveries waiting, unless one is open (those that arrive while
 * it is go into the next) or a retry is due later. */
static void next_event(tr_handler_t *hd)
{
    if (hd->txn || hd->beginning || hd->committing || !hd->next || hd->destroyed ||
        uv_is_active((uv_handle_t *)&hd->retry))
        return;
    hd->beginning = true;
    if (tr_pg_begin(hd->pg, begun_cb, hd) < 0) {
        hd->beginning = false;
        failed(hd);
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
    hd->batch = o->batch ? o->batch : 64;
    hd->pipelined = o->pipelined;
    hd->cb = cb;
    hd->arg = arg;
    snprintf(hd->insert_handled, sizeof hd->insert_handled,
             "INSERT INTO %s.handled_event (publisher, event_id, subject, position) VALUES ($1, $2, $3, $4)"
             " ON CONFLICT DO NOTHING RETURNING 1",
             o->schema);
    snprintf(hd->insert_handled_many, sizeof hd->insert_handled_many,
             "INSERT INTO %s.handled_event (publisher, event_id, subject, position)"
             " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])"
             " ON CONFLICT DO NOTHING RETURNING position",
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

/* Appends the packed envelope to the event's emitted elements: its length (4 bytes, network
 * order), then its bytes. */
int tr_handling_emit(tr_handling_t *h, const Trivsel__Envelope *ev)
{
    delivery_t *d = h->delivery;
    size_t len = trivsel__envelope__get_packed_size(ev);
    if (d->emitted_len + 4 + len > d->emitted_cap) {
        size_t cap = 2 * (d->emitted_len + 4 + len);
        uint8_t *grown = realloc(d->emitted, cap);
        if (!grown)
            return TR_ENOMEM;
        d->emitted = grown;
        d->emitted_cap = cap;
    }
    uint32_t n = htonl((uint32_t)len);
    memcpy(d->emitted + d->emitted_len, &n, 4);
    trivsel__envelope__pack(ev, d->emitted + d->emitted_len + 4);
    d->emitted_len += 4 + len;
    d->emitted_n++;
    return 0;
}

void tr_handling_done(tr_handling_t *h, const char *error)
{
    if (error)
        tr_log_warn("event handling failed; rolled back, trying again", TR_LOG_STR("event_id", h->event->event_id),
                    TR_LOG_STR("error", error));
    event_done(h, error);
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
    return !h->inflight && !h->txn && !h->queue;
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
