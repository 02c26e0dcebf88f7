/* investigation.c — the børnefaglig undersøgelse (Barnets Lov §§20-22): opened from a triage
 * whose outcome is a børnefaglig undersøgelse, and for every abuse case, where it is mandatory
 * (§20 stk. 1); due 4 months after the municipality became aware (§20 stk. 3); warned of once
 * (investigation.due_soon) and, when the 4 months pass, reported once as overdue with a
 * foreløbig vurdering required (investigation.overdue). It is concluded by
 * assessment.investigation.concluded, which needs the child's own view first (a børnesamtale
 * or why not) and, past the due date, the foreløbig vurdering.
 *
 * One investigation runs per case at a time: an underretning that calls for one while one runs
 * joins it (its 4 months do not start again), and the opened event says so (joined_running). */
#include <stdlib.h>
#include <string.h>

#include "assessment.h"
#include "log.h"

static int64_t cause_occurred_us(const Trivsel__Envelope *ev)
{
    return ev->occurred_at ? asm_ts_us(ev->occurred_at) : asm_now_us();
}

int asm_investigation_open(asm_work_t *w, const asm_opening_t *o)
{
    asm_case_t *c = &w->sag;
    const Trivsel__Envelope *ev = w->ev;
    bool join = c->running;
    char id[37], due[TR_CALENDAR_DATE_LEN], aware[40], event_id[100];
    int64_t aware_us;
    tr_date_t due_date;
    bool abuse_case = o->abuse_case, parents_suspected = o->parents_suspected;
    const char *caseworker_id = o->caseworker_id, *caseworker_name = o->caseworker_name,
               *team = o->team;
    int rc = 0;

    asm_event_id(ev, "investigation.opened", event_id);
    if (join) {
        snprintf(id, sizeof id, "%s", c->running_id);
        due_date = c->running_due;
        aware_us = c->running_aware_at_us;
        abuse_case = abuse_case || c->running_abuse_case;
        parents_suspected = parents_suspected || c->running_parents_suspected;
        caseworker_id = c->caseworker_id;
        caseworker_name = c->caseworker_name;
        team = c->team;
        const char *values[4] = {id, abuse_case ? "true" : "false",
                                 parents_suspected ? "true" : "false", o->underretning_id};
        rc = tr_handling_query(w->h,
                               "UPDATE assessment.investigation SET abuse_case = $2::boolean,"
                               " parents_suspected = $3::boolean WHERE investigation_id = $1::uuid",
                               3, values, NULL, NULL);
        if (rc == 0) {
            const char *link[2] = {id, o->underretning_id};
            rc = tr_handling_query(w->h,
                                   "UPDATE assessment.underretning SET investigation_id = $1::uuid"
                                   " WHERE underretning_id = $2",
                                   2, link, NULL, NULL);
        }
    } else {
        asm_uuid(id);
        aware_us = o->aware_at_us;
        /* Barnets Lov §20 stk. 3: finished no later than 4 months after awareness. */
        due_date = asm_investigation_due_date(aware_us / ASM_US_PER_SECOND);
        asm_date_text(due_date, due);
        asm_us_text(aware_us, aware);
        const char *values[12] = {id,
                                  o->case_id,
                                  o->underretning_id,
                                  o->because,
                                  aware,
                                  due,
                                  abuse_case ? "true" : "false",
                                  parents_suspected ? "true" : "false",
                                  caseworker_id ? caseworker_id : "",
                                  caseworker_name ? caseworker_name : "",
                                  team ? team : "",
                                  event_id};
        rc = tr_handling_query(
            w->h,
            "INSERT INTO assessment.investigation (investigation_id, case_id, underretning_id,"
            " opened_because, aware_at, due_date, abuse_case, parents_suspected, caseworker_id,"
            " caseworker_name, team, opened_event_id)"
            " VALUES ($1::uuid, $2, $3, $4, $5::timestamptz, $6::date, $7::boolean, $8::boolean,"
            " $9, $10, $11, $12)",
            12, values, NULL, NULL);
        if (rc == 0) {
            const char *link[2] = {id, o->underretning_id};
            rc = tr_handling_query(w->h,
                                   "UPDATE assessment.underretning SET investigation_id = $1::uuid"
                                   " WHERE underretning_id = $2",
                                   2, link, NULL, NULL);
        }
        if (rc == 0) {
            char soon_at[40], overdue_at[40];
            asm_us_text(asm_warning_at(due_date, w->a->settings.investigation_warning_ms) *
                            ASM_US_PER_SECOND,
                        soon_at);
            asm_us_text(asm_overdue_at(due_date) * ASM_US_PER_SECOND, overdue_at);
            const char *dl[5] = {o->case_id, id, due, soon_at, overdue_at};
            rc = tr_handling_query(
                w->h,
                "INSERT INTO assessment.deadline (kind, case_id, investigation_id, due_date, "
                "due_at)"
                " VALUES ('investigation_due_soon', $1, $2::uuid, $3::date, $4::timestamptz),"
                "        ('investigation_overdue', $1, $2::uuid, $3::date, $5::timestamptz)",
                5, dl, NULL, NULL);
        }
        if (rc == 0)
            rc = asm_phase_set(w, o->case_id, ASM_PHASE_INFORMED);
        if (rc == 0)
            rc = asm_deadlines_notify(w);
        /* The case now has this investigation running (for what the same event does next). */
        c->running = true;
        snprintf(c->running_id, sizeof c->running_id, "%s", id);
        c->running_due = due_date;
        c->running_aware_at_us = aware_us;
        c->running_abuse_case = abuse_case;
        c->running_parents_suspected = parents_suspected;
        c->phase = ASM_PHASE_INFORMED;
    }
    if (rc < 0)
        return rc;

    asm_date_text(due_date, due);
    Google__Protobuf__Timestamp aware_ts;
    asm_timestamp(&aware_ts, aware_us);
    Trivsel__Employee caseworker = TRIVSEL__EMPLOYEE__INIT;
    caseworker.id = (char *)(caseworker_id ? caseworker_id : "");
    caseworker.name = (char *)(caseworker_name ? caseworker_name : "");
    caseworker.team = (char *)(team ? team : "");
    Trivsel__Assessment__InvestigationOpened m = TRIVSEL__ASSESSMENT__INVESTIGATION_OPENED__INIT;
    m.investigation_id = id;
    m.case_id = (char *)o->case_id;
    m.underretning_id = (char *)o->underretning_id;
    m.child = (Trivsel__Child *)o->child;
    m.aware_at = &aware_ts;
    m.due_date = due;
    m.abuse_case = abuse_case;
    m.parents_suspected = parents_suspected;
    m.caseworker = caseworker.id[0] || caseworker.name[0] ? &caseworker : NULL;
    m.team = caseworker.team;
    m.joined_running = join;
    tr_error_t err = {0};
    rc = asm_emit((asm_out_t){.handling = w->h}, event_id, "assessment.investigation.opened",
                  ev->municipality, o->case_id, cause_occurred_us(ev), &m.base, &err);
    if (rc < 0) {
        tr_log_error("cannot emit assessment.investigation.opened",
                     TR_LOG_STR("error", err.message));
        return rc;
    }
    tr_metric_inc(tr_metrics_counter(
        w->a->metrics, "trivsel_assessment_investigations_opened_total",
        "Børnefaglige undersøgelser opened, by why (triage or abuse_case); joined: an "
        "underretning joined one already running.",
        "because", join ? "joined" : o->because, NULL));
    tr_log_info(join ? "underretning joined the running investigation" : "investigation opened",
                TR_LOG_STR("investigation_id", id), TR_LOG_STR("case_id", o->case_id),
                TR_LOG_STR("underretning_id", o->underretning_id), TR_LOG_STR("due_date", due),
                TR_LOG_STR("because", o->because));
    return 0;
}

