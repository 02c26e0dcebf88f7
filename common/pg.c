#include "pg.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef enum { Q_STATEMENT, Q_BEGIN, Q_END } query_role_t;

/* Statements are prepared once per connection and then only executed: parsing, analysis and
 * planning were most of the server's work for the services' short statements. At most
 * PREPARED_MAX texts per connection, each of at most PREPARED_MAX_PARAMS parameters (the
 * statements built for many rows at once vary with their count and gain little); the rest run
 * unnamed, as before. */
#define PREPARED_MAX 256
#define PREPARED_SLOTS 512 /* open addressing, at most half full */
#define PREPARED_MAX_PARAMS 64

typedef struct prepared {
    char *sql; /* NULL: free slot */
    unsigned number;
} prepared_t;

typedef struct query {
    struct query *next;
    char *sql;
    int nparams;
    char **values;
    int *lengths, *formats; /* NULL for text parameters */
    query_role_t role;
    bool sent;              /* in the pipeline: its results come in order */
    unsigned prepared;      /* executed as prepared statement trN; 0 = unnamed */
    bool preparing;         /* sent with its Prepare: that result comes first */
    PGresult *prepare_failed; /* the Prepare's error: the execution was skipped */
    char *refused;          /* libpq would not send it: completed with this, not by the server */
    tr_pg_txn_t *txn;       /* the transaction it belongs to, or NULL */
    tr_pg_result_cb cb;
    tr_pg_begun_cb begun_cb;
    tr_pg_done_cb done_cb;
    void *arg;
} query_t;

struct tr_pg_txn {
    tr_pg_t *pg;
    char *error;  /* the first error; the transaction is then aborted */
    bool dead;    /* the connection was lost: nothing more can run in it */
    bool refused; /* a statement of it was never sent: its end is sent as ROLLBACK */
};

typedef struct listen_channel {
    struct listen_channel *next;
    char *name;
} listen_channel_t;

typedef enum { PG_IDLE, PG_CONNECTING, PG_READY, PG_CLOSING } pg_state_t;

struct tr_pg {
    uv_loop_t *loop;
    char *url, *user, *password, *application_name;
    PGconn *conn;
    pg_state_t state;
    uv_poll_t *poll; /* on PQsocket; replaced when the socket changes */
    int poll_fd;
    uv_timer_t retry;
    uv_timer_t soon; /* runs the queue on the next turn: no callback from inside a call */
    uint64_t retry_ms;
    /* The queue: the queries from head up to unsent are in the pipeline (sent, results not
     * all read), in order; unsent and those after it wait to be sent. */
    query_t *head, *tail, *unsent;
    tr_pg_txn_t *txn;     /* the transaction holding the connection, from BEGIN sent to its end */
    query_t *txn_last;    /* the last queued query of that transaction: its next goes after */
    bool await_sync;      /* the head's results are read; the sync point after it comes next */
    PGresult *result;     /* the last result of the head query */
    prepared_t prepared[PREPARED_SLOTS]; /* on this connection */
    unsigned nprepared, prepared_number;
    size_t pending;
    listen_channel_t *channels;
    tr_pg_state_cb state_cb;
    tr_pg_notify_cb notify_cb;
    void *arg;
    char last_error[256];
    bool closing;
    void (*closed_cb)(void *arg);
    void *closed_arg;
    int open_handles;
};

static void poll_cb(uv_poll_t *h, int status, int events);
static void start_connect(tr_pg_t *pg);
static void pump(tr_pg_t *pg);
static void prepared_clear(tr_pg_t *pg);

static char *dup_or_null(const char *s)
{
    return s && s[0] ? strdup(s) : NULL;
}

static void query_free(query_t *q)
{
    if (!q)
        return;
    for (int i = 0; i < q->nparams; i++)
        free(q->values[i]);
    free(q->values);
    free(q->lengths);
    free(q->formats);
    free(q->refused);
    PQclear(q->prepare_failed);
    free(q->sql);
    free(q);
}

static void build_params(const tr_pg_t *pg, const char *keys[6], const char *vals[6])
{
    int i = 0;
    /* dbname first with expand_dbname: a later user/password overrides the URL's. */
    keys[i] = "dbname", vals[i++] = pg->url;
    if (pg->user)
        keys[i] = "user", vals[i++] = pg->user;
    if (pg->password)
        keys[i] = "password", vals[i++] = pg->password;
    if (pg->application_name)
        keys[i] = "application_name", vals[i++] = pg->application_name;
    keys[i] = NULL, vals[i] = NULL;
}

