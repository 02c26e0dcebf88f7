/* underretning.c — intake.underretning.received (DOMAIN.md §1): checked, then registered on the
 * child's case and answered by intake.underretning.registered (and intake.receipt.requested for
 * a reporter who is not anonymous), or refused by intake.underretning.refused naming every
 * problem. All in the handler's one transaction.
 *
 * The child's case: one per child and municipality. With a CPR number the case with that number
 * is the child's. Without one, the child is the case's child when the name (compared
 * case-insensitively, spaces collapsed) and the birth date are the same. A case made without
 * the CPR number takes it on when an underretning with the number comes for the same name and
 * birth date. Cases are looked up and made under an advisory lock on municipality and birth
 * date, which every way of matching shares, so two instances cannot make one child two cases.
 */
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "log.h"

typedef struct registration {
    intake_t *in;
    tr_handling_t *h;
    const Trivsel__Envelope *ev;
    Trivsel__Intake__UnderretningReceived *u;
    intake_child_key_t key;
    char underretning_id[37], case_id[37];
    bool new_case, abuse_case, receipt_required, orientation_required, genvurdering_required;
    int64_t received_us, triage_due_us;
    tr_date_t receipt_due;
    uint32_t last_12_months;
    Trivsel__LegalBasis *active;
    size_t nactive;
} registration_t;

/* The one place the handling ends: frees what it used, then commits or rolls back. */
static void finish(registration_t *r, const char *error)
{
    tr_handling_t *h = r->h;
    if (r->u)
        trivsel__intake__underretning_received__free_unpacked(r->u, NULL);
    free(r->active);
    free(r);
    tr_handling_done(h, error);
}

static void refuse(registration_t *r, intake_problems_t *p)
{
    Trivsel__Intake__UnderretningRefused refused = TRIVSEL__INTAKE__UNDERRETNING_REFUSED__INIT;
    char id[37];
    tr_error_t err = {0};
    refused.received_event_id = r->ev->event_id;
    refused.problems = p->items;
    refused.n_problems = p->n;
    if (r->u) {
        refused.source_reference = r->u->source_reference;
        refused.abuse_case = r->u->violence_suspected || r->u->sexual_abuse_suspected;
    }
    intake_uuid(id);
    int rc = intake_emit((intake_out_t){.handling = r->h}, id, "intake.underretning.refused",
                         r->ev->municipality, r->ev->correlation_id, intake_now_us(), &refused.base,
                         &err);
    if (rc == 0) {
        intake_count_refusal(r->in, "underretning", p);
        /* The codes only: the messages may hold a CPR number. */
        char codes[512] = "";
        for (size_t i = 0; i < p->n && strlen(codes) + 64 < sizeof codes; i++)
            snprintf(codes + strlen(codes), sizeof codes - strlen(codes), "%s%s", i ? "," : "",
                     p->items[i]->code);
        tr_log_info("underretning refused", TR_LOG_STR("received_event_id", r->ev->event_id),
                    TR_LOG_STR("publisher", r->ev->publisher), TR_LOG_STR("problems", codes));
    }
    finish(r, rc == 0 ? NULL : err.message);
}

