#!/usr/bin/env bash
# trivsel-ordering against the real broker and PostgreSQL (issue 6, item 7), driven as the case
# system, the suppliers and an operator would drive it: the sample catalogue loaded with
# trivselctl; orders placed and refused naming every problem (unknown offer and decision, a
# legal basis the decision or the offer does not cover, an offer not valid in the period, a
# suspended supplier); LEON refusal and placement with a reason; BUM (a supplier cannot adjust;
# a supplier answers only its own orders); an order starting 15 November, 6 instead of 4 hours
# from 20 November, ended 30 November: 16 days billed, 5 at 4 h and 11 at 6 h; an adjustment at
# the price of a new offer version; a monthly price over February 2024 (leap) and 2025; the
# unaccepted flag; settlement totals that reconcile to the øre, twice with one event, and the
# automatic run after each month, which waits for an order its supplier may still accept.
# Decisions (assessment.decision.registered) are published by the test as the assessment service.
. tests/integration/lib.sh
M=575
check "migrate" migrate >/dev/null
start_broker
keys_new ordering --kind service
keys_new assessment --kind service
keys_new sagssystem --kind system --publish 'ordering.order.requested' --publish 'ordering.order.adjusted' \
    --publish 'ordering.order.ended' --subscribe 'ordering.>'
# A supplier portal wrongly given a system key that may publish adjustments and decisions: the
# broker lets it through, the service does not.
keys_new portal --kind system --publish 'ordering.order.adjusted' --publish 'assessment.decision.registered'
keys_new katalog --kind system --publish 'ordering.offer.published'
keys_new kommune --kind supplier --cvr 11223344

start_ordering() {
    # Two lines per settlement event: the month 2025-11 (three lines) is sent in two parts.
    start_daemon ordering TRIVSEL_CLIENT_KEY_FILE="$T/keys/ordering.key" TRIVSEL_ORDERING_CASEWORKER_SYSTEMS=sagssystem \
        TRIVSEL_ORDERING_ACCEPT_HVERDAGE=3 TRIVSEL_ORDERING_DEADLINE_POLL=1s TRIVSEL_ORDERING_SETTLEMENT_PART_LINES=2 "$@"
    ORDERING_PID=$LAST_PID
}
start_ordering TRIVSEL_ORDERING_AUTO_SETTLE=false
daemon_port ordering
check "trivsel-ordering becomes ready" wait_ready "$HTTP_PORT_ordering"

# ctl NAME ARGS...: trivselctl with NAME's key (admin: the database's admin); $rc, $out, $err.
ctl() {
    local name=$1
    shift
    if [ "$name" == admin ]; then
        env "${ADMIN_ENV[@]}" timeout 90 "$BIN/trivselctl" "$@" >"$T/out" 2>"$T/err"
    else
        TRIVSEL_CLIENT_KEY_FILE="$T/keys/$name.key" timeout 90 "$BIN/trivselctl" "$@" >"$T/out" 2>"$T/err"
    fi
    rc=$?
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}
# Every event on ordering.>, as an operator's trivselctl tail prints it, one JSON line each: the
# test reads what trivsel-ordering emitted from here.
EVENTS=$T/events.jsonl
TRIVSEL_CLIENT_KEY_FILE="$T/keys/ops.key" "$BIN/trivselctl" tail 'ordering.>' --from-start >"$EVENTS" 2>"$T/tail.err" &
DAEMON_PIDS+=("$!")
# emitted EVENT_ID: the JSON line of what trivsel-ordering emitted for that event: its id is
# "ordering-<the event's position>-<what>" (10 s at most).
emitted() {
    local i pos line
    for ((i = 0; i < 200; i++)); do
        pos=$(grep -F "\"eventId\":\"$1\"" "$EVENTS" | grep -o '"position":"[0-9]*"' | grep -o '[0-9]*')
        if [ -n "$pos" ]; then
            line=$(grep -F "\"eventId\":\"ordering-$pos-" "$EVENTS")
            [ -n "$line" ] && break
        fi
        sleep 0.05
    done
    echo "$line"
}
# answer EVENT_ID: the subject of what trivsel-ordering emitted for that event.
answer() { emitted "$1" | grep -o '"subject":"[^"]*"' | cut -d'"' -f4; }
# pub NAME SUBJECT EVENT_ID PAYLOAD [OCCURRED_AT]: publishes an event as NAME in kommune 575 and
# waits until trivsel-ordering has handled it (for a request, adjustment or end: answered it).
pub() {
    local occurred=""
    [ $# -ge 5 ] && occurred="\"occurredAt\": \"$5\","
    printf '{"eventId": "%s", "municipality": "%s", %s "payload": %s}\n' "$3" "$M" "$occurred" "$4" >"$T/event.json"
    ctl "$1" publish "$2" "$T/event.json"
    [ "$rc" == 0 ] || echo "# publish $3: $err"
    case $2 in
    ordering.order.requested | ordering.order.adjusted | ordering.order.ended)
        [ -n "$(answer "$3")" ] || echo "# $3 was not answered" ;;
    *) wait_sql "SELECT count(*) FROM ordering.handled_event WHERE event_id = '$3'" 1 || echo "# $3 was not handled" ;;
    esac
}
metric() { curl -s "http://127.0.0.1:$HTTP_PORT_ordering/metrics" | grep "^$1 " | awk '{print $2}'; }

