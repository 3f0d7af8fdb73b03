"""PyTorch side of the digits comparison: the MLP and the CNN of examples/digits.rs,
trained with the same recipe on the same split, over many seeds.

    cargo run --release --example digits_parity -- --seeds 20 --out reference/parity_digits_rust.csv
    /work/torchenv/bin/python reference/parity_digits.py --seeds 20 \
        --out reference/parity_digits_torch.csv --compare reference/parity_digits_rust.csv

The recipe, as examples/common/digits_recipe.rs states it:

- split: the row indices in reference/digits_split.txt (written by
  `cargo run --release --example digits_parity -- --write-split reference/digits_split.txt`);
- pixels 0..16 scaled to [0, 1]; standardised per channel with the mean and the population
  standard deviation of every training pixel (computed in float64, rounded to float32);
- every training batch augmented in [0, 1] before standardising: a shift by -1, 0 or +1
  pixel in each direction with zero fill, then Gaussian noise of sigma 0.05, clamped to
  [0, 1];
- He-normal weights (kaiming_normal_, fan_in, relu), biases 0, batch-norm weight 1 and
  bias 0 (momentum 0.1, eps 1e-5);
- MLP: Linear(64, 128), BatchNorm1d(128), ReLU, Dropout(0.2), Linear(128, 10);
  CNN: Conv2d(1, 16, 3, padding=1), BatchNorm2d, ReLU, MaxPool2d(2), Conv2d(16, 32, 3,
  padding=1), BatchNorm2d, ReLU, MaxPool2d(2), flatten in channels-last order (ours is
  NHWC), Dropout(0.2), Linear(128, 10);
- cross-entropy, Adam(lr=0.003, betas=(0.9, 0.999), eps=1e-8), batches of 32 in a fresh
  random order each epoch, the last partial batch kept;
- after each epoch, the validation loss drives early stopping (stop after 10 epochs without
  a strictly lower one, at most 60 epochs; the best epoch's whole state_dict, batch-norm
  running statistics included, is restored) and then ReduceLROnPlateau(factor=0.5,
  patience=3, other settings default);
- the restored model judged once on the test set.

The random streams differ from ours (torch's generator, not Pcg32), so single runs differ;
the comparison is between the mean test accuracies over seeds.
"""

import argparse
import copy
import csv
import math
import pathlib
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parent.parent
BATCH = 32
MAX_EPOCHS = 60
LEARNING_RATE = 0.003
PATIENCE = 10
DROPOUT = 0.2
NOISE = 0.05
HIDDEN = 128


def load():
    raw = np.loadtxt(ROOT / "examples/data/digits.csv", delimiter=",", dtype=np.int64)
    pixels = (raw[:, :64].astype(np.float32) / np.float32(16.0)).astype(np.float32)
    labels = raw[:, 64]
    parts = {}
    for line in (ROOT / "reference/digits_split.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, *indices = line.split()
        parts[name] = np.array([int(i) for i in indices], dtype=np.int64)
    train = pixels[parts["train"]]
    mean = np.float32(train.astype(np.float64).mean())
    std = np.float32(np.sqrt(((train.astype(np.float64) - float(mean)) ** 2).mean()))
    data = {}
    for name, idx in parts.items():
        x = torch.from_numpy(pixels[idx]).reshape(-1, 1, 8, 8)
        data[name] = (x, torch.from_numpy(labels[idx]))
    return data, float(mean), float(std)


class ChannelsLastFlatten(nn.Module):
    """Flattens NCHW in (row, column, channel) order, as microtrain's Flatten on NHWC."""

    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1)


def mlp():
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, HIDDEN),
        nn.BatchNorm1d(HIDDEN),
        nn.ReLU(),
        nn.Dropout(DROPOUT),
        nn.Linear(HIDDEN, 10),
    )


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        ChannelsLastFlatten(),
        nn.Dropout(DROPOUT),
        nn.Linear(128, 10),
    )


