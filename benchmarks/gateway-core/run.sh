#!/usr/bin/env bash
# Compiles the gateway core micro-benchmark (-O, whole module) and runs it.
# Usage: bash benchmarks/gateway-core/run.sh   (from the repository root)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
swiftc -O -wmo -swift-version 6 -module-name GatewayCoreBench \
    Sources/StoaGateway/{GCRA,LRUTable,RateLimit*,ClientAddress*,ResponseCache*,RequestCoalescer}.swift \
    benchmarks/gateway-core/main.swift -o "$out/bench"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
"$out/bench"