/* The first line of text, without trailing blanks: libpq's messages end in "\n" and some add
 * an indented hint line, which do not belong in a one-line log field or readiness reason. */
static void first_line(const char *text, char *out, size_t len)
{
    size_t n = strcspn(text ? text : "", "\n");
    snprintf(out, len, "%.*s", (int)n, text ? text : "");
    n = strlen(out);
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t' || out[n - 1] == '\r'))
        out[--n] = '\0';
}

/* Why a query failed, for its callback: PostgreSQL's primary message
 * ('relation "x" does not exist'); the SQLSTATE, detail and position stay in the result. For
 * errors libpq made itself, its message. */
static void error_text(const PGresult *r, const char *fallback, char *out, size_t len)
{
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *whole = r ? PQresultErrorMessage(r) : "";
    first_line(primary ? primary : whole[0] ? whole : fallback, out, len);
}

static void set_last_error(tr_pg_t *pg, const char *msg)
{
    first_line(msg, pg->last_error, sizeof pg->last_error);
}

/* Server notices and warnings (and a FATAL that arrives between queries) go to the log as
 * JSON like everything else; libpq's default prints them raw on stderr. */
static void notice_cb(void *arg, const PGresult *res)
{
    (void)arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    char message[512];
    error_text(res, "", message, sizeof message);
    if (severity && (strcmp(severity, "NOTICE") == 0 || strcmp(severity, "INFO") == 0 ||
                     strcmp(severity, "LOG") == 0 || strcmp(severity, "DEBUG") == 0))
        tr_log_info("database notice", TR_LOG_STR("severity", severity),
                    TR_LOG_STR("message", message));
    else
        tr_log_warn("database notice", TR_LOG_STR("severity", severity),
                    TR_LOG_STR("message", message));
}

static void handle_closed_cb(uv_handle_t *h)
{
    tr_pg_t *pg = h->data;
    if (h != (uv_handle_t *)&pg->retry && h != (uv_handle_t *)&pg->soon)
        free(h);
    if (--pg->open_handles == 0 && pg->closing) {
        void (*cb)(void *) = pg->closed_cb;
        void *arg = pg->closed_arg;
        for (listen_channel_t *c = pg->channels, *next; c; c = next) {
            next = c->next;
            free(c->name);
            free(c);
        }
        free(pg->url);
        free(pg->user);
        free(pg->password);
        free(pg->application_name);
        for (size_t i = 0; i < PREPARED_SLOTS; i++)
            free(pg->prepared[i].sql);
        free(pg);
        if (cb)
            cb(arg);
    }
}

static void drop_poll(tr_pg_t *pg)
{
    if (pg->poll) {
        uv_poll_stop(pg->poll);
        uv_close((uv_handle_t *)pg->poll, handle_closed_cb);
        pg->poll = NULL;
        pg->poll_fd = -1;
    }
}

/* Watches the connection's socket for the given events, replacing the watcher if libpq moved
 * to another socket (it does while trying several hosts). */
static void watch(tr_pg_t *pg, int events)
{
    int fd = PQsocket(pg->conn);
    if (fd < 0)
        return;
    if (pg->poll && pg->poll_fd != fd)
        drop_poll(pg);
    if (!pg->poll) {
        pg->poll = malloc(sizeof *pg->poll);
        assert(pg->poll);
        if (uv_poll_init(pg->loop, pg->poll, fd) != 0) {
            free(pg->poll);
            pg->poll = NULL;
            return;
        }
        pg->poll->data = pg;
        pg->poll_fd = fd;
        pg->open_handles++;
    }
    uv_poll_start(pg->poll, events, poll_cb);
}

static void txn_set_error(tr_pg_txn_t *txn, const char *error)
{
    if (!txn->error)
        txn->error = strdup(error);
}

static void txn_free(tr_pg_txn_t *txn)
{
    free(txn->error);
    free(txn);
}

/* Calls the query's callback for its role. For Q_END the transaction is over and freed; for a
 * failed Q_BEGIN it never started and is freed. */
