/* fuzz_docs_validate.c — libFuzzer target: trivsel-docs's checks on the content of a supplier's
 * submission (services/docs/validate.c, with emit.c for its problems and dates, compiled in as
 * tests/unit/test_docs_validate.c does), on a payload decoded as submission.c decodes it. A
 * supplier's system sends these on docs.{note,report,measurement,plan}.submitted.CVR.
 *
 * The first byte picks the kind, data[0] % 5: 0 SUBMISSION_KIND_UNSPECIFIED (the payload read as
 * a note), 1 a NoteSubmitted, 2 a ReportSubmitted, 3 a MeasurementSubmitted, 4 a PlanSubmitted;
 * and the day of submission, data[0] / 5 % 8, from a table: submission.c takes it from the
 * envelope's occurred_at, which the broker lets be any day of the years 0001-9999. The rest is
 * the payload.
 *   - every problem has a field ("" or a path of .proto names), a snake_case code and a message;
 *   - the checks are pure: the submission is not changed, and checking again gives the same
 *     problems and facts; the facts' strings are the submission's own (borrowed);
 *   - an accepted submission satisfies an independent reading of seed 000 chapter 7: ids, a CPR
 *     number, the texts each form requires (not blank), its dates (a note's or a measurement's
 *     not after the day, a report's period in order, a plan's next evaluation not before it
 *     applies), a note's 1-1440 minutes, a measurement's scores 1-10 on distinct known areas, a
 *     plan's kind and goals; the facts hold the dates read, and the CPR number gives the 10
 *     digits submission.c stores; a kind it does not know is never accepted;
 *   - the rejection submission.c emits (SubmissionRejected, the problems in it) survives the round
 *     trip; so does the decoded submission.
 * Seeds: tests/fuzz/corpus/fuzz_docs_validate/: gen-* by make fuzz-seeds (every kind filled in)
 * and named real-looking submissions (those of tests/integration/test_docs.sh).
 */
#include "../../services/docs/emit.c"
#include "../../services/docs/validate.c"

#include "fuzz.h"

#define TARGET "fuzz_docs_validate"

static const tr_date_t days[8] = {{2026, 11, 23}, {2024, 2, 29},  {2024, 2, 28}, {1, 1, 1},
                                  {9999, 12, 31}, {2023, 12, 24}, {1970, 1, 1},  {2057, 12, 31}};

static void check_problems(const problems_t *p)
{
    fuzz_check_problems(TARGET, p->items, p->n);
}

static void same_problems(const problems_t *a, const problems_t *b)
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

static bool same_date(tr_date_t a, tr_date_t b)
{
    return a.year == b.year && a.month == b.month && a.day == b.day;
}

static bool same_facts(const submission_facts_t *a, const submission_facts_t *b)
{
    return a->submission_id == b->submission_id && a->order_id == b->order_id &&
           a->child_cpr == b->child_cpr && a->has_date == b->has_date &&
           (!a->has_date || same_date(a->doc_date, b->doc_date)) &&
           a->has_period == b->has_period &&
           (!a->has_period || (same_date(a->period_start, b->period_start) &&
                               same_date(a->period_end, b->period_end))) &&
           a->duration_minutes == b->duration_minutes;
}

/* Not blank: holds something besides spaces, tabs and line ends. */
static bool text(const char *s)
{
    return s && s[strspn(s, " \t\r\n")] != '\0';
}

/* A date that reads; *d the date. */
static bool date(const char *s, tr_date_t *d)
{
    return s && s[0] && tr_calendar_parse_date(s, d, NULL) == 0;
}

