/* money.h — amounts of money in øre (1 krone = 100 øre), exact integer arithmetic.
 *
 * Every amount the system stores, sums or sends is a whole number of øre in a tr_oere_t; there is
 * no floating point anywhere on the way to an invoice. Arithmetic that could leave the int64
 * range fails with TR_EOVERFLOW instead of wrapping.
 *
 * Rounding rule, used by every function here that divides: to the nearest øre, and an exact
 * half øre away from zero (0.5 -> 1, -0.5 -> -1, 2.5 -> 3). It is the usual commercial rounding
 * a caseworker or a supplier's bookkeeper will check an invoice against, and it is symmetric:
 * a credit note for a prorated amount is exactly the negative of the original charge, so the two
 * cancel to the øre.
 *
 * Pure functions: no allocation, no global state, safe from any thread. Pointer arguments must
 * not be NULL (assertions). On error nothing is written through out / parts_out.
 */
#ifndef TR_MONEY_H
#define TR_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef int64_t tr_oere_t;

/* Room for any amount formatted by tr_money_format() or tr_money_format_plain(), with the NUL:
 * the longest is "-92.233.720.368.547.758,08 kr." (30 characters). */
#define TR_MONEY_FORMAT_MAX 32

/* *out = a + b. TR_EOVERFLOW if the sum does not fit. */
int tr_money_add(tr_oere_t a, tr_oere_t b, tr_oere_t *out);

/* *out = amount * factor (e.g. an hourly price times hours). TR_EOVERFLOW if it does not fit. */
int tr_money_mul(tr_oere_t amount, int64_t factor, tr_oere_t *out);

/* *out = amount * numerator / denominator, rounded by the rule above. The product is taken in
 * 128 bits, so a large numerator is fine as long as the result fits. TR_EINVAL if
 * denominator <= 0 or numerator < 0 (a sign change belongs in the amount, where it shows);
 * TR_EOVERFLOW if the result does not fit. */
int tr_money_scale(tr_oere_t amount, int64_t numerator, int64_t denominator, tr_oere_t *out);

/* Proration by days: the part of amount (a price for a whole period) for days_active of
 * days_in_period days, e.g. a monthly price for 16 of 30 days = amount * 16 / 30, rounded by the
 * rule above. TR_EINVAL unless 0 <= days_active <= days_in_period and days_in_period > 0.
 * To spread one amount over days so the days add up to it exactly, use tr_money_split(). */
int tr_money_prorate_days(tr_oere_t amount, int days_active, int days_in_period, tr_oere_t *out);

/* Danish display format into buf: "1.234,56 kr.", "0,00 kr.", "-0,01 kr." (point between
 * thousands, comma before the øre, always two øre digits). TR_ERANGE if len is too small
 * (TR_MONEY_FORMAT_MAX always suffices); then buf holds "" if len > 0. */
int tr_money_format(tr_oere_t amount, char *buf, size_t len);

/* Machine format for CSV and JSON: "1234.56", "0.00", "-0.01" (no grouping, point before the
 * øre, always two øre digits); tr_money_parse() reads it back. TR_ERANGE as tr_money_format(). */
int tr_money_format_plain(tr_oere_t amount, char *buf, size_t len);

/* Parses kroner with at most two decimals: "1234", "1234.5", "1234.56", "-3.07", "-0.01".
 * Nothing else: no "+", no spaces, no thousands separators, no comma. Returns 0, or with err
 * (may be NULL) filled:
 *   TR_EINVAL  missing amount
 *   TR_EINVAL  invalid amount "12,50": must be kroner with at most two decimals after a point,
 *              such as -1234.56
 *   TR_EINVAL  invalid amount "12.345": at most two decimals (øre)
 *   TR_ERANGE  invalid amount "92233720368547758.08": out of range
 * The value in a message is cut after 32 characters ("...") and bytes outside printable ASCII
 * are shown as \xHH. */
int tr_money_parse(const char *text, tr_oere_t *out, tr_error_t *err);

/* Splits total into n parts proportional to weights that add up to exactly total, so that per-day
 * or per-line amounts reconcile with the sum to the øre. Largest-remainder method: each part
 * gets the whole øre of its exact share (toward zero), and the øre left over go one each to the
 * parts with the largest remainders, the earlier part first on a tie (100 over 1:1:1 gives
 * 34, 33, 33; -100 gives -34, -33, -33). Weights are >= 0 and not all 0; a part with weight 0
 * gets 0. TR_EINVAL if n == 0, a weight is negative or all weights are 0. No allocation:
 * O(n * log2(sum of weights)) time. */
int tr_money_split(tr_oere_t total, const int64_t *weights, size_t n, tr_oere_t *parts_out);

#endif
