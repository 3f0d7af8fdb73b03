//! Checkpoints: the CRC against an independent implementation, bit-exact resume for
//! every optimizer, every single-bit flip and every truncation detected (and the state
//! left untouched), faults named, and a power cut at every byte of an A/B write leaving
//! a loadable checkpoint. Run with `--nocapture` to see the counts.

use host_tests::flash::Flash;
use host_tests::resume::{samples, Parts, Run, Tr, TRAIN, VALID};
use microtrain::checkpoint::{self, CheckpointFault, Model, Persist, Slot, Slots};
use microtrain::layers::{Dense, Params};
use microtrain::optim::{
    Adagrad, AdagradConfig, Adam, AdamConfig, AmsGrad, NAdam, NAdamConfig, Optimizer, RAdam,
    RAdamConfig, RmsProp, RmsPropConfig, Sgd, SgdMomentum, SgdMomentumConfig,
};
use microtrain::train::Dataset;
use microtrain::Error;
use std::collections::BTreeMap;

const P: usize = host_tests::resume::PARAMS;

fn fault(e: Error) -> CheckpointFault {
    match e {
        Error::Checkpoint(f) => f,
        other => panic!("expected a checkpoint fault, got {other:?}"),
    }
}

/// The kind of a fault, for tallies.
fn kind(f: CheckpointFault) -> &'static str {
    match f {
        CheckpointFault::Truncated { .. } => "truncated",
        CheckpointFault::Magic { .. } => "magic",
        CheckpointFault::Crc { .. } => "crc",
        CheckpointFault::Version { .. } => "version",
        CheckpointFault::Fingerprint { .. } => "fingerprint",
        CheckpointFault::Length { .. } => "length",
        CheckpointFault::Value { .. } => "value",
        CheckpointFault::Blank => "blank",
        _ => "other",
    }
}

/// Rewrites the CRC of a checkpoint whose header or payload was edited on purpose,
/// with crc32fast, so that the loader's later checks are reached.
fn fix_crc(buf: &mut [u8]) {
    let len = u32::from_le_bytes(buf[12..16].try_into().unwrap()) as usize;
    let mut h = crc32fast::Hasher::new();
    h.update(&buf[..20]);
    h.update(&buf[24..(24 + len).min(buf.len())]);
    buf[20..24].copy_from_slice(&h.finalize().to_le_bytes());
}

