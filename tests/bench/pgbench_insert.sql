-- pgbench_insert.sql — one event per transaction into a table like the broker's log: the insert
-- the broker makes for each event, one row at a time (services/broker/publish.c does the same for
-- a whole batch in one statement and one commit). What the log would cost without group commit.
-- The envelope is 400 bytes, about an underretning's.
\set n random(1, 1000000000)
WITH ins AS (
 INSERT INTO pgbench.event (position, event_id, publisher, subject, type, municipality, correlation_id,
   occurred_at, published_at, envelope)
 VALUES (nextval('pgbench.event_position'), gen_random_uuid()::text || :n, 'bench', 'intake.underretning.received',
   'trivsel.intake.UnderretningReceived', '630', '', now(), now(), decode(repeat(md5(:n::text), 25), 'hex'))
 ON CONFLICT (publisher, event_id) DO NOTHING RETURNING position)
SELECT position, false FROM ins
UNION ALL
SELECT position, true FROM pgbench.event
 WHERE publisher = 'bench' AND event_id = 'never' AND NOT EXISTS (SELECT FROM ins);
