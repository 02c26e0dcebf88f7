/* submission.c — docs.{note,report,measurement,plan}.submitted.CVR: a supplier's documentation
 * (DOMAIN.md §4), accepted or rejected with every reason.
 *
 * Who the supplier is: the CVR that ends the subject. The broker lets a supplier principal
 * publish only under its own CVR (ARCHITECTURE.md principle 5), so that is the authenticated
 * supplier; no field of the message names it, and the publishing principal is kept with the
 * submission. It may document only on an order placed with that CVR and accepted, on the order's
 * child, dated within the order's period, and submitted no later than TRIVSEL_DOCS_GRACE_DAYS
 * after the period ends. An order of another supplier is answered exactly like an unknown one:
 * a supplier learns nothing of other suppliers' orders.
 *
 * When it was submitted: the envelope's occurred_at (the supplier's own time, as every deadline
 * in trivsel is computed from the events' own timestamps), refused when it lies more than
 * TRIVSEL_DOCS_CLOCK_SKEW after the broker's published_at. A status report closes the order's
 * earliest open report and is late when submitted after that report's due day ended.
 *
 * Every rejection is emitted on docs.submission.rejected.CVR and written to broker.audit
 * (action docs_submission_refused) in the same transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs.h"
#include "log.h"
#include "subject.h"

typedef struct sub {
    docs_t *d;
    tr_handling_t *h;
    const Trivsel__Envelope *ev;
    Trivsel__Docs__SubmissionKind kind;
    ProtobufCMessage *msg;
    char cvr[16];
    problems_t problems;
    submission_facts_t f;
    tr_date_t today;
    int64_t submitted_s;
} sub_t;

static void sub_free(sub_t *s)
{
    if (s->msg)
        protobuf_c_message_free_unpacked(s->msg, NULL);
    problems_release(&s->problems);
    free(s);
}

static const ProtobufCMessageDescriptor *descriptor_of(Trivsel__Docs__SubmissionKind kind)
{
    switch (kind) {
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_NOTE:
        return &trivsel__docs__note_submitted__descriptor;
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_REPORT:
        return &trivsel__docs__report_submitted__descriptor;
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_MEASUREMENT:
        return &trivsel__docs__measurement_submitted__descriptor;
    case TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_PLAN:
        return &trivsel__docs__plan_submitted__descriptor;
    default:
        return NULL;
    }
}

/* The answer names the submission even when the message could not be read. */
static const char *submission_id(const sub_t *s)
{
    return s->f.submission_id ? s->f.submission_id : "";
}

static const char *order_id(const sub_t *s)
{
    return s->f.order_id ? s->f.order_id : "";
}

static void reject(sub_t *s, const char *case_id)
{
    Trivsel__Docs__SubmissionRejected r = TRIVSEL__DOCS__SUBMISSION_REJECTED__INIT;
    Trivsel__Problem fallback = TRIVSEL__PROBLEM__INIT, *one = &fallback;
    r.submission_id = (char *)submission_id(s);
    r.submitted_event_id = s->ev->event_id;
    r.kind = s->kind;
    r.order_id = (char *)order_id(s);
    r.problems = s->problems.items;
    r.n_problems = s->problems.n;
    if (r.n_problems == 0) { /* only when memory ran out while listing them */
        fallback.code = "internal";
        fallback.problem = "the submission could not be checked; send it again";
        r.problems = &one;
        r.n_problems = 1;
    }
    char subject[TR_SUBJECT_MAX];
    snprintf(subject, sizeof subject, "docs.submission.rejected.%s", s->cvr);
    docs_emit(s->h, s->ev, "rejected", subject, case_id, &r.base);
    /* The audit detail: every code, then the first problem for people. */
    char detail[1024];
    size_t len = (size_t)snprintf(detail, sizeof detail, "%s %s rejected:", docs_kind_word(s->kind),
                                  submission_id(s));
    for (size_t i = 0; i < r.n_problems && len < sizeof detail; i++)
        len += (size_t)snprintf(detail + len, sizeof detail - len, "%s%s", i ? ", " : " ",
                                r.problems[i]->code);
    if (len < sizeof detail)
        snprintf(detail + len, sizeof detail - len, " (%s)", r.problems[0]->problem);
    const char *v[5] = {s->ev->publisher, s->ev->subject, s->ev->event_id, case_id, detail};
    docs_exec(s->h,
              "INSERT INTO broker.audit (principal, action, subject, event_id, correlation_id,"
              " detail) VALUES ($1, 'docs_submission_refused', $2, $3, $4, $5)",
              5, v);
    for (size_t i = 0; i < r.n_problems; i++)
        tr_metric_inc(tr_metrics_counter(s->d->metrics, "trivsel_docs_problems_total",
                                         "Problems named in rejected submissions, by code.",
                                         "code", r.problems[i]->code, NULL));
    tr_metric_inc(s->d->rejected);
    tr_log_info("submission rejected", TR_LOG_STR("subject", s->ev->subject),
                TR_LOG_STR("event_id", s->ev->event_id),
                TR_LOG_STR("submission_id", submission_id(s)),
                TR_LOG_STR("first_problem", r.problems[0]->code),
                TR_LOG_INT("problems", (long long)r.n_problems));
    tr_handling_done(s->h, NULL);
    sub_free(s);
}

