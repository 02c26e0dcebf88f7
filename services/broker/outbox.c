/* outbox.c — the services' transactional outbox (issue 3, item 4). A service writes the events
 * it emits into broker.outbox in the same transaction as its own state change; the broker
 * moves them into the log, woken by NOTIFY trivsel_outbox, and sweeps every
 * TRIVSEL_BROKER_OUTBOX_SWEEP in case a notification was missed (e.g. during a reconnect).
 *
 * A move is: read the oldest rows, check each like a publish (the publisher is the database
 * role that inserted it: trivsel_intake publishes as "intake"), commit the valid ones to the
 * log through the same group commit as publishes, which deletes their rows in the same
 * transaction, then keep the refused ones in broker.outbox_refused with the reason and delete
 * them. A row is moved once; if the broker dies before the refused rows are kept, they are read
 * and refused again. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "log.h"

/* Rows read per move: as many as one group commit takes (BROKER_PUBLISH_BATCH). */
#define OUTBOX_BATCH BROKER_PUBLISH_BATCH

typedef struct row {
    char id[24];
    char publisher[BROKER_NAME_MAX];
    char reason[600]; /* non-empty when refused */
    uint8_t *envelope;
    size_t len;
} row_t;

struct outbox_state {
    uv_timer_t sweep;
    bool moving, again;
    row_t *rows;
    int nrows, waiting, failed;
};

static void move(broker_t *b);

static void finish(broker_t *b, bool more)
{
    struct outbox_state *st = b->outbox;
    for (int i = 0; i < st->nrows; i++)
        free(st->rows[i].envelope);
    free(st->rows);
    st->rows = NULL;
    st->nrows = 0;
    st->moving = false;
    if ((more || st->again) && !b->draining) {
        st->again = false;
        move(b);
    }
    broker_check_drained(b);
}

static void cleaned_cb(const char *error, void *arg)
{
    broker_t *b = arg;
    if (error)
        tr_log_warn("cannot clear moved outbox rows (they will be moved again, harmlessly)",
                    TR_LOG_STR("error", error));
    finish(b, !error && b->outbox->nrows == OUTBOX_BATCH);
}

