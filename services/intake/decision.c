/* decision.c — assessment.decision.registered: intake keeps the measures granted on the child's
 * case, because an underretning on a child with an active support measure or placement
 * requires a genvurdering (Barnets Lov §137 stk. 1, underretning.c), and tells
 * public-employee reporters that a measure was decided (orientation.c).
 *
 * A grant adds its measures (from their start date, or the decision's date when they give
 * none, to their end date or open-ended); a change replaces the period of the active measure
 * with the same legal basis (or adds it); an end ends the active measures with its legal bases
 * on their end date, or on the decision's date. A refusal changes nothing. The decision's date
 * is the Danish date of notified_at (or of the event's occurred-at). */
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "log.h"

typedef struct decision {
    intake_t *in;
    tr_handling_t *h;
    const Trivsel__Envelope *ev;
    Trivsel__Assessment__DecisionRegistered *m;
    int64_t known_us;
    char date[TR_CALENDAR_DATE_LEN];
} decision_t;

static void finish(decision_t *d, const char *error)
{
    tr_handling_t *h = d->h;
    if (d->m)
        trivsel__assessment__decision_registered__free_unpacked(d->m, NULL);
    free(d);
    tr_handling_done(h, error);
}

static void orientation_done(tr_handling_t *h, const char *error, void *arg)
{
    (void)h;
    finish(arg, error);
}

static void ignore_cb(PGresult *res, const char *error, void *arg)
{
    (void)res;
    (void)error;
    (void)arg;
}

static void stored_cb(PGresult *res, const char *error, void *arg)
{
    decision_t *d = arg;
    (void)res;
    if (error) {
        finish(d, error);
        return;
    }
    tr_log_info("decision's measures recorded", TR_LOG_STR("decision_id", d->m->decision_id),
                TR_LOG_STR("case_id", d->m->case_id),
                TR_LOG_STR("kind", intake_enum_name(&trivsel__assessment__decision_kind__descriptor,
                                                    (int)d->m->kind)),
                TR_LOG_INT("measures", (long long)d->m->n_measures));
    if (d->m->kind != TRIVSEL__ASSESSMENT__DECISION_KIND__DECISION_KIND_GRANT ||
        d->m->n_measures == 0) {
        finish(d, NULL);
        return;
    }
    /* The underretninger of the 12 months before the decision are the ones it answers. */
    char since[40];
    intake_us_text(intake_twelve_months_before(d->known_us), since);
    intake_orientation_outcome(
        d->in, d->h, d->ev->municipality,
        "u.case_id = $1::uuid AND u.received_at <= $2::timestamptz", d->m->case_id, since,
        TRIVSEL__INTAKE__ORIENTATION_OUTCOME__ORIENTATION_OUTCOME_MEASURE_DECIDED, d->known_us,
        d->ev->event_id, orientation_done, d);
}

/* A measure's date, or def when it gives none; NULL (and a log line) when it is not a date. */
static const char *measure_date(decision_t *d, const char *text, const char *def)
{
    tr_date_t x;
    if (!text[0])
        return def;
    if (tr_calendar_parse_date(text, &x, NULL) < 0) {
        tr_log_warn("a measure's date is not a date; taken as not given",
                    TR_LOG_STR("decision_id", d->m->decision_id));
        return def;
    }
    return text;
}

