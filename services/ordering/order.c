/* order.c — ordering.order.requested: a caseworker (bestiller) orders an offer for a child on a
 * decision (DOMAIN.md §3, BUM). The request is checked, and then placed with the supplier
 * (ordering.order.placed.CVR, with its budget: the scope times the price over the period,
 * "pengene følger barnet") or refused on ordering.order.refused naming EVERY problem found:
 *
 *   not_caseworker_system   the publisher is not a caseworker's system (BUM: only the bestiller
 *                           orders; TRIVSEL_ORDERING_CASEWORKER_SYSTEMS). Refused at once: a
 *                           stranger learns nothing of the catalogue or the case.
 *   missing_field, invalid_date, invalid_cpr, invalid_period, invalid_scope
 *   order_exists            the order id is taken (by another event)
 *   unknown_decision, decision_case_mismatch, decision_not_granting
 *   legal_basis_mismatch    not among the decision's measures, or not the offer's
 *   unknown_offer, offer_not_valid (not orderable on some day of the period)
 *   supplier_inactive       the supplier takes no new orders
 *   month_settled           the period reaches into a month already settled
 *   leon_reason_missing     cheaper offers exist (leon.c); they are named in cheaper_offers
 *
 * The price is the one of the offer version in effect on the start date; the order keeps it
 * until an adjustment (adjustment.c). The period's end date is required: the budget is the
 * scope times the price over the period, and an open end has no budget.
 *
 * The order is due to be accepted by the supplier by the end (Danish time) of the
 * TRIVSEL_ORDERING_ACCEPT_HVERDAGE'th hverdag after the day the caseworker ordered it (the
 * envelope's occurred_at): a deadline computed from the event's own time, not from when this
 * daemon handled it (ARCHITECTURE.md principle 3). */
#include <stdlib.h>
#include <string.h>

#include "cpr.h"
#include "log.h"
#include "ordering.h"
#include "pbjson.h"

typedef struct request {
    ordering_t *o;
    tr_handling_t *h;
    const Trivsel__Envelope *ev;
    Trivsel__Ordering__OrderRequested *req;
    problems_t problems;
    bool has_period;
    tr_date_t start, end;
    char cpr[11];
    const char *team;
    bool decision_found, abuse_case;
    offer_version_t *versions;
    size_t nversions;
    const offer_version_t *version; /* in effect on the start date */
    tr_oere_t budget;
    Trivsel__Ordering__OfferPrice **cheaper;
    size_t ncheaper;
    char *requested_hex;
} request_t;

static void request_free(request_t *r)
{
    if (r->req)
        trivsel__ordering__order_requested__free_unpacked(r->req, NULL);
    problems_release(&r->problems);
    catalogue_versions_free(r->versions, r->nversions);
    leon_free(r->cheaper, r->ncheaper);
    free(r->requested_hex);
    free(r);
}

static const char *order_id_of(const request_t *r)
{
    return r->req ? r->req->order_id : "";
}

static const char *case_of(const request_t *r)
{
    return r->req && r->req->case_id[0] ? r->req->case_id : r->ev->correlation_id;
}

static void refuse(request_t *r)
{
    ordering_refuse(r->o, r->h, r->ev, order_id_of(r), case_of(r), &r->problems,
                    problems_has(&r->problems, "leon_reason_missing") ? r->cheaper : NULL,
                    problems_has(&r->problems, "leon_reason_missing") ? r->ncheaper : 0);
    tr_handling_done(r->h, NULL);
    request_free(r);
}

static void fail(request_t *r, const char *error)
{
    tr_handling_done(r->h, error);
    request_free(r);
}

