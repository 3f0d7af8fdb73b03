//! Convolution and pooling kernels (`src/kernels/conv.rs`) and `mul_add`: against `f64`
//! references written from the definitions, SIMD against scalar bit for bit over a sweep
//! of shapes, the adjoint identities between forward and backward, the documented
//! evaluation orders, max-pooling ties and NaN, and every shape and length error.

use host_tests::bound::{against_reference, dot_bound, gamma, sum_bound, Tracked, ETA, U, U64};
use host_tests::canonical::sequential_dot;
use host_tests::check::{
    assert_all_close, assert_bits_eq, assert_bits_eq_any_nan, assert_length_error,
    assert_shape_error,
};
use host_tests::{abs, reference, Rng};
use microtrain::kernels::{self, scalar, ConvShape};
use microtrain::Error;

// --- Shapes ----------------------------------------------------------------------------

const KERNELS: [usize; 4] = [1, 2, 3, 5];
const STRIDES: [usize; 3] = [1, 2, 3];
const PADS: [usize; 3] = [0, 1, 2];
const CHANNELS: [usize; 8] = [1, 2, 3, 7, 8, 9, 16, 17];
/// Input sides: odd and even, 1 included (raised to the window when it does not fit).
const SIDES: [usize; 7] = [5, 1, 7, 4, 9, 3, 6];

/// The shape with these parameters and the output size of PyTorch's formula; an input
/// side too small for its (padded) window is raised to fit.
#[allow(clippy::too_many_arguments)]
fn shape(
    batch: usize,
    (h, w): (usize, usize),
    (c_in, c_out): (usize, usize),
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
    (ph, pw): (usize, usize),
) -> ConvShape {
    let h = h.max(kh.saturating_sub(2 * ph));
    let w = w.max(kw.saturating_sub(2 * pw));
    let s = ConvShape {
        batch,
        h,
        w,
        c_in,
        c_out,
        ho: ConvShape::output_len(h, kh, sh, ph),
        wo: ConvShape::output_len(w, kw, sw, pw),
        kh,
        kw,
        sh,
        sw,
        ph,
        pw,
    };
    assert!(s.is_consistent(), "{s:?}");
    s
}

/// The convolution sweep: every (kernel, stride, padding) of [`KERNELS`] × [`STRIDES`] ×
/// [`PADS`] three times (square; with a different width, stride and padding across;
/// square again), channel counts cycling through [`CHANNELS`] for input and output,
/// sides through [`SIDES`], batch 1 to 3; then every (kernel, stride, padding) as a 1-D
/// signal (`h = 1`).
fn conv_shapes() -> Vec<ConvShape> {
    let (mut shapes, mut signals) = (Vec::new(), Vec::new());
    let mut n = 0usize;
    for &k in &KERNELS {
        for &st in &STRIDES {
            for &p in &PADS {
                for variant in 0..3 {
                    n += 1;
                    let (kw, sw, pw) = match variant {
                        1 => (KERNELS[n % 4], STRIDES[n % 3], PADS[(n + 1) % 3]),
                        _ => (k, st, p),
                    };
                    let m = shapes.len();
                    shapes.push(shape(
                        1 + n % 3,
                        (SIDES[n % 7], SIDES[(n + 3) % 7]),
                        (CHANNELS[m % 8], CHANNELS[(3 * m + 5) % 8]),
                        (k, kw),
                        (st, sw),
                        (p, pw),
                    ));
                }
                // The 1-D signal: one row, windows along it.
                n += 1;
                let m = n / 4;
                signals.push(shape(
                    1 + n % 3,
                    (1, [5, 7, 11, 16, 17][n % 5]),
                    (CHANNELS[(m + 2) % 8], CHANNELS[(5 * m + 1) % 8]),
                    (1, k),
                    (1, st),
                    (0, p),
                ));
            }
        }
    }
    shapes.extend(signals);
    shapes
}

/// The same sweep with `c_out = c_in`, for depthwise convolution.
fn depthwise_shapes() -> Vec<ConvShape> {
    conv_shapes()
        .into_iter()
        .map(|s| ConvShape { c_out: s.c_in, ..s })
        .collect()
}

/// The pooling sweep: every window of [`KERNELS`] × [`KERNELS`] with every stride of
/// [`STRIDES`] (so overlapping windows, stride < window, are common), no padding,
/// channel counts cycling through [`CHANNELS`]; and 1-D signals.
fn pool_shapes() -> Vec<ConvShape> {
    let mut shapes = Vec::new();
    let mut n = 0usize;
    for &kh in &KERNELS {
        for &kw in &KERNELS {
            for &st in &STRIDES {
                n += 1;
                let c = CHANNELS[n % 8];
                let sw = STRIDES[(n + 1) % 3];
                shapes.push(shape(
                    1 + n % 3,
                    (SIDES[n % 7], SIDES[(n + 2) % 7]),
                    (c, c),
                    (kh, kw),
                    (st, sw),
                    (0, 0),
                ));
            }
            let c = CHANNELS[(n + 3) % 8];
            shapes.push(shape(
                1 + n % 2,
                (1, 13),
                (c, c),
                (1, kw),
                (1, 1 + n % 3),
                (0, 0),
            ));
        }
    }
    shapes
}

/// Test data: uniform in `[-1, 1)` (reference comparisons), or from the whole exponent
/// range with signed zeros and subnormals (bit comparisons).
fn data(rng: &mut Rng, n: usize, wild: bool) -> Vec<f32> {
    if wild {
        rng.wild_vec(n)
    } else {
        rng.uniform_vec(n, -1.0, 1.0)
    }
}

fn dims(s: &ConvShape) -> [usize; 13] {
    [
        s.batch, s.h, s.w, s.c_in, s.ho, s.wo, s.c_out, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw,
    ]
}

/// The operands of one convolution case: `x`, `weight` (`weight_len` values), `bias`,
/// `dy`, and initial weight and bias gradients.
struct Operands {
    x: Vec<f32>,
    w: Vec<f32>,
    bias: Vec<f32>,
    dy: Vec<f32>,
    gw0: Vec<f32>,
    gb0: Vec<f32>,
}

fn operands(label: &str, s: &ConvShape, weight_len: usize, wild: bool) -> Operands {
    let mut rng = Rng::for_case(label, &dims(s));
    Operands {
        x: data(&mut rng, s.input_len(), wild),
        w: data(&mut rng, weight_len, wild),
        bias: data(&mut rng, s.c_out, wild),
        dy: data(&mut rng, s.output_elems(), wild),
        gw0: data(&mut rng, weight_len, wild),
        gb0: data(&mut rng, s.c_out, wild),
    }
}

/// The outputs of one backward call.
#[derive(Debug)]
struct Grads {
    w: Vec<f32>,
    bias: Vec<f32>,
    x: Vec<f32>,
}

/// The kernels of one kind of convolution on one path.
struct Conv {
    forward: fn(&ConvShape, &Operands, &mut [f32]) -> Result<(), Error>,
    backward: fn(&ConvShape, &Operands, &mut Grads) -> Result<(), Error>,
}

/// Fills `y` with `NaN` first, so that an output the kernel forgets stays visible.
fn run_forward(conv: &Conv, s: &ConvShape, o: &Operands) -> Vec<f32> {
    let mut y = vec![f32::NAN; s.output_elems()];
    (conv.forward)(s, o, &mut y).unwrap();
    y
}

