/* fuzz_intake_validate.c — libFuzzer target: trivsel-intake's checks on the events it consumes
 * (services/intake/validate.c and the dates it uses, compiled in as tests/unit/
 * test_intake_validate.c does), on a payload decoded as underretning.c and triage.c decode it.
 * Whatever a publisher may send on intake.underretning.received or intake.triage.completed
 * reaches these checks before anything is stored.
 *
 * The first byte picks, bit 0: an UnderretningReceived for intake_validate_underretning() or a
 * TriageCompleted for intake_validate_triage(); the other bits (data[0] >> 1) the rest of the
 * call. For an underretning, bits 0-1 the envelope's municipality (575, 630, 101, empty) and
 * bit 2 the municipalities served (575,630, else every one). For a triage, what intake knows of
 * the underretning it names: bit 0 known (on case 3b0f6c2e-..., received 2026-11-23T08:15:00Z;
 * only an id in the form of a UUID can be, as triage.c asks the database for no other),
 * bit 1 triaged already, bit 2 an abuse case, bit 3 the parents suspected, bit 4 a genvurdering
 * required, bit 5 ABJ and KLM have triaged on the case before. The clock is fixed at
 * 2026-11-23T09:00:00Z with 5 minutes of skew, so a run is reproducible. The rest is the payload.
 *   - every problem has a field ("" or a path of .proto names), a snake_case code (the log line
 *     of a refusal lists codes of under 64 bytes) and a message;
 *   - the checks are pure: the event is not changed, and checking again gives the same problems
 *     (and the same child key);
 *   - an accepted underretning satisfies an independent reading of the rules (a kommunekode that
 *     is served, a received_at within 1900-9999 and not ahead of the clock, a child with a CPR
 *     number or a name and birth date, a reporter of a known kind, a known channel, a concern, at
 *     most 50 signals of known categories with descriptions, a score of 1-10 if any, no parents
 *     suspected without violence or sexual abuse); its child key holds the CPR number's digits
 *     and a birth date no later than the day of receipt, and the deadlines underretning.c
 *     computes next can be computed; a refused one leaves the key empty;
 *   - an accepted triage likewise (known and not triaged, on its own case, both questions of
 *     §136 answered, a known outcome, reasons for no further action, who and when, not before
 *     the receipt, and in an abuse case a plan, parents not told and an investigation; a new
 *     person for a genvurdering);
 *   - the refusal the handler would emit (UnderretningRefused, TriageRefused, the problems in
 *     it) survives the round trip; so does the decoded event.
 * Seeds: tests/fuzz/corpus/fuzz_intake_validate/: gen-* by make fuzz-seeds (both types filled
 * in, and deploy/examples/events as payloads), and named real-looking events.
 */
#include "../../services/intake/dates.c"
#include "../../services/intake/validate.c"

#include "fuzz.h"

#define TARGET "fuzz_intake_validate"
#define NOW_US (INT64_C(1795424400) * INTAKE_US_PER_SECOND)      /* 2026-11-23T09:00:00Z */
#define RECEIVED_US (INT64_C(1795421700) * INTAKE_US_PER_SECOND) /* 08:15, the seeds' time */
#define SKEW_US (INT64_C(300) * INTAKE_US_PER_SECOND)
#define CASE_ID "3b0f6c2e-8d41-4c59-9a7e-2f1d5b8e6a10"

static const char *const municipalities[] = {"575", "630", "101", ""};
static const char *const earlier[] = {"ABJ", "KLM"};

static bool blank(const char *s)
{
    for (; s && *s; s++) {
        if (!isspace((unsigned char)*s))
            return false;
    }
    return true;
}

static void check_problems(const intake_problems_t *p)
{
    fuzz_check_problems(TARGET, p->items, p->n);
}

static bool has_code(const intake_problems_t *p, const char *code)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->items[i]->code, code) == 0)
            return true;
    }
    return false;
}

