/* sag.c — the child's case as assessment learns it from intake (ARCHITECTURE.md principle 4: no
 * service reads another's tables). intake.underretning.registered brings the case, the child
 * and the underretning with its received-at (when the municipality became aware) and abuse
 * flag; every abuse case opens a børnefaglig undersøgelse at once (mandatory, Barnets Lov §20
 * stk. 1 and §137). intake.triage.completed brings the 24-hour triage: its outcome
 * børnefaglig undersøgelse opens one, and "acute measures needed" lets a decision come before
 * the investigation is concluded.
 *
 * intake.underretning.registered is intake's own event: it is taken only from intake's
 * principal (TRIVSEL_ASSESSMENT_INTAKE_PRINCIPAL), whoever else may publish on intake.>. */
#include <stdlib.h>
#include <string.h>

#include "assessment.h"
#include "cpr.h"
#include "log.h"

static bool id_ok(const char *s)
{
    return s && s[0] && strlen(s) <= ASM_ID_MAX;
}

/* ---- intake.underretning.registered --------------------------------------------------------- */

static void registered_decide(asm_work_t *w)
{
    const Trivsel__Intake__UnderretningRegistered *m = (const void *)w->msg;
    if (!w->sag.known) {
        asm_problem(&w->problems, "case_id", "case_in_other_municipality",
                    "case \"%s\" belongs to another municipality than %s", m->case_id,
                    w->ev->municipality);
        asm_work_refuse(w);
        return;
    }
    if (PQntuples(w->loaded) > 0) {
        /* Registered before (intake published it again under a new event id): nothing new. */
        tr_log_info("underretning known already; ignored",
                    TR_LOG_STR("underretning_id", m->underretning_id),
                    TR_LOG_STR("event_id", w->ev->event_id));
        asm_work_finish(w, NULL);
        return;
    }
    const Trivsel__Child *child = m->child;
    tr_cpr_t cpr;
    const char *digits = NULL;
    if (child && child->cpr[0] && tr_cpr_parse(child->cpr, &cpr, NULL) == 0)
        digits = cpr.digits;
    const char *sag_values[4] = {m->case_id, digits, child ? child->name : "",
                                 child ? child->birth_date : ""};
    int rc = tr_handling_query(
        w->h,
        "UPDATE assessment.sag SET cpr = coalesce(cpr, $2),"
        " child_name = CASE WHEN $3 <> '' THEN $3 ELSE child_name END,"
        " birth_date = CASE WHEN $4 <> '' THEN $4 ELSE birth_date END, updated_at = now()"
        " WHERE case_id = $1",
        4, sag_values, NULL, NULL);
    char received[40], count[16];
    int64_t received_us = asm_ts_us(m->received_at);
    asm_us_text(received_us, received);
    snprintf(count, sizeof count, "%u", m->underretninger_last_12_months);
    const char *values[10] = {m->underretning_id,
                              m->case_id,
                              received,
                              asm_enum_name(&trivsel__reporter_kind__descriptor, m->reporter_kind),
                              m->abuse_case ? "true" : "false",
                              m->parents_suspected ? "true" : "false",
                              m->team,
                              count,
                              m->genvurdering_required ? "true" : "false",
                              w->ev->event_id};
    if (rc == 0)
        rc = tr_handling_query(
            w->h,
            "INSERT INTO assessment.underretning (underretning_id, case_id, received_at,"
            " reporter_kind, abuse_case, parents_suspected, team, underretninger_last_12_months,"
            " genvurdering_required, registered_event_id)"
            " VALUES ($1, $2, $3::timestamptz, $4, $5::boolean, $6::boolean, $7, $8::integer,"
            " $9::boolean, $10)",
            10, values, NULL, NULL);
    if (rc == 0 && m->abuse_case) {
        /* §20 stk. 1 and §137: a børnefaglig undersøgelse is mandatory in an abuse case; it
         * starts now, not when the triage comes. */
        asm_opening_t o = {.case_id = m->case_id,
                           .underretning_id = m->underretning_id,
                           .because = "abuse_case",
                           .aware_at_us = received_us,
                           .abuse_case = true,
                           .parents_suspected = m->parents_suspected,
                           .team = m->team,
                           .child = child};
        rc = asm_investigation_open(w, &o);
    }
    if (rc < 0) {
        asm_work_finish(w, "cannot queue the registration");
        return;
    }
    asm_work_finish(w, NULL);
}

