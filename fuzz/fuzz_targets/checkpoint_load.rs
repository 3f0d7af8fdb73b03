//! Fuzzes the checkpoint decoder: any bytes loaded into a training state (trainer with
//! Adam and batch normalisation, generator, schedule, plateau, early stopping) and into
//! two A/B slots must not panic; a load that fails must leave the state untouched, and
//! one that succeeds must leave the state that re-saves to the same payload.
//!
//! The first input byte picks a mode. Bit 1 set: the rest of the input is XORed into a
//! valid checkpoint (and a short input also cuts up to 7 bytes off its end) rather
//! than loaded as it is. Bit 0 set: the bytes get a correct CRC before loading. Both
//! bring the fuzzer to the checks and the decoding behind the CRC, which it could not
//! forge otherwise.
//!
//! ```text
//! cd fuzz
//! cargo +nightly fuzz run checkpoint_load -- -max_total_time=300
//! ```

#![no_main]

use libfuzzer_sys::fuzz_target;
use microtrain::checkpoint::{self, Crc32, Slots, HEADER_BYTES};
use microtrain::layers::{BatchNorm, Dense, Params, Relu};
use microtrain::loss::CrossEntropy;
use microtrain::optim::{Adam, AdamConfig};
use microtrain::schedule::{Constant, PlateauConfig, ReduceOnPlateau, Scheduler};
use microtrain::train::{EarlyStopper, EarlyStopping, Trainer};
use microtrain::{seq, Seq};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

type Net = Seq![Dense<3, 4>, BatchNorm<4>, Relu, Dense<4, 2>];
const P: usize = <Net as Params>::COUNT;
type State = (
    Trainer<Net, CrossEntropy, Adam<P>, 2, 3, 2>,
    Pcg32,
    Scheduler<Constant>,
    ReduceOnPlateau,
    EarlyStopper<P>,
);
const BYTES: usize = checkpoint::bytes::<State>();

fn state() -> State {
    let mut t = Trainer::new(
        seq![Dense::zeros(), BatchNorm::new(), Relu, Dense::zeros()],
        CrossEntropy::default(),
        Adam::new(AdamConfig::default()),
        3,
    );
    t.model.0.bias.0 = [1.0, 2.0, 3.0, 4.0];
    (
        t,
        Pcg32::seed_from_u64(9),
        Scheduler::new(Constant { lr: 0.1 }),
        ReduceOnPlateau::new(PlateauConfig::default(), 0.1),
        EarlyStopper::new(EarlyStopping::new()),
    )
}

fn save(s: &mut State) -> [u8; BYTES] {
    let mut buf = [0u8; BYTES];
    checkpoint::save(s, &mut buf).expect("the buffer fits");
    buf
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut bytes = rest.to_vec();
    if mode & 2 == 2 {
        // The input as a patch over a valid checkpoint: XORed into its bytes, so that
        // most inputs stay close to one that loads.
        let mut valid = save(&mut state()).to_vec();
        for (v, p) in valid.iter_mut().zip(rest) {
            *v ^= p;
        }
        if rest.len() < BYTES / 2 {
            valid.truncate(BYTES - rest.len() % 8);
        }
        bytes = valid;
    }
    if mode & 1 == 1 && bytes.len() >= HEADER_BYTES {
        let len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
        let end = HEADER_BYTES.saturating_add(len).min(bytes.len());
        let mut crc = Crc32::new();
        crc.update(&bytes[..20]);
        crc.update(&bytes[HEADER_BYTES..end]);
        bytes[20..24].copy_from_slice(&crc.value().to_le_bytes());
    }
    let mut s = state();
    let before = save(&mut s);
    match checkpoint::load(&mut s, &bytes) {
        Ok(_) => {
            let after = save(&mut s);
            assert_eq!(&after[HEADER_BYTES..], &bytes[HEADER_BYTES..BYTES]);
        }
        Err(_) => assert!(save(&mut s) == before, "a failed load changed the state"),
    }
    let mut s = state();
    let mut flash = bytes.clone();
    let mut scratch = [0u8; BYTES];
    if Slots::new(flash.as_mut_slice())
        .load(&mut s, &mut scratch)
        .is_err()
    {
        assert!(
            save(&mut s) == before,
            "a failed slot load changed the state"
        );
    }
});
