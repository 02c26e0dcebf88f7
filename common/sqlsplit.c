#include "sqlsplit.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* PostgreSQL's identifier characters (scan.l: ident_start, ident_cont); every byte >= 0x80 counts
 * as a letter, which is how the server treats UTF-8. */
static bool is_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_ident_cont(unsigned char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static unsigned char at(const tr_sqlsplit_t *s, size_t pos)
{
    return pos < s->length ? (unsigned char)s->sql[pos] : '\0';
}

/* Moves past one byte, keeping the line count. */
static void advance(tr_sqlsplit_t *s)
{
    if (s->sql[s->pos] == '\n')
        s->line++;
    s->pos++;
}

static int fail(tr_sqlsplit_t *s, tr_error_t *err, const char *what, int line)
{
    s->pos = s->length; /* a broken script yields nothing more */
    return tr_error_set(err, TR_EINVAL, "unterminated %s starting at line %d", what, line);
}

/* At "--": skips to the end of the line. */
static void skip_line_comment(tr_sqlsplit_t *s)
{
    while (s->pos < s->length && s->sql[s->pos] != '\n')
        s->pos++;
}

/* At the opening slash-star: skips the comment. PostgreSQL, unlike the SQL standard's C habit,
 * nests these comments, and quotes inside mean nothing. */
static int skip_block_comment(tr_sqlsplit_t *s, tr_error_t *err)
{
    int line = s->line;
    int depth = 0;
    while (s->pos < s->length) {
        if (at(s, s->pos) == '/' && at(s, s->pos + 1) == '*') {
            depth++;
            s->pos += 2;
        } else if (at(s, s->pos) == '*' && at(s, s->pos + 1) == '/') {
            s->pos += 2;
            if (--depth == 0)
                return 0;
        } else {
            advance(s);
        }
    }
    return fail(s, err, "/* comment", line);
}

/* At the opening quote of '...' or "...": a doubled quote stands for itself; with backslashes
 * (E'...') a backslash takes the next byte literally, so E'\'' is one quote. */
static int skip_quoted(tr_sqlsplit_t *s, char quote, bool backslashes, tr_error_t *err)
{
    int line = s->line;
    s->pos++;
    while (s->pos < s->length) {
        char c = s->sql[s->pos];
        if (backslashes && c == '\\' && s->pos + 1 < s->length) {
            s->pos++;
            advance(s);
        } else if (c == quote) {
            s->pos++;
            if (at(s, s->pos) != (unsigned char)quote)
                return 0;
            s->pos++;
        } else {
            advance(s);
        }
    }
    return fail(s, err, quote == '"' ? "quoted identifier" : "quoted string", line);
}

/* Length of a dollar-quote delimiter ($$ or $tag$, tag an identifier without '$') at pos, or 0
 * when the '$' there starts none: $1 is a parameter, not a quote. */
static size_t dollar_tag_length(const tr_sqlsplit_t *s, size_t pos)
{
    size_t end = pos + 1;
    if (at(s, end) == '$')
        return 2;
    if (!is_ident_start(at(s, end)))
        return 0;
    while (end < s->length && is_ident_cont(at(s, end)) && at(s, end) != '$')
        end++;
    return at(s, end) == '$' ? end + 1 - pos : 0;
}

/* At a dollar-quote delimiter of tag_length bytes: skips to the same delimiter closing it. A
 * different tag inside ($$ within $fn$) is text. */
static int skip_dollar_quoted(tr_sqlsplit_t *s, size_t tag_length, tr_error_t *err)
{
    const char *tag = s->sql + s->pos;
    int line = s->line;
    s->pos += tag_length;
    while (s->pos < s->length) {
        if (s->sql[s->pos] == '$' && s->length - s->pos >= tag_length &&
            memcmp(s->sql + s->pos, tag, tag_length) == 0) {
            s->pos += tag_length;
            return 0;
        }
        advance(s);
    }
    s->pos = s->length;
    return tr_error_set(err, TR_EINVAL,
                        "unterminated dollar-quoted string %.*s starting at line %d",
                        (int)tag_length, tag, line);
}

/* Skips whitespace, comments and empty statements before a statement. */
static int skip_to_statement(tr_sqlsplit_t *s, tr_error_t *err)
{
    while (s->pos < s->length) {
        unsigned char c = at(s, s->pos);
        if (is_space(c) || c == ';') {
            advance(s);
        } else if (c == '-' && at(s, s->pos + 1) == '-') {
            skip_line_comment(s);
        } else if (c == '/' && at(s, s->pos + 1) == '*') {
            int rc = skip_block_comment(s, err);
            if (rc < 0)
                return rc;
        } else {
            break;
        }
    }
    return 0;
}

/* psql's heuristic for SQL-standard function bodies (psqlscan.l): once a statement has begun
 * with CREATE [OR REPLACE] FUNCTION|PROCEDURE, BEGIN opens a block, CASE inside it opens one
 * too, and END closes one; semicolons inside a block do not end the statement. */
typedef struct body_tracker {
    int words;         /* identifiers seen in this statement */
    char initials[4];  /* first letters of the leading create/or/replace/function/procedure */
    int begin_depth;
} body_tracker_t;

static bool word_is(const char *word, size_t length, const char *keyword)
{
    return strlen(keyword) == length && strncasecmp(word, keyword, length) == 0;
}

static void track_word(body_tracker_t *t, const char *word, size_t length, int paren_depth)
{
    if (t->words < 4 &&
        (word_is(word, length, "create") || word_is(word, length, "function") ||
         word_is(word, length, "procedure") || word_is(word, length, "or") ||
         word_is(word, length, "replace")))
        t->initials[t->words] = (char)(word[0] | 0x20);
    t->words++;

    const char *i = t->initials;
    bool or_replace = i[1] == 'o' && i[2] == 'r';
    bool creates_routine = i[0] == 'c' && (i[1] == 'f' || i[1] == 'p' ||
                                           (or_replace && (i[3] == 'f' || i[3] == 'p')));
    if (!creates_routine || paren_depth != 0)
        return;
    if (word_is(word, length, "begin"))
        t->begin_depth++;
    else if (word_is(word, length, "case") && t->begin_depth > 0)
        t->begin_depth++;
    else if (word_is(word, length, "end") && t->begin_depth > 0)
        t->begin_depth--;
}

void tr_sqlsplit_init(tr_sqlsplit_t *split, const char *sql, size_t length)
{
    assert(split != NULL);
    assert(sql != NULL || length == 0);
    split->sql = sql;
    split->length = length;
    split->pos = 0;
    split->line = 1;
    split->number = 0;
}

int tr_sqlsplit_next(tr_sqlsplit_t *split, tr_sqlsplit_statement_t *statement, tr_error_t *err)
{
    assert(split != NULL && statement != NULL);
    tr_sqlsplit_t *s = split;
    int rc = skip_to_statement(s, err);
    if (rc < 0)
        return rc;
    if (s->pos >= s->length)
        return 0;

    size_t start = s->pos;
    int start_line = s->line;
    size_t end = s->length;
    int paren_depth = 0;
    body_tracker_t body = {0};

    while (s->pos < s->length) {
        unsigned char c = at(s, s->pos);
        unsigned char next = at(s, s->pos + 1);
        if (c == '\'') {
            rc = skip_quoted(s, '\'', false, err);
        } else if (c == '"') {
            rc = skip_quoted(s, '"', false, err);
        } else if (c == '-' && next == '-') {
            skip_line_comment(s);
        } else if (c == '/' && next == '*') {
            rc = skip_block_comment(s, err);
        } else if (c == '$') {
            /* Reached only outside an identifier: a '$' inside one (a$b$) is consumed with it. */
            size_t tag_length = dollar_tag_length(s, s->pos);
            if (tag_length > 0)
                rc = skip_dollar_quoted(s, tag_length, err);
            else
                s->pos++;
        } else if (is_ident_cont(c)) {
            /* A whole identifier, keyword or number at once, so that E'...' is recognised only
             * when the E stands alone (in type'\' the quote opens a standard string). */
            size_t word = s->pos;
            bool identifier = is_ident_start(c);
            /* A number takes no '$': in 1$$x$$ the quote starts after the 1. */
            while (s->pos < s->length && is_ident_cont(at(s, s->pos)) &&
                   (identifier || at(s, s->pos) != '$'))
                s->pos++;
            size_t word_length = s->pos - word;
            if (word_length == 1 && (c == 'e' || c == 'E') && at(s, s->pos) == '\'')
                rc = skip_quoted(s, '\'', true, err);
            else if (identifier)
                track_word(&body, s->sql + word, word_length, paren_depth);
        } else if (c == '(') {
            paren_depth++;
            s->pos++;
        } else if (c == ')') {
            if (paren_depth > 0)
                paren_depth--;
            s->pos++;
        } else if (c == ';' && paren_depth == 0 && body.begin_depth == 0) {
            end = s->pos;
            s->pos++;
            break;
        } else {
            advance(s);
        }
        if (rc < 0)
            return rc;
    }

    while (end > start && is_space((unsigned char)s->sql[end - 1]))
        end--;
    statement->text = s->sql + start;
    statement->length = end - start;
    statement->line = start_line;
    statement->number = ++s->number;
    return 1;
}
