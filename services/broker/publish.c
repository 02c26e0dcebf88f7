/* publish.c — an event into the log: check the envelope, commit it, and only then acknowledge
 * it with its position (ARCHITECTURE.md principle 1).
 *
 * Publishes that arrive while a commit is in progress wait and go into the next transaction
 * together (group commit): one statement and one fsync for many events, and positions stay in
 * commit order because only this one connection writes the log, one transaction after the
 * other. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker.h"
#include "catalogue.h"
#include "log.h"
#include "pgarray.h"
#include "subject.h"

typedef struct entry {
    struct entry *next;
    uint8_t *envelope;
    size_t len;
    char *event_id, *publisher, *subject, *type, *municipality, *correlation_id;
    char occurred_at[64], published_at[64];
    char outbox_id[24]; /* "" for a client's publish */
    uint64_t position;
    bool duplicate, stored;
    publish_done_cb cb;
    void *arg;
} entry_t;

struct publish_state {
    entry_t *queue, *queue_tail; /* waiting for the next transaction */
    entry_t *batch;              /* in the transaction now */
    bool committing;
};

static struct publish_state *state(broker_t *b)
{
    if (!b->publish)
        b->publish = calloc(1, sizeof *b->publish);
    return b->publish;
}

static void entry_free(entry_t *e)
{
    free(e->envelope);
    free(e->event_id);
    free(e->publisher);
    free(e->subject);
    free(e->type);
    free(e->municipality);
    free(e->correlation_id);
    free(e);
}

static void format_ts(const Google__Protobuf__Timestamp *ts, char *buf, size_t len)
{
    time_t secs = (time_t)ts->seconds;
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (ts->nanos / 1000) % 1000000);
}

static bool printable(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
            return false;
    }
    return n > 0 && n <= max;
}

Trivsel__Broker__ErrorCode publish_check(broker_t *b, const principal_t *p, const char *publisher,
                                         Trivsel__Envelope *ev, char *reason, size_t len)
{
    tr_error_t err = {0};
    if (!printable(ev->event_id, 100)) {
        snprintf(reason, len, "event_id \"%.100s\" is not valid: must be 1-100 printable characters", ev->event_id);
        return TRIVSEL__BROKER__ERROR_CODE__ERROR_INVALID_ENVELOPE;
    }
    if (tr_subject_check(ev->subject, &err) < 0) {
        snprintf(reason, len, "%s", err.message);
        return TRIVSEL__BROKER__ERROR_CODE__ERROR_INVALID_ENVELOPE;
    }
    const tr_event_type_t *et = tr_catalogue_by_subject(ev->subject);
    if (!et) {
        snprintf(reason, len, "no event type is published on subject \"%s\" (see EVENTS.md)", ev->subject);
        return TRIVSEL__BROKER__ERROR_CODE__ERROR_UNKNOWN_SUBJECT;
    }
    if (strcmp(ev->type, et->type_name) != 0) {
        snprintf(reason, len, "type \"%.100s\" does not belong to subject \"%s\": expected \"%s\"", ev->type,
                 ev->subject, et->type_name);
        return TRIVSEL__BROKER__ERROR_CODE__ERROR_TYPE_MISMATCH;
    }
    if (strlen(ev->municipality) != 3 || !isdigit((unsigned char)ev->municipality[0]) ||
        !isdigit((unsigned char)ev->municipality[1]) || !isdigit((unsigned char)ev->municipality[2])) {
        snprintf(reason, len, "municipality \"%.20s\" is not a kommunekode: must be 3 digits, e.g. 630",
                 ev->municipality);
        return TRIVSEL__BROKER__ERROR_CODE__ERROR_INVALID_ENVELOPE;
    }
    if (!ev->occurred_at || ev->occurred_at->nanos < 0 || ev->occurred_at->nanos > 999999999 ||
        ev->occurred_at->seconds < -62135596800LL || ev->occurred_at->seconds > 253402300799LL) {
        snprintf(reason, len, "occurred_at is %s: it must say when the event happened",
                 ev->occurred_at ? "out of range" : "missing");
        return TRIVSEL__BROKER__ERROR_CODE__ERROR_INVALID_ENVELOPE;
    }
    if (strlen(ev->correlation_id) > 100) {
        snprintf(reason, len, "correlation_id is longer than 100 characters");
        return TRIVSEL__BROKER__ERROR_CODE__ERROR_INVALID_ENVELOPE;
    }
    ProtobufCMessage *payload = protobuf_c_message_unpack(et->descriptor, NULL, ev->payload.len, ev->payload.data);
    if (!payload) {
        snprintf(reason, len, "payload (%zu bytes) is not a valid %s", ev->payload.len, et->type_name);
        return TRIVSEL__BROKER__ERROR_CODE__ERROR_INVALID_PAYLOAD;
    }
    protobuf_c_message_free_unpacked(payload, NULL);
    if (p && principals_may_publish(p, ev->subject, reason, len) < 0)
        return TRIVSEL__BROKER__ERROR_CODE__ERROR_NOT_PERMITTED;
    /* Measured as it will be stored, with the broker's publisher in place of the client's. */
    char *client_publisher = ev->publisher;
    ev->publisher = (char *)publisher;
    size_t size = trivsel__envelope__get_packed_size(ev);
    /* What is stored must decode again for every subscriber. protobuf-c keeps some malformed
     * input as unknown fields that it then re-encodes into bytes it rejects itself (field number
     * 0 in a two-byte tag, found by tests/fuzz): such an event would be redelivered forever. */
    bool decodes = false;
    uint8_t *stored = size <= b->max_event_bytes ? malloc(size ? size : 1) : NULL;
    if (stored) {
        trivsel__envelope__pack(ev, stored);
        Trivsel__Envelope *again = trivsel__envelope__unpack(NULL, size, stored);
        decodes = again != NULL;
        if (again)
            trivsel__envelope__free_unpacked(again, NULL);
        free(stored);
    }
    ev->publisher = client_publisher;
    if (!decodes && size <= b->max_event_bytes) {
        snprintf(reason, len, "the envelope holds malformed fields: it would not decode again once stored");
        return TRIVSEL__BROKER__ERROR_CODE__ERROR_INVALID_ENVELOPE;
    }
    if (size > b->max_event_bytes) {
        snprintf(reason, len, "the event is %zu bytes: the limit is %u", size, b->max_event_bytes);
        return TRIVSEL__BROKER__ERROR_CODE__ERROR_TOO_LARGE;
    }
    return TRIVSEL__BROKER__ERROR_CODE__ERROR_UNSPECIFIED;
}

