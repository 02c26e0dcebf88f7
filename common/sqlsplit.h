/* sqlsplit.h — splits a SQL script into the statements psql would send one by one.
 *
 * A statement ends at a semicolon that is outside quotes and comments, outside parentheses (so
 * CREATE RULE ... DO (a; b) stays whole) and outside the BEGIN ... END of a SQL-standard function
 * body (CREATE FUNCTION ... BEGIN ATOMIC a; b; END), using psql's own heuristic for the latter.
 * Understood: '...' with '' inside, E'...' with backslash escapes, "..." identifiers with "",
 * $tag$...$tag$ dollar quoting, -- comments and nested slash-star comments. In '...' a backslash
 * is an ordinary character, as with standard_conforming_strings = on, PostgreSQL's default.
 *
 * Pure code: no allocation, no I/O; statements point into the caller's script.
 *
 *   tr_sqlsplit_t split;
 *   tr_sqlsplit_statement_t st;
 *   int rc;
 *   tr_sqlsplit_init(&split, sql, strlen(sql));
 *   while ((rc = tr_sqlsplit_next(&split, &st, err)) > 0)
 *       use(st.text, st.length, st.line);
 *   if (rc < 0) ... err says where the script is broken ...
 */
#ifndef TR_SQLSPLIT_H
#define TR_SQLSPLIT_H

#include <stddef.h>

#include "error.h"

typedef struct tr_sqlsplit {
    const char *sql; /* borrowed; must outlive the split */
    size_t length;
    size_t pos;  /* next byte to scan */
    int line;    /* 1-based line of sql[pos] */
    int number;  /* statements returned so far */
} tr_sqlsplit_t;

typedef struct tr_sqlsplit_statement {
    const char *text; /* borrowed from the script, NOT NUL-terminated; starts at the statement's
                         first token (leading whitespace and comments are not part of it) */
    size_t length;    /* up to the terminating ';' (excluded); trailing whitespace dropped */
    int line;         /* 1-based line of text[0] in the script */
    int number;       /* 1-based position among the script's non-empty statements */
} tr_sqlsplit_statement_t;

/* Starts splitting sql[0..length). */
void tr_sqlsplit_init(tr_sqlsplit_t *split, const char *sql, size_t length);

/* Finds the next statement. Returns 1 with *statement filled; 0 when none is left; TR_EINVAL
 * with err set when the script ends inside a quote or comment, e.g.
 *   unterminated dollar-quoted string $fn$ starting at line 12
 * (every later call then returns 0). Empty statements (only whitespace, comments and ';') are
 * skipped. */
int tr_sqlsplit_next(tr_sqlsplit_t *split, tr_sqlsplit_statement_t *statement, tr_error_t *err);

#endif
