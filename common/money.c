#include "money.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The longest valid amount is 21 characters ("-92233720368547758.08"); show a little more, so an
 * out-of-range value is recognisable, but never a whole pasted document. */
enum { ECHO_MAX = 32 };

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

/* |v| without overflow, also for INT64_MIN. */
static uint64_t magnitude(int64_t v)
{
    return v < 0 ? -(uint64_t)v : (uint64_t)v;
}

/* num / den rounded to the nearest integer, halves away from zero; den > 0. C division
 * truncates toward zero and the remainder takes the sign of num, so rounding |r| up is the same
 * rule on both sides of zero. */
static i128 div_round(i128 num, i128 den)
{
    i128 q = num / den, r = num % den;
    if (r < 0)
        r = -r;
    if (2 * r >= den)
        q += num < 0 ? -1 : 1;
    return q;
}

int tr_money_add(tr_oere_t a, tr_oere_t b, tr_oere_t *out)
{
    tr_oere_t sum;
    assert(out != NULL);
    if (__builtin_add_overflow(a, b, &sum))
        return TR_EOVERFLOW;
    *out = sum;
    return 0;
}

int tr_money_mul(tr_oere_t amount, int64_t factor, tr_oere_t *out)
{
    tr_oere_t product;
    assert(out != NULL);
    if (__builtin_mul_overflow(amount, factor, &product))
        return TR_EOVERFLOW;
    *out = product;
    return 0;
}

int tr_money_scale(tr_oere_t amount, int64_t numerator, int64_t denominator, tr_oere_t *out)
{
    assert(out != NULL);
    if (denominator <= 0 || numerator < 0)
        return TR_EINVAL;

    /* |amount * numerator| < 2^126: always fits in 128 bits. */
    i128 result = div_round((i128)amount * numerator, denominator);
    if (result < INT64_MIN || result > INT64_MAX)
        return TR_EOVERFLOW;
    *out = (tr_oere_t)result;
    return 0;
}

int tr_money_prorate_days(tr_oere_t amount, int days_active, int days_in_period, tr_oere_t *out)
{
    assert(out != NULL);
    if (days_in_period <= 0 || days_active < 0 || days_active > days_in_period)
        return TR_EINVAL;
    return tr_money_scale(amount, days_active, days_in_period, out);
}

/* Writes the amount with the given thousands separator (0 for none), decimal mark and suffix. */
static int format(tr_oere_t amount, char thousands, char decimal, const char *suffix, char *buf,
                  size_t len)
{
    char kroner[32]; /* digits and separators, built from the end */
    char *p = kroner + sizeof kroner;
    uint64_t mag = magnitude(amount), kr = mag / 100;
    int ndigits = 0;

    assert(buf != NULL || len == 0);
    *--p = '\0';
    do {
        if (thousands && ndigits > 0 && ndigits % 3 == 0)
            *--p = thousands;
        *--p = (char)('0' + kr % 10);
        kr /= 10;
        ndigits++;
    } while (kr > 0);

    int n = snprintf(buf, len, "%s%s%c%02u%s", amount < 0 ? "-" : "", p, decimal,
                     (unsigned)(mag % 100), suffix);
    if (n < 0 || (size_t)n >= len) {
        if (len > 0)
            buf[0] = '\0';
        return TR_ERANGE;
    }
    return 0;
}

int tr_money_format(tr_oere_t amount, char *buf, size_t len)
{
    return format(amount, '.', ',', " kr.", buf, len);
}

int tr_money_format_plain(tr_oere_t amount, char *buf, size_t len)
{
    return format(amount, 0, '.', "", buf, len);
}

/* Copies at most ECHO_MAX bytes of s into q for a message, quoting-safe: printable ASCII as it
 * is (with " and \ escaped), everything else as \xHH, so a value cannot break a log line. */
