/* demo_stories.c — the two stories `trivselctl demo` plays through the running daemons, in
 * Vejen Kommune, told with the driver of demo.h. The people, the school and the doctor are
 * made up; the supplier and its offers are seed 000's (deploy/catalogue.json).
 *
 *   1. A school reports a 9-year-old who is often absent and withdraws from the others. The
 *      kvittering is requested, the triage comes within the 24 hours, a børnefaglig
 *      undersøgelse scores the six areas and holds a børnesamtale, a decision grants family
 *      treatment (Barnets Lov §32 stk. 1 nr. 5), and the case system orders it from
 *      Vejledernet ApS: refused at first by LEON (a cheaper offer covers it), placed with the
 *      caseworker's reason. The supplier accepts, writes diary notes and a status report, and
 *      the month is settled.
 *   2. A doctor reports suspected violence by a parent: an abuse case. The investigation opens
 *      at once (mandatory), the triage confirms the parents were not told, the investigation
 *      cannot conclude without a børnesamtale, and one with a parent present is refused; the
 *      one held at the Børnehus without the parents is recorded.
 *
 * Every run has new children (new CPR numbers), new ids and new events. Times are now, except
 * where a story says otherwise. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "cpr.h"
#include "ctl.h"
#include "demo.h"
#include "money.h"
#include "trivselslineal.h"

#define FAMILIEBEHANDLING DEMO_SUPPLIER_CVR "-familiebehandling"
#define MINUTES_PER_WEEK 240

/* ---- helpers ------------------------------------------------------------------------------ */

/* An event's JSON from a template; NULL (printed) when it does not parse. */
static json_t *event_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *event_json(const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof text) {
        fprintf(stderr, "trivselctl demo: an event of the story is too long\n");
        return NULL;
    }
    json_error_t err;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!v)
        fprintf(stderr, "trivselctl demo: an event of the story is not JSON: %s\n", err.text);
    return v;
}

/* RFC 3339 UTC, as the events carry instants. */
static const char *iso(int64_t t, char buf[32])
{
    time_t s = (time_t)t;
    struct tm tm;
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&s, &tm));
    return buf;
}

/* Danish time for people. */
static const char *local(int64_t t, char buf[32])
{
    tr_calendar_format_local(t, buf, 32);
    return buf;
}

static const char *local_of(const char *rfc3339, char buf[32])
{
    struct tm tm = {0};
    if (!strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm))
        return rfc3339;
    return local((int64_t)timegm(&tm), buf);
}

static const char *date_text(tr_date_t d, char buf[TR_CALENDAR_DATE_LEN])
{
    tr_calendar_format_date(d, buf);
    return buf;
}

static tr_date_t min_date(tr_date_t a, tr_date_t b)
{
    return tr_calendar_compare(a, b) <= 0 ? a : b;
}

static const char *kroner(const char *oere, char buf[TR_MONEY_FORMAT_MAX])
{
    tr_money_format(strtoll(oere, NULL, 10), buf, TR_MONEY_FORMAT_MAX);
    return buf;
}

/* A CPR number of a child of this age today, that no case in the system has yet. */
static int new_child(demo_t *d, int age, char cpr[11], char birth_date[TR_CALENDAR_DATE_LEN])
{
    tr_date_t today = tr_calendar_local_date((int64_t)time(NULL));
    for (int attempt = 0; attempt < 20; attempt++) {
        uint16_t r[2];
        if (demo_random(r, sizeof r) < 0)
            return -1;
        /* Born within the year that ended on the age-th birthday. */
        tr_date_t born = tr_calendar_add_days(tr_calendar_add_months(today, -12 * age),
                                              -(int64_t)(r[0] % 360));
        /* 7th digit 4: born 2000-2036 (cpr.h). */
        char text[16];
        snprintf(text, sizeof text, "%02d%02d%02d4%03u", born.day % 100, born.month % 100,
                 born.year % 100, (unsigned)(r[1] % 1000));
        tr_cpr_t parsed;
        if (tr_cpr_parse(text, &parsed, NULL) < 0 ||
            tr_cpr_age_on(&parsed, today.year, today.month, today.day) != age)
            continue;
        const char *v[1] = {text};
        PGresult *res = demo_query(d,
                                   "SELECT NOT EXISTS (SELECT FROM intake.sag WHERE cpr = $1)"
                                   " AND NOT EXISTS (SELECT FROM assessment.sag WHERE cpr = $1)",
                                   1, v);
        if (!res)
            return -1;
        bool fresh = ctl_colb(res, 0, 0);
        PQclear(res);
        if (fresh) {
            memcpy(cpr, text, 11);
            date_text(born, birth_date);
            return 0;
        }
    }
    demo_fail(d, "no free CPR number for a new child");
    return -1;
}

/* Publishes ev on subject as the case system, expecting trivsel to refuse it on
 * refusal_subject for the problem code: prints the refusal's headline and every problem it
 * names. A refusal that does not name code is not the one the story shows: it fails. */
