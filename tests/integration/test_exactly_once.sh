#!/usr/bin/env bash
# Exactly-once effects over at-least-once delivery (ARCHITECTURE.md principle 2; issue 3 item 4):
# a service built on common/handler is killed with SIGKILL again and again while it handles
# 2,000 events; afterwards each effect and each event it emitted exists exactly once.
. tests/integration/lib.sh
migrate >/dev/null
start_broker
keys_new intake --kind service
sql "CREATE TABLE intake.echo_seen (event_id text NOT NULL, seen_at timestamptz DEFAULT now())" >/dev/null

start_echo() {
    : >>"$T/echo.log"
    env TRIVSEL_DATABASE_PASSWORD_FILE="$T/secrets/trivsel_intake.password" TRIVSEL_HTTP_ADDRESS=127.0.0.1:0 \
        TRIVSEL_CLIENT_KEY_FILE="$T/keys/intake.key" TRIVSEL_LOG_LEVEL=info \
        "$TRIVSEL_REPO/$BUILD/tests/tools/echo_service" >>"$T/echo.log" 2>&1 &
    ECHO_PID=$!
    DAEMON_PIDS+=("$ECHO_PID")
}
seen() { sql "SELECT count(*) FROM intake.echo_seen"; }

out=$(as fagsystem brokertool publish 2000 --prefix u --cases 50 --quiet)
check_eq "2,000 underretninger are in the log" "$(tail -n 1 <<<"$out")" "acked 2000 duplicates 0"

start_echo
kills=0
for round in 1 2 3 4 5; do
    # Let it work a little, then kill it in the middle of whatever it is doing.
    target=$((round * 300))
    for ((i = 0; i < 200; i++)); do
        [ "$(seen)" -ge "$target" ] && break
        sleep 0.05
    done
    sleep "0.0$((RANDOM % 9))"
    kill -KILL "$ECHO_PID" 2>/dev/null && kills=$((kills + 1))
    wait "$ECHO_PID" 2>/dev/null
    start_echo
done
check_eq "the service was killed with SIGKILL 5 times while working" "$kills" 5

for ((i = 0; i < 600; i++)); do
    [ "$(seen)" -ge 2000 ] && [ "$(sql "SELECT count(*) FROM broker.outbox")" -eq 0 ] &&
        [ "$(sql "SELECT count(*) FROM broker.event WHERE subject = 'intake.underretning.registered'")" -ge 2000 ] && break
    sleep 0.1
done
check_eq "every event's effect happened exactly once" \
    "$(sql "SELECT count(*) || ' ' || count(DISTINCT event_id) FROM intake.echo_seen")" "2000 2000"
check_eq "every event is recorded as handled once" "$(sql "SELECT count(*) FROM intake.handled_event")" 2000
check_eq "every emitted event is in the log exactly once" \
    "$(sql "SELECT count(*) || ' ' || count(DISTINCT event_id) FROM broker.event WHERE subject = 'intake.underretning.registered'")" \
    "2000 2000"
check_eq "... published as the service's principal" \
    "$(sql "SELECT DISTINCT publisher FROM broker.event WHERE subject = 'intake.underretning.registered'")" intake
check_eq "the outbox is empty" "$(sql "SELECT count(*) FROM broker.outbox")" 0

# A redelivered event changes nothing: replay the subscription from the start.
kill -TERM "$ECHO_PID"
wait_exit "$ECHO_PID" 10
check_eq "SIGTERM stops the service with exit status 0" "$EXIT_STATUS" 0
sql "UPDATE broker.subscription SET acked_position = 0 WHERE name = 'echo'" >/dev/null
kill -TERM "$BROKER_PID"
wait_exit "$BROKER_PID" 10
restart_broker
start_echo
for ((i = 0; i < 300; i++)); do
    [ "$(sql "SELECT acked_position FROM broker.subscription WHERE name = 'echo'")" -ge 2000 ] && break
    sleep 0.1
done
kill -TERM "$ECHO_PID"
wait_exit "$ECHO_PID" 10
check "every event came again" grep -q '"msg":"echo service stopping","handled":0,"skipped":2000' "$T/echo.log"
check_eq "... and changed nothing" \
    "$(sql "SELECT (SELECT count(*) FROM intake.echo_seen) || ' ' || (SELECT count(*) FROM broker.event WHERE subject = 'intake.underretning.registered')")" \
    "2000 2000"

# A statement of the handling fails (here the service may not record events as handled for a
# while; a connection cut in the middle of that statement is the same): the transaction ends and
# the event is tried again until it goes through, rather than waiting for a COMMIT nobody queued.
sql "REVOKE INSERT ON intake.handled_event FROM trivsel_intake" >/dev/null
start_echo
as fagsystem brokertool publish 3 --prefix refused-for-a-while --quiet >/dev/null
for ((i = 0; i < 100; i++)); do
    [ "$(grep -c '"msg":"event not handled; trying again"' "$T/echo.log")" -ge 2 ] && break
    sleep 0.1
done
check_eq "while the service may not record events as handled, it handles none, and says so" \
    "$(seen) $(grep -c '"msg":"event not handled; trying again"' "$T/echo.log" | awk '{print ($1 >= 2)}')" "2000 1"
sql "GRANT INSERT ON intake.handled_event TO trivsel_intake" >/dev/null
for ((i = 0; i < 100; i++)); do
    [ "$(seen)" -ge 2003 ] && break
    sleep 0.1
done
check_eq "... and once it may, it handles each of them once" \
    "$(sql "SELECT count(*) || ' ' || count(DISTINCT event_id) FROM intake.echo_seen")" "2003 2003"
