/* phases.c — the case's state and its casework phase (seed 003: "Sagen starter. Sagen oplyses.
 * Sagen overvejes. Sagen afgøres og meddeles. Der foretages en evaluering og opfølgning."), and
 * which inbound event fits which phase. An event that does not fit is refused with the reason;
 * nothing of it is applied.
 *
 *   started      an underretning is registered (intake.underretning.registered)
 *   informed     a børnefaglig undersøgelse runs (opened from a triage, or for an abuse case)
 *   considered   the investigation is concluded (needs a børnesamtale or why not)
 *   decided      a decision is registered (needs a concluded investigation, unless the triage
 *                found acute measures needed; then the investigation runs on alongside and the
 *                phase stays informed until it is concluded)
 *   followed_up  a follow-up was held (assessment.plan.recorded with followup_held_at)
 *
 * A new investigation takes the case back to informed, whatever phase it was in. Scores may be
 * recorded in every phase (a follow-up scores the child too), but not on a concluded
 * investigation. Also here: the life of one inbound event's work, and loading the case. */
#include <stdlib.h>
#include <string.h>

#include "assessment.h"
#include "log.h"

static const char *const keys[] = {"",           "started", "informed",
                                   "considered", "decided", "followed_up"};
/* For people, as the casework standard names them. */
static const char *const names[] = {"unknown",
                                    "sagen starter",
                                    "sagen oplyses",
                                    "sagen overvejes",
                                    "sagen afgøres og meddeles",
                                    "evaluering og opfølgning"};

const char *asm_phase_key(asm_phase_t phase)
{
    return phase >= ASM_PHASE_STARTED && phase <= ASM_PHASE_FOLLOWED_UP ? keys[phase] : "";
}

asm_phase_t asm_phase_from_key(const char *key)
{
    for (int p = ASM_PHASE_STARTED; p <= ASM_PHASE_FOLLOWED_UP; p++)
        if (strcmp(key, keys[p]) == 0)
            return (asm_phase_t)p;
    return ASM_PHASE_UNKNOWN;
}

static const char *phase_name(asm_phase_t phase)
{
    return phase >= ASM_PHASE_STARTED && phase <= ASM_PHASE_FOLLOWED_UP ? names[phase] : names[0];
}

int asm_phase_set(asm_work_t *w, const char *case_id, asm_phase_t phase)
{
    const char *values[2] = {case_id, asm_phase_key(phase)};
    return tr_handling_query(
        w->h, "UPDATE assessment.sag SET phase = $2, updated_at = now() WHERE case_id = $1", 2,
        values, NULL, NULL);
}

/* ---- the rules ------------------------------------------------------------------------------ */

void asm_phase_check_conversation(asm_work_t *w, bool investigation_concluded)
{
    if (investigation_concluded)
        asm_problem(
            &w->problems, "investigation_id", "investigation_concluded",
            "the investigation is concluded (phase: %s): a børnesamtale belongs to a running "
            "børnefaglig undersøgelse",
            phase_name(w->sag.phase));
}

void asm_phase_check_conclusion(asm_work_t *w, bool investigation_concluded)
{
    if (investigation_concluded)
        asm_problem(&w->problems, "investigation_id", "investigation_concluded",
                    "the investigation is concluded already (phase: %s)", phase_name(w->sag.phase));
}

void asm_phase_check_score(asm_work_t *w, bool investigation_concluded)
{
    if (investigation_concluded)
        asm_problem(&w->problems, "investigation_id", "investigation_concluded",
                    "the investigation is concluded (phase: %s): record the score without "
                    "investigation_id, "
                    "e.g. as part of a follow-up",
                    phase_name(w->sag.phase));
}

void asm_phase_check_decision(asm_work_t *w)
{
    const asm_case_t *c = &w->sag;
    if (c->acute_measures_needed)
        return; /* the triage found acute measures needed: a decision may come first */
    if (c->running)
        asm_problem(&w->problems, "investigation_id", "investigation_not_concluded",
                    "the børnefaglig undersøgelse %s is not concluded (phase: %s): a decision must "
                    "wait for "
                    "its conclusion unless the triage found acute measures needed",
                    c->running_id, phase_name(c->phase));
    else if (!c->any_concluded)
        asm_problem(&w->problems, "", "no_investigation_concluded",
                    "no børnefaglig undersøgelse has been concluded on case %s (phase: %s): a "
                    "decision rests on "
                    "one unless the triage found acute measures needed",
                    c->case_id, phase_name(c->phase));
}

/* ---- the work on one event ------------------------------------------------------------------ */

asm_work_t *asm_work_new(asm_t *a, tr_handling_t *h, const Trivsel__Envelope *ev,
                         const ProtobufCMessageDescriptor *desc)
{
    asm_work_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->a = a;
    w->h = h;
    w->ev = ev;
    if (!ev->type || strcmp(ev->type, desc->name) != 0) {
        asm_problem(&w->problems, "", "wrong_type", "the payload of %s must be a %s, not \"%s\"",
                    ev->subject, desc->name, ev->type ? ev->type : "");
        return w;
    }
    w->msg = protobuf_c_message_unpack(desc, NULL, ev->payload.len, ev->payload.data);
    if (!w->msg)
        asm_problem(&w->problems, "", "malformed_payload", "the payload does not decode as a %s",
                    desc->name);
    return w;
}

