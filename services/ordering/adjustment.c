/* adjustment.c — the caseworker changes an order (DOMAIN.md §3: scope can be adjusted up or
 * down during the order, seed 000 chapter 8) or ends it. Only a caseworker's system may (BUM;
 * a supplier "can recommend but never grant, extend or end a measure itself"); anyone else is
 * refused on ordering.order.refused naming the reason, like a request.
 *
 * ordering.order.adjusted: a new scope from effective_from, and/or a new last day
 *   (period_end_date: an extension or a shortening), and/or a new decision. A new scope takes
 *   the price of the offer version in effect on effective_from (an order keeps its price until
 *   it is adjusted); the scope rows from effective_from on are replaced. An extension needs the
 *   offer valid on every added day.
 * ordering.order.ended: the last day of delivery. Not after the current last day (an extension
 *   is an adjustment); before the start means nothing was delivered (end_date = start - 1).
 *
 * Either way the whole order's budget is recomputed (common/settlement.h) and the supplier told
 * on ordering.order.adjusted.CVR / ordering.order.ended.CVR. A change that reaches into a month
 * already settled is refused (month_settled): a settled month is never recomputed, and
 * corrections of settled months (credit notes) are not implemented. An order that was declined
 * or ended takes no changes. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ordering.h"

#define MAX_SCOPES 256

typedef struct change {
    ordering_t *o;
    tr_handling_t *h;
    const Trivsel__Envelope *ev;
    bool ending;
    Trivsel__Ordering__OrderAdjusted *adjusted;
    Trivsel__Ordering__OrderEnded *ended;
    const char *order_id;
    problems_t problems;
    /* The order as stored. */
    bool found, declined, was_ended;
    char *case_id, *offer_id, *decision_id, *settled;
    char supplier_cvr[16];
    int price_model, legal_basis;
    tr_date_t start, end;
    tr_order_scope_t scopes[MAX_SCOPES + 1];
    char *descriptions[MAX_SCOPES + 1];
    int scope_versions[MAX_SCOPES + 1];
    size_t nscopes;
    offer_version_t *versions;
    size_t nversions;
    bool decision_found, decision_granting;
    char *decision_case, *decision_bases;
    bool oom; /* a copy failed: the event is tried again */
} change_t;

static void change_free(change_t *c)
{
    if (c->adjusted)
        trivsel__ordering__order_adjusted__free_unpacked(c->adjusted, NULL);
    if (c->ended)
        trivsel__ordering__order_ended__free_unpacked(c->ended, NULL);
    problems_release(&c->problems);
    free(c->case_id);
    free(c->offer_id);
    free(c->decision_id);
    free(c->settled);
    free(c->decision_case);
    free(c->decision_bases);
    for (size_t i = 0; i < c->nscopes; i++)
        free(c->descriptions[i]);
    catalogue_versions_free(c->versions, c->nversions);
    free(c);
}

static void finish(change_t *c, const char *error)
{
    tr_handling_done(c->h, error);
    change_free(c);
}

static void refuse(change_t *c)
{
    ordering_refuse(c->o, c->h, c->ev, c->order_id, c->case_id ? c->case_id : c->ev->correlation_id,
                    &c->problems, NULL, 0);
    finish(c, NULL);
}

/* Whether a month of from..to (inclusive) is settled; the first such one into found. */
static bool settled_between(const change_t *c, tr_date_t from, tr_date_t to, char found[8])
{
    char a[8], b[8];
    if (tr_calendar_compare(from, to) > 0 || !c->settled)
        return false;
    ordering_month_of(from, a);
    ordering_month_of(to, b);
    for (const char *p = c->settled; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 7) {
            memcpy(found, p, 7);
            found[7] = '\0';
            if (strcmp(found, a) >= 0 && strcmp(found, b) <= 0)
                return true;
        }
        p += n + (p[n] == ',');
    }
    return false;
}

/* The index of the scope in effect on day (the last one from on or before it; 0 before all). */
static size_t scope_at(const change_t *c, tr_date_t day)
{
    size_t k = 0;
    while (k + 1 < c->nscopes && tr_calendar_compare(c->scopes[k + 1].from, day) <= 0)
        k++;
    return k;
}

static Trivsel__Scope *scope_message(Trivsel__Scope *s, uint32_t minutes, const char *description)
{
    trivsel__scope__init(s);
    s->minutes_per_week = minutes;
    s->description = (char *)description;
    return s;
}

