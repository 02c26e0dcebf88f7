#include "money.h"

#include "check.h"

#define SENTINEL ((tr_oere_t)4242)

static tr_oere_t scaled(tr_oere_t amount, int64_t numerator, int64_t denominator)
{
    tr_oere_t out = SENTINEL;
    CHECK_INT_EQ(tr_money_scale(amount, numerator, denominator, &out), 0);
    return out;
}

static tr_oere_t prorated(tr_oere_t amount, int days_active, int days_in_period)
{
    tr_oere_t out = SENTINEL;
    CHECK_INT_EQ(tr_money_prorate_days(amount, days_active, days_in_period, &out), 0);
    return out;
}

static const char *formatted(tr_oere_t amount, char buf[TR_MONEY_FORMAT_MAX])
{
    CHECK_INT_EQ(tr_money_format(amount, buf, TR_MONEY_FORMAT_MAX), 0);
    return buf;
}

static const char *formatted_plain(tr_oere_t amount, char buf[TR_MONEY_FORMAT_MAX])
{
    CHECK_INT_EQ(tr_money_format_plain(amount, buf, TR_MONEY_FORMAT_MAX), 0);
    return buf;
}

static tr_oere_t parsed(const char *text)
{
    tr_oere_t out = SENTINEL;
    tr_error_t err = {0};
    int rc = tr_money_parse(text, &out, &err);
    if (rc != 0)
        printf("#   %s: %s\n", text, err.message);
    CHECK_INT_EQ(rc, 0);
    return out;
}

static void check_parse_rejected(const char *text, int code, const char *message)
{
    tr_oere_t out = SENTINEL;
    tr_error_t err = {0};
    CHECK_INT_EQ(tr_money_parse(text, &out, &err), code);
    CHECK_INT_EQ(err.code, code);
    CHECK_STR_EQ(err.message, message);
    CHECK_INT_EQ(out, SENTINEL);
}

static void test_rounding_one_oere(void)
{
    /* exactly half an øre: away from zero, the same on both sides */
    CHECK_INT_EQ(scaled(1, 1, 2), 1);
    CHECK_INT_EQ(scaled(-1, 1, 2), -1);
    CHECK_INT_EQ(scaled(3, 1, 2), 2);
    CHECK_INT_EQ(scaled(-3, 1, 2), -2);
    CHECK_INT_EQ(scaled(5, 1, 2), 3);
    CHECK_INT_EQ(scaled(-5, 1, 2), -3);
    CHECK_INT_EQ(scaled(1249, 1, 2), 625); /* 12,49 kr. halved: 6,245 kr. -> 6,25 kr. */
    CHECK_INT_EQ(scaled(-1249, 1, 2), -625);
    /* just below and just above half */
    CHECK_INT_EQ(scaled(4999, 1, 10000), 0);
    CHECK_INT_EQ(scaled(-4999, 1, 10000), 0);
    CHECK_INT_EQ(scaled(5000, 1, 10000), 1);
    CHECK_INT_EQ(scaled(-5000, 1, 10000), -1);
    CHECK_INT_EQ(scaled(5001, 1, 10000), 1);
    /* thirds */
    CHECK_INT_EQ(scaled(100, 1, 3), 33);
    CHECK_INT_EQ(scaled(100, 2, 3), 67);
    CHECK_INT_EQ(scaled(-100, 2, 3), -67);
    CHECK_INT_EQ(scaled(100, 0, 3), 0);
}

static void test_scale_rejects_bad_ratio(void)
{
    tr_oere_t out = SENTINEL;
    CHECK_INT_EQ(tr_money_scale(100, 1, 0, &out), TR_EINVAL);
    CHECK_INT_EQ(tr_money_scale(100, 1, -3, &out), TR_EINVAL);
    CHECK_INT_EQ(tr_money_scale(100, -1, 3, &out), TR_EINVAL);
    CHECK_INT_EQ(out, SENTINEL);
}