void asm_registered_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    asm_t *a = arg;
    asm_work_t *w = asm_work_new(a, h, ev, &trivsel__intake__underretning_registered__descriptor);
    if (!w) {
        tr_handling_done(h, "out of memory");
        return;
    }
    if (w->problems.n) {
        asm_work_refuse(w);
        return;
    }
    const Trivsel__Intake__UnderretningRegistered *m = (const void *)w->msg;
    asm_problems_t *p = &w->problems;
    snprintf(w->sag.case_id, sizeof w->sag.case_id, "%s", m->case_id);
    if (strcmp(ev->publisher, a->settings.intake_principal) != 0)
        asm_problem(p, "", "not_from_intake",
                    "intake.underretning.registered is taken only from the intake service "
                    "(principal \"%s\"), "
                    "not from \"%s\"",
                    a->settings.intake_principal, ev->publisher);
    if (!id_ok(m->underretning_id))
        asm_problem(p, "underretning_id", "missing_field",
                    "underretning_id is required (1-%d characters)", ASM_ID_MAX);
    if (!id_ok(m->case_id))
        asm_problem(p, "case_id", "missing_field", "case_id is required (1-%d characters)",
                    ASM_ID_MAX);
    if (!asm_ts_ok(m->received_at))
        asm_problem(p, "received_at", "missing_field", "received_at is required");
    if (p->n) {
        asm_work_refuse(w);
        return;
    }
    /* The case is made by its first underretning; then locked like every other. */
    const char *child_cpr = NULL;
    tr_cpr_t cpr;
    if (m->child && m->child->cpr[0] && tr_cpr_parse(m->child->cpr, &cpr, NULL) == 0)
        child_cpr = cpr.digits;
    const char *values[3] = {m->case_id, ev->municipality, child_cpr};
    if (tr_handling_query(
            h,
            "INSERT INTO assessment.sag (case_id, municipality, cpr) VALUES ($1, $2, $3)"
            " ON CONFLICT (case_id) DO NOTHING",
            3, values, NULL, NULL) < 0) {
        asm_work_finish(w, "cannot queue the case");
        return;
    }
    const char *part[1] = {m->underretning_id};
    asm_case_load(w, m->case_id, "SELECT 1 FROM assessment.underretning WHERE underretning_id = $1",
                  1, part, registered_decide);
}

/* ---- intake.triage.completed ----------------------------------------------------------------- */

static const char triage_sql[] =
    "SELECT u.case_id, u.triage_event_id IS NOT NULL, (extract(epoch FROM u.received_at) * "
    "1000000)::bigint,"
    "  u.abuse_case, u.parents_suspected, u.team, u.investigation_id, coalesce(s.cpr, ''), "
    "s.child_name,"
    "  s.birth_date"
    " FROM assessment.underretning u JOIN assessment.sag s ON s.case_id = u.case_id"
    " WHERE u.underretning_id = $1";

/* An abuse case's triage (Barnets Lov §137 stk. 2-4, §20 stk. 1), refused for the same reasons
 * and with the same codes as trivsel-intake refuses it: both services see the same
 * intake.triage.completed, and a triage intake refuses must not be recorded here, or the
 * corrected one that follows would be refused here as a second triage. */
static void abuse_triage_check(const Trivsel__Intake__TriageCompleted *m, bool parents_suspected,
                               asm_problems_t *p)
{
    if (!m->boernesamtale_plan || !m->boernesamtale_plan[0])
        asm_problem(p, "boernesamtale_plan", "missing_boernesamtale_plan",
                    "the plan for the børnesamtale (mandatory when violence or sexual abuse is "
                    "suspected, Barnets Lov §137) is missing");
    if (!m->parents_not_told)
        asm_problem(p, "parents_not_told", "parents_not_told_unconfirmed", "%s",
                    parents_suspected
                        ? "the parents may be the abusers: the triage must confirm that they "
                          "were not told (parents_not_told, Barnets Lov §137)"
                        : "violence or sexual abuse is suspected: the triage must confirm that "
                          "the parents were not told (parents_not_told, Barnets Lov §137)");
    if (m->outcome != TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE)
        asm_problem(p, "outcome", "investigation_required",
                    "a børnefaglig undersøgelse is mandatory when violence or sexual abuse is "
                    "suspected (Barnets Lov §20 stk. 1): the outcome must be "
                    "TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE");
}

