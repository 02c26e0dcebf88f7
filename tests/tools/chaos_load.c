/* chaos_load — the load of the fault test (tests/integration/test_chaos.sh, issue 10 item 1).
 * It plays many children's stories at once, as the case system (principal sagssystem) and two
 * suppliers (supplier1, CVR 45424421, and kommune, CVR 11223344) would play them, against the
 * real daemons:
 *
 *   intake.underretning.received -> (intake.underretning.registered)
 *     [a late one: received almost or more than 24 hours ago -> (intake.triage.overdue)]
 *   -> intake.triage.completed (acute measures, børnefaglig undersøgelse)
 *   -> assessment.decision.made -> (assessment.decision.registered)
 *   -> ordering.order.requested -> (ordering.order.placed.CVR)
 *        [(ordering.order.refused) for an unknown decision: ordering's decisions come on a
 *         subscription of their own and may lag; the case system asks again, new event id]
 *   -> ordering.order.accepted.CVR
 *   -> two docs.note.submitted.CVR and one docs.report.submitted.CVR -> (docs.submission.accepted.CVR)
 *
 * Each step waits for the answer before the next, so the log holds a story in the order the
 * services need it. Every publish is kept by common/bclient and sent again with the same event id
 * until the broker acknowledges it, across broker restarts. Any refusal other than the unknown
 * decision ends the story as failed, naming it.
 *
 *   chaos_load --keys DIR --out DIR [--seconds S] [--every MS] [--finish S] [--municipality K]
 *
 * Starts a story every MS milliseconds (default 700) for S seconds (default 60), then waits at
 * most --finish seconds (default 300) for the stories in flight. Key files: DIR/NAME.key. Writes
 * to the --out folder, for the checks of the test:
 *   acked.tsv    PUBLISHER EVENT_ID SUBJECT POSITION, one line per acknowledged publish
 *   orders.tsv   ORDER_ID OFFER_ID MINUTES_PER_WEEK START END of every order its supplier accepted
 *   late.tsv     the received event id of every late underretning (its triage waited for the overdue)
 *   month        the month the orders are made to be settled in (YYYY-MM): the last one that ended
 * Prints a progress line every 10 seconds and a summary at the end. Exit status 0 when every story
 * finished; 1 when one failed or did not finish in time (each is named); 2 on bad usage.
 * Reads TRIVSEL_BROKER_ADDRESS and TRIVSEL_BROKER_PUBLIC_KEY_FILE. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bclient.h"
#include "calendar.h"
#include "catalogue.h"
#include "config.h"
#include "handler.h"
#include "pbjson.h"

#define TICK_MS 100
#define PROGRESS_MS 10000
#define REQUEST_RETRY_MS 1000
#define DOCUMENTED_ALL 7u /* the bits of story_t.documented: two diary notes and a status report */

#define NR5 "LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5"
#define NR7 "LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_7"

/* Offers of deploy/catalogue.json, one per price model the stories use. */
typedef struct offer {
    const char *id, *legal_basis;
    int supplier; /* index into load_t.parties */
    bool hourly;
} offer_t;

static const offer_t offers[] = {
    {"45424421-familiebehandling", NR5, 1, true},
    {"kommune-familiehuset-familiebehandling", NR5, 2, true},
    {"45424421-alternativ-til-anbringelse", NR5, 1, false}, /* per month */
    {"kommune-aflastningsfamilie", NR7, 2, false},          /* per day */
};
#define NOFFERS (sizeof offers / sizeof offers[0])

typedef enum step {
    AWAIT_REGISTERED,    /* the underretning is published; intake registers it on a case */
    AWAIT_OVERDUE,       /* a late one: its 24 hours run out before anyone triages it */
    AWAIT_TRIAGE_ACK,    /* the triage is published; the decision must come after it in the log */
    AWAIT_DECISION,      /* the decision is published; assessment registers it */
    AWAIT_PLACED,        /* the order is requested; ordering places it with the supplier */
    AWAIT_REQUEST_AGAIN, /* ordering did not know the decision yet: ask again shortly */
    AWAIT_ACCEPTED_ACK,  /* the supplier accepted; its documentation must come after that */
    AWAIT_DOCUMENTED,    /* the notes and the report are published; docs answers each */
    DONE,
    FAILED
} step_t;