static void take(sub_t *s, const PGresult *res)
{
    const char *case_id = PQgetvalue(res, 0, 5);
    char date[TR_CALENDAR_DATE_LEN], minutes[16], submitted[32], published[32];
    tr_calendar_format_date(s->f.has_period ? s->f.period_end : s->f.doc_date, date);
    snprintf(minutes, sizeof minutes, "%u", s->f.duration_minutes);
    snprintf(submitted, sizeof submitted, "%lld", (long long)s->submitted_s);
    snprintf(published, sizeof published, "%lld",
             (long long)(s->ev->published_at ? s->ev->published_at->seconds : s->submitted_s));
    Trivsel__Docs__SubmissionAccepted a = TRIVSEL__DOCS__SUBMISSION_ACCEPTED__INIT;
    a.submission_id = (char *)submission_id(s);
    a.submitted_event_id = s->ev->event_id;
    a.kind = s->kind;
    a.order_id = (char *)order_id(s);
    const char *number = NULL;
    if (s->kind == TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_REPORT && !PQgetisnull(res, 0, 7)) {
        number = PQgetvalue(res, 0, 7);
        a.report_due_date = PQgetvalue(res, 0, 8);
        a.late = s->submitted_s >= strtoll(PQgetvalue(res, 0, 9), NULL, 10);
    }
    char *payload = docs_hex(s->ev->payload.data, s->ev->payload.len);
    if (!payload) {
        tr_handling_done(s->h, "out of memory");
        sub_free(s);
        return;
    }
    char cpr[11] = "";
    docs_cpr_digits(s->f.child_cpr, cpr);
    const char *v[15] = {s->cvr,      submission_id(s),  docs_kind_word(s->kind),
                         s->ev->municipality, order_id(s), cpr,
                         date,        minutes,           number,
                         a.late ? "true" : "false", s->ev->publisher, s->ev->event_id,
                         submitted,   published,         payload};
    docs_exec(s->h,
              "INSERT INTO docs.submission (supplier_cvr, submission_id, kind, municipality,"
              " order_id, child_cpr, doc_date, duration_minutes, report_number, late, publisher,"
              " event_id, submitted_at, published_at, payload)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
              " to_timestamp($13::bigint), to_timestamp($14::bigint), $15)",
              15, v);
    free(payload);
    if (number) {
        const char *rv[4] = {s->ev->municipality, order_id(s), number, submission_id(s)};
        docs_exec(s->h,
                  "UPDATE docs.report SET closed_at = now(), closed_by = $4"
                  " WHERE municipality = $1 AND order_id = $2 AND report_number = $3",
                  4, rv);
        docs_exec(s->h,
                  "UPDATE docs.deadline SET closed_at = now(), closed_reason = 'report'"
                  " WHERE municipality = $1 AND order_id = $2 AND report_number = $3"
                  " AND kind <> 'hours' AND fired_at IS NULL AND closed_at IS NULL",
                  3, rv);
        docs_exec(s->h, "SELECT pg_notify('" DOCS_DEADLINE_CHANNEL "', '')", 0, NULL);
    }
    if (s->kind == TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_MEASUREMENT) {
        const Trivsel__Docs__MeasurementSubmitted *m =
            (const Trivsel__Docs__MeasurementSubmitted *)s->msg;
        for (size_t i = 0; i < m->n_scores; i++) {
            const ProtobufCEnumValue *area = protobuf_c_enum_descriptor_get_value(
                &trivsel__life_area__descriptor, (int)m->scores[i]->area);
            char score[16];
            snprintf(score, sizeof score, "%u", m->scores[i]->score);
            const char *mv[6] = {s->cvr, submission_id(s), cpr, date, area ? area->name : "", score};
            docs_exec(s->h,
                      "INSERT INTO docs.measurement_score (supplier_cvr, submission_id, child_cpr,"
                      " measured_on, area, score) VALUES ($1, $2, $3, $4, $5, $6)",
                      6, mv);
        }
    }
    char subject[TR_SUBJECT_MAX];
    snprintf(subject, sizeof subject, "docs.submission.accepted.%s", s->cvr);
    docs_emit(s->h, s->ev, "accepted", subject, case_id, &a.base);
    tr_metric_inc(tr_metrics_counter(s->d->metrics, "trivsel_docs_submissions_accepted_total",
                                     "Submissions accepted, by kind.", "kind",
                                     docs_kind_word(s->kind), NULL));
    tr_log_info("submission accepted", TR_LOG_STR("subject", s->ev->subject),
                TR_LOG_STR("submission_id", submission_id(s)), TR_LOG_STR("order_id", order_id(s)),
                TR_LOG_INT("late", a.late));
    tr_handling_done(s->h, NULL);
    sub_free(s);
}