/* ---- assessment.investigation.concluded ---------------------------------------------------- */

static const char concluded_sql[] =
    "SELECT i.case_id, i.concluded_at IS NOT NULL, to_char(i.due_date, 'YYYY-MM-DD'),"
    "  (extract(epoch FROM i.aware_at) * 1000000)::bigint, i.abuse_case, i.parents_suspected,"
    "  count(cc.id) FILTER (WHERE cc.held),"
    "  count(cc.id) FILTER (WHERE cc.held AND NOT cc.parents_present),"
    "  count(cc.id) FILTER (WHERE NOT cc.held)"
    " FROM assessment.investigation i"
    " LEFT JOIN assessment.child_conversation cc ON cc.investigation_id = i.investigation_id"
    " WHERE i.investigation_id = $1::uuid GROUP BY i.investigation_id";

static void concluded_decide(asm_work_t *w)
{
    const Trivsel__Assessment__InvestigationConcluded *m = (const void *)w->msg;
    asm_problems_t *p = &w->problems;
    PGresult *r = w->loaded;
    if (!w->sag.known) {
        asm_problem(p, "case_id", "unknown_case", "unknown case \"%s\" in municipality %s",
                    m->case_id, w->ev->municipality);
        asm_work_refuse(w);
        return;
    }
    if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), m->case_id) != 0) {
        asm_problem(p, "investigation_id", "unknown_investigation",
                    "unknown investigation \"%s\" on case %s", m->investigation_id, m->case_id);
        asm_work_refuse(w);
        return;
    }
    bool concluded = asm_col_bool(r, 0, 1);
    tr_date_t due;
    tr_calendar_parse_date(PQgetvalue(r, 0, 2), &due, NULL);
    int64_t aware_us = asm_col_us(r, 0, 3);
    bool abuse_case = asm_col_bool(r, 0, 4), parents_suspected = asm_col_bool(r, 0, 5);
    long held = strtol(PQgetvalue(r, 0, 6), NULL, 10),
         held_without_parents = strtol(PQgetvalue(r, 0, 7), NULL, 10),
         not_held = strtol(PQgetvalue(r, 0, 8), NULL, 10);
    asm_phase_check_conclusion(w, concluded);
    if (p->n) {
        asm_work_refuse(w);
        return;
    }
    int64_t concluded_us = asm_ts_us(m->concluded_at);
    if (concluded_us < aware_us)
        asm_problem(
            p, "concluded_at", "before_awareness",
            "concluded_at is before the municipality became aware of the case (the underretning's "
            "received_at)");
    /* §5 stk. 3: the child's own view before the conclusion; §137: in an abuse case the
     * børnesamtale is mandatory, and without the parents when they are suspected. */
    if (abuse_case && parents_suspected) {
        if (held_without_parents == 0)
            asm_problem(p, "", "boernesamtale_without_parents_missing",
                        "in an abuse case where the parents are suspected, the børnesamtale must "
                        "have been held "
                        "without them (Barnets Lov §137) before the investigation concludes: none "
                        "is recorded");
    } else if (abuse_case) {
        if (held == 0)
            asm_problem(
                p, "", "boernesamtale_required",
                "in an abuse case a børnesamtale is mandatory (Barnets Lov §137): it must have "
                "been held "
                "before the investigation concludes; a reason it was not held is not enough");
    } else if (held + not_held == 0) {
        asm_problem(p, "", "child_conversation_missing",
                    "no børnesamtale is recorded for the investigation, nor the reason it was not "
                    "held (Barnets Lov "
                    "§5 stk. 3): record assessment.child_conversation.recorded first");
    }
    char due_text[TR_CALENDAR_DATE_LEN];
    asm_date_text(due, due_text);
    tr_date_t concluded_day = asm_local_date(m->concluded_at->seconds);
    bool late = tr_calendar_compare(concluded_day, due) > 0;
    if (late && !m->foreloebig_vurdering_at)
        asm_problem(p, "foreloebig_vurdering_at", "foreloebig_vurdering_missing",
                    "the investigation ran past its due date %s (Barnets Lov §20 stk. 3): "
                    "foreloebig_vurdering_at, "
                    "when the foreløbig vurdering was made, is required",
                    due_text);
    if (p->n) {
        asm_work_refuse(w);
        return;
    }

    char concluded_text[40], foreloebig[40] = "", day[TR_CALENDAR_DATE_LEN];
    asm_us_text(concluded_us, concluded_text);
    if (m->foreloebig_vurdering_at)
        asm_us_text(asm_ts_us(m->foreloebig_vurdering_at), foreloebig);
    const Trivsel__Employee *by = m->concluded_by;
    const char *values[9] = {m->investigation_id,
                             concluded_text,
                             by && by->id ? by->id : "",
                             by && by->name ? by->name : "",
                             asm_enum_name(&trivsel__assessment__conclusion__descriptor,
                                           m->outcome),
                             m->conclusion,
                             m->siblings_considered ? "true" : "false",
                             m->foreloebig_vurdering_at ? foreloebig : NULL,
                             w->ev->event_id};
    int rc = tr_handling_query(
        w->h,
        "UPDATE assessment.investigation SET concluded_at = $2::timestamptz,"
        " concluded_by_id = $3, concluded_by_name = $4, outcome = $5, conclusion = $6,"
        " siblings_considered = $7::boolean, foreloebig_vurdering_at = $8::timestamptz,"
        " concluded_event_id = $9 WHERE investigation_id = $1::uuid",
        9, values, NULL, NULL);
    if (rc == 0) {
        const char *v[1] = {m->investigation_id};
        rc = tr_handling_query(
            w->h,
            "UPDATE assessment.deadline SET closed_at = now(), closed_reason = 'concluded'"
            " WHERE investigation_id = $1::uuid AND fired_at IS NULL AND closed_at IS NULL",
            1, v, NULL, NULL);
    }
    /* §95: a measure decided while this investigation ran is followed up first when it ends, if
     * that is before the 3 months. */
    if (rc == 0) {
        asm_date_text(concluded_day, day);
        char due_at[40], soon_at[40];
        asm_us_text(asm_overdue_at(concluded_day) * ASM_US_PER_SECOND, due_at);
        asm_us_text(asm_warning_at(concluded_day, w->a->settings.followup_warning_ms) *
                        ASM_US_PER_SECOND,
                    soon_at);
        const char *v[4] = {m->investigation_id, day, soon_at, due_at};
        rc = tr_handling_query(
            w->h,
            "WITH moved AS ("
            "  UPDATE assessment.followup f SET due_date = $2::date FROM assessment.decision d"
            "   WHERE d.decision_id = f.decision_id AND d.parallel_investigation_id = $1::uuid"
            "     AND f.first_followup AND f.held_at IS NULL AND f.due_date > $2::date"
            "  RETURNING f.id, f.decision_id),"
            " decisions AS ("
            "  UPDATE assessment.decision SET first_followup_due_date = $2::date"
            "   WHERE decision_id IN (SELECT decision_id FROM moved) RETURNING decision_id)"
            " UPDATE assessment.deadline SET due_date = $2::date,"
            "   due_at = CASE kind WHEN 'followup_due' THEN $3::timestamptz ELSE $4::timestamptz "
            "END"
            " WHERE followup_id IN (SELECT id FROM moved) AND fired_at IS NULL AND closed_at IS "
            "NULL",
            4, v, NULL, NULL);
    }
    if (rc == 0)
        rc = asm_phase_set(w, w->sag.case_id, ASM_PHASE_CONSIDERED);
    if (rc == 0)
        rc = asm_deadlines_notify(w);
    if (rc < 0) {
        asm_work_finish(w, "cannot queue the conclusion");
        return;
    }
    tr_metric_inc(
        tr_metrics_counter(w->a->metrics, "trivsel_assessment_investigations_concluded_total",
                           "Børnefaglige undersøgelser concluded, by whether within the 4 months.",
                           "within", late ? "no" : "yes", NULL));
    tr_log_info("investigation concluded", TR_LOG_STR("investigation_id", m->investigation_id),
                TR_LOG_STR("case_id", m->case_id), TR_LOG_INT("late", late));
    asm_work_finish(w, NULL);
}

