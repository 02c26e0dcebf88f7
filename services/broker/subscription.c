/* subscription.c — durable subscriptions (issue 3, item 3).
 *
 * A subscription is named per principal and has a pattern and a stored position: every
 * matching event at or below it is acknowledged. In memory it holds a window of the next
 * matching events (at most BROKER_WINDOW: fetched, delivered, or acknowledged out of order),
 * and its consumers — sessions that subscribed under the name — each with its credit: the
 * number of deliveries it will take. The broker never sends more than a consumer's credit, so
 * nothing queues without bound in the broker or the client.
 *
 * Several consumers share the work. Events of one case (one correlation id) are never in
 * flight twice at once: the next event of a case waits until the one before is acknowledged
 * (or given up and redelivered), so each case's events are handled in log order whichever
 * consumer takes them. Events without a correlation id carry no such constraint.
 *
 * What is not acknowledged within the subscription's ack timeout, or whose consumer went
 * away, is delivered again (attempt + 1). The stored position moves when the oldest events are
 * acknowledged; after a broker restart, delivery resumes from it, so an event acknowledged
 * above the stored position may come again: consumers deduplicate by event id (principle 2).
 */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "subject.h"

typedef enum { ITEM_QUEUED, ITEM_IN_FLIGHT, ITEM_ACKED } item_state_t;

typedef struct item {
    uint64_t position;
    uint64_t key; /* hash of the correlation id; 0 when it has none */
    uint8_t *envelope;
    size_t len;
    item_state_t state;
    uint32_t attempt;
    consumer_t *consumer;
    uint64_t sent_ms;
} item_t;

#define KEYSET_SIZE (4 * BROKER_WINDOW) /* power of two, > 2 x window: short probes */

struct subscription {
    subscription_t *next;
    broker_t *broker;
    char principal[BROKER_NAME_MAX];
    char name[BROKER_NAME_MAX + 1];
    char pattern[TR_SUBJECT_MAX + 1];
    uint64_t acked;       /* the position to store */
    uint64_t acked_saved; /* the position stored */
    bool saving;
    uint64_t cursor;      /* every matching event at or below it is in items or acknowledged */
    bool fetching, caught_up;
    bool delete_pending; /* unsubscribed with delete while a read or write was in flight */
    item_t *items;        /* sorted by position */
    size_t nitems;
    consumer_t *consumers;
    consumer_t *turn;     /* round robin: who gets the next delivery */
    uint32_t ack_timeout_ms;
    /* keys blocked during one dispatch pass, stamped with the pass number */
    struct {
        uint64_t key;
        uint32_t pass;
    } keyset[KEYSET_SIZE];
    uint32_t pass;
};

static uint64_t key_of(const char *correlation_id)
{
    if (!correlation_id || !correlation_id[0])
        return 0;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)correlation_id; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h ? h : 1;
}

/* Whether key was blocked earlier in this pass; blocks it for the rest of the pass. */
static bool keyset_test_and_add(subscription_t *sub, uint64_t key)
{
    size_t i = (size_t)key & (KEYSET_SIZE - 1);
    for (;; i = (i + 1) & (KEYSET_SIZE - 1)) {
        if (sub->keyset[i].pass != sub->pass) {
            sub->keyset[i].key = key;
            sub->keyset[i].pass = sub->pass;
            return false;
        }
        if (sub->keyset[i].key == key)
            return true;
    }
}

static subscription_t *find(broker_t *b, const char *principal, const char *name)
{
    for (subscription_t *sub = b->subscriptions; sub; sub = sub->next) {
        if (strcmp(sub->principal, principal) == 0 && strcmp(sub->name, name) == 0)
            return sub;
    }
    return NULL;
}

static consumer_t *consumer_of(subscription_t *sub, session_t *s)
{
    for (consumer_t *c = sub->consumers; c; c = c->next_in_sub) {
        if (c->session == s)
            return c;
    }
    return NULL;
}

static void fetch(subscription_t *sub);
static void save(subscription_t *sub);
static bool delete_if_pending(subscription_t *sub);
static item_t *item_at(subscription_t *sub, uint64_t position);

