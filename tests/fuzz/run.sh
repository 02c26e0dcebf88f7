#!/usr/bin/env bash
# Runs libFuzzer targets built by `make fuzz-build`, each over a scratch copy of its corpus, and
# prints one line per target in the form tests/run.sh counts:
#   ok - fuzz fuzz_cpr: 123456 runs, no crash
#   not ok - fuzz fuzz_cpr: crash, input saved as build-fuzz/crashes/fuzz_cpr-crash-<sha1>
# followed, for a crash, by the input in hex and the end of libFuzzer's report (the stack).
#
#   tests/fuzz/run.sh [-j JOBS] [-t SECONDS] [-w WORK] [-c CRASHES] BIN TARGET...
#   tests/fuzz/run.sh -m [-w WORK] BIN TARGET...
#
#   BIN      the folder of the targets ($(BUILD)/fuzz)
#   -t       seconds per target (default 60); -j targets at once (default 1)
#   -w       scratch folder (default build-fuzz): WORK/work/TARGET/corpus is the copy the
#            fuzzer adds to, WORK/work/TARGET/log its output
#   -c       where crash inputs are kept (default WORK/crashes)
#   -m       merge instead of fuzzing: add the inputs of WORK/work/TARGET/corpus (the last run)
#            that reach code the corpus does not to tests/fuzz/corpus/TARGET
# Exit status 0 when every target ran without a crash.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

jobs=1 seconds=60 work=build-fuzz crashes='' merge=0
while getopts "j:t:w:c:m" opt; do
    case $opt in
    j) jobs=$OPTARG ;;
    t) seconds=$OPTARG ;;
    w) work=$OPTARG ;;
    c) crashes=$OPTARG ;;
    m) merge=1 ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -lt 2 ]; then
    echo "usage: tests/fuzz/run.sh [-j JOBS] [-t SECONDS] [-w WORK] [-c CRASHES] [-m] BIN TARGET..." >&2
    exit 2
fi
bin=$1
shift
crashes=${crashes:-$work/crashes}
mkdir -p "$crashes" "$work/work"

# Flags per target: the longest input worth trying. Values (CPR, dates, money, configuration,
# subjects) are short; frames and JSON documents take libFuzzer's default, from the corpus.
flags_of() {
    case $1 in
    fuzz_cpr | fuzz_date | fuzz_money | fuzz_config | fuzz_intake_config | fuzz_ordering_config | \
        fuzz_subject | fuzz_permissions)
        echo "-max_len=512" ;;
    *) echo "" ;;
    esac
}

# The newest crash, leak, timeout or out-of-memory input of target $1 since marker file $2.
artifact_of() {
    find "$crashes" -maxdepth 1 -name "$1-*" -newer "$2" -type f -printf '%T@ %p\n' 2>/dev/null |
        sort -n | tail -1 | cut -d' ' -f2-
}

fuzz_one() {
    local t=$1 dir=$work/work/$1 status runs artifact
    if [ ! -x "$bin/$t" ]; then
        echo "not ok - fuzz $t: $bin/$t is not built (make fuzz-build)" >"$dir.result"
        return
    fi
    rm -rf "$dir"
    mkdir -p "$dir/corpus"
    if [ -d "tests/fuzz/corpus/$t" ]; then
        cp -r "tests/fuzz/corpus/$t/." "$dir/corpus/"
    fi
    touch "$dir/started"
    # shellcheck disable=SC2046 # flags_of gives zero or more words
    "$bin/$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$crashes/$t-" $(flags_of "$t") "$dir/corpus" >"$dir/log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
    artifact=$(artifact_of "$t" "$dir/started")
    if [ "$status" -eq 0 ] && [ -z "$artifact" ]; then
        echo "ok - fuzz $t: ${runs:-0} runs, no crash" >"$dir.result"
        return
    fi
    {
        if [ -n "$artifact" ]; then
            echo "not ok - fuzz $t: $(basename "$artifact" | sed "s/^$t-//; s/-.*//") after ${runs:-?} runs, input saved as $artifact"
            echo "# input ($(stat -c %s "$artifact") bytes, hex): $(head -c 512 "$artifact" | od -An -v -tx1 | tr -d ' \n')"
        else
            echo "not ok - fuzz $t: exited with status $status after ${runs:-?} runs"
        fi
        echo "# reproduce: $bin/$t ${artifact:-$dir/corpus}"
        grep -v '^INFO:\|^#[0-9]' "$dir/log" | grep -m1 -A60 -e 'ERROR:\|invariant broken\|runtime error\|==[0-9]*==' | sed 's/^/#   /'
    } >"$dir.result"
}

merge_one() {
    local t=$1 dir=$work/work/$1 before after
    if [ ! -d "$dir/corpus" ]; then
        echo "not ok - merge $t: no corpus from a fuzz run in $dir (run make fuzz first)" >"$dir.result"
        return
    fi
    mkdir -p "tests/fuzz/corpus/$t"
    before=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
    # shellcheck disable=SC2046
    if ! "$bin/$t" -merge=1 $(flags_of "$t") "tests/fuzz/corpus/$t" "$dir/corpus" >"$dir/merge.log" 2>&1; then
        { echo "not ok - merge $t: libFuzzer failed"; tail -20 "$dir/merge.log" | sed 's/^/#   /'; } >"$dir.result"
        return
    fi
    after=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
    echo "ok - merge $t: $((after - before)) new inputs in tests/fuzz/corpus/$t" >"$dir.result"
}

running=0
for t in "$@"; do
    rm -f "$work/work/$t.result"
    if [ "$merge" -eq 1 ]; then
        merge_one "$t" &
    else
        fuzz_one "$t" &
    fi
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

failed=0
for t in "$@"; do
    if [ -f "$work/work/$t.result" ]; then
        cat "$work/work/$t.result"
        grep -q '^not ok' "$work/work/$t.result" && failed=1
    else
        echo "not ok - fuzz $t: no result"
        failed=1
    fi
done
exit "$failed"
