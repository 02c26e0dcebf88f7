-- broker 0003: the audit log (ARCHITECTURE.md principle 5, issue 10). Every delivery of an
-- event to a principal outside trivsel's own services, and every refused attempt, is a row.
-- Rows are append-only: no daemon role may update or delete them, and each row carries the
-- hash of the row before it, so a changed or removed row breaks the chain at that point
-- (`trivselctl audit verify` names the first broken row).
CREATE TABLE broker.audit (
    seq            bigint PRIMARY KEY,            -- the row's place in the chain
    at             timestamptz NOT NULL DEFAULT now(),
    writer         text NOT NULL DEFAULT current_user, -- the database role that wrote it
    principal      text NOT NULL,                 -- who read, or who was refused
    action         text NOT NULL,                 -- delivered, publish_refused, subscribe_refused, connection_refused, ...
    subject        text NOT NULL DEFAULT '',
    position       bigint,                        -- the event delivered
    event_id       text NOT NULL DEFAULT '',
    correlation_id text NOT NULL DEFAULT '',      -- the case
    detail         text NOT NULL DEFAULT '',
    prev_hash      bytea NOT NULL,
    hash           bytea NOT NULL
);

-- The chain's head: one row, locked by each insert until its transaction ends, so writers from
-- several daemons append one after the other in commit order.
CREATE TABLE broker.audit_head (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_seq bigint NOT NULL,
    hash     bytea NOT NULL
);
INSERT INTO broker.audit_head VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- The text a row's hash covers. trivselctl audit verify recomputes it with the same function,
-- so the format lives in one place; timestamps in UTC, so the session's time zone cannot
-- change it.
CREATE FUNCTION broker.audit_row_text(a broker.audit) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT concat_ws('|', a.seq, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), a.writer,
                     a.principal, a.action, a.subject, coalesce(a.position::text, ''), a.event_id,
                     a.correlation_id, a.detail)
$$;

-- Runs as the admin who owns it (SECURITY DEFINER), so the daemons need no rights on the head.
CREATE FUNCTION broker.audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    head broker.audit_head;
BEGIN
    SELECT * INTO head FROM broker.audit_head WHERE one FOR UPDATE;
    NEW.seq := head.last_seq + 1;
    NEW.writer := session_user;
    NEW.prev_hash := head.hash;
    NEW.hash := sha256(head.hash || convert_to(broker.audit_row_text(NEW), 'UTF8'));
    UPDATE broker.audit_head SET last_seq = NEW.seq, hash = NEW.hash WHERE one;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_chain BEFORE INSERT ON broker.audit
    FOR EACH ROW EXECUTE FUNCTION broker.audit_chain();

-- Append-only for every daemon: insert, and nothing else (the broker reads nothing back).
REVOKE ALL ON broker.audit, broker.audit_head FROM PUBLIC;
REVOKE ALL ON broker.audit, broker.audit_head FROM trivsel_broker;
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['trivsel_broker', 'trivsel_intake', 'trivsel_assessment', 'trivsel_ordering', 'trivsel_docs'] LOOP
        EXECUTE format('GRANT INSERT ON broker.audit TO %I', r);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION broker.audit_chain() FROM PUBLIC;