static int emit_events(registration_t *r, tr_error_t *err)
{
    intake_out_t out = {.handling = r->h};
    Google__Protobuf__Timestamp received_at, triage_due_at;
    char due[TR_CALENDAR_DATE_LEN] = "", event_id[64];
    int64_t now = intake_now_us();
    intake_timestamp(&received_at, r->received_us);
    intake_timestamp(&triage_due_at, r->triage_due_us);
    if (r->receipt_required)
        tr_calendar_format_date(r->receipt_due, due);

    /* The child as registered: the CPR number in its 10-digit form. */
    Trivsel__Child child = *r->u->child;
    child.cpr = r->key.cpr;

    Trivsel__Intake__UnderretningRegistered reg = TRIVSEL__INTAKE__UNDERRETNING_REGISTERED__INIT;
    reg.underretning_id = r->underretning_id;
    reg.case_id = r->case_id;
    reg.received_event_id = r->ev->event_id;
    reg.new_case = r->new_case;
    reg.child = &child;
    reg.reporter_kind = r->u->reporter->kind;
    reg.received_at = &received_at;
    reg.triage_due_at = &triage_due_at;
    reg.receipt_required = r->receipt_required;
    reg.receipt_due_date = due;
    reg.orientation_required = r->orientation_required;
    reg.underretninger_last_12_months = r->last_12_months;
    reg.genvurdering_required = r->genvurdering_required;
    reg.active_measures = r->active;
    reg.n_active_measures = r->nactive;
    reg.abuse_case = r->abuse_case;
    reg.parents_suspected = r->u->parents_suspected;
    reg.team = r->u->team;
    snprintf(event_id, sizeof event_id, "%s/registered", r->underretning_id);
    int rc = intake_emit(out, event_id, "intake.underretning.registered", r->ev->municipality,
                         r->case_id, now, &reg.base, err);
    if (rc < 0 || !r->receipt_required)
        return rc;

    Trivsel__Intake__ReceiptRequested receipt = TRIVSEL__INTAKE__RECEIPT_REQUESTED__INIT;
    receipt.underretning_id = r->underretning_id;
    receipt.case_id = r->case_id;
    receipt.reporter = r->u->reporter;
    receipt.received_at = &received_at;
    receipt.receipt_due_date = due;
    receipt.abuse_case = r->abuse_case;
    snprintf(event_id, sizeof event_id, "%s/receipt.requested", r->underretning_id);
    return intake_emit(out, event_id, "intake.receipt.requested", r->ev->municipality, r->case_id,
                       now, &receipt.base, err);
}