static int refused(demo_t *d, const char *subject, const char *case_id, json_t *ev,
                   const char *what, const char *refusal_subject, const char *code,
                   const char *headline)
{
    const char *id = demo_publish(d, DEMO_CASE_SYSTEM, subject, case_id, 0, ev, what);
    const json_t *refusal = id ? demo_expect(d, refusal_subject, "refusedEventId", id) : NULL;
    if (!refusal)
        return -1;
    size_t i;
    json_t *p;
    bool named = false;
    char codes[512] = "";
    json_array_foreach(json_object_get(refusal, "problems"), i, p)
    {
        named = named || strcmp(demo_str(p, "code"), code) == 0;
        size_t len = strlen(codes);
        snprintf(codes + len, sizeof codes - len, "%s%s", len ? ", " : "", demo_str(p, "code"));
    }
    if (!named) {
        demo_fail(d, "trivsel refused %s, but not for %s: it named %s", subject, code,
                  codes[0] ? codes : "no problem");
        return -1;
    }
    demo_answer(d, refusal_subject, "%s", headline);
    json_array_foreach(json_object_get(refusal, "problems"), i, p)
        demo_say(d, "  - %s (%s)", demo_str(p, "problem"), demo_str(p, "code"));
    return 0;
}

/* The common parts of a story's underretning. */
typedef struct report {
    const char *child_name;
    int age;
    char cpr[11];
    char birth_date[TR_CALENDAR_DATE_LEN];
    char case_id[64];
    char underretning_id[64];
    char investigation_id[64];
} report_t;

/* Publishes the underretning (fields: the reporter's part of UnderretningReceived) and awaits
 * its registration and kvittering; fills r's ids. */
static int report(demo_t *d, report_t *r, int64_t received, const char *fields, const char *what)
{
    char at[32], when[32], shown[16], shown_case[16];
    json_t *ev =
        event_json("{\"child\": {\"cpr\": \"%s\", \"name\": \"%s\", \"birthDate\": \"%s\"},"
                   " \"receivedAt\": \"%s\", \"team\": \"Modtageteamet\", %s}",
                   r->cpr, r->child_name, r->birth_date, iso(received, at), fields);
    const char *id = demo_publish(d, DEMO_REPORT_FORM, "intake.underretning.received", "", received,
                                  ev, what);
    if (!id)
        return -1;
    const json_t *reg = demo_expect(d, "intake.underretning.registered", "receivedEventId", id);
    if (!reg)
        return -1;
    snprintf(r->case_id, sizeof r->case_id, "%s", demo_str(reg, "caseId"));
    snprintf(r->underretning_id, sizeof r->underretning_id, "%s", demo_str(reg, "underretningId"));
    json_int_t last_12 = json_integer_value(json_object_get(reg, "underretningerLast12Months"));
    demo_answer(d, "intake.underretning.registered",
                "underretning %s on %s case %s (%d underretning%s on %s in 12 months)%s",
                demo_short(r->underretning_id, shown), demo_bool(reg, "newCase") ? "a new" : "the",
                demo_short(r->case_id, shown_case), (int)last_12, last_12 == 1 ? "" : "er",
                r->child_name,
                demo_bool(reg, "abuseCase")
                    ? (demo_bool(reg, "parentsSuspected")
                           ? "; an abuse case, the parents suspected: nothing goes to them"
                           : "; an abuse case: nothing goes to the parents")
                    : "");
    demo_say(d,
             "  the triage by %s, 24 hours after receipt (Barnets Lov §136); the kvittering by %s "
             "(6 hverdage)",
             local_of(demo_str(reg, "triageDueAt"), when), demo_str(reg, "receiptDueDate"));
    const json_t *receipt = demo_expect(d, "intake.receipt.requested", "underretningId",
                                        r->underretning_id);
    if (!receipt)
        return -1;
    const json_t *reporter = json_object_get(receipt, "reporter");
    demo_answer(d, "intake.receipt.requested",
                "a kvittering to %s (%s) by %s, for the letter system", demo_str(reporter, "name"),
                demo_str(reporter, "organisation"), demo_str(receipt, "receiptDueDate"));
    return 0;
}

/* Awaits the investigation trivsel-assessment opens for r's underretning and intake's
 * orientation of the reporter; fills r->investigation_id. */
static int investigation_opened(demo_t *d, report_t *r)
{
    char aware[32], shown[16];
    const json_t *inv = demo_expect(d, "assessment.investigation.opened", "underretningId",
                                    r->underretning_id);
    if (!inv)
        return -1;
    snprintf(r->investigation_id, sizeof r->investigation_id, "%s",
             demo_str(inv, "investigationId"));
    demo_answer(d, "assessment.investigation.opened",
                "børnefaglig undersøgelse %s%s; aware %s, due %s (Barnets Lov §20 stk. 3: 4 "
                "months)",
                demo_short(r->investigation_id, shown),
                demo_bool(inv, "abuseCase") ? ", mandatory in an abuse case (§20 stk. 1)" : "",
                local_of(demo_str(inv, "awareAt"), aware), demo_str(inv, "dueDate"));
    const json_t *o = demo_expect(d, "intake.orientation.due", "underretningId",
                                  r->underretning_id);
    if (!o)
        return -1;
    demo_answer(d, "intake.orientation.due",
                "%s must be told that an investigation was opened, by %s",
                demo_str(json_object_get(o, "reporter"), "name"),
                demo_str(o, "orientationDueDate"));
    return 0;
}

/* ---- story 1: the school --------------------------------------------------------------- */

