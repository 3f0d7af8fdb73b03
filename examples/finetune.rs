//! Fine-tuning a pretrained network to shifted data on the host: the very code the
//! firmware example (`examples/cortex-m`, binary `finetune`) runs on the
//! microcontroller, from `examples/common/finetune_task.rs`, with the pretrained layers
//! and samples of `examples/cortex-m/src/finetune_pretrained.rs`, so this run prints
//! what the microcontroller prints (from the third line on, bit for bit).
//!
//! ```text
//! cargo run --release --example finetune
//! ```
//!
//! It exits with a failure status unless both ways of fine-tuning (the last layer on
//! frozen features, and the biases alone) beat the pretrained network on the shifted
//! test samples, the test the firmware applies on the device.

#[path = "cortex-m/src/finetune_pretrained.rs"]
mod finetune_pretrained;
#[path = "common/finetune_task.rs"]
mod finetune_task;

use finetune_pretrained::{BODY, HEAD, IMAGES, LABELS};
use finetune_task::Pretrained;
use std::process::ExitCode;

static PRETRAINED: Pretrained = Pretrained {
    body: &BODY,
    head: &HEAD,
    images: &IMAGES,
    labels: &LABELS,
};

fn main() -> ExitCode {
    let mut head = Box::new(finetune_task::head_trainer(&HEAD));
    let mut bias = Box::new(finetune_task::bias_trainer(&PRETRAINED));
    let mut scratch = Box::new([0.0; finetune_task::SCRATCH]);
    let say = &mut |line: std::fmt::Arguments<'_>| println!("{line}");
    if finetune_task::run(
        "the host",
        &PRETRAINED,
        &mut head,
        &mut bias,
        &mut scratch,
        say,
    ) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