static void test_scale_128_bit_intermediate(void)
{
    tr_oere_t out = SENTINEL;
    /* 3e12 * 3e12 = 9e24 does not fit in 64 bits; the result 9e12 does */
    CHECK_INT_EQ(scaled(3000000000000, 3000000000000, 1000000000000), 9000000000000);
    CHECK_INT_EQ(scaled(INT64_MAX, INT64_MAX, INT64_MAX), INT64_MAX);
    CHECK_INT_EQ(scaled(INT64_MIN, INT64_MAX, INT64_MAX), INT64_MIN);
    CHECK_INT_EQ(scaled(INT64_MAX, 1, 2), 4611686018427387904); /* ...903.5 rounds up */
    CHECK_INT_EQ(scaled(INT64_MIN, 1, 2), -4611686018427387904);
    CHECK_INT_EQ(scaled(INT64_MIN, 2, 2), INT64_MIN);
    CHECK_INT_EQ(tr_money_scale(INT64_MAX, 2, 1, &out), TR_EOVERFLOW);
    CHECK_INT_EQ(tr_money_scale(INT64_MIN, 3, 2, &out), TR_EOVERFLOW);
    /* MAX * MAX / (MAX - 1) is just above MAX */
    CHECK_INT_EQ(tr_money_scale(INT64_MAX, INT64_MAX, INT64_MAX - 1, &out), TR_EOVERFLOW);
    CHECK_INT_EQ(out, SENTINEL);
}

static void test_prorate_february(void)
{
    /* A monthly price of 30.000,00 kr. = 3,000,000 øre, active 10 days of February.
     * 2024, 29 days: 3,000,000 * 10 / 29 = 30,000,000 / 29 = 1,034,482 rest 22 (22/29 > 1/2)
     *   -> 1,034,483 øre = 10.344,83 kr.
     * 2025, 28 days: 30,000,000 / 28 = 1,071,428 rest 16 (16/28 > 1/2)
     *   -> 1,071,429 øre = 10.714,29 kr. */
    CHECK_INT_EQ(prorated(3000000, 10, 29), 1034483);
    CHECK_INT_EQ(prorated(3000000, 10, 28), 1071429);
    /* the credit for the same days is exactly the negative */
    CHECK_INT_EQ(prorated(-3000000, 10, 29), -1034483);
}

static void test_prorate_16_of_30(void)
{
    /* 3,000,000 * 16 / 30 = 1,600,000 exactly = 16.000,00 kr. */
    CHECK_INT_EQ(prorated(3000000, 16, 30), 1600000);
    /* 1.234,57 kr.: 123,457 * 16 / 30 = 1,975,312 / 30 = 65,843 rest 22 (22/30 > 1/2) -> 65,844 */
    CHECK_INT_EQ(prorated(123457, 16, 30), 65844);
    /* 3 øre for 15 of 30 days is 1.5 øre */
    CHECK_INT_EQ(prorated(3, 15, 30), 2);
    CHECK_INT_EQ(prorated(-3, 15, 30), -2);
    CHECK_INT_EQ(prorated(3000000, 30, 30), 3000000);
    CHECK_INT_EQ(prorated(3000000, 0, 30), 0);
}

static void test_prorate_rejects_impossible_days(void)
{
    tr_oere_t out = SENTINEL;
    CHECK_INT_EQ(tr_money_prorate_days(3000000, 31, 30, &out), TR_EINVAL);
    CHECK_INT_EQ(tr_money_prorate_days(3000000, -1, 30, &out), TR_EINVAL);
    CHECK_INT_EQ(tr_money_prorate_days(3000000, 0, 0, &out), TR_EINVAL);
    CHECK_INT_EQ(out, SENTINEL);
}

