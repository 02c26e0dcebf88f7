#!/usr/bin/env bash
# trivselctl publish, tail and status against a real broker on a real PostgreSQL, run as a
# person would run them (issue 3, item 6).
. tests/integration/lib.sh
check "migrate" migrate >/dev/null
start_broker
daemon_port broker
check "the broker becomes ready" wait_ready "$HTTP_PORT_broker"

EX=deploy/examples/events
PAYLOAD=$EX/intake.underretning.received.json
ENVELOPE=$EX/intake.underretning.received.envelope.json
ENVELOPE_ID=3b0f6c2e-8d41-4c59-9a7e-2f1d5b8e6a10
SUBJECT=intake.underretning.received
unset TRIVSEL_MUNICIPALITY

# ctl NAME ARGS...: trivselctl with NAME's key; stdout in $out, stderr in $err, status in $rc.
ctl() {
    local name=$1
    shift
    TRIVSEL_CLIENT_KEY_FILE="$T/keys/$name.key" timeout 60 "$BIN/trivselctl" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}
events() { sql "SELECT count(*) FROM broker.event"; }

# --- publish: the event alone, from a file and from standard input ---------------------------
ctl fagsystem publish "$SUBJECT" "$PAYLOAD" --municipality 575 --correlation-id DUF-2026-118734
check_eq "publishing an event from a file exits 0" "$rc" 0
id1=$(sed -n 's/^published intake\.underretning\.received event \([0-9a-f-]*\) at position 1$/\1/p' <<<"$out")
check "... and prints its new event id and position 1" \
    grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' <<<"$id1"
check_eq "... which is stored with the municipality and correlation id given" \
    "$(sql "SELECT position, event_id, publisher, subject, type, municipality, correlation_id FROM broker.event")" \
    "1|$id1|fagsystem|$SUBJECT|trivsel.intake.UnderretningReceived|575|DUF-2026-118734"
check "... and occurred now" test "$(sql "SELECT abs(extract(epoch FROM now() - occurred_at)) < 60 FROM broker.event WHERE position = 1")" == t

TRIVSEL_MUNICIPALITY=575 ctl fagsystem publish "$SUBJECT" - <"$PAYLOAD"
id2=$(sed -n 's/^published intake\.underretning\.received event \([0-9a-f-]*\) at position 2$/\1/p' <<<"$out")
check "an event from standard input, municipality from TRIVSEL_MUNICIPALITY, is stored at position 2" \
    test "$rc" == 0 -a -n "$id2" -a "$id2" != "$id1"
check_eq "... in kommune 575" "$(sql "SELECT municipality FROM broker.event WHERE position = 2")" 575

ctl fagsystem publish "$SUBJECT" "$PAYLOAD"
check_eq "an event without a municipality is refused before it is sent" "$rc:$err" \
    "2:trivselctl: $PAYLOAD: no municipality: give the kommunekode with --municipality, TRIVSEL_MUNICIPALITY or \"municipality\" in an envelope"

# --- a whole envelope with a fixed event id: stored once ---------------------------------------
ctl fagsystem publish "$SUBJECT" "$ENVELOPE"
check_eq "an envelope is published with its own event id" "$rc:$out" \
    "0:published $SUBJECT event $ENVELOPE_ID at position 3"
ctl fagsystem publish "$SUBJECT" "$ENVELOPE"
check_eq "published again, it is already in the log at the same position" "$rc:$out" \
    "0:published $SUBJECT event $ENVELOPE_ID already in the log at position 3"
check_eq "... and stored once, with the envelope's municipality and occurredAt" \
    "$(sql "SELECT count(*), min(municipality), min(occurred_at AT TIME ZONE 'UTC') FROM broker.event WHERE event_id = '$ENVELOPE_ID'")" \
    "1|575|2026-11-23 08:15:00"
ctl fagsystem publish "$SUBJECT" "$ENVELOPE" --municipality 630
check_eq "an option that contradicts the envelope is an error" "$rc:$err" \
    "2:trivselctl: $ENVELOPE: --municipality \"630\" contradicts \"municipality\": \"575\" in the file"