# order ID MEMBERS [CPR]: an order request: the JSON members given and the defaults below.
order() {
    local id=$1 extra=$2 cpr=${3:-0803174127}
    printf '{"orderId": "%s", "child": {"cpr": "%s", "name": "Emil Nørgaard Jensen"},
      "caseworker": {"id": "ABJ", "name": "Anne Bjerg Jensen", "team": "Børneteamet"},
      "goals": [{"goal": "Faste rutiner ved måltider og sengetid", "subGoals": ["Aftensmad kl. 18 fem dage om ugen"]}],
      "documentation": {"statusReportIntervalMonths": 3, "diaryNotesRequired": true}, %s}' "$id" "$cpr" "$extra"
}
decision() { # decision ID CASE KIND BASES...
    local id=$1 case_id=$2 kind=$3 measures="" b
    shift 3
    for b in "$@"; do
        measures+="${measures:+,}{\"legalBasis\": \"$b\", \"startDate\": \"2024-01-01\"}"
    done
    printf '{"decisionId": "%s", "caseId": "%s", "kind": "%s", "measures": [%s], "team": "Børneteamet"}' \
        "$id" "$case_id" "$kind" "$measures"
}
NR2=LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_2
NR3=LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_3
NR5=LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5
NR7=LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_7
NR8=LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_8

# --- the catalogue ------------------------------------------------------------------------------
ctl katalog catalogue load deploy/catalogue.json
check_eq "trivselctl catalogue load publishes the sample catalogue's 15 offers" "$rc:$(tail -n 1 <<<"$out")" \
    "0:15 offers: 15 published, 0 already in the log"
check "... in kommune 575, the file's" wait_sql "SELECT count(*) FROM ordering.offer_version WHERE municipality = '575'" 15
check_eq "... the six offers of Vejledernet ApS (seed 000) among them, at their legal bases" \
    "$(sql "SELECT string_agg(offer_id || ':' || array_to_string(legal_bases, '+'), ' ' ORDER BY offer_id) FROM ordering.offer_version WHERE supplier_cvr = '45424421'")" \
    "45424421-alternativ-til-anbringelse:5+8 45424421-familiebehandling:5 45424421-kontaktperson-mentor:3 45424421-praktisk-paedagogisk-stoette:2+8 45424421-samvaer:9 45424421-stoette-voksne-sel85:10"
ctl katalog catalogue load deploy/catalogue.json
check_eq "loading it again stores nothing twice" "$rc:$(tail -n 1 <<<"$out")" "0:15 offers: 0 published, 15 already in the log"
check "... and says a changed offer needs a new version" has "$out" \
    "offer 45424421-familiebehandling version 1: already in the log at position"

# A file with something the broker would refuse is refused whole, before anything is sent.
jq '.municipality = "Vejen"' deploy/catalogue.json >"$T/bad-municipality.json"
ctl katalog catalogue load "$T/bad-municipality.json"
check_eq "a catalogue whose municipality is not a kommunekode is refused, saying why" "$rc:$(cat "$T/err")" \
    "2:trivselctl: $T/bad-municipality.json: municipality \"Vejen\" is not a kommunekode: must be 3 digits, e.g. 575"
jq '.municipality = 575' deploy/catalogue.json >"$T/number-municipality.json"
ctl katalog catalogue load "$T/number-municipality.json"
check_eq "... as is one whose municipality is a number, not the kommunekode as text" "$rc:$(cat "$T/err")" \
    "2:trivselctl: $T/number-municipality.json: \"municipality\" must be a string, the kommunekode, e.g. \"575\""
jq '.offers[3].offerId = "ny\nlinje"' deploy/catalogue.json >"$T/bad-offer.json"
ctl katalog catalogue load "$T/bad-offer.json"
check "... and one with an offer id the broker would not take (a line break)" \
    grep -q 'offers\[3\]: offerId must be given, printable and short enough' "$T/err"
check_eq "... and none of their offers was sent" \
    "$(sql "SELECT count(*) FROM broker.event WHERE subject = 'ordering.offer.published'")" 15

# --- decisions, as the assessment service registers them -------------------------------------
pub assessment assessment.decision.registered d1 "$(decision D1 sag-1 DECISION_KIND_GRANT $NR5 $NR8)"
pub assessment assessment.decision.registered d2 "$(decision D2 sag-2 DECISION_KIND_GRANT $NR5 $NR8)"
pub assessment assessment.decision.registered d3 "$(decision D3 sag-3 DECISION_KIND_GRANT $NR3 $NR7)"
pub portal assessment.decision.registered d-portal "$(decision D9 sag-1 DECISION_KIND_GRANT $NR3)"
check_eq "a decision from anyone but the assessment service does not count" \
    "$(sql "SELECT code FROM ordering.rejected_event WHERE event_id = 'd-portal'") $(sql "SELECT count(*) FROM ordering.decision WHERE decision_id = 'D9'")" \
    "not_decision_publisher 0"
check_eq "decisions are registered with their legal bases" \
    "$(sql "SELECT string_agg(decision_id || ':' || case_id || ':' || array_to_string(legal_bases, '+'), ' ' ORDER BY decision_id) FROM ordering.decision")" \
    "D1:sag-1:5+8 D2:sag-2:5+8 D3:sag-3:3+7"