static const char *const step_names[] = {
    "intake.underretning.registered", "intake.triage.overdue", "the triage's acknowledgement",
    "assessment.decision.registered", "ordering.order.placed", "asking ordering again",
    "the acceptance's acknowledgement", "docs.submission.accepted", "done", "failed"};

typedef struct story {
    int n;
    step_t step;
    bool late;
    char cpr[16];
    char underretning_id[64], case_id[64];
    const offer_t *offer;
    unsigned minutes_per_week;
    tr_date_t start, end;
    int requests;
    unsigned documented; /* bits: note 1, note 2, report; a redelivered answer sets its bit again */
    uint64_t request_again_at;
    char failure[512];
} story_t;

struct load;

/* A principal the load acts as: the case system or a supplier, with its own broker session. */
typedef struct party {
    struct load *load;
    const char *name, *cvr; /* cvr NULL for the case system */
    tr_bclient_t *client;
} party_t;

typedef struct load {
    uv_loop_t loop;
    uv_timer_t tick;
    party_t parties[3];
    story_t *stories;
    int nstories, max_stories, finished, failed;
    uint64_t started_ms, every_ms, launch_ms, finish_ms, next_story_ms, next_progress_ms;
    const char *municipality;
    tr_date_t today, month_first, month_last; /* the month to settle: the last one that ended */
    FILE *acked, *orders, *late;
    long publishes, duplicates, requests_again;
    int exit_code;
} load_t;

/* One publish on its way: what to record when the broker acknowledges it. */
typedef struct sent {
    party_t *party;
    story_t *story;
    char subject[96];
} sent_t;

static const char *const party_names[] = {"sagssystem", "supplier1", "kommune"};
static const char *const party_cvrs[] = {NULL, "45424421", "11223344"};

static void fail(story_t *s, const char *fmt, ...)
{
    if (s->step == FAILED)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->failure, sizeof s->failure, fmt, ap);
    va_end(ap);
    s->step = FAILED;
}

