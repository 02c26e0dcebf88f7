/* embed_migrations — turns migration files into the C table tr_migrations (common/migrate.h).
 *
 *   embed_migrations services/intake/migrations/0001_schema.sql ... > migrations.c
 *
 * Each file is services/<component>/migrations/NNNN_name.sql. The table is in apply order: by
 * version, then component. A component's versions must run 0001, 0002, ... without gaps or duplicates, so
 * that "the database is at version N" means exactly the files 1..N. Any fault (a bad name, a
 * duplicate, a gap, a file that cannot be read, a NUL byte, text that is not UTF-8) is reported
 * on stderr naming the file, and the exit status is 1 with nothing useful on stdout.
 *
 * A build tool, standalone on purpose: it runs before libtrivsel exists.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPONENT_MAX 64
/* Bytes of SQL per output line at most, so the generated file stays readable in an editor. */
#define LITERAL_WIDTH 100

typedef struct migration_file {
    const char *path; /* as given */
    const char *name; /* its last path element */
    char component[COMPONENT_MAX];
    int version;
    char *sql;
    size_t length;
} migration_file_t;

__attribute__((format(printf, 2, 3))) static int fail(const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "embed_migrations: %s: ", path);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -1;
}

static bool is_lower_or_digit(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool is_name_char(char c)
{
    return is_lower_or_digit(c) || (c >= 'A' && c <= 'Z') || c == '-';
}

/* Takes the component and version from the path: .../<component>/migrations/NNNN_name.sql. */
static int parse_path(migration_file_t *f)
{
    const char *slash = strrchr(f->path, '/');
    f->name = slash ? slash + 1 : f->path;

    /* The folder: "<component>/migrations" just before the name. */
    const char *dir_end = slash;
    const char *dir = NULL;
    if (dir_end != NULL) {
        dir = dir_end;
        while (dir > f->path && dir[-1] != '/')
            dir--;
    }
    if (dir == NULL || dir == f->path || (size_t)(dir_end - dir) != strlen("migrations") ||
        strncmp(dir, "migrations", strlen("migrations")) != 0)
        return fail(f->path, "a migration must be in a folder <component>/migrations/");
    const char *component_end = dir - 1;
    const char *component = component_end;
    while (component > f->path && component[-1] != '/')
        component--;
    size_t component_length = (size_t)(component_end - component);
    bool component_ok = component_length > 0 && component_length < COMPONENT_MAX &&
                        component[0] >= 'a' && component[0] <= 'z';
    for (size_t i = 0; component_ok && i < component_length; i++)
        component_ok = is_lower_or_digit(component[i]);
    if (!component_ok)
        return fail(f->path,
                    "the component folder must be a lower-case name (a-z, 0-9, _): the "
                    "schema is named after it");
    memcpy(f->component, component, component_length);
    f->component[component_length] = '\0';

    /* NNNN_name.sql: four digits, '_', a name of at least one character, ".sql". */
    size_t length = strlen(f->name);
    bool name_ok = length > strlen("0000_.sql") && strcmp(f->name + length - 4, ".sql") == 0 &&
                   f->name[4] == '_';
    for (size_t i = 0; name_ok && i < 4; i++)
        name_ok = f->name[i] >= '0' && f->name[i] <= '9';
    for (size_t i = 5; name_ok && i < length - 4; i++)
        name_ok = is_name_char(f->name[i]);
    if (!name_ok)
        return fail(f->path,
                    "the file name must be NNNN_name.sql: four digits, '_', a name of letters, "
                    "digits, '_' or '-', then \".sql\" (e.g. 0002_cases.sql)");
    f->version = (f->name[0] - '0') * 1000 + (f->name[1] - '0') * 100 + (f->name[2] - '0') * 10 +
                 (f->name[3] - '0');
    return 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not one: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t need;
    unsigned min;
    unsigned cp;
    if ((s[0] & 0xE0) == 0xC0) {
        need = 2, min = 0x80, cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        need = 3, min = 0x800, cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        need = 4, min = 0x10000, cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

/* Reads the whole file; the text must be UTF-8 without NUL bytes, because it becomes a C string
 * sent to a UTF-8 database (a Latin-1 file would fail only when migrating, far from here). */
static int read_file(migration_file_t *f)
{
    FILE *in = fopen(f->path, "rb");
    if (in == NULL)
        return fail(f->path, "cannot open: %s", strerror(errno));
    size_t capacity = 4096;
    size_t length = 0;
    char *sql = malloc(capacity);
    int rc = 0;
    while (sql != NULL) {
        length += fread(sql + length, 1, capacity - length - 1, in);
        if (length < capacity - 1)
            break;
        capacity *= 2;
        char *bigger = realloc(sql, capacity);
        if (bigger == NULL) {
            free(sql);
            sql = NULL;
        }
        sql = bigger;
    }
    if (sql == NULL) {
        rc = fail(f->path, "out of memory");
    } else if (ferror(in)) {
        rc = fail(f->path, "cannot read: %s", strerror(errno));
    } else {
        sql[length] = '\0';
        int line = 1;
        for (size_t i = 0; i < length && rc == 0;) {
            size_t n = utf8_sequence((const unsigned char *)sql + i, length - i);
            if (sql[i] == '\0')
                rc = fail(f->path, "line %d holds a NUL byte", line);
            else if (n == 0)
                rc = fail(f->path, "line %d is not valid UTF-8", line);
            line += sql[i] == '\n';
            i += n;
        }
    }
    fclose(in);
    if (rc != 0) {
        free(sql);
        return rc;
    }
    f->sql = sql;
    f->length = length;
    return 0;
}

static int compare_files(const void *a, const void *b)
{
    const migration_file_t *x = a;
    const migration_file_t *y = b;
    int c = strcmp(x->component, y->component);
    if (c != 0)
        return c;
    return (x->version > y->version) - (x->version < y->version);
}

/* The order migrations are applied in: every component's version 1, then every version 2, ...
 * so a later migration of one component may rely on the first of another (the broker's
 * outbox grants reach the service roles that the services' 0001 files create). */
static int compare_apply_order(const void *a, const void *b)
{
    const migration_file_t *x = a;
    const migration_file_t *y = b;
    if (x->version != y->version)
        return (x->version > y->version) - (x->version < y->version);
    return strcmp(x->component, y->component);
}

/* Needs the files sorted: each component starts at 1 and counts up by one. */
static int check_versions(const migration_file_t *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const migration_file_t *f = &files[i];
        bool first = i == 0 || strcmp(files[i - 1].component, f->component) != 0;
        int expected = first ? 1 : files[i - 1].version + 1;
        if (f->version == expected)
            continue;
        if (!first && f->version == files[i - 1].version) {
            fprintf(stderr, "embed_migrations: %s: version %04d of \"%s\" is also %s\n", f->path,
                    f->version, f->component, files[i - 1].path);
        } else if (first) {
            fprintf(stderr,
                    "embed_migrations: %s: the first version of \"%s\" is %04d: versions must "
                    "count up from 0001 without gaps\n",
                    f->path, f->component, f->version);
        } else {
            fprintf(stderr,
                    "embed_migrations: %s: version %04d of \"%s\" follows %04d: versions must "
                    "count up from 0001 without gaps\n",
                    f->path, f->version, f->component, files[i - 1].version);
        }
        return -1;
    }
    return 0;
}

/* Writes s as C string literals, one per source line, broken after each newline of the text and
 * every LITERAL_WIDTH bytes. Only printable ASCII stands for itself; '"', '\\' and '?' (which
 * could form a trigraph under -std=c17) are escaped, every other byte is a three-digit octal
 * escape, which no following digit can extend. */
static void put_literal(FILE *out, const char *s, size_t n, const char *indent)
{
    size_t width = 0;
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (width >= LITERAL_WIDTH) {
            fprintf(out, "\"\n%s\"", indent);
            width = 0;
        }
        if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c == '"' || c == '\\' || c == '?')
            fprintf(out, "\\%c", c);
        else if (c >= 0x20 && c < 0x7F)
            fputc(c, out);
        else
            fprintf(out, "\\%03o", c);
        width++;
        if (c == '\n' && i + 1 < n) {
            fprintf(out, "\"\n%s\"", indent);
            width = 0;
        }
    }
    fputc('"', out);
}

