/* fuzz_permissions.c — libFuzzer target: the broker's permission checks on a subject or pattern
 * from a client (services/broker/principals.c: principals_may_publish and
 * principals_may_subscribe), for each principal of fuzz_broker.h.
 *
 * The input is up to two lines: X, a subject to publish on or a pattern to subscribe to, and S,
 * a subject.
 *   - Publishing on a valid subject X is allowed exactly when a publish grant matches X and,
 *     for a supplier, X ends in the supplier's CVR. A refusal gives a reason.
 *   - Subscribing to a valid pattern X, once allowed, never delivers a subject outside the
 *     grants: every subject X matches (S, and subjects made from X, fuzz_witness) matches a
 *     subscribe grant and, for a supplier, ends in its CVR — whatever the grants say.
 */
#define FUZZ_TARGET "fuzz_permissions"

#include "fuzz_broker.h"

static bool is_supplier(const principal_t *p)
{
    return p->kind == TRIVSEL__BROKER__PRINCIPAL_KIND__PRINCIPAL_KIND_SUPPLIER;
}

static void check_publish_permission(const principal_t *p, const char *subject)
{
    char reason[600] = "";
    int rc = principals_may_publish(p, subject, reason, sizeof reason);
    bool own = !is_supplier(p) || strcmp(tr_subject_last_token(subject), p->cvr) == 0;
    bool expected = own && fuzz_granted(p->publish, p->npublish, subject);
    if ((rc == 0) != expected)
        fuzz_broken(FUZZ_TARGET, "%s publishing on \"%s\": %d, expected %s", p->name, subject, rc,
                    expected ? "allowed" : "refused");
    if (rc != 0 && (rc != TR_EPERM || !reason[0]))
        fuzz_broken(FUZZ_TARGET, "%s refused on \"%s\" with %d and no reason", p->name, subject,
                    rc);
}

/* A subject delivered to p's subscription to pattern must be one p may read. */
static void check_delivered(const principal_t *p, const char *pattern, const char *subject)
{
    if (!tr_subject_matches(pattern, subject))
        fuzz_broken(FUZZ_TARGET, "the test's own witness \"%s\" does not match \"%s\"", subject,
                    pattern);
    if (!fuzz_granted(p->subscribe, p->nsubscribe, subject))
        fuzz_broken(FUZZ_TARGET, "%s may subscribe to \"%s\", which delivers \"%s\", no grant's",
                    p->name, pattern, subject);
    if (is_supplier(p) && strcmp(tr_subject_last_token(subject), p->cvr) != 0)
        fuzz_broken(FUZZ_TARGET,
                    "supplier %s (CVR %s) may subscribe to \"%s\", which delivers \"%s\"", p->name,
                    p->cvr, pattern, subject);
}

static void check_subscribe_permission(const principal_t *p, const char *pattern,
                                       const char *subject)
{
    char reason[600] = "", witness[TR_SUBJECT_MAX * 4];
    int rc = principals_may_subscribe(p, pattern, reason, sizeof reason);
    if (rc != 0) {
        if (rc != TR_EPERM || !reason[0])
            fuzz_broken(FUZZ_TARGET, "%s refused \"%s\" with %d and no reason", p->name, pattern,
                        rc);
        return;
    }
    for (int variant = 0; variant < 3; variant++) {
        for (size_t g = 0; g < p->nsubscribe; g++) {
            if (fuzz_witness(pattern, p->subscribe[g], variant, witness, sizeof witness) &&
                strlen(witness) <= TR_SUBJECT_MAX)
                check_delivered(p, pattern, witness);
        }
    }
    if (subject && tr_subject_check(subject, NULL) == 0 && tr_subject_matches(pattern, subject))
        check_delivered(p, pattern, subject);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size), *subject = strchr(text, '\n');
    if (subject)
        *subject++ = '\0';
    for (size_t i = 0; i < sizeof fuzz_principals / sizeof fuzz_principals[0]; i++) {
        const principal_t *p = &fuzz_principals[i];
        /* As the broker calls them: after tr_subject_check (publish_check) and
         * tr_subject_check_pattern (subscription_subscribe). */
        if (tr_subject_check(text, NULL) == 0)
            check_publish_permission(p, text);
        if (tr_subject_check_pattern(text, NULL) == 0)
            check_subscribe_permission(p, text, subject);
    }
    free(text);
    return 0;
}