static void rfc3339(time_t t, char buf[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void published_cb(tr_bclient_t *c, const char *event_id, uint64_t position, bool duplicate,
                         const Trivsel__Broker__Error *error, void *arg);

/* Publishes the JSON payload on subject as party p; the envelope's correlation id is the case. */
static void publish(party_t *p, story_t *s, const char *subject, const char *event_id, const char *json)
{
    const tr_event_type_t *et = tr_catalogue_by_subject(subject);
    ProtobufCMessage *msg = NULL;
    uint8_t *payload = NULL;
    tr_error_t err = {0};
    Trivsel__Envelope ev;
    Google__Protobuf__Timestamp now = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    now.seconds = time(NULL);
    sent_t *x = calloc(1, sizeof *x);
    if (!x || !et || tr_pbjson_parse(et->descriptor, json, strlen(json), &msg, &err) < 0 ||
        tr_envelope_make(&ev, event_id, subject, p->load->municipality, s->case_id, &now, msg, &payload, &err) < 0) {
        fail(s, "cannot make %s %s: %s", subject, event_id, err.message[0] ? err.message : "out of memory");
        free(x);
        goto out;
    }
    x->party = p;
    x->story = s;
    snprintf(x->subject, sizeof x->subject, "%s", subject);
    if (tr_bclient_publish(p->client, &ev, published_cb, x) < 0) {
        fail(s, "cannot publish %s", event_id);
        free(x);
    }
out:
    free(payload);
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
}

/* ---- the steps of a story ------------------------------------------------------------------ */

static void receive_underretning(load_t *l, story_t *s)
{
    /* A late underretning arrived almost 24 hours ago (its deadline passes during the run) or
     * 25 hours ago (overdue as soon as it is registered); the others a few minutes ago. */
    time_t now = time(NULL);
    time_t received = s->late ? (s->n % 8 == 1 ? now - 86400 + 10 + (s->n * 7) % 30 : now - 90000)
                              : now - 300 - (s->n * 13) % 3000;
    char at[32], id[48], json[1024];
    rfc3339(received, at);
    snprintf(id, sizeof id, "c%d-received", s->n);
    snprintf(json, sizeof json,
             "{\"child\": {\"cpr\": \"%s\", \"name\": \"Barn %d\"},"
             " \"reporter\": {\"kind\": \"REPORTER_KIND_PUBLIC_EMPLOYEE\", \"name\": \"Mette Skov\","
             "   \"organisation\": \"Vejen Skole\", \"role\": \"klasselærer\","
             "   \"contact\": {\"email\": \"mette.skov@skole.example\"}},"
             " \"receivedAt\": \"%s\", \"channel\": \"CHANNEL_DIGITAL_FORM\","
             " \"concern\": \"Barnet virker utrygt og har hyppigt fravær.\", \"team\": \"Modtageteamet\"}",
             s->cpr, s->n, at);
    if (s->late)
        fprintf(l->late, "%s\n", id);
    s->step = AWAIT_REGISTERED;
    publish(&l->parties[0], s, "intake.underretning.received", id, json);
}

static void triage(load_t *l, story_t *s)
{
    char at[32], id[48], json[1024];
    rfc3339(time(NULL) - 5, at);
    snprintf(id, sizeof id, "c%d-triage", s->n);
    snprintf(json, sizeof json,
             "{\"underretningId\": \"%s\", \"caseId\": \"%s\", \"childInDanger\": true,"
             " \"acuteMeasuresNeeded\": true, \"acuteMeasures\": \"akut familiebehandling\","
             " \"outcome\": \"TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE\","
             " \"triagedBy\": {\"id\": \"ABJ\", \"name\": \"Anne Bjerg Jensen\", \"team\": \"Modtageteamet\"},"
             " \"triagedAt\": \"%s\"}",
             s->underretning_id, s->case_id, at);
    s->step = AWAIT_TRIAGE_ACK;
    publish(&l->parties[0], s, "intake.triage.completed", id, json);
}

/* An acute decision, allowed alongside the investigation because the triage found acute
 * measures needed; it grants the legal bases of every offer the stories order. */
static void decide(load_t *l, story_t *s)
{
    char heard[32], decided[32], start[TR_CALENDAR_DATE_LEN], id[48], json[2048];
    rfc3339(time(NULL) - 4, heard);
    rfc3339(time(NULL) - 2, decided);
    tr_calendar_format_date(s->start, start);
    snprintf(id, sizeof id, "c%d-decision", s->n);
    snprintf(json, sizeof json,
             "{\"decisionId\": \"afg-c%d\", \"caseId\": \"%s\", \"kind\": \"DECISION_KIND_GRANT\","
             " \"measures\": ["
             "  {\"legalBasis\": \"" NR5 "\", \"description\": \"Familiebehandling\","
             "   \"purpose\": \"Styrke forældrenes omsorg\", \"expectedDurationMonths\": 6, \"startDate\": \"%s\"},"
             "  {\"legalBasis\": \"" NR7 "\", \"description\": \"Aflastning\","
             "   \"purpose\": \"Aflaste familien\", \"expectedDurationMonths\": 6, \"startDate\": \"%s\"}],"
             " \"reasons\": \"Barnet har brug for støtte nu\", \"decidedAt\": \"%s\","
             " \"decidedBy\": {\"id\": \"ABJ\", \"name\": \"Anne Bjerg Jensen\"},"
             " \"partshoeringDoneAt\": \"%s\", \"notifiedAt\": \"%s\", \"klagevejledningGiven\": true}",
             s->n, s->case_id, start, start, decided, heard, decided);
    s->step = AWAIT_DECISION;
    publish(&l->parties[0], s, "assessment.decision.made", id, json);
}

static void request_order(load_t *l, story_t *s)
{
    char start[TR_CALENDAR_DATE_LEN], end[TR_CALENDAR_DATE_LEN], scope[128] = "", id[48], json[2048];
    tr_calendar_format_date(s->start, start);
    tr_calendar_format_date(s->end, end);
    if (s->offer->hourly)
        snprintf(scope, sizeof scope, "\"scope\": {\"minutesPerWeek\": %u, \"description\": \"%u minutter om ugen\"},",
                 s->minutes_per_week, s->minutes_per_week);
    snprintf(id, sizeof id, "c%d-request-%d", s->n, ++s->requests);
    snprintf(json, sizeof json,
             "{\"orderId\": \"ord-c%d\", \"caseId\": \"%s\", \"decisionId\": \"afg-c%d\","
             " \"child\": {\"cpr\": \"%s\", \"name\": \"Barn %d\"},"
             " \"offerId\": \"%s\", \"legalBasis\": \"%s\", %s"
             " \"period\": {\"startDate\": \"%s\", \"endDate\": \"%s\"}, \"team\": \"Børneteamet\","
             " \"caseworker\": {\"id\": \"ABJ\", \"name\": \"Anne Bjerg Jensen\", \"team\": \"Børneteamet\"},"
             " \"goals\": [{\"goal\": \"Faste rutiner\", \"subGoals\": [\"Aftensmad kl. 18\"]}],"
             " \"documentation\": {\"statusReportIntervalMonths\": 1, \"diaryNotesRequired\": true},"
             " \"leonReason\": \"Familien kender leverandøren fra et tidligere forløb\"}",
             s->n, s->case_id, s->n, s->cpr, s->n, s->offer->id, s->offer->legal_basis, scope, start, end);
    s->step = AWAIT_PLACED;
    publish(&l->parties[0], s, "ordering.order.requested", id, json);
}

static void accept_order(load_t *l, story_t *s)
{
    party_t *p = &l->parties[s->offer->supplier];
    char subject[64], id[48], json[256];
    snprintf(subject, sizeof subject, "ordering.order.accepted.%s", p->cvr);
    snprintf(id, sizeof id, "c%d-accepted", s->n);
    snprintf(json, sizeof json, "{\"orderId\": \"ord-c%d\", \"contactName\": \"Sara Haddad\"}", s->n);
    s->step = AWAIT_ACCEPTED_ACK;
    publish(p, s, subject, id, json);
}

/* Two diary notes in the first days of the order and its first monthly status report. */
static void document(load_t *l, story_t *s)
{
    party_t *p = &l->parties[s->offer->supplier];
    char subject[64], id[48], day[TR_CALENDAR_DATE_LEN], until[TR_CALENDAR_DATE_LEN], json[1024];
    s->step = AWAIT_DOCUMENTED;
    for (int i = 1; i <= 2; i++) {
        snprintf(subject, sizeof subject, "docs.note.submitted.%s", p->cvr);
        snprintf(id, sizeof id, "c%d-note-%d", s->n, i);
        tr_calendar_format_date(tr_calendar_add_days(s->start, i), day);
        snprintf(json, sizeof json,
                 "{\"submissionId\": \"%s\", \"orderId\": \"ord-c%d\", \"childCpr\": \"%s\", \"noteDate\": \"%s\","
                 " \"durationMinutes\": %d, \"author\": \"Mette Holm\","
                 " \"observations\": \"Barnet dækkede bord uden at blive bedt om det\"}",
                 id, s->n, s->cpr, day, 45 + 15 * i);
        publish(p, s, subject, id, json);
    }
    snprintf(subject, sizeof subject, "docs.report.submitted.%s", p->cvr);
    snprintf(id, sizeof id, "c%d-report", s->n);
    tr_calendar_format_date(s->start, day);
    tr_calendar_format_date(tr_calendar_add_days(tr_calendar_add_months(s->start, 1), -1), until);
    snprintf(json, sizeof json,
             "{\"submissionId\": \"%s\", \"orderId\": \"ord-c%d\", \"childCpr\": \"%s\","
             " \"period\": {\"startDate\": \"%s\", \"endDate\": \"%s\"}, \"author\": \"Mette Holm\","
             " \"course\": \"Ugentlige besøg\", \"progression\": \"Faste rutiner ved måltider\","
             " \"challenges\": \"Sengetid\", \"recommendations\": \"Fortsæt som aftalt\"}",
             id, s->n, s->cpr, day, until);
    publish(p, s, subject, id, json);
}

/* A new story: its child (a CPR number of its own, born 2012-2019), its offer, its period. */
static void start_story(load_t *l)
{
    story_t *s = &l->stories[l->nstories];
    int n = l->nstories++;
    *s = (story_t){.n = n, .late = n % 4 == 1};
    /* DDMMYY-SSSS: the 7th digit 4 with a year 00-36 is the 2000s. Unique for 2,688 stories. */
    snprintf(s->cpr, sizeof s->cpr, "%02d%02d%02d4%03d", 1 + n % 28, 1 + (n / 28) % 12, 12 + (n / 336) % 8, n % 1000);
    s->offer = &offers[n % NOFFERS];
    s->minutes_per_week = s->offer->hourly ? 60 + 45 * (n % 5) + 10 * (n % 3) : 0;
    /* Starting in the month to settle or the one before; running past today, or ending within
     * the month to settle, so the settlement has whole and partial months to prorate. */
    s->start = tr_calendar_add_days(l->month_first, (n * 5) % 25 - (n % 3 == 0 ? 20 : 0));
    if (n % 5 == 0) {
        tr_date_t end = tr_calendar_add_days(l->month_last, -(n % 7));
        tr_date_t earliest = tr_calendar_add_days(s->start, 5);
        s->end = tr_calendar_compare(end, earliest) < 0 ? earliest : end;
    } else {
        s->end = tr_calendar_add_days(l->today, 30 + n % 60);
    }
    receive_underretning(l, s);
}

/* ---- acknowledgements and deliveries -------------------------------------------------------- */

static void published_cb(tr_bclient_t *c, const char *event_id, uint64_t position, bool duplicate,
                         const Trivsel__Broker__Error *error, void *arg)
{
    sent_t *x = arg;
    story_t *s = x->story;
    load_t *l = x->party->load;
    (void)c;
    if (error) {
        fail(s, "%s %s refused by the broker: %s", x->subject, event_id, error->reason);
        free(x);
        return;
    }
    fprintf(l->acked, "%s\t%s\t%s\t%llu\n", x->party->name, event_id, x->subject, (unsigned long long)position);
    fflush(l->acked);
    l->publishes++;
    l->duplicates += duplicate;
    free(x);
    if (s->step == AWAIT_TRIAGE_ACK && strstr(event_id, "-triage")) {
        decide(l, s);
    } else if (s->step == AWAIT_ACCEPTED_ACK && strstr(event_id, "-accepted")) {
        char start[TR_CALENDAR_DATE_LEN], end[TR_CALENDAR_DATE_LEN];
        tr_calendar_format_date(s->start, start);
        tr_calendar_format_date(s->end, end);
        fprintf(l->orders, "ord-c%d\t%s\t%u\t%s\t%s\n", s->n, s->offer->id, s->minutes_per_week, start, end);
        fflush(l->orders);
        document(l, s);
    }
}

/* The story an id names: "c12-triage", "ord-c12", "afg-c12" are story 12's. */
static story_t *story_of(load_t *l, const char *id)
{
    for (const char *p = strchr(id, 'c'); p; p = strchr(p + 1, 'c')) {
        if ((p == id || p[-1] == '-') && p[1] >= '0' && p[1] <= '9') {
            long n = strtol(p + 1, NULL, 10);
            return n < l->nstories ? &l->stories[n] : NULL;
        }
    }
    return NULL;
}

static story_t *story_of_underretning(load_t *l, const char *underretning_id)
{
    for (int i = 0; i < l->nstories; i++) {
        if (strcmp(l->stories[i].underretning_id, underretning_id) == 0)
            return &l->stories[i];
    }
    return NULL;
}

static const char *text(const json_t *payload, const char *field)
{
    const char *v = json_string_value(json_object_get(payload, field));
    return v ? v : "";
}

/* The problems of a refusal, "code: problem; ...". */
static void problems(const json_t *payload, char *buf, size_t len)
{
    size_t i, n = 0;
    json_t *p;
    buf[0] = '\0';
    json_array_foreach(json_object_get(payload, "problems"), i, p)
    {
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s: %s", i ? "; " : "", text(p, "code"),
                              text(p, "problem"));
        if (n >= len)
            break;
    }
}

static bool only_unknown_decision(const json_t *payload)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(payload, "problems"), i, p)
    {
        if (strcmp(text(p, "code"), "unknown_decision") != 0)
            return false;
    }
    return json_array_size(json_object_get(payload, "problems")) > 0;
}