void asm_concluded_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    asm_t *a = arg;
    asm_work_t *w = asm_work_new(a, h, ev,
                                 &trivsel__assessment__investigation_concluded__descriptor);
    if (!w) {
        tr_handling_done(h, "out of memory");
        return;
    }
    if (w->problems.n) {
        asm_work_refuse(w);
        return;
    }
    const Trivsel__Assessment__InvestigationConcluded *m = (const void *)w->msg;
    asm_problems_t *p = &w->problems;
    snprintf(w->sag.case_id, sizeof w->sag.case_id, "%s", m->case_id);
    if (!m->case_id[0] || strlen(m->case_id) > ASM_ID_MAX)
        asm_problem(p, "case_id", "missing_field", "case_id is required (1-%d characters)",
                    ASM_ID_MAX);
    if (!asm_is_uuid(m->investigation_id))
        asm_problem(p, "investigation_id", "unknown_investigation",
                    "investigation_id \"%.40s\" is not an investigation's id (a UUID from "
                    "assessment.investigation.opened)",
                    m->investigation_id);
    if (!asm_ts_ok(m->concluded_at))
        asm_problem(p, "concluded_at", "missing_field", "concluded_at is required");
    else if (asm_ts_us(m->concluded_at) > asm_now_us() + a->settings.clock_skew_ms * 1000)
        asm_problem(p, "concluded_at", "in_future", "concluded_at lies in the future");
    if (m->outcome != TRIVSEL__ASSESSMENT__CONCLUSION__CONCLUSION_SUPPORT_NEEDED &&
        m->outcome != TRIVSEL__ASSESSMENT__CONCLUSION__CONCLUSION_NO_SUPPORT_NEEDED)
        asm_problem(
            p, "outcome", "missing_field",
            "outcome is required: CONCLUSION_SUPPORT_NEEDED or CONCLUSION_NO_SUPPORT_NEEDED");
    if (!m->conclusion[0] || strlen(m->conclusion) > ASM_TEXT_MAX)
        asm_problem(p, "conclusion", "missing_field",
                    "conclusion, the investigation's conclusion for people, is required");
    if (m->foreloebig_vurdering_at && !asm_ts_ok(m->foreloebig_vurdering_at))
        asm_problem(p, "foreloebig_vurdering_at", "invalid_field",
                    "foreloebig_vurdering_at is out of range");
    if (p->n) {
        asm_work_refuse(w);
        return;
    }
    const char *values[1] = {m->investigation_id};
    asm_case_load(w, m->case_id, concluded_sql, 1, values, concluded_decide);
}

