/* The settlement arithmetic of trivsel-ordering (common/settlement.h): days active, proration
 * by day for each price model, the rounding rule, segments that add up to their line, budgets
 * that add up to the months, and totals that reconcile to the øre. Expected amounts are worked
 * out by hand (exact fractions, then rounded) in the comments. */
#include "settlement.h"

#include "check.h"

static tr_date_t d(int y, int m, int day)
{
    return (tr_date_t){y, m, day};
}

static tr_settlement_line_t month_of(const tr_order_terms_t *t, int y, int m)
{
    tr_settlement_line_t line;
    tr_error_t err = {0};
    int rc = tr_settlement_month(t, y, m, &line, &err);
    if (rc != 0)
        printf("#   %s\n", err.message);
    CHECK_INT_EQ(rc, 0);
    return line;
}

static tr_oere_t budget_of(const tr_order_terms_t *t)
{
    tr_oere_t b = -4242;
    tr_error_t err = {0};
    int rc = tr_settlement_budget(t, &b, &err);
    if (rc != 0)
        printf("#   %s\n", err.message);
    CHECK_INT_EQ(rc, 0);
    return b;
}

static void check_segments_add_up(const tr_settlement_line_t *l)
{
    tr_oere_t sum = 0;
    int days = 0;
    for (size_t i = 0; i < l->nsegments; i++) {
        sum += l->segments[i].amount_oere;
        days += l->segments[i].days;
    }
    CHECK_INT_EQ(sum, l->amount_oere);
    CHECK_INT_EQ(days, l->days_active);
}

/* Issue 6 item 7: starts 15 November, 4 h a week; 6 h a week from 20 November; ends 30
 * November. 16 days billed: 5 at 4 h, 11 at 6 h. At 695 kr. an hour:
 * 69500 * (240 * 5 + 360 * 11) / 420 = 358,620,000 / 420 = 853,857.14 -> 853,857 øre. The
 * segments' exact shares are 198,571.43 and 655,285.71; the øre left after the whole øre goes to
 * the larger remainder: 198,571 + 655,286. */
static void test_start_scope_change_end_in_november(void)
{
    tr_order_scope_t scopes[] = {{d(2026, 11, 15), 240, 69500}, {d(2026, 11, 20), 360, 69500}};
    tr_order_terms_t t = {TR_PRICE_HOUR, d(2026, 11, 15), d(2026, 11, 30), scopes, 2};
    tr_settlement_line_t l = month_of(&t, 2026, 11);
    CHECK_INT_EQ(l.days_active, 16);
    CHECK_INT_EQ(l.nsegments, 2);
    CHECK_INT_EQ(l.segments[0].days, 5);
    CHECK_INT_EQ(l.segments[0].from.day, 15);
    CHECK_INT_EQ(l.segments[0].to.day, 19);
    CHECK_INT_EQ(l.segments[0].minutes_per_week, 240);
    CHECK_INT_EQ(l.segments[1].days, 11);
    CHECK_INT_EQ(l.segments[1].from.day, 20);
    CHECK_INT_EQ(l.segments[1].to.day, 30);
    CHECK_INT_EQ(l.segments[1].minutes_per_week, 360);
    CHECK_INT_EQ(l.amount_oere, 853857);
    CHECK_INT_EQ(l.segments[0].amount_oere, 198571);
    CHECK_INT_EQ(l.segments[1].amount_oere, 655286);
    check_segments_add_up(&l);
    CHECK_INT_EQ(budget_of(&t), 853857);
    /* Not active in October or December. */
    CHECK_INT_EQ(month_of(&t, 2026, 10).days_active, 0);
    CHECK_INT_EQ(month_of(&t, 2026, 12).amount_oere, 0);
}