static const struct {
    int area; /* trivsel.LifeArea */
    int score;
    const char *observations, *risk, *protective;
} scores[] = {
    {1, 4, "Trækker sig i frikvartererne, græder let", "Isolation fra klassen",
     "Glad for at tegne"},
    {2, 6, "Mor er alene med tre børn og arbejder om aftenen", "Travl hverdag uden faste rutiner",
     "Nære bånd til mormor"},
    {3, 3, "14 fraværsdage siden sommerferien; klager over ondt i maven om morgenen", "Højt fravær",
     "En lærer han stoler på"},
    {4, 6, "Sover dårligt ifølge mor", "Søvnbesvær", "Går til lægen ved behov"},
    {5, 4, "Går ikke til fritidsaktiviteter mere", "Ingen venner uden for skolen",
     "Har tidligere spillet fodbold"},
    {6, 7, "Ingen", "", "Stabil bolig"},
};

int demo_story_school(demo_t *d)
{
    report_t r = {.child_name = "Emil Kjær Madsen", .age = 9};
    char at[32], at2[32], text[1024];
    int64_t now = (int64_t)time(NULL);
    int64_t received = now - (2 * 60 + 15) * 60; /* 2 h 15 m ago */
    if (new_child(d, r.age, r.cpr, r.birth_date) < 0)
        return -1;
    demo_story(d, "Story 1: Vejen Skole worries about Emil, 9");

    demo_step(d, "Vejen Skole reports Emil: often absent, withdraws from the others "
                 "(trivselslineal 4)");
    if (report(
            d, &r, received,
            "\"reporter\": {\"kind\": \"REPORTER_KIND_PUBLIC_EMPLOYEE\", \"name\": \"Mette Skov\","
            " \"organisation\": \"Vejen Skole\", \"role\": \"klasselærer\","
            " \"contact\": {\"email\": \"mette.skov@vejenskole.example\"}},"
            " \"channel\": \"CHANNEL_DIGITAL_FORM\", \"concern\": \"Emil har haft 14 fraværsdage"
            " siden sommerferien. Han trækker sig fra de andre i frikvartererne og siger, at ingen"
            " vil lege med ham.\", \"signals\": [{\"category\": \"SIGNAL_CATEGORY_BEHAVIOURAL\","
            " \"description\": \"Hyppigt fravær\"}, {\"category\":"
            " \"SIGNAL_CATEGORY_PSYCHOLOGICAL\", \"description\": \"Trækker sig fra"
            " fællesskabet\"}], \"reporterScore\": 4, \"parentsInformed\": true",
            "the klasselærer's underretning through the digital form, received 2 h 15 m ago") < 0 ||
        demo_deadlines(d, r.case_id) < 0)
        return -1;

    demo_step(d, "The triage, 2 h 15 m after receipt: a børnefaglig undersøgelse");
    json_t *ev =
        event_json("{\"underretningId\": \"%s\", \"caseId\": \"%s\", \"childInDanger\": false,"
                   " \"acuteMeasuresNeeded\": false, \"outcome\": "
                   "\"TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE\","
                   " \"reasons\": \"Bekymrende fravær og isolation over flere måneder; ikke akut\","
                   " \"triagedBy\": {\"id\": \"ABJ\", \"name\": \"Anne Bjerg Jensen\", \"team\":"
                   " \"Modtageteamet\"}, \"triagedAt\": \"%s\"}",
                   r.underretning_id, r.case_id, iso(now, at));
    if (!demo_publish(d, DEMO_CASE_SYSTEM, "intake.triage.completed", r.case_id, 0, ev,
                      "Anne Bjerg Jensen (Modtageteamet): not in danger, no acute measures") ||
        investigation_opened(d, &r) < 0)
        return -1;
    const char *u[1] = {r.underretning_id};
    if (!demo_until(d, "trivsel-intake", "the triage",
                    "SELECT triaged_at IS NOT NULL AND NOT triage_late FROM intake.underretning"
                    " WHERE id = $1::uuid",
                    1, u))
        return -1;
    demo_recorded(d, "trivsel-intake recorded the triage, in time");
    if (demo_deadlines(d, r.case_id) < 0)
        return -1;

    demo_step(d, "The undersøgelse scores the six areas on the trivselslineal");
    char list[4096] = "";
    for (size_t i = 0; i < sizeof scores / sizeof scores[0]; i++) {
        const ProtobufCEnumValue *area =
            protobuf_c_enum_descriptor_get_value(&trivsel__life_area__descriptor, scores[i].area);
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len,
                 "%s{\"area\": \"%s\", \"score\": %d, \"observations\": \"%s\", \"riskFactors\":"
                 " [%s%s%s], \"protectiveFactors\": [\"%s\"]}",
                 i ? ", " : "", area->name, scores[i].score, scores[i].observations,
                 scores[i].risk[0] ? "\"" : "", scores[i].risk, scores[i].risk[0] ? "\"" : "",
                 scores[i].protective);
    }
    ev = event_json("{\"caseId\": \"%s\", \"investigationId\": \"%s\", \"assessedAt\": \"%s\","
                    " \"assessedBy\": {\"id\": \"ABJ\", \"name\": \"Anne Bjerg Jensen\"},"
                    " \"scores\": [%s]}",
                    r.case_id, r.investigation_id, iso(now, at), list);
    const char *id = demo_publish(d, DEMO_CASE_SYSTEM, "assessment.score.recorded", r.case_id, 0,
                                  ev, "six areas, with observations, risk and protective factors");
    const char *e[1] = {id};
    if (!id || !demo_until(d, "trivsel-assessment", "the scores",
                           "SELECT count(*) = 6 FROM assessment.score WHERE event_id = $1", 1, e))
        return -1;
    for (size_t i = 0; i < sizeof scores / sizeof scores[0]; i++)
        demo_recorded(d, "%-30s %2d  %s, %s prevention",
                      tr_trivselslineal_area_name(scores[i].area), scores[i].score,
                      tr_trivselslineal_level_name(scores[i].score),
                      tr_trivselslineal_prevention_name(scores[i].score));

    demo_step(d, "The børnesamtale: Emil's own view (Barnets Lov §5 stk. 3)");
    ev = event_json(
        "{\"caseId\": \"%s\", \"investigationId\": \"%s\", \"held\": {\"heldAt\": \"%s\","
        " \"heldBy\": [{\"id\": \"ABJ\", \"name\": \"Anne Bjerg Jensen\"}], \"parentsPresent\": "
        "false,"
        " \"childView\": \"Jeg gider ikke frikvarter, for ingen vil lege med mig. Om morgenen har"
        " jeg ondt i maven.\"}, \"recordedBy\": {\"id\": \"ABJ\"}}",
        r.case_id, r.investigation_id, iso(now, at));
    id = demo_publish(d, DEMO_CASE_SYSTEM, "assessment.child_conversation.recorded", r.case_id, 0,
                      ev, "held at the school by Anne Bjerg Jensen");
    e[0] = id;
    if (!id ||
        !demo_until(d, "trivsel-assessment", "the børnesamtale",
                    "SELECT held FROM assessment.child_conversation WHERE event_id = $1", 1, e))
        return -1;
    demo_recorded(d, "trivsel-assessment recorded the børnesamtale with Emil's words");

    demo_step(d, "The undersøgelse concludes: Emil needs support");
    ev = event_json("{\"investigationId\": \"%s\", \"caseId\": \"%s\", \"concludedAt\": \"%s\","
                    " \"concludedBy\": {\"id\": \"ABJ\", \"name\": \"Anne Bjerg Jensen\"},"
                    " \"outcome\": \"CONCLUSION_SUPPORT_NEEDED\", \"conclusion\": \"Emils fravær og"
                    " isolation hænger sammen med en presset familie; familien har brug for"
                    " støtte til faste rutiner og til at få Emil tilbage i fællesskabet.\","
                    " \"siblingsConsidered\": true}",
                    r.investigation_id, r.case_id, iso(now, at));
    const char *i1[1] = {r.investigation_id};
    if (!demo_publish(d, DEMO_CASE_SYSTEM, "assessment.investigation.concluded", r.case_id, 0, ev,
                      "support needed; siblings considered (§21)") ||
        !demo_until(d, "trivsel-assessment", "the conclusion",
                    "SELECT concluded_at IS NOT NULL FROM assessment.investigation"
                    " WHERE investigation_id = $1::uuid",
                    1, i1))
        return -1;
    demo_recorded(d, "trivsel-assessment: concluded, the case is in phase \"sagen overvejes\"");
    if (demo_deadlines(d, r.case_id) < 0)
        return -1;

    /* The order starts on the first day of last month when that month is not settled, so that
     * a whole month can be settled at the end; a settled month is never computed again, so a
     * later run starts on the first day of this month. */
    tr_date_t today = tr_calendar_local_date(now);
    tr_date_t this_month = {today.year, today.month, 1};
    tr_date_t start = tr_calendar_add_months(this_month, -1), end;
    char month[8], start_text[TR_CALENDAR_DATE_LEN], end_text[TR_CALENDAR_DATE_LEN];
    snprintf(month, sizeof month, "%04d-%02d", start.year, start.month);
    const char *m[2] = {DEMO_MUNICIPALITY, month};
    PGresult *res = demo_query(d,
                               "SELECT EXISTS (SELECT FROM ordering.settlement WHERE municipality ="
                               " $1 AND month = $2)",
                               2, m);
    if (!res)
        return -1;
    bool settled_before = ctl_colb(res, 0, 0);
    PQclear(res);
    char settled_month[8];
    snprintf(settled_month, sizeof settled_month, "%s", month);
    if (settled_before) {
        start = this_month;
        snprintf(month, sizeof month, "%04d-%02d", start.year, start.month);
    }
    end = tr_calendar_add_days(tr_calendar_add_months(start, 6), -1);
    date_text(start, start_text);
    date_text(end, end_text);

    demo_step(d, "The decision: family treatment, Barnets Lov §32 stk. 1 nr. 5");
    char decision_id[32], order_id[32];
    demo_new_id("afg", decision_id, sizeof decision_id);
    demo_new_id("bestilling", order_id, sizeof order_id);
    if (settled_before)
        demo_say(d,
                 "(from %s: %s is settled already, and a settled month is "
                 "never computed again)",
                 start_text, settled_month);
    else
        demo_say(d,
                 "(from %s, dated back to the first day of last month so that a whole month "
                 "can be settled at the end)",
                 start_text);
    ev = event_json(
        "{\"decisionId\": \"%s\", \"caseId\": \"%s\", \"investigationId\": \"%s\","
        " \"kind\": \"DECISION_KIND_GRANT\", \"measures\": [{\"legalBasis\":"
        " \"LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5\", \"description\": \"Familiebehandling 4 timer"
        " om ugen\", \"purpose\": \"Faste rutiner i hjemmet, og at Emil kommer i skole og med i"
        " fællesskabet igen\", \"expectedDurationMonths\": 6, \"startDate\": \"%s\"}],"
        " \"reasons\": \"Undersøgelsen viser et behov for støtte til familien\","
        " \"decidedAt\": \"%s\", \"decidedBy\": {\"id\": \"ABJ\", \"name\": \"Anne Bjerg Jensen\","
        " \"team\": \"Børneteamet\"}, \"partshoeringDoneAt\": \"%s\", \"notifiedAt\": \"%s\","
        " \"klagevejledningGiven\": true}",
        decision_id, r.case_id, r.investigation_id, start_text, iso(now, at), iso(now - 3600, at2),
        at);
    if (!demo_publish(d, DEMO_CASE_SYSTEM, "assessment.decision.made", r.case_id, 0, ev,
                      "granted after partshøring, with klagevejledning"))
        return -1;
    const json_t *reg = demo_expect(d, "assessment.decision.registered", "decisionId", decision_id);
    if (!reg)
        return -1;
    demo_answer(d, "assessment.decision.registered",
                "decision %s; appeal deadline %s (4 weeks), barnets plan due %s (3 months), first "
                "follow-up %s (§95)",
                decision_id, demo_str(reg, "appealDeadline"), demo_str(reg, "planDueDate"),
                demo_str(reg, "firstFollowupDueDate"));
    /* The school hears that a measure followed (the orientation of a public employee). */
    const json_t *o = demo_expect(d, "intake.orientation.due", "underretningId", r.underretning_id);
    if (!o)
        return -1;
    demo_answer(d, "intake.orientation.due", "%s must be told that a measure was decided, by %s",
                demo_str(json_object_get(o, "reporter"), "name"),
                demo_str(o, "orientationDueDate"));
    if (demo_deadlines(d, r.case_id) < 0)
        return -1;
    /* trivsel-ordering learns decisions on a subscription of its own: an order for a decision
     * it has not seen yet would be refused (unknown_decision). */
    const char *dv[1] = {decision_id};
    if (!demo_until(d, "trivsel-ordering", "the decision",
                    "SELECT EXISTS (SELECT FROM ordering.decision WHERE decision_id = $1)", 1, dv))
        return -1;

    /* The order, as the case system sends it; the LEON reason only the second time. */
    char order_body[2048];
    snprintf(
        order_body, sizeof order_body,
        "\"orderId\": \"%s\", \"caseId\": \"%s\", \"child\": {\"cpr\": \"%s\", \"name\": "
        "\"%s\"}, \"decisionId\": \"%s\", \"offerId\": \"" FAMILIEBEHANDLING "\","
        " \"legalBasis\": \"LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5\", \"scope\":"
        " {\"minutesPerWeek\": %d, \"description\": \"4 timer om ugen, heraf et hjemmebesøg\"},"
        " \"period\": {\"startDate\": \"%s\", \"endDate\": \"%s\"}, \"goals\": [{\"goal\":"
        " \"Faste rutiner morgen og aften\", \"subGoals\": [\"Emil er i skole til tiden fire"
        " dage om ugen\"], \"area\": \"LIFE_AREA_FAMILY\"}, {\"goal\": \"Emil er med i"
        " fællesskabet\", \"subGoals\": [\"En fritidsaktivitet om ugen\"], \"area\":"
        " \"LIFE_AREA_LEISURE_AND_FRIENDSHIPS\"}], \"documentation\":"
        " {\"statusReportIntervalMonths\": 3, \"diaryNotesRequired\": true}, \"caseworker\":"
        " {\"id\": \"ABJ\", \"name\": \"Anne Bjerg Jensen\", \"team\": \"Børneteamet\"},"
        " \"team\": \"Børneteamet\"",
        order_id, r.case_id, r.cpr, r.child_name, decision_id, MINUTES_PER_WEEK, start_text,
        end_text);

    demo_step(d, "The order with Vejledernet ApS (seed 000), without a LEON reason");
    if (refused(d, "ordering.order.requested", r.case_id, event_json("{%s}", order_body),
                "familiebehandling 4 hours a week, 695 kr. an hour", "ordering.order.refused",
                "leon_reason_missing", "LEON: a cheaper offer covers the same need") < 0)
        return -1;

    demo_step(d, "The order again, with the caseworker's LEON reason");
    ev = event_json("{%s, \"leonReason\": \"Emils mor taler arabisk, og Vejledernet har en"
                    " arabisktalende familiebehandler; Familiehuset har ingen ledig før til"
                    " foråret\"}",
                    order_body);
    if (!demo_publish(d, DEMO_CASE_SYSTEM, "ordering.order.requested", r.case_id, 0, ev,
                      "the same order, with why this offer and not the cheaper one"))
        return -1;
    const json_t *placed = demo_expect(d, "ordering.order.placed." DEMO_SUPPLIER_CVR, "orderId",
                                       order_id);
    if (!placed)
        return -1;
    char price[TR_MONEY_FORMAT_MAX], budget[TR_MONEY_FORMAT_MAX];
    demo_answer(d, "ordering.order.placed." DEMO_SUPPLIER_CVR,
                "order %s to Vejledernet ApS: %s to %s at %s an hour, budget %s (\"pengene følger "
                "barnet\")",
                order_id, start_text, end_text, kroner(demo_str(placed, "priceOere"), price),
                kroner(demo_str(placed, "budgetOere"), budget));
    if (demo_deadlines(d, r.case_id) < 0)
        return -1;

    demo_step(d, "Vejledernet ApS accepts the order");
    ev = event_json("{\"orderId\": \"%s\", \"contactName\": \"Sara Haddad\", \"note\": \"Sara"
                    " Haddad er familiebehandler og taler arabisk\"}",
                    order_id);
    const char *o2[2] = {DEMO_MUNICIPALITY, order_id};
    if (!demo_publish(d, DEMO_SUPPLIER, "ordering.order.accepted." DEMO_SUPPLIER_CVR, r.case_id, 0,
                      ev, "contact: Sara Haddad") ||
        !demo_until(d, "trivsel-ordering", "the acceptance",
                    "SELECT status = 'accepted' FROM ordering.orders WHERE municipality = $1 AND"
                    " order_id = $2",
                    2, o2))
        return -1;
    demo_recorded(d, "trivsel-ordering: accepted by %s", demo_principal(d, DEMO_SUPPLIER));
    if (!demo_until(d, "trivsel-docs", "the acceptance",
                    "SELECT status = 'accepted' FROM docs.orders WHERE municipality = $1 AND"
                    " order_id = $2",
                    2, o2))
        return -1;
    demo_recorded(d, "trivsel-docs: Vejledernet may now document on Emil, within the order");
    if (demo_deadlines(d, r.case_id) < 0)
        return -1;

    demo_step(d, "Sara Haddad writes diary notes after her visits");
    static const struct {
        int day, minutes;
        const char *observations, *actions, *words;
    } notes[] = {
        {4, 120, "Hjemmebesøg. Mor og Emil lavede madplan for ugen sammen.",
         "Vi aftalte faste tider for aftensmad og sengetid", "Jeg vil gerne have fiskefrikadeller"},
        {11, 90, "Besøg i skolen. Emil var med i et boldspil i frikvarteret.",
         "Aftale med klasselæreren om en makker i frikvartererne", "Jonas er sjov"},
    };
    for (size_t k = 0; k < sizeof notes / sizeof notes[0]; k++) {
        char submission[48], day[TR_CALENDAR_DATE_LEN];
        snprintf(submission, sizeof submission, "%s-dagbog-%zu", order_id, k + 1);
        date_text(min_date(tr_calendar_add_days(start, notes[k].day), today), day);
        ev = event_json(
            "{\"submissionId\": \"%s\", \"orderId\": \"%s\", \"childCpr\": \"%s\","
            " \"noteDate\": \"%s\", \"durationMinutes\": %d, \"author\": \"Sara Haddad\","
            " \"observations\": \"%s\", \"pedagogicalActions\": \"%s\","
            " \"childOwnWords\": \"%s\"}",
            submission, order_id, r.cpr, day, notes[k].minutes, notes[k].observations,
            notes[k].actions, notes[k].words);
        snprintf(text, sizeof text, "dagbogsnotat of %s, %d minutes", day, notes[k].minutes);
        if (!demo_publish(d, DEMO_SUPPLIER, "docs.note.submitted." DEMO_SUPPLIER_CVR, r.case_id, 0,
                          ev, text))
            return -1;
        const json_t *ok = demo_expect(d, "docs.submission.accepted." DEMO_SUPPLIER_CVR,
                                       "submissionId", submission);
        if (!ok)
            return -1;
        demo_answer(d, "docs.submission.accepted." DEMO_SUPPLIER_CVR, "note %s stored on order %s",
                    submission, order_id);
    }

    demo_step(d, "Vejledernet sends the first status report");
    res = demo_query(d,
                     "SELECT to_char(period_start, 'YYYY-MM-DD'), to_char(period_end, 'YYYY-MM-DD')"
                     " FROM docs.report WHERE municipality = $1 AND order_id = $2 AND"
                     " report_number = 1",
                     2, o2);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        demo_fail(d, "trivsel-docs scheduled no status report for order %s", order_id);
        return -1;
    }
    char submission[48];
    snprintf(submission, sizeof submission, "%s-status-1", order_id);
    ev = event_json(
        "{\"submissionId\": \"%s\", \"orderId\": \"%s\", \"childCpr\": \"%s\", \"period\":"
        " {\"startDate\": \"%s\", \"endDate\": \"%s\"}, \"author\": \"Sara Haddad\", \"course\":"
        " \"Ugentlige hjemmebesøg og et besøg i skolen\", \"progression\": \"Faste rutiner ved"
        " aftensmad; Emil var i skole til tiden tre af fire dage\", \"challenges\": \"Morgenerne"
        " er stadig svære\", \"recommendations\": \"Fortsæt; inddrag Emils fodboldklub\","
        " \"childPerspective\": \"Emil siger, at det er bedre hjemme nu\"}",
        submission, order_id, r.cpr, ctl_col(res, 0, 0), ctl_col(res, 0, 1));
    snprintf(text, sizeof text, "status report 1, %s to %s", ctl_col(res, 0, 0),
             ctl_col(res, 0, 1));
    PQclear(res);
    if (!demo_publish(d, DEMO_SUPPLIER, "docs.report.submitted." DEMO_SUPPLIER_CVR, r.case_id, 0,
                      ev, text))
        return -1;
    const json_t *ok = demo_expect(d, "docs.submission.accepted." DEMO_SUPPLIER_CVR, "submissionId",
                                   submission);
    if (!ok)
        return -1;
    demo_answer(d, "docs.submission.accepted." DEMO_SUPPLIER_CVR,
                "status report stored, due %s: %s", demo_str(ok, "reportDueDate"),
                demo_bool(ok, "late") ? "late" : "in time");
    if (demo_deadlines(d, r.case_id) < 0)
        return -1;

    if (settled_before) {
        demo_step(d, "The month: %s has not ended", month);
        res = demo_query(d,
                         "SELECT extract(epoch FROM due_at)::bigint FROM ordering.settlement_due"
                         " WHERE municipality = $1 AND month = $2",
                         2, (const char *[]){DEMO_MUNICIPALITY, month});
        if (!res)
            return -1;
        bool due = PQntuples(res) == 1;
        int64_t due_at = due ? strtoll(ctl_col(res, 0, 0), NULL, 10) : 0;
        PQclear(res);
        if (!due) {
            demo_fail(d, "trivsel-ordering has not scheduled the settlement of %s", month);
            return -1;
        }
        demo_recorded(d,
                      "trivsel-ordering settles %s from %s, automatically or with "
                      "`trivselctl settle %s`; a month is settled once, when it has ended",
                      month, local(due_at, at), month);
        return 0;
    }

    demo_step(d, "The month is settled: %s", month);
    ctl_settlement_t s = {0};
    if (ctl_settle_month(demo_conn(d), DEMO_MUNICIPALITY, month, demo_timeout_ms(d),
                         demo_timeout_text(d), &s) != 0) {
        demo_fail(d, "%s was not settled (see above)", month);
        return -1;
    }
    int rc = -1;
    const json_t *calc = demo_expect(d, "ordering.settlement.calculated", "month", month);
    if (!calc)
        goto out;
    demo_answer(d, "ordering.settlement.calculated", "%s, settled %s %s", month,
                s.again ? "by trivsel-ordering by itself once the order was accepted, at"
                        : "on request at",
                s.calculated_at);
    const Trivsel__Ordering__SettlementLine *line = NULL;
    for (size_t k = 0; k < s.calculated->n_lines && !line; k++)
        if (strcmp(s.calculated->lines[k]->order_id, order_id) == 0)
            line = s.calculated->lines[k];
    if (!line) {
        demo_fail(d, "the settlement of %s has no line for order %s%s", month, order_id,
                  s.calculated->n_unaccepted_order_ids
                      ? ": it was settled while the order was not accepted"
                      : "");
        goto out;
    }
    char amount[TR_MONEY_FORMAT_MAX];
    tr_money_format(line->amount_oere, amount, sizeof amount);
    demo_say(d, "  order %s: %u days at %d minutes a week, %s an hour: %s", order_id,
             line->days_active, MINUTES_PER_WEEK, price, amount);
    for (size_t k = 0; k < s.calculated->n_supplier_totals; k++) {
        const Trivsel__Ordering__SupplierTotal *t = s.calculated->supplier_totals[k];
        tr_money_format(t->amount_oere, amount, sizeof amount);
        if (strcmp(t->supplier_cvr, DEMO_SUPPLIER_CVR) == 0)
            demo_say(d, "  %s (CVR %s) in all: %s", t->supplier_name, t->supplier_cvr, amount);
    }
    tr_money_format(s.calculated->total_oere, amount, sizeof amount);
    demo_say(d, "  kommune %s in all: %s, per supplier, team, legal basis and child",
             DEMO_MUNICIPALITY, amount);
    rc = 0;
