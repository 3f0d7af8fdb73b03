// A loss over 3 outputs cannot take targets (or a gradient buffer) of width 1.
use microtrain::loss::{Loss, Mse};
use microtrain::Batch;

fn main() {
    let out: Batch<2, 3> = Batch::zeros();
    let targets: Batch<2, 1> = Batch::zeros();
    let mut grad: Batch<2, 3> = Batch::zeros();
    let _ = Mse.loss(&out, &targets, 2, &mut grad);
}