static void complete(query_t *q, PGresult *res, const char *error)
{
    switch (q->role) {
    case Q_STATEMENT:
        if (error && q->txn)
            txn_set_error(q->txn, error);
        if (q->cb)
            q->cb(res, error, q->arg);
        break;
    case Q_BEGIN:
        if (error) {
            q->begun_cb(NULL, error, q->arg);
            txn_free(q->txn);
        } else {
            q->begun_cb(q->txn, NULL, q->arg);
        }
        break;
    case Q_END: {
        char msg[600];
        const char *why = error;
        /* COMMIT of an aborted transaction "succeeds" as ROLLBACK: report the first error. */
        if (q->txn->error) {
            snprintf(msg, sizeof msg, "transaction rolled back: %s", q->txn->error);
            why = msg;
        } else if (!error && res && strcmp(PQcmdStatus(res), "ROLLBACK") == 0 &&
                   strcmp(q->sql, "COMMIT") == 0) {
            why = "transaction rolled back";
        }
        if (q->done_cb)
            q->done_cb(why, q->arg);
        txn_free(q->txn);
        break;
    }
    }
}

/* Takes the query at the head off the queue and completes it with r (freed here) and error. */
static void complete_head(tr_pg_t *pg, PGresult *r, const char *error)
{
    query_t *q = pg->head;
    pg->head = q->next;
    if (!pg->head)
        pg->tail = NULL;
    if (pg->txn_last == q)
        pg->txn_last = NULL;
    if (pg->unsent == q)
        pg->unsent = q->next;
    pg->pending--;
    if (q->role == Q_END || (q->role == Q_BEGIN && error))
        pg->txn = NULL;
    complete(q, r, error);
    PQclear(r);
    query_free(q);
}

/* Completes every query with error: the in-flight one and all queued. */
static void fail_all(tr_pg_t *pg, const char *error)
{
    query_t *q = pg->head;
    pg->head = pg->tail = pg->unsent = NULL;
    pg->await_sync = false;
    if (pg->result) {
        PQclear(pg->result);
        pg->result = NULL;
    }
    if (pg->txn) {
        pg->txn->dead = true;
        txn_set_error(pg->txn, error);
        pg->txn = NULL;
    }
    pg->txn_last = NULL;
    while (q) {
        query_t *next = q->next;
        pg->pending--;
        complete(q, NULL, error);
        query_free(q);
        q = next;
    }
}

static void retry_cb(uv_timer_t *t)
{
    start_connect(t->data);
}

static void finish_close(tr_pg_t *pg)
{
    drop_poll(pg);
    if (pg->conn) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    uv_timer_stop(&pg->retry);
    if (!uv_is_closing((uv_handle_t *)&pg->retry))
        uv_close((uv_handle_t *)&pg->retry, handle_closed_cb);
    if (!uv_is_closing((uv_handle_t *)&pg->soon))
        uv_close((uv_handle_t *)&pg->soon, handle_closed_cb);
}

static void lost(tr_pg_t *pg, const char *why)
{
    bool was_ready = pg->state == PG_READY;
    set_last_error(pg, why);
    if (was_ready)
        tr_log_warn("database connection lost", TR_LOG_STR("error", pg->last_error));
    else
        tr_log_warn("cannot connect to the database", TR_LOG_STR("error", pg->last_error));
    drop_poll(pg);
    if (pg->conn) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    pg->state = PG_IDLE;
    /* The query in flight gets the server's reason when it sent one ("terminating connection
     * due to administrator command"), the rest that the connection is gone. */
    if (pg->head && pg->head->sent && pg->result && PQresultStatus(pg->result) == PGRES_FATAL_ERROR) {
        PGresult *r = pg->result;
        pg->result = NULL;
        char error[512];
        error_text(r, "connection to the database lost", error, sizeof error);
        complete_head(pg, r, error);
    }
    fail_all(pg, was_ready ? "connection to the database lost" : pg->last_error);
    if (was_ready && pg->state_cb)
        pg->state_cb(false, pg->arg);
    if (pg->closing) {
        finish_close(pg);
        return;
    }
    uv_timer_start(&pg->retry, retry_cb, pg->retry_ms, 0);
    pg->retry_ms = pg->retry_ms * 2 > 5000 ? 5000 : pg->retry_ms * 2;
}

