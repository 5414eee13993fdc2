#!/usr/bin/env python3
"""Realtime fan-out and device-sync figures of one Stoa node on loopback (a benchmark, not a test).

    python3 benchmarks/realtime_sync_bench.py [--stoa .build/release/stoa] [--subscribers 1000]
                                              [--writes 200] [--behind 10000]

Measures, in one run:
  1. fan-out: --subscribers SSE clients of one user subscribe to `quotes` on the node; --writes
     creates go to it (4 writers); events delivered per second = subscribers x writes / time from
     the first write to the last event received, and every client must get every event;
  2. sync: a device syncs (cursor), another device pushes --behind creates in batches of 1000
     through POST /api/sync, then the first device pulls everything it is behind: pages, bytes,
     seconds (perPage 1000 and the default 500); then the same number of changes as updates of
     --behind/10 records, which a sync sends once per record.
The subscribers run in this one Python process (asyncio, raw sockets), on the same 2 cores as the
node, so the fan-out figure is a lower bound of what the node can deliver.
Needs httpx (Tests/python/run.sh installs it in .build/pyvenv).
"""
import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import tempfile
import time

import httpx


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_node(stoa, data, queue_limit):
    port = free_port()
    proc = subprocess.Popen(
        [stoa, "node", "--name", "bench", "--data", data, "--http", f"127.0.0.1:{port}",
         "--bcrypt-cost", "4", "--log-level", "warning", "--realtime-queue", str(queue_limit)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/health").status_code == 200:
                return proc, port, url
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the node did not start")


def cpu_seconds(pid):
    """User + system CPU seconds a process has used (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sign_up(url):
    email, password = f"bench-{secrets.token_hex(4)}@example.com", "pw-" + secrets.token_hex(8)
    httpx.post(url + "/api/collections/users/records",
               json={"email": email, "password": password, "passwordConfirm": password}).raise_for_status()
    auth = httpx.post(url + "/api/collections/users/auth-with-password", json={"identity": email, "password": password})
    auth.raise_for_status()
    return auth.json()["token"]


class Subscriber:
    """One SSE client: reads the stream and counts `quotes` events."""

    def __init__(self):
        self.client_id = None
        self.events = 0
        self.last_event_at = None
        self.connected = asyncio.Event()

    async def run(self, port, done_at):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /api/realtime HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        await writer.drain()
        buffer = b""
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                if self.client_id is None:
                    buffer += chunk
                    marker = buffer.find(b"event:PB_CONNECT\ndata:")
                    if marker >= 0 and b"}" in buffer[marker:]:
                        data = buffer[marker + len(b"event:PB_CONNECT\ndata:"):]
                        self.client_id = json.loads(data[:data.index(b"}") + 1])["clientId"]
                        self.connected.set()
                        chunk = data[data.index(b"}") + 1:]
                    else:
                        continue
                count = chunk.count(b"\nevent:quotes\n")
                if count:
                    self.events += count
                    self.last_event_at = time.monotonic()
                    if self.events >= done_at:
                        return
        finally:
            writer.close()


async def fan_out(port, url, token, subscribers, writes):
    clients = [Subscriber() for _ in range(subscribers)]
    tasks = [asyncio.create_task(c.run(port, writes)) for c in clients]
    await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 60)
    headers = {"Authorization": token}
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as http:
        sem = asyncio.Semaphore(32)

        async def subscribe(c):
            async with sem:
                (await http.post("/api/realtime", json={"clientId": c.client_id, "subscriptions": ["quotes"]})).raise_for_status()

        await asyncio.gather(*(subscribe(c) for c in clients))
        started = time.monotonic()
        queue = list(range(writes))

        async def writer():
            while queue:
                n = queue.pop()
                (await http.post("/api/collections/quotes/records", json={"content": f"fan-out {n}"})).raise_for_status()

        await asyncio.gather(*(writer() for _ in range(4)))
        writes_done = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
    except asyncio.TimeoutError:
        pass
    received = sum(c.events for c in clients)
    last = max((c.last_event_at or started) for c in clients)
    complete = sum(1 for c in clients if c.events == writes)
    for t in tasks:
        t.cancel()
    return received, last - started, writes_done - started, complete


def pull_all(url, token, cursor, per_page):
    pages = size = records = deleted = 0
    started = time.monotonic()
    with httpx.Client(base_url=url, headers={"Authorization": token}, timeout=60) as http:
        while True:
            r = http.get("/api/sync", params={"since": cursor, "perPage": per_page})
            r.raise_for_status()
            pages += 1
            size += len(r.content)
            body = r.json()
            records += len(body["items"])
            deleted += len(body["deleted"])
            cursor = body["cursor"]
            if not body["hasMore"]:
                break
    return pages, size, records, deleted, time.monotonic() - started, cursor


def push(url, token, device, edits):
    with httpx.Client(base_url=url, headers={"Authorization": token}, timeout=120) as http:
        for start in range(0, len(edits), 1000):
            r = http.post("/api/sync", json={"device": device, "changes": edits[start:start + 1000]})
            r.raise_for_status()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stoa", default=".build/release/stoa")
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--writes", type=int, default=200)
    ap.add_argument("--behind", type=int, default=10000)
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="stoa-rt-bench-")
    proc, port, url = start_node(args.stoa, os.path.join(data, "node"), max(1024, args.writes + 8))
    try:
        token = sign_up(url)
        node_cpu, own_cpu = cpu_seconds(proc.pid), time.process_time()
        received, elapsed, writes_elapsed, complete = asyncio.run(fan_out(port, url, token, args.subscribers, args.writes))
        node_cpu, own_cpu = cpu_seconds(proc.pid) - node_cpu, time.process_time() - own_cpu
        expected = args.subscribers * args.writes
        print(f"fan-out: {args.subscribers} subscribers x {args.writes} writes = {expected} events; "
              f"received {received} ({complete} clients got all); writes took {writes_elapsed:.2f} s; "
              f"last event after {elapsed:.2f} s -> {received / elapsed:,.0f} events/s delivered")
        print(f"fan-out CPU: node {node_cpu:.2f} s ({node_cpu / max(received, 1) * 1e6:.1f} us per event delivered), "
              f"subscribers and writers (this Python process) {own_cpu:.2f} s")

        token = sign_up(url)
        _, _, _, _, _, cursor = pull_all(url, token, "", 1000)
        now = int(time.time() * 1000) - 600_000
        ids = [f"{n:015d}"[-15:].replace("0", "a", 1) for n in range(args.behind)]
        push(url, token, "other", [{"id": i, "op": "upsert", "time": now + n, "fields": {"content": f"quote {n} " + "x" * 80, "author": "Seneca"}} for n, i in enumerate(ids)])
        for per_page in (1000, 500):
            pages, size, records, deleted, seconds, _ = pull_all(url, token, cursor, per_page)
            print(f"sync {args.behind} creates behind, perPage {per_page}: {pages} pages, {records} records, "
                  f"{size / 1e6:.2f} MB, {seconds:.2f} s")
        _, _, _, _, _, cursor = pull_all(url, token, cursor, 1000)
        hot = ids[: max(1, args.behind // 10)]
        later = now + args.behind + 1000
        push(url, token, "other", [{"id": hot[n % len(hot)], "op": "upsert", "time": later + n, "fields": {"notes": f"edit {n}"}} for n in range(args.behind)])
        pages, size, records, deleted, seconds, _ = pull_all(url, token, cursor, 1000)
        print(f"sync {args.behind} updates of {len(hot)} records behind, perPage 1000: {pages} pages, {records} records, "
              f"{size / 1e6:.2f} MB, {seconds:.2f} s")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


if __name__ == "__main__":
    main()
