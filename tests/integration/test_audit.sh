#!/usr/bin/env bash
# The audit log (issue 10, item 5): deliveries to outside principals and refused attempts are
# rows in an append-only, hash-chained table; trivselctl audit verify names the first broken
# row; no daemon role can change or delete rows.
. tests/integration/lib.sh
migrate >/dev/null
start_broker
keys_new intake --kind service
daemon_port broker
wait_ready "$HTTP_PORT_broker"
ctl_admin() { env "${ADMIN_ENV[@]}" "$BIN/trivselctl" "$@"; }
# verify: trivselctl audit verify as the admin; what it prints (stdout and stderr) in VERIFIED,
# its exit status in VERIFY_STATUS.
verify() {
    VERIFIED=$(ctl_admin audit verify 2>&1)
    VERIFY_STATUS=$?
}
# psql as a daemon's own role
as_role() {
    PGPASSWORD=$(cat "$T/secrets/$1.password") psql -h "$TRIVSEL_TEST_PG_RUN" -U "$1" -d "$TRIVSEL_TEST_DB" \
        -qAtX -c "$2" 2>&1
}

as fagsystem brokertool publish 3 --prefix a --cases 1 >/dev/null
as fagsystem brokertool consume reader 'intake.underretning.received' 3 >"$T/reader"
check "an outside principal (a system) receives its events" grep -q '^handled 3 ' "$T/reader"
check_eq "each delivery to it is audited, with the case" \
    "$(sql "SELECT string_agg(principal || ' ' || action || ' ' || event_id || ' ' || correlation_id, ', ' ORDER BY position) FROM broker.audit WHERE action = 'delivered'")" \
    "fagsystem delivered a-0 case-0, fagsystem delivered a-1 case-0, fagsystem delivered a-2 case-0"
as intake brokertool consume inside 'intake.underretning.received' 3 >/dev/null
check_eq "deliveries to trivsel's own services are not audit rows" \
    "$(sql "SELECT count(*) FROM broker.audit WHERE principal = 'intake'")" 0

as supplier1 brokertool publish-one docs.note.submitted.12345678 >/dev/null
"$BIN/trivselctl" keys generate stranger --out "$T/keys" >/dev/null
as stranger brokertool publish-one intake.underretning.received --timeout 5 >/dev/null
for ((i = 0; i < 50; i++)); do
    [ "$(sql "SELECT count(*) FROM broker.audit WHERE action = 'connection_refused'")" -ge 1 ] && break
    sleep 0.1
done
check_eq "a refused publish is audited with the reason" \
    "$(sql "SELECT principal || ': ' || detail FROM broker.audit WHERE action = 'publish_refused'")" \
    'supplier1: supplier supplier1 (CVR 45424421) may publish only subjects ending in its own CVR, not "docs.note.submitted.12345678"'
check "a refused connection is audited with the key" \
    test "$(sql "SELECT count(*) FROM broker.audit WHERE action = 'connection_refused' AND detail LIKE 'unknown key from %'")" -ge 1

verify
rows=$(sql "SELECT count(*) FROM broker.audit")
check_eq "audit verify finds the chain whole" "$VERIFIED" "audit chain intact: $rows rows"
check_eq "... and exits with status 0" "$VERIFY_STATUS" 0

for role in trivsel_broker trivsel_intake trivsel_assessment trivsel_ordering trivsel_docs; do
    check "$role cannot change audit rows" grep -q 'permission denied for table audit' <<<"$(as_role $role "UPDATE broker.audit SET detail = 'x'")"
    check "$role cannot delete audit rows" grep -q 'permission denied for table audit' <<<"$(as_role $role "DELETE FROM broker.audit")"
done
check "a service role can append a row (e.g. a refused submission)" \
    test -z "$(as_role trivsel_docs "INSERT INTO broker.audit (principal, action, detail) VALUES ('supplier1', 'submission_refused', 'no order for the child')")"
rows=$((rows + 1))
verify
check_eq "... and it joins the chain" "$VERIFIED $VERIFY_STATUS" "audit chain intact: $rows rows 0"

