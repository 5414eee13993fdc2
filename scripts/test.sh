#!/usr/bin/env bash
# Runs every Stoa test: the Swift suites (unit, in-process HTTP, real-process end-to-end) and the
# real-client check with the `pocketbase` Python SDK against a node this script starts.
# Usage: bash scripts/test.sh        (from the repository root; installs what it needs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Each step's line carries the minutes and seconds since the start (CI's budget is 25 minutes).
log() { printf '\n== [%d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

# What the build needs on a fresh Debian machine: the system SQLite headers (GRDB links the
# system libsqlite3) and python3-venv for the SDK check.
need_packages=()
[ -f /usr/include/sqlite3.h ] || need_packages+=(libsqlite3-dev)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_packages+=(python3-venv)
command -v openssl >/dev/null || need_packages+=(openssl)   # the gateway TLS test makes a certificate
# The multi-host tests (Tests/netns) make network namespaces and cut links with iptables; as
# root they need both tools (not root, they are skipped with the reason printed).
if [ "$(id -u)" -eq 0 ]; then
    command -v ip >/dev/null || need_packages+=(iproute2)
    command -v iptables >/dev/null || need_packages+=(iptables)
fi
command -v tcpdump >/dev/null || [ -x /usr/sbin/tcpdump ] || need_packages+=(tcpdump)   # WireCaptureTests looks for clear text on the gossip ports
command -v chromium >/dev/null || need_packages+=(chromium)   # the account pages are tested in a real browser (Playwright)
if [ ${#need_packages[@]} -gt 0 ]; then
    log "installing ${need_packages[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}"
fi

logs=.build/test-logs
mkdir -p "$logs"
# Runs a command with its output filtered live (progress lines and passing tests left out), the
# whole output kept in $logs/$1; returns the command's own exit code, never the filter's.
run_filtered() {
    local logfile=$logs/$1 filter=$2
    shift 2
    set +e
    "$@" 2>&1 | tee "$logfile" | grep --line-buffered -vE "$filter"
    local statuses=("${PIPESTATUS[@]}")
    set -e
    return "${statuses[0]}"
}

# Free disk space, printed first: the debug build with its tests, the fuzz build and the SDK's
# virtualenv take several GB; a full disk fails the build with "No space left on device". (The
# debug build keeps its index store: on Linux the test runner finds the tests through it.)
free_kb=$(df -Pk . | awk 'NR == 2 { print $4 }')
log "disk: $((free_kb / 1024 / 1024)) GB free here"
if [ "$free_kb" -lt $((6 * 1024 * 1024)) ]; then
    echo "warning: under 6 GB free; the build may fail with \"No space left on device\"" >&2
fi

log "building (debug, with tests)"
build_status=0
run_filtered build.log '^\[[0-9]+/[0-9]+\]|unhandled; explicitly declare|CMakeLists.txt$|is not used by any target' \
    swift build --build-tests || build_status=$?
if [ "$build_status" -ne 0 ]; then
    log "summary: the build failed (exit $build_status); whole output in $logs/build.log"
    exit "$build_status"
fi

log "swift test"
swift_status=0
# Failures keep their indented details; passing tests and suites are not listed one by one.
run_filtered swift-test.log '^\[[0-9]+/[0-9]+\]|^◇ |^✔ (Suite|Test [^r])|^Test Case .* (started|passed)' \
    swift test --skip-build || swift_status=$?
if [ "$swift_status" -ne 0 ]; then
    log "swift test failed (exit $swift_status); the failures again (whole output in $logs/swift-test.log):"
    grep -E '^✘|recorded an issue|Fatal error|error:' "$logs/swift-test.log" | head -n 200 || true
fi

log "pocketbase Python SDK against two clustered nodes and a gateway (records API on the first, realtime across nodes and through the gateway; account mail through a loopback SMTP server)"
data=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$data"' EXIT
# A loopback port free for both TCP and UDP (the gossip port uses both).
free_port() {
    python3 -c 'import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port)); break
    except OSError:
        t.close()
    finally:
        u.close()
t.close(); print(port)'
}
# Waits until log $1 shows the HTTP port of the process started last; sets $port.
wait_port() {
    local log=$1
    port=""
    for _ in $(seq 1 300); do
        port=$(sed -nE 's/.*Server started and listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$log" | head -n 1)
        [ -n "$port" ] && return 0
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log" >&2
    echo "$log: the process did not start" >&2
    return 1
}
# Starts node $1 with gossip port $2 (joining $3 when given); sets $port to its HTTP port.
start_node() {
    local name=$1 gossip=$2 join=${3:-}
    .build/debug/stoa node --name "$name" --data "$data/$name" --http 127.0.0.1:0 --gossip "127.0.0.1:$gossip" \
        ${join:+--join "127.0.0.1:$join"} --cluster-key sdk-test-key --token-secret sdk-test-secret --bcrypt-cost 4 >"$data/$name.log" 2>&1 &
    pids+=($!)
    wait_port "$data/$name.log"
}
g1=$(free_port)
g2=$(free_port)
# A superuser made on the first node's data before it starts (it replicates to the second).
superuser_email=sdk-admin@example.com
superuser_password="sdk admin password"
.build/debug/stoa superuser upsert "$superuser_email" "$superuser_password" --data "$data/sdk1" --name sdk1 --bcrypt-cost 4
start_node sdk1 "$g1"
p1=$port
start_node sdk2 "$g2" "$g1"
p2=$port
# The gateway in front of both, for realtime through it.
gateway_log="$data/gateway.log"
.build/debug/stoa gateway --http 127.0.0.1:0 --admin-http 127.0.0.1:0 --join "127.0.0.1:$g1,127.0.0.1:$g2" --cluster-key sdk-test-key \
    --token-secret sdk-test-secret >"$gateway_log" 2>&1 &
pids+=($!)
wait_port "$gateway_log"
gateway_url="http://127.0.0.1:$port"
# Its own pages (/api/gateway among them) are on the admin listener, logged once it is bound.
admin_port=""
for _ in $(seq 1 100); do
    admin_port=$(sed -nE 's/.*Admin pages listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$gateway_log" | head -n 1)
    [ -n "$admin_port" ] && break
    sleep 0.1
done
gateway_admin_url="http://127.0.0.1:$admin_port"
routing=0
for _ in $(seq 1 300); do
    if python3 -c '
import json, sys, urllib.request
nodes = json.load(urllib.request.urlopen(sys.argv[1] + "/api/gateway", timeout=5)).get("nodes", [])
sys.exit(0 if sum(n.get("state") == "alive" and not n.get("ejected") for n in nodes) == 2 else 1)' "$gateway_admin_url" 2>/dev/null; then
        routing=1
        break
    fi
    sleep 0.1
done
if [ "$routing" -ne 1 ]; then
    cat "$gateway_log" >&2
    echo "the gateway did not start routing to both nodes" >&2
    exit 1
fi
sdk_status=0
# STOA_BIN: the account-mail test (test_account_mail.py) starts its own SMTP server (aiosmtpd)
# and two nodes that send to it.
STOA_URL="http://127.0.0.1:$p1" STOA_URL2="http://127.0.0.1:$p2" STOA_GATEWAY_URL="$gateway_url" STOA_BIN=.build/debug/stoa \
    STOA_SUPERUSER_EMAIL="$superuser_email" STOA_SUPERUSER_PASSWORD="$superuser_password" \
    timeout 600 bash Tests/python/run.sh .build/pyvenv || sdk_status=$?

for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done   # the SDK check's nodes are done
wait 2>/dev/null || true
pids=()

# Three nodes and a gateway as separate hosts (network namespaces with their own addresses),
# links cut, healed and blocked one way with iptables, a host killed and restarted
# (Tests/netns/test_hosts.py). Exit 77 = skipped here (reason printed), not counted as passed.
log "multi-host tests in network namespaces (Tests/netns/test_hosts.py)"
netns_status=0
netns_started=$SECONDS
timeout 900 python3 Tests/netns/test_hosts.py --stoa .build/debug/stoa --logs "$logs/netns" || netns_status=$?
netns_result="exit $netns_status in $((SECONDS - netns_started)) s"
if [ "$netns_status" -eq 77 ]; then
    netns_result="SKIPPED (reason above)"
    netns_status=0
fi

# Bounded coverage-guided fuzzing of the parsers of untrusted input (scripts/fuzz.sh; longer
# runs are documented in README, "Fuzzing"): FUZZ_SECONDS per target, 20 by default, on a debug
# build of the targets (it builds in about a third of a release build's time; the documented
# longer runs use release).
log "fuzzing (scripts/fuzz.sh ${FUZZ_SECONDS:-20})"
fuzz_status=0
FUZZ_CONFIGURATION="${FUZZ_CONFIGURATION:-debug}" bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}" || fuzz_status=$?

log "summary: swift test exit $swift_status, SDK tests exit $sdk_status, multi-host tests $netns_result, fuzzing exit $fuzz_status"
[ "$swift_status" -eq 0 ] && [ "$sdk_status" -eq 0 ] && [ "$netns_status" -eq 0 ] && [ "$fuzz_status" -eq 0 ]
