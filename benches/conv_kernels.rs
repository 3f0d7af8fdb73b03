//! How to compute a 2-D convolution: per-output-row im2col + GEMM (what
//! `kernels::conv2d_forward` / `conv2d_backward` do), direct loops, or whole-sample
//! im2col + GEMM, side by side in one run.
//!
//! | variant       | forward                                          | backward                                   |
//! |---------------|--------------------------------------------------|--------------------------------------------|
//! | `row_im2col`  | the library: `wo × K` scratch, `matmul_bt` per row | `matmul_at` + `matmul` + col2im per row  |
//! | `direct`      | per output pixel, `c_out` accumulators, `k` in order | the same loops, scattered                |
//! | `whole_im2col`| `ho·wo × K` scratch, one `matmul_bt` per sample   | one `matmul_at` + `matmul` + col2im per sample |
//!
//! (`K = kh·kw·c_in`.) All three keep the canonical order of `src/kernels/conv.rs`, padded
//! taps included as `w·0` products; before timing, each variant's outputs are checked
//! bit for bit against the library's, so the comparison is between implementations of
//! the *same* numbers. The direct loops keep `c_out` accumulators in a fixed-size array
//! and run the inner loop across output channels, which the compiler vectorises
//! (each lane is one output channel adding its products in order); they need the weight
//! transposed to `[k][c_out]`, done inside the timed region as a layer would have to.
//!
//! Throughput is `Elements(FLOPs)`, so criterion's `elem/s` reads as FLOP/s: the forward
//! pass counts `2·batch·ho·wo·c_out·K` (padded taps included), the backward pass twice
//! that (weight gradient and input gradient; the bias gradient is not counted).
//!
//! ```text
//! cargo bench --bench conv_kernels -- --warm-up-time 1 --measurement-time 3
//! RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=/tmp/native-target \
//!     cargo bench --bench conv_kernels -- --warm-up-time 1 --measurement-time 3
//! ```

use core::hint::black_box;
use criterion::{Criterion, Throughput};
use microtrain::kernels::{self, Accumulate, ConvShape};
use microtrain::{MatMut, MatRef};

/// Deterministic values in `[-1, 1)`.
fn values(len: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// 3 × 3, stride 1, padding 1 ("same") over `batch × side × side × c_in`.
fn same_3x3(batch: usize, side: usize, c_in: usize, c_out: usize) -> ConvShape {
    ConvShape {
        batch,
        h: side,
        w: side,
        c_in,
        ho: side,
        wo: side,
        c_out,
        kh: 3,
        kw: 3,
        sh: 1,
        sw: 1,
        ph: 1,
        pw: 1,
    }
}

/// The input pixel index `(b·h + y)·w + x` that tap `(i, j)` of output `(oh, ow)` reads.
#[inline(always)]
fn tap(s: &ConvShape, b: usize, oh: usize, ow: usize, i: usize, j: usize) -> Option<usize> {
    let y = (oh + i).checked_sub(s.ph).filter(|&y| y < s.h)?;
    let x = (ow + j).checked_sub(s.pw).filter(|&x| x < s.w)?;
    Some((b * s.h + y) * s.w + x)
}

// --- Direct loops -------------------------------------------------------------------

/// `W: c_out × K` → `Wᵀ: K × c_out`.
fn transpose(w: &[f32], rows: usize, cols: usize, t: &mut [f32]) {
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = w[r * cols + c];
        }
    }
}

/// Forward, direct: `acc[o] = bias[o]`, then for `k = (i, j, ci)` in order
/// `acc[o] += Wᵀ[k][o]·x_k` (x_k = 0 for a padded tap), across `o` in lanes.
fn direct_forward<const CO: usize>(
    s: &ConvShape,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    wt: &mut [f32],
) {
    let ci_n = s.c_in;
    let k = s.kh * s.kw * ci_n;
    transpose(w, CO, k, wt);
    let bias: [f32; CO] = bias.try_into().unwrap();
    for b in 0..s.batch {
        for oh in 0..s.ho {
            for ow in 0..s.wo {
                let mut acc = bias;
                for i in 0..s.kh {
                    for j in 0..s.kw {
                        let q = tap(s, b, oh, ow, i, j);
                        for ci in 0..ci_n {
                            let xv = q.map_or(0.0, |q| x[q * ci_n + ci]);
                            let row: &[f32; CO] = wt[((i * s.kw + j) * ci_n + ci) * CO..][..CO]
                                .try_into()
                                .unwrap();
                            for o in 0..CO {
                                acc[o] += row[o] * xv;
                            }
                        }
                    }
                }
                let p = (b * s.ho + oh) * s.wo + ow;
                y[p * CO..][..CO].copy_from_slice(&acc);
            }
        }
    }
}

