-- ordering 0003: the catalogue of offers (foranstaltningskatalog) with its versions, the
-- decisions orders rest on, the orders with their scope over time, the suppliers' answers, and
-- the monthly settlement (DOMAIN.md §3). Everything belongs to one municipality (kommunekode):
-- each has its own catalogue, prices and orders. Times are UTC (timestamptz); dates are Danish
-- calendar dates; money is øre (bigint). Enumerations are stored by their protobuf numbers
-- (trivsel.ordering.PriceModel, trivsel.LegalBasis, trivsel.assessment.DecisionKind).

-- A supplier as the latest ordering.offer.published for its CVR says (name, kind, suspended).
CREATE TABLE ordering.supplier (
    municipality     text NOT NULL CHECK (municipality ~ '^[0-9]{3}$'),
    cvr              text NOT NULL CHECK (cvr ~ '^[0-9]{8}$'),
    name             text NOT NULL,
    kind             integer NOT NULL,
    -- Takes no new orders (approval withdrawn, agreement ended); orders placed run on.
    suspended        boolean NOT NULL DEFAULT false,
    updated_event_id text NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (municipality, cvr)
);

-- Every version of every offer. The version in effect on a day is the highest-numbered one whose
-- valid_from is on or before it; the offer can be ordered that day if that version's valid_to
-- is empty or not before it. A version never changes once published.
CREATE TABLE ordering.offer_version (
    municipality       text NOT NULL,
    offer_id           text NOT NULL,
    version            integer NOT NULL CHECK (version >= 1),
    valid_from         date NOT NULL,
    valid_to           date CHECK (valid_to IS NULL OR valid_to >= valid_from),
    supplier_cvr       text NOT NULL,
    title              text NOT NULL,
    -- LEON compares offers that share a legal basis and a target group code.
    target_group_codes text[] NOT NULL,
    legal_bases        integer[] NOT NULL,
    price_model        integer NOT NULL CHECK (price_model BETWEEN 1 AND 5),
    price_oere         bigint NOT NULL CHECK (price_oere >= 0),
    -- The OfferPublished as published, and by whom.
    offer              bytea NOT NULL,
    publisher          text NOT NULL,
    event_id           text NOT NULL,
    published_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (municipality, offer_id, version),
    FOREIGN KEY (municipality, supplier_cvr) REFERENCES ordering.supplier
);
CREATE INDEX offer_version_legal_bases ON ordering.offer_version USING gin (legal_bases);

-- Decisions (assessment.decision.registered), as far as orders need them: the case, what kind
-- of decision, the legal bases of its measures, and whether it is an abuse case.
CREATE TABLE ordering.decision (
    municipality  text NOT NULL,
    decision_id   text NOT NULL,
    case_id       text NOT NULL,
    kind          integer NOT NULL,
    legal_bases   integer[] NOT NULL,
    abuse_case    boolean NOT NULL,
    event_id      text NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (municipality, decision_id)
);

