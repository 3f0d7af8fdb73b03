//! Gradient checks: every layer and loss against central finite differences of an
//! independent `f64` re-implementation of its forward function.
//!
//! For a layer `f: X → Y` we pick a random upstream gradient `c` and differentiate the
//! scalar `J(θ, x) = Σ c ⊙ f(θ, x)`; then `∂J/∂θ` is what `backward` must add into
//! the parameter gradients and `∂J/∂x` what it must write into `dx`. The reference
//! side never touches microtrain's arithmetic: the `f64` forward functions below are
//! written from the formulas (PyTorch's definitions), and the derivatives come from
//! `(J(θ + h·eₖ) − J(θ − h·eₖ)) / 2h` in `f64`.
//!
//! # Tolerances
//!
//! *Finite differences in `f64`*, step `h = 10⁻⁵·max(1, |θₖ|)`: truncation error
//! `h²/6·|J'''| ≈ 2·10⁻¹¹` for the `O(1)` inputs used here, cancellation error
//! `ε₆₄·|J|/h ≈ 2·10⁻¹⁶·10/10⁻⁵ = 2·10⁻¹⁰`. Both are five orders of magnitude below the
//! `f32` error, so the reference gradient is treated as exact.
//!
//! *Analytic gradients in `f32`*: every gradient component is computed by at most
//! `R ≈ 60` roundings for the deepest model here (depth 5 × (width 7 + bias + ≈4 for an
//! activation's transcendental, 2 ulp for `tanh`) plus a batch sum of ≤ 5 terms), each
//! of relative size `u = 2⁻²⁴ ≈ 6·10⁻⁸` of the terms it combines, so
//! `|g − g_ref| ≤ R·u·M ≈ 3.6·10⁻⁶·M`, where `M` is the sum of the magnitudes of the
//! terms. With inputs and weights `O(1)`, `M` is at most a few times the largest
//! gradient component of the same tensor. Hence [`REL_GRAD`] = `10⁻⁴`, applied to
//! `|g_ref| + max|g_ref|` of the tensor: ≥ 5× the bound, and ≥ 10³× below the error of
//! any real mistake (a wrong sign, index, factor or a missing term changes a component
//! by `O(|g|)`).
//!
//! *Forward outputs*: at most ≈ 40 roundings on the longest path, same argument:
//! [`REL_FWD`] = `10⁻⁵` of `|y_ref| + max|y_ref|` (≈ 4× the bound `40·u·4`). The plain
//! dense layer gets the rigorous bound `γ_{IN+1}·(Σ|xₖ wⱼₖ| + |bⱼ|)` instead.

use host_tests::layer_check::{assert_close_rel, finite_diff};
use microtrain::layers::{
    Context, Dense, Dropout, Gelu, Layer, LeakyRelu, Mode, Params, Relu, Residual, Sigmoid, Tanh,
    Zeroed,
};
use microtrain::loss::{BceWithLogits, CrossEntropy, Loss, Mse};
use microtrain::{seq, Batch, Seq};
use rand_pcg::rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg32;

/// Relative tolerance of analytic `f32` gradients against `f64` finite differences
/// (derivation in the module documentation).
const REL_GRAD: f64 = 1e-4;
/// Relative tolerance of `f32` forward outputs against the `f64` reference.
const REL_FWD: f64 = 1e-5;
/// Absolute part of the gradient tolerance. Sigmoid and tanh differentiate from their
/// `f32` output `y` (`y(1 − y)`, `1 − y²`, as PyTorch does). Near saturation `|y| ≈ 1`,
/// where the 2-ulp error of `tanh` is `2u` in absolute terms; `1 − y²` is then exact
/// (Sterbenz) but inherits `2|y|·2u + u ≤ 5u` from `y` and `y·y`: an *absolute* error,
/// however small `f'` is. Times `|c| ≤ 1` and at most five downstream weights of
/// magnitude `≤ 1`: `25u ≈ 1.5·10⁻⁶`, hence `2·10⁻⁶`.
const ABS_GRAD: f64 = 2e-6;
/// Absolute part of the forward tolerance. GELU's `½x(1 + tanh(·))` cancels for
/// `x ≪ 0`: `tanh` within `2u` absolute there gives `½|x|·2u ≤ 6u ≈ 3.6·10⁻⁷` for
/// `|x| ≤ 6`, hence `10⁻⁶`.
const ABS_FWD: f64 = 1e-6;
/// Unit roundoff of `f32`.
const U: f64 = 1.0 / 16_777_216.0;

