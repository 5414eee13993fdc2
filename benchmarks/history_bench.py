#!/usr/bin/env python3
"""Bounded history (issue 13): what Stoa's database costs against PocketBase's, how fast an empty
node holds everything, how big the write-ahead log gets, and creates/s (a benchmark, not a test).

    python3 benchmarks/history_bench.py --stoa .build/release/stoa [--cases 2000x1,2000x20,20000x20]
        [--catch-up 2000,100000] [--creates-seconds 10] [--creates-rounds 1] [--baseline path/to/older/stoa] [--json out.json]

In one run, on this machine:
  1. database bytes after N quotes x E edits: one fresh single Stoa node and one fresh PocketBase
     0.40.6 (benchmarks/pocketbase-setup.sh) get the same API calls from `stoa bench` (N creates,
     then N*E PATCHes of the content, each quote exactly E times, 16 clients); each server is then
     stopped cleanly and its database file measured (Stoa: stoa.sqlite; PocketBase: data.db, with
     auxiliary.db, its request log, reported beside). The write-ahead log's peak size is sampled
     every 20 ms during the writes.
  2. catch-up: a node (in a cluster of one) holds N quotes, its log compacted; an empty node joins it; the time from
     the new node's start until its version vector covers the first node's (then the digests are
     compared).
  3. creates/s, 16 clients, Stoa vs PocketBase (and --baseline, an older Stoa build) in turn,
     --creates-rounds times (default 1), with the Stoa builds' CPU per create and WAL peak.
Prints a table (markdown) and writes the figures as JSON.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMAIL, PASSWORD = "bench@example.com", "benchpass123"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def wait_healthy(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            get_json(url + "/api/health", timeout=2)
            return
        except Exception:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not become healthy")


def log(message):
    print(f"[history] {message}", file=sys.stderr, flush=True)


class WalSampler:
    """Samples the size of a write-ahead log file every 20 ms; .peak is the largest seen."""

    def __init__(self, path):
        self.path, self.peak, self._stop = path, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, os.path.getsize(self.path))
            except OSError:
                pass
            time.sleep(0.02)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak


def stoa_bench(stoa, url, workload, seed, requests=None, seconds=None, clients=16):
    args = [stoa, "bench", "--url", url, "--workload", workload, "--clients", str(clients), "--warmup", "0",
            "--email", EMAIL, "--password", PASSWORD, "--format", "json", "--quiet"]
    if seed:
        args += ["--seed", str(seed)]
    args += ["--requests", str(requests)] if requests else ["--duration", str(seconds)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    errors = report.get("result", report).get("errors", 0) if isinstance(report, dict) else 0
    if errors:
        raise RuntimeError(f"{workload} against {url}: {errors} errors")
    return report


def requests_per_second(report):
    for key in ("requestsPerSecond", "throughput", "rps"):
        if key in report:
            return report[key]
    result = report.get("result", {})
    for key in ("requestsPerSecond", "throughput", "rps"):
        if key in result:
            return result[key]
    raise KeyError(f"no throughput in {list(report)}")


class StoaNode:
    def __init__(self, stoa, name, data, gossip=None, join=None):
        self.data, self.port = data, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [stoa, "node", "--name", name, "--data", data, "--http", f"127.0.0.1:{self.port}", "--bcrypt-cost", "4",
                "--token-secret", "bench-secret", "--log-level", "warning"]
        if gossip:
            args += ["--gossip", f"127.0.0.1:{gossip}", "--cluster-key", "bench-key"]
        if join:
            args += ["--join", f"127.0.0.1:{join}"]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_healthy(self.url)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)


class PocketBase:
    def __init__(self, data):
        self.data, self.port = data, free_port()
        out = subprocess.run(["bash", os.path.join(REPO, "benchmarks/pocketbase-setup.sh"), str(self.port), data],
                             check=True, capture_output=True, text=True, env=dict(os.environ, PB_INDEX="1")).stdout
        values = dict(re.findall(r"^(\w+)=(.*)$", out, re.M))
        self.url = values["PB_URL"]

    def stop(self):
        subprocess.run(["bash", os.path.join(REPO, "benchmarks/pocketbase-setup.sh"), "stop", str(self.port), self.data],
                       check=False, capture_output=True)


def size(path):
    return os.path.getsize(path) if os.path.exists(path) else 0


def storage_case(stoa, quotes, edits, root):
    row = {"quotes": quotes, "edits": edits}
    for server in ("stoa", "pocketbase"):
        data = tempfile.mkdtemp(dir=root)
        if server == "stoa":
            node = StoaNode(stoa, "h1", data)
            sampler = WalSampler(os.path.join(data, "stoa.sqlite-wal"))
            url = node.url
        else:
            node = PocketBase(data)
            sampler = WalSampler(os.path.join(data, "data.db-wal"))
            url = node.url
        started = time.monotonic()
        stoa_bench(stoa, url, "create", 0, requests=quotes) if edits == 0 else \
            stoa_bench(stoa, url, "edit", quotes, requests=quotes * edits)
        row[f"{server}_write_seconds"] = round(time.monotonic() - started, 1)
        row[f"{server}_wal_peak"] = sampler.stop()
        node.stop()
        if server == "stoa":
            row["stoa_bytes"] = size(os.path.join(data, "stoa.sqlite")) + size(os.path.join(data, "stoa.sqlite-wal"))
        else:
            row["pocketbase_bytes"] = size(os.path.join(data, "data.db")) + size(os.path.join(data, "data.db-wal"))
            row["pocketbase_auxiliary_bytes"] = size(os.path.join(data, "auxiliary.db"))
        log(f"{quotes} x {edits}: {server} {row[f'{server}_bytes'] / 1e6:.2f} MB, WAL peak {row[f'{server}_wal_peak'] / 1e6:.1f} MB")
        shutil.rmtree(data, ignore_errors=True)
    row["stoa_bytes_per_quote"] = round(row["stoa_bytes"] / quotes)
    row["pocketbase_bytes_per_quote"] = round(row["pocketbase_bytes"] / quotes)
    row["ratio"] = round(row["stoa_bytes"] / row["pocketbase_bytes"], 2)
    return row


def covers(vector, other):
    return all(vector.get(origin, {}).get("contiguous", 0) >= entry.get("contiguous", 0) for origin, entry in other.items())


def catch_up_case(stoa, quotes, root):
    first_gossip = free_port()
    first = StoaNode(stoa, "c1", tempfile.mkdtemp(dir=root), gossip=first_gossip)
    try:
        log(f"catch-up: writing {quotes} quotes to c1")
        stoa_bench(stoa, first.url, "create", 0, requests=quotes)
        target = get_json(first.url + "/api/cluster")["versionVector"]
        # As after a while in production: the log is compacted (alone, c1 compacts everything
        # every --compaction-ms), so the newcomer is caught up by state transfer.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            floor = get_json(first.url + "/api/cluster")["logFloor"]
            if all(floor.get(origin, 0) >= entry["contiguous"] for origin, entry in target.items()):
                break
            time.sleep(0.2)
        second = StoaNode(stoa, "c2", tempfile.mkdtemp(dir=root), gossip=free_port(), join=first_gossip)
        try:
            deadline = second.started + 600
            while time.monotonic() < deadline:
                if covers(get_json(second.url + "/api/cluster")["versionVector"], target):
                    break
                time.sleep(0.02)
            took = time.monotonic() - second.started
            digests = {get_json(node.url + "/api/cluster?digest=1", timeout=120)["digest"] for node in (first, second)}
            transfers = get_json(second.url + "/api/cluster")["counters"].get("stateTransfersReceived", 0)
            log(f"catch-up of {quotes} quotes: {took:.2f} s (state transfers {transfers}, digests equal: {len(digests) == 1})")
            return {"quotes": quotes, "seconds": round(took, 2), "digests_equal": len(digests) == 1, "state_transfers": transfers}
        finally:
            second.stop()
    finally:
        first.stop()


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def creates(stoa, seconds, root, baseline=None, rounds=1):
    """Creates/s of each server, 16 clients: Stoa, PocketBase, then --baseline, `rounds` times in
    turn (the order rotating each round); per server the median creates/s, the median CPU of the
    server process per create (Stoa builds only) and the largest WAL peak, plus the median of the
    per-round ratios of Stoa to each other server (this machine is shared: a ratio within one
    round is steadier than one of medians)."""
    servers = [("stoa", stoa), ("pocketbase", None)] + ([("baseline", baseline)] if baseline else [])
    runs = {name: [] for name, _ in servers}
    for r in range(rounds):
        for name, binary in servers[r % len(servers):] + servers[:r % len(servers)]:
            data = tempfile.mkdtemp(dir=root)
            node = StoaNode(binary, "k1", data) if binary else PocketBase(data)
            peak = WalSampler(os.path.join(data, "stoa.sqlite-wal")) if binary else None
            try:
                before = cpu_ticks(node.proc.pid) if binary else 0
                rate = requests_per_second(stoa_bench(stoa, node.url, "create", 0, seconds=seconds))
                cpu = (cpu_ticks(node.proc.pid) - before) / os.sysconf("SC_CLK_TCK") * 1e6 / (rate * seconds) if binary else None
            finally:
                if peak:
                    peak.stop()
                node.stop()
                shutil.rmtree(data, ignore_errors=True)
            runs[name].append({"rate": rate, "cpu_us": cpu, "wal_peak": peak.peak if peak else None})
            log(f"creates/s round {r + 1} {name}: {rate:.0f}" + (f", {cpu:.0f} us CPU per create, WAL peak {peak.peak / 1e6:.1f} MB" if binary else ""))
    median = lambda values: sorted(values)[len(values) // 2] if len(values) % 2 else sum(sorted(values)[len(values) // 2 - 1:len(values) // 2 + 1]) / 2
    rows = {name: round(median([run["rate"] for run in runs[name]])) for name in runs}
    for name, _ in servers[1:]:
        rows[f"stoa_per_{name}"] = round(median([a["rate"] / b["rate"] for a, b in zip(runs["stoa"], runs[name])]), 3)
    for name, binary in servers:
        if binary:
            rows[f"{name}_cpu_us"] = round(median([run["cpu_us"] for run in runs[name]]))
            rows[f"{name}_wal_peak"] = max(run["wal_peak"] for run in runs[name])
    rows["rounds"] = rounds
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stoa", default=os.path.join(REPO, ".build/release/stoa"))
    parser.add_argument("--cases", default="2000x1,2000x20,20000x20")
    parser.add_argument("--catch-up", default="2000,100000")
    parser.add_argument("--creates-seconds", type=int, default=10)
    parser.add_argument("--baseline")
    parser.add_argument("--creates-rounds", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="stoa-history-bench-")
    try:
        storage = [storage_case(args.stoa, int(q), int(e), root) for q, e in (c.split("x") for c in args.cases.split(",") if c)]
        catch_up = [catch_up_case(args.stoa, int(n), root) for n in args.catch_up.split(",") if n]
        rates = creates(args.stoa, args.creates_seconds, root, args.baseline, args.creates_rounds) if args.creates_seconds > 0 else {}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "storage": storage, "catch_up": catch_up, "creates": rates}
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
    print("| quotes x edits | Stoa bytes (per quote) | PocketBase bytes (per quote) | Stoa / PocketBase | WAL peak Stoa / PocketBase |")
    print("|---|---|---|---|---|")
    for row in storage:
        print(f"| {row['quotes']:,} x {row['edits']} | {row['stoa_bytes']:,} ({row['stoa_bytes_per_quote']}) | "
              f"{row['pocketbase_bytes']:,} ({row['pocketbase_bytes_per_quote']}) | {row['ratio']}x | "
              f"{row['stoa_wal_peak'] / 1e6:.1f} MB / {row['pocketbase_wal_peak'] / 1e6:.1f} MB |")
    print()
    print("| empty node catches up with | seconds | state transfers | digests equal |")
    print("|---|---|---|---|")
    for row in catch_up:
        print(f"| {row['quotes']:,} quotes | {row['seconds']} | {row['state_transfers']} | {row['digests_equal']} |")
    if rates:
        print()
        many = rates["rounds"] > 1
        line = (f"creates/s, 16 clients{' (medians of ' + str(rates['rounds']) + ' rounds)' if many else ''}: Stoa {rates['stoa']:,} "
                f"({rates['stoa_cpu_us']} us CPU per create, WAL peak {rates['stoa_wal_peak'] / 1e6:.1f} MB), "
                f"PocketBase {rates['pocketbase']:,} = {rates['stoa_per_pocketbase']:.2f}x")
        if "baseline" in rates:
            line += (f"; baseline {rates['baseline']:,} ({rates['baseline_cpu_us']} us CPU per create, WAL peak "
                     f"{rates['baseline_wal_peak'] / 1e6:.1f} MB): Stoa {rates['stoa_per_baseline']:.2f}x of it")
        if many:
            line += " (ratios: medians of the per-round ratios)"
        print(line)


if __name__ == "__main__":
    main()
