/* test_docs_validate.c — trivsel-docs's checks on a submission's content
 * (services/docs/validate.c: every problem named, with its field and code) and the status
 * reports' due dates (services/docs/orders.c: every N months from the start, the month's last
 * day where the date does not exist). Compiled in, like test_intake_validate.c. */
#include "../../services/docs/emit.c"
#include "../../services/docs/orders.c"
#include "../../services/docs/validate.c"

#include "check.h"

static const tr_date_t today = {2024, 3, 21};

static Trivsel__Docs__NoteSubmitted good_note(void)
{
    Trivsel__Docs__NoteSubmitted n = TRIVSEL__DOCS__NOTE_SUBMITTED__INIT;
    n.submission_id = "n1";
    n.order_id = "ord-1";
    n.child_cpr = "080317-4127";
    n.note_date = "2024-03-20";
    n.duration_minutes = 90;
    n.author = "Mette Holm";
    n.observations = "Emil dækkede bord";
    return n;
}

static void test_valid_note(void)
{
    Trivsel__Docs__NoteSubmitted n = good_note();
    problems_t p = {0};
    submission_facts_t f;
    docs_validate(TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_NOTE, &n.base, today, &p, &f);
    CHECK_INT_EQ((int)p.n, 0);
    CHECK(f.has_date);
    CHECK_INT_EQ(f.doc_date.day, 20);
    CHECK_INT_EQ((int)f.duration_minutes, 90);
    problems_release(&p);
}

static void test_note_every_problem(void)
{
    Trivsel__Docs__NoteSubmitted n = good_note();
    n.child_cpr = "3002901234"; /* 30 February */
    n.note_date = "2024-03-22"; /* after the day of submission */
    n.duration_minutes = 1441;
    n.observations = "  ";
    problems_t p = {0};
    submission_facts_t f;
    docs_validate(TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_NOTE, &n.base, today, &p, &f);
    CHECK_INT_EQ((int)p.n, 4);
    if (p.n == 4) {
        CHECK_STR_EQ(p.items[0]->code, "invalid_cpr");
        CHECK_STR_EQ(p.items[1]->field, "note_date");
        CHECK_STR_EQ(p.items[1]->problem,
                     "note_date 2024-03-22 is after the day of submission (2024-03-21)");
        CHECK_STR_EQ(p.items[2]->problem,
                     "duration_minutes 1441 is more than a day (1440 minutes)");
        CHECK_STR_EQ(p.items[3]->field, "observations");
        CHECK_STR_EQ(p.items[3]->code, "missing_field");
    }
    problems_release(&p);
}

static void test_report_period_backwards(void)
{
    Trivsel__Docs__ReportSubmitted r = TRIVSEL__DOCS__REPORT_SUBMITTED__INIT;
    Trivsel__Period period = TRIVSEL__PERIOD__INIT;
    period.start_date = "2024-03-01";
    period.end_date = "2024-02-29";
    r.submission_id = "r1";
    r.order_id = "ord-1";
    r.child_cpr = "0803174127";
    r.period = &period;
    r.author = "Mette Holm";
    r.course = "Ugentlige besøg";
    r.progression = "Faste rutiner";
    r.challenges = "Sengetid";
    problems_t p = {0};
    submission_facts_t f;
    docs_validate(TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_REPORT, &r.base, today, &p, &f);
    CHECK_INT_EQ((int)p.n, 2);
    CHECK(problems_has(&p, "invalid_period"));
    CHECK(!f.has_period);
    if (p.n == 2)
        CHECK_STR_EQ(p.items[1]->field, "recommendations");
    problems_release(&p);
}

