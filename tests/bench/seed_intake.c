/* seed_intake — rows for intake's tables as trivsel-intake would have written them on
 * registering underretninger (services/intake/underretning.c), in PostgreSQL's COPY text format,
 * so `make bench` can put a million open deadlines in place in a minute instead of days.
 *
 *   seed_intake sag|underretning|deadline|json --first I --count N --received-at US --step US
 *               --now US [--warning MS] [--publisher P]
 *
 * (json: the underretninger themselves, one proto3 JSON line each, to publish for real and
 * compare what the service stores with what this seeder writes: tests/integration/test_bench.sh.)
 *
 * Underretning number k (I <= k < I+N) is bench_underretning_make(k), received at
 * received-at + (k-I) * step (UTC microseconds), a new child's first underretning (its own case,
 * no earlier ones, no measures). Its columns are computed by intake's own code: the child's
 * key (intake_validate_underretning, which must find no problem), the triage deadline, the
 * warning before it (--warning, intake's TRIVSEL_INTAKE_TRIAGE_WARNING, default 4 h), the
 * kvittering's due date in hverdage. A deadline already due at --now has fired as the service
 * fires it (fired_at its due time, fired_event_id the event's id); the others are open. Every
 * run with the same arguments writes the same rows (ids are derived from k), so the three
 * tables can be written one after the other, as their foreign keys require:
 *
 *   seed_intake sag ...          | psql -c "COPY intake.sag (...) FROM STDIN"   (see run.sh)
 *
 * Exit status 1 if a generated underretning does not pass intake's checks. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dates.h"
#include "pbjson.h"
#include "underretninger.h"
#include "validate.h"

typedef struct seed {
    const char *table, *publisher;
    uint64_t first, count;
    int64_t received_at, step, now, warning_ms;
} seed_t;

/* A version-4-shaped UUID derived from k and what it identifies (salt), the same on every run. */
static void uuid_of(uint64_t k, uint64_t salt, char out[37])
{
    uint64_t a = k * 0x9e3779b97f4a7c15ULL + salt, b;
    a = (a ^ (a >> 30)) * 0xbf58476d1ce4e5b9ULL;
    a = (a ^ (a >> 27)) * 0x94d049bb133111ebULL;
    a ^= a >> 31;
    b = (a ^ salt) * 0x9e3779b97f4a7c15ULL;
    b ^= b >> 29;
    snprintf(out, 37, "%08" PRIx32 "-%04" PRIx32 "-4%03" PRIx32 "-%04" PRIx32 "-%012" PRIx64, (uint32_t)(a >> 32),
             (uint32_t)(a >> 16) & 0xffff, (uint32_t)a & 0xfff, (uint32_t)(0x8000 | ((b >> 48) & 0x3fff)),
             (uint64_t)(b & 0xffffffffffffULL));
}

/* UTC microseconds (after 1970) as a timestamptz literal. */
static void ts_text(int64_t us, char out[40])
{
    time_t s = (time_t)(us / 1000000);
    struct tm tm;
    char date[24];
    gmtime_r(&s, &tm);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out, 40, "%.20s.%06d+00", date, (int)(us % 1000000));
}

/* A text field for COPY: backslash, tab and line breaks escaped. */
static void field(const char *s, bool last)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\': fputs("\\\\", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        default: putchar(*s);
        }
    }
    putchar(last ? '\n' : '\t');
}

static void null_field(bool last)
{
    fputs(last ? "\\N\n" : "\\N\t", stdout);
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    return v ? v->name : "";
}

/* The deadline row of one kind: fired by now if due, else open. */
static void deadline(const seed_t *s, const char *underretning_id, const char *kind, const char *event, int64_t due)
{
    char at[40], event_id[100];
    ts_text(due, at);
    field(underretning_id, false);
    field(kind, false);
    field(at, false);
    if (due <= s->now) {
        snprintf(event_id, sizeof event_id, "%s/%s", underretning_id, event);
        field(at, false);
        field(event_id, false);
    } else {
        null_field(false);
        null_field(false);
    }
    null_field(false);
    null_field(true);
}

