#!/usr/bin/env bash
# trivsel-docs against the real broker and PostgreSQL (issue 7, item 6), driven as the ordering
# service and the suppliers would drive it. Orders come from ordering.order.placed.CVR published
# by a principal named "ordering" (the ordering service itself is not run); dates are computed
# from today (Danish time), so every due date lies where the test needs it. It shows: a supplier
# documenting on another supplier's child (rejected and audited); a note after the order ended,
# past the grace period (rejected); an accepted note; invalid content named field by field; a
# status report a minute before and a minute after the end of its due day (on time, late);
# docs.report.due and docs.report.overdue once each, across a restart; the hours of a past month
# reconciled against the ordered hours.
. tests/integration/lib.sh
M=575
check "migrate" migrate >/dev/null
start_broker
keys_new ordering --kind service
keys_new docs --kind service
# A system wrongly allowed to publish orders: the broker lets it through, trivsel-docs does not.
keys_new portal --kind system --publish 'ordering.order.placed.*'

start_docs() {
    start_daemon docs TRIVSEL_CLIENT_KEY_FILE="$T/keys/docs.key" TRIVSEL_DOCS_DEADLINE_POLL=1s \
        TRIVSEL_DOCS_HOURS_DELAY=6s TRIVSEL_DOCS_GRACE_DAYS=14 TRIVSEL_DOCS_REPORT_WARNING=14d
    DOCS_PID=$LAST_PID
    daemon_port docs
}
start_docs
check "trivsel-docs becomes ready" wait_ready "$HTTP_PORT_docs"

EVENTS=$T/events.jsonl
TRIVSEL_CLIENT_KEY_FILE="$T/keys/ops.key" "$BIN/trivselctl" tail '>' --from-start >"$EVENTS" 2>"$T/tail.err" &
DAEMON_PIDS+=("$!")

# emitted EVENT_ID: the JSON line trivsel-docs emitted for that event ("docs-<position>-...").
emitted() {
    local i pos line=""
    for ((i = 0; i < 200; i++)); do
        pos=$(grep -F "\"eventId\":\"$1\"" "$EVENTS" | grep -o '"position":"[0-9]*"' | grep -o '[0-9]*')
        if [ -n "$pos" ]; then
            line=$(grep -F "\"eventId\":\"docs-$pos-" "$EVENTS")
            [ -n "$line" ] && break
        fi
        sleep 0.05
    done
    echo "$line"
}
answer() { emitted "$1" | grep -o '"subject":"[^"]*"' | head -n 1 | cut -d'"' -f4; }
# pub NAME SUBJECT EVENT_ID PAYLOAD [OCCURRED_AT]: publishes as NAME and waits until
# trivsel-docs has handled it.
pub() {
    local occurred=""
    [ $# -ge 5 ] && occurred="\"occurredAt\": \"$5\","
    printf '{"eventId": "%s", "municipality": "%s", %s "payload": %s}\n' "$3" "$M" "$occurred" "$4" >"$T/event.json"
    if ! TRIVSEL_CLIENT_KEY_FILE="$T/keys/$1.key" timeout 60 "$BIN/trivselctl" publish "$2" "$T/event.json" >"$T/out" 2>"$T/err"; then
        echo "# publish $3: $(cat "$T/err")"
    fi
    wait_sql "SELECT count(*) FROM docs.handled_event WHERE event_id = '$3'" 1 || echo "# $3 was not handled"
}
# count SUBJECT ORDER_ID: how many events on SUBJECT name the order.
count() { grep -F "\"subject\":\"$1\"" "$EVENTS" | grep -cF "\"orderId\":\"$2\""; }
wait_count() {
    local i
    for ((i = 0; i < 200; i++)); do
        [ "$(count "$1" "$2")" == "$3" ] && return 0
        sleep 0.05
    done
    return 1
}

# Dates from today in Danish time; a due day with day-of-month <= 28, so start = due - 1 month
# is exact both ways.
eval "$(python3 - <<'PY'
import datetime as dt, zoneinfo
cph = zoneinfo.ZoneInfo("Europe/Copenhagen")
today = dt.datetime.now(cph).date()
def month_back(d):
    y, m = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
    return dt.date(y, m, d.day)
def day_ok(d, step):
    while d.day > 28:
        d += dt.timedelta(days=step)
    return d
past_due = day_ok(today - dt.timedelta(days=2), -1)
soon_due = day_ok(today + dt.timedelta(days=3), 1)
end_of_past_due = dt.datetime.combine(past_due + dt.timedelta(days=1), dt.time(0, 0), cph).astimezone(dt.timezone.utc)
first_this = today.replace(day=1)
last_prev = first_this - dt.timedelta(days=1)
first_prev = last_prev.replace(day=1)
ny, nm = (today.year, today.month + 1) if today.month < 12 else (today.year + 1, 1)
last_next = (dt.date(ny + (nm == 12), nm % 12 + 1, 1) - dt.timedelta(days=1))
fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
v = dict(TODAY=today, D=today - dt.timedelta(days=1),
         PAST_DUE=past_due, PAST_START=month_back(past_due), PAST_PERIOD_END=past_due - dt.timedelta(days=1),
         SOON_DUE=soon_due, SOON_START=month_back(soon_due),
         BEFORE_DUE=fmt(end_of_past_due - dt.timedelta(minutes=1)), AFTER_DUE=fmt(end_of_past_due + dt.timedelta(minutes=1)),
         A_START=today - dt.timedelta(days=30), A_END=today + dt.timedelta(days=300),
         E_START=today - dt.timedelta(days=120), E_END=today - dt.timedelta(days=30), E_NOTE=today - dt.timedelta(days=40),
         PREV_MONTH=first_prev.strftime("%Y-%m"), PREV_FIRST=first_prev, PREV_DAYS=last_prev.day,
         PREV_10=first_prev + dt.timedelta(days=9), PREV_20=first_prev + dt.timedelta(days=19), NEXT_LAST=last_next,
         ORDERED=round(240 * last_prev.day / 7))
for k, x in v.items():
    print(f"{k}={x}")
PY
)"
echo "# today $TODAY; past due $PAST_DUE (start $PAST_START); soon due $SOON_DUE (start $SOON_START)"