/* Appends varint v to buf; returns the bytes written (at most 10). */
static size_t put_varint(uint8_t *buf, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        buf[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    buf[n++] = (uint8_t)v;
    return n;
}

/* Sends one Delivery. Encoded by hand around the stored envelope bytes, to which the position
 * is appended as field 10: a later occurrence of a scalar field wins in protobuf, so this is a
 * valid Envelope with its position, without decoding and re-encoding every event. */
static int send_delivery(broker_t *b, subscription_t *sub, item_t *it, consumer_t *c)
{
    size_t name_len = strlen(sub->name);
    uint8_t pos[11];
    size_t pos_len = 0;
    pos[pos_len++] = (10 << 3) | 0;
    pos_len += put_varint(pos + pos_len, it->position);
    size_t env_len = it->len + pos_len;
    size_t delivery_len = 1 + 10 + name_len + 1 + 10 + env_len + 1 + 10;
    size_t cap = 1 + 10 + delivery_len;
    uint8_t stackbuf[8192];
    uint8_t *buf = cap <= sizeof stackbuf ? stackbuf : malloc(cap);
    if (!buf)
        return TR_ENOMEM;
    /* Delivery body first, into a scratch area at the end, then the outer header. */
    uint8_t body_hdr[64];
    size_t h = 0;
    body_hdr[h++] = (1 << 3) | 2;
    h += put_varint(body_hdr + h, name_len);
    size_t body_len = h + name_len;
    uint8_t env_hdr[16];
    size_t eh = 0;
    env_hdr[eh++] = (2 << 3) | 2;
    eh += put_varint(env_hdr + eh, env_len);
    body_len += eh + env_len;
    uint8_t att[12];
    size_t al = 0;
    att[al++] = (3 << 3) | 0;
    al += put_varint(att + al, it->attempt);
    body_len += al;
    size_t n = 0;
    buf[n++] = (4 << 3) | 2; /* ServerMessage.delivery */
    n += put_varint(buf + n, body_len);
    memcpy(buf + n, body_hdr, h), n += h;
    memcpy(buf + n, sub->name, name_len), n += name_len;
    memcpy(buf + n, env_hdr, eh), n += eh;
    memcpy(buf + n, it->envelope, it->len), n += it->len;
    memcpy(buf + n, pos, pos_len), n += pos_len;
    memcpy(buf + n, att, al), n += al;
    int rc = socket_send_raw(b, c->session->routing_id, c->session->routing_len, buf, n);
    if (buf != stackbuf)
        free(buf);
    return rc;
}

/* The next consumer with credit, round robin; NULL when none has any. */
static consumer_t *next_consumer(subscription_t *sub)
{
    consumer_t *start = sub->turn ? sub->turn : sub->consumers;
    consumer_t *c = start;
    if (!c)
        return NULL;
    do {
        consumer_t *next = c->next_in_sub ? c->next_in_sub : sub->consumers;
        if (c->credit > 0) {
            sub->turn = next;
            return c;
        }
        c = next;
    } while (c != start);
    return NULL;
}

static void dispatch(subscription_t *sub)
{
    broker_t *b = sub->broker;
    if (b->draining)
        return;
    sub->pass++;
    for (size_t i = 0; i < sub->nitems; i++) {
        item_t *it = &sub->items[i];
        if (it->state == ITEM_ACKED)
            continue;
        bool blocked = it->key && keyset_test_and_add(sub, it->key);
        if (it->state == ITEM_IN_FLIGHT || blocked)
            continue;
        consumer_t *c = next_consumer(sub);
        if (!c)
            break;
        it->attempt++;
        if (c->audited) {
            /* Held until its audit row is committed; audit.c sends it then. */
            audit_delivery(b, c->session->principal, it->envelope, it->len, it->position, sub->principal, sub->name,
                           c->session->routing_id, c->session->routing_len);
            it->state = ITEM_IN_FLIGHT;
            it->consumer = c;
            it->sent_ms = broker_now_ms(b);
            c->credit--;
            continue;
        }
        if (send_delivery(b, sub, it, c) < 0) {
            /* Peer gone or its queue full: stop here; the redelivery tick dispatches again in
             * 250 ms (a gone peer's session ends after three silent heartbeats). The credit is
             * kept, so broker and client keep counting the same. */
            it->attempt--;
            break;
        }
        tr_metric_inc(it->attempt > 1 ? b->m.redeliveries : b->m.deliveries);
        it->state = ITEM_IN_FLIGHT;
        it->consumer = c;
        it->sent_ms = broker_now_ms(b);
        c->credit--;
    }
    if (sub->nitems < BROKER_WINDOW / 2 && !sub->caught_up && sub->consumers)
        fetch(sub);
}

typedef struct fetch_ctx {
    subscription_t *sub;
    uint64_t upto;
    int limit;
} fetch_ctx_t;

static void fetched_cb(PGresult *res, const char *error, void *arg)
{
    fetch_ctx_t *ctx = arg;
    subscription_t *sub = ctx->sub;
    sub->fetching = false;
    if (delete_if_pending(sub)) {
        free(ctx);
        return;
    }
    if (error) {
        tr_log_warn("cannot read the log for a subscription", TR_LOG_STR("subscription", sub->name),
                    TR_LOG_STR("error", error));
        free(ctx);
        return; /* the redelivery timer tries again */
    }
    int n = PQntuples(res);
    for (int i = 0; i < n && sub->nitems < BROKER_WINDOW; i++) {
        uint64_t position = strtoull(PQgetvalue(res, i, 0), NULL, 10);
        if (position <= sub->cursor)
            continue;
        size_t len = 0;
        unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 2), &len);
        if (!bytes)
            break;
        item_t *it = &sub->items[sub->nitems++];
        *it = (item_t){.position = position, .key = key_of(PQgetvalue(res, i, 1)), .len = len};
        it->envelope = malloc(len ? len : 1);
        memcpy(it->envelope, bytes, len);
        PQfreemem(bytes);
        sub->cursor = position;
    }
    /* Fewer rows than asked: everything matching up to `upto` has been seen. */
    if (n < ctx->limit) {
        if (ctx->upto > sub->cursor)
            sub->cursor = ctx->upto;
        sub->caught_up = ctx->upto >= sub->broker->log_position;
        if (sub->nitems == 0 && sub->cursor > sub->acked) {
            sub->acked = sub->cursor;
            save(sub);
        }
    }
    free(ctx);
    dispatch(sub);
}