# --- LEON: placed with the caseworker's reason ---------------------------------------------------
REASON="Familien taler arabisk; Vejledernet har en arabisktalende familiebehandler"
pub sagssystem ordering.order.requested r1 "$(order ord-1 '"caseId": "sag-1", "decisionId": "D1",
  "offerId": "45424421-familiebehandling", "legalBasis": "'$NR5'",
  "scope": {"minutesPerWeek": 240, "description": "4 timer om ugen"},
  "period": {"startDate": "2025-11-15", "endDate": "2026-05-14"}, "team": "Børneteamet",
  "leonReason": "'"$REASON"'"')"
check_eq "an order with a LEON reason is placed with its supplier" "$(answer r1)" ordering.order.placed.45424421
placed=$(emitted r1)
# 4 h a week at 695 kr. from 15 November 2025 to 14 May 2026, month by month (common/settlement.h).
check_has "... with the price, the version and the budget (scope x price over the period)" "$placed" \
    '"orderId":"ord-1"' '"offerVersion":1' '"supplierCvr":"45424421"' '"priceModel":"PRICE_MODEL_HOUR"' \
    '"priceOere":"69500"' '"budgetOere":"7188287"' '"scope":{"minutesPerWeek":240' \
    '"period":{"startDate":"2025-11-15","endDate":"2026-05-14"}' "\"leonReason\":\"$REASON\"" \
    '"goals":[{"goal":"Faste rutiner ved måltider og sengetid"' '"team":"Børneteamet"'
check "... and without other suppliers' prices" test "$(grep -c cheaperAlternatives <<<"$placed")" == 0
check_eq "the cheaper offer it was weighed against stays with the stored order" \
    "$(sql "SELECT leon_reason || '|' || (cheaper_alternatives->0->>'offerId') || '|' || (cheaper_alternatives->0->>'budgetOere') || '|' || jsonb_array_length(cheaper_alternatives) FROM ordering.orders WHERE order_id = 'ord-1'")" \
    "$REASON|kommune-familiehuset-familiebehandling|5378287|1"

# --- LEON: refused without a reason, naming the cheaper offers -----------------------------------
pub sagssystem ordering.order.requested r2 "$(order ord-2 '"caseId": "sag-1", "decisionId": "D1",
  "offerId": "45424421-familiebehandling", "legalBasis": "'$NR5'", "scope": {"minutesPerWeek": 240},
  "period": {"startDate": "2025-11-15", "endDate": "2026-05-14"}, "team": "Børneteamet"')"
check_eq "the same order without a reason is refused" "$(answer r2)" ordering.order.refused
refused=$(emitted r2)
check_has "... naming the cheaper offer, its price and what the order would cost there" "$refused" \
    '"orderId":"ord-2"' '"requestedEventId":"r2"' '"refusedSubject":"ordering.order.requested"' \
    '"code":"leon_reason_missing"' '"field":"leon_reason"' \
    'LEON: 1 cheaper offer covers Barnets Lov §32 stk. 1 nr. 5 and the target group for this period: \"Familiehuset: familiebehandling\" (Eksempel Kommune, Familie & Forebyggelse, 53.782,87 kr.), against 71.882,87 kr. here' \
    '"cheaperOffers":[{"offerId":"kommune-familiehuset-familiebehandling","offerVersion":1,"supplierCvr":"11223344"' \
    '"priceOere":"52000","budgetOere":"5378287"}]'
check_eq "... and nothing is placed" "$(sql "SELECT count(*) FROM ordering.orders WHERE order_id = 'ord-2'")" 0

# --- refusals name every problem -----------------------------------------------------------------
pub sagssystem ordering.order.requested r4 "$(order ord-4 '"caseId": "sag-1", "decisionId": "D1",
  "offerId": "45424421-familiebehandling", "legalBasis": "'$NR3'", "scope": {"minutesPerWeek": 120},
  "period": {"startDate": "2025-11-15", "endDate": "2025-12-31"}, "team": "Børneteamet", "leonReason": "x"')"
check_eq "a legal basis that is neither the decision's nor the offer's is refused" "$(answer r4)" ordering.order.refused
check_has "... with both reasons" "$(emitted r4)" \
    '{"field":"legal_basis","problem":"Barnets Lov §32 stk. 1 nr. 3 is not among the measures of decision \"D1\" (Barnets Lov §32 stk. 1 nr. 5, Barnets Lov §32 stk. 1 nr. 8)","code":"legal_basis_mismatch"}' \
    '{"field":"legal_basis","problem":"offer \"45424421-familiebehandling\" is not granted under Barnets Lov §32 stk. 1 nr. 3: its legal bases are Barnets Lov §32 stk. 1 nr. 5","code":"legal_basis_mismatch"}'

pub sagssystem ordering.order.requested r5 '{"orderId": "ord-5", "caseId": "sag-9", "child": {"cpr": "3002901234"},
  "decisionId": "D-ukendt", "offerId": "findes-ikke", "legalBasis": "'$NR5'", "scope": {"minutesPerWeek": 60},
  "period": {"startDate": "2025-12-01", "endDate": "2025-11-30"}, "caseworker": {"id": "ABJ"}}'
