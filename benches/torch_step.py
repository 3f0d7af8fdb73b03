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
    loss_fn = nn.CrossEntropyLoss()
    opt = OPTIMIZERS[optimizer](model.parameters())
    x = torch.rand(batch, inputs) * 2 - 1
    y = torch.arange(batch) % classes

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    us, n = median_us(step, reps, warmup, budget_s)
    name = f"{inputs}-{hidden}-{classes} {optimizer} b{batch}"
    print(f"torch step {name} median_us={us:.3f} reps={n}", flush=True)


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


if __name__ == "__main__":
    main()
