#!/usr/bin/env python3
"""PyTorch golden data for microtrain's weight averaging: SWA, EMA and update_bn.

Generated with PyTorch 2.15.0 (torch.__version__ == "2.15.0+cu132", the default
PyPI Linux wheel, run on CPU only), Python 3.11.7.

Run (from the repository root):

    /tmp/torchenv/bin/python host-tests/reference/make_averaging.py

It rewrites host-tests/reference/golden/averaging/ (and nothing else) and prints one
line per file.  With another torch version it refuses to run unless --any-torch is
given; every file records the version that actually produced it.

What it does
------------
* The model is Linear(4, 6) - BatchNorm1d(6) - ReLU - Linear(6, 3), microtrain's
  Seq![Dense<4, 6>, BatchNorm<6>, Relu, Dense<6, 3>].  Its initial weights, the 32
  training samples x (4 features) with labels y (3 classes) and 8 evaluation samples
  x_eval are drawn from the SplitMix64 generator of make_layers.py, seeded with the
  FNV-1a hash of the file name; every value is a multiple of 1/1024, exact in f32.
* Training: plain SGD (lr 0.2), mean cross-entropy, STEPS = 16 steps on the four
  batches of 8 samples taken in order (4 epochs without shuffling), the model in
  train() mode, so the batch norm's running statistics follow PyTorch's defaults
  (momentum 0.1).  After step t (t = 0..15) the script calls
      swa.update_parameters(model)  if t >= SWA_START   (AveragedModel(model))
      ema.update_parameters(model)                      (AveragedModel(model,
                        multi_avg_fn=get_ema_multi_avg_fn(EMA_DECAY), use_buffers=True))
  EMA_DECAY is 0.9 rounded to f32, so 1 - decay is exact in f32 and f64 alike.
* swa_utils.update_bn(loader, swa) then recomputes the SWA model's batch statistics
  on the first 30 training samples in batches of 8 (8, 8, 8, 6: a partial last
  batch).  The EMA model keeps its averaged buffers.
* The file records the trajectory (theta.t: the parameters in named_parameters()
  order, then running_mean and running_var, after step t), the final model, the
  SWA and EMA averages (parameters and buffers), and the eval-mode outputs of the
  three models on x_eval.
* The whole run is in torch float64; it is repeated in float32 and the header gets
  max |v32 - v64| / max(1, |v64|) per tensor (f32_vs_f64_dev_per_tensor).
* Independent check: the averages are recomputed from the float64 trajectory by
  their closed forms (SWA: the arithmetic mean of theta.t for t >= SWA_START, the
  buffers those of the last step; EMA: the decay-weighted sum), and the SWA batch
  statistics as the mean over the 4 batches of the batch mean and the unbiased batch
  variance of the hidden layer; the script fails above 1e-12.
* The seed is advanced until every ReLU input of every forward pass (training,
  update_bn, evaluation; float64) is at least RELU_MARGIN away from 0, so f32
  rounding cannot flip a ReLU (relu_min_abs_input in the header).

File format: the one of golden/layers/ (see README.md): '# key=value' header lines,
then pairs of 'tensor <name> <dims...>' and one line of values (Python repr of f64).
"""

import math
import os
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn  # noqa: E402

from golden_common import SplitMix64, f32, fnv1a64, fresh_dir, parse_torch_args, read_back, tensor_lines  # noqa: E402

EXPECTED_TORCH = "2.15.0"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden", "averaging")

NAME = "mlp_bn"
IN, HIDDEN, CLASSES = 4, 6, 3
SAMPLES, BATCH, EVAL_SAMPLES, BN_SAMPLES = 32, 8, 8, 30
STEPS = 16
LR = 0.2
SWA_START = 5
EMA_DECAY = f32(0.9)
RELU_MARGIN = 1e-3
INDEPENDENT_TOL = 1e-12


def draw(rng, n, lo_ticks, hi_ticks):
    """n multiples of 1/1024 in [lo_ticks/1024, hi_ticks/1024)."""
    return [rng.ticks(lo_ticks, hi_ticks) / 1024.0 for _ in range(n)]


