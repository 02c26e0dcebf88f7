#!/usr/bin/env bash
# The authorisation matrix (issue 10, item 4) in one place, against the real broker, the real
# trivsel-ordering and trivsel-docs, over real CURVE sockets. Each way in that must be refused is
# tried once, and each is checked three ways: refused (the client sees the refusal, naming what
# was refused), counted (the daemon's /metrics series for that refusal rose by exactly one) and
# audited (exactly the expected rows in broker.audit, naming the principal and what was refused).
# Then: nothing of one supplier reached another principal's deliveries.
#
#   the broker      an unknown key; a disabled key; a key disabled while its session is open; a
#                   system publishing or subscribing outside its grants; a supplier publishing on
#                   or subscribing to another supplier's subjects, or an intake subject; status
#                   from a non-operator
#   the services    a supplier answering another supplier's order (trivsel-ordering and -docs);
#                   a system wrongly granted ordering.order.placed.* forging an order; a supplier
#                   documenting on an order not yet accepted, on another supplier's order, on a
#                   child that is not its order's, on the forged order (trivsel-docs)
. tests/integration/lib.sh
M=575
C1=45424421
C2=12345678
C3=87654321
CHILD=0803174127
OTHER=1502113344
check "migrate" migrate >/dev/null
start_broker
keys_new ordering --kind service
keys_new docs --kind service
keys_new assessment --kind service
keys_new katalog --kind system --publish 'ordering.offer.published'
keys_new sagssystem --kind system --publish 'ordering.order.requested'
# A system wrongly granted order placement: the broker lets it through, the services do not.
keys_new portal --kind system --publish 'ordering.order.placed.*'
keys_new retired --kind system --publish 'intake.>'
keys_new supplier3 --kind supplier --cvr $C3
"$BIN/trivselctl" keys generate stranger --out "$T/keys" >/dev/null
daemon_port broker
check "the broker becomes ready" wait_ready "$HTTP_PORT_broker"
start_daemon ordering TRIVSEL_CLIENT_KEY_FILE="$T/keys/ordering.key" TRIVSEL_ORDERING_CASEWORKER_SYSTEMS=sagssystem \
    TRIVSEL_ORDERING_AUTO_SETTLE=false
daemon_port ordering
start_daemon docs TRIVSEL_CLIENT_KEY_FILE="$T/keys/docs.key"
daemon_port docs
check "trivsel-ordering and trivsel-docs become ready" wait_ready "$HTTP_PORT_ordering" && wait_ready "$HTTP_PORT_docs"

# What each supplier is delivered, from the start: its orders and its documentation answers, one
# JSON line per event, as trivselctl tail prints them.
for s in 1 2; do
    cvr_var=C$s
    for pattern in "ordering.order.*.${!cvr_var}" "docs.*.*.${!cvr_var}"; do
        TRIVSEL_CLIENT_KEY_FILE="$T/keys/supplier$s.key" "$BIN/trivselctl" tail "$pattern" --from-start \
            >>"$T/supplier$s.events" 2>>"$T/supplier$s.tail.err" &
        DAEMON_PIDS+=("$!")
    done
done

# ---- the three checks ------------------------------------------------------------------------

