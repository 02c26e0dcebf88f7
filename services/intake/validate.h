/* validate.h — what an incoming intake event must satisfy before anything is stored, and the
 * list of every problem found (trivsel.Problem: field, message for people, code for programs).
 *
 * Pure: no database, no clock (the caller passes "now"), no global state. The problem messages
 * follow house style and name the wrong value; a CPR number in a message goes back only to the
 * publisher that sent it, never into a log.
 */
#ifndef INTAKE_VALIDATE_H
#define INTAKE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "trivsel/intake.pb-c.h"

/* Text limits, in characters (UTF-8 code points). */
#define INTAKE_MAX_CONCERN 20000 /* the concern, triage reasons and plans */
#define INTAKE_MAX_NAME 200      /* names, organisations, roles, streets, cities */
#define INTAKE_MAX_SIGNAL 1000   /* one signal's description */
#define INTAKE_MAX_SIGNALS 50
#define INTAKE_MAX_REFERENCE 100 /* source_reference, team, employee ids */
#define INTAKE_MAX_CONTACT 254   /* phone, e-mail */
/* An underretning concerns a child: under 18 on the day of receipt (Barnets Lov §133). */
#define INTAKE_CHILD_MAX_AGE 17

/* The problems found in one event. Owns its strings. */
typedef struct intake_problems {
    Trivsel__Problem **items;
    size_t n, cap;
} intake_problems_t;

/* Adds a problem; the message is printf-formatted. Out of memory drops it (the event is still
 * refused if any problem was added before). */
void intake_problems_add(intake_problems_t *p, const char *field, const char *code, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
void intake_problems_release(intake_problems_t *p);

typedef struct intake_validate_options {
    int64_t now_us;             /* the current time */
    int64_t clock_skew_us;      /* how far in the future a timestamp may be (the sender's clock) */
    const char *municipalities; /* kommunekoder served, "630,575"; "" = any */
} intake_validate_options_t;

/* The child as its case is found: by CPR, or by name and birth date (see underretning.c). */
typedef struct intake_child_key {
    char cpr[11];         /* 10 digits, or "" */
    char name_key[801];   /* the name lower-cased with spaces collapsed, or "" */
    tr_date_t birth_date; /* from the CPR number, or as given */
} intake_child_key_t;

/* Checks an UnderretningReceived published for municipality. On success (no problem added) and
 * key not NULL, fills *key. */
void intake_validate_underretning(const Trivsel__Intake__UnderretningReceived *u,
                                  const char *municipality, const intake_validate_options_t *o,
                                  intake_problems_t *p, intake_child_key_t *key);

/* What intake knows about the underretning a triage names. */
typedef struct intake_triage_context {
    bool known;          /* the underretning exists in this municipality */
    const char *case_id; /* its case */
    bool already_triaged;
    bool abuse_case, parents_suspected, genvurdering_required;
    int64_t received_us;
    /* Employee ids that have triaged underretninger on the case before (who "has handled the
     * case", Barnets Lov §137 stk. 1). */
    const char *const *earlier_triagers;
    size_t n_earlier_triagers;
} intake_triage_context_t;

void intake_validate_triage(const Trivsel__Intake__TriageCompleted *t,
                            const intake_triage_context_t *ctx, const intake_validate_options_t *o,
                            intake_problems_t *p);

/* A timestamp that PostgreSQL and common/calendar.h can hold: years 1900-9999, nanos in range. */
bool intake_timestamp_valid(const Google__Protobuf__Timestamp *ts);
/* Microseconds since 1970 (nanoseconds truncated). ts must be valid. */
int64_t intake_timestamp_us(const Google__Protobuf__Timestamp *ts);

/* Valid UTF-8 of at most max code points. */
bool intake_text_ok(const char *s, size_t max);
/* A UUID in its canonical text form (36 characters, lower- or upper-case hex). */
bool intake_is_uuid(const char *s);

/* The name key for matching a child without CPR: lower-case ASCII letters (UTF-8 letters are
 * kept as they are, Danish æøå included), runs of white space as one space, no space at the
 * ends. out has room for len bytes. */
void intake_name_key(const char *name, char *out, size_t len);

#endif
