//! Fixed-size storage: vectors, matrices and batches whose dimensions are const
//! generics, plus borrowed views that the kernels take.
//!
//! The typed containers ([`Vector`], [`Matrix`], [`Batch`]) carry their shape in the
//! type, so a product of mismatched shapes does not compile. The views ([`MatRef`],
//! [`MatMut`]) carry their shape at run time, so that one kernel body serves every
//! shape instead of being compiled again for each.

use crate::kernels::{self, Accumulate};
use crate::Error;

/// A vector of `N` `f32` values.
///
/// # Examples
///
/// ```
/// use microtrain::Vector;
/// static BIAS: Vector<4> = Vector::zeros();
/// assert_eq!(BIAS.as_slice(), &[0.0; 4]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
pub struct Vector<const N: usize>(pub [f32; N]);

impl<const N: usize> Vector<N> {
    /// The number of elements.
    ///
    /// ```
    /// assert_eq!(microtrain::Vector::<5>::LEN, 5);
    /// ```
    pub const LEN: usize = N;

    /// A vector of zeros, usable in a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Vector;
    /// assert_eq!(Vector::<3>::zeros().0, [0.0; 3]);
    /// ```
    pub const fn zeros() -> Self {
        Vector([0.0; N])
    }

    /// The elements as a slice.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Vector;
    /// assert_eq!(Vector([1.0, 2.0]).as_slice(), &[1.0, 2.0]);
    /// ```
    pub const fn as_slice(&self) -> &[f32] {
        &self.0
    }

    /// The elements as a mutable slice.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Vector;
    /// let mut v = Vector([1.0, 2.0]);
    /// v.as_mut_slice()[1] = 5.0;
    /// assert_eq!(v.0, [1.0, 5.0]);
    /// ```
    pub const fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl<const N: usize> Default for Vector<N> {
    fn default() -> Self {
        Self::zeros()
    }
}

/// A row-major `R × C` matrix of `f32`.
///
/// Row `r` is `self.0[r]`; element `(r, c)` is `self.0[r][c]`.
///
/// # Examples
///
/// ```
/// use microtrain::{Accumulate, Matrix};
/// let a = Matrix([[1.0, 2.0], [3.0, 4.0]]);
/// let b = Matrix([[5.0], [6.0]]);
/// let mut c = Matrix::<2, 1>::zeros();
/// c.set_product(&a, &b, Accumulate::Overwrite);
/// assert_eq!(c.0, [[17.0], [39.0]]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
pub struct Matrix<const R: usize, const C: usize>(pub [[f32; C]; R]);

/// A batch of `B` samples of `N` features each: one sample per row.
///
/// # Examples
///
/// ```
/// use microtrain::Batch;
/// let x: Batch<2, 3> = Batch::zeros();
/// assert_eq!(x.row(1), &[0.0; 3]);
/// ```
pub type Batch<const B: usize, const N: usize> = Matrix<B, N>;

impl<const R: usize, const C: usize> Default for Matrix<R, C> {
    fn default() -> Self {
        Self::zeros()
    }
}

impl<const R: usize, const C: usize> Matrix<R, C> {
    /// Number of rows.
    ///
    /// ```
    /// assert_eq!(microtrain::Matrix::<2, 3>::ROWS, 2);
    /// ```
    pub const ROWS: usize = R;
    /// Number of columns.
    ///
    /// ```
    /// assert_eq!(microtrain::Matrix::<2, 3>::COLS, 3);
    /// ```
    pub const COLS: usize = C;

    /// A matrix of zeros, usable in a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Matrix;
    /// static W: Matrix<2, 3> = Matrix::zeros();
    /// assert_eq!(W.as_slice().len(), 6);
    /// ```
    pub const fn zeros() -> Self {
        Matrix([[0.0; C]; R])
    }

    /// All elements, row after row.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Matrix;
    /// assert_eq!(Matrix([[1.0, 2.0], [3.0, 4.0]]).as_slice(), &[1.0, 2.0, 3.0, 4.0]);
    /// ```
    pub const fn as_slice(&self) -> &[f32] {
        self.0.as_flattened()
    }

