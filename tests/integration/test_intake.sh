#!/usr/bin/env bash
# trivsel-intake against the real broker and PostgreSQL (issue 4, item 8): registration on the
# child's case and the exact registered event; a refusal for each kind of bad input, naming
# every problem; the 24-hour deadline (an underretning received 23 h 59 m 58 s ago is overdue
# within seconds; one received 25 h ago while the service was stopped is overdue right after
# start, once; two instances fire each deadline once); receipt due dates across Easter, store
# bededag and Christmas; repeats and genvurdering; orientation; the abuse flag on every event;
# a redelivered event changes nothing; trivselctl intake list.
. tests/integration/lib.sh
migrate >/dev/null
start_broker
keys_new intake --kind service
keys_new assessment --kind service
TOOL=$TRIVSEL_REPO/$BUILD/tests/tools/intake_client
LEADERS='Modtageteamet=ABJ:Anne Bjerg Jensen;*=KLM:Karin Lund'

# start_intake NAME [VAR=value ...]: an instance of trivsel-intake logging to $T/NAME.log;
# then intake_ready NAME waits for it and sets HTTP_PORT_NAME.
start_intake() {
    local name=$1
    shift
    : >>"$T/$name.log"
    printf -v "LOG_START_$name" '%s' "$(wc -l <"$T/$name.log")"
    env TRIVSEL_DATABASE_PASSWORD_FILE="$T/secrets/trivsel_intake.password" TRIVSEL_HTTP_ADDRESS=127.0.0.1:0 \
        TRIVSEL_CLIENT_KEY_FILE="$T/keys/intake.key" TRIVSEL_LOG_LEVEL=debug TRIVSEL_INTAKE_TRIAGE_WARNING=1s \
        TRIVSEL_INTAKE_DEADLINE_POLL=1s \
        TRIVSEL_INTAKE_TEAM_LEADERS="$LEADERS" TRIVSEL_INTAKE_MUNICIPALITIES=630,575 "$@" \
        "$BIN/trivsel-intake" >>"$T/$name.log" 2>&1 &
    LAST_PID=$!
    DAEMON_PIDS+=("$LAST_PID")
}
intake_ready() {
    local start=LOG_START_$1 i port
    for ((i = 0; i < 200; i++)); do
        port=$(tail -n "+$((${!start} + 1))" "$T/$1.log" | grep -o '"msg":"http endpoint listening".*"port":[0-9]*' | grep -o '[0-9]*$')
        if [ -n "$port" ]; then
            printf -v "HTTP_PORT_$1" '%s' "$port"
            wait_ready "$port"
            return
        fi
        sleep 0.05
    done
    return 1
}
stop_intake() {
    kill -TERM "$1"
    wait_exit "$1" 10
}
# wait_sql QUERY EXPECTED [SECONDS]
iso() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
ago() { date -u -d "@$(($(date +%s) - $1))" +%Y-%m-%dT%H:%M:%SZ; }
danish() { TZ=Europe/Copenhagen date -d "$1" '+%Y-%m-%d %H:%M (%Z)'; }
pub() { TRIVSEL_CLIENT_KEY_FILE="$T/keys/$1.key" "$TOOL" publish "${@:2}"; }
decode() { "$TOOL" decode; }
# event ID: the event's JSON, payload decoded; events SUBJECT: all on the subject, in order.
event() { sql "SELECT encode(envelope, 'hex') FROM broker.event WHERE event_id = '$1'" | decode; }
events() { sql "SELECT encode(envelope, 'hex') FROM broker.event WHERE subject = '$1' ORDER BY position" | decode; }
uid() { sql "SELECT id FROM intake.underretning WHERE received_event_id = '$1'"; }
case_of() { sql "SELECT case_id FROM intake.underretning WHERE received_event_id = '$1'"; }
logged() { sql "SELECT count(*) FROM broker.event WHERE event_id = '$1'"; }

SCHOOL='{"kind":"REPORTER_KIND_PUBLIC_EMPLOYEE","name":"Mette Skov","organisation":"Vejen Skole","role":"klasselærer","contact":{"email":"mette.skov@skole.example"}}'
CITIZEN='{"kind":"REPORTER_KIND_PRIVATE_CITIZEN","name":"Jens Nabo","contact":{"phone":"+45 20 30 40 50"}}'
ANON='{"kind":"REPORTER_KIND_ANONYMOUS"}'
EMIL='{"cpr":"1505164234","name":"Emil Hansen"}'
CONCERN='Barnet virker utrygt, har hyppigt fravær og kommer ofte uden madpakke.'
# underretning ID RECEIVED_AT CHILD REPORTER [EXTRA_FIELDS] [MUNICIPALITY]: publishes one.
underretning() {
    pub fagsystem intake.underretning.received "$1" \
        "{\"child\":$3,\"reporter\":$4,\"receivedAt\":\"$2\",\"channel\":\"CHANNEL_DIGITAL_FORM\",\"concern\":\"$CONCERN\",\"team\":\"Modtageteamet\"${5:-}}" \
        --occurred "$2" --municipality "${6:-630}" >/dev/null
}
registered() { wait_sql "SELECT count(*) FROM intake.underretning WHERE received_event_id = '$1'" 1; }

