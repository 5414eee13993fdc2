#!/usr/bin/env bash
# The Stoa gateway vs nginx (Debian: proxy, proxy_cache, limit_req), side by side in one run, in
# front of the same three Stoa nodes on loopback:
#   - proxied get-by-id req/s with p50/p99 (cache off), against one node directly; nginx twice:
#     bare (`proxy_pass` only: the node never learns the client's address) and as PocketBase's
#     "Going to production" page configures it (Host, X-Real-IP, X-Forwarded-For and
#     X-Forwarded-Proto set), which forwards what the gateway forwards (X-Forwarded-For,
#     X-Forwarded-Proto, X-Forwarded-Host; the client's Host kept);
#   - cache-hit req/s (the same get, served from the proxy's cache);
#   - limiter accuracy: 1000 r/s, burst 100, offered well above that for LIMIT_SECONDS (default
#     10): admitted vs rate x elapsed + burst, counted twice: the answers wrk got back before it
#     stopped, and the requests each limiter admitted (nginx: its access log of that server;
#     the gateway: its admitted counter in /metrics), which also counts requests admitted but
#     still in flight when wrk stopped;
#   - failover: a get load while one of the three nodes is SIGKILLed; failed requests;
#   - with FLOOR (the stoa-http-floor binary; built here when STOA is): the floors under a cache
#     hit, the gateway's hit answered byte for byte by SwiftNIO alone, through NIO's HTTP/1
#     server pipeline with its defaults, through NIO's request decoder alone with the answer
#     written as prepared bytes (as the gateway writes a hit), and with no HTTP codec, beside
#     nginx's cache hits; and the floor under a proxied
#     request (`stoa-http-floor proxy`: NIO's server and client pipelines relaying, nothing else).
#
# The proxied and cache-hit runs also report the proxy's CPU per request: utime+stime of the
# gateway process, or of nginx's workers, from /proc before and after the wrk run, divided by the
# requests answered. Everything shares the machine's cores, so that CPU is taken from the nodes.
#
#   bash benchmarks/gateway-vs-nginx.sh [SECONDS_PER_RUN]      (default 10)
#   ROUNDS=5 bash benchmarks/gateway-vs-nginx.sh 5             (throughput rows: medians of 5
#                                                                alternating rounds; default 3)
#   STOA=path/to/stoa BASELINE_STOA=path/to/other/stoa bash benchmarks/gateway-vs-nginx.sh 5
#
# STOA is the binary for the nodes and the gateway (default: built here in release mode);
# BASELINE_STOA, when set, adds a column with that binary's gateway (e.g. main's build), in
# front of the same nodes in the same run, for an A/B comparison.
#
# Installs nginx and wrk (apt-get) if missing, prints a Markdown table; raw wrk output goes to
# benchmarks/out/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION="${1:-10}"
LIMIT_SECONDS="${LIMIT_SECONDS:-10}"
OUT=benchmarks/out
mkdir -p "$OUT"

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ -z "${STOA:-}" ]; then
    swift build -c release --product stoa 2>&1 | grep -E "error|Build complete" || true
    STOA=.build/release/stoa
fi
# FLOOR: the stoa-http-floor binary (benchmarks/http-floor), a SwiftNIO server answering a copy of
# the gateway's cache hit and doing nothing else; built here when unset and STOA was built here.
if [ -z "${FLOOR:-}" ] && [ "$STOA" = .build/release/stoa ]; then
    swift build -c release --product stoa-http-floor 2>&1 | grep -E "error|Build complete" || true
    FLOOR=.build/release/stoa-http-floor
fi

# take_port VAR: sets VAR to a port free now and not handed out before in this run (the OS may
# give a just-closed port again, and a gateway whose HTTP and admin ports collide cannot start).
GIVEN_PORTS=" "
take_port() {
    local _candidate   # not `port`: printf -v would set this local, not the caller's variable
    while :; do
        _candidate=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
        [[ "$GIVEN_PORTS" == *" $_candidate "* ]] || break
    done
    GIVEN_PORTS+="$_candidate "
    printf -v "$1" '%s' "$_candidate"
}
TMP=$(mktemp -d)
KEY=bench-cluster-key
SECRET=bench-token-secret
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$TMP/nginx.pid" ] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true
    sleep 0.5
    rm -rf "$TMP"
}
trap cleanup EXIT

