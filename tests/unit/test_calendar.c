/* test_calendar.c — the Danish calendar (common/calendar.h): dates, Easter against a published
 * table, helligdage and hverdage of 2023-2025, deadline arithmetic, and Danish time against the
 * system's tzdata. Run from the repository root (the Easter table is read from tests/data/). */
#include "calendar.h"
#include "check.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define EASTER_TABLE "tests/data/easter-1900-2100.txt"
#define ZONEINFO "/usr/share/zoneinfo/Europe/Copenhagen"

#define D(y, m, d) ((tr_date_t){(y), (m), (d)})

/* Formats with snprintf, not the module, so a wrong date shows as itself. */
#define CHECK_DATE(actual, expected)                                                               \
    do {                                                                                           \
        tr_date_t got_ = (actual);                                                                 \
        char buf_[48];                                                                             \
        snprintf(buf_, sizeof buf_, "%04d-%02d-%02d", got_.year, got_.month, got_.day);            \
        CHECK_STR_EQ(buf_, (expected));                                                            \
    } while (0)

/* ---- Civil dates ---------------------------------------------------------------------------- */

static void test_days_from_civil_known_values(void)
{
    /* Expected values from GNU date: date -u -d YYYY-MM-DD +%s, divided by 86400. */
    CHECK_INT_EQ(tr_calendar_days_from_civil(D(1970, 1, 1)), 0);
    CHECK_INT_EQ(tr_calendar_days_from_civil(D(1969, 12, 31)), -1);
    CHECK_INT_EQ(tr_calendar_days_from_civil(D(2000, 3, 1)), 11017);
    CHECK_INT_EQ(tr_calendar_days_from_civil(D(1, 1, 1)), -719162);
    CHECK_INT_EQ(tr_calendar_days_from_civil(D(9999, 12, 31)), 2932896);
    CHECK_DATE(tr_calendar_civil_from_days(0), "1970-01-01");
    CHECK_DATE(tr_calendar_civil_from_days(-1), "1969-12-31");
    CHECK_DATE(tr_calendar_civil_from_days(11017), "2000-03-01");
    CHECK_DATE(tr_calendar_civil_from_days(-719162), "0001-01-01");
    CHECK_DATE(tr_calendar_civil_from_days(2932896), "9999-12-31");
}

/* Walks every day of 0001-9999 with a naive "tomorrow" and checks both conversions and the
 * weekday cycle against it. */
static void test_day_numbers_agree_with_counting_days(void)
{
    tr_date_t expect = D(1, 1, 1);
    int weekday = 1; /* 0001-01-01 was a Monday in the proleptic Gregorian calendar */
    int bad = 0;
    int64_t n;
    for (n = -719162; n <= 2932896; n++) {
        tr_date_t got = tr_calendar_civil_from_days(n);
        if (got.year != expect.year || got.month != expect.month || got.day != expect.day ||
            tr_calendar_days_from_civil(expect) != n || tr_calendar_weekday(expect) != weekday) {
            if (bad++ < 3)
                CHECK_FAIL_("day %" PRId64 ": got %04d-%02d-%02d, expected %04d-%02d-%02d", n,
                            got.year, got.month, got.day, expect.year, expect.month, expect.day);
        }
        weekday = weekday % 7 + 1;
        if (++expect.day > tr_calendar_days_in_month(expect.year, expect.month)) {
            expect.day = 1;
            if (++expect.month > 12) {
                expect.month = 1;
                expect.year++;
            }
        }
    }
    CHECK_INT_EQ(bad, 0);
    CHECK_DATE(expect, "10000-01-01");
}

static void test_days_in_month_leap_years(void)
{
    CHECK_INT_EQ(tr_calendar_days_in_month(2024, 2), 29);
    CHECK_INT_EQ(tr_calendar_days_in_month(2023, 2), 28);
    CHECK_INT_EQ(tr_calendar_days_in_month(2000, 2), 29); /* divisible by 400 */
    CHECK_INT_EQ(tr_calendar_days_in_month(1900, 2), 28); /* divisible by 100 */
    CHECK_INT_EQ(tr_calendar_days_in_month(2100, 2), 28);
    CHECK_INT_EQ(tr_calendar_days_in_month(2024, 1), 31);
    CHECK_INT_EQ(tr_calendar_days_in_month(2024, 4), 30);
    CHECK_INT_EQ(tr_calendar_days_in_month(2024, 9), 30);
    CHECK_INT_EQ(tr_calendar_days_in_month(2024, 11), 30);
    CHECK_INT_EQ(tr_calendar_days_in_month(2024, 12), 31);
}

static void test_is_valid(void)
{
    CHECK(tr_calendar_is_valid(D(2024, 2, 29)));
    CHECK(tr_calendar_is_valid(D(1, 1, 1)));
    CHECK(tr_calendar_is_valid(D(9999, 12, 31)));
    CHECK(!tr_calendar_is_valid(D(2023, 2, 29)));
    CHECK(!tr_calendar_is_valid(D(2024, 4, 31)));
    CHECK(!tr_calendar_is_valid(D(2024, 0, 1)));
    CHECK(!tr_calendar_is_valid(D(2024, 13, 1)));
    CHECK(!tr_calendar_is_valid(D(2024, 1, 0)));
    CHECK(!tr_calendar_is_valid(D(0, 1, 1)));
    CHECK(!tr_calendar_is_valid(D(10000, 1, 1)));
    CHECK(!tr_calendar_is_valid(D(2024, -1, 1)));
}

