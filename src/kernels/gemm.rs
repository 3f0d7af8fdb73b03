//! The three matrix products that training needs, with and without accumulation.
//!
//! With `C: M × N`, every product computes, for each element,
//!
//! ```text
//! C[i][j] = ((((c₀ + p₀) + p₁) + p₂) + … + p_{K−1}),   p_k = a(i, k) · b(k, j)
//! ```
//!
//! where `c₀` is `+0.0` for [`Accumulate::Overwrite`] and the old `C[i][j]` for
//! [`Accumulate::Add`], every product `p_k` is rounded to `f32` before it is added, and
//! the sum runs over `k` in increasing order. That is the canonical evaluation order:
//! the SIMD path vectorises across `j` (sixteen columns of `C` at a time), so each
//! lane performs exactly the scalar sequence above and the two paths agree bit for bit.
//! No fused multiply-add is used.
//!
//! | function       | `a(i, k)`     | `b(k, j)`     | PyTorch          |
//! |----------------|---------------|---------------|------------------|
//! | [`matmul`]     | `A[i][k]`     | `B[k][j]`     | `a @ b`          |
//! | [`matmul_bt`]  | `A[i][k]`     | `B[j][k]`     | `a @ b.T`        |
//! | [`matmul_at`]  | `A[k][i]`     | `B[k][j]`     | `a.T @ b`        |
//!
//! Blocking: `C` is cut into column panels of [`NR`] columns; `k` into chunks of
//! [`KC`]. For each (panel, chunk) the needed part of `B` is packed once into a
//! `KC × NR` buffer on the stack (4 KiB at most), then every block of `MR` rows of `C`
//! is updated from it with `MR × NR` accumulators held in registers. Storing `C` between
//! chunks and loading it again is exact, so chunking does not change the result.

use super::{Accumulate, Path};
use crate::{Error, MatMut, MatRef};
use wide::f32x16;

/// Columns of `C` per SIMD panel: one 16-lane vector.
pub const NR: usize = 16;
/// Values of `k` per packed chunk of `B`.
pub const KC: usize = 64;
/// Rows of `C` per register tile.
const MR: usize = 4;

/// Where the `B` operand keeps element `b(k, j)`.
#[derive(Clone, Copy)]
enum BLayout {
    /// `B[k][j]`: `B` is `K × N`.
    Rows,
    /// `B[j][k]`: `B` is `N × K` (the product uses `Bᵀ`).
    Transposed,
}

/// Where the `A` operand keeps element `a(i, k)`.
#[derive(Clone, Copy)]
enum ALayout {
    /// `A[i][k]`: `A` is `M × K`.
    Rows,
    /// `A[k][i]`: `A` is `K × M` (the product uses `Aᵀ`).
    Transposed,
}

/// `C (+)= A · B` with `A: M × K`, `B: K × N`, `C: M × N`, in the canonical order of
/// the module documentation (PyTorch: `c = a @ b`, or `c += a @ b`).
///
/// # Errors
///
/// [`Error::Shape`] if the dimensions of the three views disagree.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{matmul, Accumulate};
/// use microtrain::{MatMut, MatRef};
/// let a = [1.0, 2.0, 3.0, 4.0]; // 2 × 2
/// let b = [1.0, 0.0, 0.0, 1.0]; // identity
/// let mut c = [0.0; 4];
/// matmul(MatMut::new(&mut c, 2, 2)?, MatRef::new(&a, 2, 2)?, MatRef::new(&b, 2, 2)?, Accumulate::Overwrite)?;
/// assert_eq!(c, a);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn matmul(c: MatMut<'_>, a: MatRef<'_>, b: MatRef<'_>, mode: Accumulate) -> Result<(), Error> {
    matmul_on(Path::DEFAULT, c, a, b, mode)
}

/// [`matmul`] on the chosen path.
pub(crate) fn matmul_on(
    path: Path,
    c: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    mode: Accumulate,
) -> Result<(), Error> {
    let (m, k, n) = check(&c, (a.rows(), a.cols()), (b.rows(), b.cols()), "A·B")?;
    run(
        path,
        c,
        a.as_slice(),
        ALayout::Rows,
        b.as_slice(),
        BLayout::Rows,
        m,
        k,
        n,
        mode,
    );
    Ok(())
}

