// The trainer's IN (2) is not the model's input width (3).
use microtrain::layers::Dense;
use microtrain::loss::Mse;
use microtrain::optim::Sgd;
use microtrain::train::Trainer;

#[allow(dead_code)]
fn train(_: &mut Trainer<Dense<3, 1>, Mse, Sgd, 4, 2, 1>) {}

fn main() {}
