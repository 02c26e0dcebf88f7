/* refusal.c — an inbound event that does not fit is refused, never half-applied: every problem
 * found is named (field, code, message for people), the refusal is recorded in
 * assessment.refused_event in the event's own transaction, counted and logged (ids and codes
 * only: no personal data in logs), and announced to the sender on assessment.event.refused once
 * the catalogue knows that subject. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "assessment.h"
#include "log.h"
#include "utf8.h"

void asm_problem(asm_problems_t *p, const char *field, const char *code, const char *fmt, ...)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4;
        Trivsel__Problem **items = realloc(p->items, cap * sizeof *items);
        if (!items)
            return;
        p->items = items;
        p->cap = cap;
    }
    Trivsel__Problem *x = malloc(sizeof *x);
    if (!x)
        return;
    trivsel__problem__init(x);
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* Made from outside input, perhaps cut in the middle of a character: it goes out in an event. */
    tr_utf8_repair(text);
    x->field = strdup(field);
    x->code = strdup(code);
    x->problem = strdup(text);
    if (!x->field || !x->code || !x->problem) {
        /* Out of memory: the problem is lost, not the refusal (asm_work_refuse never refuses
         * without a reason, and fails the handling when it cannot record one). */
        free(x->field);
        free(x->code);
        free(x->problem);
        free(x);
        return;
    }
    p->items[p->n++] = x;
}

void asm_problems_release(asm_problems_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        Trivsel__Problem *x = p->items[i];
        free(x->field);
        free(x->code);
        free(x->problem);
        free(x);
    }
    free(p->items);
    p->items = NULL;
    p->n = p->cap = 0;
}

static char *problems_json(const asm_problems_t *p)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < p->n; i++)
        json_array_append_new(arr,
                              json_pack("{s:s, s:s, s:s}", "field", p->items[i]->field, "problem",
                                        p->items[i]->problem, "code", p->items[i]->code));
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

static void refused_cb(PGresult *res, const char *error, void *arg)
{
    (void)res;
    (void)error; /* an error aborts the transaction; the commit reports it */
    (void)arg;
}

void asm_work_refuse(asm_work_t *w)
{
    asm_t *a = w->a;
    const Trivsel__Envelope *ev = w->ev;
    if (w->problems.n == 0) { /* out of memory: try the event again rather than refuse it mutely */
        asm_work_finish(w, "no problem recorded for a refusal (out of memory)");
        return;
    }
    /* Refusals of intake's events are intake's to answer (intake.*.refused); assessment
     * announces those of its own inbound subjects. */
    bool announce = a->announce_refusals && strncmp(ev->subject, "assessment.", 11) == 0;
    char *problems = problems_json(&w->problems);
    if (!problems) {
        asm_work_finish(w, "out of memory");
        return;
    }
    const char *phase = w->sag.known ? asm_phase_key(w->sag.phase) : "";
    const char *values[7] = {ev->publisher,
                             ev->event_id,
                             ev->subject,
                             w->sag.case_id,
                             phase,
                             problems,
                             announce ? "true" : "false"};
    int rc = tr_handling_query(
        w->h,
        "INSERT INTO assessment.refused_event"
        " (publisher, event_id, subject, case_id, phase, problems, announced)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::boolean) ON CONFLICT DO NOTHING",
        7, values, refused_cb, NULL);
    free(problems);
    if (rc < 0) {
        asm_work_finish(w, "cannot queue the refusal");
        return;
    }
    if (announce) {
        Trivsel__Assessment__EventRefused r = TRIVSEL__ASSESSMENT__EVENT_REFUSED__INIT;
        r.refused_event_id = ev->event_id;
        r.refused_subject = ev->subject;
        r.refused_publisher = ev->publisher;
        r.case_id = w->sag.case_id;
        r.problems = w->problems.items;
        r.n_problems = w->problems.n;
        r.phase = w->sag.known ? (Trivsel__Assessment__CasePhase)w->sag.phase
                               : TRIVSEL__ASSESSMENT__CASE_PHASE__CASE_PHASE_UNSPECIFIED;
        r.abuse_case = w->sag.known && w->sag.abuse_case;
        char id[100];
        asm_event_id(ev, "event.refused", id);
        tr_error_t err = {0};
        if (asm_emit((asm_out_t){.handling = w->h}, id, ASM_REFUSED_SUBJECT, ev->municipality,
                     w->sag.case_id, asm_now_us(), &r.base, &err) < 0) {
            asm_work_finish(w, err.message);
            return;
        }
    }
    char codes[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < w->problems.n; i++) {
        tr_metric_inc(tr_metrics_counter(
            a->metrics, "trivsel_assessment_refused_total",
            "Inbound events refused, by subject and problem code (an event with several "
            "problems counts once per problem).",
            "subject", ev->subject, "code", w->problems.items[i]->code, NULL));
        int n = snprintf(codes + used, sizeof codes - used, "%s%s", i ? "," : "",
                         w->problems.items[i]->code);
        if (n > 0 && (size_t)n < sizeof codes - used)
            used += (size_t)n;
    }
    tr_log_warn("event refused", TR_LOG_STR("subject", ev->subject),
                TR_LOG_STR("event_id", ev->event_id), TR_LOG_STR("publisher", ev->publisher),
                TR_LOG_STR("case_id", w->sag.case_id), TR_LOG_STR("codes", codes),
                TR_LOG_INT("announced", announce));
    asm_work_finish(w, NULL);
}
