-- docs 0003: what trivsel-docs knows of the orders (learnt from ordering.order.*.CVR), the
-- suppliers' accepted submissions, the status reports each order requires, and the deadline
-- rows (ARCHITECTURE.md principle 3) that fire docs.report.due, docs.report.overdue and
-- docs.hours.reconciled. Refused submissions are rows in broker.audit, not here.

-- An order as this service needs it: who delivers it (supplier_cvr, the subject's last token
-- on ordering.order.placed.CVR), for which child, over which period, with which documentation
-- requirements. status: placed, then accepted by its supplier (only then may it document).
CREATE TABLE docs.orders (
    municipality             text NOT NULL,
    order_id                 text NOT NULL,
    case_id                  text NOT NULL,
    supplier_cvr             text NOT NULL,
    child_cpr                text NOT NULL,        -- 10 digits, no dash
    start_date               date NOT NULL,
    end_date                 date NOT NULL,
    ended                    boolean NOT NULL DEFAULT false, -- ended by the caseworker
    report_interval_months   integer NOT NULL,     -- 0 = no status reports required
    caseworker_id            text NOT NULL DEFAULT '',
    caseworker_name          text NOT NULL DEFAULT '',
    caseworker_team          text NOT NULL DEFAULT '',
    team                     text NOT NULL DEFAULT '',
    status                   text NOT NULL DEFAULT 'placed' CHECK (status IN ('placed', 'accepted')),
    accepted_by              text,                 -- the principal that accepted it
    accepted_at              timestamptz,
    placed_event_id          text NOT NULL,
    PRIMARY KEY (municipality, order_id)
);

-- The ordered scope from a day on (the placed scope from the start, adjustments from their
-- effective_from): the ordered hours of a month are summed day by day over these.
CREATE TABLE docs.order_scope (
    municipality     text NOT NULL,
    order_id         text NOT NULL,
    effective_from   date NOT NULL,
    minutes_per_week integer NOT NULL,
    PRIMARY KEY (municipality, order_id, effective_from),
    FOREIGN KEY (municipality, order_id) REFERENCES docs.orders
);

-- Accepted submissions. The supplier is the subject's CVR and the publishing principal, never
-- a field of the message. doc_date: the note's date, the measurement's day, the plan's
-- valid_from, the report period's last day. submitted_at: the envelope's occurred_at (checked
-- against the broker's published_at).
CREATE TABLE docs.submission (
    supplier_cvr      text NOT NULL,
    submission_id     text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('note', 'report', 'measurement', 'plan')),
    municipality      text NOT NULL,
    order_id          text NOT NULL,
    child_cpr         text NOT NULL,
    doc_date          date NOT NULL,
    duration_minutes  integer NOT NULL DEFAULT 0,
    report_number     integer,
    late              boolean NOT NULL DEFAULT false,
    publisher         text NOT NULL,
    event_id          text NOT NULL,
    submitted_at      timestamptz NOT NULL,
    published_at      timestamptz NOT NULL,
    payload           bytea NOT NULL,               -- the submission as sent (protobuf)
    PRIMARY KEY (supplier_cvr, submission_id),
    FOREIGN KEY (municipality, order_id) REFERENCES docs.orders
);
CREATE INDEX submission_notes ON docs.submission (municipality, order_id, doc_date) WHERE kind = 'note';

-- Trivselslineal scores from the suppliers' progressionsmålinger, for the progress series.
CREATE TABLE docs.measurement_score (
    supplier_cvr   text NOT NULL,
    submission_id  text NOT NULL,
    child_cpr      text NOT NULL,
    measured_on    date NOT NULL,
    area           text NOT NULL,                   -- the LifeArea enum name
    score          integer NOT NULL CHECK (score BETWEEN 1 AND 10),
    PRIMARY KEY (supplier_cvr, submission_id, area),
    FOREIGN KEY (supplier_cvr, submission_id) REFERENCES docs.submission
);
CREATE INDEX measurement_score_child ON docs.measurement_score (child_cpr, measured_on);

