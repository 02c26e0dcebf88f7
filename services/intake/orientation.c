/* orientation.c — the orientation of a public-employee reporter (formerly SEL §155 b stk. 2;
 * DOMAIN.md §1): told whether the underretning led to an investigation or a support measure.
 * intake.orientation.due goes out as soon as the outcome is known — learned from
 * assessment.investigation.opened, from assessment.decision.registered (decision.c) or, when
 * the triage chose no investigation, from the triage itself (triage.c) — due
 * TRIVSEL_INTAKE_ORIENTATION_HVERDAGE hverdage later (the law gives no limit: the municipality
 * sets it). Each outcome is due once per underretning; intake.orientation.sent closes what is
 * open. Open orientations are listed by `trivselctl intake list`. */
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "log.h"

typedef struct outcome {
    intake_t *in;
    tr_handling_t *h;
    Trivsel__Intake__OrientationOutcome outcome;
    int64_t known_us;
    tr_date_t due;
    void (*done)(tr_handling_t *h, const char *error, void *arg);
    void *arg;
} outcome_t;

static void outcome_finish(outcome_t *o, const char *error)
{
    tr_handling_t *h = o->h;
    void (*done)(tr_handling_t *, const char *, void *) = o->done;
    void *arg = o->arg;
    free(o);
    done(h, error, arg);
}

/* The suffix of the event id per outcome: "<underretning id>/orientation.<suffix>". */
static const char *outcome_suffix(Trivsel__Intake__OrientationOutcome outcome)
{
    switch (outcome) {
    case TRIVSEL__INTAKE__ORIENTATION_OUTCOME__ORIENTATION_OUTCOME_INVESTIGATION_OPENED:
        return "investigation_opened";
    case TRIVSEL__INTAKE__ORIENTATION_OUTCOME__ORIENTATION_OUTCOME_MEASURE_DECIDED:
        return "measure_decided";
    default: return "no_investigation_or_measure";
    }
}

static void selected_cb(PGresult *res, const char *error, void *arg)
{
    outcome_t *o = arg;
    if (error) {
        outcome_finish(o, error);
        return;
    }
    char due[TR_CALENDAR_DATE_LEN];
    tr_calendar_format_date(o->due, due);
    for (int i = 0; i < PQntuples(res); i++) {
        const char *underretning_id = PQgetvalue(res, i, 0), *case_id = PQgetvalue(res, i, 1);
        Trivsel__Intake__UnderretningReceived *u = (Trivsel__Intake__UnderretningReceived *)
            intake_col_message(res, i, 4, &trivsel__intake__underretning_received__descriptor);
        if (!u) {
            outcome_finish(o, "a stored underretning does not decode");
            return;
        }
        Trivsel__Intake__OrientationDue m = TRIVSEL__INTAKE__ORIENTATION_DUE__INIT;
        m.underretning_id = (char *)underretning_id;
        m.case_id = (char *)case_id;
        m.reporter = u->reporter;
        m.outcome = o->outcome;
        m.orientation_due_date = due;
        m.abuse_case = strcmp(PQgetvalue(res, i, 3), "t") == 0;
        char event_id[100];
        tr_error_t err = {0};
        snprintf(event_id, sizeof event_id, "%s/orientation.%s", underretning_id,
                 outcome_suffix(o->outcome));
        int rc = intake_emit((intake_out_t){.handling = o->h}, event_id, "intake.orientation.due",
                             PQgetvalue(res, i, 2), case_id, o->known_us, &m.base, &err);
        trivsel__intake__underretning_received__free_unpacked(u, NULL);
        if (rc < 0) {
            outcome_finish(o, err.message);
            return;
        }
        tr_metric_inc(tr_metrics_counter(
            o->in->metrics, "trivsel_intake_orientations_due_total",
            "Orientations of public-employee reporters that fell due, by outcome.", "outcome",
            outcome_suffix(o->outcome), NULL));
        tr_log_info("orientation due", TR_LOG_STR("underretning_id", underretning_id),
                    TR_LOG_STR("outcome", outcome_suffix(o->outcome)), TR_LOG_STR("due_date", due));
    }
    outcome_finish(o, NULL);
}

void intake_orientation_outcome(intake_t *in, tr_handling_t *h, const char *municipality,
                                const char *which_sql, const char *which_value, const char *since,
                                Trivsel__Intake__OrientationOutcome outcome, int64_t known_us,
                                const char *source_event_id,
                                void (*done)(tr_handling_t *h, const char *error, void *arg),
                                void *arg)
{
    outcome_t *o = calloc(1, sizeof *o);
    if (!o) {
        done(h, "out of memory", arg);
        return;
    }
    *o = (outcome_t){
        .in = in, .h = h, .outcome = outcome, .known_us = known_us, .done = done, .arg = arg};
    o->due = intake_orientation_due_date(known_us, in->settings.orientation_hverdage);
    char sql[2048], known_at[40], due[TR_CALENDAR_DATE_LEN];
    intake_us_text(known_us, known_at);
    tr_calendar_format_date(o->due, due);
    /* which_sql is one of this program's constants, never input. */
    snprintf(sql, sizeof sql,
             "WITH u AS ("
             "  SELECT u.id, u.case_id, u.municipality, u.abuse_case, u.received, u.received_at "
             "FROM intake.underretning u"
             "   WHERE u.orientation_required AND u.municipality = $6 AND u.received_at > "
             "$7::timestamptz AND (%s)"
             "     AND NOT EXISTS (SELECT FROM intake.orientation o WHERE o.underretning_id = u.id "
             "AND o.outcome = $3)),"
             " ins AS ("
             "  INSERT INTO intake.orientation (underretning_id, outcome, known_at, due_date, "
             "source_event_id)"
             "  SELECT id, $3, $2::timestamptz, $4::date, $5 FROM u ON CONFLICT DO NOTHING "
             "RETURNING underretning_id)"
             " SELECT u.id, u.case_id, u.municipality, u.abuse_case, u.received FROM u"
             "   JOIN ins ON ins.underretning_id = u.id ORDER BY u.received_at",
             which_sql);
    const char *values[7] = {which_value,
                             known_at,
                             intake_enum_name(&trivsel__intake__orientation_outcome__descriptor,
                                              (int)outcome),
                             due,
                             source_event_id,
                             municipality,
                             since};
    if (tr_handling_query(h, sql, 7, values, selected_cb, o) < 0)
        outcome_finish(o, "cannot query the underretninger");
}

