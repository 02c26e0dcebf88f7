/* Unit tests for common/sqlsplit: where a SQL script's statements begin and end. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "migrate.h"
#include "sqlsplit.h"

#define SPLIT_MAX 16

typedef struct split_result {
    int count;
    char *text[SPLIT_MAX];
    int line[SPLIT_MAX];
    int rc;               /* of the last tr_sqlsplit_next: 0, or the error */
    tr_error_t err;
} split_result_t;

static void split_all(const char *sql, split_result_t *r)
{
    tr_sqlsplit_t split;
    tr_sqlsplit_statement_t st;
    memset(r, 0, sizeof *r);
    tr_sqlsplit_init(&split, sql, strlen(sql));
    while ((r->rc = tr_sqlsplit_next(&split, &st, &r->err)) > 0 && r->count < SPLIT_MAX) {
        CHECK_INT_EQ(st.number, r->count + 1);
        r->text[r->count] = strndup(st.text, st.length);
        r->line[r->count] = st.line;
        r->count++;
    }
}

static void split_free(split_result_t *r)
{
    for (int i = 0; i < r->count; i++)
        free(r->text[i]);
}

static void test_plain_statements(void)
{
    split_result_t r;
    split_all("SELECT 1;\nSELECT 2;\n\n  CREATE TABLE t (a int);\n", &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 3);
    CHECK_STR_EQ(r.text[0], "SELECT 1");
    CHECK_STR_EQ(r.text[1], "SELECT 2");
    CHECK_STR_EQ(r.text[2], "CREATE TABLE t (a int)");
    CHECK_INT_EQ(r.line[0], 1);
    CHECK_INT_EQ(r.line[1], 2);
    CHECK_INT_EQ(r.line[2], 4);
    split_free(&r);
}

static void test_no_trailing_semicolon(void)
{
    split_result_t r;
    split_all("SELECT 1;\nSELECT 2\n\n", &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 2);
    CHECK_STR_EQ(r.text[1], "SELECT 2");
    CHECK_INT_EQ(r.line[1], 2);
    split_free(&r);
}

static void test_empty_statements_skipped(void)
{
    split_result_t r;
    split_all(";;  ;\n-- only a comment;\n/* and; another */ ;\n", &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 0);
    split_all("", &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 0);
    split_all("SELECT 1; -- the end\n", &r);
    CHECK_INT_EQ(r.count, 1);
    CHECK_STR_EQ(r.text[0], "SELECT 1");
    split_free(&r);
}

static void test_semicolon_in_string(void)
{
    split_result_t r;
    split_all("INSERT INTO t VALUES ('a;b''c;');\nSELECT 'børn; unge'", &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 2);
    CHECK_STR_EQ(r.text[0], "INSERT INTO t VALUES ('a;b''c;')");
    CHECK_STR_EQ(r.text[1], "SELECT 'børn; unge'");
    split_free(&r);
}

/* standard_conforming_strings: a backslash ends nothing in '...', escapes the quote in E'...'. */
static void test_backslashes(void)
{
    split_result_t r;
    split_all("SELECT 'a\\'; SELECT 2", &r);
    CHECK_INT_EQ(r.count, 2);
    CHECK_STR_EQ(r.text[0], "SELECT 'a\\'");
    split_free(&r);

    split_all("SELECT E'it\\'s; still'; SELECT 2", &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 2);
    CHECK_STR_EQ(r.text[0], "SELECT E'it\\'s; still'");
    CHECK_STR_EQ(r.text[1], "SELECT 2");
    split_free(&r);

    split_all("SELECT e'\\\\'; SELECT 2", &r); /* e'\\' is one backslash, then closed */
    CHECK_INT_EQ(r.count, 2);
    CHECK_STR_EQ(r.text[0], "SELECT e'\\\\'");
    split_free(&r);

    /* Only a lone E opens an E-string: after "type" the quote opens a standard one. */
    split_all("SELECT type'a\\'; SELECT 2", &r);
    CHECK_INT_EQ(r.count, 2);
    CHECK_STR_EQ(r.text[0], "SELECT type'a\\'");
    split_free(&r);
}

static void test_semicolon_in_identifier(void)
{
    split_result_t r;
    split_all("SELECT 1 AS \"a;\"\"b\"; SELECT 2", &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 2);
    CHECK_STR_EQ(r.text[0], "SELECT 1 AS \"a;\"\"b\"");
    split_free(&r);
}

static void test_do_block(void)
{
    const char *sql = "DO $$\n"
                      "BEGIN\n"
                      "    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'x') THEN\n"
                      "        CREATE ROLE x;\n"
                      "    END IF;\n"
                      "END\n"
                      "$$;\n"
                      "CREATE SCHEMA x;\n";
    split_result_t r;
    split_all(sql, &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 2);
    CHECK_INT_EQ(strlen(r.text[0]), strlen(sql) - strlen(";\nCREATE SCHEMA x;\n"));
    CHECK(strncmp(r.text[0], sql, strlen(r.text[0])) == 0);
    CHECK_STR_EQ(r.text[1], "CREATE SCHEMA x");
    CHECK_INT_EQ(r.line[1], 8);
    split_free(&r);
}

