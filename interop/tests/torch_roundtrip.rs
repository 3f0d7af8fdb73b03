//! Both directions against PyTorch, from the golden files of
//! `interop/reference/torch_interop.py` (see that script for how to regenerate them):
//!
//! - PyTorch → microtrain: the trained PyTorch `state_dict` loads into our model, whose
//!   eval-mode predictions match PyTorch's to 1e-5, and our export of it is the same
//!   `state_dict` (keys, shapes, dtypes, bit-identical values).
//! - microtrain → PyTorch: our export of a model with deterministic weights is
//!   byte-identical to the committed file that PyTorch loaded with `strict=True`, and
//!   PyTorch's predictions with it match ours to 1e-5.

use microtrain::layers::{
    basic_block, BasicBlock, BatchNorm, Context, Conv1d, Conv2d, Dense, DepthwiseConv2d, Dropout,
    Flatten, Layer, LayerNorm, MaxPool2d, Mode, ParamKind, Params, Relu, Tanh,
};
use microtrain::{seq, Batch, Image, Seq, Tensor, Zeroed};
use microtrain_interop::TorchNames;
use safetensors::{Dtype, SafeTensors};
use std::path::PathBuf;

type Mlp = Seq![Dense<6, 16>, Relu, Dropout, Dense<16, 8>, LayerNorm<8>, Tanh, Dense<8, 3>];
type Cnn = Seq![
    Conv2d<2, 4, 3, 1, 1, 8, 8>,
    BatchNorm<4>,
    Relu,
    DepthwiseConv2d<4, 3, 1, 1, 8, 8>,
    MaxPool2d<2, 2, 4, 4>,
    BasicBlock<4, 4, 4>,
    Flatten<64>,
    BatchNorm<64>,
    Dense<64, 5>
];
type Sig = Seq![Conv1d<2, 3, 3, 1, 1, 6>, Relu, Flatten<18>, Dense<18, 2>];

fn mlp() -> Mlp {
    seq![
        Dense::zeros(),
        Relu,
        Dropout::new(0.1),
        Dense::zeros(),
        LayerNorm::new(),
        Tanh,
        Dense::zeros()
    ]
}

fn cnn() -> Cnn {
    seq![
        Conv2d::zeros(),
        BatchNorm::new(),
        Relu,
        DepthwiseConv2d::zeros(),
        MaxPool2d,
        basic_block(),
        Flatten,
        BatchNorm::new(),
        Dense::zeros()
    ]
}

