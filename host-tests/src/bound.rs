//! Rounding-error bounds for `f32` computations, used as the tolerances of the
//! reference comparisons. No tolerance in these tests is a tuned constant: each one
//! is a bound that the kernel's arithmetic provably satisfies (given the stated
//! accuracy of `libm`), so a failure means a real defect, not an unlucky input.
//!
//! Notation (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §2–3):
//! `u = 2⁻²⁴` is the unit roundoff of `f32`; every `+ − × ÷` of finite `f32` values
//! gives `fl(x op y) = (x op y)(1 + δ) + η` with `|δ| ≤ u`, and `|η| ≤ 2⁻¹⁵⁰` only
//! when the result is subnormal (additions and subtractions of subnormals are exact,
//! so `η = 0` for them). `γₙ = n·u / (1 − n·u)` bounds `|∏(1 + δᵢ)^{±1} − 1|` over
//! `n` roundings.
//!
//! Sums of `n` terms: any order of evaluation of `Σ xᵢ` (sequential, pairwise, eight
//! lanes then a tree) is a binary tree of `n − 1` additions in which each term passes
//! through at most `n − 1` of them, so `|fl(Σ xᵢ) − Σ xᵢ| ≤ γ_{n−1}·Σ|xᵢ|`. A dot
//! product adds one rounding per product: `|fl(Σ xᵢyᵢ) − Σ xᵢyᵢ| ≤ γₙ·Σ|xᵢyᵢ|`
//! (Higham (3.5)), plus `n·2⁻¹⁵⁰` for products that underflow.

/// Unit roundoff of `f32`: `2⁻²⁴`.
pub const U: f64 = 1.0 / (1u64 << 24) as f64;
/// Unit roundoff of `f64`: `2⁻⁵³`.
pub const U64: f64 = 1.0 / (1u64 << 53) as f64;
/// Largest absolute error of rounding a product or quotient into the `f32` subnormal
/// range: half the smallest subnormal, `2⁻¹⁵⁰`.
pub const ETA: f64 = 1.0 / (1u128 << 100) as f64 / (1u64 << 50) as f64;
/// The smallest positive subnormal `f32`, `2⁻¹⁴⁹`: one ulp in the subnormal range.
pub const SUBNORMAL_ULP: f64 = 2.0 * ETA;

/// Accuracy assumed for `libm::expf`, in ulps of the result (FreeBSD `e_expf.c`: "the
/// error is always less than 1 ulp"). Checked by `math_shim_within_assumed_ulps`.
pub const EXP_ULPS: f64 = 1.0;
/// Accuracy assumed for `libm::logf`, in ulps (FreeBSD `e_logf.c`: less than 1 ulp).
pub const LN_ULPS: f64 = 1.0;
/// Accuracy assumed for `libm::tanhf`, in ulps (FreeBSD `s_tanhf.c`, built on
/// `expm1f`: we allow 2 ulps). Checked by `math_shim_within_assumed_ulps`.
pub const TANH_ULPS: f64 = 2.0;

/// `γₙ = n·u / (1 − n·u)` for unit roundoff `u`.
///
/// # Examples
///
/// ```
/// use host_tests::bound::{gamma, U};
/// assert!(gamma(1, U) > U && gamma(1, U) < 1.0000001 * U);
/// ```
pub fn gamma(n: usize, u: f64) -> f64 {
    let nu = n as f64 * u;
    assert!(nu < 0.5, "γ_{n} is not defined for this many roundings");
    nu / (1.0 - nu)
}

/// Bound on `|fl(c₀ + Σ aₖbₖ) − (c₀ + Σ aₖbₖ)|` for an `f32` dot product of `terms`
/// rounded products (`terms` = K for `C = A·B`, and K + 1 for `C += A·B`, treating `c₀`
/// as the product `c₀·1`) with `magnitude = |c₀| + Σ|aₖbₖ|`, computed in any order:
/// `γ_terms·magnitude + K·2⁻¹⁵⁰`. Adds the error of an `f64` reference computed by
/// the same kind of sum, `γ_terms(2⁻⁵³)·magnitude`.
///
/// # Examples
///
/// ```
/// use host_tests::bound::{dot_bound, U};
/// assert!(dot_bound(1, 1.0) > U);
/// ```
pub fn dot_bound(terms: usize, magnitude: f64) -> f64 {
    (gamma(terms, U) + gamma(terms, U64)) * magnitude + terms as f64 * ETA
}

