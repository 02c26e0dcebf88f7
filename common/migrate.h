/* migrate.h — versioned SQL migrations, compiled into every program.
 *
 * Each service owns a schema (ARCHITECTURE.md, principle 4). Its changes are the files
 * services/<component>/migrations/NNNN_name.sql, numbered from 0001 without gaps; the build
 * (common/tools/embed_migrations) turns them into the table tr_migrations, so a daemon knows the
 * version it needs and trivselctl migrates without the source tree.
 *
 * The database records what was applied in trivsel_meta.schema_migrations (component, version,
 * name, checksum = sha256 hex of the file, applied_at), readable by every role. A recorded file
 * must never change: its checksum is compared on every run.
 *
 * Every function here is blocking libpq, for trivselctl, start-up checks and tests; never call
 * them from a running event loop. None sends SQL built from input.
 */
#ifndef TR_MIGRATE_H
#define TR_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"

typedef struct tr_migration {
    const char *component; /* "intake": the folder under services/, also the schema's name */
    int version;           /* 1, 2, ...: the file name's NNNN */
    const char *name;      /* "0001_schema.sql" */
    const char *path;      /* "services/intake/migrations/0001_schema.sql", for messages */
    const char *sql;       /* the file's text */
} tr_migration_t;

/* The embedded migrations, generated at build time, in the order they are applied: by
 * version, then component (every 0001 before any 0002). */
extern const tr_migration_t tr_migrations[];
extern const size_t tr_migrations_count;

/* The highest embedded version of component; 0 when it has none. */
int tr_migrate_latest(const char *component);

/* Applies every migration of list[0..n) that the database has not recorded, in list order (a
 * component's versions must be in ascending order; tr_migrations is).
 *
 * conn is an open connection outside any transaction, as a role that may create schemas and
 * roles (the cluster's admin). For the whole run it holds a session advisory lock with a fixed
 * key, so two migrators never interleave: the second waits, then finds nothing to do. On first
 * use it creates the schema trivsel_meta, its table schema_migrations (SELECT granted to PUBLIC)
 * and the function trivsel_meta.set_role_password (EXECUTE revoked from PUBLIC).
 *
 * Before anything is applied, every migration of list is checked: its text must split into
 * statements and hold no transaction control (BEGIN, COMMIT, ...), and one already recorded must
 * have the recorded checksum; otherwise nothing is applied and the result is TR_ESCHEMA, e.g.
 *   migration services/intake/migrations/0001_schema.sql was changed after it was applied: ...
 *
 * Each pending migration then runs in a transaction of its own, statement by statement, and is
 * recorded in the same transaction. When a statement fails, that transaction is rolled back
 * (nothing of that migration remains; migrations before it stay applied) and the result is
 * TR_EDB with err naming the file, statement, its first line, its start and PostgreSQL's message:
 *   migration services/intake/migrations/0002_x.sql failed at statement 3 (line 14)
 *   "CREATE TABLE intake.case ...": ERROR: ... DETAIL: ...
 *
 * progress (may be NULL) gets one line per migration applied: "applied intake 0002_x.sql".
 * Returns 0, TR_EDB (the server refused or the connection failed), TR_ESCHEMA, or TR_ENOMEM. */
int tr_migrate_apply(PGconn *conn, const tr_migration_t *list, size_t n, FILE *progress,
                     tr_error_t *err);

/* A daemon's start-up check that the database holds component's schema at the highest embedded
 * version (or later: during a rolling upgrade the database may be ahead of an old replica).
 * Needs only SELECT, so it runs as the service's own role, also inside a transaction. Returns 0;
 * TR_ESCHEMA with err, exactly (one line each)
 *   database schema "intake" is at version 1 but this program needs version 3:
 *   run "trivselctl migrate"
 *   database schema "intake" has not been created: run "trivselctl migrate"
 * or TR_EDB when the connection or the query fails. A component without migrations passes. */
int tr_migrate_check(PGconn *conn, const char *component, tr_error_t *err);

/* tr_migrate_check against list[0..n) instead of the embedded table (for tests and tools). */
int tr_migrate_check_list(PGconn *conn, const tr_migration_t *list, size_t n,
                          const char *component, tr_error_t *err);

/* Sets role's password without the password crossing the wire and without SQL built from
 * input: the SCRAM-SHA-256 verifier is computed here (PQencryptPasswordConn) and passed as a
 * parameter to trivsel_meta.set_role_password. conn must be the admin's, after
 * tr_migrate_apply. Returns 0; TR_EINVAL for an empty password; TR_ESCHEMA when trivsel_meta is
 * missing; TR_EDB when the server refuses (e.g. no such role). */
int tr_migrate_set_password(PGconn *conn, const char *role, const char *password, tr_error_t *err);

#endif