-- An order placed with a supplier. The price it was placed at is in its first scope row; an
-- adjustment adds rows. status: placed (waiting for the supplier), accepted, declined. An end
-- sets ended_at and end_date; a declined order is never settled.
CREATE TABLE ordering.orders (
    municipality          text NOT NULL,
    order_id              text NOT NULL,
    case_id               text NOT NULL,
    child_cpr             text NOT NULL CHECK (child_cpr ~ '^[0-9]{10}$'),
    decision_id           text NOT NULL,
    offer_id              text NOT NULL,
    offer_version         integer NOT NULL,
    supplier_cvr          text NOT NULL,
    legal_basis           integer NOT NULL,
    price_model           integer NOT NULL CHECK (price_model BETWEEN 1 AND 5),
    start_date            date NOT NULL,
    -- The last day; start_date - 1 when it was ended before it began.
    end_date              date NOT NULL CHECK (end_date >= start_date - 1),
    team                  text NOT NULL,
    caseworker_id         text NOT NULL,
    budget_oere           bigint NOT NULL,
    abuse_case            boolean NOT NULL,
    -- LEON: the caseworker's reason and the cheaper offers it answered (JSON array of
    -- trivsel.ordering.OfferPrice). Kept here, never sent to the supplier.
    leon_reason           text NOT NULL DEFAULT '',
    cheaper_alternatives  jsonb NOT NULL DEFAULT '[]',
    -- The OrderRequested as received.
    requested             bytea NOT NULL,
    publisher             text NOT NULL,
    requested_event_id    text NOT NULL,
    requested_at          timestamptz NOT NULL,
    placed_at             timestamptz NOT NULL DEFAULT now(),
    status                text NOT NULL DEFAULT 'placed' CHECK (status IN ('placed', 'accepted', 'declined')),
    -- Not accepted (nor declined) by the end of this instant's day: flagged.
    accept_due_at         timestamptz NOT NULL,
    unaccepted_flagged_at timestamptz,
    answered_at           timestamptz,
    answered_by           text,
    -- OrderAccepted or OrderDeclined as received.
    answer                bytea,
    decline_reason        text,
    ended_at              timestamptz,
    end_reason            text,
    PRIMARY KEY (municipality, order_id)
);
CREATE INDEX orders_unanswered ON ordering.orders (accept_due_at)
    WHERE status = 'placed' AND ended_at IS NULL AND unaccepted_flagged_at IS NULL;
CREATE INDEX orders_period ON ordering.orders (municipality, start_date, end_date);

-- The order's scope and price over time: each row from effective_from until the next row.
CREATE TABLE ordering.order_scope (
    municipality     text NOT NULL,
    order_id         text NOT NULL,
    effective_from   date NOT NULL,
    minutes_per_week integer NOT NULL CHECK (minutes_per_week BETWEEN 0 AND 10080),
    description      text NOT NULL DEFAULT '',
    price_oere       bigint NOT NULL CHECK (price_oere >= 0),
    offer_version    integer NOT NULL,
    event_id         text NOT NULL,
    PRIMARY KEY (municipality, order_id, effective_from),
    FOREIGN KEY (municipality, order_id) REFERENCES ordering.orders
);

-- Every adjustment and end, as received, with the budget after it.
CREATE TABLE ordering.order_change (
    municipality text NOT NULL,
    order_id     text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('adjusted', 'ended')),
    event_id     text NOT NULL,
    publisher    text NOT NULL,
    change       bytea NOT NULL,
    budget_oere  bigint NOT NULL,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (municipality, order_id) REFERENCES ordering.orders
);
CREATE INDEX order_change_order ON ordering.order_change (municipality, order_id);

-- Events that changed nothing and had no one to answer them on a subject: an offer that is not
-- valid, a supplier's answer to an order that is not its own or not open, a decision from a
-- principal that may not register decisions. For operators (the daemon also logs and counts).
CREATE TABLE ordering.rejected_event (
    id           bigserial PRIMARY KEY,
    municipality text NOT NULL,
    publisher    text NOT NULL,
    event_id     text NOT NULL,
    subject      text NOT NULL,
    code         text NOT NULL,
    reason       text NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now()
);

-- A month to settle (ARCHITECTURE.md principle 3: deadlines are data). Made for every month an
-- order touches, due when the month has ended in Danish time (plus a configurable delay);
-- requested_at is set by `trivselctl settle`, which makes it due at once (the month must have
-- ended). Open while ordering.settlement has no row for it; the daemon claims due rows with
-- FOR UPDATE SKIP LOCKED, so one instance settles a month once.
CREATE TABLE ordering.settlement_due (
    municipality text NOT NULL CHECK (municipality ~ '^[0-9]{3}$'),
    month        text NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    due_at       timestamptz NOT NULL,
    requested_at timestamptz,
    requested_by text,
    PRIMARY KEY (municipality, month)
);

-- A settled month: the SettlementCalculated as emitted. Never recomputed: a second run finds it.
CREATE TABLE ordering.settlement (
    municipality  text NOT NULL,
    month         text NOT NULL,
    calculated_at timestamptz NOT NULL,
    event_id      text NOT NULL,
    total_oere    bigint NOT NULL,
    line_count    integer NOT NULL,
    calculated    bytea NOT NULL,
    PRIMARY KEY (municipality, month)
);
