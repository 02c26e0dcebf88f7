/* loadgen — the load generator of `make bench` (issue 9): valid, varied underretninger
 * (underretninger.c) published through the broker over CURVE from several connections, each kept
 * and resent by common/bclient until the broker acknowledges it; and the subscriber that times
 * what comes back.
 *
 *   loadgen publish (--rate R | --window W) [--connections N] [--duration S] [--warmup S]
 *                   [--drain S] [--first I] [--municipality M] [--label L] [--json FILE]
 *       --rate R: R underretninger a second, whatever happens to them (open loop: the latency
 *       at a given load). --window W: as fast as the system takes them: W published and not yet
 *       registered at any time, the next one published as one is registered (closed loop: the
 *       throughput at saturation). Publishes for --duration seconds (default 10); rates count
 *       what was acknowledged and registered after --warmup seconds (default 2), and latencies
 *       are those of underretninger published after it. Then waits at most --drain seconds
 *       (default 60) for the last acknowledgements and registrations.
 *       A separate connection subscribes to intake.underretning.registered (and .refused) from
 *       now on; an underretning's registration is the event whose received_event_id is its
 *       event id. Latency: from the publish call to the PublishAck, and to the registered event
 *       arriving here. Underretning numbers start at --first (default: from the clock, so runs
 *       on one database publish different children).
 *   loadgen overdue --count N [--timeout S] [--json FILE]
 *       subscribes to intake.triage.overdue and takes N events (or what came within S seconds,
 *       default 120); lateness of each: when it arrived here, and when the broker logged it
 *       (published_at), minus the triage deadline it reports (triage_due_at).
 *
 * Prints one summary line; --json writes the figures (latencies in milliseconds: p50, p99,
 * p99.9, max). Reads TRIVSEL_BROKER_ADDRESS, TRIVSEL_BROKER_PUBLIC_KEY_FILE,
 * TRIVSEL_CLIENT_KEY_FILE (a principal that may publish intake.underretning.received and
 * subscribe to intake.>). Exit status 0 when every underretning was acknowledged and registered
 * (publish) or N events came (overdue); 1 otherwise; 2 on bad usage. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bclient.h"
#include "catalogue.h"
#include "config.h"
#include "underretninger.h"

#define MAX_CONNECTIONS 64
#define TICK_MS 1

/* One underretning of the run: monotonic nanoseconds of its publish, ack and registration
 * (0 = not yet). */
typedef struct record {
    int64_t published, acked, registered;
} record_t;

typedef struct run {
    uv_loop_t loop;
    tr_bclient_t *pub[MAX_CONNECTIONS], *sub;
    int npub, welcomed;
    uv_timer_t tick, probe_timer, deadline;
    /* options */
    double rate;
    long window;
    double duration_s, warmup_s, drain_s;
    uint64_t first;
    const char *municipality, *label, *json_path;
    char subscription[96], refused_subscription[96], prefix[64];
    /* state */
    enum { WAITING, PROBING, PUBLISHING, DRAINING, DONE } phase;
    record_t *records;
    size_t nrecords, cap, acked, registered, duplicates, refused, failed;
    int64_t start_ns, measure_from_ns, stop_ns;
    long outstanding; /* published, not yet registered (window mode) */
    int probes;
    int exit_code;
    /* overdue mode */
    long want;
    double *late_received, *late_logged;
    size_t nlate;
} run_t;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void stop(run_t *r, int code)
{
    r->exit_code = code;
    r->phase = DONE;
    uv_stop(&r->loop);
}

/* ---- statistics -------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values, of which `missing` more (never measured: not
 * acknowledged or registered in time) count as larger than any: NAN when the rank falls among
 * them. */
static double percentile(const double *v, size_t n, size_t missing, double p)
{
    size_t total = n + missing;
    if (total == 0)
        return NAN;
    size_t rank = (size_t)ceil(p * (double)total);
    if (rank < 1)
        rank = 1;
    return rank <= n ? v[rank - 1] : NAN;
}

static json_t *number_or_null(double x)
{
    return isnan(x) ? json_null() : json_real(round(x * 1000.0) / 1000.0);
}

/* {"count", "missing", "p50", "p99", "p999", "max"} of v (sorted here), in milliseconds. */
static json_t *latency_json(double *v, size_t n, size_t missing)
{
    qsort(v, n, sizeof *v, cmp_double);
    return json_pack("{s:I, s:I, s:o, s:o, s:o, s:o}", "count", (json_int_t)n, "missing", (json_int_t)missing,
                     "p50", number_or_null(percentile(v, n, missing, 0.50)), "p99",
                     number_or_null(percentile(v, n, missing, 0.99)), "p999",
                     number_or_null(percentile(v, n, missing, 0.999)), "max",
                     number_or_null(missing ? NAN : n ? v[n - 1] : NAN));
}

