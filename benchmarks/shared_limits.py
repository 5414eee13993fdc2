#!/usr/bin/env python3
"""Several gateways, one set of limits (issue 17): one user's requests offered at 5x the user's
rate, spread evenly over N gateways in front of one node, for each N given; prints admitted
against rate x time + burst (and, as the anchor, the same with the exchange off: each gateway's
limits its own).

    python3 benchmarks/shared_limits.py [--stoa .build/release/stoa] [--gateways 2,3]
        [--rate 20] [--burst 20] [--seconds 10]

Starts and stops every process itself (loopback, free ports); prints a Markdown table.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = token
    connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    try:
        return response.status, json.loads(data or b"{}")
    except ValueError:
        return response.status, {}


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def silent_gateways(admin_port: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=5)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    found = re.search(r"^stoa_gateway_ratelimit_silent_gateways (\S+)$", text, re.M)
    return float(found.group(1)) if found else -1


def offer(token: str, ports: list[int], per_second: float, seconds: float) -> tuple[int, int, float]:
    """Offers reads at `per_second` round-robin over `ports`; returns (admitted, offered, elapsed)."""
    count = int(per_second * seconds)
    results: list[int] = []
    lock = threading.Lock()
    start = time.monotonic()

    def one(index: int) -> None:
        status, _ = request(ports[index % len(ports)], "GET", "/api/collections/quotes/records?perPage=1", token=token)
        with lock:
            results.append(status)

    threads = []
    for index in range(count):
        delay = start + index / per_second - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=one, args=(index,))
        thread.start()
        threads.append(thread)
    elapsed = time.monotonic() - start
    for thread in threads:
        thread.join()
    unexpected = [s for s in results if s not in (200, 429)]
    if unexpected:
        raise SystemExit(f"unexpected statuses: {sorted(set(unexpected))}")
    return results.count(200), count, elapsed


def run(stoa: str, gateways: int, rate: float, burst: int, seconds: float, exchange_ms: int) -> tuple[int, int, float]:
    folder = tempfile.mkdtemp(prefix="stoa-shared-limits-")
    processes = []
    try:
        http_port, gossip_port = free_port(), free_port()
        node_log = open(os.path.join(folder, "n1.log"), "w")
        processes.append(subprocess.Popen([stoa, "node", "--name", "n1", "--data", os.path.join(folder, "n1"), "--http", f"127.0.0.1:{http_port}",
                                           "--gossip", f"127.0.0.1:{gossip_port}", "--cluster-key", "bench", "--token-secret", "bench", "--bcrypt-cost", "4",
                                           "--log-level", "warning"], stdout=node_log, stderr=subprocess.STDOUT))
        wait_for(lambda: request(http_port, "GET", "/api/health")[0] == 200, 30, "the node")
        request(http_port, "POST", "/api/collections/users/records", {"email": "b@example.com", "password": "12345678", "passwordConfirm": "12345678"})
        token = request(http_port, "POST", "/api/collections/users/auth-with-password", {"identity": "b@example.com", "password": "12345678"})[1]["token"]
        ports, admins = [], []
        for index in range(gateways):
            port, admin = free_port(), free_port()
            log = open(os.path.join(folder, f"g{index}.log"), "w")
            processes.append(subprocess.Popen([stoa, "gateway", "--name", f"g{index}", "--http", f"127.0.0.1:{port}", "--admin-http", f"127.0.0.1:{admin}",
                                               "--join", f"127.0.0.1:{gossip_port}", "--cluster-key", "bench", "--token-secret", "bench",
                                               "--rate-limit", f"user:user:all:{rate}:{burst}", "--cache-bytes", "0", "--limit-exchange-ms", str(exchange_ms),
                                               "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT))
            ports.append(port)
            admins.append(admin)
        for port in ports:
            wait_for(lambda: request(port, "GET", "/api/health")[0] == 200, 30, "a gateway")
        if exchange_ms > 0:
            wait_for(lambda: all(silent_gateways(admin) == 0 for admin in admins), 30, "the gateways to hear each other")
        time.sleep(1.0 / rate * burst + 0.5)   # the token's bucket full again after the checks
        return offer(token, ports, 5 * rate, seconds)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stoa", default=".build/release/stoa")
    parser.add_argument("--gateways", default="2,3")
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    print(f"one user offered {5 * args.rate:g} r/s (5x a {args.rate:g} r/s, burst {args.burst} policy) for {args.seconds:g} s, spread evenly over the gateways\n")
    print("| gateways | exchange | admitted of offered | expected (rate x time + burst) | admitted / expected |")
    print("|---|---|---|---|---|")
    for gateways in [int(n) for n in args.gateways.split(",")]:
        for exchange in (50, 0):
            admitted, offered, elapsed = run(args.stoa, gateways, args.rate, args.burst, args.seconds, exchange)
            expected = args.rate * elapsed + args.burst
            label = "every 50 ms" if exchange else "off (anchor)"
            print(f"| {gateways} | {label} | {admitted} of {offered} | {expected:.0f} | {admitted / expected:.3f} |", flush=True)


if __name__ == "__main__":
    main()
