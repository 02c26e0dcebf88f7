-- intake 0004: an underretning is registered by one call. Its statements were sent one by one,
-- each waiting for the one before (the case is needed for the history, both for the row):
-- trivsel-intake's connection spent its time on round trips. Here they run in the server, with
-- their plans kept for the session. What they compute stays as it was in underretning.c, which
-- computes everything that is not in the database (deadlines, ids, the lock's key).
--
-- Returns the child's case (found or made), whether it was made, the count of underretninger on
-- it in the 12 months up to and including this one, and the legal bases (trivsel.LegalBasis
-- numbers, comma-separated, ascending) of the measures active on the day of receipt.
CREATE FUNCTION intake.register_underretning(
    p_lock_key text,
    p_municipality text, p_cpr text, p_name_key text, p_birth_date date, p_new_case_id uuid,
    p_id uuid, p_publisher text, p_received_event_id text, p_received bytea, p_source_reference text,
    p_received_at timestamptz, p_received_date date, p_twelve_months_before timestamptz,
    p_channel text, p_team text, p_reporter_kind text, p_abuse_case boolean, p_parents_suspected boolean,
    p_triage_due_at timestamptz, p_triage_warning_at timestamptz,
    p_receipt_required boolean, p_receipt_due_date date, p_receipt_overdue_at timestamptz,
    p_orientation_required boolean,
    OUT case_id uuid, OUT new_case boolean, OUT last_12_months integer, OUT active_bases text)
LANGUAGE plpgsql AS $$
BEGIN
    -- Every way of matching a child shares municipality and birth date: under this lock two
    -- instances cannot make one child two cases.
    PERFORM pg_advisory_xact_lock(hashtextextended(p_lock_key, 0));

    -- The child's case: by CPR number, or without one by name and birth date; a case made
    -- without the number takes it on.
    SELECT s.id INTO case_id FROM intake.sag s
     WHERE s.municipality = p_municipality AND s.birth_date = p_birth_date
       AND ((p_cpr IS NOT NULL AND s.cpr = p_cpr)
            OR (p_name_key <> '' AND s.name_key = p_name_key AND (s.cpr IS NULL OR p_cpr IS NULL)))
     ORDER BY (s.cpr IS NOT DISTINCT FROM p_cpr) DESC, s.created_at LIMIT 1;
    new_case := case_id IS NULL;
    IF new_case THEN
        case_id := p_new_case_id;
        INSERT INTO intake.sag (id, municipality, cpr, name_key, birth_date)
        VALUES (p_new_case_id, p_municipality, p_cpr, nullif(p_name_key, ''), p_birth_date);
    ELSE
        UPDATE intake.sag s SET cpr = coalesce(s.cpr, p_cpr), name_key = coalesce(s.name_key, nullif(p_name_key, ''))
         WHERE s.id = register_underretning.case_id
           AND (s.cpr IS NULL AND p_cpr IS NOT NULL OR s.name_key IS NULL AND p_name_key <> '');
    END IF;

    -- Repeated underretninger (DOMAIN.md §1): this one and those of the 12 months before it.
    SELECT count(*) + 1 INTO last_12_months FROM intake.underretning u
     WHERE u.case_id = register_underretning.case_id
       AND u.received_at > p_twelve_months_before AND u.received_at <= p_received_at;
    -- A measure active on the day of receipt makes a genvurdering required (Barnets Lov §137).
    SELECT coalesce(string_agg(a.b::text, ',' ORDER BY a.b), '') INTO active_bases
      FROM (SELECT DISTINCT m.legal_basis b FROM intake.measure m
             WHERE m.case_id = register_underretning.case_id AND m.start_date <= p_received_date
               AND (m.end_date IS NULL OR m.end_date >= p_received_date)) a;

    INSERT INTO intake.underretning (id, case_id, municipality, publisher, received_event_id, received,
        source_reference, received_at, channel, team, reporter_kind, abuse_case, parents_suspected,
        triage_due_at, receipt_required, receipt_due_date, orientation_required,
        underretninger_last_12_months, genvurdering_required)
    VALUES (p_id, register_underretning.case_id, p_municipality, p_publisher, p_received_event_id, p_received,
        p_source_reference, p_received_at, p_channel, p_team, p_reporter_kind, p_abuse_case, p_parents_suspected,
        p_triage_due_at, p_receipt_required, p_receipt_due_date, p_orientation_required,
        last_12_months, active_bases <> '');

    -- Its deadlines; the receipt's only when a receipt is owed. A warning whose time has passed
    -- is still written: it fires at once (the warning is late, not lost).
    INSERT INTO intake.deadline (underretning_id, kind, due_at)
    SELECT p_id, d.kind, d.due_at
      FROM (VALUES ('triage_due_soon', p_triage_warning_at), ('triage_overdue', p_triage_due_at),
                   ('receipt_overdue', p_receipt_overdue_at)) AS d (kind, due_at)
     WHERE d.due_at IS NOT NULL;
    PERFORM pg_notify('intake_deadline', '');
END
$$;
REVOKE ALL ON FUNCTION intake.register_underretning FROM PUBLIC;
GRANT EXECUTE ON FUNCTION intake.register_underretning TO trivsel_intake;