static void test_measurement_scores(void)
{
    Trivsel__Docs__MeasurementSubmitted m = TRIVSEL__DOCS__MEASUREMENT_SUBMITTED__INIT;
    Trivsel__AreaScore a = TRIVSEL__AREA_SCORE__INIT, b = TRIVSEL__AREA_SCORE__INIT,
                       c = TRIVSEL__AREA_SCORE__INIT;
    a.area = TRIVSEL__LIFE_AREA__LIFE_AREA_SCHOOL;
    a.score = 0;
    b.area = TRIVSEL__LIFE_AREA__LIFE_AREA_SCHOOL;
    b.score = 10;
    c.area = TRIVSEL__LIFE_AREA__LIFE_AREA_UNSPECIFIED;
    c.score = 1;
    Trivsel__AreaScore *scores[3] = {&a, &b, &c};
    m.submission_id = "m1";
    m.order_id = "ord-1";
    m.child_cpr = "0803174127";
    m.measured_on = "2024-03-21";
    m.measured_by = "Mette Holm";
    m.scores = scores;
    m.n_scores = 3;
    problems_t p = {0};
    submission_facts_t f;
    docs_validate(TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_MEASUREMENT, &m.base, today, &p,
                  &f);
    CHECK_INT_EQ((int)p.n, 3);
    if (p.n == 3) {
        CHECK_STR_EQ(p.items[0]->problem,
                     "scores[0].score 0 is not a trivselslineal score: must be 1 to 10");
        CHECK_STR_EQ(p.items[1]->problem, "scores[1].area: skoleforhold is scored more than once");
        CHECK_STR_EQ(p.items[2]->field, "scores[2].area");
    }
    problems_release(&p);
}

static void test_plan_without_goals(void)
{
    Trivsel__Docs__PlanSubmitted pl = TRIVSEL__DOCS__PLAN_SUBMITTED__INIT;
    pl.submission_id = "p1";
    pl.order_id = "ord-1";
    pl.child_cpr = "0803174127";
    pl.valid_from = "2024-04-01";
    pl.next_evaluation_date = "2024-03-01";
    pl.author = "Mette Holm";
    problems_t p = {0};
    submission_facts_t f;
    docs_validate(TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_PLAN, &pl.base, today, &p, &f);
    CHECK_INT_EQ((int)p.n, 3);
    CHECK(problems_has(&p, "missing_field"));
    if (p.n == 3)
        CHECK_STR_EQ(p.items[2]->problem,
                     "next_evaluation_date 2024-03-01 is before valid_from 2024-04-01");
    problems_release(&p);
}

/* An order from 31 October 2023, a report every 4 months, to 30 June 2024: due on the last day
 * of February (2024 is a leap year), then 30 June; 31 October 2024 is after the end. */
static void test_report_due_dates_month_end(void)
{
    tr_date_t due[8];
    int n = docs_report_due_dates((tr_date_t){2023, 10, 31}, (tr_date_t){2024, 6, 30}, 4, due, 8);
    CHECK_INT_EQ(n, 2);
    char s[TR_CALENDAR_DATE_LEN];
    tr_calendar_format_date(due[0], s);
    CHECK_STR_EQ(s, "2024-02-29");
    tr_calendar_format_date(due[1], s);
    CHECK_STR_EQ(s, "2024-06-30");
    CHECK_INT_EQ(docs_report_due_dates((tr_date_t){2023, 10, 31}, (tr_date_t){2024, 6, 29}, 4, due, 8),
                 1);
    CHECK_INT_EQ(docs_report_due_dates((tr_date_t){2023, 10, 31}, (tr_date_t){2030, 1, 1}, 0, due, 8),
                 0);
}

static void test_kind_of_subject(void)
{
    CHECK_INT_EQ(docs_kind_of_subject("docs.report.submitted.45424421"),
                 TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_REPORT);
    CHECK_INT_EQ(docs_kind_of_subject("docs.report.due.45424421"),
                 TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_UNSPECIFIED);
    char cpr[11];
    CHECK(docs_cpr_digits("080317-4127", cpr));
    CHECK_STR_EQ(cpr, "0803174127");
    CHECK(!docs_cpr_digits("0803174127X", cpr));
}

int main(void)
{
    CHECK_RUN(test_valid_note);
    CHECK_RUN(test_note_every_problem);
    CHECK_RUN(test_report_period_backwards);
    CHECK_RUN(test_measurement_scores);
    CHECK_RUN(test_plan_without_goals);
    CHECK_RUN(test_report_due_dates_month_end);
    CHECK_RUN(test_kind_of_subject);
    return check_done();
}