/* Columns: 0 supplier_cvr, 1 status, 2 child_cpr, 3 start_date, 4 end_date, 5 case_id,
 * 6 duplicate, 7 open report number, 8 its due date, 9 its overdue_at (epoch). The order's
 * columns are NULL when there is no such order. */
static void order_cb(PGresult *res, const char *error, void *arg)
{
    sub_t *s = arg;
    problems_t *p = &s->problems;
    if (error) {
        tr_handling_done(s->h, error);
        sub_free(s);
        return;
    }
    bool known = !PQgetisnull(res, 0, 0) && strcmp(PQgetvalue(res, 0, 0), s->cvr) == 0;
    if (strcmp(PQgetvalue(res, 0, 6), "t") == 0)
        problems_add(p, "submission_id", "duplicate_submission",
                     "submission_id \"%s\" was accepted before: a new submission needs a new id",
                     submission_id(s));
    if (!known) {
        /* Another supplier's order reads as an unknown one. */
        problems_add(p, "order_id", "not_your_order", "supplier %s has no order \"%s\"", s->cvr,
                     order_id(s));
        reject(s, "");
        return;
    }
    const char *case_id = PQgetvalue(res, 0, 5);
    if (strcmp(PQgetvalue(res, 0, 1), "accepted") != 0)
        problems_add(p, "order_id", "order_not_accepted",
                     "order \"%s\" is not accepted: documentation is taken on accepted orders",
                     order_id(s));
    char cpr[11];
    if (docs_cpr_digits(s->f.child_cpr, cpr) && strcmp(cpr, PQgetvalue(res, 0, 2)) != 0)
        problems_add(p, "child_cpr", "wrong_child", "child_cpr %s is not the child of order \"%s\"",
                     s->f.child_cpr, order_id(s));
    tr_date_t start = docs_date_value(res, 0, 3), end = docs_date_value(res, 0, 4);
    const char *start_s = PQgetvalue(res, 0, 3), *end_s = PQgetvalue(res, 0, 4);
    if (s->f.has_period) {
        if (tr_calendar_compare(s->f.period_end, start) < 0 ||
            tr_calendar_compare(s->f.period_start, end) > 0)
            problems_add(p, "period", "outside_order_period",
                         "the period does not overlap the order's period %s to %s", start_s,
                         end_s);
    } else if (s->f.has_date) {
        bool plan = s->kind == TRIVSEL__DOCS__SUBMISSION_KIND__SUBMISSION_KIND_PLAN;
        char date[TR_CALENDAR_DATE_LEN];
        tr_calendar_format_date(s->f.doc_date, date);
        if ((!plan && tr_calendar_compare(s->f.doc_date, start) < 0) ||
            tr_calendar_compare(s->f.doc_date, end) > 0)
            problems_add(p, plan ? "valid_from" : "", "outside_order_period",
                         "%s is outside the order's period %s to %s", date, start_s, end_s);
    }
    tr_date_t last = tr_calendar_add_days(end, s->d->settings.grace_days);
    char today[TR_CALENDAR_DATE_LEN], last_s[TR_CALENDAR_DATE_LEN];
    tr_calendar_format_date(s->today, today);
    tr_calendar_format_date(last, last_s);
    if (tr_calendar_compare(s->today, last) > 0)
        problems_add(p, "", "after_grace_period",
                     "submitted on %s, after the order's period ended on %s and the grace period"
                     " of %d days (until %s)",
                     today, end_s, s->d->settings.grace_days, last_s);
    else if (tr_calendar_compare(s->today, start) < 0)
        problems_add(p, "", "before_order_start",
                     "submitted on %s, before the order's period starts on %s", today, start_s);
    if (p->n > 0) {
        reject(s, case_id);
        return;
    }
    take(s, res);
}

