//! Puts the mps2-an386 memory map (shared with `examples/cortex-m`) on the linker's
//! search path as `memory.x`, which cortex-m-rt's `link.x` includes.

use std::{env, fs, path::PathBuf};

fn main() {
    let map = "../cortex-m/memory/mps2-an386.x";
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(map, out.join("memory.x")).expect("copy the memory map");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={map}");
    println!("cargo:rerun-if-changed=build.rs");
}
