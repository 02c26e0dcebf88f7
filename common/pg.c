#include "pg.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef enum { Q_STATEMENT, Q_BEGIN, Q_END } query_role_t;

typedef struct query {
    struct query *next;
    char *sql;
    int nparams;
    char **values;
    int *lengths, *formats; /* NULL for text parameters */
    query_role_t role;
    tr_pg_txn_t *txn;       /* the transaction it belongs to, or NULL */
    tr_pg_result_cb cb;
    tr_pg_begun_cb begun_cb;
    tr_pg_done_cb done_cb;
    void *arg;
} query_t;

struct tr_pg_txn {
    tr_pg_t *pg;
    char *error; /* the first error; the transaction is then aborted */
    bool dead;   /* the connection was lost: nothing more can run in it */
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
    query_t *head, *tail; /* head is in flight when sent is true */
    tr_pg_txn_t *txn;     /* the transaction holding the connection, from BEGIN sent to its end */
    query_t *txn_last;    /* the last queued query of that transaction: its next goes after */
    bool sent;
    PGresult *result;     /* the last result of the query in flight */
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
    pg->sent = false;
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
    pg->head = pg->tail = NULL;
    pg->sent = false;
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
    if (pg->sent && pg->result && PQresultStatus(pg->result) == PGRES_FATAL_ERROR) {
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

/* Sends the next query if none is in flight, and collects results of the one that is. */
static void pump_io(tr_pg_t *pg)
{
    while (pg->state == PG_READY) {
        /* An open transaction holds the connection: others wait for its end. */
        if (pg->head && !pg->sent && (!pg->txn || pg->head->txn == pg->txn)) {
            query_t *q = pg->head;
            if (!PQsendQueryParams(pg->conn, q->sql, q->nparams, NULL, (const char *const *)q->values,
                                   q->lengths, q->formats, 0)) {
                if (PQstatus(pg->conn) == CONNECTION_BAD) {
                    lost(pg, PQerrorMessage(pg->conn));
                    return;
                }
                /* libpq refused this query alone (more than 65535 parameters): it fails, the
                 * connection and the rest of the queue are fine. */
                char error[512];
                first_line(PQerrorMessage(pg->conn), error, sizeof error);
                complete_head(pg, NULL, error);
                continue;
            }
            pg->sent = true;
            if (q->role == Q_BEGIN) {
                pg->txn = q->txn;
                pg->txn_last = q;
            }
        }
        int flush = PQflush(pg->conn);
        if (flush < 0) {
            lost(pg, PQerrorMessage(pg->conn));
            return;
        }
        watch(pg, flush == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
        if (!pg->sent)
            return;
        if (PQisBusy(pg->conn))
            return;
        PGresult *res = PQgetResult(pg->conn);
        if (res) {
            if (pg->result)
                PQclear(pg->result);
            pg->result = res;
            continue;
        }
        /* NULL: the query is complete. */
        PGresult *r = pg->result;
        pg->result = NULL;
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
        char error[512] = "";
        if (!ok)
            error_text(r, "no result", error, sizeof error);
        complete_head(pg, r, ok ? NULL : error);
        deliver_notifies(pg);
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
        q->next = pg->head;
        pg->head = q;
        if (!pg->tail)
            pg->tail = q;
    }
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
