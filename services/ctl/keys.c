/* trivselctl keys — CURVE key pairs and the principals they stand for (ARCHITECTURE.md
 * principle 5). A key pair is written to two files: NAME.key (the secret, mode 600) and
 * NAME.pub; only the public key goes into the database. Registering, disabling and enabling
 * notify the broker (NOTIFY trivsel_principals), which applies the change at once: a disabled
 * key's open sessions end and new handshakes are refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "ctl.h"
#include "pg.h"
#include "subject.h"

static int usage(FILE *out)
{
    fprintf(out,
            "usage: trivselctl keys new NAME --kind service|system|supplier|operator [--cvr CVR]\n"
            "                          [--publish PATTERN]... [--subscribe PATTERN]... [--out DIR]\n"
            "       trivselctl keys generate NAME [--out DIR]   a key pair only (e.g. the broker's)\n"
            "       trivselctl keys disable NAME | enable NAME\n"
            "       trivselctl keys list\n\n"
            "Without patterns, a principal gets its kind's defaults: a service NAME publishes NAME.> and\n"
            "subscribes to >; a supplier publishes its answers and documentation and subscribes to its\n"
            "orders, all bound to its CVR; an operator subscribes to >; a system must be given patterns.\n"
            "Database access as for migrate (TRIVSEL_DATABASE_URL, _USER, _PASSWORD_FILE).\n");
    return out == stdout ? 0 : 2;
}

/* Writes text to DIR/NAME.EXT with the given mode, refusing to overwrite a key. */
static int write_file(const char *dir, const char *name, const char *ext, const char *text, mode_t mode)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) {
        fprintf(stderr, "trivselctl: cannot create \"%s\": %s\n", path, strerror(errno));
        return -1;
    }
    size_t len = strlen(text);
    bool ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
    close(fd);
    if (!ok) {
        fprintf(stderr, "trivselctl: cannot write \"%s\"\n", path);
        return -1;
    }
    return 0;
}

int ctl_keys_generate(const char *name, const char *dir, char public_key[41])
{
    char secret_key[41];
    if (zmq_curve_keypair(public_key, secret_key) != 0) {
        fprintf(stderr, "trivselctl: cannot make a CURVE key pair: %s\n", zmq_strerror(zmq_errno()));
        return -1;
    }
    int rc = write_file(dir, name, "key", secret_key, 0600);
    memset(secret_key, 0, sizeof secret_key);
    if (rc == 0)
        rc = write_file(dir, name, "pub", public_key, 0644);
    return rc;
}

static int generate(const char *name, const char *dir, char public_key[41])
{
    int rc = ctl_keys_generate(name, dir, public_key);
    if (rc == 0)
        printf("wrote %s/%s.key (secret) and %s/%s.pub\n", dir, name, dir, name);
    return rc;
}

/* The principal's permissions that it does not have yet; the number added in *added. */
static int insert_permissions(PGconn *conn, const ctl_principal_t *p, int *added)
{
    *added = 0;
    for (int i = 0; i < p->npublish + p->nsubscribe; i++) {
        const char *v[3] = {p->name, i < p->npublish ? "publish" : "subscribe",
                            i < p->npublish ? p->publish[i] : p->subscribe[i - p->npublish]};
        PGresult *res = ctl_query(conn,
                             "INSERT INTO broker.permission (principal, action, pattern) VALUES ($1, $2, $3)"
                             " ON CONFLICT DO NOTHING",
                             3, v, PGRES_COMMAND_OK);
        if (!res)
            return -1;
        *added += atoi(PQcmdTuples(res));
        PQclear(res);
    }
    return 0;
}

/* Runs change(conn, p, arg) in a transaction that ends by telling the broker (NOTIFY
 * trivsel_principals), which applies the change at once. */
static int in_transaction(PGconn *conn, const ctl_principal_t *p,
                          int (*change)(PGconn *conn, const ctl_principal_t *p, void *arg), void *arg)
{
    PGresult *res = PQexec(conn, "BEGIN");
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    PQclear(res);
    if (rc < 0 || change(conn, p, arg) < 0 ||
        !(res = ctl_query(conn, "SELECT pg_notify('trivsel_principals', $1)", 1, (const char *[]){p->name},
                     PGRES_TUPLES_OK)))
        goto out;
    PQclear(res);
    res = PQexec(conn, "COMMIT");
    rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc < 0)
        fprintf(stderr, "trivselctl: %s", PQresultErrorMessage(res));
    PQclear(res);
    return rc;
