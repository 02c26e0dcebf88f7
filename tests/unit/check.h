/* check.h — the unit-test harness: a few assertion macros and a runner that prints one
 * TAP-style line per test ("ok - name" / "not ok - name", diagnostics after "# ").
 * tests/run.sh counts these lines over every test program and prints the summary CI reads.
 *
 *   static void test_easter_2024(void) { CHECK_INT_EQ(easter.day, 31); }
 *   int main(void) { CHECK_RUN(test_easter_2024); return check_done(); }
 *
 * A CHECK that fails marks the running test failed and continues, so one run shows every
 * wrong value. Test code only: the counters below are the one place globals are fine.
 */
#ifndef TR_CHECK_H
#define TR_CHECK_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int check_passed_;
static int check_failed_;
static bool check_current_failed_;

#define CHECK_FAIL_(...)                                                                           \
    do {                                                                                           \
        check_current_failed_ = true;                                                              \
        printf("#   %s:%d: ", __FILE__, __LINE__);                                                 \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
    } while (0)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            CHECK_FAIL_("CHECK(%s) is false", #cond);                                              \
    } while (0)

#define CHECK_INT_EQ(actual, expected)                                                             \
    do {                                                                                           \
        long long a_ = (long long)(actual), e_ = (long long)(expected);                            \
        if (a_ != e_)                                                                              \
            CHECK_FAIL_("%s is %lld, expected %lld", #actual, a_, e_);                             \
    } while (0)

#define CHECK_STR_EQ(actual, expected)                                                             \
    do {                                                                                           \
        const char *a_ = (actual), *e_ = (expected);                                               \
        if (a_ == NULL || e_ == NULL ? a_ != e_ : strcmp(a_, e_) != 0)                             \
            CHECK_FAIL_("%s is \"%s\", expected \"%s\"", #actual, a_ ? a_ : "(null)",              \
                        e_ ? e_ : "(null)");                                                       \
    } while (0)

/* Checks that haystack contains needle. */
#define CHECK_STR_CONTAINS(haystack, needle)                                                       \
    do {                                                                                           \
        const char *h_ = (haystack), *n_ = (needle);                                               \
        if (h_ == NULL || strstr(h_, n_) == NULL)                                                  \
            CHECK_FAIL_("%s is \"%s\", expected it to contain \"%s\"", #haystack,                  \
                        h_ ? h_ : "(null)", n_);                                                   \
    } while (0)

#define CHECK_RUN(fn)                                                                              \
    do {                                                                                           \
        check_current_failed_ = false;                                                             \
        fn();                                                                                      \
        if (check_current_failed_) {                                                               \
            check_failed_++;                                                                       \
            printf("not ok - %s\n", #fn);                                                          \
        } else {                                                                                   \
            check_passed_++;                                                                       \
            printf("ok - %s\n", #fn);                                                              \
        }                                                                                          \
        fflush(stdout);                                                                            \
    } while (0)

/* Prints this program's counts and returns the exit status: failure if any test failed or
 * none ran. */
static inline int check_done(void)
{
    printf("# %d passed, %d failed\n", check_passed_, check_failed_);
    return check_failed_ == 0 && check_passed_ > 0 ? 0 : 1;
}

#endif
