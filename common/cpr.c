#include "cpr.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* The value named in a message: enough to recognise a typo, not a whole pasted document. */
enum { ECHO_MAX = 16 };

static const char *const month_names[12] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December",
};

static bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
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

/* Fills digits[11] from "DDMMYYSSSS" or "DDMMYY-SSSS"; false on any other shape. Stops reading
 * at the first byte that cannot belong to a CPR number, so a long input is not scanned. */
static bool read_digits(const char *s, char digits[11])
{
    size_t nd = 0, i;
    for (i = 0; s[i] != '\0'; i++) {
        if (s[i] == '-' && i == 6)
            continue;
        if (s[i] < '0' || s[i] > '9' || nd == 10)
            return false;
        digits[nd++] = s[i];
    }
    digits[nd] = '\0';
    return nd == 10;
}

static int two(const char *d)
{
    return (d[0] - '0') * 10 + (d[1] - '0');
}

/* The CPR office's table: the 7th digit and YY give the century. */
static int birth_year(int yy, int digit7)
{
    if (digit7 <= 3)
        return 1900 + yy;
    if (digit7 == 4 || digit7 == 9)
        return yy <= 36 ? 2000 + yy : 1900 + yy;
    return yy <= 57 ? 2000 + yy : 1800 + yy;
}

int tr_cpr_parse(const char *text, tr_cpr_t *out, tr_error_t *err)
{
    char q[ECHO_MAX * 4 + 4];
    tr_cpr_t cpr;

    assert(out != NULL);
    if (text == NULL || text[0] == '\0')
        return tr_error_set(err, TR_EINVAL, "missing CPR number");

    quote(text, q, sizeof q);
    if (!read_digits(text, cpr.digits))
        return tr_error_set(err, TR_EINVAL,
                            "invalid CPR number \"%s\": must be 10 digits, optionally with a "
                            "dash after the sixth",
                            q);

    cpr.birth_day = two(cpr.digits);
    cpr.birth_month = two(cpr.digits + 2);
    cpr.birth_year = birth_year(two(cpr.digits + 4), cpr.digits[6] - '0');
    cpr.male = (cpr.digits[9] - '0') % 2 == 1;

    if (cpr.birth_month < 1 || cpr.birth_month > 12)
        return tr_error_set(err, TR_EINVAL, "invalid CPR number \"%s\": there is no month %d", q,
                            cpr.birth_month);
    if (cpr.birth_day < 1 || cpr.birth_day > days_in_month(cpr.birth_year, cpr.birth_month))
        return tr_error_set(err, TR_EINVAL, "invalid CPR number \"%s\": %d %s %d is not a date",
                            q, cpr.birth_day, month_names[cpr.birth_month - 1], cpr.birth_year);

    *out = cpr;
    return 0;
}

void tr_cpr_format(const tr_cpr_t *cpr, char buf[TR_CPR_FORMAT_MAX])
{
    assert(cpr != NULL && buf != NULL);
    memcpy(buf, cpr->digits, 6);
    buf[6] = '-';
    memcpy(buf + 7, cpr->digits + 6, 4);
    buf[11] = '\0';
}

int tr_cpr_age_on(const tr_cpr_t *cpr, int year, int month, int day)
{
    assert(cpr != NULL);
    if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 ||
        day > days_in_month(year, month))
        return TR_EINVAL;

    int age = year - cpr->birth_year;
    if (month < cpr->birth_month || (month == cpr->birth_month && day < cpr->birth_day))
        age--;
    return age < 0 ? TR_ERANGE : age;
}
