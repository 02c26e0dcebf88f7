/* test_intake_dates.c — the intake deadlines (services/intake/dates.c) on the Danish calendar:
 * the kvittering's 6 hverdage across Easter 2024 and 2025, store bededag in 2023 (a holiday)
 * and 2024 (abolished), Christmas and New Year; the Danish date of receipt around midnight; the
 * end of the due day in winter and summer time; the 24 hours across a summer-time change; and
 * the 12 months behind an underretning. The module is compiled in here: it is pure, and its
 * daemon is a program, not a library. */
#include "../../services/intake/dates.c"

#include <time.h>

#include "check.h"

/* Expected instants as UTC text, written out by hand (and checked with GNU date). */
static int64_t utc(const char *rfc3339)
{
    struct tm tm = {0};
    strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return (int64_t)timegm(&tm) * INTAKE_US_PER_SECOND;
}

static void format_date(tr_date_t d, char buf[TR_CALENDAR_DATE_LEN])
{
    tr_calendar_format_date(d, buf);
}

#define CHECK_DUE(received, expected)                                                              \
    do {                                                                                           \
        char buf_[TR_CALENDAR_DATE_LEN];                                                           \
        format_date(intake_receipt_due_date(utc(received)), buf_);                                 \
        CHECK_STR_EQ(buf_, (expected));                                                            \
    } while (0)

static void test_receipt_easter_2024(void)
{
    /* Easter Sunday 2024-03-31: Skærtorsdag 28, Langfredag 29 March and 2. påskedag 1 April are
     * no hverdage. Thursday 21 March: Fri 22, Mon 25, Tue 26, Wed 27, (28, 29, 1 April), Tue 2,
     * Wed 3. */
    CHECK_DUE("2024-03-21T09:00:00Z", "2024-04-03");
    /* Wednesday 27 March, just before the holidays: Tue 2, Wed 3, Thu 4, Fri 5, Mon 8, Tue 9. */
    CHECK_DUE("2024-03-27T15:30:00Z", "2024-04-09");
    /* Received on Langfredag itself: the day of receipt never counts. */
    CHECK_DUE("2024-03-29T10:00:00Z", "2024-04-09");
}

static void test_receipt_easter_2025(void)
{
    /* Easter Sunday 2025-04-20: 17, 18 and 21 April are holidays. Tuesday 15 April: Wed 16,
     * Tue 22, Wed 23, Thu 24, Fri 25, Mon 28. */
    CHECK_DUE("2025-04-15T08:00:00Z", "2025-04-28");
    /* Friday 11 April: Mon 14, Tue 15, Wed 16, Tue 22, Wed 23, Thu 24. */
    CHECK_DUE("2025-04-11T08:00:00Z", "2025-04-24");
}

static void test_receipt_store_bededag(void)
{
    /* 2023: store bededag, Friday 5 May, is a holiday. Monday 1 May: Tue 2, Wed 3, Thu 4,
     * Mon 8, Tue 9, Wed 10. */
    CHECK_DUE("2023-05-01T08:00:00Z", "2023-05-10");
    /* 2024: abolished; Friday 26 April is a hverdag. Monday 22 April: Tue 23, Wed 24, Thu 25,
     * Fri 26, Mon 29, Tue 30. */
    CHECK_DUE("2024-04-22T08:00:00Z", "2024-04-30");
}

static void test_receipt_christmas(void)
{
    /* Friday 20 December 2024: Mon 23, (24, 25, 26 December), Fri 27, Mon 30, (31, 1 January),
     * Thu 2, Fri 3, Mon 6 January 2025. */
    CHECK_DUE("2024-12-20T08:00:00Z", "2025-01-06");
    /* Received on 24 December: Fri 27, Mon 30, Thu 2, Fri 3, Mon 6, Tue 7. */
    CHECK_DUE("2024-12-24T08:00:00Z", "2025-01-07");
}

