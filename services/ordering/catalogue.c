/* catalogue.c — the foranstaltningskatalog: ordering.offer.published adds an offer or a new
 * version of it (DOMAIN.md §3; seed 000 chapter 5 shows one supplier's offers).
 *
 * A version is immutable: publishing the same version again with the same content changes
 * nothing, with other content it is rejected (a price change is a new version from a date). The
 * version in effect on a day is the highest-numbered one that has begun by then (valid_from on
 * or before the day); if that version has ended (valid_to before the day), the offer cannot be
 * ordered that day: a later version replaces an earlier one from its valid_from, and an ended
 * offer does not fall back to an older price. Orders keep the price they were placed at (the
 * order's scope rows carry it); only an adjustment takes the price in effect on its date. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ordering.h"

/* ---- versions -------------------------------------------------------------------------------- */

offer_version_t *catalogue_versions_read(const PGresult *res, size_t *n)
{
    int rows = PQntuples(res);
    offer_version_t *v = calloc(rows ? (size_t)rows : 1, sizeof *v);
    *n = 0;
    if (!v)
        return NULL;
    for (int i = 0; i < rows; i++) {
        offer_version_t *x = &v[i];
        x->offer_id = strdup(PQgetvalue(res, i, 0));
        x->version = atoi(PQgetvalue(res, i, 1));
        x->valid_from = ordering_date_value(res, i, 2);
        x->open_ended = PQgetvalue(res, i, 3)[0] == '\0';
        if (!x->open_ended)
            x->valid_to = ordering_date_value(res, i, 3);
        snprintf(x->supplier_cvr, sizeof x->supplier_cvr, "%s", PQgetvalue(res, i, 4));
        x->supplier_name = strdup(PQgetvalue(res, i, 5));
        x->supplier_kind = atoi(PQgetvalue(res, i, 6));
        x->supplier_suspended = strcmp(PQgetvalue(res, i, 7), "t") == 0;
        x->title = strdup(PQgetvalue(res, i, 8));
        x->price_model = atoi(PQgetvalue(res, i, 9));
        x->price_oere = strtoll(PQgetvalue(res, i, 10), NULL, 10);
        for (const char *p = PQgetvalue(res, i, 11); *p && x->nlegal_bases < 16;) {
            x->legal_bases[x->nlegal_bases++] = (int)strtol(p, (char **)&p, 10);
            if (*p == ',')
                p++;
        }
        x->matches = PQnfields(res) > 12 && strcmp(PQgetvalue(res, i, 12), "t") == 0;
        (*n)++;
        if (!x->offer_id || !x->supplier_name || !x->title) {
            catalogue_versions_free(v, *n);
            *n = 0;
            return NULL;
        }
    }
    return v;
}

void catalogue_versions_free(offer_version_t *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].offer_id);
        free(v[i].supplier_name);
        free(v[i].title);
    }
    free(v);
}

const offer_version_t *catalogue_in_effect(const offer_version_t *v, size_t n, const char *offer_id,
                                           tr_date_t day)
{
    const offer_version_t *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].offer_id, offer_id) != 0 || tr_calendar_compare(v[i].valid_from, day) > 0)
            continue;
        if (!best || v[i].version > best->version)
            best = &v[i];
    }
    if (best && !best->open_ended && tr_calendar_compare(best->valid_to, day) < 0)
        return NULL;
    return best;
}

bool catalogue_covers(const offer_version_t *v, size_t n, const char *offer_id, tr_date_t from,
                      tr_date_t to, tr_date_t *gap)
{
    /* Which version is in effect changes only where one begins or one ends: check the first day
     * and every such day within the period. */
    if (tr_calendar_compare(from, to) > 0)
        return true;
    if (!catalogue_in_effect(v, n, offer_id, from)) {
        *gap = from;
        return false;
    }
    tr_date_t first = {0, 0, 0};
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].offer_id, offer_id) != 0)
            continue;
        tr_date_t points[2] = {v[i].valid_from, v[i].open_ended
                                                    ? v[i].valid_from
                                                    : tr_calendar_add_days(v[i].valid_to, 1)};
        for (int k = 0; k < 2; k++) {
            tr_date_t d = points[k];
            if (tr_calendar_compare(d, from) <= 0 || tr_calendar_compare(d, to) > 0)
                continue;
            if (!catalogue_in_effect(v, n, offer_id, d) &&
                (!found || tr_calendar_compare(d, first) < 0)) {
                first = d;
                found = true;
            }
        }
    }
    if (found)
        *gap = first;
    return !found;
}

bool catalogue_has_legal_basis(const offer_version_t *v, int legal_basis)
{
    for (size_t i = 0; i < v->nlegal_bases; i++) {
        if (v->legal_bases[i] == legal_basis)
            return true;
    }
    return false;
}

/* ---- ordering.offer.published ---------------------------------------------------------------- */

typedef struct publish {
    ordering_t *o;
    tr_handling_t *h;
    const Trivsel__Envelope *ev;
    Trivsel__Ordering__OfferPublished *offer;
    char *payload_hex;
} publish_t;