/* What the case system and the suppliers do when an answer comes. Redeliveries come too: each
 * step acts only on the answer it waits for. */
static void answer(load_t *l, const char *subject, const json_t *payload)
{
    char why[400];
    story_t *s;
    if (strcmp(subject, "intake.underretning.registered") == 0) {
        if ((s = story_of(l, text(payload, "receivedEventId"))) && s->step == AWAIT_REGISTERED) {
            snprintf(s->underretning_id, sizeof s->underretning_id, "%s", text(payload, "underretningId"));
            snprintf(s->case_id, sizeof s->case_id, "%s", text(payload, "caseId"));
            if (s->late)
                s->step = AWAIT_OVERDUE;
            else
                triage(l, s);
        }
    } else if (strcmp(subject, "intake.triage.overdue") == 0) {
        if ((s = story_of_underretning(l, text(payload, "underretningId"))) && s->step == AWAIT_OVERDUE)
            triage(l, s);
    } else if (strcmp(subject, "assessment.decision.registered") == 0) {
        if ((s = story_of(l, text(payload, "decisionId"))) && s->step == AWAIT_DECISION)
            request_order(l, s);
    } else if (strncmp(subject, "ordering.order.placed.", 22) == 0) {
        if ((s = story_of(l, text(payload, "orderId"))) && s->step == AWAIT_PLACED)
            accept_order(l, s);
    } else if (strncmp(subject, "docs.submission.accepted.", 25) == 0) {
        const char *id = text(payload, "submittedEventId");
        if ((s = story_of(l, id)) && s->step == AWAIT_DOCUMENTED) {
            s->documented |= strstr(id, "-note-1") ? 1u : strstr(id, "-note-2") ? 2u : strstr(id, "-report") ? 4u : 0u;
            if (s->documented == DOCUMENTED_ALL) {
                s->step = DONE;
                l->finished++;
            }
        }
    } else if (strcmp(subject, "ordering.order.refused") == 0) {
        const char *refused = text(payload, "requestedEventId");
        char current[48];
        if (!(s = story_of(l, refused)) || s->step != AWAIT_PLACED)
            return;
        snprintf(current, sizeof current, "c%d-request-%d", s->n, s->requests);
        if (strcmp(refused, current) != 0)
            return; /* an earlier request's refusal, delivered again */
        if (only_unknown_decision(payload)) {
            s->step = AWAIT_REQUEST_AGAIN;
            s->request_again_at = uv_now(&l->loop) + REQUEST_RETRY_MS;
            l->requests_again++;
        } else {
            problems(payload, why, sizeof why);
            fail(s, "ordering refused %s: %s", refused, why);
        }
    } else if (strcmp(subject, "intake.underretning.refused") == 0 || strcmp(subject, "intake.triage.refused") == 0 ||
               strcmp(subject, "assessment.event.refused") == 0 || strncmp(subject, "docs.submission.rejected.", 25) == 0) {
        const char *refused = text(payload, "receivedEventId");
        if (!refused[0])
            refused = text(payload, "completedEventId");
        if (!refused[0])
            refused = text(payload, "refusedEventId");
        if (!refused[0])
            refused = text(payload, "submittedEventId");
        if ((s = story_of(l, refused))) {
            problems(payload, why, sizeof why);
            fail(s, "%s %s: %s", subject, refused, why);
        }
    }
}

