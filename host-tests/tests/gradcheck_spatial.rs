//! Convolution and pooling layers against central finite differences of `f64`
//! references written from PyTorch's definitions (channels-last indexing, zero
//! padding), through `host_tests::layer_check::gradcheck_layer`.

use host_tests::layer_check::gradcheck_layer;
use microtrain::layers::{
    AvgPool2d, Conv1d, Conv2d, DepthwiseConv2d, Flatten, GlobalAvgPool, MaxPool1d, MaxPool2d, Mode,
    Params,
};
use microtrain::{Batch, Image, Signal, Tensor};
use rand_pcg::rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg32;

fn random<T: Tensor>(seed: u64) -> T {
    let mut rng = Pcg32::seed_from_u64(seed);
    let mut t = T::ZERO;
    for v in t.as_mut_slice() {
        *v = (rng.next_u32() >> 8) as f32 / 8_388_608.0 - 1.0;
    }
    t
}

fn randomize(layer: &mut impl Params, seed: u64) {
    let mut rng = Pcg32::seed_from_u64(seed);
    layer.visit(&mut |p| {
        for v in p.value.iter_mut() {
            *v = (rng.next_u32() >> 8) as f32 / 8_388_608.0 - 1.0;
        }
    });
}

/// Geometry of a reference convolution or pool: input `b × h × w × ci`, output
/// `ho × wo × co`, window `kh × kw`, strides, padding.
#[derive(Clone, Copy)]
struct Geo {
    b: usize,
    h: usize,
    w: usize,
    ci: usize,
    ho: usize,
    wo: usize,
    co: usize,
    kh: usize,
    kw: usize,
    s: (usize, usize),
    p: (usize, usize),
}

impl Geo {
    /// The input element under tap `(i, j)` of output `(oh, ow)`, if not padding.
    #[allow(clippy::too_many_arguments)]
    fn at(
        &self,
        x: &[f64],
        b: usize,
        oh: usize,
        ow: usize,
        i: usize,
        j: usize,
        c: usize,
    ) -> Option<f64> {
        let r = (oh * self.s.0 + i).checked_sub(self.p.0)?;
        let q = (ow * self.s.1 + j).checked_sub(self.p.1)?;
        (r < self.h && q < self.w).then(|| x[((b * self.h + r) * self.w + q) * self.ci + c])
    }

    /// `y[b, oh, ow, o] = f(b, oh, ow, o)` for every output, in storage order.
    fn map(&self, f: impl Fn(usize, usize, usize, usize) -> f64) -> Vec<f64> {
        let mut y = Vec::new();
        for b in 0..self.b {
            for oh in 0..self.ho {
                for ow in 0..self.wo {
                    for o in 0..self.co {
                        y.push(f(b, oh, ow, o));
                    }
                }
            }
        }
        y
    }

    /// A convolution with weights `[co][kh][kw][ci]` (or `[kh][kw][c]` for depthwise)
    /// then a bias per output channel, all read from `theta`.
    fn conv(&self, theta: &[f64], x: &[f64], depthwise: bool) -> Vec<f64> {
        let taps = if depthwise {
            self.kh * self.kw * self.co
        } else {
            self.co * self.kh * self.kw * self.ci
        };
        let (w, bias) = theta.split_at(taps);
        self.map(|b, oh, ow, o| {
            let mut sum = bias[o];
            for i in 0..self.kh {
                for j in 0..self.kw {
                    if depthwise {
                        sum += w[(i * self.kw + j) * self.co + o]
                            * self.at(x, b, oh, ow, i, j, o).unwrap_or(0.0);
                    } else {
                        for c in 0..self.ci {
                            sum += w[((o * self.kh + i) * self.kw + j) * self.ci + c]
                                * self.at(x, b, oh, ow, i, j, c).unwrap_or(0.0);
                        }
                    }
                }
            }
            sum
        })
    }

    fn pool(&self, x: &[f64], max: bool) -> Vec<f64> {
        self.map(|b, oh, ow, c| {
            let taps = (0..self.kh).flat_map(|i| (0..self.kw).map(move |j| (i, j)));
            let vals: Vec<f64> = taps
                .filter_map(|(i, j)| self.at(x, b, oh, ow, i, j, c))
                .collect();
            if max {
                vals.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            } else {
                vals.iter().sum::<f64>() / (self.kh * self.kw) as f64
            }
        })
    }
}

