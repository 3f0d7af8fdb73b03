//! Fuzzes the entry points that take slices and run-time shapes: datasets and their
//! views with a trainer's `check`, `evaluate` and `epoch`; matrix views and the matrix
//! products, softmax, the vector and activation kernels; the convolution and pooling
//! kernels on a fuzzed `ConvShape`; the normalisation kernels; the losses' targets and
//! the training history's text. Floats come from the input's raw bits (NaN, ±∞ and
//! subnormals included), sizes from its bytes (sometimes near `usize::MAX`).
//!
//! Nothing may panic; a training step that fails must leave the model and the optimizer
//! as they were, and one that succeeds must leave them finite.
//!
//! ```text
//! cd fuzz
//! cargo +nightly fuzz run slices -- -max_total_time=300
//! ```

#![no_main]

use libfuzzer_sys::fuzz_target;
use microtrain::checkpoint::{self, Model};
use microtrain::kernels::conv::{self, ConvShape};
use microtrain::kernels::norm::{self, Affine, Sets};
use microtrain::kernels::{self, Accumulate, Activation};
use microtrain::layers::{BatchNorm, Dense, Params, Relu};
use microtrain::loss::{CrossEntropy, Loss, Mse, Risk};
use microtrain::optim::{Adam, AdamConfig};
use microtrain::train::{Dataset, EpochRecord, Evaluation, History, Trainer};
use microtrain::{seq, MatMut, MatRef, Seq};
use rand_pcg::rand_core::SeedableRng;
use rand_pcg::Pcg32;

/// Reads sizes, floats and labels off the fuzzer's bytes (zeros once they run out).
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    /// Mostly `0..=max`; byte 255 gives a size near `usize::MAX`.
    fn size(&mut self, max: usize) -> usize {
        match self.byte() {
            255 => usize::MAX - self.byte() as usize,
            254 => usize::MAX / 2 + 1,
            b => b as usize % (max + 1),
        }
    }

    /// A count in `0..=max`, never large.
    fn small(&mut self, max: usize) -> usize {
        self.byte() as usize % (max + 1)
    }

    fn f32(&mut self) -> f32 {
        f32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// A float that is usually small, from one byte, or any bit pattern.
    fn value(&mut self) -> f32 {
        match self.byte() {
            0..=7 => self.f32(),
            b => (b as f32 - 128.0) / 16.0,
        }
    }

    fn values(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.value()).collect()
    }

    /// Up to `max` values.
    fn sized(&mut self, max: usize) -> Vec<f32> {
        let n = self.small(max);
        self.values(n)
    }

    /// Values for a slice that should hold `want` ([`Input::len`]).
    fn fitted(&mut self, want: usize) -> Vec<f32> {
        let n = self.len(want);
        self.values(n)
    }

    /// A length for a slice that should hold `want` values: usually that, sometimes
    /// off, never more than a few thousand.
    fn len(&mut self, want: usize) -> usize {
        match self.byte() {
            0..=15 => self.small(64),
            _ if want <= 4096 => want,
            _ => self.small(64),
        }
    }
}

type Net = Seq![Dense<3, 4>, BatchNorm<4>, Relu, Dense<4, 3>];
const P: usize = <Net as Params>::COUNT;
type T = Trainer<Net, CrossEntropy, Adam<P>, 2, 3, 3>;

fn state(t: &mut T) -> Vec<u8> {
    let mut model = vec![0u8; checkpoint::bytes::<Model<Net>>()];
    checkpoint::save(&mut Model(&mut t.model), &mut model).expect("fits");
    let mut opt = vec![0u8; checkpoint::bytes::<Adam<P>>()];
    checkpoint::save(&mut t.optimizer, &mut opt).expect("fits");
    model.extend(opt);
    model
}

fn finite(t: &mut T) -> bool {
    let mut ok = true;
    t.model.visit(&mut |p| ok &= p.value.iter().all(|v| v.is_finite()));
    t.model.visit_buffers(&mut |b| ok &= b.value.iter().all(|v| v.is_finite()));
    ok
}

