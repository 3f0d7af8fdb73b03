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