static void start_batch(broker_t *b);

static void committed_cb(const char *error, void *arg)
{
    broker_t *b = arg;
    struct publish_state *st = b->publish;
    entry_t *batch = st->batch;
    st->batch = NULL;
    st->committing = false;
    uint64_t highest = 0;
    if (error)
        tr_log_error("cannot commit events to the log", TR_LOG_STR("error", error));
    for (entry_t *e = batch, *next; e; e = next) {
        next = e->next;
        bool ok = !error && e->stored;
        if (ok && e->position > highest)
            highest = e->position;
        if (e->cb)
            e->cb(b, e->arg, ok ? e->position : 0, e->duplicate, ok ? NULL : (error ? error : "not stored"));
        entry_free(e);
    }
    if (highest > b->log_position)
        b->log_position = highest;
    if (highest)
        subscription_new_events(b, highest);
    start_batch(b);
    broker_check_drained(b);
}

/* The batch's rows: (n, position, duplicate), n the entry's place in the batch from 1. */
static void inserted_cb(PGresult *res, const char *error, void *arg)
{
    broker_t *b = arg;
    if (error)
        return; /* the commit reports it; every entry is answered ERROR_UNAVAILABLE */
    entry_t *e = b->publish->batch;
    long at = 1;
    for (int i = 0; i < PQntuples(res); i++) {
        long n = strtol(PQgetvalue(res, i, 0), NULL, 10);
        for (; e && at < n; at++)
            e = e->next;
        if (!e || at != n)
            break;
        e->position = strtoull(PQgetvalue(res, i, 1), NULL, 10);
        e->duplicate = strcmp(PQgetvalue(res, i, 2), "t") == 0;
        e->stored = true;
    }
}

/* The whole batch in one statement, one row of parameters per event, in queue order: one round
 * trip to the database instead of one per event. Each new event takes the next position in
 * that order; an event id its publisher has stored before (or earlier in the same batch) is
 * answered with the first position and duplicate true. Columns of the result: the event's place
 * in the batch (from 1), its position, whether it was a duplicate. */
#define INSERT_COLUMNS 10
static const char *const insert_casts[INSERT_COLUMNS] = {"int", "text", "text", "text", "text",
                                                         "text", "text", "timestamptz", "timestamptz", "bytea"};
static const char insert_head[] =
    "WITH input (n, event_id, publisher, subject, type, municipality, correlation_id, occurred_at,"
    " published_at, envelope) AS (VALUES ";