/// Bound on the error of an `f32` sum of `n` exact terms in any order, against an
/// `f64` reference: `γ_{n−1}·Σ|xᵢ|` plus the reference's `γ_{n−1}(2⁻⁵³)·Σ|xᵢ|`.
pub fn sum_bound(n: usize, magnitude: f64) -> f64 {
    let adds = n.saturating_sub(1);
    (gamma(adds, U) + gamma(adds, U64)) * magnitude
}

/// Effective unit roundoff of one step of a [`Tracked`] evaluation: the `f32` rounding
/// `u` plus a generous `4·2⁻⁵³` for the `f64` arithmetic that computes the exact value
/// (so the `f64` rounding of the tracked "exact" values is inside the bound too).
const STEP_U: f64 = U + 4.0 * U64;

/// A number computed in `f32` by a known formula, described by the exact value `exact`
/// of the formula and a bound `err ≥ |computed − exact|`: running error analysis.
///
/// The operators `+ − × ÷` and unary `−` and the methods [`Tracked::exp`],
/// [`Tracked::ln`], [`Tracked::tanh`], [`Tracked::sum`] mirror the kernel's `f32`
/// evaluation step by step. Each operation takes operands that carry their own bounds, and returns the exact
/// result with the propagated bound plus the new rounding error. For `z = x̂ op ŷ`:
///
/// - `±`: `|x̂ ± ŷ − (x ± y)| ≤ eₓ + e_y`;
/// - `×`: `|x̂ŷ − xy| ≤ |x|e_y + |y|eₓ + eₓe_y`;
/// - `÷`: `|x̂/ŷ − x/y| ≤ (eₓ|y| + |x|e_y) / (|y|(|y| − e_y))` (needs `e_y < |y|`);
/// - `f` in libm with `k` ulps: `|f̂(x̂) − f(x)| ≤ L·eₓ + k·ulp`, `L = sup |f'|` on
///   `[x − eₓ, x + eₓ]`, `ulp ≤ 2u·|f(x̂)| + 2⁻¹⁴⁹`;
///
/// and then rounding adds `u·(|z| + e) + 2⁻¹⁵⁰`. These are rigorous (not first-order)
/// bounds, valid while nothing overflows, which every operation asserts.
///
/// # Examples
///
/// ```
/// use host_tests::bound::{Tracked, U};
/// // fl(fl(0.1·3) + 1): each rounding adds at most u·|result|.
/// let x = Tracked::input(0.1);
/// let y = x * Tracked::input(3.0) + Tracked::input(1.0);
/// assert!(y.err < 2.0 * U * 1.31);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Tracked {
    /// The exact value of the formula (up to `f64` rounding, covered by `err`).
    pub exact: f64,
    /// A bound on `|computed f32 value − exact|`.
    pub err: f64,
}

impl Tracked {
    /// An `f32` input: exact.
    pub fn input(x: f32) -> Self {
        Tracked {
            exact: f64::from(x),
            err: 0.0,
        }
    }

    /// An input known only up to `err` (for example the output of an earlier kernel).
    pub fn approx(exact: f64, err: f64) -> Self {
        Tracked { exact, err }
    }

    /// A mathematical constant that the kernel stores as an `f32`: the representation
    /// error `|f32(c) − c|` is its initial error.
    pub fn constant(exact: f64) -> Self {
        let stored = f64::from(exact as f32);
        Tracked {
            exact,
            err: (stored - exact).abs(),
        }
    }

    /// Rounds an operation whose unrounded result has exact value `z` and error `e`.
    fn rounded(z: f64, e: f64) -> Self {
        let err = e + STEP_U * (z.abs() + e) + ETA;
        assert!(
            z.abs() + err < f64::from(f32::MAX),
            "bound analysis invalid: the f32 evaluation may overflow ({z:e} ± {err:e})"
        );
        Tracked { exact: z, err }
    }

