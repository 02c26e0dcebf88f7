-- broker 0002: the event log, principals and their permissions, durable subscriptions, and
-- the outbox the services write their events into.

-- Who may connect: one row per CURVE public key (ARCHITECTURE.md principle 5). A supplier
-- carries its CVR; its permissions are bound to subjects ending in that CVR.
CREATE TABLE broker.principal (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    kind        text NOT NULL CHECK (kind IN ('service', 'system', 'supplier', 'operator')),
    cvr         text CHECK (cvr ~ '^[0-9]{8}$'),
    public_key  text NOT NULL UNIQUE CHECK (length(public_key) = 40),
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz,
    CHECK ((kind = 'supplier') = (cvr IS NOT NULL))
);

CREATE TABLE broker.permission (
    principal text NOT NULL REFERENCES broker.principal (name) ON DELETE CASCADE,
    action    text NOT NULL CHECK (action IN ('publish', 'subscribe')),
    pattern   text NOT NULL,
    PRIMARY KEY (principal, action, pattern)
);

-- The log. Positions come from one sequence and only the broker writes here, one transaction
-- after the other, so positions become visible in order and a reader never skips one.
CREATE SEQUENCE broker.event_position;
CREATE TABLE broker.event (
    position       bigint PRIMARY KEY,
    event_id       text NOT NULL,
    publisher      text NOT NULL,
    subject        text NOT NULL,
    type           text NOT NULL,
    municipality   text NOT NULL,
    correlation_id text NOT NULL DEFAULT '',
    occurred_at    timestamptz,
    published_at   timestamptz NOT NULL DEFAULT now(),
    envelope       bytea NOT NULL,
    -- A publisher's event id is its idempotency key: a retry finds the first position.
    UNIQUE (publisher, event_id)
);

CREATE TABLE broker.subscription (
    principal      text NOT NULL,
    name           text NOT NULL,
    pattern        text NOT NULL,
    -- Every matching event at or below this position is acknowledged.
    acked_position bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, name)
);

-- The transactional outbox (principle 2): a service inserts the events it emits here in the
-- same transaction as its own state change; the broker moves them into the log. The service
-- roles may only insert: they cannot read or change anyone's events. publisher is filled from
-- the database role that inserted the row, so a service cannot publish as another.
CREATE TABLE broker.outbox (
    id         bigserial PRIMARY KEY,
    publisher  text NOT NULL DEFAULT current_user,
    envelope   bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (publisher = current_user)
);

CREATE FUNCTION broker.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('trivsel_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON broker.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION broker.outbox_notify();

-- Outbox events the broker refused (it says why); kept for the operator, never delivered.
CREATE TABLE broker.outbox_refused (
    id         bigint PRIMARY KEY,
    publisher  text NOT NULL,
    envelope   bytea NOT NULL,
    reason     text NOT NULL,
    refused_at timestamptz NOT NULL DEFAULT now()
);

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['trivsel_intake', 'trivsel_assessment', 'trivsel_ordering', 'trivsel_docs'] LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA broker TO %I', r);
        EXECUTE format('GRANT INSERT ON broker.outbox TO %I', r);
        EXECUTE format('GRANT USAGE ON SEQUENCE broker.outbox_id_seq TO %I', r);
    END LOOP;
END
$$;
-- Default privileges gave these to the broker; the outbox columns it must not rewrite are
-- protected by the CHECK above for the services, and the broker only deletes moved rows.

-- The broker reads principals and permissions; only the admin (trivselctl keys) changes them.
REVOKE INSERT, UPDATE, DELETE ON broker.principal, broker.permission FROM trivsel_broker;

-- A subscription pattern as a regular expression for `subject ~ ...`: "*" one token, a final
-- ">" one or more. Tokens are [a-z0-9_] (checked before a pattern is stored), so the only
-- character to escape is the dot.
CREATE FUNCTION broker.pattern_regex(pattern text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT '^' || replace(replace(replace(pattern, '.', '\.'), '*', '[a-z0-9_]+'),
                          '>', '[a-z0-9_]+(\.[a-z0-9_]+)*') || '$'
$$;
