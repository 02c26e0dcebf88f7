#!/usr/bin/env bash
# The broker against a real PostgreSQL, over real CURVE sockets, with real client processes
# (issue 3, item 8).
. tests/integration/lib.sh
check "migrate" migrate >/dev/null
start_broker
daemon_port broker
check "the broker becomes ready" wait_ready "$HTTP_PORT_broker"
bt() { as "$@"; }

# --- publish and acknowledge; the idempotent retry -------------------------------------------
out=$(bt fagsystem brokertool publish 3 --prefix a)
check_eq "three publishes are acknowledged with their log positions" "$(grep '^ack ' <<<"$out")" \
"ack a-0 1 new
ack a-1 2 new
ack a-2 3 new"
out=$(bt fagsystem brokertool publish 3 --prefix a)
check_eq "a retried publish is acknowledged again with its first position" "$(grep '^ack ' <<<"$out")" \
"ack a-0 1 duplicate
ack a-1 2 duplicate
ack a-2 3 duplicate"
check_eq "... and stored once" "$(sql "SELECT count(*) FROM broker.event WHERE event_id LIKE 'a-%'")" 3
check_eq "the publisher is the authenticated principal" "$(sql "SELECT DISTINCT publisher FROM broker.event")" fagsystem

# --- refusals, each with a code and a reason; nothing stored ----------------------------------
out=$(bt fagsystem brokertool publish-one intake.nothing.happened)
check_eq "an unknown subject is refused" "$out" \
    'error ERROR_UNKNOWN_SUBJECT no event type is published on subject "intake.nothing.happened" (see EVENTS.md)'
out=$(bt fagsystem brokertool publish-one intake.underretning.received --type trivsel.intake.TriageCompleted)
check_eq "a type that is not the subject's is refused" "$out" \
    'error ERROR_TYPE_MISMATCH type "trivsel.intake.TriageCompleted" does not belong to subject "intake.underretning.received": expected "trivsel.intake.UnderretningReceived"'
out=$(bt fagsystem brokertool publish-one intake.underretning.received --municipality 63)
check_eq "a municipality that is not a kommunekode is refused" "$out" \
    'error ERROR_INVALID_ENVELOPE municipality "63" is not a kommunekode: must be 3 digits, e.g. 630'
out=$(bt fagsystem brokertool publish-one ordering.order.requested)
check_eq "a system may not publish outside its permissions" "$out" \
    'error ERROR_NOT_PERMITTED principal fagsystem may not publish on "ordering.order.requested"'
check_eq "refused publishes stored nothing" "$(sql "SELECT count(*) FROM broker.event")" 3

# --- suppliers are bound to their own CVR -----------------------------------------------------
out=$(bt supplier1 brokertool publish-one docs.note.submitted.45424421 --id n1)
check "a supplier publishes under its own CVR" grep -q '^ack n1 [0-9]* new' <<<"$out"
out=$(bt supplier1 brokertool publish-one docs.note.submitted.12345678 --id n2)
check_eq "a supplier may not publish under another supplier's CVR" "$out" \
    'error ERROR_NOT_PERMITTED supplier supplier1 (CVR 45424421) may publish only subjects ending in its own CVR, not "docs.note.submitted.12345678"'
out=$(bt supplier1 brokertool consume s1 'ordering.order.*.12345678' 0 --timeout 10)
check_eq "a supplier may not subscribe to another supplier's subjects" "$out" \
    'error ERROR_NOT_PERMITTED supplier supplier1 (CVR 45424421) may subscribe only to subjects ending in its own CVR, not "ordering.order.*.12345678"'
out=$(bt supplier1 brokertool consume s1 'ordering.>' 0 --timeout 10)
check_eq "... nor to a wildcard over all suppliers" "$out" \
    'error ERROR_NOT_PERMITTED supplier supplier1 (CVR 45424421) may subscribe only to subjects ending in its own CVR, not "ordering.>"'