/* The checks that need nothing but the request. */
static void check_request(request_t *r)
{
    const Trivsel__Ordering__OrderRequested *q = r->req;
    problems_t *p = &r->problems;
    if (!q->order_id[0])
        problems_add(p, "order_id", "missing_field", "order_id is required");
    if (!q->case_id[0])
        problems_add(p, "case_id", "missing_field", "case_id is required");
    tr_cpr_t cpr;
    tr_error_t err = {0};
    if (!q->child || !q->child->cpr[0])
        problems_add(p, "child.cpr", "missing_field",
                     "child.cpr is required: the order is settled per child");
    else if (tr_cpr_parse(q->child->cpr, &cpr, &err) < 0)
        problems_add(p, "child.cpr", "invalid_cpr", "%s", err.message);
    else
        memcpy(r->cpr, cpr.digits, sizeof r->cpr);
    if (!q->decision_id[0])
        problems_add(p, "decision_id", "missing_field",
                     "decision_id is required: an order rests on a decision");
    if (!q->offer_id[0])
        problems_add(p, "offer_id", "missing_field", "offer_id is required");
    if (q->legal_basis == TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_UNSPECIFIED)
        problems_add(p, "legal_basis", "missing_field", "legal_basis is required");
    if (!q->period) {
        problems_add(p, "period", "missing_field", "period is required");
    } else {
        bool s = ordering_date_field(p, "period.start_date", q->period->start_date, true,
                                     &r->start);
        bool e = ordering_date_field(p, "period.end_date", q->period->end_date, true, &r->end);
        if (s && e && tr_calendar_compare(r->end, r->start) < 0)
            problems_add(p, "period.end_date", "invalid_period",
                         "period.end_date %s is before period.start_date %s", q->period->end_date,
                         q->period->start_date);
        else
            r->has_period = s && e;
    }
    if (q->scope && q->scope->minutes_per_week > TR_SETTLEMENT_MINUTES_PER_WEEK_MAX)
        problems_add(p, "scope.minutes_per_week", "invalid_scope",
                     "%u minutes per week: a week has %d", q->scope->minutes_per_week,
                     TR_SETTLEMENT_MINUTES_PER_WEEK_MAX);
    r->team = q->team[0]                                ? q->team
              : q->caseworker && q->caseworker->team[0] ? q->caseworker->team
                                                        : "";
    if (!r->team[0])
        problems_add(p, "team", "missing_field",
                     "team is required (or caseworker.team): settlement totals are per team");
    if (!q->caseworker || !q->caseworker->id[0])
        problems_add(p, "caseworker.id", "missing_field", "caseworker.id is required");
}

static uint32_t minutes_of(const request_t *r)
{
    return r->req->scope ? r->req->scope->minutes_per_week : 0;
}

/* ---- placing --------------------------------------------------------------------------------- */

/* The cheaper offers as a JSON array, for the stored order. */
static char *cheaper_json(const request_t *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->ncheaper; i++)
        json_array_append_new(a, tr_pbjson_to_value(&r->cheaper[i]->base));
    char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

