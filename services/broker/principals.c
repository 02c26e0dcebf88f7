/* principals.c — the principals (one per CURVE public key) and their permissions, cached from
 * broker.principal / broker.permission. Reloaded at start, on NOTIFY trivsel_principals (sent
 * by trivselctl keys) and after a database reconnect; a disabled key's sessions are dropped at
 * once. */
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "subject.h"

static void free_list(principal_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < list[i].npublish; j++)
            free(list[i].publish[j]);
        for (size_t j = 0; j < list[i].nsubscribe; j++)
            free(list[i].subscribe[j]);
        free(list[i].publish);
        free(list[i].subscribe);
    }
    free(list);
}

void principals_free(broker_t *b)
{
    free_list(b->principals, b->nprincipals);
    b->principals = NULL;
    b->nprincipals = 0;
}

/* Splits space-separated patterns into a new array. */
static char **split(const char *text, size_t *n)
{
    *n = 0;
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ' ';
    char **out = calloc(cap, sizeof *out);
    if (!out)
        return NULL;
    char *copy = strdup(text);
    char *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        out[(*n)++] = strdup(tok);
    free(copy);
    return out;
}

static Trivsel__Broker__PrincipalKind kind_of(const char *kind)
{
    if (strcmp(kind, "service") == 0)
        return TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_SERVICE;
    if (strcmp(kind, "system") == 0)
        return TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_SYSTEM;
    if (strcmp(kind, "supplier") == 0)
        return TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_SUPPLIER;
    if (strcmp(kind, "operator") == 0)
        return TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_OPERATOR;
    return TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_UNSPECIFIED;
}

static void loaded_cb(PGresult *res, const char *error, void *arg)
{
    broker_t *b = arg;
    b->principals_loading = false;
    if (error) {
        tr_log_error("cannot load principals", TR_LOG_STR("error", error));
        goto out;
    }
    int n = PQntuples(res);
    principal_t *list = calloc((size_t)n + 1, sizeof *list);
    if (!list)
        goto out;
    for (int i = 0; i < n; i++) {
        principal_t *p = &list[i];
        snprintf(p->name, sizeof p->name, "%s", PQgetvalue(res, i, 0));
        p->kind = kind_of(PQgetvalue(res, i, 1));
        snprintf(p->cvr, sizeof p->cvr, "%s", PQgetvalue(res, i, 2));
        snprintf(p->public_key, sizeof p->public_key, "%s", PQgetvalue(res, i, 3));
        p->enabled = strcmp(PQgetvalue(res, i, 4), "t") == 0;
        p->publish = split(PQgetvalue(res, i, 5), &p->npublish);
        p->subscribe = split(PQgetvalue(res, i, 6), &p->nsubscribe);
    }
    principals_free(b);
    b->principals = list;
    b->nprincipals = (size_t)n;
    b->principals_loaded = true;
    tr_log_info("principals loaded", TR_LOG_INT("count", n));
    broker_open(b);
    /* Sessions of keys that are gone or disabled end now, not at their next message. Dropping
     * a principal frees all its sessions, so the walk starts again after each. */
    for (bool dropped = true; dropped;) {
        dropped = false;
        for (session_t *s = b->sessions; s; s = s->next) {
            const principal_t *p = principals_by_name(b, s->principal);
            if (!p || !p->enabled) {
                char name[BROKER_NAME_MAX];
                snprintf(name, sizeof name, "%s", s->principal);
                socket_drop_principal(b, name);
                dropped = true;
                break;
            }
        }
    }
out:
    if (b->principals_reload) {
        b->principals_reload = false;
        principals_load(b);
    }
}

void principals_load(broker_t *b)
{
    if (b->principals_loading) {
        b->principals_reload = true;
        return;
    }
    b->principals_loading = true;
    int rc = tr_pg_query(
        b->pg,
        "SELECT p.name, p.kind, coalesce(p.cvr, ''), p.public_key, p.enabled,"
        " array_to_string(array(SELECT pattern FROM broker.permission"
        "   WHERE principal = p.name AND action = 'publish' ORDER BY pattern), ' '),"
        " array_to_string(array(SELECT pattern FROM broker.permission"
        "   WHERE principal = p.name AND action = 'subscribe' ORDER BY pattern), ' ')"
        " FROM broker.principal p",
        0, NULL, loaded_cb, b);
    if (rc < 0)
        b->principals_loading = false;
}

const principal_t *principals_by_key(const broker_t *b, const char *z85_key)
{
    for (size_t i = 0; i < b->nprincipals; i++) {
        if (strcmp(b->principals[i].public_key, z85_key) == 0)
            return &b->principals[i];
    }
    return NULL;
}

const principal_t *principals_by_name(const broker_t *b, const char *name)
{
    for (size_t i = 0; i < b->nprincipals; i++) {
        if (strcmp(b->principals[i].name, name) == 0)
            return &b->principals[i];
    }
    return NULL;
}

/* A supplier acts only on subjects that end in its own CVR (ARCHITECTURE.md principle 5):
 * whatever patterns it was granted, another supplier's orders and children stay out of reach. */
static bool supplier_bound(const principal_t *p, const char *subject_or_pattern)
{
    return p->kind != TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_SUPPLIER ||
           strcmp(tr_subject_last_token(subject_or_pattern), p->cvr) == 0;
}

int principals_may_publish(const principal_t *p, const char *subject, char *reason, size_t len)
{
    if (!supplier_bound(p, subject)) {
        snprintf(reason, len, "supplier %s (CVR %s) may publish only subjects ending in its own CVR, not \"%s\"",
                 p->name, p->cvr, subject);
        return TR_EPERM;
    }
    for (size_t i = 0; i < p->npublish; i++) {
        if (tr_subject_matches(p->publish[i], subject))
            return 0;
    }
    snprintf(reason, len, "principal %s may not publish on \"%s\"", p->name, subject);
    return TR_EPERM;
}

int principals_may_subscribe(const principal_t *p, const char *pattern, char *reason, size_t len)
{
    if (!supplier_bound(p, pattern)) {
        snprintf(reason, len,
                 "supplier %s (CVR %s) may subscribe only to subjects ending in its own CVR, not \"%s\"",
                 p->name, p->cvr, pattern);
        return TR_EPERM;
    }
    for (size_t i = 0; i < p->nsubscribe; i++) {
        if (tr_subject_covers(p->subscribe[i], pattern))
            return 0;
    }
    snprintf(reason, len, "principal %s may not subscribe to \"%s\"", p->name, pattern);
    return TR_EPERM;
}

const char *principals_why_refused(const principal_t *p, const char *subject_or_pattern)
{
    return supplier_bound(p, subject_or_pattern) ? "not_granted" : "not_own_cvr";
}