/// `C (+)= A · Bᵀ` with `A: M × K`, `B: N × K`, `C: M × N` (PyTorch: `a @ b.T`).
///
/// # Errors
///
/// [`Error::Shape`] if the dimensions of the three views disagree.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{matmul_bt, Accumulate};
/// use microtrain::{MatMut, MatRef};
/// let a = [1.0, 2.0]; // 1 × 2
/// let b = [3.0, 4.0, 5.0, 6.0]; // 2 × 2, used transposed
/// let mut c = [0.0; 2];
/// matmul_bt(MatMut::new(&mut c, 1, 2)?, MatRef::new(&a, 1, 2)?, MatRef::new(&b, 2, 2)?, Accumulate::Overwrite)?;
/// assert_eq!(c, [11.0, 17.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn matmul_bt(
    c: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    mode: Accumulate,
) -> Result<(), Error> {
    matmul_bt_on(Path::DEFAULT, c, a, b, mode)
}

/// [`matmul_bt`] on the chosen path.
pub(crate) fn matmul_bt_on(
    path: Path,
    c: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    mode: Accumulate,
) -> Result<(), Error> {
    let (m, k, n) = check(&c, (a.rows(), a.cols()), (b.cols(), b.rows()), "A·Bᵀ")?;
    run(
        path,
        c,
        a.as_slice(),
        ALayout::Rows,
        b.as_slice(),
        BLayout::Transposed,
        m,
        k,
        n,
        mode,
    );
    Ok(())
}

/// `C (+)= Aᵀ · B` with `A: K × M`, `B: K × N`, `C: M × N` (PyTorch: `a.T @ b`).
///
/// # Errors
///
/// [`Error::Shape`] if the dimensions of the three views disagree.
///
/// # Examples
///
/// ```
/// use microtrain::kernels::{matmul_at, Accumulate};
/// use microtrain::{MatMut, MatRef};
/// let a = [1.0, 2.0]; // 2 × 1, used transposed
/// let b = [3.0, 4.0]; // 2 × 1
/// let mut c = [1.0];
/// matmul_at(MatMut::new(&mut c, 1, 1)?, MatRef::new(&a, 2, 1)?, MatRef::new(&b, 2, 1)?, Accumulate::Add)?;
/// assert_eq!(c, [12.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
pub fn matmul_at(
    c: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    mode: Accumulate,
) -> Result<(), Error> {
    matmul_at_on(Path::DEFAULT, c, a, b, mode)
}

/// [`matmul_at`] on the chosen path.
pub(crate) fn matmul_at_on(
    path: Path,
    c: MatMut<'_>,
    a: MatRef<'_>,
    b: MatRef<'_>,
    mode: Accumulate,
) -> Result<(), Error> {
    let (m, k, n) = check(&c, (a.cols(), a.rows()), (b.rows(), b.cols()), "Aᵀ·B")?;
    run(
        path,
        c,
        a.as_slice(),
        ALayout::Transposed,
        b.as_slice(),
        BLayout::Rows,
        m,
        k,
        n,
        mode,
    );
    Ok(())
}

/// Checks `C: M × N`, `op(A): M × K`, `op(B): K × N` and returns `(M, K, N)`.
fn check(
    c: &MatMut<'_>,
    (am, ak): (usize, usize),
    (bk, bn): (usize, usize),
    what: &'static str,
) -> Result<(usize, usize, usize), Error> {
    let dims = [
        (am, c.rows(), "rows of C"),
        (bn, c.cols(), "columns of C"),
        (ak, bk, "inner dimension"),
    ];
    for (expected, found, _) in dims {
        if expected != found {
            return Err(Error::Shape {
                what,
                expected,
                found,
            });
        }
    }
    Ok((am, ak, bn))
}

#[allow(clippy::too_many_arguments)]
fn run(
    path: Path,
    mut c: MatMut<'_>,
    a: &[f32],
    al: ALayout,
    b: &[f32],
    bl: BLayout,
    m: usize,
    k: usize,
    n: usize,
    mode: Accumulate,
) {
    let c = c.as_mut_slice();
    match path {
        Path::Scalar => scalar(c, a, al, b, bl, m, k, n, mode),
        Path::Simd => simd(c, a, al, b, bl, m, k, n, mode),
    }
}

/// The scalar path: the canonical order written as three loops.
#[allow(clippy::too_many_arguments)]
fn scalar(
    c: &mut [f32],
    a: &[f32],
    al: ALayout,
    b: &[f32],
    bl: BLayout,
    m: usize,
    k: usize,
    n: usize,
    mode: Accumulate,
) {
    for i in 0..m {
        for j in 0..n {
            let mut sum = match mode {
                Accumulate::Overwrite => 0.0,
                Accumulate::Add => c[i * n + j],
            };
            for kk in 0..k {
                let x = match al {
                    ALayout::Rows => a[i * k + kk],
                    ALayout::Transposed => a[kk * m + i],
                };
                let y = match bl {
                    BLayout::Rows => b[kk * n + j],
                    BLayout::Transposed => b[j * k + kk],
                };
                sum += x * y;
            }
            c[i * n + j] = sum;
        }
    }
}