/* ---- assessment.investigation.opened ---- */

typedef struct opened {
    Trivsel__Assessment__InvestigationOpened *m;
} opened_t;

static void opened_done(tr_handling_t *h, const char *error, void *arg)
{
    opened_t *x = arg;
    trivsel__assessment__investigation_opened__free_unpacked(x->m, NULL);
    free(x);
    tr_handling_done(h, error);
}

void intake_investigation_opened_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    intake_t *in = arg;
    Trivsel__Assessment__InvestigationOpened *m =
        trivsel__assessment__investigation_opened__unpack(NULL, ev->payload.len, ev->payload.data);
    if (!m || !intake_is_uuid(m->underretning_id)) {
        intake_ignore(in, ev, m ? "unknown_underretning" : "malformed_payload",
                      m ? "the underretning id is not one intake gives"
                        : "the payload does not decode");
        if (m)
            trivsel__assessment__investigation_opened__free_unpacked(m, NULL);
        tr_handling_done(h, NULL);
        return;
    }
    opened_t *x = malloc(sizeof *x);
    if (!x) {
        trivsel__assessment__investigation_opened__free_unpacked(m, NULL);
        tr_handling_done(h, "out of memory");
        return;
    }
    x->m = m;
    /* Known when the investigation was opened: the event's occurred-at. */
    int64_t known = intake_timestamp_valid(ev->occurred_at) ? intake_timestamp_us(ev->occurred_at)
                                                            : intake_now_us();
    intake_orientation_outcome(
        in, h, ev->municipality, "u.id = $1::uuid", m->underretning_id, "-infinity",
        TRIVSEL__INTAKE__ORIENTATION_OUTCOME__ORIENTATION_OUTCOME_INVESTIGATION_OPENED, known,
        ev->event_id, opened_done, x);
}

/* ---- intake.orientation.sent ---- */

typedef struct sent {
    intake_t *in;
    tr_handling_t *h;
    const Trivsel__Envelope *ev;
    Trivsel__Intake__OrientationSent *m;
} sent_t;

static void marked_cb(PGresult *res, const char *error, void *arg)
{
    sent_t *s = arg;
    if (!error && PQntuples(res) == 0)
        intake_ignore(s->in, s->ev, "no_orientation_due",
                      "no orientation is due for the underretning (unknown, not a public "
                      "employee's, or sent)");
    else if (!error)
        tr_log_info("orientation sent", TR_LOG_STR("underretning_id", s->m->underretning_id),
                    TR_LOG_INT("outcomes", PQntuples(res)));
    tr_handling_t *h = s->h;
    trivsel__intake__orientation_sent__free_unpacked(s->m, NULL);
    free(s);
    tr_handling_done(h, error);
}

void intake_orientation_sent_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    intake_t *in = arg;
    Trivsel__Intake__OrientationSent *m =
        trivsel__intake__orientation_sent__unpack(NULL, ev->payload.len, ev->payload.data);
    const Google__Protobuf__Timestamp *when = m && m->sent_at ? m->sent_at : ev->occurred_at;
    const char *reason = !m                                    ? "malformed_payload"
                         : !intake_is_uuid(m->underretning_id) ? "unknown_underretning"
                         : !intake_timestamp_valid(when)       ? "invalid_sent_at"
                                                               : NULL;
    sent_t *s = reason ? NULL : malloc(sizeof *s);
    if (!s) {
        intake_ignore(in, ev, reason ? reason : "out_of_memory",
                      "the orientation was not recorded");
        if (m)
            trivsel__intake__orientation_sent__free_unpacked(m, NULL);
        tr_handling_done(h, reason ? NULL : "out of memory");
        return;
    }
    *s = (sent_t){.in = in, .h = h, .ev = ev, .m = m};
    char sent_at[40];
    intake_us_text(intake_timestamp_us(when), sent_at);
    const char *values[4] = {m->underretning_id, sent_at,
                             intake_enum_name(&trivsel__intake__letter_channel__descriptor,
                                              (int)m->channel),
                             ev->municipality};
    if (tr_handling_query(h,
                          "UPDATE intake.orientation o SET sent_at = $2, sent_channel = $3 FROM "
                          "intake.underretning u"
                          " WHERE o.underretning_id = $1::uuid AND u.id = o.underretning_id AND "
                          "u.municipality = $4"
                          "   AND o.sent_at IS NULL RETURNING o.outcome",
                          4, values, marked_cb, s) < 0) {
        trivsel__intake__orientation_sent__free_unpacked(m, NULL);
        free(s);
        tr_handling_done(h, "cannot record the orientation");
    }
}