static void same_problems(const intake_problems_t *a, const intake_problems_t *b)
{
    if (a->n != b->n)
        fuzz_broken(TARGET, "checked twice: %zu problems, then %zu", a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const Trivsel__Problem *x = a->items[i], *y = b->items[i];
        if (strcmp(x->field, y->field) || strcmp(x->code, y->code) ||
            strcmp(x->problem, y->problem))
            fuzz_broken(TARGET, "checked twice: problem %zu is %s \"%s\", then %s \"%s\"", i,
                        x->code, x->problem, y->code, y->problem);
    }
}

static bool known(const ProtobufCEnumDescriptor *d, int value)
{
    return value != 0 && protobuf_c_enum_descriptor_get_value(d, value) != NULL;
}

/* An instant the rules accept: 1900-01-01 to 9999-12-30 (UTC), not ahead of the clock. */
static bool instant_ok(const Google__Protobuf__Timestamp *ts)
{
    if (!ts || ts->seconds < INT64_C(-2208988800) || ts->seconds >= INT64_C(253402041600) ||
        ts->nanos < 0 || ts->nanos > 999999999)
        return false;
    return ts->seconds * INTAKE_US_PER_SECOND + ts->nanos / 1000 <= NOW_US + SKEW_US;
}

static bool served(const char *list, const char *code)
{
    if (!list[0])
        return true;
    for (const char *s = list; *s; s += strcspn(s, ","), s += *s == ',') {
        if (strncmp(s, code, 3) == 0 && (s[3] == ',' || !s[3]))
            return true;
    }
    return false;
}

static void accepted_underretning(const Trivsel__Intake__UnderretningReceived *u, const char *m,
                                  const intake_validate_options_t *o, const intake_child_key_t *key)
{
    const char *why = NULL;
    const Trivsel__Child *c = u->child;
    tr_cpr_t cpr;
    tr_date_t birth;
    if (strlen(m) != 3 || strspn(m, "0123456789") != 3 || !served(o->municipalities, m))
        why = "municipality";
    else if (!instant_ok(u->received_at))
        why = "received_at";
    else if (!c || (c->cpr[0] ? tr_cpr_parse(c->cpr, &cpr, NULL) < 0
                              : blank(c->name) ||
                                    tr_calendar_parse_date(c->birth_date, &birth, NULL) < 0))
        why = "child";
    else if (!u->reporter || !known(&trivsel__reporter_kind__descriptor, (int)u->reporter->kind))
        why = "reporter";
    else if (!known(&trivsel__intake__channel__descriptor, (int)u->channel))
        why = "channel";
    else if (blank(u->concern))
        why = "concern";
    else if (u->n_signals > INTAKE_MAX_SIGNALS)
        why = "signals";
    else if (u->reporter_score_present_case ==
                 TRIVSEL__INTAKE__UNDERRETNING_RECEIVED__REPORTER_SCORE_PRESENT_REPORTER_SCORE &&
             (u->reporter_score < 1 || u->reporter_score > 10))
        why = "reporter_score";
    else if (u->parents_suspected && !u->violence_suspected && !u->sexual_abuse_suspected)
        why = "parents_suspected";
    for (size_t i = 0; !why && i < u->n_signals; i++) {
        if (!known(&trivsel__intake__signal_category__descriptor, (int)u->signals[i]->category) ||
            blank(u->signals[i]->description))
            why = "a signal";
    }
    if (why)
        fuzz_broken(TARGET, "an underretning was accepted with a wrong %s", why);

    int64_t received_us = intake_timestamp_us(u->received_at);
    tr_date_t received = intake_local_date(received_us);
    if (c->cpr[0] && (strlen(key->cpr) != 10 || strcmp(key->cpr, cpr.digits) != 0))
        fuzz_broken(TARGET, "the child key holds CPR \"%s\" for \"%s\"", key->cpr, c->cpr);
    if (!c->cpr[0] && key->cpr[0])
        fuzz_broken(TARGET, "the child key holds a CPR number the child has not");
    if (!tr_calendar_is_valid(key->birth_date) ||
        tr_calendar_compare(key->birth_date, received) > 0)
        fuzz_broken(TARGET, "the child key's birth date %04d-%02d-%02d is not a date by receipt",
                    key->birth_date.year, key->birth_date.month, key->birth_date.day);
    /* What underretning.c computes next for an accepted underretning. */
    if (intake_triage_due_at(received_us) != received_us + INTAKE_US_PER_SECOND * 24 * 3600)
        fuzz_broken(TARGET, "the triage is not due 24 hours after the receipt");
    if (u->reporter->kind != TRIVSEL__REPORTER_KIND__REPORTER_KIND_ANONYMOUS) {
        tr_date_t due = intake_receipt_due_date(received_us);
        if (!tr_calendar_is_valid(due) || tr_calendar_compare(due, received) <= 0)
            fuzz_broken(TARGET,
                        "the receipt is due on %04d-%02d-%02d for a receipt on %04d-%02d-%02d",
                        due.year, due.month, due.day, received.year, received.month, received.day);
    }
}

