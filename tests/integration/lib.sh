# lib.sh — helpers for integration tests, sourced by tests/integration/*.sh. The scripts run
# from the repository root under tests/run.sh, which provides a PostgreSQL cluster
# (TRIVSEL_TEST_PG_RUN), its admin password file, an empty database of the test's own
# (TRIVSEL_TEST_DB) and a scratch folder (TRIVSEL_TEST_TMP).
#
# Output follows the harness: ok "what" / not_ok "what" "why" print the lines tests/run.sh
# counts. Daemons started with start_daemon are stopped when the script exits.
set -uo pipefail

BIN=$TRIVSEL_REPO/$BUILD/bin
T=$(mktemp -d "$TRIVSEL_TEST_TMP/it.XXXXXX")
chmod 755 "$T"
DAEMON_PIDS=()

ok() { echo "ok - $1"; }
not_ok() {
    echo "not ok - $1"
    [ $# -gt 1 ] && echo "#   $2"
    return 0
}
# check "what" command...: ok when the command succeeds.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what" "command failed: $*"; fi
}
# check_eq "what" actual expected
check_eq() {
    if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "got \"$2\", expected \"$3\""; fi
}
# has TEXT NEEDLE: NEEDLE is in TEXT. check_has "what" TEXT NEEDLE...: every needle is in TEXT.
has() { grep -qF -- "$2" <<<"$1"; }
check_has() {
    local what=$1 text=$2 n
    shift 2
    for n in "$@"; do
        if ! has "$text" "$n"; then
            not_ok "$what" "missing: $n"
            echo "#   in: ${text:0:1500}"
            return
        fi
    done
    ok "$what"
}

# The admin's connection (for migrate and for inspecting the database in tests).
export TRIVSEL_DATABASE_URL="postgresql:///$TRIVSEL_TEST_DB?host=$TRIVSEL_TEST_PG_RUN"
ADMIN_ENV=(TRIVSEL_DATABASE_USER=trivsel_admin TRIVSEL_DATABASE_PASSWORD_FILE=$TRIVSEL_TEST_ADMIN_PASSWORD_FILE)

# Service role passwords for this test, in $T/secrets/trivsel_<x>.password.
mkdir -p "$T/secrets"
for role in broker intake assessment ordering docs; do
    head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$T/secrets/trivsel_$role.password"
done

# psql as the admin on the test's database: sql "SELECT ..." prints unaligned tuples.
sql() {
    PGPASSWORD=$(cat "$TRIVSEL_TEST_ADMIN_PASSWORD_FILE") psql -h "$TRIVSEL_TEST_PG_RUN" -U trivsel_admin \
        -d "$TRIVSEL_TEST_DB" -qAtX -v ON_ERROR_STOP=1 -c "$1"
}

migrate() {
    env "${ADMIN_ENV[@]}" "$BIN/trivselctl" migrate --role-passwords "$T/secrets"
}