    /// All elements, row after row, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Matrix;
    /// let mut m = Matrix::<2, 2>::zeros();
    /// m.as_mut_slice()[3] = 1.0;
    /// assert_eq!(m.0[1][1], 1.0);
    /// ```
    pub const fn as_mut_slice(&mut self) -> &mut [f32] {
        self.0.as_flattened_mut()
    }

    /// Row `r`. Panics if `r >= R`, like slice indexing.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Matrix;
    /// assert_eq!(Matrix([[1.0], [2.0]]).row(1), &[2.0]);
    /// ```
    pub const fn row(&self, r: usize) -> &[f32; C] {
        &self.0[r]
    }

    /// A shape-carrying view for the kernels.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Matrix;
    /// let m = Matrix::<2, 3>::zeros();
    /// assert_eq!((m.view().rows(), m.view().cols()), (2, 3));
    /// ```
    pub const fn view(&self) -> MatRef<'_> {
        MatRef {
            data: self.0.as_flattened(),
            rows: R,
            cols: C,
        }
    }

    /// A mutable shape-carrying view for the kernels.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Matrix;
    /// let mut m = Matrix::<2, 3>::zeros();
    /// m.view_mut().as_mut_slice()[0] = 1.0;
    /// assert_eq!(m.0[0][0], 1.0);
    /// ```
    pub const fn view_mut(&mut self) -> MatMut<'_> {
        MatMut {
            data: self.0.as_flattened_mut(),
            rows: R,
            cols: C,
        }
    }

    /// `self (+)= a · b` with `a: R × K`, `b: K × C`; see [`kernels::matmul`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{Accumulate, Matrix};
    /// let mut c = Matrix([[1.0]]);
    /// c.set_product(&Matrix([[2.0, 3.0]]), &Matrix([[4.0], [5.0]]), Accumulate::Add);
    /// assert_eq!(c.0, [[24.0]]);
    /// ```
    pub fn set_product<const K: usize>(
        &mut self,
        a: &Matrix<R, K>,
        b: &Matrix<K, C>,
        mode: Accumulate,
    ) {
        let done = kernels::matmul(self.view_mut(), a.view(), b.view(), mode);
        debug_assert!(done.is_ok(), "shapes are checked by the types");
    }

    /// `self (+)= a · bᵀ` with `a: R × K`, `b: C × K`; see [`kernels::matmul_bt`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{Accumulate, Matrix};
    /// let mut c = Matrix::<1, 1>::zeros();
    /// c.set_product_bt(&Matrix([[2.0, 3.0]]), &Matrix([[4.0, 5.0]]), Accumulate::Overwrite);
    /// assert_eq!(c.0, [[23.0]]);
    /// ```
    pub fn set_product_bt<const K: usize>(
        &mut self,
        a: &Matrix<R, K>,
        b: &Matrix<C, K>,
        mode: Accumulate,
    ) {
        let done = kernels::matmul_bt(self.view_mut(), a.view(), b.view(), mode);
        debug_assert!(done.is_ok(), "shapes are checked by the types");
    }

    /// `self (+)= aᵀ · b` with `a: K × R`, `b: K × C`; see [`kernels::matmul_at`].
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::{Accumulate, Matrix};
    /// let mut c = Matrix::<1, 1>::zeros();
    /// c.set_product_at(&Matrix([[2.0], [3.0]]), &Matrix([[4.0], [5.0]]), Accumulate::Overwrite);
    /// assert_eq!(c.0, [[23.0]]);
    /// ```
    pub fn set_product_at<const K: usize>(
        &mut self,
        a: &Matrix<K, R>,
        b: &Matrix<K, C>,
        mode: Accumulate,
    ) {
        let done = kernels::matmul_at(self.view_mut(), a.view(), b.view(), mode);
        debug_assert!(done.is_ok(), "shapes are checked by the types");
    }
}