checkconfig() { env TRIVSEL_BROKER_PUBLIC_KEY_FILE="$T/keys/broker.pub" TRIVSEL_CLIENT_KEY_FILE="$T/keys/intake.key" "$@" "$BIN/trivsel-intake" --check-config 2>&1; echo "exit $?"; }
check_eq "a team leader entry that is not TEAM=ID:NAME stops the start (exit 2), naming the variable" \
    "$(checkconfig TRIVSEL_INTAKE_TEAM_LEADERS='Modtageteamet=ABJ:Anne;Børneteamet')" \
    'trivsel-intake: TRIVSEL_INTAKE_TEAM_LEADERS="Modtageteamet=ABJ:Anne;Børneteamet" is not valid: entry 2 is not TEAM=ID:NAME, e.g. Modtageteamet=ABJ:Anne Bjerg;*=KLM:Karin Lund
exit 2'
check_eq "... as does a warning that is not shorter than the 24 hours" \
    "$(checkconfig TRIVSEL_INTAKE_TRIAGE_WARNING=1d)" \
    'trivsel-intake: TRIVSEL_INTAKE_TRIAGE_WARNING="1d" is not valid: must be less than the 24 hours it warns about
exit 2'

start_intake intake
INTAKE_PID=$LAST_PID
check "trivsel-intake starts and is ready" intake_ready intake

# ---- registration: Easter 2024 -------------------------------------------------------------
underretning u1 2024-03-21T09:15:00Z "$EMIL" "$SCHOOL"
registered u1
U1=$(uid u1)
C1=$(case_of u1)
wait_sql "SELECT count(*) FROM broker.event WHERE event_id = '$U1/receipt.requested'" 1
reg=$(event "$U1/registered")
check_eq "the registered event's payload, field by field" "$(jq -S -c .payload <<<"$reg")" "$(jq -S -c . <<<"{
  \"underretningId\": \"$U1\", \"caseId\": \"$C1\", \"receivedEventId\": \"u1\", \"newCase\": true,
  \"child\": {\"cpr\": \"1505164234\", \"name\": \"Emil Hansen\"},
  \"reporterKind\": \"REPORTER_KIND_PUBLIC_EMPLOYEE\", \"receivedAt\": \"2024-03-21T09:15:00Z\",
  \"triageDueAt\": \"2024-03-22T09:15:00Z\", \"receiptRequired\": true, \"receiptDueDate\": \"2024-04-03\",
  \"orientationRequired\": true, \"underretningerLast12Months\": 1, \"team\": \"Modtageteamet\"}")"
check_eq "... on its envelope: subject, type, municipality, the case as correlation id, publisher" \
    "$(jq -r '[.subject, .type, .municipality, .correlationId == "'"$C1"'", .publisher] | join(" ")' <<<"$reg")" \
    "intake.underretning.registered trivsel.intake.UnderretningRegistered 630 true intake"
check_eq "the receipt is requested for the school, due 6 hverdage after Thursday before Easter 2024" \
    "$(event "$U1/receipt.requested" | jq -c '.payload | [.reporter.name, .receivedAt, .receiptDueDate, .abuseCase // false]')" \
    '["Mette Skov","2024-03-21T09:15:00Z","2024-04-03",false]'
wait_sql "SELECT count(*) FROM broker.event WHERE event_id = '$U1/triage.overdue'" 1
check_eq "an underretning received long ago is overdue at once, escalated to the team's leader" \
    "$(event "$U1/triage.overdue" | jq -c '[.occurredAt, .payload.triageDueAt, .payload.escalatedTo]')" \
    '["2024-03-22T09:15:00Z","2024-03-22T09:15:00Z",{"id":"ABJ","name":"Anne Bjerg Jensen","team":"Modtageteamet"}]'
check_eq "... with no warning after the deadline itself" "$(logged "$U1/triage.due_soon")" 0
wait_sql "SELECT count(*) FROM broker.event WHERE event_id = '$U1/receipt.overdue'" 1
check_eq "the receipt is overdue at the end of its due day, Danish time (CEST)" \
    "$(event "$U1/receipt.overdue" | jq -c '[.occurredAt, .payload.receiptDueDate, .payload.team]')" \
    '["2024-04-03T22:00:00Z","2024-04-03","Modtageteamet"]'

