#!/usr/bin/env python3
"""PyTorch's time for the training steps that `benches/step.rs` measures in microtrain.

Run it alone, or let the Rust bench run it (it reads the interpreter from the
environment variable `MICROTRAIN_TORCH_PYTHON`):

    /path/to/python benches/torch_step.py [--reps 3000] [--warmup 50] [--budget 1.0]

Importing torch can take several seconds on a cold disk; that is not timed.

Every measurement is float32 on the CPU with `torch.set_num_threads(1)` (our code is
single-threaded). The network is `nn.Sequential(nn.Linear(IN, H), nn.ReLU(),
nn.Linear(H, 10))` with PyTorch's default initialisation, the loss
`nn.CrossEntropyLoss()` on integer labels `r % 10`, the input uniform in [-1, 1), and
the optimizer `torch.optim.Adam(lr=1e-3)` (its defaults, as microtrain's `Adam`) or
`torch.optim.SGD(lr=1e-2)` (plain, as microtrain's `Sgd`). One step, the usual loop:

    opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); opt.step()

timed one call per repetition with `time.perf_counter_ns`: the median of `--reps`
repetitions, or of as many as fit in `--budget` seconds but at least 21, after
`--warmup` untimed steps (the same rule as `median_us` in `benches/common/mod.rs`).

The README demo's two networks (`examples/common/digits_recipe.rs`) are timed too, in
training mode with Adam(lr=3e-3) at batch 32 on 8x8 pictures: `digits-mlp` is
`Linear(64, 128), BatchNorm1d(128), ReLU, Dropout(0.2), Linear(128, 10)` and
`digits-cnn` is `Conv2d(1, 16, 3, padding=1), BatchNorm2d(16), ReLU, MaxPool2d(2),
Conv2d(16, 32, 3, padding=1), BatchNorm2d(32), ReLU, MaxPool2d(2), Flatten(),
Dropout(0.2), Linear(128, 10)`, printed as `torch step digits-mlp adam b32 ...`.

Output: one line per measurement, fields separated by single spaces:

    torch step <IN>-<H>-10 <adam|sgd> b<B> median_us=<float> reps=<int>

e.g. `torch step 64-32-10 adam b32 median_us=372.100 reps=2687`. A first line
`torch version=<v> threads=<n>` says what was measured.
"""

import argparse
import time
import warnings

# The venv may lack NumPy; torch warns about it on import and does not need it here.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
from torch_timing import median_us  # noqa: E402
from torch import nn  # noqa: E402


# (inputs, hidden units, classes): the networks of `benches/step.rs`.
NETS = [(64, 32, 10), (784, 128, 10)]
BATCHES = [32, 1]
OPTIMIZERS = {
    "adam": lambda params: torch.optim.Adam(params, lr=1e-3),
    "sgd": lambda params: torch.optim.SGD(params, lr=1e-2),
}


def measure(net, optimizer, batch, reps, warmup, budget_s):
    inputs, hidden, classes = net
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, classes))
    opt = OPTIMIZERS[optimizer](model.parameters())
    x = torch.rand(batch, inputs) * 2 - 1
    name = f"{inputs}-{hidden}-{classes} {optimizer} b{batch}"
    time_step(name, model, opt, x, classes, reps, warmup, budget_s)


def time_step(name, model, opt, x, classes, reps, warmup, budget_s):
    """Times one training step of `model` on the batch `x` with labels `r % classes`."""
    loss_fn = nn.CrossEntropyLoss()
    y = torch.arange(x.shape[0]) % classes

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    us, n = median_us(step, reps, warmup, budget_s)
    print(f"torch step {name} median_us={us:.3f} reps={n}", flush=True)


def digits_nets():
    """The README demo's MLP and CNN, as `examples/common/digits_recipe.rs` builds them."""
    mlp = nn.Sequential(
        nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10)
    )
    cnn = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(128, 10),
    )
    return [("digits-mlp", mlp, (32, 64)), ("digits-cnn", cnn, (32, 1, 8, 8))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3000, help="timed repetitions")
    parser.add_argument("--warmup", type=int, default=50, help="untimed steps first")
    parser.add_argument(
        "--budget", type=float, default=1.0, help="seconds of timed steps per measurement"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch version={torch.__version__} threads={torch.get_num_threads()}", flush=True)
    for net in NETS:
        for optimizer in OPTIMIZERS:
            for batch in BATCHES:
                measure(net, optimizer, batch, args.reps, args.warmup, args.budget)
    for name, model, shape in digits_nets():
        torch.manual_seed(0)
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        x = torch.rand(*shape) * 2 - 1
        time_step(f"{name} adam b32", model, opt, x, 10, args.reps, args.warmup, args.budget)


if __name__ == "__main__":
    main()