static void place(request_t *r)
{
    ordering_t *o = r->o;
    const Trivsel__Ordering__OrderRequested *q = r->req;
    const offer_version_t *v = r->version;
    const Trivsel__Envelope *ev = r->ev;
    int64_t occurred = ev->occurred_at ? ev->occurred_at->seconds : 0;
    tr_date_t ordered_on = tr_calendar_local_date(occurred);
    int64_t accept_due = tr_calendar_end_of_day_utc(
        tr_calendar_add_hverdage(ordered_on, o->settings.accept_hverdage));
    char version[16], legal[16], model[16], budget[32], occurred_s[32], due_s[32], minutes[16],
        price[32];
    char start[TR_CALENDAR_DATE_LEN], end[TR_CALENDAR_DATE_LEN];
    snprintf(version, sizeof version, "%d", v->version);
    snprintf(legal, sizeof legal, "%d", q->legal_basis);
    snprintf(model, sizeof model, "%d", v->price_model);
    snprintf(budget, sizeof budget, "%lld", (long long)r->budget);
    snprintf(occurred_s, sizeof occurred_s, "%lld", (long long)occurred);
    snprintf(due_s, sizeof due_s, "%lld", (long long)accept_due);
    snprintf(minutes, sizeof minutes, "%u", minutes_of(r));
    snprintf(price, sizeof price, "%lld", (long long)v->price_oere);
    tr_calendar_format_date(r->start, start);
    tr_calendar_format_date(r->end, end);
    char *cheaper = cheaper_json(r);
    r->requested_hex = ordering_hex(ev->payload.data, ev->payload.len);
    if (!cheaper || !r->requested_hex) {
        free(cheaper);
        fail(r, "out of memory");
        return;
    }
    /* Stored as given, needed or not; told to the supplier when cheaper offers existed (the
     * field's contract in ordering.proto). */
    const char *leon_reason = q->leon_reason;
    const char *ov[23] = {ev->municipality,
                          q->order_id,
                          q->case_id,
                          r->cpr,
                          q->decision_id,
                          q->offer_id,
                          version,
                          v->supplier_cvr,
                          legal,
                          model,
                          start,
                          end,
                          r->team,
                          q->caseworker->id,
                          budget,
                          r->abuse_case ? "true" : "false",
                          leon_reason,
                          cheaper,
                          r->requested_hex,
                          ev->publisher,
                          ev->event_id,
                          occurred_s,
                          due_s};
    ordering_exec(
        r->h,
        "INSERT INTO ordering.orders (municipality, order_id, case_id, child_cpr, decision_id,"
        " offer_id, offer_version, supplier_cvr, legal_basis, price_model, start_date, end_date,"
        " team, caseworker_id, budget_oere, abuse_case, leon_reason, cheaper_alternatives,"
        " requested, publisher, requested_event_id, requested_at, accept_due_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,"
        " $19, $20, $21, to_timestamp($22::bigint), to_timestamp($23::bigint))",
        23, ov);
    free(cheaper);
    const char *sv[8] = {
        ev->municipality, q->order_id, start, minutes, q->scope ? q->scope->description : "", price,
        version,          ev->event_id};
    ordering_exec(r->h,
                  "INSERT INTO ordering.order_scope (municipality, order_id, effective_from,"
                  " minutes_per_week, description, price_oere, offer_version, event_id)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                  8, sv);
    ordering_schedule_months(o, r->h, ev->municipality, r->start, r->end);

    /* To the supplier. Other suppliers' prices (the cheaper alternatives) are not its business:
     * they stay with the stored order. */
    Trivsel__Ordering__OrderPlaced placed = TRIVSEL__ORDERING__ORDER_PLACED__INIT;
    placed.order_id = q->order_id;
    placed.case_id = q->case_id;
    placed.child = q->child;
    placed.decision_id = q->decision_id;
    placed.offer_id = q->offer_id;
    placed.offer_version = (uint32_t)v->version;
    placed.offer_title = v->title;
    placed.supplier_cvr = (char *)v->supplier_cvr;
    placed.legal_basis = q->legal_basis;
    placed.scope = q->scope;
    placed.period = q->period;
    placed.price_model = (Trivsel__Ordering__PriceModel)v->price_model;
    placed.price_oere = v->price_oere;
    placed.budget_oere = r->budget;
    placed.n_goals = q->n_goals;
    placed.goals = q->goals;
    placed.documentation = q->documentation;
    placed.caseworker = q->caseworker;
    placed.team = (char *)r->team;
    placed.communication = q->communication;
    placed.leon_reason = r->ncheaper ? (char *)leon_reason : "";
    placed.abuse_case = r->abuse_case;
    char subject[64];
    snprintf(subject, sizeof subject, "ordering.order.placed.%s", v->supplier_cvr);
    if (ordering_emit(r->h, ev, "placed", subject, q->case_id, &placed.base) < 0) {
        fail(r, "cannot emit the placed order");
        return;
    }
    tr_metric_inc(o->orders_placed);
    tr_log_info("order placed", TR_LOG_STR("order_id", q->order_id),
                TR_LOG_STR("offer_id", q->offer_id), TR_LOG_INT("offer_version", v->version),
                TR_LOG_STR("supplier_cvr", v->supplier_cvr), TR_LOG_STR("start", start),
                TR_LOG_STR("end", end), TR_LOG_INT("budget_oere", r->budget),
                TR_LOG_INT("cheaper_offers", (long long)r->ncheaper));
    tr_handling_done(r->h, NULL);
    request_free(r);
}

static void decide(request_t *r)
{
    if (r->problems.n > 0)
        refuse(r);
    else
        place(r);
}

/* ---- LEON ------------------------------------------------------------------------------------ */

static void candidates_cb(PGresult *res, const char *error, void *arg)
{
    request_t *r = arg;
    if (error) {
        fail(r, error);
        return;
    }
    size_t n = 0;
    offer_version_t *c = catalogue_versions_read(res, &n);
    if (!c) {
        fail(r, "out of memory");
        return;
    }
    int found = leon_cheaper_offers(c, n, r->start, r->end, minutes_of(r), r->budget, &r->cheaper);
    catalogue_versions_free(c, n);
    if (found < 0) {
        fail(r, "out of memory");
        return;
    }
    r->ncheaper = (size_t)found;
    const char *reason = r->req->leon_reason;
    while (*reason == ' ' || *reason == '\t' || *reason == '\n' || *reason == '\r')
        reason++;
    if (r->ncheaper > 0 && !*reason) {
        char list[TR_ERROR_MESSAGE_MAX] = "";
        for (size_t i = 0, off = 0; i < r->ncheaper && off < sizeof list; i++) {
            char money[TR_MONEY_FORMAT_MAX];
            tr_money_format(r->cheaper[i]->budget_oere, money, sizeof money);
            off += (size_t)snprintf(list + off, sizeof list - off, "%s\"%s\" (%s, %s)",
                                    i ? ", " : "", r->cheaper[i]->title,
                                    r->cheaper[i]->supplier_name, money);
        }
        char own[TR_MONEY_FORMAT_MAX];
        tr_money_format(r->budget, own, sizeof own);
        problems_add(&r->problems, "leon_reason", "leon_reason_missing",
                     "LEON: %zu cheaper offer%s cover%s %s and the target group for this period:"
                     " %s, against %s here; give the reason for this offer in leon_reason",
                     r->ncheaper, r->ncheaper == 1 ? "" : "s", r->ncheaper == 1 ? "s" : "",
                     ordering_legal_basis_label(r->req->legal_basis), list, own);
    }
    decide(r);
}

/* ---- the offer ------------------------------------------------------------------------------- */

static void offer_cb(PGresult *res, const char *error, void *arg)
{
    request_t *r = arg;
    const Trivsel__Ordering__OrderRequested *q = r->req;
    problems_t *p = &r->problems;
    if (error) {
        fail(r, error);
        return;
    }
    r->versions = catalogue_versions_read(res, &r->nversions);
    if (!r->versions) {
        fail(r, "out of memory");
        return;
    }
    if (!q->offer_id[0]) {
        decide(r);
        return;
    }
    if (r->nversions == 0) {
        problems_add(p, "offer_id", "unknown_offer", "unknown offer \"%s\": not in the catalogue",
                     q->offer_id);
        decide(r);
        return;
    }
    if (!r->has_period) {
        decide(r);
        return;
    }
    tr_date_t gap;
    char day[TR_CALENDAR_DATE_LEN];
    r->version = catalogue_in_effect(r->versions, r->nversions, q->offer_id, r->start);
    if (!r->version) {
        problems_add(p, "offer_id", "offer_not_valid",
                     "offer \"%s\" cannot be ordered from %s: no version is valid then",
                     q->offer_id, q->period->start_date);
        decide(r);
        return;
    }
    if (!catalogue_covers(r->versions, r->nversions, q->offer_id, r->start, r->end, &gap)) {
        tr_calendar_format_date(gap, day);
        problems_add(p, "period.end_date", "offer_not_valid",
                     "offer \"%s\" cannot be ordered on %s, within the period %s to %s: it is not"
                     " valid then",
                     q->offer_id, day, q->period->start_date, q->period->end_date);
    }
    const offer_version_t *v = r->version;
    if (q->legal_basis && !catalogue_has_legal_basis(v, q->legal_basis)) {
        char bases[256] = "";
        for (size_t i = 0; i < v->nlegal_bases; i++)
            snprintf(bases + strlen(bases), sizeof bases - strlen(bases), "%s%s", i ? ", " : "",
                     ordering_legal_basis_label(v->legal_bases[i]));
        problems_add(p, "legal_basis", "legal_basis_mismatch",
                     "offer \"%s\" is not granted under %s: its legal bases are %s", q->offer_id,
                     ordering_legal_basis_label(q->legal_basis), bases);
    }
    if (v->supplier_suspended)
        problems_add(p, "offer_id", "supplier_inactive",
                     "supplier %s (CVR %s) takes no new orders: it is suspended in the catalogue",
                     v->supplier_name, v->supplier_cvr);
    if (v->price_model == TR_PRICE_HOUR && minutes_of(r) == 0)
        problems_add(p, "scope.minutes_per_week", "invalid_scope",
                     "offer \"%s\" is priced per hour: scope.minutes_per_week is required",
                     q->offer_id);
    tr_order_scope_t scope = {r->start, minutes_of(r), v->price_oere};
    tr_order_terms_t terms = {(tr_price_model_t)v->price_model, r->start, r->end, &scope, 1};
    tr_error_t err = {0};
    if (tr_settlement_budget(&terms, &r->budget, &err) < 0) {
        problems_add(p, "scope", "invalid_scope", "no budget: %s", err.message);
        decide(r);
        return;
    }
    if (!q->legal_basis || !catalogue_has_legal_basis(v, q->legal_basis)) {
        decide(r);
        return;
    }
    /* LEON: every version of every other offer that covers the legal basis and shares a target
     * group code with the ordered version in some version; `matches` says which versions do. */
    char version[16], legal[16];
    snprintf(version, sizeof version, "%d", v->version);
    snprintf(legal, sizeof legal, "%d", q->legal_basis);
    const char *values[4] = {r->ev->municipality, q->offer_id, legal, version};
    if (tr_handling_query(
            r->h,
            "WITH own AS (SELECT target_group_codes AS codes FROM ordering.offer_version"
            "   WHERE municipality = $1 AND offer_id = $2 AND version = $4::integer)"
            " SELECT " CATALOGUE_VERSION_COLUMNS ","
            " $3::integer = ANY (v.legal_bases) AND v.target_group_codes && (SELECT codes FROM own)"
            " FROM ordering.offer_version v"
            " JOIN ordering.supplier s ON s.municipality = v.municipality AND s.cvr ="
            " v.supplier_cvr"
            " WHERE v.municipality = $1 AND v.offer_id <> $2 AND v.offer_id IN ("
            "   SELECT offer_id FROM ordering.offer_version WHERE municipality = $1"
            "   AND $3::integer = ANY (legal_bases) AND target_group_codes && (SELECT codes FROM"
            " own))"
            " ORDER BY v.offer_id, v.version",
            4, values, candidates_cb, r) < 0)
        fail(r, "cannot query the catalogue");
}

/* ---- the decision, the order id, settled months ---------------------------------------------- */

static void state_cb(PGresult *res, const char *error, void *arg)
{
    request_t *r = arg;
    const Trivsel__Ordering__OrderRequested *q = r->req;
    problems_t *p = &r->problems;
    if (error) {
        fail(r, error);
        return;
    }
    /* One row: orders with this id, the decision's case, kind, legal bases, abuse flag, and the
     * first settled month within the period. */
    if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
        problems_add(p, "order_id", "order_exists", "order \"%s\" exists already", q->order_id);
    if (q->decision_id[0]) {
        if (PQgetisnull(res, 0, 1)) {
            problems_add(p, "decision_id", "unknown_decision",
                         "unknown decision \"%s\": no assessment.decision.registered names it",
                         q->decision_id);
        } else {
            r->decision_found = true;
            r->abuse_case = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
            const char *decision_case = PQgetvalue(res, 0, 1);
            int kind = atoi(PQgetvalue(res, 0, 2));
            if (q->case_id[0] && strcmp(decision_case, q->case_id) != 0)
                problems_add(p, "decision_id", "decision_case_mismatch",
                             "decision \"%s\" belongs to case \"%s\", not \"%s\"", q->decision_id,
                             decision_case, q->case_id);
            if (kind != TRIVSEL__ASSESSMENT__DECISION_KIND__DECISION_KIND_GRANT &&
                kind != TRIVSEL__ASSESSMENT__DECISION_KIND__DECISION_KIND_CHANGE)
                problems_add(p, "decision_id", "decision_not_granting",
                             "decision \"%s\" grants no measure (it is a refusal or an end)",
                             q->decision_id);
            bool granted = false;
            char bases[256] = "";
            for (const char *s = PQgetvalue(res, 0, 3); *s;) {
                int b = (int)strtol(s, (char **)&s, 10);
                granted = granted || b == (int)q->legal_basis;
                snprintf(bases + strlen(bases), sizeof bases - strlen(bases), "%s%s",
                         bases[0] ? ", " : "", ordering_legal_basis_label(b));
                if (*s == ',')
                    s++;
            }
            if (q->legal_basis && !granted)
                problems_add(p, "legal_basis", "legal_basis_mismatch",
                             "%s is not among the measures of decision \"%s\" (%s)",
                             ordering_legal_basis_label(q->legal_basis), q->decision_id,
                             bases[0] ? bases : "none");
        }
    }
    if (!PQgetisnull(res, 0, 5))
        problems_add(p, "period.start_date", "month_settled",
                     "%s is settled already: an order cannot reach into a settled month",
                     PQgetvalue(res, 0, 5));
    const char *values[2] = {r->ev->municipality, q->offer_id};
    if (tr_handling_query(r->h,
                          "SELECT " CATALOGUE_VERSION_COLUMNS " FROM ordering.offer_version v"
                          " JOIN ordering.supplier s ON s.municipality = v.municipality AND s.cvr ="
                          " v.supplier_cvr"
                          " WHERE v.municipality = $1 AND v.offer_id = $2 ORDER BY v.version",
                          2, values, offer_cb, r) < 0)
        fail(r, "cannot query the catalogue");
}

void ordering_order_requested_cb(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *ev)
{
    request_t *r = calloc(1, sizeof *r);
    if (!r) {
        tr_handling_done(h, "out of memory");
        return;
    }
    r->o = o;
    r->h = h;
    r->ev = ev;
    r->req = trivsel__ordering__order_requested__unpack(NULL, ev->payload.len, ev->payload.data);
    if (!r->req) {
        problems_add(&r->problems, "", "invalid_payload",
                     "the payload is not a trivsel.ordering.OrderRequested");
        refuse(r);
        return;
    }
    /* BUM: the caseworker orders (bestiller); nobody else. */
    if (!ordering_listed(o->settings.caseworker_systems, ev->publisher)) {
        problems_add(&r->problems, "", "not_caseworker_system",
                     "principal %s may not order: only a caseworker's system"
                     " (TRIVSEL_ORDERING_CASEWORKER_SYSTEMS) requests, adjusts or ends an order",
                     ev->publisher);
        refuse(r);
        return;
    }
    check_request(r);
    char first[8] = "", last[8] = "";
    if (r->has_period) {
        ordering_month_of(r->start, first);
        ordering_month_of(r->end, last);
    }
    const char *lock[1] = {ev->municipality};
    const char *values[5] = {ev->municipality, r->req->order_id, r->req->decision_id,
                             r->has_period ? first : NULL, r->has_period ? last : NULL};
    /* Orders, ends and settlements of one municipality take turns (one instance or several), so
     * a month is never settled while an order reaching into it is placed. */
    ordering_exec(h, "SELECT pg_advisory_xact_lock(hashtextextended('ordering/' || $1, 0))", 1,
                  lock);
    if (tr_handling_query(h,
                          "SELECT (SELECT count(*) FROM ordering.orders WHERE municipality = $1 AND"
                          " order_id = $2), d.case_id, d.kind, array_to_string(d.legal_bases, ','),"
                          " d.abuse_case,"
                          " (SELECT min(month) FROM ordering.settlement WHERE municipality = $1"
                          "   AND month BETWEEN $4 AND $5)"
                          " FROM (SELECT 1) one LEFT JOIN ordering.decision d"
                          "   ON d.municipality = $1 AND d.decision_id = $3",
                          5, values, state_cb, r) < 0)
        fail(r, "cannot query the database");
}