static void fetch(subscription_t *sub)
{
    broker_t *b = sub->broker;
    if (sub->fetching || sub->nitems >= BROKER_WINDOW)
        return;
    fetch_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return;
    ctx->sub = sub;
    ctx->upto = b->log_position;
    ctx->limit = (int)(BROKER_WINDOW - sub->nitems);
    char cursor[24], upto[24], limit[16];
    snprintf(cursor, sizeof cursor, "%llu", (unsigned long long)sub->cursor);
    snprintf(upto, sizeof upto, "%llu", (unsigned long long)ctx->upto);
    snprintf(limit, sizeof limit, "%d", ctx->limit);
    const char *values[4] = {cursor, upto, sub->pattern, limit};
    sub->fetching = true;
    if (tr_pg_query(b->reader,
                    "SELECT position, correlation_id, envelope FROM broker.event"
                    " WHERE position > $1 AND position <= $2 AND subject ~ broker.pattern_regex($3)"
                    " ORDER BY position LIMIT $4",
                    4, values, fetched_cb, ctx) < 0) {
        sub->fetching = false;
        free(ctx);
    }
}

static void saved_cb(PGresult *res, const char *error, void *arg)
{
    subscription_t *sub = arg;
    (void)res;
    sub->saving = false;
    if (error)
        tr_log_warn("cannot store a subscription's position", TR_LOG_STR("subscription", sub->name),
                    TR_LOG_STR("error", error));
    if (sub->acked > sub->acked_saved && !error)
        save(sub);
    broker_t *b = sub->broker;
    delete_if_pending(sub);
    broker_check_drained(b);
}

/* Stores the position; while one write is in flight, later acknowledgements wait and go
 * together in the next one. Its commit does not wait for the disk (synchronous_commit off for
 * this one transaction, set in the statement itself): a position lost with the database's own
 * crash is a redelivery, which delivery at least once allows and the services' handlers skip,
 * while a flush per acknowledgement took a WAL flush from the commits that must wait for one. */