/* A latency field of latency_json() for the summary line: "12.3", or "-" when not measured. */
static const char *ms(json_t *latency, const char *key, char buf[32])
{
    json_t *v = json_object_get(latency, key);
    if (json_is_number(v))
        snprintf(buf, 32, "%.1f", json_number_value(v));
    else
        snprintf(buf, 32, "-");
    return buf;
}

static int write_json(const run_t *r, json_t *doc)
{
    int rc = 0;
    if (r->json_path && json_dump_file(doc, r->json_path, JSON_INDENT(2) | JSON_SORT_KEYS) < 0) {
        fprintf(stderr, "loadgen: cannot write \"%s\"\n", r->json_path);
        rc = -1;
    }
    json_decref(doc);
    return rc;
}

/* ---- publishing -------------------------------------------------------------------------- */

static void published_cb(tr_bclient_t *c, const char *event_id, uint64_t position, bool duplicate,
                         const Trivsel__Broker__Error *error, void *arg);

static record_t *grow(run_t *r)
{
    if (r->nrecords == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 65536;
        record_t *grown = realloc(r->records, cap * sizeof *grown);
        if (!grown)
            return NULL;
        r->records = grown;
        r->cap = cap;
    }
    record_t *rec = &r->records[r->nrecords++];
    *rec = (record_t){0};
    return rec;
}

/* Publishes one underretning, number k of this run (or a probe), on connection k mod N. */
static int publish_one(run_t *r, const char *event_id, uint64_t number, size_t conn)
{
    bench_underretning_t u;
    bench_underretning_make(&u, number, realtime_us(), true);
    size_t len = trivsel__intake__underretning_received__get_packed_size(&u.msg);
    uint8_t payload[4096];
    if (len > sizeof payload)
        return -1;
    trivsel__intake__underretning_received__pack(&u.msg, payload);
    Trivsel__Envelope ev = TRIVSEL__ENVELOPE__INIT;
    ev.event_id = (char *)event_id;
    ev.subject = "intake.underretning.received";
    ev.type = (char *)tr_catalogue_by_subject(ev.subject)->type_name;
    ev.municipality = (char *)r->municipality;
    ev.occurred_at = u.msg.received_at; /* EVENTS.md: occurred_at = received_at */
    ev.payload.data = payload;
    ev.payload.len = len;
    return tr_bclient_publish(r->pub[conn % (size_t)r->npub], &ev, published_cb, r);
}

static void publish_next(run_t *r)
{
    record_t *rec = grow(r);
    if (!rec) {
        fprintf(stderr, "loadgen: out of memory\n");
        stop(r, 1);
        return;
    }
    size_t k = r->nrecords - 1;
    char event_id[96];
    snprintf(event_id, sizeof event_id, "%s%zu", r->prefix, k);
    rec->published = now_ns();
    r->outstanding++;
    if (publish_one(r, event_id, r->first + k, k) < 0) {
        fprintf(stderr, "loadgen: cannot publish %s\n", event_id);
        stop(r, 1);
    }
}

/* The run's record for an event id of this run; NULL for a probe or another run's. */
static record_t *record_of(run_t *r, const char *event_id)
{
    size_t plen = strlen(r->prefix);
    if (strncmp(event_id, r->prefix, plen) != 0)
        return NULL;
    char *end;
    unsigned long long k = strtoull(event_id + plen, &end, 10);
    return *end == '\0' && k < r->nrecords ? &r->records[k] : NULL;
}

static void check_done(run_t *r)
{
    if (r->phase == DRAINING && r->acked + r->failed == r->nrecords &&
        r->registered + r->refused + r->failed >= r->nrecords)
        stop(r, 0);
}

static void published_cb(tr_bclient_t *c, const char *event_id, uint64_t position, bool duplicate,
                         const Trivsel__Broker__Error *error, void *arg)
{
    run_t *r = arg;
    (void)c;
    (void)position;
    record_t *rec = record_of(r, event_id);
    if (!rec)
        return;
    if (error) {
        /* Refused for good: a bug in the generator or the broker, not load. */
        fprintf(stderr, "loadgen: %s refused: %s\n", event_id, error->reason);
        r->failed++;
        r->outstanding--;
    } else {
        rec->acked = now_ns();
        r->acked++;
        r->duplicates += duplicate;
    }
    check_done(r);
}