check_has "a request with many problems is refused naming each" "$(emitted r5)" \
    '{"field":"child.cpr","problem":"invalid CPR number \"3002901234\": 30 February 1990 is not a date","code":"invalid_cpr"}' \
    '{"field":"period.end_date","problem":"period.end_date 2025-11-30 is before period.start_date 2025-12-01","code":"invalid_period"}' \
    '{"field":"team","problem":"team is required (or caseworker.team): settlement totals are per team","code":"missing_field"}' \
    '{"field":"decision_id","problem":"unknown decision \"D-ukendt\": no assessment.decision.registered names it","code":"unknown_decision"}' \
    '{"field":"offer_id","problem":"unknown offer \"findes-ikke\": not in the catalogue","code":"unknown_offer"}'

# --- the supplier's answer; BUM ------------------------------------------------------------------
pub supplier1 ordering.order.accepted.45424421 a1 '{"orderId": "ord-1", "contactName": "Sara Haddad"}'
check_eq "the supplier accepts its order" "$(sql "SELECT status || ' ' || answered_by FROM ordering.orders WHERE order_id = 'ord-1'")" \
    "accepted supplier1"
pub supplier2 ordering.order.accepted.12345678 a1x '{"orderId": "ord-1"}'
check_eq "another supplier's answer to it changes nothing and is recorded" \
    "$(sql "SELECT code || ': ' || reason FROM ordering.rejected_event WHERE event_id = 'a1x'")" \
    'unknown_order: supplier 12345678 has no order "ord-1"'

pub sagssystem ordering.order.adjusted j1 '{"orderId": "ord-1", "effectiveFrom": "2025-11-20",
  "scope": {"minutesPerWeek": 360, "description": "6 timer om ugen"}, "reason": "Flere konflikter i hjemmet",
  "caseworker": {"id": "ABJ", "team": "Børneteamet"}}'
check_eq "the caseworker's adjustment is forwarded to the supplier" "$(answer j1)" ordering.order.adjusted.45424421
check_has "... with the old and new scope, the price and the budget recomputed" "$(emitted j1)" \
    '"effectiveFrom":"2025-11-20"' '"previousScope":{"minutesPerWeek":240,"description":"4 timer om ugen"}' \
    '"scope":{"minutesPerWeek":360,"description":"6 timer om ugen"}' '"priceOere":"69500"' '"budgetOere":"10683142"' \
    '"period":{"startDate":"2025-11-15","endDate":"2026-05-14"}'

echo '{"eventId": "j-supplier", "municipality": "575", "payload": {"orderId": "ord-1", "effectiveFrom": "2025-11-20", "scope": {"minutesPerWeek": 60}}}' >"$T/j.json"
ctl supplier1 publish ordering.order.adjusted "$T/j.json"
check_eq "a supplier cannot adjust an order: the broker refuses it" "$rc:$err" \
    "1:trivselctl: event j-supplier refused by the broker (ERROR_NOT_PERMITTED): supplier supplier1 (CVR 45424421) may publish only subjects ending in its own CVR, not \"ordering.order.adjusted\""
pub portal ordering.order.adjusted j2 '{"orderId": "ord-1", "effectiveFrom": "2025-11-20", "scope": {"minutesPerWeek": 60}}'
check_eq "... nor can a system that is not a caseworker's, even when the broker lets it publish" "$(answer j2)" \
    ordering.order.refused
check_has "... refused naming the reason" "$(emitted j2)" '"refusedSubject":"ordering.order.adjusted"' \
    '"refusedEventId":"j2"' '"problem":"principal portal may not adjust an order: only a caseworker'"'"'s system (TRIVSEL_ORDERING_CASEWORKER_SYSTEMS) requests, adjusts or ends an order; a supplier may accept or decline it","code":"not_caseworker_system"'
check_eq "... and the order is unchanged" "$(sql "SELECT budget_oere FROM ordering.orders WHERE order_id = 'ord-1'")" 10683142

pub sagssystem ordering.order.ended e1 '{"orderId": "ord-1", "endDate": "2025-11-30", "reason": "Familien flytter",
  "caseworker": {"id": "ABJ"}}'
check_eq "the caseworker ends the order; the supplier is told" "$(answer e1)" ordering.order.ended.45424421
check_has "... with the budget of 16 days: 5 at 4 h and 11 at 6 h a week" "$(emitted e1)" \
    '"orderId":"ord-1"' '"endDate":"2025-11-30"' '"budgetOere":"853857"' '"reason":"Familien flytter"'

# --- more November orders; the unaccepted flag -----------------------------------------------------
pub sagssystem ordering.order.requested r3 "$(order ord-3 '"caseId": "sag-1", "decisionId": "D1",
  "offerId": "kommune-familiehuset-familiebehandling", "legalBasis": "'$NR5'", "scope": {"minutesPerWeek": 180},
  "period": {"startDate": "2025-11-17", "endDate": "2025-12-31"}, "team": "Børneteamet"')" 2025-11-10T08:00:00Z
check_eq "the cheapest offer needs no LEON reason" "$(answer r3)" ordering.order.placed.11223344
check "an order not accepted within 3 hverdage is flagged" \
    wait_sql "SELECT count(*) FROM ordering.orders WHERE order_id = 'ord-3' AND unaccepted_flagged_at IS NOT NULL" 1
check_eq "... by the end of the 3rd hverdag after the day it was ordered (Monday 10 November)" \
    "$(sql "SELECT to_char(accept_due_at AT TIME ZONE 'Europe/Copenhagen', 'YYYY-MM-DD HH24:MI') FROM ordering.orders WHERE order_id = 'ord-3'")" \
    "2025-11-14 00:00"
