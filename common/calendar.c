#include "calendar.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

#define SECS_PER_DAY INT64_C(86400)
#define CET_OFFSET 3600
#define CEST_OFFSET 7200

/* 0001-01-01 and 9999-12-31 as days since 1970-01-01: the range "YYYY-MM-DD" can write. */
#define MIN_DAYS INT64_C(-719162)
#define MAX_DAYS INT64_C(2932896)

static const char *const month_names[12] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December",
};

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian
 * calendar, counting in 400-year eras that start on 1 March so the leap day falls last. */
static int64_t to_days(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static tr_date_t from_days(int64_t z)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t y = yoe + era * 400 + (m <= 2);
    return (tr_date_t){(int)y, m, d};
}

/* 1970-01-01 was a Thursday (ISO 4). */
static int weekday_of_days(int64_t days)
{
    return (int)(days + 3 - floordiv(days + 3, 7) * 7) + 1;
}

bool tr_calendar_is_valid(tr_date_t d)
{
    return d.year >= 1 && d.year <= 9999 && d.month >= 1 && d.month <= 12 && d.day >= 1 &&
           d.day <= tr_calendar_days_in_month(d.year, d.month);
}

int tr_calendar_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    assert(month >= 1 && month <= 12);
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

int64_t tr_calendar_days_from_civil(tr_date_t d)
{
    assert(tr_calendar_is_valid(d));
    return to_days(d.year, d.month, d.day);
}

tr_date_t tr_calendar_civil_from_days(int64_t days)
{
    assert(days >= MIN_DAYS && days <= MAX_DAYS);
    return from_days(days);
}

int tr_calendar_weekday(tr_date_t d)
{
    return weekday_of_days(tr_calendar_days_from_civil(d));
}

int tr_calendar_compare(tr_date_t a, tr_date_t b)
{
    assert(tr_calendar_is_valid(a) && tr_calendar_is_valid(b));
    if (a.year != b.year)
        return a.year < b.year ? -1 : 1;
    if (a.month != b.month)
        return a.month < b.month ? -1 : 1;
    return (a.day > b.day) - (a.day < b.day);
}

tr_date_t tr_calendar_add_days(tr_date_t d, int64_t n)
{
    int64_t days = tr_calendar_days_from_civil(d);
    assert(n >= MIN_DAYS - days && n <= MAX_DAYS - days);
    return from_days(days + n);
}

/* DOMAIN.md: periods in weeks run to the same weekday. */
tr_date_t tr_calendar_add_weeks(tr_date_t d, int n)
{
    return tr_calendar_add_days(d, (int64_t)n * 7);
}

/* DOMAIN.md: periods in months run to the same date in the later month, or the month's last
 * day where that date does not exist (Barnets Lov §20 stk. 3's 4 months from 31 October end on
 * the last day of February). */
tr_date_t tr_calendar_add_months(tr_date_t d, int n)
{
    assert(tr_calendar_is_valid(d));
    int64_t index = (int64_t)d.year * 12 + (d.month - 1) + n;
    int64_t year = floordiv(index, 12);
    assert(year >= 1 && year <= 9999);
    tr_date_t r = {(int)year, (int)(index - year * 12) + 1, d.day};
    int last = tr_calendar_days_in_month(r.year, r.month);
    if (r.day > last)
        r.day = last;
    return r;
}

/* The anonymous Gregorian computus (Meeus, "Astronomical Algorithms", after Butcher 1876). */
tr_date_t tr_calendar_easter(int year)
{
    assert(year >= 1 && year <= 9999);
    int a = year % 19;
    int b = year / 100, c = year % 100;
    int d = b / 4, e = b % 4;
    int f = (b + 8) / 25;
    int g = (b - f + 1) / 3;
    int h = (19 * a + b - d - g + 15) % 30;
    int i = c / 4, k = c % 4;
    int l = (32 + 2 * e + 2 * i - h - k) % 7;
    int m = (a + 11 * h + 22 * l) / 451;
    int month = (h + l - 7 * m + 114) / 31;
    int day = (h + l - 7 * m + 114) % 31 + 1;
    return (tr_date_t){year, month, day};
}

