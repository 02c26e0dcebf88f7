/* database.c — how trivselctl reaches PostgreSQL: the variables it reads, one blocking
 * connection as the role they name (the admin's, for migrate, keys, audit and the read-only
 * views of the services' schemas), and the small helpers the views share to read results. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "pg.h"

static const tr_config_var_t db_vars[] = {
    {"TRIVSEL_DATABASE_URL", TR_CONFIG_STRING, NULL, NULL,
     "PostgreSQL connection URL or libpq string, without the password"},
    {"TRIVSEL_DATABASE_USER", TR_CONFIG_STRING, "", NULL, "database role to log in as"},
    {"TRIVSEL_DATABASE_PASSWORD_FILE", TR_CONFIG_FILE, "", NULL, "file holding that role's password"},
};

tr_config_t *ctl_database_config(void)
{
    tr_config_t *cfg = NULL;
    tr_error_t err = {0};
    if (tr_config_load(db_vars, sizeof db_vars / sizeof db_vars[0], tr_config_getenv, NULL, &cfg, &err) < 0)
        fprintf(stderr, "trivselctl: %s\n", err.message);
    return cfg;
}

PGconn *ctl_database_connect(const char *application_name)
{
    tr_error_t err = {0};
    char password[256] = "";
    PGconn *conn = NULL;
    tr_config_t *cfg = ctl_database_config();
    if (!cfg)
        return NULL;
    if (tr_config_string(cfg, "TRIVSEL_DATABASE_PASSWORD_FILE")[0] &&
        tr_config_read_file(cfg, "TRIVSEL_DATABASE_PASSWORD_FILE", password, sizeof password, &err) < 0) {
        fprintf(stderr, "trivselctl: %s\n", err.message);
        goto out;
    }
    tr_pg_options_t opts = {.url = tr_config_string(cfg, "TRIVSEL_DATABASE_URL"),
                            .user = tr_config_string(cfg, "TRIVSEL_DATABASE_USER"),
                            .password = password,
                            .application_name = application_name};
    if (!(conn = tr_pg_connect_blocking(&opts, &err)))
        fprintf(stderr, "trivselctl: %s\n", err.message);
out:
    memset(password, 0, sizeof password); /* the password never outlives the connection attempt */
    tr_config_destroy(&cfg);
    return conn;
}

PGresult *ctl_query(PGconn *conn, const char *sql, int n, const char *const *values,
                    ExecStatusType want)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) != want) {
        fprintf(stderr, "trivselctl: %s", PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }
    return res;
}

const char *ctl_col(const PGresult *res, int row, int c)
{
    return PQgetisnull(res, row, c) ? "" : PQgetvalue(res, row, c);
}

bool ctl_colb(const PGresult *res, int row, int c)
{
    return !PQgetisnull(res, row, c) && PQgetvalue(res, row, c)[0] == 't';
}

bool ctl_command(PGconn *conn, const char *sql)
{
    PGresult *res = ctl_query(conn, sql, 0, NULL, PGRES_COMMAND_OK);
    PQclear(res);
    return res != NULL;
}