static void save(subscription_t *sub)
{
    if (sub->saving || sub->acked <= sub->acked_saved)
        return;
    char pos[24];
    snprintf(pos, sizeof pos, "%llu", (unsigned long long)sub->acked);
    const char *values[3] = {sub->principal, sub->name, pos};
    sub->saving = true;
    sub->acked_saved = sub->acked;
    if (tr_pg_query(sub->broker->pg,
                    "UPDATE broker.subscription SET acked_position = greatest(acked_position, $3::bigint),"
                    " updated_at = now() FROM (SELECT set_config('synchronous_commit', 'off', true)) async"
                    " WHERE principal = $1 AND name = $2",
                    3, values, saved_cb, sub) < 0)
        sub->saving = false;
}

/* Drops acknowledged events from the front of the window and moves the position. */
static void trim(subscription_t *sub)
{
    size_t k = 0;
    while (k < sub->nitems && sub->items[k].state == ITEM_ACKED)
        free(sub->items[k++].envelope);
    if (k) {
        memmove(sub->items, sub->items + k, (sub->nitems - k) * sizeof *sub->items);
        sub->nitems -= k;
    }
    uint64_t floor = sub->nitems ? sub->items[0].position - 1 : sub->cursor;
    if (floor > sub->acked) {
        sub->acked = floor;
        save(sub);
    }
}

static void release(subscription_t *sub, consumer_t *c)
{
    for (size_t i = 0; i < sub->nitems; i++) {
        if (sub->items[i].state == ITEM_IN_FLIGHT && sub->items[i].consumer == c) {
            sub->items[i].state = ITEM_QUEUED;
            sub->items[i].consumer = NULL;
        }
    }
}

static void remove_consumer(subscription_t *sub, consumer_t *c)
{
    release(sub, c);
    for (consumer_t **pp = &sub->consumers; *pp; pp = &(*pp)->next_in_sub) {
        if (*pp == c) {
            *pp = c->next_in_sub;
            break;
        }
    }
    session_t *s = c->session;
    for (consumer_t **pp = &s->consumers; *pp; pp = &(*pp)->next_in_session) {
        if (*pp == c) {
            *pp = c->next_in_session;
            break;
        }
    }
    if (sub->turn == c)
        sub->turn = NULL;
    free(c);
}

static void add_consumer(broker_t *b, subscription_t *sub, session_t *s, uint32_t credit)
{
    consumer_t *c = consumer_of(sub, s);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return;
        c->sub = sub;
        c->session = s;
        const principal_t *p = principals_by_name(b, s->principal);
        c->audited = !p || p->kind != TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_SERVICE;
        c->next_in_sub = sub->consumers;
        sub->consumers = c;
        c->next_in_session = s->consumers;
        s->consumers = c;
    }
    c->credit = credit > 100000 ? 100000 : credit;
    Trivsel__Broker__Subscribed ok = TRIVSEL__BROKER__SUBSCRIBED__INIT;
    ok.name = sub->name;
    ok.pattern = sub->pattern;
    ok.acked_position = sub->acked;
    ok.log_position = b->log_position;
    Trivsel__Broker__ServerMessage msg = TRIVSEL__BROKER__SERVER_MESSAGE__INIT;
    msg.reply_case = TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_SUBSCRIBED;
    msg.subscribed = &ok;
    socket_send(b, s->routing_id, s->routing_len, &msg);
    tr_log_info("consumer subscribed", TR_LOG_STR("principal", sub->principal), TR_LOG_STR("subscription", sub->name),
                TR_LOG_STR("pattern", sub->pattern), TR_LOG_INT("acked_position", (long long)sub->acked));
    sub->caught_up = false;
    dispatch(sub);
}

typedef struct pending_subscribe {
    broker_t *b;
    uint8_t routing_id[BROKER_ROUTING_MAX];
    size_t routing_len;
    char principal[BROKER_NAME_MAX];
    char name[BROKER_NAME_MAX + 1];
    char pattern[TR_SUBJECT_MAX + 1];
    uint32_t credit, ack_timeout_ms;
} pending_subscribe_t;