// ---------------------------------------------------------------------------------
// Test data
// ---------------------------------------------------------------------------------

/// A deterministic generator of test data (PCG32, seeded per test).
struct Gen(Pcg32);

impl Gen {
    fn new(seed: u64) -> Self {
        Gen(Pcg32::seed_from_u64(seed))
    }

    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.0.next_u32() >> 8) as f32 / 16_777_216.0;
        lo + (hi - lo) * u
    }

    /// Uniform magnitude in `[lo, hi)` with a random sign: keeps values away from the
    /// kinks of ReLU-like functions, so that `x ± h` stays on one side.
    fn signed(&mut self, lo: f32, hi: f32) -> f32 {
        let v = self.uniform(lo, hi);
        if self.0.next_u32() & 1 == 0 {
            v
        } else {
            -v
        }
    }

    fn batch<const B: usize, const N: usize>(&mut self, lo: f32, hi: f32) -> Batch<B, N> {
        let mut m = Batch::<B, N>::zeros();
        m.as_mut_slice()
            .iter_mut()
            .for_each(|v| *v = self.uniform(lo, hi));
        m
    }

    /// Fills every parameter of `model` (weights and biases) with values in `[-1, 1)`.
    fn params(&mut self, model: &mut impl Params) {
        model.visit(&mut |p| {
            p.value
                .iter_mut()
                .for_each(|v| *v = self.uniform(-1.0, 1.0));
        });
    }
}

fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

// ---------------------------------------------------------------------------------
// The f64 reference forward functions
// ---------------------------------------------------------------------------------

/// An element-wise activation, in `f64`, from its textbook / PyTorch definition.
#[derive(Clone, Copy, Debug)]
enum Act {
    Relu,
    Leaky(f64),
    Sigmoid,
    Tanh,
    /// `nn.GELU(approximate='tanh')`: `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
    Gelu,
}

impl Act {
    fn apply(self, x: f64) -> f64 {
        match self {
            Act::Relu => x.max(0.0),
            Act::Leaky(s) => {
                if x > 0.0 {
                    x
                } else {
                    s * x
                }
            }
            Act::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Act::Tanh => x.tanh(),
            Act::Gelu => {
                let k = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh())
            }
        }
    }
}

/// A layer of the reference network. Parameters are not stored here: they are read
/// from a flat `θ` in the canonical order (layers in order, weight `OUT × IN`
/// row-major, then bias), so that finite differences can perturb them one by one.
#[derive(Clone, Debug)]
enum Ref {
    /// `y = x·Wᵀ + b` (PyTorch `nn.Linear`).
    Dense {
        inp: usize,
        out: usize,
    },
    Act(Act),
    /// Multiplies element `i` of the batch by `mask[i]` (`0` or `1/(1−p)`).
    Mask(Vec<f64>),
    /// `y = x + F(x)`.
    Residual(Vec<Ref>),
}

/// The reference forward pass of `layers` on a batch `x` of `rows` rows, reading
/// parameters from `theta` starting at `*at`.
fn ref_forward_at(
    layers: &[Ref],
    theta: &[f64],
    at: &mut usize,
    x: &[f64],
    rows: usize,
) -> Vec<f64> {
    let mut h = x.to_vec();
    for layer in layers {
        h = match layer {
            Ref::Dense { inp, out } => {
                assert_eq!(h.len(), rows * inp, "reference shapes");
                let w = &theta[*at..*at + inp * out];
                let b = &theta[*at + inp * out..*at + inp * out + out];
                *at += inp * out + out;
                let mut y = vec![0.0; rows * out];
                for r in 0..rows {
                    for j in 0..*out {
                        let mut s = b[j];
                        for k in 0..*inp {
                            s += h[r * inp + k] * w[j * inp + k];
                        }
                        y[r * out + j] = s;
                    }
                }
                y
            }
            Ref::Act(a) => h.iter().map(|&v| a.apply(v)).collect(),
            Ref::Mask(m) => h.iter().zip(m).map(|(v, m)| v * m).collect(),
            Ref::Residual(inner) => {
                let f = ref_forward_at(inner, theta, at, &h, rows);
                h.iter().zip(&f).map(|(a, b)| a + b).collect()
            }
        };
    }
    h
}

