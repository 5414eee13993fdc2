#!/usr/bin/env python3
"""Replication figures of a three-node Stoa cluster on loopback (a benchmark, not a test).

    python3 benchmarks/cluster_bench.py [--stoa .build/release/stoa] [--writes 300] [--catch-up 10000]

Measures, in one run:
  1. visibility: time from an acknowledged create on n1 until a GET of it succeeds on n2 and on n3
     (light load: one write at a time; p50/p99 over --writes writes);
  2. catch-up: n3 is stopped, --catch-up creates go to n1, n3 restarts; time from n3's start until
     its version vector covers every change of n1;
  3. failure detection: n3 is killed with SIGKILL; time until n1 and n2 both list it as dead.
Needs httpx (`pip install httpx`; Tests/python/run.sh installs it in .build/pyvenv).
"""
import argparse
import concurrent.futures
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import httpx


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, stoa, name, data, http_port, gossip_port, join):
        self.name, self.http_port, self.gossip_port = name, http_port, gossip_port
        self.url = f"http://127.0.0.1:{http_port}"
        args = [stoa, "node", "--name", name, "--data", os.path.join(data, name),
                "--http", f"127.0.0.1:{http_port}", "--gossip", f"127.0.0.1:{gossip_port}",
                "--cluster-key", "bench-key", "--bcrypt-cost", "4", "--log-level", "warning"]
        if join:
            args += ["--join", ",".join(f"127.0.0.1:{p}" for p in join)]
        env = dict(os.environ, STOA_TOKEN_SECRET="bench-secret")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=15)


def wait(predicate, timeout, step=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except httpx.HTTPError:
            pass
        time.sleep(step)
    return False


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stoa", default=".build/release/stoa")
    ap.add_argument("--writes", type=int, default=300)
    ap.add_argument("--catch-up", type=int, default=10000)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="stoa-cluster-bench-")
    ports = {n: (free_port(), free_port()) for n in ("n1", "n2", "n3")}
    nodes = {}
    client = httpx.Client(timeout=10)
    try:
        nodes["n1"] = Node(args.stoa, "n1", data, *ports["n1"], [])
        for n in ("n2", "n3"):
            nodes[n] = Node(args.stoa, n, data, *ports[n], [ports["n1"][1]])

        def members(n):
            return {m["name"]: m["status"] for m in client.get(nodes[n].url + "/api/cluster").json()["members"]}

        assert wait(lambda: all(sum(s == "alive" for s in members(n).values()) == 2 for n in nodes), 30), "no join"
        u = client.post(nodes["n1"].url + "/api/collections/users/records",
                        json={"email": "bench@example.com", "password": "12345678", "passwordConfirm": "12345678"})
        u.raise_for_status()
        token = client.post(nodes["n1"].url + "/api/collections/users/auth-with-password",
                            json={"identity": "bench@example.com", "password": "12345678"}).json()["token"]
        headers = {"Authorization": token}

        # 1. visibility latency at light load
        lat = {"n2": [], "n3": []}
        for i in range(args.writes):
            r = client.post(nodes["n1"].url + "/api/collections/quotes/records", headers=headers, json={"content": f"v{i}"})
            r.raise_for_status()
            acked = time.monotonic()
            rid = r.json()["id"]
            pending = {"n2", "n3"}
            deadline = acked + 10
            while pending and time.monotonic() < deadline:
                for n in list(pending):
                    if client.get(f"{nodes[n].url}/api/collections/quotes/records/{rid}", headers=headers).status_code == 200:
                        lat[n].append((time.monotonic() - acked) * 1000)
                        pending.discard(n)
            assert not pending, f"write {i} not visible on {pending} within 10 s"
        both = lat["n2"] + lat["n3"]
        print(f"visibility after ack ({args.writes} writes, polled): p50 {pct(both, 50):.1f} ms, p99 {pct(both, 99):.1f} ms, max {max(both):.1f} ms")

        # 2. catch-up of a restarted node that missed N writes
        nodes["n3"].stop()
        local = threading.local()

        def write(i):
            if not hasattr(local, "client"):
                local.client = httpx.Client(timeout=10)
            local.client.post(nodes["n1"].url + "/api/collections/quotes/records", headers=headers,
                              json={"content": f"c{i}"}).raise_for_status()

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            t0 = time.monotonic()
            list(pool.map(write, range(args.catch_up)))
            write_secs = time.monotonic() - t0
        n1_status = client.get(nodes["n1"].url + "/api/cluster").json()
        target, n1_origin = n1_status["localSequence"], n1_status["origin"]
        nodes["n3"] = Node(args.stoa, "n3", data, *ports["n3"], [ports["n1"][1]])

        def caught_up():
            vv = client.get(nodes["n3"].url + "/api/cluster").json()["versionVector"]
            return vv.get(n1_origin, {}).get("contiguous", 0) >= target

        assert wait(lambda: client.get(nodes["n3"].url + "/api/health").status_code == 200, 30)
        serving = time.monotonic()
        assert wait(caught_up, 120), "n3 did not catch up"
        done = time.monotonic()
        print(f"catch-up: {args.catch_up} missed writes (written in {write_secs:.1f} s) applied by the restarted node "
              f"{done - serving:.2f} s after it started serving HTTP ({done - nodes['n3'].started:.2f} s after exec, "
              f"which includes process start and join)")

        # 3. failure detection
        assert wait(lambda: members("n1").get("n3") == "alive" and members("n2").get("n3") == "alive", 30)
        nodes["n3"].stop(signal.SIGKILL)
        killed = time.monotonic()
        assert wait(lambda: members("n1").get("n3") == "dead" and members("n2").get("n3") == "dead", 60, 0.05)
        print(f"failure detection: n3 marked dead by n1 and n2 {time.monotonic() - killed:.2f} s after SIGKILL (defaults)")
    finally:
        for node in nodes.values():
            node.stop(signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