static void delivery_cb(tr_bclient_t *c, const char *subscription, const Trivsel__Envelope *ev, uint32_t attempt,
                        void *arg)
{
    party_t *p = arg;
    const tr_event_type_t *et = tr_catalogue_by_type(ev->type);
    ProtobufCMessage *msg = et ? protobuf_c_message_unpack(et->descriptor, NULL, ev->payload.len, ev->payload.data)
                               : NULL;
    json_t *payload = msg ? tr_pbjson_to_value(msg) : NULL;
    (void)attempt;
    if (payload)
        answer(p->load, ev->subject, payload);
    json_decref(payload);
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    tr_bclient_ack(c, subscription, ev->position);
}

static void error_cb(tr_bclient_t *c, const Trivsel__Broker__Error *e, void *arg)
{
    party_t *p = arg;
    (void)c;
    /* Seen while the broker restarts (a key refused before it has loaded the principals);
     * the session comes back by itself. */
    fprintf(stderr, "chaos_load: %s: broker error: %s\n", p->name, e->reason);
}

/* ---- the clock --------------------------------------------------------------------------------- */

static void progress(load_t *l, const char *when)
{
    int waiting[FAILED + 1] = {0};
    for (int i = 0; i < l->nstories; i++)
        waiting[l->stories[i].step]++;
    printf("%s %llus: stories %d, finished %d, failed %d; waiting for: registered %d, overdue %d, decision %d, "
           "placed %d, documentation %d\n",
           when, (unsigned long long)((uv_now(&l->loop) - l->started_ms) / 1000), l->nstories, l->finished,
           waiting[FAILED], waiting[AWAIT_REGISTERED], waiting[AWAIT_OVERDUE],
           waiting[AWAIT_TRIAGE_ACK] + waiting[AWAIT_DECISION],
           waiting[AWAIT_PLACED] + waiting[AWAIT_REQUEST_AGAIN] + waiting[AWAIT_ACCEPTED_ACK],
           waiting[AWAIT_DOCUMENTED]);
    fflush(stdout);
}

