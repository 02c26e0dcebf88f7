/* calendar.h — the Danish calendar: civil dates, public holidays (helligdage), hverdage for
 * deadlines, periods in months and weeks, and Danish time (Europe/Copenhagen).
 *
 * The rules are those of DOMAIN.md, section "Calendar". Dates are proleptic Gregorian, years
 * 0001-9999 (the range "YYYY-MM-DD" can write). Every function is pure: no allocation, no
 * globals, no locale, and no dependence on the process time zone (TZ, tzset, tzdata): Danish
 * time is computed from the EU summer-time rule in code. All functions are thread-safe.
 *
 * Contract: a tr_date_t handed to any function other than tr_calendar_is_valid() must be valid
 * (tr_calendar_is_valid()), and results must stay within years 0001-9999; breaking that is a
 * programming error and fails an assertion (assertions stay on in release builds). Outside
 * input is checked with tr_calendar_parse_date(), which reports errors instead.
 */
#ifndef TR_CALENDAR_H
#define TR_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* A civil date. month 1-12, day 1-31. */
typedef struct tr_date {
    int year, month, day;
} tr_date_t;

/* Length of "YYYY-MM-DD" plus the terminating NUL. */
#define TR_CALENDAR_DATE_LEN 11

/* ---- Civil dates ---------------------------------------------------------------------------- */

/* True if d is a real date: year 1-9999, month 1-12, day within the month. Never asserts. */
bool tr_calendar_is_valid(tr_date_t d);

/* Days in the month (28-31), Gregorian leap years. month must be 1-12. */
int tr_calendar_days_in_month(int year, int month);

/* Days since 1970-01-01 (negative before). */
int64_t tr_calendar_days_from_civil(tr_date_t d);

/* The date `days` days after 1970-01-01; the result must fall in years 0001-9999. */
tr_date_t tr_calendar_civil_from_days(int64_t days);

/* ISO weekday: 1 = Monday ... 7 = Sunday. */
int tr_calendar_weekday(tr_date_t d);

/* <0, 0 or >0 as a is before, equal to or after b. */
int tr_calendar_compare(tr_date_t a, tr_date_t b);

/* d plus n days (n may be negative). */
tr_date_t tr_calendar_add_days(tr_date_t d, int64_t n);

/* d plus n weeks (n may be negative): the same weekday. */
tr_date_t tr_calendar_add_weeks(tr_date_t d, int n);

/* d plus n months (n may be negative): the same day of the month in the later month, or that
 * month's last day where the date does not exist (2023-10-31 + 4 months = 2024-02-29). */
tr_date_t tr_calendar_add_months(tr_date_t d, int n);

/* ---- Holidays and hverdage ------------------------------------------------------------------ */

/* Gregorian Easter Sunday of year (1-9999). */
tr_date_t tr_calendar_easter(int year);

/* The Danish name (UTF-8) of the public holiday on d: "Nytårsdag", "Skærtorsdag", "Langfredag",
 * "Påskedag", "2. påskedag", "Store bededag" (to and including 2023), "Kristi himmelfartsdag",
 * "Pinsedag", "2. pinsedag", "Juledag", "2. juledag". NULL if d is none of these; in particular
 * 5 June, 24 and 31 December and ordinary Sundays give NULL. The string is static: borrowed,
 * never freed. */
const char *tr_calendar_helligdag_name(tr_date_t d);

/* True if d is one of the public holidays named above. */
bool tr_calendar_is_helligdag(tr_date_t d);

/* True if d counts as a hverdag for deadlines: Monday-Friday, not a public holiday, not 5 June
 * (Grundlovsdag), 24 December or 31 December. */
bool tr_calendar_is_hverdag(tr_date_t d);

/* The n-th hverdag after d (n >= 0). The day d itself is never counted (the day of receipt),
 * so a receipt received on Thursday 2024-03-21 is due add_hverdage(d, 6) = 2024-04-03.
 * n == 0 returns d unchanged. Runs in O(n). */
tr_date_t tr_calendar_add_hverdage(tr_date_t d, int n);

/* d itself if it is a hverdag, else the first hverdag after it: a deadline that ends on a
 * weekend, holiday, 5 June, 24 or 31 December moves to the next hverdag. */
tr_date_t tr_calendar_next_hverdag(tr_date_t d);

/* ---- Danish time ---------------------------------------------------------------------------- */

/* UTC seconds are seconds since 1970-01-01T00:00:00Z without leap seconds (Unix time), from
 * 0001-01-01T00:00:00Z to before 9999-12-31T00:00:00Z (so the Danish date stays in range).
 * Danish time is CET (UTC+1), and CEST (UTC+2) from the last Sunday of March 01:00 UTC until
 * the last Sunday of October 01:00 UTC. That is the EU rule in force since 1996; it is applied
 * to every year, so instants before 1996 may differ from history (Denmark then ended summer
 * time in September, and had none in most years before 1980). */

/* The UTC offset of Danish time at the instant: 3600 or 7200 seconds. */
int tr_calendar_utc_offset(int64_t utc_seconds);

/* The Danish date at the instant. */
tr_date_t tr_calendar_local_date(int64_t utc_seconds);

/* The instant of Danish wall time d hour:minute:second (hour 0-23, minute and second 0-59).
 * Where the wall time is not one instant, the EARLIER candidate is taken:
 * - the ambiguous autumn hour (02:00-02:59:59 on the last Sunday of October happens twice):
 *   the first occurrence, still in summer time (02:30 -> 00:30Z);
 * - the nonexistent spring hour (02:00-02:59:59 on the last Sunday of March): read with the
 *   summer offset, 02:30 -> 00:30Z (= 01:30 CET). Note that mktime() and RFC 5545 read it with
 *   the winter offset instead (02:30 -> 01:30Z = 03:30 CEST); the earlier reading is chosen so
 *   that a deadline is never placed later than any reading of it. */
int64_t tr_calendar_local_to_utc(tr_date_t d, int hour, int minute, int second);

/* The first instant after the Danish day d has ended, i.e. local midnight starting d + 1.
 * A deadline "on day d" runs to 23:59:59 Danish time and has passed at this instant. */
int64_t tr_calendar_end_of_day_utc(tr_date_t d);

/* ---- Text ----------------------------------------------------------------------------------- */

/* Parses exactly "YYYY-MM-DD" (10 characters, no spaces or signs, a real date). Returns 0 and
 * sets *out, or returns TR_EINVAL, leaves *out alone and fills err (may be NULL), e.g.
 *   invalid date "2024-02-30": February 2024 has 29 days
 * s and out must not be NULL. */
int tr_calendar_parse_date(const char *s, tr_date_t *out, tr_error_t *err);

/* Writes "YYYY-MM-DD" and a NUL into buf. */
void tr_calendar_format_date(tr_date_t d, char buf[TR_CALENDAR_DATE_LEN]);

/* Writes the instant as Danish time for people, "2024-03-28 14:05 (CET)" or
 * "2024-06-30 23:59 (CEST)" (seconds are dropped, not rounded), into buf of len bytes.
 * Returns 0, or TR_ERANGE if it does not fit (24 bytes always do); then buf holds "" if
 * len > 0. buf must not be NULL. */
int tr_calendar_format_local(int64_t utc_seconds, char *buf, size_t len);

#endif
