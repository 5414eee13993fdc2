#!/usr/bin/env python3
"""Splits a `perf record -g` profile of the gateway (benchmarks/gateway-profile.sh) into where a
request's CPU goes, in µs per request:

  io/selector      samples inside a socket read, write or writev, epoll_wait or an epoll change
                   (the kernel's work, and NIO's selector);
  under stoa code  the rest of the samples with a frame of the gateway's (or the floor relay's)
                   own code on the stack, each counted once, under the innermost such frame (so
                   NIO's encoder under a write of the gateway's counts there);
  nio/other        the rest (NIO's decoders and pipeline above the gateway's handlers, the
                   runtime, other threads).

  python3 benchmarks/profile_attribution.py PERF_DATA US_PER_REQUEST [TOP]
  python3 benchmarks/profile_attribution.py PERF_DATA US_PER_REQUEST --retains [TOP]

US_PER_REQUEST is the process's CPU per request that gateway-profile.sh printed; TOP (default 25)
functions are listed under the gateway's code, largest first. With --retains: the time in
swift_retain and swift_release (samples whose innermost frame is one of them), and the TOP
functions that called them.
"""
import collections
import re
import subprocess
import sys

OURS = re.compile(r"Gateway|Upstream|NodePool|RequestRoute|RateLimit|ForwardedRequest|ProxiedResponse|ResponseCache|"
                  r"WriterAffinity|RequestHeadDeadline|TokenService|VerifiedToken|ClientAddress|PreparedHit|LRUTable|Relay")
IO = re.compile(r"Socket\.write|SocketProtocol\.writev|Socket\.read|epoll_wait|Selector\.reregister")


def stacks(path):
    script = subprocess.run(["perf", "script", "-i", path, "-F", "ip,sym"], capture_output=True, text=True, check=True).stdout
    text = subprocess.run(["swift", "demangle", "--simplified"], input=script, capture_output=True, text=True, check=True).stdout
    stack = []
    for line in text.split("\n"):
        if not line.strip():
            if stack:
                yield stack
            stack = []
            continue
        match = re.match(r"\s*[0-9a-f]+\s+(.*?)\s*$", line)
        if match:
            stack.append(re.sub(r"\+0x[0-9a-f]+$", "", match.group(1)))
    if stack:
        yield stack


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, per_request = sys.argv[1], float(sys.argv[2])
    rest = sys.argv[3:]
    if rest and rest[0] == "--retains":
        return retains(path, per_request, int(rest[1]) if len(rest) > 1 else 25)
    top = int(rest[0]) if rest else 25
    kinds, functions, total = collections.Counter(), collections.Counter(), 0
    for stack in stacks(path):
        total += 1
        if any(IO.search(frame) for frame in stack):
            kinds["io/selector"] += 1
            continue
        own = next((frame for frame in stack if OURS.search(frame)), None)
        if own is None:
            kinds["nio/other"] += 1
        else:
            kinds["under stoa code"] += 1
            functions[own[:130]] += 1
    if not total:
        sys.exit(f"{path}: no samples")
    share = lambda n: n / total * per_request
    for kind in ("io/selector", "under stoa code", "nio/other"):
        print(f"{share(kinds[kind]):6.2f} us  {kind}")
    print()
    for name, n in functions.most_common(top):
        print(f"{share(n):6.2f} us  {name}")


def retains(path, per_request, top):
    callers, total = collections.Counter(), 0
    for stack in stacks(path):
        total += 1
        if stack[0] in ("swift_retain", "swift_release"):
            callers[(stack[1] if len(stack) > 1 else "?")[:130]] += 1
    if not total:
        sys.exit(f"{path}: no samples")
    share = lambda n: n / total * per_request
    print(f"{share(sum(callers.values())):6.2f} us  swift_retain and swift_release")
    print()
    for name, n in callers.most_common(top):
        print(f"{share(n):6.2f} us  {name}")


if __name__ == "__main__":
    main()