fn ref_forward(layers: &[Ref], theta: &[f64], x: &[f64], rows: usize) -> Vec<f64> {
    let mut at = 0;
    let y = ref_forward_at(layers, theta, &mut at, x, rows);
    assert_eq!(at, theta.len(), "the reference consumed every parameter");
    y
}

// ---------------------------------------------------------------------------------
// The analytic side
// ---------------------------------------------------------------------------------

/// What one forward + backward pass of a microtrain layer produced.
struct Analytic {
    params: Vec<f32>,
    output: Vec<f32>,
    param_grads: Vec<f32>,
    input_grad: Vec<f32>,
}

fn flat_params(model: &mut impl Params) -> (Vec<f32>, Vec<f32>) {
    let (mut values, mut grads) = (Vec::new(), Vec::new());
    model.visit(&mut |p| {
        values.extend_from_slice(p.value);
        grads.extend_from_slice(p.grad);
    });
    (values, grads)
}

/// `zero_grad`, forward in train mode with a context seeded by `seed`, backward of
/// `dy` with `dx` pre-filled with NaN (backward must overwrite all of it).
fn forward_backward<M, const B: usize, const IN: usize, const OUT: usize>(
    model: &mut M,
    x: &Batch<B, IN>,
    dy: &Batch<B, OUT>,
    seed: u64,
    zero_grad: bool,
) -> Analytic
where
    M: Layer<Batch<B, IN>, Output = Batch<B, OUT>>,
{
    if zero_grad {
        model.zero_grad();
    }
    let mut cache = M::Cache::ZERO;
    model.forward(x, &mut cache, &mut Context::new(Mode::Train, seed));
    let output = M::output(&cache).as_slice().to_vec();
    let mut dx = Batch::<B, IN>::zeros();
    dx.as_mut_slice().fill(f32::NAN);
    model.backward(x, &mut cache, dy, Some(&mut dx));
    let (params, param_grads) = flat_params(model);
    Analytic {
        params,
        output,
        param_grads,
        input_grad: dx.as_slice().to_vec(),
    }
}

/// The full check of one layer (or model) against its reference:
///
/// 1. forward output against the `f64` reference (`REL_FWD`);
/// 2. parameter and input gradients of `J = Σ c ⊙ y` against finite differences;
/// 3. a second backward without `zero_grad` doubles the parameter gradients;
/// 4. `zero_grad` sets every gradient to exactly zero.
fn gradcheck<M, const B: usize, const IN: usize, const OUT: usize>(
    name: &str,
    model: &mut M,
    reference: &[Ref],
    x: &Batch<B, IN>,
    seed: u64,
    g: &mut Gen,
) where
    M: Layer<Batch<B, IN>, Output = Batch<B, OUT>>,
{
    let c: Batch<B, OUT> = g.batch(-1.0, 1.0);
    let a = forward_backward(model, x, &c, seed, true);
    assert_eq!(a.params.len(), M::COUNT, "{name}: Params::COUNT");
    let theta = to_f64(&a.params);
    let x64 = to_f64(x.as_slice());
    let c64 = to_f64(c.as_slice());

    let y_ref = ref_forward(reference, &theta, &x64, B);
    assert_close_rel(
        &format!("{name} output"),
        &a.output,
        &y_ref,
        REL_FWD,
        ABS_FWD,
    );

    let j = |theta: &[f64], x: &[f64]| -> f64 {
        let y = ref_forward(reference, theta, x, B);
        y.iter().zip(&c64).map(|(y, c)| y * c).sum()
    };
    let fd_theta = finite_diff(|t| j(t, &x64), &theta);
    let fd_x = finite_diff(|xs| j(&theta, xs), &x64);
    assert_close_rel(
        &format!("{name} ∂J/∂θ"),
        &a.param_grads,
        &fd_theta,
        REL_GRAD,
        ABS_GRAD,
    );
    assert_close_rel(
        &format!("{name} ∂J/∂x"),
        &a.input_grad,
        &fd_x,
        REL_GRAD,
        ABS_GRAD,
    );

    // Accumulation: the same pass again, without zero_grad, adds the same gradient.
    // The second sum starts from g instead of 0 but is otherwise the same sum, so
    // 2g and g + g' agree to the same rounding as above.
    let twice = forward_backward(model, x, &c, seed, false);
    let doubled: Vec<f64> = fd_theta.iter().map(|v| 2.0 * v).collect();
    assert_close_rel(
        &format!("{name} ∂J/∂θ after two backward passes"),
        &twice.param_grads,
        &doubled,
        REL_GRAD,
        ABS_GRAD,
    );

    model.zero_grad();
    let (values, grads) = flat_params(model);
    assert!(
        grads.iter().all(|&v| v.to_bits() == 0),
        "{name}: zero_grad left {grads:?}"
    );
    assert_eq!(values, a.params, "{name}: zero_grad changed parameters");
}