/// The SIMD path: packed `B` panels, `MR × NR` register tiles.
#[allow(clippy::too_many_arguments)]
fn simd(
    c: &mut [f32],
    a: &[f32],
    al: ALayout,
    b: &[f32],
    bl: BLayout,
    m: usize,
    k: usize,
    n: usize,
    mode: Accumulate,
) {
    let mut panel = [f32x16::ZERO; KC];
    // Column panels of C.
    for j0 in (0..n).step_by(NR) {
        let nc = NR.min(n - j0);
        if k == 0 && matches!(mode, Accumulate::Overwrite) {
            for row in c.chunks_exact_mut(n) {
                row[j0..j0 + nc].fill(0.0);
            }
            continue;
        }
        // Chunks of k; the first chunk starts from zero or from C, later ones from C.
        for k0 in (0..k).step_by(KC) {
            let kc = KC.min(k - k0);
            pack_b(&mut panel[..kc], b, bl, k, n, k0, j0, nc);
            let from_c = k0 > 0 || matches!(mode, Accumulate::Add);
            let panel = &panel[..kc];
            // Row blocks of C.
            let mut i0 = 0;
            while i0 + MR <= m {
                tile::<MR>(c, n, i0, j0, nc, a, al, m, k, k0, panel, from_c);
                i0 += MR;
            }
            while i0 < m {
                tile::<1>(c, n, i0, j0, nc, a, al, m, k, k0, panel, from_c);
                i0 += 1;
            }
        }
    }
}

/// Packs `b(k0 + kk, j0 + l)` for `kk < panel.len()`, `l < nc` into `panel[kk]` lane
/// `l`; lanes `l ≥ nc` are zero.
#[allow(clippy::too_many_arguments)]
fn pack_b(
    panel: &mut [f32x16],
    b: &[f32],
    bl: BLayout,
    k: usize,
    n: usize,
    k0: usize,
    j0: usize,
    nc: usize,
) {
    match bl {
        BLayout::Rows => {
            for (kk, v) in panel.iter_mut().enumerate() {
                let start = (k0 + kk) * n + j0;
                *v = load(&b[start..start + nc]);
            }
        }
        BLayout::Transposed => {
            let kc = panel.len();
            if nc < NR {
                panel.fill(f32x16::ZERO);
            }
            for l in 0..nc {
                let start = (j0 + l) * k + k0;
                for (v, &x) in panel.iter_mut().zip(&b[start..start + kc]) {
                    v.as_mut_array()[l] = x;
                }
            }
        }
    }
}

/// Loads up to `NR` values, zero-filling the remaining lanes.
#[inline(always)]
fn load(src: &[f32]) -> f32x16 {
    if src.len() == NR {
        f32x16::from(src)
    } else {
        let mut lanes = [0.0f32; NR];
        lanes[..src.len()].copy_from_slice(src);
        f32x16::new(lanes)
    }
}

/// Stores the first `dst.len()` lanes of `v`.
#[inline(always)]
fn store(dst: &mut [f32], v: f32x16) {
    let lanes = v.to_array();
    dst.copy_from_slice(&lanes[..dst.len()]);
}

/// Updates rows `i0 .. i0 + R`, columns `j0 .. j0 + nc` of `C` with `k0 .. k0 + kc`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tile<const R: usize>(
    c: &mut [f32],
    n: usize,
    i0: usize,
    j0: usize,
    nc: usize,
    a: &[f32],
    al: ALayout,
    m: usize,
    k: usize,
    k0: usize,
    panel: &[f32x16],
    from_c: bool,
) {
    let mut acc = [f32x16::ZERO; R];
    if from_c {
        for (r, v) in acc.iter_mut().enumerate() {
            let start = (i0 + r) * n + j0;
            *v = load(&c[start..start + nc]);
        }
    }
    let kc = panel.len();
    match al {
        ALayout::Rows => {
            let rows: [&[f32]; R] = core::array::from_fn(|r| {
                let start = (i0 + r) * k + k0;
                &a[start..start + kc]
            });
            for (kk, bv) in panel.iter().enumerate() {
                for r in 0..R {
                    acc[r] += f32x16::splat(rows[r][kk]) * *bv;
                }
            }
        }
        ALayout::Transposed => {
            for (kk, bv) in panel.iter().enumerate() {
                let start = (k0 + kk) * m + i0;
                let col = &a[start..start + R];
                for r in 0..R {
                    acc[r] += f32x16::splat(col[r]) * *bv;
                }
            }
        }
    }
    for (r, v) in acc.iter().enumerate() {
        let start = (i0 + r) * n + j0;
        store(&mut c[start..start + nc], *v);
    }
}
