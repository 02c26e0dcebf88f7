-- assessment 0004: decisions and their measures, barnets plan, follow-ups, the deadlines of the
-- case (ARCHITECTURE.md principle 3), and the events assessment refused (DOMAIN.md §2). Times are
-- UTC (timestamptz); dates are Danish calendar dates; enumerations by their protobuf names.

-- Decisions (afgørelser) and their measures. appeal_deadline: notified + 4 weeks, moved to the
-- next hverdag; no event announces it (EVENTS.md has none), it is shown by trivselctl case show.
CREATE TABLE assessment.decision (
    decision_id               text PRIMARY KEY CHECK (length(decision_id) BETWEEN 1 AND 100),
    case_id                   text NOT NULL REFERENCES assessment.sag,
    investigation_id          uuid REFERENCES assessment.investigation,
    parallel_investigation_id uuid REFERENCES assessment.investigation,
    kind                      text NOT NULL,
    reasons                   text NOT NULL DEFAULT '',
    decided_at                timestamptz NOT NULL,
    decided_by_id             text NOT NULL DEFAULT '',
    decided_by_name           text NOT NULL DEFAULT '',
    partshoering_done_at      timestamptz NOT NULL,
    child_partshoering_done   boolean NOT NULL DEFAULT false,
    notified_at               timestamptz NOT NULL,
    klagevejledning_given     boolean NOT NULL,
    appeal_deadline           date NOT NULL,
    plan_required             boolean NOT NULL,
    plan_due_date             date,
    first_followup_due_date   date,
    caseworker_id             text NOT NULL DEFAULT '',
    caseworker_name           text NOT NULL DEFAULT '',
    team                      text NOT NULL DEFAULT '',
    made_event_id             text NOT NULL,
    registered_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (partshoering_done_at <= decided_at AND decided_at <= notified_at),
    CHECK (plan_required = (plan_due_date IS NOT NULL))
);
CREATE INDEX decision_case ON assessment.decision (case_id, decided_at);

CREATE TABLE assessment.measure (
    decision_id              text NOT NULL REFERENCES assessment.decision,
    ordinal                  integer NOT NULL,
    legal_basis              text NOT NULL,
    description              text NOT NULL DEFAULT '',
    purpose                  text NOT NULL DEFAULT '',
    expected_duration_months integer NOT NULL DEFAULT 0,
    start_date               date,
    end_date                 date,
    PRIMARY KEY (decision_id, ordinal)
);

-- Barnets plan (§§91-92) and its revisions; a revision at a follow-up records that follow-up.
CREATE TABLE assessment.plan (
    plan_id            text NOT NULL CHECK (length(plan_id) BETWEEN 1 AND 100),
    case_id            text NOT NULL REFERENCES assessment.sag,
    decision_id        text NOT NULL REFERENCES assessment.decision,
    recorded_at        timestamptz NOT NULL,
    recorded_by_id     text NOT NULL DEFAULT '',
    goals              jsonb NOT NULL DEFAULT '[]',
    child_involved     boolean NOT NULL DEFAULT false,
    parents_involved   boolean NOT NULL DEFAULT false,
    followup_held_at   timestamptz,
    next_followup_date date,
    event_id           text NOT NULL,
    PRIMARY KEY (plan_id, event_id)
);
CREATE INDEX plan_decision ON assessment.plan (decision_id, recorded_at);

-- Follow-ups (§95) of a decision: the first from the decision, later ones as decided.
CREATE TABLE assessment.followup (
    id             bigserial PRIMARY KEY,
    decision_id    text NOT NULL REFERENCES assessment.decision,
    due_date       date NOT NULL,
    first_followup boolean NOT NULL,
    held_at        timestamptz,
    held_event_id  text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX followup_open ON assessment.followup (decision_id) WHERE held_at IS NULL;

-- The deadlines (ARCHITECTURE.md principle 3). A row fires once: the daemon claims due rows
-- with FOR UPDATE SKIP LOCKED and sets fired_at in the transaction that writes the event into
-- broker.outbox. closed_at: it will never fire, because what it waited for came in time
-- (closed_reason 'concluded', 'plan_recorded', 'followup_held') or the deadline itself had
-- passed when its warning came up ('superseded': no "due soon" after "overdue").
CREATE TABLE assessment.deadline (
    id               bigserial PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('investigation_due_soon', 'investigation_overdue',
                                                   'plan_overdue', 'followup_due', 'followup_overdue')),
    case_id          text NOT NULL REFERENCES assessment.sag,
    investigation_id uuid REFERENCES assessment.investigation,
    decision_id      text REFERENCES assessment.decision,
    followup_id      bigint REFERENCES assessment.followup,
    due_date         date NOT NULL,
    due_at           timestamptz NOT NULL,
    fired_at         timestamptz,
    fired_event_id   text,
    closed_at        timestamptz,
    closed_reason    text,
    CHECK (fired_at IS NULL OR closed_at IS NULL),
    CHECK ((kind LIKE 'investigation%') = (investigation_id IS NOT NULL)),
    CHECK ((kind LIKE 'followup%') = (followup_id IS NOT NULL))
);
CREATE INDEX deadline_open ON assessment.deadline (due_at) WHERE fired_at IS NULL AND closed_at IS NULL;
CREATE INDEX deadline_case ON assessment.deadline (case_id);

-- Inbound events that were not applied, with every problem found ([{field, problem, code}]).
CREATE TABLE assessment.refused_event (
    publisher  text NOT NULL,
    event_id   text NOT NULL,
    subject    text NOT NULL,
    case_id    text NOT NULL DEFAULT '',
    phase      text NOT NULL DEFAULT '',
    problems   jsonb NOT NULL,
    -- Whether an assessment.event.refused went out (only once the catalogue knows the subject).
    announced  boolean NOT NULL DEFAULT false,
    refused_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (publisher, event_id)
);
CREATE INDEX refused_event_case ON assessment.refused_event (case_id);
