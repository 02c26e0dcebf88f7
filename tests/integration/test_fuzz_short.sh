#!/usr/bin/env bash
# The short fuzz run of `make test` (issue 10; `make fuzz` is the long one): builds every
# libFuzzer target in tests/fuzz with clang (make fuzz-build) and runs each for a few seconds
# over its corpus. The corpus holds the inputs of past findings, so a regression fails here at
# once, not only when the fuzzer happens on it again. Prints "ok - fuzz TARGET: N runs, no
# crash" per target, or "not ok - ..." with the input (kept in build-fuzz/crashes/) and the stack.
#
# Needs clang with its libFuzzer and sanitizer runtimes. Without them this fails, naming the
# Debian packages: fuzzing is part of the suite, not an extra that may silently be skipped.
#
#   TRIVSEL_FUZZ_SHORT_SECONDS   seconds per target (default 4)
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
seconds=${TRIVSEL_FUZZ_SHORT_SECONDS:-4}
packages="clang libclang-rt-14-dev llvm"

if [ -n "${TRIVSEL_TEST_TMP:-}" ]; then
    work=$TRIVSEL_TEST_TMP/fuzz
else
    work=$(mktemp -d /tmp/trivsel-fuzz.XXXXXX)
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
# libFuzzer reports what it finds itself (tests/fuzz/run.sh prints the input and the stack):
# not into tests/run.sh's sanitizer report files.
unset ASAN_OPTIONS UBSAN_OPTIONS

if ! command -v clang >/dev/null; then
    echo "not ok - fuzz: clang is not installed; the fuzz targets need it (apt-get install $packages, as deploy/install-deps.sh does)"
    exit 1
fi
probe='int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }'
if ! echo "$probe" | clang -fsanitize=fuzzer,address,undefined -x c - -o "$work/probe" >"$work/probe.log" 2>&1; then
    echo "not ok - fuzz: clang cannot link libFuzzer with ASan and UBSan (-fsanitize=fuzzer,address,undefined): install libclang-rt-14-dev (apt-get install $packages)"
    sed 's/^/#   /' "$work/probe.log" | head -10
    exit 1
fi

# Not a submake of `make test`: its flags (jobserver, SANITIZE) are not this build's.
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -j"$(nproc)" BUILD="$BUILD" \
    fuzz-build >"$work/build.log" 2>&1; then
    echo "not ok - fuzz: make fuzz-build failed"
    grep -B2 -A8 -m3 'error' "$work/build.log" | sed 's/^/#   /'
    tail -5 "$work/build.log" | sed 's/^/#   /'
    exit 1
fi
echo "ok - fuzz: every target builds with clang, libFuzzer, ASan and UBSan"

targets=$(find tests/fuzz -maxdepth 1 -name 'fuzz_*.c' -printf '%f\n' | sed 's/\.c$//' | sort)
# shellcheck disable=SC2086 # one word per target
tests/fuzz/run.sh -j "$(nproc)" -t "$seconds" -w "$work" -c build-fuzz/crashes "$BUILD/fuzz" $targets
