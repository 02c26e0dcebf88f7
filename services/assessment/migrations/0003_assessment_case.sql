-- assessment 0003: what trivsel-assessment knows of the child's case (learned from intake's
-- events), the børnefaglige undersøgelser, trivselslineal scores and børnesamtaler (DOMAIN.md
-- §2). 0004 holds the decisions and what follows from them. Times are UTC (timestamptz); dates are Danish calendar dates. Enumerations
-- are stored by their protobuf names (TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE). Ids are the
-- senders' (case, underretning, decision, plan) or trivsel's own (investigation: a UUID).

-- The child's case as assessment knows it, from intake.underretning.registered. phase: the
-- casework phase of seed 003 (CasePhase in assessment.proto, lower-case without the prefix).
CREATE TABLE assessment.sag (
    case_id        text PRIMARY KEY CHECK (length(case_id) BETWEEN 1 AND 100),
    municipality   text NOT NULL CHECK (municipality ~ '^[0-9]{3}$'),
    cpr            text CHECK (cpr ~ '^[0-9]{10}$'),
    child_name     text NOT NULL DEFAULT '',
    birth_date     text NOT NULL DEFAULT '',
    phase          text NOT NULL DEFAULT 'started'
                   CHECK (phase IN ('started', 'informed', 'considered', 'decided', 'followed_up')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sag_cpr ON assessment.sag (cpr) WHERE cpr IS NOT NULL;

-- The underretninger on the case, and their triage (intake.triage.completed) once it came.
CREATE TABLE assessment.underretning (
    underretning_id       text PRIMARY KEY CHECK (length(underretning_id) BETWEEN 1 AND 100),
    case_id               text NOT NULL REFERENCES assessment.sag,
    received_at           timestamptz NOT NULL,
    reporter_kind         text NOT NULL DEFAULT '',
    -- Violence or sexual abuse suspected (Barnets Lov §137 stk. 2-4): nothing to the parents.
    abuse_case            boolean NOT NULL,
    parents_suspected     boolean NOT NULL,
    team                  text NOT NULL DEFAULT '',
    underretninger_last_12_months integer NOT NULL DEFAULT 0,
    genvurdering_required boolean NOT NULL DEFAULT false,
    registered_event_id   text NOT NULL,
    registered_at         timestamptz NOT NULL DEFAULT now(),
    -- The investigation it opened or joined.
    investigation_id      uuid,
    triage_event_id       text,
    triaged_at            timestamptz,
    triaged_by_id         text,
    triaged_by_name       text,
    triage_outcome        text,
    child_in_danger       boolean,
    acute_measures_needed boolean,
    acute_measures        text,
    triage_reasons        text
);
CREATE INDEX underretning_case ON assessment.underretning (case_id, received_at);

-- A børnefaglig undersøgelse (§20). At most one runs per case; an underretning that calls for
-- one while one runs joins it. due_date: aware_at's Danish date + 4 months (§20 stk. 3).
CREATE TABLE assessment.investigation (
    investigation_id        uuid PRIMARY KEY,
    case_id                 text NOT NULL REFERENCES assessment.sag,
    underretning_id         text NOT NULL REFERENCES assessment.underretning,
    opened_because          text NOT NULL CHECK (opened_because IN ('triage', 'abuse_case')),
    aware_at                timestamptz NOT NULL,
    due_date                date NOT NULL,
    abuse_case              boolean NOT NULL,
    parents_suspected       boolean NOT NULL,
    caseworker_id           text NOT NULL DEFAULT '',
    caseworker_name         text NOT NULL DEFAULT '',
    team                    text NOT NULL DEFAULT '',
    opened_at               timestamptz NOT NULL DEFAULT now(),
    opened_event_id         text NOT NULL,
    concluded_at            timestamptz,
    concluded_by_id         text,
    concluded_by_name       text,
    outcome                 text,
    conclusion              text,
    siblings_considered     boolean,
    foreloebig_vurdering_at timestamptz,
    concluded_event_id      text
);
CREATE UNIQUE INDEX investigation_running ON assessment.investigation (case_id) WHERE concluded_at IS NULL;
ALTER TABLE assessment.underretning
    ADD FOREIGN KEY (investigation_id) REFERENCES assessment.investigation;

-- Trivselslineal scores: every one is kept, so a child's progress per area is a series.
-- area: the trivsel.LifeArea name. The level names follow from the score (common/trivselslineal).
CREATE TABLE assessment.score (
    id                 bigserial PRIMARY KEY,
    case_id            text NOT NULL REFERENCES assessment.sag,
    investigation_id   uuid REFERENCES assessment.investigation,
    area               text NOT NULL,
    score              integer NOT NULL CHECK (score BETWEEN 1 AND 10),
    observations       text NOT NULL DEFAULT '',
    risk_factors       text[] NOT NULL DEFAULT '{}',
    protective_factors text[] NOT NULL DEFAULT '{}',
    assessed_at        timestamptz NOT NULL,
    assessed_by_id     text NOT NULL DEFAULT '',
    assessed_by_name   text NOT NULL DEFAULT '',
    event_id           text NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX score_case ON assessment.score (case_id, area, assessed_at);

-- The child's own view (§5 stk. 3): a børnesamtale held, or why not.
CREATE TABLE assessment.child_conversation (
    id                      bigserial PRIMARY KEY,
    case_id                 text NOT NULL REFERENCES assessment.sag,
    investigation_id        uuid NOT NULL REFERENCES assessment.investigation,
    held                    boolean NOT NULL,
    held_at                 timestamptz,
    held_by                 text NOT NULL DEFAULT '',
    parents_present         boolean,
    without_parents_consent boolean NOT NULL DEFAULT false,
    at_boernehus            boolean NOT NULL DEFAULT false,
    child_view              text NOT NULL DEFAULT '',
    not_held_reason         text NOT NULL DEFAULT '',
    recorded_by_id          text NOT NULL DEFAULT '',
    event_id                text NOT NULL,
    recorded_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (held = (held_at IS NOT NULL AND parents_present IS NOT NULL)),
    CHECK (held OR not_held_reason <> '')
);
CREATE INDEX child_conversation_investigation ON assessment.child_conversation (investigation_id);