def he_init(model):
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def augment(x):
    """Shift each picture by -1, 0 or +1 pixel each way (zero fill), add N(0, NOISE²)
    noise, clamp to [0, 1]."""
    b = x.shape[0]
    padded = F.pad(x, (1, 1, 1, 1))
    oy = torch.randint(0, 3, (b,))
    ox = torch.randint(0, 3, (b,))
    ar = torch.arange(8)
    rows = (oy[:, None] + ar)[:, :, None]
    cols = (ox[:, None] + ar)[:, None, :]
    shifted = padded[torch.arange(b)[:, None, None], 0, rows, cols].unsqueeze(1)
    return (shifted + NOISE * torch.randn_like(shifted)).clamp(0.0, 1.0)


@torch.no_grad()
def evaluate(model, x, y, mean, std):
    model.eval()
    logits = model((x - mean) / std)
    loss = F.cross_entropy(logits, y).item()
    accuracy = (logits.argmax(1) == y).float().mean().item()
    return loss, accuracy


def run(make, seed, data, mean, std):
    torch.manual_seed(seed)
    model = make()
    he_init(model)
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, betas=(0.9, 0.999), eps=1e-8)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=3)
    x_train, y_train = data["train"]
    best, best_epoch, wait, best_state = math.inf, 0, 0, None
    epochs = 0
    for epoch in range(1, MAX_EPOCHS + 1):
        epochs = epoch
        model.train()
        order = torch.randperm(len(y_train))
        for start in range(0, len(order), BATCH):
            idx = order[start : start + BATCH]
            x = (augment(x_train[idx]) - mean) / std
            loss = F.cross_entropy(model(x), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        val_loss, _ = evaluate(model, *data["validation"], mean, std)
        if val_loss < best:
            best, best_epoch, wait = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            wait += 1
            if wait >= PATIENCE:
                break
        plateau.step(val_loss)
    model.load_state_dict(best_state)
    test_loss, test_accuracy = evaluate(model, *data["test"], mean, std)
    return epochs, best_epoch, test_accuracy, test_loss


def summary(rows, framework, model):
    values = [float(r["test_accuracy"]) for r in rows if r["framework"] == framework and r["model"] == model]
    if not values:
        return None
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1))
    return 100 * mean, 100 * sd, len(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "target/experiments/parity_digits_torch.csv"))
    parser.add_argument("--compare", help="microtrain's CSV from examples/digits_parity.rs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data, mean, std = load()
    print(f"standardisation: mean {mean:.6f}, std {std:.6f}; torch {torch.__version__}")
    rows = []
    started = time.time()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for name, make in (("mlp", mlp), ("cnn", cnn)):
            epochs, best_epoch, accuracy, loss = run(make, seed, data, mean, std)
            rows.append(
                dict(framework="pytorch", model=name, seed=seed, epochs=epochs, best_epoch=best_epoch,
                     test_accuracy=f"{accuracy:.4f}", test_loss=f"{loss:.5f}")
            )
            print(f"seed {seed:3} {name}: {epochs:2} epochs, kept {best_epoch:2}, "
                  f"test accuracy {100 * accuracy:.1f}%, loss {loss:.4f}", flush=True)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"results: {out} ({time.time() - started:.0f} s)")
    if args.compare:
        with open(args.compare) as f:
            rows += list(csv.DictReader(f))
    print("\n| network | microtrain: test accuracy | PyTorch: test accuracy | difference |")
    print("|---|---|---|---|")
    for model in ("mlp", "cnn"):
        ours = summary(rows, "microtrain", model)
        theirs = summary(rows, "pytorch", model)
        cell = lambda s: f"{s[0]:.2f}% ± {s[1]:.2f} ({s[2]} seeds)" if s else "-"
        diff = f"{ours[0] - theirs[0]:+.2f} points" if ours and theirs else "-"
        print(f"| {model.upper()} | {cell(ours)} | {cell(theirs)} | {diff} |")


if __name__ == "__main__":
    main()
