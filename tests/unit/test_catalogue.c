/* Unit tests for common/catalogue.c: the subject -> type table of EVENTS.md. */
#include "catalogue.h"

#include "check.h"
#include "trivsel/intake.pb-c.h"

/* EVENTS.md, written out a second time on purpose: the table must agree with the contract. */
static const struct {
    const char *subject;
    const char *type_name;
    bool inbound;
    bool per_supplier;
} events[] = {
    {"intake.underretning.received", "trivsel.intake.UnderretningReceived", true, false},
    {"intake.underretning.registered", "trivsel.intake.UnderretningRegistered", false, false},
    {"intake.underretning.refused", "trivsel.intake.UnderretningRefused", false, false},
    {"intake.triage.completed", "trivsel.intake.TriageCompleted", true, false},
    {"intake.triage.refused", "trivsel.intake.TriageRefused", false, false},
    {"intake.triage.due_soon", "trivsel.intake.TriageDueSoon", false, false},
    {"intake.triage.overdue", "trivsel.intake.TriageOverdue", false, false},
    {"intake.receipt.requested", "trivsel.intake.ReceiptRequested", false, false},
    {"intake.receipt.sent", "trivsel.intake.ReceiptSent", true, false},
    {"intake.receipt.overdue", "trivsel.intake.ReceiptOverdue", false, false},
    {"intake.orientation.due", "trivsel.intake.OrientationDue", false, false},
    {"intake.orientation.sent", "trivsel.intake.OrientationSent", true, false},
    {"assessment.investigation.opened", "trivsel.assessment.InvestigationOpened", false, false},
    {"assessment.investigation.due_soon", "trivsel.assessment.InvestigationDueSoon", false,
     false},
    {"assessment.investigation.overdue", "trivsel.assessment.InvestigationOverdue", false,
     false},
    {"assessment.score.recorded", "trivsel.assessment.ScoreRecorded", true, false},
    {"assessment.child_conversation.recorded", "trivsel.assessment.ChildConversationRecorded",
     true, false},
    {"assessment.investigation.concluded", "trivsel.assessment.InvestigationConcluded", true,
     false},
    {"assessment.decision.made", "trivsel.assessment.DecisionMade", true, false},
    {"assessment.decision.registered", "trivsel.assessment.DecisionRegistered", false, false},
    {"assessment.plan.recorded", "trivsel.assessment.PlanRecorded", true, false},
    {"assessment.plan.overdue", "trivsel.assessment.PlanOverdue", false, false},
    {"assessment.followup.due", "trivsel.assessment.FollowupDue", false, false},
    {"assessment.followup.overdue", "trivsel.assessment.FollowupOverdue", false, false},
    {"assessment.event.refused", "trivsel.assessment.EventRefused", false, false},
    {"assessment.plan.due", "trivsel.assessment.PlanDue", false, false},
    {"assessment.appeal.due", "trivsel.assessment.AppealDue", false, false},
    {"assessment.appeal.expired", "trivsel.assessment.AppealExpired", false, false},
    {"ordering.offer.published", "trivsel.ordering.OfferPublished", true, false},
    {"ordering.order.requested", "trivsel.ordering.OrderRequested", true, false},
    {"ordering.order.placed.*", "trivsel.ordering.OrderPlaced", false, true},
    {"ordering.order.refused", "trivsel.ordering.OrderRefused", false, false},
    {"ordering.order.accepted.*", "trivsel.ordering.OrderAccepted", true, true},
    {"ordering.order.declined.*", "trivsel.ordering.OrderDeclined", true, true},
    {"ordering.order.adjusted", "trivsel.ordering.OrderAdjusted", true, false},
    {"ordering.order.ended", "trivsel.ordering.OrderEnded", true, false},
    {"ordering.order.adjusted.*", "trivsel.ordering.OrderAdjustedForSupplier", false, true},
    {"ordering.order.ended.*", "trivsel.ordering.OrderEndedForSupplier", false, true},
    {"ordering.settlement.calculated", "trivsel.ordering.SettlementCalculated", false, false},
    {"docs.note.submitted.*", "trivsel.docs.NoteSubmitted", true, true},
    {"docs.report.submitted.*", "trivsel.docs.ReportSubmitted", true, true},
    {"docs.measurement.submitted.*", "trivsel.docs.MeasurementSubmitted", true, true},
    {"docs.plan.submitted.*", "trivsel.docs.PlanSubmitted", true, true},
    {"docs.submission.accepted.*", "trivsel.docs.SubmissionAccepted", false, true},
    {"docs.submission.rejected.*", "trivsel.docs.SubmissionRejected", false, true},
    {"docs.report.due.*", "trivsel.docs.ReportDue", false, true},
    {"docs.report.overdue.*", "trivsel.docs.ReportOverdue", false, true},
    {"docs.hours.reconciled", "trivsel.docs.HoursReconciled", false, false},
};