static void test_add_overflow(void)
{
    tr_oere_t out = SENTINEL;
    CHECK_INT_EQ(tr_money_add(INT64_MAX, 1, &out), TR_EOVERFLOW);
    CHECK_INT_EQ(tr_money_add(INT64_MIN, -1, &out), TR_EOVERFLOW);
    CHECK_INT_EQ(tr_money_add(INT64_MAX, INT64_MAX, &out), TR_EOVERFLOW);
    CHECK_INT_EQ(out, SENTINEL);
    CHECK_INT_EQ(tr_money_add(INT64_MAX - 1, 1, &out), 0);
    CHECK_INT_EQ(out, INT64_MAX);
    CHECK_INT_EQ(tr_money_add(INT64_MIN + 1, -1, &out), 0);
    CHECK_INT_EQ(out, INT64_MIN);
    CHECK_INT_EQ(tr_money_add(INT64_MAX, INT64_MIN, &out), 0);
    CHECK_INT_EQ(out, -1);
    CHECK_INT_EQ(tr_money_add(123456, -307, &out), 0);
    CHECK_INT_EQ(out, 123149);
}

static void test_mul_overflow(void)
{
    tr_oere_t out = SENTINEL;
    CHECK_INT_EQ(tr_money_mul(INT64_MAX, 2, &out), TR_EOVERFLOW);
    CHECK_INT_EQ(tr_money_mul(4611686018427387904, 2, &out), TR_EOVERFLOW); /* 2^62 * 2 */
    CHECK_INT_EQ(tr_money_mul(INT64_MIN, -1, &out), TR_EOVERFLOW);
    CHECK_INT_EQ(tr_money_mul(INT64_MIN, 2, &out), TR_EOVERFLOW);
    CHECK_INT_EQ(out, SENTINEL);
    CHECK_INT_EQ(tr_money_mul(-4611686018427387904, 2, &out), 0);
    CHECK_INT_EQ(out, INT64_MIN);
    CHECK_INT_EQ(tr_money_mul(3074457345618258602, 3, &out), 0);
    CHECK_INT_EQ(out, INT64_MAX - 1);
    CHECK_INT_EQ(tr_money_mul(INT64_MIN, 1, &out), 0);
    CHECK_INT_EQ(out, INT64_MIN);
    CHECK_INT_EQ(tr_money_mul(45000, 37, &out), 0); /* 450 kr. an hour, 37 hours */
    CHECK_INT_EQ(out, 1665000);
}

static void test_format_danish(void)
{
    char buf[TR_MONEY_FORMAT_MAX];
    CHECK_STR_EQ(formatted(0, buf), "0,00 kr.");
    CHECK_STR_EQ(formatted(1, buf), "0,01 kr.");
    CHECK_STR_EQ(formatted(99, buf), "0,99 kr.");
    CHECK_STR_EQ(formatted(100, buf), "1,00 kr.");
    CHECK_STR_EQ(formatted(99999, buf), "999,99 kr.");
    CHECK_STR_EQ(formatted(100000, buf), "1.000,00 kr.");
    CHECK_STR_EQ(formatted(123456, buf), "1.234,56 kr.");
    CHECK_STR_EQ(formatted(123456789, buf), "1.234.567,89 kr.");
    CHECK_STR_EQ(formatted(-1, buf), "-0,01 kr.");
    CHECK_STR_EQ(formatted(-123456789, buf), "-1.234.567,89 kr.");
    CHECK_STR_EQ(formatted(INT64_MAX, buf), "92.233.720.368.547.758,07 kr.");
    CHECK_STR_EQ(formatted(INT64_MIN, buf), "-92.233.720.368.547.758,08 kr.");
}

static void test_format_plain(void)
{
    char buf[TR_MONEY_FORMAT_MAX];
    CHECK_STR_EQ(formatted_plain(0, buf), "0.00");
    CHECK_STR_EQ(formatted_plain(1, buf), "0.01");
    CHECK_STR_EQ(formatted_plain(99, buf), "0.99");
    CHECK_STR_EQ(formatted_plain(100, buf), "1.00");
    CHECK_STR_EQ(formatted_plain(123456789, buf), "1234567.89");
    CHECK_STR_EQ(formatted_plain(-1, buf), "-0.01");
    CHECK_STR_EQ(formatted_plain(-123456789, buf), "-1234567.89");
    CHECK_STR_EQ(formatted_plain(INT64_MIN, buf), "-92233720368547758.08");
}