def draw_all(seed):
    rng = SplitMix64(seed)
    b1 = int(1024 / math.sqrt(IN))
    b2 = int(1024 / math.sqrt(HIDDEN))
    v = {
        "x": ((SAMPLES, IN), draw(rng, SAMPLES * IN, -2048, 2048)),
        "y": ((SAMPLES,), [float(rng.below(CLASSES)) for _ in range(SAMPLES)]),
        "x_eval": ((EVAL_SAMPLES, IN), draw(rng, EVAL_SAMPLES * IN, -2048, 2048)),
        "0.weight": ((HIDDEN, IN), draw(rng, HIDDEN * IN, -b1, b1)),
        "0.bias": ((HIDDEN,), draw(rng, HIDDEN, -b1, b1)),
        "1.weight": ((HIDDEN,), draw(rng, HIDDEN, 512, 1536)),
        "1.bias": ((HIDDEN,), draw(rng, HIDDEN, -512, 512)),
        "3.weight": ((CLASSES, HIDDEN), draw(rng, CLASSES * HIDDEN, -b2, b2)),
        "3.bias": ((CLASSES,), draw(rng, CLASSES, -b2, b2)),
    }
    for _, (_, flat) in v.items():
        for z in flat:
            assert f32(z) == z
    return v


PARAMS = ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"]
BUFFERS = ["1.running_mean", "1.running_var"]


def t_of(v, dtype):
    shape, flat = v
    return torch.tensor(flat, dtype=dtype).reshape(shape)


def flat(t):
    return [float(z) for z in t.detach().reshape(-1).tolist()]


def state(model):
    """Parameters then running statistics, flat, in microtrain's canonical order."""
    sd = model.state_dict()
    return [z for k in PARAMS + BUFFERS for z in flat(sd[k])]


def run(vals, dtype):
    torch.set_default_dtype(dtype)
    model = nn.Sequential(nn.Linear(IN, HIDDEN), nn.BatchNorm1d(HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES))
    with torch.no_grad():
        for k in PARAMS:
            model.get_parameter(k).copy_(t_of(vals[k], dtype))
    relu_min = [math.inf]

    def watch(_module, inputs):
        relu_min[0] = min(relu_min[0], float(inputs[0].detach().abs().min()))

    model[2].register_forward_pre_hook(watch)
    swa = AveragedModel(model)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(EMA_DECAY), use_buffers=True)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = t_of(vals["x"], dtype), t_of(vals["y"], dtype).long()
    x_eval = t_of(vals["x_eval"], dtype)
    out = {}
    trajectory = []
    model.train()
    for t in range(STEPS):
        b = t % (SAMPLES // BATCH)
        xb, yb = x[b * BATCH:(b + 1) * BATCH], y[b * BATCH:(b + 1) * BATCH]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        if t >= SWA_START:
            swa.update_parameters(model)
        ema.update_parameters(model)
        trajectory.append(state(model))
        out[f"theta.{t}"] = ((len(trajectory[-1]),), trajectory[-1])
    assert int(swa.n_averaged) == STEPS - SWA_START and int(ema.n_averaged) == STEPS
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x[:BN_SAMPLES]), batch_size=BATCH)
    update_bn(loader, swa)
    for tag, m in (("final", model), ("swa", swa.module), ("ema", ema.module)):
        sd = m.state_dict()
        for k in PARAMS + BUFFERS:
            out[f"{tag}.{k}"] = (tuple(sd[k].shape), flat(sd[k]))
        m.eval()
        with torch.no_grad():
            y_eval = m(x_eval)
        out[f"{tag}.y_eval"] = (tuple(y_eval.shape), flat(y_eval))
    torch.set_default_dtype(torch.float64)
    return out, trajectory, relu_min[0]


