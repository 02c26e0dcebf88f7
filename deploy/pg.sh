#!/usr/bin/env bash
# The embedded PostgreSQL cluster: a private server for `make run` and the tests.
#
#   deploy/pg.sh init  DIR   create the cluster under DIR (once; a no-op when it exists)
#   deploy/pg.sh start DIR   start it (a no-op when running); waits until it takes connections
#   deploy/pg.sh stop  DIR   stop it (fast shutdown)
#   deploy/pg.sh url   DIR   print the admin connection URL (password in DIR/secrets/admin.password)
#
# Layout: DIR/data (the cluster), DIR/run (its Unix socket: no TCP at all), DIR/log (its log),
# DIR/secrets/*.password (generated, mode 600). PostgreSQL refuses to run as root, so when
# called as root the cluster belongs to the unprivileged system user trivsel-pg.
# Authentication is scram-sha-256 for everyone, also on the socket.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: deploy/pg.sh init|start|stop|url DIR" >&2
    exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data
run=$dir/run
secrets=$dir/secrets
pg_user=trivsel-pg

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "pg.sh: PostgreSQL server binaries not found under /usr/lib/postgresql (run deploy/install-deps.sh)" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$pg_user" -- "$@"
    else
        "$@"
    fi
}

new_password() {
    # 32 random bytes, URL-safe, never printed.
    head -c 32 /dev/urandom | base64 | tr -d '\n/+=' | head -c 40
}

do_init() {
    if [ -f "$data/PG_VERSION" ]; then
        return 0
    fi
    if [ "$(id -u)" -eq 0 ] && ! id "$pg_user" >/dev/null 2>&1; then
        echo "pg.sh: creating system user $pg_user to own the embedded cluster"
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$pg_user"
    fi
    mkdir -p "$data" "$run" "$secrets"
    chmod 700 "$secrets"
    [ -f "$secrets/admin.password" ] || (umask 077 && new_password > "$secrets/admin.password")
    if [ "$(id -u)" -eq 0 ]; then
        touch "$dir/log"
        chown "$pg_user" "$data" "$run" "$dir/log"
        if ! runuser -u "$pg_user" -- test -w "$data"; then
            echo "pg.sh: user $pg_user cannot reach $data: a parent folder is closed to other users (chmod o+x it, or set TRIVSEL_DATABASE_URL)" >&2
            exit 1
        fi
    fi
    chmod 700 "$data" "$run"
    local pwfile
    pwfile=$(mktemp)
    cp "$secrets/admin.password" "$pwfile"
    [ "$(id -u)" -eq 0 ] && chown "$pg_user" "$pwfile"
    echo "pg.sh: creating a PostgreSQL cluster in $data"
    as_owner "$bindir/initdb" -D "$data" -U trivsel_admin --pwfile="$pwfile" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        rm -f "$pwfile"
        echo "pg.sh: initdb failed; see $dir/initdb.log" >&2
        exit 1
    }
    rm -f "$pwfile"
    cat >>"$data/postgresql.conf" <<CONF
# trivsel embedded cluster: Unix socket only, in $run
listen_addresses = ''
unix_socket_directories = '$run'
unix_socket_permissions = 0777
timezone = 'UTC'
log_timezone = 'UTC'
max_connections = 200
CONF
    # The socket directory is the fence: open it so the daemons (another user) can connect;
    # every role still needs its password.
    chmod 711 "$run"
    as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/log" -w -o "-c listen_addresses=''" start >/dev/null
    PGPASSWORD=$(cat "$secrets/admin.password") "$bindir/psql" -h "$run" -U trivsel_admin -d postgres \
        -v ON_ERROR_STOP=1 -qc 'CREATE DATABASE trivsel' >/dev/null
    as_owner "$bindir/pg_ctl" -D "$data" -w stop >/dev/null
}

do_start() {
    if as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        return 0
    fi
    rm -f "$run"/.s.PGSQL.*
    as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/log" -w -t 60 start >/dev/null || {
        echo "pg.sh: PostgreSQL did not start; see $dir/log" >&2
        tail -n 20 "$dir/log" >&2 || true
        exit 1
    }
}

do_stop() {
    if [ -f "$data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
    fi
}

case "$cmd" in
init) do_init ;;
start) do_start ;;
stop) do_stop ;;
url) echo "postgresql://trivsel_admin@/trivsel?host=$run" ;;
*) echo "pg.sh: unknown command \"$cmd\": use init, start, stop or url" >&2; exit 2 ;;
esac
