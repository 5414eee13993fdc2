#!/usr/bin/env bash
# Runs every Stoa test: the Swift suites (unit, in-process HTTP, real-process end-to-end) and the
# real-client check with the `pocketbase` Python SDK against a node this script starts.
# Usage: bash scripts/test.sh        (from the repository root; installs what it needs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '\n== %s\n' "$*"; }

# What the build needs on a fresh Debian machine: the system SQLite headers (GRDB links the
# system libsqlite3) and python3-venv for the SDK check.
need_packages=()
[ -f /usr/include/sqlite3.h ] || need_packages+=(libsqlite3-dev)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_packages+=(python3-venv)
if [ ${#need_packages[@]} -gt 0 ]; then
    log "installing ${need_packages[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}"
fi

log "building (debug, with tests)"
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|unhandled; explicitly declare|CMakeLists.txt$|is not used by any target' || true
test "${PIPESTATUS[0]}" -eq 0

log "swift test"
swift_status=0
# Passing tests are not listed one by one; failures, issues and the closing summary are.
swift test --skip-build 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|^◇ |^[[:space:]]|^✔ (Suite|Test [^r])|^Test Case .* (started|passed)' || true
swift_status=${PIPESTATUS[0]}

log "pocketbase Python SDK against a real node"
data=$(mktemp -d)
node_log="$data/node.log"
.build/debug/stoa node --name sdk --data "$data/n1" --http 127.0.0.1:0 --bcrypt-cost 4 >"$node_log" 2>&1 &
node_pid=$!
trap 'kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; rm -rf "$data"' EXIT
port=""
for _ in $(seq 1 300); do
    port=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$node_log" | head -n 1)
    [ -n "$port" ] && break
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    cat "$node_log" >&2
    echo "the node did not start" >&2
    exit 1
fi
sdk_status=0
STOA_URL="http://127.0.0.1:$port" timeout 600 bash Tests/python/run.sh .build/pyvenv || sdk_status=$?

log "summary: swift test exit $swift_status, SDK tests exit $sdk_status"
[ "$swift_status" -eq 0 ] && [ "$sdk_status" -eq 0 ]