static void test_weekday_iso(void)
{
    CHECK_INT_EQ(tr_calendar_weekday(D(1970, 1, 1)), 4); /* Thursday */
    CHECK_INT_EQ(tr_calendar_weekday(D(2000, 1, 1)), 6); /* Saturday */
    CHECK_INT_EQ(tr_calendar_weekday(D(2024, 3, 31)), 7); /* Easter Sunday */
    CHECK_INT_EQ(tr_calendar_weekday(D(2024, 4, 1)), 1); /* Monday */
    CHECK_INT_EQ(tr_calendar_weekday(D(2026, 12, 24)), 4);
    CHECK_INT_EQ(tr_calendar_weekday(D(1969, 12, 28)), 7); /* before the epoch */
}

static void test_compare(void)
{
    CHECK(tr_calendar_compare(D(2024, 3, 31), D(2024, 4, 1)) < 0);
    CHECK(tr_calendar_compare(D(2024, 4, 1), D(2024, 3, 31)) > 0);
    CHECK(tr_calendar_compare(D(2023, 12, 31), D(2024, 1, 1)) < 0);
    CHECK(tr_calendar_compare(D(2024, 1, 2), D(2024, 1, 1)) > 0);
    CHECK_INT_EQ(tr_calendar_compare(D(2024, 2, 29), D(2024, 2, 29)), 0);
}

static void test_add_days(void)
{
    CHECK_DATE(tr_calendar_add_days(D(2024, 2, 28), 1), "2024-02-29");
    CHECK_DATE(tr_calendar_add_days(D(2024, 2, 28), 2), "2024-03-01");
    CHECK_DATE(tr_calendar_add_days(D(2023, 2, 28), 1), "2023-03-01");
    CHECK_DATE(tr_calendar_add_days(D(2023, 12, 31), 1), "2024-01-01");
    CHECK_DATE(tr_calendar_add_days(D(2024, 3, 1), -1), "2024-02-29");
    CHECK_DATE(tr_calendar_add_days(D(2024, 1, 1), 366), "2025-01-01");
    CHECK_DATE(tr_calendar_add_days(D(1970, 1, 1), -1), "1969-12-31");
    CHECK_DATE(tr_calendar_add_days(D(2024, 6, 30), 0), "2024-06-30");
}

static void test_add_weeks_same_weekday(void)
{
    CHECK_DATE(tr_calendar_add_weeks(D(2024, 3, 21), 4), "2024-04-18");
    CHECK_DATE(tr_calendar_add_weeks(D(2024, 12, 18), 2), "2025-01-01");
    CHECK_DATE(tr_calendar_add_weeks(D(2024, 3, 7), -1), "2024-02-29");
    CHECK_INT_EQ(tr_calendar_weekday(tr_calendar_add_weeks(D(2024, 3, 21), 52)), 4);
}

static void test_add_months_end_of_month(void)
{
    /* Barnets Lov §20 stk. 3: 4 months from 31 October end on the last day of February. */
    CHECK_DATE(tr_calendar_add_months(D(2023, 10, 31), 4), "2024-02-29");
    CHECK_DATE(tr_calendar_add_months(D(2024, 10, 31), 4), "2025-02-28");
    CHECK_DATE(tr_calendar_add_months(D(2024, 1, 31), 1), "2024-02-29");
    CHECK_DATE(tr_calendar_add_months(D(2023, 1, 31), 1), "2023-02-28");
    /* counted from the original date, not from a clipped intermediate month */
    CHECK_DATE(tr_calendar_add_months(D(2024, 1, 31), 2), "2024-03-31");
    CHECK_DATE(tr_calendar_add_months(D(2023, 11, 30), 3), "2024-02-29");
    CHECK_DATE(tr_calendar_add_months(D(2024, 11, 30), 3), "2025-02-28");
    CHECK_DATE(tr_calendar_add_months(D(2024, 8, 31), 1), "2024-09-30");
    CHECK_DATE(tr_calendar_add_months(D(2024, 2, 29), 12), "2025-02-28");
    CHECK_DATE(tr_calendar_add_months(D(2024, 2, 29), 48), "2028-02-29");
    CHECK_DATE(tr_calendar_add_months(D(2024, 3, 31), -1), "2024-02-29");
}

static void test_add_months_rollover(void)
{
    CHECK_DATE(tr_calendar_add_months(D(2024, 12, 15), 1), "2025-01-15");
    CHECK_DATE(tr_calendar_add_months(D(2024, 11, 15), 14), "2026-01-15");
    CHECK_DATE(tr_calendar_add_months(D(2024, 10, 5), 3), "2025-01-05");
    CHECK_DATE(tr_calendar_add_months(D(2025, 1, 15), -1), "2024-12-15");
    CHECK_DATE(tr_calendar_add_months(D(2025, 1, 15), -13), "2023-12-15");
    CHECK_DATE(tr_calendar_add_months(D(2024, 6, 30), 0), "2024-06-30");
}

