/* test_pg.c — common/pg against a real PostgreSQL: the asynchronous connection in a libuv loop,
 * its FIFO, transactions, LISTEN/NOTIFY, losing the connection and closing. A second, blocking
 * connection plays the rest of the world: it sets tables up, looks at what is committed,
 * notifies, and terminates the asynchronous connection's backend.
 *
 * TRIVSEL_TEST_DATABASE_URL: a superuser's URL (with password) of an empty database of its own.
 *
 * Each test records what its callbacks saw, in order, as lines of text ("insert 1: INSERT 0 1",
 * "commit: ok") and compares the whole list, so a callback that comes too early, too late, twice
 * or never fails the test. */
#include "pg.h"

#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/check.h"
#include "log.h"

#define URL_ENV "TRIVSEL_TEST_DATABASE_URL"
#define WATCHDOG_MS 20000
#define MAX_EVENTS 128

typedef struct harness harness_t;
typedef void (*step_fn)(harness_t *h, PGresult *res, const char *error);

struct harness {
    uv_loop_t loop;
    uv_timer_t watchdog;
    uv_timer_t think; /* the caller "thinking" between two statements */
    tr_pg_t *pg;
    PGconn *admin;
    char events[MAX_EVENTS][256];
    int nevents;
    int connects, disconnects, closed;
    bool timed_out;
    /* what a test does when the connection comes up, a notification arrives, it thinks */
    void (*on_connect)(harness_t *h);
    void (*on_notify)(harness_t *h, const char *channel, const char *payload);
    void (*on_think)(harness_t *h);
    tr_pg_txn_t *txn;
    int backend_pid;
};

static void note(harness_t *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(harness_t *h, const char *fmt, ...)
{
    if (h->nevents == MAX_EVENTS) {
        CHECK_FAIL_("more than %d events", MAX_EVENTS);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->events[h->nevents++], sizeof h->events[0], fmt, ap);
    va_end(ap);
}

/* Checks the events are exactly expected (NULL-terminated), printing both lists if not. */
static void check_events_(harness_t *h, const char *const *expected, const char *file, int line)
{
    int n = 0;
    while (expected[n])
        n++;
    bool same = n == h->nevents;
    for (int i = 0; same && i < n; i++)
        same = strcmp(expected[i], h->events[i]) == 0;
    if (same)
        return;
    check_current_failed_ = true;
    printf("#   %s:%d: events differ\n#   got:\n", file, line);
    for (int i = 0; i < h->nevents; i++)
        printf("#     %s\n", h->events[i]);
    printf("#   expected:\n");
    for (int i = 0; i < n; i++)
        printf("#     %s\n", expected[i]);
}
#define CHECK_EVENTS(h, ...)                                                                       \
    check_events_((h), (const char *const[]){__VA_ARGS__, NULL}, __FILE__, __LINE__)

/* --- the blocking connection ------------------------------------------------------------- */

static PGconn *connect_admin(void)
{
    PGconn *conn = PQconnectdb(getenv(URL_ENV));
    if (PQstatus(conn) != CONNECTION_OK)
        CHECK_FAIL_("cannot connect as admin: %s", PQerrorMessage(conn));
    return conn;
}

/* Runs sql; returns its first value, "(no rows)", the command status, or "ERROR: message". */
static const char *admin(harness_t *h, const char *sql)
{
    static char out[512];
    PGresult *res = PQexec(h->admin, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK && PQntuples(res) > 0)
        snprintf(out, sizeof out, "%s", PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
    else if (st == PGRES_TUPLES_OK)
        snprintf(out, sizeof out, "(no rows)");
    else if (st == PGRES_COMMAND_OK)
        snprintf(out, sizeof out, "%s", PQcmdStatus(res));
    else
        snprintf(out, sizeof out, "ERROR: %s", PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    PQclear(res);
    return out;
}

/* --- the harness ------------------------------------------------------------------------- */

static void timer_closed_cb(uv_handle_t *h)
{
    (void)h;
}

static void pg_closed_cb(void *arg)
{
    harness_t *h = arg;
    h->closed++;
    h->pg = NULL;
    note(h, "closed");
    uv_close((uv_handle_t *)&h->watchdog, timer_closed_cb);
    uv_close((uv_handle_t *)&h->think, timer_closed_cb);
}

static void finish(harness_t *h)
{
    tr_pg_close(h->pg, pg_closed_cb, h);
}

static void watchdog_cb(uv_timer_t *t)
{
    harness_t *h = t->data;
    h->timed_out = true;
    note(h, "watchdog");
    finish(h);
}

static void state_cb(bool connected, void *arg)
{
    harness_t *h = arg;
    if (tr_pg_connected(h->pg) != connected)
        CHECK_FAIL_("state_cb(%d) while tr_pg_connected is %d", connected, !connected);
    if (connected) {
        h->connects++;
        note(h, "connected");
        CHECK_STR_EQ(tr_pg_last_error(h->pg), "");
        if (h->on_connect)
            h->on_connect(h);
    } else {
        h->disconnects++;
        note(h, "disconnected");
    }
}

static void notify_cb(const char *channel, const char *payload, void *arg)
{
    harness_t *h = arg;
    note(h, "notify %s: \"%s\"", channel, payload);
    if (h->on_notify)
        h->on_notify(h, channel, payload);
}

static void think_cb(uv_timer_t *t)
{
    harness_t *h = t->data;
    h->on_think(h);
}

static void think(harness_t *h, void (*then)(harness_t *h), uint64_t ms)
{
    h->on_think = then;
    uv_timer_start(&h->think, think_cb, ms, 0);
}

/* Starts h: a loop, a watchdog and a connection with the test URL (or options). */
static void start_with(harness_t *h, const tr_pg_options_t *options)
{
    memset(h, 0, sizeof *h);
    h->admin = connect_admin();
    uv_loop_init(&h->loop);
    uv_timer_init(&h->loop, &h->watchdog);
    uv_timer_init(&h->loop, &h->think);
    h->watchdog.data = h->think.data = h;
    uv_timer_start(&h->watchdog, watchdog_cb, WATCHDOG_MS, 0);
    tr_error_t err = {0};
    CHECK_INT_EQ(tr_pg_new(&h->loop, options, state_cb, notify_cb, h, &h->pg, &err), 0);
    CHECK(!tr_pg_connected(h->pg));
}

static void start(harness_t *h)
{
    tr_pg_options_t options = {.url = getenv(URL_ENV), .application_name = "test_pg"};
    start_with(h, &options);
}

/* Runs the loop to its end: the test closed the connection, nothing timed out, nothing is
 * left open. */
static void run(harness_t *h)
{
    uv_run(&h->loop, UV_RUN_DEFAULT);
    CHECK(!h->timed_out);
    CHECK_INT_EQ(h->closed, 1);
    CHECK_INT_EQ(uv_loop_close(&h->loop), 0);
    PQfinish(h->admin);
}

/* --- queries with labelled callbacks ----------------------------------------------------- */

typedef struct call {
    harness_t *h;
    char label[48];
    step_fn then;
} call_t;

/* The result as one line: the values of the first row joined by '|', or the command status. */
static void describe(PGresult *res, char *out, size_t len)
{
    if (!res) {
        snprintf(out, len, "(no result)");
        return;
    }
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(out, len, "%s", PQcmdStatus(res));
        return;
    }
    if (PQntuples(res) == 0) {
        snprintf(out, len, "(no rows)");
        return;
    }
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < PQnfields(res) && n < len; i++) {
        const char *v = PQgetisnull(res, 0, i) ? "(null)" : PQgetvalue(res, 0, i);
        int vlen = PQgetlength(res, 0, i);
        if (vlen > 40) /* a long value shows as its start and its length */
            n += (size_t)snprintf(out + n, len - n, "%s%.20s...(%d bytes)", i ? "|" : "", v, vlen);
        else
            n += (size_t)snprintf(out + n, len - n, "%s%s", i ? "|" : "", v);
    }
}

static void result_cb(PGresult *res, const char *error, void *arg)
{
    call_t *c = arg;
    char text[200];
    if (error) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        note(c->h, "%s: error %s%s%s%s", c->label, error, state ? " (" : "", state ? state : "",
             state ? ")" : "");
    } else {
        describe(res, text, sizeof text);
        note(c->h, "%s: %s", c->label, text);
    }
    if (c->then)
        c->then(c->h, res, error);
    free(c);
}

