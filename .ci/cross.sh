#!/usr/bin/env bash
# One canonical evaluation order: the examples print the same numbers on every target.
# Builds the XOR and CNN examples and the MLP benchmark for aarch64 (NEON kernels), runs them
# under qemu-aarch64, and diffs their output with the host's x86-64 run (a default build:
# SSE2 vectors, the matrix products and optimizer updates dispatched at run time to AVX2
# or AVX-512 where the CPU has them; host-tests/tests/kernels_dispatch.rs compares every
# level with the scalar path), and the host's once more with -C target-cpu=native
# (AVX-512 or AVX2 vectors compiled in). Only the lines that report wall time may differ.
#
# Installs nothing: .ci/run installs the aarch64 target, its linker and qemu-user.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "cross.sh: $*" >&2; exit 1; }
command -v qemu-aarch64 >/dev/null || die "qemu-aarch64 is not installed (Debian: qemu-user)"
command -v aarch64-linux-gnu-gcc >/dev/null ||
    die "aarch64-linux-gnu-gcc is not installed (Debian: gcc-aarch64-linux-gnu)"

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
AARCH64=aarch64-unknown-linux-gnu
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# Drops the lines that report wall time ("... in 0.07 s; ...", "total runtime ...").
untimed() { grep -vE '[0-9] s(;|$)|^total runtime'; }

# The digits demo (two networks, 60 epochs each) takes minutes under qemu-aarch64, so
# it is compared on x86-64 only; the CNN and MLP examples cover the same kernels
# (convolution, batch norm, augmentation, Adam, cross-entropy) on aarch64.
status=0
for example in xor digits mlp_bench cnn; do
    others="native aarch64"
    [ "$example" != digits ] || others="native"
    cargo run --quiet --release --example "$example" | untimed >"$OUT/$example.host"
    RUSTFLAGS="-C target-cpu=native" cargo run --quiet --release --example "$example" \
        --target-dir "$TARGET_DIR/native" | untimed >"$OUT/$example.native"
    if [ "$others" != native ]; then
        cargo build --quiet --release --example "$example" --target "$AARCH64"
        qemu-aarch64 -L /usr/aarch64-linux-gnu "$TARGET_DIR/$AARCH64/release/examples/$example" |
            untimed >"$OUT/$example.aarch64"
    fi
    for other in $others; do
        if diff "$OUT/$example.host" "$OUT/$example.$other" >"$OUT/diff"; then
            echo "PASS  $example: x86-64 and $other print the same $(wc -l <"$OUT/$example.host") lines"
        else
            cat "$OUT/diff"
            echo "FAIL  $example: x86-64 and $other differ (diff above)"
            status=1
        fi
    done
done
exit "$status"
