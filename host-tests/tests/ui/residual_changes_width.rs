// A residual adds its input to the inner layer's output: the inner layer must keep
// the width (here 4 → 3).
use microtrain::layers::{Dense, Layer, Residual};
use microtrain::Batch;

fn layer<L: Layer<Batch<1, 4>>>() {}

fn main() {
    layer::<Residual<Dense<4, 3>>>();
}
