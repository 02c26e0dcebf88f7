#!/usr/bin/env bash
# The fault test (issue 10, item 1). While tests/tools/chaos_load plays children's stories from
# the underretning to the supplier's documentation (see its header), a daemon (broker, intake,
# assessment, ordering, docs, in a shuffled round) is killed with SIGKILL and started again every
# 2-5 seconds, and PostgreSQL is restarted once. When the load has finished and the system is
# quiet, the database must show: every acknowledged event in the log exactly once, at the position
# its acknowledgement named; every underretning registered once on a case, with one triage
# deadline and at most one overdue event (exactly one for those received almost or more than 24
# hours ago); every underretning, decision and submission answered by its service
# (intake.underretning.registered, assessment.decision.registered, docs.submission.accepted.CVR)
# exactly once; every order placed exactly once; and the month's settlement equal, to the øre, to a
# recomputation from the accepted orders and the catalogue's prices. The counts are printed.
#
# CHAOS_SECONDS (default 60) is how long the chaos and the new stories last; `make chaos` runs
# this script alone with CHAOS_SECONDS=600.
. tests/integration/lib.sh
CHAOS_SECONDS=${CHAOS_SECONDS:-60}
PG_DIR=$(dirname "$TRIVSEL_TEST_PG_RUN")
M=575
DAEMONS=(broker intake assessment ordering docs)
migrate >/dev/null
start_broker
for s in intake assessment ordering docs; do keys_new "$s" --kind service; done
keys_new sagssystem --kind system --publish intake.underretning.received --publish intake.triage.completed \
    --publish assessment.decision.made --publish ordering.order.requested \
    --subscribe 'intake.>' --subscribe 'assessment.>' --subscribe ordering.order.refused
keys_new katalog --kind system --publish ordering.offer.published
keys_new kommune --kind supplier --cvr 11223344

declare -A PID KILLS EXITS
PID[broker]=$BROKER_PID
# start NAME: (re)starts a daemon with this test's settings. start_daemon empties NAME.log, so
# what the one before wrote is kept in NAME.earlier.log. Ordering settles only when asked (at the
# end: an order reaching into a settled month would be refused); docs takes documentation for 90
# days after an order's end (some orders ended last month); deadlines are looked at often.
start() {
    local name=$1
    [ -s "$T/$name.log" ] && cat "$T/$name.log" >>"$T/$name.earlier.log"
    case $name in
    broker) restart_broker ;;
    intake) start_daemon intake TRIVSEL_CLIENT_KEY_FILE="$T/keys/intake.key" TRIVSEL_INTAKE_MUNICIPALITIES=$M \
        TRIVSEL_INTAKE_TEAM_LEADERS='*=KLM:Karin Lund' TRIVSEL_INTAKE_DEADLINE_POLL=2s ;;
    assessment) start_daemon assessment TRIVSEL_CLIENT_KEY_FILE="$T/keys/assessment.key" \
        TRIVSEL_ASSESSMENT_DEADLINE_POLL=2s ;;
    ordering) start_daemon ordering TRIVSEL_CLIENT_KEY_FILE="$T/keys/ordering.key" \
        TRIVSEL_ORDERING_CASEWORKER_SYSTEMS=sagssystem TRIVSEL_ORDERING_AUTO_SETTLE=false \
        TRIVSEL_ORDERING_DEADLINE_POLL=2s ;;
    docs) start_daemon docs TRIVSEL_CLIENT_KEY_FILE="$T/keys/docs.key" TRIVSEL_DOCS_GRACE_DAYS=90 \
        TRIVSEL_DOCS_DEADLINE_POLL=2s ;;
    esac
    PID[$name]=$LAST_PID
}
ready=0
for s in intake assessment ordering docs; do
    start "$s"
    port=HTTP_PORT_$s
    daemon_port "$s" && wait_ready "${!port}" 30 && ready=$((ready + 1))
done
check_eq "the four services start and are ready" "$ready" 4

TRIVSEL_CLIENT_KEY_FILE="$T/keys/katalog.key" "$BIN/trivselctl" catalogue load deploy/catalogue.json >/dev/null
check "the sample catalogue is loaded" \
    wait_sql "SELECT count(*) FROM ordering.offer_version WHERE municipality = '$M'" 15 30

