/* scores.c — trivselslineal scores (KL, seed 004): 1-10 per area of the børnefaglig
 * undersøgelse (the six areas of Barnets Lov §20, plus the whole child), each with the
 * observations, risk factors and protective factors behind it. Every score is kept, so the
 * child's progress per area is a series over assessed_at; the level name and the prevention
 * level follow from the score (common/trivselslineal) and are never stored apart from it. A
 * score may name a running investigation, or none (at a follow-up). */
#include <stdlib.h>
#include <string.h>

#include "assessment.h"
#include "log.h"
#include "trivselslineal.h"

static const char investigation_sql[] =
    "SELECT case_id, concluded_at IS NOT NULL FROM assessment.investigation WHERE investigation_id "
    "= $1::uuid";

static void score_decide(asm_work_t *w)
{
    const Trivsel__Assessment__ScoreRecorded *m = (const void *)w->msg;
    asm_problems_t *p = &w->problems;
    if (!w->sag.known) {
        asm_problem(p, "case_id", "unknown_case", "unknown case \"%s\" in municipality %s",
                    m->case_id, w->ev->municipality);
        asm_work_refuse(w);
        return;
    }
    if (m->investigation_id[0]) {
        PGresult *r = w->loaded;
        if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), m->case_id) != 0) {
            asm_problem(p, "investigation_id", "unknown_investigation",
                        "unknown investigation \"%s\" on case %s", m->investigation_id, m->case_id);
            asm_work_refuse(w);
            return;
        }
        asm_phase_check_score(w, asm_col_bool(r, 0, 1));
        if (p->n) {
            asm_work_refuse(w);
            return;
        }
    }
    char assessed[40];
    asm_us_text(asm_ts_us(m->assessed_at), assessed);
    const Trivsel__Employee *by = m->assessed_by;
    int rc = 0;
    for (size_t i = 0; i < m->n_scores && rc == 0; i++) {
        const Trivsel__AreaScore *s = m->scores[i];
        char score[8];
        snprintf(score, sizeof score, "%u", s->score);
        char *risk = asm_text_array(s->risk_factors, s->n_risk_factors);
        char *protective = asm_text_array(s->protective_factors, s->n_protective_factors);
        if (!risk || !protective) {
            free(risk);
            free(protective);
            asm_work_finish(w, "out of memory");
            return;
        }
        const char *values[11] = {m->case_id,
                                  m->investigation_id[0] ? m->investigation_id : NULL,
                                  asm_enum_name(&trivsel__life_area__descriptor, s->area),
                                  score,
                                  s->observations,
                                  risk,
                                  protective,
                                  assessed,
                                  by ? by->id : "",
                                  by ? by->name : "",
                                  w->ev->event_id};
        rc = tr_handling_query(
            w->h,
            "INSERT INTO assessment.score (case_id, investigation_id, area, score, observations,"
            " risk_factors, protective_factors, assessed_at, assessed_by_id, assessed_by_name,"
            " event_id)"
            " VALUES ($1, $2::uuid, $3, $4::integer, $5, $6::text[], $7::text[], $8::timestamptz,"
            " $9, $10, $11)",
            11, values, NULL, NULL);
        free(risk);
        free(protective);
        tr_metric_inc(tr_metrics_counter(w->a->metrics, "trivsel_assessment_scores_total",
                                         "Trivselslineal scores recorded, by prevention level.",
                                         "prevention",
                                         tr_trivselslineal_prevention_name((int)s->score), NULL));
    }
    if (rc < 0) {
        asm_work_finish(w, "cannot queue the scores");
        return;
    }
    tr_log_info("scores recorded", TR_LOG_STR("case_id", m->case_id),
                TR_LOG_INT("areas", (long long)m->n_scores));
    asm_work_finish(w, NULL);
}

void asm_score_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    asm_t *a = arg;
    asm_work_t *w = asm_work_new(a, h, ev, &trivsel__assessment__score_recorded__descriptor);
    if (!w) {
        tr_handling_done(h, "out of memory");
        return;
    }
    if (w->problems.n) {
        asm_work_refuse(w);
        return;
    }
    const Trivsel__Assessment__ScoreRecorded *m = (const void *)w->msg;
    asm_problems_t *p = &w->problems;
    snprintf(w->sag.case_id, sizeof w->sag.case_id, "%s", m->case_id);
    if (!m->case_id[0] || strlen(m->case_id) > ASM_ID_MAX)
        asm_problem(p, "case_id", "missing_field", "case_id is required (1-%d characters)",
                    ASM_ID_MAX);
    if (m->investigation_id[0] && !asm_is_uuid(m->investigation_id))
        asm_problem(p, "investigation_id", "unknown_investigation",
                    "investigation_id \"%.40s\" is not an investigation's id (a UUID from "
                    "assessment.investigation.opened)",
                    m->investigation_id);
    if (!asm_ts_ok(m->assessed_at))
        asm_problem(p, "assessed_at", "missing_field",
                    "assessed_at, when the child was assessed, is required");
    else if (asm_ts_us(m->assessed_at) > asm_now_us() + a->settings.clock_skew_ms * 1000)
        asm_problem(p, "assessed_at", "in_future", "assessed_at lies in the future");
    if (m->n_scores == 0)
        asm_problem(p, "scores", "missing_field", "scores: at least one area's score is required");
    bool seen[8] = {false};
    for (size_t i = 0; i < m->n_scores; i++) {
        const Trivsel__AreaScore *s = m->scores[i];
        char field[48];
        const char *area = tr_trivselslineal_area_name(s->area);
        snprintf(field, sizeof field, "scores[%zu].area", i);
        if (!area) {
            asm_problem(
                p, field, "invalid_area",
                "unknown area %d: one of the six areas of Barnets Lov §20 "
                "(LIFE_AREA_DEVELOPMENT_AND_BEHAVIOUR, "
                "..._FAMILY, ..._SCHOOL, ..._HEALTH, ..._LEISURE_AND_FRIENDSHIPS, ..._OTHER) or "
                "LIFE_AREA_OVERALL",
                (int)s->area);
        } else if (seen[s->area]) {
            asm_problem(p, field, "duplicate_area",
                        "area %s (%s) is scored twice in one assessment",
                        asm_enum_name(&trivsel__life_area__descriptor, s->area), area);
        } else {
            seen[s->area] = true;
        }
        snprintf(field, sizeof field, "scores[%zu].score", i);
        if (!tr_trivselslineal_valid((int)s->score))
            asm_problem(p, field, "invalid_score", "invalid trivselslineal score %u: must be 1-10",
                        s->score);
        snprintf(field, sizeof field, "scores[%zu].observations", i);
        if (strlen(s->observations) > ASM_TEXT_MAX)
            asm_problem(p, field, "too_long", "observations are longer than %d bytes",
                        ASM_TEXT_MAX);
    }
    if (p->n) {
        asm_work_refuse(w);
        return;
    }
    const char *values[1] = {m->investigation_id};
    asm_case_load(w, m->case_id, m->investigation_id[0] ? investigation_sql : NULL, 1, values,
                  score_decide);
}