static void test_receipt_counts_from_the_danish_date(void)
{
    /* 23:30 UTC on Wednesday 20 March is 00:30 on Thursday 21 March in Denmark (CET). */
    CHECK_DUE("2024-03-20T23:30:00Z", "2024-04-03");
    /* 22:59 UTC is still 23:59 on Wednesday 20 March: Thu 21 ... Wed 27, then Tue 2 April. */
    CHECK_DUE("2024-03-20T22:59:00Z", "2024-04-02");
    /* Summer time: 22:30 UTC on 30 June is 00:30 CEST on Monday 1 July. */
    CHECK_DUE("2024-06-30T22:30:00Z", "2024-07-09");
}

static void test_receipt_overdue_at_the_end_of_the_danish_day(void)
{
    /* 3 April 2024 is in summer time: the day ends at 22:00 UTC. */
    CHECK_INT_EQ(intake_receipt_overdue_at((tr_date_t){2024, 4, 3}), utc("2024-04-03T22:00:00Z"));
    /* 6 January 2025 is in winter time: 23:00 UTC. */
    CHECK_INT_EQ(intake_receipt_overdue_at((tr_date_t){2025, 1, 6}), utc("2025-01-06T23:00:00Z"));
}

static void test_triage_due_24_real_hours(void)
{
    CHECK_INT_EQ(intake_triage_due_at(utc("2024-03-21T09:15:00Z")), utc("2024-03-22T09:15:00Z"));
    /* Across the night summer time begins (31 March 2024): 11:00 CET + 24 hours = 12:00 CEST. */
    CHECK_INT_EQ(intake_triage_due_at(utc("2024-03-30T10:00:00Z")), utc("2024-03-31T10:00:00Z"));
    /* Microseconds are kept. */
    CHECK_INT_EQ(intake_triage_due_at(utc("2024-03-21T09:15:00Z") + 123456),
                 utc("2024-03-22T09:15:00Z") + 123456);
    /* The warning: 4 hours before. */
    CHECK_INT_EQ(intake_triage_warning_at(utc("2024-03-21T09:15:00Z"), 4 * 3600 * 1000),
                 utc("2024-03-22T05:15:00Z"));
}

static void test_orientation_due_date(void)
{
    char buf[TR_CALENDAR_DATE_LEN];
    /* 10 hverdage after Wednesday 27 March 2024, over Easter: 2, 3, 4, 5, 8, 9, 10, 11, 12, 15. */
    format_date(intake_orientation_due_date(utc("2024-03-27T12:00:00Z"), 10), buf);
    CHECK_STR_EQ(buf, "2024-04-15");
}

static void test_twelve_months_before(void)
{
    /* The same Danish wall time a year earlier. */
    CHECK_INT_EQ(intake_twelve_months_before(utc("2024-07-15T10:00:00Z")),
                 utc("2023-07-15T10:00:00Z"));
    /* 29 February 2024 -> 28 February 2023. */
    CHECK_INT_EQ(intake_twelve_months_before(utc("2024-02-29T12:00:00Z")),
                 utc("2023-02-28T12:00:00Z"));
    /* 30 March 2024 12:00 is winter time (11:00 UTC); 30 March 2023 12:00 was summer time
     * (10:00 UTC), since summer time began on 26 March in 2023. */
    CHECK_INT_EQ(intake_twelve_months_before(utc("2024-03-30T11:00:00Z")),
                 utc("2023-03-30T10:00:00Z"));
}

int main(void)
{
    CHECK_RUN(test_receipt_easter_2024);
    CHECK_RUN(test_receipt_easter_2025);
    CHECK_RUN(test_receipt_store_bededag);
    CHECK_RUN(test_receipt_christmas);
    CHECK_RUN(test_receipt_counts_from_the_danish_date);
    CHECK_RUN(test_receipt_overdue_at_the_end_of_the_danish_day);
    CHECK_RUN(test_triage_due_24_real_hours);
    CHECK_RUN(test_orientation_due_date);
    CHECK_RUN(test_twelve_months_before);
    return check_done();
}