out:
    ctl_settlement_release(&s);
    return rc;
}

/* ---- story 2: the doctor --------------------------------------------------------------- */

int demo_story_doctor(demo_t *d)
{
    report_t r = {.child_name = "Sofie Lund Holm", .age = 6};
    char at[32], shown[16];
    int64_t now = (int64_t)time(NULL);
    int64_t received = now - 40 * 60;
    if (new_child(d, r.age, r.cpr, r.birth_date) < 0)
        return -1;
    demo_story(d, "Story 2: a doctor suspects that Sofie, 6, is hit by her father");

    demo_step(d, "The doctor reports suspected violence by a parent");
    if (report(
            d, &r, received,
            "\"reporter\": {\"kind\": \"REPORTER_KIND_PUBLIC_EMPLOYEE\", \"name\": \"Lars Bech\","
            " \"organisation\": \"Lægehuset i Vejen\", \"role\": \"praktiserende læge\","
            " \"contact\": {\"phone\": \"+45 75 00 00 00\"}}, \"channel\": \"CHANNEL_PHONE\","
            " \"concern\": \"Sofie kom til konsultation med blå mærker på begge overarme. Hun"
            " fortalte, at far tager hårdt fat, når han bliver vred.\", \"signals\":"
            " [{\"category\": \"SIGNAL_CATEGORY_PHYSICAL\", \"description\": \"Blå mærker på"
            " begge overarme\"}, {\"category\": \"SIGNAL_CATEGORY_PSYCHOLOGICAL\","
            " \"description\": \"Bange for at tage hjem\"}], \"parentsInformed\": false,"
            " \"violenceSuspected\": true, \"parentsSuspected\": true",
            "the doctor's call, written down 40 minutes ago: violence, the parents suspected") < 0)
        return -1;
    demo_say(d, "(no triage yet: in an abuse case the børnefaglig undersøgelse is mandatory)");
    if (investigation_opened(d, &r) < 0 || demo_deadlines(d, r.case_id) < 0)
        return -1;

    demo_step(d, "The triage: the parents are not told; a børnesamtale at the Børnehus");
    json_t *ev = event_json(
        "{\"underretningId\": \"%s\", \"caseId\": \"%s\", \"childInDanger\": true,"
        " \"acuteMeasuresNeeded\": false, \"outcome\": "
        "\"TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE\","
        " \"reasons\": \"Sofie bor hos sin moster, indtil børnesamtalen er holdt; politiet er"
        " underrettet\", \"triagedBy\": {\"id\": \"KLM\", \"name\": \"Karin Lund\", \"team\":"
        " \"Børneteamet\"}, \"triagedAt\": \"%s\", \"boernesamtalePlan\": \"Børnesamtale i"
        " Børnehus Syd i morgen, uden forældrene og uden deres samtykke\","
        " \"boernehusInvolved\": true, \"parentsNotTold\": true}",
        r.underretning_id, r.case_id, iso(now, at));
    const char *u[1] = {r.underretning_id};
    if (!demo_publish(d, DEMO_CASE_SYSTEM, "intake.triage.completed", r.case_id, 0, ev,
                      "Karin Lund (Børneteamet): in danger; parents_not_told confirmed, as §137 "
                      "requires") ||
        !demo_until(d, "trivsel-intake", "the triage",
                    "SELECT triaged_at IS NOT NULL FROM intake.underretning WHERE id = $1::uuid", 1,
                    u))
        return -1;
    demo_recorded(d,
                  "trivsel-intake recorded the triage (one without parents_not_told is refused)");
    const char *c[2] = {r.case_id, "KLM"};
    if (!demo_until(d, "trivsel-assessment", "the triaging caseworker on the investigation",
                    "SELECT count(*) = 1 AND bool_and(caseworker_id = $2) FROM"
                    " assessment.investigation WHERE case_id = $1",
                    2, c))
        return -1;
    demo_recorded(d, "trivsel-assessment: still one undersøgelse, now Karin Lund's");
    if (demo_deadlines(d, r.case_id) < 0)
        return -1;

    demo_step(d, "Concluding before the børnesamtale is refused");
    ev =
        event_json("{\"investigationId\": \"%s\", \"caseId\": \"%s\", \"concludedAt\": \"%s\","
                   " \"concludedBy\": {\"id\": \"KLM\"}, \"outcome\":"
                   " \"CONCLUSION_SUPPORT_NEEDED\", \"conclusion\": \"Sofie har brug for støtte\"}",
                   r.investigation_id, r.case_id, iso(now, at));
    if (refused(d, "assessment.investigation.concluded", r.case_id, ev,
                "a conclusion without Sofie's own view", "assessment.event.refused",
                "boernesamtale_without_parents_missing", "the børnesamtale is mandatory:") < 0)
        return -1;

    demo_step(d, "A børnesamtale with Sofie's mother present is refused");
    ev = event_json("{\"caseId\": \"%s\", \"investigationId\": \"%s\", \"held\": {\"heldAt\":"
                    " \"%s\", \"heldBy\": [{\"id\": \"KLM\", \"name\": \"Karin Lund\"}],"
                    " \"parentsPresent\": true}, \"recordedBy\": {\"id\": \"KLM\"}}",
                    r.case_id, r.investigation_id, iso(now, at));
    if (refused(d, "assessment.child_conversation.recorded", r.case_id, ev,
                "held with the mother in the room", "assessment.event.refused",
                "parents_present_in_abuse_case", "held without the parents, or not at all:") < 0)
        return -1;

    demo_step(d, "The børnesamtale at Børnehus Syd, without the parents");
    ev = event_json("{\"caseId\": \"%s\", \"investigationId\": \"%s\", \"held\": {\"heldAt\":"
                    " \"%s\", \"heldBy\": [{\"id\": \"KLM\", \"name\": \"Karin Lund\"}],"
                    " \"parentsPresent\": false, \"withoutParentsConsent\": true,"
                    " \"atBoernehus\": true, \"childView\": \"Far bliver vred, når jeg ikke hører"
                    " efter. Jeg vil gerne bo hos min moster lidt endnu.\"}, \"recordedBy\":"
                    " {\"id\": \"KLM\"}}",
                    r.case_id, r.investigation_id, iso(now, at));
    const char *id = demo_publish(d, DEMO_CASE_SYSTEM, "assessment.child_conversation.recorded",
                                  r.case_id, 0, ev,
                                  "without the parents and without their consent (§137)");
    const char *e[1] = {id};
    if (!id || !demo_until(d, "trivsel-assessment", "the børnesamtale",
                           "SELECT held AND NOT parents_present AND at_boernehus FROM"
                           " assessment.child_conversation WHERE event_id = $1",
                           1, e))
        return -1;
    demo_recorded(d,
                  "trivsel-assessment recorded it: held at the Børnehus, without the parents; "
                  "the undersøgelse %s may now conclude",
                  demo_short(r.investigation_id, shown));
    return demo_deadlines(d, r.case_id);
}
