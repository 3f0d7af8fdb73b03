//! On-device fine-tuning under QEMU: a 64-32-10 digits network pretrained on the host
//! (its weights in flash, `src/finetune_pretrained.rs`, written by
//! `examples/finetune_weights.rs`) adapts to digits seen through another sensor gain
//! and offset, training only its last layer on frozen features, then only its biases.
//! The task lives in `examples/common/finetune_task.rs`, which the host example
//! `examples/finetune.rs` runs too: the same code, and the same printed numbers.
//!
//! ```text
//! cd examples/cortex-m
//! cargo run --release --bin finetune --target thumbv7em-none-eabihf
//! cargo run --release --bin finetune --target thumbv8m.main-none-eabihf
//! ```
//!
//! It prints the test accuracy before and after each way of fine-tuning and the RAM
//! each trainer takes (full training against the two frozen variants), and exits QEMU
//! with success only if both beat the pretrained network on the shifted test digits.
//!
//! Flash holds the two layers (`FrozenDense` statics, 9.6 KiB) and the 500 samples
//! (32 KiB of characters). The trainers are statics initialised at compile time from
//! them (`.data`, 18 KiB); the pixels the bias-only run trains on are a static buffer
//! (`.bss`, 64 000 bytes); the features of the fine-tuning and test sets are on the
//! stack (2 × 32 000 bytes).

#![no_std]
#![no_main]

use core::ptr::addr_of_mut;
use cortex_m_rt::entry;

/// The task, shared word for word with the host example `examples/finetune.rs`.
#[path = "../../../common/finetune_task.rs"]
mod finetune_task;

/// The pretrained layers and the samples, generated on the host.
#[path = "../finetune_pretrained.rs"]
mod finetune_pretrained;

/// Panic handling, printing and the exit, shared with the other firmware examples.
#[path = "../board.rs"]
mod board;

use finetune_pretrained::{BODY, HEAD, IMAGES, LABELS};
use finetune_task::{BiasTrainer, HeadTrainer, Pretrained, SCRATCH};

/// What came from the host, all in flash.
static PRETRAINED: Pretrained = Pretrained {
    body: &BODY,
    head: &HEAD,
    images: &IMAGES,
    labels: &LABELS,
};

/// The last layer's trainer, starting from the pretrained weights.
static mut HEAD_TRAINER: HeadTrainer = finetune_task::head_trainer(&HEAD);
/// The bias-only trainer: both weight matrices stay in flash.
static mut BIAS_TRAINER: BiasTrainer = finetune_task::bias_trainer(&PRETRAINED);
/// Pixels of the fine-tuning or the test set, for the bias-only run.
static mut SCRATCH_PIXELS: [f32; SCRATCH] = [0.0; SCRATCH];

/// Fine-tunes, reports each line over semihosting (when printing is on), and says
/// whether fine-tuning helped.
fn run() -> bool {
    // SAFETY: `run` is called once, from `main`, and nothing else touches these statics
    // (no interrupt handler uses them), so these are the only references to them.
    let (head, bias, scratch) = unsafe {
        (
            &mut *addr_of_mut!(HEAD_TRAINER),
            &mut *addr_of_mut!(BIAS_TRAINER),
            &mut *addr_of_mut!(SCRATCH_PIXELS),
        )
    };
    finetune_task::run(
        env!("FIRMWARE_MACHINE"),
        &PRETRAINED,
        head,
        bias,
        scratch,
        &mut board::say,
    )
}

#[entry]
fn main() -> ! {
    board::finish(run())
}
