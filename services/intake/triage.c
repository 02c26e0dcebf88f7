/* triage.c — the 24-hour triage (Barnets Lov §136; DOMAIN.md §1). intake.triage.completed is
 * recorded once per underretning, with by whom and when, and as late when triaged_at is after
 * triage_due_at; it closes the triage deadlines that have not fired. A triage that cannot be
 * recorded is answered by intake.triage.refused naming every problem (an unknown underretning,
 * a second triage, missing answers; in an abuse case the plan for the børnesamtale and, when
 * the parents are suspected, the confirmation that they were not told).
 *
 * The deadlines: intake.triage.due_soon TRIVSEL_INTAKE_TRIAGE_WARNING before the 24 hours end,
 * and intake.triage.overdue when they have, escalated to the team's leader. */
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "log.h"

typedef struct triage {
    intake_t *in;
    tr_handling_t *h;
    const Trivsel__Envelope *ev;
    Trivsel__Intake__TriageCompleted *t;
    char case_id[37];
    bool late;
} triage_t;

static void finish(triage_t *t, const char *error)
{
    tr_handling_t *h = t->h;
    if (t->t)
        trivsel__intake__triage_completed__free_unpacked(t->t, NULL);
    free(t);
    tr_handling_done(h, error);
}

static void ignore_cb(PGresult *res, const char *error, void *arg)
{
    (void)res;
    (void)error; /* an aborted transaction is reported by the last statement */
    (void)arg;
}

static void refuse(triage_t *t, intake_problems_t *p, bool abuse_case)
{
    Trivsel__Intake__TriageRefused refused = TRIVSEL__INTAKE__TRIAGE_REFUSED__INIT;
    char id[37];
    tr_error_t err = {0};
    refused.completed_event_id = t->ev->event_id;
    refused.underretning_id = t->t ? t->t->underretning_id : "";
    refused.case_id = t->case_id;
    refused.problems = p->items;
    refused.n_problems = p->n;
    refused.abuse_case = abuse_case;
    intake_uuid(id);
    int rc = intake_emit((intake_out_t){.handling = t->h}, id, "intake.triage.refused",
                         t->ev->municipality, t->case_id[0] ? t->case_id : t->ev->correlation_id,
                         intake_now_us(), &refused.base, &err);
    if (rc == 0) {
        intake_count_refusal(t->in, "triage", p);
        char codes[512] = "";
        for (size_t i = 0; i < p->n && strlen(codes) + 64 < sizeof codes; i++)
            snprintf(codes + strlen(codes), sizeof codes - strlen(codes), "%s%s", i ? "," : "",
                     p->items[i]->code);
        tr_log_info("triage refused", TR_LOG_STR("completed_event_id", t->ev->event_id),
                    TR_LOG_STR("publisher", t->ev->publisher), TR_LOG_STR("problems", codes));
    }
    finish(t, rc == 0 ? NULL : err.message);
}

static void orientation_done(tr_handling_t *h, const char *error, void *arg)
{
    (void)h;
    finish(arg, error);
}

static void recorded_cb(PGresult *res, const char *error, void *arg)
{
    triage_t *t = arg;
    (void)res;
    if (error) {
        finish(t, error);
        return;
    }
    const Trivsel__Intake__TriageCompleted *c = t->t;
    tr_metric_inc(t->late ? t->in->triages_late : t->in->triages_on_time);
    tr_log_info(t->late ? "triage recorded, late" : "triage recorded",
                TR_LOG_STR("underretning_id", c->underretning_id),
                TR_LOG_STR("case_id", t->case_id), TR_LOG_STR("triaged_by", c->triaged_by->id),
                TR_LOG_STR("outcome", intake_enum_name(&trivsel__intake__triage_outcome__descriptor,
                                                       (int)c->outcome)));
    /* Without an investigation the outcome for a public-employee reporter is known now; with
     * one, assessment.investigation.opened tells it. */
    if (c->outcome != TRIVSEL__INTAKE__TRIAGE_OUTCOME__TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE) {
        intake_orientation_outcome(
            t->in, t->h, t->ev->municipality, "u.id = $1::uuid", c->underretning_id, "-infinity",
            TRIVSEL__INTAKE__ORIENTATION_OUTCOME__ORIENTATION_OUTCOME_NO_INVESTIGATION_OR_MEASURE,
            intake_timestamp_us(c->triaged_at), t->ev->event_id, orientation_done, t);
        return;
    }
    finish(t, NULL);
}

