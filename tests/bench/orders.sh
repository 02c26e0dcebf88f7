# orders.sh — sourced by tests/bench/run.sh: template orders for the settlement benchmark, made
# by the real trivsel-ordering from events, as the case system, the assessment service and the
# suppliers publish them (see tests/integration/test_ordering.sh for the shapes). The month to
# settle is the last month that has ended; the templates cover it every way the settlement must
# handle: each price model (hour, day, week, month, fixed), orders running through it, starting
# or ending in it, ended early, and scope changes in it (one, and two in the same month).
# tests/bench/seed_orders.sql then copies them up to BENCH_ORDERS.

SETTLE_MONTH=$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%Y-%m)
# day N: the date of day N of the month to settle; offset N: a date N months from its first day.
day() { printf '%s-%02d' "$SETTLE_MONTH" "$1"; }
offset() { date -u -d "$SETTLE_MONTH-01 $1 month" +%Y-%m-%d; }

# publish_as NAME SUBJECT EVENT_ID PAYLOAD_JSON: one event in kommune 575, through trivselctl.
publish_as() {
    printf '{"eventId": "%s", "municipality": "575", "correlationId": "%s", "payload": %s}\n' \
        "$3" "${3%%-*}" "$4" >"$T/event.json"
    TRIVSEL_CLIENT_KEY_FILE="$T/keys/$1.key" "$BIN/trivselctl" publish "$2" "$T/event.json" >/dev/null 2>>"$T/orders.err"
}
# wait_for QUERY EXPECTED: until the query prints EXPECTED (60 s).
wait_for() {
    local i
    for ((i = 0; i < 600; i++)); do
        [ "$(sql "$1")" == "$2" ] && return 0
        sleep 0.1
    done
    say "waited in vain for $1 = $2 (got $(sql "$1"))"
    return 1
}