/* ---- Easter --------------------------------------------------------------------------------- */

/* Against ncal's table (see the header of the data file), not against our own computus. */
static void test_easter_published_table_1900_2100(void)
{
    FILE *f = fopen(EASTER_TABLE, "r");
    if (!f) {
        CHECK_FAIL_("cannot open %s (run the test from the repository root)", EASTER_TABLE);
        return;
    }
    char line[128];
    int year = 1900, bad = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        int y, m, d;
        if (sscanf(line, "%4d-%2d-%2d", &y, &m, &d) != 3 || y != year) {
            CHECK_FAIL_("%s: bad line for %d: %s", EASTER_TABLE, year, line);
            break;
        }
        tr_date_t e = tr_calendar_easter(y);
        if ((e.year != y || e.month != m || e.day != d) && bad++ < 5)
            CHECK_FAIL_("Easter %d is %04d-%02d-%02d, the table says %04d-%02d-%02d", y, e.year,
                        e.month, e.day, y, m, d);
        year++;
    }
    fclose(f);
    CHECK_INT_EQ(bad, 0);
    CHECK_INT_EQ(year, 2101); /* every year 1900-2100 was read */
}

static void test_easter_known_years(void)
{
    CHECK_DATE(tr_calendar_easter(2024), "2024-03-31");
    CHECK_DATE(tr_calendar_easter(2025), "2025-04-20");
    CHECK_DATE(tr_calendar_easter(2008), "2008-03-23"); /* the earliest since 1913 */
    CHECK_DATE(tr_calendar_easter(2038), "2038-04-25"); /* the latest possible date */
    CHECK_DATE(tr_calendar_easter(2023), "2023-04-09");
    CHECK_DATE(tr_calendar_easter(2026), "2026-04-05");
}

/* ---- Helligdage ----------------------------------------------------------------------------- */

struct holiday {
    tr_date_t date;
    const char *name;
};

/* Checks the year's holidays one by one, and that no other day of the year is one. */
static void check_holidays(int year, const struct holiday *list, int count)
{
    for (int i = 0; i < count; i++) {
        tr_date_t d = list[i].date;
        CHECK_STR_EQ(tr_calendar_helligdag_name(d), list[i].name);
        CHECK(tr_calendar_is_helligdag(d));
        CHECK(!tr_calendar_is_hverdag(d));
    }
    int found = 0;
    for (tr_date_t d = D(year, 1, 1); d.year == year; d = tr_calendar_add_days(d, 1))
        found += tr_calendar_is_helligdag(d);
    CHECK_INT_EQ(found, count);
}

static void test_helligdage_2023(void)
{
    static const struct holiday list[] = {
        {D(2023, 1, 1), "Nytårsdag"},
        {D(2023, 4, 6), "Skærtorsdag"},
        {D(2023, 4, 7), "Langfredag"},
        {D(2023, 4, 9), "Påskedag"},
        {D(2023, 4, 10), "2. påskedag"},
        {D(2023, 5, 5), "Store bededag"}, /* the last one: abolished from 2024 */
        {D(2023, 5, 18), "Kristi himmelfartsdag"},
        {D(2023, 5, 28), "Pinsedag"},
        {D(2023, 5, 29), "2. pinsedag"},
        {D(2023, 12, 25), "Juledag"},
        {D(2023, 12, 26), "2. juledag"},
    };
    check_holidays(2023, list, (int)(sizeof list / sizeof list[0]));
}

static void test_helligdage_2024(void)
{
    static const struct holiday list[] = {
        {D(2024, 1, 1), "Nytårsdag"},
        {D(2024, 3, 28), "Skærtorsdag"},
        {D(2024, 3, 29), "Langfredag"},
        {D(2024, 3, 31), "Påskedag"},
        {D(2024, 4, 1), "2. påskedag"},
        {D(2024, 5, 9), "Kristi himmelfartsdag"},
        {D(2024, 5, 19), "Pinsedag"},
        {D(2024, 5, 20), "2. pinsedag"},
        {D(2024, 12, 25), "Juledag"},
        {D(2024, 12, 26), "2. juledag"},
    };
    check_holidays(2024, list, (int)(sizeof list / sizeof list[0]));
}

static void test_helligdage_2025(void)
{
    static const struct holiday list[] = {
        {D(2025, 1, 1), "Nytårsdag"},
        {D(2025, 4, 17), "Skærtorsdag"},
        {D(2025, 4, 18), "Langfredag"},
        {D(2025, 4, 20), "Påskedag"},
        {D(2025, 4, 21), "2. påskedag"},
        {D(2025, 5, 29), "Kristi himmelfartsdag"},
        {D(2025, 6, 8), "Pinsedag"},
        {D(2025, 6, 9), "2. pinsedag"},
        {D(2025, 12, 25), "Juledag"},
        {D(2025, 12, 26), "2. juledag"},
    };
    check_holidays(2025, list, (int)(sizeof list / sizeof list[0]));
}

