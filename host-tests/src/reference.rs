//! Independent `f64` references, written from the mathematical definitions.
//!
//! Every function takes the same `f32` inputs as the kernel it checks, widens them to
//! `f64` (exactly) and evaluates the definition in the most direct way, with none of
//! the kernels' blocking, lane splitting or branch structure. Widening makes the
//! references far more accurate than the kernels: a product of two widened `f32` is
//! exact in `f64` (24 + 24 ≤ 53 bits), and each further `f64` operation errs by at
//! most `2⁻⁵³` relative, `2²⁹` times less than the `f32` operation it mirrors.
//!
//! Matrices are row-major slices; a matrix of `r` rows and `c` columns has element
//! `(i, j)` at `i·c + j`.

// --- Matrix products ----------------------------------------------------------------

/// `C = A·B`, `C[i][j] = Σₖ A[i][k]·B[k][j]`, with `A: m × k`, `B: k × n`.
///
/// # Examples
///
/// ```
/// let c = host_tests::reference::matmul(&[1.0, 2.0], &[3.0, 4.0], 1, 2, 1);
/// assert_eq!(c, [11.0]);
/// ```
pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
    assert_eq!(a.len(), m * k, "A is not m × k");
    assert_eq!(b.len(), k * n, "B is not k × n");
    let mut c = vec![0.0f64; m * n];
    for (c_row, a_row) in c.chunks_exact_mut(n.max(1)).zip(a.chunks_exact(k.max(1))) {
        for (p, &a_ip) in a_row.iter().enumerate() {
            let b_row = &b[p * n..(p + 1) * n];
            for (c_ij, &b_pj) in c_row.iter_mut().zip(b_row) {
                *c_ij += f64::from(a_ip) * f64::from(b_pj);
            }
        }
    }
    c
}

/// `Mᵀ` of a row-major `rows × cols` matrix: `Mᵀ[j][i] = M[i][j]`.
///
/// # Examples
///
/// ```
/// let t = host_tests::reference::transpose(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
/// assert_eq!(t, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// ```
pub fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    assert_eq!(m.len(), rows * cols);
    let mut t = vec![0.0f32; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = m[i * cols + j];
        }
    }
    t
}

/// `C = A·Bᵀ` with `A: m × k`, `B: n × k`: the definition, by transposing `B`.
pub fn matmul_bt(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
    matmul(a, &transpose(b, n, k), m, k, n)
}

/// `C = Aᵀ·B` with `A: k × m`, `B: k × n`: the definition, by transposing `A`.
pub fn matmul_at(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
    matmul(&transpose(a, k, m), b, m, k, n)
}

// --- Activations ---------------------------------------------------------------------

/// `√(2/π)`, in `f64`.
pub const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of the GELU tanh approximation (Hendrycks & Gimpel 2016).
pub const GELU_CUBIC: f64 = 0.044_715;

/// `max(0, x)`.
pub fn relu(x: f32) -> f64 {
    f64::from(x).max(0.0)
}

/// `ReLU'(x)`: `1` for `x > 0`, `0` for `x ≤ 0` (PyTorch's choice at `0`).
pub fn relu_derivative(x: f32) -> f64 {
    if x > 0.0 {
        1.0
    } else {
        0.0
    }
}

/// `x` for `x > 0`, `slope·x` otherwise.
pub fn leaky_relu(x: f32, slope: f32) -> f64 {
    let x = f64::from(x);
    if x > 0.0 {
        x
    } else {
        f64::from(slope) * x
    }
}

/// `1` for `x > 0`, `slope` otherwise (PyTorch's choice at `0`).
pub fn leaky_relu_derivative(x: f32, slope: f32) -> f64 {
    if x > 0.0 {
        1.0
    } else {
        f64::from(slope)
    }
}

/// `σ(x) = 1 / (1 + e⁻ˣ)`; for `x < 0` as `eˣ / (1 + eˣ)`, the same number, so that
/// `e⁻ˣ` cannot overflow `f64` for very negative `x`.
pub fn sigmoid(x: f32) -> f64 {
    logistic(f64::from(x))
}

/// `σ'(x) = σ(x)·σ(−x)`, which equals `σ(1 − σ)` without the cancellation of `1 − σ`.
pub fn sigmoid_derivative(x: f32) -> f64 {
    sigmoid(x) * sigmoid(-x)
}

/// `tanh x`.
pub fn tanh(x: f32) -> f64 {
    f64::from(x).tanh()
}