/// Starts the gradients at `gw0`, `gb0` and `dx` at `NaN` (which must be overwritten).
fn run_backward(conv: &Conv, s: &ConvShape, o: &Operands) -> Grads {
    let mut g = Grads {
        w: o.gw0.clone(),
        bias: o.gb0.clone(),
        x: vec![f32::NAN; s.input_len()],
    };
    (conv.backward)(s, o, &mut g).unwrap();
    g
}

fn conv2d(simd: bool) -> Conv {
    // Scratch one longer than needed: longer is allowed and must not matter.
    fn scratch(s: &ConvShape) -> Vec<f32> {
        vec![f32::NAN; s.scratch_len() + 1]
    }
    if simd {
        Conv {
            forward: |s, o, y| kernels::conv2d_forward(s, &o.x, &o.w, &o.bias, y, &mut scratch(s)),
            backward: |s, o, g| {
                kernels::conv2d_backward(
                    s,
                    &o.x,
                    &o.w,
                    &o.dy,
                    &mut g.w,
                    &mut g.bias,
                    Some(&mut g.x),
                    &mut scratch(s),
                )
            },
        }
    } else {
        Conv {
            forward: |s, o, y| scalar::conv2d_forward(s, &o.x, &o.w, &o.bias, y, &mut scratch(s)),
            backward: |s, o, g| {
                scalar::conv2d_backward(
                    s,
                    &o.x,
                    &o.w,
                    &o.dy,
                    &mut g.w,
                    &mut g.bias,
                    Some(&mut g.x),
                    &mut scratch(s),
                )
            },
        }
    }
}

fn depthwise(simd: bool) -> Conv {
    if simd {
        Conv {
            forward: |s, o, y| kernels::depthwise_forward(s, &o.x, &o.w, &o.bias, y),
            backward: |s, o, g| {
                kernels::depthwise_backward(
                    s,
                    &o.x,
                    &o.w,
                    &o.dy,
                    &mut g.w,
                    &mut g.bias,
                    Some(&mut g.x),
                )
            },
        }
    } else {
        Conv {
            forward: |s, o, y| scalar::depthwise_forward(s, &o.x, &o.w, &o.bias, y),
            backward: |s, o, g| {
                scalar::depthwise_backward(
                    s,
                    &o.x,
                    &o.w,
                    &o.dy,
                    &mut g.w,
                    &mut g.bias,
                    Some(&mut g.x),
                )
            },
        }
    }
}

fn depthwise_weight_len(s: &ConvShape) -> usize {
    s.kh * s.kw * s.c_in
}

/// How many unpadded taps read each input element: at most `kh·kw`.
fn readers(s: &ConvShape) -> Vec<usize> {
    let mut count = vec![0usize; s.batch * s.h * s.w];
    for b in 0..s.batch {
        for oh in 0..s.ho {
            for ow in 0..s.wo {
                for i in 0..s.kh {
                    for j in 0..s.kw {
                        let y = (oh * s.sh + i) as isize - s.ph as isize;
                        let x = (ow * s.sw + j) as isize - s.pw as isize;
                        if (0..s.h as isize).contains(&y) && (0..s.w as isize).contains(&x) {
                            count[(b * s.h + y as usize) * s.w + x as usize] += 1;
                        }
                    }
                }
            }
        }
    }
    count
}

// --- mul_add ---------------------------------------------------------------------------

#[test]
fn mul_add_matches_reference_and_scalar() {
    for n in (0..=67).chain([100, 1000]) {
        for wild in [false, true] {
            let mut rng = Rng::for_case("mul_add", &[n, wild as usize]);
            let (a, b, acc0) = (
                data(&mut rng, n, wild),
                data(&mut rng, n, wild),
                data(&mut rng, n, wild),
            );
            let mut acc = acc0.clone();
            kernels::mul_add(&a, &b, &mut acc).unwrap();
            let mut acc_scalar = acc0.clone();
            scalar::mul_add(&a, &b, &mut acc_scalar).unwrap();
            assert_bits_eq(&acc, &acc_scalar, format_args!("mul_add n={n} wild={wild}"));
            // acc + fl(a·b), rounded: the two-term dot product acc·1 + a·b (`dot_bound`).
            let expected: Vec<f64> = (0..n)
                .map(|i| f64::from(acc0[i]) + f64::from(a[i]) * f64::from(b[i]))
                .collect();
            let bounds: Vec<f64> = (0..n)
                .map(|i| {
                    let m = f64::from(acc0[i]).abs() + (f64::from(a[i]) * f64::from(b[i])).abs();
                    dot_bound(2, m)
                })
                .collect();
            assert_all_close(&acc, &expected, &bounds, format_args!("mul_add n={n}"));
            // Unfused: exactly acc + (a·b rounded).
            for i in 0..n {
                let want = acc0[i] + a[i] * b[i];
                assert_eq!(acc[i].to_bits(), want.to_bits(), "mul_add n={n} index {i}");
            }
        }
    }
}

// --- Convolution against the f64 references ------------------------------------------

#[test]
fn conv2d_forward_matches_reference() {
    for s in conv_shapes() {
        let o = operands("conv2d ref", &s, s.weight_len(), false);
        let y = run_forward(&conv2d(true), &s, &o);
        let expected = reference::conv2d(&s, &o.x, &o.w, &o.bias);
        // bias + Σ over K = kh·kw·c_in products (padded ones exact zeros): a dot product
        // of K + 1 terms (bias·1), |err| ≤ γ_{K+1}·(|bias| + Σ|w·x|) (`dot_bound`).
        let magnitude = reference::conv2d(&s, &abs(&o.x), &abs(&o.w), &abs(&o.bias));
        let terms = s.kh * s.kw * s.c_in + 1;
        let bounds: Vec<f64> = magnitude.iter().map(|&m| dot_bound(terms, m)).collect();
        assert_all_close(&y, &expected, &bounds, format_args!("conv2d forward {s:?}"));
    }
}

/// Checks a backward pass against the references: the weight gradient adds
/// `N = batch·ho·wo` products to its initial value (`γ_{N+1}`), the bias gradient sums
/// `N + 1` values, and each input-gradient element is a sum of at most `kh·kw` sums of
/// `inner` products.
#[allow(clippy::too_many_arguments)]
fn check_backward(
    s: &ConvShape,
    o: &Operands,
    g: &Grads,
    inner: usize,
    weight_grad: fn(&ConvShape, &[f32], &[f32]) -> Vec<f64>,
    input_grad: fn(&ConvShape, &[f32], &[f32]) -> Vec<f64>,
    what: &str,
) {
    let n = s.batch * s.ho * s.wo;
    let expected: Vec<f64> = weight_grad(s, &o.x, &o.dy)
        .iter()
        .zip(&o.gw0)
        .map(|(g, &g0)| g + f64::from(g0))
        .collect();
    let bounds: Vec<f64> = weight_grad(s, &abs(&o.x), &abs(&o.dy))
        .iter()
        .zip(&o.gw0)
        .map(|(m, &g0)| dot_bound(n + 1, m + f64::from(g0).abs()))
        .collect();
    assert_all_close(
        &g.w,
        &expected,
        &bounds,
        format_args!("{what} weight grad {s:?}"),
    );

    let expected: Vec<f64> = reference::conv2d_bias_grad(s, &o.dy)
        .iter()
        .zip(&o.gb0)
        .map(|(g, &g0)| g + f64::from(g0))
        .collect();
    // N + 1 exact terms summed: γ_N·Σ|·| (`sum_bound`).
    let bounds: Vec<f64> = reference::conv2d_bias_grad(s, &abs(&o.dy))
        .iter()
        .zip(&o.gb0)
        .map(|(m, &g0)| sum_bound(n + 1, m + f64::from(g0).abs()))
        .collect();
    assert_all_close(
        &g.bias,
        &expected,
        &bounds,
        format_args!("{what} bias grad {s:?}"),
    );

    // dx = Σ over the T ≤ kh·kw taps that read it of an inner sum of `inner` rounded
    // products (from +0.0): each product is rounded once and passes at most
    // `inner − 1 + T − 1` additions, so |err| ≤ γ_{inner + kh·kw}·Σ|dy·w|, plus 2⁻¹⁵⁰
    // for each product that underflows.
    let expected = input_grad(s, &o.w, &o.dy);
    let magnitude = input_grad(s, &abs(&o.w), &abs(&o.dy));
    let taps = s.kh * s.kw;
    let bounds: Vec<f64> = magnitude
        .iter()
        .map(|&m| dot_bound(inner + taps, m) + (inner * taps) as f64 * ETA)
        .collect();
    assert_all_close(
        &g.x,
        &expected,
        &bounds,
        format_args!("{what} input grad {s:?}"),
    );
}

