/* conversation.c — the child's own view (Barnets Lov §5 stk. 3): a børnesamtale held (when, by
 * whom, with or without the parents), or the reason it was not held. It belongs to a running
 * investigation, which cannot conclude without one. In an abuse case where the parents are
 * suspected (§137 stk. 2-4) it is held without them: a conversation recorded with the parents
 * present is refused. */
#include <stdlib.h>
#include <string.h>

#include "assessment.h"
#include "log.h"

static const char investigation_sql[] =
    "SELECT i.investigation_id, i.case_id, i.concluded_at IS NOT NULL, i.abuse_case, "
    "i.parents_suspected"
    " FROM assessment.investigation i"
    " WHERE i.investigation_id = $1::uuid"
    "    OR ($1 IS NULL AND i.case_id = $2 AND i.concluded_at IS NULL)";

static void conversation_decide(asm_work_t *w)
{
    const Trivsel__Assessment__ChildConversationRecorded *m = (const void *)w->msg;
    asm_problems_t *p = &w->problems;
    PGresult *r = w->loaded;
    if (!w->sag.known) {
        asm_problem(p, "case_id", "unknown_case", "unknown case \"%s\" in municipality %s",
                    m->case_id, w->ev->municipality);
        asm_work_refuse(w);
        return;
    }
    if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 1), m->case_id) != 0) {
        if (m->investigation_id[0])
            asm_problem(p, "investigation_id", "unknown_investigation",
                        "unknown investigation \"%s\" on case %s", m->investigation_id, m->case_id);
        else
            asm_problem(
                p, "investigation_id", "no_investigation_running",
                "no børnefaglig undersøgelse runs on case %s: a børnesamtale is recorded in one",
                m->case_id);
        asm_work_refuse(w);
        return;
    }
    asm_phase_check_conversation(w, asm_col_bool(r, 0, 2));
    bool abuse_case = asm_col_bool(r, 0, 3), parents_suspected = asm_col_bool(r, 0, 4);
    const Trivsel__Assessment__ConversationHeld *held =
        m->result_case == TRIVSEL__ASSESSMENT__CHILD_CONVERSATION_RECORDED__RESULT_HELD ? m->held
                                                                                        : NULL;
    if (held && abuse_case && parents_suspected && held->parents_present)
        asm_problem(p, "held.parents_present", "parents_present_in_abuse_case",
                    "in an abuse case where the parents are suspected, the børnesamtale must be "
                    "held without them "
                    "(Barnets Lov §137 stk. 2-4): parents_present is true");
    if (p->n) {
        asm_work_refuse(w);
        return;
    }
    char investigation_id[37];
    asm_col_text(r, 0, 0, investigation_id, sizeof investigation_id);
    char held_at[40] = "", *held_by = NULL;
    if (held) {
        asm_us_text(asm_ts_us(held->held_at), held_at);
        /* Who talked with the child, for people: "ABJ Anne Bjerg, KLM Karin Lund". */
        size_t len = 1;
        for (size_t i = 0; i < held->n_held_by; i++)
            len += strlen(held->held_by[i]->id) + strlen(held->held_by[i]->name) + 3;
        held_by = calloc(1, len);
        if (!held_by) {
            asm_work_finish(w, "out of memory");
            return;
        }
        for (size_t i = 0; i < held->n_held_by; i++) {
            const Trivsel__Employee *e = held->held_by[i];
            if (i)
                strcat(held_by, ", ");
            strcat(held_by, e->id);
            if (e->id[0] && e->name[0])
                strcat(held_by, " ");
            strcat(held_by, e->name);
        }
    }
    const char *values[12] = {
        m->case_id,
        investigation_id,
        held ? "true" : "false",
        held ? held_at : NULL,
        held_by ? held_by : "",
        held ? (held->parents_present ? "true" : "false") : NULL,
        held && held->without_parents_consent ? "true" : "false",
        held && held->at_boernehus ? "true" : "false",
        held ? held->child_view : "",
        held ? "" : m->not_held_reason,
        m->recorded_by ? m->recorded_by->id : "",
        w->ev->event_id,
    };
    int rc = tr_handling_query(
        w->h,
        "INSERT INTO assessment.child_conversation (case_id, investigation_id, held, held_at,"
        " held_by, parents_present, without_parents_consent, at_boernehus, child_view,"
        " not_held_reason, recorded_by_id, event_id)"
        " VALUES ($1, $2::uuid, $3::boolean, $4::timestamptz, $5, $6::boolean, $7::boolean,"
        " $8::boolean, $9, $10, $11, $12)",
        12, values, NULL, NULL);
    free(held_by);
    if (rc < 0) {
        asm_work_finish(w, "cannot queue the børnesamtale");
        return;
    }
    tr_metric_inc(tr_metrics_counter(
        w->a->metrics, "trivsel_assessment_child_conversations_total",
        "Børnesamtaler recorded: held (with or without the parents) or not held.", "result",
        !held                   ? "not_held"
        : held->parents_present ? "held_with_parents"
                                : "held_without_parents",
        NULL));
    tr_log_info("børnesamtale recorded", TR_LOG_STR("investigation_id", investigation_id),
                TR_LOG_STR("case_id", m->case_id), TR_LOG_INT("held", held != NULL));
    asm_work_finish(w, NULL);
}

