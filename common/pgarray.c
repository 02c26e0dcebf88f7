#include "pgarray.h"

#include <stdlib.h>
#include <string.h>

void tr_pg_array_init(tr_pg_array_t *a)
{
    *a = (tr_pg_array_t){0};
}

/* Room for n more bytes and the closing "}\0". */
static bool reserve(tr_pg_array_t *a, size_t n)
{
    if (a->failed)
        return false;
    if (a->len + n + 2 <= a->cap)
        return true;
    size_t cap = 2 * (a->len + n + 2) + 64;
    char *grown = realloc(a->text, cap);
    if (!grown) {
        a->failed = true;
        return false;
    }
    a->text = grown;
    a->cap = cap;
    return true;
}

void tr_pg_array_add(tr_pg_array_t *a, const char *element)
{
    size_t n = element ? strlen(element) : 0;
    /* the separator, the quotes, and every character escaped at worst */
    if (!reserve(a, 2 * n + 4))
        return;
    char separator = a->len == 0 ? '{' : ',';
    a->text[a->len++] = separator;
    if (!element) {
        memcpy(a->text + a->len, "NULL", 4);
        a->len += 4;
        return;
    }
    a->text[a->len++] = '"';
    for (const char *c = element; *c; c++) {
        if (*c == '"' || *c == '\\')
            a->text[a->len++] = '\\';
        a->text[a->len++] = *c;
    }
    a->text[a->len++] = '"';
}

const char *tr_pg_array_text(tr_pg_array_t *a)
{
    if (!reserve(a, 1))
        return NULL;
    if (a->len == 0)
        a->text[a->len++] = '{';
    a->text[a->len] = '}';
    a->text[a->len + 1] = '\0';
    return a->text;
}

void tr_pg_array_release(tr_pg_array_t *a)
{
    free(a->text);
    *a = (tr_pg_array_t){0};
}
