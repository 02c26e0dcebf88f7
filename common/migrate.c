#include "migrate.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sqlsplit.h"

/* The key of the session advisory lock that serialises migrators: the bytes "trivsel\0" read as
 * a bigint, so no other user of advisory locks in the database takes it by accident. */
#define MIGRATE_LOCK_KEY "8390885013207739392"

/* How much of a failing statement a message shows, in characters. */
#define EXCERPT_CHARS 60
#define EXCERPT_SIZE (EXCERPT_CHARS * 4 + 8)

/* Run once per database, under the lock, as one transaction. IF NOT EXISTS and OR REPLACE keep
 * it safe to run again should the two existence checks before it ever disagree with it. */
static const char bootstrap_sql[] =
    "SET LOCAL client_min_messages = warning;\n"
    "CREATE SCHEMA IF NOT EXISTS trivsel_meta;\n"
    "CREATE TABLE IF NOT EXISTS trivsel_meta.schema_migrations (\n"
    "    component text NOT NULL,\n"
    "    version integer NOT NULL CHECK (version > 0),\n"
    "    name text NOT NULL,\n"
    "    checksum text NOT NULL,\n"
    "    applied_at timestamptz NOT NULL DEFAULT now(),\n"
    "    PRIMARY KEY (component, version)\n"
    ");\n"
    /* Each daemon checks its schema's version at start, as its own role. */
    "GRANT USAGE ON SCHEMA trivsel_meta TO PUBLIC;\n"
    "GRANT SELECT ON trivsel_meta.schema_migrations TO PUBLIC;\n"
    /* ALTER ROLE takes no parameters; this function lets the verifier be one. SECURITY INVOKER:
     * it confers nothing, the caller still needs the right to alter the role. */
    "CREATE OR REPLACE FUNCTION trivsel_meta.set_role_password(role text, verifier text)\n"
    "RETURNS void LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog AS $fn$\n"
    "BEGIN\n"
    "    EXECUTE format('ALTER ROLE %I PASSWORD %L', role, verifier);\n"
    "END\n"
    "$fn$;\n"
    "REVOKE ALL ON FUNCTION trivsel_meta.set_role_password(text, text) FROM PUBLIC;\n";

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Folds every run of whitespace (PostgreSQL's details span lines) into one space, in place, and
 * drops it at the ends, so a message stays on one log line. */
static void fold_spaces(char *s)
{
    size_t out = 0;
    bool space = false;
    for (size_t in = 0; s[in] != '\0'; in++) {
        if (is_space((unsigned char)s[in])) {
            space = out > 0;
            continue;
        }
        if (space)
            s[out++] = ' ';
        space = false;
        s[out++] = s[in];
    }
    s[out] = '\0';
}

/* PostgreSQL's report of a failed res on one line: "ERROR: primary DETAIL: detail HINT: hint";
 * libpq's own message when the server sent none (connection lost). */
static void describe(PGconn *conn, const PGresult *res, char *buf, size_t size)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (primary == NULL) {
        const char *libpq = res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res)
                                                              : PQerrorMessage(conn);
        snprintf(buf, size, "%s", *libpq ? libpq : "no answer from the server");
    } else {
        const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
        const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
        snprintf(buf, size, "%s: %s%s%s%s%s", severity ? severity : "ERROR", primary,
                 detail ? " DETAIL: " : "", detail ? detail : "", hint ? " HINT: " : "",
                 hint ? hint : "");
    }
    fold_spaces(buf);
}

/* Runs a fixed query with text parameters; when binary_last, the last parameter is sent as raw
 * bytes (the SQL text whose sha256 is taken, exact whatever the database's encoding). Returns
 * the result (the caller clears it), or NULL with PostgreSQL's report in msg. */
