/* trivselctl migrate — applies the migrations compiled into this program, then (optionally)
 * sets the service roles' passwords from files, so no password is ever written in SQL. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "migrate.h"
#include "pg.h"

/* Sets the password of every role trivsel_<x> for which DIR/trivsel_<x>.password exists. */
static int set_passwords(PGconn *conn, const char *dir)
{
    DIR *d = opendir(dir);
    int rc = 0;
    if (!d) {
        fprintf(stderr, "trivselctl: cannot read the folder \"%s\" of role passwords: %m\n", dir);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *suffix = ".password";
        size_t n = strlen(e->d_name), sl = strlen(suffix);
        if (strncmp(e->d_name, "trivsel_", 8) != 0 || n <= sl || strcmp(e->d_name + n - sl, suffix) != 0)
            continue;
        char role[128], path[4096], password[256];
        snprintf(role, sizeof role, "%.*s", (int)(n - sl), e->d_name);
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f || !fgets(password, sizeof password, f)) {
            fprintf(stderr, "trivselctl: cannot read \"%s\"\n", path);
            if (f)
                fclose(f);
            rc = -1;
            continue;
        }
        fclose(f);
        password[strcspn(password, "\r\n")] = '\0';
        tr_error_t err = {0};
        if (tr_migrate_set_password(conn, role, password, &err) < 0) {
            fprintf(stderr, "trivselctl: %s\n", err.message);
            rc = -1;
        } else {
            printf("password set for role %s\n", role);
        }
        memset(password, 0, sizeof password);
    }
    closedir(d);
    return rc;
}

int ctl_migrate(int argc, char **argv)
{
    const char *password_dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--role-passwords") == 0 && i + 1 < argc) {
            password_dir = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: trivselctl migrate [--role-passwords DIR]\n\n"
                   "Applies every pending migration, each in its own transaction, under an advisory lock.\n"
                   "Connects with TRIVSEL_DATABASE_URL, TRIVSEL_DATABASE_USER and\n"
                   "TRIVSEL_DATABASE_PASSWORD_FILE as a role allowed to create schemas and roles.\n"
                   "--role-passwords DIR sets the password of each service role trivsel_<x> from\n"
                   "DIR/trivsel_<x>.password (sent as a SCRAM verifier, never in clear).\n");
            return 0;
        } else {
            fprintf(stderr, "trivselctl migrate: unknown argument \"%s\": see trivselctl migrate --help\n", argv[i]);
            return 2;
        }
    }
    PGconn *conn = ctl_database_connect("trivselctl migrate");
    if (!conn)
        return 1;
    tr_error_t err = {0};
    int rc = tr_migrate_apply(conn, tr_migrations, tr_migrations_count, stdout, &err);
    if (rc < 0) {
        fprintf(stderr, "trivselctl: %s\n", err.message);
    } else {
        printf("database schema is current\n");
        if (password_dir && set_passwords(conn, password_dir) < 0)
            rc = -1;
    }
    PQfinish(conn);
    return rc < 0 ? 1 : 0;
}
