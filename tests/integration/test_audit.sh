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

out=$(ctl_admin audit verify)
rows=$(sql "SELECT count(*) FROM broker.audit")
check_eq "audit verify finds the chain whole" "$out" "audit chain intact: $rows rows"

for role in trivsel_broker trivsel_intake trivsel_assessment trivsel_ordering trivsel_docs; do
    check "$role cannot change audit rows" grep -q 'permission denied for table audit' <<<"$(as_role $role "UPDATE broker.audit SET detail = 'x'")"
    check "$role cannot delete audit rows" grep -q 'permission denied for table audit' <<<"$(as_role $role "DELETE FROM broker.audit")"
done
check "a service role can append a row (e.g. a refused submission)" \
    test -z "$(as_role trivsel_docs "INSERT INTO broker.audit (principal, action, detail) VALUES ('supplier1', 'submission_refused', 'no order for the child')")"
check_eq "... and it joins the chain" "$(ctl_admin audit verify)" "audit chain intact: $((rows + 1)) rows"

# Tampering, by someone with more rights than any daemon: the chain shows where.
sql "UPDATE broker.audit SET detail = 'nothing to see' WHERE seq = 2" >/dev/null
out=$(ctl_admin audit verify)
check "a changed row is named as the first broken one" grep -q '^audit chain broken at row 2 (.*): its content does not match its hash (the row was changed)$' <<<"$out"