-- The status reports an accepted order requires: number k is due on start + k x interval
-- months (tr_calendar_add_months) and covers the interval before it. overdue_at: the end of the
-- due day, Danish time. Closed by the first accepted report after the earlier ones.
CREATE TABLE docs.report (
    municipality    text NOT NULL,
    order_id        text NOT NULL,
    report_number   integer NOT NULL,
    due_date        date NOT NULL,
    period_start    date NOT NULL,
    period_end      date NOT NULL,
    overdue_at      timestamptz NOT NULL,
    closed_at       timestamptz,
    closed_by       text,                           -- the report's submission_id
    PRIMARY KEY (municipality, order_id, report_number),
    FOREIGN KEY (municipality, order_id) REFERENCES docs.orders
);

-- Deadlines: kind report_due (a warning before the report's overdue_at), report_overdue (at
-- it), hours (a month's reconciliation). report_number is 0 and month '' where they do not
-- apply. A row fires once (fired_at), claimed FOR UPDATE SKIP LOCKED; a report closes its
-- unfired rows (closed_at).
CREATE TABLE docs.deadline (
    id              bigserial PRIMARY KEY,
    municipality    text NOT NULL,
    order_id        text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('report_due', 'report_overdue', 'hours')),
    report_number   integer NOT NULL DEFAULT 0,
    month           text NOT NULL DEFAULT '',       -- "YYYY-MM" for hours
    due_at          timestamptz NOT NULL,
    fired_at        timestamptz,
    fired_event_id  text,
    closed_at       timestamptz,
    closed_reason   text,
    UNIQUE (municipality, order_id, kind, report_number, month),
    FOREIGN KEY (municipality, order_id) REFERENCES docs.orders
);
CREATE INDEX deadline_open ON docs.deadline (due_at) WHERE fired_at IS NULL AND closed_at IS NULL;

-- One order's month: days active, ordered minutes (each active day's minutes_per_week / 7,
-- summed, rounded to the minute), delivered minutes and the count of accepted notes dated in
-- it. month "YYYY-MM"; no row for ''.
CREATE FUNCTION docs.month_hours(p_municipality text, p_order_id text, p_month text)
RETURNS TABLE (days_active integer, ordered_minutes integer, delivered_minutes integer, notes_count integer)
LANGUAGE sql STABLE AS $$
    WITH m AS (
        SELECT to_date(p_month, 'YYYY-MM') AS first,
               (to_date(p_month, 'YYYY-MM') + interval '1 month' - interval '1 day')::date AS last
         WHERE p_month <> ''),
    days AS (
        SELECT g.day::date AS day, s.minutes_per_week
          FROM m, docs.orders o,
               generate_series(greatest(o.start_date, m.first), least(o.end_date, m.last), interval '1 day') g(day)
          LEFT JOIN LATERAL (
               SELECT sc.minutes_per_week FROM docs.order_scope sc
                WHERE sc.municipality = p_municipality AND sc.order_id = p_order_id
                  AND sc.effective_from <= g.day
                ORDER BY sc.effective_from DESC LIMIT 1) s ON true
         WHERE o.municipality = p_municipality AND o.order_id = p_order_id)
    SELECT (SELECT count(*) FROM days)::integer,
           (SELECT coalesce(round(sum(coalesce(minutes_per_week, 0)) / 7.0), 0) FROM days)::integer,
           (SELECT coalesce(sum(duration_minutes), 0) FROM docs.submission, m
             WHERE municipality = p_municipality AND order_id = p_order_id AND kind = 'note'
               AND doc_date BETWEEN m.first AND m.last)::integer,
           (SELECT count(*) FROM docs.submission, m
             WHERE municipality = p_municipality AND order_id = p_order_id AND kind = 'note'
               AND doc_date BETWEEN m.first AND m.last)::integer
      FROM m
$$;
GRANT EXECUTE ON FUNCTION docs.month_hours(text, text, text) TO trivsel_docs;