# --- unknown and disabled keys ----------------------------------------------------------------
"$BIN/trivselctl" keys generate stranger --out "$T/keys" >/dev/null
out=$(bt stranger brokertool publish-one intake.underretning.received --timeout 10)
check_eq "an unknown key is refused at the handshake" "$out" \
    'error ERROR_NOT_PERMITTED the broker refused this client'"'"'s key (ZAP status 400): the key is unknown or disabled'
env "${ADMIN_ENV[@]}" "$BIN/trivselctl" keys disable supplier2 >/dev/null
sleep 0.5
out=$(bt supplier2 brokertool publish-one docs.note.submitted.12345678 --timeout 10)
check_eq "a disabled key is refused" "$out" \
    'error ERROR_NOT_PERMITTED the broker refused this client'"'"'s key (ZAP status 400): the key is unknown or disabled'

# --- malformed frames: refused, and the broker keeps serving ----------------------------------
out=$(bt fagsystem brokertool raw-malformed)
check_eq "malformed frames get an error each" "$out" \
"error ERROR_MALFORMED the frame (25 bytes) is not a trivsel.broker.ClientMessage
error ERROR_MALFORMED a message must be exactly one frame"
out=$(bt fagsystem brokertool publish 1 --prefix after-malformed)
check "... and good messages are still served" grep -q '^acked 1 duplicates 0' <<<"$out"
metrics=$(curl -s "http://127.0.0.1:$HTTP_PORT_broker/metrics")
check "refusals are counted by reason" grep -q '^trivsel_broker_refusals_total{reason="malformed"} 2' <<<"$metrics"
check "... including permissions" grep -q '^trivsel_broker_refusals_total{reason="not_permitted"} 4' <<<"$metrics"
check "unknown keys are counted" grep -q '^trivsel_broker_connections_refused_total{reason="unknown_key"} 1' <<<"$metrics"

# --- order, and shared work that keeps each case in order -------------------------------------
# Both consumers are connected before the events come, so both can take a share.
bt fagsystem brokertool consume shared 'intake.triage.due_soon' 400 --credit 20 --idle-exit 3000 >"$T/c1" &
c1=$!
bt fagsystem brokertool consume shared 'intake.triage.due_soon' 400 --credit 20 --idle-exit 3000 >"$T/c2" &
c2=$!
for ((i = 0; i < 100; i++)); do
    bt ops brokertool status | grep -q '^subscription fagsystem shared .* consumers 2 ' && break
    sleep 0.1
done
bt fagsystem brokertool publish 300 --prefix o --cases 7 --subject intake.triage.due_soon --quiet >/dev/null
wait $c1 $c2
n1=$(grep -c '^delivery .* o-' "$T/c1")
n2=$(grep -c '^delivery .* o-' "$T/c2")
check "two consumers of one subscription share the work" test "$n1" -gt 0 -a "$n2" -gt 0
check_eq "... every event is handled" "$(cat "$T/c1" "$T/c2" | grep '^delivery' | awk '{print $3}' | grep '^o-' | sort -u | wc -l)" 300
# Sorted by the moment each was handled, each case's positions must rise.
unordered=$(cat "$T/c1" "$T/c2" | grep '^delivery' | sort -k6,6n |
    awk '{ if ($5 in last && $2 < last[$5]) bad++; last[$5] = $2 } END { print bad + 0 }')
check_eq "... and each case's events are handled in log order" "$unordered" 0

# --- redelivery after a consumer dies without acknowledging -----------------------------------
bt fagsystem brokertool publish 1 --prefix r --subject intake.receipt.sent >/dev/null
bt fagsystem brokertool consume redeliver 'intake.receipt.sent' 1 --ack-timeout 1000 --exit-after 1 >"$T/r1"
check "a consumer got the event and died without acknowledging" grep -q '^delivery .* r-0 1 ' "$T/r1"
out=$(bt fagsystem brokertool consume redeliver 'intake.receipt.sent' 1 --ack-timeout 1000 --timeout 20)
check "the event is delivered again (attempt 2 or later)" grep -qE '^delivery .* r-0 [2-9] ' <<<"$out"
out=$(bt ops brokertool status)
check "status shows the subscription's position and an empty backlog" \
    grep -q '^subscription fagsystem redeliver intake.receipt.sent acked [0-9]* backlog 0 ' <<<"$out"

