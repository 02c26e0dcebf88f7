/* decision.c — the afgørelse (DOMAIN.md §2): measures with their legal basis (Barnets Lov §32
 * stk. 1 nr. 1-8, §§104-105, §§46-47 placements, Serviceloven §85), purpose and expected
 * duration (§32 stk. 3); the partshøring before it (Forvaltningsloven §19); when it was
 * notified; klagevejledning with it. A decision rests on a concluded børnefaglig undersøgelse,
 * unless the triage found acute measures needed (phases.c).
 *
 * assessment.decision.registered carries what follows from it:
 *   - the appeal deadline: notified + 4 weeks, moved to the next hverdag:
 *     assessment.appeal.due a configurable time before it ends, assessment.appeal.expired when
 *     it has passed (the decision is final unless an appeal was received; no event tells this
 *     service of an appeal, so it always fires);
 *   - barnets plan (§§91-92), due 3 months after the decision for a granted §32 measure or
 *     placement: assessment.plan.due a configurable time before, assessment.plan.overdue if no
 *     plan is recorded by then (recording it closes both);
 *   - the first follow-up (§95): 3 months after the earliest measure starts, or when an
 *     investigation running alongside ends if that is earlier: assessment.followup.due a
 *     configurable time before, assessment.followup.overdue after, unless a follow-up is
 *     recorded (assessment.plan.recorded with followup_held_at). */
#include <stdlib.h>
#include <string.h>

#include "assessment.h"
#include "log.h"

static bool granting(Trivsel__Assessment__DecisionKind kind)
{
    return kind == TRIVSEL__ASSESSMENT__DECISION_KIND__DECISION_KIND_GRANT ||
           kind == TRIVSEL__ASSESSMENT__DECISION_KIND__DECISION_KIND_CHANGE;
}

static const char decision_sql[] =
    "SELECT d.case_id, i.case_id, i.concluded_at IS NOT NULL FROM (SELECT 1) one"
    " LEFT JOIN assessment.decision d ON d.decision_id = $1"
    " LEFT JOIN assessment.investigation i ON i.investigation_id = $2::uuid";

static int queue_deadlines(asm_work_t *w, const char *decision_id, tr_date_t appeal,
                           bool plan_required, tr_date_t plan_due, bool followup,
                           tr_date_t followup_due)
{
    const asm_settings_t *s = &w->a->settings;
    char due[TR_CALENDAR_DATE_LEN], soon_at[40], overdue_at[40];
    int rc = 0;
    {
        asm_date_text(appeal, due);
        asm_us_text(asm_warning_at(appeal, s->appeal_warning_ms) * ASM_US_PER_SECOND, soon_at);
        asm_us_text(asm_overdue_at(appeal) * ASM_US_PER_SECOND, overdue_at);
        const char *values[5] = {decision_id, due, w->sag.case_id, soon_at, overdue_at};
        rc = tr_handling_query(
            w->h,
            "INSERT INTO assessment.deadline (kind, case_id, decision_id, due_date, due_at)"
            " VALUES ('appeal_due', $3, $1, $2::date, $4::timestamptz),"
            "        ('appeal_expired', $3, $1, $2::date, $5::timestamptz)",
            5, values, NULL, NULL);
    }
    if (rc == 0 && followup) {
        asm_date_text(followup_due, due);
        asm_us_text(asm_warning_at(followup_due, s->followup_warning_ms) * ASM_US_PER_SECOND,
                    soon_at);
        asm_us_text(asm_overdue_at(followup_due) * ASM_US_PER_SECOND, overdue_at);
        const char *values[5] = {decision_id, due, w->sag.case_id, soon_at, overdue_at};
        rc = tr_handling_query(
            w->h,
            "WITH f AS (INSERT INTO assessment.followup (decision_id, due_date, first_followup)"
            "           VALUES ($1, $2::date, true) RETURNING id)"
            " INSERT INTO assessment.deadline (kind, case_id, decision_id, followup_id, due_date,"
            " due_at)"
            " SELECT 'followup_due', $3, $1, f.id, $2::date, $4::timestamptz FROM f"
            " UNION ALL SELECT 'followup_overdue', $3, $1, f.id, $2::date, $5::timestamptz FROM f",
            5, values, NULL, NULL);
    }
    if (rc == 0 && plan_required) {
        asm_date_text(plan_due, due);
        asm_us_text(asm_warning_at(plan_due, s->plan_warning_ms) * ASM_US_PER_SECOND, soon_at);
        asm_us_text(asm_overdue_at(plan_due) * ASM_US_PER_SECOND, overdue_at);
        const char *values[5] = {decision_id, due, w->sag.case_id, soon_at, overdue_at};
        rc = tr_handling_query(
            w->h,
            "INSERT INTO assessment.deadline (kind, case_id, decision_id, due_date, due_at)"
            " VALUES ('plan_due', $3, $1, $2::date, $4::timestamptz),"
            "        ('plan_overdue', $3, $1, $2::date, $5::timestamptz)",
            5, values, NULL, NULL);
    }
    return rc;
}

