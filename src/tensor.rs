//! Fixed-size storage: vectors, matrices, batches and images whose dimensions are
//! const generics, and the [`Tensor`] and [`Zeroed`] traits that layers build on.
//!
//! The typed containers ([`Vector`], [`Matrix`], [`Batch`], [`Image`], [`Signal`])
//! carry their shape in the type, so a product of mismatched shapes does not compile.
//! They stand on [`kernels`] (whose views, [`MatRef`] and [`MatMut`], carry their shape
//! at run time so that one kernel body serves every shape), never the other way round.

use crate::kernels::{self, Accumulate, MatMut, MatRef};

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
        MatRef::from_parts(self.0.as_flattened(), R, C)
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
        MatMut::from_parts(self.0.as_flattened_mut(), R, C)
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

/// A value with an all-zero constant, so that caches and buffers can be built in a
/// `const` context and placed in a `static`.
///
/// # Examples
///
/// ```
/// use microtrain::Zeroed;
/// use microtrain::Matrix;
/// static M: Matrix<2, 2> = <Matrix<2, 2> as Zeroed>::ZERO;
/// assert_eq!(M.0, [[0.0; 2]; 2]);
/// ```
pub trait Zeroed: Sized {
    /// The all-zero value.
    const ZERO: Self;
}

impl<const R: usize, const C: usize> Zeroed for Matrix<R, C> {
    const ZERO: Self = Matrix::zeros();
}
impl<const N: usize> Zeroed for Vector<N> {
    const ZERO: Self = Vector::zeros();
}
impl Zeroed for () {
    const ZERO: Self = ();
}
impl Zeroed for u64 {
    const ZERO: Self = 0;
}
impl Zeroed for u32 {
    const ZERO: Self = 0;
}
impl Zeroed for f32 {
    const ZERO: Self = 0.0;
}
impl<T: Zeroed + Copy, const N: usize> Zeroed for [T; N] {
    const ZERO: Self = [T::ZERO; N];
}
impl<A: Zeroed, B: Zeroed> Zeroed for (A, B) {
    const ZERO: Self = (A::ZERO, B::ZERO);
}

/// A tensor of `f32` with a fixed size: what flows between layers.
///
/// # Examples
///
/// ```
/// use microtrain::Tensor;
/// use microtrain::Matrix;
/// let m = Matrix([[1.0, 2.0]]);
/// assert_eq!(Tensor::as_slice(&m), &[1.0, 2.0]);
/// assert_eq!((<Matrix<1, 2> as Tensor>::SAMPLES, <Matrix<1, 2> as Tensor>::LEN), (1, 2));
/// ```
pub trait Tensor: Zeroed {
    /// The number of samples in the batch: the leading dimension.
    const SAMPLES: usize;
    /// The number of `f32` elements.
    const LEN: usize;
    /// All elements, in storage order.
    fn as_slice(&self) -> &[f32];
    /// All elements, in storage order, mutably.
    fn as_mut_slice(&mut self) -> &mut [f32];
}

impl<const R: usize, const C: usize> Tensor for Matrix<R, C> {
    const SAMPLES: usize = R;
    const LEN: usize = R * C;
    fn as_slice(&self) -> &[f32] {
        Matrix::as_slice(self)
    }
    fn as_mut_slice(&mut self) -> &mut [f32] {
        Matrix::as_mut_slice(self)
    }
}

/// A batch of `B` images of `H × W` pixels with `C` channels, stored channels-last
/// (`NHWC`: sample, row, column, channel; PyTorch's `NCHW` tensor `x` is
/// `x.permute(0, 2, 3, 1)` here).
///
/// Channels-last is how the data arrive on a microcontroller (a camera sends its pixels
/// with their colour components together, an IMU sends `ax, ay, az` per sample) and what
/// the kernels want: each pixel's channels are contiguous, so an image is a
/// `(B·H·W) × C` matrix to the matrix products, a convolution multiplies a row of
/// pixels by its filters in one product, and per-channel operations (bias, batch norm,
/// depthwise filters) run along contiguous vectors.
///
/// # Examples
///
/// ```
/// use microtrain::Image;
/// let mut x = Image::<2, 3, 4, 5>::zeros();
/// x.0[1][2][3][4] = 1.0;                    // sample 1, row 2, column 3, channel 4
/// assert_eq!(x.pixel(1, 2, 3)[4], 1.0);
/// assert_eq!(x.as_slice()[((1 * 3 + 2) * 4 + 3) * 5 + 4], 1.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
pub struct Image<const B: usize, const H: usize, const W: usize, const C: usize>(
    pub [[[[f32; C]; W]; H]; B],
);