#[test]
fn conv2d_backward_matches_reference() {
    for s in conv_shapes() {
        let o = operands("conv2d ref", &s, s.weight_len(), false);
        let g = run_backward(&conv2d(true), &s, &o);
        check_backward(
            &s,
            &o,
            &g,
            s.c_out,
            reference::conv2d_weight_grad,
            reference::conv2d_input_grad,
            "conv2d",
        );
    }
}

#[test]
fn depthwise_forward_matches_reference() {
    for s in depthwise_shapes() {
        let o = operands("depthwise ref", &s, depthwise_weight_len(&s), false);
        let y = run_forward(&depthwise(true), &s, &o);
        let expected = reference::depthwise(&s, &o.x, &o.w, &o.bias);
        // bias + at most kh·kw rounded products: γ_{kh·kw+1}·(|bias| + Σ|w·x|).
        let magnitude = reference::depthwise(&s, &abs(&o.x), &abs(&o.w), &abs(&o.bias));
        let terms = s.kh * s.kw + 1;
        let bounds: Vec<f64> = magnitude.iter().map(|&m| dot_bound(terms, m)).collect();
        assert_all_close(
            &y,
            &expected,
            &bounds,
            format_args!("depthwise forward {s:?}"),
        );
    }
}

#[test]
fn depthwise_backward_matches_reference() {
    for s in depthwise_shapes() {
        let o = operands("depthwise ref", &s, depthwise_weight_len(&s), false);
        let g = run_backward(&depthwise(true), &s, &o);
        check_backward(
            &s,
            &o,
            &g,
            1,
            reference::depthwise_weight_grad,
            reference::depthwise_input_grad,
            "depthwise",
        );
    }
}

// --- Adjoint identities ----------------------------------------------------------------

/// `⟨a, b⟩` in `f64`, and `Σ|aᵢ|·eᵢ` for error bounds `e` on `b`.
fn dot64(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum()
}

/// The forward pass with zero bias is linear in `x` and in `W`, and the backward pass is
/// its adjoint: `⟨dy, conv(x; W)⟩ = ⟨∂x, x⟩ = ⟨∂W, W⟩` and `⟨dy, 1·b⟩ = ⟨∂b, b⟩`.
/// Checked on the `f64` references (to `f64` rounding), and on the kernels' own `f32`
/// outputs with the kernels' error bounds carried through the inner products.
fn adjoint(conv: &Conv, s: &ConvShape, o: &Operands, inner: usize, refs: AdjointRefs) {
    let zero_bias = vec![0.0f32; s.c_out];
    // References: exact up to f64 rounding.
    let y64 = (refs.forward)(s, &o.x, &o.w, &zero_bias);
    let dx64 = (refs.input_grad)(s, &o.w, &o.dy);
    let dw64 = (refs.weight_grad)(s, &o.x, &o.dy);
    let lhs: f64 = o.dy.iter().zip(&y64).map(|(&d, y)| f64::from(d) * y).sum();
    let via_x: f64 = o.x.iter().zip(&dx64).map(|(&x, d)| f64::from(x) * d).sum();
    let via_w: f64 = o.w.iter().zip(&dw64).map(|(&w, d)| f64::from(w) * d).sum();
    let scale: f64 = (refs.forward)(s, &abs(&o.x), &abs(&o.w), &zero_bias)
        .iter()
        .zip(&o.dy)
        .map(|(m, &d)| m * f64::from(d).abs())
        .sum();
    let tol64 = 1e3 * U64 * scale.max(f64::MIN_POSITIVE);
    assert!(
        (lhs - via_x).abs() <= tol64,
        "{s:?}: ⟨dy, y⟩ = {lhs:e}, ⟨dx, x⟩ = {via_x:e}"
    );
    assert!(
        (lhs - via_w).abs() <= tol64,
        "{s:?}: ⟨dy, y⟩ = {lhs:e}, ⟨dW, W⟩ = {via_w:e}"
    );

    // Kernels: y, ∂x and ∂W (from zero) in f32, each within its bound of the exact value.
    let zeroed = Operands {
        x: o.x.clone(),
        w: o.w.clone(),
        bias: zero_bias.clone(),
        dy: o.dy.clone(),
        gw0: vec![0.0; o.w.len()],
        gb0: vec![0.0; s.c_out],
    };
    let y = run_forward(conv, s, &zeroed);
    let g = run_backward(conv, s, &zeroed);
    let k = s.kh * s.kw * inner_forward(s, inner);
    let n = s.batch * s.ho * s.wo;
    let taps = s.kh * s.kw;
    // |⟨dy, ŷ⟩ − ⟨dy, y⟩| ≤ Σ|dy|·γ_K·(Σ|w·x|), and likewise for the other two.
    let err_y = gamma(k, U) * scale;
    let err_x = (gamma(inner + taps, U) + (inner * taps) as f64 * ETA) * scale;
    let err_w = gamma(n, U) * scale;
    let kernel_lhs = dot64(&o.dy, &y);
    let kernel_x = dot64(&o.x, &g.x);
    let kernel_w = dot64(&o.w, &g.w);
    let slack = tol64 + 8.0 * U64 * scale;
    assert!(
        (kernel_lhs - kernel_x).abs() <= err_y + err_x + slack,
        "{s:?}: kernels ⟨dy, y⟩ = {kernel_lhs:e}, ⟨dx, x⟩ = {kernel_x:e}"
    );
    assert!(
        (kernel_lhs - kernel_w).abs() <= err_y + err_w + slack,
        "{s:?}: kernels ⟨dy, y⟩ = {kernel_lhs:e}, ⟨dW, W⟩ = {kernel_w:e}"
    );
    // ⟨dy, 1·b⟩ = ⟨∂b, b⟩ for the bias: the kernel's bias gradient against Σ dy.
    let ones_b: f64 = reference::conv2d_bias_grad(s, &o.dy)
        .iter()
        .zip(&o.bias)
        .map(|(g, &b)| g * f64::from(b))
        .sum();
    let kernel_b = dot64(&o.bias, &g.bias);
    let mag_b: f64 = reference::conv2d_bias_grad(s, &abs(&o.dy))
        .iter()
        .zip(&o.bias)
        .map(|(g, &b)| g * f64::from(b).abs())
        .sum();
    assert!(
        (ones_b - kernel_b).abs() <= gamma(n.max(1), U) * mag_b + 8.0 * U64 * mag_b,
        "{s:?}: ⟨dy, 1·b⟩ = {ones_b:e}, ⟨db, b⟩ = {kernel_b:e}"
    );
}

