/* ctl.h — trivselctl's commands. Each takes (argc, argv) with argv[0] the command name and
 * returns the exit status: 0 done, 1 failed, 2 bad usage. */
#ifndef CTL_H
#define CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "config.h"
#include "trivsel/ordering.pb-c.h"

typedef struct ctl_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} ctl_command_t;

int ctl_migrate(int argc, char **argv);
int ctl_keys(int argc, char **argv);
int ctl_audit(int argc, char **argv);
int ctl_intake(int argc, char **argv); /* intake.c: open underretninger and deadlines */
int ctl_case(int argc, char **argv);   /* case.c: a child's case by CPR, in Danish time */
int ctl_catalogue(int argc, char **argv); /* catalogue.c: load a catalogue of offers */
int ctl_settle(int argc, char **argv);    /* settle.c: a month's settlement from trivsel-ordering */
int ctl_orders(int argc, char **argv);    /* orders.c: trivsel-ordering's orders */
int ctl_docs(int argc, char **argv);      /* docs.c: a child's trivselslineal progress */
int ctl_publish(int argc, char **argv); /* publish.c, tail.c, status.c: the broker commands */
int ctl_tail(int argc, char **argv);
int ctl_status(int argc, char **argv);
int ctl_demo(int argc, char **argv); /* demo.c, demo_stories.c: two stories through the daemons */

/* database.c: the database variables trivselctl reads (URL, user, password file), loaded and
 * validated; prints the error and returns NULL when one is wrong. */
tr_config_t *ctl_database_config(void);

/* database.c: a blocking connection as those variables say (the admin's), named
 * application_name in pg_stat_activity; prints the problem and returns NULL when it fails.
 * The caller closes it with PQfinish. */
PGconn *ctl_database_connect(const char *application_name);

/* database.c: one parameterised statement; NULL (with PostgreSQL's message printed) when its
 * status is not want. The caller clears the result. */
PGresult *ctl_query(PGconn *conn, const char *sql, int n, const char *const *values,
                    ExecStatusType want);
/* A statement without parameters or rows (BEGIN, COMMIT); false with the problem printed. */
bool ctl_command(PGconn *conn, const char *sql);
/* A column's text, "" for NULL (borrowed from res); a boolean column, false for NULL. */
const char *ctl_col(const PGresult *res, int row, int c);
bool ctl_colb(const PGresult *res, int row, int c);

/* ---- deadlines.c: the open deadlines of a child's case ---- */

typedef struct ctl_deadline {
    int64_t due;  /* the instant it has passed (epoch seconds) */
    bool instant; /* due is a time of day (the triage), not the end of a date */
    char what[160];
    char note[96]; /* how a passed one is described: "overdue: ..." or "passed: ..." */
} ctl_deadline_t;

/* The case's open deadlines in every service's schema, earliest first, into *rows (the
 * caller frees it) and *n. Returns 0, or -1 with the problem printed. */
int ctl_open_deadlines(PGconn *conn, const char *case_id, int64_t now, ctl_deadline_t **rows,
                       int *n);
/* "2024-03-28 23:59 (CET)": when it is due, in Danish time (a date as its last minute). */
void ctl_deadline_due_text(const ctl_deadline_t *d, char buf[32]);
/* "due in 3 d 4 h", "overdue by 2 h 5 m: a foreløbig vurdering is required". */
void ctl_deadline_state(const ctl_deadline_t *d, int64_t now, char *buf, size_t len);
/* A duration for people: "2 d 3 h", "3 h 59 m", "12 m". */
void ctl_span(int64_t seconds, char *buf, size_t len);

/* ---- keys.c: key pairs and principals ---- */

#define CTL_KEYS_MAX_PATTERNS 32

typedef struct ctl_principal {
    const char *name;
    const char *kind; /* service, system, supplier, operator */
    const char *cvr;  /* a supplier's 8 digits, else "" */
    const char *publish[CTL_KEYS_MAX_PATTERNS];
    const char *subscribe[CTL_KEYS_MAX_PATTERNS];
    int npublish, nsubscribe;
    char defaults[6][96]; /* storage for the kind's default patterns */
} ctl_principal_t;

/* Gives p its kind's default patterns when it has none (a service NAME: publish NAME.>,
 * subscribe >; a supplier: its answers and documentation, bound to its CVR; an operator:
 * subscribe >). Returns -1 with the problem printed for a system without patterns. */
int ctl_keys_default_patterns(ctl_principal_t *p);
/* Makes a CURVE key pair and writes DIR/NAME.key (the secret, mode 600) and DIR/NAME.pub,
 * refusing to overwrite either; the public key into public_key. Prints the problem, -1. */
int ctl_keys_generate(const char *name, const char *dir, char public_key[41]);
/* Registers p with public_key and its permissions in one transaction and tells the broker.
 * Returns 0, or -1 with PostgreSQL's message printed (e.g. the name is taken). */
int ctl_principal_register(PGconn *conn, const ctl_principal_t *p, const char *public_key);
/* Adds those of p's permissions that the principal does not have and tells the broker; the
 * number added in *added. Returns 0 or -1 (printed). */
int ctl_principal_grant(PGconn *conn, const ctl_principal_t *p, int *added);

/* ---- catalogue.c: a catalogue file as ordering.offer.published envelopes ---- */

#define CTL_EVENT_ID_MAX 100 /* proto/trivsel/envelope.proto: 1-100 characters */

typedef struct ctl_offer_event {
    char event_id[CTL_EVENT_ID_MAX + 1];
    char offer_id[CTL_EVENT_ID_MAX + 1];
    uint32_t version;
    uint8_t *envelope;
    size_t len;
} ctl_offer_event_t;

/* Reads and checks every offer of file; the municipality from the file, else
 * option_municipality, else env_municipality. *offers (ctl_catalogue_free) and *n. Returns 0,
 * or -1 with the problem printed (nothing is returned then). */
int ctl_catalogue_read(const char *file, const char *option_municipality,
                       const char *env_municipality, ctl_offer_event_t **offers, size_t *n);
void ctl_catalogue_free(ctl_offer_event_t *offers, size_t n);

/* ---- settle.c: a month's settlement from trivsel-ordering ---- */

typedef struct ctl_settlement {
    Trivsel__Ordering__SettlementCalculated *calculated; /* ctl_settlement_release() */
    char calculated_at[32];                              /* Danish time */
    char event_id[CTL_EVENT_ID_MAX + 1];
    bool again; /* it was settled before this asked */
} ctl_settlement_t;

/* Asks trivsel-ordering to settle municipality's month ("YYYY-MM", ended) unless it is settled
 * already, and waits up to timeout_ms (timeout_text for the message) for the stored result.
 * Returns 0, or 1 with the reason printed (the month has not ended, the service did not answer
 * in time, a database error). */
int ctl_settle_month(PGconn *conn, const char *municipality, const char *month,
                     uint64_t timeout_ms, const char *timeout_text, ctl_settlement_t *out);
void ctl_settlement_release(ctl_settlement_t *s);

#endif
