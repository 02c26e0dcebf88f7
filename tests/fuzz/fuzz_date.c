/* fuzz_date.c — libFuzzer target: tr_calendar_parse_date() on any text (common/calendar.c), the
 * reader of every "YYYY-MM-DD" from outside (events, configuration, trivselctl), and the
 * calendar's rules on each date it accepts.
 *
 * The input is the text (up to its first NUL).
 *   - It is accepted exactly when an independent check accepts it: 10 characters, digits with
 *     dashes at 4 and 7, year 0001-9999, month 01-12, a day the month has (29 February only in
 *     leap years). A refusal is TR_EINVAL with a message without control bytes, output untouched.
 *   - An accepted date formats to the same text and is valid; days_from_civil and
 *     civil_from_days are inverse; the next day is one weekday later.
 *   - Away from the ends of the range (years 0003-9997): next_hverdag is a hverdag with no
 *     hverdag before it; add_hverdage(d, 6) counts exactly 6 hverdage after d; a hverdag is
 *     Monday-Friday and no holiday, 5 June, 24 or 31 December; add_months keeps the day or
 *     takes the month's last; Danish midnight ends the day (local_date of end_of_day_utc - 1 s
 *     is d, of end_of_day_utc is d + 1) with a UTC offset of 1 or 2 hours.
 */
#include "calendar.h"

#include "fuzz.h"

#define TARGET "fuzz_date"

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The rule of calendar.h, written out again. */
static bool reference_accepts(const char *s)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    }
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] + (m == 2 && leap(y));
}

static bool same(tr_date_t a, tr_date_t b)
{
    return a.year == b.year && a.month == b.month && a.day == b.day;
}

static void check_hverdage(const char *text, tr_date_t d)
{
    int w = tr_calendar_weekday(d);
    bool special = (d.month == 6 && d.day == 5) || (d.month == 12 && (d.day == 24 || d.day == 31));
    if (tr_calendar_is_hverdag(d) != (w <= 5 && !tr_calendar_is_helligdag(d) && !special))
        fuzz_broken(TARGET, "%s: is_hverdag disagrees with its definition", text);
    if (tr_calendar_is_helligdag(d) != (tr_calendar_helligdag_name(d) != NULL))
        fuzz_broken(TARGET, "%s: is_helligdag disagrees with helligdag_name", text);

    tr_date_t next = tr_calendar_next_hverdag(d);
    if (!tr_calendar_is_hverdag(next) || tr_calendar_compare(next, d) < 0 ||
        tr_calendar_days_from_civil(next) - tr_calendar_days_from_civil(d) > 7)
        fuzz_broken(TARGET, "%s: next_hverdag is not the next hverdag", text);
    for (tr_date_t x = d; tr_calendar_compare(x, next) < 0; x = tr_calendar_add_days(x, 1)) {
        if (tr_calendar_is_hverdag(x))
            fuzz_broken(TARGET, "%s: next_hverdag skipped a hverdag", text);
    }

    tr_date_t due = tr_calendar_add_hverdage(d, 6);
    int counted = 0;
    for (tr_date_t x = tr_calendar_add_days(d, 1); tr_calendar_compare(x, due) <= 0;
         x = tr_calendar_add_days(x, 1))
        counted += tr_calendar_is_hverdag(x);
    if (!tr_calendar_is_hverdag(due) || counted != 6)
        fuzz_broken(TARGET, "%s: add_hverdage(6) counted %d hverdage", text, counted);

    tr_date_t e = tr_calendar_easter(d.year);
    if (tr_calendar_weekday(e) != 7 || (e.month == 3 ? e.day < 22 : e.month != 4 || e.day > 25))
        fuzz_broken(TARGET, "%s: Easter %04d-%02d-%02d is not a Sunday from 22 March to 25 April",
                    text, e.year, e.month, e.day);

    static const int months[] = {1, -1, 4, 12, -13};
    for (size_t i = 0; i < sizeof months / sizeof months[0]; i++) {
        tr_date_t m = tr_calendar_add_months(d, months[i]);
        int total = d.year * 12 + d.month - 1 + months[i];
        int last = tr_calendar_days_in_month(total / 12, total % 12 + 1);
        if (m.year != total / 12 || m.month != total % 12 + 1 ||
            m.day != (d.day < last ? d.day : last))
            fuzz_broken(TARGET, "%s plus %d months gave %04d-%02d-%02d", text, months[i], m.year,
                        m.month, m.day);
    }

    int64_t end = tr_calendar_end_of_day_utc(d);
    if (!same(tr_calendar_local_date(end - 1), d) ||
        !same(tr_calendar_local_date(end), tr_calendar_add_days(d, 1)))
        fuzz_broken(TARGET, "%s: end_of_day_utc is not Danish midnight", text);
    int64_t noon = tr_calendar_local_to_utc(d, 12, 0, 0);
    int offset = tr_calendar_utc_offset(noon);
    if (!same(tr_calendar_local_date(noon), d) || (offset != 3600 && offset != 7200))
        fuzz_broken(TARGET, "%s: noon is not on the day, or the offset is %d", text, offset);
    char buf[24];
    if (tr_calendar_format_local(noon, buf, sizeof buf) != 0 || strncmp(buf, text, 10) != 0)
        fuzz_broken(TARGET, "%s: noon formats as \"%s\"", text, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    tr_date_t d = {42, 42, 42};
    tr_error_t err = {0};
    int rc = tr_calendar_parse_date(text, &d, &err);
    if (rc != 0) {
        if (rc != TR_EINVAL || err.code != TR_EINVAL || !err.message[0] ||
            !fuzz_clean_message(err.message, false) || d.year != 42)
            fuzz_broken(TARGET, "\"%s\" refused with %d \"%s\", or the output touched", text, rc,
                        err.message);
        if (reference_accepts(text))
            fuzz_broken(TARGET, "\"%s\" refused: %s", text, err.message);
        goto out;
    }
    if (!reference_accepts(text) || !tr_calendar_is_valid(d))
        fuzz_broken(TARGET, "\"%s\" accepted as %d-%d-%d", text, d.year, d.month, d.day);
    char buf[TR_CALENDAR_DATE_LEN];
    tr_calendar_format_date(d, buf);
    if (strcmp(buf, text) != 0)
        fuzz_broken(TARGET, "\"%s\" formats as \"%s\"", text, buf);
    if (!same(tr_calendar_civil_from_days(tr_calendar_days_from_civil(d)), d))
        fuzz_broken(TARGET, "%s: days_from_civil and civil_from_days disagree", text);
    if (d.year >= 3 && d.year <= 9997) {
        tr_date_t next = tr_calendar_add_days(d, 1);
        if (tr_calendar_weekday(next) != tr_calendar_weekday(d) % 7 + 1)
            fuzz_broken(TARGET, "%s: the next day is not the next weekday", text);
        check_hverdage(text, d);
    }
out:
    free(text);
    return 0;
}