static void tick_cb(uv_timer_t *t)
{
    run_t *r = t->data;
    if (r->phase != PUBLISHING)
        return;
    int64_t now = now_ns();
    if (now >= r->stop_ns) {
        r->phase = DRAINING;
        uv_timer_stop(&r->tick);
        check_done(r);
        return;
    }
    if (r->rate > 0) {
        /* Catch up with the schedule: as many as should have gone by now. */
        size_t due = (size_t)((double)(now - r->start_ns) / 1e9 * r->rate) + 1;
        while (r->nrecords < due && r->phase == PUBLISHING)
            publish_next(r);
    } else {
        while (r->outstanding < r->window && r->phase == PUBLISHING)
            publish_next(r);
    }
}

static void begin_publishing(run_t *r)
{
    r->phase = PUBLISHING;
    r->start_ns = now_ns();
    r->measure_from_ns = r->start_ns + (int64_t)(r->warmup_s * 1e9);
    r->stop_ns = r->start_ns + (int64_t)(r->duration_s * 1e9);
    uv_timer_start(&r->tick, tick_cb, 0, TICK_MS);
}

static void registered(run_t *r, const char *received_event_id)
{
    size_t plen = strlen(r->prefix);
    if (r->phase == PROBING && strncmp(received_event_id, r->prefix, plen) == 0 &&
        strncmp(received_event_id + plen, "probe-", 6) == 0) {
        uv_timer_stop(&r->probe_timer);
        begin_publishing(r);
        return;
    }
    record_t *rec = record_of(r, received_event_id);
    if (!rec || rec->registered)
        return;
    rec->registered = now_ns();
    r->registered++;
    r->outstanding--;
    if (r->phase == PUBLISHING && r->window > 0 && r->outstanding < r->window)
        publish_next(r);
    check_done(r);
}

static void delivery_cb(tr_bclient_t *c, const char *subscription, const Trivsel__Envelope *ev, uint32_t attempt,
                        void *arg)
{
    run_t *r = arg;
    (void)attempt;
    if (strcmp(ev->subject, "intake.underretning.registered") == 0) {
        Trivsel__Intake__UnderretningRegistered *m =
            trivsel__intake__underretning_registered__unpack(NULL, ev->payload.len, ev->payload.data);
        if (m) {
            registered(r, m->received_event_id);
            trivsel__intake__underretning_registered__free_unpacked(m, NULL);
        }
    } else if (strcmp(ev->subject, "intake.underretning.refused") == 0) {
        Trivsel__Intake__UnderretningRefused *m =
            trivsel__intake__underretning_refused__unpack(NULL, ev->payload.len, ev->payload.data);
        record_t *rec = m ? record_of(r, m->received_event_id) : NULL;
        if (rec && !rec->registered) {
            fprintf(stderr, "loadgen: %s was refused by intake: %s\n", m->received_event_id,
                    m->n_problems ? m->problems[0]->problem : "?");
            rec->registered = -1;
            r->refused++;
            r->outstanding--;
        }
        if (m)
            trivsel__intake__underretning_refused__free_unpacked(m, NULL);
    }
    tr_bclient_ack(c, subscription, ev->position);
    check_done(r);
}

/* Until a probe comes back registered, the subscription may not exist yet and the pipeline may
 * be cold: publish one a second. */
static void probe_cb(uv_timer_t *t)
{
    run_t *r = t->data;
    char event_id[96];
    snprintf(event_id, sizeof event_id, "%sprobe-%d", r->prefix, r->probes);
    if (++r->probes > 30) {
        fprintf(stderr, "loadgen: no probe came back registered within 30 s: is trivsel-intake running?\n");
        stop(r, 1);
        return;
    }
    publish_one(r, event_id, r->first + 100000000 + (uint64_t)r->probes, 0);
}

static void welcome_cb(tr_bclient_t *c, const Trivsel__Broker__Welcome *w, void *arg)
{
    run_t *r = arg;
    (void)c;
    (void)w;
    if (r->phase == WAITING && ++r->welcomed == r->npub + 1) {
        if (r->want) { /* overdue mode: subscribed; say so for the driver */
            printf("subscribed\n");
            fflush(stdout);
            r->phase = PUBLISHING;
            return;
        }
        r->phase = PROBING;
        uv_timer_start(&r->probe_timer, probe_cb, 200, 1000);
    }
}

