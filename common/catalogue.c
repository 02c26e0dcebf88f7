#include "catalogue.h"

#include <assert.h>
#include <string.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "trivsel/assessment.pb-c.h"
#include "trivsel/broker.pb-c.h"
#include "trivsel/common.pb-c.h"
#include "trivsel/docs.pb-c.h"
#include "trivsel/envelope.pb-c.h"
#include "trivsel/intake.pb-c.h"
#include "trivsel/ordering.pb-c.h"

#define IN true
#define OUT false
#define CVR true
#define ONE false

/* EVENTS.md, in its order. A subject ending in ".*" takes a supplier CVR as its last token. */
static const tr_event_type_t catalogue[] = {
    /* intake */
    {"intake.underretning.received", "trivsel.intake.UnderretningReceived",
     &trivsel__intake__underretning_received__descriptor, IN, ONE},
    {"intake.underretning.registered", "trivsel.intake.UnderretningRegistered",
     &trivsel__intake__underretning_registered__descriptor, OUT, ONE},
    {"intake.underretning.refused", "trivsel.intake.UnderretningRefused",
     &trivsel__intake__underretning_refused__descriptor, OUT, ONE},
    {"intake.triage.completed", "trivsel.intake.TriageCompleted",
     &trivsel__intake__triage_completed__descriptor, IN, ONE},
    {"intake.triage.refused", "trivsel.intake.TriageRefused",
     &trivsel__intake__triage_refused__descriptor, OUT, ONE},
    {"intake.triage.due_soon", "trivsel.intake.TriageDueSoon",
     &trivsel__intake__triage_due_soon__descriptor, OUT, ONE},
    {"intake.triage.overdue", "trivsel.intake.TriageOverdue",
     &trivsel__intake__triage_overdue__descriptor, OUT, ONE},
    {"intake.receipt.requested", "trivsel.intake.ReceiptRequested",
     &trivsel__intake__receipt_requested__descriptor, OUT, ONE},
    {"intake.receipt.sent", "trivsel.intake.ReceiptSent",
     &trivsel__intake__receipt_sent__descriptor, IN, ONE},
    {"intake.receipt.overdue", "trivsel.intake.ReceiptOverdue",
     &trivsel__intake__receipt_overdue__descriptor, OUT, ONE},
    {"intake.orientation.due", "trivsel.intake.OrientationDue",
     &trivsel__intake__orientation_due__descriptor, OUT, ONE},
    {"intake.orientation.sent", "trivsel.intake.OrientationSent",
     &trivsel__intake__orientation_sent__descriptor, IN, ONE},

    /* assessment */
    {"assessment.investigation.opened", "trivsel.assessment.InvestigationOpened",
     &trivsel__assessment__investigation_opened__descriptor, OUT, ONE},
    {"assessment.investigation.due_soon", "trivsel.assessment.InvestigationDueSoon",
     &trivsel__assessment__investigation_due_soon__descriptor, OUT, ONE},
    {"assessment.investigation.overdue", "trivsel.assessment.InvestigationOverdue",
     &trivsel__assessment__investigation_overdue__descriptor, OUT, ONE},
    {"assessment.score.recorded", "trivsel.assessment.ScoreRecorded",
     &trivsel__assessment__score_recorded__descriptor, IN, ONE},
    {"assessment.child_conversation.recorded", "trivsel.assessment.ChildConversationRecorded",
     &trivsel__assessment__child_conversation_recorded__descriptor, IN, ONE},
    {"assessment.investigation.concluded", "trivsel.assessment.InvestigationConcluded",
     &trivsel__assessment__investigation_concluded__descriptor, IN, ONE},
    {"assessment.decision.made", "trivsel.assessment.DecisionMade",
     &trivsel__assessment__decision_made__descriptor, IN, ONE},
    {"assessment.decision.registered", "trivsel.assessment.DecisionRegistered",
     &trivsel__assessment__decision_registered__descriptor, OUT, ONE},
    {"assessment.plan.recorded", "trivsel.assessment.PlanRecorded",
     &trivsel__assessment__plan_recorded__descriptor, IN, ONE},
    {"assessment.plan.overdue", "trivsel.assessment.PlanOverdue",
     &trivsel__assessment__plan_overdue__descriptor, OUT, ONE},
    {"assessment.followup.due", "trivsel.assessment.FollowupDue",
     &trivsel__assessment__followup_due__descriptor, OUT, ONE},
    {"assessment.followup.overdue", "trivsel.assessment.FollowupOverdue",
     &trivsel__assessment__followup_overdue__descriptor, OUT, ONE},
    {"assessment.event.refused", "trivsel.assessment.EventRefused",
     &trivsel__assessment__event_refused__descriptor, OUT, ONE},
    {"assessment.plan.due", "trivsel.assessment.PlanDue",
     &trivsel__assessment__plan_due__descriptor, OUT, ONE},
    {"assessment.appeal.due", "trivsel.assessment.AppealDue",
     &trivsel__assessment__appeal_due__descriptor, OUT, ONE},
    {"assessment.appeal.expired", "trivsel.assessment.AppealExpired",
     &trivsel__assessment__appeal_expired__descriptor, OUT, ONE},

    /* ordering */
    {"ordering.offer.published", "trivsel.ordering.OfferPublished",
     &trivsel__ordering__offer_published__descriptor, IN, ONE},
    {"ordering.order.requested", "trivsel.ordering.OrderRequested",
     &trivsel__ordering__order_requested__descriptor, IN, ONE},
    {"ordering.order.placed.*", "trivsel.ordering.OrderPlaced",
     &trivsel__ordering__order_placed__descriptor, OUT, CVR},
    {"ordering.order.refused", "trivsel.ordering.OrderRefused",
     &trivsel__ordering__order_refused__descriptor, OUT, ONE},
    {"ordering.order.accepted.*", "trivsel.ordering.OrderAccepted",
     &trivsel__ordering__order_accepted__descriptor, IN, CVR},
    {"ordering.order.declined.*", "trivsel.ordering.OrderDeclined",
     &trivsel__ordering__order_declined__descriptor, IN, CVR},
    {"ordering.order.adjusted", "trivsel.ordering.OrderAdjusted",
     &trivsel__ordering__order_adjusted__descriptor, IN, ONE},
    {"ordering.order.ended", "trivsel.ordering.OrderEnded",
     &trivsel__ordering__order_ended__descriptor, IN, ONE},
    {"ordering.order.adjusted.*", "trivsel.ordering.OrderAdjustedForSupplier",
     &trivsel__ordering__order_adjusted_for_supplier__descriptor, OUT, CVR},
    {"ordering.order.ended.*", "trivsel.ordering.OrderEndedForSupplier",
     &trivsel__ordering__order_ended_for_supplier__descriptor, OUT, CVR},
    {"ordering.settlement.calculated", "trivsel.ordering.SettlementCalculated",
     &trivsel__ordering__settlement_calculated__descriptor, OUT, ONE},

    /* docs */
    {"docs.note.submitted.*", "trivsel.docs.NoteSubmitted",
     &trivsel__docs__note_submitted__descriptor, IN, CVR},
    {"docs.report.submitted.*", "trivsel.docs.ReportSubmitted",
     &trivsel__docs__report_submitted__descriptor, IN, CVR},
    {"docs.measurement.submitted.*", "trivsel.docs.MeasurementSubmitted",
     &trivsel__docs__measurement_submitted__descriptor, IN, CVR},
    {"docs.plan.submitted.*", "trivsel.docs.PlanSubmitted",
     &trivsel__docs__plan_submitted__descriptor, IN, CVR},
    {"docs.submission.accepted.*", "trivsel.docs.SubmissionAccepted",
     &trivsel__docs__submission_accepted__descriptor, OUT, CVR},
    {"docs.submission.rejected.*", "trivsel.docs.SubmissionRejected",
     &trivsel__docs__submission_rejected__descriptor, OUT, CVR},
    {"docs.report.due.*", "trivsel.docs.ReportDue",
     &trivsel__docs__report_due__descriptor, OUT, CVR},
    {"docs.report.overdue.*", "trivsel.docs.ReportOverdue",
     &trivsel__docs__report_overdue__descriptor, OUT, CVR},
    {"docs.hours.reconciled", "trivsel.docs.HoursReconciled",
     &trivsel__docs__hours_reconciled__descriptor, OUT, ONE},
};