static void start_connect(tr_pg_t *pg)
{
    const char *keys[6], *vals[6];
    build_params(pg, keys, vals);
    pg->conn = PQconnectStartParams(keys, vals, 1);
    if (!pg->conn || PQstatus(pg->conn) == CONNECTION_BAD) {
        lost(pg, pg->conn ? PQerrorMessage(pg->conn) : "out of memory");
        return;
    }
    PQsetNoticeReceiver(pg->conn, notice_cb, pg);
    pg->state = PG_CONNECTING;
    watch(pg, UV_WRITABLE);
}

static void connected(tr_pg_t *pg)
{
    PQsetnonblocking(pg->conn, 1);
    /* Pipeline mode: queued statements go out without waiting for the results of those before
     * them (see send_queued). */
    if (!PQenterPipelineMode(pg->conn)) {
        lost(pg, PQerrorMessage(pg->conn));
        return;
    }
    pg->state = PG_READY;
    pg->retry_ms = 100;
    set_last_error(pg, "");
    /* LISTEN again on a new connection: queued before anything else the caller queued. */
    for (listen_channel_t *c = pg->channels; c; c = c->next) {
        char sql[128];
        snprintf(sql, sizeof sql, "LISTEN %s", c->name);
        query_t *q = calloc(1, sizeof *q);
        assert(q);
        q->sql = strdup(sql);
        q->next = pg->head;
        pg->head = q;
        if (!pg->tail)
            pg->tail = q;
        pg->pending++;
    }
    /* Nothing is in the pipeline of a new connection, and nothing is prepared on it. */
    pg->unsent = pg->head;
    prepared_clear(pg);
    watch(pg, UV_READABLE);
    if (pg->state_cb)
        pg->state_cb(true, pg->arg);
    pump(pg);
}

static void continue_connect(tr_pg_t *pg)
{
    switch (PQconnectPoll(pg->conn)) {
    case PGRES_POLLING_READING:
        watch(pg, UV_READABLE);
        break;
    case PGRES_POLLING_WRITING:
        watch(pg, UV_WRITABLE);
        break;
    case PGRES_POLLING_OK:
        connected(pg);
        break;
    default:
        lost(pg, PQerrorMessage(pg->conn));
        break;
    }
}

static void deliver_notifies(tr_pg_t *pg)
{
    PGnotify *n;
    while (pg->conn && (n = PQnotifies(pg->conn)) != NULL) {
        if (pg->notify_cb)
            pg->notify_cb(n->relname, n->extra, pg->arg);
        PQfreemem(n);
    }
}

static size_t prepared_slot(const tr_pg_t *pg, const char *sql)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)sql; *c; c++)
        h = (h ^ *c) * 1099511628211ULL;
    size_t i = (size_t)(h % PREPARED_SLOTS);
    while (pg->prepared[i].sql && strcmp(pg->prepared[i].sql, sql) != 0)
        i = (i + 1) % PREPARED_SLOTS;
    return i;
}

/* Forgets every prepared statement: the connection they were on is gone. */
static void prepared_clear(tr_pg_t *pg)
{
    for (size_t i = 0; i < PREPARED_SLOTS; i++) {
        free(pg->prepared[i].sql);
        pg->prepared[i].sql = NULL;
    }
    pg->nprepared = 0;
}

/* Forgets one whose Prepare failed (it does not exist on the server): the next use prepares
 * it again under a new name. The slots after it are put back where a lookup finds them. */
static void prepared_forget(tr_pg_t *pg, unsigned number)
{
    for (size_t i = 0; i < PREPARED_SLOTS; i++) {
        if (!pg->prepared[i].sql || pg->prepared[i].number != number)
            continue;
        free(pg->prepared[i].sql);
        pg->prepared[i].sql = NULL;
        pg->nprepared--;
        for (size_t j = (i + 1) % PREPARED_SLOTS; pg->prepared[j].sql; j = (j + 1) % PREPARED_SLOTS) {
            prepared_t moved = pg->prepared[j];
            pg->prepared[j].sql = NULL;
            pg->prepared[prepared_slot(pg, moved.sql)] = moved;
        }
        return;
    }
}

/* Sends q: executes its prepared statement, preparing it first when it is new on this
 * connection and there is room; unnamed otherwise. Returns libpq's result. */