static void test_format_buffer_too_small(void)
{
    char buf[TR_MONEY_FORMAT_MAX] = "junk";
    CHECK_INT_EQ(tr_money_format(0, buf, 8), TR_ERANGE); /* "0,00 kr." needs 9 with the NUL */
    CHECK_STR_EQ(buf, "");
    CHECK_INT_EQ(tr_money_format(0, buf, 9), 0);
    CHECK_STR_EQ(buf, "0,00 kr.");
    CHECK_INT_EQ(tr_money_format_plain(-1, buf, 5), TR_ERANGE);
    CHECK_STR_EQ(buf, "");
    CHECK_INT_EQ(tr_money_format_plain(-1, NULL, 0), TR_ERANGE);
}

static void test_parse(void)
{
    CHECK_INT_EQ(parsed("1234"), 123400);
    CHECK_INT_EQ(parsed("1234.5"), 123450);
    CHECK_INT_EQ(parsed("1234.56"), 123456);
    CHECK_INT_EQ(parsed("-3.07"), -307);
    CHECK_INT_EQ(parsed("-0.01"), -1);
    CHECK_INT_EQ(parsed("0"), 0);
    CHECK_INT_EQ(parsed("-0"), 0);
    CHECK_INT_EQ(parsed("0.5"), 50);
    CHECK_INT_EQ(parsed("007.50"), 750);
    CHECK_INT_EQ(parsed("92233720368547758.07"), INT64_MAX);
    CHECK_INT_EQ(parsed("-92233720368547758.08"), INT64_MIN);
}

static void test_parse_round_trip(void)
{
    static const tr_oere_t amounts[] = {0, 1, -1, 99, 100, 123456789, -307, INT64_MAX, INT64_MIN};
    char buf[TR_MONEY_FORMAT_MAX];
    for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++)
        CHECK_INT_EQ(parsed(formatted_plain(amounts[i], buf)), amounts[i]);
}

static void test_parse_errors(void)
{
    check_parse_rejected("12.345", TR_EINVAL,
                         "invalid amount \"12.345\": at most two decimals (øre)");
    check_parse_rejected("-0.001", TR_EINVAL,
                         "invalid amount \"-0.001\": at most two decimals (øre)");
    check_parse_rejected(NULL, TR_EINVAL, "missing amount");
    check_parse_rejected("", TR_EINVAL, "missing amount");
    static const char *const malformed[] = {
        "12,50", "1.234,56", "abc", "1.", ".5", "+5", " 5",
        "5 ", "1.2.3", "-", "--5", "1e3", "12.3x", "1 234",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        char message[TR_ERROR_MESSAGE_MAX];
        snprintf(message, sizeof message,
                 "invalid amount \"%s\": must be kroner with at most two decimals after a point, "
                 "such as -1234.56",
                 malformed[i]);
        check_parse_rejected(malformed[i], TR_EINVAL, message);
    }
    check_parse_rejected("12,50", TR_EINVAL,
                         "invalid amount \"12,50\": must be kroner with at most two decimals after "
                         "a point, such as -1234.56");
}

static void test_parse_out_of_range(void)
{
    check_parse_rejected("92233720368547758.08", TR_ERANGE,
                         "invalid amount \"92233720368547758.08\": out of range");
    check_parse_rejected("-92233720368547758.09", TR_ERANGE,
                         "invalid amount \"-92233720368547758.09\": out of range");
    check_parse_rejected("184467440737095516.16", TR_ERANGE, /* 2^64 øre: wraps if unchecked */
                         "invalid amount \"184467440737095516.16\": out of range");
    check_parse_rejected("99999999999999999999999", TR_ERANGE,
                         "invalid amount \"99999999999999999999999\": out of range");
    /* the value shown is cut after 32 characters */
    check_parse_rejected("1000000000000000000000000000000000000000", TR_ERANGE,
                         "invalid amount \"10000000000000000000000000000000...\": out of range");
}