/* DOMAIN.md "Calendar": the public holidays, fixed and relative to Easter. */
const char *tr_calendar_helligdag_name(tr_date_t d)
{
    assert(tr_calendar_is_valid(d));
    if (d.month == 1 && d.day == 1)
        return "Nytårsdag";
    if (d.month == 12 && d.day == 25)
        return "Juledag";
    if (d.month == 12 && d.day == 26)
        return "2. juledag";

    /* Easter is 22 March - 25 April, so every movable holiday lies in March - June. */
    if (d.month < 3 || d.month > 6)
        return NULL;
    tr_date_t easter = tr_calendar_easter(d.year);
    switch (to_days(d.year, d.month, d.day) - to_days(easter.year, easter.month, easter.day)) {
    case -3: return "Skærtorsdag";
    case -2: return "Langfredag";
    case 0: return "Påskedag";
    case 1: return "2. påskedag";
    /* Store bededag was abolished by law from 2024 (DOMAIN.md): a working day from then on. */
    case 26: return d.year <= 2023 ? "Store bededag" : NULL;
    case 39: return "Kristi himmelfartsdag";
    case 49: return "Pinsedag";
    case 50: return "2. pinsedag";
    }
    return NULL;
}

bool tr_calendar_is_helligdag(tr_date_t d)
{
    return tr_calendar_helligdag_name(d) != NULL;
}

/* DOMAIN.md: Grundlovsdag (5 June), juleaftensdag and nytårsaftensdag are not public holidays,
 * yet a deadline may not end on them, so they are no hverdage either. */
bool tr_calendar_is_hverdag(tr_date_t d)
{
    if (tr_calendar_weekday(d) > 5)
        return false;
    if ((d.month == 6 && d.day == 5) || (d.month == 12 && (d.day == 24 || d.day == 31)))
        return false;
    return !tr_calendar_is_helligdag(d);
}

/* The kvittering is due 6 hverdage after receipt, the day of receipt not counted
 * (former SEL §155 b, DOMAIN.md section 1). */
tr_date_t tr_calendar_add_hverdage(tr_date_t d, int n)
{
    assert(tr_calendar_is_valid(d));
    assert(n >= 0);
    while (n > 0) {
        d = tr_calendar_add_days(d, 1);
        if (tr_calendar_is_hverdag(d))
            n--;
    }
    return d;
}

/* The appeal deadline (4 weeks) that ends on a non-hverdag moves forward (DOMAIN.md section 2). */
tr_date_t tr_calendar_next_hverdag(tr_date_t d)
{
    while (!tr_calendar_is_hverdag(d))
        d = tr_calendar_add_days(d, 1);
    return d;
}

/* ---- Danish time ---------------------------------------------------------------------------- */

/* The last Sunday of a 31-day month, as days since the epoch. */
static int64_t last_sunday(int year, int month)
{
    int64_t last = to_days(year, month, 31);
    return last - weekday_of_days(last) % 7;
}

/* The instants whose Danish date lies in years 0001-9999. */
static void check_instant(int64_t utc_seconds)
{
    (void)utc_seconds;
    assert(utc_seconds >= MIN_DAYS * SECS_PER_DAY && utc_seconds < MAX_DAYS * SECS_PER_DAY);
}

/* EU summer time (Directive 2000/84/EC; the same dates since 1996): both switches happen at
 * 01:00 UTC on the last Sundays of March and October, far from New Year, so the UTC year alone
 * decides which switches apply. */
static int offset_at(int64_t utc_seconds)
{
    int year = from_days(floordiv(utc_seconds, SECS_PER_DAY)).year;
    int64_t start = last_sunday(year, 3) * SECS_PER_DAY + 3600;
    int64_t end = last_sunday(year, 10) * SECS_PER_DAY + 3600;
    return utc_seconds >= start && utc_seconds < end ? CEST_OFFSET : CET_OFFSET;
}

int tr_calendar_utc_offset(int64_t utc_seconds)
{
    check_instant(utc_seconds);
    return offset_at(utc_seconds);
}

tr_date_t tr_calendar_local_date(int64_t utc_seconds)
{
    check_instant(utc_seconds);
    int64_t local = utc_seconds + offset_at(utc_seconds);
    return from_days(floordiv(local, SECS_PER_DAY));
}

/* local: wall-clock seconds since 1970-01-01 00:00 Danish time. Of the two readings, summer
 * time is the earlier instant; take it when it is consistent (the ambiguous autumn hour) or
 * when neither is (the nonexistent spring hour), as the header promises. */
static int64_t local_to_instant(int64_t local)
{
    int64_t summer = local - CEST_OFFSET;
    int64_t winter = local - CET_OFFSET;
    if (offset_at(summer) == CEST_OFFSET)
        return summer;
    if (offset_at(winter) == CET_OFFSET)
        return winter;
    return summer;
}