declare -A HTTP GOSSIP PID
for n in n1 n2 n3; do take_port p; HTTP[$n]=$p; take_port p; GOSSIP[$n]=$p; done
start_node() {
    local n=$1 join=()
    [ "$n" != n1 ] && join=(--join "127.0.0.1:${GOSSIP[n1]}")
    [ "$n" = n1 ] && join=(--join "127.0.0.1:${GOSSIP[n2]},127.0.0.1:${GOSSIP[n3]}")
    "$STOA" node --name "$n" --data "$TMP/$n" --http "127.0.0.1:${HTTP[$n]}" --gossip "127.0.0.1:${GOSSIP[$n]}" "${join[@]}" \
        --cluster-key "$KEY" --token-secret "$SECRET" --bcrypt-cost 4 --log-level warning >>"$TMP/$n.log" 2>&1 &
    PID[$n]=$!
    PIDS+=($!)
    for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:${HTTP[$n]}/api/health" >/dev/null && return 0; sleep 0.1; done
    echo "node $n did not start" >&2; cat "$TMP/$n.log" >&2; exit 1
}
for n in n1 n2 n3; do start_node "$n"; done

N1="http://127.0.0.1:${HTTP[n1]}"
curl -sf -XPOST "$N1/api/collections/users/records" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"benchpass123","passwordConfirm":"benchpass123"}' >/dev/null
TOKEN=$(curl -sf -XPOST "$N1/api/collections/users/auth-with-password" -H 'content-type: application/json' \
    -d '{"identity":"bench@example.com","password":"benchpass123"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')
