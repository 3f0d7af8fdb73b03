#!/usr/bin/env bash
# Instructions per training step and per kernel call, counted by callgrind: numbers that
# do not move with the machine's load, so a regression shows without timing noise.
#
# Builds benches/instructions.rs (the default x86-64 target, SSE2: valgrind cannot run
# AVX-512 code, so RUSTFLAGS is not passed on), then runs each of its workloads under
# `valgrind --tool=callgrind`, counting only inside its function `measured` (which
# calls the workload a fixed number of times after two uncounted calls), and prints
# instructions per call beside the committed baseline benches/instructions.baseline
# (regenerate it with `.ci/callgrind.sh --update`). Never fails on a change: it
# prints it. Installs valgrind from Debian if it is missing.
#
# The kernels' run-time dispatch (src/kernels/dispatch.rs) is capped at the build's own
# SSE2 vectors (MICROTRAIN_DISPATCH=baseline), so the counts do not depend on the CPU
# valgrind reports; `MICROTRAIN_DISPATCH=avx2 .ci/callgrind.sh` counts the AVX2 path
# (valgrind runs AVX2, not AVX-512), compared with the same baseline file.
set -euo pipefail
cd "$(dirname "$0")/.."
export MICROTRAIN_DISPATCH="${MICROTRAIN_DISPATCH:-baseline}"

die() { echo "callgrind.sh: $*" >&2; exit 1; }
if ! command -v valgrind >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq valgrind >/dev/null
fi

bin=$(env -u RUSTFLAGS cargo bench --bench instructions --no-run --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*instructions[^"]*"' | tail -n 1 | sed 's/.*:"\(.*\)"/\1/')
[ -x "$bin" ] || die "could not build benches/instructions.rs"

baseline=benches/instructions.baseline
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

printf '%-30s %14s %14s %8s\n' "workload (default build, $MICROTRAIN_DISPATCH)" "instr/call" "baseline" "change"
i=0
while IFS= read -r name; do
    i=$((i + 1))
    out="$OUT/$i.callgrind"
    calls=$(valgrind --tool=callgrind --callgrind-out-file="$out" \
        --toggle-collect='*instructions::measured*' "$bin" "$name" 2>"$OUT/$i.log" |
        sed -n 's/^calls=//p')
    [ -n "$calls" ] || { cat "$OUT/$i.log" >&2; die "workload '$name' did not run"; }
    total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out")
    [ -n "$total" ] || total=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out")
    per=$((total / calls))
    printf '%s\t%d\n' "$name" "$per" >>"$OUT/counts.tsv"
    base=$( { grep -F "$name"$'\t' "$baseline" 2>/dev/null || true; } | cut -f2)
    if [ -n "$base" ] && [ "$base" -gt 0 ]; then
        change=$(awk -v a="$per" -v b="$base" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }')
    else
        base="-" change="-"
    fi
    printf '%-30s %14d %14s %8s\n' "$name" "$per" "$base" "$change"
done < <("$bin" --list)

echo "(this build: $(rustc --version); the baseline's: $(sed -n 's/^# //p' "$baseline" 2>/dev/null | head -n 1))"
if [ "${1:-}" = "--update" ]; then
    { echo "# $(rustc --version), default x86-64 target"; cat "$OUT/counts.tsv"; } >"$baseline"
    echo "wrote $baseline"
fi
