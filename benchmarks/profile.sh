#!/usr/bin/env bash
# Profiles a release `stoa node` with `perf record -g` while `stoa bench` drives one workload at
# 16 clients, and prints the heaviest functions by inclusive cost (share of the node's samples).
# Shares within one process are stable even on a busy machine; absolute rates are not.
#
#   bash benchmarks/profile.sh [WORKLOAD] [SECONDS] [STOA_BINARY]     (default: create 8)
#
# Output: benchmarks/out/profile/WORKLOAD.perf.data and WORKLOAD.txt. (valgrind 3.19's callgrind
# cannot read the DWARF 5 of Swift 6.3 binaries; `strip --strip-debug` a copy to use it.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WORKLOAD="${1:-create}"
SECONDS_="${2:-8}"
STOA="${3:-.build/release/stoa}"
OUT=benchmarks/out/profile
mkdir -p "$OUT"
command -v perf >/dev/null || { echo "perf is needed (linux-perf)" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
data=$(mktemp -d)
"$STOA" node --name prof --data "$data" --http "127.0.0.1:$port" --log-level warning >"$OUT/node.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.1; done
# Warm up (and seed) first, then record only the measured run.
"$STOA" bench --url "http://127.0.0.1:$port" --workload "$WORKLOAD" --clients 16 --duration 1 --warmup 0 --seed 1000 --quiet >/dev/null
perf record -F 997 -g -p "$pid" -o "$OUT/$WORKLOAD.perf.data" -- sleep "$SECONDS_" >/dev/null 2>&1 &
perf_pid=$!
"$STOA" bench --url "http://127.0.0.1:$port" --workload "$WORKLOAD" --clients 16 --duration "$SECONDS_" --warmup 0 --seed 10 \
    --server-pid "$pid" --email "profile@example.com" --quiet
wait "$perf_pid" || true
perf report -i "$OUT/$WORKLOAD.perf.data" --children --sort symbol --stdio -g none 2>/dev/null | grep '%' \
    | { command -v swift >/dev/null && swift demangle --simplified || cat; } | cut -c1-160 >"$OUT/$WORKLOAD.txt"
grep -iE 'stoa|grdb|statement|sqlite3|JSONEncoder.encode|JSONDecoder.decode|RecordView|JSONOutput|JWT|Response' "$OUT/$WORKLOAD.txt" | head -40
echo "full report: $OUT/$WORKLOAD.txt"