// ---------------------------------------------------------------------------------
// Dense
// ---------------------------------------------------------------------------------

fn dense_case<const B: usize, const IN: usize, const OUT: usize>(seed: u64) {
    let mut g = Gen::new(seed);
    let mut d = Dense::<IN, OUT>::zeros();
    g.params(&mut d);
    let x: Batch<B, IN> = g.batch(-1.0, 1.0);

    // Rigorous forward bound: yⱼ = bⱼ + Σₖ xₖwⱼₖ is a dot product of IN + 1 terms,
    // so |fl(y) − y| ≤ γ_{IN+1}·(Σ|xₖwⱼₖ| + |bⱼ|) (Higham (3.5)). No product
    // underflows: the data are multiples of 2⁻²³, so every product is 0 or ≥ 2⁻⁴⁶.
    let mut cache = <Dense<IN, OUT> as Layer<Batch<B, IN>>>::Cache::ZERO;
    d.forward(&x, &mut cache, &mut Context::new(Mode::Eval, 0));
    let gamma = (IN + 1) as f64 * U / (1.0 - (IN + 1) as f64 * U);
    for r in 0..B {
        for j in 0..OUT {
            let (mut exact, mut mag) = (f64::from(d.bias.0[j]), f64::from(d.bias.0[j]).abs());
            for k in 0..IN {
                let p = f64::from(x.0[r][k]) * f64::from(d.weight.0[j][k]);
                exact += p;
                mag += p.abs();
            }
            let got = f64::from(cache.0[r][j]);
            let bound = gamma * mag;
            assert!(
                (got - exact).abs() <= bound,
                "Dense<{IN},{OUT}> B={B} y[{r}][{j}] = {got:e}, reference {exact:e}, bound {bound:e}"
            );
        }
    }

    let reference = [Ref::Dense { inp: IN, out: OUT }];
    gradcheck(
        &format!("Dense<{IN},{OUT}> B={B}"),
        &mut d,
        &reference,
        &x,
        0,
        &mut g,
    );
}

#[test]
fn dense_gradients() {
    dense_case::<1, 1, 1>(1);
    dense_case::<1, 5, 3>(2);
    dense_case::<3, 3, 5>(3);
    dense_case::<4, 7, 2>(4);
    dense_case::<3, 17, 9>(5); // crosses the 16-column SIMD panel
    dense_case::<5, 2, 33>(6); // two full panels and a remainder
}

/// With one row, each gradient element is a single product, so the second backward
/// adds exactly the same value: g + g = 2g with no rounding. Bitwise.
#[test]
fn dense_backward_accumulates_exactly_with_one_row() {
    let mut g = Gen::new(11);
    let mut d = Dense::<3, 2>::zeros();
    g.params(&mut d);
    let x: Batch<1, 3> = g.batch(-1.0, 1.0);
    let dy: Batch<1, 2> = g.batch(-1.0, 1.0);
    let once = forward_backward(&mut d, &x, &dy, 0, true);
    let twice = forward_backward(&mut d, &x, &dy, 0, false);
    let thrice = forward_backward(&mut d, &x, &dy, 0, false);
    for i in 0..once.param_grads.len() {
        assert_eq!(twice.param_grads[i], 2.0 * once.param_grads[i], "index {i}");
        // 2g + g rounds once, as 3g does.
        assert_eq!(
            thrice.param_grads[i],
            3.0 * once.param_grads[i],
            "index {i}"
        );
    }
    // The input gradient is written, not accumulated.
    assert_eq!(twice.input_grad, once.input_grad);
    assert!(once.param_grads.iter().any(|&v| v != 0.0));
}