enum { CATALOGUE_N = sizeof catalogue / sizeof catalogue[0] };

/* Where the search for a type by name starts, besides the events: every type reachable from
 * these through message fields is found, so only types that nothing refers to need a line. */
static const ProtobufCMessageDescriptor *const roots[] = {
    &trivsel__envelope__descriptor,
    &trivsel__broker__client_message__descriptor,
    &trivsel__broker__server_message__descriptor,
    &google__protobuf__timestamp__descriptor,
    &trivsel__child__descriptor,
    &trivsel__address__descriptor,
    &trivsel__contact__descriptor,
    &trivsel__reporter__descriptor,
    &trivsel__employee__descriptor,
    &trivsel__problem__descriptor,
    &trivsel__measure__descriptor,
    &trivsel__area_score__descriptor,
    &trivsel__goal__descriptor,
    &trivsel__scope__descriptor,
    &trivsel__period__descriptor,
};

enum {
    ROOTS_N = sizeof roots / sizeof roots[0],
    /* More distinct message types than the .proto files define; a walk that meets more is a
     * programming error caught by the unit test. */
    TYPES_MAX = 512,
};

/* True when s is exactly TR_CVR_DIGITS ASCII digits. */
static bool is_cvr(const char *s)
{
    size_t i;
    for (i = 0; i < TR_CVR_DIGITS; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return s[i] == '\0';
}

static bool subject_matches(const tr_event_type_t *e, const char *subject)
{
    size_t prefix; /* up to and including the dot before "*" */
    if (!e->per_supplier)
        return strcmp(e->subject, subject) == 0;
    prefix = strlen(e->subject) - 1;
    return strncmp(e->subject, subject, prefix) == 0 && is_cvr(subject + prefix);
}

const tr_event_type_t *tr_catalogue_by_subject(const char *subject)
{
    assert(subject != NULL);
    for (size_t i = 0; i < CATALOGUE_N; i++)
        if (subject_matches(&catalogue[i], subject))
            return &catalogue[i];
    return NULL;
}

const tr_event_type_t *tr_catalogue_by_type(const char *type_name)
{
    assert(type_name != NULL);
    for (size_t i = 0; i < CATALOGUE_N; i++)
        if (strcmp(catalogue[i].type_name, type_name) == 0)
            return &catalogue[i];
    return NULL;
}

/* Appends d to seen[] unless it is there already; a type is reached through many fields. */
static void visit(const ProtobufCMessageDescriptor *d, const ProtobufCMessageDescriptor **seen,
                  size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        if (seen[i] == d)
            return;
    assert(*n < TYPES_MAX);
    seen[(*n)++] = d;
}

const ProtobufCMessageDescriptor *tr_catalogue_descriptor(const char *type_name)
{
    /* protobuf-c keeps no registry of types, so walk the graph of message fields from the
     * events and the roots: seen[] is both the worklist and the visited set. No cache, so no
     * state: the walk is a few thousand pointer comparisons. */
    const ProtobufCMessageDescriptor *seen[TYPES_MAX];
    size_t n = 0;

    assert(type_name != NULL);
    for (size_t i = 0; i < CATALOGUE_N; i++)
        visit(catalogue[i].descriptor, seen, &n);
    for (size_t i = 0; i < ROOTS_N; i++)
        visit(roots[i], seen, &n);
    for (size_t next = 0; next < n; next++) {
        const ProtobufCMessageDescriptor *d = seen[next];
        if (strcmp(d->name, type_name) == 0)
            return d;
        for (unsigned f = 0; f < d->n_fields; f++)
            if (d->fields[f].type == PROTOBUF_C_TYPE_MESSAGE)
                visit(d->fields[f].descriptor, seen, &n);
    }
    return NULL;
}

const tr_event_type_t *tr_catalogue_all(size_t *n)
{
    assert(n != NULL);
    *n = CATALOGUE_N;
    return catalogue;
}
