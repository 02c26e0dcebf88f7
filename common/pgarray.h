/* pgarray.h — a PostgreSQL array literal built from C strings: {"a","b\"c",NULL}. Many values go
 * to the server as one text parameter ($1::text[], $1::bigint[]) and the statement stays one text
 * whatever their number, so it is prepared once (see pg.h). The quoting is the array syntax's,
 * not SQL's: the literal is always a parameter, never part of a statement.
 *
 *   tr_pg_array_t a;
 *   tr_pg_array_init(&a);
 *   tr_pg_array_add(&a, "x");            (NULL adds a NULL element)
 *   const char *text = tr_pg_array_text(&a);   NULL when memory ran out at any step
 *   ...
 *   tr_pg_array_release(&a);
 */
#ifndef TR_PGARRAY_H
#define TR_PGARRAY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct tr_pg_array {
    char *text;
    size_t len, cap;
    bool failed; /* out of memory: the text is incomplete */
} tr_pg_array_t;

void tr_pg_array_init(tr_pg_array_t *a);
void tr_pg_array_add(tr_pg_array_t *a, const char *element);
/* The literal, closed; borrowed until tr_pg_array_release. NULL when memory ran out. */
const char *tr_pg_array_text(tr_pg_array_t *a);
void tr_pg_array_release(tr_pg_array_t *a);

#endif