static void decision_decide(asm_work_t *w)
{
    const Trivsel__Assessment__DecisionMade *m = (const void *)w->msg;
    asm_problems_t *p = &w->problems;
    asm_case_t *c = &w->sag;
    PGresult *r = w->loaded;
    if (!c->known) {
        asm_problem(p, "case_id", "unknown_case", "unknown case \"%s\" in municipality %s",
                    m->case_id, w->ev->municipality);
        asm_work_refuse(w);
        return;
    }
    if (!PQgetisnull(r, 0, 0))
        asm_problem(p, "decision_id", "decision_exists", "decision \"%s\" is registered already",
                    m->decision_id);
    if (m->investigation_id[0] &&
        (PQgetisnull(r, 0, 1) || strcmp(PQgetvalue(r, 0, 1), m->case_id) != 0))
        asm_problem(p, "investigation_id", "unknown_investigation",
                    "unknown investigation \"%s\" on case %s", m->investigation_id, m->case_id);
    asm_phase_check_decision(w);
    if (p->n) {
        asm_work_refuse(w);
        return;
    }

    /* What follows from the decision. */
    tr_date_t appeal = asm_appeal_deadline(m->notified_at->seconds);
    bool plan_required = false;
    if (m->kind == TRIVSEL__ASSESSMENT__DECISION_KIND__DECISION_KIND_GRANT)
        for (size_t i = 0; i < m->n_measures; i++)
            plan_required = plan_required || asm_plan_required_for(m->measures[i]->legal_basis);
    tr_date_t plan_due = asm_plan_due_date(m->decided_at->seconds);
    bool followup = granting(m->kind);
    tr_date_t followup_due = {0, 0, 0};
    bool parallel = c->running; /* allowed only because acute measures were needed */
    if (followup) {
        tr_date_t earliest = {9999, 12, 31};
        for (size_t i = 0; i < m->n_measures; i++) {
            tr_date_t start;
            if (tr_calendar_parse_date(m->measures[i]->start_date, &start, NULL) == 0 &&
                tr_calendar_compare(start, earliest) < 0)
                earliest = start;
        }
        followup_due = asm_first_followup_date(earliest, parallel ? &c->running_due : NULL);
    }
    const Trivsel__Employee *by = m->decided_by;
    const char *caseworker_id = by && by->id[0] ? by->id : c->caseworker_id;
    const char *caseworker_name = by && by->name[0] ? by->name : c->caseworker_name;
    const char *team = by && by->team[0] ? by->team : c->team;

    char decided[40], partshoering[40], notified[40], appeal_text[TR_CALENDAR_DATE_LEN],
        plan_text[TR_CALENDAR_DATE_LEN] = "", followup_text[TR_CALENDAR_DATE_LEN] = "";
    asm_us_text(asm_ts_us(m->decided_at), decided);
    asm_us_text(asm_ts_us(m->partshoering_done_at), partshoering);
    asm_us_text(asm_ts_us(m->notified_at), notified);
    asm_date_text(appeal, appeal_text);
    if (plan_required)
        asm_date_text(plan_due, plan_text);
    if (followup)
        asm_date_text(followup_due, followup_text);
    const char *values[21] = {
        m->decision_id,
        m->case_id,
        m->investigation_id[0] ? m->investigation_id : NULL,
        parallel ? c->running_id : NULL,
        asm_enum_name(&trivsel__assessment__decision_kind__descriptor, m->kind),
        m->reasons,
        decided,
        by ? by->id : "",
        by ? by->name : "",
        partshoering,
        m->child_partshoering_done ? "true" : "false",
        notified,
        m->klagevejledning_given ? "true" : "false",
        appeal_text,
        plan_required ? "true" : "false",
        plan_required ? plan_text : NULL,
        followup ? followup_text : NULL,
        caseworker_id,
        caseworker_name,
        team,
        w->ev->event_id,
    };
    int rc = tr_handling_query(
        w->h,
        "INSERT INTO assessment.decision (decision_id, case_id, investigation_id, "
        "parallel_investigation_id, kind,"
        " reasons, decided_at, decided_by_id, decided_by_name, partshoering_done_at, "
        "child_partshoering_done,"
        " notified_at, klagevejledning_given, appeal_deadline, plan_required, plan_due_date,"
        " first_followup_due_date, caseworker_id, caseworker_name, team, made_event_id)"
        " VALUES ($1, $2, $3::uuid, $4::uuid, $5, $6, $7::timestamptz, $8, $9, $10::timestamptz, "
        "$11::boolean,"
        " $12::timestamptz, $13::boolean, $14::date, $15::boolean, $16::date, $17::date, $18, $19, "
        "$20, $21)",
        21, values, NULL, NULL);
    for (size_t i = 0; i < m->n_measures && rc == 0; i++) {
        const Trivsel__Measure *x = m->measures[i];
        char ordinal[24], months[16];
        snprintf(ordinal, sizeof ordinal, "%zu", i + 1);
        snprintf(months, sizeof months, "%u", x->expected_duration_months);
        const char *mv[8] = {m->decision_id,
                             ordinal,
                             asm_enum_name(&trivsel__legal_basis__descriptor, x->legal_basis),
                             x->description,
                             x->purpose,
                             months,
                             x->start_date[0] ? x->start_date : NULL,
                             x->end_date[0] ? x->end_date : NULL};
        rc = tr_handling_query(
            w->h,
            "INSERT INTO assessment.measure (decision_id, ordinal, legal_basis, description,"
            " purpose, expected_duration_months, start_date, end_date)"
            " VALUES ($1, $2::integer, $3, $4, $5, $6::integer, $7::date, $8::date)",
            8, mv, NULL, NULL);
    }
    if (rc == 0)
        rc = queue_deadlines(w, m->decision_id, appeal, plan_required, plan_due, followup,
                             followup_due);
    /* With an investigation running alongside, the case is still being informed. */
    if (rc == 0 && !parallel)
        rc = asm_phase_set(w, m->case_id, ASM_PHASE_DECIDED);
    if (rc == 0)
        rc = asm_deadlines_notify(w);
    if (rc < 0) {
        asm_work_finish(w, "cannot queue the decision");
        return;
    }

    Trivsel__Employee caseworker = TRIVSEL__EMPLOYEE__INIT;
    caseworker.id = (char *)caseworker_id;
    caseworker.name = (char *)caseworker_name;
    caseworker.team = (char *)team;
    Trivsel__Assessment__DecisionRegistered reg = TRIVSEL__ASSESSMENT__DECISION_REGISTERED__INIT;
    reg.decision_id = m->decision_id;
    reg.case_id = m->case_id;
    reg.made_event_id = w->ev->event_id;
    reg.kind = m->kind;
    reg.measures = m->measures;
    reg.n_measures = m->n_measures;
    reg.notified_at = m->notified_at;
    reg.appeal_deadline = appeal_text;
    reg.plan_required = plan_required;
    reg.plan_due_date = plan_text;
    reg.first_followup_due_date = followup_text;
    reg.abuse_case = c->abuse_case;
    reg.caseworker = caseworker.id[0] || caseworker.name[0] ? &caseworker : NULL;
    reg.team = (char *)team;
    reg.parallel_investigation_id = parallel ? c->running_id : "";
    char event_id[100];
    asm_event_id(w->ev, "decision.registered", event_id);
    tr_error_t err = {0};
    int64_t occurred = w->ev->occurred_at ? asm_ts_us(w->ev->occurred_at) : asm_now_us();
    if (asm_emit((asm_out_t){.handling = w->h}, event_id, "assessment.decision.registered",
                 w->ev->municipality, m->case_id, occurred, &reg.base, &err) < 0) {
        tr_log_error("cannot emit assessment.decision.registered",
                     TR_LOG_STR("error", err.message));
        asm_work_finish(w, err.message);
        return;
    }
    tr_metric_inc(tr_metrics_counter(
        w->a->metrics, "trivsel_assessment_decisions_total", "Decisions registered, by kind.",
        "kind", asm_enum_name(&trivsel__assessment__decision_kind__descriptor, m->kind), NULL));
    tr_log_info("decision registered", TR_LOG_STR("decision_id", m->decision_id),
                TR_LOG_STR("case_id", m->case_id), TR_LOG_STR("appeal_deadline", appeal_text),
                TR_LOG_STR("plan_due_date", plan_text),
                TR_LOG_STR("first_followup_due_date", followup_text),
                TR_LOG_INT("acute", parallel));
    asm_work_finish(w, NULL);
}