static void triage_decide(asm_work_t *w)
{
    const Trivsel__Intake__TriageCompleted *m = (const void *)w->msg;
    asm_problems_t *p = &w->problems;
    PGresult *r = w->loaded;
    if (!w->sag.known || PQntuples(r) != 1) {
        asm_problem(p, "underretning_id", "unknown_underretning",
                    "unknown underretning \"%s\" in municipality %s", m->underretning_id,
                    w->ev->municipality);
        asm_work_refuse(w);
        return;
    }
    if (m->case_id[0] && strcmp(m->case_id, PQgetvalue(r, 0, 0)) != 0)
        asm_problem(p, "case_id", "case_mismatch", "underretning %s is on case %s, not \"%s\"",
                    m->underretning_id, PQgetvalue(r, 0, 0), m->case_id);
    if (asm_col_bool(r, 0, 1))
        asm_problem(p, "underretning_id", "already_triaged",
                    "underretning %s has been triaged already", m->underretning_id);
    if (asm_col_bool(r, 0, 3))
        abuse_triage_check(m, asm_col_bool(r, 0, 4), p);
    if (p->n) {
        asm_work_refuse(w);
        return;
    }
    const char *case_id = PQgetvalue(r, 0, 0);
    const Trivsel__Employee *by = m->triaged_by;
    char triaged[40];
    asm_us_text(asm_ts_us(m->triaged_at), triaged);
    const char *values[10] = {
        m->underretning_id,
        w->ev->event_id,
        triaged,
        by && by->id ? by->id : "",
        by && by->name ? by->name : "",
        asm_enum_name(&trivsel__intake__triage_outcome__descriptor, m->outcome),
        m->child_in_danger_present_case ? (m->child_in_danger ? "true" : "false") : NULL,
        m->acute_measures_needed_present_case ? (m->acute_measures_needed ? "true" : "false")
                                              : NULL,
        m->acute_measures,
        m->reasons,
    };
    int rc = tr_handling_query(
        w->h,
        "UPDATE assessment.underretning SET triage_event_id = $2, triaged_at = $3::timestamptz,"
        " triaged_by_id = $4, triaged_by_name = $5, triage_outcome = $6,"
        " child_in_danger = $7::boolean, acute_measures_needed = $8::boolean,"
        " acute_measures = $9, triage_reasons = $10 WHERE underretning_id = $1",
        10, values, NULL, NULL);
    const char *team = by && by->team && by->team[0] ? by->team : PQgetvalue(r, 0, 5);
    bool has_investigation = !PQgetisnull(r, 0, 6);
    if (rc == 0 &&
        m->outcome == TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE &&
        !has_investigation) {
        Trivsel__Child child = TRIVSEL__CHILD__INIT;
        child.cpr = PQgetvalue(r, 0, 7);
        child.name = PQgetvalue(r, 0, 8);
        child.birth_date = PQgetvalue(r, 0, 9);
        asm_opening_t o = {.case_id = case_id,
                           .underretning_id = m->underretning_id,
                           .because = "triage",
                           .aware_at_us = asm_col_us(r, 0, 2),
                           .abuse_case = asm_col_bool(r, 0, 3),
                           .parents_suspected = asm_col_bool(r, 0, 4),
                           .caseworker_id = by ? by->id : "",
                           .caseworker_name = by ? by->name : "",
                           .team = team,
                           .child = &child};
        rc = asm_investigation_open(w, &o);
    } else if (rc == 0 && has_investigation && by) {
        /* An abuse case's investigation opened at registration, before anyone triaged it: the
         * triaging caseworker becomes its caseworker. */
        const char *v[4] = {PQgetvalue(r, 0, 6), by->id, by->name, team};
        rc = tr_handling_query(
            w->h,
            "UPDATE assessment.investigation SET caseworker_id = $2, caseworker_name = $3,"
            " team = CASE WHEN team = '' THEN $4 ELSE team END"
            " WHERE investigation_id = $1::uuid AND caseworker_id = '' AND caseworker_name = ''",
            4, v, NULL, NULL);
    }
    if (rc < 0) {
        asm_work_finish(w, "cannot queue the triage");
        return;
    }
    asm_work_finish(w, NULL);
}

static void triage_case_cb(PGresult *res, const char *error, void *arg)
{
    asm_work_t *w = arg;
    const Trivsel__Intake__TriageCompleted *m = (const void *)w->msg;
    if (error) {
        asm_work_finish(w, error);
        return;
    }
    if (PQntuples(res) != 1) {
        snprintf(w->sag.case_id, sizeof w->sag.case_id, "%s", m->case_id);
        asm_problem(&w->problems, "underretning_id", "unknown_underretning",
                    "unknown underretning \"%s\" in municipality %s", m->underretning_id,
                    w->ev->municipality);
        asm_work_refuse(w);
        return;
    }
    char case_id[ASM_ID_MAX + 1];
    asm_col_text(res, 0, 0, case_id, sizeof case_id);
    const char *values[1] = {m->underretning_id};
    asm_case_load(w, case_id, triage_sql, 1, values, triage_decide);
}

void asm_triage_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    asm_t *a = arg;
    asm_work_t *w = asm_work_new(a, h, ev, &trivsel__intake__triage_completed__descriptor);
    if (!w) {
        tr_handling_done(h, "out of memory");
        return;
    }
    if (w->problems.n) {
        asm_work_refuse(w);
        return;
    }
    const Trivsel__Intake__TriageCompleted *m = (const void *)w->msg;
    asm_problems_t *p = &w->problems;
    snprintf(w->sag.case_id, sizeof w->sag.case_id, "%s", m->case_id);
    if (!id_ok(m->underretning_id))
        asm_problem(p, "underretning_id", "missing_field",
                    "underretning_id is required (1-%d characters)", ASM_ID_MAX);
    if (!asm_ts_ok(m->triaged_at))
        asm_problem(p, "triaged_at", "missing_field", "triaged_at is required");
    if (m->outcome == TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_UNSPECIFIED)
        asm_problem(p, "outcome", "missing_field", "outcome is required");
    if (p->n) {
        asm_work_refuse(w);
        return;
    }
    /* The case is found through the underretning (the triage may leave case_id empty). */
    const char *values[1] = {m->underretning_id};
    if (tr_handling_query(h,
                          "SELECT case_id FROM assessment.underretning WHERE underretning_id = $1",
                          1, values, triage_case_cb, w) < 0)
        asm_work_finish(w, "cannot queue the triage's query");
}