#[test]
fn convolutions_match_finite_differences() {
    let g = Geo {
        b: 2,
        h: 7,
        w: 5,
        ci: 3,
        ho: 4,
        wo: 3,
        co: 4,
        kh: 3,
        kw: 3,
        s: (2, 2),
        p: (1, 1),
    };
    let mut conv = Conv2d::<3, 4, 3, 2, 1, 4, 3>::zeros();
    randomize(&mut conv, 1);
    let x: Image<2, 7, 5, 3> = random(2);
    let c: Image<2, 4, 3, 4> = random(3);
    gradcheck_layer(
        "Conv2d 3→4 k3 s2 p1",
        &mut conv,
        &x,
        &c,
        Mode::Train,
        |t, x| g.conv(t, x, false),
    );

    let g = Geo {
        b: 2,
        h: 5,
        w: 6,
        ci: 3,
        ho: 5,
        wo: 6,
        co: 3,
        kh: 3,
        kw: 3,
        s: (1, 1),
        p: (1, 1),
    };
    let mut dw = DepthwiseConv2d::<3, 3, 1, 1, 5, 6>::zeros();
    randomize(&mut dw, 4);
    let x: Image<2, 5, 6, 3> = random(5);
    let c: Image<2, 5, 6, 3> = random(6);
    gradcheck_layer(
        "DepthwiseConv2d 3 k3 p1",
        &mut dw,
        &x,
        &c,
        Mode::Train,
        |t, x| g.conv(t, x, true),
    );

    let g = Geo {
        b: 2,
        h: 1,
        w: 11,
        ci: 2,
        ho: 1,
        wo: 6,
        co: 3,
        kh: 1,
        kw: 3,
        s: (1, 2),
        p: (0, 1),
    };
    let mut c1 = Conv1d::<2, 3, 3, 2, 1, 6>::zeros();
    randomize(&mut c1, 7);
    let x: Signal<2, 11, 2> = random(8);
    let c: Signal<2, 6, 3> = random(9);
    gradcheck_layer(
        "Conv1d 2→3 k3 s2 p1",
        &mut c1,
        &x,
        &c,
        Mode::Train,
        |t, x| g.conv(t, x, false),
    );
}

#[test]
fn pooling_matches_finite_differences() {
    // Overlapping windows (3×3, stride 2); random inputs have no ties, so the maximum
    // is differentiable at the test point.
    let g = Geo {
        b: 2,
        h: 7,
        w: 7,
        ci: 2,
        ho: 3,
        wo: 3,
        co: 2,
        kh: 3,
        kw: 3,
        s: (2, 2),
        p: (0, 0),
    };
    let x: Image<2, 7, 7, 2> = random(10);
    let c: Image<2, 3, 3, 2> = random(11);
    gradcheck_layer(
        "MaxPool2d k3 s2",
        &mut MaxPool2d::<3, 2, 3, 3>,
        &x,
        &c,
        Mode::Train,
        |_, x| g.pool(x, true),
    );
    gradcheck_layer(
        "AvgPool2d k3 s2",
        &mut AvgPool2d::<3, 2, 3, 3>,
        &x,
        &c,
        Mode::Train,
        |_, x| g.pool(x, false),
    );

    let g = Geo {
        b: 2,
        h: 1,
        w: 10,
        ci: 3,
        ho: 1,
        wo: 5,
        co: 3,
        kh: 1,
        kw: 2,
        s: (1, 2),
        p: (0, 0),
    };
    let x: Signal<2, 10, 3> = random(12);
    let c: Signal<2, 5, 3> = random(13);
    gradcheck_layer(
        "MaxPool1d k2",
        &mut MaxPool1d::<2, 2, 5>,
        &x,
        &c,
        Mode::Train,
        |_, x| g.pool(x, true),
    );

    let x: Image<2, 3, 4, 5> = random(14);
    let c: Batch<2, 5> = random(15);
    gradcheck_layer(
        "GlobalAvgPool",
        &mut GlobalAvgPool,
        &x,
        &c,
        Mode::Train,
        |_, x| {
            (0..10)
                .map(|i| {
                    (0..12)
                        .map(|p| x[(i / 5 * 12 + p) * 5 + i % 5])
                        .sum::<f64>()
                        / 12.0
                })
                .collect()
        },
    );
    let c: Batch<2, 60> = random(16);
    gradcheck_layer(
        "Flatten",
        &mut Flatten::<60>,
        &x,
        &c,
        Mode::Train,
        |_, x| x.to_vec(),
    );
}