#[test]
fn crc32_matches_known_vectors_and_crc32fast() {
    // Check values of CRC-32/ISO-HDLC (the catalogue's "123456789") and zlib's.
    assert_eq!(checkpoint::crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(checkpoint::crc32(b""), 0);
    assert_eq!(checkpoint::crc32(b"a"), 0xE8B7_BE43);
    assert_eq!(
        checkpoint::crc32(b"The quick brown fox jumps over the lazy dog"),
        0x414F_A339
    );
    let mut rng = host_tests::Rng::new(7);
    let mut tried = 0;
    for len in 0..=300 {
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let want = crc32fast::hash(&bytes);
        assert_eq!(checkpoint::crc32(&bytes), want, "length {len}");
        // Fed in two pieces, split anywhere.
        let split = if len == 0 {
            0
        } else {
            rng.below(len as u64) as usize
        };
        let mut crc = checkpoint::Crc32::new();
        crc.update(&bytes[..split]);
        crc.update(&bytes[split..]);
        assert_eq!(crc.value(), want, "length {len} split at {split}");
        tried += 1;
    }
    println!("CRC-32 equals crc32fast on {tried} random buffers");
}

/// Trains `epochs` epochs uninterrupted, then, for every `k` in `0..=epochs`, trains
/// `k` epochs, checkpoints, loads into a run built from another seed and finishes
/// there: the losses after `k` and the final state must be the uninterrupted run's,
/// bit for bit.
fn assert_resume_is_bit_exact<O: Optimizer + Persist + Copy>(name: &str, opt: O, lr: f32) {
    let (tx, ty) = samples(TRAIN, 1);
    let (vx, vy) = samples(VALID, 2);
    let train = Dataset::new(&tx, 4, &ty, 1).unwrap();
    let valid = Dataset::new(&vx, 4, &vy, 1).unwrap();
    let epochs = 12;
    let mut straight = Run::new(opt, lr, 5);
    let trace: Vec<[u32; 2]> = (0..epochs)
        .map(|_| straight.epoch(&train, &valid))
        .collect();
    let end = straight.checkpoint();
    for k in 0..=epochs {
        let mut first = Run::new(opt, lr, 5);
        for _ in 0..k {
            first.epoch(&train, &valid);
        }
        let saved = first.checkpoint();
        drop(first);
        // Other weights, data order and dropout seed; the same schedule settings
        // (settings are the caller's code, not checkpoint state).
        let mut resumed = Run::new(opt, lr, 1234);
        checkpoint::load(&mut resumed.parts(), &saved).unwrap();
        for (e, want) in trace.iter().enumerate().skip(k) {
            assert_eq!(
                resumed.epoch(&train, &valid),
                *want,
                "{name}: resumed after {k}, epoch {e}"
            );
        }
        assert!(
            resumed.checkpoint() == end,
            "{name}: state after resuming at {k} differs"
        );
    }
    // The test can fail: a resume that leaves the data order out drifts.
    let mut first = Run::new(opt, lr, 5);
    first.epoch(&train, &valid);
    let mut buf = vec![0; checkpoint::bytes::<Tr<O>>()];
    checkpoint::save(&mut *first.trainer, &mut buf).unwrap();
    let mut partial = Run::new(opt, lr, 6);
    checkpoint::load(&mut *partial.trainer, &buf).unwrap();
    for _ in 1..epochs {
        partial.epoch(&train, &valid);
    }
    assert!(
        partial.checkpoint() != end,
        "{name}: the generator state does not matter?"
    );
}

#[test]
fn resume_is_bit_exact_for_every_optimizer() {
    assert_resume_is_bit_exact("SGD", Sgd::new(0.1), 0.1);
    let momentum = SgdMomentumConfig {
        nesterov: true,
        weight_decay: 1e-3,
        ..Default::default()
    };
    assert_resume_is_bit_exact("SGD+Nesterov", SgdMomentum::<P>::new(momentum), 0.05);
    let amsgrad = AdamConfig {
        amsgrad: true,
        ..Default::default()
    };
    assert_resume_is_bit_exact("Adam (AMSGrad)", AmsGrad::<P>::new(amsgrad), 0.01);
    assert_resume_is_bit_exact("AdamW", Adam::<P>::new(AdamConfig::adamw()), 0.01);
    assert_resume_is_bit_exact("NAdam", NAdam::<P>::new(NAdamConfig::default()), 0.01);
    assert_resume_is_bit_exact("RAdam", RAdam::<P>::new(RAdamConfig::default()), 0.01);
    let rms = RmsPropConfig {
        centered: true,
        momentum: 0.5,
        ..Default::default()
    };
    assert_resume_is_bit_exact("RMSprop", RmsProp::<P, P, P>::new(rms), 0.005);
    assert_resume_is_bit_exact("Adagrad", Adagrad::<P>::new(AdagradConfig::default()), 0.05);
    println!("resume: 8 optimizers, resumed after each of epochs 0..=12, bit-exact");
}

/// A checkpoint of a run three epochs in, and a run (another seed) to load it into.
fn saved_and_target() -> (Vec<u8>, Run<Adam<P>>) {
    let (tx, ty) = samples(TRAIN, 1);
    let (vx, vy) = samples(VALID, 2);
    let train = Dataset::new(&tx, 4, &ty, 1).unwrap();
    let valid = Dataset::new(&vx, 4, &vy, 1).unwrap();
    let mut run = Run::new(Adam::<P>::new(AdamConfig::default()), 0.01, 3);
    for _ in 0..3 {
        run.epoch(&train, &valid);
    }
    (
        run.checkpoint(),
        Run::new(Adam::new(AdamConfig::default()), 0.02, 77),
    )
}

#[test]
fn every_single_bit_flip_is_detected_and_changes_nothing() {
    let (saved, mut target) = saved_and_target();
    let before = target.checkpoint();
    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    let mut buf = saved.clone();
    for bit in 0..saved.len() * 8 {
        buf[bit / 8] ^= 1 << (bit % 8);
        let err =
            checkpoint::load(&mut target.parts(), &buf).expect_err("a flipped bit must not load");
        *tally.entry(kind(fault(err))).or_default() += 1;
        buf[bit / 8] ^= 1 << (bit % 8);
    }
    assert!(
        target.checkpoint() == before,
        "a failed load changed the state"
    );
    checkpoint::load(&mut target.parts(), &buf).unwrap();
    assert!(target.checkpoint() == saved);
    let flips: usize = tally.values().sum();
    assert_eq!(flips, saved.len() * 8);
    println!(
        "bit flips: {flips} of {flips} detected in a {}-byte checkpoint, by check: {tally:?}",
        saved.len()
    );
}

#[test]
fn every_truncation_is_detected_and_trailing_bytes_are_ignored() {
    let (saved, mut target) = saved_and_target();
    let before = target.checkpoint();
    for len in 0..saved.len() {
        let err = checkpoint::load(&mut target.parts(), &saved[..len]).unwrap_err();
        assert!(
            matches!(fault(err), CheckpointFault::Truncated { available, .. } if available == len),
            "length {len}: {err}"
        );
    }
    assert!(target.checkpoint() == before);
    let mut longer = saved.clone();
    longer.extend_from_slice(&[0xAB; 40]);
    checkpoint::load(&mut target.parts(), &longer).unwrap();
    println!("truncations: {} of {} detected", saved.len(), saved.len());
}

#[test]
fn faults_are_named() {
    let (saved, mut target) = saved_and_target();
    let before = target.checkpoint();
    let load = |target: &mut Run<Adam<P>>, bytes: &[u8]| {
        fault(checkpoint::load(&mut target.parts(), bytes).unwrap_err())
    };

    let mut b = saved.clone();
    b[0] = b'X';
    assert_eq!(
        load(&mut target, &b),
        CheckpointFault::Magic { found: *b"XTCK" }
    );
    assert_eq!(load(&mut target, &[0xFF; 64]), CheckpointFault::Blank);

    let mut b = saved.clone();
    b[4] = 2;
    fix_crc(&mut b);
    assert_eq!(
        load(&mut target, &b),
        CheckpointFault::Version {
            found: 2,
            supported: 1
        }
    );

    let mut b = saved.clone();
    b[100] ^= 1;
    let f = load(&mut target, &b);
    assert!(matches!(f, CheckpointFault::Crc { .. }), "{f:?}");
    assert!(
        f.to_string().starts_with("CRC-32 mismatch: stored 0x"),
        "{f}"
    );

    // A payload four bytes shorter, CRC fixed: the fingerprint matches, the length not.
    let mut b = saved.clone();
    let len = u32::from_le_bytes(b[12..16].try_into().unwrap()) - 4;
    b[12..16].copy_from_slice(&len.to_le_bytes());
    fix_crc(&mut b);
    let want = CheckpointFault::Length {
        expected: len as usize + 4,
        found: len as usize,
    };
    assert_eq!(load(&mut target, &b), want);

    // The early stopper's stop reason is the payload's last byte before its saved
    // parameters and buffers; an invalid one with a valid CRC reaches the field check, and the
    // state is still untouched (the loader checks every field before storing any).
    let mut b = saved.clone();
    let reason = saved.len() - 4 * (P + host_tests::resume::BUFFERS) - 1;
    b[reason] = 9;
    fix_crc(&mut b);
    let want = CheckpointFault::Value {
        what: "early stopping: stop reason",
        found: 9,
    };
    assert_eq!(load(&mut target, &b), want);
    assert!(target.checkpoint() == before);

    // Another structure: another optimizer, another model, fewer parts.
    let mut nadam = Run::new(NAdam::<P>::new(NAdamConfig::default()), 0.01, 1);
    let f = fault(checkpoint::load(&mut nadam.parts(), &saved).unwrap_err());
    assert!(matches!(f, CheckpointFault::Fingerprint { .. }), "{f:?}");
    let mut dense = Dense::<4, 3>::zeros();
    let f = fault(checkpoint::load(&mut Model(&mut dense), &saved).unwrap_err());
    assert!(matches!(f, CheckpointFault::Fingerprint { .. }), "{f:?}");
    let f = fault(checkpoint::load(&mut *target.trainer, &saved).unwrap_err());
    assert!(matches!(f, CheckpointFault::Fingerprint { .. }), "{f:?}");
    // Same sizes, other parameter kinds: Dense<2, 2> (4 weights, 2 biases) against
    // Dense<1, 3> (3 weights, 3 biases) has the same byte count, not the same shapes.
    let mut buf = [0u8; 64];
    checkpoint::save(&mut Model(&mut Dense::<2, 2>::zeros()), &mut buf).unwrap();
    let f = fault(checkpoint::load(&mut Model(&mut Dense::<1, 3>::zeros()), &buf).unwrap_err());
    assert!(matches!(f, CheckpointFault::Fingerprint { .. }), "{f:?}");
    assert_eq!(
        <Dense<2, 2> as Params>::COUNT,
        <Dense<1, 3> as Params>::COUNT
    );

    let err = checkpoint::save(&mut target.parts(), &mut [0; 100]).unwrap_err();
    assert_eq!(
        err,
        Error::Length {
            what: "checkpoint buffer",
            expected: saved.len(),
            found: 100
        }
    );
    assert!(target.checkpoint() == before);
}

/// Writes checkpoints of `states[0]`, `states[1]` through [`Slots`], then a third of
/// `states[2]` with the power cut after every possible number of bytes erased or
/// written; after each cut, a fresh [`Slots`] must load the second or (if the write
/// ended) the third. Returns the number of cuts tried.
fn cut_at_every_byte(states: &mut [Run<Adam<P>>; 3], slot_bytes: usize) -> usize {
    let images: Vec<Vec<u8>> = states.iter_mut().map(|s| s.checkpoint()).collect();
    let n = images[0].len();
    let mut scratch = vec![0; n];
    let mut flash = Flash::new(2 * slot_bytes);
    let mut slots = Slots::new(&mut flash);
    assert_eq!(
        slots.save(&mut states[0].parts(), &mut scratch).unwrap(),
        Slot::A
    );
    assert_eq!(
        slots.save(&mut states[1].parts(), &mut scratch).unwrap(),
        Slot::B
    );
    let good = flash.clone();
    let total = slot_bytes + n; // erase a whole slot, then program the checkpoint
    let mut target = Run::new(Adam::<P>::new(AdamConfig::default()), 0.5, 999);
    for budget in 0..=total + 1 {
        let mut f = good.clone();
        f.cut_after(Some(budget));
        let outcome = Slots::new(&mut f).save(&mut states[2].parts(), &mut scratch);
        assert_eq!(outcome.is_ok(), budget >= total, "budget {budget}");
        f.cut_after(None);
        let (slot, header) = Slots::new(&mut f)
            .load(&mut target.parts(), &mut scratch)
            .unwrap_or_else(|e| panic!("power cut after {budget} bytes: {e}"));
        let (want_slot, want_seq, want) = if budget >= total {
            (Slot::A, 3, &images[2])
        } else {
            (Slot::B, 2, &images[1])
        };
        assert_eq!(
            (slot, header.sequence),
            (want_slot, want_seq),
            "budget {budget}"
        );
        assert!(
            target.checkpoint() == *want,
            "budget {budget}: wrong state loaded"
        );
    }
    total + 2
}

#[test]
fn a_power_cut_at_every_byte_of_a_write_leaves_a_loadable_checkpoint() {
    let (tx, ty) = samples(TRAIN, 1);
    let (vx, vy) = samples(VALID, 2);
    let train = Dataset::new(&tx, 4, &ty, 1).unwrap();
    let valid = Dataset::new(&vx, 4, &vy, 1).unwrap();
    let mut states = [1, 2, 3].map(|s| Run::new(Adam::<P>::new(AdamConfig::default()), 0.01, s));
    for (i, s) in states.iter_mut().enumerate() {
        for _ in 0..=i {
            s.epoch(&train, &valid);
        }
    }
    let n = checkpoint::bytes::<Parts<'_, Adam<P>>>();
    // A slot just big enough, and one with room to spare (a flash sector).
    let cuts = cut_at_every_byte(&mut states, n) + cut_at_every_byte(&mut states, n + 512);
    println!(
        "power cuts: {cuts} byte offsets (erase and write of a {n}-byte checkpoint), \
         every one left a loadable checkpoint"
    );
}

#[test]
fn slots_take_the_newest_across_sequence_wrap_and_report_both_faults() {
    let mut net = Dense::<2, 2>::zeros();
    let mut flash = [0u8; 2 * 64];
    let mut scratch = [0u8; 64];
    // Blank flash: nothing loads, and the error says why for each slot.
    flash.fill(0xFF);
    let err = Slots::new(&mut flash)
        .load(&mut Model(&mut net), &mut scratch)
        .unwrap_err();
    assert_eq!(
        err,
        Error::NoCheckpoint {
            a: CheckpointFault::Blank,
            b: CheckpointFault::Blank
        }
    );
    // Slot A numbered u32::MAX, slot B numbered 0: B is the newer.
    for (slot, seq, bias) in [(0, u32::MAX, 1.0), (64, 0, 2.0)] {
        net.bias.0 = [bias; 2];
        let n = checkpoint::save(&mut Model(&mut net), &mut scratch).unwrap();
        scratch[8..12].copy_from_slice(&seq.to_le_bytes());
        fix_crc(&mut scratch);
        flash[slot..slot + n].copy_from_slice(&scratch[..n]);
    }
    let mut back = Dense::<2, 2>::zeros();
    let (slot, h) = Slots::new(&mut flash)
        .load(&mut Model(&mut back), &mut scratch)
        .unwrap();
    assert_eq!((slot, h.sequence, back.bias.0), (Slot::B, 0, [2.0; 2]));
    // The next save goes over A, numbered 1.
    let mut slots = Slots::new(&mut flash);
    assert_eq!(
        slots.save(&mut Model(&mut net), &mut scratch).unwrap(),
        Slot::A
    );
    assert_eq!(checkpoint::inspect(&flash[..64]).unwrap().sequence, 1);
    // A damaged newest slot: the older one loads.
    flash[40] ^= 0x10;
    let (slot, _) = Slots::new(&mut flash)
        .load(&mut Model(&mut back), &mut scratch)
        .unwrap();
    assert_eq!(slot, Slot::B);
    // A checkpoint of another model in both: both faults named.
    let err = Slots::new(&mut flash)
        .load(&mut Model(&mut Dense::<3, 1>::zeros()), &mut scratch)
        .unwrap_err();
    match err {
        Error::NoCheckpoint { a, b } => {
            assert!(matches!(a, CheckpointFault::Crc { .. }), "{a:?}");
            assert!(matches!(b, CheckpointFault::Fingerprint { .. }), "{b:?}");
        }
        other => panic!("{other:?}"),
    }
    // A slot too small for the checkpoint is refused before anything is erased.
    let mut small = [0xFFu8; 40];
    let err = Slots::new(&mut small)
        .save(&mut Model(&mut net), &mut scratch)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Length {
                expected: 48,
                found: 20,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(small, [0xFF; 40]);
}

/// The PCG generators continue their streams after a round trip through a checkpoint,
/// and `bytes` is what `save` writes for each.
fn assert_generator_resumes<R>(mut rng: R, mut other: R)
where
    R: Persist + rand_pcg::rand_core::Rng,
{
    for _ in 0..5 {
        rng.next_u64();
    }
    let mut buf = vec![0; checkpoint::bytes::<R>()];
    assert_eq!(checkpoint::save(&mut rng, &mut buf).unwrap(), buf.len());
    checkpoint::load(&mut other, &buf).unwrap();
    for _ in 0..100 {
        assert_eq!(rng.next_u64(), other.next_u64());
    }
}

#[test]
fn pcg_generators_resume_their_streams() {
    use rand_pcg::rand_core::SeedableRng;
    use rand_pcg::{Pcg32, Pcg64, Pcg64Dxsm};
    assert_generator_resumes(Pcg32::seed_from_u64(1), Pcg32::seed_from_u64(2));
    assert_generator_resumes(Pcg64::seed_from_u64(1), Pcg64::seed_from_u64(2));
    assert_generator_resumes(Pcg64Dxsm::seed_from_u64(1), Pcg64Dxsm::seed_from_u64(2));
    // The three are told apart.
    let mut buf = vec![0; 64];
    checkpoint::save(&mut Pcg64::seed_from_u64(1), &mut buf).unwrap();
    let err = checkpoint::load(&mut Pcg64Dxsm::seed_from_u64(1), &buf).unwrap_err();
    assert!(matches!(fault(err), CheckpointFault::Fingerprint { .. }));
}