void asm_conversation_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    asm_t *a = arg;
    asm_work_t *w = asm_work_new(a, h, ev,
                                 &trivsel__assessment__child_conversation_recorded__descriptor);
    if (!w) {
        tr_handling_done(h, "out of memory");
        return;
    }
    if (w->problems.n) {
        asm_work_refuse(w);
        return;
    }
    const Trivsel__Assessment__ChildConversationRecorded *m = (const void *)w->msg;
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
    if (m->result_case == TRIVSEL__ASSESSMENT__CHILD_CONVERSATION_RECORDED__RESULT_HELD) {
        const Trivsel__Assessment__ConversationHeld *held = m->held;
        if (!asm_ts_ok(held->held_at))
            asm_problem(p, "held.held_at", "missing_field",
                        "held.held_at, when the børnesamtale was held, is required");
        else if (asm_ts_us(held->held_at) > asm_now_us() + a->settings.clock_skew_ms * 1000)
            asm_problem(p, "held.held_at", "in_future", "held.held_at lies in the future");
        bool someone = false;
        for (size_t i = 0; i < held->n_held_by; i++)
            someone = someone || held->held_by[i]->id[0] || held->held_by[i]->name[0];
        if (!someone)
            asm_problem(p, "held.held_by", "missing_field",
                        "held.held_by, who talked with the child, is required");
        if (held->parents_present_present_case !=
            TRIVSEL__ASSESSMENT__CONVERSATION_HELD__PARENTS_PRESENT_PRESENT_PARENTS_PRESENT)
            asm_problem(
                p, "held.parents_present", "missing_field",
                "held.parents_present is required: whether a parent was present (true or false)");
        if (strlen(held->child_view) > ASM_TEXT_MAX)
            asm_problem(p, "held.child_view", "too_long", "held.child_view is longer than %d bytes",
                        ASM_TEXT_MAX);
    } else if (m->result_case ==
               TRIVSEL__ASSESSMENT__CHILD_CONVERSATION_RECORDED__RESULT_NOT_HELD_REASON) {
        if (!m->not_held_reason[0] || strlen(m->not_held_reason) > ASM_TEXT_MAX)
            asm_problem(p, "not_held_reason", "missing_field",
                        "not_held_reason must say why the børnesamtale was not held");
    } else {
        asm_problem(
            p, "", "missing_field",
            "either held (the børnesamtale held) or not_held_reason (why it was not) is required");
    }
    if (p->n) {
        asm_work_refuse(w);
        return;
    }
    const char *values[2] = {m->investigation_id[0] ? m->investigation_id : NULL, m->case_id};
    asm_case_load(w, m->case_id, investigation_sql, 2, values, conversation_decide);
}