/// `tanh'(x) = sech² x = 1 / cosh² x` (no cancellation, unlike `1 − tanh² x`).
pub fn tanh_derivative(x: f32) -> f64 {
    let c = f64::from(x).cosh();
    1.0 / (c * c)
}

/// The argument of `tanh` in GELU: `g(x) = √(2/π)·(x + 0.044715·x³)`.
fn gelu_inner(x: f64) -> f64 {
    SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)
}

/// GELU, tanh form: `½·x·(1 + tanh g(x))`, evaluated as `x·σ(2g)` (the identity
/// `½(1 + tanh g) = σ(2g)`), which stays accurate where `1 + tanh g` cancels
/// (`x < −3`) and is a different formula from the kernel's.
pub fn gelu(x: f32) -> f64 {
    let x = f64::from(x);
    x * logistic(2.0 * gelu_inner(x))
}

/// `d/dx ½x(1 + tanh g) = ½(1 + tanh g) + ½·x·sech² g · g'(x)` with
/// `g'(x) = √(2/π)·(1 + 3·0.044715·x²)`, using `½(1 + tanh g) = σ(2g)` and
/// `sech² g = 4·σ(2g)·σ(−2g)`.
pub fn gelu_derivative(x: f32) -> f64 {
    let x = f64::from(x);
    let g = gelu_inner(x);
    let (p, q) = (logistic(2.0 * g), logistic(-2.0 * g));
    let dg = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * x * x);
    p + 2.0 * x * p * q * dg
}

/// `σ(z) = 1 / (1 + e⁻ᶻ)` in `f64`, without overflow for either sign.
fn logistic(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        z.exp() / (1.0 + z.exp())
    }
}

// --- Softmax -------------------------------------------------------------------------

