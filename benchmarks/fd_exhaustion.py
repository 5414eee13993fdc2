#!/usr/bin/env python3
"""Does a gateway or a node that runs out of file descriptors spin a core? (issue 18, item 5)

Starts one node and a gateway, one of them (`--target`, default gateway) with its file-descriptor
limit lowered (`ulimit -n`, default 256), opens more idle connections to it than it has
descriptors (default 1000; for a node, to its HTTP port or, with `--port gossip`, its gossip
port), and while they are held measures its CPU (utime + stime from /proc, as % of one core) and
whether a new client still gets an answer. Then it closes them and checks that it answers again.

    python3 benchmarks/fd_exhaustion.py [--stoa .build/debug/stoa] [--target gateway|node]
        [--port http|gossip] [--ulimit 256] [--sockets 1000] [--seconds 5]
        [--gateway-args "--max-connections 100"] [--node-args "..."]

Binds 127.0.0.1 only, stops everything it starts. Works with gateways from before the admin
listener (`--admin-http`) existed.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(log: str, process: subprocess.Popen, marker: str = "Server started and listening on 127.0.0.1:") -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(log) as f:
            match = re.search(re.escape(marker) + r"(\d+)", f.read())
        if match:
            return int(match.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.1)
    sys.exit(f"{log}: did not start:\n" + open(log).read())


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_percent(pid: int, seconds: float) -> float:
    before, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - start)


def get(url: str, timeout: float = 2.0) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return str(response.status)
    except Exception as error:  # noqa: BLE001 - reported as the outcome
        return type(error).__name__ + (f" {error.code}" if hasattr(error, "code") else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stoa", default=".build/debug/stoa")
    parser.add_argument("--ulimit", type=int, default=256)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--gateway-args", default="")
    parser.add_argument("--node-args", default="")
    parser.add_argument("--target", choices=["gateway", "node"], default="gateway")
    parser.add_argument("--port", choices=["http", "gossip"], default="http", help="the node's port to flood (--target node)")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.sockets + 256)), hard))
    stoa = os.path.abspath(args.stoa)
    folder = tempfile.mkdtemp(prefix="stoa-fd-")
    processes: list[subprocess.Popen] = []
    held: list[socket.socket] = []
    try:
        gossip = free_port()
        node_log = os.path.join(folder, "node.log")
        node_command = (f"{'ulimit -n ' + str(args.ulimit) + '; ' if args.target == 'node' else ''}exec {shlex.quote(stoa)} node --name n1 "
                        f"--data {shlex.quote(os.path.join(folder, 'n1'))} --http 127.0.0.1:0 --gossip 127.0.0.1:{gossip} "
                        f"--cluster-key fd-test --token-secret fd-test --bcrypt-cost 4 {args.node_args}")
        node = subprocess.Popen(["bash", "-c", node_command], stdout=open(node_log, "w"), stderr=subprocess.STDOUT)
        processes.append(node)
        node_port = wait_for_port(node_log, node)

        help_text = subprocess.run([stoa, "gateway", "--help"], capture_output=True, text=True).stdout
        admin = " --admin-http 127.0.0.1:0" if "--admin-http" in help_text else ""
        command = (f"{'ulimit -n ' + str(args.ulimit) + '; ' if args.target == 'gateway' else ''}exec {shlex.quote(stoa)} gateway --http 127.0.0.1:0 --join 127.0.0.1:{gossip} "
                   f"--cluster-key fd-test --token-secret fd-test --no-rate-limit{admin} {args.gateway_args}")
        gateway_log = os.path.join(folder, "gateway.log")
        gateway = subprocess.Popen(["bash", "-c", command], stdout=open(gateway_log, "w"), stderr=subprocess.STDOUT)
        processes.append(gateway)
        port = wait_for_port(gateway_log, gateway)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while get(base + "/api/health") != "200":
            if time.monotonic() > deadline:
                sys.exit("the gateway did not route to the node:\n" + open(gateway_log).read())
            time.sleep(0.2)

        if args.target == "node":
            target, extra = node, args.node_args
            flooded = node_port if args.port == "http" else gossip
            base = f"http://127.0.0.1:{node_port}"
        else:
            target, extra, flooded = gateway, args.gateway_args, port
        print(f"{args.target} {stoa} (ulimit -n {args.ulimit}{', ' + extra if extra else ''}), flooding port {flooded}"
              f"{' (gossip)' if args.target == 'node' and args.port == 'gossip' else ''}")
        print(f"  idle CPU: {cpu_percent(target.pid, args.seconds):.1f} % of a core")
        # Non-blocking connects: past the accept backlog a connect would wait.
        for _ in range(args.sockets):
            connection = socket.socket()
            connection.setblocking(False)
            connection.connect_ex(("127.0.0.1", flooded))
            held.append(connection)
        time.sleep(1)
        print(f"  {len(held)} connections opened, held {args.seconds:.0f} s:")
        print(f"    CPU while held: {cpu_percent(target.pid, args.seconds):.1f} % of a core")
        print(f"    a new client's GET /api/health: {get(base + '/api/health')}")
        for connection in held:
            connection.close()
        held.clear()
        answer, deadline = "", time.monotonic() + 10
        while answer != "200" and time.monotonic() < deadline:
            answer = get(base + "/api/health")
            time.sleep(0.2)
        print(f"  after closing them: GET /api/health {answer}; CPU {cpu_percent(target.pid, 2):.1f} % of a core")
        print(f"  {args.target} still running: {target.poll() is None}")
    finally:
        for connection in held:
            connection.close()
        for process in processes:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