    /// `fl(Σ x̂ᵢ)` in any order: `|Σ x̂ᵢ − Σ xᵢ| ≤ Σ eᵢ`, and the `n − 1` roundings of
    /// any summation tree add at most `γ_{n−1}·Σ|x̂ᵢ| ≤ γ_{n−1}·Σ(|xᵢ| + eᵢ)`; the `f64`
    /// sum of the exact values errs by `γ_{n−1}(2⁻⁵³)·Σ|xᵢ|` more.
    ///
    /// # Examples
    ///
    /// ```
    /// use host_tests::bound::{Tracked, U};
    /// let s = Tracked::sum(&[Tracked::input(1.0), Tracked::input(2.0), Tracked::input(3.0)]);
    /// assert_eq!(s.exact, 6.0);
    /// assert!(s.err < 2.1 * U * 6.0);
    /// ```
    pub fn sum(terms: &[Tracked]) -> Self {
        let adds = terms.len().saturating_sub(1);
        let exact: f64 = terms.iter().map(|t| t.exact).sum();
        let propagated: f64 = terms.iter().map(|t| t.err).sum();
        let magnitude: f64 = terms.iter().map(|t| t.exact.abs() + t.err).sum();
        let err = propagated + (gamma(adds, U) + gamma(adds, U64)) * magnitude;
        assert!(
            exact.abs() + err < f64::from(f32::MAX),
            "bound analysis invalid: the f32 sum may overflow"
        );
        Tracked { exact, err }
    }

    /// A libm function `f` accurate to `ulps`, with exact value `f(x)` and Lipschitz
    /// constant `lipschitz` (a bound on `|f'|` over `[x − eₓ, x + eₓ]`).
    fn libm(self, fx: f64, lipschitz: f64, ulps: f64) -> Self {
        let propagated = lipschitz * self.err;
        let err = propagated
            + ulps * (2.0 * U * (fx.abs() + propagated) + SUBNORMAL_ULP)
            + 4.0 * U64 * fx.abs();
        Tracked { exact: fx, err }
    }

    /// `expf(x̂)`: `L = e^{x + eₓ}`.
    pub fn exp(self) -> Self {
        let lip = (self.exact + self.err).exp();
        self.libm(self.exact.exp(), lip, EXP_ULPS)
    }

    /// `logf(x̂)`: `L = 1 / (x − eₓ)`.
    pub fn ln(self) -> Self {
        let lo = self.exact - self.err;
        assert!(
            lo > 0.0,
            "bound analysis invalid: ln of a possibly non-positive value"
        );
        self.libm(self.exact.ln(), 1.0 / lo, LN_ULPS)
    }

    /// `tanhf(x̂)`: `L = sech²` at the point of `[x − eₓ, x + eₓ]` nearest to zero.
    pub fn tanh(self) -> Self {
        let nearest = (self.exact.abs() - self.err).max(0.0);
        let c = nearest.cosh();
        self.libm(self.exact.tanh(), 1.0 / (c * c), TANH_ULPS)
    }
}

/// The tolerance for comparing an `f32` result against an independent `f64`
/// reference, given the [`Tracked`] bound of the `f32` evaluation: the bound, widened
/// by `2⁻²⁰` relative to cover the reference's own `f64` error (each of its operations
/// errs `2²⁹` times less than the `f32` one that the bound already charges `u` for),
/// plus `2⁻⁴⁰·|reference|`.
pub fn against_reference(bound: Tracked, reference: f64) -> f64 {
    bound.err * (1.0 + 1.0 / (1u64 << 20) as f64) + reference.abs() / (1u64 << 40) as f64
}

/// `fl(x̂ + ŷ)`.
impl std::ops::Add for Tracked {
    type Output = Tracked;

    fn add(self, y: Tracked) -> Tracked {
        Tracked::rounded(self.exact + y.exact, self.err + y.err)
    }
}

/// `fl(x̂ − ŷ)`.
impl std::ops::Sub for Tracked {
    type Output = Tracked;

    fn sub(self, y: Tracked) -> Tracked {
        Tracked::rounded(self.exact - y.exact, self.err + y.err)
    }
}

/// `fl(x̂ · ŷ)`.
impl std::ops::Mul for Tracked {
    type Output = Tracked;

    fn mul(self, y: Tracked) -> Tracked {
        let e = self.exact.abs() * y.err + y.exact.abs() * self.err + self.err * y.err;
        Tracked::rounded(self.exact * y.exact, e)
    }
}

/// `fl(x̂ / ŷ)`.
impl std::ops::Div for Tracked {
    type Output = Tracked;

    fn div(self, y: Tracked) -> Tracked {
        let d = y.exact.abs();
        assert!(y.err < d, "bound analysis invalid: divisor may be zero");
        let e = (self.err * d + self.exact.abs() * y.err) / (d * (d - y.err));
        Tracked::rounded(self.exact / y.exact, e)
    }
}

/// `−x̂` (exact).
impl std::ops::Neg for Tracked {
    type Output = Tracked;

    fn neg(self) -> Tracked {
        Tracked {
            exact: -self.exact,
            err: self.err,
        }
    }
}