static call_t *call(harness_t *h, const char *label, step_fn then)
{
    call_t *c = calloc(1, sizeof *c);
    c->h = h;
    snprintf(c->label, sizeof c->label, "%s", label);
    c->then = then;
    return c;
}

static void query(harness_t *h, const char *label, const char *sql, int n,
                  const char *const *values, step_fn then)
{
    call_t *c = call(h, label, then);
    int rc = tr_pg_query(h->pg, sql, n, values, result_cb, c);
    if (rc != 0) {
        note(h, "%s: refused %d", label, rc);
        free(c);
    }
}

static void txn_query(harness_t *h, const char *label, const char *sql, step_fn then)
{
    call_t *c = call(h, label, then);
    int rc = tr_pg_txn_query(h->txn, sql, 0, NULL, result_cb, c);
    if (rc != 0) {
        note(h, "%s: refused %d", label, rc);
        free(c);
    }
}

static void done_cb(const char *error, void *arg)
{
    call_t *c = arg;
    note(c->h, "%s: %s", c->label, error ? error : "ok");
    c->h->txn = NULL;
    if (c->then)
        c->then(c->h, NULL, error);
    free(c);
}

static void commit(harness_t *h, const char *label, step_fn then)
{
    tr_pg_commit(h->txn, done_cb, call(h, label, then));
}

static void rollback(harness_t *h, const char *label, step_fn then)
{
    tr_pg_rollback(h->txn, done_cb, call(h, label, then));
}

static void begun_cb(tr_pg_txn_t *txn, const char *error, void *arg)
{
    call_t *c = arg;
    note(c->h, "%s: %s", c->label, error ? error : "begun");
    c->h->txn = txn;
    if (c->then)
        c->then(c->h, NULL, error);
    free(c);
}

static void begin(harness_t *h, const char *label, step_fn then)
{
    call_t *c = call(h, label, then);
    int rc = tr_pg_begin(h->pg, begun_cb, c);
    if (rc != 0) {
        note(h, "%s: refused %d", label, rc);
        free(c);
    }
}

static void finish_step(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    finish(h);
}

/* ========================================================================================= */

/* --- FIFO order, results and text parameters --------------------------------------------- */

#define FIFO_N 40

static void test_queries_complete_in_fifo_order(void)
{
    harness_t h;
    start(&h);
    /* queued while still connecting; the last one closes */
    char values[FIFO_N][16];
    for (int i = 0; i < FIFO_N; i++) {
        char label[16];
        snprintf(values[i], sizeof values[i], "%d", i);
        snprintf(label, sizeof label, "q%d", i);
        const char *v[] = {values[i]};
        query(&h, label, "SELECT $1::int * 2", 1, v, i == FIFO_N - 1 ? finish_step : NULL);
    }
    CHECK_INT_EQ(tr_pg_pending(h.pg), FIFO_N);
    run(&h);
    CHECK_INT_EQ(h.nevents, FIFO_N + 2);
    CHECK_STR_EQ(h.events[0], "connected");
    for (int i = 0; i < FIFO_N && i + 1 < h.nevents; i++) {
        char expected[32];
        snprintf(expected, sizeof expected, "q%d: %d", i, i * 2);
        CHECK_STR_EQ(h.events[i + 1], expected);
    }
    CHECK_STR_EQ(h.events[h.nevents - 1], "closed");
}

