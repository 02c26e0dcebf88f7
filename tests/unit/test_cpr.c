#include "cpr.h"

#include "check.h"

/* The old modulus-11 sum (weights 4 3 2 7 6 5 4 3 2 1); a number "passes" when it is 0 mod 11.
 * Here only to prove that a test number really fails it. */
static int mod11_sum(const char *digits)
{
    static const int w[10] = {4, 3, 2, 7, 6, 5, 4, 3, 2, 1};
    int sum = 0;
    for (int i = 0; i < 10; i++)
        sum += w[i] * (digits[i] - '0');
    return sum % 11;
}

/* Parses text, which must be valid, and checks the birth date. */
static void check_born(const char *text, int year, int month, int day)
{
    tr_cpr_t cpr = {0};
    tr_error_t err = {0};
    int rc = tr_cpr_parse(text, &cpr, &err);
    if (rc != 0)
        printf("#   %s: %s\n", text, err.message);
    CHECK_INT_EQ(rc, 0);
    CHECK_INT_EQ(cpr.birth_year, year);
    CHECK_INT_EQ(cpr.birth_month, month);
    CHECK_INT_EQ(cpr.birth_day, day);
}

/* Parses text, which must be invalid, and checks the exact message. */
static void check_rejected(const char *text, const char *message)
{
    tr_cpr_t cpr = {.birth_year = 42};
    tr_error_t err = {0};
    CHECK_INT_EQ(tr_cpr_parse(text, &cpr, &err), TR_EINVAL);
    CHECK_INT_EQ(err.code, TR_EINVAL);
    CHECK_STR_EQ(err.message, message);
    CHECK_INT_EQ(cpr.birth_year, 42); /* untouched */
}

static void test_with_and_without_dash(void)
{
    tr_cpr_t a, b;
    char buf[TR_CPR_FORMAT_MAX];
    CHECK_INT_EQ(tr_cpr_parse("010190-1235", &a, NULL), 0);
    CHECK_INT_EQ(tr_cpr_parse("0101901235", &b, NULL), 0);
    CHECK_STR_EQ(a.digits, "0101901235");
    CHECK_STR_EQ(b.digits, "0101901235");
    CHECK_INT_EQ(a.birth_year, 1990);
    CHECK_INT_EQ(a.birth_month, 1);
    CHECK_INT_EQ(a.birth_day, 1);
    CHECK(a.male);
    tr_cpr_format(&b, buf);
    CHECK_STR_EQ(buf, "010190-1235");
}

static void test_sex_from_last_digit(void)
{
    tr_cpr_t cpr;
    CHECK_INT_EQ(tr_cpr_parse("010190-1234", &cpr, NULL), 0);
    CHECK(!cpr.male);
    CHECK_INT_EQ(tr_cpr_parse("010190-1239", &cpr, NULL), 0);
    CHECK(cpr.male);
}

static void test_digits_0_to_3_are_1900s(void)
{
    check_born("010100-0000", 1900, 1, 1);
    check_born("311299-3999", 1999, 12, 31);
    check_born("150636-1234", 1936, 6, 15); /* no 2000s for 0-3, whatever YY */
}

static void test_from_1899(void)
{
    /* 7th digit 5-8 with YY 58-99: 1858-1899 */
    check_born("311299-5001", 1899, 12, 31);
    check_born("150699-8123", 1899, 6, 15);
}

static void test_from_2007_failing_modulus_11(void)
{
    /* 7th digit 4 with YY 07: 2007. Such numbers need not pass modulus 11 and must be accepted. */
    tr_cpr_t cpr;
    CHECK(mod11_sum("0101074000") != 0);
    CHECK_INT_EQ(tr_cpr_parse("010107-4000", &cpr, NULL), 0);
    CHECK_INT_EQ(cpr.birth_year, 2007);
    CHECK_INT_EQ(cpr.birth_month, 1);
    CHECK_INT_EQ(cpr.birth_day, 1);
}

static void test_digits_4_and_9_boundary_36_37(void)
{
    check_born("311236-4000", 2036, 12, 31);
    check_born("010137-4000", 1937, 1, 1);
    check_born("311236-9999", 2036, 12, 31);
    check_born("010137-9000", 1937, 1, 1);
    check_born("010100-4000", 2000, 1, 1);
    check_born("311299-9000", 1999, 12, 31);
}

static void test_digits_5_to_8_boundary_57_58(void)
{
    check_born("311257-5000", 2057, 12, 31);
    check_born("010158-5000", 1858, 1, 1);
    check_born("311257-8999", 2057, 12, 31);
    check_born("010158-8999", 1858, 1, 1);
    check_born("010107-6000", 2007, 1, 1);
    check_born("010199-7000", 1899, 1, 1);
}

static void test_leap_days(void)
{
    check_born("290200-4001", 2000, 2, 29); /* 2000 is a leap year (divisible by 400) */
    check_born("290296-1234", 1996, 2, 29);
    check_born("290100-1234", 1900, 1, 29); /* 29 January, a plain date */
    check_rejected("290200-1234", /* 1900 is not a leap year (divisible by 100, not 400) */
                   "invalid CPR number \"290200-1234\": 29 February 1900 is not a date");
    check_rejected("2902015000",
                   "invalid CPR number \"2902015000\": 29 February 2001 is not a date");
}