# values: the value of each series of SERIES (below), one per line, 0 for one not there yet;
# each daemon's /metrics is read once.
values() {
    local d entry port_var
    for d in broker ordering docs; do
        port_var=HTTP_PORT_$d
        curl -s "http://127.0.0.1:${!port_var}/metrics" >"$T/metrics.$d"
    done
    for entry in "${SERIES[@]}"; do
        awk -v s="${entry#* }" 'index($0, s " ") == 1 { v = $2 } END { print v + 0 }' "$T/metrics.${entry%% *}"
    done
}
# The series a case may count in ("DAEMON name{labels}"); any of them that moves unasked is a
# miscount.
SERIES=(
    'broker trivsel_broker_connections_refused_total{reason="unknown_key"}'
    'broker trivsel_broker_connections_refused_total{reason="key_disabled"}'
    'broker trivsel_broker_refusals_total{reason="not_permitted"}'
    'broker trivsel_broker_refusals_total{reason="disabled"}'
    'broker trivsel_broker_permission_refusals_total{action="publish",reason="not_granted"}'
    'broker trivsel_broker_permission_refusals_total{action="publish",reason="not_own_cvr"}'
    'broker trivsel_broker_permission_refusals_total{action="subscribe",reason="not_granted"}'
    'broker trivsel_broker_permission_refusals_total{action="subscribe",reason="not_own_cvr"}'
    'broker trivsel_broker_permission_refusals_total{action="status",reason="not_operator"}'
    'ordering trivsel_ordering_events_rejected_total{code="unknown_order"}'
    'ordering trivsel_ordering_events_rejected_total{code="not_ordering"}'
    'ordering trivsel_ordering_answers_rejected_total'
    'docs trivsel_docs_events_ignored_total{reason="unknown_order"}'
    'docs trivsel_docs_events_ignored_total{reason="not_ordering"}'
    'docs trivsel_docs_submissions_rejected_total'
    'docs trivsel_docs_problems_total{code="order_not_accepted"}'
    'docs trivsel_docs_problems_total{code="not_your_order"}'
    'docs trivsel_docs_problems_total{code="wrong_child"}'
)
# begin: a case starts. The counters and the audit log are read now, so each case's checks see
# only what it did.
begin() {
    AUDIT_SEQ=$(sql "SELECT coalesce(max(seq), 0) FROM broker.audit")
    mapfile -t BEFORE < <(values)
}
# counted "what" "DAEMON SERIES +N"...: waits (10 s) until each named series rose by its N, then
# checks that it did, and that no other series of the list moved.
counted() {
    local what=$1 k arg want got expect deadline=$((SECONDS + 10))
    shift
    expect=""
    for ((k = 0; k < ${#SERIES[@]}; k++)); do
        want=0
        for arg in "$@"; do
            [ "${arg% +*}" == "${SERIES[$k]}" ] && want=${arg##* +}
        done
        expect+="${SERIES[$k]} $((BEFORE[k] + want))"$'\n'
    done
    while :; do
        got=$(paste -d' ' <(printf '%s\n' "${SERIES[@]}") <(values))$'\n'
        [ "$got" == "$expect" ] || [ $SECONDS -ge $deadline ] && break
        sleep 0.1
    done
    if [ "$got" == "$expect" ]; then
        ok "$what"
    else
        not_ok "$what" "$(diff <(echo -n "$expect") <(echo -n "$got") | grep '^[<>]' | tr '\n' ' ') (< expected, > got)"
    fi
}
# audited EXPECTED "what": waits (10 s) until the audit rows of the case, but for deliveries,
# read EXPECTED: "principal|action|subject|detail", one line per row, by action (two services
# refusing one event write in either order), then in their order.
audited() {
    local out deadline=$((SECONDS + 10))
    while :; do
        out=$(sql "SELECT principal || '|' || action || '|' || subject || '|' || detail FROM broker.audit
                   WHERE seq > $AUDIT_SEQ AND action <> 'delivered' ORDER BY action, seq")
        [ "$out" == "$1" ] || [ $SECONDS -ge $deadline ] && break
        sleep 0.1
    done
    check_eq "$2" "$out" "$1"
}

# check_has "what" TEXT NEEDLE...: every needle is in TEXT.
check_has() {
    local what=$1 text=$2 n
    shift 2
    for n in "$@"; do
        if ! grep -qF -- "$n" <<<"$text"; then
            not_ok "$what" "missing: $n in: ${text:0:1500}"
            return
        fi
    done
    ok "$what"
}
# pub NAME SUBJECT EVENT_ID PAYLOAD: publishes with trivselctl as NAME in kommune 575; prints
# what trivselctl said when it did not succeed.
pub() {
    printf '{"eventId": "%s", "municipality": "%s", "payload": %s}\n' "$3" "$M" "$4" >"$T/event.json"
    if ! TRIVSEL_CLIENT_KEY_FILE="$T/keys/$1.key" timeout 60 "$BIN/trivselctl" publish "$2" "$T/event.json" \
        >"$T/out" 2>"$T/err"; then
        cat "$T/err"
    fi
}
# handled DAEMON EVENT_ID: waits until the service has handled the event.
handled() { wait_sql "SELECT count(*) FROM $1.handled_event WHERE event_id = '$2'" 1 || echo "# $2 was not handled by $1"; }
# answer EVENT_ID SUPPLIER: the line of trivsel-docs' answer to the submission in SUPPLIER's deliveries.
answer() {
    local i line
    for ((i = 0; i < 200; i++)); do
        line=$(grep -F "\"submittedEventId\":\"$1\"" "$T/$2.events")
        [ -n "$line" ] && break
        sleep 0.05
    done
    echo "$line"
}
# note SUPPLIER CVR EVENT_ID ORDER CPR: a diary note for yesterday, as the supplier sends it.
note() {
    pub "$1" "docs.note.submitted.$2" "$3" "{\"submissionId\": \"$3\", \"orderId\": \"$4\", \"childCpr\": \"$5\",
      \"noteDate\": \"$YESTERDAY\", \"durationMinutes\": 60, \"author\": \"Mette Holm\",
      \"observations\": \"Dækkede bord uden at blive bedt om det\", \"pedagogicalActions\": \"Fast aftensmadsrutine\"}"
    handled docs "$3"
}

# ---- the broker: who may connect -------------------------------------------------------------
begin
out=$(as stranger brokertool publish-one intake.underretning.received --id s1 --timeout 10)
check_eq "an unknown key is refused at the handshake" "$out" \
    "error ERROR_NOT_PERMITTED the broker refused this client's key (ZAP status 400): the key is unknown or disabled"
counted "... counted as an unknown key" 'broker trivsel_broker_connections_refused_total{reason="unknown_key"} +1'
audited "|connection_refused||unknown key from 127.0.0.1, key $(cat "$T/keys/stranger.pub")" \
    "... audited with the key and where it came from"

# disable NAME: trivselctl keys disable, then wait until the broker has reloaded its principals.
disable() {
    local loads i
    loads=$(grep -c '"msg":"principals loaded"' "$T/broker.log")
    env "${ADMIN_ENV[@]}" "$BIN/trivselctl" keys disable "$1" >/dev/null
    for ((i = 0; i < 200; i++)); do
        [ "$(grep -c '"msg":"principals loaded"' "$T/broker.log")" -gt "$loads" ] && return 0
        sleep 0.05
    done
    return 1
}
disable retired
begin
out=$(as retired brokertool publish-one intake.underretning.received --id r1 --timeout 10)
check_eq "a disabled key is refused at the handshake" "$out" \
    "error ERROR_NOT_PERMITTED the broker refused this client's key (ZAP status 400): the key is unknown or disabled"
counted "... counted as a disabled key" 'broker trivsel_broker_connections_refused_total{reason="key_disabled"} +1'
audited "retired|connection_refused||key disabled from 127.0.0.1, key $(cat "$T/keys/retired.pub")" \
    "... audited with the principal"

# A supplier's session open (subscribed to its orders) when its key is disabled.
as supplier3 brokertool consume orders3 "ordering.order.*.$C3" 0 --timeout 30 >"$T/supplier3.out" &
consumer=$!
for ((i = 0; i < 200; i++)); do
    as ops brokertool status | grep -q "^subscription supplier3 orders3 .* consumers 1 " && break
    sleep 0.05
done
begin
disable supplier3
wait $consumer
check_eq "a key disabled during a session: the client is told at once" "$(cat "$T/supplier3.out")" \
    "error ERROR_DISABLED the key of principal supplier3 is disabled"
check "... and its session is gone" bash -c '! grep -q "^client supplier3 " <<<"$1"' _ "$(as ops brokertool status)"
counted "... counted" 'broker trivsel_broker_refusals_total{reason="disabled"} +1'
audited "supplier3|disabled||the key is disabled: its open session was closed" "... audited"

# ---- the broker: what a principal may publish and subscribe to ---------------------------------
# refused_publish "what" NAME SUBJECT ID REASON LABEL: the publish is refused with REASON, counted
# under LABEL, audited, and nothing is stored.
refused_publish() {
    begin
    out=$(as "$2" brokertool publish-one "$3" --id "$4" --timeout 20)
    check_eq "$1" "$out" "error ERROR_NOT_PERMITTED $5"
    counted "... counted ($6)" "broker trivsel_broker_permission_refusals_total{action=\"publish\",reason=\"$6\"} +1" \
        'broker trivsel_broker_refusals_total{reason="not_permitted"} +1'
    audited "$2|publish_refused|$3|$5" "... audited with the subject"
    check_eq "... and nothing is stored" "$(sql "SELECT count(*) FROM broker.event WHERE event_id = '$4'")" 0
}
# refused_subscribe "what" NAME PATTERN REASON LABEL: brokertool's subscription is refused with
# REASON, counted, audited; no subscription is made; trivselctl tail is refused the same way.
refused_subscribe() {
    begin
    out=$(as "$2" brokertool consume "peek-$2" "$3" 0 --timeout 20)
    check_eq "$1" "$out" "error ERROR_NOT_PERMITTED $4"
    counted "... counted ($5)" "broker trivsel_broker_permission_refusals_total{action=\"subscribe\",reason=\"$5\"} +1" \
        'broker trivsel_broker_refusals_total{reason="not_permitted"} +1'
    audited "$2|subscribe_refused|$3|$4" "... audited with the pattern"
    check_eq "... and no subscription is made" "$(sql "SELECT count(*) FROM broker.subscription WHERE principal = '$2' AND pattern = '$3'")" 0
}

refused_publish "a system may not publish outside its grants" fagsystem ordering.order.requested p-sys \
    'principal fagsystem may not publish on "ordering.order.requested"' not_granted
refused_subscribe "... nor subscribe outside them" fagsystem 'ordering.>' \
    'principal fagsystem may not subscribe to "ordering.>"' not_granted
refused_publish "a supplier may not publish on another supplier's subject" supplier1 docs.note.submitted.$C2 p-other \
    "supplier supplier1 (CVR $C1) may publish only subjects ending in its own CVR, not \"docs.note.submitted.$C2\"" not_own_cvr
refused_publish "... nor on an intake subject" supplier1 intake.underretning.received p-intake \
    "supplier supplier1 (CVR $C1) may publish only subjects ending in its own CVR, not \"intake.underretning.received\"" not_own_cvr
refused_publish "... nor a subject of its own CVR it was not granted" supplier1 docs.submission.accepted.$C1 p-answer \
    "principal supplier1 may not publish on \"docs.submission.accepted.$C1\"" not_granted
refused_subscribe "a supplier may not subscribe to another supplier's subjects" supplier1 "ordering.order.*.$C2" \
    "supplier supplier1 (CVR $C1) may subscribe only to subjects ending in its own CVR, not \"ordering.order.*.$C2\"" not_own_cvr
refused_subscribe "... nor to a wildcard over all suppliers" supplier1 'docs.>' \
    "supplier supplier1 (CVR $C1) may subscribe only to subjects ending in its own CVR, not \"docs.>\"" not_own_cvr
begin
out=$(TRIVSEL_CLIENT_KEY_FILE="$T/keys/supplier1.key" timeout 60 "$BIN/trivselctl" tail "docs.*.*.$C2" --from-start --timeout 20s 2>&1)
status=$?
check_eq "trivselctl tail as a supplier on another's subjects: refused, exit status 1, no events" "$status $(grep -c '^{' <<<"$out")" "1 0"
check "... naming why" grep -qF "may subscribe only to subjects ending in its own CVR, not \"docs.*.*.$C2\"" <<<"$out"
counted "... counted" "broker trivsel_broker_permission_refusals_total{action=\"subscribe\",reason=\"not_own_cvr\"} +1" \
    'broker trivsel_broker_refusals_total{reason="not_permitted"} +1'
audited "supplier1|subscribe_refused|docs.*.*.$C2|supplier supplier1 (CVR $C1) may subscribe only to subjects ending in its own CVR, not \"docs.*.*.$C2\"" \
    "... audited"

begin
out=$(as supplier1 brokertool status --timeout 20)
check_eq "status is refused to a supplier" "$out" "error ERROR_NOT_PERMITTED status is for operators; supplier1 is not one"
counted "... counted" 'broker trivsel_broker_permission_refusals_total{action="status",reason="not_operator"} +1' \
    'broker trivsel_broker_refusals_total{reason="not_permitted"} +1'
audited "supplier1|status_refused||status is for operators; supplier1 is not one" "... audited"

# ---- the services: an order of supplier 1, from the real ordering service -------------------------
eval "$(TZ=Europe/Copenhagen date +'TODAY=%F')"
YESTERDAY=$(TZ=Europe/Copenhagen date -d "$TODAY -1 day" +%F)
START=$(date -d "$TODAY -30 days" +%F)
END=$(date -d "$TODAY +300 days" +%F)
TRIVSEL_CLIENT_KEY_FILE="$T/keys/katalog.key" timeout 90 "$BIN/trivselctl" catalogue load deploy/catalogue.json >/dev/null
wait_sql "SELECT count(*) FROM ordering.offer_version WHERE municipality = '$M'" 15 || echo "# the catalogue was not loaded"
pub assessment assessment.decision.registered d1 '{"decisionId": "D1", "caseId": "sag-1", "kind": "DECISION_KIND_GRANT",
  "measures": [{"legalBasis": "LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5", "startDate": "2024-01-01"}], "team": "Børneteamet"}'
handled ordering d1
pub sagssystem ordering.order.requested r1 '{"orderId": "ord-1", "caseId": "sag-1", "decisionId": "D1",
  "child": {"cpr": "'$CHILD'", "name": "Emil"}, "offerId": "45424421-familiebehandling",
  "legalBasis": "LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5", "scope": {"minutesPerWeek": 240},
  "period": {"startDate": "'$START'", "endDate": "'$END'"}, "team": "Børneteamet", "leonReason": "Familien taler arabisk",
  "caseworker": {"id": "ABJ", "name": "Anne Bjerg Jensen", "team": "Børneteamet"},
  "goals": [{"goal": "Faste rutiner"}], "documentation": {"statusReportIntervalMonths": 3, "diaryNotesRequired": true}}'
check "the ordering service places the order with supplier 1, and trivsel-docs learns it" \
    wait_sql "SELECT status || ' ' || supplier_cvr FROM docs.orders WHERE order_id = 'ord-1'" "placed $C1"

begin
note supplier1 $C1 n-early ord-1 $CHILD
check_has "a supplier documenting on an order it has not accepted is refused, and told why" "$(answer n-early supplier1)" \
    "\"subject\":\"docs.submission.rejected.$C1\"" '"code":"order_not_accepted"'
counted "... counted" 'docs trivsel_docs_submissions_rejected_total +1' 'docs trivsel_docs_problems_total{code="order_not_accepted"} +1'
audited "supplier1|docs_submission_refused|docs.note.submitted.$C1|note n-early rejected: order_not_accepted (order \"ord-1\" is not accepted: documentation is taken on accepted orders)" \
    "... audited"

pub supplier1 ordering.order.accepted.$C1 a1 '{"orderId": "ord-1", "contactName": "Mette"}'
handled ordering a1
check "supplier 1 accepts its order" wait_sql "SELECT status FROM docs.orders WHERE order_id = 'ord-1'" accepted

begin
pub supplier2 ordering.order.accepted.$C2 a1x '{"orderId": "ord-1"}'
handled ordering a1x
handled docs a1x
check_eq "another supplier's answer to the order changes nothing" \
    "$(sql "SELECT status || ' ' || answered_by FROM ordering.orders WHERE order_id = 'ord-1'") $(sql "SELECT accepted_by FROM docs.orders WHERE order_id = 'ord-1'")" \
    "accepted supplier1 supplier1"
counted "... counted by both services" 'ordering trivsel_ordering_events_rejected_total{code="unknown_order"} +1' \
    'ordering trivsel_ordering_answers_rejected_total +1' 'docs trivsel_docs_events_ignored_total{reason="unknown_order"} +1'
audited "supplier2|docs_event_refused|ordering.order.accepted.$C2|supplier $C2 has no order \"ord-1\"
supplier2|ordering_event_refused|ordering.order.accepted.$C2|unknown_order: supplier $C2 has no order \"ord-1\"" \
    "... audited by both"

begin
note supplier2 $C2 n-other ord-1 $CHILD
other=$(answer n-other supplier2)
check_has "a supplier documenting on another supplier's order is refused, on its own CVR" "$other" \
    "\"subject\":\"docs.submission.rejected.$C2\"" \
    "{\"field\":\"order_id\",\"problem\":\"supplier $C2 has no order \\\"ord-1\\\"\",\"code\":\"not_your_order\"}"
check "... learning nothing of the case" test "$(grep -c 'sag-1' <<<"$other")" == 0
counted "... counted" 'docs trivsel_docs_submissions_rejected_total +1' 'docs trivsel_docs_problems_total{code="not_your_order"} +1'
audited "supplier2|docs_submission_refused|docs.note.submitted.$C2|note n-other rejected: not_your_order (supplier $C2 has no order \"ord-1\")" \
    "... audited"

begin
note supplier1 $C1 n-child ord-1 $OTHER
check_has "a supplier documenting a child that is not its order's is refused" "$(answer n-child supplier1)" \
    "\"subject\":\"docs.submission.rejected.$C1\"" \
    "{\"field\":\"child_cpr\",\"problem\":\"child_cpr $OTHER is not the child of order \\\"ord-1\\\"\",\"code\":\"wrong_child\"}"
counted "... counted" 'docs trivsel_docs_submissions_rejected_total +1' 'docs trivsel_docs_problems_total{code="wrong_child"} +1'
audited "supplier1|docs_submission_refused|docs.note.submitted.$C1|note n-child rejected: wrong_child (child_cpr $OTHER is not the child of order \"ord-1\")" \
    "... audited"

begin
pub portal ordering.order.placed.$C1 forged '{"orderId": "ord-x", "caseId": "sag-x", "child": {"cpr": "'$OTHER'"},
  "supplierCvr": "'$C1'", "period": {"startDate": "'$START'", "endDate": "'$END'"}}'
handled docs forged
handled ordering forged
check_eq "an order placed by anyone but the ordering service is taken by neither service" \
    "$(sql "SELECT count(*) FROM docs.orders WHERE order_id = 'ord-x'") $(sql "SELECT count(*) FROM ordering.orders WHERE order_id = 'ord-x'")" "0 0"
counted "... counted by both" 'docs trivsel_docs_events_ignored_total{reason="not_ordering"} +1' \
    'ordering trivsel_ordering_events_rejected_total{code="not_ordering"} +1'
audited "portal|docs_event_refused|ordering.order.placed.$C1|only ordering publishes ordering.order.placed.$C1
portal|ordering_event_refused|ordering.order.placed.$C1|not_ordering: only trivsel-ordering publishes on this subject" \
    "... audited by both"
begin
note supplier1 $C1 n-forged ord-x $OTHER
check_has "documenting on the forged order is refused" "$(answer n-forged supplier1)" '"code":"not_your_order"'
counted "... counted" 'docs trivsel_docs_submissions_rejected_total +1' 'docs trivsel_docs_problems_total{code="not_your_order"} +1'
audited "supplier1|docs_submission_refused|docs.note.submitted.$C1|note n-forged rejected: not_your_order (supplier $C1 has no order \"ord-x\")" \
    "... audited"

begin
note supplier1 $C1 n-ok ord-1 $CHILD
check_has "the supplier with the accepted order documents its child" "$(answer n-ok supplier1)" \
    "\"subject\":\"docs.submission.accepted.$C1\"" '"correlationId":"sag-1"'
counted "... and no refusal is counted" 
audited "" "... or audited"

# ---- nothing of one supplier reaches another principal ----------------------------------------
# Supplier 2 subscribed from the start to everything it may read. It sees its own attempts and
# the answer to them, and nothing of supplier 1's order, child or case.
for ((i = 0; i < 200; i++)); do
    [ "$(grep -c '^{' "$T/supplier2.events")" -ge 3 ] && break
    sleep 0.05
done
sleep 1
check_eq "supplier 2 was delivered only its own events" \
    "$(grep -o '"subject":"[^"]*"' "$T/supplier2.events" | cut -d'"' -f4 | sort | tr '\n' ' ')" \
    "docs.note.submitted.$C2 docs.submission.rejected.$C2 ordering.order.accepted.$C2 "
check_eq "... nothing naming supplier 1, its case or its child's name" \
    "$(grep -cE "$C1|sag-1|Emil" "$T/supplier2.events")" 0
check "supplier 1 was delivered its order (the control)" grep -q "\"subject\":\"ordering.order.placed.$C1\".*\"orderId\":\"ord-1\"" "$T/supplier1.events"
check_eq "... and nothing of supplier 2's" "$(grep -c "$C2" "$T/supplier1.events")" 0
check_eq "every delivery to a supplier is audited, each on a subject of its own CVR" \
    "$(sql "SELECT a.principal || ':' || count(*) FILTER (WHERE a.subject LIKE '%.' || p.cvr) || ':' || count(*) FILTER (WHERE a.subject NOT LIKE '%.' || p.cvr)
            FROM broker.audit a JOIN broker.principal p ON p.name = a.principal
            WHERE a.action = 'delivered' AND p.kind = 'supplier' GROUP BY a.principal ORDER BY a.principal")" \
    "supplier1:$(grep -c '^{' "$T/supplier1.events"):0
supplier2:$(grep -c '^{' "$T/supplier2.events"):0"
check_eq "the refused subscribers hold no subscription, the disabled supplier's gets nothing" \
    "$(sql "SELECT count(*) FROM broker.subscription WHERE name LIKE 'peek-%'") $(sql "SELECT count(*) FROM broker.audit WHERE principal = 'supplier3' AND action = 'delivered'")" "0 0"
