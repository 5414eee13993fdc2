#!/usr/bin/env bash
# Builds the gateway core micro-benchmark (the `stoa-gateway-core-bench` product, release) and
# runs it: nanoseconds per operation of the rate limiter, the client address and the response cache.
# Usage: bash benchmarks/gateway-core/run.sh   (from any directory; its first release build took
# 5.7 minutes here)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! swift build -c release --product stoa-gateway-core-bench >"$log" 2>&1; then
    grep -E 'error:' "$log" >&2 || cat "$log" >&2
    exit 1
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
"$(swift build -c release --show-bin-path)/stoa-gateway-core-bench"