static int store_measure(decision_t *d, const Trivsel__Measure *m)
{
    char basis[16];
    snprintf(basis, sizeof basis, "%d", (int)m->legal_basis);
    const char *start = measure_date(d, m->start_date, d->date);
    const char *end = measure_date(d, m->end_date, NULL);
    const char *description = intake_text_ok(m->description, INTAKE_MAX_CONCERN) ? m->description
                                                                                 : "";
    const char *values[6] = {d->m->case_id, d->m->decision_id, basis, description, start, end};
    switch (d->m->kind) {
    case TRIVSEL__ASSESSMENT__DECISION_KIND__DECISION_KIND_GRANT:
        return tr_handling_query(
            d->h,
            "INSERT INTO intake.measure (case_id, decision_id, legal_basis, description,"
            " start_date, end_date)"
            " SELECT $1::uuid, $2, $3::integer, $4, $5::date, $6::date WHERE NOT EXISTS ("
            "  SELECT FROM intake.measure WHERE case_id = $1::uuid AND decision_id = $2"
            "   AND legal_basis = $3::integer)",
            6, values, ignore_cb, NULL);
    case TRIVSEL__ASSESSMENT__DECISION_KIND__DECISION_KIND_CHANGE:
        return tr_handling_query(
            d->h,
            "WITH changed AS ("
            "  UPDATE intake.measure SET start_date = $5::date, end_date = $6::date,"
            "   description = CASE WHEN $4 = '' THEN description ELSE $4 END"
            "   WHERE case_id = $1::uuid AND legal_basis = $3::integer"
            "     AND (end_date IS NULL OR end_date >= $5::date) RETURNING 1)"
            " INSERT INTO intake.measure (case_id, decision_id, legal_basis, description,"
            " start_date, end_date)"
            " SELECT $1::uuid, $2, $3::integer, $4, $5::date, $6::date"
            "  WHERE NOT EXISTS (SELECT FROM changed)",
            6, values, ignore_cb, NULL);
    case TRIVSEL__ASSESSMENT__DECISION_KIND__DECISION_KIND_END: {
        const char *ev[4] = {d->m->case_id, basis, end ? end : d->date, d->date};
        return tr_handling_query(
            d->h,
            "UPDATE intake.measure SET end_date = $3::date"
            " WHERE case_id = $1::uuid AND legal_basis = $2::integer"
            "   AND (end_date IS NULL OR end_date > $3::date) AND $4::date IS NOT NULL",
            4, ev, ignore_cb, NULL);
    }
    default: return 0;
    }
}

static void case_cb(PGresult *res, const char *error, void *arg)
{
    decision_t *d = arg;
    if (error) {
        finish(d, error);
        return;
    }
    if (PQntuples(res) != 1) {
        intake_ignore(d->in, d->ev, "unknown_case", "no such case in this municipality");
        finish(d, NULL);
        return;
    }
    int rc = 0;
    for (size_t i = 0; i < d->m->n_measures && rc == 0; i++)
        rc = store_measure(d, d->m->measures[i]);
    if (rc == 0)
        rc = tr_handling_query(d->h, "SELECT 1", 0, NULL, stored_cb, d);
    if (rc < 0)
        finish(d, tr_strerror(rc));
}

void intake_decision_registered_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    decision_t *d = calloc(1, sizeof *d);
    if (!d) {
        tr_handling_done(h, "out of memory");
        return;
    }
    d->in = arg;
    d->h = h;
    d->ev = ev;
    d->m = trivsel__assessment__decision_registered__unpack(NULL, ev->payload.len,
                                                            ev->payload.data);
    if (!d->m || !intake_is_uuid(d->m->case_id) ||
        !intake_text_ok(d->m->decision_id, INTAKE_MAX_REFERENCE)) {
        intake_ignore(d->in, ev, !d->m ? "malformed_payload" : "unknown_case",
                      !d->m ? "the payload does not decode"
                            : "the case id is not one intake gives");
        finish(d, NULL);
        return;
    }
    const Google__Protobuf__Timestamp *when = intake_timestamp_valid(d->m->notified_at)
                                                  ? d->m->notified_at
                                              : intake_timestamp_valid(ev->occurred_at)
                                                  ? ev->occurred_at
                                                  : NULL;
    d->known_us = when ? intake_timestamp_us(when) : intake_now_us();
    tr_calendar_format_date(intake_local_date(d->known_us), d->date);
    const char *values[2] = {d->m->case_id, ev->municipality};
    if (tr_handling_query(
            h, "SELECT 1 FROM intake.sag WHERE id = $1::uuid AND municipality = $2 FOR UPDATE", 2,
            values, case_cb, d) < 0)
        finish(d, "cannot query the case");
}
