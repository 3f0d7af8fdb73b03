//! Gives the linker the memory map of the QEMU machine that runs the chosen target.
//!
//! cortex-m-rt's `link.x` does `INCLUDE memory.x`. The machines differ, so the maps
//! live in `memory/<machine>.x`; this script copies the one for `$TARGET` to
//! `$OUT_DIR/memory.x` and puts `$OUT_DIR` on the linker's search path. (No `memory.x`
//! sits in the crate root, where the linker would find it first.)

use std::{env, fs, path::PathBuf};

/// The QEMU machine that runs each supported target.
fn machine(target: &str) -> Option<&'static str> {
    match target {
        "thumbv7em-none-eabihf" => Some("mps2-an386"),
        "thumbv8m.main-none-eabihf" => Some("mps3-an547"),
        "thumbv6m-none-eabi" => Some("microbit"),
        _ => None,
    }
}

fn main() {
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let Some(machine) = machine(&target) else {
        panic!(
            "no memory map for target `{target}`: build with \
             --target thumbv7em-none-eabihf (mps2-an386) or \
             --target thumbv8m.main-none-eabihf (mps3-an547) or \
             --target thumbv6m-none-eabi (microbit)"
        );
    };
    let map = format!("memory/{machine}.x");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(&map, out.join("memory.x")).expect("copy the memory map");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-env=FIRMWARE_MACHINE={machine}");
    println!("cargo:rerun-if-changed={map}");
    println!("cargo:rerun-if-changed=build.rs");
}
