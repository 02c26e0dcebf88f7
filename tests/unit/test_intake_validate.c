/* test_intake_validate.c — the checks on an incoming underretning and triage
 * (services/intake/validate.c): every problem is named, with the field, the code a program acts
 * on and the message a person reads. Compiled in here like test_intake_dates.c. */
#include "../../services/intake/dates.c"
#include "../../services/intake/validate.c"

#include "check.h"

#define NOW_US (INT64_C(1711011600) * INTAKE_US_PER_SECOND) /* 2024-03-21T09:00:00Z */

static const intake_validate_options_t options = {.now_us = NOW_US,
                                                  .clock_skew_us = 300 * INTAKE_US_PER_SECOND,
                                                  .municipalities = ""};

/* A complete, valid underretning; the tests break one thing at a time. */
typedef struct sample {
    Trivsel__Intake__UnderretningReceived u;
    Trivsel__Child child;
    Trivsel__Reporter reporter;
    Trivsel__Contact contact;
    Google__Protobuf__Timestamp received_at;
} sample_t;

static void sample_init(sample_t *s)
{
    trivsel__intake__underretning_received__init(&s->u);
    trivsel__child__init(&s->child);
    trivsel__reporter__init(&s->reporter);
    trivsel__contact__init(&s->contact);
    google__protobuf__timestamp__init(&s->received_at);
    s->child.cpr = "1505164234"; /* born 15 May 2016 */
    s->child.name = "Emil Hansen";
    s->reporter.kind = TRIVSEL__REPORTER_KIND__REPORTER_KIND_PUBLIC_EMPLOYEE;
    s->reporter.name = "Mette Skov";
    s->reporter.organisation = "Vejen Skole";
    s->contact.email = "mette@skole.example";
    s->reporter.contact = &s->contact;
    s->received_at.seconds = 1711011600 - 3600;
    s->u.child = &s->child;
    s->u.reporter = &s->reporter;
    s->u.received_at = &s->received_at;
    s->u.channel = TRIVSEL__INTAKE__CHANNEL__CHANNEL_DIGITAL_FORM;
    s->u.concern = "Emil kommer ofte uden madpakke og virker træt.";
}

/* The codes of the problems, joined by spaces. */
static const char *codes(const intake_problems_t *p)
{
    static char buf[1024];
    buf[0] = '\0';
    for (size_t i = 0; i < p->n; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s:%s", i ? " " : "",
                 p->items[i]->field, p->items[i]->code);
    return buf;
}

static void test_valid_underretning(void)
{
    sample_t s;
    sample_init(&s);
    intake_problems_t p = {0};
    intake_child_key_t key;
    intake_validate_underretning(&s.u, "575", &options, &p, &key);
    CHECK_STR_EQ(codes(&p), "");
    CHECK_STR_EQ(key.cpr, "1505164234");
    CHECK_STR_EQ(key.name_key, "emil hansen");
    CHECK_INT_EQ(key.birth_date.year, 2016);
    intake_problems_release(&p);
    /* A CPR number with a dash is the same child. */
    s.child.cpr = "150516-4234";
    intake_validate_underretning(&s.u, "575", &options, &p, &key);
    CHECK_STR_EQ(codes(&p), "");
    CHECK_STR_EQ(key.cpr, "1505164234");
    intake_problems_release(&p);
}

static void test_every_problem_is_named(void)
{
    sample_t s;
    sample_init(&s);
    s.child.cpr = "15051642345";
    s.reporter.kind = 0;
    s.received_at.seconds = 1711011600 + 3600; /* an hour ahead */
    s.u.channel = 0;
    s.u.concern = "   ";
    s.u.reporter_score_present_case =
        TRIVSEL__INTAKE__UNDERRETNING_RECEIVED__REPORTER_SCORE_PRESENT_REPORTER_SCORE;
    s.u.reporter_score = 11;
    intake_problems_t p = {0};
    intake_validate_underretning(&s.u, "57", &options, &p, NULL);
    CHECK_STR_EQ(
        codes(&p),
        ":invalid_municipality received_at:received_at_in_future child.cpr:invalid_cpr "
        "reporter.kind:missing_reporter_kind channel:missing_channel concern:missing_concern "
        "reporter_score:invalid_score");
    if (p.n >= 3) {
        CHECK_STR_EQ(p.items[0]->problem,
                     "municipality \"57\" is not a kommunekode: must be 3 digits, e.g. 630");
        CHECK_STR_EQ(p.items[1]->problem,
                     "the time of receipt 2024-03-21 11:00 (CET) is in the future (3600 "
                     "seconds ahead; 300 allowed for clock skew)");
        CHECK_STR_CONTAINS(p.items[2]->problem, "invalid CPR number \"15051642345\"");
    }
    intake_problems_release(&p);
}