static void error_cb(tr_bclient_t *c, const Trivsel__Broker__Error *e, void *arg)
{
    (void)c;
    fprintf(stderr, "loadgen: broker error: %s\n", e->reason);
    stop(arg, 1);
}

static void deadline_cb(uv_timer_t *t)
{
    run_t *r = t->data;
    stop(r, 1);
}

/* Rates over the measured part of the run: events whose ack (registration) fell between
 * measure_from and the end of publishing. */
static int report_publish(run_t *r)
{
    int64_t end = r->stop_ns;
    double secs = (double)(end - r->measure_from_ns) / 1e9;
    size_t acked_in = 0, registered_in = 0, nmeasured = 0, nack = 0, nreg = 0;
    double *ack_ms = malloc((r->nrecords + 1) * sizeof *ack_ms), *reg_ms = malloc((r->nrecords + 1) * sizeof *reg_ms);
    if (!ack_ms || !reg_ms) {
        free(ack_ms);
        free(reg_ms);
        return 1;
    }
    for (size_t k = 0; k < r->nrecords; k++) {
        const record_t *rec = &r->records[k];
        acked_in += rec->acked >= r->measure_from_ns && rec->acked < end;
        registered_in += rec->registered >= r->measure_from_ns && rec->registered < end;
        if (rec->published < r->measure_from_ns)
            continue;
        nmeasured++;
        if (rec->acked)
            ack_ms[nack++] = (double)(rec->acked - rec->published) / 1e6;
        if (rec->registered > 0)
            reg_ms[nreg++] = (double)(rec->registered - rec->published) / 1e6;
    }
    double acked_rate = secs > 0 ? (double)acked_in / secs : 0, registered_rate = secs > 0 ? (double)registered_in / secs : 0;
    json_t *ack = latency_json(ack_ms, nack, nmeasured - nack);
    json_t *reg = latency_json(reg_ms, nreg, nmeasured - nreg);
    char b[4][32];
    printf("%s: published %zu, acknowledged %zu (%.0f/s), registered %zu (%.0f/s), refused %zu, duplicates %zu;"
           " publish->ack p50 %s p99 %s ms; publish->registered p50 %s p99 %s ms\n",
           r->label, r->nrecords, r->acked, acked_rate, r->registered, registered_rate, r->refused + r->failed,
           r->duplicates, ms(ack, "p50", b[0]), ms(ack, "p99", b[1]), ms(reg, "p50", b[2]), ms(reg, "p99", b[3]));
    json_t *doc = json_pack(
        "{s:s, s:s, s:i, s:o, s:o, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:o, s:o}", "label", r->label,
        "mode", r->rate > 0 ? "rate" : "window", "connections", r->npub, "rate",
        r->rate > 0 ? json_real(r->rate) : json_null(), "window", r->window > 0 ? json_integer(r->window) : json_null(),
        "duration_s", r->duration_s, "warmup_s", r->warmup_s, "published", (json_int_t)r->nrecords, "acknowledged",
        (json_int_t)r->acked, "registered", (json_int_t)r->registered, "refused", (json_int_t)(r->refused + r->failed),
        "duplicates", (json_int_t)r->duplicates, "measured", (json_int_t)nmeasured, "acknowledged_per_s",
        round(acked_rate * 10) / 10, "registered_per_s", round(registered_rate * 10) / 10, "publish_to_ack_ms", ack,
        "publish_to_registered_ms", reg);
    free(ack_ms);
    free(reg_ms);
    bool complete = r->acked == r->nrecords && r->registered == r->nrecords;
    return write_json(r, doc) < 0 || !complete ? 1 : 0;
}

/* ---- overdue mode ------------------------------------------------------------------------ */

static void overdue_cb(tr_bclient_t *c, const char *subscription, const Trivsel__Envelope *ev, uint32_t attempt,
                       void *arg)
{
    run_t *r = arg;
    (void)attempt;
    int64_t arrived = realtime_us();
    Trivsel__Intake__TriageOverdue *m =
        trivsel__intake__triage_overdue__unpack(NULL, ev->payload.len, ev->payload.data);
    if (m && m->triage_due_at && (size_t)r->nlate < (size_t)r->want) {
        int64_t due = m->triage_due_at->seconds * 1000000 + m->triage_due_at->nanos / 1000;
        int64_t logged = ev->published_at ? ev->published_at->seconds * 1000000 + ev->published_at->nanos / 1000 : 0;
        r->late_received[r->nlate] = (double)(arrived - due) / 1000.0;
        r->late_logged[r->nlate] = (double)(logged - due) / 1000.0;
        r->nlate++;
    }
    if (m)
        trivsel__intake__triage_overdue__free_unpacked(m, NULL);
    tr_bclient_ack(c, subscription, ev->position);
    if ((long)r->nlate >= r->want)
        stop(r, 0);
}