static PGresult *query(PGconn *conn, const char *sql, int nparams, const char *const *values,
                       bool binary_last, char *msg, size_t size)
{
    int formats[4] = {0};
    int lengths[4] = {0};
    assert(nparams >= 0 && nparams <= 4);
    if (binary_last) {
        assert(nparams > 0);
        formats[nparams - 1] = 1;
        lengths[nparams - 1] = (int)strlen(values[nparams - 1]);
    }
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, values, lengths, formats, 0);
    ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return res;
    describe(conn, res, msg, size);
    PQclear(res);
    return NULL;
}

/* Ends a COPY that a migration statement started, so the connection can go on: a migration has
 * no client-side data to give or take. */
static void abandon_copy(PGconn *conn, ExecStatusType status)
{
    if (status == PGRES_COPY_IN) {
        PQputCopyEnd(conn, "COPY from the client cannot run in a migration");
    } else if (status == PGRES_COPY_OUT) {
        char *row;
        while (PQgetCopyData(conn, &row, 0) > 0)
            PQfreemem(row);
    }
    PGresult *rest;
    while ((rest = PQgetResult(conn)) != NULL)
        PQclear(rest);
}

/* Runs one statement of a script the simple way (PQexec, as psql does). 0, or -1 with msg. */
static int exec_statement(PGconn *conn, const char *sql, char *msg, size_t size)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(res);
    int rc = 0;
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
        abandon_copy(conn, status);
        snprintf(msg, size, "COPY to or from the client cannot run in a migration");
        rc = -1;
    } else if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
               status != PGRES_EMPTY_QUERY) {
        describe(conn, res, msg, size);
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* The start of a statement for a message: whitespace runs folded to one space, at most
 * EXCERPT_CHARS characters (never half a UTF-8 sequence), "..." when cut. */
static void excerpt(const char *text, size_t length, char *out, size_t size)
{
    assert(size >= EXCERPT_SIZE);
    size_t o = 0;
    int chars = 0;
    bool space = false;
    bool cut = false;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (is_space(c)) {
            space = o > 0;
            continue;
        }
        bool starts_char = (c & 0xC0) != 0x80;
        if ((starts_char && chars + (space ? 2 : 1) > EXCERPT_CHARS) || o + 8 >= size) {
            cut = true;
            break;
        }
        if (space) {
            out[o++] = ' ';
            chars++;
            space = false;
        }
        chars += starts_char;
        out[o++] = (char)c;
    }
    if (cut) {
        if (space)
            out[o++] = ' ';
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* BEGIN, COMMIT and the like would break the one-transaction-per-migration promise: a COMMIT
 * half-way would leave half a migration applied and unrecorded. */
static bool controls_transaction(const tr_sqlsplit_statement_t *st)
{
    static const char *const keywords[] = {"begin", "start", "commit", "end", "rollback", "abort"};
    size_t n = 0;
    while (n < st->length && ((st->text[n] | 0x20) >= 'a' && (st->text[n] | 0x20) <= 'z'))
        n++;
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        if (strlen(keywords[k]) == n && strncasecmp(st->text, keywords[k], n) == 0)
            return true;
    return false;
}

/* Checks, before anything runs, that a migration's text splits and keeps to its transaction. */
static int check_script(const tr_migration_t *m, tr_error_t *err)
{
    assert(m->component && m->name && m->path && m->sql && m->version > 0);
    tr_sqlsplit_t split;
    tr_sqlsplit_statement_t st;
    tr_error_t split_err;
    int rc;
    tr_sqlsplit_init(&split, m->sql, strlen(m->sql));
    while ((rc = tr_sqlsplit_next(&split, &st, &split_err)) > 0) {
        if (controls_transaction(&st)) {
            char start[EXCERPT_SIZE];
            excerpt(st.text, st.length, start, sizeof start);
            return tr_error_set(err, TR_ESCHEMA,
                                "migration %s statement %d (line %d) \"%s\" controls the "
                                "transaction: each migration runs in one transaction, remove it",
                                m->path, st.number, st.line, start);
        }
    }
    if (rc < 0)
        return tr_error_set(err, TR_ESCHEMA, "migration %s cannot be split into statements: %s",
                            m->path, split_err.message);
    return 0;
}

/* Runs script statement by statement in one transaction and, when record is not NULL, records
 * that migration in the same transaction, so a migration is either applied and recorded or
 * neither. On failure rolls back and names what failed ("what failed at statement ..."). */
static int run_transaction(PGconn *conn, const char *what, const char *script,
                           const tr_migration_t *record, tr_error_t *err)
{
    char msg[TR_ERROR_MESSAGE_MAX];
    char *text = NULL;
    int rc = 0;
    PGresult *res = query(conn, "BEGIN", 0, NULL, false, msg, sizeof msg);
    if (res == NULL) {
        rc = tr_error_set(err, TR_EDB, "%s could not start a transaction: %s", what, msg);
        goto out;
    }
    PQclear(res);

    tr_sqlsplit_t split;
    tr_sqlsplit_statement_t st;
    tr_error_t split_err;
    int step;
    tr_sqlsplit_init(&split, script, strlen(script));
    while ((step = tr_sqlsplit_next(&split, &st, &split_err)) > 0) {
        free(text);
        text = strndup(st.text, st.length);
        if (text == NULL) {
            rc = tr_error_set(err, TR_ENOMEM, "%s: out of memory", what);
            goto out;
        }
        if (exec_statement(conn, text, msg, sizeof msg) < 0) {
            char start[EXCERPT_SIZE];
            excerpt(st.text, st.length, start, sizeof start);
            rc = tr_error_set(err, TR_EDB, "%s failed at statement %d (line %d) \"%s\": %s", what,
                              st.number, st.line, start, msg);
            goto out;
        }
    }
    if (step < 0) {
        rc = tr_error_set(err, TR_ESCHEMA, "%s cannot be split into statements: %s", what,
                          split_err.message);
        goto out;
    }
    /* check_script refuses transaction control; this catches whatever slips past it (a
     * procedure that commits) before anything is recorded as applied. */
    if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        rc = tr_error_set(err, TR_ESCHEMA, "%s ended its transaction before it was complete",
                          what);
        goto out;
    }

    if (record != NULL) {
        char version[16];
        snprintf(version, sizeof version, "%d", record->version);
        const char *values[] = {record->component, version, record->name, record->sql};
        res = query(conn,
                    "INSERT INTO trivsel_meta.schema_migrations "
                    "(component, version, name, checksum) "
                    "VALUES ($1, $2::integer, $3, encode(sha256($4::bytea), 'hex'))",
                    4, values, true, msg, sizeof msg);
        if (res == NULL) {
            rc = tr_error_set(err, TR_EDB, "%s ran but could not be recorded: %s", what, msg);
            goto out;
        }
        PQclear(res);
    }

    res = query(conn, "COMMIT", 0, NULL, false, msg, sizeof msg);
    if (res == NULL) {
        rc = tr_error_set(err, TR_EDB, "%s failed at commit: %s", what, msg);
        goto out;
    }
    PQclear(res);

out:
    free(text);
    if (rc != 0 && PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
    return rc;
}

/* Creates trivsel_meta unless it is complete already (the usual case: then nothing is sent
 * that would need the right to create). */
static int bootstrap(PGconn *conn, tr_error_t *err)
{
    char msg[TR_ERROR_MESSAGE_MAX];
    PGresult *res = query(conn,
                          "SELECT to_regclass('trivsel_meta.schema_migrations') IS NOT NULL "
                          "AND to_regprocedure('trivsel_meta.set_role_password(text, text)') "
                          "IS NOT NULL",
                          0, NULL, false, msg, sizeof msg);
    if (res == NULL)
        return tr_error_set(err, TR_EDB, "cannot look for schema trivsel_meta: %s", msg);
    bool complete = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (complete)
        return 0;
    return run_transaction(conn, "setting up schema trivsel_meta", bootstrap_sql, NULL, err);
}

/* Marks in pending[] the migrations not recorded yet, and refuses when a recorded one's text
 * differs from what was applied: the database would no longer match the files, silently. */
static int find_pending(PGconn *conn, const tr_migration_t *list, size_t n, bool *pending,
                        tr_error_t *err)
{
    char msg[TR_ERROR_MESSAGE_MAX];
    for (size_t i = 0; i < n; i++) {
        const tr_migration_t *m = &list[i];
        char version[16];
        snprintf(version, sizeof version, "%d", m->version);
        const char *values[] = {m->component, version, m->sql};
        PGresult *res = query(conn,
                              "SELECT checksum, encode(sha256($3::bytea), 'hex') "
                              "FROM trivsel_meta.schema_migrations "
                              "WHERE component = $1 AND version = $2::integer",
                              3, values, true, msg, sizeof msg);
        if (res == NULL)
            return tr_error_set(err, TR_EDB, "cannot read the applied migrations: %s", msg);
        pending[i] = PQntuples(res) == 0;
        if (!pending[i] && strcmp(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) != 0) {
            int rc = tr_error_set(err, TR_ESCHEMA,
                                  "migration %s was changed after it was applied: the database "
                                  "recorded checksum %s, the file now has %s; restore the applied "
                                  "text and put the change in a new migration",
                                  m->path, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
            PQclear(res);
            return rc;
        }
        PQclear(res);
    }
    return 0;
}

int tr_migrate_apply(PGconn *conn, const tr_migration_t *list, size_t n, FILE *progress,
                     tr_error_t *err)
{
    assert(conn != NULL);
    assert(list != NULL || n == 0);
    char msg[TR_ERROR_MESSAGE_MAX];
    bool locked = false;
    bool *pending = NULL;
    int rc = 0;
    tr_error_clear(err);

    if (PQstatus(conn) != CONNECTION_OK) {
        describe(conn, NULL, msg, sizeof msg);
        return tr_error_set(err, TR_EDB, "cannot migrate: the database connection is not open: %s",
                            msg);
    }
    /* Our BEGIN would be refused and our COMMIT would commit the caller's work. */
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        return tr_error_set(err, TR_EDB,
                            "cannot migrate inside an open transaction: each migration needs a "
                            "transaction of its own");
    for (size_t i = 0; i < n; i++) {
        rc = check_script(&list[i], err);
        if (rc != 0)
            return rc;
    }
    pending = calloc(n > 0 ? n : 1, sizeof *pending);
    if (pending == NULL)
        return tr_error_set(err, TR_ENOMEM, "cannot migrate: out of memory");

    /* Held across the whole run, not per migration: a second migrator must see either none or
     * all of the first one's work, and must not bootstrap trivsel_meta at the same time. */
    PGresult *res = query(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL, false,
                          msg, sizeof msg);
    if (res == NULL) {
        rc = tr_error_set(err, TR_EDB, "cannot take the migration lock: %s", msg);
        goto out;
    }
    PQclear(res);
    locked = true;

    rc = bootstrap(conn, err);
    if (rc != 0)
        goto out;
    rc = find_pending(conn, list, n, pending, err);
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (!pending[i])
            continue;
        char what[1024];
        snprintf(what, sizeof what, "migration %s", list[i].path);
        rc = run_transaction(conn, what, list[i].sql, &list[i], err);
        if (rc != 0)
            goto out;
        if (progress != NULL) {
            fprintf(progress, "applied %s %s\n", list[i].component, list[i].name);
            fflush(progress);
        }
    }

out:
    /* Closing the connection would free the lock too; the caller may go on using it. */
    if (locked)
        PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
    free(pending);
    return rc;
}

static int latest_in(const tr_migration_t *list, size_t n, const char *component)
{
    int latest = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].component, component) == 0 && list[i].version > latest)
            latest = list[i].version;
    return latest;
}

