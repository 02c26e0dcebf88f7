/* audit.c — the broker's rows in broker.audit (see migration 0003): every delivery to a
 * principal outside trivsel's services (systems, suppliers, operators) and every refused
 * attempt. A delivery to such a principal is sent only after its audit row is committed: a
 * child's data never leaves without a trace, even if the broker dies a moment later. Rows are
 * written at once, by one statement for those that came in the same turn of the loop; those
 * that come while a write is in flight go together in the next (group commit without a timer:
 * a delivery waits for one commit, not for a clock as well). The database chains them. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "pgarray.h"

#define AUDIT_BATCH 500

typedef struct audit_row {
    struct audit_row *next;
    char *principal, *action, *subject, *event_id, *correlation_id, *detail;
    uint64_t position; /* 0: none */
    /* For a delivery: who gets it once the row is committed. */
    bool delivery;
    uint8_t routing_id[BROKER_ROUTING_MAX];
    size_t routing_len;
    char sub_principal[BROKER_NAME_MAX], sub_name[BROKER_NAME_MAX + 1];
} audit_row_t;

struct audit_state {
    audit_row_t *queue, *queue_tail, *writing;
    size_t queued;
    uv_timer_t timer;
    bool busy;
};

static char *copy_text(const char *s)
{
    return strdup(s ? s : "");
}

static void row_free(audit_row_t *r)
{
    free(r->principal);
    free(r->action);
    free(r->subject);
    free(r->event_id);
    free(r->correlation_id);
    free(r->detail);
    free(r);
}

static void flush(broker_t *b);

static void written_cb(PGresult *res, const char *error, void *arg)
{
    broker_t *b = arg;
    struct audit_state *st = b->audit;
    (void)res;
    audit_row_t *rows = st->writing;
    st->writing = NULL;
    st->busy = false;
    if (error)
        tr_log_error("cannot write audit rows; deliveries waiting for them are held back and redelivered",
                     TR_LOG_STR("error", error));
    for (audit_row_t *r = rows, *next; r; r = next) {
        next = r->next;
        if (r->delivery && !error)
            subscription_send_audited(b, r->sub_principal, r->sub_name, r->position, r->routing_id, r->routing_len);
        row_free(r);
    }
    if (st->queue)
        flush(b);
    broker_check_drained(b);
}

static void flush(broker_t *b)
{
    struct audit_state *st = b->audit;
    if (st->busy || !st->queue)
        return;
    /* Take up to a batch. */
    audit_row_t **tail = &st->writing;
    size_t n = 0;
    while (st->queue && n < AUDIT_BATCH) {
        audit_row_t *r = st->queue;
        st->queue = r->next;
        r->next = NULL;
        *tail = r;
        tail = &r->next;
        n++;
    }
    if (!st->queue)
        st->queue_tail = NULL;
    st->queued -= n;
    tr_pg_array_t cols[7];
    for (int c = 0; c < 7; c++)
        tr_pg_array_init(&cols[c]);
    for (audit_row_t *r = st->writing; r; r = r->next) {
        char pos[24];
        snprintf(pos, sizeof pos, "%llu", (unsigned long long)r->position);
        tr_pg_array_add(&cols[0], r->principal);
        tr_pg_array_add(&cols[1], r->action);
        tr_pg_array_add(&cols[2], r->subject);
        tr_pg_array_add(&cols[3], r->position ? pos : NULL);
        tr_pg_array_add(&cols[4], r->event_id);
        tr_pg_array_add(&cols[5], r->correlation_id);
        tr_pg_array_add(&cols[6], r->detail);
    }
    const char *values[7];
    bool ok = true;
    for (int c = 0; c < 7; c++)
        ok = (values[c] = tr_pg_array_text(&cols[c])) != NULL && ok;
    st->busy = true;
    if (!ok)
        written_cb(NULL, "out of memory", b);
    else if (tr_pg_query(b->auditor,
                         "INSERT INTO broker.audit (principal, action, subject, position, event_id, correlation_id,"
                         " detail) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[],"
                         " $6::text[], $7::text[])",
                         7, values, written_cb, b) < 0)
        written_cb(NULL, "the database connection is closing", b);
    for (int c = 0; c < 7; c++)
        tr_pg_array_release(&cols[c]);
}

static void timer_cb(uv_timer_t *t)
{
    flush(t->data);
}

static audit_row_t *enqueue(broker_t *b, const char *principal, const char *action, const char *subject,
                            uint64_t position, const char *event_id, const char *correlation_id, const char *detail)
{
    struct audit_state *st = b->audit;
    if (!st)
        return NULL;
    audit_row_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->principal = copy_text(principal);
    r->action = copy_text(action);
    r->subject = copy_text(subject);
    r->event_id = copy_text(event_id);
    r->correlation_id = copy_text(correlation_id);
    r->detail = copy_text(detail);
    r->position = position;
    if (st->queue_tail)
        st->queue_tail->next = r;
    else
        st->queue = r;
    st->queue_tail = r;
    if (++st->queued >= AUDIT_BATCH)
        flush(b);
    else if (!st->busy && !uv_is_active((uv_handle_t *)&st->timer))
        uv_timer_start(&st->timer, timer_cb, 0, 0);
    return r;
}

void audit_refusal(broker_t *b, const char *principal, const char *action, const char *subject, const char *detail)
{
    enqueue(b, principal, action, subject, 0, "", "", detail);
}

void audit_delivery(broker_t *b, const char *principal, const uint8_t *envelope, size_t len, uint64_t position,
                    const char *sub_principal, const char *sub_name, const uint8_t *routing_id, size_t routing_len)
{
    Trivsel__Envelope *ev = trivsel__envelope__unpack(NULL, len, envelope);
    audit_row_t *r = enqueue(b, principal, "delivered", ev ? ev->subject : "", position, ev ? ev->event_id : "",
                             ev ? ev->correlation_id : "", sub_name);
    if (ev)
        trivsel__envelope__free_unpacked(ev, NULL);
    if (!r)
        return; /* not sent: redelivered after the ack timeout */
    r->delivery = true;
    memcpy(r->routing_id, routing_id, routing_len);
    r->routing_len = routing_len;
    snprintf(r->sub_principal, sizeof r->sub_principal, "%s", sub_principal);
    snprintf(r->sub_name, sizeof r->sub_name, "%s", sub_name);
}

void audit_start(broker_t *b)
{
    b->audit = calloc(1, sizeof *b->audit);
    uv_timer_init(b->loop, &b->audit->timer);
    b->audit->timer.data = b;
}

bool audit_idle(const broker_t *b)
{
    return !b->audit || (!b->audit->busy && !b->audit->queue);
}

void audit_drain(broker_t *b)
{
    if (b->audit)
        flush(b);
}

static void timer_closed_cb(uv_handle_t *h)
{
    struct audit_state *st = h->data;
    while (st->queue) {
        audit_row_t *r = st->queue;
        st->queue = r->next;
        row_free(r);
    }
    free(st);
}

void audit_stop(broker_t *b)
{
    if (b->audit) {
        b->audit->timer.data = b->audit;
        uv_close((uv_handle_t *)&b->audit->timer, timer_closed_cb);
        b->audit = NULL;
    }
}