# placed ID CVR CPR START END INTERVAL [MINUTES]: ordering.order.placed.CVR as the ordering service.
placed() {
    pub ordering "ordering.order.placed.$2" "placed-$1" "{\"orderId\": \"$1\", \"caseId\": \"sag-$1\",
      \"child\": {\"cpr\": \"$3\", \"name\": \"Emil\"}, \"supplierCvr\": \"$2\",
      \"scope\": {\"minutesPerWeek\": ${7:-240}}, \"period\": {\"startDate\": \"$4\", \"endDate\": \"$5\"},
      \"documentation\": {\"statusReportIntervalMonths\": $6, \"diaryNotesRequired\": true},
      \"caseworker\": {\"id\": \"ABJ\", \"name\": \"Anne Bjerg Jensen\", \"team\": \"Børneteamet\"}, \"team\": \"Børneteamet\"}"
}
accepted() { pub "$2" "ordering.order.accepted.$3" "accepted-$1-$2" "{\"orderId\": \"$1\", \"contactName\": \"Mette\"}"; }
# note SUPPLIER CVR EVENT_ID ORDER CPR DATE MINUTES [OCCURRED_AT]
note() {
    pub "$1" "docs.note.submitted.$2" "$3" "{\"submissionId\": \"$3\", \"orderId\": \"$4\", \"childCpr\": \"$5\",
      \"noteDate\": \"$6\", \"durationMinutes\": $7, \"author\": \"Mette Holm\",
      \"observations\": \"Emil dækkede bord uden at blive bedt om det\",
      \"pedagogicalActions\": \"Fast aftensmadsrutine kl. 18\", \"childOwnWords\": \"Jeg kan godt selv\"}" ${8:+"$8"}
}
C1=45424421
C2=12345678
CHILD=0803174127
OTHER=1502113344

# An order over last month, this month and the next, with two diary notes last month: reconciled
# TRIVSEL_DOCS_HOURS_DELAY (6 s) after the acceptance (checked at the end).
placed ord-h $C1 $CHILD "$PREV_FIRST" "$NEXT_LAST" 0 240
accepted ord-h supplier1 $C1
note supplier1 $C1 h1 ord-h $CHILD "$PREV_10" 90
note supplier1 $C1 h2 ord-h $CHILD "$PREV_20" 60

# --- who may document: the supplier with the accepted order -----------------------------------
placed ord-a $C1 $CHILD "$A_START" "$A_END" 0
pub portal ordering.order.placed.$C2 forged-placed '{"orderId": "ord-x", "caseId": "x", "child": {"cpr": "'$OTHER'"}, "period": {"startDate": "'"$A_START"'", "endDate": "'"$A_END"'"}}'
check_eq "an order published by anyone but the ordering service is not taken" \
    "$(sql "SELECT count(*) FROM docs.orders WHERE order_id = 'ord-x'")" 0
