#!/usr/bin/env bash
# A client that pipelines requests and reads none of the answers: one release node and a gateway
# of STOA on loopback; one connection sends "GET /nope" (answered by the gateway itself, a 404)
# as fast as the socket takes them for SECONDS and never reads; prints the requests the socket
# took and the gateway's RSS before and after. A gateway that stops reading such a client keeps
# its RSS; one that goes on answering into its own buffers grows by what it could not send.
#
#   bash benchmarks/unread-answers.sh STOA [SECONDS]     (default 10)
#   IDLE_TIMEOUT=5 bash benchmarks/unread-answers.sh STOA   (the gateway's --idle-timeout, s)
set -u
STOA=${1:?usage: bash benchmarks/unread-answers.sh STOA [SECONDS]}; SECS=${2:-10}
fp() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
d=$(mktemp -d); H=$(fp); G=$(fp); P=$(fp); A=$(fp)
"$STOA" node --name n1 --data "$d/n1" --http "127.0.0.1:$H" --gossip "127.0.0.1:$G" --cluster-key k --token-secret s --bcrypt-cost 4 --log-level warning >"$d/n.log" 2>&1 &
NP=$!
"$STOA" gateway --http "127.0.0.1:$P" --admin-http "127.0.0.1:$A" --join "127.0.0.1:$G" --cluster-key k --token-secret s --no-rate-limit ${IDLE_TIMEOUT:+--idle-timeout "$IDLE_TIMEOUT"} --log-level warning >"$d/g.log" 2>&1 &
GP=$!
trap 'kill $NP $GP 2>/dev/null; wait 2>/dev/null; rm -rf "$d"' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$A/api/gateway" && break; sleep 0.2; done
python3 - "$P" "$GP" "$SECS" <<'PY'
import socket, sys, time
port, pid, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"): return int(line.split()[1]) // 1024
one = b"GET /nope HTTP/1.1\r\nHost: gw\r\n\r\n"
batch = one * 1000
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(0.5)
sent, before, closed = 0, rss(), ""
end = time.time() + secs
while time.time() < end:
    try: sent += s.send(batch)
    except socket.timeout: pass
    except OSError as error:
        closed = f"; the gateway closed the connection after {secs - (end - time.time()):.1f} s ({error.strerror})"
        break
print(f"{sent // len(one)} requests ({sent / 1e6:.1f} MB) taken in {secs:.0f} s, none of the answers read; gateway RSS {before} MiB -> {rss()} MiB{closed}")
PY
