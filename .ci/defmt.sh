#!/usr/bin/env bash
# The defmt feature on a device: examples/cortex-m-defmt trains XOR on the Cortex-M4F
# (QEMU mps2-an386) and logs risks, an evaluation, the history and a refused input as
# defmt frames over semihosting; defmt-print decodes them with the ELF's format strings.
# Passes if QEMU exits with success and the decoded log holds the expected lines.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v defmt-print >/dev/null; then
    cargo install --locked defmt-print@1.2.0
fi
target_dir="$PWD/target/firmware-defmt"
(cd examples/cortex-m-defmt && cargo build --release --target-dir "$target_dir")
elf="$target_dir/thumbv7em-none-eabihf/release/microtrain-cortex-m-defmt"
frames=$(mktemp)
log=$(mktemp)
trap 'rm -f "$frames" "$log"' EXIT
timeout 120 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
    -semihosting-config enable=on,target=native -kernel "$elf" >"$frames"
defmt-print -e "$elf" --log-format '{L} {s}' <"$frames" >"$log"
cat "$log"
echo "defmt: $(wc -c <"$frames") bytes of frames for $(wc -l <"$log") decoded lines"
for expected in 'INFO  final: loss ' 'epoch 900: loss ' 'history of 10 epochs' \
    'WARN  refused: ' 'is NaN or infinite' 'INFO  PASS'; do
    if ! grep -qF "$expected" "$log"; then
        echo "defmt: the decoded log lacks \"$expected\"" >&2
        exit 1
    fi
done
