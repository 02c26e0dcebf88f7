/* receipt.c — the kvittering to the reporter (DOMAIN.md §1): requested at registration
 * (underretning.c) for every reporter who is not anonymous, due 6 hverdage after the day of
 * receipt; intake.receipt.sent records it; intake.receipt.overdue when it has not been sent by
 * the end of the due day, Danish time.
 *
 * A receipt.sent that changes nothing (an unknown underretning, an anonymous reporter's, a
 * second one) is counted and logged; there is no refusal event for it in the contract. */
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "log.h"

typedef struct receipt {
    intake_t *in;
    tr_handling_t *h;
    const Trivsel__Envelope *ev;
    Trivsel__Intake__ReceiptSent *r;
    int64_t sent_us;
} receipt_t;

static void finish(receipt_t *r, const char *error)
{
    tr_handling_t *h = r->h;
    if (r->r)
        trivsel__intake__receipt_sent__free_unpacked(r->r, NULL);
    free(r);
    tr_handling_done(h, error);
}

static void ignore(receipt_t *r, const char *reason, const char *detail)
{
    intake_ignore(r->in, r->ev, reason, detail);
    finish(r, NULL);
}

static void ignore_cb(PGresult *res, const char *error, void *arg)
{
    (void)res;
    (void)error;
    (void)arg;
}

static void recorded_cb(PGresult *res, const char *error, void *arg)
{
    receipt_t *r = arg;
    (void)res;
    if (!error)
        tr_log_info("receipt sent", TR_LOG_STR("underretning_id", r->r->underretning_id));
    finish(r, error);
}

static void underretning_cb(PGresult *res, const char *error, void *arg)
{
    receipt_t *r = arg;
    if (error) {
        finish(r, error);
        return;
    }
    if (PQntuples(res) != 1) {
        ignore(r, "unknown_underretning", "no such underretning in this municipality");
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        ignore(r, "receipt_not_required", "the reporter is anonymous: no kvittering is owed");
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
        ignore(r, "receipt_already_sent", "a kvittering was recorded before");
        return;
    }
    tr_date_t due;
    if (tr_calendar_parse_date(PQgetvalue(res, 0, 2), &due, NULL) < 0) {
        finish(r, "the underretning has no receipt due date");
        return;
    }
    int64_t overdue_us = intake_receipt_overdue_at(due);
    char sent_at[40];
    intake_us_text(r->sent_us, sent_at);
    const Trivsel__Employee *by = r->r->sent_by;
    const char *values[5] = {r->r->underretning_id, sent_at,
                             intake_enum_name(&trivsel__intake__letter_channel__descriptor,
                                              (int)r->r->channel),
                             by && by->id[0] ? by->id : NULL, r->sent_us >= overdue_us ? "t" : "f"};
    int rc = tr_handling_query(
        r->h,
        "UPDATE intake.underretning SET receipt_sent_at = $2, receipt_channel = $3,"
        " receipt_sent_by_id = $4, receipt_late = $5 WHERE id = $1",
        5, values, ignore_cb, NULL);
    /* Sent in time: the overdue will not fire. Sent late: it fires if it has not (the due day
     * did pass without a kvittering). */
    if (rc == 0)
        rc = tr_handling_query(
            r->h,
            "UPDATE intake.deadline SET closed_at = now(), closed_reason = 'receipt_sent'"
            " WHERE underretning_id = $1 AND kind = 'receipt_overdue' AND fired_at IS NULL"
            "   AND closed_at IS NULL AND due_at > $2",
            2, values, ignore_cb, NULL);
    if (rc == 0)
        rc = tr_handling_query(r->h, "SELECT pg_notify('" INTAKE_DEADLINE_CHANNEL "', '')", 0, NULL,
                               recorded_cb, r);
    if (rc < 0)
        finish(r, tr_strerror(rc));
}

void intake_receipt_sent_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    receipt_t *r = calloc(1, sizeof *r);
    if (!r) {
        tr_handling_done(h, "out of memory");
        return;
    }
    r->in = arg;
    r->h = h;
    r->ev = ev;
    r->r = trivsel__intake__receipt_sent__unpack(NULL, ev->payload.len, ev->payload.data);
    if (!r->r) {
        ignore(r, "malformed_payload", "the payload is not a trivsel.intake.ReceiptSent");
        return;
    }
    if (!intake_is_uuid(r->r->underretning_id)) {
        ignore(r, "unknown_underretning", "the underretning id is not one intake gives");
        return;
    }
    /* When it was sent; the envelope's occurred-at when the payload does not say. */
    const Google__Protobuf__Timestamp *sent = r->r->sent_at ? r->r->sent_at : ev->occurred_at;
    if (!intake_timestamp_valid(sent)) {
        ignore(r, "invalid_sent_at", "sent_at is missing or not a valid time");
        return;
    }
    r->sent_us = intake_timestamp_us(sent);
    const Trivsel__Employee *by = r->r->sent_by;
    if (by && !intake_text_ok(by->id, INTAKE_MAX_REFERENCE)) {
        ignore(r, "invalid_text", "sent_by.id is not valid UTF-8 of at most 100 characters");
        return;
    }
    const char *values[2] = {r->r->underretning_id, ev->municipality};
    if (tr_handling_query(
            h,
            "SELECT receipt_required, receipt_sent_at IS NOT NULL,"
            " coalesce(to_char(receipt_due_date, 'YYYY-MM-DD'), '')"
            " FROM intake.underretning WHERE id = $1::uuid AND municipality = $2 FOR UPDATE",
            2, values, underretning_cb, r) < 0)
        finish(r, "cannot query the underretning");
}

int intake_receipt_overdue_fire(intake_t *in, intake_out_t out, const intake_deadline_row_t *row,
                                int64_t now_us, char *event_id, size_t event_id_len,
                                tr_error_t *err)
{
    (void)in;
    (void)now_us;
    Trivsel__Intake__ReceiptOverdue m = TRIVSEL__INTAKE__RECEIPT_OVERDUE__INIT;
    m.underretning_id = (char *)row->underretning_id;
    m.case_id = (char *)row->case_id;
    m.receipt_due_date = (char *)row->receipt_due_date;
    m.team = (char *)row->team;
    m.abuse_case = row->abuse_case;
    snprintf(event_id, event_id_len, "%s/receipt.overdue", row->underretning_id);
    int rc = intake_emit(out, event_id, "intake.receipt.overdue", row->municipality, row->case_id,
                         row->due_us, &m.base, err);
    return rc < 0 ? rc : 1;
}