/* $$ inside $fn$ is text; so is a tag that only begins like the closing one. */
static void test_dollar_tags(void)
{
    const char *fn = "CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $fn$\n"
                     "BEGIN\n"
                     "    RETURN $$a;b$$ || $fnx$;$fnx$;\n"
                     "END\n"
                     "$fn$";
    char sql[512];
    snprintf(sql, sizeof sql, "%s;\nSELECT $a_1$;'$a_1$;", fn);
    split_result_t r;
    split_all(sql, &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 2);
    CHECK_STR_EQ(r.text[0], fn);
    CHECK_STR_EQ(r.text[1], "SELECT $a_1$;'$a_1$");
    CHECK_INT_EQ(r.line[1], 6);
    split_free(&r);
}

/* $1 is a parameter and a$b$ an identifier: neither opens a dollar quote. */
static void test_dollar_not_quote(void)
{
    split_result_t r;
    split_all("PREPARE p AS SELECT $1; SELECT a$b$ FROM t; SELECT 1$$x;$$", &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 3);
    CHECK_STR_EQ(r.text[0], "PREPARE p AS SELECT $1");
    CHECK_STR_EQ(r.text[1], "SELECT a$b$ FROM t");
    CHECK_STR_EQ(r.text[2], "SELECT 1$$x;$$");
    split_free(&r);
}

static void test_comments(void)
{
    split_result_t r;
    split_all("-- it's a comment; really \"odd\n"
              "SELECT 1 -- don't; stop\n"
              ", 2; /* a 'quote; */ SELECT /* outer /* inner; */ still; */ 3;\n"
              "SELECT 4 /* it's */ ;",
              &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 3);
    CHECK_STR_EQ(r.text[0], "SELECT 1 -- don't; stop\n, 2");
    CHECK_STR_EQ(r.text[1], "SELECT /* outer /* inner; */ still; */ 3");
    CHECK_STR_EQ(r.text[2], "SELECT 4 /* it's */");
    CHECK_INT_EQ(r.line[0], 2);
    CHECK_INT_EQ(r.line[1], 3);
    CHECK_INT_EQ(r.line[2], 4);
    split_free(&r);
}

/* Lines are counted inside strings, comments and dollar quotes too. */
static void test_line_numbers(void)
{
    split_result_t r;
    split_all("SELECT 'a\nb';\n"      /* 1-2 */
              "/* x\ny */\n"           /* 3-4 */
              "SELECT $$\n;\n$$;\n\n" /* 5-8 */
              "\"q\nr\";  -- c\n"     /* 9-10 */
              "SELECT E'\\\n';SELECT 9", /* 11-12: a backslash-escaped line break */
              &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 5);
    CHECK_INT_EQ(r.line[0], 1);
    CHECK_INT_EQ(r.line[1], 5);
    CHECK_INT_EQ(r.line[2], 9);
    CHECK_INT_EQ(r.line[3], 11);
    CHECK_INT_EQ(r.line[4], 12);
    CHECK_STR_EQ(r.text[4], "SELECT 9");
    split_free(&r);
}

static void test_parentheses(void)
{
    split_result_t r;
    split_all("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); "
              "INSERT INTO v VALUES (2)); SELECT (1)); SELECT 3",
              &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 3);
    CHECK_STR_EQ(r.text[0], "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); "
                            "INSERT INTO v VALUES (2))");
    /* A stray ')' does not make the depth negative and swallow the rest. */
    CHECK_STR_EQ(r.text[1], "SELECT (1))");
    CHECK_STR_EQ(r.text[2], "SELECT 3");
    split_free(&r);
}

/* SQL-standard function bodies, as psql splits them. */
static void test_begin_atomic(void)
{
    const char *fn = "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql\n"
                     "BEGIN ATOMIC\n"
                     "    SELECT 1;\n"
                     "    SELECT CASE WHEN x > 0 THEN 2 ELSE 3 END;\n"
                     "END";
    char sql[512];
    snprintf(sql, sizeof sql,
             "%s;\nBEGIN;\nSELECT 'end';\nCOMMIT;\n"
             "CREATE PROCEDURE p() BEGIN ATOMIC SELECT 1; END;",
             fn);
    split_result_t r;
    split_all(sql, &r);
    CHECK_INT_EQ(r.rc, 0);
    CHECK_INT_EQ(r.count, 5);
    CHECK_STR_EQ(r.text[0], fn);
    CHECK_STR_EQ(r.text[1], "BEGIN");
    CHECK_STR_EQ(r.text[2], "SELECT 'end'");
    CHECK_STR_EQ(r.text[3], "COMMIT");
    CHECK_STR_EQ(r.text[4], "CREATE PROCEDURE p() BEGIN ATOMIC SELECT 1; END");
    split_free(&r);
}