/// The channels each output sums over: `c_in` for `conv2d`, 1 for depthwise.
fn inner_forward(s: &ConvShape, backward_inner: usize) -> usize {
    if backward_inner == 1 {
        1
    } else {
        s.c_in
    }
}

/// A forward reference: `(shape, x, weight, bias) ↦ y`.
type ForwardReference = fn(&ConvShape, &[f32], &[f32], &[f32]) -> Vec<f64>;

/// The references of one kind of convolution.
#[derive(Clone, Copy)]
struct AdjointRefs {
    forward: ForwardReference,
    input_grad: fn(&ConvShape, &[f32], &[f32]) -> Vec<f64>,
    weight_grad: fn(&ConvShape, &[f32], &[f32]) -> Vec<f64>,
}

#[test]
fn conv2d_backward_is_the_adjoint_of_forward() {
    let refs = AdjointRefs {
        forward: reference::conv2d,
        input_grad: reference::conv2d_input_grad,
        weight_grad: reference::conv2d_weight_grad,
    };
    for s in conv_shapes() {
        let o = operands("conv2d adjoint", &s, s.weight_len(), false);
        adjoint(&conv2d(true), &s, &o, s.c_out, refs);
    }
}

#[test]
fn depthwise_backward_is_the_adjoint_of_forward() {
    let refs = AdjointRefs {
        forward: reference::depthwise,
        input_grad: reference::depthwise_input_grad,
        weight_grad: reference::depthwise_weight_grad,
    };
    for s in depthwise_shapes() {
        let o = operands("depthwise adjoint", &s, depthwise_weight_len(&s), false);
        adjoint(&depthwise(true), &s, &o, 1, refs);
    }
}

// --- SIMD against scalar, bit for bit ---------------------------------------------------

fn conv_bits(
    kind: &str,
    make: fn(bool) -> Conv,
    shapes: Vec<ConvShape>,
    weight_len: fn(&ConvShape) -> usize,
) {
    let (simd, scalar) = (make(true), make(false));
    for s in shapes {
        let o = operands(kind, &s, weight_len(&s), true);
        let y = run_forward(&simd, &s, &o);
        let y_scalar = run_forward(&scalar, &s, &o);
        assert_bits_eq(&y, &y_scalar, format_args!("{kind} forward {s:?}"));
        let g = run_backward(&simd, &s, &o);
        let g_scalar = run_backward(&scalar, &s, &o);
        assert_bits_eq(&g.w, &g_scalar.w, format_args!("{kind} weight grad {s:?}"));
        assert_bits_eq(
            &g.bias,
            &g_scalar.bias,
            format_args!("{kind} bias grad {s:?}"),
        );
        assert_bits_eq(&g.x, &g_scalar.x, format_args!("{kind} input grad {s:?}"));
    }
}

#[test]
#[cfg_attr(
    feature = "fma",
    ignore = "the fma feature gives up the canonical order"
)]
fn conv2d_simd_matches_scalar_bit_for_bit() {
    conv_bits("conv2d bits", conv2d, conv_shapes(), ConvShape::weight_len);
}

/// The SIMD path packs a convolution's weight once per call when it fits 8192 floats
/// (output channels rounded up to the panel width) and unfolds the weight gradient's
/// patches while packing, over the whole batch: the digits demo's two layers, a weight
/// just too large to pack (the row-by-row fallback), many channels (runs of one tap
/// across several vectors) and more output pixels than one packed chunk holds.
#[test]
#[cfg_attr(
    feature = "fma",
    ignore = "the fma feature gives up the canonical order"
)]
fn conv2d_packed_paths_match_scalar_bit_for_bit() {
    let shapes = vec![
        shape(32, (8, 8), (1, 16), (3, 3), (1, 1), (1, 1)),
        shape(32, (4, 4), (16, 32), (3, 3), (1, 1), (1, 1)),
        shape(2, (5, 6), (32, 33), (3, 3), (1, 1), (1, 1)),
        shape(3, (7, 5), (40, 5), (3, 2), (2, 1), (0, 1)),
        shape(5, (12, 11), (3, 9), (5, 3), (1, 2), (2, 1)),
    ];
    conv_bits("conv2d packed bits", conv2d, shapes, ConvShape::weight_len);
}

#[test]
fn depthwise_simd_matches_scalar_bit_for_bit() {
    conv_bits(
        "depthwise bits",
        depthwise,
        depthwise_shapes(),
        depthwise_weight_len,
    );
}

/// Pooling inputs: wild values, small integers (ties), infinities; NaN if asked.
fn pool_input(label: &str, s: &ConvShape, nan: bool) -> Vec<f32> {
    let mut rng = Rng::for_case(label, &dims(s));
    (0..s.input_len())
        .map(|_| match rng.below(16) {
            0 if nan => f32::NAN,
            1 => f32::NEG_INFINITY,
            2 => f32::INFINITY,
            3..=7 => rng.below(3) as f32 - 1.0,
            8 => -0.0,
            _ => rng.wild(),
        })
        .collect()
}

#[test]
fn pooling_simd_matches_scalar_bit_for_bit() {
    for s in pool_shapes() {
        for nan in [false, true] {
            let x = pool_input("pool bits", &s, nan);
            let mut rng = Rng::for_case("pool bits dy", &dims(&s));
            let dy = rng.wild_vec(s.output_elems());
            let what = |k: &str| format!("{k} nan={nan} {s:?}");
            let (mut y, mut y_s) = (vec![0.0; dy.len()], vec![0.0; dy.len()]);
            let (mut dx, mut dx_s) = (vec![f32::NAN; x.len()], vec![f32::NAN; x.len()]);
            kernels::max_pool_forward(&s, &x, &mut y).unwrap();
            scalar::max_pool_forward(&s, &x, &mut y_s).unwrap();
            assert_bits_eq(&y, &y_s, what("max pool forward"));
            kernels::max_pool_backward(&s, &x, &dy, &mut dx).unwrap();
            scalar::max_pool_backward(&s, &x, &dy, &mut dx_s).unwrap();
            assert_bits_eq(&dx, &dx_s, what("max pool backward"));
            kernels::avg_pool_forward(&s, &x, &mut y).unwrap();
            scalar::avg_pool_forward(&s, &x, &mut y_s).unwrap();
            assert_bits_eq_any_nan(&y, &y_s, what("avg pool forward"));
            dx.fill(f32::NAN);
            dx_s.fill(f32::NAN);
            kernels::avg_pool_backward(&s, &dy, &mut dx).unwrap();
            scalar::avg_pool_backward(&s, &dy, &mut dx_s).unwrap();
            assert_bits_eq_any_nan(&dx, &dx_s, what("avg pool backward"));
            // Global pooling over the same data: positions = h·w.
            let (b, p, c) = (s.batch, s.h * s.w, s.c_in);
            let (mut g, mut g_s) = (vec![0.0; b * c], vec![0.0; b * c]);
            kernels::global_avg_pool_forward(b, p, c, &x, &mut g).unwrap();
            scalar::global_avg_pool_forward(b, p, c, &x, &mut g_s).unwrap();
            assert_bits_eq_any_nan(&g, &g_s, what("global avg pool forward"));
            let gy = rng.wild_vec(b * c);
            kernels::global_avg_pool_backward(b, p, c, &gy, &mut dx).unwrap();
            scalar::global_avg_pool_backward(b, p, c, &gy, &mut dx_s).unwrap();
            assert_bits_eq_any_nan(&dx, &dx_s, what("global avg pool backward"));
        }
    }
}

// --- The documented evaluation orders -------------------------------------------------