/* A whole week at 4 h costs exactly 4 hours, whichever weekday it starts on. */
static void test_hour_week_is_exact(void)
{
    tr_order_scope_t scopes[] = {{d(2026, 11, 1), 240, 69500}};
    for (int start = 1; start <= 7; start++) {
        tr_order_terms_t t = {TR_PRICE_HOUR, d(2026, 11, start), d(2026, 11, start + 6), scopes, 1};
        CHECK_INT_EQ(month_of(&t, 2026, 11).amount_oere, 4 * 69500);
    }
    /* 28 days are exactly 4 weeks: 16 hours. */
    tr_order_terms_t t = {TR_PRICE_HOUR, d(2026, 2, 1), d(2026, 2, 28), scopes, 1};
    scopes[0].from = d(2026, 2, 1);
    CHECK_INT_EQ(month_of(&t, 2026, 2).amount_oere, 16 * 69500);
}

/* A monthly price is prorated by the days of the month: 48,500 kr. a month from 15 February.
 * 2024 is a leap year: 15 of 29 days, 4,850,000 * 15 / 29 = 2,508,620.69 -> 2,508,621 øre.
 * 2026 is not: 14 of 28 days, exactly half: 2,425,000 øre. A whole February costs the whole
 * price in both. */
static void test_month_february_leap_and_common_year(void)
{
    tr_order_scope_t s24[] = {{d(2024, 2, 15), 0, 4850000}};
    tr_order_terms_t t24 = {TR_PRICE_MONTH, d(2024, 2, 15), d(2024, 3, 31), s24, 1};
    tr_settlement_line_t l = month_of(&t24, 2024, 2);
    CHECK_INT_EQ(l.days_active, 15);
    CHECK_INT_EQ(l.amount_oere, 2508621);
    check_segments_add_up(&l);
    CHECK_INT_EQ(month_of(&t24, 2024, 3).amount_oere, 4850000);
    CHECK_INT_EQ(budget_of(&t24), 2508621 + 4850000);

    tr_order_scope_t s26[] = {{d(2026, 2, 15), 0, 4850000}};
    tr_order_terms_t t26 = {TR_PRICE_MONTH, d(2026, 2, 15), d(2026, 3, 31), s26, 1};
    l = month_of(&t26, 2026, 2);
    CHECK_INT_EQ(l.days_active, 14);
    CHECK_INT_EQ(l.amount_oere, 2425000);

    tr_order_scope_t whole[] = {{d(2024, 2, 1), 0, 4850000}};
    tr_order_terms_t w24 = {TR_PRICE_MONTH, d(2024, 2, 1), d(2024, 2, 29), whole, 1};
    CHECK_INT_EQ(month_of(&w24, 2024, 2).amount_oere, 4850000);
    whole[0].from = d(2025, 2, 1);
    tr_order_terms_t w25 = {TR_PRICE_MONTH, d(2025, 2, 1), d(2025, 2, 28), whole, 1};
    CHECK_INT_EQ(month_of(&w25, 2025, 2).amount_oere, 4850000);
}

/* An order that starts on the 31st of October and ends on the last day of the 30-day November:
 * 1/31 of a month in October (156,451.61 -> 156,452 øre), the whole price in November. */
static void test_month_from_the_31st(void)
{
    tr_order_scope_t s[] = {{d(2026, 10, 31), 0, 4850000}};
    tr_order_terms_t t = {TR_PRICE_MONTH, d(2026, 10, 31), d(2026, 11, 30), s, 1};
    CHECK_INT_EQ(month_of(&t, 2026, 10).days_active, 1);
    CHECK_INT_EQ(month_of(&t, 2026, 10).amount_oere, 156452);
    CHECK_INT_EQ(month_of(&t, 2026, 11).days_active, 30);
    CHECK_INT_EQ(month_of(&t, 2026, 11).amount_oere, 4850000);
    CHECK_INT_EQ(budget_of(&t), 156452 + 4850000);
}

/* Day and week prices. 1,450 kr. a day for 10 days; 9,800 kr. a week for 10 days is
 * 980,000 * 10 / 7 = 1,400,000 øre exactly. */