metrics=$(curl -s "http://127.0.0.1:$HTTP_PORT_broker/metrics")
check "the backlog per subscription is a metric" \
    grep -q '^trivsel_broker_subscription_backlog{principal="fagsystem",subscription="redeliver"} 0' <<<"$metrics"

# --- disabling a key ends its open sessions at once -------------------------------------------
bt supplier1 brokertool consume orders 'ordering.order.*.45424421' 1 --timeout 6 >"$T/disabled" &
consumer=$!
for ((i = 0; i < 50; i++)); do
    bt ops brokertool status | grep -q '^client supplier1 ' && break
    sleep 0.1
done
env "${ADMIN_ENV[@]}" "$BIN/trivselctl" keys disable supplier1 >/dev/null
wait $consumer
check "a connected supplier is told its key is disabled" \
    grep -q '^error ERROR_DISABLED the key of principal supplier1 is disabled' "$T/disabled"
check "... and its session is gone" bash -c '! grep -q "^client supplier1 " <<<"$1"' _ "$(bt ops brokertool status)"

# --- the broker killed (SIGKILL) in the middle of 10,000 publishes ---------------------------
bt fagsystem brokertool consume crash 'intake.triage.completed' 10000 --credit 200 --timeout 240 >"$T/crash-consumer" &
consumer=$!
bt fagsystem brokertool publish 10000 --prefix k --subject intake.triage.completed --quiet --timeout 240 >"$T/crash-publisher" &
publisher=$!
for ((i = 0; i < 100; i++)); do
    [ "$(sql "SELECT count(*) FROM broker.event WHERE event_id LIKE 'k-%'")" -gt 1000 ] && break
    sleep 0.1
done
kill -KILL "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
stored_at_kill=$(sql "SELECT count(*) FROM broker.event WHERE event_id LIKE 'k-%'")
sleep 1
restart_broker
wait $publisher
check_eq "the publisher got every one of 10,000 acknowledged across the crash" "$(tail -n 1 "$T/crash-publisher" | cut -d' ' -f1,2)" "acked 10000"
check "the broker was killed part-way ($stored_at_kill of 10000 stored)" test "$stored_at_kill" -lt 10000
check_eq "every acknowledged event is in the log exactly once" \
    "$(sql "SELECT count(*) || ' ' || count(DISTINCT event_id) FROM broker.event WHERE event_id LIKE 'k-%'")" "10000 10000"
wait $consumer
check_eq "the subscriber handled each of them exactly once" "$(tail -n 1 "$T/crash-consumer" | cut -d' ' -f1,2)" "handled 10000"

# --- the services' outbox: a row moved into the log and deleted in the same transaction; a row
# that is no envelope kept in broker.outbox_refused with the reason --------------------------------
hex=$(sql "SELECT encode(envelope, 'hex') FROM broker.event WHERE event_id = 'k-0'")
sql "SET ROLE trivsel_intake; INSERT INTO broker.outbox (envelope) VALUES (decode('$hex', 'hex')), ('\\x00ff')"
for ((i = 0; i < 100; i++)); do [ "$(sql "SELECT count(*) FROM broker.outbox")" == 0 ] && break; sleep 0.1; done
check_eq "a service's outbox row becomes its event in the log, once; a row that is no envelope is refused" \
    "$(sql "SELECT (SELECT count(*) FROM broker.outbox), (SELECT count(*) FROM broker.event WHERE event_id = 'k-0'
        AND publisher = 'intake'), (SELECT string_agg(publisher || ': ' || reason, ', ') FROM broker.outbox_refused)")" \
    "0|1|intake: the row is not a trivsel.Envelope (2 bytes)"

kill -TERM "$BROKER_PID"
wait_exit "$BROKER_PID" 10
check_eq "SIGTERM stops the broker with exit status 0" "$EXIT_STATUS" 0
