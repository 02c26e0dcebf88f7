#!/usr/bin/env bash
# Least privilege in PostgreSQL (issue 10, item 6): each service's role reads and writes only
# its own schema; the broker's tables are closed to the services except the two they append
# to (the outbox and the audit log); no daemon role is a superuser or can create roles or
# databases.
. tests/integration/lib.sh
migrate >/dev/null
as_role() {
    PGPASSWORD=$(cat "$T/secrets/$1.password") psql -h "$TRIVSEL_TEST_PG_RUN" -U "$1" -d "$TRIVSEL_TEST_DB" \
        -qAtX -c "$2" 2>&1
}
services="intake assessment ordering docs"

check_eq "no daemon role is a superuser, creates roles or databases, or bypasses row security" \
    "$(sql "SELECT count(*) FROM pg_roles WHERE rolname IN ('trivsel_broker','trivsel_intake','trivsel_assessment','trivsel_ordering','trivsel_docs') AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls)")" 0

for own in $services; do
    check "trivsel_$own reads its own schema" test "$(as_role trivsel_$own "SELECT count(*) FROM $own.handled_event")" == 0
    for other in $services broker; do
        [ "$other" = "$own" ] && continue
        table=handled_event
        [ "$other" = broker ] && table=event
        out=$(as_role trivsel_$own "SELECT count(*) FROM $other.$table")
        check "trivsel_$own cannot read $other.$table" grep -q 'permission denied' <<<"$out"
        out=$(as_role trivsel_$own "DELETE FROM $other.$table")
        check "trivsel_$own cannot change $other.$table" grep -q 'permission denied' <<<"$out"
    done
    out=$(as_role trivsel_$own "SELECT count(*) FROM broker.outbox")
    check "trivsel_$own cannot read the outbox (it only appends)" grep -q 'permission denied' <<<"$out"
    out=$(as_role trivsel_$own "CREATE TABLE $own.mine (id int)")
    check "trivsel_$own cannot change its schema" grep -q 'permission denied for schema' <<<"$out"
done
for other in $services; do
    out=$(as_role trivsel_broker "SELECT count(*) FROM $other.handled_event")
    check "trivsel_broker cannot read $other" grep -q 'permission denied' <<<"$out"
done
out=$(as_role trivsel_broker "INSERT INTO broker.principal (name, kind, public_key) VALUES ('x', 'operator', repeat('a', 40))")
check "trivsel_broker cannot register principals (only the admin can)" grep -q 'permission denied' <<<"$out"