/// The weight gradient is `dyᵀ·x` and the bias gradient the column sums of `dy`, for
/// a hand-sized case (exact in f32: small integers).
#[test]
fn dense_gradients_by_hand() {
    let mut d = Dense::<2, 1>::zeros();
    d.weight.0 = [[3.0, -2.0]];
    let x: Batch<2, 2> = microtrain::Matrix([[1.0, 2.0], [4.0, -1.0]]);
    let dy: Batch<2, 1> = microtrain::Matrix([[1.0], [-3.0]]);
    let a = forward_backward(&mut d, &x, &dy, 0, true);
    // dW = [1·1 + (−3)·4, 1·2 + (−3)(−1)] = [−11, 5]; db = 1 − 3 = −2.
    assert_eq!(a.param_grads, vec![-11.0, 5.0, -2.0]);
    // dx = dy·W: rows [3, −2] and [−9, 6].
    assert_eq!(a.input_grad, vec![3.0, -2.0, -9.0, 6.0]);
    // y = x·Wᵀ: [3 − 4, 12 + 2].
    assert_eq!(a.output, vec![-1.0, 14.0]);
}

// ---------------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------------

fn activation_case<L, const B: usize, const N: usize>(layer: L, act: Act, seed: u64, kink: bool)
where
    L: Layer<Batch<B, N>, Output = Batch<B, N>> + Copy,
{
    let mut g = Gen::new(seed);
    let mut x = Batch::<B, N>::zeros();
    for v in x.as_mut_slice() {
        // Away from the kink at 0 for (leaky) ReLU; a wide range for the smooth ones
        // (saturated sigmoid / tanh included).
        *v = if kink {
            g.signed(0.01, 3.0)
        } else {
            g.uniform(-6.0, 6.0)
        };
    }
    let mut layer = layer;
    gradcheck(
        &format!("{act:?} B={B} N={N}"),
        &mut layer,
        &[Ref::Act(act)],
        &x,
        0,
        &mut g,
    );
}

fn all_shapes<L>(layer: L, act: Act, kink: bool)
where
    L: Copy
        + Layer<Batch<1, 1>, Output = Batch<1, 1>>
        + Layer<Batch<3, 7>, Output = Batch<3, 7>>
        + Layer<Batch<4, 17>, Output = Batch<4, 17>>,
{
    activation_case::<L, 1, 1>(layer, act, 21, kink);
    activation_case::<L, 3, 7>(layer, act, 22, kink);
    activation_case::<L, 4, 17>(layer, act, 23, kink); // crosses the 8- and 16-lane widths
}

#[test]
fn relu_gradients() {
    all_shapes(Relu, Act::Relu, true);
}

#[test]
fn leaky_relu_gradients() {
    all_shapes(LeakyRelu::default(), Act::Leaky(0.01), true);
    all_shapes(
        LeakyRelu { slope: 0.2 },
        Act::Leaky(f64::from(0.2f32)),
        true,
    );
}

#[test]
fn sigmoid_gradients() {
    all_shapes(Sigmoid, Act::Sigmoid, false);
}

#[test]
fn tanh_gradients() {
    all_shapes(Tanh, Act::Tanh, false);
}

#[test]
fn gelu_gradients() {
    all_shapes(Gelu, Act::Gelu, false);
}

/// ReLU's derivative at exactly 0 is 0 (PyTorch's convention), and negative inputs pass
/// no gradient: checked directly, since finite differences cannot see a kink.
#[test]
fn relu_at_and_below_zero() {
    let x: Batch<1, 3> = microtrain::Matrix([[-2.0, 0.0, 2.0]]);
    let dy: Batch<1, 3> = microtrain::Matrix([[5.0, 5.0, 5.0]]);
    let a = forward_backward(&mut Relu, &x, &dy, 0, true);
    assert_eq!(a.output, vec![0.0, 0.0, 2.0]);
    assert_eq!(a.input_grad, vec![0.0, 0.0, 5.0]);
    let a = forward_backward(&mut LeakyRelu { slope: 0.5 }, &x, &dy, 0, true);
    assert_eq!(a.output, vec![-1.0, 0.0, 2.0]);
    assert_eq!(a.input_grad, vec![2.5, 2.5, 5.0]);
}

// ---------------------------------------------------------------------------------
// Dropout (train mode, fixed seed)
// ---------------------------------------------------------------------------------

/// The seeds a context started from `seed` hands out, re-implemented from the
/// documentation of `Context::next_seed` (SplitMix64, Steele et al. 2014).
fn splitmix_seeds(seed: u64, count: usize) -> Vec<u64> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        })
        .collect()
}

/// The documented dropout mask: element `i` is kept when the `i`-th `u32` of a `Pcg32`
/// seeded with the layer's seed is `≥ p·2³²`; kept elements are scaled by `1/(1−p)`.
fn dropout_mask(seed: u64, p: f32, len: usize) -> Vec<f64> {
    let mut rng = Pcg32::seed_from_u64(seed);
    let p = f64::from(p);
    (0..len)
        .map(|_| {
            if f64::from(rng.next_u32()) >= p * 4_294_967_296.0 {
                1.0 / (1.0 - p)
            } else {
                0.0
            }
        })
        .collect()
}