note supplier1 $C1 n-early ord-a $CHILD "$TODAY" 60
check_has "a note on a placed order its supplier has not accepted is rejected" "$(emitted n-early)" \
    '"subject":"docs.submission.rejected.45424421"' '"code":"order_not_accepted"'
accepted ord-a supplier2 $C2
check_eq "another supplier cannot accept the order" "$(sql "SELECT status FROM docs.orders WHERE order_id = 'ord-a'")" placed
accepted ord-a supplier1 $C1
check_eq "its own supplier can" "$(sql "SELECT status || ' ' || accepted_by FROM docs.orders WHERE order_id = 'ord-a'")" "accepted supplier1"

note supplier1 $C1 n-ok ord-a $CHILD "$D" 90
ok_line=$(emitted n-ok)
check_has "an accepted note is answered on docs.submission.accepted.CVR" "$ok_line" \
    '"subject":"docs.submission.accepted.45424421"' '"submissionId":"n-ok"' '"submittedEventId":"n-ok"' \
    '"kind":"SUBMISSION_KIND_NOTE"' '"orderId":"ord-a"' '"correlationId":"sag-ord-a"'
check_eq "... and stored with its supplier, publisher and duration" \
    "$(sql "SELECT supplier_cvr || ' ' || publisher || ' ' || duration_minutes || ' ' || doc_date FROM docs.submission WHERE submission_id = 'n-ok'")" \
    "$C1 supplier1 90 $D"

note supplier2 $C2 n-other ord-a $CHILD "$D" 60
other=$(emitted n-other)
check_has "a supplier documenting on another supplier's child is rejected, on its own CVR" "$other" \
    '"subject":"docs.submission.rejected.12345678"' \
    '{"field":"order_id","problem":"supplier 12345678 has no order \"ord-a\"","code":"not_your_order"}'
check "... without learning the case" test "$(grep -c 'sag-ord-a' <<<"$other")" == 0
check_eq "... and the attempt is audited" \
    "$(sql "SELECT principal || '|' || action || '|' || subject || '|' || detail FROM broker.audit WHERE event_id = 'n-other' AND action = 'docs_submission_refused'")" \
    "supplier2|docs_submission_refused|docs.note.submitted.12345678|note n-other rejected: not_your_order (supplier 12345678 has no order \"ord-a\")"
check_eq "... and nothing is stored" "$(sql "SELECT count(*) FROM docs.submission WHERE submission_id = 'n-other'")" 0

pub supplier1 docs.measurement.submitted.$C1 m-bad '{"submissionId": "m-bad", "orderId": "ord-a", "childCpr": "'$OTHER'",
  "measuredOn": "'"$TODAY"'", "scores": [{"area": "LIFE_AREA_SCHOOL", "score": 11}, {"area": "LIFE_AREA_SCHOOL", "score": 6}]}'
check_has "a measurement names every problem: wrong child, no author, a score out of range, an area twice" "$(emitted m-bad)" \
    '"subject":"docs.submission.rejected.45424421"' '"kind":"SUBMISSION_KIND_MEASUREMENT"' \
    '{"field":"measured_by","problem":"measured_by is required","code":"missing_field"}' \
    '{"field":"scores[0].score","problem":"scores[0].score 11 is not a trivselslineal score: must be 1 to 10","code":"invalid_score"}' \
    '{"field":"scores[1].area","problem":"scores[1].area: skoleforhold is scored more than once","code":"duplicate_area"}' \
    "{\"field\":\"child_cpr\",\"problem\":\"child_cpr $OTHER is not the child of order \\\"ord-a\\\"\",\"code\":\"wrong_child\"}"
check_eq "... audited with every code" "$(sql "SELECT detail FROM broker.audit WHERE event_id = 'm-bad' AND action = 'docs_submission_refused'" | cut -d'(' -f1)" \
    "measurement m-bad rejected: missing_field, invalid_score, duplicate_area, wrong_child "
pub supplier1 docs.measurement.submitted.$C1 m-ok '{"submissionId": "m-ok", "orderId": "ord-a", "childCpr": "'$CHILD'",
  "measuredOn": "'"$TODAY"'", "measuredBy": "Mette Holm", "scores": [{"area": "LIFE_AREA_SCHOOL", "score": 6}, {"area": "LIFE_AREA_FAMILY", "score": 4}]}'
