/* pg.h — PostgreSQL from the libuv loop: libpq in non-blocking mode, one connection, a FIFO of
 * queries sent one after another, LISTEN/NOTIFY, and reconnection with back-off.
 *
 * Queries queued back to back run in order on the one connection, so "BEGIN", statements,
 * "COMMIT" queued together form a transaction. When the connection is lost, the query in flight
 * and every queued one are completed with an error (the caller decides whether to retry: the
 * database, not this queue, is the source of truth), and the connection is re-established in
 * the background; channels given to tr_pg_listen are listened to again on each connection.
 *
 * All calls and callbacks happen on the loop thread.
 */
#ifndef TR_PG_H
#define TR_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <uv.h>

#include "error.h"

typedef struct tr_pg tr_pg_t;

typedef struct tr_pg_options {
    const char *url;              /* libpq connection string or URL */
    const char *user;             /* overrides the URL's user when not NULL/empty */
    const char *password;         /* overrides when not NULL/empty; never logged */
    const char *application_name; /* shows in pg_stat_activity */
} tr_pg_options_t;

/* Called once per query. On success error is NULL and res the last result (borrowed: freed
 * after the callback returns). On failure error says why (PostgreSQL's message, or "connection
 * to the database lost") and res is the error result or NULL. */
typedef void (*tr_pg_result_cb)(PGresult *res, const char *error, void *arg);
typedef void (*tr_pg_notify_cb)(const char *channel, const char *payload, void *arg);
/* Called when the connection becomes usable (connected = true) or is lost. */
typedef void (*tr_pg_state_cb)(bool connected, void *arg);

/* Starts connecting in the background. The options are copied. */
int tr_pg_new(uv_loop_t *loop, const tr_pg_options_t *options, tr_pg_state_cb state_cb,
              tr_pg_notify_cb notify_cb, void *arg, tr_pg_t **out, tr_error_t *err);

/* Queues a query with text parameters (values[i] NULL = SQL NULL). sql and values are copied.
 * Fails (TR_ECLOSED) without calling cb when the connection is closing. */
int tr_pg_query(tr_pg_t *pg, const char *sql, int nparams, const char *const *values,
                tr_pg_result_cb cb, void *arg);

/* Transactions. A transaction holds the connection from its BEGIN to its COMMIT or ROLLBACK:
 * queries queued with tr_pg_query meanwhile wait, so nothing unrelated runs inside it, and the
 * caller may decide each next statement from the last one's result.
 *
 *   tr_pg_begin(pg, begun_cb, arg)         begun_cb(txn, NULL, arg) once BEGIN ran
 *   tr_pg_txn_query(txn, sql, ..., cb)     statements, in order
 *   tr_pg_commit(txn, done_cb, arg)        exactly once per begun transaction (or rollback)
 *
 * When a statement fails, the transaction is aborted: later statements complete with errors and
 * COMMIT reports the first error (nothing was committed). When begun_cb gets an error, the
 * transaction did not start and must not be used. */
typedef struct tr_pg_txn tr_pg_txn_t;
typedef void (*tr_pg_begun_cb)(tr_pg_txn_t *txn, const char *error, void *arg);
typedef void (*tr_pg_done_cb)(const char *error, void *arg);
int tr_pg_begin(tr_pg_t *pg, tr_pg_begun_cb cb, void *arg);
int tr_pg_txn_query(tr_pg_txn_t *txn, const char *sql, int nparams, const char *const *values,
                    tr_pg_result_cb cb, void *arg);
/* The binary form: lengths[i] bytes of values[i]; formats[i] 1 for binary, 0 for text. */
int tr_pg_txn_query_binary(tr_pg_txn_t *txn, const char *sql, int nparams, const char *const *values,
                           const int *lengths, const int *formats, tr_pg_result_cb cb, void *arg);
int tr_pg_query_binary(tr_pg_t *pg, const char *sql, int nparams, const char *const *values,
                       const int *lengths, const int *formats, tr_pg_result_cb cb, void *arg);
void tr_pg_commit(tr_pg_txn_t *txn, tr_pg_done_cb cb, void *arg);
void tr_pg_rollback(tr_pg_txn_t *txn, tr_pg_done_cb cb, void *arg);
/* The first error of an aborted transaction, or NULL. Borrowed. */
const char *tr_pg_txn_error(const tr_pg_txn_t *txn);

/* The text of a statement over many rows of parameters, for one round trip instead of one per
 * row: head, then nrows groups "($1::casts[0], $2::casts[1], ...)" joined by ", ", then tail;
 * parameters numbered from 1 row after row (casts[c] NULL: no cast). E.g. head
 * "INSERT INTO t (a, b) VALUES ", 2 rows, casts {"int", "text"}, tail "":
 *   INSERT INTO t (a, b) VALUES ($1::int, $2::text), ($3::int, $4::text)
 * The caller frees it; NULL when out of memory. At most 65535 parameters in all (PostgreSQL's
 * limit): the caller keeps nrows * ncols below it. */
char *tr_pg_rows_sql(const char *head, size_t nrows, size_t ncols, const char *const *casts, const char *tail);

/* LISTEN on channel now and after every reconnect. channel must be a plain identifier. */
int tr_pg_listen(tr_pg_t *pg, const char *channel);

bool tr_pg_connected(const tr_pg_t *pg);
/* Number of queries queued or in flight. */
size_t tr_pg_pending(const tr_pg_t *pg);
/* The last connection error, for readiness messages; "" when connected. Borrowed. */
const char *tr_pg_last_error(const tr_pg_t *pg);

/* Lets queued queries finish, then disconnects, closes the handles and frees pg; closed_cb
 * (may be NULL) is called when done. Queries queued afterwards are refused. */
void tr_pg_close(tr_pg_t *pg, void (*closed_cb)(void *arg), void *arg);

/* A blocking connection with the same options, for start-up checks and command-line tools.
 * Returns NULL with err set (naming the server, never the password). */
PGconn *tr_pg_connect_blocking(const tr_pg_options_t *options, tr_error_t *err);

#endif