static void test_day_and_week(void)
{
    tr_order_scope_t s[] = {{d(2025, 6, 1), 0, 145000}};
    tr_order_terms_t t = {TR_PRICE_DAY, d(2025, 6, 3), d(2025, 6, 12), s, 1};
    CHECK_INT_EQ(month_of(&t, 2025, 6).amount_oere, 1450000);
    tr_order_scope_t w[] = {{d(2025, 6, 1), 0, 980000}};
    tr_order_terms_t tw = {TR_PRICE_WEEK, d(2025, 6, 3), d(2025, 6, 12), w, 1};
    CHECK_INT_EQ(month_of(&tw, 2025, 6).amount_oere, 1400000);
    /* 3 days of a week: 980,000 * 3 / 7 = 420,000 exactly; 1 day: 140,000. */
    tr_order_terms_t t3 = {TR_PRICE_WEEK, d(2025, 6, 28), d(2025, 7, 3), w, 1};
    CHECK_INT_EQ(month_of(&t3, 2025, 6).amount_oere, 420000);
    CHECK_INT_EQ(month_of(&t3, 2025, 7).amount_oere, 420000);
}

/* A fixed price is paid once, in the month of the start; nothing after; nothing at all for an
 * order ended before it began. */
static void test_fixed_on_start(void)
{
    tr_order_scope_t s[] = {{d(2025, 11, 20), 0, 1850000}};
    tr_order_terms_t t = {TR_PRICE_FIXED, d(2025, 11, 20), d(2026, 1, 31), s, 1};
    tr_settlement_line_t l = month_of(&t, 2025, 11);
    CHECK_INT_EQ(l.days_active, 11);
    CHECK_INT_EQ(l.amount_oere, 1850000);
    check_segments_add_up(&l);
    l = month_of(&t, 2025, 12);
    CHECK_INT_EQ(l.days_active, 31);
    CHECK_INT_EQ(l.amount_oere, 0);
    CHECK_INT_EQ(budget_of(&t), 1850000);
    tr_order_terms_t cancelled = {TR_PRICE_FIXED, d(2025, 11, 20), d(2025, 11, 19), s, 1};
    CHECK_INT_EQ(budget_of(&cancelled), 0);
    CHECK_INT_EQ(month_of(&cancelled, 2025, 11).days_active, 0);
}

/* One øre of rounding: an exact half øre goes away from zero. 101 øre a month for 15 of 30
 * days is 50.5 -> 51; 1 øre an hour at 3.5 hours a week for one day is 0.5 -> 1; 100 øre a
 * month for 1 of 31 days is 3.23 -> 3. */
static void test_rounding_half_oere(void)
{
    tr_order_scope_t s[] = {{d(2026, 11, 1), 0, 101}};
    tr_order_terms_t t = {TR_PRICE_MONTH, d(2026, 11, 1), d(2026, 11, 15), s, 1};
    CHECK_INT_EQ(month_of(&t, 2026, 11).amount_oere, 51);
    tr_order_scope_t h[] = {{d(2026, 11, 1), 210, 1}};
    tr_order_terms_t th = {TR_PRICE_HOUR, d(2026, 11, 1), d(2026, 11, 1), h, 1};
    CHECK_INT_EQ(month_of(&th, 2026, 11).amount_oere, 1);
    tr_order_scope_t m[] = {{d(2026, 10, 1), 0, 100}};
    tr_order_terms_t tm = {TR_PRICE_MONTH, d(2026, 10, 31), d(2026, 10, 31), m, 1};
    CHECK_INT_EQ(month_of(&tm, 2026, 10).amount_oere, 3);
}

/* Rounding once per line, not per segment: three one-day segments at 1 øre an hour and about
 * 2 h a week (120, 121, 122 minutes) are 0.29 øre each, 0 each if rounded alone; the line is
 * 363 / 420 = 0.86 -> 1 øre, and that øre goes to the segment with the largest exact share. */
static void test_rounding_once_per_line(void)
{
    tr_order_scope_t s[] = {{d(2026, 11, 1), 120, 1},
                            {d(2026, 11, 2), 121, 1},
                            {d(2026, 11, 3), 122, 1}};
    tr_order_terms_t t = {TR_PRICE_HOUR, d(2026, 11, 1), d(2026, 11, 3), s, 3};
    tr_settlement_line_t l = month_of(&t, 2026, 11);
    CHECK_INT_EQ(l.amount_oere, 1);
    CHECK_INT_EQ(l.nsegments, 3);
    CHECK_INT_EQ(l.segments[0].amount_oere, 0);
    CHECK_INT_EQ(l.segments[1].amount_oere, 0);
    CHECK_INT_EQ(l.segments[2].amount_oere, 1);
    check_segments_add_up(&l);
}