static void publish_free(publish_t *p)
{
    if (p->offer)
        trivsel__ordering__offer_published__free_unpacked(p->offer, NULL);
    free(p->payload_hex);
    free(p);
}

static bool digits(const char *s, size_t n)
{
    return strlen(s) == n && strspn(s, "0123456789") == n;
}

/* Everything wrong with the offer, "; "-separated, into buf; "" when it is valid. */
static void validate(const Trivsel__Ordering__OfferPublished *x, char *buf, size_t len)
{
    problems_t p = {0};
    tr_date_t from, to;
    if (!x->offer_id[0] || strlen(x->offer_id) > 100)
        problems_add(&p, "offer_id", "invalid_offer", "offer_id must be 1-100 characters");
    if (x->version < 1)
        problems_add(&p, "version", "invalid_offer", "version must be 1 or more");
    bool has_from = ordering_date_field(&p, "valid_from", x->valid_from, true, &from);
    bool has_to = ordering_date_field(&p, "valid_to", x->valid_to, false, &to);
    if (has_from && has_to && tr_calendar_compare(to, from) < 0)
        problems_add(&p, "valid_to", "invalid_offer", "valid_to %s is before valid_from %s",
                     x->valid_to, x->valid_from);
    if (!digits(x->supplier_cvr, 8))
        problems_add(&p, "supplier_cvr", "invalid_offer",
                     "invalid CVR number \"%.20s\": must be 8 digits", x->supplier_cvr);
    if (!x->supplier_name[0])
        problems_add(&p, "supplier_name", "invalid_offer", "supplier_name is required");
    if (x->supplier_kind != TRIVSEL__ORDERING__SUPPLIER_KIND__SUPPLIER_KIND_INTERNAL &&
        x->supplier_kind != TRIVSEL__ORDERING__SUPPLIER_KIND__SUPPLIER_KIND_EXTERNAL)
        problems_add(&p, "supplier_kind", "invalid_offer",
                     "supplier_kind must be internal or external");
    if (!x->title[0])
        problems_add(&p, "title", "invalid_offer", "title is required");
    if (x->n_legal_bases == 0 || x->n_legal_bases > 16)
        problems_add(&p, "legal_bases", "invalid_offer", "an offer needs 1-16 legal bases");
    for (size_t i = 0; i < x->n_legal_bases; i++) {
        if (!protobuf_c_enum_descriptor_get_value(&trivsel__legal_basis__descriptor,
                                                  x->legal_bases[i]) ||
            x->legal_bases[i] == 0)
            problems_add(&p, "legal_bases", "invalid_offer",
                         "legal_bases[%zu] is not a legal basis", i);
    }
    for (size_t i = 0; i < x->n_target_group_codes; i++) {
        if (!x->target_group_codes[i][0])
            problems_add(&p, "target_group_codes", "invalid_offer",
                         "target_group_codes[%zu] is empty", i);
    }
    if (x->price_model < TRIVSEL__ORDERING__PRICE_MODEL__PRICE_MODEL_HOUR ||
        x->price_model > TRIVSEL__ORDERING__PRICE_MODEL__PRICE_MODEL_FIXED)
        problems_add(&p, "price_model", "invalid_offer",
                     "price_model must be hour, day, week, month or fixed");
    if (x->price_oere < 0)
        problems_add(&p, "price_oere", "invalid_offer", "price_oere must not be negative");
    buf[0] = '\0';
    for (size_t i = 0, off = 0; i < p.n && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "; " : "", p.items[i]->problem);
    problems_release(&p);
}