static void text_params_on_connect(harness_t *h)
{
    const char *quoted[] = {"it's \"quoted\" \\ æøå €", NULL};
    query(h, "text", "SELECT $1::text, length($1::text), $2::text IS NULL, $2::text", 2, quoted,
          NULL);
    const char *empty[] = {""};
    query(h, "empty", "SELECT $1::text = '', $1::text IS NULL", 1, empty, NULL);
    const char *number[] = {"2024-02-29"};
    query(h, "date", "SELECT $1::date + 1", 1, number, NULL);
    query(h, "no rows", "SELECT 1 WHERE false", 0, NULL, NULL);
    query(h, "command", "SET application_name = 'test_pg_text'", 0, NULL, NULL);
    query(h, "empty query", "", 0, NULL, finish_step);
}

static void test_text_parameters_and_null(void)
{
    harness_t h;
    start(&h);
    h.on_connect = text_params_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "text: it's \"quoted\" \\ æøå €|21|t|(null)", "empty: t|f",
                 "date: 2024-03-01", "no rows: (no rows)", "command: SET",
                 "empty query: ", "closed");
}

/* --- binary parameters ------------------------------------------------------------------- */

static void binary_on_connect(harness_t *h)
{
    static const char bytes[] = {0x00, (char)0xff, '\n', '\'', 0x00, '\\'};
    const char *values[] = {"1", bytes};
    const int lengths[] = {0, sizeof bytes};
    const int formats[] = {0, 1};
    call_t *c = call(h, "insert", NULL);
    CHECK_INT_EQ(tr_pg_query_binary(h->pg, "INSERT INTO blobs VALUES ($1, $2)", 2, values, lengths,
                                    formats, result_cb, c),
                 0);
    query(h, "select", "SELECT encode(data, 'hex'), length(data) FROM blobs WHERE id = 1", 0, NULL,
          NULL);
    query(h, "as text", "SELECT data FROM blobs WHERE id = 1", 0, NULL, NULL);

    /* 4 MiB: far more than a socket buffer, so the send goes out over several loop turns */
    size_t big_len = 4u << 20;
    char *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)(i * 7 % 251);
    const char *big_values[] = {big};
    const int big_lengths[] = {(int)big_len};
    const int big_formats[] = {1};
    c = call(h, "big", NULL);
    CHECK_INT_EQ(tr_pg_query_binary(h->pg,
                                    "SELECT length($1::bytea), get_byte($1, 0), get_byte($1, 1), "
                                    "get_byte($1, 1234567), get_byte($1, 4194303)",
                                    1, big_values, big_lengths, big_formats, result_cb, c),
                 0);
    free(big); /* the query has its own copy */
    query(h, "big result", "SELECT length(repeat('x', 8000000))", 0, NULL, NULL);
    query(h, "big text", "SELECT repeat('x', 8000000)", 0, NULL, finish_step);
}

static void test_binary_bytea(void)
{
    harness_t h;
    start(&h);
    CHECK_STR_EQ(admin(&h, "DROP TABLE IF EXISTS blobs; CREATE TABLE blobs (id int PRIMARY KEY, "
                           "data bytea NOT NULL)"),
                 "CREATE TABLE");
    h.on_connect = binary_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "insert: INSERT 0 1", "select: 00ff0a27005c|6",
                 "as text: \\x00ff0a27005c", "big: 4194304|0|7|39|149", "big result: 8000000",
                 "big text: xxxxxxxxxxxxxxxxxxxx...(8000000 bytes)", "closed");
}

/* --- many rows of parameters in one statement ------------------------------------------------ */

static void rows_on_connect(harness_t *h)
{
    static const char *const casts[2] = {"int", NULL};
    /* 1000 rows: a, b = the row's number and its text */
    char *sql = tr_pg_rows_sql("SELECT count(*), sum(a), min(b), max(length(b)) FROM (VALUES ", 1000, 2, casts,
                               ") v (a, b)");
    static char text[1000][12]; /* room for any int: -O1 builds warn otherwise */
    static const char *values[2000];
    for (int i = 0; i < 1000; i++) {
        snprintf(text[i], sizeof text[i], "%d", i + 1);
        values[2 * i] = values[2 * i + 1] = text[i];
    }
    query(h, "1000 rows", sql, 2000, values, finish_step);
    free(sql);
}

static void test_rows_sql(void)
{
    static const char *const casts[2] = {"int", NULL};
    char *sql = tr_pg_rows_sql("INSERT INTO t (a, b) VALUES ", 2, 2, casts, " RETURNING a");
    CHECK_STR_EQ(sql, "INSERT INTO t (a, b) VALUES ($1::int, $2), ($3::int, $4) RETURNING a");
    free(sql);
    harness_t h;
    start(&h);
    h.on_connect = rows_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "1000 rows: 1000|500500|1|4", "closed");
}

/* --- errors ------------------------------------------------------------------------------ */

static void errors_on_connect(harness_t *h)
{
    query(h, "before", "SELECT 1", 0, NULL, NULL);
    query(h, "missing table", "SELECT * FROM no_such_table", 0, NULL, NULL);
    const char *bad[] = {"elleve"};
    query(h, "bad parameter", "SELECT $1::int", 1, bad, NULL);
    query(h, "division", "SELECT 1 / 0", 0, NULL, NULL);
    query(h, "after", "SELECT 3", 0, NULL, finish_step);
}

