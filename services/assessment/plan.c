/* plan.c — barnets plan (Barnets Lov §§91-92): concrete goals, made with the child and the
 * parents, for a decision. Recording it closes the decision's plan deadline. A revision made at
 * a follow-up (§95) records that follow-up (followup_held_at): it closes the follow-up then due
 * and takes the case to "evaluering og opfølgning"; the next follow-up, when decided
 * (next_followup_date), gets its own due and overdue events. In an abuse case where the parents
 * are suspected the parents take no part (§137 stk. 2-4): a plan saying they did is refused. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "assessment.h"
#include "log.h"
#include "pbjson.h"

static const char plan_sql[] =
    "SELECT d.case_id, f.id, to_char(f.due_date, 'YYYY-MM-DD'),"
    "  EXISTS (SELECT FROM assessment.plan x WHERE x.plan_id = $2 AND x.decision_id <> $1)"
    " FROM (SELECT 1) one"
    " LEFT JOIN assessment.decision d ON d.decision_id = $1"
    " LEFT JOIN assessment.followup f ON f.decision_id = d.decision_id AND f.held_at IS NULL";

static char *goals_json(const Trivsel__Assessment__PlanRecorded *m)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < m->n_goals; i++)
        json_array_append_new(arr, tr_pbjson_to_value(&m->goals[i]->base));
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

static void plan_decide(asm_work_t *w)
{
    const Trivsel__Assessment__PlanRecorded *m = (const void *)w->msg;
    asm_problems_t *p = &w->problems;
    const asm_case_t *c = &w->sag;
    PGresult *r = w->loaded;
    if (!c->known) {
        asm_problem(p, "case_id", "unknown_case", "unknown case \"%s\" in municipality %s",
                    m->case_id, w->ev->municipality);
        asm_work_refuse(w);
        return;
    }
    if (PQgetisnull(r, 0, 0) || strcmp(PQgetvalue(r, 0, 0), m->case_id) != 0) {
        asm_problem(
            p, "decision_id", "unknown_decision",
            "unknown decision \"%s\" on case %s: barnets plan follows a registered decision",
            m->decision_id, m->case_id);
        asm_work_refuse(w);
        return;
    }
    if (asm_col_bool(r, 0, 3))
        asm_problem(p, "plan_id", "plan_id_conflict", "plan \"%s\" belongs to another decision",
                    m->plan_id);
    if (m->parents_involved && c->abuse_case && c->parents_suspected)
        asm_problem(p, "parents_involved", "parents_involved_in_abuse_case",
                    "in an abuse case where the parents are suspected they take no part (Barnets "
                    "Lov §137 stk. 2-4): "
                    "parents_involved is true");
    bool open_followup = !PQgetisnull(r, 0, 1);
    if (m->next_followup_date[0] && open_followup && !m->followup_held_at)
        asm_problem(
            p, "next_followup_date", "followup_open",
            "a follow-up is due on %s: record it (followup_held_at) before deciding the next one",
            PQgetvalue(r, 0, 2));
    tr_date_t next = {0, 0, 0};
    if (m->next_followup_date[0]) {
        tr_calendar_parse_date(m->next_followup_date, &next, NULL);
        tr_date_t from = asm_local_date(
            (m->followup_held_at ? m->followup_held_at : m->recorded_at)->seconds);
        if (tr_calendar_compare(next, from) <= 0)
            asm_problem(p, "next_followup_date", "invalid_date",
                        "next_followup_date %s is not after the follow-up (or the plan) it follows",
                        m->next_followup_date);
    }
    if (p->n) {
        asm_work_refuse(w);
        return;
    }

    char *goals = goals_json(m);
    if (!goals) {
        asm_work_finish(w, "out of memory");
        return;
    }
    char recorded[40], held[40] = "";
    asm_us_text(asm_ts_us(m->recorded_at), recorded);
    if (m->followup_held_at)
        asm_us_text(asm_ts_us(m->followup_held_at), held);
    const char *values[11] = {m->plan_id,
                              m->case_id,
                              m->decision_id,
                              recorded,
                              m->recorded_by ? m->recorded_by->id : "",
                              goals,
                              m->child_involved ? "true" : "false",
                              m->parents_involved ? "true" : "false",
                              m->followup_held_at ? held : NULL,
                              m->next_followup_date[0] ? m->next_followup_date : NULL,
                              w->ev->event_id};
    int rc = tr_handling_query(
        w->h,
        "INSERT INTO assessment.plan (plan_id, case_id, decision_id, recorded_at, recorded_by_id,"
        " goals, child_involved, parents_involved, followup_held_at, next_followup_date,"
        " event_id)"
        " VALUES ($1, $2, $3, $4::timestamptz, $5, $6::jsonb, $7::boolean, $8::boolean,"
        " $9::timestamptz, $10::date, $11)",
        11, values, NULL, NULL);
    free(goals);
    if (rc == 0) {
        const char *v[1] = {m->decision_id};
        rc = tr_handling_query(
            w->h,
            "UPDATE assessment.deadline SET closed_at = now(), closed_reason = 'plan_recorded'"
            " WHERE decision_id = $1 AND kind IN ('plan_due', 'plan_overdue') AND fired_at IS NULL"
            " AND closed_at IS NULL",
            1, v, NULL, NULL);
    }
    if (rc == 0 && m->followup_held_at && open_followup) {
        const char *v[3] = {PQgetvalue(r, 0, 1), held, w->ev->event_id};
        rc = tr_handling_query(
            w->h,
            "WITH held AS (UPDATE assessment.followup SET held_at = $2::timestamptz,"
            "              held_event_id = $3 WHERE id = $1::bigint RETURNING id)"
            " UPDATE assessment.deadline SET closed_at = now(), closed_reason = 'followup_held'"
            " WHERE followup_id IN (SELECT id FROM held) AND fired_at IS NULL AND closed_at IS "
            "NULL",
            3, v, NULL, NULL);
    }
    if (rc == 0 && m->followup_held_at && !c->running)
        rc = asm_phase_set(w, m->case_id, ASM_PHASE_FOLLOWED_UP);
    if (rc == 0 && m->next_followup_date[0]) {
        /* §95: later follow-ups as decided at the first. */
        const asm_settings_t *s = &w->a->settings;
        char soon_at[40], overdue_at[40];
        asm_us_text(asm_warning_at(next, s->followup_warning_ms) * ASM_US_PER_SECOND, soon_at);
        asm_us_text(asm_overdue_at(next) * ASM_US_PER_SECOND, overdue_at);
        const char *v[5] = {m->decision_id, m->next_followup_date, m->case_id, soon_at, overdue_at};
        rc = tr_handling_query(
            w->h,
            "WITH f AS (INSERT INTO assessment.followup (decision_id, due_date, first_followup)"
            "           VALUES ($1, $2::date, false) RETURNING id)"
            " INSERT INTO assessment.deadline (kind, case_id, decision_id, followup_id, due_date,"
            " due_at)"
            " SELECT 'followup_due', $3, $1, f.id, $2::date, $4::timestamptz FROM f"
            " UNION ALL SELECT 'followup_overdue', $3, $1, f.id, $2::date, $5::timestamptz FROM f",
            5, v, NULL, NULL);
    }
    if (rc == 0)
        rc = asm_deadlines_notify(w);
    if (rc < 0) {
        asm_work_finish(w, "cannot queue the plan");
        return;
    }
    tr_log_info("plan recorded", TR_LOG_STR("plan_id", m->plan_id),
                TR_LOG_STR("decision_id", m->decision_id),
                TR_LOG_INT("followup_held", m->followup_held_at != NULL));
    asm_work_finish(w, NULL);
}