# ---- tampering, by someone with more rights than any daemon: the chain shows where ------------------
# The broker stops first, so no row is appended while rows are damaged. Each case damages the
# chain as it stands now (rows 1-3 the deliveries, 4 the refused publish, then the refused
# connections and the appended row), and the chain is put back as it was before the next.
kill -TERM "$BROKER_PID"
wait_exit "$BROKER_PID"
check_eq "the chain stands at $rows rows, the broker stopped" \
    "$(sql "SELECT count(*) || ' ' || max(seq) || ' ' || (SELECT last_seq FROM broker.audit_head) FROM broker.audit") $EXIT_STATUS" \
    "$rows $rows $rows 0"
sql "CREATE TABLE public.audit_saved AS SELECT * FROM broker.audit;
     CREATE TABLE public.audit_head_saved AS SELECT * FROM broker.audit_head" >/dev/null
# restore: the rows and the head as saved (the trigger, which would give them new numbers and
# hashes, is off meanwhile); then the chain must be whole again.
restore() {
    sql "BEGIN;
         ALTER TABLE broker.audit DISABLE TRIGGER audit_chain;
         DELETE FROM broker.audit;
         INSERT INTO broker.audit SELECT * FROM public.audit_saved;
         ALTER TABLE broker.audit ENABLE TRIGGER audit_chain;
         UPDATE broker.audit_head h SET last_seq = s.last_seq, hash = s.hash FROM public.audit_head_saved s;
         COMMIT" >/dev/null
    verify
    check_eq "... put back, the chain is whole again" "$VERIFIED $VERIFY_STATUS" "audit chain intact: $rows rows 0"
}
# row SEQ: how audit verify names the row: "2024-03-21 09:15:00 UTC, fagsystem, delivered".
row() {
    sql "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC, ' || principal || ', ' || action
         FROM public.audit_saved WHERE seq = $1"
}

sql "UPDATE broker.audit SET detail = 'nothing to see' WHERE seq = 2" >/dev/null
verify
check_eq "a changed row is named as the first broken one" "$VERIFIED" \
    "audit chain broken at row 2 ($(row 2)): its content does not match its hash (the row was changed)"
check_eq "... and audit verify exits with status 1" "$VERIFY_STATUS" 1
restore

# A row changed and its hash made anew: the row after it no longer points to it.
sql "UPDATE broker.audit SET detail = 'nothing to see' WHERE seq = 2;
     UPDATE broker.audit a SET hash = sha256(a.prev_hash || convert_to(broker.audit_row_text(a), 'UTF8')) WHERE seq = 2" >/dev/null
verify
check_eq "a changed row with its hash made anew breaks the chain at the next row" "$VERIFIED $VERIFY_STATUS" \
    "audit chain broken at row 3 ($(row 3)): it does not point to the hash of the row before it 1"
restore

# The last row changed and hashed anew: no row after it to notice, but the chain's head kept
# the hash it ended with.
sql "UPDATE broker.audit SET detail = 'nothing to see' WHERE seq = $rows;
     UPDATE broker.audit a SET hash = sha256(a.prev_hash || convert_to(broker.audit_row_text(a), 'UTF8')) WHERE seq = $rows" >/dev/null
verify
check_eq "the last row changed and hashed anew: the chain's head shows it" "$VERIFIED $VERIFY_STATUS" \
    "audit chain broken at row $rows: its hash is not the one the chain's head kept (the row was changed and hashed again) 1"
restore

sql "DELETE FROM broker.audit WHERE seq = 3" >/dev/null
verify
check_eq "a row deleted in the middle: the row after the gap is named" "$VERIFIED" \
    "audit chain broken at row 4 ($(row 4)): rows before it are missing (the sequence jumps)"
check_eq "... and audit verify exits with status 1" "$VERIFY_STATUS" 1
restore

sql "DELETE FROM broker.audit WHERE seq = 1" >/dev/null
verify
check_eq "the first row deleted: the second is named" "$VERIFIED $VERIFY_STATUS" \
    "audit chain broken at row 2 ($(row 2)): rows before it are missing (the sequence jumps) 1"
restore

sql "DELETE FROM broker.audit WHERE seq > $((rows - 2))" >/dev/null
verify
check_eq "the last two rows cut off: the chain's head names where they were" "$VERIFIED" \
    "audit chain broken after row $((rows - 2)): the chain's head is at row $rows, so later rows are missing"
check_eq "... and audit verify exits with status 1" "$VERIFY_STATUS" 1
restore