# ---- the child's case and repeats ------------------------------------------------------------
underretning u2 2024-05-10T07:00:00Z '{"cpr":"150516-4234"}' "$ANON"
registered u2
check_eq "a second underretning on the child (CPR with a dash, anonymous) is on the same case" \
    "$(event "$(uid u2)/registered" | jq -c '.payload | [.caseId == "'"$C1"'", .newCase // false, .underretningerLast12Months, .receiptRequired // false, .receiptDueDate // "", .orientationRequired // false]')" \
    '[true,false,2,false,"",false]'
check_eq "... and no receipt is requested for the anonymous reporter" \
    "$(sql "SELECT (SELECT count(*) FROM broker.event WHERE event_id = '$(uid u2)/receipt.requested') || ' ' || (SELECT count(*) FROM intake.deadline WHERE underretning_id = '$(uid u2)' AND kind = 'receipt_overdue')")" \
    "0 0"

# A measure granted on the case (assessment.decision.registered) makes the next underretning
# require a genvurdering, and tells the school's reporter of u1 that a measure was decided.
pub assessment assessment.decision.registered d1 "{\"decisionId\":\"AFG-1\",\"caseId\":\"$C1\",\"kind\":\"DECISION_KIND_GRANT\",\"measures\":[{\"legalBasis\":\"LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5\",\"description\":\"Familiebehandling 4 timer om ugen\",\"startDate\":\"2025-01-06\"}],\"notifiedAt\":\"2025-01-03T10:00:00Z\"}" \
    --occurred 2025-01-03T10:00:00Z >/dev/null
wait_sql "SELECT count(*) FROM intake.measure WHERE case_id = '$C1'" 1
wait_sql "SELECT count(*) FROM broker.event WHERE event_id = '$U1/orientation.measure_decided'" 1
check_eq "a measure decided: orientation due for the public employee who reported within 12 months before" \
    "$(event "$U1/orientation.measure_decided" | jq -c '.payload | [.outcome, .orientationDueDate, .reporter.organisation]')" \
    '["ORIENTATION_OUTCOME_MEASURE_DECIDED","2025-01-17","Vejen Skole"]'
# Easter 2025: received Tuesday 15 April; 12 months back is 15 April 2024, so u1 no longer counts.
underretning u3 2025-04-15T08:00:00Z "$EMIL" "$SCHOOL"
registered u3
check_eq "Easter 2025: receipt due Monday 28 April; 2 underretninger in 12 months; genvurdering required" \
    "$(event "$(uid u3)/registered" | jq -c '.payload | [.receiptDueDate, .underretningerLast12Months, .genvurderingRequired, .activeMeasures]')" \
    '["2025-04-28",2,true,["LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5"]]'

# A child without CPR is found by name and birth date; a later CPR number for the same name
# and birth date joins that case and gives it the number.
underretning s1 2024-09-02T08:00:00Z '{"name":"Sofie Jensen","birthDate":"2018-02-03"}' "$CITIZEN"
underretning s2 2024-09-03T08:00:00Z '{"name":"  SOFIE   jensen ","birthDate":"2018-02-03"}' "$CITIZEN"
underretning s3 2024-09-04T08:00:00Z '{"cpr":"0302184562","name":"Sofie Jensen"}' "$CITIZEN"
underretning s4 2024-09-05T08:00:00Z '{"name":"Sofie Jensen","birthDate":"2018-02-04"}' "$CITIZEN"
registered s4
check_eq "without CPR: same name (any case, spacing) and birth date = the same case; then it takes the CPR" \
    "$(sql "SELECT string_agg(CASE WHEN u.case_id = (SELECT case_id FROM intake.underretning WHERE received_event_id = 's1') THEN 'same' ELSE 'other' END, ' ' ORDER BY u.received_at) FROM intake.underretning u WHERE received_event_id IN ('s1','s2','s3','s4')") $(sql "SELECT cpr FROM intake.sag WHERE id = '$(case_of s1)'")" \
    "same same same other 0302184562"

# Receipt due dates end to end: store bededag 2023 (a holiday) and 2024 (abolished), Christmas.
underretning b23 2023-05-01T08:00:00Z '{"cpr":"0101154012"}' "$CITIZEN"
underretning b24 2024-04-22T08:00:00Z '{"cpr":"0101154012"}' "$CITIZEN"
underretning x24 2024-12-20T08:00:00Z '{"cpr":"0101154012"}' "$CITIZEN"
registered x24
check_eq "receipt due: store bededag 2023 -> 10 May, 2024 -> 30 April, Christmas 2024 -> 6 January 2025" \
    "$(sql "SELECT string_agg(to_char(receipt_due_date, 'YYYY-MM-DD'), ' ' ORDER BY received_at) FROM intake.underretning WHERE received_event_id IN ('b23','b24','x24')")" \
    "2023-05-10 2024-04-30 2025-01-06"

