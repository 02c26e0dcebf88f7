/* Tests for common/migrate against a real PostgreSQL.
 *
 * TRIVSEL_TEST_DATABASE_URL: a superuser's URL (with password) of an empty database, which the
 * tests fill; the tests run in order and each builds on the one before. The roles trivsel_* are
 * cluster-wide: the test sets trivsel_intake's password to a random one.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/check.h"
#include "migrate.h"

#define URL_ENV "TRIVSEL_TEST_DATABASE_URL"

static const char *const components[] = {"assessment", "broker", "docs", "intake", "ordering"};
#define N_COMPONENTS (sizeof components / sizeof components[0])

/* Connects with the test URL, with dbname, user and password instead when not NULL. */
static PGconn *connect_to(const char *dbname, const char *user, const char *password)
{
    char *parse_error = NULL;
    PQconninfoOption *options = PQconninfoParse(getenv(URL_ENV), &parse_error);
    if (options == NULL) {
        printf("#   cannot parse %s: %s\n", URL_ENV, parse_error ? parse_error : "out of memory");
        PQfreemem(parse_error);
        return NULL;
    }
    const char *keys[64];
    const char *values[64];
    size_t n = 0;
    for (PQconninfoOption *o = options; o->keyword != NULL && n < 60; o++) {
        if (o->val == NULL || (dbname && strcmp(o->keyword, "dbname") == 0) ||
            (user && strcmp(o->keyword, "user") == 0) ||
            (password && strcmp(o->keyword, "password") == 0))
            continue;
        keys[n] = o->keyword;
        values[n++] = o->val;
    }
    if (dbname) {
        keys[n] = "dbname";
        values[n++] = dbname;
    }
    if (user) {
        keys[n] = "user";
        values[n++] = user;
    }
    if (password) {
        keys[n] = "password";
        values[n++] = password;
    }
    keys[n] = NULL;
    values[n] = NULL;
    PGconn *conn = PQconnectdbParams(keys, values, 0);
    PQconninfoFree(options);
    return conn;
}

static PGconn *connect_admin(void)
{
    PGconn *conn = connect_to(NULL, NULL, NULL);
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
        printf("#   cannot connect as admin: %s", conn ? PQerrorMessage(conn) : "\n");
    return conn;
}