static int send_query(tr_pg_t *pg, query_t *q, const char *sql)
{
    const char *const *values = (const char *const *)q->values;
    if (q->nparams <= PREPARED_MAX_PARAMS) {
        size_t slot = prepared_slot(pg, sql);
        char name[16];
        if (!pg->prepared[slot].sql && pg->nprepared < PREPARED_MAX) {
            char *copy = strdup(sql);
            unsigned number = ++pg->prepared_number;
            snprintf(name, sizeof name, "tr%u", number);
            if (!copy || !PQsendPrepare(pg->conn, name, sql, q->nparams, NULL)) {
                free(copy);
                return 0;
            }
            pg->prepared[slot].sql = copy;
            pg->prepared[slot].number = number;
            pg->nprepared++;
            q->preparing = true;
        }
        if (pg->prepared[slot].sql) {
            q->prepared = pg->prepared[slot].number;
            snprintf(name, sizeof name, "tr%u", q->prepared);
            return PQsendQueryPrepared(pg->conn, name, q->nparams, values, q->lengths, q->formats, 0);
        }
    }
    return PQsendQueryParams(pg->conn, sql, q->nparams, NULL, values, q->lengths, q->formats, 0);
}

/* Sends every query that may go now, each followed by a sync point: the server runs each one
 * as it would outside pipeline mode (an error ends only that statement, or aborts the open
 * transaction as usual), but without a round trip between them. An open transaction holds the
 * connection: other queries are sent only after its end. Returns false when the connection was
 * lost. */
static bool send_queued(tr_pg_t *pg)
{
    while (pg->unsent && (!pg->txn || pg->unsent->txn == pg->txn)) {
        query_t *q = pg->unsent;
        /* A transaction with a statement that never reached the server must not commit. */
        const char *sql = q->role == Q_END && q->txn->refused ? "ROLLBACK" : q->sql;
        if (!send_query(pg, q, sql)) {
            if (PQstatus(pg->conn) == CONNECTION_BAD) {
                lost(pg, PQerrorMessage(pg->conn));
                return false;
            }
            /* libpq refused this query alone (more than 65535 parameters): it fails in its
             * turn, the connection and the rest of the queue are fine. */
            char error[512];
            first_line(PQerrorMessage(pg->conn), error, sizeof error);
            q->refused = strdup(error[0] ? error : "libpq refused the query");
            if (q->txn)
                q->txn->refused = true;
        } else if (!PQpipelineSync(pg->conn)) {
            lost(pg, PQerrorMessage(pg->conn));
            return false;
        }
        q->sent = true;
        pg->unsent = q->next;
        if (q->role == Q_BEGIN) {
            pg->txn = q->txn;
            pg->txn_last = q;
        }
    }
    return true;
}

/* Reads the results that have arrived and completes their queries, in order. Returns true
 * when it completed one (its callback may have queued more to send). */
static bool read_results(tr_pg_t *pg)
{
    bool progress = false;
    while (pg->state == PG_READY) {
        if (pg->await_sync) {
            if (PQisBusy(pg->conn))
                break;
            PGresult *sync = PQgetResult(pg->conn);
            if (!sync)
                break;
            if (PQresultStatus(sync) == PGRES_PIPELINE_SYNC)
                pg->await_sync = false;
            PQclear(sync);
            continue;
        }
        query_t *q = pg->head;
        if (!q || !q->sent)
            break;
        if (q->refused) {
            char error[512];
            snprintf(error, sizeof error, "%s", q->refused);
            complete_head(pg, NULL, error);
            progress = true;
            continue;
        }
        if (PQisBusy(pg->conn))
            break;
        PGresult *res = PQgetResult(pg->conn);
        if (res) {
            if (pg->result)
                PQclear(pg->result);
            pg->result = res;
            continue;
        }
        if (q->preparing) {
            /* The end of the Prepare's results; the execution's follow. */
            q->preparing = false;
            if (!pg->result || PQresultStatus(pg->result) != PGRES_COMMAND_OK) {
                q->prepare_failed = pg->result;
                prepared_forget(pg, q->prepared);
            } else {
                PQclear(pg->result);
            }
            pg->result = NULL;
            continue;
        }
        /* NULL: the query is complete; its sync point follows. */
        PGresult *r = pg->result;
        pg->result = NULL;
        pg->await_sync = true;
        if (q->prepare_failed) {
            /* The execution was skipped: the Prepare's error is the statement's. */
            PQclear(r);
            r = q->prepare_failed;
            q->prepare_failed = NULL;
        }
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
        char error[512] = "";
        if (!ok)
            error_text(r, "no result", error, sizeof error);
        /* A table the statement reads changed shape under it (a migration while running):
         * "cached plan must not change result type". The next use prepares it anew. */
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        if (!ok && q->prepared && state && strcmp(state, "0A000") == 0)
            prepared_forget(pg, q->prepared);
        complete_head(pg, r, ok ? NULL : error);
        deliver_notifies(pg);
        progress = true;
    }
    return progress;
}