# ---- refusals: every problem named -----------------------------------------------------------
# refused ID: the codes of the refusal of event ID, as "field:code ...".
refused() {
    wait_sql "SELECT count(*) FROM intake.handled_event WHERE event_id = '$1'" 1
    for ((i = 0; i < 40; i++)); do
        r=$(events intake.underretning.refused | jq -r --arg id "$1" 'select(.payload.receivedEventId == $id) | [.payload.problems[] | (.field // "") + ":" + .code] | join(" ")')
        [ -n "$r" ] && break
        sleep 0.05
    done
    echo "$r"
}
bad() { pub fagsystem intake.underretning.received "$1" "$2" --municipality "${3:-630}" >/dev/null; }
NOW=$(ago 60)
FUTURE=$(ago -3600)
GOOD="\"reporter\":$SCHOOL,\"receivedAt\":\"$NOW\",\"channel\":\"CHANNEL_PHONE\",\"concern\":\"$CONCERN\""
bad r-cpr "{\"child\":{\"cpr\":\"150516423X\"},$GOOD}"
check_eq "refused: an invalid CPR number" "$(refused r-cpr)" "child.cpr:invalid_cpr"
check_eq "... the message says what is wrong" \
    "$(events intake.underretning.refused | jq -r 'select(.payload.receivedEventId == "r-cpr") | .payload.problems[0].problem')" \
    'invalid CPR number "150516423X": must be 10 digits, optionally with a dash after the sixth'
bad r-nocpr "{\"child\":{\"address\":{\"street\":\"Vestergade 16\"}},$GOOD}"
check_eq "refused: no CPR and neither name nor birth date" "$(refused r-nocpr)" \
    "child.name:missing_child_name child.birth_date:missing_birth_date"
bad r-adult "{\"child\":{\"cpr\":\"0101804321\"},$GOOD}"
check_eq "refused: an adult's CPR number" "$(refused r-adult)" "child.cpr:not_a_child"
bad r-kind "{\"child\":$EMIL,\"reporter\":{\"name\":\"Mette Skov\"},\"receivedAt\":\"$NOW\",\"channel\":\"CHANNEL_PHONE\",\"concern\":\"$CONCERN\"}"
check_eq "refused: the reporter's kind missing" "$(refused r-kind)" "reporter.kind:missing_reporter_kind"
bad r-anon "{\"child\":$EMIL,\"reporter\":{\"kind\":\"REPORTER_KIND_ANONYMOUS\",\"name\":\"Jens\"},\"receivedAt\":\"$NOW\",\"channel\":\"CHANNEL_PHONE\",\"concern\":\"$CONCERN\"}"
check_eq "refused: an anonymous reporter with a name" "$(refused r-anon)" "reporter:anonymous_reporter_identified"
bad r-future "{\"child\":$EMIL,\"reporter\":$SCHOOL,\"receivedAt\":\"$FUTURE\",\"channel\":\"CHANNEL_PHONE\",\"concern\":\"$CONCERN\"}"
check_eq "refused: received-at an hour in the future" "$(refused r-future)" "received_at:received_at_in_future"
bad r-noreceived "{\"child\":$EMIL,\"reporter\":$SCHOOL,\"channel\":\"CHANNEL_PHONE\",\"concern\":\"$CONCERN\"}"
check_eq "refused: received-at missing" "$(refused r-noreceived)" "received_at:missing_received_at"
bad r-municipality "{\"child\":$EMIL,$GOOD}" 101
check_eq "refused: a municipality this intake does not serve" "$(refused r-municipality)" ":unknown_municipality"
LONG=$(head -c 20001 /dev/zero | tr '\0' 'x')
bad r-long "{\"child\":$EMIL,\"reporter\":$SCHOOL,\"receivedAt\":\"$NOW\",\"channel\":\"CHANNEL_PHONE\",\"concern\":\"$LONG\"}"
check_eq "refused: a concern of 20,001 characters" "$(refused r-long)" "concern:text_too_long"
bad r-all "{\"child\":{\"cpr\":\"3102164234\"},\"reporter\":{},\"receivedAt\":\"$FUTURE\",\"reporterScore\":0,\"parentsSuspected\":true}" 575
check_eq "refused: everything wrong at once, every problem named" "$(refused r-all)" \
    "received_at:received_at_in_future child.cpr:invalid_cpr reporter.kind:missing_reporter_kind channel:missing_channel concern:missing_concern reporter_score:invalid_score parents_suspected:inconsistent_abuse_flags"
check_eq "... refusals store nothing" \
    "$(sql "SELECT count(*) FROM intake.underretning WHERE received_event_id LIKE 'r-%'")" 0
check_eq "... and are counted by reason" \
    "$(curl -s "http://127.0.0.1:$HTTP_PORT_intake/metrics" | grep -c '^trivsel_intake_refused_total{event="underretning",reason="invalid_cpr"} 2$')" 1