void asm_plan_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    asm_t *a = arg;
    asm_work_t *w = asm_work_new(a, h, ev, &trivsel__assessment__plan_recorded__descriptor);
    if (!w) {
        tr_handling_done(h, "out of memory");
        return;
    }
    if (w->problems.n) {
        asm_work_refuse(w);
        return;
    }
    const Trivsel__Assessment__PlanRecorded *m = (const void *)w->msg;
    asm_problems_t *p = &w->problems;
    snprintf(w->sag.case_id, sizeof w->sag.case_id, "%s", m->case_id);
    if (!m->plan_id[0] || strlen(m->plan_id) > ASM_ID_MAX)
        asm_problem(p, "plan_id", "missing_field", "plan_id is required (1-%d characters)",
                    ASM_ID_MAX);
    if (!m->case_id[0] || strlen(m->case_id) > ASM_ID_MAX)
        asm_problem(p, "case_id", "missing_field", "case_id is required (1-%d characters)",
                    ASM_ID_MAX);
    if (!m->decision_id[0] || strlen(m->decision_id) > ASM_ID_MAX)
        asm_problem(p, "decision_id", "missing_field", "decision_id is required (1-%d characters)",
                    ASM_ID_MAX);
    int64_t limit = asm_now_us() + a->settings.clock_skew_ms * 1000;
    if (!asm_ts_ok(m->recorded_at))
        asm_problem(p, "recorded_at", "missing_field", "recorded_at is required");
    else if (asm_ts_us(m->recorded_at) > limit)
        asm_problem(p, "recorded_at", "in_future", "recorded_at lies in the future");
    if (m->followup_held_at && !asm_ts_ok(m->followup_held_at))
        asm_problem(p, "followup_held_at", "invalid_field", "followup_held_at is out of range");
    else if (m->followup_held_at && asm_ts_us(m->followup_held_at) > limit)
        asm_problem(p, "followup_held_at", "in_future", "followup_held_at lies in the future");
    tr_date_t next;
    if (m->next_followup_date[0] && tr_calendar_parse_date(m->next_followup_date, &next, NULL) < 0)
        asm_problem(p, "next_followup_date", "invalid_date",
                    "invalid next_followup_date \"%.20s\": must be YYYY-MM-DD",
                    m->next_followup_date);
    bool goal = false;
    for (size_t i = 0; i < m->n_goals; i++)
        goal = goal || m->goals[i]->goal[0];
    if (!goal)
        asm_problem(p, "goals", "missing_field",
                    "goals: barnets plan names at least one concrete goal (§§91-92)");
    if (p->n) {
        asm_work_refuse(w);
        return;
    }
    const char *values[2] = {m->decision_id, m->plan_id};
    asm_case_load(w, m->case_id, plan_sql, 2, values, plan_decide);
}