static void underretning(const uint8_t *data, size_t size, unsigned options)
{
    Trivsel__Intake__UnderretningReceived *u = trivsel__intake__underretning_received__unpack(NULL,
                                                                                              size,
                                                                                              data);
    if (!u)
        return;
    fuzz_round_trip(TARGET, &u->base);
    const char *municipality = municipalities[options & 3];
    intake_validate_options_t o = {.now_us = NOW_US,
                                   .clock_skew_us = SKEW_US,
                                   .municipalities = options & 4 ? "575,630" : ""};
    size_t nbefore, nafter;
    uint8_t *before = fuzz_pack(&u->base, &nbefore);
    intake_problems_t p = {0}, again = {0};
    intake_child_key_t key, key_again;
    memset(&key, 0x5a, sizeof key);
    memset(&key_again, 0x5a, sizeof key_again);
    intake_validate_underretning(u, municipality, &o, &p, &key);
    intake_validate_underretning(u, municipality, &o, &again, &key_again);
    uint8_t *after = fuzz_pack(&u->base, &nafter);
    if (nbefore != nafter || memcmp(before, after, nbefore) != 0)
        fuzz_broken(TARGET, "intake_validate_underretning changed the underretning");
    check_problems(&p);
    same_problems(&p, &again);
    if (memcmp(&key, &key_again, sizeof key) != 0)
        fuzz_broken(TARGET, "checked twice, the child key differs");
    if (p.n == 0) {
        accepted_underretning(u, municipality, &o, &key);
    } else {
        static const intake_child_key_t empty;
        if (memcmp(&key, &empty, sizeof key) != 0)
            fuzz_broken(TARGET, "a refused underretning left a child key");
        if ((strlen(municipality) != 3) != has_code(&p, "invalid_municipality"))
            fuzz_broken(TARGET, "municipality \"%s\": invalid_municipality is %s", municipality,
                        has_code(&p, "invalid_municipality") ? "named" : "missing");
    }
    /* The refusal underretning.c emits. */
    Trivsel__Intake__UnderretningRefused refused = TRIVSEL__INTAKE__UNDERRETNING_REFUSED__INIT;
    refused.received_event_id = CASE_ID;
    refused.problems = p.items;
    refused.n_problems = p.n;
    refused.source_reference = u->source_reference;
    fuzz_round_trip(TARGET, &refused.base);
    free(before);
    free(after);
    intake_problems_release(&p);
    intake_problems_release(&again);
    trivsel__intake__underretning_received__free_unpacked(u, NULL);
}