static void test_store_bededag_abolished_from_2024(void)
{
    /* Easter + 26, a Friday: a holiday in 2023 and before, a working day from 2024. */
    CHECK_STR_EQ(tr_calendar_helligdag_name(D(2022, 5, 13)), "Store bededag");
    CHECK_STR_EQ(tr_calendar_helligdag_name(D(2023, 5, 5)), "Store bededag");
    CHECK(!tr_calendar_is_hverdag(D(2023, 5, 5)));
    CHECK_STR_EQ(tr_calendar_helligdag_name(D(2024, 4, 26)), NULL);
    CHECK(!tr_calendar_is_helligdag(D(2024, 4, 26)));
    CHECK(tr_calendar_is_hverdag(D(2024, 4, 26)));
    CHECK(tr_calendar_is_hverdag(D(2025, 5, 16)));
}

static void test_closed_days_are_not_hverdage_nor_helligdage(void)
{
    /* Grundlovsdag, juleaftensdag, nytårsaftensdag on weekdays: no hverdag, no holiday. */
    const tr_date_t days[] = {D(2024, 6, 5),   D(2025, 6, 5),   D(2024, 12, 24),
                              D(2024, 12, 31), D(2026, 12, 24), D(2025, 12, 31)};
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        CHECK(tr_calendar_weekday(days[i]) <= 5);
        CHECK(!tr_calendar_is_hverdag(days[i]));
        CHECK(!tr_calendar_is_helligdag(days[i]));
        CHECK_STR_EQ(tr_calendar_helligdag_name(days[i]), NULL);
    }
}

static void test_hverdag_weekends_and_ordinary_days(void)
{
    CHECK(!tr_calendar_is_hverdag(D(2024, 3, 23))); /* Saturday */
    CHECK(!tr_calendar_is_hverdag(D(2024, 3, 24))); /* Sunday */
    CHECK(tr_calendar_is_hverdag(D(2024, 3, 25)));  /* Monday */
    CHECK(tr_calendar_is_hverdag(D(2024, 5, 1)));   /* 1 May is no public holiday */
    CHECK(tr_calendar_is_hverdag(D(2024, 6, 4)));
    CHECK(tr_calendar_is_hverdag(D(2024, 12, 23)));
    CHECK(tr_calendar_is_hverdag(D(2024, 12, 27)));
    CHECK_STR_EQ(tr_calendar_helligdag_name(D(2024, 3, 24)), NULL); /* a plain Sunday */
}

/* ---- Deadlines in hverdage ------------------------------------------------------------------ */

static void test_add_hverdage_receipt_across_easter_2024(void)
{
    /* Received Thursday 2024-03-21; the day of receipt is not counted:
     * Fri 22 (1), Mon 25 (2), Tue 26 (3), Wed 27 (4); Thu 28 Skærtorsdag, Fri 29 Langfredag,
     * Sat 30, Sun 31 Påskedag, Mon 1 April 2. påskedag are skipped; Tue 2 (5), Wed 3 (6). */
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 3, 21), 6), "2024-04-03");
    /* Received Friday 2024-03-22: Mon 25 (1), Tue 26 (2), Wed 27 (3), Tue 2 (4), Wed 3 (5),
     * Thu 4 April (6). */
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 3, 22), 6), "2024-04-04");
    /* Received Wednesday 2024-03-27: the next hverdag is Tuesday after Easter. */
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 3, 27), 1), "2024-04-02");
    /* Received on Langfredag itself: Tue 2 (1) ... Tue 9 April (6). */
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 3, 29), 6), "2024-04-09");
}

static void test_add_hverdage_across_easter_2025(void)
{
    /* Received Wednesday 2025-04-16: Thu 17 Skærtorsdag, Fri 18 Langfredag, Mon 21 2. påskedag
     * are skipped; Tue 22 (1), Wed 23 (2), Thu 24 (3), Fri 25 (4), Mon 28 (5), Tue 29 (6). */
    CHECK_DATE(tr_calendar_add_hverdage(D(2025, 4, 16), 6), "2025-04-29");
    CHECK_DATE(tr_calendar_add_hverdage(D(2025, 4, 16), 1), "2025-04-22");
}

static void test_add_hverdage_store_bededag_2023_vs_2024(void)
{
    /* 2023: received Wednesday 5/3: Thu 4 (1), Fri 5 Store bededag skipped, Mon 8 (2), Tue 9 (3),
     * Wed 10 (4), Thu 11 (5), Fri 12 (6). */
    CHECK_DATE(tr_calendar_add_hverdage(D(2023, 5, 3), 6), "2023-05-12");
    CHECK_DATE(tr_calendar_add_hverdage(D(2023, 5, 4), 1), "2023-05-08");
    /* 2024: received Wednesday 24/4: Thu 25 (1), Fri 26 (2, no longer a holiday), Mon 29 (3),
     * Tue 30 (4), Wed 1 May (5), Thu 2 May (6). */
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 4, 24), 6), "2024-05-02");
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 4, 25), 1), "2024-04-26");
}