static void record(triage_t *t, int64_t triage_due_us)
{
    const Trivsel__Intake__TriageCompleted *c = t->t;
    int64_t triaged_us = intake_timestamp_us(c->triaged_at);
    char triaged_at[40];
    intake_us_text(triaged_us, triaged_at);
    t->late = triaged_us > triage_due_us;

    size_t len = trivsel__intake__triage_completed__get_packed_size(c);
    uint8_t *payload = malloc(len ? len : 1);
    char *hex = malloc(2 * len + 3);
    if (!payload || !hex) {
        free(payload);
        free(hex);
        finish(t, "out of memory");
        return;
    }
    trivsel__intake__triage_completed__pack(c, payload);
    hex[0] = '\\';
    hex[1] = 'x';
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 + 2 * i, 3, "%02x", payload[i]);
    hex[2 + 2 * len] = '\0';
    free(payload);
    const char *values[8] = {c->underretning_id,
                             t->ev->event_id,
                             hex,
                             triaged_at,
                             c->triaged_by->id,
                             c->triaged_by->name,
                             intake_enum_name(&trivsel__intake__triage_outcome__descriptor,
                                              (int)c->outcome),
                             t->late ? "t" : "f"};
    int rc = tr_handling_query(
        t->h,
        "UPDATE intake.underretning SET triage_event_id = $2, triage = $3, triaged_at = $4,"
        " triaged_by_id = $5, triaged_by_name = $6, triage_outcome = $7, triage_late = $8,"
        " triage_recorded_at = now() WHERE id = $1",
        8, values, ignore_cb, NULL);
    free(hex);
    /* The warning is moot once triaged; the deadline itself is met only by a triage made by
     * then: a late one leaves it to fire (if it has not), since the 24 hours did pass. */
    const char *dv[2] = {c->underretning_id, triaged_at};
    if (rc == 0)
        rc = tr_handling_query(
            t->h,
            "UPDATE intake.deadline SET closed_at = now(), closed_reason = 'triaged'"
            " WHERE underretning_id = $1 AND fired_at IS NULL AND closed_at IS NULL"
            "   AND (kind = 'triage_due_soon' OR (kind = 'triage_overdue' AND due_at >= $2))",
            2, dv, ignore_cb, NULL);
    if (rc == 0)
        rc = tr_handling_query(t->h, "SELECT pg_notify('" INTAKE_DEADLINE_CHANNEL "', '')", 0, NULL,
                               recorded_cb, t);
    if (rc < 0)
        finish(t, tr_strerror(rc));
}

static void underretning_cb(PGresult *res, const char *error, void *arg)
{
    triage_t *t = arg;
    if (error) {
        finish(t, error);
        return;
    }
    intake_triage_context_t ctx = {0};
    const char *triagers[64];
    char *list = NULL;
    int64_t triage_due_us = 0;
    if (PQntuples(res) == 1) {
        snprintf(t->case_id, sizeof t->case_id, "%s", PQgetvalue(res, 0, 0));
        ctx.known = true;
        ctx.case_id = t->case_id;
        ctx.abuse_case = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        ctx.parents_suspected = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
        ctx.genvurdering_required = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
        ctx.received_us = intake_col_us(res, 0, 4);
        ctx.already_triaged = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
        triage_due_us = intake_col_us(res, 0, 6);
        list = strdup(PQgetvalue(res, 0, 7));
        for (char *s = list, *save = NULL, *tok;
             s && (tok = strtok_r(s, "\n", &save)) && ctx.n_earlier_triagers < 64; s = NULL)
            triagers[ctx.n_earlier_triagers++] = tok;
        ctx.earlier_triagers = triagers;
    }
    intake_problems_t p = {0};
    intake_validate_options_t o = intake_validate_options(t->in);
    intake_validate_triage(t->t, &ctx, &o, &p);
    free(list);
    if (p.n > 0) {
        refuse(t, &p, ctx.abuse_case);
        intake_problems_release(&p);
        return;
    }
    record(t, triage_due_us);
}