# ---- the load, and the chaos around it ------------------------------------------------------------
mkdir -p "$T/load"
"$TRIVSEL_REPO/$BUILD/tests/tools/chaos_load" --keys "$T/keys" --out "$T/load" --municipality "$M" \
    --seconds "$CHAOS_SECONDS" --every 700 --finish 300 >"$T/load.out" 2>"$T/load.err" &
LOAD_PID=$!
DAEMON_PIDS+=("$LOAD_PID")

# forget PID: a daemon that has ended leaves lib.sh's list, whose processes are killed at the end:
# its number may belong to someone else's process by then.
forget() {
    local p keep=()
    for p in "${DAEMON_PIDS[@]}"; do [ "$p" == "$1" ] || keep+=("$p"); done
    DAEMON_PIDS=("${keep[@]}")
}
# revive: a daemon that ended by itself (it may, when PostgreSQL goes away) is started again,
# and counted: acceptable only because the checks below find nothing lost.
revive() {
    local d status
    for d in "${DAEMONS[@]}"; do
        if ! kill -0 "${PID[$d]}" 2>/dev/null; then
            wait "${PID[$d]}"
            status=$?
            forget "${PID[$d]}"
            echo "# $d ended by itself (exit status $status); started again"
            EXITS[$d]=$((${EXITS[$d]:-0} + 1))
            start "$d"
        fi
    done
}
chaos_start=$SECONDS
pg_restarted=no
round=()
while ((SECONDS - chaos_start < CHAOS_SECONDS)); do
    sleep "$((2 + RANDOM % 3)).$((RANDOM % 10))"
    revive
    # Every daemon once per round, in a new order each round.
    [ ${#round[@]} -eq 0 ] && mapfile -t round < <(printf '%s\n' "${DAEMONS[@]}" | shuf)
    victim=${round[0]}
    round=("${round[@]:1}")
    kill -KILL "${PID[$victim]}" 2>/dev/null
    wait "${PID[$victim]}" 2>/dev/null
    forget "${PID[$victim]}"
    KILLS[$victim]=$((${KILLS[$victim]:-0} + 1))
    start "$victim"
    if [ $pg_restarted == no ] && ((SECONDS - chaos_start >= CHAOS_SECONDS * 2 / 5)); then
        echo "# $((SECONDS - chaos_start)) s: PostgreSQL stops"
        deploy/pg.sh stop "$PG_DIR" && sleep 3 && deploy/pg.sh start "$PG_DIR" && pg_restarted=yes
        echo "# $((SECONDS - chaos_start)) s: PostgreSQL is back: $pg_restarted"
    fi
done
revive
kills="" exits=""
for d in "${DAEMONS[@]}"; do
    kills+="$d ${KILLS[$d]:-0}, "
    exits+="${EXITS[$d]:+$d ${EXITS[$d]}, }"
done
exits=${exits%, }
echo "# killed with SIGKILL and started again: ${kills%, }; ended by themselves: ${exits:-none}"
check_eq "PostgreSQL was restarted once during the chaos" "$pg_restarted" yes
check_eq "every daemon was killed at least once" "${#KILLS[@]}" 5

wait_exit "$LOAD_PID" 400
[ "$EXIT_STATUS" == timeout ] || forget "$LOAD_PID"
grep -v '^story ' "$T/load.out" | sed 's/^/# /'
check_eq "the load finished every story it started" "$EXIT_STATUS" 0
[ "$EXIT_STATUS" == 0 ] || grep '^story ' "$T/load.out" | head -n 30 | sed 's/^/#   /'
# What the load's broker sessions heard besides answers (a key refused while the broker restarts).
sort "$T/load.err" | uniq -c | head -n 5 | sed 's/^/# load: /'

# Quiet: the outbox moved, every service's subscription acknowledged to the end of the log, and no
# intake deadline due and neither fired nor closed.
QUIET="SELECT (SELECT count(*) FROM broker.outbox) || ' ' ||
    (SELECT count(*) FROM broker.subscription s WHERE s.principal IN ('intake', 'assessment', 'ordering', 'docs')
       AND EXISTS (SELECT FROM broker.event e WHERE e.position > s.acked_position
                   AND e.subject ~ broker.pattern_regex(s.pattern))) || ' ' ||
    (SELECT count(*) FROM intake.deadline WHERE due_at <= now() AND fired_at IS NULL AND closed_at IS NULL)"
check "the system becomes quiet: outbox empty, every subscription caught up, no deadline left due" \
    wait_sql "$QUIET" "0 0 0" 180
echo "# outbox, subscriptions behind, intake deadlines left due: $(sql "$QUIET")"

# ---- what the database says ------------------------------------------------------------------------
copy() { # TABLE FILE
    PGPASSWORD=$(cat "$TRIVSEL_TEST_ADMIN_PASSWORD_FILE") psql -h "$TRIVSEL_TEST_PG_RUN" -U trivsel_admin \
        -d "$TRIVSEL_TEST_DB" -qAtX -v ON_ERROR_STOP=1 -c "\\copy $1 FROM '$2'"
}
# decoded SUBJECT_PATTERN FIELD: one line per event in the log on the subjects (SQL LIKE), the
# payload's FIELD.
decoded() {
    sql "SELECT encode(envelope, 'hex') FROM broker.event WHERE subject LIKE '$1' ORDER BY position" |
        "$TRIVSEL_REPO/$BUILD/tests/tools/intake_client" decode | jq -r ".payload.$2"
}
# answers SUBJECT_PATTERN CAUSE_FIELD ID_FIELD: one line per event in the log on the subjects (SQL
# LIKE): its position, event id, subject, publisher and correlation id, and the payload's
# CAUSE_FIELD (the event id of what it answers) and ID_FIELD, tab-separated.
answers() {
    sql "SELECT concat_ws(E'\\t', position, event_id, subject, publisher, correlation_id, encode(envelope, 'hex'))
         FROM broker.event WHERE subject LIKE '$1' ORDER BY position" >"$T/answers.raw"
    cut -f6 "$T/answers.raw" | "$TRIVSEL_REPO/$BUILD/tests/tools/intake_client" decode |
        jq -r "[.payload.$2, .payload.$3] | @tsv" | paste <(cut -f1-5 "$T/answers.raw") -
}
sql "CREATE SCHEMA chaos;
     CREATE TABLE chaos.acked (publisher text, event_id text, subject text, position bigint);
     CREATE TABLE chaos.orders (order_id text, offer_id text, minutes integer, start_date date, end_date date);
     CREATE TABLE chaos.late (event_id text);
     CREATE TABLE chaos.overdue (underretning_id text);
     CREATE TABLE chaos.placed (order_id text);
     CREATE TABLE chaos.price (offer_id text, model text, price_oere bigint);
     CREATE TABLE chaos.answer (position bigint, event_id text, subject text, publisher text, correlation_id text,
                                cause text, id text)" >/dev/null
copy chaos.acked "$T/load/acked.tsv"
copy chaos.orders "$T/load/orders.tsv"
copy chaos.late "$T/load/late.tsv"
decoded intake.triage.overdue underretningId >"$T/overdue.txt"
copy chaos.overdue "$T/overdue.txt"
decoded 'ordering.order.placed.%' orderId >"$T/placed.txt"
copy chaos.placed "$T/placed.txt"
jq -r '.offers[] | select(.version == 1) | [.offerId, .priceModel, .priceOere] | @tsv' deploy/catalogue.json >"$T/prices.tsv"
copy chaos.price "$T/prices.tsv"
answers intake.underretning.registered receivedEventId underretningId >"$T/answers.tsv"
answers assessment.decision.registered madeEventId decisionId >>"$T/answers.tsv"
answers 'docs.submission.accepted.%' submittedEventId submissionId >>"$T/answers.tsv"
copy chaos.answer "$T/answers.tsv"

acked=$(sql "SELECT count(*) || ' ' ||
    count(*) FILTER (WHERE (SELECT count(*) FROM broker.event e WHERE e.publisher = a.publisher AND e.event_id = a.event_id) = 1) || ' ' ||
    count(*) FILTER (WHERE EXISTS (SELECT FROM broker.event e WHERE e.position = a.position AND e.publisher = a.publisher
                                   AND e.event_id = a.event_id AND e.subject = a.subject))
    FROM chaos.acked a")
echo "# acknowledged events, in the log once, at the position acknowledged: $acked"
check "every acknowledged event is in the log exactly once, at the position its acknowledgement named" \
    test "$(cut -d' ' -f1 <<<"$acked")" -gt 0 -a "$(awk '$1 == $2 && $2 == $3' <<<"$acked")" == "$acked"
check_eq "... and none was acknowledged twice" \
    "$(sql "SELECT count(*) FROM (SELECT 1 FROM chaos.acked GROUP BY publisher, event_id HAVING count(*) > 1) x")" 0

underretninger=$(sql "SELECT count(*) || ' ' || count(*) FILTER (WHERE registered = 1 AND on_case) || ' ' ||
    count(*) FILTER (WHERE triage_deadlines = 1) || ' ' || count(*) FILTER (WHERE overdue <= 1) || ' ' ||
    count(*) FILTER (WHERE late AND overdue = 1) || '/' || count(*) FILTER (WHERE late) || ' ' ||
    coalesce(sum(overdue), 0)
    FROM (SELECT a.event_id, EXISTS (SELECT FROM chaos.late l WHERE l.event_id = a.event_id) AS late,
            (SELECT count(*) FROM intake.underretning u WHERE u.received_event_id = a.event_id) AS registered,
            EXISTS (SELECT FROM intake.underretning u JOIN intake.sag s ON s.id = u.case_id
                    WHERE u.received_event_id = a.event_id) AS on_case,
            (SELECT count(*) FROM intake.deadline d JOIN intake.underretning u ON u.id = d.underretning_id
             WHERE u.received_event_id = a.event_id AND d.kind = 'triage_overdue') AS triage_deadlines,
            (SELECT count(*) FROM chaos.overdue o JOIN intake.underretning u ON u.id::text = o.underretning_id
             WHERE u.received_event_id = a.event_id) AS overdue
          FROM chaos.acked a WHERE a.subject = 'intake.underretning.received') x")
read -r n_underretninger n_registered n_deadlines n_at_most_one late_overdue n_overdue <<<"$underretninger"
echo "# underretninger $n_underretninger: registered once on a case $n_registered, one triage deadline $n_deadlines," \
    "at most one overdue $n_at_most_one, late ones overdue once $late_overdue, overdue events $n_overdue"
check "every underretning is registered once on a case, with one triage deadline and at most one overdue event" \
    test "$n_underretninger" -gt 0 -a "$n_registered" == "$n_underretninger" -a "$n_deadlines" == "$n_underretninger" \
    -a "$n_at_most_one" == "$n_underretninger"
check "... and each late one (received almost or more than 24 hours ago) became overdue exactly once" \
    test "${late_overdue%/*}" == "${late_overdue#*/}" -a "${late_overdue#*/}" -gt 0
check_eq "... and the cases are the children's: one each" \
    "$(sql "SELECT count(*) FROM intake.sag")" "$n_underretninger"
check_eq "... and no overdue event names another underretning" \
    "$(sql "SELECT count(*) FROM chaos.overdue")" "$n_overdue"

orders=$(sql "SELECT count(*) || ' ' || count(*) FILTER (WHERE placed = 1) || ' ' || count(*) FILTER (WHERE stored = 1)
    FROM (SELECT r.order_id, (SELECT count(*) FROM chaos.placed p WHERE p.order_id = r.order_id) AS placed,
            (SELECT count(*) FROM ordering.orders o WHERE o.order_id = r.order_id) AS stored
          FROM (SELECT DISTINCT 'ord-' || split_part(event_id, '-', 1) AS order_id FROM chaos.acked
                WHERE subject = 'ordering.order.requested') r) x")
read -r n_orders n_placed n_stored <<<"$orders"
echo "# orders requested $n_orders ($(sql "SELECT count(*) FROM chaos.acked WHERE subject = 'ordering.order.requested'") requests):" \
    "placed once $n_placed, stored once $n_stored; placed events in the log $(wc -l <"$T/placed.txt")"
check "every order is placed exactly once" \
    test "$n_orders" -gt 0 -a "$n_placed" == "$n_orders" -a "$n_stored" == "$n_orders"
check_eq "... and no placed event is for an order nobody requested" "$(sql "SELECT count(*) FROM chaos.placed")" "$n_orders"
check_eq "every submission was accepted once by docs" \
    "$(sql "SELECT count(*) FROM docs.submission")" \
    "$(sql "SELECT count(*) FROM chaos.acked WHERE subject LIKE 'docs.%.submitted.%'")"

# The services' answers, each in the log exactly once: found by the event id of what it answers
# (in its payload), and with the event id its service derives from that (so a retry after a kill
# is the same event, not a second one). The answers a kill could double or lose: intake's (a new
# underretning id each time an underretning is handled), assessment's, docs'.
registered=$(sql "SELECT count(*) || ' ' || count(*) FILTER (WHERE answers = 1) || ' ' || count(*) FILTER (WHERE as_registered = 1)
    FROM (SELECT (SELECT count(*) FROM chaos.answer r
                  WHERE r.subject = 'intake.underretning.registered' AND r.cause = a.event_id) AS answers,
                 (SELECT count(*) FROM chaos.answer r JOIN intake.underretning u ON u.id::text = r.id
                  WHERE r.subject = 'intake.underretning.registered' AND r.cause = a.event_id
                    AND u.received_event_id = a.event_id AND r.event_id = u.id || '/registered'
                    AND r.publisher = 'intake' AND r.correlation_id = u.case_id::text) AS as_registered
          FROM chaos.acked a WHERE a.subject = 'intake.underretning.received') x")
read -r n_received n_answered n_as_registered <<<"$registered"
n_registered_events=$(sql "SELECT count(*) FROM chaos.answer WHERE subject = 'intake.underretning.registered'")
echo "# underretninger received $n_received: intake.underretning.registered once $n_answered," \
    "with the event id <underretning id>/registered of the one registered, on its case $n_as_registered;" \
    "registered events in the log $n_registered_events"
check "every underretning is answered by intake.underretning.registered exactly once, as registered" \
    test "$n_received" -gt 0 -a "$n_answered" == "$n_received" -a "$n_as_registered" == "$n_received"
check_eq "... and no registered event answers another" "$n_registered_events" "$n_received"

decisions=$(sql "SELECT count(*) || ' ' || count(*) FILTER (WHERE answers = 1) || ' ' || count(*) FILTER (WHERE as_stored = 1)
    FROM (SELECT (SELECT count(*) FROM chaos.answer r
                  WHERE r.subject = 'assessment.decision.registered' AND r.cause = a.event_id) AS answers,
                 (SELECT count(*) FROM chaos.answer r JOIN assessment.decision d ON d.decision_id = r.id
                  WHERE r.subject = 'assessment.decision.registered' AND r.cause = a.event_id
                    AND d.made_event_id = a.event_id AND r.id = 'afg-' || split_part(a.event_id, '-', 1)
                    AND r.event_id LIKE 'decision.registered-%' AND r.publisher = 'assessment'
                    AND r.correlation_id = d.case_id) AS as_stored
          FROM chaos.acked a WHERE a.subject = 'assessment.decision.made') x")
read -r n_made n_answered n_as_stored <<<"$decisions"
n_decision_events=$(sql "SELECT count(*) FROM chaos.answer WHERE subject = 'assessment.decision.registered'")
echo "# decisions made $n_made: assessment.decision.registered once $n_answered, for the decision stored $n_as_stored;" \
    "registered events in the log $n_decision_events"
check "every decision is answered by assessment.decision.registered exactly once, for the decision stored" \
    test "$n_made" -gt 0 -a "$n_answered" == "$n_made" -a "$n_as_stored" == "$n_made"
check_eq "... and no registered event answers another" "$n_decision_events" "$n_made"

submissions=$(sql "SELECT count(*) || ' ' || count(*) FILTER (WHERE answers = 1) || ' ' || count(*) FILTER (WHERE as_accepted = 1)
    FROM (SELECT (SELECT count(*) FROM chaos.answer r
                  WHERE r.subject LIKE 'docs.submission.accepted.%' AND r.cause = a.event_id) AS answers,
                 (SELECT count(*) FROM chaos.answer r JOIN docs.submission s ON s.event_id = a.event_id
                  WHERE r.subject = 'docs.submission.accepted.' || split_part(a.subject, '.', 4)
                    AND r.cause = a.event_id AND r.id = a.event_id AND s.submission_id = r.id
                    AND s.publisher = a.publisher AND r.event_id = 'docs-' || a.position || '-accepted'
                    AND r.publisher = 'docs') AS as_accepted
          FROM chaos.acked a WHERE a.subject LIKE 'docs.%.submitted.%') x")
read -r n_submitted n_answered n_as_accepted <<<"$submissions"
n_accepted_events=$(sql "SELECT count(*) FROM chaos.answer WHERE subject LIKE 'docs.submission.accepted.%'")
echo "# submissions $n_submitted: docs.submission.accepted.<CVR> once $n_answered, on the supplier's CVR with the event id" \
    "docs-<position>-accepted $n_as_accepted; accepted events in the log $n_accepted_events"
check "every submission is answered by docs.submission.accepted.<CVR> exactly once, to its supplier" \
    test "$n_submitted" -gt 0 -a "$n_answered" == "$n_submitted" -a "$n_as_accepted" == "$n_submitted"
check_eq "... and no accepted event answers another" "$n_accepted_events" "$n_submitted"
check_eq "nothing a service emitted was refused by the broker" "$(sql "SELECT count(*) FROM broker.outbox_refused")" 0

# ---- the settlement, and an independent recomputation ----------------------------------------------
# common/settlement.h: per order and month, the exact share (hour: price * minutes * days / 420;
# day: price * days; week: price * days / 7; month: price * days / days of the month) rounded once
# to the øre, half away from zero (PostgreSQL's round(numeric)). Here from the orders the suppliers
# accepted, as the load recorded them, and the prices of deploy/catalogue.json.
MONTH=$(cat "$T/load/month")
sql "CREATE TABLE chaos.expected AS
     SELECT o.order_id, round(CASE p.model
        WHEN 'PRICE_MODEL_HOUR' THEN p.price_oere::numeric * o.minutes * m.days / 420
        WHEN 'PRICE_MODEL_DAY' THEN p.price_oere::numeric * m.days
        WHEN 'PRICE_MODEL_WEEK' THEN p.price_oere::numeric * m.days / 7
        WHEN 'PRICE_MODEL_MONTH' THEN p.price_oere::numeric * m.days / extract(day FROM m.last) END)::bigint AS amount_oere
     FROM chaos.orders o JOIN chaos.price p USING (offer_id),
          LATERAL (SELECT l.last, least(o.end_date, l.last) - greatest(o.start_date, l.first) + 1 AS days
                   FROM (SELECT date '$MONTH-01' AS first, (date '$MONTH-01' + interval '1 month' - interval '1 day')::date AS last) l) m
     WHERE m.days > 0" >/dev/null
mkdir -p "$T/csv"
env "${ADMIN_ENV[@]}" timeout 120 "$BIN/trivselctl" settle "$MONTH" --municipality "$M" --csv "$T/csv" >"$T/settle.out" 2>&1
echo "# trivselctl settle $MONTH: exit $? $(head -n 1 "$T/settle.out"); $(grep '^total:' "$T/settle.out")"
settled=$(sql "SELECT total_oere || ' ' || line_count FROM ordering.settlement WHERE municipality = '$M' AND month = '$MONTH'")
expected=$(sql "SELECT sum(amount_oere) || ' ' || count(*) FROM chaos.expected")
echo "# settlement $MONTH (øre, lines): ordering $settled, recomputed $expected"
check_eq "the settlement of $MONTH equals the recomputation from the accepted orders, to the øre" "$settled" "$expected"
check_eq "... as trivselctl prints it" "$(grep '^total:' "$T/settle.out" | tr -d '.,' | grep -o '[0-9]*')" "${expected%% *}"
# The CSV rows (one per segment, in kroner) summed per order against each order's recomputed line.
# (A supplier's name may hold a comma: the order is found by its id's form, the amount is last.)
cat "$T"/csv/*.csv 2>/dev/null | tr -d '\r' |
    awk -F, '{for (i = 1; i <= NF; i++) if ($i ~ /^ord-c[0-9]+$/) a[$i] += $NF * 100}
             END {for (o in a) printf "%s\t%d\n", o, (a[o] < 0 ? a[o] - 0.5 : a[o] + 0.5)}' >"$T/lines.tsv"
sql "CREATE TABLE chaos.line (order_id text, amount_oere bigint)" >/dev/null
copy chaos.line "$T/lines.tsv"
check_eq "... and so does each order's line" \
    "$(sql "SELECT count(*) FROM chaos.expected e FULL JOIN chaos.line l USING (order_id) WHERE e.amount_oere IS DISTINCT FROM l.amount_oere")" 0
check_eq "ordering.settlement.calculated was emitted once" \
    "$(sql "SELECT count(*) FROM broker.event WHERE subject = 'ordering.settlement.calculated'")" 1
