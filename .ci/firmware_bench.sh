#!/usr/bin/env bash
# The firmware benchmark: a 64-32-10 MLP trained with Adam, batch 32, from a `static`
# trainer (examples/cortex-m/src/bin/bench.rs, task in examples/common/mlp_bench_task.rs).
# Builds it in release for both Cortex-M targets, runs it under QEMU with
# `-icount shift=0` (one instruction per virtual nanosecond, which SysTick counts), and
# prints instructions per training step, per multiply-add and per Adam parameter, the
# ELF's .text/.data/.bss and `Trainer::BYTES`. Fails unless the loss lines and the hash
# of the trained parameters equal the host twin's (examples/mlp_bench.rs; .ci/cross.sh
# checks that twin on x86-64 default, native and aarch64), unless `.data` is at most
# $MAX_DATA bytes (the trainer is `Trainer::ZERO`, all zero bytes, so it must land in
# `.bss` and cost no flash for its image) and unless configuring it in place used less
# than $MAX_CONFIGURE_STACK bytes of stack (the firmware measures it by painting).
#
# Instruction counts are not cycles: QEMU models no pipeline, caches or flash wait
# states. Installs nothing: .ci/run installs the targets, llvm-tools and QEMU.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(
    "thumbv7em-none-eabihf     mps2-an386 cortex-m4"
    "thumbv8m.main-none-eabihf mps3-an547 cortex-m55"
)
# The firmware's initialised data: the static trainer must not be in it.
MAX_DATA=64
# Stack that Trainer::configure may use (it writes the small settings in place).
MAX_CONFIGURE_STACK=1024
die() { echo "firmware_bench.sh: $*" >&2; exit 1; }
command -v qemu-system-arm >/dev/null || die "qemu-system-arm is not installed"
llvm_bin="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
LLVM_SIZE="$llvm_bin/llvm-size"
[ -x "$LLVM_SIZE" ] || die "llvm-size not found (rustup component add llvm-tools)"

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cargo run --quiet --release --example mlp_bench >"$OUT/host.log"

cd examples/cortex-m
status=0
summary=()
for entry in "${TARGETS[@]}"; do
    read -r target machine cpu <<<"$entry"
    cargo build --quiet --release --bin bench --target "$target" --target-dir target
    elf="target/$target/release/bench"
    printf '\n--- bench: %s on QEMU %s (%s), -icount shift=0\n' "$target" "$machine" "$cpu"
    if timeout 300 qemu-system-arm -machine "$machine" -cpu "$cpu" -icount shift=0 -nographic \
        -semihosting-config enable=on,target=native -kernel "$elf" >"$OUT/device.log"; then
        summary+=("PASS  bench: $target on $machine learned")
    else
        summary+=("FAIL  bench: $target on $machine (exit $?)")
        status=1
    fi
    cat "$OUT/device.log"
    # Lines 3 on, except the instruction counts and the stack figure, must be the
    # host's, bit for bit (the host builds its trainer with Trainer::new, the device
    # configures a Trainer::ZERO: equal lines show that the two are the same).
    if diff <(tail -n +3 "$OUT/host.log") \
        <(tail -n +3 "$OUT/device.log" | grep -v -e '^instructions' -e '^stack used'); then
        summary+=("PASS  bench: $target on $machine ends with the host's parameters ($(grep -o 'hash [0-9a-f]*' "$OUT/device.log"))")
    else
        summary+=("FAIL  bench: $target on $machine differs from the host (diff above)")
        status=1
    fi
    "$LLVM_SIZE" -A "$elf" | awk '$1 ~ /^\.(text|rodata|data|bss)$/ { printf "    %-8s %7d\n", $1, $2 }'
    data=$("$LLVM_SIZE" -A "$elf" | awk '$1 == ".data" { print $2 }')
    if [ "${data:-missing}" != missing ] && [ "$data" -le "$MAX_DATA" ]; then
        summary+=("PASS  bench: $target .data is $data bytes (at most $MAX_DATA: the static trainer is in .bss)")
    else
        summary+=("FAIL  bench: $target .data is ${data:-missing} bytes, more than $MAX_DATA: the static trainer is not all zero bytes")
        status=1
    fi
    stack=$(sed -n 's/^stack used by Trainer::configure: \([0-9]*\) bytes.*/\1/p' "$OUT/device.log")
    if [ -n "$stack" ] && [ "$stack" -lt "$MAX_CONFIGURE_STACK" ]; then
        summary+=("PASS  bench: $target Trainer::configure used $stack bytes of stack (under $MAX_CONFIGURE_STACK)")
    else
        summary+=("FAIL  bench: $target Trainer::configure stack ${stack:-not reported}, not under $MAX_CONFIGURE_STACK bytes")
        status=1
    fi
    # Without printing (no formatting code), against a firmware that only exits.
    cargo build --quiet --release --bin bench --bin empty --bin train_only --bin train_base \
        --no-default-features --target "$target" --target-dir target/no-print
    text() { "$LLVM_SIZE" "target/no-print/$target/release/$1" | awk 'NR == 2 { print $1 }'; }
    silent=$(text bench)
    empty=$(text empty)
    echo "    without printing: text $silent bytes; an empty firmware: $empty; training adds $((silent - empty))"
    # The bench's own probes and data are not training: train_only trains the same task
    # and train_base makes the same data and hash without training (.ci/firmware_size.sh
    # breaks the difference down by symbol family).
    echo "    training alone (train_only above train_base): $(($(text train_only) - $(text train_base))) bytes"
    # The table's second speed figure: the same firmware at opt-level 3.
    CARGO_PROFILE_RELEASE_OPT_LEVEL=3 cargo build --quiet --release --bin bench \
        --target "$target" --target-dir target/opt3
    o3=$(timeout 300 qemu-system-arm -machine "$machine" -cpu "$cpu" -icount shift=0 -nographic \
        -semihosting-config enable=on,target=native -kernel "target/opt3/$target/release/bench" |
        grep -e '^instructions per train_step' -e 'parameter hash')
    echo "    opt-level 3: $(echo "$o3" | sed -n 's/^instructions per train_step[^:]*: //p')"
    if [ "$(echo "$o3" | grep -o 'hash [0-9a-f]*')" != "$(grep -o 'hash [0-9a-f]*' "$OUT/device.log")" ]; then
        summary+=("FAIL  bench: $target at opt-level 3 ends with other parameters")
        status=1
    fi
    summary+=("$(printf '      %-26s %s; silent text above empty %d; %s' "$target" \
        "$("$LLVM_SIZE" "$elf" | awk 'NR == 2 { printf "text %d, data %d, bss %d", $1, $2, $3 }')" \
        "$((silent - empty))" \
        "$(grep -o 'per train_step[^:]*: [0-9]*' "$OUT/device.log" | sed 's/.*: /instructions per step /')")")
done
printf '\n'
printf '%s\n' "${summary[@]}"
exit "$status"
