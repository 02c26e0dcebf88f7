/* fuzz_money.c — libFuzzer target: tr_money_parse() on any text (common/money.c), the reader of
 * amounts from configuration, CSV and trivselctl, and the arithmetic on what it accepts.
 *
 * The input is one or two lines: amount a, then optionally amount b.
 *   - tr_money_parse() agrees with an independent reading of money.h's rule: [-]digits, then
 *     optionally a point and one or two digits; TR_EINVAL otherwise, TR_ERANGE outside int64
 *     øre (with a message without control bytes: the value is quoted); the same value.
 *   - An accepted amount formats (plain) as the canonical text, e.g. "-0.5" as "-0.50", which
 *     parses back to the same øre; the Danish format says the same with "." between thousands
 *     and "," before the øre; a buffer one byte short is TR_ERANGE and left "".
 *   - With b: add and mul agree with 128-bit arithmetic (TR_EOVERFLOW exactly when the result
 *     does not fit); scale(a, |b|, 30) and prorate_days(a, |b| % 31, 30) round to the nearest
 *     øre, a half away from zero; split(a, weights) adds up to a, each part within one øre of
 *     its exact share.
 */
#include "money.h"

#include "fuzz.h"

#define TARGET "fuzz_money"

typedef __int128 i128;

/* money.h's rule, written out again: 0 and *value, or the error code. */
static int reference_parse(const char *s, i128 *value)
{
    bool negative = s[0] == '-';
    const char *p = s + negative;
    size_t nint = 0, ndec = 0;
    while (p[nint] >= '0' && p[nint] <= '9')
        nint++;
    if (p[nint] == '.') {
        while (p[nint + 1 + ndec] >= '0' && p[nint + 1 + ndec] <= '9')
            ndec++;
        if (ndec == 0 || p[nint + 1 + ndec] != '\0')
            return TR_EINVAL;
    } else if (p[nint] != '\0') {
        return TR_EINVAL;
    }
    if (nint == 0 || ndec > 2)
        return TR_EINVAL;
    i128 v = 0;
    for (size_t i = 0; i < nint; i++) {
        v = v * 10 + (p[i] - '0');
        if (v > (i128)1 << 70)
            return TR_ERANGE;
    }
    v = v * 100 + (ndec >= 1 ? 10 * (p[nint + 1] - '0') : 0) + (ndec == 2 ? p[nint + 2] - '0' : 0);
    v = negative ? -v : v;
    if (v < INT64_MIN || v > INT64_MAX)
        return TR_ERANGE;
    *value = v;
    return 0;
}

/* "-1234.56": the plain format written out again. */
static void reference_plain(tr_oere_t v, char *buf, size_t len)
{
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    snprintf(buf, len, "%s%llu.%02llu", v < 0 ? "-" : "", (unsigned long long)(mag / 100),
             (unsigned long long)(mag % 100));
}

/* amount * num / den rounded to the nearest, a half away from zero; false when it does not fit. */
static bool reference_scale(tr_oere_t amount, int64_t num, int64_t den, tr_oere_t *out)
{
    i128 r = (i128)amount * num, q = r / den, rem = r % den;
    if (rem < 0)
        rem = -rem;
    if (2 * rem >= den)
        q += r < 0 ? -1 : 1;
    if (q < INT64_MIN || q > INT64_MAX)
        return false;
    *out = (tr_oere_t)q;
    return true;
}

static void check_amount(const char *text, tr_oere_t v)
{
    char plain[TR_MONEY_FORMAT_MAX], expected[TR_MONEY_FORMAT_MAX], danish[TR_MONEY_FORMAT_MAX];
    char undotted[TR_MONEY_FORMAT_MAX];
    tr_oere_t back;
    if (tr_money_format_plain(v, plain, sizeof plain) != 0)
        fuzz_broken(TARGET, "\"%s\": format_plain failed", text);
    reference_plain(v, expected, sizeof expected);
    if (strcmp(plain, expected) != 0)
        fuzz_broken(TARGET, "\"%s\" formats as \"%s\", not \"%s\"", text, plain, expected);
    if (tr_money_parse(plain, &back, NULL) != 0 || back != v)
        fuzz_broken(TARGET, "\"%s\" formatted as \"%s\" does not parse back", text, plain);
    if (tr_money_format(v, danish, sizeof danish) != 0)
        fuzz_broken(TARGET, "\"%s\": format failed", text);
    size_t n = 0, len = strlen(danish);
    if (len < 4 || strcmp(danish + len - 4, " kr.") != 0)
        fuzz_broken(TARGET, "\"%s\" formats as \"%s\"", text, danish);
    for (size_t i = 0; i + 4 < len; i++) {
        if (danish[i] != '.')
            undotted[n++] = danish[i] == ',' ? '.' : danish[i];
    }
    undotted[n] = '\0';
    if (strcmp(undotted, plain) != 0)
        fuzz_broken(TARGET, "\"%s\": \"%s\" and \"%s\" differ", text, danish, plain);
    char shortbuf[TR_MONEY_FORMAT_MAX] = "x";
    if (tr_money_format(v, shortbuf, len) != TR_ERANGE || shortbuf[0] != '\0')
        fuzz_broken(TARGET, "\"%s\": a buffer of %zu bytes did not give TR_ERANGE and \"\"", text,
                    len);
}