static void quote(const char *s, char *q, size_t len)
{
    size_t used = 0, i;
    for (i = 0; s[i] != '\0' && i < ECHO_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        int n;
        if (c == '"' || c == '\\')
            n = snprintf(q + used, len - used, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            n = snprintf(q + used, len - used, "%c", c);
        else
            n = snprintf(q + used, len - used, "\\x%02x", c);
        used += (size_t)n;
    }
    if (s[i] != '\0')
        snprintf(q + used, len - used, "...");
}

static size_t count_digits(const char *s)
{
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

int tr_money_parse(const char *text, tr_oere_t *out, tr_error_t *err)
{
    char q[ECHO_MAX * 4 + 4];
    const char *p;
    size_t nint, ndec = 0;
    bool negative;
    uint64_t mag = 0;

    assert(out != NULL);
    if (text == NULL || text[0] == '\0')
        return tr_error_set(err, TR_EINVAL, "missing amount");

    quote(text, q, sizeof q);
    negative = text[0] == '-';
    p = text + negative;
    nint = count_digits(p);
    if (p[nint] == '.')
        ndec = count_digits(p + nint + 1);
    if (nint == 0 || (p[nint] == '.' ? ndec == 0 || p[nint + 1 + ndec] != '\0'
                                     : p[nint] != '\0'))
        return tr_error_set(err, TR_EINVAL,
                            "invalid amount \"%s\": must be kroner with at most two decimals "
                            "after a point, such as -1234.56",
                            q);
    if (ndec > 2)
        return tr_error_set(err, TR_EINVAL, "invalid amount \"%s\": at most two decimals (øre)",
                            q);

    /* Kroner, then øre ("1234.5" is 1234 kr. 50 øre), in an unsigned magnitude up to 2^63 so
     * that the most negative amount parses too. */
    for (size_t i = 0; i < nint; i++)
        if (__builtin_mul_overflow(mag, 10, &mag) ||
            __builtin_add_overflow(mag, (unsigned)(p[i] - '0'), &mag))
            goto out_of_range;
    unsigned oere = 0;
    if (ndec >= 1)
        oere += 10 * (unsigned)(p[nint + 1] - '0');
    if (ndec == 2)
        oere += (unsigned)(p[nint + 2] - '0');
    if (__builtin_mul_overflow(mag, 100, &mag) || __builtin_add_overflow(mag, oere, &mag))
        goto out_of_range;
    if (mag > (negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        goto out_of_range;

    *out = negative ? (tr_oere_t)(0 - mag) : (tr_oere_t)mag;
    return 0;

out_of_range:
    return tr_error_set(err, TR_ERANGE, "invalid amount \"%s\": out of range", q);
}

/* The remainder of part i's exact share, in units of 1/wsum øre. */
static u128 remainder_of(u128 mag, int64_t weight, u128 wsum)
{
    return mag * (u128)weight % wsum;
}

static size_t count_remainders_at_least(u128 mag, const int64_t *weights, size_t n, u128 wsum,
                                        u128 threshold)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += remainder_of(mag, weights[i], wsum) >= threshold;
    return count;
}

int tr_money_split(tr_oere_t total, const int64_t *weights, size_t n, tr_oere_t *parts_out)
{
    assert(n == 0 || (weights != NULL && parts_out != NULL));
    if (n == 0)
        return TR_EINVAL;

    u128 wsum = 0;
    for (size_t i = 0; i < n; i++) {
        if (weights[i] < 0)
            return TR_EINVAL;
        wsum += (u128)weights[i];
    }
    if (wsum == 0)
        return TR_EINVAL;

    /* Work on |total| and give every part total's sign: the split of a credit is then exactly
     * the negative of the split of the charge. A part is at most |total|, so it fits. */
    int sign = total < 0 ? -1 : 1;
    u128 mag = magnitude(total), given = 0;
    for (size_t i = 0; i < n; i++) {
        u128 whole = mag * (u128)weights[i] / wsum; /* < 2^126, no overflow */
        parts_out[i] = (tr_oere_t)(sign * (i128)whole);
        given += whole;
    }

    /* The øre left over are fewer than the parts with a non-zero remainder (the remainders,
     * each under one øre, add up to them). Find the smallest remainder that still gets an øre
     * by binary search, so no sort and no allocation are needed: every part above it gets one,
     * and the earliest parts exactly at it get the rest. */
    size_t leftover = (size_t)(mag - given);
    if (leftover == 0)
        return 0;
    u128 lo = 1, hi = wsum - 1;
    while (lo < hi) {
        u128 mid = lo + (hi - lo + 1) / 2;
        if (count_remainders_at_least(mag, weights, n, wsum, mid) >= leftover)
            lo = mid;
        else
            hi = mid - 1;
    }
    size_t at_tie = leftover - count_remainders_at_least(mag, weights, n, wsum, lo + 1);
    for (size_t i = 0; i < n; i++) {
        u128 r = remainder_of(mag, weights[i], wsum);
        if (r > lo) {
            parts_out[i] += sign;
        } else if (r == lo && at_tie > 0) {
            parts_out[i] += sign;
            at_tie--;
        }
    }
    return 0;
}