# ---- violence and sexual abuse ----------------------------------------------------------------
underretning a1 "$(ago 3600)" '{"cpr":"0707124123","name":"Ida Berg"}' "$SCHOOL" ',"violenceSuspected":true,"parentsSuspected":true'
registered a1
A1=$(uid a1)
CA=$(case_of a1)
wait_sql "SELECT count(*) FROM broker.event WHERE event_id = '$A1/receipt.requested'" 1
TRIAGE="{\"underretningId\":\"$A1\",\"caseId\":\"$CA\",\"childInDanger\":true,\"acuteMeasuresNeeded\":false,\"outcome\":\"TRIAGE_OUTCOME_BOERNEFAGLIG_UNDERSOEGELSE\",\"triagedBy\":{\"id\":\"ABJ\",\"name\":\"Anne Bjerg Jensen\"},\"triagedAt\":\"$(ago 1800)\""
pub fagsystem intake.triage.completed t-a1-bad "$TRIAGE}" >/dev/null
wait_sql "SELECT count(*) FROM intake.handled_event WHERE event_id = 't-a1-bad'" 1
wait_sql "SELECT count(*) FROM broker.event WHERE subject = 'intake.triage.refused'" 1
check_eq "an abuse case's triage without the børnesamtale plan and the parents-not-told confirmation is refused" \
    "$(events intake.triage.refused | jq -c 'select(.payload.completedEventId == "t-a1-bad") | [.payload.abuseCase, [.payload.problems[].code]]')" \
    '[true,["missing_boernesamtale_plan","parents_not_told_unconfirmed"]]'
pub fagsystem intake.triage.completed t-a1 "$TRIAGE,\"boernesamtalePlan\":\"Samtale i Børnehus Syd torsdag kl. 10, uden forældre\",\"boernehusInvolved\":true,\"parentsNotTold\":true}" >/dev/null
wait_sql "SELECT count(*) FROM intake.underretning WHERE id = '$A1' AND triaged_at IS NOT NULL" 1
check_eq "... with them it is recorded on time, and the triage deadlines will not fire" \
    "$(sql "SELECT triage_late || ' ' || triaged_by_id || ' ' || (SELECT string_agg(kind || '=' || coalesce(closed_reason, 'open'), ',' ORDER BY kind) FROM intake.deadline WHERE underretning_id = '$A1')  FROM intake.underretning WHERE id = '$A1'")" \
    "false ABJ receipt_overdue=open,triage_due_soon=triaged,triage_overdue=triaged"
pub fagsystem intake.receipt.sent rs-a1 "{\"underretningId\":\"$A1\",\"sentAt\":\"$(ago 60)\",\"channel\":\"LETTER_CHANNEL_DIGITAL_POST\"}" >/dev/null
wait_sql "SELECT closed_reason FROM intake.deadline WHERE underretning_id = '$A1' AND kind = 'receipt_overdue'" receipt_sent
check "the kvittering sent in time closes its deadline" \
    [ "$(sql "SELECT receipt_late FROM intake.underretning WHERE id = '$A1'")" == f ]
pub assessment assessment.investigation.opened i-a1 "{\"investigationId\":\"BFU-1\",\"caseId\":\"$CA\",\"underretningId\":\"$A1\",\"abuseCase\":true}" >/dev/null
wait_sql "SELECT count(*) FROM broker.event WHERE event_id = '$A1/orientation.investigation_opened'" 1
check_eq "an investigation opened: orientation due for the public-employee reporter" \
    "$(event "$A1/orientation.investigation_opened" | jq -c '.payload | [.outcome, .reporter.name]')" \
    '["ORIENTATION_OUTCOME_INVESTIGATION_OPENED","Mette Skov"]'
check_eq "every event about the abuse case carries the flag" \
    "$(sql "SELECT encode(envelope, 'hex') FROM broker.event WHERE correlation_id = '$CA' AND publisher = 'intake'" | decode | jq -s -c '[length, all(.payload.abuseCase == true)]')" \
    "[4,true]"
pub fagsystem intake.orientation.sent os-a1 "{\"underretningId\":\"$A1\",\"sentAt\":\"$(ago 30)\",\"channel\":\"LETTER_CHANNEL_EMAIL\"}" >/dev/null
wait_sql "SELECT count(*) FROM intake.orientation WHERE underretning_id = '$A1' AND sent_at IS NOT NULL" 1
check "the orientation sent is recorded" true