QUOTE=$(curl -sf -XPOST "$N1/api/collections/quotes/records" -H "Authorization: $TOKEN" -H 'content-type: application/json' \
    -d '{"content":"bench sample","source":"bench-sample"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
for n in n2 n3; do
    for _ in $(seq 1 300); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $TOKEN" "http://127.0.0.1:${HTTP[$n]}/api/collections/quotes/records/$QUOTE")" = 200 ] && break
        sleep 0.1
    done
done

# start_gateway VAR NAME ARGS... : sets VAR to the port once the gateway routes to all three nodes,
# GWPID[NAME] to its process and GWADMIN[NAME] to the port of its own pages (/api/gateway,
# /metrics): its admin listener, or for a build from before --admin-http its client port.
# GATEWAY_BIN (default $STOA) is the binary.
declare -A GWPID GWADMIN
start_gateway() {
    local var=$1 name=$2; shift 2
    local bin=${GATEWAY_BIN:-$STOA} port admin admin_args=()
    take_port port
    # Read the whole help first: `grep -q` would close the pipe early, and under pipefail the
    # help's SIGPIPE would make a build with the option look like one without it.
    if [[ "$("$bin" gateway --help 2>/dev/null)" == *--admin-http* ]]; then
        take_port admin
        admin_args=(--admin-http "127.0.0.1:$admin")
    else
        admin=$port
    fi
    "$bin" gateway --http "127.0.0.1:$port" "${admin_args[@]}" --join "127.0.0.1:${GOSSIP[n1]},127.0.0.1:${GOSSIP[n2]},127.0.0.1:${GOSSIP[n3]}" \
        --cluster-key "$KEY" --token-secret "$SECRET" --log-level warning "$@" >>"$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    GWPID[$name]=$!
    GWADMIN[$name]=$admin
    wait_routing "$admin" || { echo "gateway $name did not route to three nodes" >&2; cat "$TMP/$name.log" >&2; exit 1; }
    printf -v "$var" '%s' "$port"
}
wait_routing() {
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$1/api/gateway" 2>/dev/null | python3 -c 'import sys,json; s=json.load(sys.stdin); sys.exit(0 if sum(n["state"]=="alive" for n in s["nodes"])==3 else 1)' 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
start_gateway GW_PROXY gw-proxy --no-rate-limit --cache-bytes 0
start_gateway GW_CACHE gw-cache --no-rate-limit --cache-ttl-ms 600000
start_gateway GW_LIMIT gw-limit --rate-limit global:global:all:1000:100 --cache-bytes 0
start_gateway GW_FAIL gw-fail --no-rate-limit --cache-bytes 0
if [ -n "${BASELINE_STOA:-}" ]; then
    GATEWAY_BIN=$BASELINE_STOA start_gateway BASE_PROXY base-proxy --no-rate-limit --cache-bytes 0
    GATEWAY_BIN=$BASELINE_STOA start_gateway BASE_CACHE base-cache --no-rate-limit --cache-ttl-ms 600000
fi

take_port NG_PROXY; take_port NG_FWD; take_port NG_CACHE; take_port NG_LIMIT
mkdir -p "$TMP/nginx/cache" "$TMP/nginx/logs"
cat >"$TMP/nginx.conf" <<CONF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes auto;
error_log $TMP/nginx/logs/error.log warn;
pid $TMP/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/body; proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi; uwsgi_temp_path $TMP/nginx/uwsgi; scgi_temp_path $TMP/nginx/scgi;
    upstream stoa {
        server 127.0.0.1:${HTTP[n1]} max_fails=1 fail_timeout=5s;
        server 127.0.0.1:${HTTP[n2]} max_fails=1 fail_timeout=5s;
        server 127.0.0.1:${HTTP[n3]} max_fails=1 fail_timeout=5s;
        keepalive 64;
    }
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_next_upstream error timeout http_502 http_503;
    proxy_cache_path $TMP/nginx/cache levels=1:2 keys_zone=stoa:10m max_size=64m inactive=10m;
    limit_req_zone \$server_port zone=global:1m rate=1000r/s;
    limit_req_status 429;
    server { listen 127.0.0.1:$NG_PROXY; location / { proxy_pass http://stoa; } }
    # As https://pocketbase.io/docs/going-to-production/ configures nginx. proxy_set_header in a
    # location replaces every one inherited, so Connection "" (kept upstream connections) again.
    server {
        listen 127.0.0.1:$NG_FWD;
        location / {
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Real-IP \$remote_addr;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_pass http://stoa;
        }
    }
    server {
        listen 127.0.0.1:$NG_CACHE;
        location / {
            proxy_pass http://stoa;
            proxy_cache stoa;
            proxy_cache_key "\$http_authorization\$request_uri";
            proxy_cache_valid 200 10m;
            proxy_ignore_headers Cache-Control Expires Set-Cookie;
            add_header X-Cache-Status \$upstream_cache_status;
        }
    }
    log_format statusonly '\$status';
    server {
        listen 127.0.0.1:$NG_LIMIT;
        access_log $TMP/nginx/logs/limit.log statusonly;
        location / { limit_req zone=global burst=100 nodelay; proxy_pass http://stoa; }
    }
}
CONF
"$NGINX" -c "$TMP/nginx.conf" -p "$TMP/nginx" -g 'daemon on;' 2>>"$TMP/nginx/logs/error.log"
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$NG_PROXY/api/health" && break; sleep 0.1; done
# The worker processes only: the cache loader exits a minute after start, the cache manager does
# not serve requests.
NGINX_WORKERS=$(pgrep -P "$(cat "$TMP/nginx.pid")" -f "worker process" | tr '\n' ' ')

# cpu_ticks PID... -> utime+stime of the processes, in clock ticks
cpu_ticks() {
    local total=0 pid fields
    for pid in "$@"; do
        read -r -a fields <<<"$(sed 's/^.*) //' "/proc/$pid/stat")"
        total=$((total + fields[11] + fields[12]))
    done
    echo "$total"
}

# run NAME PORT [CONNECTIONS [PID...]] -> "rps p50 p99 failed requests elapsed cpu_us_per_request"
# (the CPU of the PIDs during the run, per request; "-" without PIDs)
run() {
    local name=$1 port=$2 conns=${3:-16}; shift $(($# < 3 ? $# : 3))
    local file="$OUT/gw-$name.txt" before=0 after=0
    [ $# -gt 0 ] && before=$(cpu_ticks "$@")
    TOKEN=$TOKEN ID=$QUOTE wrk -t2 -c"$conns" -d"${RUN_SECONDS:-$DURATION}s" --latency -s benchmarks/wrk/get.lua "http://127.0.0.1:$port" >"$file" 2>&1
    [ $# -gt 0 ] && after=$(cpu_ticks "$@")
    python3 - "$file" "$(($# > 0 ? after - before : -1))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def unit(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v); x = float(m.group(1))
    return x / 1000 if m.group(2) == "us" else (x * 1000 if m.group(2) == "s" else x)
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = unit(re.search(r"\n\s+50%\s+(\S+)", text).group(1)); p99 = unit(re.search(r"\n\s+99%\s+(\S+)", text).group(1))
m = re.search(r"(\d+) requests in ([\d.]+)(s|m)", text)
total, elapsed = int(m.group(1)), float(m.group(2)) * (60 if m.group(3) == "m" else 1)
non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", text) or [0, 0])[1])
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
sock = sum(int(x) for x in m.groups()) if m else 0
ticks, hz = int(sys.argv[2]), int(sys.argv[3])
cpu = f"{ticks / hz * 1e6 / total:.0f}" if ticks >= 0 and total else "-"
print(f"{rps:.0f} {p50:.2f} {p99:.2f} {non2xx + sock} {total} {elapsed:.3f} {cpu}")
PY
}
ratio() { python3 -c "print(f'{$1/$2:.2f}x')"; }

# Warm the keep-alive pools and caches.
for port in "$GW_PROXY" "$GW_CACHE" "$NG_PROXY" "$NG_FWD" "$NG_CACHE" ${BASE_PROXY:-} ${BASE_CACHE:-}; do
    for _ in 1 2 3; do curl -s -o /dev/null -H "Authorization: $TOKEN" "http://127.0.0.1:$port/api/collections/quotes/records/$QUOTE"; done
done
hit=$(curl -s -D - -o /dev/null -H "Authorization: $TOKEN" "http://127.0.0.1:$GW_CACHE/api/collections/quotes/records/$QUOTE" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache-status"{print $2}')
nghit=$(curl -s -D - -o /dev/null -H "Authorization: $TOKEN" "http://127.0.0.1:$NG_CACHE/api/collections/quotes/records/$QUOTE" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache-status"{print $2}')
echo "cache check: stoa gateway X-Cache-Status=$hit, nginx X-Cache-Status=$nghit" >&2

# Throughput: ROUNDS rounds (default 3), each running every proxy in turn, so a slow moment of
# this shared machine falls on one round of each rather than on one proxy; each row reports
# its medians over the rounds (errors: the sum), and the gateway/nginx ratio of each round.
ROUNDS="${ROUNDS:-3}"
declare -A SERIES
# measure SERIES NAME PORT PID... -> one run, its "rps p50 p99 errors cpu" appended to SERIES
measure() {
    local series=$1 name=$2 port=$3 rps p50 p99 err cpu; shift 3
    read -r rps p50 p99 err _ _ cpu <<<"$(run "$name" "$port" 16 "$@")"
    SERIES[$series]+="$rps $p50 $p99 $err $cpu;"
}
# medians SERIES -> "rps p50 p99 errors cpu" (medians; errors summed)
medians() {
    python3 - "${SERIES[$1]}" <<'PY'
import statistics, sys
rows = [r.split() for r in sys.argv[1].split(";") if r.strip()]
med = lambda i: statistics.median(float(r[i]) for r in rows)
print(f"{med(0):.0f} {med(1):.2f} {med(2):.2f} {sum(int(r[3]) for r in rows)} {med(4):.0f}")
PY
}
# per_round A B -> A's req/s over B's, round by round ("0.88 0.91 0.90")
per_round() {
    python3 - "${SERIES[$1]}" "${SERIES[$2]}" <<'PY'
import sys
a, b = ([float(r.split()[0]) for r in s.split(";") if r.strip()] for s in sys.argv[1:3])
print(" ".join(f"{x / y:.2f}" for x, y in zip(a, b)))
PY
}
# The floors (see the header): the gateway's cache hit answered by SwiftNIO alone, through NIO's
# HTTP/1 server pipeline with its defaults (codec), through its request decoder alone with the
# answer written as prepared bytes (decoder), and with no HTTP codec at all (raw); and NIO's
# server and client pipelines relaying each request to the same three nodes (proxy).
if [ -n "${FLOOR:-}" ]; then
    curl -s -i -H "Authorization: $TOKEN" "http://127.0.0.1:$GW_CACHE/api/collections/quotes/records/$QUOTE" >"$TMP/hit.http"
    declare -A FLOOR_PORT FLOOR_PID
    for mode in codec decoder raw proxy; do
        take_port p
        if [ "$mode" = proxy ]; then spec="127.0.0.1:${HTTP[n1]},127.0.0.1:${HTTP[n2]},127.0.0.1:${HTTP[n3]}"; probe=/api/health; else spec=$TMP/hit.http; probe=/; fi
        "$FLOOR" "$mode" "$p" "$spec" >>"$TMP/floor-$mode.log" 2>&1 &
        PIDS+=($!)
        FLOOR_PORT[$mode]=$p FLOOR_PID[$mode]=$!
        for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$p$probe" && break; sleep 0.1; done
    done
fi
for round in $(seq 1 "$ROUNDS"); do
    echo "round $round of $ROUNDS" >&2
    measure direct "direct-r$round" "${HTTP[n1]}" "${PID[n1]}"
    # shellcheck disable=SC2086
    measure nginx-proxy "nginx-proxy-r$round" "$NG_PROXY" $NGINX_WORKERS
    # shellcheck disable=SC2086
    measure nginx-fwd "nginx-fwd-r$round" "$NG_FWD" $NGINX_WORKERS
    measure stoa-proxy "stoa-proxy-r$round" "$GW_PROXY" "${GWPID[gw-proxy]}"
    if [ -n "${BASELINE_STOA:-}" ]; then measure base-proxy "base-proxy-r$round" "$BASE_PROXY" "${GWPID[base-proxy]}"; fi
    if [ -n "${FLOOR:-}" ]; then measure floor-proxy "floor-proxy-r$round" "${FLOOR_PORT[proxy]}" "${FLOOR_PID[proxy]}"; fi
    # shellcheck disable=SC2086
    measure nginx-cache "nginx-cache-r$round" "$NG_CACHE" $NGINX_WORKERS
    measure stoa-cache "stoa-cache-r$round" "$GW_CACHE" "${GWPID[gw-cache]}"
    if [ -n "${BASELINE_STOA:-}" ]; then measure base-cache "base-cache-r$round" "$BASE_CACHE" "${GWPID[base-cache]}"; fi
    if [ -n "${FLOOR:-}" ]; then
        measure floor-codec "floor-codec-r$round" "${FLOOR_PORT[codec]}" "${FLOOR_PID[codec]}"
        measure floor-decoder "floor-decoder-r$round" "${FLOOR_PORT[decoder]}" "${FLOOR_PID[decoder]}"
        measure floor-raw "floor-raw-r$round" "${FLOOR_PORT[raw]}" "${FLOOR_PID[raw]}"
    fi
done
read -r d_rps d_p50 d_p99 d_err d_cpu <<<"$(medians direct)"
read -r np_rps np_p50 np_p99 np_err np_cpu <<<"$(medians nginx-proxy)"
read -r gp_rps gp_p50 gp_p99 gp_err gp_cpu <<<"$(medians stoa-proxy)"
read -r nfw_rps nfw_p50 nfw_p99 nfw_err nfw_cpu <<<"$(medians nginx-fwd)"
gwf_rounds=$(per_round stoa-proxy nginx-fwd)
read -r nc_rps nc_p50 nc_p99 nc_err nc_cpu <<<"$(medians nginx-cache)"
read -r gc_rps gc_p50 gc_p99 gc_err gc_cpu <<<"$(medians stoa-cache)"
gp_rounds=$(per_round stoa-proxy nginx-proxy); gc_rounds=$(per_round stoa-cache nginx-cache)
if [ -n "${BASELINE_STOA:-}" ]; then
    read -r bp_rps bp_p50 bp_p99 bp_err bp_cpu <<<"$(medians base-proxy)"
    read -r bc_rps bc_p50 bc_p99 bc_err bc_cpu <<<"$(medians base-cache)"
    bp_rounds=$(per_round base-proxy nginx-proxy); bc_rounds=$(per_round base-cache nginx-cache)
fi
if [ -n "${FLOOR:-}" ]; then
    read -r fp_rps fp_p50 fp_p99 fp_err fp_cpu <<<"$(medians floor-proxy)"
    fp_rounds=$(per_round floor-proxy nginx-proxy)
    for mode in codec decoder raw; do
        read -r rps p50 p99 err cpu <<<"$(medians "floor-$mode")"
        printf -v "floor_$mode" '%s' "$rps ($p50, $p99) | $cpu | $(ratio "$rps" "$nc_rps") ($(per_round "floor-$mode" nginx-cache)) | errors $err"
    done
    for mode in codec decoder raw proxy; do kill "${FLOOR_PID[$mode]}" 2>/dev/null || true; done
fi
# The gateway's admitted counter. On a build without the admin listener /metrics is on the client
# port, where the request for it is one more admitted request.
admitted_metric() { curl -sf "http://127.0.0.1:${GWADMIN[gw-limit]}/metrics" | awk '/^stoa_gateway_ratelimit_admitted_total/ {print $2}'; }
metric_requests=$([ "${GWADMIN[gw-limit]}" = "$GW_LIMIT" ] && echo 1 || echo 0)
sleep 1 # both limiters start the run with a full burst
nginx_before=$(grep -vc '^429$' "$TMP/nginx/logs/limit.log" 2>/dev/null || true)
read -r _ _ _ nl_rej nl_total nl_elapsed _ <<<"$(RUN_SECONDS=$LIMIT_SECONDS run nginx-limit "$NG_LIMIT" 32)"
sleep 1
nl_counted=$(( $(grep -vc '^429$' "$TMP/nginx/logs/limit.log") - ${nginx_before:-0} ))
gateway_before=$(admitted_metric)
sleep 1
read -r _ _ _ gl_rej gl_total gl_elapsed _ <<<"$(RUN_SECONDS=$LIMIT_SECONDS run stoa-limit "$GW_LIMIT" 32)"
sleep 1
gl_counted=$(python3 -c "print(int(float('$(admitted_metric)') - float('$gateway_before') - $metric_requests))")
accuracy() { python3 -c "a=$1-$2; e=1000*$3+100; print(f'{a} admitted of {$1} (expected {e:.0f} = 1000 r/s x {$3:.2f} s + 100: {a/e*100:.2f} %)')"; }
counted() { python3 -c "e=1000*$2+100; print(f'{$1} ({$1/e*100:.2f} %)')"; }

# Failover: kill n3 three seconds into the run, then bring it back for the next one.
failover() {
    local name=$1 port=$2
    ( sleep 3; kill -9 "${PID[n3]}" ) &
    local killer=$!
    run "$name" "$port" >"$TMP/$name.result"
    wait "$killer" || true
    start_node n3
}
failover nginx-failover "$NG_PROXY"
read -r nf_rps _ _ nf_err nf_total _ <"$TMP/nginx-failover.result"
sleep 6 # nginx's fail_timeout, so it uses n3 again
wait_routing "${GWADMIN[gw-fail]}" || echo "the gateway did not re-admit n3" >&2
failover stoa-failover "$GW_FAIL"
read -r gf_rps _ _ gf_err gf_total _ <"$TMP/stoa-failover.result"

echo
echo "| measure | direct to one node | nginx | Stoa gateway | gateway / nginx |"
echo "|---|---|---|---|---|"
echo "| proxied get req/s (p50, p99 ms) | $d_rps ($d_p50, $d_p99) | $np_rps ($np_p50, $np_p99) = $(ratio "$np_rps" "$d_rps") of direct | $gp_rps ($gp_p50, $gp_p99) = $(ratio "$gp_rps" "$d_rps") of direct | $(ratio "$gp_rps" "$np_rps") (rounds: $gp_rounds) |"
echo "| proxied get: CPU µs/req of the node / proxy | $d_cpu | $np_cpu | $gp_cpu | |"
echo "| proxied get, nginx forwarding the client's address as PocketBase's docs configure it: req/s (p50, p99 ms) | | $nfw_rps ($nfw_p50, $nfw_p99) = $(ratio "$nfw_rps" "$d_rps") of direct | $gp_rps ($gp_p50, $gp_p99) | $(ratio "$gp_rps" "$nfw_rps") (rounds: $gwf_rounds) |"
echo "| proxied get (forwarding): CPU µs/req of the proxy | | $nfw_cpu | $gp_cpu | |"
echo "| cache-hit get req/s (p50, p99 ms) | | $nc_rps ($nc_p50, $nc_p99) = $(ratio "$nc_rps" "$d_rps") of direct | $gc_rps ($gc_p50, $gc_p99) = $(ratio "$gc_rps" "$d_rps") of direct | $(ratio "$gc_rps" "$nc_rps") (rounds: $gc_rounds) |"
echo "| cache-hit get: CPU µs/req of the proxy | | $nc_cpu | $gc_cpu | |"
echo "| limiter 1000 r/s burst 100, 32 clients, answers wrk got | | $(accuracy "$nl_total" "$nl_rej" "$nl_elapsed") | $(accuracy "$gl_total" "$gl_rej" "$gl_elapsed") | |"
echo "| limiter: admitted as the limiter counted | | $(counted "$nl_counted" "$nl_elapsed") | $(counted "$gl_counted" "$gl_elapsed") | |"
echo "| failover: n3 SIGKILLed at 3 s | | $nf_err failed of $nf_total ($nf_rps req/s) | $gf_err failed of $gf_total ($gf_rps req/s) | |"
echo "| errors in the other runs | $d_err | proxy $np_err, forwarding $nfw_err, cache $nc_err | proxy $gp_err, cache $gc_err | |"
if [ -n "${FLOOR:-}" ]; then
    echo
    echo "The floor under a cache hit: the gateway's hit response, byte for byte, answered by SwiftNIO alone ($FLOOR), same wrk:"
    echo
    echo "| server | req/s (p50, p99 ms) | CPU µs/req | / nginx cache hit | |"
    echo "|---|---|---|---|---|"
    echo "| nginx, cache hit | $nc_rps ($nc_p50, $nc_p99) | $nc_cpu | 1.00x | |"
    echo "| Stoa gateway, cache hit | $gc_rps ($gc_p50, $gc_p99) | $gc_cpu | $(ratio "$gc_rps" "$nc_rps") ($gc_rounds) | |"
    echo "| SwiftNIO HTTP/1 server pipeline (its defaults), fixed answer, no other work | $floor_codec |"
    echo "| SwiftNIO request decoder, the answer written as prepared bytes (as the gateway writes a hit) | $floor_decoder |"
    echo "| SwiftNIO, no HTTP codec (writes the bytes per blank line read) | $floor_raw |"
fi
if [ -n "${FLOOR:-}" ]; then
    echo
    echo "The floor under a proxied request: NIO's HTTP/1 server and client pipelines relaying each request to the same nodes, nothing else ($FLOOR proxy), same wrk:"
    echo
    echo "| proxy | req/s (p50, p99 ms) | CPU µs/req | / nginx proxied |"
    echo "|---|---|---|---|"
    echo "| nginx | $np_rps ($np_p50, $np_p99) | $np_cpu | 1.00x |"
    echo "| Stoa gateway | $gp_rps ($gp_p50, $gp_p99) | $gp_cpu | $(ratio "$gp_rps" "$np_rps") ($gp_rounds) |"
    echo "| SwiftNIO relay (floor) | $fp_rps ($fp_p50, $fp_p99) | $fp_cpu | $(ratio "$fp_rps" "$np_rps") ($fp_rounds) |"
fi
if [ -n "${BASELINE_STOA:-}" ]; then
    echo
    echo "Baseline gateway ($BASELINE_STOA) in the same run, same nodes:"
    echo
    echo "| measure | baseline gateway | Stoa gateway ($STOA) | baseline / nginx | gateway / nginx |"
    echo "|---|---|---|---|---|"
    echo "| proxied get req/s (p50, p99 ms) | $bp_rps ($bp_p50, $bp_p99) | $gp_rps ($gp_p50, $gp_p99) | $(ratio "$bp_rps" "$np_rps") ($bp_rounds) | $(ratio "$gp_rps" "$np_rps") ($gp_rounds) |"
    echo "| proxied get: CPU µs/req | $bp_cpu | $gp_cpu | nginx $np_cpu | |"
    echo "| cache-hit get req/s (p50, p99 ms) | $bc_rps ($bc_p50, $bc_p99) | $gc_rps ($gc_p50, $gc_p99) | $(ratio "$bc_rps" "$nc_rps") ($bc_rounds) | $(ratio "$gc_rps" "$nc_rps") ($gc_rounds) |"
    echo "| cache-hit get: CPU µs/req | $bc_cpu | $gc_cpu | nginx $nc_cpu | |"
    echo "| errors | proxy $bp_err, cache $bc_err | | | |"
fi
echo
echo "medians of $ROUNDS rounds (each runs every proxy in turn; per-round ratios in brackets), ${DURATION}s per run (limiter: ${LIMIT_SECONDS}s), wrk -t2 -c16 (limiter: -c32), get-by-id of one quote with the owner's token; raw output in $OUT/gw-*.txt"
