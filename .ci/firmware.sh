#!/usr/bin/env bash
# Builds the firmware example (examples/cortex-m) in release for both Cortex-M targets,
# runs each under its QEMU machine, fails unless every run exits 0 (the firmware exits 0
# only if it learned), and reports the image sizes and what printing costs. Each target
# is built twice: as shipped, and without the `print` feature (no formatting code at
# all), which also runs and must pass.
#
# The firmware has four binaries, each with a host twin that trains the same network with
# the same code on the PC: `microtrain-cortex-m` (XOR, examples/xor.rs), `cnn` (a small
# CNN on 8x8 pictures, examples/cnn.rs), `resume` (that CNN checkpointed into A/B
# slots and resumed by a fresh trainer, examples/resume.rs; it prints the final state's
# CRC-32) and `finetune` (a digits MLP pretrained on the host, its weights in flash,
# fine-tuned to shifted data through its last layer or its biases alone,
# examples/finetune.rs). Every loss and prediction a binary prints must
# equal its twin's, bit for bit (only the first two lines, machine name and RAM figure,
# may differ; the second gives `Trainer::BYTES` and its parts on each).
#
# Installs nothing: .ci/run installs the Rust targets, llvm-tools and qemu-system-arm.
set -euo pipefail
cd "$(dirname "$0")/.."

# target  QEMU machine  CPU
TARGETS=(
    "thumbv7em-none-eabihf     mps2-an386 cortex-m4"
    "thumbv8m.main-none-eabihf mps3-an547 cortex-m55"
)
RUN_TIMEOUT=120

die() { echo "firmware.sh: $*" >&2; exit 1; }

command -v qemu-system-arm >/dev/null ||
    die "qemu-system-arm is not installed (Debian: apt-get install qemu-system-arm)"
llvm_bin="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
LLVM_SIZE="$llvm_bin/llvm-size"
LLVM_NM="$llvm_bin/llvm-nm"
[ -x "$LLVM_SIZE" ] && [ -x "$LLVM_NM" ] ||
    die "llvm-size/llvm-nm not found in $llvm_bin (rustup component add llvm-tools)"

# firmware binary  host example
PROGRAMS=(
    "microtrain-cortex-m xor"
    "cnn                 cnn"
    "resume              resume"
    "finetune            finetune"
)

# The fine-tuning firmware's pretrained weights are generated source: it must be what
# the generator writes today.
cargo run --quiet --release --example finetune_weights -- --check >/dev/null

LOG_DIR=$(mktemp -d)
trap 'rm -rf "$LOG_DIR"' EXIT
DEVICE_LOG="$LOG_DIR/device.log"
for program in "${PROGRAMS[@]}"; do
    read -r _ example <<<"$program"
    cargo run --quiet --release --example "$example" >"$LOG_DIR/host-$example.log"
done

# Cargo reads examples/cortex-m/.cargo/config.toml (runners, -Tlink.x) only from inside.
cd examples/cortex-m

cargo fmt --check
cargo clippy --target thumbv7em-none-eabihf -- -D warnings
cargo clippy --target thumbv8m.main-none-eabihf --no-default-features -- -D warnings

# Explicit target directories: the ELF paths below are spelled out, so a
# CARGO_TARGET_DIR set for the host builds must not move them.
PRINT_DIR=target
NO_PRINT_DIR=target/no-print

# Runs an ELF under QEMU with a timeout; returns QEMU's exit status (the firmware's).
run_qemu() {
    local machine=$1 cpu=$2 elf=$3 status=0
    timeout "$RUN_TIMEOUT" qemu-system-arm -machine "$machine" -cpu "$cpu" -nographic \
        -semihosting-config enable=on,target=native -kernel "$elf" || status=$?
    [ "$status" -ne 124 ] || echo "firmware.sh: timed out after ${RUN_TIMEOUT}s" >&2
    return "$status"
}

