#!/usr/bin/env bash
# make bench (issue 9): the system against the limits of the same machine, in one run.
#
#   tests/bench/run.sh [BUILD]       BUILD is the build folder (default build)
#
# Starts a throwaway PostgreSQL (deploy/pg.sh, full durability: fsync and synchronous_commit on,
# checked) and the real daemons as tests/integration/lib.sh starts them, then measures:
#   1. pgbench: one-row-per-transaction inserts into a table like broker.event, same cluster;
#   2. saturation: underretninger acknowledged and registered per second (loadgen --window);
#   3. latency at a fixed 1,000/s: publish -> acknowledgement, publish -> registered;
#   4. deadlines at scale: 1,000,000 open triage deadlines (seeded as intake writes them),
#      intake's memory and start-up, and the lateness of 10,000 falling due in one second;
#   5. settlement at scale: 100,000 active orders with scope changes, `trivselctl settle`.
# Prints a table and writes $BUILD/bench/results.json (logs beside it).
#
# Variables: BENCH_SECONDS (default 20), BENCH_RATE (1000), BENCH_LOW_RATE (100: the latency
# again at a rate intake keeps up with), BENCH_DEADLINES (1000000), BENCH_STORM (10000),
# BENCH_ORDERS (100000), BENCH_CONNECTIONS (8), BENCH_WINDOW (2000), BENCH_INTAKE_INSTANCES (1:
# trivsel-intake replicas during the load runs); BENCH_PHASES="pgbench load deadlines
# settlement" (default all) runs only those parts.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
SECONDS_RUN=${BENCH_SECONDS:-20}
RATE=${BENCH_RATE:-1000}
LOW_RATE=${BENCH_LOW_RATE:-100}
INSTANCES=${BENCH_INTAKE_INSTANCES:-1}
DEADLINES=${BENCH_DEADLINES:-1000000}
STORM=${BENCH_STORM:-10000}
ORDERS=${BENCH_ORDERS:-100000}
CONNECTIONS=${BENCH_CONNECTIONS:-8}
WINDOW=${BENCH_WINDOW:-2000}
PHASES=" ${BENCH_PHASES:-pgbench load deadlines settlement} "
phase() { [[ "$PHASES" == *" $1 "* ]]; }
OUT=$PWD/$BUILD/bench
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.log "$OUT"/*.txt

# ---- a throwaway cluster, and lib.sh's daemons on it -------------------------------------------
TMP=$(mktemp -d /tmp/trivsel-bench.XXXXXX)
chmod 755 "$TMP"
say() { printf '== %s\n' "$*" >&2; }
fail() {
    say "bench failed: $*"
    exit 1
}
say "starting a throwaway PostgreSQL in $TMP/pg"
deploy/pg.sh init "$TMP/pg" >/dev/null || fail "PostgreSQL did not start"
# When the transaction that fired a deadline committed (pg_xact_commit_timestamp): its lateness as
# the database saw it. Changes nothing about durability.
echo "track_commit_timestamp = on" >>"$TMP/pg/data/postgresql.conf"
deploy/pg.sh start "$TMP/pg" || fail "PostgreSQL did not start"
export TRIVSEL_REPO=$PWD BUILD TRIVSEL_TEST_TMP=$TMP TRIVSEL_TEST_DB=trivsel
export TRIVSEL_TEST_PG_RUN=$TMP/pg/run TRIVSEL_TEST_ADMIN_PASSWORD_FILE=$TMP/pg/secrets/admin.password
. tests/integration/lib.sh
finish() {
    cleanup_daemons
    deploy/pg.sh stop "$TMP/pg" >/dev/null 2>&1
    cp "$T"/*.log "$OUT/" 2>/dev/null
    rm -rf "$TMP"
}
trap finish EXIT
TOOLS=$TRIVSEL_REPO/$BUILD/tests/bench
# psql and pgbench as the admin; the password in their environment only, never the daemons'.
psql_admin() {
    PGPASSWORD=$(cat "$TRIVSEL_TEST_ADMIN_PASSWORD_FILE") psql -h "$TRIVSEL_TEST_PG_RUN" -U trivsel_admin -d trivsel \
        -qAtX -v ON_ERROR_STOP=1 "$@"
}
pgbench_admin() {
    PGPASSWORD=$(cat "$TRIVSEL_TEST_ADMIN_PASSWORD_FILE") pgbench -h "$TRIVSEL_TEST_PG_RUN" -U trivsel_admin "$@"
}
now_us() { date +%s%6N; }
ms_since() { echo $((($(now_us) - $1) / 1000)); }

durability=$(sql "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings
    WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method')")
say "PostgreSQL: $durability"
case " $durability " in
*" fsync=on "*" synchronous_commit=on "*) ;;
*) fail "the cluster does not run with full durability ($durability)" ;;
esac

migrate >/dev/null || fail "migrate"
start_broker TRIVSEL_LOG_LEVEL=info TRIVSEL_BROKER_HEARTBEAT=5s
keys_new intake --kind service
keys_new ordering --kind service
keys_new assessment --kind service
keys_new bench --kind system --publish 'intake.underretning.received' --subscribe 'intake.>'
export TRIVSEL_CLIENT_KEY_FILE=$T/keys/bench.key

# start_intake: trivsel-intake as `make run` starts it (info log); INTAKE_PID, HTTP_PORT_intake.
start_intake() {
    start_daemon intake TRIVSEL_CLIENT_KEY_FILE="$T/keys/intake.key" TRIVSEL_LOG_LEVEL=info "$@"
    INTAKE_PID=$LAST_PID
}
start_intake
daemon_port intake && wait_ready "$HTTP_PORT_intake" || fail "trivsel-intake did not become ready"
# More replicas for the load runs (the design's way to grow: each takes its share of the events,
# one case's events in order): logs intake-2.log, ...
REPLICA_PIDS=()
for ((i = 2; i <= INSTANCES; i++)); do
    env TRIVSEL_DATABASE_PASSWORD_FILE="$T/secrets/trivsel_intake.password" TRIVSEL_HTTP_ADDRESS=127.0.0.1:0 \
        TRIVSEL_CLIENT_KEY_FILE="$T/keys/intake.key" "$BIN/trivsel-intake" >"$T/intake-$i.log" 2>&1 &
    REPLICA_PIDS+=("$!")
    DAEMON_PIDS+=("$!")
done

# ---- 1. pgbench ----------------------------------------------------------------------------------
# A copy of the broker's log table (its columns, keys and indexes) and a sequence for the
# position, in a scratch schema of the same database; one event per transaction, as the broker
# would commit without group commit.
pgbench_tps="" pgbench_latency=""
if phase pgbench; then
    say "pgbench: one-row-per-transaction inserts, $CONNECTIONS clients, ${SECONDS_RUN} s"
    psql_admin -c "CREATE SCHEMA pgbench; CREATE TABLE pgbench.event (LIKE broker.event INCLUDING ALL);
        CREATE SEQUENCE pgbench.event_position" || fail "the pgbench table"
    pgbench_admin -n -c "$CONNECTIONS" -j 2 -T "$SECONDS_RUN" \
        -f tests/bench/pgbench_insert.sql trivsel >"$OUT/pgbench.txt" 2>&1 || fail "pgbench: $(tail -n 3 "$OUT/pgbench.txt")"
    psql_admin -c "SET client_min_messages = warning; DROP SCHEMA pgbench CASCADE" || fail "dropping the pgbench table"
    pgbench_tps=$(grep -o 'tps = [0-9.]*' "$OUT/pgbench.txt" | head -n 1 | grep -o '[0-9.]*$')
    pgbench_latency=$(grep -o 'latency average = [0-9.]*' "$OUT/pgbench.txt" | grep -o '[0-9.]*$')
    say "pgbench: $pgbench_tps inserts/s"
fi

# ---- 2. and 3. the load generator ---------------------------------------------------------------
# Each latency run starts on a vacuumed, analyzed, checkpointed database: otherwise it measures
# autovacuum and the writing out of the dirty buffers of the run before it (seen: seconds of
# autovacuum over the saturation run's rows at the start of the 1,000/s run, p99 25 -> 89 ms).
# The saturation run starts on the new database as it is, only checkpointed after pgbench: an
# ANALYZE of the still empty tables gave the daemons' prepared statements generic plans that
# scan them (330/s, until autovacuum analyzed them again a minute later).
quiet_database() {
    { [ "${1:-}" == checkpoint ] || psql_admin -c "VACUUM (ANALYZE)"; } && psql_admin -c "CHECKPOINT" ||
        say "cannot vacuum and checkpoint the database"
}
if phase load; then
    quiet_database checkpoint
    say "saturation: $CONNECTIONS connections, $WINDOW underretninger in flight, ${SECONDS_RUN} s"
    "$TOOLS/loadgen" publish --window "$WINDOW" --connections "$CONNECTIONS" --duration "$SECONDS_RUN" \
        --warmup 5 --drain 120 --first 2000000 --label saturation --json "$OUT/saturation.json" >&2 ||
        say "saturation: not every underretning was acknowledged and registered (see the JSON)"
    quiet_database
    say "latency: $RATE underretninger/s for ${SECONDS_RUN} s"
    "$TOOLS/loadgen" publish --rate "$RATE" --connections "$CONNECTIONS" --duration "$SECONDS_RUN" \
        --warmup 2 --drain 120 --first 4000000 --label latency --json "$OUT/latency.json" >&2 ||
        say "latency: not every underretning was acknowledged and registered (see the JSON)"
    quiet_database
    say "latency: $LOW_RATE underretninger/s for ${SECONDS_RUN} s"
    "$TOOLS/loadgen" publish --rate "$LOW_RATE" --connections "$CONNECTIONS" --duration "$SECONDS_RUN" \
        --warmup 2 --drain 120 --first 6000000 --label latency-low --json "$OUT/latency_low.json" >&2 ||
        say "latency: not every underretning was acknowledged and registered (see the JSON)"
fi
for pid in "${REPLICA_PIDS[@]}"; do
    kill -TERM "$pid"
    wait_exit "$pid" 20
done

# ---- 4. deadlines at scale -----------------------------------------------------------------------
# DEADLINES open triage deadlines: (DEADLINES - STORM) / 2 underretninger received 1-19 hours ago,
# each with its warning and its deadline open (and the kvittering's, for a known reporter), plus
# STORM underretninger received 24 hours before a second T a little ahead, so their triage
# deadlines all fall due within that second (their warnings fired 4 hours earlier).
open_triage=null open_all=null seed_ms=null ready_ms="" loaded_ms="" rss_ready="" rss_after="" hwm=""
fired_count="" fired_p50="" fired_p99="" fired_max=""
if phase deadlines; then
    open_count=$(((DEADLINES - STORM) / 2))
    say "deadlines: seeding $open_count + $STORM underretninger as trivsel-intake writes them"
    stop_intake_now() {
        kill -TERM "$INTAKE_PID"
        wait_exit "$INTAKE_PID" 20
    }
    stop_intake_now
    seed() { # seed FIRST COUNT RECEIVED_AT STEP NOW: the three tables, in foreign-key order
        local table cols
        for table in sag underretning deadline; do
            case $table in
            sag) cols="id, municipality, cpr, name_key, birth_date, created_at" ;;
            underretning) cols="id, case_id, municipality, publisher, received_event_id, received, source_reference,
                received_at, registered_at, channel, team, reporter_kind, abuse_case, parents_suspected, triage_due_at,
                receipt_required, receipt_due_date, orientation_required, underretninger_last_12_months,
                genvurdering_required" ;;
            deadline) cols="underretning_id, kind, due_at, fired_at, fired_event_id, closed_at, closed_reason" ;;
            esac
            "$TOOLS/seed_intake" "$table" --first "$1" --count "$2" --received-at "$3" --step "$4" --now "$5" |
                psql_admin -c "COPY intake.$table ($cols) FROM STDIN" || return 1
        done
    }
    seed_start=$(now_us)
    now=$(now_us)
    hour=3600000000
    seed 10000000 "$open_count" $((now - 19 * hour)) $((18 * hour / (open_count > 0 ? open_count : 1))) "$now" ||
        fail "seeding the open deadlines"
    seed_open_ms=$(ms_since "$seed_start")
    # T: far enough ahead for the storm's own seeding, intake's start and its first reading.
    storm_seed_start=$(now_us)
    storm_at=$(((storm_seed_start / 1000000 + 40) * 1000000))
    seed 20000000 "$STORM" $((storm_at - 24 * hour)) $((1000000 / STORM)) "$(now_us)" || fail "seeding the storm"
    psql_admin -c "VACUUM ANALYZE intake.sag, intake.underretning, intake.deadline" || fail "VACUUM"
    seed_ms=$(ms_since "$seed_start")
    open_triage=$(sql "SELECT count(*) FROM intake.deadline WHERE fired_at IS NULL AND closed_at IS NULL AND kind LIKE 'triage%'")
    open_all=$(sql "SELECT count(*) FROM intake.deadline WHERE fired_at IS NULL AND closed_at IS NULL")
    say "deadlines: $open_triage open triage deadlines ($open_all open in all), seeded in $((seed_ms / 1000)) s"

    : >"$OUT/overdue.txt"
    "$TOOLS/loadgen" overdue --count "$STORM" --timeout $(((storm_at - $(now_us)) / 1000000 + 60)) \
        --json "$OUT/overdue.json" >"$OUT/overdue.txt" 2>&1 &
    OVERDUE_PID=$!
    DAEMON_PIDS+=("$OVERDUE_PID")
    for ((i = 0; i < 100; i++)); do grep -q subscribed "$OUT/overdue.txt" && break; sleep 0.1; done
    sleep 1 # the subscription is stored by the broker after its Welcome
    start_us=$(now_us)
    start_intake
    daemon_port intake || fail "trivsel-intake did not start"
    ready_ms=""
    for ((i = 0; i < 3000; i++)); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT_intake/readyz")" == 200 ]; then
            ready_ms=$(ms_since "$start_us")
            break
        fi
        sleep 0.01
    done
    # The deadline engine has read the table when its gauge shows the open deadlines.
    loaded_ms=""
    for ((i = 0; i < 3000; i++)); do
        n=$(curl -s "http://127.0.0.1:$HTTP_PORT_intake/metrics" | awk '/^trivsel_intake_deadlines_open/ {s += $2} END {print s + 0}')
        if [ "$n" -ge "$open_all" ]; then
            loaded_ms=$(ms_since "$start_us")
            break
        fi
        sleep 0.01
    done
    rss() { awk -v k="$1:" '$1 == k {print int($2 / 1024 + 0.5)}' "/proc/$INTAKE_PID/status"; }
    rss_ready=$(rss VmRSS)
    say "deadlines: intake ready in ${ready_ms:-?} ms, deadlines read in ${loaded_ms:-?} ms, RSS $rss_ready MB"
    wait "$OVERDUE_PID"
    cat "$OUT/overdue.txt" >&2
    rss_after=$(rss VmRSS)
    hwm=$(rss VmHWM)
    # Fired: the commit of the transaction that claimed the deadline and wrote its event.
    fired_late=$(sql "SELECT concat_ws(' ', count(*), round(extract(epoch FROM percentile_disc(0.5) WITHIN GROUP (ORDER BY late)) * 1000, 1),
            round(extract(epoch FROM percentile_disc(0.99) WITHIN GROUP (ORDER BY late)) * 1000, 1),
            round(extract(epoch FROM max(late)) * 1000, 1))
        FROM (SELECT pg_xact_commit_timestamp(xmin) - due_at AS late FROM intake.deadline
               WHERE kind = 'triage_overdue' AND fired_at IS NOT NULL AND due_at >= to_timestamp($storm_at / 1000000.0)) f")
    read -r fired_count fired_p50 fired_p99 fired_max <<<"$fired_late"
    say "deadlines: $fired_count fired; lateness when committed by intake p50 $fired_p50 p99 $fired_p99 max $fired_max ms"
fi

# ---- 5. settlement at scale ----------------------------------------------------------------------
SETTLE_MONTH="" active=null changed=null settle_lines="" settle_ms=null clone_ms=null event_bytes="" event_fate=""
if phase settlement; then
    say "settlement: template orders through trivsel-ordering, then $ORDERS orders like them"
    . tests/bench/orders.sh
    orders_setup || fail "the template orders"
    clone_start=$(now_us)
    psql_admin -v orders="$ORDERS" -f tests/bench/seed_orders.sql || fail "seeding the orders"
    clone_ms=$(ms_since "$clone_start")
    active=$(sql "SELECT count(*) FROM ordering.orders WHERE municipality = '575' AND status = 'accepted'
        AND start_date <= '$SETTLE_MONTH-01'::date + interval '1 month' - interval '1 day' AND end_date >= '$SETTLE_MONTH-01'")
    changed=$(sql "SELECT count(DISTINCT s.order_id) FROM ordering.order_scope s WHERE s.municipality = '575'
        AND s.effective_from >= '$SETTLE_MONTH-01' AND s.effective_from < '$SETTLE_MONTH-01'::date + interval '1 month'
        AND EXISTS (SELECT FROM ordering.order_scope p WHERE p.municipality = s.municipality AND p.order_id = s.order_id
                    AND p.effective_from < s.effective_from)")
    say "settlement: $active active orders in $SETTLE_MONTH, $changed with a scope change in it; trivselctl settle"
    settle_start=$(now_us)
    env "${ADMIN_ENV[@]}" "$BIN/trivselctl" settle "$SETTLE_MONTH" --municipality 575 --timeout 300s \
        >"$OUT/settlement.txt" 2>"$OUT/settlement.err" || fail "trivselctl settle: $(cat "$OUT/settlement.err")"
    settle_ms=$(ms_since "$settle_start")
    settle_lines=$(sql "SELECT line_count FROM ordering.settlement WHERE municipality = '575' AND month = '$SETTLE_MONTH'")
    event_bytes=$(sql "SELECT octet_length(calculated) FROM ordering.settlement WHERE municipality = '575' AND month = '$SETTLE_MONTH'")
    say "settlement: $settle_lines lines in $settle_ms ms"
    # The event goes through the outbox like any other; is the broker able to take it?
    for ((i = 0; i < 100; i++)); do
        event_fate=$(sql "SELECT coalesce((SELECT 'in the log at position ' || position FROM broker.event
            WHERE event_id = 'settlement-575-$SETTLE_MONTH'), (SELECT 'refused by the broker: ' || reason
            FROM broker.outbox_refused WHERE publisher = 'ordering' ORDER BY id DESC LIMIT 1))")
        [ -n "$event_fate" ] && break
        sleep 0.1
    done
    say "settlement: ordering.settlement.calculated, $event_bytes bytes: ${event_fate:-still in the outbox}"
fi

# ---- the report ----------------------------------------------------------------------------------
tests/bench/report.py "$OUT" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "machine": {
    "cpus": $(nproc),
    "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')",
    "ram_gb": $(awk '/MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo),
    "disk": "$(df -h "$TMP" | awk 'NR == 2 {print $1 ", " $2}')",
    "load_average": "$(cut -d' ' -f1-3 /proc/loadavg)",
    "postgresql": "$(sql 'SHOW server_version')",
    "durability": "$durability"
  },
  "pgbench": {"clients": $CONNECTIONS, "seconds": $SECONDS_RUN, "inserts_per_s": ${pgbench_tps:-null},
              "latency_ms": ${pgbench_latency:-null}},
  "saturation": $(cat "$OUT/saturation.json" 2>/dev/null || echo null),
  "latency": $(cat "$OUT/latency.json" 2>/dev/null || echo null),
  "latency_low": $(cat "$OUT/latency_low.json" 2>/dev/null || echo null),
  "intake_instances": $INSTANCES,
  "deadlines": {
    "open_triage": $open_triage, "open_all": $open_all, "seed_ms": $seed_ms,
    "ready_ms": ${ready_ms:-null}, "deadlines_read_ms": ${loaded_ms:-null},
    "rss_ready_mb": ${rss_ready:-null}, "rss_after_mb": ${rss_after:-null}, "rss_peak_mb": ${hwm:-null},
    "storm": $STORM, "storm_fired": ${fired_count:-null},
    "lateness_fired_ms": {"p50": ${fired_p50:-null}, "p99": ${fired_p99:-null}, "max": ${fired_max:-null}},
    "overdue": $(cat "$OUT/overdue.json" 2>/dev/null || echo null)
  },
  "settlement": {
    "month": "$SETTLE_MONTH", "active_orders": $active, "orders_with_scope_change": $changed,
    "lines": ${settle_lines:-null}, "settle_ms": $settle_ms, "seed_ms": $clone_ms,
    "event_payload_bytes": ${event_bytes:-null}, "event": "${event_fate:-still in the outbox}"
  }
}
EOF
