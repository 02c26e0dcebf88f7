#!/usr/bin/env bash
# Runs every test and prints the summary CI reads as its last line: "N passed, N failed".
#
#   tests/run.sh [BUILD]     BUILD is the build folder (default build)
#   TRIVSEL_TEST_FILTER=REGEX tests/run.sh   only the tests whose name (e.g. integration/test_intake)
#                                            matches REGEX
#   TRIVSEL_TEST_VERBOSE=1 tests/run.sh      prints every test's output, not only a failing one's
#
# One throwaway PostgreSQL cluster serves the whole run; each program in tests/db and each
# script in tests/integration gets a database of its own. Test programs print one line per
# test, "ok - NAME" or "not ok - NAME"; a program that exits non-zero or prints no test at
# all counts as one more failure, so a run that executes no test fails.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
export BUILD TRIVSEL_REPO=$PWD

passed=0
failed=0
failures=()

TMP=$(mktemp -d /tmp/trivsel-test.XXXXXX)
chmod 755 "$TMP" # the cluster's unprivileged owner must reach it
export TRIVSEL_TEST_TMP=$TMP
# Under make SANITIZE=1 test, each ASan or LeakSanitizer report is a file here (not lost in a
# daemon's log, nor in output nobody reads); each fails the test that was running. Every finding
# stops its process (halt_on_error; the build has -fno-sanitize-recover). UBSan, linked with ASan
# by gcc, ignores log_path and writes to stderr: run_one looks for its reports in the test's
# output and in every file the test wrote (its daemons' logs).
SANITIZER_REPORTS=$TMP/sanitizer
mkdir -p "$SANITIZER_REPORTS"
chmod 1777 "$SANITIZER_REPORTS"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SANITIZER_REPORTS/asan:halt_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$SANITIZER_REPORTS/ubsan:halt_on_error=1:print_stacktrace=1"
cleanup() {
    pkill -TERM -f "$TMP" 2>/dev/null
    deploy/pg.sh stop "$TMP/pg" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

# Runs one test program or script; counts its ok / not ok lines.
run_one() {
    local name=$1
    shift
    if [ -n "${TRIVSEL_TEST_FILTER:-}" ] && ! [[ "$name" =~ $TRIVSEL_TEST_FILTER ]]; then
        return
    fi
    local out=$TMP/out.$$ status p f report
    touch "$TMP/started"
    "$@" >"$out" 2>&1
    status=$?
    for report in $(find "$TMP" \( -path "$TMP/pg" -o -path "$TMP/fuzz" -o -path "$SANITIZER_REPORTS" \) -prune \
        -o -type f -newer "$TMP/started" -print | xargs -r grep -l ': runtime error: '); do
        echo "not ok - $name: UBSan report in ${report#"$TMP"/}" >>"$out"
        grep -A 12 ': runtime error: ' "$report" | head -n 40 | sed 's/^/#   /' >>"$out"
    done
    for report in "$SANITIZER_REPORTS"/*; do
        [ -f "$report" ] || continue
        echo "not ok - $name: sanitizer report $(basename "$report")" >>"$out"
        sed 's/^/#   /' "$report" | head -n 80 >>"$out"
        rm -f "$report"
    done
    p=$(grep -c '^ok ' "$out")
    f=$(grep -c '^not ok ' "$out")
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "not ok - $name exited with status $status" >>"$out"
    fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "not ok - $name ran no test" >>"$out"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        failures+=("$name")
        echo "== $name: $p passed, $f failed"
        cat "$out"
    else
        echo "== $name: $p passed"
        [ -n "${TRIVSEL_TEST_VERBOSE:-}" ] && cat "$out"
    fi
    rm -f "$out"
}

echo "== starting a throwaway PostgreSQL in $TMP/pg"
if ! deploy/pg.sh init "$TMP/pg" >/dev/null || ! deploy/pg.sh start "$TMP/pg"; then
    echo "0 passed, 1 failed"
    exit 1
fi
export TRIVSEL_TEST_PG_RUN=$TMP/pg/run
export TRIVSEL_TEST_ADMIN_PASSWORD_FILE=$TMP/pg/secrets/admin.password
admin_password=$(cat "$TRIVSEL_TEST_ADMIN_PASSWORD_FILE")
dbn=0
# Sets db to the name of a new, empty database.
new_database() {
    dbn=$((dbn + 1))
    db="t$dbn"
    PGPASSWORD=$admin_password psql -h "$TRIVSEL_TEST_PG_RUN" -U trivsel_admin -d postgres -qAtc \
        "CREATE DATABASE $db" >/dev/null
}

for t in "$BUILD"/tests/unit/test_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" "$t"
done

for t in "$BUILD"/tests/db/test_*; do
    [ -x "$t" ] || continue
    new_database
    TRIVSEL_TEST_DATABASE_URL="postgresql://trivsel_admin:$admin_password@/$db?host=$TRIVSEL_TEST_PG_RUN" \
        run_one "db/$(basename "$t")" "$t"
done

for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    new_database
    TRIVSEL_TEST_DB=$db run_one "integration/$(basename "$t" .sh)" bash "$t"
done

if [ ${#failures[@]} -gt 0 ]; then
    echo "== failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