# --- files that are not a valid event: named, exit 2, nothing sent ----------------------------
sed 's/"child":/"childd":/' "$PAYLOAD" >"$T/childd.json"
ctl fagsystem publish "$SUBJECT" "$T/childd.json" --municipality 575
check_eq "a misspelled field is refused, naming the file and the field" "$rc:$err" \
    "2:trivselctl: $T/childd.json: at \"\$.childd\": unknown field \"childd\" in trivsel.intake.UnderretningReceived"
sed 's/"reporterScore": 4/"reporterScore": "fire"/' "$PAYLOAD" >"$T/score.json"
ctl fagsystem publish "$SUBJECT" "$T/score.json" --municipality 575
check_eq "a string where a number belongs is refused, naming the field" "$rc:$err" \
    "2:trivselctl: $T/score.json: at \"\$.reporterScore\": expected an integer, got \"fire\""
sed 's/"childd":/"child":/; s/"SIGNAL_CATEGORY_PHYSICAL"/"SIGNAL_CATEGORY_FYSISK"/' "$T/childd.json" |
    sed 's/^{/{"eventId": "e-bad-enum", "municipality": "575", "payload": {/; $s/$/}/' >"$T/enum-envelope.json"
ctl fagsystem publish "$SUBJECT" "$T/enum-envelope.json"
check_eq "in an envelope the path runs through the payload" "$rc:$err" \
    "2:trivselctl: $T/enum-envelope.json: at \"\$.payload.signals[1].category\": unknown value \"SIGNAL_CATEGORY_FYSISK\" of enum trivsel.intake.SignalCategory"
printf '{"child": {"name": "Emil"},}' >"$T/invalid.json"
ctl fagsystem publish "$SUBJECT" - --municipality 575 <"$T/invalid.json"
check_eq "invalid JSON is refused with its line and column" "$rc:$err" \
    "2:trivselctl: standard input: invalid JSON at line 1, column 28: string or '}' expected near '}'"
ctl fagsystem publish "$SUBJECT" "$T/no-such-file.json" --municipality 575
check_eq "a file that cannot be read is named" "$rc:$err" \
    "2:trivselctl: cannot read \"$T/no-such-file.json\": No such file or directory"
check_eq "nothing refused was stored" "$(events)" 3

# --- refusals by the broker: its code and reason, exit 1 --------------------------------------
sed 's/"subject": "intake.underretning.received",//; s/"eventId": "[^"]*"/"eventId": "e-unknown-subject"/' \
    "$ENVELOPE" >"$T/unknown-subject.json"
ctl fagsystem publish intake.nothing.happened "$T/unknown-subject.json"
check_eq "an unknown subject is refused by the broker with its reason" "$rc:$err" \
    "1:trivselctl: event e-unknown-subject refused by the broker (ERROR_UNKNOWN_SUBJECT): no event type is published on subject \"intake.nothing.happened\" (see EVENTS.md)"
ctl fagsystem publish intake.nothing.happened "$PAYLOAD" --municipality 575
check_eq "... and, with no envelope naming a type, before it is sent" "$rc:$err" \
    "2:trivselctl: unknown subject \"intake.nothing.happened\": no event type is published on it (see EVENTS.md)"
echo '{"eventId": "e-order", "municipality": "575", "payload": {}}' >"$T/order.json"
ctl fagsystem publish ordering.order.requested "$T/order.json"
check_eq "a subject the principal may not publish on is refused" "$rc:$err" \
    "1:trivselctl: event e-order refused by the broker (ERROR_NOT_PERMITTED): principal fagsystem may not publish on \"ordering.order.requested\""
echo '{"eventId": "e-muni", "municipality": "57", "payload": {}}' >"$T/muni.json"
ctl fagsystem publish "$SUBJECT" "$T/muni.json"
check_eq "a municipality that is not a kommunekode is refused" "$rc:$err" \
    "1:trivselctl: event e-muni refused by the broker (ERROR_INVALID_ENVELOPE): municipality \"57\" is not a kommunekode: must be 3 digits, e.g. 630"
