#include "settlement.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const char *model_name(tr_price_model_t m)
{
    switch (m) {
    case TR_PRICE_HOUR: return "hour";
    case TR_PRICE_DAY: return "day";
    case TR_PRICE_WEEK: return "week";
    case TR_PRICE_MONTH: return "month";
    case TR_PRICE_FIXED: return "fixed";
    }
    return NULL;
}

int tr_settlement_check_terms(const tr_order_terms_t *t, tr_error_t *err)
{
    assert(t);
    char a[TR_CALENDAR_DATE_LEN], b[TR_CALENDAR_DATE_LEN];
    if (!model_name(t->price_model))
        return tr_error_set(err, TR_EINVAL,
                            "invalid price model %d: must be 1-5 (hour, day, week, month, fixed)",
                            (int)t->price_model);
    if (!tr_calendar_is_valid(t->start) || !tr_calendar_is_valid(t->end))
        return tr_error_set(err, TR_EINVAL, "invalid period: not a date");
    if (t->nscopes == 0 || !t->scopes)
        return tr_error_set(err, TR_EINVAL, "an order needs at least one scope");
    for (size_t i = 0; i < t->nscopes; i++) {
        const tr_order_scope_t *s = &t->scopes[i];
        if (!tr_calendar_is_valid(s->from))
            return tr_error_set(err, TR_EINVAL, "scope %zu: invalid date", i);
        if (i > 0 && tr_calendar_compare(t->scopes[i - 1].from, s->from) >= 0) {
            tr_calendar_format_date(t->scopes[i - 1].from, a);
            tr_calendar_format_date(s->from, b);
            return tr_error_set(err, TR_EINVAL, "scopes out of order: %s is not before %s", a, b);
        }
        if (s->minutes_per_week > TR_SETTLEMENT_MINUTES_PER_WEEK_MAX)
            return tr_error_set(err, TR_EINVAL, "scope %zu: %u minutes per week: a week has %d", i,
                                s->minutes_per_week, TR_SETTLEMENT_MINUTES_PER_WEEK_MAX);
        if (s->price_oere < 0)
            return tr_error_set(err, TR_EINVAL, "scope %zu: negative price %lld øre", i,
                                (long long)s->price_oere);
    }
    if (tr_calendar_compare(t->start, t->end) <= 0 &&
        tr_calendar_compare(t->scopes[0].from, t->start) > 0) {
        tr_calendar_format_date(t->scopes[0].from, a);
        tr_calendar_format_date(t->start, b);
        return tr_error_set(err, TR_EINVAL, "the first scope starts %s, after the order's start %s",
                            a, b);
    }
    return 0;
}

int tr_settlement_days_in_month(tr_date_t start, tr_date_t end, int year, int month)
{
    tr_date_t first = {year, month, 1};
    tr_date_t last = {year, month, tr_calendar_days_in_month(year, month)};
    tr_date_t from = tr_calendar_compare(start, first) > 0 ? start : first;
    tr_date_t to = tr_calendar_compare(end, last) < 0 ? end : last;
    int64_t days = tr_calendar_days_from_civil(to) - tr_calendar_days_from_civil(from) + 1;
    return days > 0 ? (int)days : 0;
}

/* The exact share of a segment is numerator / denominator(model, month). */
static int64_t denominator(tr_price_model_t m, int days_in_month)
{
    switch (m) {
    case TR_PRICE_HOUR: return 7 * 60; /* minutes per week -> hours, per week -> per day */
    case TR_PRICE_WEEK: return 7;
    case TR_PRICE_MONTH: return days_in_month;
    case TR_PRICE_DAY:
    case TR_PRICE_FIXED: return 1;
    }
    return 1;
}