fn dropout_case<const B: usize, const N: usize>(p: f32, seed: u64) {
    let mut g = Gen::new(seed ^ 0x55);
    let x: Batch<B, N> = g.batch(-2.0, 2.0);
    let mask = dropout_mask(splitmix_seeds(seed, 1)[0], p, B * N);
    let dropped = mask.iter().filter(|&&m| m == 0.0).count();
    let mut layer = Dropout::new(p);
    gradcheck(
        &format!("Dropout({p}) B={B} N={N} seed {seed} ({dropped} dropped)"),
        &mut layer,
        &[Ref::Mask(mask)],
        &x,
        seed,
        &mut g,
    );
}

#[test]
fn dropout_gradients_in_train_mode() {
    for seed in [1, 2, 3] {
        dropout_case::<1, 1>(0.5, seed);
        dropout_case::<3, 7>(0.25, seed);
        dropout_case::<4, 17>(0.5, seed);
        dropout_case::<2, 5>(0.9, seed);
    }
}

// ---------------------------------------------------------------------------------
// Residual and sequential models
// ---------------------------------------------------------------------------------

fn residual_case<const B: usize, const N: usize>(seed: u64) {
    let mut g = Gen::new(seed);
    let mut r = Residual(Dense::<N, N>::zeros());
    g.params(&mut r);
    let x: Batch<B, N> = g.batch(-1.0, 1.0);
    gradcheck(
        &format!("Residual<Dense<{N},{N}>> B={B}"),
        &mut r,
        &[Ref::Residual(vec![Ref::Dense { inp: N, out: N }])],
        &x,
        0,
        &mut g,
    );
}

#[test]
fn residual_gradients() {
    residual_case::<1, 1>(31);
    residual_case::<3, 5>(32);
    residual_case::<2, 17>(33);
}

type Nested = Seq![Dense<5, 7>, Tanh, Residual<Seq![Dense<7, 7>, Gelu]>, Dense<7, 3>];

fn nested() -> Nested {
    seq![
        Dense::zeros(),
        Tanh,
        Residual(seq![Dense::zeros(), Gelu]),
        Dense::zeros()
    ]
}

fn nested_reference() -> Vec<Ref> {
    vec![
        Ref::Dense { inp: 5, out: 7 },
        Ref::Act(Act::Tanh),
        Ref::Residual(vec![Ref::Dense { inp: 7, out: 7 }, Ref::Act(Act::Gelu)]),
        Ref::Dense { inp: 7, out: 3 },
    ]
}

fn nested_case<const B: usize>(seed: u64)
where
    Nested: Layer<Batch<B, 5>, Output = Batch<B, 3>>,
{
    let mut g = Gen::new(seed);
    let mut net = nested();
    g.params(&mut net);
    let x: Batch<B, 5> = g.batch(-1.0, 1.0);
    gradcheck(
        &format!("nested model B={B}"),
        &mut net,
        &nested_reference(),
        &x,
        0,
        &mut g,
    );
}

#[test]
fn nested_sequential_gradients() {
    nested_case::<1>(41);
    nested_case::<3>(42);
    nested_case::<4>(43);
}

/// Two dropout layers inside a sequential model draw the first and the second seed
/// of the context, in forward order.
#[test]
fn sequential_with_dropout_gradients() {
    type Net = Seq![Dense<4, 6>, Dropout, Sigmoid, Dense<6, 6>, Dropout, LeakyRelu, Dense<6, 2>];
    const B: usize = 3;
    let mut g = Gen::new(51);
    let mut net: Net = seq![
        Dense::zeros(),
        Dropout::new(0.3),
        Sigmoid,
        Dense::zeros(),
        Dropout::new(0.5),
        LeakyRelu { slope: 0.1 },
        Dense::zeros()
    ];
    g.params(&mut net);
    let x: Batch<B, 4> = g.batch(-1.0, 1.0);
    let ctx_seed = 77;
    let seeds = splitmix_seeds(ctx_seed, 2);
    let reference = [
        Ref::Dense { inp: 4, out: 6 },
        Ref::Mask(dropout_mask(seeds[0], 0.3, B * 6)),
        Ref::Act(Act::Sigmoid),
        Ref::Dense { inp: 6, out: 6 },
        Ref::Mask(dropout_mask(seeds[1], 0.5, B * 6)),
        Ref::Act(Act::Leaky(f64::from(0.1f32))),
        Ref::Dense { inp: 6, out: 2 },
    ];
    gradcheck(
        "Dense, Dropout, Sigmoid, Dense, Dropout, LeakyReLU, Dense",
        &mut net,
        &reference,
        &x,
        ctx_seed,
        &mut g,
    );
}

