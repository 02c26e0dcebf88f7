-- intake 0003: the child's case (sag), the underretninger on it, the deadlines that follow from
-- them, the measures learned from assessment's decisions, and the orientations owed to
-- public-employee reporters (DOMAIN.md §1). Times are UTC (timestamptz); dates are Danish
-- calendar dates. Enumerations are stored by their protobuf names (REPORTER_KIND_ANONYMOUS).

-- One case per child and municipality, made by the child's first underretning. A child is
-- found by CPR number, or without one by name and birth date (name_key: lower-case, spaces
-- collapsed). A case made without the CPR number takes it on when a later underretning with
-- the number matches the name and birth date.
CREATE TABLE intake.sag (
    id           uuid PRIMARY KEY,
    municipality text NOT NULL CHECK (municipality ~ '^[0-9]{3}$'),
    cpr          text CHECK (cpr ~ '^[0-9]{10}$'),
    name_key     text,
    birth_date   date NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sag_cpr ON intake.sag (municipality, cpr) WHERE cpr IS NOT NULL;
CREATE INDEX sag_birth ON intake.sag (municipality, birth_date);

CREATE TABLE intake.underretning (
    id                    uuid PRIMARY KEY,
    case_id               uuid NOT NULL REFERENCES intake.sag,
    municipality          text NOT NULL,
    -- The UnderretningReceived that made it: who published it, its event id, its payload.
    publisher             text NOT NULL,
    received_event_id     text NOT NULL,
    received              bytea NOT NULL,
    source_reference      text NOT NULL DEFAULT '',
    received_at           timestamptz NOT NULL,
    registered_at         timestamptz NOT NULL DEFAULT now(),
    channel               text NOT NULL,
    team                  text NOT NULL DEFAULT '',
    reporter_kind         text NOT NULL,
    -- Violence or sexual abuse suspected (Barnets Lov §137 stk. 2-4): nothing to the parents.
    abuse_case            boolean NOT NULL,
    parents_suspected     boolean NOT NULL,
    triage_due_at         timestamptz NOT NULL,
    receipt_required      boolean NOT NULL,
    receipt_due_date      date,
    orientation_required  boolean NOT NULL,
    underretninger_last_12_months integer NOT NULL,
    genvurdering_required boolean NOT NULL,
    -- The triage (Barnets Lov §136), once it is recorded.
    triage_event_id       text,
    triage                bytea,
    triaged_at            timestamptz,
    triaged_by_id         text,
    triaged_by_name       text,
    triage_outcome        text,
    triage_late           boolean,
    triage_recorded_at    timestamptz,
    -- The kvittering, once sent.
    receipt_sent_at       timestamptz,
    receipt_channel       text,
    receipt_sent_by_id    text,
    receipt_late          boolean,
    UNIQUE (publisher, received_event_id),
    CHECK (receipt_required = (receipt_due_date IS NOT NULL))
);
CREATE INDEX underretning_case ON intake.underretning (case_id, received_at);
CREATE INDEX underretning_open_triage ON intake.underretning (triage_due_at) WHERE triaged_at IS NULL;

-- The deadlines (ARCHITECTURE.md principle 3). A row fires once: the daemon claims due rows
-- with FOR UPDATE SKIP LOCKED and sets fired_at in the transaction that writes the event into
-- broker.outbox. closed_at: it will never fire, because what it waited for came in time
-- (closed_reason 'triaged', 'receipt_sent') or a later deadline of the same underretning
-- passed too ('superseded': no warning after the deadline itself).
CREATE TABLE intake.deadline (
    id              bigserial PRIMARY KEY,
    underretning_id uuid NOT NULL REFERENCES intake.underretning,
    kind            text NOT NULL CHECK (kind IN ('triage_due_soon', 'triage_overdue', 'receipt_overdue')),
    due_at          timestamptz NOT NULL,
    fired_at        timestamptz,
    fired_event_id  text,
    closed_at       timestamptz,
    closed_reason   text,
    UNIQUE (underretning_id, kind),
    CHECK (fired_at IS NULL OR closed_at IS NULL)
);
CREATE INDEX deadline_open ON intake.deadline (due_at) WHERE fired_at IS NULL AND closed_at IS NULL;

-- Measures granted on the child's case (assessment.decision.registered): an active measure or
-- placement makes a new underretning require a genvurdering (Barnets Lov §137 stk. 1).
-- legal_basis is the trivsel.LegalBasis number. start_date is the measure's, or the date of the
-- decision when it gave none; end_date NULL = open-ended.
CREATE TABLE intake.measure (
    id          bigserial PRIMARY KEY,
    case_id     uuid NOT NULL REFERENCES intake.sag,
    decision_id text NOT NULL,
    legal_basis integer NOT NULL,
    description text NOT NULL DEFAULT '',
    start_date  date NOT NULL,
    end_date    date,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX measure_case ON intake.measure (case_id);

-- The orientation owed to a public-employee reporter (formerly SEL §155 b stk. 2): one row per
-- outcome made known, due orientation_due_date, open until intake.orientation.sent.
CREATE TABLE intake.orientation (
    underretning_id  uuid NOT NULL REFERENCES intake.underretning,
    outcome          text NOT NULL,
    known_at         timestamptz NOT NULL,
    due_date         date NOT NULL,
    source_event_id  text NOT NULL,
    sent_at          timestamptz,
    sent_channel     text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (underretning_id, outcome)
);
CREATE INDEX orientation_open ON intake.orientation (due_date) WHERE sent_at IS NULL;