/// A borrowed row-major matrix whose shape is known at run time.
///
/// # Examples
///
/// ```
/// use microtrain::MatRef;
/// let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let m = MatRef::new(&data, 2, 3)?;
/// assert_eq!(m.row(1), &[4.0, 5.0, 6.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
}

impl<'a> MatRef<'a> {
    /// Views `data` as `rows × cols`; `data.len()` must equal `rows · cols`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatRef;
    /// assert!(MatRef::new(&[0.0; 6], 3, 2).is_ok());
    /// assert!(MatRef::new(&[0.0; 6], 4, 2).is_err());
    /// ```
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Result<Self, Error> {
        check_len("matrix view", data.len(), rows, cols)?;
        Ok(MatRef { data, rows, cols })
    }

    /// Number of rows.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatRef;
    /// assert_eq!(MatRef::new(&[0.0; 6], 3, 2)?.rows(), 3);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub const fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatRef;
    /// assert_eq!(MatRef::new(&[0.0; 6], 3, 2)?.cols(), 2);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub const fn cols(&self) -> usize {
        self.cols
    }

    /// All elements, row after row.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatRef;
    /// assert_eq!(MatRef::new(&[1.0, 2.0], 1, 2)?.as_slice(), &[1.0, 2.0]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub const fn as_slice(&self) -> &'a [f32] {
        self.data
    }

    /// Row `r`. Panics if `r >= rows`, like slice indexing.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatRef;
    /// assert_eq!(MatRef::new(&[1.0, 2.0], 2, 1)?.row(1), &[2.0]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn row(&self, r: usize) -> &'a [f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }
}

/// A mutable borrowed row-major matrix whose shape is known at run time.
///
/// # Examples
///
/// ```
/// use microtrain::MatMut;
/// let mut data = [0.0; 4];
/// let mut m = MatMut::new(&mut data, 2, 2)?;
/// m.as_mut_slice()[3] = 1.0;
/// assert_eq!(data, [0.0, 0.0, 0.0, 1.0]);
/// # Ok::<(), microtrain::Error>(())
/// ```
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
}

impl<'a> MatMut<'a> {
    /// Views `data` as `rows × cols`; `data.len()` must equal `rows · cols`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatMut;
    /// assert!(MatMut::new(&mut [0.0; 6], 2, 3).is_ok());
    /// assert!(MatMut::new(&mut [0.0; 6], 2, 4).is_err());
    /// ```
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Result<Self, Error> {
        check_len("matrix view", data.len(), rows, cols)?;
        Ok(MatMut { data, rows, cols })
    }

    /// Number of rows.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatMut;
    /// assert_eq!(MatMut::new(&mut [0.0; 6], 3, 2)?.rows(), 3);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub const fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatMut;
    /// assert_eq!(MatMut::new(&mut [0.0; 6], 3, 2)?.cols(), 2);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub const fn cols(&self) -> usize {
        self.cols
    }

    /// All elements, row after row, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatMut;
    /// let mut d = [0.0; 2];
    /// MatMut::new(&mut d, 1, 2)?.as_mut_slice()[0] = 3.0;
    /// assert_eq!(d, [3.0, 0.0]);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        self.data
    }

    /// A read-only view of the same elements.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::MatMut;
    /// let mut d = [1.0; 2];
    /// let m = MatMut::new(&mut d, 2, 1)?;
    /// assert_eq!(m.as_ref().rows(), 2);
    /// # Ok::<(), microtrain::Error>(())
    /// ```
    pub fn as_ref(&self) -> MatRef<'_> {
        MatRef {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
        }
    }
}

fn check_len(what: &'static str, len: usize, rows: usize, cols: usize) -> Result<(), Error> {
    let expected = rows.checked_mul(cols).ok_or(Error::Length {
        what,
        expected: usize::MAX,
        found: len,
    })?;
    if len != expected {
        return Err(Error::Length {
            what,
            expected,
            found: len,
        });
    }
    Ok(())
}