static void check_measures(const Trivsel__Assessment__DecisionMade *m, asm_problems_t *p)
{
    bool grant = granting(m->kind);
    if (m->n_measures == 0)
        asm_problem(p, "measures", "missing_field",
                    "measures: at least one measure is required (%s)",
                    grant ? "what is granted or changed" : "what is refused or ended");
    for (size_t i = 0; i < m->n_measures; i++) {
        const Trivsel__Measure *x = m->measures[i];
        char field[64];
        snprintf(field, sizeof field, "measures[%zu].legal_basis", i);
        if (x->legal_basis < TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_1 ||
            x->legal_basis > TRIVSEL__LEGAL_BASIS__LEGAL_BASIS_BARNETS_LOV_47)
            asm_problem(p, field, "missing_field",
                        "the legal basis is required: Barnets Lov §32 stk. 1 nr. 1-8, §§104-105, "
                        "§46, §47 or "
                        "Serviceloven §85");
        tr_date_t start = {0, 0, 0}, end;
        bool has_start = x->start_date[0] &&
                         tr_calendar_parse_date(x->start_date, &start, NULL) == 0;
        snprintf(field, sizeof field, "measures[%zu].start_date", i);
        if (x->start_date[0] && !has_start)
            asm_problem(p, field, "invalid_date",
                        "invalid start_date \"%.20s\": must be YYYY-MM-DD", x->start_date);
        else if (grant && !has_start)
            asm_problem(p, field, "missing_field",
                        "start_date is required: the first follow-up (§95) counts from it");
        snprintf(field, sizeof field, "measures[%zu].end_date", i);
        if (x->end_date[0]) {
            if (tr_calendar_parse_date(x->end_date, &end, NULL) < 0)
                asm_problem(p, field, "invalid_date",
                            "invalid end_date \"%.20s\": must be YYYY-MM-DD", x->end_date);
            else if (has_start && tr_calendar_compare(end, start) < 0)
                asm_problem(p, field, "invalid_period", "end_date %s is before start_date %s",
                            x->end_date, x->start_date);
        }
        if (!grant)
            continue;
        /* §32 stk. 3: the decision states the purpose and the expected duration. */
        snprintf(field, sizeof field, "measures[%zu].purpose", i);
        if (!x->purpose[0])
            asm_problem(p, field, "missing_field",
                        "the purpose of the measure is required (Barnets Lov §32 stk. 3)");
        snprintf(field, sizeof field, "measures[%zu].expected_duration_months", i);
        if (x->expected_duration_months == 0)
            asm_problem(p, field, "missing_field",
                        "the expected duration in months is required (Barnets Lov §32 stk. 3)");
    }
}

