/* trivselctl demo — a walk-through for a new user, against the system `make run` started: it
 * sets up its own principals and the sample catalogue, then plays two stories through the real
 * daemons (demo_stories.c) and prints each step as it happens: the event published, what
 * trivsel did (the events it emitted in answer, read on a subscription of the demo's own, and
 * what the services recorded, read from their schemas), and the deadlines that now run.
 *
 * This file is the driver: where the system is (the var/ folder of `make run`, or the usual
 * variables), the principals (reused when their key is in the keys folder, made otherwise), the
 * broker clients, the awaiting of answers with a timeout, and the deadlines. It exits 0 only
 * when every event it expects came. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "catalogue.h"
#include "ctl.h"
#include "demo.h"
#include "messaging.h"
#include "pbjson.h"

#define DEFAULT_TIMEOUT "30s"
#define DEFAULT_CATALOGUE "deploy/catalogue.json"
#define TICK_MS 100
#define MAX_PUBLISHED 8 /* events published in one step */
#define CREDIT 256

/* The demo's principals: the three parties of demo.h, then the catalogue's publisher and the
 * observer whose subscription shows what trivsel did. */
enum { CATALOGUE = DEMO_NPARTIES, OBSERVER, NPRINCIPALS };

typedef struct client {
    demo_t *d;
    ctl_principal_t principal;
    tr_bclient_t *bclient;
} client_t;

/* An event trivsel emitted, as the observer received it. */
typedef struct received {
    uint64_t position;
    char *subject;
    json_t *payload; /* the payload as its type's JSON; null when the type is unknown */
    bool used;       /* a story took it */
} received_t;

/* One publish being acknowledged. */
typedef struct ack {
    bool done, refused;
    bool duplicate;
    uint64_t position;
    char reason[512];
} ack_t;

struct demo {
    PGconn *conn;
    uv_loop_t loop;
    uv_timer_t tick;
    char address[256];
    char server_key[41];
    char keys_dir[PATH_MAX];
    const char *catalogue_file;
    const char *timeout_text;
    uint64_t timeout_ms;
    client_t clients[NPRINCIPALS];
    char subscription[CTL_SUBSCRIPTION_NAME_MAX + 1];
    char client_error[600]; /* the first refusal that belongs to no publish */
    received_t *received;
    size_t nreceived, capreceived;
    int step;
    char step_title[256];
    /* This step's events, so that a refusal of one is caught at once. */
    char published[MAX_PUBLISHED][CTL_EVENT_ID_MAX + 1];
    int npublished;
    /* The deadlines of shown_case as last shown. */
    char shown_case[64];
    ctl_deadline_t *shown;
    int nshown;
};

/* Who plays whom, with the permissions each needs. The case system's name is the caseworkers'
 * system trivsel-ordering knows (TRIVSEL_ORDERING_CASEWORKER_SYSTEMS), set at run time. */
static const struct {
    const char *name, *kind, *cvr, *role;
    const char *publish[8], *subscribe[2];
} roles[NPRINCIPALS] = {
    [DEMO_REPORT_FORM] = {"demo-underretning",
                          "system",
                          "",
                          "the digital underretning form",
                          {"intake.underretning.received"},
                          {NULL}},
    [DEMO_CASE_SYSTEM] = {NULL,
                          "system",
                          "",
                          "the caseworkers' case system",
                          {"intake.triage.completed", "assessment.score.recorded",
                           "assessment.child_conversation.recorded",
                           "assessment.investigation.concluded", "assessment.decision.made",
                           "ordering.order.requested"},
                          {NULL}},
    [DEMO_SUPPLIER] = {"demo-vejledernet",
                       "supplier",
                       DEMO_SUPPLIER_CVR,
                       "Vejledernet ApS, the supplier of seed 000",
                       {NULL},
                       {NULL}},
    [CATALOGUE] = {"demo-katalog",
                   "system",
                   "",
                   "the catalogue of offers",
                   {"ordering.offer.published"},
                   {NULL}},
    [OBSERVER] = {"demo-observer", "operator", "", "what trivsel emits", {NULL}, {">"}},
};

