"""Hosts as Linux network namespaces, for Stoa's multi-host tests and the deploy proof.

A `Lab` makes one namespace per host plus a "switch" namespace holding a bridge; each host gets a
veth pair whose far end is a port of that bridge, and its own address in 10.77.0.0/24. Nothing is
added to the machine's own network namespace, so the addresses cannot clash with the machine's or
with another run's (every run has its own bridge; namespace names carry the run's pid). The
calling process moves itself into a "client" host, so plain sockets reach every host; processes
are started in a host with `ip netns exec`. `down()` kills every process in every namespace of
the lab and deletes the namespaces; `sweep_stale()` removes those of runs whose process is gone.

Faults are iptables rules inside the hosts' namespaces, dropping packets where they arrive (INPUT),
as a broken network does: `cut(a, b)` drops everything between two hosts, `block(a, b)` only what
`a` sends to `b`, `heal()` flushes every host's rules. `refuse_sends(a, b)` is a local firewall on
`a` instead (OUTPUT DROP: the sender's own sends fail with EPERM).
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import time

CLONE_NEWNET = 0x40000000
SUBNET = "10.77.0"
NS_PREFIX = "stoa-nt"
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def run(*argv: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, timeout=timeout, capture_output=True, text=True)


def unavailable_reason() -> str | None:
    """Why namespaces cannot be used here, or None when they can (checked by making one)."""
    if os.geteuid() != 0:
        return "not root (creating network namespaces needs CAP_SYS_ADMIN and CAP_NET_ADMIN)"
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (Debian: apt-get install iproute2 iptables)"
    probe = f"{NS_PREFIX}{os.getpid()}-probe"
    try:
        r = run("ip", "netns", "add", probe, check=False)
        if r.returncode != 0:
            return f"`ip netns add` failed: {r.stderr.strip()}"
        r = run("ip", "netns", "exec", probe, "iptables", "-A", "INPUT", "-s", "10.77.0.99", "-j", "DROP", check=False)
        if r.returncode != 0:
            return f"iptables does not work in a namespace: {r.stderr.strip()}"
        r = run("ip", "-n", probe, "link", "add", "br0", "type", "bridge", check=False)
        if r.returncode != 0:
            return f"cannot make a bridge in a namespace: {r.stderr.strip()}"
    finally:
        run("ip", "netns", "del", probe, check=False)
    return None


def _kill_namespace_processes(ns: str, sig: int = signal.SIGKILL, wait: float = 10) -> None:
    deadline = time.monotonic() + wait
    while True:
        pids = [int(p) for p in run("ip", "netns", "pids", ns, check=False).stdout.split()]
        pids = [p for p in pids if p != os.getpid()]
        if not pids or time.monotonic() > deadline:
            return
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def _is_live_python(pid: int) -> bool:
    """Whether `pid` is a running process (not merely some process's thread id) running Python."""
    try:
        with open(f"/proc/{pid}/status") as f:
            tgid = next((line.split()[1] for line in f if line.startswith("Tgid:")), "")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read()
    except OSError:
        return False
    return tgid == str(pid) and b"python" in command


def sweep_stale() -> list[str]:
    """Deletes namespaces left by runs of these tests whose process is gone (a SIGKILLed run)."""
    removed = []
    for line in run("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(rf"{NS_PREFIX}(\d+)-", name)
        if not m:
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and not _is_live_python(pid):
            _kill_namespace_processes(name)
            run("ip", "netns", "del", name, check=False)
            removed.append(name)
    return removed


class Lab:
    """Hosts `names` (plus "client", where this process runs) on one bridge."""

    def __init__(self, label: str, names: list[str]):
        self.label = label
        self.prefix = f"{NS_PREFIX}{os.getpid()}-{label}"
        self.names = list(names)
        self.addresses = {name: f"{SUBNET}.{11 + i}" for i, name in enumerate(self.names)}
        self.addresses["client"] = f"{SUBNET}.200"
        self.created: list[str] = []
        self.processes: list[subprocess.Popen] = []
        self._home = os.open("/proc/self/ns/net", os.O_RDONLY)
        self._entered = False

    def ns(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def addr(self, host: str) -> str:
        return self.addresses[host]

    def up(self) -> None:
        switch = self.ns("sw")
        self._add_ns(switch)
        run("ip", "-n", switch, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", switch, "link", "set", "br0", "up")
        for index, host in enumerate(self.names + ["client"]):
            ns = self.ns(host)
            self._add_ns(ns)
            port = f"p{index}"
            run("ip", "-n", switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
            run("ip", "-n", switch, "link", "set", port, "master", "br0", "up")
            run("ip", "-n", ns, "addr", "add", f"{self.addresses[host]}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
        _setns(f"/run/netns/{self.ns('client')}")
        self._entered = True

    def _add_ns(self, ns: str) -> None:
        run("ip", "netns", "add", ns)
        self.created.append(ns)

    def spawn(self, host: str, argv: list[str], log_path: str) -> subprocess.Popen:
        """Starts `argv` inside `host` (its output to `log_path`)."""
        log = open(log_path, "ab")
        process = subprocess.Popen(["ip", "netns", "exec", self.ns(host), *argv], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.processes.append(process)
        return process

    def kill_host(self, host: str) -> None:
        """SIGKILLs every process running in `host` and waits until they are gone."""
        _kill_namespace_processes(self.ns(host))
        for p in self.processes:
            if p.poll() is None:
                try:
                    p.wait(timeout=0.01)
                except subprocess.TimeoutExpired:
                    pass

    def iptables(self, host: str, *args: str) -> None:
        run("ip", "netns", "exec", self.ns(host), "iptables", "-w", "5", *args)

    def cut(self, a: str, b: str) -> None:
        """Drops every packet between `a` and `b`, both ways, where it arrives (as a partition
        in the network does: the sender's send succeeds, nothing is delivered)."""
        self.iptables(a, "-A", "INPUT", "-s", self.addr(b), "-j", "DROP")
        self.iptables(b, "-A", "INPUT", "-s", self.addr(a), "-j", "DROP")

    def block(self, source: str, destination: str) -> None:
        """Drops what `source` sends to `destination` (on arrival); the other direction flows."""
        self.iptables(destination, "-A", "INPUT", "-s", self.addr(source), "-j", "DROP")

    def refuse_sends(self, source: str, destination: str) -> None:
        """A local firewall on `source` refusing its sends to `destination` (OUTPUT DROP: the
        kernel fails each send with EPERM)."""
        self.iptables(source, "-A", "OUTPUT", "-d", self.addr(destination), "-j", "DROP")

    def heal(self) -> None:
        for host in self.names:
            self.iptables(host, "-F", "INPUT")
            self.iptables(host, "-F", "OUTPUT")

    def down(self) -> None:
        if self._entered:
            _setns("/proc/self/fd/%d" % self._home)
            self._entered = False
        for ns in reversed(self.created):
            _kill_namespace_processes(ns)
        for p in self.processes:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        for ns in reversed(self.created):
            run("ip", "netns", "del", ns, check=False)
        self.created = []
        try:
            os.close(self._home)
        except OSError:
            pass