void asm_decision_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    asm_t *a = arg;
    asm_work_t *w = asm_work_new(a, h, ev, &trivsel__assessment__decision_made__descriptor);
    if (!w) {
        tr_handling_done(h, "out of memory");
        return;
    }
    if (w->problems.n) {
        asm_work_refuse(w);
        return;
    }
    const Trivsel__Assessment__DecisionMade *m = (const void *)w->msg;
    asm_problems_t *p = &w->problems;
    snprintf(w->sag.case_id, sizeof w->sag.case_id, "%s", m->case_id);
    if (!m->decision_id[0] || strlen(m->decision_id) > ASM_ID_MAX)
        asm_problem(p, "decision_id", "missing_field", "decision_id is required (1-%d characters)",
                    ASM_ID_MAX);
    if (!m->case_id[0] || strlen(m->case_id) > ASM_ID_MAX)
        asm_problem(p, "case_id", "missing_field", "case_id is required (1-%d characters)",
                    ASM_ID_MAX);
    if (m->investigation_id[0] && !asm_is_uuid(m->investigation_id))
        asm_problem(p, "investigation_id", "unknown_investigation",
                    "investigation_id \"%.40s\" is not an investigation's id (a UUID from "
                    "assessment.investigation.opened)",
                    m->investigation_id);
    if (m->kind < TRIVSEL__ASSESSMENT__DECISION_KIND__DECISION_KIND_GRANT ||
        m->kind > TRIVSEL__ASSESSMENT__DECISION_KIND__DECISION_KIND_END)
        asm_problem(p, "kind", "missing_field",
                    "kind is required: DECISION_KIND_GRANT, _REFUSAL, _CHANGE or _END");
    bool times = true;
    if (!asm_ts_ok(m->decided_at)) {
        asm_problem(p, "decided_at", "missing_field", "decided_at is required");
        times = false;
    }
    if (!asm_ts_ok(m->notified_at)) {
        asm_problem(
            p, "notified_at", "missing_field",
            "notified_at is required: the 4-week appeal deadline runs from the notification");
        times = false;
    }
    /* Forvaltningsloven §19: the parties are heard before the decision. */
    if (!asm_ts_ok(m->partshoering_done_at)) {
        asm_problem(p, "partshoering_done_at", "partshoering_missing",
                    "partshoering_done_at is required: the partshøring (Forvaltningsloven §19) "
                    "comes before the "
                    "decision");
        times = false;
    }
    if (times) {
        if (asm_ts_us(m->partshoering_done_at) > asm_ts_us(m->decided_at))
            asm_problem(p, "partshoering_done_at", "partshoering_after_decision",
                        "partshoering_done_at is after decided_at: the partshøring "
                        "(Forvaltningsloven §19) comes "
                        "before the decision");
        if (asm_ts_us(m->notified_at) < asm_ts_us(m->decided_at))
            asm_problem(p, "notified_at", "notified_before_decision",
                        "notified_at is before decided_at");
        if (asm_ts_us(m->notified_at) > asm_now_us() + a->settings.clock_skew_ms * 1000)
            asm_problem(p, "notified_at", "in_future", "notified_at lies in the future");
    }
    if (!m->klagevejledning_given)
        asm_problem(p, "klagevejledning_given", "klagevejledning_missing",
                    "klagevejledning (how to appeal) must be given with the decision");
    if (strlen(m->reasons) > ASM_TEXT_MAX)
        asm_problem(p, "reasons", "too_long", "reasons are longer than %d bytes", ASM_TEXT_MAX);
    check_measures(m, p);
    if (p->n) {
        asm_work_refuse(w);
        return;
    }
    const char *values[2] = {m->decision_id, m->investigation_id[0] ? m->investigation_id : NULL};
    asm_case_load(w, m->case_id, decision_sql, 2, values, decision_decide);
}