fn sig() -> Sig {
    seq![Conv1d::zeros(), Relu, Flatten, Dense::zeros()]
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(golden(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn f32s(file: &SafeTensors<'_>, name: &str) -> (Vec<usize>, Vec<f32>) {
    let t = file.tensor(name).unwrap();
    assert_eq!(t.dtype(), Dtype::F32, "{name}");
    let v = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (t.shape().to_vec(), v)
}

/// PyTorch's channels-first input `[B][C][rest…]` as our channels-last `[B][rest…][C]`.
fn channels_last<X: Tensor>(shape: &[usize], torch: &[f32]) -> X {
    let (b, c) = (shape[0], shape[1]);
    let n: usize = shape[2..].iter().product();
    let mut x = X::ZERO;
    for (i, v) in x.as_mut_slice().iter_mut().enumerate() {
        let (s, p, ch) = (i / (n * c), i / c % n, i % c);
        assert!(s < b);
        *v = torch[(s * c + ch) * n + p];
    }
    x
}

fn predict<X: Tensor, M: Layer<X>>(model: &M, x: &X) -> Vec<f32> {
    let mut cache: Box<M::Cache> = Box::new(Zeroed::ZERO);
    model.forward(x, &mut cache, &mut Context::new(Mode::Eval, 0));
    M::output(&cache).as_slice().to_vec()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Loads PyTorch's trained model, compares predictions, and compares our export of it
/// with PyTorch's file.
fn torch_to_microtrain<X: Tensor, M: TorchNames<X>>(name: &str, mut model: M) -> f32 {
    let state = read(&format!("torch_{name}.safetensors"));
    microtrain_interop::load::<X, M>(&mut model, &state).unwrap();

    let io = read(&format!("torch_{name}_io.safetensors"));
    let io = SafeTensors::deserialize(&io).unwrap();
    let (shape, input) = f32s(&io, "input");
    let x: X = channels_last(&shape, &input);
    let (_, want) = f32s(&io, "output");
    let diff = max_abs_diff(&predict(&model, &x), &want);
    eprintln!("{name}: PyTorch weights, max |ours − PyTorch| = {diff:e}");
    assert!(diff <= 1e-5, "{name}: {diff}");

    let ours = microtrain_interop::to_bytes::<X, M>(&mut model).unwrap();
    let (ours, theirs) = (
        SafeTensors::deserialize(&ours).unwrap(),
        SafeTensors::deserialize(&state).unwrap(),
    );
    let mut keys = ours.names();
    keys.sort();
    let mut their_keys = theirs.names();
    their_keys.sort();
    assert_eq!(keys, their_keys);
    for key in keys {
        let (a, b) = (ours.tensor(key).unwrap(), theirs.tensor(key).unwrap());
        assert_eq!((a.dtype(), a.shape()), (b.dtype(), b.shape()), "{key}");
        if key.ends_with("num_batches_tracked") {
            assert_eq!(a.dtype(), Dtype::I64);
            assert_eq!(
                a.data(),
                0i64.to_le_bytes(),
                "{key}: not in cumulative mode"
            );
        } else {
            assert_eq!(a.data(), b.data(), "{key}");
        }
    }
    diff
}

/// Deterministic, layout-revealing weights (every value different), scaled by the fan-in;
/// running variances in [0.5, 1.5).
fn fill<M: Params>(model: &mut M) {
    fn unit(k: u64) -> f32 {
        let mut z = k
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0x1234_5678);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
    let mut k = 0;
    model.visit(&mut |p| {
        let scale = 2.0 / (p.fan_in as f32).sqrt();
        for v in p.value.iter_mut() {
            k += 1;
            *v = match p.kind {
                ParamKind::Scale => 1.0 + unit(k),
                _ => unit(k) * scale,
            };
        }
    });
    model.visit_buffers(&mut |b| {
        for v in b.value.iter_mut() {
            k += 1;
            *v = unit(k) + if b.name == "running_var" { 1.0 } else { 0.0 };
        }
    });
}

/// Exports our model, checks the export is the committed file PyTorch loaded, and
/// compares PyTorch's predictions with it.
fn microtrain_to_torch<X: Tensor, M: TorchNames<X>>(name: &str, mut model: M) -> f32 {
    fill(&mut model);
    let ours = microtrain_interop::to_bytes::<X, M>(&mut model).unwrap();
    let file = format!("rust_{name}.safetensors");
    if std::env::var_os("MICROTRAIN_INTEROP_REGEN").is_some() {
        std::fs::write(golden(&file), &ours).unwrap();
        eprintln!("wrote {file}; now run interop/reference/torch_interop.py");
        return 0.0;
    }
    assert!(
        read(&file) == ours,
        "{file}: our export changed; regenerate (see interop/reference/torch_interop.py)"
    );
    let io = read(&format!("torch_{name}_io.safetensors"));
    let io = SafeTensors::deserialize(&io).unwrap();
    let (shape, input) = f32s(&io, "input");
    let x: X = channels_last(&shape, &input);
    let out = read(&format!("rust_{name}_io.safetensors"));
    let (_, want) = f32s(&SafeTensors::deserialize(&out).unwrap(), "output");
    let diff = max_abs_diff(&predict(&model, &x), &want);
    eprintln!("{name}: our weights in PyTorch, max |ours − PyTorch| = {diff:e}");
    assert!(diff <= 1e-5, "{name}: {diff}");
    diff
}

#[test]
fn mlp_from_torch() {
    torch_to_microtrain::<Batch<4, 6>, _>("mlp", mlp());
}

#[test]
fn cnn_from_torch() {
    torch_to_microtrain::<Image<4, 8, 8, 2>, _>("cnn", cnn());
}

#[test]
fn signal_from_torch() {
    torch_to_microtrain::<Image<4, 1, 6, 2>, _>("signal", sig());
}

#[test]
fn mlp_to_torch() {
    microtrain_to_torch::<Batch<4, 6>, _>("mlp", mlp());
}

#[test]
fn cnn_to_torch() {
    microtrain_to_torch::<Image<4, 8, 8, 2>, _>("cnn", cnn());
}

#[test]
fn signal_to_torch() {
    microtrain_to_torch::<Image<4, 1, 6, 2>, _>("signal", sig());
}