static void tick_cb(uv_timer_t *t)
{
    load_t *l = t->data;
    uint64_t now = uv_now(&l->loop);
    bool launching = now - l->started_ms < l->launch_ms;
    while (launching && now >= l->next_story_ms && l->nstories < l->max_stories) {
        start_story(l);
        l->next_story_ms += l->every_ms;
    }
    int open = 0;
    l->failed = 0;
    for (int i = 0; i < l->nstories; i++) {
        story_t *s = &l->stories[i];
        if (s->step == AWAIT_REQUEST_AGAIN && now >= s->request_again_at)
            request_order(l, s);
        open += s->step != DONE && s->step != FAILED;
        l->failed += s->step == FAILED;
    }
    if (now >= l->next_progress_ms) {
        progress(l, "#");
        l->next_progress_ms += PROGRESS_MS;
    }
    bool out_of_time = now - l->started_ms >= l->launch_ms + l->finish_ms;
    if ((!launching && open == 0) || out_of_time) {
        l->exit_code = open == 0 && l->failed == 0 ? 0 : 1;
        uv_stop(&l->loop);
    }
}

/* ---- start and end ----------------------------------------------------------------------------- */

static const char *lookup_key_file(const char *name, void *arg)
{
    return strcmp(name, "TRIVSEL_CLIENT_KEY_FILE") == 0 ? arg : tr_config_getenv(name, NULL);
}