static void test_statement_error_reaches_only_its_callback(void)
{
    harness_t h;
    start(&h);
    h.on_connect = errors_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "before: 1",
                 "missing table: error relation \"no_such_table\" does not exist (42P01)",
                 "bad parameter: error invalid input syntax for type integer: \"elleve\" (22P02)",
                 "division: error division by zero (22012)", "after: 3", "closed");
}

/* Statements are prepared per connection: one whose table did not exist yet works once the
 * table is there (its failed preparation is not kept), and the same text runs again and again. */
static void table_made(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    admin(h, "CREATE TABLE later_rows (id int); INSERT INTO later_rows VALUES (1), (2)");
    for (int i = 0; i < 3; i++)
        query(h, "now", "SELECT count(*) FROM later_rows", 0, NULL, i == 2 ? finish_step : NULL);
}

static void later_on_connect(harness_t *h)
{
    query(h, "not yet", "SELECT count(*) FROM later_rows", 0, NULL, table_made);
}

static void test_statement_prepared_again_after_failure(void)
{
    harness_t h;
    start(&h);
    admin(&h, "DROP TABLE IF EXISTS later_rows");
    h.on_connect = later_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "not yet: error relation \"later_rows\" does not exist (42P01)", "now: 2",
                 "now: 2", "now: 2", "closed");
}

static void too_many_on_connect(harness_t *h)
{
    /* more parameters than the protocol can carry: libpq refuses before sending anything */
    int n = 65536;
    const char **values = calloc((size_t)n, sizeof *values);
    for (int i = 0; i < n; i++)
        values[i] = "1";
    query(h, "before", "SELECT 1", 0, NULL, NULL);
    query(h, "too many", "SELECT $1", n, values, NULL);
    query(h, "after", "SELECT 2", 0, NULL, finish_step);
    free(values);
}

static void test_query_libpq_refuses_fails_alone(void)
{
    harness_t h;
    start(&h);
    h.on_connect = too_many_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "before: 1",
                 "too many: error number of parameters must be between 0 and 65535", "after: 2",
                 "closed");
    CHECK_INT_EQ(h.disconnects, 0);
}

/* --- transactions ------------------------------------------------------------------------ */

/* A statement libpq refuses inside a transaction never reaches the server, which would commit
 * the statements around it: the transaction ends in a rollback and says why. */
static void refused_txn_begun(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    int n = 65536;
    const char **values = calloc((size_t)n, sizeof *values);
    for (int i = 0; i < n; i++)
        values[i] = "1";
    txn_query(h, "insert", "INSERT INTO refused_rows VALUES (1)", NULL);
    call_t *c = call(h, "too many", NULL);
    if (tr_pg_txn_query(h->txn, "SELECT $1", n, values, result_cb, c) != 0)
        free(c);
    free(values);
    txn_query(h, "insert 2", "INSERT INTO refused_rows VALUES (2)", NULL);
    commit(h, "commit", NULL);
    query(h, "after", "SELECT count(*) FROM refused_rows", 0, NULL, finish_step);
}

static void refused_txn_on_connect(harness_t *h)
{
    begin(h, "begin", refused_txn_begun);
}

static void test_refused_statement_rolls_transaction_back(void)
{
    harness_t h;
    start(&h);
    admin(&h, "DROP TABLE IF EXISTS refused_rows; CREATE TABLE refused_rows (id int PRIMARY KEY)");
    h.on_connect = refused_txn_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "begin: begun", "insert: INSERT 0 1",
                 "too many: error number of parameters must be between 0 and 65535", "insert 2: INSERT 0 1",
                 "commit: transaction rolled back: number of parameters must be between 0 and 65535", "after: 0",
                 "closed");
}


static void commit_second_insert(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    /* not committed yet: the rest of the world sees nothing */
    note(h, "outside sees %s", admin(h, "SELECT count(*) FROM commit_rows"));
    txn_query(h, "insert 2", "INSERT INTO commit_rows VALUES (2)", NULL);
    commit(h, "commit", finish_step);
}

static void commit_begun(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    txn_query(h, "insert 1", "INSERT INTO commit_rows VALUES (1)", commit_second_insert);
}

static void commit_on_connect(harness_t *h)
{
    begin(h, "begin", commit_begun);
}

static void test_commit_makes_rows_visible(void)
{
    harness_t h;
    start(&h);
    admin(&h, "DROP TABLE IF EXISTS commit_rows; CREATE TABLE commit_rows (id int PRIMARY KEY)");
    h.on_connect = commit_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "begin: begun", "insert 1: INSERT 0 1", "outside sees 0",
                 "insert 2: INSERT 0 1", "commit: ok", "closed");
    h.admin = connect_admin();
    CHECK_STR_EQ(admin(&h, "SELECT string_agg(id::text, ',' ORDER BY id) FROM commit_rows"), "1,2");
    PQfinish(h.admin);
}

static void rollback_begun(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    txn_query(h, "insert", "INSERT INTO rollback_rows VALUES (1)", NULL);
    txn_query(h, "inside sees", "SELECT count(*) FROM rollback_rows", NULL);
    rollback(h, "rollback", NULL);
    query(h, "after", "SELECT count(*) FROM rollback_rows", 0, NULL, finish_step);
}

static void rollback_on_connect(harness_t *h)
{
    begin(h, "begin", rollback_begun);
}

static void test_rollback_discards(void)
{
    harness_t h;
    start(&h);
    admin(&h,
          "DROP TABLE IF EXISTS rollback_rows; CREATE TABLE rollback_rows (id int PRIMARY KEY)");
    h.on_connect = rollback_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "begin: begun", "insert: INSERT 0 1", "inside sees: 1",
                 "rollback: ok", "after: 0", "closed");
}