def independent(vals, out, trajectory):
    """The averages and the SWA batch statistics from their closed forms."""
    n = len(trajectory[0])
    n_params = sum(len(vals[k][1]) for k in PARAMS)
    ref = {}
    used = trajectory[SWA_START:]
    swa = [sum(th[i] for th in used) / len(used) for i in range(n_params)] + trajectory[-1][n_params:]
    ema = list(trajectory[0])
    for th in trajectory[1:]:
        ema = [EMA_DECAY * e + (1.0 - EMA_DECAY) * z for e, z in zip(ema, th)]
    for tag, vec in (("swa", swa), ("ema", ema)):
        got = [z for k in PARAMS + BUFFERS for z in out[f"{tag}.{k}"][1]]
        if tag == "swa":  # the buffers are recomputed by update_bn, checked below
            got, vec = got[:n_params], vec[:n_params]
        ref[tag] = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(got, vec))
    assert len(swa) == n
    # update_bn: mean over batches of the batch mean / unbiased variance of Linear 0's output.
    w = torch.tensor(out["swa.0.weight"][1], dtype=torch.float64).reshape(HIDDEN, IN)
    b = torch.tensor(out["swa.0.bias"][1], dtype=torch.float64)
    x = t_of(vals["x"], torch.float64)[:BN_SAMPLES]
    means, variances = [], []
    for s in range(0, BN_SAMPLES, BATCH):
        h = x[s:s + BATCH] @ w.T + b
        means.append(h.mean(0))
        variances.append(h.var(0, unbiased=True))
    rm = flat(sum(means) / len(means))
    rv = flat(sum(variances) / len(variances))
    dev = max(abs(a - c) / max(1.0, abs(c)) for a, c in zip(out["swa.1.running_mean"][1] + out["swa.1.running_var"][1], rm + rv))
    ref["update_bn"] = dev
    return ref


def main():
    parse_torch_args(__doc__.splitlines()[0], torch.__version__, EXPECTED_TORCH)
    torch.set_num_threads(1)
    fresh_dir(OUT)
    seed = fnv1a64(NAME)
    for _ in range(100):
        vals = draw_all(seed)
        out64, traj64, relu_min = run(vals, torch.float64)
        if relu_min >= RELU_MARGIN:
            break
        seed = (seed + 1) & 0xFFFFFFFFFFFFFFFF
    else:
        raise SystemExit("no seed with every ReLU input away from 0")
    out32, _, _ = run(vals, torch.float32)
    per = {k: max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(out32[k][1], out64[k][1])) for k in out64}
    ind = independent(vals, out64, traj64)
    for k, d in ind.items():
        if not d <= INDEPENDENT_TOL:
            raise SystemExit(f"{k}: differs from the closed form by {d:.3e}")
    lines = [
        "# microtrain averaging golden data, generated by host-tests/reference/make_averaging.py",
        f"# torch_version={torch.__version__}",
        f"# case={NAME}",
        "# module=nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))",
        f"# training=SGD(lr={LR}), mean cross-entropy, {STEPS} steps on the 4 batches of {BATCH} of x in order",
        f"# swa=AveragedModel(model), update_parameters after steps t >= {SWA_START}, then update_bn on "
        f"x[:{BN_SAMPLES}] in batches of {BATCH}",
        f"# ema=AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn({EMA_DECAY!r}), use_buffers=True), "
        "update_parameters after every step",
        "# theta.t=parameters (named_parameters order) then 1.running_mean, 1.running_var after step t",
        f"# f32_vs_f64_max_rel_dev={max(per.values()):.3e}",
        "# f32_vs_f64_dev_per_tensor=" + ",".join(f"{k}:{d:.1e}" for k, d in per.items() if not k.startswith("theta")),
        "# f32_vs_f64_theta_max_dev=" + f"{max(d for k, d in per.items() if k.startswith('theta')):.3e}",
        "# independent_check_max_dev=" + ",".join(f"{k}:{d:.1e}" for k, d in ind.items()),
        f"# relu_min_abs_input={relu_min:.4g}",
        f"# seed={seed:#018x}",
        f"# params lr={LR!r} steps={STEPS} batch={BATCH} swa_start={SWA_START} ema_decay={EMA_DECAY!r} "
        f"bn_samples={BN_SAMPLES}",
    ]
    body = []

    def tensor(name, v):
        body.extend(tensor_lines(name, *v))

    for k in ("x", "y", "x_eval") + tuple(PARAMS):
        tensor(k, vals[k])
    for k, v in out64.items():
        tensor(k, v)
    path = os.path.join(OUT, NAME + ".txt")
    with open(path, "w") as f:
        f.write("\n".join(lines + body) + "\n")
    back = read_back(path)
    assert back["swa.y_eval"][1] == out64["swa.y_eval"][1]
    print(f"{os.path.relpath(path, HERE)}: f32 vs f64 {max(per.values()):.2e}, "
          f"independent {max(ind.values()):.1e}, relu margin {relu_min:.3g}")


if __name__ == "__main__":
    main()
