#!/usr/bin/env bash
# Coverage-guided fuzzing of Stoa's parsers of untrusted input with libFuzzer (see README,
# "Fuzzing"). Builds the targets of the Fuzz/ package in their own scratch path (.build-fuzz,
# release, -sanitize=fuzzer) and runs each for SECONDS_PER_TARGET seconds.
#
# Usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET  default 60; CI (scripts/test.sh) runs 20
#   TARGET              sync-cursor record-input filter-sort wire-codec gateway-request (default: all)
# Environment:
#   FUZZ_ASAN=1         also build with AddressSanitizer (own scratch path .build-fuzz-asan; slower)
#   FUZZ_NICE=N         run the fuzzers under `nice -n N` (default 0)
#   FUZZ_CONFIGURATION  release (default) or debug (builds faster, fuzzes slower; what CI uses)
#   FUZZ_ARGS="..."     extra libFuzzer flags for every target (e.g. "-jobs=2 -workers=2")
#   FUZZ_SEEDS=1        regenerate the generated seeds (Fuzz/corpus/*/gen-*) and stop
#
# Exits non-zero when a target crashes, trips a property, hangs (an input over 10 s) or runs out
# of memory; the input is kept in .build-fuzz/crashes/TARGET/ and the command that replays it is
# printed. New coverage found is kept in .build-fuzz/corpus/TARGET/ and used by the next run;
# the committed seeds are in Fuzz/corpus/TARGET/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-60}
shift || true
all_targets=(sync-cursor record-input filter-sort wire-codec gateway-request)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi

# The executable, the longest input and the dictionary of each target.
declare -A product=(
    [sync-cursor]=FuzzSyncCursor [record-input]=FuzzRecordInput [filter-sort]=FuzzFilterSort
    [wire-codec]=FuzzWireCodec [gateway-request]=FuzzGatewayRequest
)
declare -A max_len=(
    [sync-cursor]=4096 [record-input]=16384 [filter-sort]=8192 [wire-codec]=16384 [gateway-request]=8192
)
for target in "${targets[@]}"; do
    [ -n "${product[$target]:-}" ] || { echo "unknown target $target (known: ${all_targets[*]})" >&2; exit 2; }
done

scratch=.build-fuzz
sanitizers=fuzzer
if [ "${FUZZ_ASAN:-0}" = 1 ]; then
    scratch=.build-fuzz-asan
    sanitizers=fuzzer,address
fi
# -enable-testing: the targets reach internal parsers with @testable import. lld: gold fails to
# link these executables (an internal error in its DWARF reader).
build=(swift build --package-path Fuzz --scratch-path "$scratch" -c "${FUZZ_CONFIGURATION:-release}" --disable-index-store
    -Xswiftc "-sanitize=$sanitizers" -Xswiftc -enable-testing -Xswiftc -use-ld=lld)

printf '== building fuzz targets (%s)\n' "${targets[*]}"
started=$(date +%s)
mkdir -p "$scratch"
: >"$scratch/build.log"
# One product per build: given several --product flags, SwiftPM builds only the last one.
for target in "${targets[@]}"; do
    if ! "${build[@]}" --product "${product[$target]}" >>"$scratch/build.log" 2>&1; then
        grep -E 'error:' "$scratch/build.log" | head -n 40 >&2 || true
        echo "the fuzz build of $target failed; whole output in $scratch/build.log" >&2
        exit 1
    fi
done
printf '   built in %ds\n' $(($(date +%s) - started))
bin=$("${build[@]}" --show-bin-path)

if [ "${FUZZ_SEEDS:-0}" = 1 ]; then
    for target in "${targets[@]}"; do
        rm -f Fuzz/corpus/"$target"/gen-*
        STOA_FUZZ_WRITE_SEEDS="Fuzz/corpus/$target" "$bin/${product[$target]}"
        printf '   %s: %d generated seeds\n' "$target" "$(ls Fuzz/corpus/"$target" | grep -c '^gen-' || true)"
    done
    exit 0
fi

failed=()
summary=()
for target in "${targets[@]}"; do
    work="$scratch/corpus/$target"
    crashes="$scratch/crashes/$target"
    log="$scratch/logs/$target.log"
    mkdir -p "$work" "$crashes" "$(dirname "$log")" "Fuzz/corpus/$target"
    flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="${max_len[$target]}"
        -print_final_stats=1 -artifact_prefix="$crashes/")
    [ -f "Fuzz/dictionaries/$target.dict" ] && flags+=(-dict="Fuzz/dictionaries/$target.dict")
    # shellcheck disable=SC2206
    flags+=(${FUZZ_ARGS:-})
    printf '\n== fuzzing %s for %ds\n' "$target" "$seconds"
    status=0
    # Swift's own crash backtracer would answer the trap before libFuzzer saves the input.
    SWIFT_BACKTRACE=enable=no nice -n "${FUZZ_NICE:-0}" "$bin/${product[$target]}" "${flags[@]}" "$work" "Fuzz/corpus/$target" >"$log" 2>&1 || status=$?
    grep -E '^#[0-9]+[[:space:]]+(INITED|pulse|DONE)|^(==[0-9]+== ?)?ERROR|deadly signal|Fatal error|fuzz property failed|Test unit written|^SUMMARY' "$log" | tail -n 12 | sed 's/^/   /' || true
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)
    rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)
    cov=$(sed -nE 's/^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)[[:space:]]+cov: ([0-9]+).*/\2/p' "$log" | tail -n 1)
    corpus=$(ls "$work" | wc -l)
    if [ "$status" -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $status)"
        failed+=("$target")
        artifact=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)
        printf '   %s failed; whole output in %s\n' "$target" "$log"
        if [ -n "$artifact" ]; then
            printf '   the input: %s\n' "$artifact"
            printf '   replay:    %s/%s %s\n' "$bin" "${product[$target]}" "$artifact"
            printf '   minimize:  %s/%s -minimize_crash=1 -runs=100000 -artifact_prefix=%s/min- %s\n' "$bin" "${product[$target]}" "$crashes" "$artifact"
        fi
    fi
    summary+=("$(printf '%-16s %6ss %12s execs %8s exec/s %7s cov %7s corpus  %s' "$target" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$corpus" "$result")")
done

printf '\n== fuzzing summary\n'
printf '   %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    printf '   failed: %s\n' "${failed[*]}"
    exit 1
fi
