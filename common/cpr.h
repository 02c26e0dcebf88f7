/* cpr.h — Danish CPR numbers (personnummer): parse, format, age.
 *
 * A CPR number is DDMMYY-SSSS: the birth date, then four serial digits. The first serial digit
 * (the 7th digit) together with YY gives the century; the last digit is odd for men, even for
 * women. The modulus-11 check is deliberately NOT applied: since 2007 the CPR office issues
 * numbers that fail it, so enforcing it would reject real children.
 *
 * A CPR number is personal data. Error messages name the value as given (house style), so a
 * tr_error_t filled here holds a CPR number: the caller decides where such a message may go.
 * Pure functions: no allocation, no global state, safe from any thread.
 */
#ifndef TR_CPR_H
#define TR_CPR_H

#include <stdbool.h>

#include "error.h"

/* Longest formatted CPR number, "DDMMYY-SSSS", with its terminating NUL. */
#define TR_CPR_FORMAT_MAX 12

typedef struct tr_cpr {
    char digits[11]; /* the 10 digits without dash, NUL-terminated */
    int birth_year;  /* four digits, 1858-2057 */
    int birth_month; /* 1-12 */
    int birth_day;   /* 1-31 */
    bool male;       /* last digit odd */
} tr_cpr_t;

/* Parses "DDMMYY-SSSS" or "DDMMYYSSSS" (nothing else: no spaces, no other separator) into *out.
 * Century from the 7th digit and YY:
 *   0-3        1900-1999
 *   4 and 9    2000-2036 when YY <= 36, else 1937-1999
 *   5-8        2000-2057 when YY <= 57, else 1858-1899
 * The birth date must exist in that century's calendar (29 February only in leap years).
 * Returns 0, or TR_EINVAL with err (may be NULL) filled, e.g.
 *   missing CPR number
 *   invalid CPR number "0101901234X": must be 10 digits, optionally with a dash after the sixth
 *   invalid CPR number "3002901234": 30 February 1990 is not a date
 *   invalid CPR number "0113901234": there is no month 13
 * The value in a message is cut after 16 characters ("...") and bytes outside printable ASCII
 * are shown as \xHH. On error *out is unchanged. out must not be NULL. */
int tr_cpr_parse(const char *text, tr_cpr_t *out, tr_error_t *err);

/* Writes "DDMMYY-SSSS" and a NUL into buf. cpr must come from tr_cpr_parse(). */
void tr_cpr_format(const tr_cpr_t *cpr, char buf[TR_CPR_FORMAT_MAX]);

/* Age in whole years on the given date (year 1-9999, month 1-12, day 1-31 and a real date).
 * A year is completed on the birthday itself; someone born on 29 February completes it on
 * 1 March in years that are not leap years. Returns the age (>= 0), TR_EINVAL if the date does
 * not exist, or TR_ERANGE if it is before the birth date. */
int tr_cpr_age_on(const tr_cpr_t *cpr, int year, int month, int day);

#endif