static void check_month_settled(change_t *c, tr_date_t from, tr_date_t to, const char *field)
{
    char m[8];
    if (settled_between(c, from, to, m))
        problems_add(&c->problems, field, "month_settled",
                     "%s is settled already: a change cannot reach into a settled month", m);
}

/* Applies the change: rows, budget, the supplier told. */
static void apply(change_t *c, tr_date_t new_end, const tr_order_scope_t *scopes, size_t nscopes,
                  bool scope_changed, tr_date_t effective_from, int new_version,
                  const char *new_description, tr_oere_t budget)
{
    const Trivsel__Envelope *ev = c->ev;
    char end[TR_CALENDAR_DATE_LEN], start[TR_CALENDAR_DATE_LEN], eff[TR_CALENDAR_DATE_LEN],
        budget_s[32];
    tr_calendar_format_date(new_end, end);
    tr_calendar_format_date(c->start, start);
    tr_calendar_format_date(effective_from, eff);
    snprintf(budget_s, sizeof budget_s, "%lld", (long long)budget);
    if (scope_changed) {
        const tr_order_scope_t *s = &scopes[nscopes - 1];
        char minutes[16], price[32], version[16];
        snprintf(minutes, sizeof minutes, "%u", s->minutes_per_week);
        snprintf(price, sizeof price, "%lld", (long long)s->price_oere);
        snprintf(version, sizeof version, "%d", new_version);
        const char *dv[3] = {ev->municipality, c->order_id, eff};
        ordering_exec(c->h,
                      "DELETE FROM ordering.order_scope WHERE municipality = $1 AND order_id = $2"
                      " AND effective_from >= $3",
                      3, dv);
        const char *iv[8] = {ev->municipality, c->order_id, eff,     minutes,
                             new_description,  price,       version, ev->event_id};
        ordering_exec(c->h,
                      "INSERT INTO ordering.order_scope (municipality, order_id, effective_from,"
                      " minutes_per_week, description, price_oere, offer_version, event_id) VALUES"
                      " ($1, $2, $3, $4, $5, $6, $7, $8)",
                      8, iv);
    }
    const char *new_decision = !c->ending && c->adjusted->decision_id[0] ? c->adjusted->decision_id
                                                                         : NULL;
    const char *uv[7] = {ev->municipality,
                         c->order_id,
                         end,
                         budget_s,
                         c->ending ? "true" : "false",
                         c->ending ? c->ended->reason : NULL,
                         new_decision};
    ordering_exec(c->h,
                  "UPDATE ordering.orders SET end_date = $3, budget_oere = $4, ended_at = CASE WHEN"
                  " $5::boolean THEN now() ELSE ended_at END, end_reason = coalesce($6,"
                  " end_reason), decision_id = coalesce($7, decision_id)"
                  " WHERE municipality = $1 AND order_id = $2",
                  7, uv);
    char *change = ordering_hex(ev->payload.data, ev->payload.len);
    if (!change) {
        finish(c, "out of memory");
        return;
    }
    const char *cv[7] = {ev->municipality, c->order_id,   c->ending ? "ended" : "adjusted",
                         ev->event_id,     ev->publisher, change,
                         budget_s};
    ordering_exec(c->h,
                  "INSERT INTO ordering.order_change (municipality, order_id, kind, event_id,"
                  " publisher, change, budget_oere) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                  7, cv);
    free(change);
    ordering_schedule_months(c->o, c->h, ev->municipality, c->start, new_end);

    char subject[64];
    int rc;
    Trivsel__Period period = TRIVSEL__PERIOD__INIT;
    period.start_date = start;
    period.end_date = end;
    if (c->ending) {
        Trivsel__Ordering__OrderEndedForSupplier m =
            TRIVSEL__ORDERING__ORDER_ENDED_FOR_SUPPLIER__INIT;
        m.order_id = (char *)c->order_id;
        m.case_id = c->case_id;
        m.supplier_cvr = c->supplier_cvr;
        m.end_date = c->ended->end_date;
        m.reason = c->ended->reason;
        m.budget_oere = budget;
        m.caseworker = c->ended->caseworker;
        snprintf(subject, sizeof subject, "ordering.order.ended.%s", c->supplier_cvr);
        rc = ordering_emit(c->h, ev, "ended", subject, c->case_id, &m.base);
        tr_metric_inc(c->o->ends);
    } else {
        const Trivsel__Ordering__OrderAdjusted *a = c->adjusted;
        size_t before = scope_at(c, effective_from);
        size_t after = nscopes - 1;
        for (size_t k = 0; k < nscopes; k++) {
            if (tr_calendar_compare(scopes[k].from, effective_from) <= 0)
                after = k;
        }
        Trivsel__Scope previous, current;
        Trivsel__Ordering__OrderAdjustedForSupplier m =
            TRIVSEL__ORDERING__ORDER_ADJUSTED_FOR_SUPPLIER__INIT;
        m.order_id = (char *)c->order_id;
        m.case_id = c->case_id;
        m.supplier_cvr = c->supplier_cvr;
        m.effective_from = a->effective_from;
        m.previous_scope = scope_message(&previous, c->scopes[before].minutes_per_week,
                                         c->descriptions[before]);
        m.scope = scope_changed
                      ? scope_message(&current, scopes[after].minutes_per_week, new_description)
                      : m.previous_scope;
        m.period = &period;
        m.price_model = (Trivsel__Ordering__PriceModel)c->price_model;
        m.price_oere = scopes[after].price_oere;
        m.budget_oere = budget;
        m.reason = a->reason;
        m.caseworker = a->caseworker;
        snprintf(subject, sizeof subject, "ordering.order.adjusted.%s", c->supplier_cvr);
        rc = ordering_emit(c->h, ev, "adjusted", subject, c->case_id, &m.base);
        tr_metric_inc(c->o->adjustments);
    }
    if (rc < 0) {
        finish(c, "cannot emit the change to the supplier");
        return;
    }
    tr_log_info(c->ending ? "order ended" : "order adjusted", TR_LOG_STR("order_id", c->order_id),
                TR_LOG_STR("end", end), TR_LOG_INT("scope_changed", scope_changed),
                TR_LOG_INT("budget_oere", budget));
    finish(c, NULL);
}

static void evaluate_end(change_t *c)
{
    const Trivsel__Ordering__OrderEnded *e = c->ended;
    tr_date_t end;
    if (!ordering_date_field(&c->problems, "end_date", e->end_date, true, &end)) {
        refuse(c);
        return;
    }
    if (tr_calendar_compare(end, c->end) > 0) {
        char current[TR_CALENDAR_DATE_LEN];
        tr_calendar_format_date(c->end, current);
        problems_add(&c->problems, "end_date", "end_after_period",
                     "end_date %s is after the order's last day %s: an extension is an"
                     " ordering.order.adjusted with period_end_date",
                     e->end_date, current);
    }
    /* Ended before it began: nothing delivered. */
    tr_date_t stored_end = tr_calendar_compare(end, c->start) < 0
                               ? tr_calendar_add_days(c->start, -1)
                               : end;
    check_month_settled(c, tr_calendar_add_days(stored_end, 1), c->end, "end_date");
    tr_order_terms_t t = {(tr_price_model_t)c->price_model, c->start, stored_end, c->scopes,
                          c->nscopes};
    tr_oere_t budget = 0;
    tr_error_t err = {0};
    if (c->problems.n == 0 && tr_settlement_budget(&t, &budget, &err) < 0)
        problems_add(&c->problems, "end_date", "invalid_scope", "no budget: %s", err.message);
    if (c->problems.n > 0) {
        refuse(c);
        return;
    }
    apply(c, stored_end, c->scopes, c->nscopes, false, stored_end, 0, "", budget);
}

static void evaluate_adjustment(change_t *c)
{
    const Trivsel__Ordering__OrderAdjusted *a = c->adjusted;
    problems_t *p = &c->problems;
    tr_date_t eff = c->start, new_end = c->end;
    bool has_eff = ordering_date_field(p, "effective_from", a->effective_from, a->scope != NULL,
                                       &eff);
    bool has_end = ordering_date_field(p, "period_end_date", a->period_end_date, false, &new_end);
    if (!a->scope && !a->period_end_date[0] && !a->decision_id[0])
        problems_add(p, "scope", "missing_field",
                     "an adjustment changes the scope, period_end_date or decision_id");
    char s_start[TR_CALENDAR_DATE_LEN], s_end[TR_CALENDAR_DATE_LEN];
    tr_calendar_format_date(c->start, s_start);
    tr_calendar_format_date(c->end, s_end);
    if (has_end && tr_calendar_compare(new_end, c->start) < 0)
        problems_add(p, "period_end_date", "invalid_period",
                     "period_end_date %s is before the order's start %s: end the order instead",
                     a->period_end_date, s_start);
    tr_date_t last = has_end ? new_end : c->end;
    if (a->scope && has_eff &&
        (tr_calendar_compare(eff, c->start) < 0 || tr_calendar_compare(eff, last) > 0))
        problems_add(p, "effective_from", "outside_order_period",
                     "effective_from %s is outside the order's period %s to %s", a->effective_from,
                     s_start, has_end ? a->period_end_date : s_end);
    if (a->scope && a->scope->minutes_per_week > TR_SETTLEMENT_MINUTES_PER_WEEK_MAX)
        problems_add(p, "scope.minutes_per_week", "invalid_scope",
                     "%u minutes per week: a week has %d", a->scope->minutes_per_week,
                     TR_SETTLEMENT_MINUTES_PER_WEEK_MAX);
    const offer_version_t *v = NULL;
    if (a->scope && has_eff) {
        v = catalogue_in_effect(c->versions, c->nversions, c->offer_id, eff);
        if (!v)
            problems_add(p, "effective_from", "offer_not_valid",
                         "offer \"%s\" cannot be ordered on %s: no version is valid then, so there"
                         " is no price for the new scope",
                         c->offer_id, a->effective_from);
    }
    tr_date_t gap;
    if (has_end && tr_calendar_compare(new_end, c->end) > 0 &&
        !catalogue_covers(c->versions, c->nversions, c->offer_id, tr_calendar_add_days(c->end, 1),
                          new_end, &gap)) {
        char day[TR_CALENDAR_DATE_LEN];
        tr_calendar_format_date(gap, day);
        problems_add(
            p, "period_end_date", "offer_not_valid",
            "offer \"%s\" cannot be ordered on %s: the extension reaches past its validity",
            c->offer_id, day);
    }
    if (a->decision_id[0]) {
        if (!c->decision_found) {
            problems_add(p, "decision_id", "unknown_decision",
                         "unknown decision \"%s\": no assessment.decision.registered names it",
                         a->decision_id);
        } else {
            if (strcmp(c->decision_case, c->case_id) != 0)
                problems_add(p, "decision_id", "decision_case_mismatch",
                             "decision \"%s\" belongs to case \"%s\", not \"%s\"", a->decision_id,
                             c->decision_case, c->case_id);
            if (!c->decision_granting)
                problems_add(p, "decision_id", "decision_not_granting",
                             "decision \"%s\" grants no measure (it is a refusal or an end)",
                             a->decision_id);
            bool granted = false;
            for (const char *s = c->decision_bases; *s;) {
                granted = granted || (int)strtol(s, (char **)&s, 10) == c->legal_basis;
                if (*s == ',')
                    s++;
            }
            if (!granted)
                problems_add(p, "decision_id", "legal_basis_mismatch",
                             "%s is not among the measures of decision \"%s\"",
                             ordering_legal_basis_label(c->legal_basis), a->decision_id);
        }
    }
    /* The days whose cost changes: from the new scope's first day, and between the old and the
     * new last day. */
    tr_date_t from, to;
    if (tr_calendar_compare(new_end, c->end) < 0) {
        from = tr_calendar_add_days(new_end, 1);
        to = c->end;
    } else {
        from = tr_calendar_add_days(c->end, 1);
        to = new_end;
    }
    if (a->scope && has_eff && tr_calendar_compare(eff, from) < 0)
        from = eff;
    check_month_settled(c, from, to, a->scope ? "effective_from" : "period_end_date");
    if (p->n > 0) {
        refuse(c);
        return;
    }
    /* The new scope list: the rows before effective_from, then the new scope. */
    tr_order_scope_t scopes[MAX_SCOPES + 1];
    size_t n = 0;
    for (size_t k = 0; k < c->nscopes; k++) {
        if (!a->scope || tr_calendar_compare(c->scopes[k].from, eff) < 0)
            scopes[n++] = c->scopes[k];
    }
    if (a->scope) {
        if (n >= MAX_SCOPES) {
            problems_add(p, "scope", "invalid_scope", "an order takes at most %d scope changes",
                         MAX_SCOPES);
            refuse(c);
            return;
        }
        scopes[n++] = (tr_order_scope_t){eff, a->scope->minutes_per_week, v->price_oere};
    }
    tr_order_terms_t t = {(tr_price_model_t)c->price_model, c->start, new_end, scopes, n};
    tr_oere_t budget;
    tr_error_t err = {0};
    if (tr_settlement_budget(&t, &budget, &err) < 0) {
        problems_add(p, "scope", "invalid_scope", "no budget: %s", err.message);
        refuse(c);
        return;
    }
    apply(c, new_end, scopes, n, a->scope != NULL, a->scope ? eff : new_end, v ? v->version : 0,
          a->scope ? a->scope->description : "", budget);
}

/* The last query's callback: everything is loaded. */
static void settled_cb(PGresult *res, const char *error, void *arg)
{
    change_t *c = arg;
    if (error) {
        finish(c, error);
        return;
    }
    c->settled = strdup(PQgetvalue(res, 0, 0));
    if (!c->settled || c->oom) {
        finish(c, "out of memory");
        return;
    }
    if (!c->found) {
        problems_add(&c->problems, "order_id", "unknown_order", "unknown order \"%s\"",
                     c->order_id);
    } else if (c->declined) {
        problems_add(&c->problems, "order_id", "order_declined",
                     "order \"%s\" was declined by the supplier: it takes no changes; order anew",
                     c->order_id);
    } else if (c->was_ended) {
        problems_add(&c->problems, "order_id", "order_ended",
                     "order \"%s\" was ended: it takes no changes", c->order_id);
    }
    if (c->found && c->nscopes == 0)
        problems_add(&c->problems, "order_id", "internal",
                     "order \"%s\" has no scope rows: tell the operators", c->order_id);
    if (c->problems.n > 0) {
        refuse(c);
        return;
    }
    if (c->ending)
        evaluate_end(c);
    else
        evaluate_adjustment(c);
}

static void decision_cb(PGresult *res, const char *error, void *arg)
{
    change_t *c = arg;
    if (error || PQntuples(res) == 0)
        return;
    c->decision_found = true;
    c->decision_case = strdup(PQgetvalue(res, 0, 0));
    int kind = atoi(PQgetvalue(res, 0, 1));
    c->decision_granting = kind == TRIVSEL__ASSESSMENT__DECISION_KIND__DECISION_KIND_GRANT ||
                           kind == TRIVSEL__ASSESSMENT__DECISION_KIND__DECISION_KIND_CHANGE;
    c->decision_bases = strdup(PQgetvalue(res, 0, 2));
    c->oom = c->oom || !c->decision_case || !c->decision_bases;
}

static void versions_cb(PGresult *res, const char *error, void *arg)
{
    change_t *c = arg;
    if (error)
        return;
    c->versions = catalogue_versions_read(res, &c->nversions);
    c->oom = c->oom || !c->versions;
}

static void scopes_cb(PGresult *res, const char *error, void *arg)
{
    change_t *c = arg;
    if (error)
        return;
    for (int i = 0; i < PQntuples(res) && c->nscopes < MAX_SCOPES; i++) {
        tr_order_scope_t *s = &c->scopes[c->nscopes];
        s->from = ordering_date_value(res, i, 0);
        s->minutes_per_week = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
        s->price_oere = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        c->scope_versions[c->nscopes] = atoi(PQgetvalue(res, i, 4));
        if (!(c->descriptions[c->nscopes] = strdup(PQgetvalue(res, i, 2)))) {
            c->oom = true;
            return;
        }
        c->nscopes++;
    }
}

static void order_cb(PGresult *res, const char *error, void *arg)
{
    change_t *c = arg;
    if (error || PQntuples(res) == 0)
        return;
    c->found = true;
    c->case_id = strdup(PQgetvalue(res, 0, 0));
    snprintf(c->supplier_cvr, sizeof c->supplier_cvr, "%s", PQgetvalue(res, 0, 1));
    c->declined = strcmp(PQgetvalue(res, 0, 2), "declined") == 0;
    c->was_ended = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    c->start = ordering_date_value(res, 0, 4);
    c->end = ordering_date_value(res, 0, 5);
    c->price_model = atoi(PQgetvalue(res, 0, 6));
    c->offer_id = strdup(PQgetvalue(res, 0, 7));
    c->legal_basis = atoi(PQgetvalue(res, 0, 8));
    c->decision_id = strdup(PQgetvalue(res, 0, 9));
    c->oom = c->oom || !c->case_id || !c->offer_id || !c->decision_id;
}

static void start_change(ordering_t *o, change_t *c)
{
    tr_handling_t *h = c->h;
    const Trivsel__Envelope *ev = c->ev;
    if (!ordering_listed(o->settings.caseworker_systems, ev->publisher)) {
        problems_add(&c->problems, "", "not_caseworker_system",
                     "principal %s may not %s an order: only a caseworker's system"
                     " (TRIVSEL_ORDERING_CASEWORKER_SYSTEMS) requests, adjusts or ends an order; a"
                     " supplier may accept or decline it",
                     ev->publisher, c->ending ? "end" : "adjust");
        refuse(c);
        return;
    }
    if (!c->order_id[0]) {
        problems_add(&c->problems, "order_id", "missing_field", "order_id is required");
        refuse(c);
        return;
    }
    const char *lock[1] = {ev->municipality};
    const char *v[2] = {ev->municipality, c->order_id};
    ordering_exec(h, "SELECT pg_advisory_xact_lock(hashtextextended('ordering/' || $1, 0))", 1,
                  lock);
    tr_handling_query(h,
                      "SELECT case_id, supplier_cvr, status, ended_at IS NOT NULL, start_date,"
                      " end_date, price_model, offer_id, legal_basis, decision_id FROM"
                      " ordering.orders"
                      " WHERE municipality = $1 AND order_id = $2 FOR UPDATE",
                      2, v, order_cb, c);
    tr_handling_query(
        h,
        "SELECT effective_from, minutes_per_week, description, price_oere, offer_version"
        " FROM ordering.order_scope WHERE municipality = $1 AND order_id = $2 ORDER BY"
        " effective_from",
        2, v, scopes_cb, c);
    tr_handling_query(
        h,
        "SELECT " CATALOGUE_VERSION_COLUMNS " FROM ordering.offer_version v"
        " JOIN ordering.supplier s ON s.municipality = v.municipality AND s.cvr = v.supplier_cvr"
        " WHERE v.municipality = $1 AND v.offer_id ="
        "   (SELECT offer_id FROM ordering.orders WHERE municipality = $1 AND order_id = $2)"
        " ORDER BY v.version",
        2, v, versions_cb, c);
    if (!c->ending && c->adjusted->decision_id[0]) {
        const char *dv[2] = {ev->municipality, c->adjusted->decision_id};
        tr_handling_query(
            h,
            "SELECT case_id, kind, array_to_string(legal_bases, ',') FROM ordering.decision"
            " WHERE municipality = $1 AND decision_id = $2",
            2, dv, decision_cb, c);
    }
    if (tr_handling_query(
            h,
            "SELECT coalesce(string_agg(month, ',' ORDER BY month), '') FROM ordering.settlement"
            " WHERE municipality = $1",
            1, v, settled_cb, c) < 0)
        finish(c, "cannot query the database");
}

static change_t *change_new(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *ev,
                            bool ending)
{
    change_t *c = calloc(1, sizeof *c);
    if (!c) {
        tr_handling_done(h, "out of memory");
        return NULL;
    }
    c->o = o;
    c->h = h;
    c->ev = ev;
    c->ending = ending;
    c->order_id = "";
    return c;
}

void ordering_order_adjusted_cb(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *ev)
{
    change_t *c = change_new(o, h, ev, false);
    if (!c)
        return;
    c->adjusted = trivsel__ordering__order_adjusted__unpack(NULL, ev->payload.len,
                                                            ev->payload.data);
    if (!c->adjusted) {
        problems_add(&c->problems, "", "invalid_payload",
                     "the payload is not a trivsel.ordering.OrderAdjusted");
        refuse(c);
        return;
    }
    c->order_id = c->adjusted->order_id;
    start_change(o, c);
}

void ordering_order_ended_cb(ordering_t *o, tr_handling_t *h, const Trivsel__Envelope *ev)
{
    change_t *c = change_new(o, h, ev, true);
    if (!c)
        return;
    c->ended = trivsel__ordering__order_ended__unpack(NULL, ev->payload.len, ev->payload.data);
    if (!c->ended) {
        problems_add(&c->problems, "", "invalid_payload",
                     "the payload is not a trivsel.ordering.OrderEnded");
        refuse(c);
        return;
    }
    c->order_id = c->ended->order_id;
    start_change(o, c);
}