static const char insert_tail[] =
    "), first AS (SELECT DISTINCT ON (publisher, event_id) * FROM input ORDER BY publisher, event_id, n),"
    " ins AS ("
    " INSERT INTO broker.event (position, event_id, publisher, subject, type, municipality, correlation_id,"
    "   occurred_at, published_at, envelope)"
    " SELECT nextval('broker.event_position'), event_id, publisher, subject, type, municipality,"
    "   correlation_id, occurred_at, published_at, envelope FROM (SELECT * FROM first ORDER BY n) f"
    " ON CONFLICT (publisher, event_id) DO NOTHING RETURNING position, publisher, event_id)"
    " SELECT i.n, coalesce(ins.position, e.position), ins.position IS NULL OR i.n <> f.n"
    "   FROM input i JOIN first f USING (publisher, event_id)"
    "   LEFT JOIN ins USING (publisher, event_id)"
    "   LEFT JOIN broker.event e ON ins.position IS NULL AND e.publisher = i.publisher"
    "    AND e.event_id = i.event_id"
    "  ORDER BY i.n";

/* The outbox rows of the batch's events are deleted in the transaction that stores them: moved
 * exactly once, with one commit (a crash before it leaves both as they were). */
static void delete_moved(broker_t *b, tr_pg_txn_t *txn)
{
    tr_pg_array_t ids;
    tr_pg_array_init(&ids);
    for (entry_t *e = b->publish->batch; e; e = e->next) {
        if (e->outbox_id[0])
            tr_pg_array_add(&ids, e->outbox_id);
    }
    /* The ids as one array parameter: one statement text whatever their number, so it is
     * prepared once, and an index lookup per id. */
    const char *values[1] = {ids.len ? tr_pg_array_text(&ids) : NULL};
    if (values[0])
        tr_pg_txn_query(txn, "DELETE FROM broker.outbox WHERE id = ANY ($1::bigint[])", 1, values, NULL, NULL);
    /* Out of memory: the rows stay and are moved again at the next sweep, stored once. */
    tr_pg_array_release(&ids);
}

static void begun_cb(tr_pg_txn_t *txn, const char *error, void *arg)
{
    broker_t *b = arg;
    if (error) {
        committed_cb(error, b);
        return;
    }
    size_t n = 0;
    for (entry_t *e = b->publish->batch; e; e = e->next)
        n++;
    char *sql = tr_pg_rows_sql(insert_head, n, INSERT_COLUMNS, insert_casts, insert_tail);
    char (*places)[24] = calloc(n, sizeof *places);
    const char **values = calloc(n * INSERT_COLUMNS, sizeof *values);
    int *lengths = calloc(n * INSERT_COLUMNS, sizeof *lengths), *formats = calloc(n * INSERT_COLUMNS, sizeof *formats);
    if (sql && places && values && lengths && formats) {
        size_t k = 0;
        for (entry_t *e = b->publish->batch; e; e = e->next, k++) {
            snprintf(places[k], sizeof places[k], "%zu", k + 1);
            const char *row[INSERT_COLUMNS] = {places[k], e->event_id, e->publisher, e->subject,
                                               e->type, e->municipality, e->correlation_id, e->occurred_at,
                                               e->published_at, (const char *)e->envelope};
            memcpy(&values[INSERT_COLUMNS * k], row, sizeof row);
            lengths[INSERT_COLUMNS * k + 9] = (int)e->len;
            formats[INSERT_COLUMNS * k + 9] = 1;
        }
        tr_pg_txn_query_binary(txn, sql, (int)(INSERT_COLUMNS * n), values, lengths, formats, inserted_cb, b);
        delete_moved(b, txn);
        tr_pg_commit(txn, committed_cb, b);
    } else {
        tr_pg_rollback(txn, NULL, NULL);
        committed_cb("out of memory", b);
    }
    free(sql);
    free(places);
    free(values);
    free(lengths);
    free(formats);
}

static void start_batch(broker_t *b)
{
    struct publish_state *st = b->publish;
    if (st->committing || !st->queue)
        return;
    entry_t **tail = &st->batch;
    size_t bytes = 0;
    for (int n = 0; st->queue && n < BROKER_PUBLISH_BATCH; n++) {
        entry_t *e = st->queue;
        if (n > 0 && bytes + e->len > BROKER_PUBLISH_BATCH_BYTES)
            break;
        bytes += e->len;
        st->queue = e->next;
        e->next = NULL;
        *tail = e;
        tail = &e->next;
    }
    if (!st->queue)
        st->queue_tail = NULL;
    st->committing = true;
    if (tr_pg_begin(b->pg, begun_cb, b) < 0)
        committed_cb("the database connection is closing", b);
}