/// `conv2d_forward` is `((bias + p₀) + p₁) + …` over `k = (i, j, ci)` in increasing
/// order, padded taps included as `w·(+0.0)` (module documentation of `conv.rs`), and
/// `depthwise_forward` the same over the unpadded taps only; written again here from
/// that text with `sequential_dot`.
#[test]
#[cfg_attr(
    feature = "fma",
    ignore = "the fma feature gives up the canonical order"
)]
fn convolutions_follow_the_documented_order() {
    for s in conv_shapes() {
        let o = operands("conv order", &s, s.weight_len(), true);
        let y = run_forward(&conv2d(true), &s, &o);
        let dw = ConvShape { c_out: s.c_in, ..s };
        let od = operands("depthwise order", &dw, depthwise_weight_len(&dw), true);
        let yd = run_forward(&depthwise(true), &dw, &od);
        let (mut want, mut want_d) = (Vec::new(), Vec::new());
        for b in 0..s.batch {
            for oh in 0..s.ho {
                for ow in 0..s.wo {
                    let read = |x: &[f32], c: usize, i: usize, j: usize, ci: usize| {
                        let yy = (oh * s.sh + i) as isize - s.ph as isize;
                        let xx = (ow * s.sw + j) as isize - s.pw as isize;
                        let inside =
                            (0..s.h as isize).contains(&yy) && (0..s.w as isize).contains(&xx);
                        inside.then(|| x[((b * s.h + yy as usize) * s.w + xx as usize) * c + ci])
                    };
                    for co in 0..s.c_out {
                        let mut terms = Vec::new();
                        for i in 0..s.kh {
                            for j in 0..s.kw {
                                for ci in 0..s.c_in {
                                    let w = o.w[((co * s.kh + i) * s.kw + j) * s.c_in + ci];
                                    terms.push((w, read(&o.x, s.c_in, i, j, ci).unwrap_or(0.0)));
                                }
                            }
                        }
                        want.push(sequential_dot(o.bias[co], terms));
                    }
                    for c in 0..dw.c_in {
                        let mut terms = Vec::new();
                        for i in 0..s.kh {
                            for j in 0..s.kw {
                                if let Some(x) = read(&od.x, dw.c_in, i, j, c) {
                                    terms.push((od.w[(i * s.kw + j) * dw.c_in + c], x));
                                }
                            }
                        }
                        want_d.push(sequential_dot(od.bias[c], terms));
                    }
                }
            }
        }
        assert_bits_eq(&y, &want, format_args!("conv2d order {s:?}"));
        assert_bits_eq(&yd, &want_d, format_args!("depthwise order {dw:?}"));
    }
}

/// Average pooling is `(((+0 + x₀) + x₁) + …) / (kh·kw)` in scan order; global average
/// pooling the same over positions.
#[test]
fn average_pools_follow_the_documented_order() {
    for s in pool_shapes() {
        let x = pool_input("avg order", &s, false);
        let mut y = vec![0.0; s.output_elems()];
        kernels::avg_pool_forward(&s, &x, &mut y).unwrap();
        let c = s.c_in;
        let mut want = Vec::new();
        for b in 0..s.batch {
            for oh in 0..s.ho {
                for ow in 0..s.wo {
                    for ch in 0..c {
                        let mut sum = 0.0f32;
                        for i in 0..s.kh {
                            for j in 0..s.kw {
                                let q = (b * s.h + oh * s.sh + i) * s.w + ow * s.sw + j;
                                sum += x[q * c + ch];
                            }
                        }
                        want.push(sum / (s.kh * s.kw) as f32);
                    }
                }
            }
        }
        assert_bits_eq(&y, &want, format_args!("avg pool order {s:?}"));
        let p = s.h * s.w;
        let mut g = vec![0.0; s.batch * c];
        kernels::global_avg_pool_forward(s.batch, p, c, &x, &mut g).unwrap();
        let want: Vec<f32> = (0..s.batch * c)
            .map(|bc| {
                let (b, ch) = (bc / c, bc % c);
                let mut sum = 0.0f32;
                for q in 0..p {
                    sum += x[(b * p + q) * c + ch];
                }
                sum / p as f32
            })
            .collect();
        assert_bits_eq(&g, &want, format_args!("global avg pool order {s:?}"));
    }
}

// --- Pooling against the references -----------------------------------------------------

#[test]
fn max_pool_matches_reference() {
    for s in pool_shapes() {
        let mut rng = Rng::for_case("max pool ref", &dims(&s));
        // Few distinct values: ties in most windows.
        let x: Vec<f32> = (0..s.input_len())
            .map(|_| rng.below(5) as f32 - 2.0)
            .collect();
        let dy = rng.uniform_vec(s.output_elems(), -1.0, 1.0);
        let mut y = vec![0.0; dy.len()];
        kernels::max_pool_forward(&s, &x, &mut y).unwrap();
        assert_bits_eq(
            &y,
            &reference::max_pool(&s, &x),
            format_args!("max pool {s:?}"),
        );
        let mut dx = vec![f32::NAN; x.len()];
        kernels::max_pool_backward(&s, &x, &dy, &mut dx).unwrap();
        let expected = reference::max_pool_grad(&s, &x, &dy);
        // Each dx element sums the dy of at most kh·kw windows (from +0.0): γ_{kh·kw−1}.
        let magnitude = reference::max_pool_grad(&s, &x, &abs(&dy));
        let bounds: Vec<f64> = magnitude
            .iter()
            .map(|&m| sum_bound(s.kh * s.kw, m))
            .collect();
        assert_all_close(&dx, &expected, &bounds, format_args!("max pool grad {s:?}"));
    }
}

#[test]
fn avg_pool_matches_reference() {
    for s in pool_shapes() {
        let mut rng = Rng::for_case("avg pool ref", &dims(&s));
        let x = rng.uniform_vec(s.input_len(), -1.0, 1.0);
        let dy = rng.uniform_vec(s.output_elems(), -1.0, 1.0);
        let taps = Tracked::input((s.kh * s.kw) as f32);
        let mut y = vec![0.0; dy.len()];
        kernels::avg_pool_forward(&s, &x, &mut y).unwrap();
        let expected = reference::avg_pool(&s, &x);
        // A sum of kh·kw exact inputs, then one division: running error analysis.
        let c = s.c_in;
        let mut bounds = Vec::new();
        for b in 0..s.batch {
            for oh in 0..s.ho {
                for ow in 0..s.wo {
                    for ch in 0..c {
                        let mut terms = Vec::new();
                        for i in 0..s.kh {
                            for j in 0..s.kw {
                                let q = (b * s.h + oh * s.sh + i) * s.w + ow * s.sw + j;
                                terms.push(Tracked::input(x[q * c + ch]));
                            }
                        }
                        let at = bounds.len();
                        bounds.push(against_reference(Tracked::sum(&terms) / taps, expected[at]));
                    }
                }
            }
        }
        assert_all_close(&y, &expected, &bounds, format_args!("avg pool {s:?}"));

        let mut dx = vec![f32::NAN; x.len()];
        kernels::avg_pool_backward(&s, &dy, &mut dx).unwrap();
        let expected = reference::avg_pool_grad(&s, &dy);
        // dx sums, from +0.0, one rounded quotient dy/(kh·kw) per window it is in.
        let mut contributions = vec![Vec::new(); x.len()];
        for b in 0..s.batch {
            for oh in 0..s.ho {
                for ow in 0..s.wo {
                    for ch in 0..c {
                        let g = Tracked::input(dy[((b * s.ho + oh) * s.wo + ow) * c + ch]) / taps;
                        for i in 0..s.kh {
                            for j in 0..s.kw {
                                let q = (b * s.h + oh * s.sh + i) * s.w + ow * s.sw + j;
                                contributions[q * c + ch].push(g);
                            }
                        }
                    }
                }
            }
        }
        let bounds: Vec<f64> = contributions
            .iter()
            .zip(&expected)
            .map(|(t, &e)| against_reference(Tracked::sum(t), e))
            .collect();
        assert_all_close(&dx, &expected, &bounds, format_args!("avg pool grad {s:?}"));
        // Every input is in at most kh·kw windows.
        assert!(readers(&s).iter().all(|&r| r <= s.kh * s.kw));
    }
}