static int usage(FILE *out)
{
    fprintf(
        out,
        "usage: trivselctl demo [--timeout DURATION] [--keys DIR] [--catalogue FILE]\n"
        "\n"
        "Plays two stories through the running system (start it with `make run`) and\n"
        "prints every step: the event published, what trivsel did, and the deadlines\n"
        "that now run, in Danish time. In Vejen Kommune (575):\n"
        "  1. a school reports a 9-year-old who is often absent and withdraws from the\n"
        "     others: the kvittering, the triage within the 24 hours, a børnefaglig\n"
        "     undersøgelse with scores in the six areas and a børnesamtale, a decision\n"
        "     for family treatment (Barnets Lov §32 stk. 1 nr. 5), an order with\n"
        "     Vejledernet ApS (seed 000) with a LEON reason over a cheaper offer, the\n"
        "     supplier's acceptance, diary notes and a status report, the month settled;\n"
        "  2. a doctor reports suspected violence by a parent: the parents are kept out,\n"
        "     the børnesamtale is mandatory and held without them, the investigation is\n"
        "     mandatory.\n"
        "Each run has new children and new events. It sets up what it needs first: the\n"
        "principals demo-underretning (the digital form), the case system (below),\n"
        "demo-vejledernet (supplier, CVR %s), demo-katalog and demo-observer, with\n"
        "their keys in the keys folder (reused when they are there), and the sample\n"
        "catalogue. The order starts on the first day of last month when that month is\n"
        "not settled, so that a whole month can be settled now; otherwise on the first\n"
        "day of this month, and the settlement is shown as the deadline it is.\n"
        "\n"
        "  --timeout DURATION  how long each answer of trivsel may take (default %s)\n"
        "  --keys DIR          where the principals' keys are (default $TRIVSEL_VAR/keys)\n"
        "  --catalogue FILE    the catalogue to load (default %s)\n"
        "\n"
        "Exit status: 0 both stories came through; 1 an answer did not come in time or\n"
        "trivsel refused a step (the message names the event and the step); 2 bad usage.\n"
        "\n"
        "Environment (the defaults are those of `make run`, from the repository's folder):\n"
        "  TRIVSEL_VAR                     make run's state folder (default var)\n"
        "  TRIVSEL_BROKER_ADDRESS          the broker (default tcp://127.0.0.1:7400)\n"
        "  TRIVSEL_BROKER_PUBLIC_KEY_FILE  its public key (default $TRIVSEL_VAR/keys/broker.pub)\n"
        "  TRIVSEL_DATABASE_URL            the database, as the admin (default\n"
        "                                  postgresql:///trivsel?host=$TRIVSEL_VAR/pg/run)\n"
        "  TRIVSEL_DATABASE_USER           (default trivsel_admin when the URL is the default)\n"
        "  TRIVSEL_DATABASE_PASSWORD_FILE  (default $TRIVSEL_VAR/pg/secrets/admin.password\n"
        "                                  when the URL is the default)\n"
        "  TRIVSEL_ORDERING_CASEWORKER_SYSTEMS  the first name is the case system the demo\n"
        "                                  plays; trivsel-ordering must list it (default\n"
        "                                  fagsystem, as make run)\n",
        DEMO_SUPPLIER_CVR, DEFAULT_TIMEOUT, DEFAULT_CATALOGUE);
    return out == stdout ? 0 : 2;
}

/* ---- small things ------------------------------------------------------------------------ */