/* The first value of a query with text parameters, or "SQLSTATE message" when it fails. */
static void query_value(PGconn *conn, const char *sql, int nparams, const char *const *params,
                        char *out, size_t size)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_TUPLES_OK && PQntuples(res) > 0)
        snprintf(out, size, "%s", PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
    else if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
        snprintf(out, size, "(no rows)");
    else
        snprintf(out, size, "%s %s", PQresultErrorField(res, PG_DIAG_SQLSTATE),
                 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    PQclear(res);
}

static void value(PGconn *conn, const char *sql, char *out, size_t size)
{
    query_value(conn, sql, 0, NULL, out, size);
}

/* Collects what tr_migrate_apply reports as applied. */
typedef struct progress {
    char *text;
    size_t size;
    FILE *out;
} progress_t;

static void progress_open(progress_t *p)
{
    p->text = NULL;
    p->size = 0;
    p->out = open_memstream(&p->text, &p->size);
}

static const char *progress_close(progress_t *p)
{
    fclose(p->out);
    p->out = NULL;
    return p->text;
}

static int count_lines(const char *text)
{
    int lines = 0;
    for (; *text; text++)
        lines += *text == '\n';
    return lines;
}

static void test_check_before_migrating(void)
{
    PGconn *conn = connect_admin();
    tr_error_t err;
    CHECK_INT_EQ(tr_migrate_check(conn, "intake", &err), TR_ESCHEMA);
    CHECK_STR_EQ(err.message,
                 "database schema \"intake\" has not been created: run \"trivselctl migrate\"");
    /* A program without migrations needs nothing. */
    CHECK_INT_EQ(tr_migrate_check(conn, "nosuch", &err), 0);
    CHECK_STR_EQ(err.message, "");

    CHECK_INT_EQ(tr_migrate_set_password(conn, "trivsel_intake", "secret", &err), TR_ESCHEMA);
    CHECK_STR_EQ(err.message, "cannot set the password of role \"trivsel_intake\": schema "
                              "trivsel_meta has not been set up: run \"trivselctl migrate\" first");
    PQfinish(conn);
}

static void test_connection_failure(void)
{
    PGconn *conn = PQconnectdb("host=/nonexistent-trivsel-socket dbname=x user=x");
    tr_error_t err;
    CHECK(PQstatus(conn) != CONNECTION_OK);
    CHECK_INT_EQ(tr_migrate_check(conn, "intake", &err), TR_EDB);
    CHECK_STR_CONTAINS(err.message, "cannot check database schema \"intake\": the connection is "
                                    "not open: connection to server on socket "
                                    "\"/nonexistent-trivsel-socket/.s.PGSQL.5432\" failed");
    CHECK_INT_EQ(tr_migrate_apply(conn, tr_migrations, tr_migrations_count, NULL, &err), TR_EDB);
    CHECK_STR_CONTAINS(err.message, "cannot migrate: the database connection is not open: ");
    PQfinish(conn);
}

static void test_apply_embedded(void)
{
    PGconn *conn = connect_admin();
    tr_error_t err;
    progress_t progress;
    char expected[4096] = "";
    char got[512];

    for (size_t i = 0; i < tr_migrations_count; i++) {
        size_t used = strlen(expected);
        snprintf(expected + used, sizeof expected - used, "applied %s %s\n",
                 tr_migrations[i].component, tr_migrations[i].name);
    }
    progress_open(&progress);
    int rc = tr_migrate_apply(conn, tr_migrations, tr_migrations_count, progress.out, &err);
    CHECK_STR_EQ(progress_close(&progress), expected);
    free(progress.text);
    CHECK_INT_EQ(rc, 0);
    CHECK_STR_EQ(err.message, "");
    CHECK_INT_EQ(PQtransactionStatus(conn), PQTRANS_IDLE);

    /* Every embedded file is recorded once, with the sha256 of its exact text. */
    value(conn, "SELECT count(*) FROM trivsel_meta.schema_migrations", got, sizeof got);
    CHECK_INT_EQ(atoi(got), tr_migrations_count);
    for (size_t i = 0; i < tr_migrations_count; i++) {
        const tr_migration_t *m = &tr_migrations[i];
        char version[16];
        snprintf(version, sizeof version, "%d", m->version);
        const char *params[] = {m->component, version, m->sql};
        query_value(conn,
                    "SELECT name FROM trivsel_meta.schema_migrations WHERE component = $1 "
                    "AND version = $2::int "
                    "AND checksum = encode(sha256(convert_to($3, 'UTF8')), 'hex')",
                    3, params, got, sizeof got);
        CHECK_STR_EQ(got, m->name);
    }

    for (size_t c = 0; c < N_COMPONENTS; c++) {
        char role[64];
        snprintf(role, sizeof role, "trivsel_%s", components[c]);
        const char *params[] = {role, components[c]};
        query_value(conn,
                    "SELECT concat_ws(' ', rolcanlogin, rolinherit, rolcreatedb, rolcreaterole, "
                    "rolsuper) FROM pg_roles WHERE rolname = $1",
                    1, params, got, sizeof got);
        CHECK_STR_EQ(got, "t f f f f");
        /* The admin owns the schema, so the service's role cannot change it. */
        query_value(conn,
                    "SELECT nspowner::regrole::text = current_user FROM pg_namespace "
                    "WHERE nspname = $1",
                    1, params + 1, got, sizeof got);
        CHECK_STR_EQ(got, "t");
        query_value(conn,
                    "SELECT concat_ws(' ', has_schema_privilege($1, $2, 'USAGE'), "
                    "has_schema_privilege($1, $2, 'CREATE'), "
                    "has_schema_privilege('public', $2, 'USAGE'), "
                    "has_schema_privilege($1, 'public', 'CREATE'), "
                    "has_table_privilege($1, 'trivsel_meta.schema_migrations', 'SELECT'), "
                    "has_function_privilege($1, 'trivsel_meta.set_role_password(text, text)', "
                    "'EXECUTE'))",
                    2, params, got, sizeof got);
        CHECK_STR_EQ(got, "t f f f t f");
        CHECK_INT_EQ(tr_migrate_check(conn, components[c], &err), 0);
        CHECK_STR_EQ(err.message, "");
    }
    /* Nobody but its own role reaches a service's schema. */
    value(conn, "SELECT has_schema_privilege('trivsel_broker', 'intake', 'USAGE')", got,
          sizeof got);
    CHECK_STR_EQ(got, "f");
    value(conn,
          "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
          got, sizeof got);
    CHECK_STR_EQ(got, "0");
    PQfinish(conn);
}

static void test_apply_again_applies_nothing(void)
{
    PGconn *conn = connect_admin();
    tr_error_t err;
    progress_t progress;
    char got[64];
    progress_open(&progress);
    CHECK_INT_EQ(tr_migrate_apply(conn, tr_migrations, tr_migrations_count, progress.out, &err), 0);
    CHECK_STR_EQ(progress_close(&progress), "");
    free(progress.text);
    value(conn, "SELECT count(*) FROM trivsel_meta.schema_migrations", got, sizeof got);
    CHECK_INT_EQ(atoi(got), tr_migrations_count);
    PQfinish(conn);
}

static const tr_migration_t migtest_ok = {
    "migtest", 1, "0001_ok.sql", "tests/db/migtest/0001_ok.sql",
    "CREATE TABLE public.migtest_ok (id int PRIMARY KEY);\n"};

static void test_failing_migration_leaves_nothing(void)
{
    const tr_migration_t list[] = {
        migtest_ok,
        {"migtest", 2, "0002_fail.sql", "tests/db/migtest/0002_fail.sql",
         "-- a table, then a statement that fails: the table must not remain\n"
         "CREATE TABLE public.migtest_first (id int PRIMARY KEY);\n"
         "\n"
         "INSERT INTO public.migtest_first (id)\n"
         "    VALUES (1), (1), (2), (3), (4), (5), (6), (7);\n"
         "CREATE TABLE public.migtest_never (id int);\n"},
    };
    PGconn *conn = connect_admin();
    tr_error_t err;
    progress_t progress;
    char got[512];

    progress_open(&progress);
    int rc = tr_migrate_apply(conn, list, 2, progress.out, &err);
    CHECK_STR_EQ(progress_close(&progress), "applied migtest 0001_ok.sql\n");
    free(progress.text);
    CHECK_INT_EQ(rc, TR_EDB);
    CHECK_STR_EQ(err.message,
                 "migration tests/db/migtest/0002_fail.sql failed at statement 2 (line 4) "
                 "\"INSERT INTO public.migtest_first (id) VALUES (1), (1), (2), ...\": "
                 "ERROR: duplicate key value violates unique constraint \"migtest_first_pkey\" "
                 "DETAIL: Key (id)=(1) already exists.");

    /* Its own transaction: the first migration stays, nothing of the second does. */
    value(conn,
          "SELECT concat_ws(' ', to_regclass('public.migtest_ok') IS NOT NULL, "
          "to_regclass('public.migtest_first') IS NOT NULL, "
          "to_regclass('public.migtest_never') IS NOT NULL)",
          got, sizeof got);
    CHECK_STR_EQ(got, "t f f");
    value(conn,
          "SELECT string_agg(version::text, ',' ORDER BY version) "
          "FROM trivsel_meta.schema_migrations WHERE component = 'migtest'",
          got, sizeof got);
    CHECK_STR_EQ(got, "1");
    /* The connection is left usable, outside a transaction and without the lock. */
    CHECK_INT_EQ(PQtransactionStatus(conn), PQTRANS_IDLE);
    value(conn,
          "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
          got, sizeof got);
    CHECK_STR_EQ(got, "0");
    PQfinish(conn);
}

static void test_check_out_of_date(void)
{
    const tr_migration_t list[] = {
        migtest_ok,
        {"migtest", 2, "0002_b.sql", "tests/db/migtest/0002_b.sql", "SELECT 2;\n"},
        {"migtest", 3, "0003_c.sql", "tests/db/migtest/0003_c.sql", "SELECT 3;\n"},
    };
    PGconn *conn = connect_admin();
    tr_error_t err;

    CHECK_INT_EQ(tr_migrate_check_list(conn, list, 3, "migtest", &err), TR_ESCHEMA);
    CHECK_STR_EQ(err.message, "database schema \"migtest\" is at version 1 but this program "
                              "needs version 3: run \"trivselctl migrate\"");
    CHECK_INT_EQ(tr_migrate_check_list(conn, list, 1, "migtest", &err), 0);

    /* The embedded table's check, with intake's records hidden in a transaction (the check
     * only reads, so it may run inside one). */
    PQclear(PQexec(conn, "BEGIN"));
    PQclear(PQexec(conn, "DELETE FROM trivsel_meta.schema_migrations WHERE component = 'intake'"));
    CHECK_INT_EQ(tr_migrate_check(conn, "intake", &err), TR_ESCHEMA);
    CHECK_STR_EQ(err.message,
                 "database schema \"intake\" has not been created: run \"trivselctl migrate\"");
    CHECK_INT_EQ(tr_migrate_check(conn, "broker", &err), 0);
    PQclear(PQexec(conn, "ROLLBACK"));
    CHECK_INT_EQ(tr_migrate_check(conn, "intake", &err), 0);
    PQfinish(conn);
}

static void test_changed_migration_refused(void)
{
    const tr_migration_t list[] = {
        {"migtest", 1, "0001_ok.sql", "tests/db/migtest/0001_ok.sql",
         "CREATE TABLE public.migtest_ok (id bigint PRIMARY KEY);\n"},
        {"migtest", 2, "0002_after.sql", "tests/db/migtest/0002_after.sql",
         "CREATE TABLE public.migtest_after (id int);\n"},
    };
    PGconn *conn = connect_admin();
    tr_error_t err;
    progress_t progress;
    char recorded[128];
    char now[128];
    char expected[TR_ERROR_MESSAGE_MAX];
    char got[64];

    value(conn,
          "SELECT checksum FROM trivsel_meta.schema_migrations "
          "WHERE component = 'migtest' AND version = 1",
          recorded, sizeof recorded);
    const char *params[] = {list[0].sql};
    query_value(conn, "SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", 1, params, now,
                sizeof now);
    CHECK_INT_EQ(strlen(recorded), 64);
    CHECK(strcmp(recorded, now) != 0);
    snprintf(expected, sizeof expected,
             "migration tests/db/migtest/0001_ok.sql was changed after it was applied: the "
             "database recorded checksum %s, the file now has %s; restore the applied text and "
             "put the change in a new migration",
             recorded, now);

    progress_open(&progress);
    CHECK_INT_EQ(tr_migrate_apply(conn, list, 2, progress.out, &err), TR_ESCHEMA);
    CHECK_STR_EQ(progress_close(&progress), "");
    free(progress.text);
    CHECK_STR_EQ(err.message, expected);
    /* Refused before anything ran: the pending migration after it was not applied either. */
    value(conn, "SELECT to_regclass('public.migtest_after') IS NULL", got, sizeof got);
    CHECK_STR_EQ(got, "t");
    PQfinish(conn);
}

static void test_bad_scripts_refused(void)
{
    const tr_migration_t commits = {"migtest2", 1, "0001_tc.sql", "tests/db/migtest2/0001_tc.sql",
                                    "CREATE TABLE public.migtest_tc (id int);\ncommit;\n"};
    const tr_migration_t unterminated = {"migtest3", 1, "0001_q.sql",
                                         "tests/db/migtest3/0001_q.sql",
                                         "CREATE TABLE public.migtest_q (id int);\n"
                                         "INSERT INTO public.migtest_q VALUES ('1);\n"};
    PGconn *conn = connect_admin();
    tr_error_t err;
    char got[64];

    CHECK_INT_EQ(tr_migrate_apply(conn, &commits, 1, NULL, &err), TR_ESCHEMA);
    CHECK_STR_EQ(err.message, "migration tests/db/migtest2/0001_tc.sql statement 2 (line 2) "
                              "\"commit\" controls the transaction: each migration runs in one "
                              "transaction, remove it");
    CHECK_INT_EQ(tr_migrate_apply(conn, &unterminated, 1, NULL, &err), TR_ESCHEMA);
    CHECK_STR_EQ(err.message, "migration tests/db/migtest3/0001_q.sql cannot be split into "
                              "statements: unterminated quoted string starting at line 2");
    value(conn,
          "SELECT concat_ws(' ', to_regclass('public.migtest_tc') IS NULL, "
          "to_regclass('public.migtest_q') IS NULL, (SELECT count(*) FROM "
          "trivsel_meta.schema_migrations WHERE component LIKE 'migtest_'))",
          got, sizeof got);
    CHECK_STR_EQ(got, "t t 0");
    PQfinish(conn);
}

/* Two migrators at once: the second waits for the first's lock, then finds nothing to do. */
static void test_concurrent_migrators(void)
{
    const tr_migration_t list[] = {
        {"migconc", 1, "0001_a.sql", "tests/db/migconc/0001_a.sql",
         "SELECT pg_sleep(0.3);\nCREATE TABLE public.migconc_a (id int);\n"},
        {"migconc", 2, "0002_b.sql", "tests/db/migconc/0002_b.sql",
         "CREATE TABLE public.migconc_b (id int);\nSELECT pg_sleep(0.2);\n"},
        {"migconc", 3, "0003_c.sql", "tests/db/migconc/0003_c.sql",
         "CREATE TABLE public.migconc_c (id int);\n"},
    };
    int ready[2];
    int go[2];
    pid_t children[2];
    CHECK(pipe(ready) == 0 && pipe(go) == 0);
    fflush(stdout);
    for (int i = 0; i < 2; i++) {
        children[i] = fork();
        if (children[i] == 0) {
            /* Each child its own connection, made before the start signal so the two apply
             * calls begin together. */
            close(ready[0]);
            close(go[1]);
            PGconn *conn = connect_admin();
            char byte = 'r';
            if (write(ready[1], &byte, 1) != 1 || read(go[0], &byte, 1) != 0)
                _exit(1);
            tr_error_t err;
            progress_t progress;
            progress_open(&progress);
            int rc = tr_migrate_apply(conn, list, 3, progress.out, &err);
            int applied = count_lines(progress_close(&progress));
            if (rc != 0)
                printf("#   migrator %d: %s\n", i, err.message);
            fflush(stdout);
            PQfinish(conn);
            _exit(rc == 0 ? 10 + applied : 1);
        }
    }
    close(ready[1]);
    close(go[0]);
    char bytes[2];
    CHECK_INT_EQ(read(ready[0], bytes, 1) + read(ready[0], bytes + 1, 1), 2);
    close(go[1]); /* both start now */
    close(ready[0]);

    int exits[2] = {-1, -1};
    for (int i = 0; i < 2; i++) {
        int status = 0;
        CHECK(waitpid(children[i], &status, 0) == children[i]);
        exits[i] = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    /* One applied all three, the other none (not a failed CREATE TABLE). */
    CHECK_INT_EQ(exits[0] + exits[1], 23);
    CHECK(exits[0] == 10 || exits[0] == 13);

    PGconn *conn = connect_admin();
    char got[128];
    value(conn,
          "SELECT string_agg(version || ':' || n, ',' ORDER BY version) FROM (SELECT version, "
          "count(*) AS n FROM trivsel_meta.schema_migrations WHERE component = 'migconc' "
          "GROUP BY version) AS recorded",
          got, sizeof got);
    CHECK_STR_EQ(got, "1:1,2:1,3:1");
    value(conn, "SELECT to_regclass('public.migconc_c') IS NOT NULL", got, sizeof got);
    CHECK_STR_EQ(got, "t");
    PQfinish(conn);
}

/* A password as a service would get it from its secret: random, never in the source. */
static void random_password(char *out, size_t size)
{
    unsigned char bytes[16] = {0};
    FILE *urandom = fopen("/dev/urandom", "rb");
    CHECK(urandom != NULL && fread(bytes, 1, sizeof bytes, urandom) == sizeof bytes);
    if (urandom)
        fclose(urandom);
    for (size_t i = 0; i < sizeof bytes && 2 * i + 2 < size; i++)
        snprintf(out + 2 * i, size - 2 * i, "%02x", bytes[i]);
}

/* Roles are cluster-wide: another run of this test on another database of the cluster would
 * change trivsel_intake's password under this one (or fail with "tuple concurrently updated").
 * An advisory lock in the database "postgres", which every cluster has, keeps them apart. */
#define PASSWORD_LOCK "SELECT pg_advisory_lock(8390885013207739393)"

static PGconn *lock_password_changes(void)
{
    PGconn *lock = connect_to("postgres", NULL, NULL);
    PGresult *res = PQexec(lock, PASSWORD_LOCK);
    CHECK_INT_EQ(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    return lock;
}

/* Sets trivsel_intake's password and logs in with it. Something else on the cluster (a daemon's
 * deployment) may set it at the same moment: the pair is tried a few times. */
static PGconn *login_with_new_password(PGconn *admin, char *password, size_t size)
{
    PGconn *svc = NULL;
    tr_error_t err = {0};
    for (int attempt = 0; attempt < 5; attempt++) {
        PQfinish(svc);
        svc = NULL;
        random_password(password, size);
        if (tr_migrate_set_password(admin, "trivsel_intake", password, &err) != 0)
            continue;
        svc = connect_to(NULL, "trivsel_intake", password);
        if (PQstatus(svc) == CONNECTION_OK)
            break;
    }
    if (err.code != 0)
        printf("#   last tr_migrate_set_password: %s\n", err.message);
    return svc;
}

static void test_service_role(void)
{
    PGconn *admin = connect_admin();
    tr_error_t err;
    char password[40];
    char got[256];
    char saved[256];
    PGconn *lock = lock_password_changes();

    /* The role is shared with whatever else runs on this cluster: put its verifier back after. */
    value(admin, "SELECT rolpassword FROM pg_authid WHERE rolname = 'trivsel_intake'", saved,
          sizeof saved);
    PGconn *svc = login_with_new_password(admin, password, sizeof password);
    CHECK_INT_EQ(PQstatus(svc), CONNECTION_OK);
    if (svc != NULL && PQstatus(svc) != CONNECTION_OK)
        printf("#   %s", PQerrorMessage(svc));
    /* Only the verifier was sent and stored, never the password. */
    value(admin, "SELECT rolpassword LIKE 'SCRAM-SHA-256$4096:%' FROM pg_authid "
                 "WHERE rolname = 'trivsel_intake'",
          got, sizeof got);
    CHECK_STR_EQ(got, "t");
    PGconn *wrong = connect_to(NULL, "trivsel_intake", "not-the-password");
    CHECK_INT_EQ(PQstatus(wrong), CONNECTION_BAD);
    PQfinish(wrong);

    /* The start-up check works as the service's own role. */
    CHECK_INT_EQ(tr_migrate_check(svc, "intake", &err), 0);
    CHECK_STR_EQ(err.message, "");

    value(admin, "CREATE TABLE ordering.secret (id int)", got, sizeof got);
    CHECK_STR_EQ(got, "(no rows)");
    value(admin, "CREATE TABLE intake.cases (id int PRIMARY KEY)", got, sizeof got);
    CHECK_STR_EQ(got, "(no rows)");

    /* Rows yes (the default privileges of 0001), schema changes and other schemas no. */
    value(svc, "INSERT INTO intake.cases VALUES (1) RETURNING id", got, sizeof got);
    CHECK_STR_EQ(got, "1");
    value(svc, "CREATE TABLE intake.mine (id int)", got, sizeof got);
    CHECK_STR_EQ(got, "42501 permission denied for schema intake");
    value(svc, "DROP TABLE intake.cases", got, sizeof got);
    CHECK_STR_EQ(got, "42501 must be owner of table cases");
    value(svc, "SELECT * FROM ordering.secret", got, sizeof got);
    CHECK_STR_EQ(got, "42501 permission denied for schema ordering");
    value(svc, "CREATE TABLE public.mine (id int)", got, sizeof got);
    CHECK_STR_EQ(got, "42501 permission denied for schema public");
    value(svc, "SELECT trivsel_meta.set_role_password('trivsel_intake', 'x')", got, sizeof got);
    CHECK_STR_EQ(got, "42501 permission denied for function set_role_password");
    CHECK_INT_EQ(tr_migrate_set_password(svc, "trivsel_intake", "x", &err), TR_EDB);
    CHECK_STR_EQ(err.message, "cannot set the password of role \"trivsel_intake\": ERROR: "
                              "permission denied for function set_role_password");

    /* The role name is a parameter, quoted as an identifier: it cannot smuggle SQL in. */
    CHECK_INT_EQ(tr_migrate_set_password(admin, "x\"; DROP TABLE intake.cases; --", "pw", &err),
                 TR_EDB);
    CHECK_STR_EQ(err.message, "cannot set the password of role \"x\"; DROP TABLE intake.cases; "
                              "--\": ERROR: role \"x\"; DROP TABLE intake.cases; --\" does not "
                              "exist");
    value(admin, "SELECT count(*) FROM intake.cases", got, sizeof got);
    CHECK_STR_EQ(got, "1");
    CHECK_INT_EQ(tr_migrate_set_password(admin, "trivsel_intake", "", &err), TR_EINVAL);
    CHECK_STR_EQ(err.message, "empty password for role \"trivsel_intake\"");

    PQfinish(svc);
    /* "(null)": the role had no password; set_role_password(role, NULL) restores that. */
    const char *restore[] = {"trivsel_intake", strcmp(saved, "(null)") == 0 ? NULL : saved};
    PGresult *res = PQexecParams(admin, "SELECT trivsel_meta.set_role_password($1, $2)", 2, NULL,
                                 restore, NULL, NULL, 0);
    CHECK_INT_EQ(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    value(admin, "SELECT rolpassword FROM pg_authid WHERE rolname = 'trivsel_intake'", got,
          sizeof got);
    CHECK_STR_EQ(got, saved);
    PQfinish(admin);
    PQfinish(lock);
}

int main(void)
{
    const char *url = getenv(URL_ENV);
    if (url == NULL || url[0] == '\0') {
        printf("not ok - environment\n#   %s is not set: give the URL (with password) of a "
               "superuser on an empty database\n",
               URL_ENV);
        return 1;
    }
    PGconn *probe = connect_admin();
    bool connected = probe != NULL && PQstatus(probe) == CONNECTION_OK;
    PQfinish(probe);
    if (!connected) {
        printf("not ok - environment\n#   cannot connect with %s\n", URL_ENV);
        return 1;
    }

    CHECK_RUN(test_check_before_migrating);
    CHECK_RUN(test_connection_failure);
    CHECK_RUN(test_apply_embedded);
    CHECK_RUN(test_apply_again_applies_nothing);
    CHECK_RUN(test_failing_migration_leaves_nothing);
    CHECK_RUN(test_check_out_of_date);
    CHECK_RUN(test_changed_migration_refused);
    CHECK_RUN(test_bad_scripts_refused);
    CHECK_RUN(test_concurrent_migrators);
    CHECK_RUN(test_service_role);
    return check_done();
}