/* A text[] literal of the codes, quoted: {"a","b"}. NULL when out of memory. */
static char *codes_literal(const Trivsel__Ordering__OfferPublished *x)
{
    size_t len = 3;
    for (size_t i = 0; i < x->n_target_group_codes; i++)
        len += 2 * strlen(x->target_group_codes[i]) + 3;
    char *s = malloc(len), *w = s;
    if (!s)
        return NULL;
    *w++ = '{';
    for (size_t i = 0; i < x->n_target_group_codes; i++) {
        if (i)
            *w++ = ',';
        *w++ = '"';
        for (const char *c = x->target_group_codes[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                *w++ = '\\';
            *w++ = *c;
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = '\0';
    return s;
}

static void existing_cb(PGresult *res, const char *error, void *arg)
{
    publish_t *p = arg;
    ordering_t *o = p->o;
    tr_handling_t *h = p->h;
    const Trivsel__Ordering__OfferPublished *x = p->offer;
    if (error) {
        tr_handling_done(h, error);
        publish_free(p);
        return;
    }
    /* Rows: every version of this offer id: version, supplier_cvr, same content. */
    char reason[TR_ERROR_MESSAGE_MAX] = "";
    for (int i = 0; i < PQntuples(res); i++) {
        int version = atoi(PQgetvalue(res, i, 0));
        if (strcmp(PQgetvalue(res, i, 1), x->supplier_cvr) != 0) {
            snprintf(reason, sizeof reason,
                     "offer \"%s\" belongs to the supplier with CVR %s, not %s", x->offer_id,
                     PQgetvalue(res, i, 1), x->supplier_cvr);
            break;
        }
        if (version == (int)x->version) {
            if (strcmp(PQgetvalue(res, i, 2), "t") == 0) {
                tr_log_debug("offer version already in the catalogue",
                             TR_LOG_STR("offer_id", x->offer_id), TR_LOG_INT("version", version));
                tr_handling_done(h, NULL);
                publish_free(p);
                return;
            }
            snprintf(reason, sizeof reason,
                     "version %d of offer \"%s\" was published before with other content: a change"
                     " is a new version",
                     version, x->offer_id);
            break;
        }
    }
    if (reason[0]) {
        ordering_reject(o, h, p->ev, "offer_version_conflict", reason);
        tr_metric_inc(o->offers_rejected);
        tr_handling_done(h, NULL);
        publish_free(p);
        return;
    }
    char version[16], kind[16], price_model[16], price[32], *codes = codes_literal(x);
    char bases[16 * 4 + 3] = "{";
    for (size_t i = 0; i < x->n_legal_bases; i++)
        snprintf(bases + strlen(bases), sizeof bases - strlen(bases), "%s%d", i ? "," : "",
                 x->legal_bases[i]);
    strcat(bases, "}");
    snprintf(version, sizeof version, "%u", x->version);
    snprintf(kind, sizeof kind, "%d", x->supplier_kind);
    snprintf(price_model, sizeof price_model, "%d", x->price_model);
    snprintf(price, sizeof price, "%lld", (long long)x->price_oere);
    if (!codes) {
        tr_handling_done(h, "out of memory");
        publish_free(p);
        return;
    }
    const char *sv[6] = {p->ev->municipality,
                         x->supplier_cvr,
                         x->supplier_name,
                         kind,
                         x->supplier_suspended ? "true" : "false",
                         p->ev->event_id};
    ordering_exec(
        h,
        "INSERT INTO ordering.supplier (municipality, cvr, name, kind, suspended, updated_event_id)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (municipality, cvr) DO UPDATE SET name = $3, kind = $4, suspended = $5,"
        " updated_event_id = $6, updated_at = now()",
        6, sv);
    const char *vv[14] = {p->ev->municipality,
                          x->offer_id,
                          version,
                          x->valid_from,
                          x->valid_to[0] ? x->valid_to : NULL,
                          x->supplier_cvr,
                          x->title,
                          codes,
                          bases,
                          price_model,
                          price,
                          p->payload_hex,
                          p->ev->publisher,
                          p->ev->event_id};
    ordering_exec(
        h,
        "INSERT INTO ordering.offer_version (municipality, offer_id, version, valid_from, valid_to,"
        " supplier_cvr, title, target_group_codes, legal_bases, price_model, price_oere, offer,"
        " publisher, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
        " $14)",
        14, vv);
    free(codes);
    tr_metric_inc(o->offers_published);
    tr_log_info("offer published", TR_LOG_STR("offer_id", x->offer_id),
                TR_LOG_INT("version", x->version), TR_LOG_STR("supplier_cvr", x->supplier_cvr),
                TR_LOG_STR("valid_from", x->valid_from), TR_LOG_INT("price_oere", x->price_oere),
                TR_LOG_INT("supplier_suspended", x->supplier_suspended));
    tr_handling_done(h, NULL);
    publish_free(p);
}

void ordering_offer_published_cb(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *ev)
{
    publish_t *p = calloc(1, sizeof *p);
    if (!p) {
        tr_handling_done(h, "out of memory");
        return;
    }
    *p = (publish_t){.o = o, .h = h, .ev = ev};
    p->offer = trivsel__ordering__offer_published__unpack(NULL, ev->payload.len, ev->payload.data);
    char reason[TR_ERROR_MESSAGE_MAX];
    if (!p->offer) {
        ordering_reject(o, h, ev, "invalid_payload",
                        "the payload is not a trivsel.ordering.OfferPublished");
        tr_metric_inc(o->offers_rejected);
        tr_handling_done(h, NULL);
        publish_free(p);
        return;
    }
    validate(p->offer, reason, sizeof reason);
    if (reason[0]) {
        ordering_reject(o, h, ev, "invalid_offer", reason);
        tr_metric_inc(o->offers_rejected);
        tr_handling_done(h, NULL);
        publish_free(p);
        return;
    }
    if (!(p->payload_hex = ordering_hex(ev->payload.data, ev->payload.len))) {
        tr_handling_done(h, "out of memory");
        publish_free(p);
        return;
    }
    char version[16];
    snprintf(version, sizeof version, "%u", p->offer->version);
    const char *v[4] = {ev->municipality, p->offer->offer_id, version, p->payload_hex};
    tr_handling_query(
        h,
        "SELECT version, supplier_cvr, version = $3::integer AND offer = $4::bytea"
        " FROM ordering.offer_version WHERE municipality = $1 AND offer_id = $2 ORDER BY version",
        4, v, existing_cb, p);
}