static const tr_config_var_t vars[] = {
    {"TRIVSEL_BROKER_ADDRESS", TR_CONFIG_STRING, "tcp://127.0.0.1:7400", NULL, "the broker's address"},
    {"TRIVSEL_BROKER_PUBLIC_KEY_FILE", TR_CONFIG_FILE, NULL, NULL, "file holding the broker's public key"},
    {"TRIVSEL_CLIENT_KEY_FILE", TR_CONFIG_FILE, NULL, NULL, "file holding the principal's secret key"},
};

/* A broker session as party i, with the key in keys/NAME.key. */
static int connect_party(load_t *l, int i, const char *keys, tr_error_t *err)
{
    party_t *p = &l->parties[i];
    char path[4096], broker_key[64], client_key[64];
    tr_config_t *cfg = NULL;
    p->load = l;
    p->name = party_names[i];
    p->cvr = party_cvrs[i];
    snprintf(path, sizeof path, "%s/%s.key", keys, p->name);
    int rc = tr_config_load(vars, sizeof vars / sizeof vars[0], lookup_key_file, path, &cfg, err);
    if (rc == 0)
        rc = tr_config_read_file(cfg, "TRIVSEL_BROKER_PUBLIC_KEY_FILE", broker_key, sizeof broker_key, err);
    if (rc == 0)
        rc = tr_config_read_file(cfg, "TRIVSEL_CLIENT_KEY_FILE", client_key, sizeof client_key, err);
    if (rc == 0) {
        tr_bclient_options_t o = {.endpoint = tr_config_string(cfg, "TRIVSEL_BROKER_ADDRESS"),
                                  .server_public_key = broker_key,
                                  .secret_key = client_key,
                                  .client_name = "chaos_load",
                                  .retry_ms = 1000};
        rc = tr_bclient_new(&l->loop, &o, &p->client, err);
    }
    tr_config_destroy(&cfg);
    if (rc < 0)
        return rc;
    tr_bclient_on_error(p->client, error_cb, p);
    /* Durable subscriptions: after a broker restart they go on where they were acknowledged. */
    if (!p->cvr) {
        tr_bclient_subscribe(p->client, "chaos.intake", "intake.>", 64, 10000,
                             TRIVSEL__BROKER__START_AT__START_AT_BEGINNING, delivery_cb, p);
        tr_bclient_subscribe(p->client, "chaos.assessment", "assessment.>", 64, 10000,
                             TRIVSEL__BROKER__START_AT__START_AT_BEGINNING, delivery_cb, p);
        tr_bclient_subscribe(p->client, "chaos.refusals", "ordering.order.refused", 64, 10000,
                             TRIVSEL__BROKER__START_AT__START_AT_BEGINNING, delivery_cb, p);
    } else {
        char orders[64], docs[64];
        snprintf(orders, sizeof orders, "ordering.order.*.%s", p->cvr);
        snprintf(docs, sizeof docs, "docs.*.*.%s", p->cvr);
        tr_bclient_subscribe(p->client, "chaos.orders", orders, 64, 10000,
                             TRIVSEL__BROKER__START_AT__START_AT_BEGINNING, delivery_cb, p);
        tr_bclient_subscribe(p->client, "chaos.docs", docs, 64, 10000,
                             TRIVSEL__BROKER__START_AT__START_AT_BEGINNING, delivery_cb, p);
    }
    return 0;
}