out:
    res = PQexec(conn, "ROLLBACK");
    PQclear(res);
    return -1;
}

static int insert_principal(PGconn *conn, const ctl_principal_t *p, void *arg)
{
    const char *pv[4] = {p->name, p->kind, p->cvr[0] ? p->cvr : NULL, arg};
    PGresult *res = ctl_query(conn, "INSERT INTO broker.principal (name, kind, cvr, public_key) VALUES ($1, $2, $3, $4)", 4,
                         pv, PGRES_COMMAND_OK);
    int added;
    PQclear(res);
    return res ? insert_permissions(conn, p, &added) : -1;
}

static int grant(PGconn *conn, const ctl_principal_t *p, void *arg)
{
    return insert_permissions(conn, p, arg);
}

int ctl_principal_register(PGconn *conn, const ctl_principal_t *p, const char *public_key)
{
    return in_transaction(conn, p, insert_principal, (void *)public_key);
}

int ctl_principal_grant(PGconn *conn, const ctl_principal_t *p, int *added)
{
    return in_transaction(conn, p, grant, added);
}

static int register_principal(const ctl_principal_t *p, const char *public_key)
{
    PGconn *conn = ctl_database_connect("trivselctl keys");
    if (!conn)
        return 1;
    int rc = ctl_principal_register(conn, p, public_key) < 0 ? 1 : 0;
    if (rc == 0) {
        printf("registered %s (%s%s%s)\n", p->name, p->kind, p->cvr[0] ? ", CVR " : "", p->cvr);
        for (int i = 0; i < p->npublish; i++)
            printf("  publish   %s\n", p->publish[i]);
        for (int i = 0; i < p->nsubscribe; i++)
            printf("  subscribe %s\n", p->subscribe[i]);
    }
    PQfinish(conn);
    return rc;
}

int ctl_keys_default_patterns(ctl_principal_t *p)
{
    if (p->npublish + p->nsubscribe > 0)
        return 0;
    if (strcmp(p->kind, "service") == 0) {
        snprintf(p->defaults[0], sizeof p->defaults[0], "%s.>", p->name);
        p->publish[p->npublish++] = p->defaults[0];
        p->subscribe[p->nsubscribe++] = ">";
    } else if (strcmp(p->kind, "supplier") == 0) {
        snprintf(p->defaults[0], sizeof p->defaults[0], "ordering.order.accepted.%s", p->cvr);
        snprintf(p->defaults[1], sizeof p->defaults[1], "ordering.order.declined.%s", p->cvr);
        snprintf(p->defaults[2], sizeof p->defaults[2], "docs.*.submitted.%s", p->cvr);
        snprintf(p->defaults[3], sizeof p->defaults[3], "ordering.order.*.%s", p->cvr);
        snprintf(p->defaults[4], sizeof p->defaults[4], "docs.*.*.%s", p->cvr);
        p->publish[p->npublish++] = p->defaults[0];
        p->publish[p->npublish++] = p->defaults[1];
        p->publish[p->npublish++] = p->defaults[2];
        p->subscribe[p->nsubscribe++] = p->defaults[3];
        p->subscribe[p->nsubscribe++] = p->defaults[4];
    } else if (strcmp(p->kind, "operator") == 0) {
        p->subscribe[p->nsubscribe++] = ">";
    } else {
        fprintf(stderr, "trivselctl: a system needs its permissions: --publish PATTERN and/or --subscribe PATTERN\n");
        return -1;
    }
    return 0;
}

