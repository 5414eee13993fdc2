#!/usr/bin/env python3
"""What cache invalidation across gateways costs a write (issue 17): sequential PATCHes of one
quote through gateway g1 in front of one node, with no other gateway (the anchor), then with
one and two other gateways that must acknowledge each write before it is answered; and the
reads through another gateway right after each write, counting stale ones (must be 0).

    python3 benchmarks/cache_sync.py [--stoa .build/release/stoa] [--writes 500]

Starts and stops every process itself (loopback, free ports); prints a Markdown table.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time

from shared_limits import free_port, request, wait_for


def run(stoa: str, peers: int, writes: int) -> tuple[list[float], int, int]:
    """Returns (write latencies in ms, stale reads, cache hits) through g0 with `peers` more gateways."""
    folder = tempfile.mkdtemp(prefix="stoa-cache-sync-")
    processes = []
    try:
        http_port, gossip_port = free_port(), free_port()
        processes.append(subprocess.Popen([stoa, "node", "--name", "n1", "--data", os.path.join(folder, "n1"), "--http", f"127.0.0.1:{http_port}",
                                           "--gossip", f"127.0.0.1:{gossip_port}", "--cluster-key", "bench", "--token-secret", "bench", "--bcrypt-cost", "4",
                                           "--log-level", "warning"], stdout=open(os.path.join(folder, "n1.log"), "w"), stderr=subprocess.STDOUT))
        wait_for(lambda: request(http_port, "GET", "/api/health")[0] == 200, 30, "the node")
        request(http_port, "POST", "/api/collections/users/records", {"email": "c@example.com", "password": "12345678", "passwordConfirm": "12345678"})
        token = request(http_port, "POST", "/api/collections/users/auth-with-password", {"identity": "c@example.com", "password": "12345678"})[1]["token"]
        ports, admins = [], []
        for index in range(1 + peers):
            port, admin = free_port(), free_port()
            processes.append(subprocess.Popen([stoa, "gateway", "--name", f"g{index}", "--http", f"127.0.0.1:{port}", "--admin-http", f"127.0.0.1:{admin}",
                                               "--join", f"127.0.0.1:{gossip_port}", "--cluster-key", "bench", "--token-secret", "bench",
                                               "--rate-limit", "user:user:all:100000:100000", "--cache-ttl-ms", "60000", "--log-level", "warning"],
                                              stdout=open(os.path.join(folder, f"g{index}.log"), "w"), stderr=subprocess.STDOUT))
            ports.append(port)
            admins.append(admin)
        for port in ports:
            wait_for(lambda: request(port, "GET", "/api/health")[0] == 200, 30, "a gateway")
        for admin in admins:
            wait_for(lambda: sum(g.get("status") == "alive" for g in request(admin, "GET", "/api/gateway")[1].get("gateways", [])) == peers, 30,
                     "the gateways to see each other")
        created = request(ports[0], "POST", "/api/collections/quotes/records", {"content": "start"}, token=token)[1]
        view = f"/api/collections/quotes/records/{created['id']}"
        reader = ports[-1]
        wait_for(lambda: request(reader, "GET", view, token=token)[0] == 200, 30, "the quote through the reading gateway")
        time.sleep(1)   # leases established
        latencies, stale = [], 0
        for index in range(writes):
            request(reader, "GET", view, token=token)   # cached there (a hit or a fill)
            started = time.perf_counter()
            status, _ = request(ports[0], "PATCH", view, {"content": f"w{index}"}, token=token)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"a write answered {status}")
            if request(reader, "GET", view, token=token)[1].get("content") != f"w{index}":
                stale += 1
        hits = request(admins[-1], "GET", "/api/gateway")[1].get("cache", {}).get("hits", 0)
        return latencies, stale, hits
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stoa", default=".build/release/stoa")
    parser.add_argument("--writes", type=int, default=500)
    args = parser.parse_args()
    print(f"{args.writes} sequential PATCHes through g0, each read back at once through the last gateway\n")
    print("| other gateways | write p50 ms | write p99 ms | p50 / anchor | stale reads | cache hits on the reader |")
    print("|---|---|---|---|---|---|")
    anchor = None
    for peers in (0, 1, 2):
        latencies, stale, hits = run(args.stoa, peers, args.writes)
        p50 = statistics.median(latencies)
        p99 = statistics.quantiles(latencies, n=100)[98]
        anchor = anchor or p50
        label = f"{peers} (anchor)" if peers == 0 else str(peers)
        print(f"| {label} | {p50:.2f} | {p99:.2f} | {p50 / anchor:.2f}x | {stale} | {hits} |", flush=True)


if __name__ == "__main__":
    main()