ctl admin orders list --unaccepted
check_eq "trivselctl orders list --unaccepted shows it" "$rc:$(sed 1d <<<"$out" | awk '{print $2, $3, $4, $5, $NF}')" \
    "0:ord-3 sag-1 11223344 placed unaccepted"
for ((i = 0; i < 40; i++)); do [ "$(metric trivsel_ordering_orders_unaccepted)" == 1 ] && break; sleep 0.1; done
check_eq "... and /metrics counts it" \
    "$(metric trivsel_ordering_orders_unaccepted) $(metric trivsel_ordering_orders_flagged_unaccepted_total)" "1 1"

pub sagssystem ordering.order.requested r10 "$(order ord-10 '"caseId": "sag-3", "decisionId": "D3",
  "offerId": "kommune-stoettekontaktperson", "legalBasis": "'$NR3'", "scope": {"minutesPerWeek": 120},
  "period": {"startDate": "2025-11-01", "endDate": "2025-11-30"}, "team": "Ungeteamet"' 1507104321)"
pub sagssystem ordering.order.requested r11 "$(order ord-11 '"caseId": "sag-1", "decisionId": "D1",
  "offerId": "45424421-praktisk-paedagogisk-stoette", "legalBasis": "'$NR8'", "scope": {"minutesPerWeek": 150},
  "period": {"startDate": "2025-11-03", "endDate": "2025-11-30"}, "team": "Børneteamet"')"
check_eq "two more November orders are placed" "$(answer r10) $(answer r11)" \
    "ordering.order.placed.11223344 ordering.order.placed.45424421"
pub kommune ordering.order.accepted.11223344 a10 '{"orderId": "ord-10"}'
pub supplier1 ordering.order.accepted.45424421 a11 '{"orderId": "ord-11"}'

# --- a monthly price over February, in a leap year and a common year -----------------------------
for y in 2024 2025; do
    pub sagssystem ordering.order.requested "r-feb-$y" "$(order "ord-feb-$y" '"caseId": "sag-2", "decisionId": "D2",
      "offerId": "45424421-alternativ-til-anbringelse", "legalBasis": "'$NR5'",
      "period": {"startDate": "'$y'-02-15", "endDate": "'$y'-03-31"}, "team": "Børneteamet",
      "leonReason": "Intensiv indsats med samme familiebehandler som før"')"
    pub supplier1 ordering.order.accepted.45424421 "a-feb-$y" '{"orderId": "ord-feb-'$y'"}'
done
check_has "a monthly price from 15 February 2024 (leap year): 15/29 of February and all of March" \
    "$(emitted r-feb-2024)" '"priceModel":"PRICE_MODEL_MONTH"' '"priceOere":"4850000"' '"budgetOere":"7358621"'
check_has "... from 15 February 2025: 14/28 of February and all of March" "$(emitted r-feb-2025)" '"budgetOere":"7275000"'

# --- offer versions: a new price from a date; an order keeps its price until adjusted ------------
V2='{"offerId": "45424421-familiebehandling", "version": 2, "validFrom": "2026-01-01", "supplierCvr": "45424421",
  "supplierName": "Vejledernet ApS", "supplierKind": "SUPPLIER_KIND_EXTERNAL", "title": "Familiebehandling",
  "targetGroupCodes": ["familie-0-17"], "legalBases": ["'$NR5'"], "priceModel": "PRICE_MODEL_HOUR", "priceOere": "72500"}'
pub katalog ordering.offer.published o-v2 "$V2"
check_eq "a new price is a new version from its date" \
    "$(sql "SELECT string_agg(version || ':' || valid_from || ':' || price_oere, ' ' ORDER BY version) FROM ordering.offer_version WHERE offer_id = '45424421-familiebehandling'")" \
    "1:2024-01-01:69500 2:2026-01-01:72500"
pub katalog ordering.offer.published o-v2-again "$V2"
check_eq "... published again unchanged (another event), it changes nothing and is no error" \
    "$(sql "SELECT count(*) FROM ordering.offer_version WHERE offer_id = '45424421-familiebehandling'")/$(sql "SELECT count(*) FROM ordering.rejected_event WHERE event_id = 'o-v2-again'")" \
    "2/0"
pub katalog ordering.offer.published o-v1-changed "${V2/\"version\": 2/\"version\": 1}"
check_eq "... and a published version never changes" \
    "$(sql "SELECT code || ': ' || reason FROM ordering.rejected_event WHERE event_id = 'o-v1-changed'")" \
    'offer_version_conflict: version 1 of offer "45424421-familiebehandling" was published before with other content: a change is a new version'
pub sagssystem ordering.order.requested r8 "$(order ord-8 '"caseId": "sag-1", "decisionId": "D1",
  "offerId": "45424421-familiebehandling", "legalBasis": "'$NR5'", "scope": {"minutesPerWeek": 240},
  "period": {"startDate": "2025-12-01", "endDate": "2026-02-28"}, "team": "Børneteamet", "leonReason": "'"$REASON"'"')"
check_has "an order placed before the new price keeps the old one for its whole period" "$(emitted r8)" \
    '"offerVersion":1' '"priceOere":"69500"' '"budgetOere":"3574286"'