static FILE *open_out(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "chaos_load: cannot write \"%s\"\n", path);
    return f;
}

static int usage(void)
{
    fprintf(stderr, "usage: chaos_load --keys DIR --out DIR [--seconds S] [--every MS] [--finish S]"
                    " [--municipality K] (see tests/tools/chaos_load.c)\n");
    return 2;
}

int main(int argc, char **argv)
{
    static load_t l;
    const char *keys = NULL, *out = NULL;
    long seconds = 60, every = 700, finish = 300;
    l.municipality = "575";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        if (strcmp(a, "--keys") == 0) keys = v;
        else if (strcmp(a, "--out") == 0) out = v;
        else if (strcmp(a, "--seconds") == 0) seconds = atol(v);
        else if (strcmp(a, "--every") == 0) every = atol(v);
        else if (strcmp(a, "--finish") == 0) finish = atol(v);
        else if (strcmp(a, "--municipality") == 0) l.municipality = v;
        else return usage();
        i++;
    }
    if (!keys || !out || seconds <= 0 || every <= 0 || finish < 0)
        return usage();
    l.launch_ms = (uint64_t)seconds * 1000;
    l.every_ms = (uint64_t)every;
    l.finish_ms = (uint64_t)finish * 1000;
    l.max_stories = (int)(l.launch_ms / l.every_ms) + 1;
    if (l.max_stories > 2688) {
        fprintf(stderr, "chaos_load: %d stories: at most 2,688 children have CPR numbers here\n", l.max_stories);
        return 2;
    }
    l.stories = calloc((size_t)l.max_stories, sizeof *l.stories);
    l.acked = open_out(out, "acked.tsv");
    l.orders = open_out(out, "orders.tsv");
    l.late = open_out(out, "late.tsv");
    if (!l.stories || !l.acked || !l.orders || !l.late)
        return 2;
    /* The month to settle: the last one that has ended, in Danish time. */
    l.today = tr_calendar_local_date(time(NULL));
    l.month_first = tr_calendar_add_months((tr_date_t){l.today.year, l.today.month, 1}, -1);
    l.month_last = tr_calendar_add_days(tr_calendar_add_months(l.month_first, 1), -1);
    FILE *month = open_out(out, "month");
    if (!month)
        return 2;
    fprintf(month, "%04d-%02d\n", l.month_first.year, l.month_first.month);
    fclose(month);

    uv_loop_init(&l.loop);
    tr_error_t err = {0};
    for (int i = 0; i < 3; i++) {
        if (connect_party(&l, i, keys, &err) < 0) {
            fprintf(stderr, "chaos_load: %s: %s\n", party_names[i], err.message);
            return 2;
        }
    }
    uv_timer_init(&l.loop, &l.tick);
    l.tick.data = &l;
    l.started_ms = l.next_story_ms = uv_now(&l.loop);
    l.next_progress_ms = l.started_ms + PROGRESS_MS;
    uv_timer_start(&l.tick, tick_cb, 0, TICK_MS);
    uv_run(&l.loop, UV_RUN_DEFAULT);

    progress(&l, "end");
    printf("stories %d finished %d failed %d unfinished %d; publishes acknowledged %ld (%ld of them as"
           " duplicates of a retry), orders asked again for an unknown decision %ld\n",
           l.nstories, l.finished, l.failed, l.nstories - l.finished - l.failed, l.publishes, l.duplicates,
           l.requests_again);
    int named = 0;
    for (int i = 0; i < l.nstories && named < 30; i++) {
        story_t *s = &l.stories[i];
        if (s->step == FAILED)
            printf("story c%d failed: %s\n", s->n, s->failure), named++;
        else if (s->step != DONE)
            printf("story c%d unfinished: waiting for %s\n", s->n, step_names[s->step]), named++;
    }
    for (int i = 0; i < 3; i++)
        tr_bclient_close(l.parties[i].client, NULL, NULL);
    uv_close((uv_handle_t *)&l.tick, NULL);
    uv_run(&l.loop, UV_RUN_DEFAULT);
    uv_loop_close(&l.loop);
    fclose(l.acked);
    fclose(l.orders);
    fclose(l.late);
    free(l.stories);
    return l.exit_code;
}