static void put_table(FILE *out, const migration_file_t *files, size_t n)
{
    fputs("/* Generated by common/tools/embed_migrations from the files\n"
          " * services/<component>/migrations/NNNN_name.sql: do not edit. */\n"
          "#include \"migrate.h\"\n\n",
          out);
    if (n == 0) {
        /* C has no empty arrays; the count says there is nothing. */
        fputs("const tr_migration_t tr_migrations[1] = {{0}};\n"
              "const size_t tr_migrations_count = 0;\n",
              out);
        return;
    }
    fputs("const tr_migration_t tr_migrations[] = {\n", out);
    for (size_t i = 0; i < n; i++) {
        const migration_file_t *f = &files[i];
        fputs("    {", out);
        put_literal(out, f->component, strlen(f->component), "     ");
        fprintf(out, ", %d, ", f->version);
        put_literal(out, f->name, strlen(f->name), "     ");
        fputs(", ", out);
        put_literal(out, f->path, strlen(f->path), "     ");
        fputs(",\n     ", out);
        put_literal(out, f->sql, f->length, "     ");
        fputs("},\n", out);
    }
    fprintf(out, "};\nconst size_t tr_migrations_count = %zu;\n", n);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)argc - 1 : 0;
    migration_file_t *files = calloc(n > 0 ? n : 1, sizeof *files);
    int status = 1;
    if (files == NULL) {
        fprintf(stderr, "embed_migrations: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        files[i].path = argv[i + 1];
        if (parse_path(&files[i]) != 0 || read_file(&files[i]) != 0)
            goto out;
    }
    qsort(files, n, sizeof *files, compare_files);
    if (check_versions(files, n) != 0)
        goto out;
    qsort(files, n, sizeof *files, compare_apply_order);

    put_table(stdout, files, n);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "embed_migrations: cannot write the table: %s\n", strerror(errno));
        goto out;
    }
    status = 0;

out:
    for (size_t i = 0; i < n; i++)
        free(files[i].sql);
    free(files);
    return status;
}