static void abort_begun(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    /* all queued at once: the failure is found while the later ones already wait */
    txn_query(h, "insert", "INSERT INTO abort_rows VALUES (1)", NULL);
    txn_query(h, "bad insert", "INSERT INTO no_such_table VALUES (1)", NULL);
    txn_query(h, "select", "SELECT 1", NULL);
    commit(h, "commit", NULL);
    query(h, "after", "SELECT count(*) FROM abort_rows", 0, NULL, finish_step);
}

static void abort_on_connect(harness_t *h)
{
    begin(h, "begin", abort_begun);
}

static void test_failing_statement_aborts_transaction(void)
{
    harness_t h;
    start(&h);
    admin(&h, "DROP TABLE IF EXISTS abort_rows; CREATE TABLE abort_rows (id int PRIMARY KEY)");
    h.on_connect = abort_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "begin: begun", "insert: INSERT 0 1",
                 "bad insert: error relation \"no_such_table\" does not exist (42P01)",
                 "select: error current transaction is aborted, commands ignored until end of "
                 "transaction block (25P02)",
                 "commit: transaction rolled back: relation \"no_such_table\" does not exist",
                 "after: 0", "closed");
}

static void txn_error_check(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    note(h, "txn error: %s", tr_pg_txn_error(h->txn) ? tr_pg_txn_error(h->txn) : "(none)");
}

static void txn_error_begun(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    txn_query(h, "ok", "SELECT 1", txn_error_check);
    txn_query(h, "unique", "INSERT INTO unique_rows VALUES (1)", txn_error_check);
    txn_query(h, "later", "SELECT 1/0", txn_error_check);
    rollback(h, "rollback", finish_step);
}

static void txn_error_on_connect(harness_t *h)
{
    begin(h, "begin", txn_error_begun);
}

static void test_transaction_keeps_first_error(void)
{
    harness_t h;
    start(&h);
    admin(&h, "DROP TABLE IF EXISTS unique_rows; CREATE TABLE unique_rows (id int PRIMARY KEY); "
              "INSERT INTO unique_rows VALUES (1)");
    h.on_connect = txn_error_on_connect;
    run(&h);
    CHECK_EVENTS(
        &h, "connected", "begin: begun", "ok: 1", "txn error: (none)",
        "unique: error duplicate key value violates unique constraint \"unique_rows_pkey\" "
        "(23505)",
        "txn error: duplicate key value violates unique constraint \"unique_rows_pkey\"",
        "later: error current transaction is aborted, commands ignored until end of "
        "transaction block (25P02)",
        "txn error: duplicate key value violates unique constraint \"unique_rows_pkey\"",
        "rollback: transaction rolled back: duplicate key value violates unique "
        "constraint \"unique_rows_pkey\"",
        "closed");
}

/* A query queued with tr_pg_query while a transaction is open waits for its end: it must not
 * run inside the transaction (it would see the uncommitted row, and be rolled back with it). */
static void wait_commit(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    commit(h, "commit", NULL);
}

static void wait_second_statement(harness_t *h)
{
    note(h, "thought, pending %zu", tr_pg_pending(h->pg));
    query(h, "outside 2", "SELECT count(*) FROM wait_rows", 0, NULL, finish_step);
    txn_query(h, "insert 2", "INSERT INTO wait_rows VALUES (2)", wait_commit);
}

static void wait_think(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    think(h, wait_second_statement, 150);
}

static void wait_begun(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    query(h, "outside 1", "SELECT count(*) FROM wait_rows", 0, NULL, NULL);
    txn_query(h, "insert 1", "INSERT INTO wait_rows VALUES (1)", wait_think);
}

static void wait_on_connect(harness_t *h)
{
    begin(h, "begin", wait_begun);
}

static void test_query_waits_for_open_transaction(void)
{
    harness_t h;
    start(&h);
    admin(&h, "DROP TABLE IF EXISTS wait_rows; CREATE TABLE wait_rows (id int PRIMARY KEY)");
    h.on_connect = wait_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "begin: begun", "insert 1: INSERT 0 1", "thought, pending 1",
                 "insert 2: INSERT 0 1", "commit: ok", "outside 1: 2", "outside 2: 2", "closed");
}

/* Two transactions begun back to back run one after the other, each whole. */
static void second_txn_begun(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    txn_query(h, "second sees", "SELECT string_agg(id::text, ',' ORDER BY id) FROM two_rows", NULL);
    commit(h, "second commit", finish_step);
}

static void first_txn_think(harness_t *h)
{
    txn_query(h, "first insert", "INSERT INTO two_rows VALUES (1)", NULL);
    commit(h, "first commit", NULL);
}

static void first_txn_begun(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    begin(h, "second begin", second_txn_begun);
    think(h, first_txn_think, 100);
}

static void two_txn_on_connect(harness_t *h)
{
    begin(h, "first begin", first_txn_begun);
}

static void test_transactions_do_not_interleave(void)
{
    harness_t h;
    start(&h);
    admin(&h, "DROP TABLE IF EXISTS two_rows; CREATE TABLE two_rows (id int PRIMARY KEY)");
    h.on_connect = two_txn_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "first begin: begun", "first insert: INSERT 0 1",
                 "first commit: ok", "second begin: begun", "second sees: 1", "second commit: ok",
                 "closed");
}

/* --- LISTEN / NOTIFY --------------------------------------------------------------------- */

static void notify_barrier(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    /* LISTEN ran before this query (FIFO): notifications from now on arrive */
    admin(h, "NOTIFY other_channel, 'not for us'");
    admin(h, "NOTIFY trivsel_test, 'første besked'");
    admin(h, "NOTIFY trivsel_test");
    admin(h, "NOTIFY trivsel_second, 'x'");
}

static void listen_on_connect(harness_t *h)
{
    query(h, "barrier", "SELECT 1", 0, NULL, notify_barrier);
}