static int keys_new(int argc, char **argv)
{
    const char *dir = ".";
    ctl_principal_t p = {.cvr = ""};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--kind") == 0 && v)
            p.kind = v, i++;
        else if (strcmp(a, "--cvr") == 0 && v)
            p.cvr = v, i++;
        else if (strcmp(a, "--out") == 0 && v)
            dir = v, i++;
        else if (strcmp(a, "--publish") == 0 && v && p.npublish < CTL_KEYS_MAX_PATTERNS)
            p.publish[p.npublish++] = v, i++;
        else if (strcmp(a, "--subscribe") == 0 && v && p.nsubscribe < CTL_KEYS_MAX_PATTERNS)
            p.subscribe[p.nsubscribe++] = v, i++;
        else if (a[0] != '-' && !p.name)
            p.name = a;
        else {
            fprintf(stderr, "trivselctl keys new: unexpected argument \"%s\"\n", a);
            return usage(stderr);
        }
    }
    if (!p.name || !p.kind)
        return usage(stderr);
    const char *kind = p.kind, *cvr = p.cvr;
    if (strcmp(kind, "service") && strcmp(kind, "system") && strcmp(kind, "supplier") && strcmp(kind, "operator")) {
        fprintf(stderr, "trivselctl: invalid kind \"%s\": must be service, system, supplier or operator\n", kind);
        return 2;
    }
    bool supplier = strcmp(kind, "supplier") == 0;
    if (supplier != (cvr[0] != '\0') || (supplier && (strlen(cvr) != 8 || strspn(cvr, "0123456789") != 8))) {
        fprintf(stderr, supplier ? "trivselctl: invalid CVR \"%s\": a supplier needs --cvr with 8 digits\n"
                                 : "trivselctl: --cvr is for suppliers only (got \"%s\")\n",
                cvr);
        return 2;
    }
    for (int i = 0; i < p.npublish + p.nsubscribe; i++) {
        const char *pattern = i < p.npublish ? p.publish[i] : p.subscribe[i - p.npublish];
        tr_error_t err = {0};
        if (tr_subject_check_pattern(pattern, &err) < 0) {
            fprintf(stderr, "trivselctl: %s\n", err.message);
            return 2;
        }
        if (supplier && strcmp(tr_subject_last_token(pattern), cvr) != 0) {
            fprintf(stderr, "trivselctl: pattern \"%s\" does not end in the supplier's CVR %s\n", pattern, cvr);
            return 2;
        }
    }
    if (ctl_keys_default_patterns(&p) < 0)
        return 2;
    char public_key[41];
    if (generate(p.name, dir, public_key) < 0)
        return 1;
    return register_principal(&p, public_key);
}

static int set_enabled(const char *name, bool enabled)
{
    PGconn *conn = ctl_database_connect("trivselctl keys");
    if (!conn)
        return 1;
    const char *v[2] = {name, enabled ? "t" : "f"};
    PGresult *res = ctl_query(conn,
                         "WITH u AS (UPDATE broker.principal SET enabled = $2::boolean,"
                         "   disabled_at = CASE WHEN $2::boolean THEN NULL ELSE now() END"
                         "   WHERE name = $1 RETURNING name)"
                         " SELECT pg_notify('trivsel_principals', name) FROM u",
                         2, v, PGRES_TUPLES_OK);
    int rc = 1;
    if (res && PQntuples(res) == 1) {
        printf("%s %s\n", enabled ? "enabled" : "disabled", name);
        rc = 0;
    } else if (res) {
        fprintf(stderr, "trivselctl: no principal named \"%s\"\n", name);
    }
    PQclear(res);
    PQfinish(conn);
    return rc;
}

static int list(void)
{
    PGconn *conn = ctl_database_connect("trivselctl keys");
    if (!conn)
        return 1;
    PGresult *res = ctl_query(conn,
                         "SELECT p.name, p.kind, coalesce(p.cvr, ''), CASE WHEN p.enabled THEN 'enabled' ELSE 'disabled' END,"
                         " p.public_key, coalesce(string_agg(m.action || ' ' || m.pattern, ', ' ORDER BY m.action, m.pattern), '')"
                         " FROM broker.principal p LEFT JOIN broker.permission m ON m.principal = p.name"
                         " GROUP BY p.name ORDER BY p.name",
                         0, NULL, PGRES_TUPLES_OK);
    if (res) {
        printf("%-20s %-9s %-9s %-9s %-40s %s\n", "NAME", "KIND", "CVR", "STATE", "PUBLIC KEY", "PERMISSIONS");
        for (int i = 0; i < PQntuples(res); i++)
            printf("%-20s %-9s %-9s %-9s %-40s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                   PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5));
    }
    PQclear(res);
    PQfinish(conn);
    return res ? 0 : 1;
}

int ctl_keys(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0)
        return usage(argc < 2 ? stderr : stdout);
    if (strcmp(argv[1], "new") == 0)
        return keys_new(argc, argv);
    if (strcmp(argv[1], "generate") == 0 && argc >= 3) {
        const char *dir = argc >= 5 && strcmp(argv[3], "--out") == 0 ? argv[4] : ".";
        char public_key[41];
        return generate(argv[2], dir, public_key) < 0 ? 1 : 0;
    }
    if ((strcmp(argv[1], "disable") == 0 || strcmp(argv[1], "enable") == 0) && argc == 3)
        return set_enabled(argv[2], strcmp(argv[1], "enable") == 0);
    if (strcmp(argv[1], "list") == 0)
        return list();
    return usage(stderr);
}
