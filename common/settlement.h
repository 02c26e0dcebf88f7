/* settlement.h — what an order costs: in one calendar month (the monthly settlement) and over its
 * whole period (its budget, "pengene følger barnet"). DOMAIN.md §3. Pure arithmetic in øre: no
 * allocation, no global state, safe from any thread. Pointer arguments must not be NULL.
 *
 * An order runs from its start to its end date, both inclusive. Its scope (hours per week, in
 * minutes) and price (per unit of its price model, in øre) are a list of stretches, each from a
 * date until the next one: a scope change from a date, or a new price after an adjustment, starts
 * a new stretch. Within a month, the days of the order split into segments at those dates.
 *
 * THE RULE, per price model. For each segment of d days in a month of D days, at price p and
 * m minutes per week, the segment's exact share is:
 *   hour   p * (m / 60) * d / 7  = p * m * d / 420
 *          The ordered hours are a weekly quantity; a day is 1/7 of a week. A full week always
 *          costs exactly its hours, whichever weekday it starts on; 28 days cost exactly 4
 *          weeks; and the days of a stretch cost the same whether or not a month boundary cuts
 *          them. (Counting hverdage instead would make the cost depend on holidays and on the
 *          weekday an order starts, and a week across a month boundary would be priced by where
 *          the boundary falls.) So 16 November days at 4 h a week cost 4 * 16 / 7 = 9.14 hours.
 *   day    p * d
 *   week   p * d / 7            (prorated by calendar day, as hour)
 *   month  p * d / D            a whole month costs p, whether it has 28, 29, 30 or 31 days;
 *                               15 days of February cost 15/29 of p in 2024, 15/28 in 2026
 *   fixed  p, once, in the month of the order's start (the segment that holds the start day);
 *          nothing in later months. An order ended before its start costs nothing.
 * Rounding: once per order and month. The line's amount is the exact sum of its segments'
 * shares, rounded to the øre by common/money.h's rule (nearest, a half øre away from zero).
 * Its segments then get that amount split in proportion to their exact shares with
 * tr_money_split (largest remainder), so the segments of a line add up to the line exactly and
 * each is within one øre of its own exact share. Totals (per child, supplier, team, legal
 * basis, month) are plain sums of lines: no second rounding, so every total reconciles with
 * the lines and with the grand total to the øre.
 *
 * The budget of an order is the sum over the calendar months of its period of what each month
 * costs by the rule above: exactly what the monthly settlements add up to if the order runs as
 * placed. It is recomputed on every adjustment and end.
 */
#ifndef TR_SETTLEMENT_H
#define TR_SETTLEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "error.h"
#include "money.h"

/* The numbers of trivsel.ordering.PriceModel. */
typedef enum tr_price_model {
    TR_PRICE_HOUR = 1,
    TR_PRICE_DAY = 2,
    TR_PRICE_WEEK = 3,
    TR_PRICE_MONTH = 4,
    TR_PRICE_FIXED = 5
} tr_price_model_t;

/* Minutes in a week: the most a scope can order. */
#define TR_SETTLEMENT_MINUTES_PER_WEEK_MAX (7 * 24 * 60)

/* One stretch of an order at one scope and price, from `from` until the next stretch. */
typedef struct tr_order_scope {
    tr_date_t from;
    uint32_t minutes_per_week; /* 0..TR_SETTLEMENT_MINUTES_PER_WEEK_MAX */
    tr_oere_t price_oere;      /* >= 0, per unit of the price model */
} tr_order_scope_t;

typedef struct tr_order_terms {
    tr_price_model_t price_model;
    /* The period, both inclusive; end before start means nothing was delivered. */
    tr_date_t start, end;
    /* Ascending by `from` with no date twice; scopes[0].from <= start. Borrowed. */
    const tr_order_scope_t *scopes;
    size_t nscopes;
} tr_order_terms_t;

/* A month has at most 31 days, so at most 31 segments. */
#define TR_SETTLEMENT_MAX_SEGMENTS 31

typedef struct tr_settlement_segment {
    tr_date_t from, to; /* inclusive, within the month */
    int days;
    uint32_t minutes_per_week;
    tr_oere_t price_oere;
    tr_oere_t amount_oere;
} tr_settlement_segment_t;

/* What one order costs in one month. */
typedef struct tr_settlement_line {
    int days_active; /* days of the month within the period; 0: no segments, amount 0 */
    size_t nsegments;
    tr_settlement_segment_t segments[TR_SETTLEMENT_MAX_SEGMENTS];
    tr_oere_t amount_oere; /* == the sum of the segments' amounts */
} tr_settlement_line_t;

/* Checks terms against the contract above: a known price model, at least one scope, scopes
 * ascending and distinct, the first from on or before start (when start <= end), minutes and
 * prices in range. Returns 0, or TR_EINVAL with err (may be NULL) saying what is wrong. */
int tr_settlement_check_terms(const tr_order_terms_t *t, tr_error_t *err);

/* Days of the period start..end (inclusive) that fall in the month; 0 when none. */
int tr_settlement_days_in_month(tr_date_t start, tr_date_t end, int year, int month);

/* *line = what the order costs in month (year, 1-12) by the rule above. Returns 0; TR_EINVAL
 * (terms break the contract, err says how); or TR_EOVERFLOW when an amount does not fit in
 * 64 bits. On error *line is unspecified. */
int tr_settlement_month(const tr_order_terms_t *t, int year, int month, tr_settlement_line_t *line,
                        tr_error_t *err);

/* *budget_oere = the sum of tr_settlement_month over every month from start's to end's (0 when
 * end is before start). Errors as tr_settlement_month; *budget_oere is then unchanged. */
int tr_settlement_budget(const tr_order_terms_t *t, tr_oere_t *budget_oere, tr_error_t *err);

/* A total per key (a child, a supplier, a team, a legal basis). key is borrowed from the input. */
typedef struct tr_settlement_total {
    const char *key;
    tr_oere_t amount_oere;
} tr_settlement_total_t;

/* Groups n amounts by keys[i] (compared with strcmp) into out, which must have room for n
 * entries, sorted by key (byte order); *nout is the number of groups. The groups add up to the
 * sum of the amounts exactly. Returns 0 or TR_EOVERFLOW. O(n log n), sorting in out. */
int tr_settlement_totals(const char *const *keys, const tr_oere_t *amounts, size_t n,
                         tr_settlement_total_t *out, size_t *nout);

#endif