// ---------------------------------------------------------------------------------
// Losses
// ---------------------------------------------------------------------------------

/// `log_softmax` of one row, in f64: `zᵢ − m − ln Σⱼ e^(zⱼ − m)`.
fn log_softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let lse = z.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
    z.iter().map(|v| v - m - lse).collect()
}

/// PyTorch `nn.MSELoss()` over the first `rows` rows.
fn mse_ref(out: &[f64], target: &[f64], rows: usize, n: usize) -> f64 {
    let s: f64 = (0..rows * n).map(|i| (out[i] - target[i]).powi(2)).sum();
    s / (rows * n) as f64
}

/// PyTorch `nn.CrossEntropyLoss(label_smoothing=ε)`:
/// `ℓ = (1 − ε)(−log p_y) + ε·mean_c(−log p_c)`, averaged over the first `rows` rows.
fn ce_ref(out: &[f64], labels: &[u32], rows: usize, c: usize, eps: f64) -> f64 {
    let mut total = 0.0;
    for r in 0..rows {
        let lp = log_softmax(&out[r * c..(r + 1) * c]);
        let nll = -lp[labels[r] as usize];
        let smooth = -lp.iter().sum::<f64>() / c as f64;
        total += (1.0 - eps) * nll + eps * smooth;
    }
    total / rows as f64
}

/// PyTorch `nn.BCEWithLogitsLoss()`: `−[t·ln σ(z) + (1 − t)·ln(1 − σ(z))]`, with
/// `−ln σ(z) = softplus(−z)` and `−ln(1 − σ(z)) = softplus(z)`.
fn bce_ref(out: &[f64], target: &[f64], rows: usize, n: usize) -> f64 {
    let softplus = |z: f64| {
        if z > 0.0 {
            z + (-z).exp().ln_1p()
        } else {
            z.exp().ln_1p()
        }
    };
    let s: f64 = (0..rows * n)
        .map(|i| target[i] * softplus(-out[i]) + (1.0 - target[i]) * softplus(out[i]))
        .sum();
    s / (rows * n) as f64
}

/// Checks the loss value and its gradient w.r.t. the outputs against `reference`
/// (the mean over the first `rows` rows, in f64). Padding rows must get exactly zero
/// gradient (and the reference does not see them).
fn loss_check<L, const B: usize, const N: usize>(
    name: &str,
    loss: &L,
    out: &Batch<B, N>,
    targets: &L::Targets,
    rows: usize,
    reference: impl Fn(&[f64]) -> f64,
) where
    L: Loss<B, N>,
{
    let mut grad = Batch::<B, N>::zeros();
    grad.as_mut_slice().fill(f32::NAN);
    let value = loss.loss(out, targets, rows, &mut grad);
    let out64 = to_f64(out.as_slice());
    let expected = reference(&out64);
    assert_close_rel(
        &format!("{name} value"),
        &[value],
        &[expected],
        REL_FWD,
        ABS_FWD,
    );
    let fd = finite_diff(&reference, &out64);
    assert_close_rel(
        &format!("{name} ∂ℓ/∂out"),
        grad.as_slice(),
        &fd,
        REL_GRAD,
        ABS_GRAD,
    );
    for r in rows..B {
        assert!(
            grad.0[r].iter().all(|&v| v.to_bits() == 0),
            "{name}: padding row {r} has gradient {:?}",
            grad.0[r]
        );
    }
}

fn mse_case<const B: usize, const N: usize>(rows: usize, seed: u64) {
    let mut g = Gen::new(seed);
    let out: Batch<B, N> = g.batch(-2.0, 2.0);
    let mut t: Batch<B, N> = g.batch(-2.0, 2.0);
    for (r, row) in t.0.iter_mut().enumerate() {
        // Padding rows hold garbage that must be ignored.
        if r >= rows {
            row.fill(1e6);
        }
    }
    let t64 = to_f64(t.as_slice());
    loss_check(
        &format!("MSE B={B} N={N} rows={rows}"),
        &Mse,
        &out,
        &t,
        rows,
        |o| mse_ref(o, &t64, rows, N),
    );
}