static void created_cb(PGresult *res, const char *error, void *arg)
{
    pending_subscribe_t *ps = arg;
    broker_t *b = ps->b;
    session_t *s = socket_session(b, ps->routing_id, ps->routing_len);
    if (error || PQntuples(res) != 1) {
        if (s)
            socket_send_error(b, s->routing_id, s->routing_len, TRIVSEL__BROKER__ERROR_CODE__ERROR_UNAVAILABLE, NULL,
                              ps->name, "the subscription cannot be stored now; retry (%s)",
                              error ? error : "no row");
        goto out;
    }
    const char *stored_pattern = PQgetvalue(res, 0, 0);
    if (strcmp(stored_pattern, ps->pattern) != 0) {
        if (s)
            socket_send_error(b, s->routing_id, s->routing_len, TRIVSEL__BROKER__ERROR_CODE__ERROR_INVALID_PATTERN,
                              NULL, ps->name,
                              "subscription \"%s\" exists with pattern \"%s\", not \"%s\": unsubscribe with delete "
                              "to change it",
                              ps->name, stored_pattern, ps->pattern);
        goto out;
    }
    subscription_t *sub = find(b, ps->principal, ps->name);
    if (!sub) {
        sub = calloc(1, sizeof *sub);
        if (!sub || !(sub->items = calloc(BROKER_WINDOW, sizeof *sub->items))) {
            free(sub);
            goto out;
        }
        sub->broker = b;
        snprintf(sub->principal, sizeof sub->principal, "%s", ps->principal);
        snprintf(sub->name, sizeof sub->name, "%s", ps->name);
        snprintf(sub->pattern, sizeof sub->pattern, "%s", ps->pattern);
        sub->acked = sub->acked_saved = sub->cursor = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
        sub->next = b->subscriptions;
        b->subscriptions = sub;
    }
    sub->ack_timeout_ms = ps->ack_timeout_ms;
    if (s)
        add_consumer(b, sub, s, ps->credit);
out:
    free(ps);
}

static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > BROKER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

void subscription_subscribe(broker_t *b, session_t *s, const principal_t *p, const Trivsel__Broker__Subscribe *req)
{
    char reason[400];
    tr_error_t err = {0};
    if (!valid_name(req->name)) {
        socket_send_error(b, s->routing_id, s->routing_len, TRIVSEL__BROKER__ERROR_CODE__ERROR_INVALID_PATTERN, NULL,
                          req->name, "invalid subscription name \"%.80s\": 1-64 of a-z, 0-9, _ . -", req->name);
        return;
    }
    if (tr_subject_check_pattern(req->pattern, &err) < 0) {
        socket_send_error(b, s->routing_id, s->routing_len, TRIVSEL__BROKER__ERROR_CODE__ERROR_INVALID_PATTERN, NULL,
                          req->name, "%s", err.message);
        return;
    }
    if (principals_may_subscribe(p, req->pattern, reason, sizeof reason) < 0) {
        socket_refuse(b, s, "subscribe", req->pattern, principals_why_refused(p, req->pattern), NULL, req->name,
                      reason);
        return;
    }
    uint32_t timeout = req->ack_timeout_ms ? req->ack_timeout_ms : 30000;
    subscription_t *sub = find(b, p->name, req->name);
    if (sub) {
        if (strcmp(sub->pattern, req->pattern) != 0) {
            socket_send_error(b, s->routing_id, s->routing_len, TRIVSEL__BROKER__ERROR_CODE__ERROR_INVALID_PATTERN,
                              NULL, req->name,
                              "subscription \"%s\" exists with pattern \"%s\", not \"%s\": unsubscribe with delete "
                              "to change it",
                              req->name, sub->pattern, req->pattern);
            return;
        }
        sub->ack_timeout_ms = timeout;
        add_consumer(b, sub, s, req->credit);
        return;
    }
    pending_subscribe_t *ps = calloc(1, sizeof *ps);
    if (!ps)
        return;
    ps->b = b;
    memcpy(ps->routing_id, s->routing_id, s->routing_len);
    ps->routing_len = s->routing_len;
    snprintf(ps->principal, sizeof ps->principal, "%s", p->name);
    snprintf(ps->name, sizeof ps->name, "%s", req->name);
    snprintf(ps->pattern, sizeof ps->pattern, "%s", req->pattern);
    ps->credit = req->credit;
    ps->ack_timeout_ms = timeout;
    const char *values[4] = {p->name, req->name, req->pattern,
                             req->start_at == TRIVSEL__BROKER__START_AT__START_AT_NEW ? "t" : "f"};
    if (tr_pg_query(b->pg,
                    "INSERT INTO broker.subscription (principal, name, pattern, acked_position)"
                    " VALUES ($1, $2, $3, CASE WHEN $4::boolean"
                    "   THEN (SELECT coalesce(max(position), 0) FROM broker.event) ELSE 0 END)"
                    " ON CONFLICT (principal, name) DO UPDATE SET updated_at = now()"
                    " RETURNING pattern, acked_position",
                    4, values, created_cb, ps) < 0)
        free(ps);
}