check_eq "... and nothing was stored" "$(events)" 3

TRIVSEL_BROKER_ADDRESS=tcp://127.0.0.1:1 ctl fagsystem publish "$SUBJECT" "$ENVELOPE" --timeout 1s
check_eq "a broker that cannot be reached ends in the --timeout" "$rc:$err" \
    "1:trivselctl: cannot reach the broker at tcp://127.0.0.1:1: no session within 1s; event $ENVELOPE_ID was not published"
"$BIN/trivselctl" keys generate stranger --out "$T/keys" >/dev/null
ctl stranger publish "$SUBJECT" "$ENVELOPE"
check_eq "an unknown key is refused" "$rc:$err" \
    "1:trivselctl: refused by the broker (ERROR_NOT_PERMITTED): the broker refused this client's key (ZAP status 400): the key is unknown or disabled"

# --- tail ---------------------------------------------------------------------------------------
ctl fagsystem tail 'intake.>' --from-start --count 2 --timeout 30s
check_eq "tail --from-start --count 2 prints two events and exits 0" "$rc:$(wc -l <<<"$out")" "0:2"
line1=$(sed -n 1p <<<"$out")
line2=$(sed -n 2p <<<"$out")
for field in "\"eventId\":\"$id1\"" "\"subject\":\"$SUBJECT\"" '"type":"trivsel.intake.UnderretningReceived"' \
    '"municipality":"575"' '"publisher":"fagsystem"' '"correlationId":"DUF-2026-118734"' '"position":"1"' \
    '"payload":{"child":{"cpr":"0803174127","name":"Emil Nørgaard Jensen","birthDate":"2017-03-08"' \
    '"reporter":{"kind":"REPORTER_KIND_PUBLIC_EMPLOYEE","name":"Mette Lund","organisation":"Eksempelskolen, Vejen","role":"klasselærer"' \
    '"receivedAt":"2026-11-23T08:15:00Z","channel":"CHANNEL_DIGITAL_FORM"' \
    '{"category":"SIGNAL_CATEGORY_PHYSICAL","description":"Træt og sulten om morgenen"}' \
    '"reporterScore":4,"parentsInformed":true,"sourceReference":"DUF-2026-118734","team":"Modtageteamet"}'; do
    check "the first line holds $field" grep -qF -- "$field" <<<"$line1"
done
check "the second line is the event from standard input, at position 2" \
    grep -qF "\"eventId\":\"$id2\"" <<<"$line2"
check "... with its payload as JSON" grep -qF '"reporterScore":4,"parentsInformed":true' <<<"$line2"
check_eq "tail deleted its subscription on the way out" \
    "$(sql "SELECT count(*) FROM broker.subscription WHERE name LIKE 'tail-%'")" 0

host=$(hostname | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9_.-]/-/g' | cut -c1-47)
# wait_subscription NAME: until the broker has stored it.
wait_subscription() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(sql "SELECT count(*) FROM broker.subscription WHERE name = '$1'")" == 1 ] && return 0
        sleep 0.1
    done
    return 1
}
# In the background without the timeout wrapper, so $! is trivselctl; --timeout is the backstop.
TRIVSEL_CLIENT_KEY_FILE="$T/keys/fagsystem.key" "$BIN/trivselctl" tail "$SUBJECT" --count 1 \
    --timeout 30s >"$T/tail-new" 2>&1 &
tail_new=$!
check "tail subscribes as tail-<host>-<pid>" wait_subscription "tail-$host-$tail_new"
ctl fagsystem publish "$SUBJECT" "$PAYLOAD" --municipality 575 --event-id e-new
# Positions rise but need not be consecutive (a duplicate publish uses one up): ask the log.
check_eq "an event published while tail runs" "$out" \
    "published $SUBJECT event e-new at position $(sql "SELECT position FROM broker.event WHERE event_id = 'e-new'")"
