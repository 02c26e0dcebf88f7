/* validate.c — the content of a submission (seed 000 chapter 7: what each form of documentation
 * holds). Every problem is named with its field, so the supplier can fix them all at once. The
 * right to document (the order, the period) is submission.c's; this file only reads the message
 * and knows no database. */
#include <string.h>

#include "cpr.h"
#include "docs.h"
#include "trivselslineal.h"

/* A day's worth of visits: a longer duration is a typing error. */
#define MAX_NOTE_MINUTES (24 * 60)

static bool blank(const char *s)
{
    if (!s)
        return true;
    for (; *s; s++) {
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    }
    return true;
}

static void required(problems_t *p, const char *field, const char *text)
{
    if (blank(text))
        problems_add(p, field, "missing_field", "%s is required", field);
}

static void common(problems_t *p, submission_facts_t *f, const char *submission_id,
                   const char *order_id, const char *child_cpr)
{
    f->submission_id = submission_id;
    f->order_id = order_id;
    f->child_cpr = child_cpr;
    required(p, "submission_id", submission_id);
    required(p, "order_id", order_id);
    if (blank(child_cpr)) {
        problems_add(p, "child_cpr", "missing_field", "child_cpr is required");
    } else {
        tr_cpr_t cpr;
        tr_error_t err = {0};
        if (tr_cpr_parse(child_cpr, &cpr, &err) < 0)
            problems_add(p, "child_cpr", "invalid_cpr", "%s", err.message);
    }
}

static void not_after(problems_t *p, const char *field, tr_date_t d, tr_date_t today)
{
    char a[TR_CALENDAR_DATE_LEN], b[TR_CALENDAR_DATE_LEN];
    if (tr_calendar_compare(d, today) > 0) {
        tr_calendar_format_date(d, a);
        tr_calendar_format_date(today, b);
        problems_add(p, field, "date_in_future", "%s %s is after the day of submission (%s)",
                     field, a, b);
    }
}

static void note(const Trivsel__Docs__NoteSubmitted *m, tr_date_t today, problems_t *p,
                 submission_facts_t *f)
{
    common(p, f, m->submission_id, m->order_id, m->child_cpr);
    if (docs_date_field(p, "note_date", m->note_date, true, &f->doc_date)) {
        f->has_date = true;
        not_after(p, "note_date", f->doc_date, today);
    }
    f->duration_minutes = m->duration_minutes;
    if (m->duration_minutes == 0)
        problems_add(p, "duration_minutes", "missing_field",
                     "duration_minutes is required: how long the visit or activity took");
    else if (m->duration_minutes > MAX_NOTE_MINUTES)
        problems_add(p, "duration_minutes", "invalid_duration",
                     "duration_minutes %u is more than a day (%d minutes)", m->duration_minutes,
                     MAX_NOTE_MINUTES);
    required(p, "author", m->author);
    required(p, "observations", m->observations);
}

static void report(const Trivsel__Docs__ReportSubmitted *m, tr_date_t today, problems_t *p,
                   submission_facts_t *f)
{
    common(p, f, m->submission_id, m->order_id, m->child_cpr);
    if (!m->period) {
        problems_add(p, "period", "missing_field", "period is required");
    } else {
        bool s = docs_date_field(p, "period.start_date", m->period->start_date, true,
                                 &f->period_start);
        bool e = docs_date_field(p, "period.end_date", m->period->end_date, true, &f->period_end);
        if (s && e && tr_calendar_compare(f->period_start, f->period_end) > 0)
            problems_add(p, "period.end_date", "invalid_period",
                         "period.end_date %s is before period.start_date %s", m->period->end_date,
                         m->period->start_date);
        else if (s && e) {
            f->has_period = true;
            f->has_date = true;
            f->doc_date = f->period_start;
        }
    }
    required(p, "author", m->author);
    required(p, "course", m->course);
    required(p, "progression", m->progression);
    required(p, "challenges", m->challenges);
    required(p, "recommendations", m->recommendations);
    (void)today; /* a report may cover days still to come (the rest of its period) */
}