#[test]
fn global_avg_pool_matches_reference() {
    for (batch, positions, channels) in [
        (1, 1, 1),
        (2, 7, 3),
        (3, 49, 17),
        (1, 196, 16),
        (2, 5, 8),
        (1, 3, 0),
        (0, 4, 2),
    ] {
        let mut rng = Rng::for_case("global avg", &[batch, positions, channels]);
        let x = rng.uniform_vec(batch * positions * channels, -1.0, 1.0);
        let mut y = vec![f32::NAN; batch * channels];
        kernels::global_avg_pool_forward(batch, positions, channels, &x, &mut y).unwrap();
        let expected = reference::global_avg_pool(batch, positions, channels, &x);
        let p = Tracked::input(positions as f32);
        let bounds: Vec<f64> = (0..batch * channels)
            .map(|bc| {
                let (b, c) = (bc / channels, bc % channels);
                let terms: Vec<Tracked> = (0..positions)
                    .map(|q| Tracked::input(x[(b * positions + q) * channels + c]))
                    .collect();
                against_reference(Tracked::sum(&terms) / p, expected[bc])
            })
            .collect();
        assert_all_close(
            &y,
            &expected,
            &bounds,
            format_args!("global avg {batch}×{positions}×{channels}"),
        );

        let dy = rng.uniform_vec(batch * channels, -1.0, 1.0);
        let mut dx = vec![f32::NAN; x.len()];
        kernels::global_avg_pool_backward(batch, positions, channels, &dy, &mut dx).unwrap();
        for (k, &got) in dx.iter().enumerate() {
            let (b, c) = (k / (positions * channels), k % channels);
            let d = dy[b * channels + c];
            // One correctly rounded division.
            let exact = f64::from(d) / positions as f64;
            assert!(
                (f64::from(got) - exact).abs() <= U * exact.abs(),
                "global avg grad {batch}×{positions}×{channels} index {k}: {got:e} vs {exact:e}"
            );
        }
    }
}

// --- Max pooling: ties, NaN, infinities -----------------------------------------------

fn one_window(w: usize, c: usize) -> ConvShape {
    shape(1, (1, w), (c, c), (1, w), (1, 1), (0, 0))
}

/// Equal maxima: the first in scan order gets the whole gradient (PyTorch's strict `>`),
/// `+0.0` and `−0.0` tie, and in a 2-D window the scan is row by row.
#[test]
fn max_pool_ties_go_to_the_first_maximum() {
    // One window of width 4 over 9 channels (a full SIMD vector and a scalar tail); in
    // channel c the maximum 3.0 appears at positions (c % 4) and 3.
    let c = 9;
    let s = one_window(4, c);
    let mut x = vec![0.0f32; 4 * c];
    for ch in 0..c {
        x[(ch % 4) * c + ch] = 3.0;
        x[3 * c + ch] = 3.0;
    }
    let dy: Vec<f32> = (0..c).map(|ch| ch as f32 + 1.0).collect();
    for (path, pool_fwd, pool_bwd) in [
        (
            "simd",
            kernels::max_pool_forward as fn(&ConvShape, &[f32], &mut [f32]) -> Result<(), Error>,
            kernels::max_pool_backward
                as fn(&ConvShape, &[f32], &[f32], &mut [f32]) -> Result<(), Error>,
        ),
        (
            "scalar",
            scalar::max_pool_forward,
            scalar::max_pool_backward,
        ),
    ] {
        let mut y = vec![0.0; c];
        pool_fwd(&s, &x, &mut y).unwrap();
        assert!(y.iter().all(|&v| v == 3.0), "{path}: {y:?}");
        let mut dx = vec![f32::NAN; x.len()];
        pool_bwd(&s, &x, &dy, &mut dx).unwrap();
        for ch in 0..c {
            for pos in 0..4 {
                let want = if pos == ch % 4 { dy[ch] } else { 0.0 };
                assert_eq!(dx[pos * c + ch], want, "{path} channel {ch} position {pos}");
            }
        }
        // Signed zeros tie: the first zero wins and is the output, with its sign.
        let z = [-0.0f32, 0.0, -0.0];
        let s1 = one_window(3, 1);
        let mut y = [1.0];
        pool_fwd(&s1, &z, &mut y).unwrap();
        assert_eq!(y[0].to_bits(), (-0.0f32).to_bits(), "{path}");
        let mut dx = [9.0; 3];
        pool_bwd(&s1, &z, &[1.0], &mut dx).unwrap();
        assert_eq!(dx, [1.0, 0.0, 0.0], "{path}");
        // 2 × 2 window, maximum at (0, 1) and (1, 0): scan order picks (0, 1).
        let s2 = shape(1, (2, 2), (1, 1), (2, 2), (1, 1), (0, 0));
        let mut dx = [9.0; 4];
        pool_bwd(&s2, &[0.0, 5.0, 5.0, 1.0], &[2.0], &mut dx).unwrap();
        assert_eq!(dx, [0.0, 2.0, 0.0, 0.0], "{path}");
        // All −∞: the output is −∞ and the first tap gets the gradient.
        let mut y = [0.0];
        pool_fwd(&s1, &[f32::NEG_INFINITY; 3], &mut y).unwrap();
        assert_eq!(y, [f32::NEG_INFINITY]);
        let mut dx = [9.0; 3];
        pool_bwd(&s1, &[f32::NEG_INFINITY; 3], &[1.0], &mut dx).unwrap();
        assert_eq!(dx, [1.0, 0.0, 0.0], "{path}");
        // NaN wins (PyTorch: `val > maxval || isnan(val)`), the last NaN of the window.
        let xn = [1.0, f32::NAN, 7.0, f32::NAN, 2.0];
        let s5 = one_window(5, 1);
        let mut y = [0.0];
        pool_fwd(&s5, &xn, &mut y).unwrap();
        assert!(y[0].is_nan(), "{path}");
        let mut dx = [9.0; 5];
        pool_bwd(&s5, &xn, &[1.0], &mut dx).unwrap();
        assert_eq!(dx, [0.0, 0.0, 0.0, 1.0, 0.0], "{path}");
    }
}

/// Overlapping windows (stride 1, width 3) accumulate the gradient of every window whose
/// maximum an input is.
#[test]
fn max_pool_overlapping_windows_accumulate() {
    let s = shape(1, (1, 5), (1, 1), (1, 3), (1, 1), (0, 0));
    let x = [0.0, 1.0, 9.0, 1.0, 0.0];
    let mut dx = [0.0; 5];
    kernels::max_pool_backward(&s, &x, &[1.0, 10.0, 100.0], &mut dx).unwrap();
    assert_eq!(dx, [0.0, 0.0, 111.0, 0.0, 0.0]);
}

// --- Shape and length errors ------------------------------------------------------------

/// A valid 2-D shape: 2 × 5 × 6 × 3 → 2 × 3 × 3 × 4, kernel 3 × 2, stride 2, padding 1.
fn base() -> ConvShape {
    shape(2, (5, 6), (3, 4), (3, 2), (2, 2), (1, 1))
}