pub sagssystem ordering.order.adjusted j8 '{"orderId": "ord-8", "effectiveFrom": "2026-01-15", "scope": {"minutesPerWeek": 300}}'
check_has "... until it is adjusted: the new scope at the price in effect then" "$(emitted j8)" \
    '"priceOere":"72500"' '"budgetOere":"4117500"' '"previousScope":{"minutesPerWeek":240}' '"scope":{"minutesPerWeek":300}'
check_eq "... kept as scope rows with their prices" \
    "$(sql "SELECT string_agg(effective_from || ':' || minutes_per_week || ':' || price_oere || ':v' || offer_version, ' ' ORDER BY effective_from) FROM ordering.order_scope WHERE order_id = 'ord-8'")" \
    "2025-12-01:240:69500:v1 2026-01-15:300:72500:v2"
pub supplier1 ordering.order.declined.45424421 x8 '{"orderId": "ord-8", "reason": "Ingen ledig kapacitet før marts"}'
check_eq "a supplier may decline, with its reason" \
    "$(sql "SELECT status || ': ' || decline_reason FROM ordering.orders WHERE order_id = 'ord-8'")" \
    "declined: Ingen ledig kapacitet før marts"
pub sagssystem ordering.order.ended e8 '{"orderId": "ord-8", "endDate": "2026-01-31"}'
check_has "... and a declined order takes no changes" "$(emitted e8)" '"code":"order_declined"'

# --- the offer must be valid in the whole period; the supplier active -----------------------------
SUMMER='{"offerId": "kommune-sommeraflastning", "version": 1, "validFrom": "2025-06-01", "validTo": "2025-08-31",
  "supplierCvr": "11223344", "supplierName": "Eksempel Kommune, Familie & Forebyggelse",
  "supplierKind": "SUPPLIER_KIND_INTERNAL", "title": "Sommeraflastning", "targetGroupCodes": ["aflastning-0-17"],
  "legalBases": ["'$NR7'"], "priceModel": "PRICE_MODEL_DAY", "priceOere": "160000"}'
pub katalog ordering.offer.published o-summer "$SUMMER"
pub sagssystem ordering.order.requested r13 "$(order ord-13 '"caseId": "sag-3", "decisionId": "D3",
  "offerId": "kommune-sommeraflastning", "legalBasis": "'$NR7'",
  "period": {"startDate": "2025-08-15", "endDate": "2025-09-15"}, "team": "Ungeteamet", "leonReason": "Kendt sted"')"
check_has "an offer that ends within the period is refused" "$(emitted r13)" \
    '{"field":"period.end_date","problem":"offer \"kommune-sommeraflastning\" cannot be ordered on 2025-09-01, within the period 2025-08-15 to 2025-09-15: it is not valid then","code":"offer_not_valid"}'
SUSPEND='{"offerId": "87654321-familiebehandling", "version": 2, "validFrom": "2026-06-01", "supplierCvr": "87654321",
  "supplierName": "Familiecentret Nord ApS", "supplierKind": "SUPPLIER_KIND_EXTERNAL", "title": "Familiebehandling",
  "targetGroupCodes": ["familie-0-17"], "legalBases": ["'$NR5'"], "priceModel": "PRICE_MODEL_HOUR", "priceOere": "72500",
  "supplierSuspended": true}'
pub katalog ordering.offer.published o-suspend "$SUSPEND"
pub sagssystem ordering.order.requested r14 "$(order ord-14 '"caseId": "sag-2", "decisionId": "D2",
  "offerId": "87654321-intensiv-familiebehandling", "legalBasis": "'$NR5'",
  "period": {"startDate": "2026-03-01", "endDate": "2026-03-31"}, "team": "Børneteamet"')"
check_has "a suspended supplier takes no new orders" "$(emitted r14)" \
    '"problem":"supplier Familiecentret Nord ApS (CVR 87654321) takes no new orders: it is suspended in the catalogue","code":"supplier_inactive"'
pub sagssystem ordering.order.requested r15 "$(order ord-15 '"caseId": "sag-2", "decisionId": "D2",
  "offerId": "45424421-alternativ-til-anbringelse", "legalBasis": "'$NR5'",
  "period": {"startDate": "2026-03-01", "endDate": "2026-03-31"}, "team": "Børneteamet"')"
check_eq "... nor counts as a cheaper alternative for LEON" "$(answer r15)" ordering.order.placed.45424421

# --- settlement -------------------------------------------------------------------------------------
mkdir -p "$T/csv"
ctl admin settle 2025-11 --municipality 575 --csv "$T/csv"
check_eq "trivselctl settle 2025-11 asks trivsel-ordering and prints the settlement" "$rc:$(sed -n 1p <<<"$out" | cut -d' ' -f1-6)" \
    "0:settlement 2025-11, municipality 575: settled at"
first=$out
norm() { sed 's/^\(settlement .*\): settled\( already\)\? at/\1: settled at/' <<<"$1"; }
check_has "... every accepted order active in the month with its lines" "$out" \
    "ord-1                sag-1            45424421 Børneteamet      Barnets Lov §32 stk. 1 nr. 5    16     8.538,57 kr." \
    "    2025-11-15..2025-11-19  5 days, 240 min/week, 695,00 kr. per hour: 1.985,71 kr." \
    "    2025-11-20..2025-11-30 11 days, 360 min/week, 695,00 kr. per hour: 6.552,86 kr." \
    "ord-10               sag-3            11223344 Ungeteamet       Barnets Lov §32 stk. 1 nr. 3    30     3.385,71 kr." \
    "ord-11               sag-1            45424421 Børneteamet      Barnets Lov §32 stk. 1 nr. 8    28     5.750,00 kr." \
    "total: 17.674,28 kr." "not settled, not accepted by their supplier: ord-3"