static tr_oere_t sum(const tr_oere_t *parts, size_t n)
{
    tr_oere_t total = 0;
    for (size_t i = 0; i < n; i++)
        CHECK_INT_EQ(tr_money_add(total, parts[i], &total), 0);
    return total;
}

static void test_split_equal_thirds(void)
{
    const int64_t w[3] = {1, 1, 1};
    tr_oere_t p[3];
    CHECK_INT_EQ(tr_money_split(100, w, 3, p), 0);
    CHECK_INT_EQ(p[0], 34);
    CHECK_INT_EQ(p[1], 33);
    CHECK_INT_EQ(p[2], 33);
    CHECK_INT_EQ(tr_money_split(-100, w, 3, p), 0);
    CHECK_INT_EQ(p[0], -34);
    CHECK_INT_EQ(p[1], -33);
    CHECK_INT_EQ(p[2], -33);
    CHECK_INT_EQ(tr_money_split(0, w, 3, p), 0);
    CHECK_INT_EQ(p[0] | p[1] | p[2], 0);
}

static void test_split_largest_remainder_not_first(void)
{
    /* 7 øre over 1:2:3:4 (sum 10): exact 0.7, 1.4, 2.1, 2.8 -> whole 0, 1, 2, 2 = 5; the 2 øre
     * left go to the remainders 0.8 (4th) and 0.7 (1st), not to 0.4 (2nd) -> 1, 1, 2, 3 */
    const int64_t w[4] = {1, 2, 3, 4};
    tr_oere_t p[4];
    CHECK_INT_EQ(tr_money_split(7, w, 4, p), 0);
    CHECK_INT_EQ(p[0], 1);
    CHECK_INT_EQ(p[1], 1);
    CHECK_INT_EQ(p[2], 2);
    CHECK_INT_EQ(p[3], 3);
    CHECK_INT_EQ(sum(p, 4), 7);
}

static void test_split_zero_weight(void)
{
    /* 3 over 0:1:1: exact 0, 1.5, 1.5 -> 0, 1, 1 and the one øre left to the earlier tie */
    const int64_t w[3] = {0, 1, 1};
    tr_oere_t p[3];
    CHECK_INT_EQ(tr_money_split(3, w, 3, p), 0);
    CHECK_INT_EQ(p[0], 0);
    CHECK_INT_EQ(p[1], 2);
    CHECK_INT_EQ(p[2], 1);
}

static void test_split_month_over_days(void)
{
    /* 30.000,00 kr. over the 29 days of February 2024: 3,000,000 / 29 = 103,448 rest 8,
     * so the first 8 days get 103,449 øre and the other 21 get 103,448. */
    int64_t w[29];
    tr_oere_t p[29];
    for (size_t i = 0; i < 29; i++)
        w[i] = 1;
    CHECK_INT_EQ(tr_money_split(3000000, w, 29, p), 0);
    CHECK_INT_EQ(sum(p, 29), 3000000);
    CHECK_INT_EQ(p[0], 103449);
    CHECK_INT_EQ(p[7], 103449);
    CHECK_INT_EQ(p[8], 103448);
    CHECK_INT_EQ(p[28], 103448);
    /* February 2025, 28 days: 3,000,000 / 28 = 107,142 rest 24 */
    CHECK_INT_EQ(tr_money_split(3000000, w, 28, p), 0);
    CHECK_INT_EQ(sum(p, 28), 3000000);
    CHECK_INT_EQ(p[23], 107143);
    CHECK_INT_EQ(p[24], 107142);
}