static void accepted_triage(const Trivsel__Intake__TriageCompleted *t,
                            const intake_triage_context_t *ctx)
{
    const char *why = NULL;
    const Trivsel__Employee *g = t->genvurdering_participant;
    if (!t->underretning_id[0] || !ctx->known || ctx->already_triaged)
        why = "underretning";
    else if (t->case_id[0] && strcmp(t->case_id, ctx->case_id) != 0)
        why = "case";
    else if (
        t->child_in_danger_present_case !=
            TRIVSEL__INTAKE__TRIAGE_COMPLETED__CHILD_IN_DANGER_PRESENT_CHILD_IN_DANGER ||
        t->acute_measures_needed_present_case !=
            TRIVSEL__INTAKE__TRIAGE_COMPLETED__ACUTE_MEASURES_NEEDED_PRESENT_ACUTE_MEASURES_NEEDED)
        why = "answer to §136";
    else if (t->acute_measures_needed && blank(t->acute_measures))
        why = "acute_measures";
    else if (!known(&trivsel__intake__triage_outcome__descriptor, (int)t->outcome))
        why = "outcome";
    else if (t->outcome == TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_NO_FURTHER_ACTION &&
             blank(t->reasons))
        why = "reasons";
    else if (!t->triaged_by || !t->triaged_by->id[0])
        why = "triaged_by";
    else if (!instant_ok(t->triaged_at) || intake_timestamp_us(t->triaged_at) < ctx->received_us)
        why = "triaged_at";
    else if (ctx->abuse_case &&
             (blank(t->boernesamtale_plan) || !t->parents_not_told ||
              t->outcome !=
                  TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE))
        why = "abuse case";
    else if (ctx->genvurdering_required && (!g || !g->id[0] || !strcmp(g->id, t->triaged_by->id)))
        why = "genvurdering participant";
    for (size_t i = 0; !why && ctx->genvurdering_required && i < ctx->n_earlier_triagers; i++) {
        if (strcmp(g->id, ctx->earlier_triagers[i]) == 0)
            why = "genvurdering participant (triaged before)";
    }
    if (why)
        fuzz_broken(TARGET, "a triage was accepted with a wrong %s", why);
}

static void triage(const uint8_t *data, size_t size, unsigned options)
{
    Trivsel__Intake__TriageCompleted *t = trivsel__intake__triage_completed__unpack(NULL, size,
                                                                                    data);
    if (!t)
        return;
    fuzz_round_trip(TARGET, &t->base);
    /* triage.c asks the database only for an id in the form of a UUID. */
    intake_triage_context_t ctx = {.known = (options & 1) && intake_is_uuid(t->underretning_id),
                                   .case_id = CASE_ID,
                                   .already_triaged = options & 2,
                                   .abuse_case = options & 4,
                                   .parents_suspected = options & 8,
                                   .genvurdering_required = options & 16,
                                   .received_us = RECEIVED_US,
                                   .earlier_triagers = earlier,
                                   .n_earlier_triagers = options & 32 ? 2 : 0};
    intake_validate_options_t o = {.now_us = NOW_US,
                                   .clock_skew_us = SKEW_US,
                                   .municipalities = ""};
    size_t nbefore, nafter;
    uint8_t *before = fuzz_pack(&t->base, &nbefore);
    intake_problems_t p = {0}, again = {0};
    intake_validate_triage(t, &ctx, &o, &p);
    intake_validate_triage(t, &ctx, &o, &again);
    uint8_t *after = fuzz_pack(&t->base, &nafter);
    if (nbefore != nafter || memcmp(before, after, nbefore) != 0)
        fuzz_broken(TARGET, "intake_validate_triage changed the triage");
    check_problems(&p);
    same_problems(&p, &again);
    if (p.n == 0)
        accepted_triage(t, &ctx);
    /* The refusal triage.c emits. */
    Trivsel__Intake__TriageRefused refused = TRIVSEL__INTAKE__TRIAGE_REFUSED__INIT;
    refused.completed_event_id = CASE_ID;
    refused.underretning_id = t->underretning_id;
    refused.case_id = ctx.known ? CASE_ID : "";
    refused.problems = p.items;
    refused.n_problems = p.n;
    refused.abuse_case = ctx.abuse_case;
    fuzz_round_trip(TARGET, &refused.base);
    free(before);
    free(after);
    intake_problems_release(&p);
    intake_problems_release(&again);
    trivsel__intake__triage_completed__free_unpacked(t, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        triage(data + 1, size - 1, data[0] >> 1);
    else
        underretning(data + 1, size - 1, data[0] >> 1);
    return 0;
}