check_has "... and the totals per supplier, team, legal basis and child" "$out" \
    "  45424421 Vejledernet ApS                             14.288,57 kr." \
    "  11223344 Eksempel Kommune, Familie & Forebyggelse     3.385,71 kr." \
    "  Børneteamet                                          14.288,57 kr." \
    "  Ungeteamet                                            3.385,71 kr." \
    "  Barnets Lov §32 stk. 1 nr. 5                          8.538,57 kr." \
    "  sag-1            080317-xxxx                         14.288,57 kr."
# Every grouping adds up to the total, to the øre.
sum_section() {
    awk -v s="$1" '$0 == s ":" {on = 1; next} /^[^ ]/ {on = 0} on {a = $(NF - 1); gsub(/\./, "", a); sub(/,/, "", a); t += a} END {printf "%d\n", t}' <<<"$2"
}
for section in "per supplier" "per team" "per legal basis" "per child"; do
    check_eq "the totals $section add up to the total, 1767428 øre" "$(sum_section "$section" "$out")" 1767428
done
check_eq "--csv writes one file per supplier" "$(ls "$T/csv" | tr '\n' ' ')" \
    "settlement-575-2025-11-11223344.csv settlement-575-2025-11-45424421.csv "
csv=$T/csv/settlement-575-2025-11-45424421.csv
check_eq "... one row per segment, amounts in kroner" "$(sed -n '2,4p' "$csv" | tr -d '\r')" \
"2025-11,575,45424421,Vejledernet ApS,ord-1,sag-1,0803174127,Børneteamet,Barnets Lov §32 stk. 1 nr. 5,45424421-familiebehandling,hour,2025-11-15,2025-11-19,5,240,695.00,1985.71
2025-11,575,45424421,Vejledernet ApS,ord-1,sag-1,0803174127,Børneteamet,Barnets Lov §32 stk. 1 nr. 5,45424421-familiebehandling,hour,2025-11-20,2025-11-30,11,360,695.00,6552.86
2025-11,575,45424421,Vejledernet ApS,ord-11,sag-1,0803174127,Børneteamet,Barnets Lov §32 stk. 1 nr. 8,45424421-praktisk-paedagogisk-stoette,hour,2025-11-03,2025-11-30,28,150,575.00,5750.00"
check_eq "... whose rows add up to the supplier's total" \
    "$(tail -n +2 "$csv" | tr -d '\r' | awk -F, '{t += $NF * 100} END {printf "%d", t + 0.5}')" 1428857
check_eq "ordering.settlement.calculated is emitted once" \
    "$(sql "SELECT count(*) || ' ' || min(publisher) FROM broker.event WHERE subject = 'ordering.settlement.calculated' AND event_id = 'settlement-575-2025-11'")" \
    "1 ordering"
check_has "... with the segments, the lines and the totals in øre" "$(grep -F '"eventId":"settlement-575-2025-11"' "$EVENTS")" \
    '"month":"2025-11"' \
    '{"orderId":"ord-1","caseId":"sag-1","childCpr":"0803174127","supplierCvr":"45424421","team":"Børneteamet","legalBasis":"LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_5","offerId":"45424421-familiebehandling","priceModel":"PRICE_MODEL_HOUR","daysActive":16,"segments":[{"fromDate":"2025-11-15","toDate":"2025-11-19","days":5,"minutesPerWeek":240,"priceOere":"69500","amountOere":"198571"},{"fromDate":"2025-11-20","toDate":"2025-11-30","days":11,"minutesPerWeek":360,"priceOere":"69500","amountOere":"655286"}],"amountOere":"853857"}' \
    '"supplierTotals":[{"supplierCvr":"11223344","supplierName":"Eksempel Kommune, Familie & Forebyggelse","amountOere":"338571"},{"supplierCvr":"45424421","supplierName":"Vejledernet ApS","amountOere":"1428857"}]' \
    '"totalOere":"1767428"' '"unacceptedOrderIds":["ord-3"]'
for ((i = 0; i < 100; i++)); do
    part2=$(grep -F '"eventId":"settlement-575-2025-11-part2"' "$EVENTS")
    [ -n "$part2" ] && break
    sleep 0.1
done
check_has "... in two parts (2 lines per event here): the first with two lines and part 1 of 2" \
    "$(grep -F '"eventId":"settlement-575-2025-11"' "$EVENTS" | grep -o '"orderId":"ord-[0-9]*","caseId"' | tr '\n' ' ')$(grep -F '"eventId":"settlement-575-2025-11"' "$EVENTS" | grep -o '"part":1,"parts":2')" \
    '"orderId":"ord-1","caseId" "orderId":"ord-10","caseId" "part":1,"parts":2'
check_has "... the second with the third line and every total again" "$part2" \
    '{"orderId":"ord-11","caseId":"sag-1"' '"part":2,"parts":2' '"totalOere":"1767428"' \
    '"supplierTotals":[{"supplierCvr":"11223344","supplierName":"Eksempel Kommune, Familie & Forebyggelse","amountOere":"338571"},{"supplierCvr":"45424421","supplierName":"Vejledernet ApS","amountOere":"1428857"}]'
