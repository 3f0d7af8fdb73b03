#!/usr/bin/env bash
# The XOR firmware on cores without an FPU, where every float operation is soft-float
# (compiler-builtins) and must still give the host's bits:
#
#   thumbv6m-none-eabi            Cortex-M0 (nRF51822), QEMU `microbit`, 16 KiB RAM
#                                 (examples/cortex-m, binary microtrain-cortex-m)
#   riscv32imac-unknown-none-elf  RV32IMAC, QEMU `virt` with `-bios none`
#                                 (examples/riscv, its own crate)
#
# Both run examples/common/xor_task.rs, as the host example examples/xor.rs does. Each
# must exit 0 under QEMU (it learned XOR) and print, from its third line on, exactly what
# `cargo run --release --example xor` prints (the first two lines name the machine and
# the trainer's RAM). The Cortex-M0 image is also built and run without the `print`
# feature. Prints the ELF sizes, PASS/FAIL lines, and exits non-zero on any failure.
#
# Installs nothing: .ci/run installs the Rust targets, llvm-tools, qemu-system-arm and
# qemu-system-misc (which has qemu-system-riscv32).
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_TIMEOUT=120

die() { echo "cores.sh: $*" >&2; exit 1; }

command -v qemu-system-arm >/dev/null ||
    die "qemu-system-arm is not installed (Debian: apt-get install qemu-system-arm)"
command -v qemu-system-riscv32 >/dev/null ||
    die "qemu-system-riscv32 is not installed (Debian: apt-get install qemu-system-misc)"
llvm_bin="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
LLVM_SIZE="$llvm_bin/llvm-size"
[ -x "$LLVM_SIZE" ] || die "llvm-size not found in $llvm_bin (rustup component add llvm-tools)"

LOG_DIR=$(mktemp -d)
trap 'rm -rf "$LOG_DIR"' EXIT
HOST_LOG="$LOG_DIR/host.log"
cargo run --quiet --release --example xor >"$HOST_LOG"

M0_TARGET=thumbv6m-none-eabi
RV_TARGET=riscv32imac-unknown-none-elf
# Explicit target directories (relative to each crate): the ELF paths below are spelled
# out, so a CARGO_TARGET_DIR set for the host build must not move them.
M0_ELF=examples/cortex-m/target/$M0_TARGET/release/microtrain-cortex-m
M0_QUIET_ELF=examples/cortex-m/target/no-print/$M0_TARGET/release/microtrain-cortex-m
RV_ELF=examples/riscv/target/$RV_TARGET/release/microtrain-riscv

# Formatting and lints first, then the release builds. Cargo reads each crate's
# .cargo/config.toml (runners, linker scripts) only from inside it.
(
    cd examples/cortex-m
    cargo fmt --check
    cargo clippy --target "$M0_TARGET" --bin microtrain-cortex-m --target-dir target -- -D warnings
    cargo clippy --target "$M0_TARGET" --bin microtrain-cortex-m --no-default-features \
        --target-dir target -- -D warnings
    # Only the XOR binary: the other firmware binaries need more than 16 KiB of RAM.
    cargo build --release --target "$M0_TARGET" --bin microtrain-cortex-m --target-dir target
    cargo build --release --target "$M0_TARGET" --bin microtrain-cortex-m --no-default-features \
        --target-dir target/no-print
)
(
    cd examples/riscv
    cargo fmt --check
    cargo clippy --target "$RV_TARGET" --target-dir target -- -D warnings
    cargo build --release --target "$RV_TARGET" --target-dir target
)

# Runs a command under a timeout; returns its exit status (QEMU's, so the firmware's).
run_timed() {
    local status=0
    timeout "$RUN_TIMEOUT" "$@" || status=$?
    [ "$status" -ne 124 ] || echo "cores.sh: timed out after ${RUN_TIMEOUT}s" >&2
    return "$status"
}

M0_QEMU=(qemu-system-arm -machine microbit -nographic
    -semihosting-config enable=on,target=native -kernel)
RV_QEMU=(qemu-system-riscv32 -machine virt -bios none -nographic
    -semihosting-config enable=on,target=native -kernel)

status=0
summary=()

# Runs one printing image, checks its exit status and its lines against the host's.
check() {
    local name=$1 elf=$2
    shift 2
    local log="$LOG_DIR/device.log"
    printf '\n--- %s\n' "$name"
    if run_timed "$@" "$elf" >"$log"; then
        summary+=("PASS  xor: $name")
    else
        code=$?
        summary+=("FAIL  xor: $name (exit $code)")
        status=1
    fi
    cat "$log"
    if diff <(tail -n +3 "$HOST_LOG") <(tail -n +3 "$log"); then
        summary+=("PASS  xor: $name prints the host's losses and outputs, bit for bit")
    else
        summary+=("FAIL  xor: $name differs from the host (diff above)")
        status=1
    fi
}

check "$M0_TARGET on microbit (Cortex-M0, soft-float)" "$M0_ELF" "${M0_QEMU[@]}"
# The build without printing reports through its exit status alone.
if run_timed "${M0_QEMU[@]}" "$M0_QUIET_ELF"; then
    summary+=("PASS  xor: $M0_TARGET on microbit, no printing")
else
    code=$?
    summary+=("FAIL  xor: $M0_TARGET on microbit, no printing (exit $code)")
    status=1
fi
check "$RV_TARGET on virt (RV32IMAC, soft-float)" "$RV_ELF" "${RV_QEMU[@]}"

# Per section: llvm-size's Berkeley `bss` would count riscv-rt's `.stack` reservation
# (the rest of the RAM region) as if it were data. `flash` is what the image stores:
# vectors, code, read-only data, unwind tables (RISC-V's .eh_frame) and .data's image.
printf '\nrelease ELF sizes in bytes (the stack comes on top; the M0 has 16 KiB of RAM):\n'
printf '    %-46s %7s %7s %7s %7s %7s\n' image flash .text .rodata .data .bss
for entry in "$M0_ELF|$M0_TARGET, printing" "$M0_QUIET_ELF|$M0_TARGET, no printing" \
    "$RV_ELF|$RV_TARGET, printing"; do
    elf=${entry%%|*}
    "$LLVM_SIZE" -A "$elf" | awk -v name="${entry#*|}" '
        $1 ~ /^\.(vector_table|text|init|trap)/ { text += $2 }
        $1 ~ /^\.(rodata|srodata|eh_frame)/     { rodata += $2 }
        $1 ~ /^\.s?data/                        { data += $2 }
        $1 ~ /^\.(s?bss|uninit)/                { bss += $2 }
        END {
            printf "    %-46s %7d %7d %7d %7d %7d\n", name, text + rodata + data, text, rodata,
                data, bss
        }'
done
printf '\n'
printf '%s\n' "${summary[@]}"
exit "$status"
