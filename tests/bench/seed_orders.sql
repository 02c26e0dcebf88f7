-- seed_orders.sql — run by tests/bench/run.sh as the admin, after tests/bench/orders.sh has had
-- trivsel-ordering place, accept, adjust and end the template orders 'tmpl-NN' from events:
-- copies of them up to :orders orders in all, for the settlement benchmark. A copy is its
-- template's rows as the service wrote them (its decision, ordering.orders, its scope rows, its
-- changes), with a decision, order, case and child of its own: the same offer, price, period,
-- scope changes, budget and status. The stored events (requested, change) are the template's
-- bytes.
\set ON_ERROR_STOP 1
BEGIN;
CREATE TEMP TABLE copy ON COMMIT DROP AS
    SELECT t.order_id AS template, c.order_id, c.child
      FROM (SELECT order_id, row_number() OVER (ORDER BY order_id) AS k FROM ordering.orders
             WHERE municipality = '575' AND order_id LIKE 'tmpl-%') t
      JOIN (SELECT m, format('bench-%s', lpad(m::text, 7, '0')) AS order_id,
                   -- a child's CPR number: born 2010-2024, serial 4000-9999
                   to_char(date '2010-01-01' + (m % 5475)::int, 'DDMMYY')
                       || (4000 + (m / 5475) % 6000)::text AS child
              FROM generate_series(1, greatest(:orders - 12, 0)) m) c
        ON (c.m - 1) % 12 + 1 = t.k;

INSERT INTO ordering.decision (municipality, decision_id, case_id, kind, legal_bases, abuse_case, event_id,
        registered_at)
SELECT d.municipality, 'D-' || c.order_id, 'sag-' || c.order_id, d.kind, d.legal_bases, d.abuse_case,
       c.order_id || '-decision', d.registered_at
  FROM copy c JOIN ordering.decision d ON d.municipality = '575' AND d.decision_id = 'D-' || c.template;

INSERT INTO ordering.orders (municipality, order_id, case_id, child_cpr, decision_id, offer_id,
        offer_version, supplier_cvr, legal_basis, price_model, start_date, end_date, team,
        caseworker_id, budget_oere, abuse_case, leon_reason, cheaper_alternatives, requested,
        publisher, requested_event_id, requested_at, placed_at, status, accept_due_at,
        unaccepted_flagged_at, answered_at, answered_by, answer, decline_reason, ended_at, end_reason)
SELECT o.municipality, c.order_id, 'sag-' || c.order_id, c.child, 'D-' || c.order_id, o.offer_id,
       o.offer_version, o.supplier_cvr, o.legal_basis, o.price_model, o.start_date, o.end_date, o.team,
       o.caseworker_id, o.budget_oere, o.abuse_case, o.leon_reason, o.cheaper_alternatives, o.requested,
       o.publisher, c.order_id || '-requested', o.requested_at, o.placed_at, o.status, o.accept_due_at,
       o.unaccepted_flagged_at, o.answered_at, o.answered_by, o.answer, o.decline_reason, o.ended_at,
       o.end_reason
  FROM copy c JOIN ordering.orders o ON o.municipality = '575' AND o.order_id = c.template;

INSERT INTO ordering.order_scope (municipality, order_id, effective_from, minutes_per_week, description,
        price_oere, offer_version, event_id)
SELECT s.municipality, c.order_id, s.effective_from, s.minutes_per_week, s.description, s.price_oere,
       s.offer_version, c.order_id || '-' || s.event_id
  FROM copy c JOIN ordering.order_scope s ON s.municipality = '575' AND s.order_id = c.template;

INSERT INTO ordering.order_change (municipality, order_id, kind, event_id, publisher, change, budget_oere,
        changed_at)
SELECT x.municipality, c.order_id, x.kind, c.order_id || '-' || x.event_id, x.publisher, x.change,
       x.budget_oere, x.changed_at
  FROM copy c JOIN ordering.order_change x ON x.municipality = '575' AND x.order_id = c.template;
COMMIT;
ANALYZE ordering.decision, ordering.orders, ordering.order_scope, ordering.order_change;