#[test]
fn inconsistent_shapes_are_errors() {
    let s = base();
    assert_eq!((s.ho, s.wo), (3, 4));
    assert!(s.validate().is_ok());
    let cases: [(ConvShape, usize, usize); 9] = [
        (ConvShape { sh: 0, ..s }, 1, 0),
        (ConvShape { sw: 0, ..s }, 1, 0),
        (ConvShape { kh: 0, ..s }, 1, 0),
        (ConvShape { kw: 0, ..s }, 1, 0),
        (ConvShape { kh: 8, ..s }, 7, 8),
        (
            ConvShape {
                kw: 9,
                ph: 0,
                ho: 2,
                ..s
            },
            8,
            9,
        ),
        (ConvShape { ho: 4, ..s }, 3, 4),
        (ConvShape { wo: 3, ..s }, 4, 3),
        (
            ConvShape {
                ph: usize::MAX / 2 + 1,
                ..s
            },
            usize::MAX,
            usize::MAX,
        ),
    ];
    for (bad, expected, found) in cases {
        assert!(!bad.is_consistent(), "{bad:?}");
        assert_shape_error(bad.validate(), expected, found);
        // Every kernel refuses it before touching its output.
        let mut y = vec![7.0; 1000];
        let r = kernels::conv2d_forward(&bad, &[], &[], &[], &mut y[..0], &mut []);
        assert_shape_error(r, expected, found);
        assert!(y.iter().all(|&v| v == 7.0));
    }
    // An element count that overflows usize.
    let huge = ConvShape {
        batch: usize::MAX,
        ..s
    };
    assert_shape_error(huge.validate(), usize::MAX, usize::MAX);
    assert_eq!(huge.input_len(), usize::MAX);
}

#[test]
fn conv2d_length_errors() {
    let s = base();
    let x = vec![1.0; s.input_len()];
    let w = vec![1.0; s.weight_len()];
    let b = vec![1.0; s.c_out];
    let mut y = vec![7.0; s.output_elems()];
    let mut scratch = vec![0.0; s.scratch_len()];
    let n = s.input_len();
    assert_length_error(
        kernels::conv2d_forward(&s, &x[1..], &w, &b, &mut y, &mut scratch),
        n,
        n - 1,
    );
    assert_length_error(
        kernels::conv2d_forward(&s, &x, &w[1..], &b, &mut y, &mut scratch),
        w.len(),
        w.len() - 1,
    );
    assert_length_error(
        kernels::conv2d_forward(&s, &x, &w, &[1.0], &mut y, &mut scratch),
        4,
        1,
    );
    let yl = y.len();
    assert_length_error(
        kernels::conv2d_forward(&s, &x, &w, &b, &mut y[1..], &mut scratch),
        yl,
        yl - 1,
    );
    let sl = s.scratch_len();
    assert_length_error(
        scalar::conv2d_forward(&s, &x, &w, &b, &mut y, &mut scratch[1..]),
        sl,
        sl - 1,
    );
    assert!(y.iter().all(|&v| v == 7.0), "y was written");

    let dy = vec![1.0; s.output_elems()];
    let mut gw = vec![7.0; w.len()];
    let mut gb = vec![7.0; 4];
    let mut dx = vec![7.0; n];
    assert_length_error(
        kernels::conv2d_backward(
            &s,
            &x,
            &w,
            &dy[1..],
            &mut gw,
            &mut gb,
            Some(&mut dx),
            &mut scratch,
        ),
        yl,
        yl - 1,
    );
    assert_length_error(
        kernels::conv2d_backward(
            &s,
            &x,
            &w,
            &dy,
            &mut gw[1..],
            &mut gb,
            Some(&mut dx),
            &mut scratch,
        ),
        w.len(),
        w.len() - 1,
    );
    assert_length_error(
        kernels::conv2d_backward(
            &s,
            &x,
            &w,
            &dy,
            &mut gw,
            &mut gb[1..],
            Some(&mut dx),
            &mut scratch,
        ),
        4,
        3,
    );
    assert_length_error(
        kernels::conv2d_backward(
            &s,
            &x,
            &w,
            &dy,
            &mut gw,
            &mut gb,
            Some(&mut dx[1..]),
            &mut scratch,
        ),
        n,
        n - 1,
    );
    assert_length_error(
        kernels::conv2d_backward(
            &s,
            &x,
            &w,
            &dy,
            &mut gw,
            &mut gb,
            Some(&mut dx),
            &mut scratch[..sl - 1],
        ),
        sl,
        sl - 1,
    );
    assert!(
        gw.iter().chain(&gb).chain(&dx).all(|&v| v == 7.0),
        "written on error"
    );
    // Without dx, the same call succeeds.
    kernels::conv2d_backward(&s, &x, &w, &dy, &mut gw, &mut gb, None, &mut scratch).unwrap();
}

#[test]
fn depthwise_errors() {
    let s = ConvShape { c_out: 3, ..base() };
    let c = s.c_in;
    let x = vec![1.0; s.input_len()];
    let w = vec![1.0; s.kh * s.kw * c];
    let b = vec![1.0; c];
    let mut y = vec![7.0; s.output_elems()];
    assert_shape_error(
        kernels::depthwise_forward(&ConvShape { c_out: 4, ..s }, &x, &w, &b, &mut y),
        3,
        4,
    );
    assert_length_error(
        kernels::depthwise_forward(&s, &x, &w[1..], &b, &mut y),
        w.len(),
        w.len() - 1,
    );
    assert_length_error(
        kernels::depthwise_forward(&s, &x, &w, &b[1..], &mut y),
        3,
        2,
    );
    assert_length_error(
        kernels::depthwise_forward(&s, &x[1..], &w, &b, &mut y),
        x.len(),
        x.len() - 1,
    );
    let yl = y.len();
    assert_length_error(
        kernels::depthwise_forward(&s, &x, &w, &b, &mut y[1..]),
        yl,
        yl - 1,
    );
    assert!(y.iter().all(|&v| v == 7.0));
    let dy = vec![1.0; yl];
    let (mut gw, mut gb, mut dx) = (vec![7.0; w.len()], vec![7.0; c], vec![7.0; x.len()]);
    assert_length_error(
        kernels::depthwise_backward(&s, &x, &w, &dy[1..], &mut gw, &mut gb, Some(&mut dx)),
        yl,
        yl - 1,
    );
    assert_length_error(
        kernels::depthwise_backward(&s, &x, &w, &dy, &mut gw[1..], &mut gb, Some(&mut dx)),
        w.len(),
        w.len() - 1,
    );
    assert_length_error(
        kernels::depthwise_backward(&s, &x, &w, &dy, &mut gw, &mut gb[1..], Some(&mut dx)),
        3,
        2,
    );
    assert_length_error(
        scalar::depthwise_backward(&s, &x, &w, &dy, &mut gw, &mut gb, Some(&mut dx[1..])),
        x.len(),
        x.len() - 1,
    );
    assert!(
        gw.iter().chain(&gb).chain(&dx).all(|&v| v == 7.0),
        "written on error"
    );
}

