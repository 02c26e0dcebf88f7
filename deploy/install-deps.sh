#!/usr/bin/env bash
# Installs the Debian 12 packages trivsel needs to build, run and test, if any are missing.
# Called by `make`, `make run` and `make test`; prints what it does; silent apart from one line
# when everything is present.
set -euo pipefail

packages=(
    gcc make pkg-config            # the build
    libzmq3-dev                    # ZeroMQ (CURVE needs libsodium, pulled in by libzmq)
    libprotobuf-c-dev protobuf-c-compiler
    libuv1-dev                     # the event loop
    libpq-dev                      # PostgreSQL client
    libmicrohttpd-dev              # /healthz, /readyz, /metrics
    libjansson-dev                 # JSON for trivselctl and logs
    postgresql-15 postgresql-contrib # the embedded cluster for `make run` and the tests; pgbench
    tzdata                         # Europe/Copenhagen, to cross-check the calendar
    curl                           # the tests talk HTTP to the daemons
    procps                         # pgrep/ps in the tests
    python3 python3-yaml           # tests/integration/test_deploy_files.sh reads the YAML files
    clang libclang-rt-14-dev llvm  # libFuzzer and the sanitizer runtimes (make fuzz, test_fuzz_short)
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "install-deps: missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: not root; install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi

# Debian's postgresql package would create and start a system-wide cluster "main"; trivsel runs
# its own under var/, so ask it not to.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get update"
apt-get update -qq
echo "install-deps: apt-get install ${missing[*]}"
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
