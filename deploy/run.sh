#!/usr/bin/env bash
# `make run`: starts the whole system in the foreground — the embedded PostgreSQL (unless
# TRIVSEL_DATABASE_URL names a server), the migrations, then every daemon that is built.
# Ctrl-C (SIGINT) or SIGTERM stops the daemons (each finishes its in-flight work), then the
# embedded PostgreSQL. If a daemon dies, everything is stopped and the exit status is 1.
#
# State lives under var/ (TRIVSEL_VAR): var/pg (the cluster), var/secrets (generated role
# passwords, mode 600), var/log (one log per daemon, also echoed here).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin
VAR=${TRIVSEL_VAR:-$PWD/var}
mkdir -p "$VAR/secrets" "$VAR/log"
chmod 700 "$VAR/secrets"
chmod 755 "$VAR"

own_pg=false
if [ -z "${TRIVSEL_DATABASE_URL:-}" ]; then
    own_pg=true
    deploy/pg.sh init "$VAR/pg"
    deploy/pg.sh start "$VAR/pg"
    echo "run: embedded PostgreSQL running in $VAR/pg (Unix socket only: $VAR/pg/run)"
    export TRIVSEL_DATABASE_URL="postgresql:///trivsel?host=$VAR/pg/run"
    admin_env=(TRIVSEL_DATABASE_USER=trivsel_admin TRIVSEL_DATABASE_PASSWORD_FILE="$VAR/pg/secrets/admin.password")
else
    echo "run: using the PostgreSQL server of TRIVSEL_DATABASE_URL"
    admin_env=()
fi

# One generated password per service role, kept for later runs.
for role in broker intake assessment ordering docs; do
    f=$VAR/secrets/trivsel_$role.password
    [ -s "$f" ] || (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40 >"$f")
done

env "${admin_env[@]}" "$BIN/trivselctl" migrate --role-passwords "$VAR/secrets"

# Keys (var/keys): the broker's own pair, one principal per service, and an operator for
# trivselctl status / tail on this machine. Made once; a principal is registered with its key.
mkdir -p "$VAR/keys"
chmod 700 "$VAR/keys"
[ -f "$VAR/keys/broker.key" ] || "$BIN/trivselctl" keys generate broker --out "$VAR/keys" >/dev/null
for principal in intake assessment ordering docs operator; do
    [ -f "$VAR/keys/$principal.key" ] && continue
    kind=service
    [ "$principal" = operator ] && kind=operator
    env "${admin_env[@]}" "$BIN/trivselctl" keys new "$principal" --kind "$kind" --out "$VAR/keys" >/dev/null
    echo "run: registered principal $principal ($kind), key in $VAR/keys/$principal.key"
done
export TRIVSEL_BROKER_ADDRESS=${TRIVSEL_BROKER_ADDRESS:-tcp://127.0.0.1:7400}
export TRIVSEL_BROKER_PUBLIC_KEY_FILE=$VAR/keys/broker.pub

pids=()
names=()
stopping=false
stop_all() {
    $stopping && return
    stopping=true
    echo "run: stopping daemons"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if $own_pg; then
        deploy/pg.sh stop "$VAR/pg"
        echo "run: embedded PostgreSQL stopped"
    fi
}
trap 'stop_all; exit 0' INT TERM

# Fixed local ports, so an operator knows where to look: HTTP 9100-9104, broker 7400.
port=9100
for name in broker intake assessment ordering docs; do
    if [ -x "$BIN/trivsel-$name" ]; then
        TRIVSEL_DATABASE_PASSWORD_FILE=$VAR/secrets/trivsel_$name.password \
            TRIVSEL_BROKER_SECRET_KEY_FILE=$VAR/keys/broker.key \
            TRIVSEL_BROKER_ENDPOINT=${TRIVSEL_BROKER_ENDPOINT:-tcp://127.0.0.1:7400} \
            TRIVSEL_CLIENT_KEY_FILE=$VAR/keys/$name.key \
            TRIVSEL_ORDERING_CASEWORKER_SYSTEMS=${TRIVSEL_ORDERING_CASEWORKER_SYSTEMS:-fagsystem} \
            TRIVSEL_HTTP_ADDRESS=${TRIVSEL_HTTP_ADDRESS_OVERRIDE:-127.0.0.1}:$port \
            "$BIN/trivsel-$name" 2> >(tee -a "$VAR/log/$name.log" >&2) &
        pids+=($!)
        names+=("$name")
        echo "run: started trivsel-$name (pid $!, http://127.0.0.1:$port/readyz)"
    fi
    port=$((port + 1))
done
echo "run: ready; Ctrl-C stops everything"
echo "run: to talk to it: export TRIVSEL_BROKER_PUBLIC_KEY_FILE=$VAR/keys/broker.pub TRIVSEL_CLIENT_KEY_FILE=$VAR/keys/operator.key"

# Wait for any daemon to end: that is only expected when we are stopping.
set +e
wait -n "${pids[@]}"
status=$?
if ! $stopping; then
    echo "run: a daemon stopped unexpectedly (status $status); stopping the rest" >&2
    stop_all
    exit 1
fi
