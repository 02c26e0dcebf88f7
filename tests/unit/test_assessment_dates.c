/* test_assessment_dates.c — the assessment deadlines (services/assessment/dates.c) on the Danish
 * calendar: the investigation's 4 months from 31 October (29 February in a leap year, 28
 * otherwise) and across midnight Danish time; the appeal deadline's 4 weeks landing on 24 and 31
 * December, on Easter, on 5 June and on a weekend; barnets plan's 3 months and the first
 * follow-up, capped by an investigation running alongside. The module is compiled in here: it is
 * pure, and its daemon is a program, not a library. */
#include "../../services/assessment/dates.c"

#include <time.h>

#include "check.h"

/* Expected instants as UTC text, written out by hand. */
static int64_t utc(const char *rfc3339)
{
    struct tm tm = {0};
    strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return (int64_t)timegm(&tm);
}

static const char *text(tr_date_t d, char buf[TR_CALENDAR_DATE_LEN])
{
    tr_calendar_format_date(d, buf);
    return buf;
}

static tr_date_t date(const char *s)
{
    tr_date_t d = {0, 0, 0};
    CHECK_INT_EQ(tr_calendar_parse_date(s, &d, NULL), 0);
    return d;
}

#define CHECK_DATE(expr, expected)                                                                 \
    do {                                                                                           \
        char buf_[TR_CALENDAR_DATE_LEN];                                                           \
        CHECK_STR_EQ(text((expr), buf_), (expected));                                              \
    } while (0)

static void test_investigation_due_31_october_to_end_of_february(void)
{
    /* §20 stk. 3: 4 months; February has no 31st, so the month's last day. */
    CHECK_DATE(asm_investigation_due_date(utc("2023-10-31T09:00:00Z")), "2024-02-29");
    CHECK_DATE(asm_investigation_due_date(utc("2024-10-31T09:00:00Z")), "2025-02-28");
    CHECK_DATE(asm_investigation_due_date(utc("2024-01-15T12:00:00Z")), "2024-05-15");
    CHECK_DATE(asm_investigation_due_date(utc("2024-06-30T12:00:00Z")), "2024-10-30");
}

static void test_investigation_due_counts_from_the_danish_date(void)
{
    /* 23:30 UTC on 30 October 2023 is 00:30 on 31 October in Denmark (CET, after the change). */
    CHECK_DATE(asm_investigation_due_date(utc("2023-10-30T23:30:00Z")), "2024-02-29");
    /* 21:59 UTC on 30 June 2024 is 23:59 CEST on 30 June. */
    CHECK_DATE(asm_investigation_due_date(utc("2024-06-30T21:59:00Z")), "2024-10-30");
    /* 22:00 UTC is already 1 July in Denmark. */
    CHECK_DATE(asm_investigation_due_date(utc("2024-06-30T22:00:00Z")), "2024-11-01");
}

static void test_overdue_at_the_end_of_the_danish_day(void)
{
    /* 29 February 2024 ends at midnight CET = 23:00 UTC. */
    CHECK_INT_EQ(asm_overdue_at(date("2024-02-29")), utc("2024-02-29T23:00:00Z"));
    /* 30 October 2024 (CET again since 27 October) ends at 23:00 UTC; 30 June in CEST at 22:00. */
    CHECK_INT_EQ(asm_overdue_at(date("2024-10-30")), utc("2024-10-30T23:00:00Z"));
    CHECK_INT_EQ(asm_overdue_at(date("2024-06-30")), utc("2024-06-30T22:00:00Z"));
    /* 14 days' warning. */
    CHECK_INT_EQ(asm_warning_at(date("2024-02-29"), 14LL * 86400 * 1000),
                 utc("2024-02-15T23:00:00Z"));
}

static void test_appeal_deadline_on_24_december_moves_to_the_next_hverdag(void)
{
    /* Notified Wednesday 26 November 2025: 4 weeks is Wednesday 24 December, not a hverdag; 25
     * and 26 December are helligdage, 27-28 a weekend: Monday 29 December. */
    CHECK_DATE(asm_appeal_deadline(utc("2025-11-26T10:00:00Z")), "2025-12-29");
    /* 2026: Thursday 24 December -> Monday 28 December. */
    CHECK_DATE(asm_appeal_deadline(utc("2026-11-26T10:00:00Z")), "2026-12-28");
    /* 31 December 2025 (Wednesday) -> Friday 2 January 2026 (1 January is Nytårsdag). */
    CHECK_DATE(asm_appeal_deadline(utc("2025-12-03T10:00:00Z")), "2026-01-02");
}

