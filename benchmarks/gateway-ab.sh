#!/usr/bin/env bash
# A/B of two gateway builds on this machine: one release node, a gateway of each build in front of
# it (MODE `proxy`: cache off; `hit`: cache on, TTL 10 min), wrk -t2 -c16 on one quote through
# each in turn for ROUNDS rounds of SECONDS; prints req/s and the gateway's CPU per request
# (utime+stime from /proc over the requests answered) per run, and the means of each build.
#
#   bash benchmarks/gateway-ab.sh proxy|hit ROUNDS SECONDS STOA_A STOA_B
#
# The node runs STOA_A. Run it twice with the builds swapped: a difference that holds in both
# orders is the builds', not the order's.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ $# -eq 5 ] || { sed -n 2,10p "$0"; exit 2; }
MODE=$1 ROUNDS=$2 SECS=$3 A=$4 B=$5
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
fp() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
d=$(mktemp -d); H=$(fp); G=$(fp)
"$A" node --name n1 --data "$d/n1" --http "127.0.0.1:$H" --gossip "127.0.0.1:$G" --cluster-key k --token-secret s --bcrypt-cost 4 --log-level warning >"$d/n1.log" 2>&1 &
NP=$!
if [ "$MODE" = proxy ]; then CACHE=(--cache-bytes 0); else CACHE=(--cache-ttl-ms 600000); fi
declare -A PORT PID
trap 'kill $NP ${PID[A]:-} ${PID[B]:-} 2>/dev/null; rm -rf "$d"' EXIT
for x in A B; do
    bin=${!x}; PORT[$x]=$(fp); admin=$(fp)
    "$bin" gateway --http "127.0.0.1:${PORT[$x]}" --admin-http "127.0.0.1:$admin" --join "127.0.0.1:$G" --cluster-key k --token-secret s \
        --no-rate-limit "${CACHE[@]}" --log-level warning >"$d/gw$x.log" 2>&1 &
    PID[$x]=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$admin/api/gateway" | python3 -c 'import sys,json; sys.exit(0 if any(n["state"]=="alive" for n in json.load(sys.stdin)["nodes"]) else 1)' 2>/dev/null && break
        sleep 0.2
    done
done
U=http://127.0.0.1:$H
curl -s -XPOST "$U/api/collections/users/records" -H 'content-type: application/json' -d '{"email":"p@example.com","password":"12345678","passwordConfirm":"12345678"}' >/dev/null
TOKEN=$(curl -s -XPOST "$U/api/collections/users/auth-with-password" -H 'content-type: application/json' -d '{"identity":"p@example.com","password":"12345678"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
ID=$(curl -s -XPOST "$U/api/collections/quotes/records" -H "Authorization: $TOKEN" -H 'content-type: application/json' \
    -d '{"content":"Waste no more time arguing about what a good man should be. Be one.","author":"Marcus Aurelius","tags":["stoic"]}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["id"])')
export TOKEN ID
for x in A B; do wrk -t2 -c16 -d1s -s benchmarks/wrk/get.lua "http://127.0.0.1:${PORT[$x]}" >/dev/null; done
for r in $(seq "$ROUNDS"); do
    for x in A B; do
        t0=$(awk '{print $14+$15}' "/proc/${PID[$x]}/stat")
        wrk -t2 -c16 -d"${SECS}s" -s benchmarks/wrk/get.lua "http://127.0.0.1:${PORT[$x]}" >"$d/wrk.txt"
        t1=$(awk '{print $14+$15}' "/proc/${PID[$x]}/stat")
        rps=$(awk '/Requests\/sec/ {print $2}' "$d/wrk.txt"); total=$(awk '/requests in/ {print $1}' "$d/wrk.txt")
        echo "$x round $r: $rps req/s, $(python3 -c "print(round(($t1-$t0)*1e6/$(getconf CLK_TCK)/$total,1))") us/req"
    done
done | tee "$d/runs.txt"
awk '{rps[$1]+=$4; us[$1]+=$6; n[$1]++} END {for (x in n) printf "%s mean: %.0f req/s, %.1f us/req\n", x, rps[x]/n[x], us[x]/n[x]}' "$d/runs.txt" | sort