fn dataset(inp: &mut Input<'_>) {
    let features = inp.size(6);
    let xs = inp.sized(24);
    let per_sample = if inp.byte() < 8 { inp.size(4) } else { 1 };
    let ys: Vec<u32> = (0..inp.small(12))
        .map(|_| match inp.byte() {
            255 => u32::MAX,
            b => u32::from(b % 4),
        })
        .collect();
    let idx: Vec<u32> = (0..inp.small(8)).map(|_| u32::from(inp.byte() % 10)).collect();
    let (a, b) = (inp.size(10), inp.size(10));
    let view_kind = inp.byte() % 4;
    let mut t: T = Trainer::new(
        seq![Dense::zeros(), BatchNorm::new(), Relu, Dense::zeros()],
        CrossEntropy::default(),
        Adam::new(AdamConfig::default().with_lr(inp.value())),
        u64::from(inp.byte()),
    );
    let w = inp.values(P);
    let mut i = 0;
    t.model.visit(&mut |p| {
        for v in p.value.iter_mut() {
            *v = if w[i].is_finite() { w[i] } else { 0.0 };
            i += 1;
        }
    });
    let micro = inp.size(3);
    let Ok(data) = Dataset::new(&xs, features, &ys, per_sample) else {
        return;
    };
    let view = match view_kind {
        0 => Ok(data),
        1 => data.select(&idx),
        2 => data.select_except(&idx, a..b),
        _ => data.fold(&idx, a, b).map(|(train, _)| train),
    };
    let Ok(view) = view else {
        return;
    };
    for j in 0..view.len() {
        assert_eq!(view.input(j).len(), features);
        assert_eq!(view.target(j).len(), per_sample);
    }
    let _ = t.check(&view);
    let before = state(&mut t);
    let _ = t.evaluate(&view);
    assert!(state(&mut t) == before, "evaluate changed the state");
    match t.epoch_accumulated(&view, &mut Pcg32::seed_from_u64(1), micro) {
        Ok(_) => assert!(finite(&mut t), "an accepted epoch left a non-finite value"),
        Err(e) => {
            assert!(!e.to_string().is_empty());
            if view.len() <= 2 {
                assert!(state(&mut t) == before, "a refused step changed the state: {e}");
            }
        }
    }
}

fn matrices(inp: &mut Input<'_>) {
    let (m, k, n) = (inp.size(6), inp.size(6), inp.size(6));
    let mode = if inp.byte() % 2 == 0 { Accumulate::Overwrite } else { Accumulate::Add };
    let a = inp.fitted(m.saturating_mul(k));
    let b = inp.fitted(k.saturating_mul(n));
    let mut c = inp.fitted(m.saturating_mul(n));
    fn view(d: &[f32], r: usize, c: usize) -> Result<MatRef<'_>, microtrain::Error> {
        MatRef::new(d, r, c)
    }
    let _ = (|| {
        let (va, vb) = (view(&a, m, k)?, view(&b, k, n)?);
        kernels::matmul(MatMut::new(&mut c, m, n)?, va, vb, mode)
    })();
    let _ = (|| kernels::matmul_bt(MatMut::new(&mut c, m, n)?, view(&a, m, k)?, view(&b, n, k)?, mode))();
    let _ = (|| kernels::matmul_at(MatMut::new(&mut c, m, n)?, view(&a, k, m)?, view(&b, k, n)?, mode))();
    let _ = (|| kernels::softmax_rows(view(&a, m, k)?, MatMut::new(&mut c, m, k)?))();
    let _ = (|| kernels::log_softmax_rows(view(&b, k, n)?, MatMut::new(&mut c, k, n)?))();
    if let Ok(v) = view(&a, m, k) {
        for r in 0..v.rows().min(64) {
            assert_eq!(v.row(r).len(), k);
        }
    }
}

fn vectors(inp: &mut Input<'_>) {
    let x = inp.sized(40);
    let mut y = inp.sized(40);
    let z = inp.sized(40);
    let alpha = inp.value();
    let act = match inp.byte() % 5 {
        0 => Activation::Relu,
        1 => Activation::Tanh,
        2 => Activation::Sigmoid,
        3 => Activation::Gelu,
        _ => Activation::LeakyRelu { slope: alpha },
    };
    let _ = kernels::axpy(alpha, &x, &mut y);
    let _ = kernels::add(&x, &mut y);
    let _ = kernels::hadamard(&x, &mut y);
    let _ = kernels::mul_add(&x, &z, &mut y);
    let _ = kernels::dot(&x, &z);
    let _ = (kernels::sum(&x), kernels::squared_norm(&x), kernels::abs_sum(&x));
    let _ = (kernels::max(&x), kernels::argmax(&x));
    kernels::scale(alpha, &mut y);
    kernels::clamp(&mut y, alpha, inp.value());
    let _ = kernels::activate(act, &x, &mut y);
    let mut dx = inp.sized(40);
    let _ = kernels::activation_backward(act, &x, &z, &y, &mut dx);
    let _ = kernels::softmax_row(&x, &mut y);
}