static void test_rejected_dates(void)
{
    check_rejected("3002901234",
                   "invalid CPR number \"3002901234\": 30 February 1990 is not a date");
    check_rejected("310490-1234",
                   "invalid CPR number \"310490-1234\": 31 April 1990 is not a date");
    check_rejected("0001901234", "invalid CPR number \"0001901234\": 0 January 1990 is not a date");
    check_rejected("0113901234", "invalid CPR number \"0113901234\": there is no month 13");
    check_rejected("0100901234", "invalid CPR number \"0100901234\": there is no month 0");
}

static void test_rejected_shapes(void)
{
    check_rejected("0101901234X", "invalid CPR number \"0101901234X\": must be 10 digits, "
                                  "optionally with a dash after the sixth");
    /* wrong characters */
    check_rejected("01019O1234", "invalid CPR number \"01019O1234\": must be 10 digits, "
                                 "optionally with a dash after the sixth");
    check_rejected("010190 1234", "invalid CPR number \"010190 1234\": must be 10 digits, "
                                  "optionally with a dash after the sixth");
    /* wrong length */
    check_rejected("010190123", "invalid CPR number \"010190123\": must be 10 digits, "
                                "optionally with a dash after the sixth");
    check_rejected("010190-12345", "invalid CPR number \"010190-12345\": must be 10 digits, "
                                   "optionally with a dash after the sixth");
    check_rejected("010190-", "invalid CPR number \"010190-\": must be 10 digits, "
                              "optionally with a dash after the sixth");
    /* dash in the wrong place, or twice */
    check_rejected("01019-01234", "invalid CPR number \"01019-01234\": must be 10 digits, "
                                  "optionally with a dash after the sixth");
    check_rejected("0101901-234", "invalid CPR number \"0101901-234\": must be 10 digits, "
                                  "optionally with a dash after the sixth");
    check_rejected("010190--1234", "invalid CPR number \"010190--1234\": must be 10 digits, "
                                   "optionally with a dash after the sixth");
}

static void test_missing(void)
{
    check_rejected(NULL, "missing CPR number");
    check_rejected("", "missing CPR number");
}

static void test_message_shows_no_more_than_needed(void)
{
    /* a pasted paragraph is cut after 16 characters; a control byte cannot break a log line */
    check_rejected("0101901234 and the rest of a long note",
                   "invalid CPR number \"0101901234 and t...\": must be 10 digits, "
                   "optionally with a dash after the sixth");
    check_rejected("010190\n1234\"", "invalid CPR number \"010190\\x0a1234\\\"\": must be 10 "
                                     "digits, optionally with a dash after the sixth");
}

static void test_error_may_be_null(void)
{
    tr_cpr_t cpr;
    CHECK_INT_EQ(tr_cpr_parse("3002901234", &cpr, NULL), TR_EINVAL);
    CHECK_INT_EQ(tr_cpr_parse(NULL, &cpr, NULL), TR_EINVAL);
}

static void test_age_birthday_today_and_tomorrow(void)
{
    tr_cpr_t cpr;
    CHECK_INT_EQ(tr_cpr_parse("150610-4001", &cpr, NULL), 0); /* 15 June 2010 */
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2024, 6, 15), 14);       /* birthday today */
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2024, 6, 14), 13);       /* birthday tomorrow */
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2024, 12, 31), 14);
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2028, 6, 14), 17);       /* last day as a child */
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2028, 6, 15), 18);
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2010, 6, 15), 0);        /* the day of birth */
}

static void test_age_born_on_leap_day(void)
{
    tr_cpr_t cpr;
    CHECK_INT_EQ(tr_cpr_parse("290208-4001", &cpr, NULL), 0); /* 29 February 2008 */
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2024, 2, 29), 16);
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2025, 2, 28), 16);
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2025, 3, 1), 17);
}

static void test_age_on_impossible_dates(void)
{
    tr_cpr_t cpr;
    CHECK_INT_EQ(tr_cpr_parse("150610-4001", &cpr, NULL), 0);
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2010, 6, 14), TR_ERANGE); /* before birth */
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2009, 12, 31), TR_ERANGE);
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2025, 2, 29), TR_EINVAL);
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2024, 13, 1), TR_EINVAL);
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2024, 4, 31), TR_EINVAL);
    CHECK_INT_EQ(tr_cpr_age_on(&cpr, 2024, 1, 0), TR_EINVAL);
}

int main(void)
{
    CHECK_RUN(test_with_and_without_dash);
    CHECK_RUN(test_sex_from_last_digit);
    CHECK_RUN(test_digits_0_to_3_are_1900s);
    CHECK_RUN(test_from_1899);
    CHECK_RUN(test_from_2007_failing_modulus_11);
    CHECK_RUN(test_digits_4_and_9_boundary_36_37);
    CHECK_RUN(test_digits_5_to_8_boundary_57_58);
    CHECK_RUN(test_leap_days);
    CHECK_RUN(test_rejected_dates);
    CHECK_RUN(test_rejected_shapes);
    CHECK_RUN(test_missing);
    CHECK_RUN(test_message_shows_no_more_than_needed);
    CHECK_RUN(test_error_may_be_null);
    CHECK_RUN(test_age_birthday_today_and_tomorrow);
    CHECK_RUN(test_age_born_on_leap_day);
    CHECK_RUN(test_age_on_impossible_dates);
    return check_done();
}
