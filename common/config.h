/* config.h — configuration from environment variables, declared in one table per program and
 * validated at start: a wrong value stops the program with one line naming the variable, the
 * value and what is allowed:
 *
 *   TRIVSEL_LOG_LEVEL="verbose" is not valid: must be one of debug, info, warn, error
 *
 * The same tables print --help and the operator guide's list of variables, so the documented
 * list cannot drift from the code.
 */
#ifndef TR_CONFIG_H
#define TR_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

typedef enum {
    TR_CONFIG_STRING,   /* any non-empty text */
    TR_CONFIG_INT,      /* decimal integer within "MIN..MAX" given in allowed */
    TR_CONFIG_DURATION, /* "250ms", "30s", "5m", "6h", "2d"; read back in milliseconds */
    TR_CONFIG_ENUM,     /* one of the words in allowed, separated by '|' */
    TR_CONFIG_BOOL,     /* true/false, yes/no, 1/0, on/off */
    TR_CONFIG_FILE      /* path to a readable file (keys, passwords: never the secret itself) */
} tr_config_type_t;

typedef struct tr_config_var {
    const char *name;          /* TRIVSEL_... */
    tr_config_type_t type;
    const char *default_value; /* NULL: required; "": optional and empty by default */
    const char *allowed;       /* ENUM: "debug|info|warn|error"; INT: "1..65535"; else NULL */
    const char *help;          /* one line for people */
} tr_config_var_t;

typedef struct tr_config tr_config_t;

/* Looks a variable up; tests pass their own, programs pass tr_config_getenv. */
typedef const char *(*tr_config_lookup_fn)(const char *name, void *arg);
const char *tr_config_getenv(const char *name, void *arg);

/* Reads and validates every variable of vars (n entries). On the first bad or missing one
 * returns TR_ECONFIG with err naming it; *out is then NULL. The caller owns *out. */
int tr_config_load(const tr_config_var_t *vars, size_t n, tr_config_lookup_fn lookup, void *arg,
                   tr_config_t **out, tr_error_t *err);
void tr_config_destroy(tr_config_t **cfg);

/* Typed reads of a declared variable (asking for an undeclared name is a programming error and
 * aborts). Strings are borrowed from cfg. An optional variable that is unset reads as "". */
const char *tr_config_string(const tr_config_t *cfg, const char *name);
int64_t tr_config_int(const tr_config_t *cfg, const char *name);
int64_t tr_config_duration_ms(const tr_config_t *cfg, const char *name);
bool tr_config_bool(const tr_config_t *cfg, const char *name);

/* Reads a small file named by a FILE variable (a password, a key) into buf without the
 * trailing newline. Errors name the variable and the path, never the content. */
int tr_config_read_file(const tr_config_t *cfg, const char *name, char *buf, size_t len,
                        tr_error_t *err);

/* Parses a duration ("250ms", "30s", "5m", "6h", "2d") into milliseconds. */
int tr_config_parse_duration(const char *text, int64_t *ms, tr_error_t *err);

/* Writes the table as aligned help text: name, default, meaning. */
void tr_config_print_help(const tr_config_var_t *vars, size_t n, FILE *out);

#endif