void intake_triage_completed_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    triage_t *t = calloc(1, sizeof *t);
    if (!t) {
        tr_handling_done(h, "out of memory");
        return;
    }
    t->in = arg;
    t->h = h;
    t->ev = ev;
    t->t = trivsel__intake__triage_completed__unpack(NULL, ev->payload.len, ev->payload.data);
    if (!t->t) {
        intake_problems_t p = {0};
        intake_problems_add(
            &p, "", "malformed_payload",
            "the payload is not a trivsel.intake.TriageCompleted (%zu bytes that do not decode)",
            ev->payload.len);
        refuse(t, &p, false);
        intake_problems_release(&p);
        return;
    }
    if (!intake_is_uuid(t->t->underretning_id)) {
        /* Not an id this service gives: unknown, without asking the database. */
        underretning_cb(NULL, NULL, t);
        return;
    }
    const char *values[2] = {t->t->underretning_id, ev->municipality};
    if (tr_handling_query(
            h,
            "SELECT u.case_id, u.abuse_case, u.parents_suspected, u.genvurdering_required,"
            " (extract(epoch FROM u.received_at) * 1000000)::bigint, u.triaged_at IS NOT NULL,"
            " (extract(epoch FROM u.triage_due_at) * 1000000)::bigint,"
            " coalesce((SELECT string_agg(DISTINCT e.triaged_by_id, E'\\n') FROM "
            "intake.underretning e"
            "   WHERE e.case_id = u.case_id AND e.id <> u.id AND e.triaged_by_id IS NOT NULL), '')"
            " FROM intake.underretning u WHERE u.id = $1::uuid AND u.municipality = $2 FOR UPDATE "
            "OF u",
            2, values, underretning_cb, t) < 0)
        finish(t, "cannot query the underretning");
}

int intake_triage_due_soon_fire(intake_t *in, intake_out_t out, const intake_deadline_row_t *row,
                                int64_t now_us, char *event_id, size_t event_id_len,
                                tr_error_t *err)
{
    (void)in;
    if (now_us >= row->triage_due_us)
        return 0; /* the 24 hours have passed too: the overdue says it, no warning after it */
    Google__Protobuf__Timestamp received_at, due_at;
    intake_timestamp(&received_at, row->received_us);
    intake_timestamp(&due_at, row->triage_due_us);
    Trivsel__Intake__TriageDueSoon m = TRIVSEL__INTAKE__TRIAGE_DUE_SOON__INIT;
    m.underretning_id = (char *)row->underretning_id;
    m.case_id = (char *)row->case_id;
    m.received_at = &received_at;
    m.triage_due_at = &due_at;
    m.team = (char *)row->team;
    m.abuse_case = row->abuse_case;
    snprintf(event_id, event_id_len, "%s/triage.due_soon", row->underretning_id);
    int rc = intake_emit(out, event_id, "intake.triage.due_soon", row->municipality, row->case_id,
                         row->due_us, &m.base, err);
    return rc < 0 ? rc : 1;
}

int intake_triage_overdue_fire(intake_t *in, intake_out_t out, const intake_deadline_row_t *row,
                               int64_t now_us, char *event_id, size_t event_id_len, tr_error_t *err)
{
    (void)now_us;
    Google__Protobuf__Timestamp received_at, due_at;
    intake_timestamp(&received_at, row->received_us);
    intake_timestamp(&due_at, row->triage_due_us);
    Trivsel__Intake__TriageOverdue m = TRIVSEL__INTAKE__TRIAGE_OVERDUE__INIT;
    Trivsel__Employee leader = TRIVSEL__EMPLOYEE__INIT;
    const intake_team_leader_t *l = intake_settings_leader(&in->settings, row->team);
    m.underretning_id = (char *)row->underretning_id;
    m.case_id = (char *)row->case_id;
    m.received_at = &received_at;
    m.triage_due_at = &due_at;
    m.team = (char *)row->team;
    m.abuse_case = row->abuse_case;
    if (l) {
        leader.id = l->id;
        leader.name = l->name;
        leader.team = l->team[0] ? l->team : (char *)row->team;
        m.escalated_to = &leader;
    }
    snprintf(event_id, event_id_len, "%s/triage.overdue", row->underretning_id);
    int rc = intake_emit(out, event_id, "intake.triage.overdue", row->municipality, row->case_id,
                         row->due_us, &m.base, err);
    return rc < 0 ? rc : 1;
}