# Sums symbol sizes (code and read-only data) by where they come from, one
# "origin<TAB>bytes" line each. With LTO, code is inlined across crates, so this is an
# estimate; the difference between the builds with and without printing is exact.
size_by_origin() {
    "$LLVM_NM" --print-size --demangle --radix=d "$1" | awk '
        NF >= 4 && $3 ~ /^[tTrR]$/ && $2 + 0 > 0 {
            size = $2 + 0
            name = $4; for (i = 5; i <= NF; i++) name = name " " $i
            if (name ~ /fmt|flt2dec|bignum|semihosting|panic|begin_unwind|slice_index_fail|div_rem|divmod|Display|Debug|already_borrowed|assert_failed/)
                kind = "formatting, printing, panics"
            else if (name ~ /^(microtrain_cortex_m|cnn|resume|finetune)::/) kind = "firmware (training loop, main)"
            else if (name ~ /^microtrain::/)          kind = "microtrain (kernels, layers, trainer)"
            else if (name ~ /^libm::/)                kind = "libm (tanh, exp, ln, cos)"
            else if (name ~ /mem(cpy|set|clr|move)/)  kind = "memcpy, memset"
            else if (name ~ /^(Reset|__INTERRUPTS|__EXCEPTIONS|__RESET_VECTOR|main|DefaultHandler_|DefaultPreInit|HardFault_)$/)
                kind = "cortex-m-rt (vectors, reset)"
            else if (name ~ /^\.L/)                   kind = "anonymous constants (strings, tables)"
            else                                      kind = "other"
            bytes[kind] += size
        }
        END { for (k in bytes) printf "%s\t%d\n", k, bytes[k] }'
}

# Prints the origins of two ELFs side by side, largest first.
compare_origins() {
    awk -F '\t' '
        FNR == 1 { file++ }
        { kinds[$1] = 1; bytes[file, $1] = $2 }
        END {
            for (k in kinds) printf "    %8d %8d  %s\n", bytes[1, k], bytes[2, k], k
        }' <(size_by_origin "$1") <(size_by_origin "$2") | sort -rn
}

status=0
summary=()
sizes=()
for entry in "${TARGETS[@]}"; do
    read -r target machine cpu <<<"$entry"
    printf '\n--- %s on QEMU %s (%s)\n' "$target" "$machine" "$cpu"

    cargo build --release --target "$target" --target-dir "$PRINT_DIR"
    cargo build --release --target "$target" --no-default-features --target-dir "$NO_PRINT_DIR"
    for program in "${PROGRAMS[@]}"; do
        read -r bin example <<<"$program"
        elf="$PRINT_DIR/$target/release/$bin"
        quiet_elf="$NO_PRINT_DIR/$target/release/$bin"
        host_log="$LOG_DIR/host-$example.log"
        printf '\n--- %s (host twin: examples/%s.rs) on %s\n' "$bin" "$example" "$machine"

        if run_qemu "$machine" "$cpu" "$elf" >"$DEVICE_LOG"; then
            summary+=("PASS  $bin: $target on $machine")
        else
            code=$?
            summary+=("FAIL  $bin: $target on $machine (exit $code)")
            status=1
        fi
        cat "$DEVICE_LOG"
        if diff <(tail -n +3 "$host_log") <(tail -n +3 "$DEVICE_LOG"); then
            summary+=("PASS  $bin: $target on $machine prints the host's losses and outputs, bit for bit")
        else
            summary+=("FAIL  $bin: $target on $machine differs from the host (diff above)")
            status=1
        fi
        # The build without printing reports through its exit status alone.
        if run_qemu "$machine" "$cpu" "$quiet_elf"; then
            summary+=("PASS  $bin: $target on $machine, no printing")
        else
            code=$?
            summary+=("FAIL  $bin: $target on $machine, no printing (exit $code)")
            status=1
        fi

        echo
        echo "$bin: size of the release ELF (Berkeley: text = vectors + code + read-only data):"
        "$LLVM_SIZE" "$elf" "$quiet_elf"
        "$LLVM_SIZE" -A "$elf" | awk '$1 ~ /^\.(vector_table|text|rodata|data|bss)$/ { printf "    %-14s %7d\n", $1, $2 }'
        full=$("$LLVM_SIZE" "$elf" | awk 'NR == 2 { print $1 }')
        quiet=$("$LLVM_SIZE" "$quiet_elf" | awk 'NR == 2 { print $1 }')
        echo "printing (hprintln, float formatting, panic messages): $((full - quiet)) bytes of $full;" \
            "the image without it: $quiet bytes"
        echo "bytes by origin (symbol sizes; an estimate, LTO inlines across crates):"
        echo "    printing   silent  origin"
        compare_origins "$elf" "$quiet_elf"
        sizes+=("$(printf '%-20s %-26s %s' "$bin" "$target" "$("$LLVM_SIZE" "$elf" | awk 'NR == 2 { printf "text %7d  data %7d  bss %7d", $1, $2, $3 }')")")
        sizes+=("$(printf '%-20s %-26s %s' "" "" "$(sed -n 2p "$DEVICE_LOG")")")
    done
done

printf "\nrelease ELF sizes (with printing) and each trainer's RAM on the device:\n"
printf '    %s\n' "${sizes[@]}"
printf '\n'
printf '%s\n' "${summary[@]}"
exit "$status"