int64_t tr_calendar_local_to_utc(tr_date_t d, int hour, int minute, int second)
{
    assert(hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59);
    int64_t days = tr_calendar_days_from_civil(d);
    return local_to_instant(days * SECS_PER_DAY + hour * 3600 + minute * 60 + second);
}

/* DOMAIN.md: deadlines run to 23:59 Danish time, so "on day d" ends at local midnight of d + 1
 * (never in a switch hour: the switches are at 02:00 and 03:00 local). */
int64_t tr_calendar_end_of_day_utc(tr_date_t d)
{
    int64_t days = tr_calendar_days_from_civil(d);
    return local_to_instant((days + 1) * SECS_PER_DAY);
}

/* ---- Text ----------------------------------------------------------------------------------- */

/* Copies the rejected input for a message: at most 40 bytes, control bytes as \xHH, so a
 * hostile value cannot forge log lines or flood them. */
static void quote_input(const char *s, char *buf, size_t len)
{
    size_t out = 0, n = 0;
    for (; n < 40 && s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (out + 5 >= len)
            break;
        /* A whole UTF-8 character as it is; a control or a byte that is no character's, as
         * \xNN: the message goes out in events, which must be valid UTF-8. */
        size_t k = c >= 0x80 ? tr_utf8_char_length(s + n, strnlen(s + n, 4)) : 1;
        if (c < 0x20 || c == 0x7f || k == 0) {
            out += (size_t)snprintf(buf + out, len - out, "\\x%02x", c);
        } else {
            if (out + k + 5 >= len)
                break;
            memcpy(buf + out, s + n, k);
            out += k;
            n += k - 1;
        }
    }
    if (s[n] != '\0' && out + 4 <= len) {
        memcpy(buf + out, "...", 3);
        out += 3;
    }
    buf[out] = '\0';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int digits(const char *s, int count)
{
    int v = 0;
    for (int i = 0; i < count; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int tr_calendar_parse_date(const char *s, tr_date_t *out, tr_error_t *err)
{
    assert(s != NULL && out != NULL);
    char shown[200];
    quote_input(s, shown, sizeof shown);

    bool shape = strlen(s) == 10 && s[4] == '-' && s[7] == '-';
    for (int i = 0; shape && i < 10; i++)
        if (i != 4 && i != 7 && !is_digit(s[i]))
            shape = false;
    if (!shape)
        return tr_error_set(err, TR_EINVAL, "invalid date \"%s\": must be YYYY-MM-DD", shown);

    tr_date_t d = {digits(s, 4), digits(s + 5, 2), digits(s + 8, 2)};
    if (d.year < 1)
        return tr_error_set(err, TR_EINVAL, "invalid date \"%s\": year must be 0001 to 9999",
                            shown);
    if (d.month < 1 || d.month > 12)
        return tr_error_set(err, TR_EINVAL, "invalid date \"%s\": month must be 01 to 12", shown);
    int last = tr_calendar_days_in_month(d.year, d.month);
    if (d.day < 1)
        return tr_error_set(err, TR_EINVAL, "invalid date \"%s\": day must be 01 to %02d", shown,
                            last);
    if (d.day > last)
        return tr_error_set(err, TR_EINVAL, "invalid date \"%s\": %s %d has %d days", shown,
                            month_names[d.month - 1], d.year, last);
    *out = d;
    return 0;
}

static void put_digits(char *p, int v, int count)
{
    for (int i = count - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void tr_calendar_format_date(tr_date_t d, char buf[TR_CALENDAR_DATE_LEN])
{
    assert(tr_calendar_is_valid(d));
    put_digits(buf, d.year, 4);
    buf[4] = '-';
    put_digits(buf + 5, d.month, 2);
    buf[7] = '-';
    put_digits(buf + 8, d.day, 2);
    buf[10] = '\0';
}

int tr_calendar_format_local(int64_t utc_seconds, char *buf, size_t len)
{
    assert(buf != NULL);
    check_instant(utc_seconds);
    int offset = offset_at(utc_seconds);
    int64_t local = utc_seconds + offset;
    int64_t days = floordiv(local, SECS_PER_DAY);
    int secs = (int)(local - days * SECS_PER_DAY);

    char date[TR_CALENDAR_DATE_LEN];
    tr_calendar_format_date(from_days(days), date);
    int n = snprintf(buf, len, "%s %02d:%02d (%s)", date, secs / 3600, secs / 60 % 60,
                     offset == CEST_OFFSET ? "CEST" : "CET");
    if (n < 0 || (size_t)n >= len) {
        if (len > 0)
            buf[0] = '\0';
        return TR_ERANGE;
    }
    return 0;
}