static void clean_begun_cb(tr_pg_txn_t *txn, const char *error, void *arg)
{
    broker_t *b = arg;
    struct outbox_state *st = b->outbox;
    if (error) {
        cleaned_cb(error, b);
        return;
    }
    /* The refused rows' ids as a PostgreSQL array literal of integers: built from row ids the
     * database gave us, and passed as a parameter. (The moved rows were deleted when they were
     * stored.) */
    size_t cap = (size_t)st->nrows * 24 + 3;
    char *ids = malloc(cap);
    size_t n = 0;
    ids[n++] = '{';
    for (int i = 0; i < st->nrows; i++) {
        row_t *r = &st->rows[i];
        if (r->reason[0]) {
            n += (size_t)snprintf(ids + n, cap - n, "%s%s", n > 1 ? "," : "", r->id);
            const char *values[4] = {r->id, r->publisher, (const char *)r->envelope, r->reason};
            int lengths[4] = {0, 0, (int)r->len, 0};
            int formats[4] = {0, 0, 1, 0};
            tr_pg_txn_query_binary(txn,
                                   "INSERT INTO broker.outbox_refused (id, publisher, envelope, reason)"
                                   " VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                                   4, values, lengths, formats, NULL, NULL);
        }
    }
    ids[n++] = '}';
    ids[n] = '\0';
    const char *values[1] = {ids};
    tr_pg_txn_query(txn, "DELETE FROM broker.outbox WHERE id = ANY($1::bigint[])", 1, values, NULL, NULL);
    free(ids);
    tr_pg_commit(txn, cleaned_cb, b);
}

static void committed_cb(broker_t *b, void *arg, uint64_t position, bool duplicate, const char *error)
{
    struct outbox_state *st = b->outbox;
    (void)arg;
    (void)position;
    if (error)
        st->failed++;
    else if (!duplicate)
        tr_metric_inc(b->m.outbox_moved);
    if (--st->waiting > 0)
        return;
    if (st->failed) {
        tr_log_warn("outbox events not moved; trying again at the next sweep", TR_LOG_INT("failed", st->failed));
        finish(b, false);
        return;
    }
    bool refused = false;
    for (int i = 0; i < st->nrows; i++)
        refused = refused || st->rows[i].reason[0];
    if (!refused)
        finish(b, st->nrows == OUTBOX_BATCH);
    else if (tr_pg_begin(b->pg, clean_begun_cb, b) < 0)
        finish(b, false);
}

/* "trivsel_intake" -> "intake": a service's principal is its role without the prefix. */
static const char *principal_of_role(const char *role)
{
    return strncmp(role, "trivsel_", 8) == 0 ? role + 8 : role;
}

static void selected_cb(PGresult *res, const char *error, void *arg)
{
    broker_t *b = arg;
    struct outbox_state *st = b->outbox;
    if (error) {
        tr_log_warn("cannot read the outbox", TR_LOG_STR("error", error));
        finish(b, false);
        return;
    }
    st->nrows = PQntuples(res);
    if (st->nrows == 0) {
        finish(b, false);
        return;
    }
    st->rows = calloc((size_t)st->nrows, sizeof *st->rows);
    st->waiting = 1; /* held until every row is queued, so the callback cannot finish early */
    st->failed = 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    Google__Protobuf__Timestamp published = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    published.seconds = now.tv_sec;
    published.nanos = (int32_t)(now.tv_nsec / 1000 * 1000);
    for (int i = 0; i < st->nrows; i++) {
        row_t *r = &st->rows[i];
        snprintf(r->id, sizeof r->id, "%s", PQgetvalue(res, i, 0));
        snprintf(r->publisher, sizeof r->publisher, "%s", principal_of_role(PQgetvalue(res, i, 1)));
        unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 2), &r->len);
        r->envelope = malloc(r->len ? r->len : 1);
        if (bytes)
            memcpy(r->envelope, bytes, r->len);
        PQfreemem(bytes);
        Trivsel__Envelope *ev = bytes ? trivsel__envelope__unpack(NULL, r->len, r->envelope) : NULL;
        if (!ev) {
            snprintf(r->reason, sizeof r->reason, "the row is not a trivsel.Envelope (%zu bytes)", r->len);
        } else {
            const principal_t *p = principals_by_name(b, r->publisher);
            Trivsel__Broker__ErrorCode code = publish_check(b, p, r->publisher, ev, r->reason, sizeof r->reason);
            /* A service without a registered principal may still emit its own events. */
            size_t plen = strlen(r->publisher);
            if (code == TRIVSEL__BROKER__ERROR_CODE__ERROR_UNSPECIFIED && !p &&
                !(strncmp(ev->subject, r->publisher, plen) == 0 && ev->subject[plen] == '.'))
                snprintf(r->reason, sizeof r->reason, "%s may publish only %s.* subjects, not \"%s\"", r->publisher,
                         r->publisher, ev->subject);
            else if (code != TRIVSEL__BROKER__ERROR_CODE__ERROR_UNSPECIFIED)
                ; /* reason filled in */
            else
                r->reason[0] = '\0';
            if (!r->reason[0]) {
                Google__Protobuf__Timestamp *own = ev->published_at;
                char *own_publisher = ev->publisher;
                ev->published_at = &published;
                ev->publisher = r->publisher;
                ev->position = 0;
                st->waiting++;
                publish_enqueue(b, ev, r->id, committed_cb, NULL);
                ev->published_at = own;
                ev->publisher = own_publisher;
            }
            trivsel__envelope__free_unpacked(ev, NULL);
        }
        if (r->reason[0]) {
            tr_metric_inc(b->m.outbox_refused);
            tr_log_error("outbox event refused", TR_LOG_STR("publisher", r->publisher), TR_LOG_STR("id", r->id),
                         TR_LOG_STR("reason", r->reason));
        }
    }
    committed_cb(b, NULL, 0, true, NULL); /* releases the hold taken above */
}

static void move(broker_t *b)
{
    struct outbox_state *st = b->outbox;
    if (st->moving) {
        st->again = true;
        return;
    }
    st->moving = true;
    char limit[16];
    snprintf(limit, sizeof limit, "%d", OUTBOX_BATCH);
    const char *values[1] = {limit};
    if (tr_pg_query(b->pg, "SELECT id, publisher, envelope FROM broker.outbox ORDER BY id LIMIT $1", 1, values,
                    selected_cb, b) < 0)
        st->moving = false;
}

void outbox_wake(broker_t *b)
{
    if (b->outbox && !b->draining)
        move(b);
}

static void sweep_cb(uv_timer_t *t)
{
    outbox_wake(t->data);
}

void outbox_start(broker_t *b)
{
    b->outbox = calloc(1, sizeof *b->outbox);
    uv_timer_init(b->loop, &b->outbox->sweep);
    b->outbox->sweep.data = b;
    uv_timer_start(&b->outbox->sweep, sweep_cb, 0, b->outbox_sweep_ms);
}

bool outbox_idle(const broker_t *b)
{
    return !b->outbox || !b->outbox->moving;
}

static void sweep_closed_cb(uv_handle_t *h)
{
    free(h->data);
}

void outbox_stop(broker_t *b)
{
    if (b->outbox) {
        b->outbox->sweep.data = b->outbox;
        uv_close((uv_handle_t *)&b->outbox->sweep, sweep_closed_cb);
        b->outbox = NULL;
    }
}