#[test]
fn pooling_errors() {
    let s = shape(2, (4, 6), (3, 3), (2, 2), (2, 2), (0, 0));
    let x = vec![1.0; s.input_len()];
    let mut y = vec![7.0; s.output_elems()];
    let padded = shape(2, (4, 6), (3, 3), (2, 2), (2, 2), (1, 0));
    let padded_w = shape(2, (4, 6), (3, 3), (2, 2), (2, 2), (0, 1));
    for (bad, expected, found) in [
        (padded, 0, 1),
        (padded_w, 0, 1),
        (ConvShape { c_out: 2, ..s }, 3, 2),
        (ConvShape { sh: 0, ..s }, 1, 0),
    ] {
        let mut y = vec![7.0; bad.output_elems().min(1000)];
        let mut dx = vec![7.0; bad.input_len().min(1000)];
        assert_shape_error(kernels::max_pool_forward(&bad, &x, &mut y), expected, found);
        assert_shape_error(
            kernels::max_pool_backward(&bad, &x, &y.clone(), &mut dx),
            expected,
            found,
        );
        assert_shape_error(kernels::avg_pool_forward(&bad, &x, &mut y), expected, found);
        assert_shape_error(
            scalar::avg_pool_backward(&bad, &y.clone(), &mut dx),
            expected,
            found,
        );
        assert!(y.iter().chain(&dx).all(|&v| v == 7.0));
    }
    let (xl, yl) = (x.len(), y.len());
    assert_length_error(kernels::max_pool_forward(&s, &x[1..], &mut y), xl, xl - 1);
    assert_length_error(kernels::max_pool_forward(&s, &x, &mut y[1..]), yl, yl - 1);
    assert_length_error(kernels::avg_pool_forward(&s, &x, &mut y[1..]), yl, yl - 1);
    let dy = vec![1.0; yl];
    let mut dx = vec![7.0; xl];
    assert_length_error(
        kernels::max_pool_backward(&s, &x, &dy, &mut dx[1..]),
        xl,
        xl - 1,
    );
    assert_length_error(
        kernels::max_pool_backward(&s, &x, &dy[1..], &mut dx),
        yl,
        yl - 1,
    );
    assert_length_error(
        kernels::avg_pool_backward(&s, &dy[1..], &mut dx),
        yl,
        yl - 1,
    );
    assert_length_error(
        kernels::avg_pool_backward(&s, &dy, &mut dx[1..]),
        xl,
        xl - 1,
    );
    assert!(y.iter().chain(&dx).all(|&v| v == 7.0));
    // A max-pooling window whose taps do not fit a u32 (the batch is empty, so the
    // slices are too).
    if usize::BITS > 32 {
        let big = shape(
            0,
            (1 << 17, 1 << 16),
            (1, 1),
            (1 << 17, 1 << 16),
            (1, 1),
            (0, 0),
        );
        assert_shape_error(
            kernels::max_pool_forward(&big, &[], &mut []),
            u32::MAX as usize,
            1 << 33,
        );
        assert_shape_error(
            kernels::max_pool_backward(&big, &[], &[], &mut []),
            u32::MAX as usize,
            1 << 33,
        );
    }
}

#[test]
fn global_avg_pool_errors() {
    let mut y = [7.0; 6];
    assert_eq!(
        kernels::global_avg_pool_forward(2, 0, 3, &[], &mut y),
        Err(Error::Empty {
            what: "global average pooling positions"
        })
    );
    assert_length_error(
        kernels::global_avg_pool_forward(2, 4, 3, &[0.0; 23], &mut y),
        24,
        23,
    );
    assert_length_error(
        kernels::global_avg_pool_forward(2, 4, 3, &[0.0; 24], &mut y[1..]),
        6,
        5,
    );
    let mut dx = [7.0; 24];
    assert_length_error(
        kernels::global_avg_pool_backward(2, 4, 3, &[0.0; 6], &mut dx[1..]),
        24,
        23,
    );
    assert_length_error(
        scalar::global_avg_pool_backward(2, 4, 3, &[0.0; 5], &mut dx),
        6,
        5,
    );
    assert!(matches!(
        kernels::global_avg_pool_forward(usize::MAX, 2, 2, &[], &mut []),
        Err(Error::Shape { .. })
    ));
    assert!(y.iter().chain(&dx).all(|&v| v == 7.0));
}

#[test]
fn mul_add_length_errors() {
    let mut acc = [0.0; 3];
    assert_length_error(kernels::mul_add(&[1.0; 2], &[1.0; 3], &mut acc), 3, 2);
    assert_length_error(kernels::mul_add(&[1.0; 3], &[1.0; 4], &mut acc), 3, 4);
    assert_length_error(scalar::mul_add(&[1.0; 3], &[1.0; 4], &mut acc), 3, 4);
    assert_eq!(acc, [0.0; 3]);
}

/// The shapes of the sweeps cover what the issue asks for.
#[test]
fn the_sweeps_cover_the_asked_shapes() {
    let conv = conv_shapes();
    for k in KERNELS {
        for st in STRIDES {
            for p in PADS {
                assert!(conv
                    .iter()
                    .any(|s| (s.kh, s.sh, s.ph) == (k, st, p) && s.h > 1));
                assert!(conv
                    .iter()
                    .any(|s| (s.h, s.kw, s.sw, s.pw) == (1, k, st, p)));
            }
        }
    }
    for c in CHANNELS {
        for one_d in [false, true] {
            let of_kind = || {
                conv.iter()
                    .filter(move |s| (s.h == 1 && s.kh == 1) == one_d)
            };
            assert!(of_kind().any(|s| s.c_in == c), "c_in {c} 1-D {one_d}");
            assert!(of_kind().any(|s| s.c_out == c), "c_out {c} 1-D {one_d}");
        }
        assert!(pool_shapes().iter().any(|s| s.c_in == c));
    }
    for b in 1..=3 {
        assert!(conv.iter().any(|s| s.batch == b));
    }
    assert!(conv.iter().any(|s| s.h % 2 == 1 && s.w % 2 == 1 && s.h > 1));
    assert!(pool_shapes().iter().any(|s| s.sh < s.kh && s.sw < s.kw));
}

/// Empty batches and zero channels are valid shapes with nothing (or only the bias) to
/// compute: no kernel panics, and with `c_in = 0` a convolution's output is its bias.
#[test]
fn degenerate_shapes_do_not_panic() {
    for (batch, c_in, c_out) in [(0, 3, 4), (2, 0, 4), (2, 3, 0), (0, 0, 0)] {
        let s = shape(batch, (5, 4), (c_in, c_out), (3, 2), (2, 1), (1, 1));
        for simd in [true, false] {
            let o = operands("degenerate", &s, s.weight_len(), false);
            let y = run_forward(&conv2d(simd), &s, &o);
            if c_in == 0 {
                for (k, &v) in y.iter().enumerate() {
                    assert_eq!(v, o.bias[k % c_out], "{s:?}");
                }
            }
            let g = run_backward(&conv2d(simd), &s, &o);
            assert!(g.x.is_empty() || g.x.iter().all(|&v| v == 0.0), "{s:?}");
            let p = ConvShape { c_out: c_in, ..s };
            let o = operands("degenerate", &p, depthwise_weight_len(&p), false);
            run_forward(&depthwise(simd), &p, &o);
            run_backward(&depthwise(simd), &p, &o);
        }
        let p = shape(batch, (5, 4), (c_in, c_in), (3, 2), (2, 1), (0, 0));
        let x = vec![1.0; p.input_len()];
        let mut y = vec![0.0; p.output_elems()];
        let mut dx = vec![0.0; x.len()];
        kernels::max_pool_forward(&p, &x, &mut y).unwrap();
        kernels::max_pool_backward(&p, &x, &y.clone(), &mut dx).unwrap();
        kernels::avg_pool_forward(&p, &x, &mut y).unwrap();
        kernels::avg_pool_backward(&p, &y.clone(), &mut dx).unwrap();
    }
}
