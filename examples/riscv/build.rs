//! Puts `memory.x` (QEMU virt's memory map) where the linker finds it: riscv-rt's
//! `link.x` does `INCLUDE memory.x`, searched on the linker's path, and `$OUT_DIR` is on
//! it whatever directory the linker runs in.

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("copy the memory map");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
