#include <stdio.h>

#include "check.h"
#include "pgarray.h"

static void test_empty_array(void)
{
    tr_pg_array_t a;
    tr_pg_array_init(&a);
    CHECK_STR_EQ(tr_pg_array_text(&a), "{}");
    tr_pg_array_release(&a);
}

/* Quotes and backslashes in a name or an event id must not end the element or the array. */
static void test_elements_are_quoted_and_escaped(void)
{
    tr_pg_array_t a;
    tr_pg_array_init(&a);
    tr_pg_array_add(&a, "fagsystem");
    tr_pg_array_add(&a, "u-\"1\"");
    tr_pg_array_add(&a, "C:\\sti");
    tr_pg_array_add(&a, "");
    tr_pg_array_add(&a, NULL);
    tr_pg_array_add(&a, "Søren, Æbleø");
    CHECK_STR_EQ(tr_pg_array_text(&a), "{\"fagsystem\",\"u-\\\"1\\\"\",\"C:\\\\sti\",\"\",NULL,\"Søren, Æbleø\"}");
    tr_pg_array_release(&a);
}

/* The text may be read, and then grow: a batch of a few thousand ids. */
static void test_many_elements(void)
{
    tr_pg_array_t a;
    tr_pg_array_init(&a);
    tr_pg_array_add(&a, "1");
    CHECK_STR_EQ(tr_pg_array_text(&a), "{\"1\"}");
    char id[16];
    for (int i = 2; i <= 3000; i++) {
        snprintf(id, sizeof id, "%d", i);
        tr_pg_array_add(&a, id);
    }
    const char *text = tr_pg_array_text(&a);
    CHECK(text != NULL);
    CHECK_INT_EQ((long long)a.len + 1, (long long)strlen(text));
    CHECK_STR_EQ(text + strlen(text) - 14, "\"2999\",\"3000\"}");
    tr_pg_array_release(&a);
}

int main(void)
{
    CHECK_RUN(test_empty_array);
    CHECK_RUN(test_elements_are_quoted_and_escaped);
    CHECK_RUN(test_many_elements);
    return check_done();
}