static void test_child_without_cpr(void)
{
    sample_t s;
    sample_init(&s);
    s.child.cpr = "";
    s.child.name = "  ";
    intake_problems_t p = {0};
    intake_validate_underretning(&s.u, "575", &options, &p, NULL);
    CHECK_STR_EQ(codes(&p), "child.name:missing_child_name child.birth_date:missing_birth_date");
    intake_problems_release(&p);

    s.child.name = "  ÆBLE   Østergård ";
    s.child.birth_date = "2016-02-30";
    intake_validate_underretning(&s.u, "575", &options, &p, NULL);
    CHECK_STR_EQ(codes(&p), "child.birth_date:invalid_birth_date");
    intake_problems_release(&p);

    intake_child_key_t key;
    s.child.birth_date = "2016-02-29";
    intake_validate_underretning(&s.u, "575", &options, &p, &key);
    CHECK_STR_EQ(codes(&p), "");
    CHECK_STR_EQ(key.cpr, "");
    CHECK_STR_EQ(key.name_key, "æble østergård");
    CHECK_INT_EQ(key.birth_date.day, 29);
    intake_problems_release(&p);
}

static void test_child_age_and_birth_date(void)
{
    sample_t s;
    sample_init(&s);
    s.child.cpr = "0101901234"; /* 34 years old: a parent's number by mistake */
    intake_problems_t p = {0};
    intake_validate_underretning(&s.u, "575", &options, &p, NULL);
    CHECK_STR_EQ(codes(&p), "child.cpr:not_a_child");
    if (p.n == 1)
        CHECK_STR_EQ(p.items[0]->problem,
                     "the person is 34 years old on the day of receipt: an underretning "
                     "concerns a child under 18");
    intake_problems_release(&p);

    s.child.cpr = "1505164234";
    s.child.birth_date = "2016-05-16";
    intake_validate_underretning(&s.u, "575", &options, &p, NULL);
    CHECK_STR_EQ(codes(&p), "child.birth_date:cpr_birth_date_mismatch");
    intake_problems_release(&p);
}

static void test_reporter(void)
{
    sample_t s;
    sample_init(&s);
    s.reporter.kind = TRIVSEL__REPORTER_KIND__REPORTER_KIND_ANONYMOUS;
    intake_problems_t p = {0};
    intake_validate_underretning(&s.u, "575", &options, &p, NULL);
    CHECK_STR_EQ(codes(&p), "reporter:anonymous_reporter_identified");
    intake_problems_release(&p);

    s.reporter.name = "";
    s.reporter.organisation = "";
    s.reporter.contact = NULL;
    intake_validate_underretning(&s.u, "575", &options, &p, NULL);
    CHECK_STR_EQ(codes(&p), "");
    intake_problems_release(&p);

    s.reporter.kind = TRIVSEL__REPORTER_KIND__REPORTER_KIND_PRIVATE_CITIZEN;
    intake_validate_underretning(&s.u, "575", &options, &p, NULL);
    CHECK_STR_EQ(codes(&p),
                 "reporter.name:missing_reporter_name reporter.contact:missing_reporter_contact");
    intake_problems_release(&p);

    s.reporter.kind = 9;
    intake_validate_underretning(&s.u, "575", &options, &p, NULL);
    CHECK_STR_EQ(codes(&p), "reporter.kind:invalid_reporter_kind");
    intake_problems_release(&p);
    s.u.reporter = NULL;
    intake_validate_underretning(&s.u, "575", &options, &p, NULL);
    CHECK_STR_EQ(codes(&p), "reporter:missing_reporter");
    intake_problems_release(&p);
}

