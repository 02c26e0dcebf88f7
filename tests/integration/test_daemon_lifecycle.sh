#!/usr/bin/env bash
# A daemon's life as an operator sees it: refuses an out-of-date schema and says what to run;
# a bad variable stops it with one line; after migrate it starts, /healthz and /readyz answer,
# /metrics has its series; SIGTERM stops it with exit 0.
. tests/integration/lib.sh
mkdir -p "$T/keys"
"$BIN/trivselctl" keys generate broker --out "$T/keys" >/dev/null
export TRIVSEL_BROKER_SECRET_KEY_FILE=$T/keys/broker.key TRIVSEL_BROKER_ENDPOINT='tcp://127.0.0.1:*'

out=$("$BIN/trivsel-broker" --version)
check_eq "--version prints the program and version" "$out" "trivsel-broker 0.1.0"

out=$(TRIVSEL_LOG_LEVEL=verbose "$BIN/trivsel-broker" --check-config 2>&1)
check_eq "a wrong variable is named with its value and what is allowed" "$out" \
    'trivsel-broker: TRIVSEL_LOG_LEVEL="verbose" is not valid: must be one of debug, info, warn, error'

out=$(env -u TRIVSEL_DATABASE_URL "$BIN/trivsel-broker" --check-config 2>&1; echo "status=$?")
check "a missing required variable is named" grep -q 'TRIVSEL_DATABASE_URL is not set: it is required' <<<"$out"
check "... and the exit status is 2" grep -q 'status=2' <<<"$out"

# Before migrate the broker's own role does not exist yet, so it logs in as the admin here to
# reach the schema check itself.
start_daemon broker TRIVSEL_DATABASE_USER=trivsel_admin \
    TRIVSEL_DATABASE_PASSWORD_FILE="$TRIVSEL_TEST_ADMIN_PASSWORD_FILE"
wait_exit "$LAST_PID" 10
check_eq "on an unmigrated database the daemon refuses to start" "$EXIT_STATUS" 1
check "... saying what to run" grep -q 'run \\"trivselctl migrate\\"' "$T/broker.log"

check "trivselctl migrate applies the migrations" migrate
out=$(migrate)
check "migrating again applies nothing" bash -c "! grep -q '^applied' <<<\"\$1\"" _ "$out"

# Not even after migrate as the superuser: it would bypass every grant of its own role.
start_daemon broker TRIVSEL_DATABASE_USER=trivsel_admin \
    TRIVSEL_DATABASE_PASSWORD_FILE="$TRIVSEL_TEST_ADMIN_PASSWORD_FILE"
wait_exit "$LAST_PID" 10
check_eq "as the database superuser the daemon refuses to start" "$EXIT_STATUS" 1
check "... naming the role and what to use instead" grep -q \
    'refusing to work as the database superuser \\"trivsel_admin\\": give trivsel-broker its own role (TRIVSEL_DATABASE_USER, default trivsel_broker' \
    "$T/broker.log"

start_daemon broker
pid=$LAST_PID
daemon_port broker
if wait_ready "$HTTP_PORT_broker"; then ok "after migrate the daemon becomes ready"; else
    not_ok "after migrate the daemon becomes ready" "$(tail -5 "$T/broker.log")"
fi
check_eq "/healthz answers" "$(http_get "$HTTP_PORT_broker" /healthz)" "200 ok"
check_eq "/readyz answers ready" "$(http_get "$HTTP_PORT_broker" /readyz)" "200 ready"
metrics=$(http_get "$HTTP_PORT_broker" /metrics)
check "/metrics shows the database connection" grep -q '^trivsel_database_connected 1' <<<"${metrics#200 }"
check "the daemon connects as its own role, not a superuser" \
    test "$(sql "SELECT usename FROM pg_stat_activity WHERE application_name = 'trivsel-broker'" | sort -u)" == trivsel_broker
check "logs are JSON lines" bash -c 'grep -q "^{\"time\":\"[0-9T:.-]*Z\",\"level\":\"info\",\"service\":\"broker\",\"msg\":\"ready\"" "$1"' _ "$T/broker.log"

kill -TERM "$pid"
wait_exit "$pid" 10
check_eq "SIGTERM stops it with exit status 0" "$EXIT_STATUS" 0
check "... and it logged that it stopped" grep -q '"msg":"stopped"' "$T/broker.log"

# A daemon that waits for its database at start (a container started before PostgreSQL) still
# stops at once on SIGTERM, as PID 1 in a container must.
start_daemon broker TRIVSEL_DATABASE_URL="postgresql:///nothing?host=$T/nowhere" TRIVSEL_DATABASE_WAIT=60s
pid=$LAST_PID
for ((i = 0; i < 50; i++)); do grep -q '"msg":"waiting for the database"' "$T/broker.log" && break; sleep 0.1; done
kill -TERM "$pid"
wait_exit "$pid" 3
check_eq "SIGTERM during the wait for the database stops it with exit status 0" "$EXIT_STATUS" 0