wait_exit "$tail_new" 30
check_eq "... is the one it prints (without --from-start only new events), and it exits 0" \
    "$EXIT_STATUS:$(grep -c . "$T/tail-new"):$(grep -o '"eventId":"[^"]*"' "$T/tail-new")" '0:1:"eventId":"e-new"'

ctl fagsystem tail 'intake.>>' --count 1
check_eq "an invalid pattern is refused before anything is sent" "$rc:${err%%:*}" "2:trivselctl"
ctl supplier1 tail 'ordering.>' --count 1 --timeout 10s
check_eq "a pattern the principal may not read is refused by the broker" "$rc:$err" \
    "1:trivselctl: refused by the broker (ERROR_NOT_PERMITTED): supplier supplier1 (CVR 45424421) may subscribe only to subjects ending in its own CVR, not \"ordering.>\""

# --- status --------------------------------------------------------------------------------------
as fagsystem brokertool consume audit 'intake.>' 4 >/dev/null
TRIVSEL_CLIENT_KEY_FILE="$T/keys/ops.key" "$BIN/trivselctl" tail '>' >"$T/tail-ops" 2>&1 &
tail_ops=$!
check "an operator's tail runs" wait_subscription "tail-$host-$tail_ops"
pos=$(sql "SELECT max(position) FROM broker.event")
# The broker counts brokertool as a consumer of audit until its heartbeats have stopped for
# three intervals (3 s here).
for ((i = 0; i < 50; i++)); do
    ctl ops status
    squeezed=$(tr -s ' ' <<<"$out")
    grep -q "^fagsystem audit intake.> $pos 0 0 0$" <<<"$squeezed" && break
    sleep 0.2
done
check_eq "status as an operator exits 0 and starts with the log position" "$rc:$(sed -n 1p <<<"$out")" "0:log position: $pos"
check_eq "... lists the subscriptions with a header" "$(sed -n '3,6p' <<<"$squeezed")" \
"subscriptions: 2
PRINCIPAL NAME PATTERN ACKED BACKLOG CONSUMERS IN FLIGHT
fagsystem audit intake.> $pos 0 0 0
ops tail-$host-$tail_ops > $pos 0 1 0"
check "... and the connected clients, itself among them" grep -q '^ops  *trivselctl status  *[0-9.]*s$' <<<"$out"
check "... and the running tail" grep -q '^ops  *trivselctl tail  *[0-9.]*s$' <<<"$out"
ctl ops status --json
check "status --json prints the StatusReply as JSON" grep -q "^  \"logPosition\": \"$pos\",\$" <<<"$out"
check "... with the subscriptions" grep -q '^      "name": "audit",$' <<<"$out"
ctl fagsystem status
check_eq "status as a non-operator is refused" "$rc:$out:$err" \
    "1::trivselctl: refused by the broker (ERROR_NOT_PERMITTED): status is for operators; fagsystem is not one"

kill -INT "$tail_ops"
wait_exit "$tail_ops" 10
check_eq "SIGINT stops tail with exit status 0" "$EXIT_STATUS" 0
check_eq "... having printed nothing (no event came)" "$(cat "$T/tail-ops")" ""
check_eq "... and deleted its subscription" "$(sql "SELECT string_agg(principal || ' ' || name, ',') FROM broker.subscription")" \
    "fagsystem audit"

# --- usage ---------------------------------------------------------------------------------------
for cmd in publish tail status; do
    ctl ops "$cmd" --help
    check "trivselctl $cmd --help prints its usage" grep -q "^usage: trivselctl $cmd" <<<"$out"
done
ctl ops publish "$SUBJECT"
check_eq "publish without FILE is bad usage" "$rc:$err" \
    "2:trivselctl publish: SUBJECT and FILE are required: see trivselctl publish --help"
ctl ops tail '>' --count 0
check_eq "tail --count 0 is bad usage" "$rc:$err" \
    "2:trivselctl tail: invalid --count \"0\": must be a whole number from 1"

kill -TERM "$BROKER_PID"
wait_exit "$BROKER_PID" 10
check_eq "the broker stops with exit status 0" "$EXIT_STATUS" 0