int tr_migrate_latest(const char *component)
{
    assert(component != NULL);
    return latest_in(tr_migrations, tr_migrations_count, component);
}

int tr_migrate_check_list(PGconn *conn, const tr_migration_t *list, size_t n,
                          const char *component, tr_error_t *err)
{
    assert(conn != NULL && component != NULL);
    assert(list != NULL || n == 0);
    char msg[TR_ERROR_MESSAGE_MAX];
    tr_error_clear(err);

    int needed = latest_in(list, n, component);
    if (needed == 0)
        return 0;
    if (PQstatus(conn) != CONNECTION_OK) {
        describe(conn, NULL, msg, sizeof msg);
        return tr_error_set(err, TR_EDB,
                            "cannot check database schema \"%s\": the connection is not open: %s",
                            component, msg);
    }
    /* Looked up first so that a database never migrated gives the "run trivselctl migrate"
     * message rather than an error, and no failed query aborts a caller's transaction. */
    PGresult *res = query(conn, "SELECT to_regclass('trivsel_meta.schema_migrations') IS NOT NULL",
                          0, NULL, false, msg, sizeof msg);
    if (res == NULL)
        return tr_error_set(err, TR_EDB, "cannot check database schema \"%s\": %s", component, msg);
    bool has_meta = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);

    int applied = 0;
    if (has_meta) {
        const char *values[] = {component};
        res = query(conn,
                    "SELECT coalesce(max(version), 0) FROM trivsel_meta.schema_migrations "
                    "WHERE component = $1",
                    1, values, false, msg, sizeof msg);
        if (res == NULL)
            return tr_error_set(err, TR_EDB, "cannot check database schema \"%s\": %s", component,
                                msg);
        applied = atoi(PQgetvalue(res, 0, 0));
        PQclear(res);
    }

    if (applied == 0)
        return tr_error_set(err, TR_ESCHEMA,
                            "database schema \"%s\" has not been created: "
                            "run \"trivselctl migrate\"",
                            component);
    if (applied < needed)
        return tr_error_set(err, TR_ESCHEMA,
                            "database schema \"%s\" is at version %d but this program needs "
                            "version %d: run \"trivselctl migrate\"",
                            component, applied, needed);
    return 0;
}

