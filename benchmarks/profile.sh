#!/usr/bin/env bash
# Profiles a release `stoa node` under valgrind's callgrind (instruction counts: repeatable even
# on a busy machine) while `stoa bench` drives one workload, and prints the top functions by
# inclusive and self cost.
#
#   bash benchmarks/profile.sh [WORKLOAD] [REQUESTS] [STOA_BINARY]     (default: create 2000)
#
# Output: benchmarks/out/profile/callgrind.out.WORKLOAD and .txt (callgrind_annotate).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WORKLOAD="${1:-create}"
REQUESTS="${2:-2000}"
STOA="${3:-.build/release/stoa}"
OUT=benchmarks/out/profile
mkdir -p "$OUT"
command -v valgrind >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
data=$(mktemp -d)
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.$WORKLOAD" --collect-atstart=yes \
    "$STOA" node --name prof --data "$data" --http "127.0.0.1:$port" --log-level warning --bcrypt-cost 4 \
    >"$OUT/node.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.2; done
"$STOA" bench --url "http://127.0.0.1:$port" --workload "$WORKLOAD" --clients 4 --requests "$REQUESTS" --warmup 0 \
    --seed 300 --quiet
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
callgrind_annotate --inclusive=yes "$OUT/callgrind.out.$WORKLOAD" 2>/dev/null | head -80 >"$OUT/$WORKLOAD-inclusive.txt"
callgrind_annotate "$OUT/callgrind.out.$WORKLOAD" 2>/dev/null | head -60 >"$OUT/$WORKLOAD-self.txt"
echo "profile of $WORKLOAD: $OUT/$WORKLOAD-inclusive.txt, $OUT/$WORKLOAD-self.txt"