enum { EVENTS_N = sizeof events / sizeof events[0] };

/* The concrete subject an event is published on: ".*" replaced by the CVR of seed 000's
 * supplier. */
static const char *concrete(const char *subject, char *buf, size_t len)
{
    size_t n = strlen(subject);
    if (n >= 2 && strcmp(subject + n - 2, ".*") == 0)
        snprintf(buf, len, "%.*s.45424421", (int)(n - 2), subject);
    else
        snprintf(buf, len, "%s", subject);
    return buf;
}

static void test_every_event_has_its_type(void)
{
    char buf[128];
    for (size_t i = 0; i < EVENTS_N; i++) {
        const char *subject = concrete(events[i].subject, buf, sizeof buf);
        const tr_event_type_t *e = tr_catalogue_by_subject(subject);
        if (e == NULL) {
            CHECK_FAIL_("no entry for subject \"%s\"", subject);
            continue;
        }
        CHECK_STR_EQ(e->subject, events[i].subject);
        CHECK_STR_EQ(e->type_name, events[i].type_name);
        CHECK_INT_EQ(e->inbound, events[i].inbound);
        CHECK_INT_EQ(e->per_supplier, events[i].per_supplier);
        CHECK(tr_catalogue_by_type(events[i].type_name) == e);
    }
}

static void test_table_is_exactly_the_events(void)
{
    size_t n = 0;
    const tr_event_type_t *all = tr_catalogue_all(&n);
    CHECK_INT_EQ(n, EVENTS_N);
    CHECK_INT_EQ(n, 48);
    for (size_t i = 0; i < n && i < EVENTS_N; i++) {
        CHECK_STR_EQ(all[i].subject, events[i].subject);
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(all[i].subject, all[j].subject) == 0)
                CHECK_FAIL_("subject \"%s\" twice", all[i].subject);
            if (strcmp(all[i].type_name, all[j].type_name) == 0)
                CHECK_FAIL_("type \"%s\" twice", all[i].type_name);
        }
    }
}