/* A price change from an adjustment splits the month where it starts; a scope that began
 * before the order's start applies from the start. */
static void test_price_change_within_month(void)
{
    tr_order_scope_t s[] = {{d(2026, 1, 1), 0, 3000000}, {d(2026, 3, 16), 0, 3100000}};
    tr_order_terms_t t = {TR_PRICE_MONTH, d(2026, 3, 1), d(2026, 3, 31), s, 2};
    tr_settlement_line_t l = month_of(&t, 2026, 3);
    CHECK_INT_EQ(l.nsegments, 2);
    CHECK_INT_EQ(l.segments[0].days, 15);
    CHECK_INT_EQ(l.segments[0].price_oere, 3000000);
    CHECK_INT_EQ(l.segments[1].days, 16);
    CHECK_INT_EQ(l.segments[1].price_oere, 3100000);
    /* (3,000,000 * 15 + 3,100,000 * 16) / 31 = 94,600,000 / 31 = 3,051,612.90 -> 3,051,613. */
    CHECK_INT_EQ(l.amount_oere, 3051613);
    check_segments_add_up(&l);
}

/* The budget over a year boundary is the sum of its months. */
static void test_budget_is_sum_of_months(void)
{
    tr_order_scope_t s[] = {{d(2025, 12, 10), 270, 57500}, {d(2026, 1, 5), 180, 57500}};
    tr_order_terms_t t = {TR_PRICE_HOUR, d(2025, 12, 10), d(2026, 3, 9), s, 2};
    tr_oere_t sum = 0;
    int months[][2] = {{2025, 12}, {2026, 1}, {2026, 2}, {2026, 3}};
    int days = 0;
    for (int i = 0; i < 4; i++) {
        tr_settlement_line_t l = month_of(&t, months[i][0], months[i][1]);
        check_segments_add_up(&l);
        sum += l.amount_oere;
        days += l.days_active;
    }
    CHECK_INT_EQ(days, 22 + 31 + 28 + 9);
    CHECK_INT_EQ(budget_of(&t), sum);
    /* December: 57,500 * 270 * 22 / 420 = 813,214.29 -> 813,214. */
    CHECK_INT_EQ(month_of(&t, 2025, 12).amount_oere, 813214);
}

static void test_days_in_month(void)
{
    CHECK_INT_EQ(tr_settlement_days_in_month(d(2024, 2, 15), d(2024, 3, 2), 2024, 2), 15);
    CHECK_INT_EQ(tr_settlement_days_in_month(d(2024, 2, 15), d(2024, 3, 2), 2024, 3), 2);
    CHECK_INT_EQ(tr_settlement_days_in_month(d(2024, 2, 15), d(2024, 3, 2), 2024, 4), 0);
    CHECK_INT_EQ(tr_settlement_days_in_month(d(2023, 1, 1), d(2030, 1, 1), 2025, 2), 28);
    CHECK_INT_EQ(tr_settlement_days_in_month(d(2026, 11, 15), d(2026, 11, 14), 2026, 11), 0);
}

static void test_invalid_terms(void)
{
    tr_error_t err = {0};
    tr_settlement_line_t l;
    tr_order_scope_t late[] = {{d(2026, 11, 16), 240, 100}};
    tr_order_terms_t t = {TR_PRICE_HOUR, d(2026, 11, 15), d(2026, 11, 30), late, 1};
    CHECK_INT_EQ(tr_settlement_month(&t, 2026, 11, &l, &err), TR_EINVAL);
    CHECK_STR_EQ(err.message,
                 "the first scope starts 2026-11-16, after the order's start 2026-11-15");
    tr_order_scope_t order[] = {{d(2026, 11, 15), 240, 100}, {d(2026, 11, 15), 300, 100}};
    t.scopes = order;
    t.nscopes = 2;
    CHECK_INT_EQ(tr_settlement_month(&t, 2026, 11, &l, &err), TR_EINVAL);
    CHECK_STR_EQ(err.message, "scopes out of order: 2026-11-15 is not before 2026-11-15");
    t.nscopes = 1;
    t.price_model = (tr_price_model_t)0;
    CHECK_INT_EQ(tr_settlement_month(&t, 2026, 11, &l, &err), TR_EINVAL);
    CHECK_STR_EQ(err.message, "invalid price model 0: must be 1-5 (hour, day, week, month, fixed)");
    t.price_model = TR_PRICE_HOUR;
    order[0].minutes_per_week = 10081;
    CHECK_INT_EQ(tr_settlement_month(&t, 2026, 11, &l, &err), TR_EINVAL);
    CHECK_STR_EQ(err.message, "scope 0: 10081 minutes per week: a week has 10080");
    tr_oere_t b = 7;
    CHECK_INT_EQ(tr_settlement_budget(&t, &b, &err), TR_EINVAL);
    CHECK_INT_EQ(b, 7);
}