/// Backward, direct: for each output pixel in order, `∂Wᵀ[k][o] += dy[o]·x_k` (padded
/// `x_k = 0` included), `∂b += dy`, and for each unpadded tap
/// `dx[q][ci] += Σ_o dy[o]·W[o][(i, j, ci)]` (the sum from `+0.0`, `o` in order).
#[allow(clippy::too_many_arguments)]
fn direct_backward<const CO: usize>(
    s: &ConvShape,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    gw: &mut [f32],
    gb: &mut [f32],
    dx: &mut [f32],
    gwt: &mut [f32],
) {
    let ci_n = s.c_in;
    let k = s.kh * s.kw * ci_n;
    transpose(gw, CO, k, gwt);
    dx.fill(0.0);
    let mut t = vec![0.0f32; ci_n];
    for b in 0..s.batch {
        for oh in 0..s.ho {
            for ow in 0..s.wo {
                let p = (b * s.ho + oh) * s.wo + ow;
                let d: &[f32; CO] = dy[p * CO..][..CO].try_into().unwrap();
                for o in 0..CO {
                    gb[o] += d[o];
                }
                for i in 0..s.kh {
                    for j in 0..s.kw {
                        let q = tap(s, b, oh, ow, i, j);
                        for ci in 0..ci_n {
                            let xv = q.map_or(0.0, |q| x[q * ci_n + ci]);
                            let row: &mut [f32; CO] = (&mut gwt
                                [((i * s.kw + j) * ci_n + ci) * CO..][..CO])
                                .try_into()
                                .unwrap();
                            for o in 0..CO {
                                row[o] += d[o] * xv;
                            }
                        }
                        if let Some(q) = q {
                            t.fill(0.0);
                            for (o, &dv) in d.iter().enumerate() {
                                let wrow = &w[o * k + (i * s.kw + j) * ci_n..][..ci_n];
                                for (tv, &wv) in t.iter_mut().zip(wrow) {
                                    *tv += dv * wv;
                                }
                            }
                            for (dxv, &tv) in dx[q * ci_n..][..ci_n].iter_mut().zip(&t) {
                                *dxv += tv;
                            }
                        }
                    }
                }
            }
        }
    }
    transpose(gwt, k, CO, gw);
}

// --- Whole-sample im2col --------------------------------------------------------------

/// `cols[(oh·wo + ow)][(i, j, ci)]` for one sample.
fn im2col_sample(s: &ConvShape, x: &[f32], b: usize, cols: &mut [f32]) {
    let ci_n = s.c_in;
    let k = s.kh * s.kw * ci_n;
    for oh in 0..s.ho {
        for ow in 0..s.wo {
            let patch = &mut cols[(oh * s.wo + ow) * k..][..k];
            for i in 0..s.kh {
                for j in 0..s.kw {
                    let dst = &mut patch[(i * s.kw + j) * ci_n..][..ci_n];
                    match tap(s, b, oh, ow, i, j) {
                        Some(q) => dst.copy_from_slice(&x[q * ci_n..][..ci_n]),
                        None => dst.fill(0.0),
                    }
                }
            }
        }
    }
}

fn whole_forward(
    s: &ConvShape,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    cols: &mut [f32],
) {
    let (k, co, n) = (s.kh * s.kw * s.c_in, s.c_out, s.ho * s.wo);
    for b in 0..s.batch {
        im2col_sample(s, x, b, cols);
        let y_b = &mut y[b * n * co..][..n * co];
        for px in y_b.chunks_exact_mut(co) {
            px.copy_from_slice(bias);
        }
        kernels::matmul_bt(
            MatMut::new(y_b, n, co).unwrap(),
            MatRef::new(cols, n, k).unwrap(),
            MatRef::new(w, co, k).unwrap(),
            Accumulate::Add,
        )
        .unwrap();
    }
}

#[allow(clippy::too_many_arguments)]
fn whole_backward(
    s: &ConvShape,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    gw: &mut [f32],
    gb: &mut [f32],
    dx: &mut [f32],
    cols: &mut [f32],
) {
    let (k, co, n, ci_n) = (s.kh * s.kw * s.c_in, s.c_out, s.ho * s.wo, s.c_in);
    dx.fill(0.0);
    for b in 0..s.batch {
        let dy_b = &dy[b * n * co..][..n * co];
        im2col_sample(s, x, b, cols);
        kernels::matmul_at(
            MatMut::new(gw, co, k).unwrap(),
            MatRef::new(dy_b, n, co).unwrap(),
            MatRef::new(cols, n, k).unwrap(),
            Accumulate::Add,
        )
        .unwrap();
        for px in dy_b.chunks_exact(co) {
            kernels::add(px, gb).unwrap();
        }
        kernels::matmul(
            MatMut::new(cols, n, k).unwrap(),
            MatRef::new(dy_b, n, co).unwrap(),
            MatRef::new(w, co, k).unwrap(),
            Accumulate::Overwrite,
        )
        .unwrap();
        for oh in 0..s.ho {
            for ow in 0..s.wo {
                for i in 0..s.kh {
                    for j in 0..s.kw {
                        if let Some(q) = tap(s, b, oh, ow, i, j) {
                            let src = &cols[(oh * s.wo + ow) * k + (i * s.kw + j) * ci_n..][..ci_n];
                            kernels::add(src, &mut dx[q * ci_n..][..ci_n]).unwrap();
                        }
                    }
                }
            }
        }
    }
}

