-- ordering 0002: the events this service has handled (ARCHITECTURE.md principle 2). A row is
-- written in the same transaction as the event's effects and the events they emit (into
-- broker.outbox), so a redelivered event finds its row and changes nothing. The key is the
-- publisher and its event id, as in the broker's log.
CREATE TABLE ordering.handled_event (
    publisher    text NOT NULL,
    event_id     text NOT NULL,
    subject      text NOT NULL,
    position     bigint NOT NULL,
    handled_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (publisher, event_id)
);