fn convolutions(inp: &mut Input<'_>) {
    let s = ConvShape {
        // Known hang, left to the convolution kernels' owner: a shape with no output
        // elements (c_out = 0, say) and a batch near usize::MAX is valid and the
        // kernels visit every sample. The batch stays small here so that the fuzzer
        // explores the rest.
        batch: inp.small(3),
        h: inp.size(6),
        w: inp.size(6),
        c_in: inp.size(3),
        ho: inp.size(6),
        wo: inp.size(6),
        c_out: inp.size(3),
        kh: inp.size(4),
        kw: inp.size(4),
        sh: inp.size(3),
        sw: inp.size(3),
        ph: inp.size(2),
        pw: inp.size(2),
    };
    let _ = s.validate();
    let x = inp.fitted(s.input_len());
    let w = inp.fitted(s.weight_len());
    let bias = inp.fitted(s.c_out);
    let mut y = inp.fitted(s.output_elems());
    let mut scratch = vec![0.0; inp.len(s.scratch_len())];
    let mut wg = vec![0.0; w.len()];
    let mut bg = vec![0.0; bias.len()];
    let mut dx = vec![0.0; x.len()];
    let _ = conv::conv2d_forward(&s, &x, &w, &bias, &mut y, &mut scratch);
    let _ = conv::conv2d_backward(&s, &x, &w, &y, &mut wg, &mut bg, Some(&mut dx), &mut scratch);
    let _ = conv::depthwise_forward(&s, &x, &w, &bias, &mut y);
    let _ = conv::depthwise_backward(&s, &x, &w, &y, &mut wg, &mut bg, Some(&mut dx));
    let _ = conv::max_pool_forward(&s, &x, &mut y);
    let _ = conv::max_pool_backward(&s, &x, &y, &mut dx);
    let _ = conv::avg_pool_forward(&s, &x, &mut y);
    let _ = conv::avg_pool_backward(&s, &y, &mut dx);
}

fn normalisation(inp: &mut Input<'_>) {
    let (r, c) = (inp.size(5), inp.size(6));
    let sets = match inp.byte() % 2 {
        0 => Sets::Channels,
        _ => Sets::Groups {
            positions: inp.size(4),
            groups: inp.size(4),
        },
    };
    let count = sets.count(c, r).unwrap_or(usize::MAX);
    let x = inp.fitted(r.saturating_mul(c));
    let rows = inp.size(6);
    let mut mean = inp.fitted(count);
    let mut var = inp.fitted(count);
    let gamma = inp.fitted(c);
    let beta = inp.fitted(c);
    let dy = inp.fitted(x.len());
    let mut y = vec![0.0; inp.len(x.len())];
    let mut gg = vec![0.0; gamma.len()];
    let mut bg = vec![0.0; beta.len()];
    let mut sums = vec![0.0; inp.len(2usize.saturating_mul(count))];
    let eps = inp.value();
    let train = inp.byte() % 2 == 0;
    let Ok(xv) = MatRef::new(&x, r, c) else {
        return;
    };
    let _ = norm::moments(sets, xv, rows, &mut mean, &mut var);
    let mut inv = var.clone();
    norm::inverse_std(&mut inv, eps);
    let a = Affine {
        sets,
        mean: &mean,
        inv_std: &inv,
        gamma: &gamma,
        beta: &beta,
    };
    if let Ok(yv) = MatMut::new(&mut y, r, c) {
        let _ = norm::normalize(&a, xv, yv);
    }
    let mut dx = vec![0.0; x.len()];
    if let (Ok(dyv), Ok(dxv)) = (MatRef::new(&dy, r, c), MatMut::new(&mut dx, r, c)) {
        let _ = norm::normalize_backward(&a, xv, dyv, rows, train, &mut gg, &mut bg, Some(dxv), &mut sums);
    }
}

fn losses_and_history(inp: &mut Input<'_>) {
    let ce = CrossEntropy {
        label_smoothing: inp.value(),
    };
    let out = microtrain::Matrix::<2, 3>(core::array::from_fn(|_| core::array::from_fn(|_| inp.value())));
    let labels = [inp.f32().to_bits(), u32::from(inp.byte() % 4)];
    let (rows, row, sample) = (inp.size(3), inp.size(3), inp.size(3));
    let mut grad = microtrain::Matrix::zeros();
    let _ = ce.loss(&out, &labels, rows, &mut grad);
    let _ = ce.correct(&out, &labels, rows);
    let _ = Loss::<2, 3>::check_targets(&ce, &labels, rows);
    let mut t = [0u32; 2];
    let _ = Loss::<2, 3>::set_target(&ce, &mut t, row, sample, &labels[..inp.small(2)]);
    let target = inp.sized(4);
    let mut tm = microtrain::Matrix::<2, 3>::zeros();
    let _ = Loss::<2, 3>::set_target(&Mse, &mut tm, row, sample, &target);
    let _ = Mse.loss(&out, &tm, rows, &mut grad);
    let mut h = History::<3>::new();
    for _ in 0..inp.small(5) {
        let acc = |inp: &mut Input<'_>| (inp.byte() % 2 == 0).then(|| inp.f32());
        let r = EpochRecord::new(
            inp.f32().to_bits(),
            Risk {
                data: inp.f32(),
                penalty: inp.f32(),
            },
            Evaluation {
                loss: inp.f32(),
                accuracy: acc(inp),
            },
            inp.f32(),
        )
        .with_train_accuracy(acc(inp));
        h.push(r);
    }
    let text = format!("{h}{}", h.sparklines(microtrain::train::Charset::Unicode));
    assert!(!text.is_empty());
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    match inp.byte() % 6 {
        0 => dataset(&mut inp),
        1 => matrices(&mut inp),
        2 => vectors(&mut inp),
        3 => convolutions(&mut inp),
        4 => normalisation(&mut inp),
        _ => losses_and_history(&mut inp),
    }
});