orders_setup() {
    keys_new sagssystem --kind system --publish 'ordering.order.>' --subscribe 'ordering.>'
    keys_new katalog --kind system --publish 'ordering.offer.published'
    keys_new vejledernet --kind supplier --cvr 45424421
    keys_new kommune --kind supplier --cvr 11223344
    keys_new familiecentret --kind supplier --cvr 87654321
    keys_new aflastning --kind supplier --cvr 12345678
    start_daemon ordering TRIVSEL_CLIENT_KEY_FILE="$T/keys/ordering.key" TRIVSEL_LOG_LEVEL=info \
        TRIVSEL_ORDERING_CASEWORKER_SYSTEMS=sagssystem TRIVSEL_ORDERING_AUTO_SETTLE=false
    daemon_port ordering && wait_ready "$HTTP_PORT_ordering" || return 1
    TRIVSEL_CLIENT_KEY_FILE="$T/keys/katalog.key" "$BIN/trivselctl" catalogue load deploy/catalogue.json >/dev/null ||
        return 1
    wait_for "SELECT count(*) FROM ordering.offer_version WHERE municipality = '575'" 15 || return 1
    # name offer legal-basis minutes start end team: one order request (minutes "" for a price per
    # day, week, month or once).
    # The templates: name offer legal-basis minutes start end team (minutes "-" for a price per
    # day, week, month or once). Each rests on a decision on its child's case granting its legal
    # basis; the decisions are in before the requests (another subscription of the service).
    local templates="
tmpl-01 45424421-familiebehandling 5 240 $(offset -1) $(offset 5) Børneteamet
tmpl-02 45424421-praktisk-paedagogisk-stoette 2 150 $(day 6) $(offset 3) Børneteamet
tmpl-03 45424421-kontaktperson-mentor 3 120 $(offset -4) $(day 17) Ungeteamet
tmpl-04 45424421-alternativ-til-anbringelse 5 - $(day 10) $(offset 6) Børneteamet
tmpl-05 kommune-familiehuset-familiebehandling 5 180 $(day 1) $(offset 1) Familieteamet
tmpl-06 kommune-hjemmestoette 2 300 $(offset -2) $(offset 4) Familieteamet
tmpl-07 kommune-stoettekontaktperson 3 60 $(day 1) $(offset 2) Ungeteamet
tmpl-08 kommune-aflastningsfamilie 7 - $(day 3) $(day 12) Børneteamet
tmpl-09 87654321-intensiv-familiebehandling 8 - $(offset -1) $(offset 3) Familieteamet
tmpl-10 87654321-familiebehandling 5 240 $(day 1) $(offset 6) Børneteamet
tmpl-11 87654321-foraeldrekursus 8 - $(day 5) $(offset 2) Familieteamet
tmpl-12 12345678-weekendaflastning 7 - $(day 16) $(day 18) Ungeteamet"
    local id offer basis minutes start end team scope n=0
    while read -r id offer basis minutes start end team; do
        [ -n "$id" ] || continue
        publish_as assessment assessment.decision.registered "$id-decision" "{\"decisionId\": \"D-$id\",
          \"caseId\": \"sag-$id\", \"kind\": \"DECISION_KIND_GRANT\", \"team\": \"$team\", \"measures\": [{\"legalBasis\":
          \"LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_$basis\", \"startDate\": \"$(offset -12)\"}]}"
    done <<<"$templates"
    wait_for "SELECT count(*) FROM ordering.decision WHERE decision_id LIKE 'D-tmpl-%'" 12 || return 1
    while read -r id offer basis minutes start end team; do
        [ -n "$id" ] || continue
        scope=""
        [ "$minutes" != - ] && scope="\"scope\": {\"minutesPerWeek\": $minutes, \"description\": \"$((minutes / 60)) timer om ugen\"},"
        publish_as sagssystem ordering.order.requested "$id-requested" "{\"orderId\": \"$id\", \"caseId\": \"sag-$id\",
          \"child\": {\"cpr\": \"$(printf '%02d03154%03d' $((n + 1)) $((n * 7)))\", \"name\": \"Skabelon Barn $n\"},
          \"decisionId\": \"D-$id\", \"offerId\": \"$offer\", \"legalBasis\": \"LEGAL_BASIS_BARNETS_LOV_32_STK_1_NR_$basis\", $scope
          \"period\": {\"startDate\": \"$start\", \"endDate\": \"$end\"}, \"team\": \"$team\",
          \"caseworker\": {\"id\": \"ABJ\", \"name\": \"Anne Bjerg Jensen\", \"team\": \"$team\"},
          \"goals\": [{\"goal\": \"Faste rutiner ved måltider og sengetid\"}],
          \"documentation\": {\"statusReportIntervalMonths\": 3, \"diaryNotesRequired\": true},
          \"leonReason\": \"Barnet kender behandleren fra tidligere forløb\"}"
        n=$((n + 1))
    done <<<"$templates"
    wait_for "SELECT count(*) FROM ordering.orders WHERE order_id LIKE 'tmpl-%'" 12 || return 1

    local who
    for n in 01 02 03 04 05 06 07 08 09 10 11 12; do
        case $(sql "SELECT supplier_cvr FROM ordering.orders WHERE order_id = 'tmpl-$n'") in
        45424421) who=vejledernet ;;
        11223344) who=kommune ;;
        87654321) who=familiecentret ;;
        12345678) who=aflastning ;;
        esac
        publish_as "$who" "ordering.order.accepted.$(sql "SELECT supplier_cvr FROM ordering.orders WHERE order_id = 'tmpl-$n'")" \
            "tmpl-$n-accepted" "{\"orderId\": \"tmpl-$n\", \"contactName\": \"Sara Haddad\"}"
    done
    adjust() { # adjust ORDER DAY MINUTES
        publish_as sagssystem ordering.order.adjusted "$1-adjusted-$2" "{\"orderId\": \"$1\", \"effectiveFrom\": \"$(day "$2")\",
          \"scope\": {\"minutesPerWeek\": $3, \"description\": \"$(($3 / 60)) timer om ugen\"},
          \"reason\": \"Flere konflikter i hjemmet\", \"caseworker\": {\"id\": \"ABJ\", \"team\": \"Børneteamet\"}}"
    }
    adjust tmpl-01 15 360
    adjust tmpl-02 20 90
    adjust tmpl-05 8 240
    adjust tmpl-05 22 120
    adjust tmpl-06 11 180
    adjust tmpl-10 25 300
    publish_as sagssystem ordering.order.ended "tmpl-07-ended" "{\"orderId\": \"tmpl-07\", \"endDate\": \"$(day 25)\",
      \"reason\": \"Familien flytter\", \"caseworker\": {\"id\": \"ABJ\"}}"
    wait_for "SELECT count(*) FROM ordering.orders WHERE order_id LIKE 'tmpl-%' AND status = 'accepted'" 12 &&
        wait_for "SELECT count(*) FROM ordering.order_change WHERE order_id LIKE 'tmpl-%'" 7
}