# A triage after the 24 hours is recorded as late, with by whom and when.
pub fagsystem intake.triage.completed t-u1 "{\"underretningId\":\"$U1\",\"childInDanger\":false,\"acuteMeasuresNeeded\":false,\"outcome\":\"TRIAGE_OUTCOME_PREVENTIVE_OFFER\",\"triagedBy\":{\"id\":\"KLM\",\"name\":\"Karin Lund\"},\"triagedAt\":\"2024-03-23T10:00:00Z\"}" >/dev/null
wait_sql "SELECT count(*) FROM intake.underretning WHERE id = '$U1' AND triaged_at IS NOT NULL" 1
check_eq "a triage after the deadline is recorded as late, by whom and when" \
    "$(sql "SELECT triage_late || ' ' || triaged_by_id || ' ' || triaged_by_name || ' ' || to_char(triaged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM intake.underretning WHERE id = '$U1'")" \
    "true KLM Karin Lund 2024-03-23 10:00"
wait_sql "SELECT count(*) FROM broker.event WHERE event_id = '$U1/orientation.no_investigation_or_measure'" 1
check_eq "... and, with no investigation, the outcome is known: orientation due 10 hverdage after (Easter 2024)" \
    "$(event "$U1/orientation.no_investigation_or_measure" | jq -c '[.occurredAt, .payload.outcome, .payload.orientationDueDate]')" \
    '["2024-03-23T10:00:00Z","ORIENTATION_OUTCOME_NO_INVESTIGATION_OR_MEASURE","2024-04-10"]'
pub fagsystem intake.receipt.sent rs-unknown '{"underretningId":"00000000-0000-4000-8000-000000000000","channel":"LETTER_CHANNEL_EMAIL"}' >/dev/null
wait_sql "SELECT count(*) FROM intake.handled_event WHERE event_id = 'rs-unknown'" 1
check_eq "a kvittering for an unknown underretning changes nothing, and is counted" \
    "$(curl -s "http://127.0.0.1:$HTTP_PORT_intake/metrics" | grep '^trivsel_intake_ignored_total{' | grep 'reason="unknown_underretning"' | grep 'subject="intake.receipt.sent"' | awk '{print $2}')" 1
pub fagsystem intake.triage.completed t-u1-again "{\"underretningId\":\"$U1\",\"childInDanger\":false,\"acuteMeasuresNeeded\":false,\"outcome\":\"TRIAGE_OUTCOME_PREVENTIVE_OFFER\",\"triagedBy\":{\"id\":\"KLM\"},\"triagedAt\":\"2024-03-24T10:00:00Z\"}" >/dev/null
wait_sql "SELECT count(*) FROM broker.event WHERE subject = 'intake.triage.refused'" 2
check_eq "a second triage of one underretning is refused" \
    "$(events intake.triage.refused | jq -r 'select(.payload.completedEventId == "t-u1-again") | [.payload.problems[].code] | join(" ")')" \
    "already_triaged"

# ---- the 24 hours, live ------------------------------------------------------------------------
underretning live "$(ago 86398)" '{"cpr":"1111114111"}' "$SCHOOL"
registered live
L=$(uid live)
DUE=$(sql "SELECT to_char(triage_due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM intake.underretning WHERE id = '$L'")
check "received 23 h 59 m 58 s ago: overdue within seconds" \
    wait_sql "SELECT count(*) FROM broker.event WHERE event_id = '$L/triage.overdue'" 1 6
check_eq "... warned first (TRIVSEL_INTAKE_TRIAGE_WARNING=1s), each once, at the times the deadline gives" \
    "$(sql "SELECT string_agg(subject || ' ' || to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ' ' || (published_at >= occurred_at), ',' ORDER BY position) FROM broker.event WHERE event_id LIKE '$L/triage.%'")" \
    "intake.triage.due_soon $(iso "$DUE - 1 second") true,intake.triage.overdue $DUE true"

# trivselctl intake list: a triage due within 6 hours, and the overdue ones.
underretning soon "$(ago 72060)" '{"cpr":"1212124111"}' "$CITIZEN"
registered soon
S=$(uid soon)
SOON_DUE=$(sql "SELECT extract(epoch FROM triage_due_at)::bigint FROM intake.underretning WHERE id = '$S'")
within=$(env "${ADMIN_ENV[@]}" "$BIN/trivselctl" intake list --due-within 6h)
check_eq "intake list --due-within 6h: the triage due in 4 hours, in Danish time" \
    "$(grep "$S" <<<"$within" | awk '{print $5, $9, $10, $11, $12, $13, $14, $15, $16}')" \
    "triage $(danish "@$SOON_DUE") no due in 3 h"
check_eq "... and nothing that is not due within 6 hours" "$(tail -n 1 <<<"$within")" "(1 open deadline)"
overdue=$(env "${ADMIN_ENV[@]}" "$BIN/trivselctl" intake list --overdue)
check_eq "intake list --overdue: the live underretning's triage, and u3's kvittering (due 28 April 2025)" \
    "$(grep -c "^$L .* triage .* overdue by" <<<"$overdue") $(grep "^$(uid u3) " <<<"$overdue" | grep kvittering | awk '{print $9, $10, $11}')" \
    "1 2025-04-28 23:59 (CEST)"
check "... and not the triaged u1, nor the soon one" \
    bash -c "! grep -q '^$U1 .* triage' <<<'$overdue' && ! grep -q '^$S ' <<<'$overdue'"

# Metrics, as counted by this instance (it has registered every underretning so far); the open
# deadlines are counted every TRIVSEL_INTAKE_DEADLINE_POLL (1 s here).
metric() { curl -s "http://127.0.0.1:$HTTP_PORT_intake/metrics" | grep "^$1 " | awk '{print $2}'; }
expect_metrics="$(sql "SELECT count(*) FROM intake.underretning") $(sql "SELECT count(*) FROM broker.event WHERE subject = 'intake.triage.overdue'") $(sql "SELECT count(*) FROM intake.deadline WHERE kind = 'receipt_overdue' AND fired_at IS NULL AND closed_at IS NULL")"
for ((i = 0; i < 40; i++)); do
    got_metrics="$(metric trivsel_intake_underretninger_registered_total) $(metric 'trivsel_intake_deadlines_fired_total{kind="triage_overdue"}') $(metric 'trivsel_intake_deadlines_open{kind="receipt_overdue"}')"
    [ "$got_metrics" == "$expect_metrics" ] && break
    sleep 0.05
done
check_eq "metrics: underretninger registered, overdue triages fired, open receipt deadlines" "$got_metrics" "$expect_metrics"

# ---- down while the deadline passed; then two instances ------------------------------------------
underretning down1 "$(ago 86395)" '{"cpr":"0202164111"}' "$SCHOOL"
registered down1
D1=$(uid down1)
stop_intake "$INTAKE_PID"
check_eq "SIGTERM stops intake with exit status 0" "$EXIT_STATUS" 0
underretning down2 "$(ago 90000)" '{"cpr":"0303164111"}' "$SCHOOL"
sleep 5 # down1's 24 hours end while no instance runs
check_eq "while stopped nothing fires" "$(logged "$D1/triage.overdue")" 0
start_intake intake
INTAKE_PID=$LAST_PID
intake_ready intake
registered down2
D2=$(uid down2)
check "right after start: the deadline that passed while stopped fires" \
    wait_sql "SELECT count(*) FROM broker.event WHERE event_id IN ('$D1/triage.overdue', '$D2/triage.overdue')" 2 5
check_eq "... once each, and the one received 25 h ago gets no late warning" \
    "$(grep -c '"msg":"deadline fired","kind":"triage_overdue","underretning_id":"\('"$D1"'\|'"$D2"'\)"' "$T/intake.log") $(logged "$D2/triage.due_soon")" \
    "2 0"

start_intake intake2 TRIVSEL_INTAKE_DEADLINE_BATCH=1
INTAKE2_PID=$LAST_PID
intake_ready intake2
for i in 1 2 3 4 5 6 7 8 9 10; do
    underretning "two$i" "$(ago 86397)" "{\"cpr\":\"$(printf %02d "$i")0416411$((i % 10))\"}" "$SCHOOL"
done
wait_sql "SELECT count(*) FROM intake.underretning WHERE received_event_id LIKE 'two%'" 10
check "two instances: all 10 become overdue" \
    wait_sql "SELECT count(*) FROM broker.event WHERE subject = 'intake.triage.overdue' AND event_id IN (SELECT id || '/triage.overdue' FROM intake.underretning WHERE received_event_id LIKE 'two%')" 10 8
fired() { cat "$T/intake.log" "$T/intake2.log" | grep '"msg":"deadline fired"' | grep -o '"underretning_id":"[^"]*","event_id":"[^"]*"' | sort; }
check_eq "... each deadline fired exactly once across both instances" "$(fired | uniq -d | wc -l)" 0
echo "# deadline firings by instance: $(grep -c '"msg":"deadline fired"' "$T/intake.log") and $(grep -c '"msg":"deadline fired"' "$T/intake2.log")"
stop_intake "$INTAKE2_PID"

# ---- a batch: what waited while intake was down, in one go ---------------------------------------
# Thirty underretninger on three children published while intake is stopped, two of them with an
# invalid CPR number: started again, intake takes what waits as a batch and sends its
# registrations without waiting for each other's results. Each child must still get one case,
# each count over 12 months must see the ones before it, the refused stay refused, and the
# registered events must be in the log in the order the underretninger came.
stop_intake "$INTAKE_PID"
for i in $(seq 1 30); do
    child=$(((i - 1) % 3 + 1))
    cpr="0${child}0517411${child}"
    { [ "$i" -eq 11 ] || [ "$i" -eq 22 ]; } && cpr=3213164111
    underretning "batch$i" "$(ago $((3600 - i)))" "{\"cpr\":\"$cpr\"}" "$SCHOOL"
done
# The first transaction waits on a lock held for 4 s, so the rest are all waiting when the next
# one begins: one batch, whatever the machine's speed.
sql "BEGIN; LOCK TABLE intake.handled_event IN EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT" >/dev/null &
LOCK_PID=$!
wait_sql "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'handled_event' AND l.mode = 'ExclusiveLock' AND l.granted" 1 >/dev/null
start_intake intake
INTAKE_PID=$LAST_PID
intake_ready intake
wait "$LOCK_PID"
wait_sql "SELECT count(*) FROM intake.underretning WHERE received_event_id LIKE 'batch%'" 28 >/dev/null
check_eq "30 waiting at start: 28 registered on the 3 children's 3 cases, the 2 with an invalid CPR refused" \
    "$(sql "SELECT count(*) || ' ' || count(DISTINCT case_id) FROM intake.underretning WHERE received_event_id LIKE 'batch%'") $(events intake.underretning.refused | jq -r .payload.receivedEventId | grep -c '^batch')" \
    "28 3 2"
check_eq "... each child's count over 12 months goes up by one, in the order received" \
    "$(sql "SELECT string_agg(n, ' ' ORDER BY first) FROM (SELECT min(received_at) first, string_agg(underretninger_last_12_months::text, ',' ORDER BY received_at) n
            FROM intake.underretning WHERE received_event_id LIKE 'batch%' GROUP BY case_id) x")" \
    "1,2,3,4,5,6,7,8,9 1,2,3,4,5,6,7,8,9 1,2,3,4,5,6,7,8,9,10"
check_eq "... and their registered events are in the log in that order" \
    "$(sql "SELECT count(*) FILTER (WHERE by_receipt <> by_position) || ' of ' || count(*) FROM (SELECT
              row_number() OVER (PARTITION BY u.case_id ORDER BY u.received_at) by_receipt,
              row_number() OVER (PARTITION BY u.case_id ORDER BY e.position) by_position
            FROM intake.underretning u JOIN broker.event e ON e.event_id = u.id || '/registered'
            WHERE u.received_event_id LIKE 'batch%') x")" \
    "0 of 28"
batch=$(tail -n "+$((LOG_START_intake + 1))" "$T/intake.log" | grep '"msg":"events handled in one transaction","subscription":"intake.received"' |
    grep -o '"events":[0-9]*' | cut -d: -f2 | sort -n | tail -n 1)
check "... handled as a batch: the 29 that waited behind the lock in one transaction (here $batch)" test "${batch:-0}" -ge 29

# ---- duplicates and redelivery -----------------------------------------------------------------
counts() { sql "SELECT (SELECT count(*) FROM intake.sag) || ' ' || (SELECT count(*) FROM intake.underretning) || ' ' || (SELECT count(*) FROM intake.deadline) || ' ' || (SELECT count(*) FROM intake.orientation) || ' ' || (SELECT count(*) FROM intake.measure)"; }
before=$(counts)
check_eq "the same event published again is a duplicate at the broker" \
    "$(pub fagsystem intake.underretning.received u1 "{\"child\":$EMIL,\"reporter\":$SCHOOL,\"receivedAt\":\"2024-03-21T09:15:00Z\",\"channel\":\"CHANNEL_DIGITAL_FORM\",\"concern\":\"$CONCERN\",\"team\":\"Modtageteamet\"}" --occurred 2024-03-21T09:15:00Z | awk '{print $1, $4}')" \
    "ack duplicate"
stop_intake "$INTAKE_PID"
handled=$(sql "SELECT count(*) FROM intake.handled_event")
sql "UPDATE broker.subscription SET acked_position = 0 WHERE principal = 'intake'" >/dev/null
kill -TERM "$BROKER_PID"
wait_exit "$BROKER_PID" 10
loaded=$(grep -c '"msg":"principals loaded"' "$T/broker.log")
restart_broker
# The broker listens before it has loaded the principals, and refuses a key it does not know
# yet (reported); wait until it knows them.
for ((i = 0; i < 100; i++)); do
    [ "$(grep -c '"msg":"principals loaded"' "$T/broker.log")" -gt "$loaded" ] && break
    sleep 0.05
done
start_intake intake
INTAKE_PID=$LAST_PID
check "intake is ready again after the broker's restart" intake_ready intake
for ((i = 0; i < 300; i++)); do
    [ "$(grep -c '"msg":"event already handled; skipped"' "$T/intake.log")" -ge "$handled" ] && break
    sleep 0.05
done
check_eq "every event redelivered after a replay is skipped as handled" \
    "$(grep -c '"msg":"event already handled; skipped"' "$T/intake.log")" "$handled"
check_eq "... and creates no second case, underretning, deadline, orientation or measure" "$(counts)" "$before"
check_eq "... nor any event twice" \
    "$(sql "SELECT count(*) FROM (SELECT event_id FROM broker.event GROUP BY publisher, event_id HAVING count(*) > 1) x")" 0
stop_intake "$INTAKE_PID"
check_eq "... and it stops cleanly again" "$EXIT_STATUS" 0
