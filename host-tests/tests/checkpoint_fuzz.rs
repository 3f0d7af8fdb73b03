//! A seeded property test of the checkpoint decoder over random and mutated bytes: no
//! input panics, every input that does not load leaves the state untouched, and every
//! input that loads is one the state re-saves to, byte for byte. A quarter of the
//! mutated inputs get their CRC rewritten so that the checks after the CRC (version,
//! fingerprint, length, field values) and the field decoding are exercised too.
//! `CHECKPOINT_FUZZ_INPUTS` sets the number of inputs (default 120 000); run with
//! `--nocapture` to see the counts.

use host_tests::resume::{samples, Run, TRAIN, VALID};
use microtrain::checkpoint::{self, CheckpointFault, Model, Slots};
use microtrain::layers::Dense;
use microtrain::optim::{Adam, AdamConfig};
use microtrain::train::Dataset;
use microtrain::Error;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

const P: usize = host_tests::resume::PARAMS;

fn fix_crc(buf: &mut [u8]) {
    if buf.len() < 24 {
        return;
    }
    let len = u32::from_le_bytes(buf[12..16].try_into().unwrap()) as usize;
    let end = 24usize.saturating_add(len).min(buf.len());
    let mut h = crc32fast::Hasher::new();
    h.update(&buf[..20]);
    h.update(&buf[24..end]);
    buf[20..24].copy_from_slice(&h.finalize().to_le_bytes());
}

/// One input: random bytes, a random header, or a mutated valid checkpoint (its CRC
/// rewritten or not); returns the bytes and the kind of input.
fn input(rng: &mut host_tests::Rng, valid: &[u8]) -> (Vec<u8>, &'static str) {
    let byte = |rng: &mut host_tests::Rng| rng.next_u64() as u8;
    match rng.below(4) {
        0 => {
            let len = rng.below(2 * valid.len() as u64) as usize;
            ((0..len).map(|_| byte(rng)).collect(), "random bytes")
        }
        1 => {
            // A plausible header (magic, version 1, a length near the real one) over
            // random bytes, CRC fixed half the time.
            let len = 24 + rng.below(valid.len() as u64 + 64) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| byte(rng)).collect();
            b[..8].copy_from_slice(&valid[..8]);
            if rng.below(2) == 0 {
                b[16..20].copy_from_slice(&valid[16..20]);
            }
            let payload = (len - 24) as u32 - rng.below(8).min(len as u64 - 24) as u32;
            b[12..16].copy_from_slice(&payload.to_le_bytes());
            if rng.below(2) == 0 {
                fix_crc(&mut b);
            }
            (b, "random header")
        }
        kind => {
            let mut b = valid.to_vec();
            for _ in 0..1 + rng.below(8) {
                match rng.below(6) {
                    0 => {
                        let i = rng.below(b.len().max(1) as u64) as usize;
                        if let Some(x) = b.get_mut(i) {
                            *x ^= 1 << rng.below(8);
                        }
                    }
                    1 => {
                        let i = rng.below(b.len().max(1) as u64) as usize;
                        if let Some(x) = b.get_mut(i) {
                            *x = byte(rng);
                        }
                    }
                    2 => b.truncate(rng.below(b.len() as u64 + 1) as usize),
                    3 => b.extend((0..rng.below(64)).map(|_| byte(rng))),
                    4 => {
                        // A header field (version, sequence, length, fingerprint).
                        let at = 4 + 4 * rng.below(4) as usize;
                        if b.len() >= at + 4 {
                            let v = match rng.below(3) {
                                0 => 0,
                                1 => u32::MAX,
                                _ => rng.next_u64() as u32 % (2 * valid.len() as u32),
                            };
                            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
                        }
                    }
                    _ => {
                        let i = rng.below(b.len() as u64 + 1) as usize;
                        b.insert(i, byte(rng));
                    }
                }
            }
            if kind == 3 {
                fix_crc(&mut b);
                (b, "mutated, CRC rewritten")
            } else {
                (b, "mutated")
            }
        }
    }
}

fn outcome(e: &Error) -> &'static str {
    match e {
        Error::Checkpoint(f) => match f {
            CheckpointFault::Truncated { .. } => "truncated",
            CheckpointFault::Magic { .. } => "magic",
            CheckpointFault::Crc { .. } => "crc",
            CheckpointFault::Version { .. } => "version",
            CheckpointFault::Fingerprint { .. } => "fingerprint",
            CheckpointFault::Length { .. } => "length",
            CheckpointFault::Value { .. } => "value",
            CheckpointFault::Blank => "blank",
            _ => "other fault",
        },
        Error::NoCheckpoint { .. } => "no slot loads",
        _ => "other error",
    }
}

#[test]
fn the_decoder_never_panics_and_never_half_loads() {
    let inputs: usize = std::env::var("CHECKPOINT_FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120_000);
    let (tx, ty) = samples(TRAIN, 1);
    let (vx, vy) = samples(VALID, 2);
    let train = Dataset::new(&tx, 4, &ty, 1).unwrap();
    let valid_set = Dataset::new(&vx, 4, &vy, 1).unwrap();
    let mut source = Run::new(Adam::<P>::new(AdamConfig::default()), 0.01, 1);
    for _ in 0..2 {
        source.epoch(&train, &valid_set);
    }
    let valid = source.checkpoint();
    let mut target = Run::new(Adam::<P>::new(AdamConfig::default()), 0.01, 2);
    let baseline = target.checkpoint();
    let mut dense = Dense::<4, 3>::zeros();
    let mut scratch = vec![0u8; valid.len() + 64];

    let mut rng = host_tests::Rng::new(0x00C0_FFEE);
    let mut tally: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for i in 0..inputs {
        let (bytes, kind) = input(&mut rng, &valid);
        let result = catch_unwind(AssertUnwindSafe(|| {
            // The bytes as the content of a flash slot pair, then as one checkpoint
            // of a plain model and of the whole run.
            let mut flash = bytes.clone();
            let slots = Slots::new(flash.as_mut_slice()).load(&mut target.parts(), &mut scratch);
            if slots.is_ok() {
                checkpoint::load(&mut target.parts(), &baseline).unwrap();
            }
            let _ = checkpoint::load(&mut Model(&mut dense), &bytes);
            checkpoint::load(&mut target.parts(), &bytes)
        }));
        let result = result.unwrap_or_else(|_| panic!("input {i} ({kind}) panicked: {bytes:02x?}"));
        let now = target.checkpoint();
        match result {
            Ok(_) => {
                // Loaded: the state is exactly what the bytes say.
                let n = now.len();
                let differ: Vec<usize> =
                    (24..n).filter(|&j| bytes.get(j) != Some(&now[j])).collect();
                assert!(
                    differ.is_empty(),
                    "input {i} ({kind}) loads, re-saves otherwise at {differ:?} of {n}"
                );
                *tally.entry((kind, "loaded")).or_default() += 1;
                checkpoint::load(&mut target.parts(), &baseline).unwrap();
            }
            Err(e) => {
                assert!(now == baseline, "input {i} ({kind}): {e} changed the state");
                *tally.entry((kind, outcome(&e))).or_default() += 1;
            }
        }
        if now != baseline {
            checkpoint::load(&mut target.parts(), &baseline).unwrap();
        }
    }
    println!("checkpoint decoder: {inputs} inputs, no panic, no half-load; outcomes:");
    for ((kind, result), n) in &tally {
        println!("    {kind:24} {result:12} {n}");
    }
}