static void test_add_hverdage_across_grundlovsdag(void)
{
    /* Received Monday 2024-06-03: Tue 4 (1), Wed 5 Grundlovsdag skipped, Thu 6 (2), Fri 7 (3),
     * Mon 10 (4), Tue 11 (5), Wed 12 (6). */
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 6, 3), 6), "2024-06-12");
    /* 2025: Grundlovsdag is Thursday 5 June and 2. pinsedag Monday 9 June. Received Wednesday
     * 4/6: Fri 6 (1), Tue 10 (2), Wed 11 (3), Thu 12 (4), Fri 13 (5), Mon 16 (6). */
    CHECK_DATE(tr_calendar_add_hverdage(D(2025, 6, 4), 6), "2025-06-16");
}

static void test_add_hverdage_christmas_to_new_year(void)
{
    /* Received Monday 2024-12-23: Tue 24 (juleaftensdag), Wed 25, Thu 26 skipped, Fri 27 (1),
     * Mon 30 (2), Tue 31 (nytårsaftensdag) and Wed 1 January skipped, Thu 2 (3), Fri 3 (4),
     * Mon 6 (5), Tue 7 January 2025 (6). */
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 12, 23), 6), "2025-01-07");
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 12, 23), 1), "2024-12-27");
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 12, 27), 1), "2024-12-30");
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 12, 30), 1), "2025-01-02");
}

static void test_add_hverdage_zero_is_the_same_day(void)
{
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 3, 21), 0), "2024-03-21");
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 3, 30), 0), "2024-03-30"); /* even a Saturday */
    /* received on a Saturday: Monday is the first hverdag after it */
    CHECK_DATE(tr_calendar_add_hverdage(D(2024, 3, 23), 1), "2024-03-25");
}

static void test_next_hverdag(void)
{
    /* Thursday 24 December 2026: 24, 25 (Friday), the weekend; Monday 28 is the next hverdag */
    CHECK_DATE(tr_calendar_next_hverdag(D(2026, 12, 24)), "2026-12-28");
    CHECK_DATE(tr_calendar_next_hverdag(D(2024, 12, 31)), "2025-01-02");
    CHECK_DATE(tr_calendar_next_hverdag(D(2024, 3, 30)), "2024-04-02"); /* Easter Saturday */
    CHECK_DATE(tr_calendar_next_hverdag(D(2024, 6, 1)), "2024-06-03");
    CHECK_DATE(tr_calendar_next_hverdag(D(2024, 6, 5)), "2024-06-06");
    CHECK_DATE(tr_calendar_next_hverdag(D(2024, 4, 26)), "2024-04-26"); /* already one */
}

static void test_appeal_deadline_four_weeks_on_juledag(void)
{
    /* Notified Wednesday 2024-11-27: 4 weeks end on Juledag 2024-12-25, then 2. juledag; the
     * deadline moves to Friday 27 December. */
    tr_date_t end = tr_calendar_add_weeks(D(2024, 11, 27), 4);
    CHECK_DATE(end, "2024-12-25");
    CHECK_DATE(tr_calendar_next_hverdag(end), "2024-12-27");
}

/* ---- Danish time ---------------------------------------------------------------------------- */

/* The instants below are from GNU date: date -u -d '2024-03-31 01:00:00' +%s. */

static void test_utc_offset_switches_2024(void)
{
    CHECK_INT_EQ(tr_calendar_utc_offset(1711846799), 3600); /* 2024-03-31 00:59:59Z */
    CHECK_INT_EQ(tr_calendar_utc_offset(1711846800), 7200); /* 2024-03-31 01:00:00Z */
    CHECK_INT_EQ(tr_calendar_utc_offset(1729990799), 7200); /* 2024-10-27 00:59:59Z */
    CHECK_INT_EQ(tr_calendar_utc_offset(1729990800), 3600); /* 2024-10-27 01:00:00Z */
    CHECK_INT_EQ(tr_calendar_utc_offset(1719784800), 7200); /* midsummer */
    CHECK_INT_EQ(tr_calendar_utc_offset(1735081200), 3600); /* Christmas */
}

static void test_local_date_at_midnight(void)
{
    CHECK_DATE(tr_calendar_local_date(1711839599), "2024-03-30"); /* 2024-03-30 23:59:59 CET */
    CHECK_DATE(tr_calendar_local_date(1711839600), "2024-03-31"); /* 2024-03-31 00:00:00 CET */
    CHECK_DATE(tr_calendar_local_date(1719784799), "2024-06-30"); /* 2024-06-30 23:59:59 CEST */
    CHECK_DATE(tr_calendar_local_date(1719784800), "2024-07-01"); /* 2024-06-30 22:00:00Z */
    CHECK_DATE(tr_calendar_local_date(1735081199), "2024-12-24");
    CHECK_DATE(tr_calendar_local_date(1735081200), "2024-12-25");
}