static int row(const seed_t *s, uint64_t k)
{
    int64_t received = s->received_at + (int64_t)(k - s->first) * s->step;
    bench_underretning_t u;
    bench_underretning_make(&u, k, received, false);
    intake_validate_options_t vo = {.now_us = s->now, .clock_skew_us = 0, .municipalities = ""};
    intake_problems_t problems = {0};
    intake_child_key_t key;
    intake_validate_underretning(&u.msg, "630", &vo, &problems, &key);
    if (problems.n) {
        fprintf(stderr, "seed_intake: underretning %" PRIu64 " does not pass intake's checks: %s\n", k,
                problems.items[0]->problem);
        intake_problems_release(&problems);
        return -1;
    }
    char uid[37], case_id[37], at[40], birth[TR_CALENDAR_DATE_LEN];
    uuid_of(k, 0x756e646572ULL, uid);
    uuid_of(k, 0x736167ULL, case_id);
    /* Registered a few seconds after receipt, as a running service does. */
    int64_t registered = received + 3 * INTAKE_US_PER_SECOND;
    Trivsel__ReporterKind kind = u.reporter.kind;
    bool receipt_required = kind != TRIVSEL__REPORTER_KIND__REPORTER_KIND_ANONYMOUS;
    tr_date_t receipt_due = receipt_required ? intake_receipt_due_date(received) : (tr_date_t){0};

    if (strcmp(s->table, "json") == 0) {
        tr_pbjson_options_t jo = {.flags = TR_PBJSON_COMPACT};
        char *json = tr_pbjson_format_opts(&u.msg.base, &jo);
        if (!json)
            return -1;
        puts(json);
        free(json);
    } else if (strcmp(s->table, "sag") == 0) {
        /* id, municipality, cpr, name_key, birth_date, created_at */
        field(case_id, false);
        field("630", false);
        if (key.cpr[0])
            field(key.cpr, false);
        else
            null_field(false);
        if (key.name_key[0])
            field(key.name_key, false);
        else
            null_field(false);
        tr_calendar_format_date(key.birth_date, birth);
        field(birth, false);
        ts_text(registered, at);
        field(at, true);
    } else if (strcmp(s->table, "underretning") == 0) {
        /* id, case_id, municipality, publisher, received_event_id, received, source_reference,
         * received_at, registered_at, channel, team, reporter_kind, abuse_case,
         * parents_suspected, triage_due_at, receipt_required, receipt_due_date,
         * orientation_required, underretninger_last_12_months, genvurdering_required */
        char event_id[40], due[TR_CALENDAR_DATE_LEN];
        uint8_t payload[4096];
        size_t len = trivsel__intake__underretning_received__pack(&u.msg, payload);
        snprintf(event_id, sizeof event_id, "seed-%" PRIu64, k);
        field(uid, false);
        field(case_id, false);
        field("630", false);
        field(s->publisher, false);
        field(event_id, false);
        fputs("\\\\x", stdout);
        for (size_t i = 0; i < len; i++)
            printf("%02x", payload[i]);
        putchar('\t');
        field(u.msg.source_reference, false);
        ts_text(received, at);
        field(at, false);
        ts_text(registered, at);
        field(at, false);
        field(enum_name(&trivsel__intake__channel__descriptor, (int)u.msg.channel), false);
        field(u.msg.team, false);
        field(enum_name(&trivsel__reporter_kind__descriptor, (int)kind), false);
        field(u.msg.violence_suspected || u.msg.sexual_abuse_suspected ? "t" : "f", false);
        field(u.msg.parents_suspected ? "t" : "f", false);
        ts_text(intake_triage_due_at(received), at);
        field(at, false);
        field(receipt_required ? "t" : "f", false);
        if (receipt_required) {
            tr_calendar_format_date(receipt_due, due);
            field(due, false);
        } else {
            null_field(false);
        }
        field(kind == TRIVSEL__REPORTER_KIND__REPORTER_KIND_PUBLIC_EMPLOYEE ? "t" : "f", false);
        field("1", false);
        field("f", true);
    } else {
        /* underretning_id, kind, due_at, fired_at, fired_event_id, closed_at, closed_reason */
        deadline(s, uid, "triage_due_soon", "triage.due_soon", intake_triage_warning_at(received, s->warning_ms));
        deadline(s, uid, "triage_overdue", "triage.overdue", intake_triage_due_at(received));
        if (receipt_required)
            deadline(s, uid, "receipt_overdue", "receipt.overdue", intake_receipt_overdue_at(receipt_due));
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: seed_intake sag|underretning|deadline|json --first I --count N --received-at US --step US"
                    " --now US [--warning MS] [--publisher P]\n");
    return 2;
}

int main(int argc, char **argv)
{
    seed_t s = {.warning_ms = 4 * 3600 * 1000, .publisher = "bench"};
    bool have[5] = {0};
    if (argc < 2 || (strcmp(argv[1], "sag") != 0 && strcmp(argv[1], "underretning") != 0 &&
                     strcmp(argv[1], "deadline") != 0 && strcmp(argv[1], "json") != 0))
        return usage();
    s.table = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        char *end;
        long long x = strtoll(v, &end, 10);
        if (strcmp(a, "--publisher") == 0) {
            s.publisher = v;
            continue;
        }
        if (*end || end == v) {
            fprintf(stderr, "seed_intake: %s \"%s\" is not valid: must be an integer\n", a, v);
            return 2;
        }
        if (strcmp(a, "--first") == 0) s.first = (uint64_t)x, have[0] = true;
        else if (strcmp(a, "--count") == 0) s.count = (uint64_t)x, have[1] = true;
        else if (strcmp(a, "--received-at") == 0) s.received_at = x, have[2] = true;
        else if (strcmp(a, "--step") == 0) s.step = x, have[3] = true;
        else if (strcmp(a, "--now") == 0) s.now = x, have[4] = true;
        else if (strcmp(a, "--warning") == 0) s.warning_ms = x;
        else return usage();
    }
    for (int i = 0; i < 5; i++) {
        if (!have[i])
            return usage();
    }
    for (uint64_t k = s.first; k < s.first + s.count; k++) {
        if (row(&s, k) < 0)
            return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