static void check_arithmetic(tr_oere_t a, tr_oere_t b)
{
    tr_oere_t out = 42, want;
    i128 sum = (i128)a + b, product = (i128)a * b;
    int rc = tr_money_add(a, b, &out);
    if (sum < INT64_MIN || sum > INT64_MAX ? rc != TR_EOVERFLOW || out != 42
                                           : rc != 0 || out != (tr_oere_t)sum)
        fuzz_broken(TARGET, "add(%lld, %lld) gave %d, %lld", (long long)a, (long long)b, rc,
                    (long long)out);
    out = 42;
    rc = tr_money_mul(a, b, &out);
    if (product < INT64_MIN || product > INT64_MAX ? rc != TR_EOVERFLOW || out != 42
                                                   : rc != 0 || out != (tr_oere_t)product)
        fuzz_broken(TARGET, "mul(%lld, %lld) gave %d, %lld", (long long)a, (long long)b, rc,
                    (long long)out);

    int64_t num = b < 0 ? (b == INT64_MIN ? INT64_MAX : -b) : b;
    out = 42;
    rc = tr_money_scale(a, num, 30, &out);
    if (reference_scale(a, num, 30, &want) ? rc != 0 || out != want : rc != TR_EOVERFLOW)
        fuzz_broken(TARGET, "scale(%lld, %lld, 30) gave %d, %lld", (long long)a, (long long)num, rc,
                    (long long)out);
    int days = (int)(num % 31);
    rc = tr_money_prorate_days(a, days, 30, &out);
    if (days > 30 ? rc != TR_EINVAL
                  : !reference_scale(a, days, 30, &want) || rc != 0 || out != want)
        fuzz_broken(TARGET, "prorate_days(%lld, %d, 30) gave %d, %lld", (long long)a, days, rc,
                    (long long)out);

    int64_t weights[4] = {1 + num % 7, 0, 3, num % 1000};
    tr_oere_t parts[4];
    i128 wsum = 0, total = 0;
    for (int i = 0; i < 4; i++)
        wsum += weights[i];
    if (tr_money_split(a, weights, 4, parts) != 0)
        fuzz_broken(TARGET, "split(%lld) failed", (long long)a);
    for (int i = 0; i < 4; i++) {
        i128 diff = (i128)parts[i] * wsum - (i128)a * weights[i];
        if (diff <= -wsum || diff >= wsum || (weights[i] == 0 && parts[i] != 0))
            fuzz_broken(TARGET, "split(%lld): part %d is %lld, not within one øre of its share",
                        (long long)a, i, (long long)parts[i]);
        total += parts[i];
    }
    if (total != a)
        fuzz_broken(TARGET, "split(%lld): the parts add up to something else", (long long)a);
}

/* Parses text and checks the result against the reference; true with *v when accepted. */
static bool parse(const char *text, tr_oere_t *v)
{
    tr_error_t err = {0};
    i128 want = 0;
    *v = 42;
    int rc = tr_money_parse(text, v, &err), expected = reference_parse(text, &want);
    if (!text[0])
        expected = TR_EINVAL;
    if (rc != expected || (rc == 0 && *v != want))
        fuzz_broken(TARGET, "\"%s\": parse gave %d (%lld), expected %d (%lld)", text, rc,
                    (long long)*v, expected, (long long)want);
    if (rc != 0 &&
        (err.code != rc || !err.message[0] || !fuzz_clean_message(err.message, false) || *v != 42))
        fuzz_broken(TARGET, "\"%s\" refused with \"%s\", or the output touched", text, err.message);
    return rc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size), *second = strchr(text, '\n');
    tr_oere_t a, b;
    if (second)
        *second++ = '\0';
    if (parse(text, &a)) {
        check_amount(text, a);
        if (second && parse(second, &b))
            check_arithmetic(a, b);
    }
    free(text);
    return 0;
}