static void test_split_extremes(void)
{
    tr_oere_t p[3];
    const int64_t halves[2] = {1, 1};
    CHECK_INT_EQ(tr_money_split(INT64_MAX, halves, 2, p), 0);
    CHECK_INT_EQ(p[0], 4611686018427387904);
    CHECK_INT_EQ(p[1], 4611686018427387903);
    /* 2^63 / 3 = 3,074,457,345,618,258,602 rest 2 */
    const int64_t thirds[3] = {1, 1, 1};
    CHECK_INT_EQ(tr_money_split(INT64_MIN, thirds, 3, p), 0);
    CHECK_INT_EQ(p[0], -3074457345618258603);
    CHECK_INT_EQ(p[1], -3074457345618258603);
    CHECK_INT_EQ(p[2], -3074457345618258602);
    const int64_t whole[1] = {5};
    CHECK_INT_EQ(tr_money_split(INT64_MIN, whole, 1, p), 0);
    CHECK_INT_EQ(p[0], INT64_MIN);
    /* weights summing past 64 bits: 100 over MAX:MAX:1 -> 49.99..., 49.99..., 0.00... */
    const int64_t huge[3] = {INT64_MAX, INT64_MAX, 1};
    CHECK_INT_EQ(tr_money_split(100, huge, 3, p), 0);
    CHECK_INT_EQ(p[0], 50);
    CHECK_INT_EQ(p[1], 50);
    CHECK_INT_EQ(p[2], 0);
}

/* xorshift64: a fixed sequence, so a failure reproduces */
static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_split_awkward_weights_reconcile(void)
{
    /* Deterministic pseudo-random weights and totals: the parts always add up to the total and
     * each is within one øre of its exact share. */
    uint64_t x = 88172645463325252u;
    int64_t w[37];
    tr_oere_t p[37];
    for (int round = 0; round < 200; round++) {
        size_t n = 1 + round % 37;
        __extension__ __int128 wsum = 0;
        for (size_t i = 0; i < n; i++) {
            /* small weights every third round, for many equal remainders */
            w[i] = (int64_t)(next_random(&x) % (round % 3 == 0 ? 7 : 1000003));
            wsum += w[i];
        }
        if (wsum == 0) {
            w[0] = 1;
            wsum = 1;
        }
        tr_oere_t total = (tr_oere_t)(next_random(&x) % 100000000) - 50000000;
        CHECK_INT_EQ(tr_money_split(total, w, n, p), 0);
        CHECK_INT_EQ(sum(p, n), total);
        for (size_t i = 0; i < n; i++) {
            __extension__ __int128 off = (__int128)p[i] * wsum - (__int128)total * w[i];
            CHECK(off > -wsum && off < wsum);
        }
    }
}

static void test_split_rejects(void)
{
    const int64_t negative[2] = {1, -1}, zeros[2] = {0, 0};
    tr_oere_t p[2] = {SENTINEL, SENTINEL};
    CHECK_INT_EQ(tr_money_split(100, negative, 2, p), TR_EINVAL);
    CHECK_INT_EQ(tr_money_split(100, zeros, 2, p), TR_EINVAL);
    CHECK_INT_EQ(tr_money_split(100, zeros, 0, p), TR_EINVAL);
    CHECK_INT_EQ(p[0], SENTINEL);
    CHECK_INT_EQ(p[1], SENTINEL);
}

int main(void)
{
    CHECK_RUN(test_rounding_one_oere);
    CHECK_RUN(test_scale_rejects_bad_ratio);
    CHECK_RUN(test_scale_128_bit_intermediate);
    CHECK_RUN(test_prorate_february);
    CHECK_RUN(test_prorate_16_of_30);
    CHECK_RUN(test_prorate_rejects_impossible_days);
    CHECK_RUN(test_add_overflow);
    CHECK_RUN(test_mul_overflow);
    CHECK_RUN(test_format_danish);
    CHECK_RUN(test_format_plain);
    CHECK_RUN(test_format_buffer_too_small);
    CHECK_RUN(test_parse);
    CHECK_RUN(test_parse_round_trip);
    CHECK_RUN(test_parse_errors);
    CHECK_RUN(test_parse_out_of_range);
    CHECK_RUN(test_split_equal_thirds);
    CHECK_RUN(test_split_largest_remainder_not_first);
    CHECK_RUN(test_split_zero_weight);
    CHECK_RUN(test_split_month_over_days);
    CHECK_RUN(test_split_extremes);
    CHECK_RUN(test_split_awkward_weights_reconcile);
    CHECK_RUN(test_split_rejects);
    return check_done();
}