static void measurement(const Trivsel__Docs__MeasurementSubmitted *m, tr_date_t today,
                        problems_t *p, submission_facts_t *f)
{
    common(p, f, m->submission_id, m->order_id, m->child_cpr);
    if (docs_date_field(p, "measured_on", m->measured_on, true, &f->doc_date)) {
        f->has_date = true;
        not_after(p, "measured_on", f->doc_date, today);
    }
    required(p, "measured_by", m->measured_by);
    if (m->n_scores == 0)
        problems_add(p, "scores", "missing_field", "scores: at least one area's score is required");
    bool seen[16] = {false};
    for (size_t i = 0; i < m->n_scores; i++) {
        const Trivsel__AreaScore *s = m->scores[i];
        char field[80];
        int area = (int)s->area;
        if (area <= 0 || area >= 16 || !tr_trivselslineal_area_name(area)) {
            snprintf(field, sizeof field, "scores[%zu].area", i);
            problems_add(p, field, "missing_field", "%s is required", field);
        } else if (seen[area]) {
            snprintf(field, sizeof field, "scores[%zu].area", i);
            problems_add(p, field, "duplicate_area", "%s: %s is scored more than once", field,
                         tr_trivselslineal_area_name(area));
        } else {
            seen[area] = true;
        }
        if (!tr_trivselslineal_valid((int)s->score)) {
            snprintf(field, sizeof field, "scores[%zu].score", i);
            problems_add(p, field, "invalid_score",
                         "%s %u is not a trivselslineal score: must be 1 to 10", field, s->score);
        }
    }
}

static void plan(const Trivsel__Docs__PlanSubmitted *m, tr_date_t today, problems_t *p,
                 submission_facts_t *f)
{
    common(p, f, m->submission_id, m->order_id, m->child_cpr);
    if (m->kind != TRIVSEL__DOCS__PLAN_KIND__PLAN_KIND_HANDLEPLAN &&
        m->kind != TRIVSEL__DOCS__PLAN_KIND__PLAN_KIND_FAMILIEPLAN)
        problems_add(p, "kind", "missing_field",
                     "kind is required: PLAN_KIND_HANDLEPLAN or PLAN_KIND_FAMILIEPLAN");
    if (m->n_goals == 0)
        problems_add(p, "goals", "missing_field", "goals: at least one goal is required");
    for (size_t i = 0; i < m->n_goals; i++) {
        char field[80];
        snprintf(field, sizeof field, "goals[%zu].goal", i);
        required(p, field, m->goals[i]->goal);
        for (size_t j = 0; j < m->goals[i]->n_sub_goals; j++) {
            snprintf(field, sizeof field, "goals[%zu].sub_goals[%zu]", i, j);
            required(p, field, m->goals[i]->sub_goals[j]);
        }
    }
    if (docs_date_field(p, "valid_from", m->valid_from, true, &f->doc_date))
        f->has_date = true;
    tr_date_t next;
    if (docs_date_field(p, "next_evaluation_date", m->next_evaluation_date, false, &next) &&
        f->has_date && tr_calendar_compare(next, f->doc_date) < 0)
        problems_add(p, "next_evaluation_date", "invalid_date",
                     "next_evaluation_date %s is before valid_from %s", m->next_evaluation_date,
                     m->valid_from);
    required(p, "author", m->author);
    (void)today; /* a plan may apply from a day still to come */
}

void docs_validate(Trivsel__Docs__SubmissionKind kind, const ProtobufCMessage *msg,
                   tr_date_t today, problems_t *p, submission_facts_t *f)
{
    *f = (submission_facts_t){0};
    switch (kind) {
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_NOTE:
        note((const Trivsel__Docs__NoteSubmitted *)msg, today, p, f);
        break;
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_REPORT:
        report((const Trivsel__Docs__ReportSubmitted *)msg, today, p, f);
        break;
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_MEASUREMENT:
        measurement((const Trivsel__Docs__MeasurementSubmitted *)msg, today, p, f);
        break;
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_PLAN:
        plan((const Trivsel__Docs__PlanSubmitted *)msg, today, p, f);
        break;
    default:
        problems_add(p, "", "unknown_kind", "not a submission");
    }
}