void publish_enqueue(broker_t *b, const Trivsel__Envelope *ev, const char *outbox_id, publish_done_cb cb, void *arg)
{
    struct publish_state *st = state(b);
    entry_t *e = calloc(1, sizeof *e);
    if (!e) {
        cb(b, arg, 0, false, "out of memory");
        return;
    }
    e->len = trivsel__envelope__get_packed_size(ev);
    e->envelope = malloc(e->len ? e->len : 1);
    e->event_id = strdup(ev->event_id);
    e->publisher = strdup(ev->publisher);
    e->subject = strdup(ev->subject);
    e->type = strdup(ev->type);
    e->municipality = strdup(ev->municipality);
    e->correlation_id = strdup(ev->correlation_id);
    trivsel__envelope__pack(ev, e->envelope);
    format_ts(ev->occurred_at, e->occurred_at, sizeof e->occurred_at);
    format_ts(ev->published_at, e->published_at, sizeof e->published_at);
    snprintf(e->outbox_id, sizeof e->outbox_id, "%s", outbox_id ? outbox_id : "");
    e->cb = cb;
    e->arg = arg;
    if (st->queue_tail)
        st->queue_tail->next = e;
    else
        st->queue = e;
    st->queue_tail = e;
    start_batch(b);
}

typedef struct reply_to {
    uint8_t routing_id[BROKER_ROUTING_MAX];
    size_t routing_len;
    char event_id[101];
} reply_to_t;

static void acked_cb(broker_t *b, void *arg, uint64_t position, bool duplicate, const char *error)
{
    reply_to_t *r = arg;
    if (error) {
        socket_send_error(b, r->routing_id, r->routing_len, TRIVSEL__BROKER__ERROR_CODE__ERROR_UNAVAILABLE,
                          r->event_id, NULL, "the event log cannot be written now; retry the publish (%s)", error);
    } else {
        Trivsel__Broker__PublishAck ack = TRIVSEL__BROKER__PUBLISH_ACK__INIT;
        ack.event_id = r->event_id;
        ack.position = position;
        ack.duplicate = duplicate;
        Trivsel__Broker__ServerMessage msg = TRIVSEL__BROKER__SERVER_MESSAGE__INIT;
        msg.reply_case = TRIVSEL__BROKER__SERVER_MESSAGE__REPLY_PUBLISH_ACK;
        msg.publish_ack = &ack;
        tr_metric_inc(b->m.acks);
        if (duplicate)
            tr_metric_inc(b->m.duplicates);
        socket_send(b, r->routing_id, r->routing_len, &msg);
    }
    free(r);
}

void publish_handle(broker_t *b, session_t *s, const principal_t *p, Trivsel__Envelope *ev)
{
    char reason[600];
    tr_metric_inc(b->m.publishes);
    Trivsel__Broker__ErrorCode code = publish_check(b, p, p->name, ev, reason, sizeof reason);
    if (code == TRIVSEL__BROKER__ERROR_CODE__ERROR_NOT_PERMITTED) {
        socket_refuse(b, s, "publish", ev->subject, principals_why_refused(p, ev->subject), ev->event_id, NULL,
                      reason);
        return;
    }
    if (code != TRIVSEL__BROKER__ERROR_CODE__ERROR_UNSPECIFIED) {
        tr_log_info("publish refused", TR_LOG_STR("principal", p->name), TR_LOG_STR("reason", broker_error_name(code)),
                    TR_LOG_STR("detail", reason));
        socket_send_error(b, s->routing_id, s->routing_len, code, ev->event_id, NULL, "%s", reason);
        return;
    }
    Google__Protobuf__Timestamp published = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    published.seconds = now.tv_sec;
    published.nanos = (int32_t)(now.tv_nsec / 1000 * 1000);
    /* The broker's own fields replace whatever the client put there. They are borrowed for the
     * encoding only: the client's values are put back so free_unpacked frees what it
     * allocated. */
    Google__Protobuf__Timestamp *client_published_at = ev->published_at;
    char *client_publisher = ev->publisher;
    ev->published_at = &published;
    ev->publisher = (char *)p->name;
    ev->position = 0;
    reply_to_t *r = calloc(1, sizeof *r);
    if (r) {
        memcpy(r->routing_id, s->routing_id, s->routing_len);
        r->routing_len = s->routing_len;
        snprintf(r->event_id, sizeof r->event_id, "%s", ev->event_id);
        publish_enqueue(b, ev, NULL, acked_cb, r);
    }
    ev->published_at = client_published_at;
    ev->publisher = client_publisher;
}

bool publish_idle(const broker_t *b)
{
    return !b->publish || (!b->publish->committing && !b->publish->queue);
}

void publish_stop(broker_t *b)
{
    if (b->publish) {
        for (entry_t *e = b->publish->queue, *next; e; e = next) {
            next = e->next;
            entry_free(e);
        }
        free(b->publish);
        b->publish = NULL;
    }
}