static void test_texts_and_flags(void)
{
    sample_t s;
    sample_init(&s);
    static char concern[INTAKE_MAX_CONCERN + 2];
    memset(concern, 'x', INTAKE_MAX_CONCERN + 1);
    s.u.concern = concern;
    s.u.team = "Modtage\xff";
    s.u.parents_suspected = true;
    Trivsel__Intake__Signal sig = TRIVSEL__INTAKE__SIGNAL__INIT;
    Trivsel__Intake__Signal *sigs[1] = {&sig};
    s.u.signals = sigs;
    s.u.n_signals = 1;
    intake_problems_t p = {0};
    intake_validate_underretning(&s.u, "575", &options, &p, NULL);
    CHECK_STR_EQ(codes(&p), "concern:text_too_long signals[0].category:invalid_signal_category "
                            "signals[0].description:missing_signal_description "
                            "parents_suspected:inconsistent_abuse_flags team:invalid_text");
    if (p.n >= 1)
        CHECK_STR_EQ(p.items[0]->problem,
                     "concern is 20001 characters long: at most 20000 are allowed");
    intake_problems_release(&p);
    /* Danish letters are one character each. */
    CHECK(intake_text_ok("æøå", 3));
    CHECK(!intake_text_ok("æøå", 2));
    CHECK(!intake_text_ok("\xc3\x28", 10));
    CHECK(!intake_text_ok("\xed\xa0\x80", 10)); /* a surrogate */
}

static void test_municipality_list(void)
{
    sample_t s;
    sample_init(&s);
    intake_validate_options_t o = options;
    o.municipalities = "630,575";
    intake_problems_t p = {0};
    intake_validate_underretning(&s.u, "575", &o, &p, NULL);
    CHECK_STR_EQ(codes(&p), "");
    intake_problems_release(&p);
    intake_validate_underretning(&s.u, "101", &o, &p, NULL);
    CHECK_STR_EQ(codes(&p), ":unknown_municipality");
    intake_problems_release(&p);
}

typedef struct triage_sample {
    Trivsel__Intake__TriageCompleted t;
    Trivsel__Employee by;
    Google__Protobuf__Timestamp at;
} triage_sample_t;

static void triage_init(triage_sample_t *s)
{
    trivsel__intake__triage_completed__init(&s->t);
    trivsel__employee__init(&s->by);
    google__protobuf__timestamp__init(&s->at);
    s->by.id = "ABJ";
    s->at.seconds = 1711011600 - 60;
    s->t.underretning_id = "6f1c1a52-1e0b-4c1e-9d7e-0d9a3b1e2f10";
    s->t.child_in_danger_present_case =
        TRIVSEL__INTAKE__TRIAGE_COMPLETED__CHILD_IN_DANGER_PRESENT_CHILD_IN_DANGER;
    s->t.acute_measures_needed_present_case =
        TRIVSEL__INTAKE__TRIAGE_COMPLETED__ACUTE_MEASURES_NEEDED_PRESENT_ACUTE_MEASURES_NEEDED;
    s->t.outcome = TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE;
    s->t.triaged_by = &s->by;
    s->t.triaged_at = &s->at;
}

static void test_triage(void)
{
    triage_sample_t s;
    triage_init(&s);
    intake_triage_context_t ctx = {.known = true,
                                   .case_id = "c1",
                                   .received_us = NOW_US - 3600 * INTAKE_US_PER_SECOND};
    intake_problems_t p = {0};
    intake_validate_triage(&s.t, &ctx, &options, &p);
    CHECK_STR_EQ(codes(&p), "");
    intake_problems_release(&p);

    s.t.child_in_danger_present_case = 0;
    s.t.acute_measures_needed = true;
    s.t.outcome = TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_NO_FURTHER_ACTION;
    s.t.triaged_by = NULL;
    s.at.seconds = 1711011600 - 7200;
    ctx.already_triaged = true;
    intake_validate_triage(&s.t, &ctx, &options, &p);
    CHECK_STR_EQ(codes(&p),
                 "underretning_id:already_triaged child_in_danger:missing_child_in_danger "
                 "acute_measures:missing_acute_measures reasons:missing_reasons "
                 "triaged_by:missing_triaged_by triaged_at:triaged_before_received");
    intake_problems_release(&p);

    ctx.known = false;
    triage_init(&s);
    intake_validate_triage(&s.t, &ctx, &options, &p);
    CHECK_STR_EQ(codes(&p), "underretning_id:unknown_underretning");
    intake_problems_release(&p);
}