static void test_overflow(void)
{
    tr_error_t err = {0};
    tr_settlement_line_t l;
    tr_order_scope_t s[] = {{d(2026, 1, 1), 10080, INT64_MAX / 1000}};
    tr_order_terms_t t = {TR_PRICE_HOUR, d(2026, 1, 1), d(2026, 1, 31), s, 1};
    CHECK_INT_EQ(tr_settlement_month(&t, 2026, 1, &l, &err), TR_EOVERFLOW);
    CHECK_STR_EQ(err.message, "the amount of 2026-01 does not fit in 64 bits");
}

/* Totals per key are sums of the lines; every grouping adds up to the grand total. */
static void test_totals_reconcile(void)
{
    const char *supplier[] = {"45424421", "11223344", "45424421", "87654321", "11223344"};
    const char *team[] = {"Børneteamet", "Ungeteamet", "Ungeteamet", "Børneteamet", "Børneteamet"};
    tr_oere_t amounts[] = {853857, 2508621, 1, 156452, 0};
    tr_settlement_total_t out[5];
    size_t n = 0;
    CHECK_INT_EQ(tr_settlement_totals(supplier, amounts, 5, out, &n), 0);
    CHECK_INT_EQ(n, 3);
    CHECK_STR_EQ(out[0].key, "11223344");
    CHECK_INT_EQ(out[0].amount_oere, 2508621);
    CHECK_STR_EQ(out[1].key, "45424421");
    CHECK_INT_EQ(out[1].amount_oere, 853858);
    CHECK_STR_EQ(out[2].key, "87654321");
    CHECK_INT_EQ(out[2].amount_oere, 156452);
    tr_oere_t grand = 853857 + 2508621 + 1 + 156452;
    CHECK_INT_EQ(out[0].amount_oere + out[1].amount_oere + out[2].amount_oere, grand);
    CHECK_INT_EQ(tr_settlement_totals(team, amounts, 5, out, &n), 0);
    CHECK_INT_EQ(n, 2);
    CHECK_INT_EQ(out[0].amount_oere + out[1].amount_oere, grand);
    CHECK_INT_EQ(tr_settlement_totals(team, amounts, 0, out, &n), 0);
    CHECK_INT_EQ(n, 0);
    tr_oere_t big[] = {INT64_MAX, 1};
    const char *same[] = {"a", "a"};
    CHECK_INT_EQ(tr_settlement_totals(same, big, 2, out, &n), TR_EOVERFLOW);
}

int main(void)
{
    CHECK_RUN(test_start_scope_change_end_in_november);
    CHECK_RUN(test_hour_week_is_exact);
    CHECK_RUN(test_month_february_leap_and_common_year);
    CHECK_RUN(test_month_from_the_31st);
    CHECK_RUN(test_day_and_week);
    CHECK_RUN(test_fixed_on_start);
    CHECK_RUN(test_rounding_half_oere);
    CHECK_RUN(test_rounding_once_per_line);
    CHECK_RUN(test_price_change_within_month);
    CHECK_RUN(test_budget_is_sum_of_months);
    CHECK_RUN(test_days_in_month);
    CHECK_RUN(test_invalid_terms);
    CHECK_RUN(test_overflow);
    CHECK_RUN(test_totals_reconcile);
    return check_done();
}