static void listen_on_notify(harness_t *h, const char *channel, const char *payload)
{
    (void)payload;
    if (strcmp(channel, "trivsel_second") == 0)
        finish(h);
}

static void test_listen_notify(void)
{
    harness_t h;
    start(&h);
    CHECK_INT_EQ(tr_pg_listen(h.pg, "trivsel_test"), 0); /* before the connection is up */
    CHECK_INT_EQ(tr_pg_listen(h.pg, "trivsel_second"), 0);
    h.on_connect = listen_on_connect;
    h.on_notify = listen_on_notify;
    run(&h);
    CHECK_EVENTS(&h, "connected", "barrier: 1", "notify trivsel_test: \"første besked\"",
                 "notify trivsel_test: \"\"", "notify trivsel_second: \"x\"", "closed");
}

static void listen_later_barrier(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    admin(h, "NOTIFY trivsel_later, 'late'");
}

static void listen_later_on_connect(harness_t *h)
{
    CHECK_INT_EQ(tr_pg_listen(h->pg, "trivsel_later"), 0); /* while connected */
    query(h, "barrier", "SELECT 1", 0, NULL, listen_later_barrier);
}

static void listen_later_on_notify(harness_t *h, const char *channel, const char *payload)
{
    (void)channel;
    (void)payload;
    finish(h);
}

static void test_listen_while_connected(void)
{
    harness_t h;
    start(&h);
    h.on_connect = listen_later_on_connect;
    h.on_notify = listen_later_on_notify;
    run(&h);
    CHECK_EVENTS(&h, "connected", "barrier: 1", "notify trivsel_later: \"late\"", "closed");
}

static void test_listen_refuses_bad_channel_names(void)
{
    harness_t h;
    start(&h);
    CHECK_INT_EQ(tr_pg_listen(h.pg, ""), TR_EINVAL);
    CHECK_INT_EQ(tr_pg_listen(h.pg, "Trivsel"), TR_EINVAL);
    CHECK_INT_EQ(tr_pg_listen(h.pg, "1st"), TR_EINVAL);
    CHECK_INT_EQ(tr_pg_listen(h.pg, "a; DROP TABLE x"), TR_EINVAL);
    CHECK_INT_EQ(tr_pg_listen(h.pg, "æble"), TR_EINVAL);
    char longest[64], too_long[65];
    memset(longest, 'a', 63);
    longest[63] = '\0';
    memset(too_long, 'a', 64);
    too_long[64] = '\0';
    CHECK_INT_EQ(tr_pg_listen(h.pg, too_long), TR_EINVAL); /* PostgreSQL would cut it to 63 */
    CHECK_INT_EQ(tr_pg_listen(h.pg, longest), 0);
    CHECK_INT_EQ(tr_pg_listen(h.pg, "_x9"), 0);
    finish(&h);
    run(&h);
}

/* --- losing the connection --------------------------------------------------------------- */

static void loss_kill(harness_t *h)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", h->backend_pid);
    note(h, "terminate: %s", admin(h, sql));
}

static void loss_notify_barrier(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    admin(h, "NOTIFY trivsel_loss, 'after reconnect'");
}

static void loss_second_pid(harness_t *h, PGresult *res, const char *error)
{
    if (error || !res)
        return;
    int pid = atoi(PQgetvalue(res, 0, 0));
    note(h, "new backend: %s", pid != h->backend_pid && pid > 0 ? "yes" : "no");
    query(h, "barrier", "SELECT 1", 0, NULL, loss_notify_barrier);
}

static void loss_first_pid(harness_t *h, PGresult *res, const char *error)
{
    if (error || !res)
        return;
    h->backend_pid = atoi(PQgetvalue(res, 0, 0));
    query(h, "sleep", "SELECT pg_sleep(60)", 0, NULL, NULL);
    query(h, "queued 1", "SELECT 1", 0, NULL, NULL);
    query(h, "queued 2", "SELECT 2", 0, NULL, NULL);
    think(h, loss_kill, 200);
}

static void loss_on_connect(harness_t *h)
{
    query(h, "backend", "SELECT pg_backend_pid()", 0, NULL,
          h->connects == 1 ? loss_first_pid : loss_second_pid);
}

static void loss_on_notify(harness_t *h, const char *channel, const char *payload)
{
    (void)channel;
    (void)payload;
    finish(h);
}

static void test_connection_loss_and_reconnect(void)
{
    harness_t h;
    char *logged = NULL;
    size_t logged_len = 0;
    FILE *log = open_memstream(&logged, &logged_len);
    tr_log_set_output(log);
    start(&h);
    CHECK_INT_EQ(tr_pg_listen(h.pg, "trivsel_loss"), 0);
    h.on_connect = loss_on_connect;
    h.on_notify = loss_on_notify;
    run(&h);
    tr_log_set_output(NULL);
    fclose(log);
    /* the backend pids differ from run to run: blank them out */
    for (int i = 0; i < h.nevents; i++) {
        if (strncmp(h.events[i], "backend: ", 9) == 0)
            snprintf(h.events[i], sizeof h.events[i], "backend: (pid)");
    }
    CHECK_EVENTS(&h, "connected", "backend: (pid)", "terminate: t",
                 "sleep: error terminating connection due to administrator command (57P01)",
                 "queued 1: error connection to the database lost",
                 "queued 2: error connection to the database lost", "disconnected", "connected",
                 "backend: (pid)", "new backend: yes", "barrier: 1",
                 "notify trivsel_loss: \"after reconnect\"", "closed");
    CHECK_INT_EQ(h.connects, 2);
    CHECK_INT_EQ(h.disconnects, 1);
    CHECK_STR_CONTAINS(logged, "\"level\":\"warn\",\"service\":\"trivsel\",\"msg\":\"database "
                               "connection lost\",\"error\":\"");
    free(logged);
}

