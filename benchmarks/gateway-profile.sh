#!/usr/bin/env bash
# Profiles a release gateway with `perf record -g` while wrk gets one quote through it, in front of
# one node: MODE `hit` (the gateway's cache, TTL 10 min) or `proxy` (cache off). Prints req/s and
# the gateway's CPU per request (utime+stime from /proc); writes the inclusive and self reports to
# benchmarks/out/profile/gateway-MODE.txt and gateway-MODE.self.txt. MODE `floor` profiles
# stoa-http-floor (benchmarks/http-floor, NIO's HTTP/1 pipeline answering the gateway's cache hit
# byte for byte and doing nothing else) under the same load instead: what SwiftNIO alone costs.
# MODE `proxy-floor` profiles `stoa-http-floor proxy` in front of the same node: NIO's HTTP/1
# server and client pipelines relaying each request and answer, nothing else.
#
#   bash benchmarks/gateway-profile.sh [hit|proxy|floor|proxy-floor] [SECONDS] [STOA_BINARY] [FLOOR_BINARY]
#   (default: hit 8 .build/release/stoa .build/release/stoa-http-floor)
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODE=${1:-hit}; SECS=${2:-8}; STOA=${3:-.build/release/stoa}; FLOOR=${4:-.build/release/stoa-http-floor}
OUT=benchmarks/out/profile
mkdir -p "$OUT"
command -v perf >/dev/null && command -v wrk >/dev/null || { echo "perf and wrk are needed" >&2; exit 1; }
fp() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
d=$(mktemp -d); H=$(fp); G=$(fp); GW=$(fp); GA=$(fp)
$STOA node --name n1 --data $d/n1 --http 127.0.0.1:$H --gossip 127.0.0.1:$G --cluster-key k --token-secret s --bcrypt-cost 4 --log-level warning > $d/n1.log 2>&1 & NP=$!
if [ "$MODE" = proxy ]; then CA="--cache-bytes 0"; else CA="--cache-ttl-ms 600000"; fi
$STOA gateway --http 127.0.0.1:$GW --admin-http 127.0.0.1:$GA --join 127.0.0.1:$G --cluster-key k --token-secret s --no-rate-limit $CA --log-level warning > $d/gw.log 2>&1 & GP=$!
trap 'kill $NP $GP 2>/dev/null; rm -rf $d' EXIT
for i in $(seq 100); do curl -sf http://127.0.0.1:$GA/api/gateway | python3 -c 'import sys,json; sys.exit(0 if any(n["state"]=="alive" for n in json.load(sys.stdin)["nodes"]) else 1)' 2>/dev/null && break; sleep 0.2; done
B=http://127.0.0.1:$H
curl -s -XPOST $B/api/collections/users/records -H 'content-type: application/json' -d '{"email":"p@example.com","password":"12345678","passwordConfirm":"12345678"}' >/dev/null
TOKEN=$(curl -s -XPOST $B/api/collections/users/auth-with-password -H 'content-type: application/json' -d '{"identity":"p@example.com","password":"12345678"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
ID=$(curl -s -XPOST $B/api/collections/quotes/records -H "Authorization: $TOKEN" -H 'content-type: application/json' -d '{"content":"Waste no more time arguing about what a good man should be. Be one.","author":"Marcus Aurelius","tags":["stoic"]}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["id"])')
export TOKEN ID
if [ "$MODE" = floor ]; then
    # The gateway's cache hit, as sent, answered by the floor server on a port of its own.
    curl -s -H "Authorization: $TOKEN" http://127.0.0.1:$GW/api/collections/quotes/records/$ID > /dev/null
    curl -s -i -H "Authorization: $TOKEN" http://127.0.0.1:$GW/api/collections/quotes/records/$ID > $d/hit.http
    kill $GP; GW=$(fp)
    $FLOOR codec $GW $d/hit.http > $d/floor.log 2>&1 & GP=$!
    for i in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$GW/ && break; sleep 0.1; done
elif [ "$MODE" = proxy-floor ]; then
    kill $GP; GW=$(fp)
    $FLOOR proxy $GW 127.0.0.1:$H > $d/floor.log 2>&1 & GP=$!
    for i in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$GW/api/health && break; sleep 0.1; done
fi
wrk -t2 -c16 -d2s -s benchmarks/wrk/get.lua http://127.0.0.1:$GW > /dev/null
t0=$(awk '{print $14+$15}' /proc/$GP/stat)
perf record -F 1999 -g -p $GP -o $OUT/gateway-$MODE.perf.data -- sleep $SECS > /dev/null 2>&1 &
PP=$!
wrk -t2 -c16 -d${SECS}s --latency -s benchmarks/wrk/get.lua http://127.0.0.1:$GW > $OUT/gateway-$MODE.wrk
wait $PP
t1=$(awk '{print $14+$15}' /proc/$GP/stat)
req=$(grep "Requests/sec" $OUT/gateway-$MODE.wrk | awk '{print $2}')
total=$(grep "requests in" $OUT/gateway-$MODE.wrk | awk '{print $1}')
echo "$MODE: $req req/s, CPU of the profiled process $(python3 -c "print(round(($t1-$t0)*10000/$total,1))") us/req"
perf report -i $OUT/gateway-$MODE.perf.data --children --sort symbol --stdio -g none 2>/dev/null | grep '%' | swift demangle --simplified | cut -c1-200 > $OUT/gateway-$MODE.txt
perf report -i $OUT/gateway-$MODE.perf.data --no-children --sort symbol --stdio -g none 2>/dev/null | grep '%' | swift demangle --simplified | cut -c1-200 > $OUT/gateway-$MODE.self.txt