static void test_unterminated(void)
{
    split_result_t r;
    split_all("SELECT 1;\nSELECT 'abc;\n", &r);
    CHECK_INT_EQ(r.count, 1); /* the statement before the fault still comes out */
    CHECK_INT_EQ(r.rc, TR_EINVAL);
    CHECK_STR_EQ(r.err.message, "unterminated quoted string starting at line 2");
    split_free(&r);

    split_all("SELECT \"abc", &r);
    CHECK_INT_EQ(r.rc, TR_EINVAL);
    CHECK_STR_EQ(r.err.message, "unterminated quoted identifier starting at line 1");

    split_all("SELECT E'abc\\'", &r);
    CHECK_INT_EQ(r.rc, TR_EINVAL);
    CHECK_STR_EQ(r.err.message, "unterminated quoted string starting at line 1");

    split_all("SELECT 1;\n\nDO $body$ BEGIN NULL; END $$;\n", &r);
    CHECK_INT_EQ(r.rc, TR_EINVAL);
    CHECK_STR_EQ(r.err.message, "unterminated dollar-quoted string $body$ starting at line 3");
    split_free(&r);

    split_all("/* a /* b */ SELECT 1;", &r);
    CHECK_INT_EQ(r.count, 0);
    CHECK_INT_EQ(r.rc, TR_EINVAL);
    CHECK_STR_EQ(r.err.message, "unterminated /* comment starting at line 1");

    split_all("SELECT 1 /* x\n*", &r);
    CHECK_INT_EQ(r.rc, TR_EINVAL);
    CHECK_STR_EQ(r.err.message, "unterminated /* comment starting at line 1");

    /* After a fault the split stays finished. */
    tr_sqlsplit_t split;
    tr_sqlsplit_statement_t st;
    tr_sqlsplit_init(&split, "SELECT 'x", 9);
    CHECK_INT_EQ(tr_sqlsplit_next(&split, &st, NULL), TR_EINVAL);
    CHECK_INT_EQ(tr_sqlsplit_next(&split, &st, NULL), 0);
}

/* Only `length` bytes are read: the script needs no NUL. */
static void test_length_bound(void)
{
    const char sql[] = {'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', ';', 'S', 'E', 'L', 'E', 'C', 'T'};
    tr_sqlsplit_t split;
    tr_sqlsplit_statement_t st;
    tr_sqlsplit_init(&split, sql, 12);
    CHECK_INT_EQ(tr_sqlsplit_next(&split, &st, NULL), 1);
    CHECK_INT_EQ(st.length, 8);
    CHECK_INT_EQ(tr_sqlsplit_next(&split, &st, NULL), 1);
    CHECK_INT_EQ(st.length, 3);
    CHECK(strncmp(st.text, "SEL", 3) == 0);
    CHECK_INT_EQ(tr_sqlsplit_next(&split, &st, NULL), 0);
}

/* What the programs carry: every shipped migration splits, and the table is in apply order:
 * by version, then component (every 0001 before any 0002). */
static void test_shipped_migrations(void)
{
    static const char *const components[] = {"assessment", "broker", "docs", "intake", "ordering"};
    CHECK(tr_migrations_count >= 5);
    for (size_t c = 0; c < sizeof components / sizeof components[0]; c++)
        CHECK(tr_migrate_latest(components[c]) >= 1);
    CHECK_INT_EQ(tr_migrate_latest("nosuch"), 0);

    for (size_t i = 0; i < tr_migrations_count; i++) {
        const tr_migration_t *m = &tr_migrations[i];
        if (i > 0) {
            const tr_migration_t *prev = &tr_migrations[i - 1];
            CHECK(prev->version < m->version ||
                  (prev->version == m->version && strcmp(prev->component, m->component) < 0));
        }
        char expected_path[256];
        snprintf(expected_path, sizeof expected_path, "services/%s/migrations/%s", m->component,
                 m->name);
        CHECK_STR_EQ(m->path, expected_path);
        split_result_t r;
        split_all(m->sql, &r);
        if (r.rc != 0)
            printf("#   %s: %s\n", m->path, r.err.message);
        CHECK_INT_EQ(r.rc, 0);
        CHECK(r.count > 0);
        split_free(&r);
    }
}

int main(void)
{
    CHECK_RUN(test_plain_statements);
    CHECK_RUN(test_no_trailing_semicolon);
    CHECK_RUN(test_empty_statements_skipped);
    CHECK_RUN(test_semicolon_in_string);
    CHECK_RUN(test_backslashes);
    CHECK_RUN(test_semicolon_in_identifier);
    CHECK_RUN(test_do_block);
    CHECK_RUN(test_dollar_tags);
    CHECK_RUN(test_dollar_not_quote);
    CHECK_RUN(test_comments);
    CHECK_RUN(test_line_numbers);
    CHECK_RUN(test_parentheses);
    CHECK_RUN(test_begin_atomic);
    CHECK_RUN(test_unterminated);
    CHECK_RUN(test_length_bound);
    CHECK_RUN(test_shipped_migrations);
    return check_done();
}