/* The backend is terminated while nothing is in flight: the server's last word arrives as a
 * notice, goes to the log as JSON, and the connection comes back. */
static void idle_loss_kill(harness_t *h)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", h->backend_pid);
    note(h, "terminate: %s", admin(h, sql));
}

static void idle_loss_pid(harness_t *h, PGresult *res, const char *error)
{
    if (error || !res)
        return;
    h->backend_pid = atoi(PQgetvalue(res, 0, 0));
    think(h, idle_loss_kill, 50);
}

static void idle_loss_on_connect(harness_t *h)
{
    if (h->connects == 1)
        query(h, "backend", "SELECT pg_backend_pid()", 0, NULL, idle_loss_pid);
    else
        query(h, "again", "SELECT 'back'", 0, NULL, finish_step);
}

static void test_connection_loss_while_idle(void)
{
    harness_t h;
    char *logged = NULL;
    size_t logged_len = 0;
    FILE *log = open_memstream(&logged, &logged_len);
    tr_log_set_output(log);
    start(&h);
    h.on_connect = idle_loss_on_connect;
    run(&h);
    tr_log_set_output(NULL);
    fclose(log);
    if (h.nevents > 1)
        snprintf(h.events[1], sizeof h.events[1], "backend: (pid)");
    CHECK_EVENTS(&h, "connected", "backend: (pid)", "terminate: t", "disconnected", "connected",
                 "again: back", "closed");
    CHECK_STR_CONTAINS(logged, "\"level\":\"warn\",\"service\":\"trivsel\",\"msg\":\"database "
                               "notice\",\"severity\":\"FATAL\",\"message\":\"terminating "
                               "connection due to administrator command\"}\n");
    CHECK_STR_CONTAINS(logged, "\"msg\":\"database connection lost\"");
    free(logged);
}

/* --- closing ----------------------------------------------------------------------------- */

static void close_on_connect(harness_t *h)
{
    for (int i = 0; i < 10; i++) {
        char label[16], value[16];
        snprintf(label, sizeof label, "q%d", i);
        snprintf(value, sizeof value, "%d", i);
        const char *v[] = {value};
        query(h, label, "SELECT $1::int FROM pg_sleep(0.01)", 1, v, NULL);
    }
    tr_pg_close(h->pg, pg_closed_cb, h);
    /* refused now, without their callbacks */
    query(h, "late", "SELECT 1", 0, NULL, NULL);
    begin(h, "late begin", NULL);
}

static void test_close_lets_queued_queries_finish(void)
{
    harness_t h;
    start(&h);
    h.on_connect = close_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "late: refused -14", "late begin: refused -14", "q0: 0", "q1: 1",
                 "q2: 2", "q3: 3", "q4: 4", "q5: 5", "q6: 6", "q7: 7", "q8: 8", "q9: 9", "closed");
}

static void close_in_txn_statement(harness_t *h)
{
    txn_query(h, "insert", "INSERT INTO close_rows VALUES (1)", NULL);
    commit(h, "commit", NULL);
}

static void close_in_txn_begun(harness_t *h, PGresult *res, const char *error)
{
    (void)res;
    (void)error;
    /* SIGTERM while the caller is between two statements: the transaction still completes */
    tr_pg_close(h->pg, pg_closed_cb, h);
    think(h, close_in_txn_statement, 100);
}

static void close_in_txn_on_connect(harness_t *h)
{
    begin(h, "begin", close_in_txn_begun);
}

static void test_close_waits_for_open_transaction(void)
{
    harness_t h;
    start(&h);
    admin(&h, "DROP TABLE IF EXISTS close_rows; CREATE TABLE close_rows (id int PRIMARY KEY)");
    h.on_connect = close_in_txn_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "begin: begun", "insert: INSERT 0 1", "commit: ok", "closed");
    h.admin = connect_admin();
    CHECK_STR_EQ(admin(&h, "SELECT count(*) FROM close_rows"), "1");
    PQfinish(h.admin);
}

static void test_close_while_connecting(void)
{
    harness_t h;
    start(&h);
    query(&h, "queued", "SELECT 'ran'", 0, NULL, NULL);
    tr_pg_close(h.pg, pg_closed_cb, &h);
    run(&h);
    /* the connection was on its way: the query queued before the close still runs */
    CHECK_EVENTS(&h, "connected", "queued: ran", "closed");
}

/* --- no server --------------------------------------------------------------------------- */

static void unreachable_after_connect_attempt(harness_t *h)
{
    note(h, "connected: %d", tr_pg_connected(h->pg));
    note(h, "last error mentions the socket: %d",
         strstr(tr_pg_last_error(h->pg), "/nonexistent/trivsel") != NULL);
    /* not connected: the query fails, but on a later turn of the loop, never inside the call */
    int before = h->nevents;
    query(h, "query", "SELECT 1", 0, NULL, NULL);
    note(h, "called back inside tr_pg_query: %d", h->nevents != before);
    think(h, finish, 50);
}

static void test_unreachable_server(void)
{
    harness_t h;
    char *logged = NULL;
    size_t logged_len = 0;
    FILE *log = open_memstream(&logged, &logged_len);
    tr_log_set_output(log);
    tr_pg_options_t options = {.url = "postgresql:///trivsel?host=/nonexistent/trivsel"};
    start_with(&h, &options);
    think(&h, unreachable_after_connect_attempt, 50);
    run(&h);
    tr_log_set_output(NULL);
    fclose(log);
    /* the query fails with what the connection attempt met, on one line */
    CHECK_EVENTS(&h, "connected: 0", "last error mentions the socket: 1",
                 "called back inside tr_pg_query: 0",
                 "query: error connection to server on socket "
                 "\"/nonexistent/trivsel/.s.PGSQL.5432\" failed: No such file or directory",
                 "closed");
    CHECK_INT_EQ(h.connects, 0);
    CHECK_STR_CONTAINS(logged, "\"msg\":\"cannot connect to the database\",\"error\":\"connection "
                               "to server on socket \\\"/nonexistent/trivsel/.s.PGSQL.5432\\\" "
                               "failed: No such file or directory\"}\n");
    free(logged);
}