/// A batch of `B` signals of `L` time steps with `C` channels (an accelerometer window,
/// an audio frame), channels-last: an [`Image`] of height 1 (PyTorch's `(N, C, L)`
/// tensor `x` is `x.permute(0, 2, 1)` here).
///
/// # Examples
///
/// ```
/// use microtrain::Signal;
/// let mut s = Signal::<1, 100, 3>::zeros(); // 100 samples of (ax, ay, az)
/// s.0[0][0][99] = [0.0, 0.0, 9.81];
/// assert_eq!(s.pixel(0, 0, 99)[2], 9.81);
/// ```
pub type Signal<const B: usize, const L: usize, const C: usize> = Image<B, 1, L, C>;

impl<const B: usize, const H: usize, const W: usize, const C: usize> Image<B, H, W, C> {
    /// An image batch of zeros, usable in a `static`.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Image;
    /// static X: Image<1, 2, 2, 3> = Image::zeros();
    /// assert_eq!(X.as_slice(), &[0.0; 12]);
    /// ```
    pub const fn zeros() -> Self {
        Image([[[[0.0; C]; W]; H]; B])
    }

    /// All elements in storage order (sample, row, column, channel).
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Image;
    /// assert_eq!(Image([[[[1.0, 2.0]]]]).as_slice(), &[1.0, 2.0]);
    /// ```
    pub const fn as_slice(&self) -> &[f32] {
        self.0.as_flattened().as_flattened().as_flattened()
    }

    /// All elements in storage order, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Image;
    /// let mut x = Image::<1, 1, 2, 1>::zeros();
    /// x.as_mut_slice()[1] = 3.0;
    /// assert_eq!(x.0[0][0][1], [3.0]);
    /// ```
    pub const fn as_mut_slice(&mut self) -> &mut [f32] {
        self.0
            .as_flattened_mut()
            .as_flattened_mut()
            .as_flattened_mut()
    }

    /// The channels of one pixel. Panics if an index is out of range, like slice
    /// indexing.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Image;
    /// assert_eq!(Image([[[[1.0, 2.0], [3.0, 4.0]]]]).pixel(0, 0, 1), &[3.0, 4.0]);
    /// ```
    pub const fn pixel(&self, sample: usize, row: usize, col: usize) -> &[f32; C] {
        &self.0[sample][row][col]
    }

    /// The batch as a `(B·H·W) × C` matrix view: one row per pixel.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Image;
    /// let x = Image::<2, 3, 4, 5>::zeros();
    /// assert_eq!((x.view().rows(), x.view().cols()), (24, 5));
    /// ```
    pub const fn view(&self) -> MatRef<'_> {
        MatRef::from_parts(self.as_slice(), B * H * W, C)
    }

    /// The batch as a mutable `(B·H·W) × C` matrix view.
    ///
    /// # Examples
    ///
    /// ```
    /// use microtrain::Image;
    /// let mut x = Image::<1, 2, 2, 3>::zeros();
    /// x.view_mut().as_mut_slice()[11] = 1.0;
    /// assert_eq!(x.pixel(0, 1, 1)[2], 1.0);
    /// ```
    pub const fn view_mut(&mut self) -> MatMut<'_> {
        MatMut::from_parts(self.as_mut_slice(), B * H * W, C)
    }
}

impl<const B: usize, const H: usize, const W: usize, const C: usize> Default for Image<B, H, W, C> {
    fn default() -> Self {
        Self::zeros()
    }
}

impl<const B: usize, const H: usize, const W: usize, const C: usize> Zeroed for Image<B, H, W, C> {
    const ZERO: Self = Image::zeros();
}

impl<const B: usize, const H: usize, const W: usize, const C: usize> Tensor for Image<B, H, W, C> {
    const SAMPLES: usize = B;
    const LEN: usize = B * H * W * C;
    fn as_slice(&self) -> &[f32] {
        Image::as_slice(self)
    }
    fn as_mut_slice(&mut self) -> &mut [f32] {
        Image::as_mut_slice(self)
    }
}