/* What an accepted submission of kind must be, by an independent reading; NULL when it is. */
static const char *accepted(Trivsel__Docs__SubmissionKind kind, const ProtobufCMessage *msg,
                            tr_date_t today, const submission_facts_t *f)
{
    const char *submission_id, *order_id, *child_cpr;
    tr_cpr_t cpr;
    tr_date_t d, e;
    char digits[11];
    switch (kind) {
#define IDS(type)                                                                                  \
    submission_id = ((const type *)msg)->submission_id, order_id = ((const type *)msg)->order_id,  \
    child_cpr = ((const type *)msg)->child_cpr
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_NOTE:
        IDS(Trivsel__Docs__NoteSubmitted);
        break;
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_REPORT:
        IDS(Trivsel__Docs__ReportSubmitted);
        break;
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_MEASUREMENT:
        IDS(Trivsel__Docs__MeasurementSubmitted);
        break;
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_PLAN:
        IDS(Trivsel__Docs__PlanSubmitted);
        break;
#undef IDS
    default: return "kind (not a submission)";
    }
    if (!text(submission_id) || !text(order_id))
        return "ids";
    if (tr_cpr_parse(child_cpr, &cpr, NULL) < 0 || !docs_cpr_digits(child_cpr, digits) ||
        strcmp(digits, cpr.digits) != 0)
        return "child_cpr";
    if (f->submission_id != submission_id || f->order_id != order_id || f->child_cpr != child_cpr)
        return "facts' ids";
    switch (kind) {
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_NOTE: {
        const Trivsel__Docs__NoteSubmitted *m = (const void *)msg;
        if (!date(m->note_date, &d) || tr_calendar_compare(d, today) > 0)
            return "note_date";
        if (m->duration_minutes < 1 || m->duration_minutes > 24 * 60 ||
            f->duration_minutes != m->duration_minutes)
            return "duration_minutes";
        if (!text(m->author) || !text(m->observations))
            return "text";
        break;
    }
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_REPORT: {
        const Trivsel__Docs__ReportSubmitted *m = (const void *)msg;
        if (!m->period || !date(m->period->start_date, &d) || !date(m->period->end_date, &e) ||
            tr_calendar_compare(d, e) > 0)
            return "period";
        if (!f->has_period || !same_date(f->period_start, d) || !same_date(f->period_end, e))
            return "facts' period";
        if (!text(m->author) || !text(m->course) || !text(m->progression) || !text(m->challenges) ||
            !text(m->recommendations))
            return "text";
        break;
    }
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_MEASUREMENT: {
        const Trivsel__Docs__MeasurementSubmitted *m = (const void *)msg;
        if (!date(m->measured_on, &d) || tr_calendar_compare(d, today) > 0)
            return "measured_on";
        if (!text(m->measured_by))
            return "measured_by";
        if (m->n_scores == 0)
            return "scores";
        for (size_t i = 0; i < m->n_scores; i++) {
            int area = (int)m->scores[i]->area;
            if (area == 0 ||
                !protobuf_c_enum_descriptor_get_value(&trivsel__life_area__descriptor, area))
                return "a score's area";
            if (m->scores[i]->score < 1 || m->scores[i]->score > 10)
                return "a score";
            for (size_t k = 0; k < i; k++) {
                if ((int)m->scores[k]->area == area)
                    return "an area scored twice";
            }
        }
        break;
    }
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_PLAN: {
        const Trivsel__Docs__PlanSubmitted *m = (const void *)msg;
        if (m->kind != TRIVSEL__DOCS__PLAN_KIND__PLAN_KIND_HANDLEPLAN &&
            m->kind != TRIVSEL__DOCS__PLAN_KIND__PLAN_KIND_FAMILIEPLAN)
            return "kind";
        if (m->n_goals == 0)
            return "goals";
        for (size_t i = 0; i < m->n_goals; i++) {
            if (!text(m->goals[i]->goal))
                return "a goal";
            for (size_t k = 0; k < m->goals[i]->n_sub_goals; k++) {
                if (!text(m->goals[i]->sub_goals[k]))
                    return "a sub-goal";
            }
        }
        if (!date(m->valid_from, &d))
            return "valid_from";
        if (m->next_evaluation_date[0] &&
            (!date(m->next_evaluation_date, &e) || tr_calendar_compare(e, d) < 0))
            return "next_evaluation_date";
        if (!text(m->author))
            return "author";
        break;
    }
    default: break;
    }
    /* The day the submission documents: a report's from its period. */
    if (!f->has_date || !same_date(f->doc_date, d))
        return "facts' date";
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ProtobufCMessageDescriptor *const types[5] = {
        &trivsel__docs__note_submitted__descriptor, &trivsel__docs__note_submitted__descriptor,
        &trivsel__docs__report_submitted__descriptor,
        &trivsel__docs__measurement_submitted__descriptor,
        &trivsel__docs__plan_submitted__descriptor};
    if (size < 1)
        return 0;
    Trivsel__Docs__SubmissionKind kind = (Trivsel__Docs__SubmissionKind)(data[0] % 5);
    tr_date_t today = days[data[0] / 5 % 8];
    ProtobufCMessage *msg = protobuf_c_message_unpack(types[kind], NULL, size - 1, data + 1);
    if (!msg)
        return 0;
    fuzz_round_trip(TARGET, msg);

    size_t nbefore, nafter;
    uint8_t *before = fuzz_pack(msg, &nbefore);
    problems_t p = {0}, again = {0};
    submission_facts_t f, f_again;
    memset(&f, 0x5a, sizeof f);
    docs_validate(kind, msg, today, &p, &f);
    docs_validate(kind, msg, today, &again, &f_again);
    uint8_t *after = fuzz_pack(msg, &nafter);
    if (nbefore != nafter || memcmp(before, after, nbefore) != 0)
        fuzz_broken(TARGET, "docs_validate changed the submission");
    check_problems(&p);
    same_problems(&p, &again);
    if (!same_facts(&f, &f_again))
        fuzz_broken(TARGET, "checked twice, the facts differ");
    if (p.n == 0) {
        const char *why = accepted(kind, msg, today, &f);
        if (why)
            fuzz_broken(TARGET, "a %s was accepted with a wrong %s", msg->descriptor->name, why);
    }

    /* The rejection submission.c emits. */
    Trivsel__Docs__SubmissionRejected rejected = TRIVSEL__DOCS__SUBMISSION_REJECTED__INIT;
    rejected.submission_id = f.submission_id ? (char *)f.submission_id : "";
    rejected.submitted_event_id = "3b0f6c2e-8d41-4c59-9a7e-2f1d5b8e6a10";
    rejected.kind = kind;
    rejected.order_id = f.order_id ? (char *)f.order_id : "";
    rejected.problems = p.items;
    rejected.n_problems = p.n;
    fuzz_round_trip(TARGET, &rejected.base);

    free(before);
    free(after);
    problems_release(&p);
    problems_release(&again);
    protobuf_c_message_free_unpacked(msg, NULL);
    return 0;
}