/* ---- the deadline events ------------------------------------------------------------------- */

int asm_decision_deadline_event(const asm_due_t *d, asm_out_t out, const char *event_id,
                                tr_error_t *err)
{
    Trivsel__Employee caseworker = TRIVSEL__EMPLOYEE__INIT;
    caseworker.id = (char *)d->caseworker_id;
    caseworker.name = (char *)d->caseworker_name;
    caseworker.team = (char *)d->team;
    Trivsel__Employee *cw = d->caseworker_id[0] || d->caseworker_name[0] ? &caseworker : NULL;
    if (strcmp(d->kind, "plan_due") == 0) {
        Trivsel__Assessment__PlanDue m = TRIVSEL__ASSESSMENT__PLAN_DUE__INIT;
        m.decision_id = (char *)d->decision_id;
        m.case_id = (char *)d->case_id;
        m.plan_due_date = (char *)d->due_date;
        m.caseworker = cw;
        m.team = (char *)d->team;
        m.abuse_case = d->abuse_case;
        return asm_emit(out, event_id, "assessment.plan.due", d->municipality, d->case_id,
                        d->due_at_us, &m.base, err);
    }
    if (strcmp(d->kind, "appeal_due") == 0) {
        Trivsel__Assessment__AppealDue m = TRIVSEL__ASSESSMENT__APPEAL_DUE__INIT;
        m.decision_id = (char *)d->decision_id;
        m.case_id = (char *)d->case_id;
        m.appeal_deadline = (char *)d->due_date;
        m.caseworker = cw;
        m.team = (char *)d->team;
        m.abuse_case = d->abuse_case;
        return asm_emit(out, event_id, "assessment.appeal.due", d->municipality, d->case_id,
                        d->due_at_us, &m.base, err);
    }
    if (strcmp(d->kind, "appeal_expired") == 0) {
        Trivsel__Assessment__AppealExpired m = TRIVSEL__ASSESSMENT__APPEAL_EXPIRED__INIT;
        m.decision_id = (char *)d->decision_id;
        m.case_id = (char *)d->case_id;
        m.appeal_deadline = (char *)d->due_date;
        m.caseworker = cw;
        m.team = (char *)d->team;
        m.abuse_case = d->abuse_case;
        return asm_emit(out, event_id, "assessment.appeal.expired", d->municipality, d->case_id,
                        d->due_at_us, &m.base, err);
    }
    if (strcmp(d->kind, "plan_overdue") == 0) {
        Trivsel__Assessment__PlanOverdue m = TRIVSEL__ASSESSMENT__PLAN_OVERDUE__INIT;
        m.decision_id = (char *)d->decision_id;
        m.case_id = (char *)d->case_id;
        m.plan_due_date = (char *)d->due_date;
        m.caseworker = cw;
        m.team = (char *)d->team;
        m.abuse_case = d->abuse_case;
        return asm_emit(out, event_id, "assessment.plan.overdue", d->municipality, d->case_id,
                        d->due_at_us, &m.base, err);
    }
    if (strcmp(d->kind, "followup_due") == 0) {
        Trivsel__Assessment__FollowupDue m = TRIVSEL__ASSESSMENT__FOLLOWUP_DUE__INIT;
        m.decision_id = (char *)d->decision_id;
        m.case_id = (char *)d->case_id;
        m.followup_due_date = (char *)d->due_date;
        m.first_followup = d->first_followup;
        m.caseworker = cw;
        m.team = (char *)d->team;
        m.abuse_case = d->abuse_case;
        return asm_emit(out, event_id, "assessment.followup.due", d->municipality, d->case_id,
                        d->due_at_us, &m.base, err);
    }
    Trivsel__Assessment__FollowupOverdue m = TRIVSEL__ASSESSMENT__FOLLOWUP_OVERDUE__INIT;
    m.decision_id = (char *)d->decision_id;
    m.case_id = (char *)d->case_id;
    m.followup_due_date = (char *)d->due_date;
    m.first_followup = d->first_followup;
    m.caseworker = cw;
    m.team = (char *)d->team;
    m.abuse_case = d->abuse_case;
    return asm_emit(out, event_id, "assessment.followup.overdue", d->municipality, d->case_id,
                    d->due_at_us, &m.base, err);
}