void docs_submitted_cb(docs_t *d, tr_handling_t *h, const Trivsel__Envelope *ev)
{
    sub_t *s = calloc(1, sizeof *s);
    if (!s) {
        tr_handling_done(h, "out of memory");
        return;
    }
    *s = (sub_t){.d = d, .h = h, .ev = ev, .kind = docs_kind_of_subject(ev->subject)};
    snprintf(s->cvr, sizeof s->cvr, "%s", tr_subject_last_token(ev->subject));
    int64_t published = ev->published_at ? ev->published_at->seconds : 0;
    s->submitted_s = ev->occurred_at ? ev->occurred_at->seconds : published;
    s->today = tr_calendar_local_date(s->submitted_s);
    s->msg = protobuf_c_message_unpack(descriptor_of(s->kind), NULL, ev->payload.len,
                                       ev->payload.data);
    if (!s->msg) {
        problems_add(&s->problems, "", "invalid_payload", "the payload is not a %s submission",
                     docs_kind_word(s->kind));
        reject(s, "");
        return;
    }
    docs_validate(s->kind, s->msg, s->today, &s->problems, &s->f);
    if (s->submitted_s > published + d->settings.clock_skew_ms / 1000) {
        char at[32];
        tr_calendar_format_local(s->submitted_s, at, sizeof at);
        problems_add(&s->problems, "occurred_at", "occurred_in_future",
                     "occurred_at %s is after the broker received the submission", at);
    }
    if (!s->f.order_id || !s->f.order_id[0]) {
        reject(s, "");
        return;
    }
    char *sid = (char *)submission_id(s);
    const char *v[4] = {ev->municipality, order_id(s), s->cvr, sid};
    tr_handling_query(h,
                      "SELECT o.supplier_cvr, o.status, o.child_cpr, o.start_date, o.end_date,"
                      " o.case_id,"
                      " EXISTS (SELECT 1 FROM docs.submission x WHERE x.supplier_cvr = $3"
                      "   AND x.submission_id = $4),"
                      " r.report_number, r.due_date, extract(epoch FROM r.overdue_at)::bigint"
                      " FROM (SELECT 1) one"
                      " LEFT JOIN docs.orders o ON o.municipality = $1 AND o.order_id = $2"
                      " LEFT JOIN LATERAL (SELECT * FROM docs.report r WHERE r.municipality = $1"
                      "   AND r.order_id = $2 AND r.closed_at IS NULL"
                      "   ORDER BY r.report_number LIMIT 1) r ON true",
                      4, v, order_cb, s);
}
