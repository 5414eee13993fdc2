#!/usr/bin/env python3
"""Cost of encrypted cluster traffic (issue 14): CPU per replicated change and catch-up time of a
joining node, for two `stoa` builds in the same run (a benchmark, not a test).

    python3 benchmarks/crypto_bench.py --stoa .build/release/stoa --baseline /tmp/anchor/.build/release/stoa \
        [--changes 5000] [--catch-up 20000] [--rounds 2]

Per build and round, on loopback: n1 and n2 form a cluster (n2 joined n1).
  1. live: --changes creates go to n1 (8 clients); the CPU time (utime+stime from /proc) n2 spends
     until its version vector covers all of n1's changes, and n1's over the same span, per change.
     n2 only receives, opens, decodes and merges, so its figure is the replication cost.
  2. catch-up: n2 is stopped, --catch-up creates go to n1, n2 starts again; the time from its start
     until it covers n1's changes, and n2's CPU time in that span.
  3. join: an empty node n3 joins n1 (which now holds --changes + --catch-up quotes); the time from
     its start until it covers n1's changes, and its CPU time.
Builds alternate within each round; the table shows each round and the ratio of medians.
Standard library only.
"""
import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Client:
    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = token
        self.connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else {})


class Node:
    def __init__(self, stoa, name, data, join):
        self.stoa, self.name, self.data = stoa, name, data
        self.http_port, self.gossip_port = free_port(), free_port()
        self.join = join
        self.proc = None

    def start(self):
        args = [self.stoa, "node", "--name", self.name, "--data", os.path.join(self.data, self.name),
                "--http", f"127.0.0.1:{self.http_port}", "--gossip", f"127.0.0.1:{self.gossip_port}",
                "--cluster-key", "bench-key", "--bcrypt-cost", "4", "--log-level", "warning"]
        if self.join:
            args += ["--join", ",".join(f"127.0.0.1:{p}" for p in self.join)]
        env = dict(os.environ, STOA_TOKEN_SECRET="bench-secret")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)

    def status(self):
        return Client(self.http_port).send("GET", "/api/cluster")[1]


def wait(predicate, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            pass
        time.sleep(step)
    return False


def covered(n1, n2):
    origin_status = n1.status()
    origin, sequence = origin_status["origin"], origin_status["localSequence"]
    entry = n2.status()["versionVector"].get(origin, {})
    return entry.get("contiguous", 0) >= sequence


def create(port, token, count, clients=8):
    def work(share, index):
        client = Client(port)
        for i in range(share):
            status, _ = client.send("POST", "/api/collections/quotes/records",
                                    {"content": f"bench quote {index}-{i} " + "x" * 80, "author": "bench", "tags": ["a", "b"]}, token)
            if status != 200:
                raise RuntimeError(f"create: {status}")
    threads = [threading.Thread(target=work, args=(count // clients + (1 if i < count % clients else 0), i)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def run(stoa, changes, catch_up):
    with tempfile.TemporaryDirectory(prefix="stoa-crypto-bench-") as data:
        n1 = Node(stoa, "n1", data, [])
        n1.start()
        n2 = Node(stoa, "n2", data, [n1.gossip_port])
        try:
            if not wait(lambda: n1.status() is not None, 60):
                raise RuntimeError("n1 did not start")
            n2.start()
            alive = lambda: any(m["name"] == "n2" and m["status"] == "alive" for m in n1.status()["members"])
            if not wait(alive, 60):
                raise RuntimeError("n2 did not join")
            client = Client(n1.http_port)
            client.send("POST", "/api/collections/users/records", {"email": "b@example.com", "password": "benchpass1", "passwordConfirm": "benchpass1"})
            token = client.send("POST", "/api/collections/users/auth-with-password", {"identity": "b@example.com", "password": "benchpass1"})[1]["token"]
            wait(lambda: covered(n1, n2), 60)
            time.sleep(1)

            cpu1, cpu2, start = cpu_seconds(n1.proc.pid), cpu_seconds(n2.proc.pid), time.monotonic()
            create(n1.http_port, token, changes)
            if not wait(lambda: covered(n1, n2), 300, step=0.005):
                raise RuntimeError("n2 did not catch up (live)")
            live = {"seconds": time.monotonic() - start,
                    "n1_cpu_us_per_change": (cpu_seconds(n1.proc.pid) - cpu1) / changes * 1e6,
                    "n2_cpu_us_per_change": (cpu_seconds(n2.proc.pid) - cpu2) / changes * 1e6}

            n2.stop()
            create(n1.http_port, token, catch_up)
            n2.start()
            if not wait(lambda: covered(n1, n2), 600, step=0.005):
                raise RuntimeError("n2 did not catch up (restart)")
            catch = {"seconds": time.monotonic() - n2.started, "n2_cpu_seconds": cpu_seconds(n2.proc.pid)}

            n3 = Node(stoa, "n3", data, [n1.gossip_port])
            try:
                n3.start()
                if not wait(lambda: covered(n1, n3), 600, step=0.005):
                    raise RuntimeError("n3 did not catch up (join)")
                joined = {"seconds": time.monotonic() - n3.started, "n3_cpu_seconds": cpu_seconds(n3.proc.pid)}
            finally:
                n3.stop()
            return {"live": live, "catch_up": catch, "join": joined}
        finally:
            n2.stop()
            n1.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stoa", default=".build/release/stoa")
    parser.add_argument("--baseline", required=True, help="the anchor build (HMAC format)")
    parser.add_argument("--changes", type=int, default=5000)
    parser.add_argument("--catch-up", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    builds = {"encrypted": args.stoa, "baseline": args.baseline}
    results = {name: [] for name in builds}
    for round_index in range(args.rounds):
        order = list(builds.items()) if round_index % 2 == 0 else list(reversed(builds.items()))
        for name, stoa in order:
            result = run(stoa, args.changes, args.catch_up)
            results[name].append(result)
            print(f"round {round_index + 1} {name}: {json.dumps(result)}", flush=True)
    def median(name, phase, key):
        return statistics.median(r[phase][key] for r in results[name])
    print(f"\n| figure ({args.changes} live changes, {args.catch_up} caught up, {args.rounds} rounds, medians) | encrypted | baseline (HMAC) | ratio |")
    print("|---|---|---|---|")
    for phase, key, label in [("live", "n2_cpu_us_per_change", "receiver CPU per replicated change (µs)"),
                              ("live", "n1_cpu_us_per_change", "writer CPU per change, HTTP included (µs)"),
                              ("live", "seconds", "live: writes until n2 covers (s)"),
                              ("catch_up", "seconds", "catch-up: n2 start until covered (s)"),
                              ("catch_up", "n2_cpu_seconds", "catch-up: n2 CPU (s)"),
                              ("join", "seconds", "join: empty n3 start until covered (s)"),
                              ("join", "n3_cpu_seconds", "join: n3 CPU (s)")]:
        e, b = median("encrypted", phase, key), median("baseline", phase, key)
        print(f"| {label} | {e:.2f} | {b:.2f} | {e / b:.3f} |")


if __name__ == "__main__":
    sys.exit(main())