// --- The benchmark ----------------------------------------------------------------------

fn bench_shape<const CO: usize>(c: &mut Criterion, name: &str, s: ConvShape) {
    assert!(s.is_consistent() && s.c_out == CO);
    let k = s.kh * s.kw * s.c_in;
    let x = values(s.input_len(), 1);
    let w = values(s.weight_len(), 2);
    let bias = values(CO, 3);
    let dy = values(s.output_elems(), 4);
    let mut y = vec![0.0f32; s.output_elems()];
    let mut scratch = vec![0.0f32; s.scratch_len()];
    let mut wt = vec![0.0f32; s.weight_len()];
    let mut cols = vec![0.0f32; s.ho * s.wo * k];
    let (mut gw, mut gb, mut dx) = (
        vec![0.0f32; s.weight_len()],
        vec![0.0f32; CO],
        vec![0.0f32; s.input_len()],
    );

    // The three variants compute the same bits.
    let mut want = vec![0.0f32; y.len()];
    kernels::conv2d_forward(&s, &x, &w, &bias, &mut want, &mut scratch).unwrap();
    direct_forward::<CO>(&s, &x, &w, &bias, &mut y, &mut wt);
    assert!(same_bits(&y, &want), "{name}: direct forward differs");
    whole_forward(&s, &x, &w, &bias, &mut y, &mut cols);
    assert!(same_bits(&y, &want), "{name}: whole-sample forward differs");
    let grads = |f: &mut Backward<'_>| {
        let (mut gw, mut gb, mut dx) = (
            vec![0.0f32; s.weight_len()],
            vec![0.0f32; CO],
            vec![0.0f32; s.input_len()],
        );
        f(&mut gw, &mut gb, &mut dx);
        [gw, gb, dx].concat()
    };
    let want = grads(&mut |gw, gb, dx| {
        kernels::conv2d_backward(&s, &x, &w, &dy, gw, gb, Some(dx), &mut scratch).unwrap()
    });
    let direct =
        grads(&mut |gw, gb, dx| direct_backward::<CO>(&s, &x, &w, &dy, gw, gb, dx, &mut wt));
    assert!(same_bits(&direct, &want), "{name}: direct backward differs");
    let whole = grads(&mut |gw, gb, dx| whole_backward(&s, &x, &w, &dy, gw, gb, dx, &mut cols));
    assert!(
        same_bits(&whole, &want),
        "{name}: whole-sample backward differs"
    );

    let flops = 2 * s.batch * s.ho * s.wo * CO * k;
    let mut g = c.benchmark_group(format!("conv_forward/{name}"));
    g.throughput(Throughput::Elements(flops as u64));
    g.bench_function("row_im2col", |bench| {
        bench.iter(|| {
            kernels::conv2d_forward(&s, black_box(&x), &w, &bias, &mut y, &mut scratch).unwrap();
            black_box(&mut y);
        })
    });
    g.bench_function("direct", |bench| {
        bench.iter(|| {
            direct_forward::<CO>(&s, black_box(&x), &w, &bias, &mut y, &mut wt);
            black_box(&mut y);
        })
    });
    g.bench_function("whole_im2col", |bench| {
        bench.iter(|| {
            whole_forward(&s, black_box(&x), &w, &bias, &mut y, &mut cols);
            black_box(&mut y);
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("conv_backward/{name}"));
    g.throughput(Throughput::Elements(2 * flops as u64));
    g.bench_function("row_im2col", |bench| {
        bench.iter(|| {
            kernels::conv2d_backward(
                &s,
                black_box(&x),
                &w,
                &dy,
                &mut gw,
                &mut gb,
                Some(&mut dx),
                &mut scratch,
            )
            .unwrap();
            black_box((&mut gw, &mut dx));
        })
    });
    g.bench_function("direct", |bench| {
        bench.iter(|| {
            direct_backward::<CO>(
                &s,
                black_box(&x),
                &w,
                &dy,
                &mut gw,
                &mut gb,
                &mut dx,
                &mut wt,
            );
            black_box((&mut gw, &mut dx));
        })
    });
    g.bench_function("whole_im2col", |bench| {
        bench.iter(|| {
            whole_backward(
                &s,
                black_box(&x),
                &w,
                &dy,
                &mut gw,
                &mut gb,
                &mut dx,
                &mut cols,
            );
            black_box((&mut gw, &mut dx));
        })
    });
    g.finish();
}

/// A backward pass writing `(weight_grad, bias_grad, dx)`.
type Backward<'a> = dyn FnMut(&mut [f32], &mut [f32], &mut [f32]) + 'a;

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

fn benches(c: &mut Criterion) {
    bench_shape::<8>(c, "32x28x28x1_to_8_3x3", same_3x3(32, 28, 1, 8));
    bench_shape::<16>(c, "32x14x14x8_to_16_3x3", same_3x3(32, 14, 8, 16));
}

criterion::criterion_group!(conv, benches);
criterion::criterion_main!(conv);