static void test_local_to_utc_spring_gap(void)
{
    CHECK_INT_EQ(tr_calendar_local_to_utc(D(2024, 3, 31), 1, 59, 59), 1711846799);
    CHECK_INT_EQ(tr_calendar_local_to_utc(D(2024, 3, 31), 3, 0, 0), 1711846800);
    /* 02:00-02:59 do not exist; the earlier reading (summer offset) is taken: 00:30Z */
    CHECK_INT_EQ(tr_calendar_local_to_utc(D(2024, 3, 31), 2, 30, 0), 1711845000);
    CHECK_INT_EQ(tr_calendar_local_to_utc(D(2024, 3, 31), 2, 0, 0), 1711843200);
}

static void test_local_to_utc_autumn_ambiguous_hour(void)
{
    CHECK_INT_EQ(tr_calendar_local_to_utc(D(2024, 10, 27), 1, 59, 59), 1729987199);
    /* 02:00-02:59 happen twice; the first (CEST) is taken: 02:30 CEST = 00:30Z, not 01:30Z */
    CHECK_INT_EQ(tr_calendar_local_to_utc(D(2024, 10, 27), 2, 30, 0), 1729989000);
    CHECK_INT_EQ(tr_calendar_local_to_utc(D(2024, 10, 27), 2, 0, 0), 1729987200);
    CHECK_INT_EQ(tr_calendar_local_to_utc(D(2024, 10, 27), 3, 0, 0), 1729994400);
}

static void test_end_of_day_utc(void)
{
    CHECK_INT_EQ(tr_calendar_end_of_day_utc(D(2024, 6, 30)), 1719784800); /* 06-30 22:00:00Z */
    CHECK_INT_EQ(tr_calendar_end_of_day_utc(D(2024, 12, 24)), 1735081200); /* 12-24 23:00:00Z */
    /* the 23-hour and the 25-hour day */
    CHECK_INT_EQ(tr_calendar_end_of_day_utc(D(2024, 3, 30)), 1711839600);
    CHECK_INT_EQ(tr_calendar_end_of_day_utc(D(2024, 3, 31)), 1711922400);
    CHECK_INT_EQ(tr_calendar_end_of_day_utc(D(2024, 10, 26)), 1729980000);
    CHECK_INT_EQ(tr_calendar_end_of_day_utc(D(2024, 10, 27)), 1730070000);
}

/* Only here is the process time zone touched: the module must agree with tzdata without it. */
static bool use_copenhagen_tzdata(void)
{
    if (access(ZONEINFO, R_OK) != 0) {
        printf("# skipped: %s is missing, no tzdata to compare with\n", ZONEINFO);
        return false;
    }
    setenv("TZ", "Europe/Copenhagen", 1);
    tzset();
    return true;
}

static bool same_wall_clock(const struct tm *a, const struct tm *b)
{
    return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon && a->tm_mday == b->tm_mday &&
           a->tm_hour == b->tm_hour && a->tm_min == b->tm_min && a->tm_sec == b->tm_sec;
}