int demo_random(void *buf, size_t len)
{
    if (getrandom(buf, len, 0) != (ssize_t)len) {
        fprintf(stderr, "trivselctl demo: no random bytes: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

void demo_new_id(const char *prefix, char *buf, size_t len)
{
    uint8_t b[4] = {0};
    demo_random(b, sizeof b);
    snprintf(buf, len, "%s-%02x%02x%02x%02x", prefix, b[0], b[1], b[2], b[3]);
}

const char *demo_short(const char *id, char buf[16])
{
    snprintf(buf, 16, strlen(id) > 12 ? "%.8s…" : "%s", id);
    return buf;
}

const char *demo_str(const json_t *payload, const char *key)
{
    const json_t *v = json_object_get(payload, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

bool demo_bool(const json_t *payload, const char *key)
{
    return json_is_true(json_object_get(payload, key));
}

/* in with each UUID (36 characters) cut to its first 8 and "…", into out. */
static void shorten_ids(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 1 < len;) {
        bool uuid = strlen(in + i) >= 36 && in[i + 8] == '-' && in[i + 13] == '-' &&
                    in[i + 18] == '-' && in[i + 23] == '-' &&
                    strspn(in + i, "0123456789abcdef-") >= 36;
        if (uuid && o + 12 < len) {
            o += (size_t)snprintf(out + o, len - o, "%.8s…", in + i);
            i += 36;
        } else {
            out[o++] = in[i++];
        }
    }
    out[o] = '\0';
}

PGconn *demo_conn(demo_t *d)
{
    return d->conn;
}

PGresult *demo_query(demo_t *d, const char *sql, int n, const char *const *values)
{
    return ctl_query(d->conn, sql, n, values, PGRES_TUPLES_OK);
}

uint64_t demo_timeout_ms(const demo_t *d)
{
    return d->timeout_ms;
}

const char *demo_timeout_text(const demo_t *d)
{
    return d->timeout_text;
}

const char *demo_principal(const demo_t *d, demo_party_t party)
{
    return d->clients[party].principal.name;
}

/* ---- telling ----------------------------------------------------------------------------- */

static void vsay(const char *prefix, const char *fmt, va_list ap)
{
    printf("%s", prefix);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

void demo_story(demo_t *d, const char *title)
{
    d->shown_case[0] = '\0';
    printf("\n%s\n", title);
    for (const unsigned char *p = (const unsigned char *)title; *p; p++)
        if ((*p & 0xC0) != 0x80) /* one = per character, not per byte */
            putchar('=');
    printf("\n");
    fflush(stdout);
}

void demo_step(demo_t *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->step_title, sizeof d->step_title, fmt, ap);
    va_end(ap);
    d->step++;
    d->npublished = 0;
    printf("\n%2d. %s\n", d->step, d->step_title);
    fflush(stdout);
}

void demo_say(demo_t *d, const char *fmt, ...)
{
    va_list ap;
    (void)d;
    va_start(ap, fmt);
    vsay("    ", fmt, ap);
    va_end(ap);
}

void demo_answer(demo_t *d, const char *subject, const char *fmt, ...)
{
    va_list ap;
    (void)d;
    printf("    ← %s: ", subject);
    va_start(ap, fmt);
    vsay("", fmt, ap);
    va_end(ap);
}

void demo_recorded(demo_t *d, const char *fmt, ...)
{
    va_list ap;
    (void)d;
    va_start(ap, fmt);
    vsay("    ✓ ", fmt, ap);
    va_end(ap);
}

void demo_fail(demo_t *d, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    if (d->step)
        fprintf(stderr, "\ntrivselctl demo: step %d (%s) failed: ", d->step, d->step_title);
    else
        fprintf(stderr, "trivselctl demo: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void tick_cb(uv_timer_t *t)
{
    (void)t; /* only wakes the loop */
}

static uint64_t now_ms(demo_t *d)
{
    uv_update_time(&d->loop);
    return uv_now(&d->loop);
}

/* Runs the loop once: what has arrived, or at most TICK_MS of waiting. */
static void pump(demo_t *d)
{
    uv_timer_start(&d->tick, tick_cb, TICK_MS, 0);
    uv_run(&d->loop, UV_RUN_ONCE);
}

/* "trivsel-intake" for "intake.underretning.registered": who emits or takes a subject. */
static void service_of(const char *subject, char *buf, size_t len)
{
    snprintf(buf, len, "trivsel-%.*s", (int)strcspn(subject, "."), subject);
}

static void client_error_cb(tr_bclient_t *c, const Trivsel__Broker__Error *e, void *arg)
{
    client_t *cl = arg;
    (void)c;
    if (!cl->d->client_error[0])
        snprintf(cl->d->client_error, sizeof cl->d->client_error, "the broker refused %s (%s): %s",
                 cl->principal.name, ctl_error_code_name(e->code),
                 e->reason && e->reason[0] ? e->reason : "-");
}

static const ProtobufCMessageDescriptor *payload_type(const char *type)
{
    const tr_event_type_t *et = tr_catalogue_by_type(type);
    return et ? et->descriptor : tr_catalogue_descriptor(type);
}

static void delivery_cb(tr_bclient_t *c, const char *subscription, const Trivsel__Envelope *ev,
                        uint32_t attempt, void *arg)
{
    demo_t *d = arg;
    (void)attempt;
    bool seen = false;
    for (size_t i = 0; i < d->nreceived && !seen; i++)
        seen = d->received[i].position == ev->position; /* redelivered */
    if (!seen && d->nreceived == d->capreceived) {
        size_t cap = d->capreceived ? 2 * d->capreceived : 64;
        received_t *r = realloc(d->received, cap * sizeof *r);
        if (!r)
            return; /* not acknowledged: it comes again */
        d->received = r;
        d->capreceived = cap;
    }
    if (!seen) {
        const ProtobufCMessageDescriptor *desc = payload_type(ev->type);
        ProtobufCMessage *msg = desc ? protobuf_c_message_unpack(desc, NULL, ev->payload.len,
                                                                 ev->payload.data)
                                     : NULL;
        received_t *r = &d->received[d->nreceived];
        r->position = ev->position;
        r->subject = strdup(ev->subject);
        r->payload = msg ? tr_pbjson_to_value(msg) : json_null();
        r->used = false;
        if (msg)
            protobuf_c_message_free_unpacked(msg, NULL);
        if (!r->subject || !r->payload) {
            free(r->subject);
            json_decref(r->payload);
            return;
        }
        d->nreceived++;
    }
    tr_bclient_ack(c, subscription, ev->position);
}

/* ---- refusals ---------------------------------------------------------------------------- */

/* The events by which trivsel refuses what it was sent, and the member naming the refused
 * event. */
static const struct {
    const char *subject; /* a prefix for the ones that end in a CVR */
    const char *key;
} refusals[] = {
    {"intake.underretning.refused", "receivedEventId"},
    {"intake.triage.refused", "completedEventId"},
    {"assessment.event.refused", "refusedEventId"},
    {"ordering.order.refused", "refusedEventId"},
    {"docs.submission.rejected.", "submittedEventId"},
};

/* The problems of a refusal, "problem (code); ...", into buf. */
static void problems_text(const json_t *payload, char *buf, size_t len)
{
    size_t i, o = 0;
    json_t *p;
    buf[0] = '\0';
    json_array_foreach(json_object_get(payload, "problems"), i, p)
    {
        int n = snprintf(buf + o, len - o, "%s%s (%s)", i ? "; " : "", demo_str(p, "problem"),
                         demo_str(p, "code"));
        if (n < 0 || (size_t)n >= len - o)
            break;
        o += (size_t)n;
    }
}

/* True (printed) when trivsel refused an event of this step that no story expected. */
static bool refused(demo_t *d)
{
    for (size_t i = 0; i < d->nreceived; i++) {
        received_t *r = &d->received[i];
        for (size_t k = 0; !r->used && k < sizeof refusals / sizeof refusals[0]; k++) {
            if (strncmp(r->subject, refusals[k].subject, strlen(refusals[k].subject)) != 0)
                continue;
            const char *id = demo_str(r->payload, refusals[k].key);
            for (int j = 0; j < d->npublished; j++) {
                if (strcmp(id, d->published[j]) == 0) {
                    char problems[2048];
                    problems_text(r->payload, problems, sizeof problems);
                    demo_fail(d, "trivsel refused event %s: %s: %s", id, r->subject, problems);
                    return true;
                }
            }
        }
    }
    if (d->client_error[0]) {
        demo_fail(d, "%s", d->client_error);
        return true;
    }
    return false;
}

/* ---- publishing and awaiting ------------------------------------------------------------- */

static void published_cb(tr_bclient_t *c, const char *event_id, uint64_t position, bool duplicate,
                         const Trivsel__Broker__Error *error, void *arg)
{
    ack_t *a = arg;
    (void)c;
    (void)event_id;
    a->done = true;
    a->position = position;
    a->duplicate = duplicate;
    if (error) {
        a->refused = true;
        snprintf(a->reason, sizeof a->reason, "%s: %s", ctl_error_code_name(error->code),
                 error->reason ? error->reason : "-");
    }
}

/* Waits until every one of n acks is done. Prints the failure, returns -1. */
static int await_acks(demo_t *d, ack_t *acks, size_t n, const char *what)
{
    uint64_t until = now_ms(d) + d->timeout_ms;
    for (;;) {
        size_t done = 0;
        for (size_t i = 0; i < n; i++) {
            if (acks[i].refused) {
                demo_fail(d, "the broker refused %s (%s)", what, acks[i].reason);
                return -1;
            }
            done += acks[i].done;
        }
        if (done == n)
            return 0;
        if (now_ms(d) >= until) {
            demo_fail(
                d,
                "no acknowledgement from the broker at %s for %s within %s: is trivsel-broker "
                "running?",
                d->address, what, d->timeout_text);
            return -1;
        }
        pump(d);
    }
}

const char *demo_publish(demo_t *d, demo_party_t party, const char *subject, const char *case_id,
                         int64_t occurred_at, json_t *payload, const char *what)
{
    json_t *root = payload;
    if (!payload) {
        demo_fail(d, "the demo's own %s is not valid JSON (see above)", subject);
        return NULL;
    }
    if (occurred_at) {
        char at[32];
        struct tm tm;
        time_t t = (time_t)occurred_at;
        strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        root = json_pack("{s:s, s:o}", "occurredAt", at, "payload", payload);
    }
    if (!root) {
        demo_fail(d, "out of memory");
        return NULL;
    }
    if (d->npublished == MAX_PUBLISHED) { /* the oldest of this step's were answered already */
        memmove(d->published[0], d->published[1], sizeof d->published[0] * (MAX_PUBLISHED - 1));
        d->npublished--;
    }
    char *event_id = d->published[d->npublished];
    ctl_envelope_args_t a = {.subject = subject,
                             .municipality = DEMO_MUNICIPALITY,
                             .correlation_id = case_id && case_id[0] ? case_id : NULL};
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = ctl_envelope_from_json(&a, subject, root, &bytes, &len, event_id);
    json_decref(root);
    if (rc < 0) {
        demo_fail(d, "the demo's own %s is not a valid event (see above)", subject);
        return NULL;
    }
    client_t *cl = &d->clients[party];
    ack_t ack = {0};
    char label[160];
    snprintf(label, sizeof label, "%s event %s", subject, event_id);
    rc = tr_bclient_publish_raw(cl->bclient, event_id, bytes, len, published_cb, &ack);
    free(bytes);
    if (rc < 0) {
        demo_fail(d, "cannot publish %s: %s", label, tr_strerror(rc));
        return NULL;
    }
    if (await_acks(d, &ack, 1, label) < 0)
        return NULL;
    d->npublished++;
    printf("    → %s (%s): %s\n", subject, cl->principal.name, what);
    fflush(stdout);
    return event_id;
}

const json_t *demo_expect(demo_t *d, const char *subject, const char *key, const char *value)
{
    uint64_t until = now_ms(d) + d->timeout_ms;
    for (;;) {
        for (size_t i = 0; i < d->nreceived; i++) {
            received_t *r = &d->received[i];
            if (!r->used && strcmp(r->subject, subject) == 0 &&
                strcmp(demo_str(r->payload, key), value) == 0) {
                r->used = true;
                return r->payload;
            }
        }
        if (refused(d))
            return NULL;
        if (now_ms(d) >= until) {
            char service[64], shown[16];
            service_of(subject, service, sizeof service);
            demo_fail(d, "no %s with %s %s came within %s: is %s running?", subject, key,
                      demo_short(value, shown), d->timeout_text, service);
            return NULL;
        }
        pump(d);
    }
}

bool demo_until(demo_t *d, const char *service, const char *what, const char *sql, int n,
                const char *const *values)
{
    uint64_t until = now_ms(d) + d->timeout_ms;
    for (;;) {
        PGresult *res = demo_query(d, sql, n, values);
        if (!res) {
            demo_fail(d, "cannot read what %s recorded", service);
            return false;
        }
        bool done = PQntuples(res) > 0 && ctl_colb(res, 0, 0);
        PQclear(res);
        if (done)
            return true;
        if (refused(d))
            return false;
        if (now_ms(d) >= until) {
            demo_fail(d, "%s did not record %s within %s: is %s running?", service, what,
                      d->timeout_text, service);
            return false;
        }
        pump(d);
    }
}

/* ---- deadlines --------------------------------------------------------------------------- */

static bool listed(const ctl_deadline_t *rows, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].what, what) == 0)
            return true;
    return false;
}

int demo_deadlines(demo_t *d, const char *case_id)
{
    ctl_deadline_t *rows = NULL;
    int n = 0;
    int64_t now = (int64_t)time(NULL);
    if (ctl_open_deadlines(d->conn, case_id, now, &rows, &n) < 0) {
        demo_fail(d, "cannot read the deadlines of case %s", case_id);
        return -1;
    }
    if (strcmp(d->shown_case, case_id) != 0) {
        free(d->shown);
        d->shown = NULL;
        d->nshown = 0;
        snprintf(d->shown_case, sizeof d->shown_case, "%s", case_id);
    }
    int changes = 0;
    for (int i = 0; i < n; i++)
        changes += !listed(d->shown, d->nshown, rows[i].what);
    for (int i = 0; i < d->nshown; i++)
        changes += !listed(rows, n, d->shown[i].what);
    if (changes == 0) {
        printf("    deadlines: no change, %d running\n", n);
    } else {
        printf("    deadlines:\n");
        for (int i = 0; i < n; i++) {
            if (listed(d->shown, d->nshown, rows[i].what))
                continue;
            char due[32], state[160], what[200];
            ctl_deadline_due_text(&rows[i], due);
            ctl_deadline_state(&rows[i], now, state, sizeof state);
            shorten_ids(rows[i].what, what, sizeof what);
            printf("      now running  %-22s  %s — %s\n", due, what, state);
        }
        for (int i = 0; i < d->nshown; i++) {
            if (listed(rows, n, d->shown[i].what))
                continue;
            char what[200];
            shorten_ids(d->shown[i].what, what, sizeof what);
            printf("      done         %s\n", what);
        }
    }
    fflush(stdout);
    free(d->shown);
    d->shown = rows;
    d->nshown = n;
    return 0;
}

/* ---- where the system is ----------------------------------------------------------------- */

/* Sets the variables make run's var/ folder implies, where they are not set. */
static int find_system(demo_t *d, const char *keys_option)
{
    const char *var = getenv("TRIVSEL_VAR");
    if (!var || !var[0])
        var = "var";
    char path[PATH_MAX + 64];
    snprintf(d->keys_dir, sizeof d->keys_dir, "%s", keys_option ? keys_option : "");
    if (!keys_option)
        snprintf(d->keys_dir, sizeof d->keys_dir, "%s/keys", var);
    if (access(d->keys_dir, W_OK) != 0) {
        fprintf(stderr,
                "trivselctl demo: the keys folder \"%s\" cannot be written (%s): start the system "
                "with `make run` and run the demo from the repository's folder, or give --keys "
                "DIR or TRIVSEL_VAR\n",
                d->keys_dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/keys/broker.pub", var);
    setenv("TRIVSEL_BROKER_PUBLIC_KEY_FILE", path, 0);
    if (!getenv("TRIVSEL_DATABASE_URL")) {
        char abs[PATH_MAX];
        if (!realpath(var, abs)) {
            fprintf(stderr,
                    "trivselctl demo: no database given and no \"%s\" folder of make run "
                    "(%s): set TRIVSEL_DATABASE_URL or TRIVSEL_VAR\n",
                    var, strerror(errno));
            return -1;
        }
        snprintf(path, sizeof path, "postgresql:///trivsel?host=%s/pg/run", abs);
        setenv("TRIVSEL_DATABASE_URL", path, 1);
        setenv("TRIVSEL_DATABASE_USER", "trivsel_admin", 0);
        snprintf(path, sizeof path, "%s/pg/secrets/admin.password", var);
        setenv("TRIVSEL_DATABASE_PASSWORD_FILE", path, 0);
    }
    const char *address = getenv("TRIVSEL_BROKER_ADDRESS");
    snprintf(d->address, sizeof d->address, "%s",
             address && address[0] ? address : "tcp://127.0.0.1:7400");
    return ctl_key_read(getenv("TRIVSEL_BROKER_PUBLIC_KEY_FILE"), d->server_key);
}

/* The case system the demo plays: the first of trivsel-ordering's caseworkers' systems. */
static void case_system_name(char *buf, size_t len)
{
    const char *list = getenv("TRIVSEL_ORDERING_CASEWORKER_SYSTEMS");
    if (!list || !list[0])
        list = "fagsystem";
    list += strspn(list, " ");
    snprintf(buf, len, "%.*s", (int)strcspn(list, ", "), list);
}

/* ---- principals -------------------------------------------------------------------------- */

static int key_path(const demo_t *d, const char *name, const char *ext, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/%s.%s", d->keys_dir, name, ext);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Makes a new key pair for name in the keys folder, in place of what is there. */
static int new_key_pair(demo_t *d, const char *name, char public_key[41])
{
    char path[PATH_MAX];
    if (key_path(d, name, "key", path, sizeof path) == 0)
        unlink(path);
    if (key_path(d, name, "pub", path, sizeof path) == 0)
        unlink(path);
    return ctl_keys_generate(name, d->keys_dir, public_key);
}

/* Makes sure principal i exists with its kind, permissions and a key in the keys folder; says
 * what it did. A principal that is not the demo's own (the case system) is never given a new
 * key: that would lock out whoever holds the old one. */
static int ensure_principal(demo_t *d, int i, char *said, size_t len)
{
    ctl_principal_t *p = &d->clients[i].principal;
    bool ours = strncmp(p->name, "demo-", 5) == 0;
    char path[PATH_MAX], file_key[41] = "", registered[41] = "";
    bool have_key = key_path(d, p->name, "key", path, sizeof path) == 0 &&
                    access(path, R_OK) == 0 &&
                    key_path(d, p->name, "pub", path, sizeof path) == 0 &&
                    access(path, R_OK) == 0 && ctl_key_read(path, file_key) == 0;
    const char *v[2] = {p->name, NULL};
    PGresult *res = demo_query(
        d,
        "SELECT kind, coalesce(cvr, ''), public_key, enabled FROM broker.principal WHERE name = $1",
        1, v);
    if (!res)
        return -1;
    bool exists = PQntuples(res) == 1;
    int rc = -1;
    if (exists) {
        snprintf(registered, sizeof registered, "%s", ctl_col(res, 0, 2));
        if (strcmp(ctl_col(res, 0, 0), p->kind) != 0 || strcmp(ctl_col(res, 0, 1), p->cvr) != 0) {
            fprintf(stderr,
                    "trivselctl demo: principal %s exists as a %s%s%s, not as a %s%s%s: disable it "
                    "or name another\n",
                    p->name, ctl_col(res, 0, 0), ctl_col(res, 0, 1)[0] ? " with CVR " : "",
                    ctl_col(res, 0, 1), p->kind, p->cvr[0] ? " with CVR " : "", p->cvr);
            goto out;
        }
        if (!ctl_colb(res, 0, 3)) {
            fprintf(stderr,
                    "trivselctl demo: principal %s is disabled: trivselctl keys enable %s\n",
                    p->name, p->name);
            goto out;
        }
    }
    if (exists && have_key && strcmp(file_key, registered) == 0) {
        snprintf(said, len, "key %s/%s.key", d->keys_dir, p->name);
    } else if (exists) {
        if (!ours) {
            fprintf(stderr,
                    "trivselctl demo: principal %s exists, but its key is not in %s/%s.key: give "
                    "its folder with --keys, or name another case system first in "
                    "TRIVSEL_ORDERING_CASEWORKER_SYSTEMS (trivsel-ordering must list it too)\n",
                    p->name, d->keys_dir, p->name);
            goto out;
        }
        if (!have_key && new_key_pair(d, p->name, file_key) < 0)
            goto out;
        v[1] = file_key;
        PGresult *u =
            demo_query(d,
                       "WITH u AS (UPDATE broker.principal SET public_key = $2 WHERE name"
                       " = $1 RETURNING name) SELECT pg_notify('trivsel_principals', name)"
                       " FROM u",
                       2, v);
        PQclear(u);
        if (!u)
            goto out;
        snprintf(said, len, "new key %s/%s.key", d->keys_dir, p->name);
    } else {
        if (!have_key && new_key_pair(d, p->name, file_key) < 0)
            goto out;
        if (ctl_principal_register(d->conn, p, file_key) < 0)
            goto out;
        snprintf(said, len, "registered, key %s/%s.key", d->keys_dir, p->name);
    }
    int added = 0;
    if (ctl_principal_grant(d->conn, p, &added) < 0)
        goto out;
    if (exists && added)
        snprintf(said + strlen(said), len - strlen(said), ", %d permission%s added", added,
                 added == 1 ? "" : "s");
    rc = 0;
out:
    PQclear(res);
    return rc;
}

static int setup_principals(demo_t *d, char *case_system)
{
    printf("Setting up\n");
    for (int i = 0; i < NPRINCIPALS; i++) {
        ctl_principal_t *p = &d->clients[i].principal;
        d->clients[i].d = d;
        p->name = roles[i].name ? roles[i].name : case_system;
        p->kind = roles[i].kind;
        p->cvr = roles[i].cvr;
        for (int k = 0; k < 8 && roles[i].publish[k]; k++)
            p->publish[p->npublish++] = roles[i].publish[k];
        for (int k = 0; k < 2 && roles[i].subscribe[k]; k++)
            p->subscribe[p->nsubscribe++] = roles[i].subscribe[k];
        if (ctl_keys_default_patterns(p) < 0)
            return -1;
        char said[PATH_MAX + 128];
        if (ensure_principal(d, i, said, sizeof said) < 0)
            return -1;
        printf("  principal %-18s %-9s %-42s %s\n", p->name, p->kind, roles[i].role, said);
    }
    return 0;
}

/* ---- clients ----------------------------------------------------------------------------- */

static int open_clients(demo_t *d)
{
    for (int i = 0; i < NPRINCIPALS; i++) {
        client_t *cl = &d->clients[i];
        char path[PATH_MAX], secret[41], name[96];
        tr_error_t err = {0};
        if (key_path(d, cl->principal.name, "key", path, sizeof path) < 0 ||
            ctl_key_read(path, secret) < 0)
            return -1;
        snprintf(name, sizeof name, "trivselctl demo (%s)", cl->principal.name);
        tr_bclient_options_t opts = {.endpoint = d->address,
                                     .server_public_key = d->server_key,
                                     .secret_key = secret,
                                     .client_name = name,
                                     .retry_ms = 1000};
        int rc = tr_bclient_new(&d->loop, &opts, &cl->bclient, &err);
        memset(secret, 0, sizeof secret);
        if (rc < 0) {
            fprintf(stderr, "trivselctl demo: %s\n", err.message);
            return -1;
        }
        tr_bclient_on_error(cl->bclient, client_error_cb, cl);
    }
    return 0;
}

/* The observer's subscription to every event from now on; waits until the broker has made it
 * (a subscription made after the first event would miss trivsel's first answers). */
static int observe(demo_t *d)
{
    client_t *obs = &d->clients[OBSERVER];
    ctl_subscription_name("demo", d->subscription);
    int rc = tr_bclient_subscribe(obs->bclient, d->subscription, ">", CREDIT, 0,
                                  TRIVSEL__BROKER__START_AT__START_AT_NEW, delivery_cb, d);
    if (rc < 0) {
        fprintf(stderr, "trivselctl demo: cannot subscribe: %s\n", tr_strerror(rc));
        return -1;
    }
    const char *v[2] = {obs->principal.name, d->subscription};
    return demo_until(d, "trivsel-broker", "the demo's subscription to what trivsel emits",
                      "SELECT true FROM broker.subscription WHERE principal = $1 AND name = $2", 2,
                      v)
               ? 0
               : -1;
}

static int load_catalogue(demo_t *d)
{
    ctl_offer_event_t *offers = NULL;
    size_t n = 0;
    if (access(d->catalogue_file, R_OK) != 0) {
        fprintf(stderr,
                "trivselctl demo: cannot read the catalogue \"%s\" (%s): run the demo from the "
                "repository's folder or give --catalogue FILE\n",
                d->catalogue_file, strerror(errno));
        return -1;
    }
    if (ctl_catalogue_read(d->catalogue_file, NULL, DEMO_MUNICIPALITY, &offers, &n) < 0)
        return -1;
    ack_t *acks = calloc(n, sizeof *acks);
    int rc = -1;
    if (!acks) {
        fprintf(stderr, "trivselctl demo: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (tr_bclient_publish_raw(d->clients[CATALOGUE].bclient, offers[i].event_id,
                                   offers[i].envelope, offers[i].len, published_cb, &acks[i]) < 0) {
            fprintf(stderr, "trivselctl demo: out of memory\n");
            goto out;
        }
    }
    if (await_acks(d, acks, n, "the catalogue's offers") < 0)
        goto out;
    size_t again = 0;
    for (size_t i = 0; i < n; i++)
        again += acks[i].duplicate;
    const char *v[2] = {DEMO_MUNICIPALITY, DEMO_SUPPLIER_CVR "-familiebehandling"};
    if (!demo_until(
            d, "trivsel-ordering", "the catalogue (offer 45424421-familiebehandling)",
            "SELECT true FROM ordering.offer_version WHERE municipality = $1 AND offer_id = "
            "$2",
            2, v))
        goto out;
    printf("  catalogue %s: %zu offers, %zu new, %zu in the log already; trivsel-ordering has "
           "them\n",
           d->catalogue_file, n, n - again, again);
    rc = 0;
out:
    free(acks);
    ctl_catalogue_free(offers, n);
    return rc;
}

/* ---- the command ------------------------------------------------------------------------- */

static void closed_cb(void *arg)
{
    (void)arg;
}

static void teardown(demo_t *d)
{
    if (d->subscription[0] && d->clients[OBSERVER].bclient)
        tr_bclient_unsubscribe(d->clients[OBSERVER].bclient, d->subscription, true);
    for (int i = 0; i < NPRINCIPALS; i++) {
        if (d->clients[i].bclient)
            tr_bclient_close(d->clients[i].bclient, closed_cb, NULL);
        d->clients[i].bclient = NULL;
    }
    uv_close((uv_handle_t *)&d->tick, NULL);
    uv_run(&d->loop, UV_RUN_DEFAULT); /* the clients leave their sockets, the handles close */
    if (uv_loop_close(&d->loop) != 0)
        fprintf(stderr, "trivselctl demo: warning: handles left open at exit\n");
    for (size_t i = 0; i < d->nreceived; i++) {
        free(d->received[i].subject);
        json_decref(d->received[i].payload);
    }
    free(d->received);
    free(d->shown);
    if (d->conn)
        PQfinish(d->conn);
}

int ctl_demo(int argc, char **argv)
{
    demo_t d = {.timeout_text = DEFAULT_TIMEOUT, .catalogue_file = DEFAULT_CATALOGUE};
    const char *keys = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout);
        if (strcmp(a, "--timeout") == 0 && v)
            d.timeout_text = v, i++;
        else if (strcmp(a, "--keys") == 0 && v)
            keys = v, i++;
        else if (strcmp(a, "--catalogue") == 0 && v)
            d.catalogue_file = v, i++;
        else {
            fprintf(stderr,
                    "trivselctl demo: unexpected argument \"%s\": see trivselctl demo --help\n", a);
            return 2;
        }
    }
    if (ctl_parse_timeout("demo", d.timeout_text, &d.timeout_ms) < 0)
        return 2;
    char case_system[64];
    case_system_name(case_system, sizeof case_system);
    if (find_system(&d, keys) < 0)
        return 1;
    if (!(d.conn = ctl_database_connect("trivselctl demo")))
        return 1;
    if (uv_loop_init(&d.loop) != 0) {
        fprintf(stderr, "trivselctl demo: cannot start the event loop\n");
        PQfinish(d.conn);
        return 1;
    }
    uv_timer_init(&d.loop, &d.tick);
    printf("trivselctl demo: two stories through the running system (broker %s, kommune %s "
           "Vejen)\n\n",
           d.address, DEMO_MUNICIPALITY);
    int rc = 1;
    if (setup_principals(&d, case_system) < 0 || open_clients(&d) < 0 || observe(&d) < 0 ||
        load_catalogue(&d) < 0)
        goto out;
    if (demo_story_school(&d) < 0 || demo_story_doctor(&d) < 0)
        goto out;
    printf("\nBoth stories came through: %d steps, every answer of trivsel as expected.\n", d.step);
    rc = 0;
out:
    teardown(&d);
    fflush(stdout);
    return rc;
}
