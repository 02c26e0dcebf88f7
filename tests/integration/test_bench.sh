#!/usr/bin/env bash
# The benchmark's own tools (tests/bench, make bench), small: what they measure and seed must be
# true for the figures to mean anything. The load generator's run over the real broker and
# trivsel-intake: every underretning acknowledged and registered, and its JSON complete and
# consistent. The seeder of a million open deadlines: for the same underretninger, the rows it
# writes are the rows trivsel-intake writes when they are published for real (case, underretning
# with its stored payload and deadlines, deadlines open or fired as the service leaves them).
# No timing is asserted: speed is measured by make bench only.
. tests/integration/lib.sh
migrate >/dev/null
start_broker
keys_new intake --kind service
keys_new bench --kind system --publish 'intake.underretning.received' --subscribe 'intake.>'
start_daemon intake TRIVSEL_CLIENT_KEY_FILE="$T/keys/intake.key"
daemon_port intake
check "trivsel-intake is ready" wait_ready "$HTTP_PORT_intake"
TOOLS=$TRIVSEL_REPO/$BUILD/tests/bench

# ---- the load generator ---------------------------------------------------------------------
TRIVSEL_CLIENT_KEY_FILE="$T/keys/bench.key" timeout 120 "$TOOLS/loadgen" publish --rate 40 --connections 3 \
    --duration 3 --warmup 1 --drain 60 --first 5000 --label smoke --json "$T/run.json" >"$T/run.out" 2>&1
check_eq "loadgen publishes at a fixed rate over 3 connections; all are acknowledged and registered (exit 0)" \
    "$?" 0
check_eq "... its JSON: 120 published, each acknowledged and registered, none refused, duplicated or missing" \
    "$(jq -c '[.mode, .connections, .published, .acknowledged, .registered, .refused, .duplicates,
               .publish_to_ack_ms.missing, .publish_to_registered_ms.missing]' "$T/run.json")" \
    '["rate",3,120,120,120,0,0,0,0]'
check_eq "... latencies of the 80 published after the warm-up, ordered p50 <= p99 <= p99.9 <= max, positive" \
    "$(jq -c '[.measured, (.publish_to_ack_ms, .publish_to_registered_ms |
               .count == 80 and 0 < .p50 and .p50 <= .p99 and .p99 <= .p999 and .p999 <= .max)]' "$T/run.json")" \
    '[80,true,true]'
check_eq "... acknowledgement before registration: the median to registered is the longer one" \
    "$(jq '.publish_to_ack_ms.p50 <= .publish_to_registered_ms.p50' "$T/run.json")" true
check_eq "... and the rates are of that run: about 40/s (between 20 and 60)" \
    "$(jq '.acknowledged_per_s > 20 and .acknowledged_per_s < 60 and .registered_per_s > 20 and .registered_per_s < 60' "$T/run.json")" \
    true
check_eq "intake registered exactly the generated underretninger (and the probe), each once" \
    "$(sql "SELECT count(*), count(DISTINCT received_event_id) FROM intake.underretning WHERE publisher = 'bench'
        AND received_event_id NOT LIKE '%probe%'")" "120|120"

# ---- the seeder against the service -----------------------------------------------------------
# Twenty underretninger received an hour ago, published for real as the fagsystem and seeded
# into look-alike tables of a scratch schema; then compared column by column.
now=$(date +%s%6N)
received=$((now - 3600000000))
received_text=$(date -u -d "@$((received / 1000000))" +%Y-%m-%dT%H:%M:%S).$(printf '%06d' $((received % 1000000)))Z
for ((k = 100; k < 120; k++)); do
    json=$("$TOOLS/seed_intake" json --first $k --count 1 --received-at $received --step 0 --now "$now")
    as fagsystem intake_client publish intake.underretning.received "real-$k" "$json" --occurred "$received_text" >/dev/null ||
        not_ok "publishing underretning $k"
done
for ((i = 0; i < 200; i++)); do
    [ "$(sql "SELECT count(*) FROM intake.underretning WHERE received_event_id LIKE 'real-%'")" == 20 ] && break
    sleep 0.1
done
sql "CREATE SCHEMA seeded;
     CREATE TABLE seeded.sag (LIKE intake.sag INCLUDING DEFAULTS);
     CREATE TABLE seeded.underretning (LIKE intake.underretning INCLUDING DEFAULTS);
     CREATE TABLE seeded.deadline (LIKE intake.deadline INCLUDING DEFAULTS)"