int tr_settlement_month(const tr_order_terms_t *t, int year, int month, tr_settlement_line_t *line,
                        tr_error_t *err)
{
    assert(line);
    int rc = tr_settlement_check_terms(t, err);
    if (rc < 0)
        return rc;
    if (month < 1 || month > 12 || year < 1 || year > 9999)
        return tr_error_set(err, TR_EINVAL, "invalid month %04d-%02d", year, month);
    memset(line, 0, sizeof *line);
    int dim = tr_calendar_days_in_month(year, month);
    tr_date_t first = {year, month, 1}, last = {year, month, dim};
    tr_date_t from = tr_calendar_compare(t->start, first) > 0 ? t->start : first;
    tr_date_t to = tr_calendar_compare(t->end, last) < 0 ? t->end : last;
    if (tr_calendar_compare(from, to) > 0)
        return 0; /* not active in the month */

    int64_t shares[TR_SETTLEMENT_MAX_SEGMENTS];
    tr_oere_t sum = 0;
    size_t n = 0;
    /* The scope in effect on `from`: the last one that began on or before it. */
    size_t k = 0;
    while (k + 1 < t->nscopes && tr_calendar_compare(t->scopes[k + 1].from, from) <= 0)
        k++;
    for (tr_date_t day = from; tr_calendar_compare(day, to) <= 0; k++) {
        tr_date_t seg_to = to;
        if (k + 1 < t->nscopes && tr_calendar_compare(t->scopes[k + 1].from, to) <= 0)
            seg_to = tr_calendar_add_days(t->scopes[k + 1].from, -1);
        const tr_order_scope_t *s = &t->scopes[k];
        assert(n < TR_SETTLEMENT_MAX_SEGMENTS);
        tr_settlement_segment_t *seg = &line->segments[n];
        seg->from = day;
        seg->to = seg_to;
        seg->days = (int)(tr_calendar_days_from_civil(seg_to) - tr_calendar_days_from_civil(day) +
                          1);
        seg->minutes_per_week = s->minutes_per_week;
        seg->price_oere = s->price_oere;
        int64_t quantity;
        switch (t->price_model) {
        case TR_PRICE_HOUR: quantity = (int64_t)s->minutes_per_week * seg->days; break;
        case TR_PRICE_FIXED:
            /* Once, on the start day. */
            quantity = tr_calendar_compare(day, t->start) == 0 ? 1 : 0;
            break;
        default: quantity = seg->days; break;
        }
        if ((rc = tr_money_mul(s->price_oere, quantity, &shares[n])) < 0 ||
            (rc = tr_money_add(sum, shares[n], &sum)) < 0)
            return tr_error_set(err, rc, "the amount of %04d-%02d does not fit in 64 bits", year,
                                month);
        line->days_active += seg->days;
        n++;
        day = tr_calendar_add_days(seg_to, 1);
    }
    line->nsegments = n;
    if ((rc = tr_money_scale(sum, 1, denominator(t->price_model, dim), &line->amount_oere)) < 0)
        return tr_error_set(err, rc, "the amount of %04d-%02d does not fit in 64 bits", year,
                            month);
    if (sum == 0)
        return 0; /* every segment is 0 (free, or no hours) */
    tr_oere_t parts[TR_SETTLEMENT_MAX_SEGMENTS];
    if ((rc = tr_money_split(line->amount_oere, shares, n, parts)) < 0)
        return tr_error_set(err, rc, "cannot split the amount of %04d-%02d", year, month);
    for (size_t i = 0; i < n; i++)
        line->segments[i].amount_oere = parts[i];
    return 0;
}

int tr_settlement_budget(const tr_order_terms_t *t, tr_oere_t *budget_oere, tr_error_t *err)
{
    assert(budget_oere);
    int rc = tr_settlement_check_terms(t, err);
    if (rc < 0)
        return rc;
    tr_oere_t sum = 0;
    if (tr_calendar_compare(t->start, t->end) <= 0) {
        int y = t->start.year, m = t->start.month;
        for (;;) {
            tr_settlement_line_t line;
            if ((rc = tr_settlement_month(t, y, m, &line, err)) < 0)
                return rc;
            if ((rc = tr_money_add(sum, line.amount_oere, &sum)) < 0)
                return tr_error_set(err, rc, "the budget does not fit in 64 bits");
            if (y == t->end.year && m == t->end.month)
                break;
            if (++m > 12)
                m = 1, y++;
        }
    }
    *budget_oere = sum;
    return 0;
}

static int total_cmp(const void *a, const void *b)
{
    return strcmp(((const tr_settlement_total_t *)a)->key, ((const tr_settlement_total_t *)b)->key);
}

int tr_settlement_totals(const char *const *keys, const tr_oere_t *amounts, size_t n,
                         tr_settlement_total_t *out, size_t *nout)
{
    assert(nout);
    *nout = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (tr_settlement_total_t){keys[i], amounts[i]};
    qsort(out, n, sizeof *out, total_cmp);
    size_t groups = 0;
    for (size_t i = 0; i < n; i++) {
        if (groups > 0 && strcmp(out[groups - 1].key, out[i].key) == 0) {
            int rc = tr_money_add(out[groups - 1].amount_oere, out[i].amount_oere,
                                  &out[groups - 1].amount_oere);
            if (rc < 0)
                return rc;
        } else {
            out[groups++] = out[i];
        }
    }
    *nout = groups;
    return 0;
}