# wait_sql QUERY EXPECTED [SECONDS]: until the query prints EXPECTED (10 s unless SECONDS); fails
# when it does not. A query that fails (the server restarting) counts as not yet.
wait_sql() {
    local i
    for ((i = 0; i < ${3:-10} * 20; i++)); do
        [ "$(sql "$1" 2>/dev/null)" == "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# start_daemon NAME [VAR=value ...]: starts trivsel-NAME as its own role with its HTTP
# endpoint on a free port (the kernel picks it; the daemon logs it); its log goes to
# $T/NAME.log; sets LAST_PID. daemon_port NAME waits for the port and sets HTTP_PORT_<NAME>.
start_daemon() {
    local name=$1
    shift
    : >"$T/$name.log"
    env TRIVSEL_DATABASE_PASSWORD_FILE="$T/secrets/trivsel_$name.password" \
        TRIVSEL_HTTP_ADDRESS="127.0.0.1:0" TRIVSEL_LOG_LEVEL=debug "$@" \
        "$BIN/trivsel-$name" >>"$T/$name.log" 2>&1 &
    LAST_PID=$!
    DAEMON_PIDS+=("$LAST_PID")
}

daemon_port() {
    local name=$1 i port
    for ((i = 0; i < 200; i++)); do
        port=$(grep -o '"msg":"http endpoint listening".*"port":[0-9]*' "$T/$name.log" | tail -n 1 | grep -o '[0-9]*$')
        if [ -n "$port" ]; then
            printf -v "HTTP_PORT_$name" '%s' "$port"
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# http_get PORT PATH: prints "CODE BODY".
http_get() {
    curl -s -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$1$2" 2>/dev/null
    printf ' %s' "$(cat "$T/body" 2>/dev/null)"
}

# wait_ready PORT [SECONDS]: waits until /readyz answers 200.
wait_ready() {
    local port=$1 limit=${2:-20} i
    for ((i = 0; i < limit * 10; i++)); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" == 200 ] && return 0
        sleep 0.1
    done
    return 1
}

# wait_exit PID [SECONDS]: waits for the process to end; sets EXIT_STATUS to its exit status
# ("timeout" if it did not end). Not in a subshell: only the parent shell can wait for it.
wait_exit() {
    local pid=$1 limit=${2:-15} i
    EXIT_STATUS=timeout
    for ((i = 0; i < limit * 10; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            EXIT_STATUS=$?
            return
        fi
        sleep 0.1
    done
}

# Daemons are stopped as an operator stops them (SIGTERM), so their shutdown runs in every test
# (under make SANITIZE=1 test, LeakSanitizer checks it); what has not ended after 10 s is killed.
cleanup_daemons() {
    local pid i
    for pid in "${DAEMON_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for ((i = 0; i < 100; i++)); do
        for pid in "${DAEMON_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null && break
            pid=""
        done
        [ -z "$pid" ] && break
        sleep 0.1
    done
    for pid in "${DAEMON_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    wait 2>/dev/null
}
trap cleanup_daemons EXIT

# start_broker: a broker key pair, the broker on a free port (BROKER_ENDPOINT, BROKER_PID), and
# principals for the tests: fagsystem (system: intake.>), supplier1 (CVR 45424421),
# supplier2 (CVR 12345678), ops (operator). Key files in $T/keys/NAME.key.
start_broker() {
    mkdir -p "$T/keys"
    "$BIN/trivselctl" keys generate broker --out "$T/keys" >/dev/null
    keys_new fagsystem --kind system --publish 'intake.>' --subscribe 'intake.>'
    keys_new supplier1 --kind supplier --cvr 45424421
    keys_new supplier2 --kind supplier --cvr 12345678
    keys_new ops --kind operator
    start_daemon broker TRIVSEL_BROKER_SECRET_KEY_FILE="$T/keys/broker.key" \
        TRIVSEL_BROKER_ENDPOINT='tcp://127.0.0.1:*' TRIVSEL_BROKER_HEARTBEAT=1s "$@"
    BROKER_PID=$LAST_PID
    broker_endpoint
    export TRIVSEL_BROKER_PUBLIC_KEY_FILE="$T/keys/broker.pub" TRIVSEL_BROKER_ADDRESS=$BROKER_ENDPOINT
}

# restart_broker: starts the broker again on the same endpoint after it stopped.
restart_broker() {
    start_daemon broker TRIVSEL_BROKER_SECRET_KEY_FILE="$T/keys/broker.key" \
        TRIVSEL_BROKER_ENDPOINT="$BROKER_ENDPOINT" TRIVSEL_BROKER_HEARTBEAT=1s "$@"
    BROKER_PID=$LAST_PID
}

broker_endpoint() {
    local i
    for ((i = 0; i < 200; i++)); do
        BROKER_ENDPOINT=$(grep -o '"msg":"broker listening","endpoint":"[^"]*"' "$T/broker.log" | tail -n 1 |
            sed 's/.*"endpoint":"\([^"]*\)"/\1/')
        [ -n "$BROKER_ENDPOINT" ] && return 0
        sleep 0.1
    done
    return 1
}

keys_new() {
    env "${ADMIN_ENV[@]}" "$BIN/trivselctl" keys new "$@" --out "$T/keys" >/dev/null
}

# as NAME brokertool ARGS...: runs the test client with NAME's key.
as() {
    local name=$1
    shift
    # A client never hangs a test run: each has its own --timeout, and this is the backstop.
    TRIVSEL_CLIENT_KEY_FILE="$T/keys/$name.key" timeout 300 "$TRIVSEL_REPO/$BUILD/tests/tools/$@"
}