check_eq "a valid measurement is accepted, its scores kept for the progress series" \
    "$(answer m-ok) $(sql "SELECT string_agg(area || '=' || score, ' ' ORDER BY area) FROM docs.measurement_score WHERE submission_id = 'm-ok'")" \
    "docs.submission.accepted.45424421 LIFE_AREA_FAMILY=4 LIFE_AREA_SCHOOL=6"
pub supplier1 docs.plan.submitted.$C1 p-ok '{"submissionId": "p-ok", "orderId": "ord-a", "childCpr": "'$CHILD'", "kind": "PLAN_KIND_FAMILIEPLAN",
  "goals": [{"goal": "Faste rutiner", "subGoals": ["Aftensmad kl. 18"]}], "validFrom": "'"$TODAY"'", "author": "Mette Holm", "madeWithFamily": true}'
check_eq "a plan with goals and sub-goals is accepted" "$(answer p-ok)" docs.submission.accepted.45424421
pub supplier1 docs.note.submitted.$C1 n-again '{"submissionId": "n-ok", "orderId": "ord-a", "childCpr": "'$CHILD'",
  "noteDate": "'"$D"'", "durationMinutes": 30, "author": "Mette Holm", "observations": "Igen"}'
check_has "a submission id used before is rejected" "$(emitted n-again)" \
    '"subject":"docs.submission.rejected.45424421"' '"submittedEventId":"n-again"' \
    '{"field":"submission_id","problem":"submission_id \"n-ok\" was accepted before: a new submission needs a new id","code":"duplicate_submission"}'

# --- a note after the order ended, past the grace period -----------------------------------------
placed ord-e $C1 $CHILD "$E_START" "$A_END" 0
accepted ord-e supplier1 $C1
pub ordering ordering.order.ended.$C1 ended-e '{"orderId": "ord-e", "caseId": "sag-ord-e", "supplierCvr": "'$C1'", "endDate": "'"$E_END"'", "reason": "Målene er nået"}'
check_eq "the end is taken from the ordering service" "$(sql "SELECT end_date || ' ' || ended FROM docs.orders WHERE order_id = 'ord-e'")" "$E_END true"
note supplier1 $C1 n-late ord-e $CHILD "$E_NOTE" 60
check_has "a note on an ended order submitted after the grace period is rejected" "$(emitted n-late)" \
    '"subject":"docs.submission.rejected.45424421"' '"code":"after_grace_period"' \
    "after the order's period ended on $E_END and the grace period of 14 days"
note supplier1 $C1 n-after ord-e $CHILD "$TODAY" 60
check_has "... and one dated after the end names that too" "$(emitted n-after)" \
    "\"problem\":\"$TODAY is outside the order's period $E_START to $E_END\",\"code\":\"outside_order_period\"" \
    '"code":"after_grace_period"'
check_eq "both refusals are audited" \
    "$(sql "SELECT count(*) FROM broker.audit WHERE action = 'docs_submission_refused' AND event_id IN ('n-late', 'n-after')")" 2

# --- status reports: a minute before and a minute after the end of the due day -----------------
report() { # report EVENT_ID ORDER OCCURRED_AT
    pub supplier1 docs.report.submitted.$C1 "$1" "{\"submissionId\": \"$1\", \"orderId\": \"$2\", \"childCpr\": \"$CHILD\",
      \"period\": {\"startDate\": \"$PAST_START\", \"endDate\": \"$PAST_PERIOD_END\"}, \"author\": \"Mette Holm\",
      \"course\": \"Ugentlige besøg\", \"progression\": \"Faste rutiner ved måltider\", \"challenges\": \"Sengetid\",
      \"recommendations\": \"Fortsæt med 4 timer om ugen\"}" "$3"
}
placed ord-r1 $C1 $CHILD "$PAST_START" "$A_END" 1
placed ord-r2 $C1 $CHILD "$PAST_START" "$A_END" 1
accepted ord-r1 supplier1 $C1
accepted ord-r2 supplier1 $C1
check_eq "a report every month from the start: the first is due a month after it" \
    "$(sql "SELECT due_date || ' ' || period_start || ' ' || period_end FROM docs.report WHERE order_id = 'ord-r1' AND report_number = 1")" \
    "$PAST_DUE $PAST_START $PAST_PERIOD_END"