static int report_overdue(run_t *r)
{
    size_t missing = (size_t)r->want - r->nlate;
    json_t *received = latency_json(r->late_received, r->nlate, missing);
    json_t *logged = latency_json(r->late_logged, r->nlate, missing);
    char b[4][32];
    printf("overdue: %zu of %ld; lateness when received p50 %s p99 %s max %s ms; when logged p99 %s ms\n", r->nlate,
           r->want, ms(received, "p50", b[0]), ms(received, "p99", b[1]), ms(received, "max", b[2]),
           ms(logged, "p99", b[3]));
    json_t *doc = json_pack("{s:I, s:I, s:o, s:o}", "expected", (json_int_t)r->want, "received", (json_int_t)r->nlate,
                            "lateness_received_ms", received, "lateness_logged_ms", logged);
    return write_json(r, doc) < 0 || missing ? 1 : 0;
}

/* ---- main -------------------------------------------------------------------------------- */

static const tr_config_var_t vars[] = {
    {"TRIVSEL_BROKER_ADDRESS", TR_CONFIG_STRING, "tcp://127.0.0.1:7400", NULL, "the broker's address"},
    {"TRIVSEL_BROKER_PUBLIC_KEY_FILE", TR_CONFIG_FILE, NULL, NULL, "file holding the broker's public key"},
    {"TRIVSEL_CLIENT_KEY_FILE", TR_CONFIG_FILE, NULL, NULL, "file holding the load generator's secret key"},
};

static int usage(void)
{
    fprintf(stderr, "usage: loadgen publish (--rate R | --window W) [options] | loadgen overdue --count N"
                    " [options]; see the top of tests/bench/loadgen.c\n");
    return 2;
}

/* A number option's value, or -1 when it is not a number. */
static double number(const char *option, const char *v)
{
    char *end;
    double x = v ? strtod(v, &end) : -1;
    if (!v || *end || x < 0) {
        fprintf(stderr, "loadgen: %s \"%s\" is not valid: must be a number >= 0\n", option, v ? v : "");
        return -1;
    }
    return x;
}