/* Every hour (its first and last second) from 1996 to 2037 against localtime_r(). */
static void test_danish_time_agrees_with_tzdata_1996_2037(void)
{
    if (!use_copenhagen_tzdata())
        return;
    const int64_t from = 820454400;  /* 1996-01-01T00:00:00Z */
    const int64_t to = 2145916800;   /* 2038-01-01T00:00:00Z */
    int bad = 0, ambiguous = 0, summer = 0, checked = 0;
    for (int64_t hour = from; hour < to; hour += 3600) {
        for (int64_t t = hour; t <= hour + 3599; t += 3599) {
            time_t tt = (time_t)t, before = (time_t)(t - 3600);
            struct tm tm, tm_before;
            if (!localtime_r(&tt, &tm) || !localtime_r(&before, &tm_before)) {
                CHECK_FAIL_("localtime_r failed at %" PRId64, t);
                return;
            }
            tr_date_t wall = D(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
            /* the second pass of the autumn hour: the same wall clock an hour earlier */
            int64_t expect_utc = t;
            if (same_wall_clock(&tm, &tm_before)) {
                expect_utc = t - 3600;
                ambiguous++;
            }
            summer += tm.tm_gmtoff == 7200;
            int offset = tr_calendar_utc_offset(t);
            tr_date_t date = tr_calendar_local_date(t);
            int64_t utc = tr_calendar_local_to_utc(wall, tm.tm_hour, tm.tm_min, tm.tm_sec);
            if (offset != tm.tm_gmtoff || tr_calendar_compare(date, wall) != 0 ||
                utc != expect_utc) {
                if (bad++ < 5)
                    CHECK_FAIL_("at %" PRId64 " tzdata says %04d-%02d-%02d %02d:%02d:%02d %+ld; "
                                "got offset %d, date %04d-%02d-%02d, back to %" PRId64,
                                t, wall.year, wall.month, wall.day, tm.tm_hour, tm.tm_min,
                                tm.tm_sec, tm.tm_gmtoff, offset, date.year, date.month, date.day,
                                utc);
            }
            checked++;
        }
    }
    CHECK_INT_EQ(bad, 0);
    CHECK_INT_EQ(checked, 2 * (to - from) / 3600);
    /* each autumn hour is met twice (first and last second) in 42 years */
    CHECK_INT_EQ(ambiguous, 2 * 42);
    CHECK(summer > checked / 3); /* tzdata really had summer time: TZ took effect */
}

/* Every Danish day from 1996 to 2037: its last second and the deadline instant after it. */
static void test_end_of_day_agrees_with_tzdata_1996_2037(void)
{
    if (!use_copenhagen_tzdata())
        return;
    int bad = 0, days = 0;
    for (tr_date_t d = D(1996, 1, 1); d.year <= 2037; d = tr_calendar_add_days(d, 1)) {
        int64_t end = tr_calendar_end_of_day_utc(d);
        time_t last = (time_t)(end - 1), first = (time_t)end;
        struct tm a, b;
        localtime_r(&last, &a);
        localtime_r(&first, &b);
        tr_date_t next = tr_calendar_add_days(d, 1);
        bool ok = a.tm_year + 1900 == d.year && a.tm_mon + 1 == d.month && a.tm_mday == d.day &&
                  a.tm_hour == 23 && a.tm_min == 59 && a.tm_sec == 59 &&
                  b.tm_year + 1900 == next.year && b.tm_mon + 1 == next.month &&
                  b.tm_mday == next.day && b.tm_hour == 0 && b.tm_min == 0 && b.tm_sec == 0;
        if (!ok && bad++ < 5)
            CHECK_FAIL_("end of %04d-%02d-%02d is %" PRId64 ", tzdata disagrees", d.year, d.month,
                        d.day, end);
        days++;
    }
    CHECK_INT_EQ(bad, 0);
    CHECK_INT_EQ(days, 15341); /* 1996-01-01 .. 2037-12-31 */
}

/* ---- Text ----------------------------------------------------------------------------------- */

static void test_parse_date_valid(void)
{
    tr_date_t d = D(0, 0, 0);
    tr_error_t err;
    tr_error_clear(&err);
    CHECK_INT_EQ(tr_calendar_parse_date("2024-02-29", &d, &err), 0);
    CHECK_DATE(d, "2024-02-29");
    CHECK_INT_EQ(err.code, 0);
    CHECK_INT_EQ(tr_calendar_parse_date("0001-01-01", &d, NULL), 0);
    CHECK_DATE(d, "0001-01-01");
    CHECK_INT_EQ(tr_calendar_parse_date("9999-12-31", &d, NULL), 0);
    CHECK_DATE(d, "9999-12-31");
}

/* Parses s, expecting TR_EINVAL with exactly the message, and *out untouched. */
static void check_parse_error(const char *s, const char *message)
{
    tr_date_t d = D(1111, 11, 11);
    tr_error_t err;
    tr_error_clear(&err);
    CHECK_INT_EQ(tr_calendar_parse_date(s, &d, &err), TR_EINVAL);
    CHECK_INT_EQ(err.code, TR_EINVAL);
    CHECK_STR_EQ(err.message, message);
    CHECK_DATE(d, "1111-11-11");
    CHECK_INT_EQ(tr_calendar_parse_date(s, &d, NULL), TR_EINVAL); /* err is optional */
}

static void test_parse_date_errors(void)
{
    check_parse_error("", "invalid date \"\": must be YYYY-MM-DD");
    check_parse_error("2024-3-1", "invalid date \"2024-3-1\": must be YYYY-MM-DD");
    check_parse_error("2024/03/01", "invalid date \"2024/03/01\": must be YYYY-MM-DD");
    check_parse_error("24-03-2024", "invalid date \"24-03-2024\": must be YYYY-MM-DD");
    check_parse_error("+024-03-01", "invalid date \"+024-03-01\": must be YYYY-MM-DD");
    /* The value is shown as valid UTF-8: its own characters as they are, other bytes as \xNN
     * (the message goes out in refusal events). */
    check_parse_error("201-00-\xff\x0f" "5", "invalid date \"201-00-\\xff\\x0f5\": must be YYYY-MM-DD");
    check_parse_error("2024-æø-01", "invalid date \"2024-æø-01\": must be YYYY-MM-DD");
    check_parse_error("2024-0\xc3", "invalid date \"2024-0\\xc3\": must be YYYY-MM-DD");
    check_parse_error(" 2024-03-01", "invalid date \" 2024-03-01\": must be YYYY-MM-DD");
    check_parse_error("2024-03-01T00:00", "invalid date \"2024-03-01T00:00\": must be YYYY-MM-DD");
    check_parse_error("2024-13-01", "invalid date \"2024-13-01\": month must be 01 to 12");
    check_parse_error("2024-00-10", "invalid date \"2024-00-10\": month must be 01 to 12");
    check_parse_error("2023-02-29", "invalid date \"2023-02-29\": February 2023 has 28 days");
    check_parse_error("2024-02-30", "invalid date \"2024-02-30\": February 2024 has 29 days");
    check_parse_error("2024-04-31", "invalid date \"2024-04-31\": April 2024 has 30 days");
    check_parse_error("2024-04-00", "invalid date \"2024-04-00\": day must be 01 to 30");
    check_parse_error("0000-06-01", "invalid date \"0000-06-01\": year must be 0001 to 9999");
}

static void test_parse_date_error_quotes_input_safely(void)
{
    /* control bytes are escaped, long input is cut at 40 bytes */
    check_parse_error("2024-01-0\n", "invalid date \"2024-01-0\\x0a\": must be YYYY-MM-DD");
    check_parse_error("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                      "invalid date \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\": "
                      "must be YYYY-MM-DD");
}

static void test_format_date(void)
{
    char buf[TR_CALENDAR_DATE_LEN];
    tr_calendar_format_date(D(2024, 3, 5), buf);
    CHECK_STR_EQ(buf, "2024-03-05");
    tr_calendar_format_date(D(1, 1, 1), buf);
    CHECK_STR_EQ(buf, "0001-01-01");
    tr_calendar_format_date(D(9999, 12, 31), buf);
    CHECK_STR_EQ(buf, "9999-12-31");
}

static void test_format_local(void)
{
    char buf[64];
    CHECK_INT_EQ(tr_calendar_format_local(1711631100, buf, sizeof buf), 0);
    CHECK_STR_EQ(buf, "2024-03-28 14:05 (CET)"); /* 13:05Z */
    CHECK_INT_EQ(tr_calendar_format_local(1719784799, buf, sizeof buf), 0);
    CHECK_STR_EQ(buf, "2024-06-30 23:59 (CEST)"); /* 21:59:59Z: seconds dropped, not rounded */
    /* the ambiguous hour: the zone tells the two 02:30s apart */
    CHECK_INT_EQ(tr_calendar_format_local(1729989000, buf, sizeof buf), 0);
    CHECK_STR_EQ(buf, "2024-10-27 02:30 (CEST)");
    CHECK_INT_EQ(tr_calendar_format_local(1729992600, buf, sizeof buf), 0);
    CHECK_STR_EQ(buf, "2024-10-27 02:30 (CET)");
}

static void test_format_local_buffer_too_small(void)
{
    char buf[64];
    CHECK_INT_EQ(tr_calendar_format_local(1711631100, buf, 23), 0); /* 22 characters + NUL */
    CHECK_STR_EQ(buf, "2024-03-28 14:05 (CET)");
    CHECK_INT_EQ(tr_calendar_format_local(1711631100, buf, 22), TR_ERANGE);
    CHECK_STR_EQ(buf, "");
    CHECK_INT_EQ(tr_calendar_format_local(1719784799, buf, 23), TR_ERANGE); /* CEST needs 24 */
    CHECK_STR_EQ(buf, "");
    buf[0] = 'x';
    CHECK_INT_EQ(tr_calendar_format_local(1711631100, buf, 0), TR_ERANGE);
    CHECK_INT_EQ(buf[0], 'x'); /* len 0: nothing written */
}

int main(void)
{
    CHECK_RUN(test_days_from_civil_known_values);
    CHECK_RUN(test_day_numbers_agree_with_counting_days);
    CHECK_RUN(test_days_in_month_leap_years);
    CHECK_RUN(test_is_valid);
    CHECK_RUN(test_weekday_iso);
    CHECK_RUN(test_compare);
    CHECK_RUN(test_add_days);
    CHECK_RUN(test_add_weeks_same_weekday);
    CHECK_RUN(test_add_months_end_of_month);
    CHECK_RUN(test_add_months_rollover);
    CHECK_RUN(test_easter_published_table_1900_2100);
    CHECK_RUN(test_easter_known_years);
    CHECK_RUN(test_helligdage_2023);
    CHECK_RUN(test_helligdage_2024);
    CHECK_RUN(test_helligdage_2025);
    CHECK_RUN(test_store_bededag_abolished_from_2024);
    CHECK_RUN(test_closed_days_are_not_hverdage_nor_helligdage);
    CHECK_RUN(test_hverdag_weekends_and_ordinary_days);
    CHECK_RUN(test_add_hverdage_receipt_across_easter_2024);
    CHECK_RUN(test_add_hverdage_across_easter_2025);
    CHECK_RUN(test_add_hverdage_store_bededag_2023_vs_2024);
    CHECK_RUN(test_add_hverdage_across_grundlovsdag);
    CHECK_RUN(test_add_hverdage_christmas_to_new_year);
    CHECK_RUN(test_add_hverdage_zero_is_the_same_day);
    CHECK_RUN(test_next_hverdag);
    CHECK_RUN(test_appeal_deadline_four_weeks_on_juledag);
    CHECK_RUN(test_utc_offset_switches_2024);
    CHECK_RUN(test_local_date_at_midnight);
    CHECK_RUN(test_local_to_utc_spring_gap);
    CHECK_RUN(test_local_to_utc_autumn_ambiguous_hour);
    CHECK_RUN(test_end_of_day_utc);
    CHECK_RUN(test_danish_time_agrees_with_tzdata_1996_2037);
    CHECK_RUN(test_end_of_day_agrees_with_tzdata_1996_2037);
    CHECK_RUN(test_parse_date_valid);
    CHECK_RUN(test_parse_date_errors);
    CHECK_RUN(test_parse_date_error_quotes_input_safely);
    CHECK_RUN(test_format_date);
    CHECK_RUN(test_format_local);
    CHECK_RUN(test_format_local_buffer_too_small);
    return check_done();
}