/* The case's legal bases active on the day of receipt, "3,7" (trivsel.LegalBasis numbers). */
static int parse_active(registration_t *r, const char *bases)
{
    for (const char *p = bases; *p;) {
        Trivsel__LegalBasis *grown = realloc(r->active, (r->nactive + 1) * sizeof *grown);
        if (!grown)
            return TR_ENOMEM;
        r->active = grown;
        char *end;
        r->active[r->nactive++] = (Trivsel__LegalBasis)strtol(p, &end, 10);
        if (end == p)
            break;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

/* The registration is in: the case it went to, and what the case's history makes of it. */
static void registered_cb(PGresult *res, const char *error, void *arg)
{
    registration_t *r = arg;
    if (error || PQntuples(res) != 1) {
        finish(r, error ? error : "the underretning was not registered");
        return;
    }
    snprintf(r->case_id, sizeof r->case_id, "%s", PQgetvalue(res, 0, 0));
    r->new_case = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    r->last_12_months = (uint32_t)strtoul(PQgetvalue(res, 0, 2), NULL, 10);
    if (parse_active(r, PQgetvalue(res, 0, 3)) < 0) {
        finish(r, "out of memory");
        return;
    }
    r->genvurdering_required = r->nactive > 0;
    tr_error_t err = {0};
    if (emit_events(r, &err) < 0) {
        finish(r, err.message);
        return;
    }
    tr_metric_inc(r->in->registered);
    if (r->new_case)
        tr_metric_inc(r->in->new_cases);
    tr_log_info("underretning registered", TR_LOG_STR("underretning_id", r->underretning_id),
                TR_LOG_STR("case_id", r->case_id), TR_LOG_STR("received_event_id", r->ev->event_id),
                TR_LOG_INT("new_case", r->new_case),
                TR_LOG_INT("last_12_months", r->last_12_months),
                TR_LOG_INT("genvurdering_required", r->genvurdering_required),
                TR_LOG_INT("abuse_case", r->abuse_case));
    finish(r, NULL);
}

/* intake.register_underretning (migration 0004) finds or makes the child's case under the
 * lock, counts its history and writes the underretning and its deadlines: one round trip. */
static const char register_sql[] =
    "SELECT case_id, new_case, last_12_months, active_bases FROM intake.register_underretning("
    "$1, $2, $3, $4, $5::date, $6::uuid, $7::uuid, $8, $9, $10::bytea, $11, $12::timestamptz, $13::date,"
    " $14::timestamptz, $15, $16, $17, $18::boolean, $19::boolean, $20::timestamptz, $21::timestamptz,"
    " $22::boolean, $23::date, $24::timestamptz, $25::boolean)";

static void register_underretning(registration_t *r)
{
    const Trivsel__Envelope *ev = r->ev;
    const Trivsel__Intake__UnderretningReceived *u = r->u;
    char lock[64], birth[TR_CALENDAR_DATE_LEN], new_case_id[37];
    char received_at[40], received_date[TR_CALENDAR_DATE_LEN], since[40], triage_due[40], warning[40],
        receipt_overdue[40], due[TR_CALENDAR_DATE_LEN] = "";
    tr_calendar_format_date(r->key.birth_date, birth);
    snprintf(lock, sizeof lock, "intake.sag %s %s", ev->municipality, birth);
    intake_uuid(new_case_id);
    intake_us_text(r->received_us, received_at);
    tr_calendar_format_date(intake_local_date(r->received_us), received_date);
    intake_us_text(intake_twelve_months_before(r->received_us), since);
    intake_us_text(r->triage_due_us, triage_due);
    intake_us_text(intake_triage_warning_at(r->received_us, r->in->settings.triage_warning_ms), warning);
    if (r->receipt_required) {
        tr_calendar_format_date(r->receipt_due, due);
        intake_us_text(intake_receipt_overdue_at(r->receipt_due), receipt_overdue);
    }

    /* The payload as bytea in hex text form ("\x0a1b..."). */
    size_t len = trivsel__intake__underretning_received__get_packed_size(u);
    uint8_t *payload = malloc(len ? len : 1);
    char *hex = malloc(2 * len + 3);
    if (!payload || !hex) {
        free(payload);
        free(hex);
        finish(r, "out of memory");
        return;
    }
    trivsel__intake__underretning_received__pack(u, payload);
    hex[0] = '\\';
    hex[1] = 'x';
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        hex[2 + 2 * i] = digits[payload[i] >> 4];
        hex[3 + 2 * i] = digits[payload[i] & 0xf];
    }
    hex[2 + 2 * len] = '\0';
    free(payload);

    const char *values[25] = {
        lock,
        ev->municipality,
        r->key.cpr[0] ? r->key.cpr : NULL,
        r->key.name_key,
        birth,
        new_case_id,
        r->underretning_id,
        ev->publisher,
        ev->event_id,
        hex,
        u->source_reference,
        received_at,
        received_date,
        since,
        intake_enum_name(&trivsel__intake__channel__descriptor, (int)u->channel),
        u->team,
        intake_enum_name(&trivsel__reporter_kind__descriptor, (int)u->reporter->kind),
        r->abuse_case ? "t" : "f",
        u->parents_suspected ? "t" : "f",
        triage_due,
        warning,
        r->receipt_required ? "t" : "f",
        r->receipt_required ? due : NULL,
        r->receipt_required ? receipt_overdue : NULL,
        r->orientation_required ? "t" : "f",
    };
    int rc = tr_handling_query(r->h, register_sql, 25, values, registered_cb, r);
    free(hex);
    if (rc < 0)
        finish(r, tr_strerror(rc));
}

void intake_underretning_received_cb(tr_handling_t *h, const Trivsel__Envelope *ev, void *arg)
{
    intake_t *in = arg;
    registration_t *r = calloc(1, sizeof *r);
    if (!r) {
        tr_handling_done(h, "out of memory");
        return;
    }
    r->in = in;
    r->h = h;
    r->ev = ev;
    intake_problems_t problems = {0};
    r->u = trivsel__intake__underretning_received__unpack(NULL, ev->payload.len, ev->payload.data);
    if (!r->u) {
        intake_problems_add(&problems, "", "malformed_payload",
                            "the payload is not a trivsel.intake.UnderretningReceived (%zu bytes "
                            "that do not decode)",
                            ev->payload.len);
    } else {
        intake_validate_options_t o = intake_validate_options(in);
        intake_validate_underretning(r->u, ev->municipality, &o, &problems, &r->key);
    }
    if (problems.n > 0) {
        refuse(r, &problems);
        intake_problems_release(&problems);
        return;
    }
    const Trivsel__Intake__UnderretningReceived *u = r->u;
    Trivsel__ReporterKind kind = u->reporter->kind;
    r->received_us = intake_timestamp_us(u->received_at);
    r->triage_due_us = intake_triage_due_at(r->received_us);
    r->abuse_case = u->violence_suspected || u->sexual_abuse_suspected;
    r->receipt_required = kind != TRIVSEL__REPORTER_KIND__REPORTER_KIND_ANONYMOUS;
    r->orientation_required = kind == TRIVSEL__REPORTER_KIND__REPORTER_KIND_PUBLIC_EMPLOYEE;
    if (r->receipt_required)
        r->receipt_due = intake_receipt_due_date(r->received_us);
    intake_uuid(r->underretning_id);
    register_underretning(r);
}