int main(int argc, char **argv)
{
    static run_t r;
    r = (run_t){.npub = 4, .duration_s = 10, .warmup_s = 2, .drain_s = 60, .municipality = "630",
                .label = "run", .exit_code = 1};
    if (argc < 2)
        return usage();
    const char *mode = argv[1];
    bool overdue = strcmp(mode, "overdue") == 0;
    if (!overdue && strcmp(mode, "publish") != 0)
        return usage();
    double timeout_s = 120;
    r.first = (uint64_t)time(NULL) % 1000000 * 1000 + 1000000; /* above the seeder's children */
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x = 0;
        if (strcmp(a, "--json") == 0 && v) {
            r.json_path = v, i++;
            continue;
        } else if (strcmp(a, "--label") == 0 && v) {
            r.label = v, i++;
            continue;
        } else if (strcmp(a, "--municipality") == 0 && v) {
            r.municipality = v, i++;
            continue;
        }
        if (i + 1 >= argc || (x = number(a, v)) < 0)
            return x < 0 ? 2 : usage();
        i++;
        if (strcmp(a, "--rate") == 0) r.rate = x;
        else if (strcmp(a, "--window") == 0) r.window = (long)x;
        else if (strcmp(a, "--connections") == 0) r.npub = (int)x;
        else if (strcmp(a, "--duration") == 0) r.duration_s = x;
        else if (strcmp(a, "--warmup") == 0) r.warmup_s = x;
        else if (strcmp(a, "--drain") == 0) r.drain_s = x;
        else if (strcmp(a, "--first") == 0) r.first = (uint64_t)x;
        else if (strcmp(a, "--count") == 0) r.want = (long)x;
        else if (strcmp(a, "--timeout") == 0) timeout_s = x;
        else return usage();
    }
    if (overdue ? r.want <= 0 : (r.rate > 0) == (r.window > 0) || r.npub < 1 || r.npub > MAX_CONNECTIONS ||
                                    r.warmup_s >= r.duration_s) {
        fprintf(stderr, "loadgen: give %s\n",
                overdue ? "--count N > 0"
                        : "either --rate or --window, 1-64 connections, and a warmup shorter than the duration");
        return 2;
    }

    tr_config_t *cfg = NULL;
    tr_error_t err = {0};
    char broker_key[64], client_key[64];
    if (tr_config_load(vars, sizeof vars / sizeof vars[0], tr_config_getenv, NULL, &cfg, &err) < 0 ||
        tr_config_read_file(cfg, "TRIVSEL_BROKER_PUBLIC_KEY_FILE", broker_key, sizeof broker_key, &err) < 0 ||
        tr_config_read_file(cfg, "TRIVSEL_CLIENT_KEY_FILE", client_key, sizeof client_key, &err) < 0) {
        fprintf(stderr, "loadgen: %s\n", err.message);
        return 2;
    }
    snprintf(r.prefix, sizeof r.prefix, "bench-%d-%" PRIu64 "-", (int)getpid(), r.first);
    snprintf(r.subscription, sizeof r.subscription, "bench.%s.%d", overdue ? "overdue" : "registered", (int)getpid());
    snprintf(r.refused_subscription, sizeof r.refused_subscription, "bench.refused.%d", (int)getpid());
    uv_loop_init(&r.loop);
    tr_bclient_options_t o = {.endpoint = tr_config_string(cfg, "TRIVSEL_BROKER_ADDRESS"),
                              .server_public_key = broker_key,
                              .secret_key = client_key,
                              .client_name = "loadgen",
                              /* Resend after 5 s, not 2: at saturation an acknowledgement may
                               * take longer than 2 s, and a resend then only adds load. */
                              .retry_ms = 5000};
    if (overdue)
        r.npub = 0;
    for (int k = 0; k <= r.npub; k++) {
        tr_bclient_t **c = k < r.npub ? &r.pub[k] : &r.sub;
        if (tr_bclient_new(&r.loop, &o, c, &err) < 0) {
            fprintf(stderr, "loadgen: %s\n", err.message);
            return 2;
        }
        tr_bclient_on_welcome(*c, welcome_cb, &r);
        tr_bclient_on_error(*c, error_cb, &r);
    }
    if (overdue) {
        r.late_received = calloc((size_t)r.want, sizeof *r.late_received);
        r.late_logged = calloc((size_t)r.want, sizeof *r.late_logged);
        tr_bclient_subscribe(r.sub, r.subscription, "intake.triage.overdue", 1000, 0,
                             TRIVSEL__BROKER__START_AT__START_AT_NEW, overdue_cb, &r);
    } else {
        tr_bclient_subscribe(r.sub, r.subscription, "intake.underretning.registered", 1000, 0,
                             TRIVSEL__BROKER__START_AT__START_AT_NEW, delivery_cb, &r);
        tr_bclient_subscribe(r.sub, r.refused_subscription, "intake.underretning.refused", 100, 0,
                             TRIVSEL__BROKER__START_AT__START_AT_NEW, delivery_cb, &r);
    }
    uv_timer_init(&r.loop, &r.tick);
    uv_timer_init(&r.loop, &r.probe_timer);
    uv_timer_init(&r.loop, &r.deadline);
    r.tick.data = r.probe_timer.data = r.deadline.data = &r;
    /* The whole run is bounded: start-up and probes, publishing, draining. */
    double limit_s = overdue ? timeout_s : 40 + r.duration_s + r.drain_s;
    uv_timer_start(&r.deadline, deadline_cb, (uint64_t)(limit_s * 1000), 0);
    uv_run(&r.loop, UV_RUN_DEFAULT);

    int rc = overdue ? report_overdue(&r) : r.phase == WAITING || r.phase == PROBING ? 1 : report_publish(&r);
    if (r.exit_code != 0 && rc == 0)
        rc = 1;
    /* Leave no subscription behind: a durable one would keep its place in the log for ever. */
    tr_bclient_unsubscribe(r.sub, r.subscription, true);
    if (!overdue)
        tr_bclient_unsubscribe(r.sub, r.refused_subscription, true);
    for (int k = 0; k < r.npub; k++)
        tr_bclient_close(r.pub[k], NULL, NULL);
    tr_bclient_close(r.sub, NULL, NULL);
    uv_close((uv_handle_t *)&r.tick, NULL);
    uv_close((uv_handle_t *)&r.probe_timer, NULL);
    uv_close((uv_handle_t *)&r.deadline, NULL);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    uv_loop_close(&r.loop);
    tr_config_destroy(&cfg);
    free(r.records);
    free(r.late_received);
    free(r.late_logged);
    return rc;
}
