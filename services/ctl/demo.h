/* demo.h — trivselctl demo: the driver (demo.c) the two stories (demo_stories.c) are told with.
 *
 * A story is straight-line code, one step after the other: the event a party publishes through
 * the broker, the events trivsel answers with (awaited on the demo's own subscription, each
 * with the timeout), what a service recorded where it answers with no event (read from its
 * schema), and the deadlines of the child's case that now run. Each helper prints what happened
 * as it happens. When something does not come, or trivsel refuses what it should take, the
 * helper prints which event is missing at which step, and returns NULL, false or -1; the story
 * then returns -1 at once and the demo exits 1.
 *
 * Everything runs on the calling thread: the helpers turn the libuv loop while they wait. */
#ifndef CTL_DEMO_H
#define CTL_DEMO_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

/* The stories take place in Vejen Kommune; the supplier is seed 000's, Vejledernet ApS. */
#define DEMO_MUNICIPALITY "575"
#define DEMO_SUPPLIER_CVR "45424421"

typedef struct demo demo_t;

/* Who publishes an event: the national digital underretning form (the school's and the
 * doctor's reports), the municipality's case system (the caseworkers: triage, the
 * investigation, the decision, the order) and the supplier. */
typedef enum demo_party {
    DEMO_REPORT_FORM,
    DEMO_CASE_SYSTEM,
    DEMO_SUPPLIER,
    DEMO_NPARTIES
} demo_party_t;

/* demo_stories.c: the two stories. Each returns 0 when all of it came through, else -1. */
int demo_story_school(demo_t *d);
int demo_story_doctor(demo_t *d);

/* ---- telling ---- */

/* A story's heading; the deadlines shown next are the new case's. */
void demo_story(demo_t *d, const char *title);
/* "N. title": a step, numbered through both stories (failures name it). */
void demo_step(demo_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An indented line of explanation. */
void demo_say(demo_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "← subject: text": what trivsel did, from an event it emitted. */
void demo_answer(demo_t *d, const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "✓ text": what a service recorded (read from its schema). */
void demo_recorded(demo_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints why the demo stops, naming the step: "step N (title) failed: ...". */
void demo_fail(demo_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- publishing and awaiting ---- */

/* Publishes payload (a JSON object, taken over) on subject as party, with case_id ("" for
 * none) as correlation id and occurred_at (epoch seconds; 0: now), and waits until the broker
 * has stored it; prints "→ subject (principal): what". Returns the event id (d's, valid until
 * the next publish), or NULL when it was refused or not acknowledged in time. */
const char *demo_publish(demo_t *d, demo_party_t party, const char *subject, const char *case_id,
                         int64_t occurred_at, json_t *payload, const char *what);

/* Waits for an event on subject whose payload has key equal to value (a string). Returns the
 * payload (d's, valid until the demo ends), or NULL when it did not come within the timeout or
 * trivsel refused an event of this step instead. */
const json_t *demo_expect(demo_t *d, const char *subject, const char *key, const char *value);

/* Waits until the query (parameters values) returns a row whose first column is true: what
 * service (e.g. "trivsel-intake") recorded, described by what for the message when it does
 * not within the timeout. */
bool demo_until(demo_t *d, const char *service, const char *what, const char *sql, int n,
                const char *const *values);

/* Prints the changes in the case's open deadlines since it was last shown: the new ones with
 * their due time in Danish time and how long is left, and those no longer open. */
int demo_deadlines(demo_t *d, const char *case_id);

/* ---- what the stories need to know ---- */

/* The admin connection (for reading the services' schemas). */
PGconn *demo_conn(demo_t *d);
/* A query on it; NULL with the problem printed. The caller clears the result. */
PGresult *demo_query(demo_t *d, const char *sql, int n, const char *const *values);
/* How long an answer may take, in ms and as given ("30s"). */
uint64_t demo_timeout_ms(const demo_t *d);
const char *demo_timeout_text(const demo_t *d);
/* The principal of a party. */
const char *demo_principal(const demo_t *d, demo_party_t party);

/* ---- small things ---- */

/* A payload's string member ("" when absent: proto3 JSON leaves out empty fields). */
const char *demo_str(const json_t *payload, const char *key);
/* A payload's boolean member (false when absent). */
bool demo_bool(const json_t *payload, const char *key);
/* The first 8 characters of an id and "…" (a UUID is long for a line), into buf. */
const char *demo_short(const char *id, char buf[16]);
/* A new id: prefix, "-" and 8 random hex digits. */
void demo_new_id(const char *prefix, char *buf, size_t len);
/* Random bytes for new children and ids; -1 (printed) when there are none. */
int demo_random(void *buf, size_t len);

#endif
