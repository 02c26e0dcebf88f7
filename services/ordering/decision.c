/* decision.c — what orders need to know of the afgørelser (assessment.decision.registered):
 * the case, the kind of decision and the legal bases of its measures (an order's legal basis
 * must be among them), and the abuse flag (carried to the supplier). Learned from events only:
 * this service never reads assessment's tables (ARCHITECTURE.md principle 4).
 *
 * Only the principals in TRIVSEL_ORDERING_DECISION_PUBLISHERS (the assessment service) register
 * decisions; a decision event from anyone else is rejected and recorded. A decision registered
 * again (same id) replaces what was known of it. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ordering.h"

void ordering_decision_registered_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    ordering_t *o = arg;
    if (!ordering_listed(o->settings.decision_publishers, ev->publisher)) {
        ordering_reject(
            o, h, ev, "not_decision_publisher",
            "only the principals in TRIVSEL_ORDERING_DECISION_PUBLISHERS register decisions");
        tr_handling_done(h, NULL);
        return;
    }
    Trivsel__Assessment__DecisionRegistered *d =
        trivsel__assessment__decision_registered__unpack(NULL, ev->payload.len, ev->payload.data);
    if (!d || !d->decision_id[0] || !d->case_id[0]) {
        ordering_reject(o, h, ev, "invalid_decision", "a decision needs decision_id and case_id");
        tr_handling_done(h, NULL);
        if (d)
            trivsel__assessment__decision_registered__free_unpacked(d, NULL);
        return;
    }
    /* The legal bases of the measures, each once, as an integer[] literal. */
    char bases[512] = "{";
    size_t nbases = 0;
    int seen[64];
    for (size_t i = 0; i < d->n_measures && nbases < 64; i++) {
        int b = d->measures[i]->legal_basis;
        bool dup = false;
        for (size_t k = 0; k < nbases; k++)
            dup = dup || seen[k] == b;
        if (dup || b == 0)
            continue;
        seen[nbases] = b;
        snprintf(bases + strlen(bases), sizeof bases - strlen(bases), "%s%d", nbases ? "," : "", b);
        nbases++;
    }
    strcat(bases, "}");
    char kind[16];
    snprintf(kind, sizeof kind, "%d", d->kind);
    const char *v[7] = {
        ev->municipality, d->decision_id, d->case_id, kind, bases, d->abuse_case ? "true" : "false",
        ev->event_id};
    ordering_exec(h,
                  "INSERT INTO ordering.decision (municipality, decision_id, case_id, kind,"
                  " legal_bases, abuse_case, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                  " ON CONFLICT (municipality, decision_id) DO UPDATE SET case_id = $3, kind = $4,"
                  " legal_bases = $5, abuse_case = $6, event_id = $7, registered_at = now()",
                  7, v);
    tr_metric_inc(o->decisions);
    tr_log_info("decision registered", TR_LOG_STR("decision_id", d->decision_id),
                TR_LOG_STR("case_id", d->case_id), TR_LOG_INT("kind", d->kind),
                TR_LOG_INT("legal_bases", (long long)nbases));
    trivsel__assessment__decision_registered__free_unpacked(d, NULL);
    tr_handling_done(h, NULL);
}