/* ---- the deadline events ------------------------------------------------------------------- */

int asm_investigation_deadline_event(const asm_due_t *d, asm_out_t out, const char *event_id,
                                     tr_error_t *err)
{
    Trivsel__Employee caseworker = TRIVSEL__EMPLOYEE__INIT;
    caseworker.id = (char *)d->caseworker_id;
    caseworker.name = (char *)d->caseworker_name;
    caseworker.team = (char *)d->team;
    Trivsel__Employee *cw = d->caseworker_id[0] || d->caseworker_name[0] ? &caseworker : NULL;
    if (strcmp(d->kind, "investigation_due_soon") == 0) {
        Trivsel__Assessment__InvestigationDueSoon m =
            TRIVSEL__ASSESSMENT__INVESTIGATION_DUE_SOON__INIT;
        m.investigation_id = (char *)d->investigation_id;
        m.case_id = (char *)d->case_id;
        m.due_date = (char *)d->due_date;
        m.caseworker = cw;
        m.team = (char *)d->team;
        m.abuse_case = d->abuse_case;
        return asm_emit(out, event_id, "assessment.investigation.due_soon", d->municipality,
                        d->case_id, d->due_at_us, &m.base, err);
    }
    Trivsel__Assessment__InvestigationOverdue m = TRIVSEL__ASSESSMENT__INVESTIGATION_OVERDUE__INIT;
    m.investigation_id = (char *)d->investigation_id;
    m.case_id = (char *)d->case_id;
    m.due_date = (char *)d->due_date;
    /* §20 stk. 3: past the 4 months a foreløbig vurdering is required. */
    m.foreloebig_vurdering_required = true;
    m.caseworker = cw;
    m.team = (char *)d->team;
    m.abuse_case = d->abuse_case;
    return asm_emit(out, event_id, "assessment.investigation.overdue", d->municipality, d->case_id,
                    d->due_at_us, &m.base, err);
}