/// `softmax(x)ᵢ = e^{xᵢ} / Σⱼ e^{xⱼ}`, computed as `e^{xᵢ−m} / Σⱼ e^{xⱼ−m}` with
/// `m = maxⱼ xⱼ` (the same number; it keeps `f64` from overflowing for large `x`).
pub fn softmax(row: &[f32]) -> Vec<f64> {
    let m = row
        .iter()
        .map(|&v| f64::from(v))
        .fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = row.iter().map(|&v| (f64::from(v) - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// `log_softmax(x)ᵢ = xᵢ − ln Σⱼ e^{xⱼ} = (xᵢ − m) − ln Σⱼ e^{xⱼ−m}`.
pub fn log_softmax(row: &[f32]) -> Vec<f64> {
    let m = row
        .iter()
        .map(|&v| f64::from(v))
        .fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = row.iter().map(|&v| (f64::from(v) - m).exp()).sum();
    row.iter().map(|&v| (f64::from(v) - m) - s.ln()).collect()
}

// --- Vector operations ---------------------------------------------------------------

/// `y + α·x`, element by element.
pub fn axpy(alpha: f32, x: &[f32], y: &[f32]) -> Vec<f64> {
    x.iter()
        .zip(y)
        .map(|(&x, &y)| f64::from(y) + f64::from(alpha) * f64::from(x))
        .collect()
}

/// `α·x`, element by element.
pub fn scale(alpha: f32, x: &[f32]) -> Vec<f64> {
    x.iter().map(|&x| f64::from(alpha) * f64::from(x)).collect()
}

/// `y + x`, element by element.
pub fn add(x: &[f32], y: &[f32]) -> Vec<f64> {
    x.iter()
        .zip(y)
        .map(|(&x, &y)| f64::from(y) + f64::from(x))
        .collect()
}

/// `y ⊙ x`, element by element.
pub fn hadamard(x: &[f32], y: &[f32]) -> Vec<f64> {
    x.iter()
        .zip(y)
        .map(|(&x, &y)| f64::from(y) * f64::from(x))
        .collect()
}

/// `Σ xᵢ`.
pub fn sum(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v)).sum()
}

/// `Σ xᵢ·yᵢ`.
pub fn dot(x: &[f32], y: &[f32]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum()
}

/// `Σ xᵢ²`.
pub fn squared_norm(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

/// The largest element, `None` for an empty slice (inputs without NaN).
pub fn max(x: &[f32]) -> Option<f32> {
    x.iter().copied().reduce(|a, b| if b > a { b } else { a })
}

/// The smallest index `i` with `x[i] = max x` (inputs without NaN).
pub fn argmax(x: &[f32]) -> Option<usize> {
    let m = max(x)?;
    x.iter().position(|&v| v == m)
}

/// Element-wise absolute values, to compute the magnitudes `Σ|aₖ·bₖ|` that the error
/// bounds need by calling a reference on `|A|` and `|B|`.
pub fn abs(x: &[f32]) -> Vec<f32> {
    x.iter().map(|v| v.abs()).collect()
}

// --- Convolution and pooling ---------------------------------------------------------
//
// Channels-last: element (b, y, x, c) of a `batch × h × w × c` batch is at
// `((b·h + y)·w + x)·c`. Each reference loops over every output element and every tap of
// its window and reads the input pixel `(oh·sh + i − ph, ow·sw + j − pw)` directly, with
// signed arithmetic, skipping taps outside the input (they read a zero).

use microtrain::kernels::ConvShape;

/// The input pixel `(y, x)` that tap `(i, j)` of output pixel `(oh, ow)` reads, or
/// `None` for a tap in the zero padding.
fn tap(s: &ConvShape, oh: usize, ow: usize, i: usize, j: usize) -> Option<(usize, usize)> {
    let y = (oh * s.sh + i) as isize - s.ph as isize;
    let x = (ow * s.sw + j) as isize - s.pw as isize;
    let inside = (0..s.h as isize).contains(&y) && (0..s.w as isize).contains(&x);
    inside.then_some((y as usize, x as usize))
}

/// Index of element `(b, y, x, c)` of a channels-last batch of `h × w × channels`.
fn nhwc(h: usize, w: usize, channels: usize, b: usize, y: usize, x: usize, c: usize) -> usize {
    ((b * h + y) * w + x) * channels + c
}

/// Calls `f(b, oh, ow, i, j, y, x)` for every output pixel and every unpadded tap of its
/// window, `(y, x)` being the input pixel the tap reads.
fn for_each_tap(s: &ConvShape, mut f: impl FnMut(usize, usize, usize, usize, usize, usize, usize)) {
    for b in 0..s.batch {
        for oh in 0..s.ho {
            for ow in 0..s.wo {
                for i in 0..s.kh {
                    for j in 0..s.kw {
                        if let Some((y, x)) = tap(s, oh, ow, i, j) {
                            f(b, oh, ow, i, j, y, x);
                        }
                    }
                }
            }
        }
    }
}

/// 2-D convolution: `y[b,oh,ow,o] = bias[o] + Σ_{i,j,ci} w[o][i][j][ci]·x[b, oh·sh+i−ph,
/// ow·sw+j−pw, ci]`, padded taps reading zero; `w` is `c_out × kh × kw × c_in`.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::ConvShape;
/// let s = ConvShape { batch: 1, h: 1, w: 2, c_in: 1, ho: 1, wo: 1, c_out: 1,
///     kh: 1, kw: 2, sh: 1, sw: 1, ph: 0, pw: 0 };
/// assert_eq!(host_tests::reference::conv2d(&s, &[3.0, 4.0], &[1.0, 2.0], &[0.5]), [11.5]);
/// ```
pub fn conv2d<T: Copy + Into<f64>>(s: &ConvShape, x: &[T], w: &[T], bias: &[T]) -> Vec<f64> {
    let (ci_n, co_n) = (s.c_in, s.c_out);
    let mut y = vec![0.0f64; s.batch * s.ho * s.wo * co_n];
    for b in 0..s.batch {
        for oh in 0..s.ho {
            for ow in 0..s.wo {
                for o in 0..co_n {
                    y[nhwc(s.ho, s.wo, co_n, b, oh, ow, o)] = bias[o].into();
                }
            }
        }
    }
    for_each_tap(s, |b, oh, ow, i, j, yy, xx| {
        for o in 0..co_n {
            for ci in 0..ci_n {
                let wv = w[((o * s.kh + i) * s.kw + j) * ci_n + ci];
                let xv = x[nhwc(s.h, s.w, ci_n, b, yy, xx, ci)];
                y[nhwc(s.ho, s.wo, co_n, b, oh, ow, o)] += wv.into() * xv.into();
            }
        }
    });
    y
}

/// `∂J/∂w[o][i][j][ci] = Σ_{b,oh,ow} dy[b,oh,ow,o]·x[b, oh·sh+i−ph, ow·sw+j−pw, ci]`.
pub fn conv2d_weight_grad(s: &ConvShape, x: &[f32], dy: &[f32]) -> Vec<f64> {
    let (ci_n, co_n) = (s.c_in, s.c_out);
    let mut g = vec![0.0f64; co_n * s.kh * s.kw * ci_n];
    for_each_tap(s, |b, oh, ow, i, j, yy, xx| {
        for o in 0..co_n {
            for ci in 0..ci_n {
                let d = dy[nhwc(s.ho, s.wo, co_n, b, oh, ow, o)];
                let xv = x[nhwc(s.h, s.w, ci_n, b, yy, xx, ci)];
                g[((o * s.kh + i) * s.kw + j) * ci_n + ci] += f64::from(d) * f64::from(xv);
            }
        }
    });
    g
}

/// `∂J/∂bias[o] = Σ_{b,oh,ow} dy[b,oh,ow,o]` (also the bias gradient of depthwise
/// convolution, with `c_out = c_in`).
pub fn conv2d_bias_grad(s: &ConvShape, dy: &[f32]) -> Vec<f64> {
    let mut g = vec![0.0f64; s.c_out];
    for (k, &d) in dy.iter().enumerate() {
        g[k % s.c_out] += f64::from(d);
    }
    g
}

/// `∂J/∂x[b,y,x,ci] = Σ dy[b,oh,ow,o]·w[o][i][j][ci]` over the taps that read `(y, x)`:
/// the adjoint of [`conv2d`] in `x`.
pub fn conv2d_input_grad(s: &ConvShape, w: &[f32], dy: &[f32]) -> Vec<f64> {
    let (ci_n, co_n) = (s.c_in, s.c_out);
    let mut dx = vec![0.0f64; s.batch * s.h * s.w * ci_n];
    for_each_tap(s, |b, oh, ow, i, j, yy, xx| {
        for o in 0..co_n {
            for ci in 0..ci_n {
                let d = dy[nhwc(s.ho, s.wo, co_n, b, oh, ow, o)];
                let wv = w[((o * s.kh + i) * s.kw + j) * ci_n + ci];
                dx[nhwc(s.h, s.w, ci_n, b, yy, xx, ci)] += f64::from(d) * f64::from(wv);
            }
        }
    });
    dx
}

/// Depthwise convolution: `y[b,oh,ow,c] = bias[c] + Σ_{i,j} w[i][j][c]·x[b, oh·sh+i−ph,
/// ow·sw+j−pw, c]`; `w` is `kh × kw × c`.
pub fn depthwise<T: Copy + Into<f64>>(s: &ConvShape, x: &[T], w: &[T], bias: &[T]) -> Vec<f64> {
    let c_n = s.c_in;
    let mut y = vec![0.0f64; s.batch * s.ho * s.wo * c_n];
    for (k, v) in y.iter_mut().enumerate() {
        *v = bias[k % c_n].into();
    }
    for_each_tap(s, |b, oh, ow, i, j, yy, xx| {
        for c in 0..c_n {
            let wv = w[(i * s.kw + j) * c_n + c];
            let xv = x[nhwc(s.h, s.w, c_n, b, yy, xx, c)];
            y[nhwc(s.ho, s.wo, c_n, b, oh, ow, c)] += wv.into() * xv.into();
        }
    });
    y
}

/// `∂J/∂w[i][j][c] = Σ_{b,oh,ow} dy[b,oh,ow,c]·x[b, oh·sh+i−ph, ow·sw+j−pw, c]`.
pub fn depthwise_weight_grad(s: &ConvShape, x: &[f32], dy: &[f32]) -> Vec<f64> {
    let c_n = s.c_in;
    let mut g = vec![0.0f64; s.kh * s.kw * c_n];
    for_each_tap(s, |b, oh, ow, i, j, yy, xx| {
        for c in 0..c_n {
            let d = dy[nhwc(s.ho, s.wo, c_n, b, oh, ow, c)];
            let xv = x[nhwc(s.h, s.w, c_n, b, yy, xx, c)];
            g[(i * s.kw + j) * c_n + c] += f64::from(d) * f64::from(xv);
        }
    });
    g
}

/// `∂J/∂x[b,y,x,c] = Σ dy[b,oh,ow,c]·w[i][j][c]` over the taps that read `(y, x)`.
pub fn depthwise_input_grad(s: &ConvShape, w: &[f32], dy: &[f32]) -> Vec<f64> {
    let c_n = s.c_in;
    let mut dx = vec![0.0f64; s.batch * s.h * s.w * c_n];
    for_each_tap(s, |b, oh, ow, i, j, yy, xx| {
        for c in 0..c_n {
            let d = dy[nhwc(s.ho, s.wo, c_n, b, oh, ow, c)];
            let wv = w[(i * s.kw + j) * c_n + c];
            dx[nhwc(s.h, s.w, c_n, b, yy, xx, c)] += f64::from(d) * f64::from(wv);
        }
    });
    dx
}

/// The values of the window of output element `(b, oh, ow, c)` in scan order, with
/// the input index each came from (pooling: no padding).
fn window<T: Copy>(
    s: &ConvShape,
    x: &[T],
    b: usize,
    oh: usize,
    ow: usize,
    c: usize,
) -> Vec<(T, usize)> {
    let mut v = Vec::new();
    for i in 0..s.kh {
        for j in 0..s.kw {
            let (yy, xx) = tap(s, oh, ow, i, j).expect("pooling has no padding");
            let at = nhwc(s.h, s.w, s.c_in, b, yy, xx, c);
            v.push((x[at], at));
        }
    }
    v
}

/// Calls `f(output index, b, oh, ow, c)` for every output element of a pooling shape.
fn for_each_output(s: &ConvShape, mut f: impl FnMut(usize, usize, usize, usize, usize)) {
    for b in 0..s.batch {
        for oh in 0..s.ho {
            for ow in 0..s.wo {
                for c in 0..s.c_out {
                    f(nhwc(s.ho, s.wo, s.c_out, b, oh, ow, c), b, oh, ow, c);
                }
            }
        }
    }
}

/// Max pooling of inputs without NaN: the largest value of each window.
pub fn max_pool<T: Copy + PartialOrd>(s: &ConvShape, x: &[T]) -> Vec<T> {
    let mut y = Vec::with_capacity(s.batch * s.ho * s.wo * s.c_out);
    for_each_output(s, |_, b, oh, ow, c| {
        let win = window(s, x, b, oh, ow, c).into_iter().map(|v| v.0);
        y.push(
            win.reduce(|a, v| if v > a { v } else { a })
                .expect("a window has at least one tap"),
        );
    });
    y
}

/// The max-pooling gradient (inputs without NaN): `dy` of each output goes to the
/// first input of its window, in scan order, that equals the window's maximum.
pub fn max_pool_grad(s: &ConvShape, x: &[f32], dy: &[f32]) -> Vec<f64> {
    let mut dx = vec![0.0f64; x.len()];
    for_each_output(s, |at, b, oh, ow, c| {
        let win = window(s, x, b, oh, ow, c);
        let values: Vec<f32> = win.iter().map(|v| v.0).collect();
        let first = argmax(&values).expect("a window has at least one tap");
        dx[win[first].1] += f64::from(dy[at]);
    });
    dx
}

/// Average pooling: the mean of each window (`kh·kw` values).
pub fn avg_pool<T: Copy + Into<f64>>(s: &ConvShape, x: &[T]) -> Vec<f64> {
    let mut y = vec![0.0f64; s.batch * s.ho * s.wo * s.c_out];
    for_each_output(s, |at, b, oh, ow, c| {
        let win = window(s, x, b, oh, ow, c);
        y[at] = win.iter().map(|v| v.0.into()).sum::<f64>() / win.len() as f64;
    });
    y
}

/// The average-pooling gradient: each input receives `dy / (kh·kw)` from every window
/// it is in.
pub fn avg_pool_grad(s: &ConvShape, dy: &[f32]) -> Vec<f64> {
    let mut dx = vec![0.0f64; s.batch * s.h * s.w * s.c_in];
    let taps = (s.kh * s.kw) as f64;
    let x_index: Vec<f32> = (0..dx.len()).map(|_| 0.0).collect();
    for_each_output(s, |at, b, oh, ow, c| {
        for (_, q) in window(s, &x_index, b, oh, ow, c) {
            dx[q] += f64::from(dy[at]) / taps;
        }
    });
    dx
}

/// Global average pooling of `batch × positions × channels`: the mean over positions.
pub fn global_avg_pool<T: Copy + Into<f64>>(
    batch: usize,
    positions: usize,
    channels: usize,
    x: &[T],
) -> Vec<f64> {
    let mut y = vec![0.0f64; batch * channels];
    for b in 0..batch {
        for c in 0..channels {
            let total: f64 = (0..positions)
                .map(|p| x[(b * positions + p) * channels + c].into())
                .sum();
            y[b * channels + c] = total / positions as f64;
        }
    }
    y
}