/* Sends what may be sent, flushes, and completes what has come back, until nothing moves. */
static void pump_io(tr_pg_t *pg)
{
    while (pg->state == PG_READY) {
        if (!send_queued(pg))
            return;
        int flush = PQflush(pg->conn);
        if (flush < 0) {
            lost(pg, PQerrorMessage(pg->conn));
            return;
        }
        watch(pg, flush == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
        if (!read_results(pg))
            return;
    }
}

static void pump(tr_pg_t *pg)
{
    pump_io(pg);
    /* A close waits for the queue to drain and an open transaction to end (SIGTERM: finish
     * what is in flight). */
    if (pg->closing && pg->pending == 0 && !pg->txn && pg->state == PG_READY) {
        pg->state = PG_CLOSING;
        finish_close(pg);
    }
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    tr_pg_t *pg = h->data;
    (void)events;
    if (status < 0) {
        lost(pg, uv_strerror(status));
        return;
    }
    if (pg->state == PG_CONNECTING) {
        continue_connect(pg);
        return;
    }
    if (pg->state != PG_READY)
        return;
    if (!PQconsumeInput(pg->conn)) {
        lost(pg, PQerrorMessage(pg->conn));
        return;
    }
    deliver_notifies(pg);
    pump(pg);
}

int tr_pg_new(uv_loop_t *loop, const tr_pg_options_t *options, tr_pg_state_cb state_cb,
              tr_pg_notify_cb notify_cb, void *arg, tr_pg_t **out, tr_error_t *err)
{
    tr_pg_t *pg = calloc(1, sizeof *pg);
    if (!pg)
        return tr_error_set(err, TR_ENOMEM, "out of memory");
    pg->loop = loop;
    pg->url = strdup(options->url ? options->url : "");
    pg->user = dup_or_null(options->user);
    pg->password = dup_or_null(options->password);
    pg->application_name = dup_or_null(options->application_name);
    pg->state_cb = state_cb;
    pg->notify_cb = notify_cb;
    pg->arg = arg;
    pg->poll_fd = -1;
    pg->retry_ms = 100;
    set_last_error(pg, "not connected yet");
    uv_timer_init(loop, &pg->retry);
    uv_timer_init(loop, &pg->soon);
    pg->retry.data = pg->soon.data = pg;
    pg->open_handles = 2;
    start_connect(pg);
    *out = pg;
    return 0;
}

static query_t *query_new(const char *sql, int nparams, const char *const *values, const int *lengths,
                          const int *formats)
{
    query_t *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->sql = strdup(sql);
    q->nparams = nparams;
    q->values = nparams ? calloc((size_t)nparams, sizeof *q->values) : NULL;
    if (!q->sql || (nparams && !q->values))
        goto oom;
    if (lengths) {
        q->lengths = calloc((size_t)nparams, sizeof *q->lengths);
        q->formats = calloc((size_t)nparams, sizeof *q->formats);
        if (!q->lengths || !q->formats)
            goto oom;
        memcpy(q->lengths, lengths, (size_t)nparams * sizeof *lengths);
        memcpy(q->formats, formats, (size_t)nparams * sizeof *formats);
    }
    for (int i = 0; i < nparams; i++) {
        if (!values[i])
            continue;
        size_t n = lengths && formats[i] ? (size_t)lengths[i] : strlen(values[i]);
        if (!(q->values[i] = malloc(n + 1)))
            goto oom;
        memcpy(q->values[i], values[i], n);
        q->values[i][n] = '\0';
    }
    return q;
oom:
    query_free(q);
    return NULL;
}

static void soon_cb(uv_timer_t *t)
{
    tr_pg_t *pg = t->data;
    if (pg->state == PG_READY)
        pump(pg);
    else if (pg->state == PG_IDLE) /* not connected: fail rather than queue without bound */
        fail_all(pg, pg->last_error[0] ? pg->last_error : "not connected to the database");
}

/* Runs the queue on the next turn of the loop rather than now: a callback never runs inside
 * the call that queued its query, where the caller's state may be half made. */
static void schedule(tr_pg_t *pg)
{
    if (!uv_is_closing((uv_handle_t *)&pg->soon))
        uv_timer_start(&pg->soon, soon_cb, 0, 0);
}

static void enqueue(tr_pg_t *pg, query_t *q)
{
    if (pg->tail)
        pg->tail->next = q;
    else
        pg->head = q;
    pg->tail = q;
    if (!pg->unsent)
        pg->unsent = q;
    pg->pending++;
    schedule(pg);
}

/* A transaction's next query goes right after its last queued one (or first in the queue),
 * ahead of the queries that wait for the transaction to end. */
static void enqueue_txn(tr_pg_t *pg, query_t *q)
{
    if (pg->txn_last) {
        q->next = pg->txn_last->next;
        pg->txn_last->next = q;
        if (pg->tail == pg->txn_last)
            pg->tail = q;
    } else {
        /* Nothing of the transaction is queued: nothing is in the pipeline either (only its
         * own queries are sent while it is open, and those before its BEGIN were done first). */
        assert(!pg->head || !pg->head->sent);
        q->next = pg->head;
        pg->head = q;
        if (!pg->tail)
            pg->tail = q;
    }
    /* What comes after the transaction's last query is not sent yet: q is the first unsent
     * when everything before it is in the pipeline. */
    if (pg->unsent == q->next)
        pg->unsent = q;
    pg->txn_last = q;
    pg->pending++;
    schedule(pg);
}

int tr_pg_query_binary(tr_pg_t *pg, const char *sql, int nparams, const char *const *values,
                       const int *lengths, const int *formats, tr_pg_result_cb cb, void *arg)
{
    if (pg->closing)
        return TR_ECLOSED;
    query_t *q = query_new(sql, nparams, values, lengths, formats);
    if (!q)
        return TR_ENOMEM;
    q->cb = cb;
    q->arg = arg;
    enqueue(pg, q);
    return 0;
}

int tr_pg_query(tr_pg_t *pg, const char *sql, int nparams, const char *const *values, tr_pg_result_cb cb,
                void *arg)
{
    return tr_pg_query_binary(pg, sql, nparams, values, NULL, NULL, cb, arg);
}

int tr_pg_begin(tr_pg_t *pg, tr_pg_begun_cb cb, void *arg)
{
    if (pg->closing)
        return TR_ECLOSED;
    query_t *q = query_new("BEGIN", 0, NULL, NULL, NULL);
    tr_pg_txn_t *txn = calloc(1, sizeof *txn);
    if (!q || !txn) {
        query_free(q);
        free(txn);
        return TR_ENOMEM;
    }
    txn->pg = pg;
    q->role = Q_BEGIN;
    q->txn = txn;
    q->begun_cb = cb;
    q->arg = arg;
    enqueue(pg, q);
    return 0;
}

int tr_pg_txn_query_binary(tr_pg_txn_t *txn, const char *sql, int nparams, const char *const *values,
                           const int *lengths, const int *formats, tr_pg_result_cb cb, void *arg)
{
    if (txn->dead)
        return TR_ECLOSED;
    query_t *q = query_new(sql, nparams, values, lengths, formats);
    if (!q)
        return TR_ENOMEM;
    q->txn = txn;
    q->cb = cb;
    q->arg = arg;
    enqueue_txn(txn->pg, q);
    return 0;
}

int tr_pg_txn_query(tr_pg_txn_t *txn, const char *sql, int nparams, const char *const *values,
                    tr_pg_result_cb cb, void *arg)
{
    return tr_pg_txn_query_binary(txn, sql, nparams, values, NULL, NULL, cb, arg);
}

static void end_txn(tr_pg_txn_t *txn, const char *sql, tr_pg_done_cb cb, void *arg)
{
    query_t *q = txn->dead ? NULL : query_new(sql, 0, NULL, NULL, NULL);
    if (!q) {
        char msg[600];
        snprintf(msg, sizeof msg, "transaction rolled back: %s",
                 txn->error ? txn->error : "out of memory");
        if (cb)
            cb(msg, arg);
        txn_free(txn);
        return;
    }
    q->role = Q_END;
    q->txn = txn;
    q->done_cb = cb;
    q->arg = arg;
    enqueue_txn(txn->pg, q);
}

void tr_pg_commit(tr_pg_txn_t *txn, tr_pg_done_cb cb, void *arg)
{
    end_txn(txn, "COMMIT", cb, arg);
}

void tr_pg_rollback(tr_pg_txn_t *txn, tr_pg_done_cb cb, void *arg)
{
    end_txn(txn, "ROLLBACK", cb, arg);
}

const char *tr_pg_txn_error(const tr_pg_txn_t *txn)
{
    return txn->error;
}

char *tr_pg_rows_sql(const char *head, size_t nrows, size_t ncols, const char *const *casts, const char *tail)
{
    size_t cap = strlen(head) + strlen(tail) + 1, len = 0;
    for (size_t c = 0; c < ncols; c++)
        cap += nrows * (12 + (casts[c] ? strlen(casts[c]) + 2 : 0));
    cap += nrows * 4;
    char *sql = malloc(cap);
    if (!sql)
        return NULL;
    len += (size_t)snprintf(sql, cap, "%s", head);
    for (size_t r = 0; r < nrows; r++) {
        len += (size_t)snprintf(sql + len, cap - len, "%s(", r ? ", " : "");
        for (size_t c = 0; c < ncols; c++)
            len += (size_t)snprintf(sql + len, cap - len, "%s$%zu%s%s", c ? ", " : "", r * ncols + c + 1,
                                    casts[c] ? "::" : "", casts[c] ? casts[c] : "");
        len += (size_t)snprintf(sql + len, cap - len, ")");
    }
    snprintf(sql + len, cap - len, "%s", tail);
    return sql;
}

int tr_pg_listen(tr_pg_t *pg, const char *channel)
{
    /* A plain identifier as PostgreSQL reads it unquoted, and no longer than it keeps
     * (NAMEDATALEN - 1): a longer one would be cut and notifications sent to the whole
     * name would never arrive. */
    size_t len = strlen(channel);
    if (len == 0 || len > 63 || (channel[0] >= '0' && channel[0] <= '9'))
        return TR_EINVAL;
    for (const char *p = channel; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9')))
            return TR_EINVAL;
    }
    listen_channel_t *c = calloc(1, sizeof *c);
    if (!c || !(c->name = strdup(channel))) {
        free(c);
        return TR_ENOMEM;
    }
    c->next = pg->channels;
    pg->channels = c;
    if (pg->state == PG_READY) {
        char sql[128];
        snprintf(sql, sizeof sql, "LISTEN %s", channel);
        return tr_pg_query(pg, sql, 0, NULL, NULL, NULL);
    }
    return 0;
}

bool tr_pg_connected(const tr_pg_t *pg)
{
    return pg->state == PG_READY;
}

size_t tr_pg_pending(const tr_pg_t *pg)
{
    return pg->pending;
}

const char *tr_pg_last_error(const tr_pg_t *pg)
{
    return pg->last_error;
}

void tr_pg_close(tr_pg_t *pg, void (*closed_cb)(void *arg), void *arg)
{
    if (pg->closing)
        return;
    pg->closing = true;
    pg->closed_cb = closed_cb;
    pg->closed_arg = arg;
    /* Work already queued or begun finishes first: pump() closes once the queue is empty and
     * no transaction is open; a connection on its way is awaited for the queries queued
     * meanwhile (lost() closes if it fails). */
    if (pg->state == PG_READY && (pg->pending > 0 || pg->txn))
        return;
    if (pg->state == PG_CONNECTING && pg->pending > 0)
        return;
    fail_all(pg, "the database connection is closing");
    pg->state = PG_CLOSING;
    finish_close(pg);
}

PGconn *tr_pg_connect_blocking(const tr_pg_options_t *options, tr_error_t *err)
{
    tr_pg_t tmp = {.url = (char *)(options->url ? options->url : ""),
                   .user = (char *)(options->user && options->user[0] ? options->user : NULL),
                   .password = (char *)(options->password && options->password[0] ? options->password : NULL),
                   .application_name = (char *)options->application_name};
    const char *keys[6], *vals[6];
    build_params(&tmp, keys, vals);
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s", conn ? PQerrorMessage(conn) : "out of memory");
        size_t n = strlen(msg);
        while (n > 0 && msg[n - 1] == '\n')
            msg[--n] = '\0';
        tr_error_set(err, TR_EDB, "cannot connect to the database: %s", msg);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeReceiver(conn, notice_cb, NULL);
    return conn;
}
