#!/usr/bin/env bash
# Flash that training takes on a Cortex-M, without printing (opt-level "s", LTO), in two
# measures and two configurations (the library as shipped, and with its `small`
# feature), for both Cortex-M targets:
#
# - bench above empty: the benchmark firmware (examples/cortex-m/src/bin/bench.rs) above
#   a firmware that only exits; what .ci/firmware_bench.sh reports. It counts the
#   benchmark's own probes (SysTick calibration, instruction clock, stack painting, a
#   separately timed product and Adam update) and its data and hash.
# - train_only above train_base: the same task's training alone (configure, make the
#   data, initialise, ten epochs, evaluate, hash) above a firmware that makes the same
#   data and hashes the same parameters without training: the code training adds,
#   initialisation included.
#
# Prints the second measure's bytes by symbol family (llvm-nm sizes; LTO inlines
# across crates, so a family is where the code ended up), runs train_only under QEMU
# (it must learn) and, for the `small` configuration, the printing benchmark's
# instruction counts and parameter hash (which must equal .ci/firmware_bench.sh's: the
# feature changes code, not bits). Installs nothing (.ci/run does).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(
    "thumbv7em-none-eabihf     mps2-an386 cortex-m4"
    "thumbv8m.main-none-eabihf mps3-an547 cortex-m55"
)
die() { echo "firmware_size.sh: $*" >&2; exit 1; }
command -v qemu-system-arm >/dev/null || die "qemu-system-arm is not installed"
llvm_bin="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
LLVM_SIZE="$llvm_bin/llvm-size"
LLVM_NM="$llvm_bin/llvm-nm"
[ -x "$LLVM_SIZE" ] && [ -x "$LLVM_NM" ] || die "llvm-size/llvm-nm not found (rustup component add llvm-tools)"

cd examples/cortex-m

text() { "$LLVM_SIZE" "$1" | awk 'NR == 2 { print $1 }'; }

# "family<TAB>bytes" for the code and read-only data of an ELF.
by_family() {
    "$LLVM_NM" --print-size --demangle --radix=d "$1" | awk '
        NF >= 4 && $3 ~ /^[tTrR]$/ && $2 + 0 > 0 {
            name = $4; for (i = 5; i <= NF; i++) name = name " " $i
            # Legacy-mangled generic names keep `..` for `::` after demangling.
            if (name ~ /gemm/)                                   f = "matrix products"
            else if (name ~ /optim|pow_complement|math(::|\.\.)Pair/) f = "optimizer (Adam)"
            else if (name ~ /microtrain(::|\.\.)train/)         f = "trainer"
            else if (name ~ /microtrain(::|\.\.)loss/)          f = "loss"
            else if (name ~ /microtrain(::|\.\.)layers/)        f = "layers"
            else if (name ~ /microtrain(::|\.\.)init/)          f = "initialisation"
            else if (name ~ /microtrain(::|\.\.)kernels/)       f = "other kernels"
            else if (name ~ /libm|^f(max|min)f$/)                f = "libm"
            else if (name ~ /mem(cpy|set|clr|move)/)             f = "memcpy, memclr"
            else if (name ~ /panic|slice_index|len_mismatch/)    f = "panics"
            else if (name ~ /^(train_only|train_base|bench|empty)::/) f = "firmware (main, data, hash)"
            else if (name ~ /^(Reset|__INTERRUPTS|__EXCEPTIONS|__RESET_VECTOR|main|DefaultHandler_|DefaultPreInit|HardFault_|__pre_init)$/)
                f = "cortex-m-rt"
            else if (name ~ /^\.L/)                              f = "anonymous constants"
            else                                                 f = "other"
            bytes[f] += $2
        }
        END { for (f in bytes) printf "%s\t%d\n", f, bytes[f] }'
}

# Two ELFs' families side by side with the difference, largest difference first.
families() {
    awk -F '\t' '
        FNR == 1 { file++ }
        { seen[$1] = 1; bytes[file, $1] = $2 }
        END {
            for (f in seen) printf "    %8d %8d %8d  %s\n", bytes[1, f], bytes[2, f], bytes[1, f] - bytes[2, f], f
        }' <(by_family "$1") <(by_family "$2") | sort -k3 -rn
}

status=0
summary=()
for entry in "${TARGETS[@]}"; do
    read -r target machine cpu <<<"$entry"
    for config in default small; do
        features=()
        [ "$config" = small ] && features=(--features microtrain/small)
        dir="target/size-$config"
        cargo build --quiet --release --no-default-features "${features[@]}" \
            --bin bench --bin empty --bin train_only --bin train_base \
            --target "$target" --target-dir "$dir"
        elf() { echo "$dir/$target/release/$1"; }
        bench=$(text "$(elf bench)") empty=$(text "$(elf empty)")
        train=$(text "$(elf train_only)") base=$(text "$(elf train_base)")
        printf '\n--- %s, %s: text of train_only, train_base, difference, by family\n' "$target" "$config"
        families "$(elf train_only)" "$(elf train_base)"
        printf '    %8d %8d %8d  text (llvm-size)\n' "$train" "$base" "$((train - base))"
        if timeout 300 qemu-system-arm -machine "$machine" -cpu "$cpu" -nographic \
            -semihosting-config enable=on,target=native -kernel "$(elf train_only)"; then
            verdict=PASS
        else
            verdict=FAIL
            status=1
        fi
        line="$verdict  $target $config: training adds $((train - base)) bytes (train_only $train - train_base $base); bench above empty $((bench - empty))"
        if [ "$config" = small ]; then
            cargo build --quiet --release "${features[@]}" --bin bench --target "$target" --target-dir "$dir/print"
            counts=$(timeout 300 qemu-system-arm -machine "$machine" -cpu "$cpu" -icount shift=0 -nographic \
                -semihosting-config enable=on,target=native -kernel "$dir/print/$target/release/bench" |
                grep -e '^instructions per' -e 'hash' || true)
            echo "$counts" | sed 's/^/    /'
            line="$line; $(echo "$counts" | grep -o 'hash [0-9a-f]*'), $(echo "$counts" |
                sed -n 's/^instructions per train_step[^:]*: \([0-9]*\).*/\1 instructions per step/p')"
        fi
        summary+=("$line")
    done
done
printf '\n'
printf '%s\n' "${summary[@]}"
exit "$status"
