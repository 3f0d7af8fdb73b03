//! Checkpoint and resume, run by both the host example (`examples/resume.rs`) and the
//! firmware (`examples/cortex-m`, binary `resume`): one piece of code, so the two print
//! the same lines, and `.ci/firmware.sh` checks that they do, bit for bit.
//!
//! The CNN of `cnn_task.rs` (convolutions, batch normalisation, Adam) trains
//! [`EPOCHS`] epochs straight through, and checkpoints the trainer and the data-order
//! generator once [`SAVE_AFTER`] epochs are done, into two A/B slots of a flash image in
//! RAM (`checkpoint::Slots`). A *fresh* trainer (all weights zero) and a generator
//! seeded otherwise then load the newest slot, as after a reset, and finish the run.
//! The losses of the epochs they train and the CRC-32 of the final state must equal
//! the straight run's: the resumed run is the same run. `core` only.

use crate::cnn_task::{self, CnnTrainer, PIXELS, SAMPLES, SEED};
use core::fmt::Arguments;
use microtrain::checkpoint::{self, Slots};
use microtrain::init::{init_params, Init};
use microtrain::train::Dataset;
use microtrain::Error;
use rand_core::SeedableRng;
use rand_pcg::Pcg32;

/// Epochs of the whole run.
pub const EPOCHS: usize = 10;
/// The run checkpoints once this many epochs are done (slot A, then slot B); the
/// resumed run starts from the last.
pub const SAVE_AFTER: [usize; 2] = [3, 6];
/// Bytes of one checkpoint: the trainer (parameters, buffers, Adam's state, counters,
/// dropout seed) and the generator.
pub const CHECKPOINT: usize = checkpoint::bytes::<(CnnTrainer, Pcg32)>();
/// Bytes of the flash image: two slots.
pub const FLASH: usize = 2 * CHECKPOINT;

/// The training pictures of `cnn_task`.
fn pictures(x: &mut [f32; SAMPLES * PIXELS], y: &mut [u32; SAMPLES]) {
    cnn_task::make_pictures(0, x, y);
}

/// The CRC-32 of a checkpoint of `trainer` and `rng`, written into `scratch`.
fn state_crc(trainer: &mut CnnTrainer, rng: &mut Pcg32, scratch: &mut [u8]) -> Result<u32, Error> {
    let n = checkpoint::save(&mut (trainer, rng), scratch)?;
    Ok(checkpoint::crc32(&scratch[..n]))
}

/// Runs both halves; `straight` and `resumed` come fresh from `cnn_task::fresh`,
/// `flash` is the checkpoint storage and `scratch` a buffer of [`CHECKPOINT`] bytes.
fn resume(
    straight: &mut CnnTrainer,
    resumed: &mut CnnTrainer,
    flash: &mut [u8; FLASH],
    scratch: &mut [u8; CHECKPOINT],
    say: &mut impl FnMut(Arguments<'_>),
) -> Result<bool, Error> {
    let (mut x, mut y) = ([0.0; SAMPLES * PIXELS], [0; SAMPLES]);
    pictures(&mut x, &mut y);
    let data = Dataset::new(&x, PIXELS, &y, 1)?;

    // The run that is never interrupted; it writes checkpoints as it goes, which
    // changes nothing in it. After the last, a device could lose power.
    let mut rng = Pcg32::seed_from_u64(SEED);
    init_params(&mut straight.model, Init::HeNormal, &mut rng);
    flash.fill(0xFF);
    let mut slots = Slots::new(&mut *flash);
    let mut losses = [0.0f32; EPOCHS];
    for (epoch, loss) in losses.iter_mut().enumerate() {
        *loss = straight.epoch(&data, &mut rng)?.data;
        say(format_args!("straight  epoch {epoch:2}  loss {loss:?}"));
        if SAVE_AFTER.contains(&(epoch + 1)) {
            let slot = slots.save(&mut (&mut *straight, &mut rng), scratch)?;
            say(format_args!(
                "checkpoint after epoch {epoch:2} -> slot {slot:?}"
            ));
        }
    }
    let straight_crc = state_crc(straight, &mut rng, scratch)?;
    let last = SAVE_AFTER[SAVE_AFTER.len() - 1];

    // ... and resumed by a fresh trainer and a generator seeded otherwise.
    let mut rng = Pcg32::seed_from_u64(!SEED);
    let (slot, header) = Slots::new(&mut *flash).load(&mut (&mut *resumed, &mut rng), scratch)?;
    say(format_args!(
        "resumed from slot {slot:?} (sequence {}, CRC {:#010x}) after {} steps",
        header.sequence,
        header.crc,
        resumed.steps()
    ));
    let mut same = true;
    for (epoch, &want) in losses.iter().enumerate().skip(last) {
        let loss = resumed.epoch(&data, &mut rng)?.data;
        same &= loss.to_bits() == want.to_bits();
        say(format_args!("resumed   epoch {epoch:2}  loss {loss:?}"));
    }
    let resumed_crc = state_crc(resumed, &mut rng, scratch)?;
    say(format_args!(
        "final state CRC-32: straight {straight_crc:#010x}, resumed {resumed_crc:#010x}"
    ));
    Ok(same && straight_crc == resumed_crc)
}

/// Runs the task, reports each line through `say`, and says whether the resumed run
/// equals the straight one bit for bit.
pub fn run(
    machine: &str,
    straight: &mut CnnTrainer,
    resumed: &mut CnnTrainer,
    flash: &mut [u8; FLASH],
    scratch: &mut [u8; CHECKPOINT],
    say: &mut impl FnMut(Arguments<'_>),
) -> bool {
    say(format_args!(
        "microtrain on {machine}: checkpoint and resume of the CNN (Adam, batch norm), \
         {EPOCHS} epochs, checkpoints after epochs {SAVE_AFTER:?} into A/B slots"
    ));
    say(format_args!(
        "checkpoint: {CHECKPOINT} bytes; trainer RAM {} bytes",
        CnnTrainer::BYTES
    ));
    let same = match resume(straight, resumed, flash, scratch, say) {
        Ok(same) => same,
        Err(error) => {
            say(format_args!("FAIL: {error}"));
            return false;
        }
    };
    say(format_args!(
        "{}",
        if same {
            "PASS: the resumed run equals the uninterrupted run, bit for bit"
        } else {
            "FAIL: the resumed run differs from the uninterrupted run"
        }
    ));
    same
}