report rep-before ord-r1 "$BEFORE_DUE"
check_has "a report a minute before its due day ends is on time" "$(emitted rep-before)" \
    '"subject":"docs.submission.accepted.45424421"' '"kind":"SUBMISSION_KIND_REPORT"' \
    "\"reportDueDate\":\"$PAST_DUE\""
check "... (not late)" test "$(emitted rep-before | grep -c '"late":true')" == 0
report rep-after ord-r2 "$AFTER_DUE"
check_has "a report a minute after is late" "$(emitted rep-after)" \
    '"subject":"docs.submission.accepted.45424421"' "\"reportDueDate\":\"$PAST_DUE\"" '"late":true'
check_eq "each closes its order's first report" \
    "$(sql "SELECT string_agg(order_id || ':' || closed_by, ' ' ORDER BY order_id) FROM docs.report WHERE report_number = 1 AND order_id LIKE 'ord-r%'")" \
    "ord-r1:rep-before ord-r2:rep-after"

# --- due and overdue, once each, across a restart ------------------------------------------------
placed ord-w $C1 $CHILD "$SOON_START" "$A_END" 1
accepted ord-w supplier1 $C1
placed ord-o $C1 $CHILD "$PAST_START" "$A_END" 1
accepted ord-o supplier1 $C1
check "docs.report.due for a report due in 3 days (warning 14 days)" wait_count docs.report.due.$C1 ord-w 1
due=$(grep -F '"subject":"docs.report.due.45424421"' "$EVENTS" | grep -F '"orderId":"ord-w"')
check_has "... with the report's number, due date, period, caseworker and case" "$due" \
    '"reportNumber":1' "\"dueDate\":\"$SOON_DUE\"" "\"period\":{\"startDate\":\"$SOON_START\"" \
    '"caseworker":{"id":"ABJ","name":"Anne Bjerg Jensen","team":"Børneteamet"}' '"correlationId":"sag-ord-w"' '"supplierCvr":"45424421"'
check "docs.report.overdue for a report whose due day has passed" wait_count docs.report.overdue.$C1 ord-o 1
check_eq "... and no warning after the fact" "$(count docs.report.due.$C1 ord-o)" 0
check_eq "the report due in 3 days is not overdue" "$(count docs.report.overdue.$C1 ord-w)" 0
kill -TERM "$DOCS_PID"
wait_exit "$DOCS_PID"
check_eq "trivsel-docs stops cleanly" "$EXIT_STATUS" 0
start_docs
check "... and starts again" wait_ready "$HTTP_PORT_docs"
sleep 2.5
check_eq "after the restart: due and overdue still once each" \
    "$(count docs.report.due.$C1 ord-w) $(count docs.report.overdue.$C1 ord-o)" "1 1"
check_eq "... as the deadline rows say" \
    "$(sql "SELECT string_agg(order_id || ':' || kind || ':' || (fired_at IS NOT NULL) || ':' || coalesce(closed_reason, '-'), ' ' ORDER BY order_id, kind) FROM docs.deadline WHERE kind <> 'hours' AND report_number = 1 AND order_id IN ('ord-w', 'ord-o')")" \
    "ord-o:report_due:false:superseded ord-o:report_overdue:true:- ord-w:report_due:true:- ord-w:report_overdue:false:-"

# --- hours: a past month against the ordered hours ------------------------------------------------
check "docs.hours.reconciled for last month, once the delay after the acceptance has run" \
    wait_count docs.hours.reconciled ord-h 1
hours=$(grep -F '"subject":"docs.hours.reconciled"' "$EVENTS" | grep -F '"orderId":"ord-h"')
check_has "... ordered 4 h a week over the month's $PREV_DAYS days against the two notes' 150 minutes" "$hours" \
    "\"month\":\"$PREV_MONTH\"" "\"daysActive\":$PREV_DAYS" "\"orderedMinutes\":$ORDERED" '"deliveredMinutes":150' \
    "\"differenceMinutes\":$((150 - ORDERED))" '"notesCount":2' '"correlationId":"sag-ord-h"'
check_eq "... and not this month, which has not ended" "$(count docs.hours.reconciled ord-h) $(sql "SELECT string_agg(month || ':' || (fired_at IS NOT NULL), ' ' ORDER BY month) FROM docs.deadline WHERE order_id = 'ord-h'")" \
    "1 $PREV_MONTH:true ${TODAY:0:7}:false ${NEXT_LAST:0:7}:false"