static subscription_t *session_sub(broker_t *b, session_t *s, const char *name, consumer_t **c)
{
    subscription_t *sub = find(b, s->principal, name);
    *c = sub ? consumer_of(sub, s) : NULL;
    if (!*c)
        socket_send_error(b, s->routing_id, s->routing_len, TRIVSEL__BROKER__ERROR_CODE__ERROR_UNKNOWN_SUBSCRIPTION,
                          NULL, name, "this session has not subscribed to \"%.80s\"", name);
    return *c ? sub : NULL;
}

void subscription_send_audited(broker_t *b, const char *principal, const char *name, uint64_t position,
                               const uint8_t *routing_id, size_t routing_len)
{
    subscription_t *sub = find(b, principal, name);
    session_t *s = socket_session(b, routing_id, routing_len);
    item_t *it = sub && s ? item_at(sub, position) : NULL;
    /* Still in flight to that session? It may have been acknowledged, given up or the session
     * may have gone while the row was written: then there is nothing to send. */
    if (!it || it->state != ITEM_IN_FLIGHT || !it->consumer || it->consumer->session != s)
        return;
    if (send_delivery(b, sub, it, it->consumer) == 0)
        tr_metric_inc(it->attempt > 1 ? b->m.redeliveries : b->m.deliveries);
}

void subscription_credit(broker_t *b, session_t *s, const Trivsel__Broker__Credit *req)
{
    consumer_t *c;
    subscription_t *sub = session_sub(b, s, req->subscription, &c);
    if (!sub)
        return;
    uint64_t credit = (uint64_t)c->credit + req->credit;
    c->credit = credit > 100000 ? 100000 : (uint32_t)credit;
    dispatch(sub);
}

static item_t *item_at(subscription_t *sub, uint64_t position)
{
    size_t lo = 0, hi = sub->nitems;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sub->items[mid].position < position)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < sub->nitems && sub->items[lo].position == position ? &sub->items[lo] : NULL;
}

void subscription_ack(broker_t *b, session_t *s, const Trivsel__Broker__Ack *req)
{
    consumer_t *c;
    subscription_t *sub = session_sub(b, s, req->subscription, &c);
    if (!sub)
        return;
    for (size_t i = 0; i < req->n_positions; i++) {
        item_t *it = item_at(sub, req->positions[i]);
        /* An acknowledgement of a redelivered event may come from the first consumer after
         * all: the work is done either way. */
        if (it && it->state != ITEM_ACKED) {
            it->state = ITEM_ACKED;
            it->consumer = NULL;
            tr_metric_inc(b->m.consumer_acks);
        }
    }
    trim(sub);
    dispatch(sub);
}

static void subscription_free(broker_t *b, subscription_t *sub)
{
    for (subscription_t **pp = &b->subscriptions; *pp; pp = &(*pp)->next) {
        if (*pp == sub) {
            *pp = sub->next;
            break;
        }
    }
    for (size_t i = 0; i < sub->nitems; i++)
        free(sub->items[i].envelope);
    free(sub->items);
    free(sub);
}

/* Forgets a subscription that was unsubscribed with delete, once nothing of it is in flight
 * and no consumer came back meanwhile. Returns true when sub is gone. */