void asm_work_finish(asm_work_t *w, const char *error)
{
    tr_handling_t *h = w->h;
    if (w->msg)
        protobuf_c_message_free_unpacked(w->msg, NULL);
    if (w->loaded)
        PQclear(w->loaded);
    asm_problems_release(&w->problems);
    free(w);
    tr_handling_done(h, error);
}

/* The case's state, locked: the most recent investigation (the running one first). */
static const char case_sql[] =
    "SELECT s.municipality, s.phase,"
    "  EXISTS (SELECT FROM assessment.underretning u WHERE u.case_id = s.case_id AND u.abuse_case),"
    "  EXISTS (SELECT FROM assessment.underretning u WHERE u.case_id = s.case_id AND "
    "u.parents_suspected),"
    "  i.investigation_id, i.concluded_at IS NULL, to_char(i.due_date, 'YYYY-MM-DD'), i.abuse_case,"
    "  i.parents_suspected, i.caseworker_id, i.caseworker_name,"
    "  coalesce(nullif(i.team, ''), (SELECT u.team FROM assessment.underretning u WHERE u.case_id "
    "= s.case_id"
    "                               ORDER BY u.received_at DESC LIMIT 1), ''),"
    "  EXISTS (SELECT FROM assessment.investigation c WHERE c.case_id = s.case_id AND "
    "c.concluded_at IS NOT NULL),"
    "  EXISTS (SELECT FROM assessment.underretning u WHERE u.case_id = s.case_id AND "
    "u.acute_measures_needed"
    "          AND u.received_at > coalesce((SELECT max(c.concluded_at) FROM "
    "assessment.investigation c"
    "                                        WHERE c.case_id = s.case_id), "
    "'-infinity'::timestamptz)),"
    "  (extract(epoch FROM i.aware_at) * 1000000)::bigint"
    " FROM assessment.sag s"
    " LEFT JOIN LATERAL (SELECT * FROM assessment.investigation x WHERE x.case_id = s.case_id"
    "                    ORDER BY x.concluded_at IS NULL DESC, x.opened_at DESC LIMIT 1) i ON true"
    " WHERE s.case_id = $1 FOR UPDATE OF s";

typedef struct load {
    asm_work_t *w;
    bool part;
} load_t;

static void case_cb(PGresult *res, const char *error, void *arg)
{
    load_t *l = arg;
    asm_work_t *w = l->w;
    bool part = l->part;
    free(l);
    if (error) {
        if (!part) /* otherwise the part's query fails too, and finishes */
            asm_work_finish(w, error);
        return;
    }
    asm_case_t *c = &w->sag;
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), w->ev->municipality) == 0) {
        c->known = true;
        snprintf(c->municipality, sizeof c->municipality, "%s", PQgetvalue(res, 0, 0));
        c->phase = asm_phase_from_key(PQgetvalue(res, 0, 1));
        c->abuse_case = asm_col_bool(res, 0, 2);
        c->parents_suspected = asm_col_bool(res, 0, 3);
        c->running = !PQgetisnull(res, 0, 4) && asm_col_bool(res, 0, 5);
        if (c->running) {
            asm_col_text(res, 0, 4, c->running_id, sizeof c->running_id);
            tr_calendar_parse_date(PQgetvalue(res, 0, 6), &c->running_due, NULL);
            c->running_abuse_case = asm_col_bool(res, 0, 7);
            c->running_parents_suspected = asm_col_bool(res, 0, 8);
            c->running_aware_at_us = asm_col_us(res, 0, 14);
        }
        asm_col_text(res, 0, 9, c->caseworker_id, sizeof c->caseworker_id);
        asm_col_text(res, 0, 10, c->caseworker_name, sizeof c->caseworker_name);
        asm_col_text(res, 0, 11, c->team, sizeof c->team);
        c->any_concluded = asm_col_bool(res, 0, 12);
        c->acute_measures_needed = asm_col_bool(res, 0, 13);
    }
    if (!part)
        w->decide(w);
}

static void part_cb(PGresult *res, const char *error, void *arg)
{
    load_t *l = arg;
    asm_work_t *w = l->w;
    free(l);
    if (error) {
        asm_work_finish(w, error);
        return;
    }
    /* The result is freed by pg after this callback: keep a copy for decide. */
    w->loaded = PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
    if (!w->loaded) {
        asm_work_finish(w, "out of memory");
        return;
    }
    w->decide(w);
}

static void part_not_queued(asm_work_t *w)
{
    asm_work_finish(
        w, "cannot queue the query (the database connection is closing, or out of memory)");
}

void asm_case_load(asm_work_t *w, const char *case_id, const char *part_sql, int nparams,
                   const char *const *values, asm_work_fn decide)
{
    snprintf(w->sag.case_id, sizeof w->sag.case_id, "%s", case_id);
    w->decide = decide;
    load_t *l = calloc(1, sizeof *l);
    if (!l) {
        asm_work_finish(w, "out of memory");
        return;
    }
    l->w = w;
    l->part = part_sql != NULL;
    const char *case_values[1] = {case_id};
    if (tr_handling_query(w->h, case_sql, 1, case_values, case_cb, l) < 0) {
        free(l);
        asm_work_finish(w, "cannot queue the case's query");
        return;
    }
    if (!part_sql)
        return;
    load_t *p = calloc(1, sizeof *p);
    if (p) {
        p->w = w;
        p->part = true;
    }
    if (!p || tr_handling_query(w->h, part_sql, nparams, values, part_cb, p) < 0) {
        /* The case's query is queued and its callback will come: let it end the work. */
        free(p);
        l->part = false;
        w->decide = part_not_queued;
    }
}
