// The model produces 3 outputs; the trainer's loss is declared over OUT = 1.
use microtrain::layers::Dense;
use microtrain::loss::Mse;
use microtrain::optim::Sgd;
use microtrain::train::Trainer;

#[allow(dead_code)]
fn train(_: &mut Trainer<Dense<2, 3>, Mse, Sgd, 4, 2, 1>) {}

fn main() {}