/* --- options: user and password apart from the URL --------------------------------------- */

/* The test URL without its password, and the password. */
static void split_password(char *url, size_t url_len, char *password, size_t password_len)
{
    char *parse_error = NULL;
    PQconninfoOption *options = PQconninfoParse(getenv(URL_ENV), &parse_error);
    CHECK(options != NULL);
    size_t n = (size_t)snprintf(url, url_len, "postgresql://");
    const char *host = "", *dbname = "", *user = "";
    password[0] = '\0';
    for (PQconninfoOption *o = options; o && o->keyword; o++) {
        if (!o->val)
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "dbname") == 0)
            dbname = o->val;
        else if (strcmp(o->keyword, "user") == 0)
            user = o->val;
        else if (strcmp(o->keyword, "password") == 0)
            snprintf(password, password_len, "%s", o->val);
    }
    snprintf(url + n, url_len - n, "%s@/%s?host=%s", user, dbname, host);
    PQconninfoFree(options);
    PQfreemem(parse_error);
}

static void options_on_connect(harness_t *h)
{
    query(h, "who", "SELECT current_user, current_setting('application_name')", 0, NULL,
          finish_step);
}

static void test_password_from_options(void)
{
    char url[512], password[256];
    split_password(url, sizeof url, password, sizeof password);
    harness_t h;
    tr_pg_options_t options = {.url = url, .password = password, .application_name = "opt_test"};
    start_with(&h, &options);
    h.on_connect = options_on_connect;
    run(&h);
    CHECK_EVENTS(&h, "connected", "who: trivsel_admin|opt_test", "closed");
}

static void test_connect_blocking(void)
{
    char url[512], password[256];
    split_password(url, sizeof url, password, sizeof password);
    tr_error_t err = {0};
    tr_pg_options_t good = {.url = url, .password = password};
    PGconn *conn = tr_pg_connect_blocking(&good, &err);
    CHECK(conn != NULL && PQstatus(conn) == CONNECTION_OK);
    PQfinish(conn);

    tr_pg_options_t wrong = {.url = url, .password = "wrong-password-4711"};
    CHECK(tr_pg_connect_blocking(&wrong, &err) == NULL);
    CHECK_INT_EQ(err.code, TR_EDB);
    CHECK_STR_CONTAINS(err.message, "cannot connect to the database: ");
    CHECK_STR_CONTAINS(err.message, "password authentication failed for user \"trivsel_admin\"");
    CHECK(strstr(err.message, "wrong-password-4711") == NULL);
    CHECK(strchr(err.message, '\n') == NULL);
}

/* --- server notices go to the log, as JSON ----------------------------------------------- */

static void notice_on_connect(harness_t *h)
{
    query(h, "notice", "DO $$BEGIN RAISE NOTICE 'hej fra serveren'; END$$", 0, NULL, finish_step);
}

static void test_server_notice_is_logged(void)
{
    char *logged = NULL;
    size_t logged_len = 0;
    FILE *log = open_memstream(&logged, &logged_len);
    tr_log_set_output(log);
    harness_t h;
    start(&h);
    h.on_connect = notice_on_connect;
    run(&h);
    tr_log_set_output(NULL);
    fclose(log);
    CHECK_EVENTS(&h, "connected", "notice: DO", "closed");
    CHECK_STR_CONTAINS(logged, "\"msg\":\"database notice\",\"severity\":\"NOTICE\","
                               "\"message\":\"hej fra serveren\"}\n");
    free(logged);
}

int main(void)
{
    if (!getenv(URL_ENV)) {
        printf("not ok - %s is not set (tests/run.sh sets it)\n", URL_ENV);
        return 1;
    }
    CHECK_RUN(test_queries_complete_in_fifo_order);
    CHECK_RUN(test_text_parameters_and_null);
    CHECK_RUN(test_binary_bytea);
    CHECK_RUN(test_rows_sql);
    CHECK_RUN(test_statement_error_reaches_only_its_callback);
    CHECK_RUN(test_query_libpq_refuses_fails_alone);
    CHECK_RUN(test_statement_prepared_again_after_failure);
    CHECK_RUN(test_refused_statement_rolls_transaction_back);
    CHECK_RUN(test_commit_makes_rows_visible);
    CHECK_RUN(test_rollback_discards);
    CHECK_RUN(test_failing_statement_aborts_transaction);
    CHECK_RUN(test_transaction_keeps_first_error);
    CHECK_RUN(test_query_waits_for_open_transaction);
    CHECK_RUN(test_transactions_do_not_interleave);
    CHECK_RUN(test_listen_notify);
    CHECK_RUN(test_listen_while_connected);
    CHECK_RUN(test_listen_refuses_bad_channel_names);
    CHECK_RUN(test_connection_loss_and_reconnect);
    CHECK_RUN(test_connection_loss_while_idle);
    CHECK_RUN(test_close_lets_queued_queries_finish);
    CHECK_RUN(test_close_waits_for_open_transaction);
    CHECK_RUN(test_close_while_connecting);
    CHECK_RUN(test_unreachable_server);
    CHECK_RUN(test_password_from_options);
    CHECK_RUN(test_connect_blocking);
    CHECK_RUN(test_server_notice_is_logged);
    return check_done();
}