check_eq "... and the lines of both parts add up to the total" \
    "$(grep -F '"eventId":"settlement-575-2025-11' "$EVENTS" | grep -o '"daysActive":[0-9]*,"segments":\[[^]]*\],"amountOere":"[0-9]*"' | grep -o '"amountOere":"[0-9]*"$' | grep -o '[0-9]*' | awk '{t += $1} END {print t}')" 1767428

ctl admin settle 2025-11 --municipality 575
check_eq "settling the month again prints the same settlement" "$rc:$(norm "$out")" "0:$(norm "$first" | grep -v '^wrote ')"
check "... saying it was settled already" has "$(sed -n 1p <<<"$out")" ": settled already at"
check_eq "... and emits nothing" \
    "$(sql "SELECT count(*) FROM broker.event WHERE subject = 'ordering.settlement.calculated'")" 2

pub sagssystem ordering.order.adjusted j3 '{"orderId": "ord-3", "effectiveFrom": "2025-11-25", "scope": {"minutesPerWeek": 240}}'
check_has "a change reaching into a settled month is refused" "$(emitted j3)" \
    '"problem":"2025-11 is settled already: a change cannot reach into a settled month","code":"month_settled"'

for y in 2024 2025; do
    ctl admin settle "$y-02" --municipality 575
    settled[$y]=$out
done
check_has "February 2024 (leap year): 15 of 29 days of the monthly price" "${settled[2024]}" \
    "ord-feb-2024         sag-2            45424421 Børneteamet      Barnets Lov §32 stk. 1 nr. 5    15    25.086,21 kr." \
    "    2024-02-15..2024-02-29 15 days, 0 min/week, 48.500,00 kr. per month: 25.086,21 kr."
check_has "February 2025 (common year): 14 of 28 days" "${settled[2025]}" \
    "ord-feb-2025         sag-2            45424421 Børneteamet      Barnets Lov §32 stk. 1 nr. 5    14    24.250,00 kr."

this_month=$(TZ=Europe/Copenhagen date +%Y-%m)
ctl admin settle "$this_month" --municipality 575
check_eq "a month that has not ended is not settled" "$rc:${err%%:*}:$(grep -c "has not ended: it can be settled from" <<<"$err")" \
    "1:trivselctl:1"

# --- the automatic run after each month ends ----------------------------------------------------------
kill -TERM "$ORDERING_PID"
wait_exit "$ORDERING_PID" 10
check_eq "SIGTERM stops trivsel-ordering with exit status 0" "$EXIT_STATUS" 0
start_ordering TRIVSEL_ORDERING_AUTO_SETTLE=true
check "with automatic settlement on, the months that ended while it was off are settled at start" \
    wait_sql "SELECT string_agg(month || ':' || total_oere, ' ' ORDER BY month) FROM ordering.settlement WHERE month IN ('2024-03', '2025-03')" \
    "2024-03:4850000 2025-03:4850000"
# ord-15 (March 2026) was placed after its month ended and still awaits its supplier's answer:
# settled now, it would be settled without it, for good.
check "... every one that has ended but 2026-03" wait_sql \
    "SELECT count(*) FROM ordering.settlement_due d WHERE d.month < '$this_month' AND d.month <> '2026-03' AND NOT EXISTS (SELECT FROM ordering.settlement s WHERE s.municipality = d.municipality AND s.month = d.month)" 0
sleep 1.5 # another pass (TRIVSEL_ORDERING_DEADLINE_POLL=1s)
check_eq "... not 2026-03 while ord-15 in it may still be accepted by its supplier (3 hverdage)" \
    "$(sql "SELECT count(*) FROM ordering.settlement WHERE month = '2026-03'")" 0
pub supplier1 ordering.order.accepted.45424421 a15 '{"orderId": "ord-15"}'
check "... and once the supplier has accepted, it is settled with ord-15 in it" \
    wait_sql "SELECT month || ':' || total_oere || ':' || (calculated IS NOT NULL) FROM ordering.settlement WHERE month = '2026-03'" "2026-03:4850000:true"
check "... every one that has ended" wait_sql \
    "SELECT count(*) FROM ordering.settlement_due d WHERE d.month < '$this_month' AND NOT EXISTS (SELECT FROM ordering.settlement s WHERE s.municipality = d.municipality AND s.month = d.month)" 0
check_eq "... none that has not" "$(sql "SELECT count(*) FROM ordering.settlement WHERE month >= '$this_month'")" 0
check_eq "... and each once: 2025-11 still has one event" \
    "$(sql "SELECT count(*) FROM broker.event WHERE event_id = 'settlement-575-2025-11'")" 1
check_eq "every settled month has exactly one event (one per part)" \
    "$(sql "SELECT (SELECT count(*) FROM ordering.settlement) = (SELECT count(*) FROM broker.event WHERE subject = 'ordering.settlement.calculated' AND event_id NOT LIKE '%-part%') AND (SELECT count(*) FROM broker.event WHERE subject = 'ordering.settlement.calculated' AND event_id LIKE '%-part%') = 1")" t
check_eq "nothing the service emitted was refused by the broker" "$(sql "SELECT count(*) FROM broker.outbox_refused")" 0