int tr_migrate_check(PGconn *conn, const char *component, tr_error_t *err)
{
    return tr_migrate_check_list(conn, tr_migrations, tr_migrations_count, component, err);
}

int tr_migrate_set_password(PGconn *conn, const char *role, const char *password, tr_error_t *err)
{
    assert(conn != NULL && role != NULL && password != NULL);
    char msg[TR_ERROR_MESSAGE_MAX];
    tr_error_clear(err);

    if (password[0] == '\0')
        return tr_error_set(err, TR_EINVAL, "empty password for role \"%s\"", role);
    /* The algorithm is named so libpq does not ask the server, and never falls back to md5. */
    char *verifier = PQencryptPasswordConn(conn, password, role, "scram-sha-256");
    if (verifier == NULL) {
        describe(conn, NULL, msg, sizeof msg);
        return tr_error_set(err, TR_EDB, "cannot compute the password verifier of role \"%s\": %s",
                            role, msg);
    }
    const char *values[] = {role, verifier};
    PGresult *res = PQexecParams(conn, "SELECT trivsel_meta.set_role_password($1, $2)", 2, NULL,
                                 values, NULL, NULL, 0);
    /* A verifier is not the password, but it allows a dictionary attack: keep no copy. */
    explicit_bzero(verifier, strlen(verifier));
    PQfreemem(verifier);

    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        describe(conn, res, msg, sizeof msg);
        /* 42883 undefined_function, 3F000 invalid_schema_name: never migrated. */
        if (state && (strcmp(state, "42883") == 0 || strcmp(state, "3F000") == 0))
            rc = tr_error_set(err, TR_ESCHEMA,
                              "cannot set the password of role \"%s\": schema trivsel_meta has "
                              "not been set up: run \"trivselctl migrate\" first",
                              role);
        else
            rc = tr_error_set(err, TR_EDB, "cannot set the password of role \"%s\": %s", role,
                              msg);
    }
    PQclear(res);
    return rc;
}