for table in sag underretning deadline; do
    cols=$(sql "SELECT string_agg(attname, ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'intake.$table'::regclass
        AND attnum > 0 AND NOT attisdropped AND attname NOT IN ('id', 'triage_event_id', 'triage', 'triaged_at', 'triaged_by_id',
        'triaged_by_name', 'triage_outcome', 'triage_late', 'triage_recorded_at', 'receipt_sent_at', 'receipt_channel',
        'receipt_sent_by_id', 'receipt_late')")
    [ "$table" != deadline ] && cols="id, $cols"
    "$TOOLS/seed_intake" "$table" --first 100 --count 20 --received-at $received --step 0 --now "$now" |
        PGPASSWORD=$(cat "$TRIVSEL_TEST_ADMIN_PASSWORD_FILE") psql -h "$TRIVSEL_TEST_PG_RUN" -U trivsel_admin \
            -d "$TRIVSEL_TEST_DB" -qAtX -v ON_ERROR_STOP=1 -c "COPY seeded.$table ($cols) FROM STDIN" ||
        not_ok "seeding seeded.$table"
done
# What a row says, apart from its ids, who published it under which event id, and when it was
# written: the same query over the service's rows (published as real-K) and the seeder's (seed-K).
differ() { # differ SELECT: how many rows one side has that the other lacks (SCHEMA: either)
    sql "SELECT count(*) FROM ((${1//SCHEMA/seeded} EXCEPT ${1//SCHEMA/intake}) UNION ALL
        (${1//SCHEMA/intake} EXCEPT ${1//SCHEMA/seeded})) x"
}
these="(u.received_event_id LIKE 'real-%' OR u.received_event_id LIKE 'seed-%')"
check_eq "the seeder's 20 underretninger are the service's, column by column (payload, deadlines' dates, flags)" \
    "$(differ "SELECT u.municipality, u.received, u.source_reference, u.received_at, u.channel, u.team,
        u.reporter_kind, u.abuse_case, u.parents_suspected, u.triage_due_at, u.receipt_required, u.receipt_due_date,
        u.orientation_required, u.underretninger_last_12_months, u.genvurdering_required
        FROM SCHEMA.underretning u WHERE $these")" 0
check_eq "... and so are the children's cases (CPR number, name key, birth date)" \
    "$(differ "SELECT s.municipality, s.cpr, s.name_key, s.birth_date, u.source_reference
        FROM SCHEMA.sag s JOIN SCHEMA.underretning u ON u.case_id = s.id WHERE $these")" 0
check_eq "... and the deadlines: each kind, its due time, open (none was due yet)" \
    "$(differ "SELECT u.source_reference, d.kind, d.due_at, d.fired_at IS NULL, d.closed_at IS NULL
        FROM SCHEMA.deadline d JOIN SCHEMA.underretning u ON u.id = d.underretning_id WHERE $these")" 0
check_eq "... 20 underretninger on 20 cases with 2 triage deadlines each and a receipt's for each known reporter" \
    "$(sql "SELECT (SELECT count(*) FROM seeded.underretning), (SELECT count(*) FROM seeded.sag),
        (SELECT count(*) FROM seeded.deadline) = 40 + (SELECT count(*) FROM seeded.underretning WHERE receipt_required)")" \
    "20|20|t"
check_eq "... which are varied: every reporter kind, children without a CPR number, receipts owed and not" \
    "$(sql "SELECT count(DISTINCT reporter_kind), count(*) FILTER (WHERE s.cpr IS NULL) > 0,
        count(DISTINCT receipt_required) FROM seeded.underretning u JOIN seeded.sag s ON s.id = u.case_id")" "4|t|2"
# A deadline already due when seeded is left as the service leaves it after firing it.
"$TOOLS/seed_intake" deadline --first 100 --count 1 --received-at $((now - 21 * 3600000000)) --step 0 --now "$now" >"$T/fired.txt"
check_eq "a seeded warning already due is fired as the service fires it (fired at its due time, with its event id)" \
    "$(awk -F'\t' '$2 == "triage_due_soon" {print ($3 == $4), ($5 == $1 "/triage.due_soon")} $2 == "triage_overdue" {print $4, $5}' "$T/fired.txt")" \
    "1 1
\\N \\N"