static void test_descriptor_names_equal_type_names(void)
{
    size_t n = 0;
    const tr_event_type_t *all = tr_catalogue_all(&n);
    for (size_t i = 0; i < n; i++) {
        CHECK(all[i].descriptor != NULL);
        if (all[i].descriptor == NULL)
            continue;
        CHECK_INT_EQ(all[i].descriptor->magic, PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
        CHECK_STR_EQ(all[i].descriptor->name, all[i].type_name);
        CHECK(tr_catalogue_descriptor(all[i].type_name) == all[i].descriptor);
    }
}

static void test_per_supplier_subject_takes_8_digits(void)
{
    const tr_event_type_t *e = tr_catalogue_by_subject("ordering.order.placed.45424421");
    CHECK(e != NULL);
    if (e != NULL)
        CHECK_STR_EQ(e->type_name, "trivsel.ordering.OrderPlaced");
    CHECK(tr_catalogue_by_subject("ordering.order.placed.00000000") != NULL);
    CHECK(tr_catalogue_by_subject("ordering.order.placed.4542442") == NULL);
    CHECK(tr_catalogue_by_subject("ordering.order.placed.454244210") == NULL);
    CHECK(tr_catalogue_by_subject("ordering.order.placed.abc") == NULL);
    CHECK(tr_catalogue_by_subject("ordering.order.placed.4542442a") == NULL);
    CHECK(tr_catalogue_by_subject("ordering.order.placed.*") == NULL);
    CHECK(tr_catalogue_by_subject("ordering.order.placed.") == NULL);
    CHECK(tr_catalogue_by_subject("ordering.order.placed") == NULL);
    CHECK(tr_catalogue_by_subject("ordering.order.placed.45424421.x") == NULL);
    CHECK(tr_catalogue_by_subject("ordering.order.placed..45424421") == NULL);
    CHECK(tr_catalogue_by_subject("docs.note.submitted.45424421") != NULL);
    CHECK(tr_catalogue_by_subject("docs.note.submitted") == NULL);
}

static void test_forwarded_subjects_have_their_own_type(void)
{
    /* The caseworker's adjustment and the one forwarded to the supplier differ by the CVR. */
    const tr_event_type_t *in = tr_catalogue_by_subject("ordering.order.adjusted");
    const tr_event_type_t *out = tr_catalogue_by_subject("ordering.order.adjusted.45424421");
    CHECK(in != NULL && out != NULL && in != out);
    if (in != NULL && out != NULL) {
        CHECK_STR_EQ(in->type_name, "trivsel.ordering.OrderAdjusted");
        CHECK(in->inbound);
        CHECK_STR_EQ(out->type_name, "trivsel.ordering.OrderAdjustedForSupplier");
        CHECK(!out->inbound);
    }
    in = tr_catalogue_by_subject("ordering.order.ended");
    out = tr_catalogue_by_subject("ordering.order.ended.45424421");
    CHECK(in != NULL && out != NULL);
    if (in != NULL && out != NULL) {
        CHECK_STR_EQ(in->type_name, "trivsel.ordering.OrderEnded");
        CHECK_STR_EQ(out->type_name, "trivsel.ordering.OrderEndedForSupplier");
    }
}

static void test_unknown_subjects(void)
{
    CHECK(tr_catalogue_by_subject("") == NULL);
    CHECK(tr_catalogue_by_subject("intake") == NULL);
    CHECK(tr_catalogue_by_subject("intake.underretning") == NULL);
    CHECK(tr_catalogue_by_subject("intake.underretning.received.45424421") == NULL);
    CHECK(tr_catalogue_by_subject("intake.underretning.received.") == NULL);
    CHECK(tr_catalogue_by_subject("intake.underretning.received ") == NULL);
    CHECK(tr_catalogue_by_subject("Intake.Underretning.Received") == NULL);
    CHECK(tr_catalogue_by_subject("intake.underretning.*") == NULL);
    CHECK(tr_catalogue_by_subject("intake.>") == NULL);
    CHECK(tr_catalogue_by_subject("assessment.plan.due.45424421") == NULL);
    CHECK(tr_catalogue_by_subject("assessment.plan.soon") == NULL);
    CHECK(tr_catalogue_by_type("") == NULL);
    CHECK(tr_catalogue_by_type("UnderretningReceived") == NULL);
    CHECK(tr_catalogue_by_type("trivsel.Envelope") == NULL);
    CHECK(tr_catalogue_by_type("trivsel.Child") == NULL);
}

static void test_descriptor_of_any_compiled_type(void)
{
    static const char *const names[] = {
        "trivsel.Envelope",
        "google.protobuf.Timestamp",
        "trivsel.Child",
        "trivsel.Address",
        "trivsel.Reporter",
        "trivsel.Problem",
        "trivsel.Measure",
        "trivsel.AreaScore",
        "trivsel.Goal",
        "trivsel.Scope",
        "trivsel.Period",
        "trivsel.intake.Signal",
        "trivsel.assessment.ConversationHeld",
        "trivsel.ordering.DocumentationRequirements",
        "trivsel.ordering.OfferPrice",
        "trivsel.ordering.SettlementSegment",
        "trivsel.ordering.LegalBasisTotal",
        "trivsel.broker.ClientMessage",
        "trivsel.broker.ServerMessage",
        "trivsel.broker.SubscriptionStatus",
        "trivsel.broker.Hello",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const ProtobufCMessageDescriptor *d = tr_catalogue_descriptor(names[i]);
        if (d == NULL)
            CHECK_FAIL_("no descriptor for \"%s\"", names[i]);
        else
            CHECK_STR_EQ(d->name, names[i]);
    }
    CHECK(tr_catalogue_descriptor("") == NULL);
    CHECK(tr_catalogue_descriptor("Envelope") == NULL);
    CHECK(tr_catalogue_descriptor("trivsel.Nothing") == NULL);
    CHECK(tr_catalogue_descriptor("trivsel.LegalBasis") == NULL); /* an enum, not a message */
}

/* An unknown trivselslineal score and a score of 0 are different on the wire: the oneof keeps
 * the presence through a round trip via the catalogue's descriptor. */
static void test_score_presence_survives_the_wire(void)
{
    Trivsel__Intake__UnderretningReceived msg = TRIVSEL__INTAKE__UNDERRETNING_RECEIVED__INIT;
    const ProtobufCMessageDescriptor *d =
        tr_catalogue_by_subject("intake.underretning.received")->descriptor;
    uint8_t buf[64];
    size_t len;
    Trivsel__Intake__UnderretningReceived *back;

    len = protobuf_c_message_pack(&msg.base, buf);
    back = (Trivsel__Intake__UnderretningReceived *)protobuf_c_message_unpack(d, NULL, len, buf);
    CHECK(back != NULL);
    if (back != NULL) {
        CHECK_INT_EQ(back->reporter_score_present_case,
                     TRIVSEL__INTAKE__UNDERRETNING_RECEIVED__REPORTER_SCORE_PRESENT__NOT_SET);
        CHECK_INT_EQ(back->parents_informed_present_case,
                     TRIVSEL__INTAKE__UNDERRETNING_RECEIVED__PARENTS_INFORMED_PRESENT__NOT_SET);
        protobuf_c_message_free_unpacked(&back->base, NULL);
    }

    msg.reporter_score_present_case =
        TRIVSEL__INTAKE__UNDERRETNING_RECEIVED__REPORTER_SCORE_PRESENT_REPORTER_SCORE;
    msg.reporter_score = 0;
    msg.parents_informed_present_case =
        TRIVSEL__INTAKE__UNDERRETNING_RECEIVED__PARENTS_INFORMED_PRESENT_PARENTS_INFORMED;
    msg.parents_informed = false;
    len = protobuf_c_message_pack(&msg.base, buf);
    CHECK_INT_EQ(len, 4); /* two fields present with their zero values: tag + 0 each */
    back = (Trivsel__Intake__UnderretningReceived *)protobuf_c_message_unpack(d, NULL, len, buf);
    CHECK(back != NULL);
    if (back != NULL) {
        CHECK_INT_EQ(back->reporter_score_present_case,
                     TRIVSEL__INTAKE__UNDERRETNING_RECEIVED__REPORTER_SCORE_PRESENT_REPORTER_SCORE);
        CHECK_INT_EQ(back->reporter_score, 0);
        CHECK_INT_EQ(
            back->parents_informed_present_case,
            TRIVSEL__INTAKE__UNDERRETNING_RECEIVED__PARENTS_INFORMED_PRESENT_PARENTS_INFORMED);
        CHECK_INT_EQ(back->parents_informed, false);
        protobuf_c_message_free_unpacked(&back->base, NULL);
    }
}

int main(void)
{
    CHECK_RUN(test_every_event_has_its_type);
    CHECK_RUN(test_table_is_exactly_the_events);
    CHECK_RUN(test_descriptor_names_equal_type_names);
    CHECK_RUN(test_per_supplier_subject_takes_8_digits);
    CHECK_RUN(test_forwarded_subjects_have_their_own_type);
    CHECK_RUN(test_unknown_subjects);
    CHECK_RUN(test_descriptor_of_any_compiled_type);
    CHECK_RUN(test_score_presence_survives_the_wire);
    return check_done();
}