static void test_triage_abuse_case(void)
{
    triage_sample_t s;
    triage_init(&s);
    intake_triage_context_t ctx = {.known = true,
                                   .case_id = "c1",
                                   .abuse_case = true,
                                   .parents_suspected = true,
                                   .received_us = NOW_US - 3600 * INTAKE_US_PER_SECOND};
    s.t.outcome = TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_AFDAEKNING;
    intake_problems_t p = {0};
    intake_validate_triage(&s.t, &ctx, &options, &p);
    CHECK_STR_EQ(codes(&p), "boernesamtale_plan:missing_boernesamtale_plan "
                            "parents_not_told:parents_not_told_unconfirmed "
                            "outcome:investigation_required");
    intake_problems_release(&p);
    s.t.outcome = TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE;
    s.t.boernesamtale_plan = "Samtale i Børnehus Syd mandag kl. 10";
    s.t.parents_not_told = true;
    intake_validate_triage(&s.t, &ctx, &options, &p);
    CHECK_STR_EQ(codes(&p), "");
    intake_problems_release(&p);
    /* Abuse suspected, but not of the parents: still no parent is to be told (seed 004). */
    ctx.parents_suspected = false;
    s.t.parents_not_told = false;
    intake_validate_triage(&s.t, &ctx, &options, &p);
    CHECK_STR_EQ(codes(&p), "parents_not_told:parents_not_told_unconfirmed");
    if (p.n == 1)
        CHECK_STR_CONTAINS(p.items[0]->problem, "violence or sexual abuse is suspected");
    intake_problems_release(&p);
    /* Not an abuse case: neither is asked for. */
    ctx.abuse_case = false;
    s.t.boernesamtale_plan = "";
    intake_validate_triage(&s.t, &ctx, &options, &p);
    CHECK_STR_EQ(codes(&p), "");
    intake_problems_release(&p);
}

static void test_triage_genvurdering(void)
{
    triage_sample_t s;
    triage_init(&s);
    const char *earlier[] = {"KLM"};
    intake_triage_context_t ctx = {.known = true,
                                   .case_id = "c1",
                                   .genvurdering_required = true,
                                   .received_us = NOW_US - 3600 * INTAKE_US_PER_SECOND,
                                   .earlier_triagers = earlier,
                                   .n_earlier_triagers = 1};
    intake_problems_t p = {0};
    intake_validate_triage(&s.t, &ctx, &options, &p);
    CHECK_STR_EQ(codes(&p), "genvurdering_participant:missing_genvurdering_participant");
    intake_problems_release(&p);
    Trivsel__Employee g = TRIVSEL__EMPLOYEE__INIT;
    g.id = "KLM";
    s.t.genvurdering_participant = &g;
    intake_validate_triage(&s.t, &ctx, &options, &p);
    CHECK_STR_EQ(codes(&p), "genvurdering_participant.id:genvurdering_participant_not_new");
    intake_problems_release(&p);
    g.id = "ABJ"; /* the one triaging now */
    intake_validate_triage(&s.t, &ctx, &options, &p);
    CHECK_STR_EQ(codes(&p), "genvurdering_participant.id:genvurdering_participant_not_new");
    intake_problems_release(&p);
    g.id = "PQR";
    intake_validate_triage(&s.t, &ctx, &options, &p);
    CHECK_STR_EQ(codes(&p), "");
    intake_problems_release(&p);
}

int main(void)
{
    CHECK_RUN(test_valid_underretning);
    CHECK_RUN(test_every_problem_is_named);
    CHECK_RUN(test_child_without_cpr);
    CHECK_RUN(test_child_age_and_birth_date);
    CHECK_RUN(test_reporter);
    CHECK_RUN(test_texts_and_flags);
    CHECK_RUN(test_municipality_list);
    CHECK_RUN(test_triage);
    CHECK_RUN(test_triage_abuse_case);
    CHECK_RUN(test_triage_genvurdering);
    return check_done();
}