#[test]
fn mse_gradients() {
    mse_case::<1, 1>(1, 61);
    mse_case::<3, 5>(3, 62);
    mse_case::<3, 5>(1, 63);
    mse_case::<4, 17>(3, 64);
}

fn ce_case<const B: usize, const C: usize>(rows: usize, eps: f32, spread: f32, seed: u64) {
    let mut g = Gen::new(seed);
    let out: Batch<B, C> = g.batch(-spread, spread);
    let ce = CrossEntropy {
        label_smoothing: eps,
    };
    let mut labels = [0u32; B];
    for r in 0..B {
        let label = g.0.next_u32() % C as u32;
        Loss::<B, C>::set_target(&ce, &mut labels, r, r, &[label]).unwrap();
    }
    loss_check(
        &format!("CrossEntropy(ε={eps}) B={B} C={C} rows={rows} spread {spread}"),
        &ce,
        &out,
        &labels,
        rows,
        |o| ce_ref(o, &labels, rows, C, f64::from(eps)),
    );
}

#[test]
fn cross_entropy_gradients() {
    for eps in [0.0, 0.1, 0.5] {
        ce_case::<1, 2>(1, eps, 3.0, 71);
        ce_case::<3, 5>(3, eps, 3.0, 72);
        ce_case::<3, 5>(2, eps, 3.0, 73);
        ce_case::<4, 17>(4, eps, 3.0, 74);
        ce_case::<2, 3>(2, eps, 30.0, 75); // confident logits
    }
}

fn bce_case<const B: usize, const N: usize>(rows: usize, spread: f32, seed: u64) {
    let mut g = Gen::new(seed);
    let out: Batch<B, N> = g.batch(-spread, spread);
    // Soft targets in [0, 1] as PyTorch allows, with some exact 0s and 1s.
    let mut t: Batch<B, N> = g.batch(0.0, 1.0);
    t.as_mut_slice()
        .iter_mut()
        .step_by(3)
        .for_each(|v| *v = v.round());
    let t64 = to_f64(t.as_slice());
    loss_check(
        &format!("BCEWithLogits B={B} N={N} rows={rows} spread {spread}"),
        &BceWithLogits,
        &out,
        &t,
        rows,
        |o| bce_ref(o, &t64, rows, N),
    );
}

#[test]
fn bce_with_logits_gradients() {
    bce_case::<1, 1>(1, 3.0, 81);
    bce_case::<3, 5>(3, 3.0, 82);
    bce_case::<3, 5>(1, 3.0, 83);
    bce_case::<4, 17>(4, 20.0, 84);
}

// ---------------------------------------------------------------------------------
// Model and loss together: what the trainer differentiates
// ---------------------------------------------------------------------------------

/// `J(θ) = CE_ε(net(x; θ))` for the nested model: the loss gradient flows through the
/// whole model into the parameter gradients.
#[test]
fn nested_model_with_cross_entropy_end_to_end() {
    const B: usize = 3;
    let mut g = Gen::new(91);
    let mut net = nested();
    g.params(&mut net);
    let x: Batch<B, 5> = g.batch(-1.0, 1.0);
    let ce = CrossEntropy {
        label_smoothing: 0.1,
    };
    let labels = [2u32, 0, 1];

    net.zero_grad();
    let mut cache = <Nested as Layer<Batch<B, 5>>>::Cache::ZERO;
    net.forward(&x, &mut cache, &mut Context::new(Mode::Train, 0));
    let mut dout = Batch::<B, 3>::zeros();
    let value = ce.loss(
        <Nested as Layer<Batch<B, 5>>>::output(&cache),
        &labels,
        B,
        &mut dout,
    );
    net.backward(&x, &mut cache, &dout, None);
    let (params, grads) = flat_params(&mut net);

    let theta = to_f64(&params);
    let x64 = to_f64(x.as_slice());
    let reference = nested_reference();
    let j = |t: &[f64]| ce_ref(&ref_forward(&reference, t, &x64, B), &labels, B, 3, 0.1);
    assert_close_rel("end-to-end loss", &[value], &[j(&theta)], REL_FWD, ABS_FWD);
    assert_close_rel(
        "end-to-end ∂J/∂θ",
        &grads,
        &finite_diff(j, &theta),
        REL_GRAD,
        ABS_GRAD,
    );
}