static void test_appeal_deadline_on_holidays_and_weekends(void)
{
    /* An ordinary hverdag stays: Thursday 12 March 2026 + 4 weeks = Thursday 9 April. */
    CHECK_DATE(asm_appeal_deadline(utc("2026-03-12T10:00:00Z")), "2026-04-09");
    /* Thursday 5 March 2026 + 4 weeks = Skærtorsdag 2 April (Easter Sunday is 5 April): past
     * Langfredag, the weekend with Påskedag and 2. påskedag to Tuesday 7 April. */
    CHECK_DATE(asm_appeal_deadline(utc("2026-03-05T10:00:00Z")), "2026-04-07");
    /* 5 June (Grundlovsdag) 2024 is a Wednesday -> Thursday 6 June. */
    CHECK_DATE(asm_appeal_deadline(utc("2024-05-08T10:00:00Z")), "2024-06-06");
    /* Store bededag: Friday 5 May 2023 was a helligdag -> Monday 8 May; in 2024 (26 April) it is
     * an ordinary Friday. */
    CHECK_DATE(asm_appeal_deadline(utc("2023-04-07T10:00:00Z")), "2023-05-08");
    CHECK_DATE(asm_appeal_deadline(utc("2024-03-29T10:00:00Z")), "2024-04-26");
    /* The Danish date of notification counts: 23:30 UTC Saturday 1 November 2025 is Sunday 2
     * November in Denmark; 4 weeks later is Sunday 30 November -> Monday 1 December. */
    CHECK_DATE(asm_appeal_deadline(utc("2025-11-01T23:30:00Z")), "2025-12-01");
}

static void test_plan_required_for_section_32_and_placements(void)
{
    for (int nr = TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_1;
         nr <= TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_8; nr++)
        CHECK(asm_plan_required_for((Trivsel__LegalBasis)nr));
    CHECK(asm_plan_required_for(TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_46));
    CHECK(asm_plan_required_for(TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_47));
    CHECK(!asm_plan_required_for(TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_104_105));
    CHECK(!asm_plan_required_for(TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_SERVICELOVEN_85));
    CHECK(!asm_plan_required_for(TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_UNSPECIFIED));
}

static void test_plan_due_three_months_after_the_decision(void)
{
    CHECK_DATE(asm_plan_due_date(utc("2025-11-26T10:00:00Z")), "2026-02-26");
    CHECK_DATE(asm_plan_due_date(utc("2025-11-30T10:00:00Z")), "2026-02-28");
    CHECK_DATE(asm_plan_due_date(utc("2023-11-30T10:00:00Z")), "2024-02-29");
}

static void test_first_followup(void)
{
    /* 3 months after the measure starts. */
    CHECK_DATE(asm_first_followup_date(date("2025-12-01"), NULL), "2026-03-01");
    CHECK_DATE(asm_first_followup_date(date("2025-11-30"), NULL), "2026-02-28");
    /* An investigation running alongside that ends earlier brings it forward... */
    tr_date_t end = date("2026-01-15");
    CHECK_DATE(asm_first_followup_date(date("2025-12-01"), &end), "2026-01-15");
    /* ... and one that ends later does not. */
    end = date("2026-04-01");
    CHECK_DATE(asm_first_followup_date(date("2025-12-01"), &end), "2026-03-01");
}

static void test_instant_range(void)
{
    CHECK(asm_instant_ok(0));
    CHECK(asm_instant_ok(utc("1900-01-01T00:00:00Z")));
    CHECK(!asm_instant_ok(utc("1900-01-01T00:00:00Z") - 1));
    CHECK(asm_instant_ok(utc("8999-12-31T23:59:59Z")));
    CHECK(!asm_instant_ok(utc("8999-12-31T23:59:59Z") + 1));
}

int main(void)
{
    CHECK_RUN(test_investigation_due_31_october_to_end_of_february);
    CHECK_RUN(test_investigation_due_counts_from_the_danish_date);
    CHECK_RUN(test_overdue_at_the_end_of_the_danish_day);
    CHECK_RUN(test_appeal_deadline_on_24_december_moves_to_the_next_hverdag);
    CHECK_RUN(test_appeal_deadline_on_holidays_and_weekends);
    CHECK_RUN(test_plan_required_for_section_32_and_placements);
    CHECK_RUN(test_plan_due_three_months_after_the_decision);
    CHECK_RUN(test_first_followup);
    CHECK_RUN(test_instant_range);
    return check_done();
}
