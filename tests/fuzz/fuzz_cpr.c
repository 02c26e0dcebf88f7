/* fuzz_cpr.c — libFuzzer target: tr_cpr_parse() on any text (common/cpr.c), as every CPR
 * number from an underretning, a file or an order is read.
 *
 * The input is the text (up to its first NUL). tr_cpr_parse() must not crash; a refusal is
 * TR_EINVAL with a message in printable ASCII (the value quoted, \xHH for other bytes) and
 * leaves the output alone. An acceptance must agree with an
 * independent reading of cpr.h's rules: the text is 10 digits, or 6, a dash and 4; the digits
 * are those; the century comes from the 7th digit and YY by the CPR office's table; the date
 * exists in that year (29 February only in leap years); male when the last digit is odd. Then
 * tr_cpr_format() gives "DDMMYY-SSSS", which parses to the same number, and tr_cpr_age_on()
 * is 0 on the birth date, TR_ERANGE the day before and one more on the first birthday.
 */
#include "calendar.h"
#include "cpr.h"

#include "fuzz.h"

#define TARGET "fuzz_cpr"

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The table of cpr.h, written out again. */
static int century_year(int yy, int digit7)
{
    if (digit7 <= 3)
        return 1900 + yy;
    if (digit7 == 4 || digit7 == 9)
        return yy <= 36 ? 2000 + yy : 1900 + yy;
    return yy <= 57 ? 2000 + yy : 1800 + yy;
}

/* Whether text has the shape of a CPR number; digits gets the 10 digits. */
static bool shape(const char *text, char digits[11])
{
    size_t len = strlen(text), n = 0;
    if (len != 10 && !(len == 11 && text[6] == '-'))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (len == 11 && i == 6)
            continue;
        if (text[i] < '0' || text[i] > '9')
            return false;
        digits[n++] = text[i];
    }
    digits[n] = '\0';
    return true;
}

static void check_accepted(const char *text, const tr_cpr_t *cpr)
{
    char digits[11];
    if (!shape(text, digits))
        fuzz_broken(TARGET, "accepted \"%s\", which is not DDMMYYSSSS or DDMMYY-SSSS", text);
    if (strcmp(cpr->digits, digits) != 0)
        fuzz_broken(TARGET, "\"%s\" gave digits %s", text, cpr->digits);
    int dd = (digits[0] - '0') * 10 + digits[1] - '0',
        mm = (digits[2] - '0') * 10 + digits[3] - '0';
    int yy = (digits[4] - '0') * 10 + digits[5] - '0';
    int year = century_year(yy, digits[6] - '0');
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mm < 1 || mm > 12 || dd < 1 || dd > days[mm - 1] + (mm == 2 && leap(year)))
        fuzz_broken(TARGET, "accepted \"%s\", whose date %02d-%02d %d does not exist", text, dd, mm,
                    year);
    if (cpr->birth_year != year || cpr->birth_month != mm || cpr->birth_day != dd)
        fuzz_broken(TARGET, "\"%s\" gave birth date %04d-%02d-%02d, not %04d-%02d-%02d", text,
                    cpr->birth_year, cpr->birth_month, cpr->birth_day, year, mm, dd);
    if (cpr->birth_year < 1858 || cpr->birth_year > 2057)
        fuzz_broken(TARGET, "\"%s\" gave birth year %d, outside 1858-2057", text, cpr->birth_year);
    if (cpr->male != ((digits[9] - '0') % 2 == 1))
        fuzz_broken(TARGET, "\"%s\" gave the wrong sex", text);

    char buf[TR_CPR_FORMAT_MAX];
    tr_cpr_t again;
    tr_cpr_format(cpr, buf);
    if (strlen(buf) != 11 || buf[6] != '-' || memcmp(buf, digits, 6) != 0 ||
        memcmp(buf + 7, digits + 6, 4) != 0)
        fuzz_broken(TARGET, "\"%s\" formats as \"%s\"", text, buf);
    if (tr_cpr_parse(buf, &again, NULL) != 0 || strcmp(again.digits, cpr->digits) != 0 ||
        again.birth_year != cpr->birth_year || again.birth_month != cpr->birth_month ||
        again.birth_day != cpr->birth_day || again.male != cpr->male)
        fuzz_broken(TARGET, "\"%s\" formatted as \"%s\" does not parse to the same number", text,
                    buf);

    tr_date_t born = {cpr->birth_year, cpr->birth_month, cpr->birth_day};
    tr_date_t before = tr_calendar_add_days(born, -1);
    tr_date_t birthday = tr_calendar_add_months(born, 12);
    /* Born 29 February: the year is completed on 1 March when there is no 29 February. */
    if (born.month == 2 && born.day == 29 && birthday.day == 28)
        birthday = tr_calendar_add_days(birthday, 1);
    tr_date_t eve = tr_calendar_add_days(birthday, -1);
    if (tr_cpr_age_on(cpr, born.year, born.month, born.day) != 0 ||
        tr_cpr_age_on(cpr, before.year, before.month, before.day) != TR_ERANGE ||
        tr_cpr_age_on(cpr, eve.year, eve.month, eve.day) != 0 ||
        tr_cpr_age_on(cpr, birthday.year, birthday.month, birthday.day) != 1)
        fuzz_broken(TARGET, "\"%s\": the age around the first birthday is wrong", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstring(data, size);
    tr_cpr_t cpr = {.birth_year = 42};
    tr_error_t err = {0};
    int rc = tr_cpr_parse(text, &cpr, &err);
    if (rc == 0) {
        check_accepted(text, &cpr);
    } else if (rc != TR_EINVAL || err.code != TR_EINVAL || err.message[0] == '\0' ||
               !fuzz_clean_message(err.message, true) || cpr.birth_year != 42) {
        fuzz_broken(TARGET, "\"%s\" refused with %d \"%s\", or the output touched", text, rc,
                    err.message);
    }
    free(text);
    return 0;
}
