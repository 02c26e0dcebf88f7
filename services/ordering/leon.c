/* leon.c — LEON, Lavest Effektive OmkostningsNiveau (DOMAIN.md §3; seed 001): the support must
 * be fully adequate but no more specialised, and expensive, than needed. When a cheaper offer
 * in the catalogue covers the same legal basis and target group over the order's period, the
 * order must carry the caseworker's reason, or it is refused naming the cheaper offers.
 *
 * "Cheaper" compares what THIS order would cost: its scope over its period at each offer's
 * price, by the budget rule of common/settlement.h. Unit prices alone cannot be compared
 * across price models (an hour against a month). Two offers cover the same target group when
 * they share a target group code (OfferPublished.target_group_codes); an offer without codes
 * is compared with nothing. */
#include <stdlib.h>
#include <string.h>

#include "ordering.h"

static int by_budget(const void *a, const void *b)
{
    const Trivsel__Ordering__OfferPrice *x = *(Trivsel__Ordering__OfferPrice *const *)a;
    const Trivsel__Ordering__OfferPrice *y = *(Trivsel__Ordering__OfferPrice *const *)b;
    if (x->budget_oere != y->budget_oere)
        return x->budget_oere < y->budget_oere ? -1 : 1;
    return strcmp(x->offer_id, y->offer_id);
}

static Trivsel__Ordering__OfferPrice *offer_price(const offer_version_t *v, tr_oere_t budget)
{
    Trivsel__Ordering__OfferPrice *p = malloc(sizeof *p);
    if (!p)
        return NULL;
    trivsel__ordering__offer_price__init(p);
    p->offer_id = strdup(v->offer_id);
    p->supplier_cvr = strdup(v->supplier_cvr);
    p->supplier_name = strdup(v->supplier_name);
    p->title = strdup(v->title);
    p->offer_version = (uint32_t)v->version;
    p->price_model = (Trivsel__Ordering__PriceModel)v->price_model;
    p->price_oere = v->price_oere;
    p->budget_oere = budget;
    if (!p->offer_id || !p->supplier_cvr || !p->supplier_name || !p->title) {
        trivsel__ordering__offer_price__free_unpacked(p, NULL);
        return NULL;
    }
    return p;
}

int leon_cheaper_offers(const offer_version_t *candidates, size_t n, tr_date_t start, tr_date_t end,
                        uint32_t minutes_per_week, tr_oere_t own_budget,
                        Trivsel__Ordering__OfferPrice ***out)
{
    Trivsel__Ordering__OfferPrice **found = calloc(n ? n : 1, sizeof *found);
    size_t nfound = 0;
    *out = NULL;
    if (!found)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *id = candidates[i].offer_id;
        bool first = true; /* each offer once: at its first row */
        for (size_t k = 0; k < i && first; k++)
            first = strcmp(candidates[k].offer_id, id) != 0;
        if (!first)
            continue;
        tr_date_t gap;
        const offer_version_t *v = catalogue_in_effect(candidates, n, id, start);
        if (!v || !v->matches || v->supplier_suspended ||
            !catalogue_covers(candidates, n, id, start, end, &gap))
            continue;
        if (v->price_model == TR_PRICE_HOUR && minutes_per_week == 0)
            continue; /* an hourly price says nothing about an order without hours */
        tr_order_scope_t scope = {start, minutes_per_week, v->price_oere};
        tr_order_terms_t terms = {(tr_price_model_t)v->price_model, start, end, &scope, 1};
        tr_oere_t budget;
        if (tr_settlement_budget(&terms, &budget, NULL) < 0 || budget >= own_budget)
            continue;
        if (!(found[nfound] = offer_price(v, budget))) {
            leon_free(found, nfound);
            return -1;
        }
        nfound++;
    }
    qsort(found, nfound, sizeof *found, by_budget);
    *out = found;
    return (int)nfound;
}

void leon_free(Trivsel__Ordering__OfferPrice **offers, size_t n)
{
    if (!offers)
        return;
    for (size_t i = 0; i < n; i++)
        trivsel__ordering__offer_price__free_unpacked(offers[i], NULL);
    free(offers);
}