static bool delete_if_pending(subscription_t *sub)
{
    broker_t *b = sub->broker;
    if (!sub->delete_pending || sub->saving || sub->fetching)
        return false;
    sub->delete_pending = false;
    if (sub->consumers)
        return false;
    const char *values[2] = {sub->principal, sub->name};
    tr_pg_query(b->pg, "DELETE FROM broker.subscription WHERE principal = $1 AND name = $2", 2, values, NULL, NULL);
    tr_log_info("subscription deleted", TR_LOG_STR("principal", sub->principal), TR_LOG_STR("subscription", sub->name));
    subscription_free(b, sub);
    return true;
}

void subscription_unsubscribe(broker_t *b, session_t *s, const Trivsel__Broker__Unsubscribe *req)
{
    consumer_t *c;
    subscription_t *sub = session_sub(b, s, req->subscription, &c);
    if (!sub)
        return;
    remove_consumer(sub, c);
    if (req->delete_ && !sub->consumers) {
        sub->delete_pending = true;
        if (delete_if_pending(sub))
            return;
    }
    dispatch(sub);
}

void subscription_session_gone(broker_t *b, session_t *s)
{
    (void)b;
    while (s->consumers) {
        consumer_t *c = s->consumers;
        subscription_t *sub = c->sub;
        remove_consumer(sub, c);
        dispatch(sub);
    }
}

void subscription_new_events(broker_t *b, uint64_t position)
{
    (void)position;
    for (subscription_t *sub = b->subscriptions; sub; sub = sub->next) {
        sub->caught_up = false;
        if (sub->consumers)
            fetch(sub);
    }
}

static void redelivery_cb(uv_timer_t *t)
{
    broker_t *b = t->data;
    uint64_t now = broker_now_ms(b);
    for (subscription_t *sub = b->subscriptions; sub; sub = sub->next) {
        bool waiting = false; /* events to deliver: timed out, or held back by a full queue */
        for (size_t i = 0; i < sub->nitems; i++) {
            item_t *it = &sub->items[i];
            if (it->state == ITEM_IN_FLIGHT && now - it->sent_ms >= sub->ack_timeout_ms) {
                it->state = ITEM_QUEUED;
                it->consumer = NULL;
            }
            waiting |= it->state == ITEM_QUEUED;
        }
        if (sub->consumers && (waiting || (!sub->caught_up && !sub->fetching)))
            dispatch(sub);
    }
}

static void log_position_cb(PGresult *res, const char *error, void *arg)
{
    broker_t *b = arg;
    if (error) {
        tr_log_error("cannot read the log position", TR_LOG_STR("error", error));
        return;
    }
    uint64_t pos = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    if (pos > b->log_position)
        b->log_position = pos;
    tr_log_info("log opened", TR_LOG_INT("position", (long long)b->log_position));
    subscription_new_events(b, b->log_position);
}

void subscription_start(broker_t *b)
{
    tr_pg_query(b->pg, "SELECT coalesce(max(position), 0) FROM broker.event", 0, NULL, log_position_cb, b);
    uv_timer_init(b->loop, &b->redelivery_timer);
    b->redelivery_timer.data = b;
    uv_timer_start(&b->redelivery_timer, redelivery_cb, 250, 250);
}

bool subscription_idle(const broker_t *b)
{
    for (subscription_t *sub = b->subscriptions; sub; sub = sub->next) {
        if (sub->saving || sub->acked > sub->acked_saved)
            return false;
    }
    return true;
}

void subscription_stop(broker_t *b)
{
    if (b->redelivery_timer.data) {
        uv_close((uv_handle_t *)&b->redelivery_timer, NULL);
        b->redelivery_timer.data = NULL;
    }
    while (b->subscriptions)
        subscription_free(b, b->subscriptions);
}

void subscription_status(broker_t *b, Trivsel__Broker__StatusReply *reply)
{
    for (size_t i = 0; i < reply->n_subscriptions; i++) {
        Trivsel__Broker__SubscriptionStatus *st = reply->subscriptions[i];
        subscription_t *sub = find(b, st->principal, st->name);
        if (!sub)
            continue;
        for (consumer_t *c = sub->consumers; c; c = c->next_in_sub)
            st->consumers++;
        for (size_t k = 0; k < sub->nitems; k++)
            st->in_flight += sub->items[k].state == ITEM_IN_FLIGHT;
    }
}
