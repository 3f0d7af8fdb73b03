#!/usr/bin/env python3
"""PyTorch golden traces for microtrain's optimizers and learning-rate schedules.

Generated with PyTorch 2.15.0 (torch.__version__ == "2.15.0+cu132", the default
PyPI Linux wheel, run on CPU only), Python 3.11.7.

Run (from the repository root):

    python3 -m venv /tmp/torchenv
    /tmp/torchenv/bin/pip install torch==2.15.0
    /tmp/torchenv/bin/python host-tests/reference/make_golden.py

(The default wheel pulls the nvidia CUDA packages, about 5.4 GB in the venv; a
`pip install --no-deps torch` does not import, because torch preloads libcudart
and cuBLAS even on CPU.  No GPU is used.)

It rewrites host-tests/reference/golden/{optim,sched,plateau}/ and golden/index.txt
(removing their old contents; golden/layers/ is make_layers.py's) and prints a
summary.  With another torch version it refuses to run unless --any-torch is
given; every output file records the version that actually produced it.

What it does
------------
* Optimizers (golden/optim/*.txt): a parameter vector of odd length N=7 with fixed
  initial values is driven by a FIXED gradient sequence (p.grad = g_t is set by
  hand before every opt.step(); no loss, no autograd) for STEPS=30 steps.  The
  learning rate used at each step is written too (it changes mid-run in the
  *_lrchange traces; param_groups[0]['lr'] is set before every step).
  Initial values are in (-0.5, 0.5) and the learning rates (SGD_LR etc. below)
  keep every parameter within about (-1, 1) over the run, like network weights;
  this keeps the f32 rounding noise (which grows with |p| and with excursions
  that come back) at most 3e-7, far below the 1e-5 comparison tolerance.
  All inputs (initial values, gradients) are exactly representable in f32, so a
  Rust f32 implementation reading the file starts from exactly the same numbers.
  The reference is computed with torch float64 (default dtype float64 too, so the
  optimizers' scalar state such as NAdam's mu_product is float64).  The same run
  is repeated in torch float32 and the deviation
      max_{t,i} |p32[t][i] - p64[t][i]| / max(1, |p64[t][i]|)
  (the same normalisation as the Rust comparison
  |ours - torch| <= 1e-5 * max(1, |torch|)) is written into the header as
  f32_vs_f64_max_dev.  Every trace is also recomputed by the plain-Python
  re-implementations in this file (ref_* functions, the update rules written out
  from torch's single-tensor code paths) and the maximum deviation from torch
  float64 is written as independent_check_max_dev; the script fails if it is
  above 1e-12.
* LR schedules (golden/sched/*.txt): base lr 0.1, the chainable form
  (scheduler.step() once per epoch, after opt.step()); "lr t v" is
  optimizer.param_groups[0]['lr'] after t calls of scheduler.step() (t=0 is the
  value right after construction), i.e. the lr used in epoch t.  The header has
  the closed-form formula of the schedule and the max deviation between torch's
  chainable values and that formula (closed_form_max_abs_dev / _rel_dev).
* ReduceLROnPlateau (golden/plateau/*.txt): a fixed metric sequence; "metric t m"
  is the value passed to the t-th call of step(), "lr t v" is the lr after that
  call (lr 0 = initial lr).  The script checks that the trace is unchanged when
  the metrics are perturbed by a relative 1e-6 (so no comparison is a near-tie
  that f32 rounding could flip) and re-derives it with its own implementation.

Lambda used by the LambdaLR traces (also written in their headers):
  inv_sqrt_warmup:  f(t) = min((t+1)/W, sqrt(W/(t+1))), W = 8
                    (linear warm-up to 1 at t = W-1, then 1/sqrt decay)
  inv_time_decay:   f(t) = 1/(1 + k t), k = 0.1       (lr_t = lr0 / (1 + k t))
"""

import math
import os
import random
import shutil
import warnings

import torch

from golden_common import SplitMix64, f32, fmt, parse_torch_args

EXPECTED_TORCH = "2.15.0"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden")

N = 7
STEPS = 30
SGD_LR = 0.001
ADAGRAD_LR = 0.03
RMSPROP_LR = 0.005
RMSPROP_MOM_LR = 0.001
ADAM_LR = 0.02
RADAM_LR = 0.01  # RAdam's un-adapted first steps move ~lr*|g| (|g| up to 20)
SCHED_EPOCHS = 60
INDEPENDENT_TOL = 1e-12
F32_DEV_LIMIT = 5e-7


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def fmt_param(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return fmt(v)
    if isinstance(v, str):
        return v
    raise TypeError(v)


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------

# Initial values in (-0.5, 0.5), like network weights, chosen so that each element moves
# through or towards 0 (e.g. elem 1 has positive gradients and starts at +0.375).
INIT = [f32(v) for v in (0.25, 0.375, -0.125, 0.1875, -0.4375, 0.03125, 0.3125)]


def grads_wide():
    """30 x 7 gradients, magnitudes 1e-6 .. 1e1 (per element and over time), sign changes.

    elem 0: ~1e-6, sign alternates every step, exactly 0 at step 4
    elem 1: ~1e-5, always positive
    elem 2: magnitude sweeps 1e-6 .. 1e1 over time (10^(((3t) mod 8) - 6)), random sign
    elem 3: ~1e-2, sign flips every 5 steps
    elem 4: ~1e-1, always negative
    elem 5: ~1,    random sign
    elem 6: ~1e1,  positive for steps 1..8, negative afterwards
    (each magnitude is multiplied by a factor in [0.25, 2))
    """
    rng = SplitMix64(0x6D6963726F747261)  # "microtra"
    out = []
    for t in range(1, STEPS + 1):
        u = [0.25 + 1.75 * rng.uniform() for _ in range(N)]
        rs2, rs5 = rng.sign(), rng.sign()
        g = [0.0] * N
        g[0] = (1.0 if t % 2 else -1.0) * 1e-6 * u[0]
        if t == 4:
            g[0] = 0.0
        g[1] = 1e-5 * u[1]
        g[2] = rs2 * 10.0 ** (((3 * t) % 8) - 6) * u[2]
        g[3] = (1.0 if ((t - 1) // 5) % 2 == 0 else -1.0) * 1e-2 * u[3]
        g[4] = -1e-1 * u[4]
        g[5] = rs5 * u[5]
        g[6] = (1.0 if t <= 8 else -1.0) * 10.0 * u[6]
        out.append([f32(x) for x in g])
    return out


def grads_tiny():
    """30 x 7 gradients all of magnitude 0.1e-6 .. 1e-6 (eps=1e-8 changes Adam's step by ~1-10%).

    elems 0,1 always positive; elem 2 always negative; others random sign.
    """
    rng = SplitMix64(0x74696E7967726164)  # "tinygrad"
    out = []
    for _ in range(1, STEPS + 1):
        g = []
        for i in range(N):
            u = 0.1 + 0.9 * rng.uniform()
            s = rng.sign()
            if i <= 1:
                s = 1.0
            elif i == 2:
                s = -1.0
            g.append(f32(s * 1e-6 * u))
        out.append(g)
    return out


GRADS = {"wide": grads_wide(), "tiny": grads_tiny()}


def lr_constant(lr0):
    return [lr0] * STEPS


def lr_change(lr0):
    """lr0 for steps 1..9, lr0/2 for steps 10..19, lr0 again for steps 20..30."""
    return [lr0 if t < 10 else (lr0 / 2 if t < 20 else lr0) for t in range(1, STEPS + 1)]


# --------------------------------------------------------------------------
# independent plain-Python re-implementations (float64), one element at a time
# --------------------------------------------------------------------------

def ref_sgd(hp, init, grads, lrs):
    p = list(init)
    buf = [None] * N
    out = []
    mom, damp, wd, nest = hp["momentum"], hp["dampening"], hp["weight_decay"], hp["nesterov"]
    for t, (g_t, lr) in enumerate(zip(grads, lrs)):
        for i in range(N):
            g = g_t[i] + wd * p[i]
            if mom != 0:
                buf[i] = g if buf[i] is None else mom * buf[i] + (1 - damp) * g
                g = g + mom * buf[i] if nest else buf[i]
            p[i] -= lr * g
        out.append(list(p))
    return out


def ref_adagrad(hp, init, grads, lrs):
    p = list(init)
    s = [hp["initial_accumulator_value"]] * N
    out = []
    for t, (g_t, lr) in enumerate(zip(grads, lrs), start=1):
        clr = lr / (1 + (t - 1) * hp["lr_decay"])
        for i in range(N):
            g = g_t[i] + hp["weight_decay"] * p[i]
            s[i] += g * g
            p[i] -= clr * g / (math.sqrt(s[i]) + hp["eps"])
        out.append(list(p))
    return out


def ref_rmsprop(hp, init, grads, lrs):
    p = list(init)
    v = [0.0] * N
    ga = [0.0] * N
    b = [0.0] * N
    a, eps, mom = hp["alpha"], hp["eps"], hp["momentum"]
    out = []
    for g_t, lr in zip(grads, lrs):
        for i in range(N):
            g = g_t[i] + hp["weight_decay"] * p[i]
            v[i] = a * v[i] + (1 - a) * g * g
            if hp["centered"]:
                ga[i] = a * ga[i] + (1 - a) * g
                avg = math.sqrt(v[i] - ga[i] * ga[i]) + eps
            else:
                avg = math.sqrt(v[i]) + eps
            if mom > 0:
                b[i] = mom * b[i] + g / avg
                p[i] -= lr * b[i]
            else:
                p[i] -= lr * g / avg
        out.append(list(p))
    return out


def ref_adam(hp, init, grads, lrs, decoupled):
    """Adam (decoupled=False: L2 weight decay added to the gradient) / AdamW."""
    p = list(init)
    m = [0.0] * N
    v = [0.0] * N
    vmax = [0.0] * N
    b1, b2, eps, wd = hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"]
    out = []
    for t, (g_t, lr) in enumerate(zip(grads, lrs), start=1):
        bc1 = 1 - b1 ** t
        bc2 = 1 - b2 ** t
        for i in range(N):
            g = g_t[i]
            if decoupled:
                p[i] *= 1 - lr * wd
            else:
                g = g + wd * p[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            if hp["amsgrad"]:
                vmax[i] = max(vmax[i], v[i])
                denom = math.sqrt(vmax[i]) / math.sqrt(bc2) + eps
            else:
                denom = math.sqrt(v[i]) / math.sqrt(bc2) + eps
            p[i] -= lr / bc1 * m[i] / denom
        out.append(list(p))
    return out


def ref_radam(hp, init, grads, lrs):
    p = list(init)
    m = [0.0] * N
    v = [0.0] * N
    b1, b2, eps, wd = hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"]
    rho_inf = 2 / (1 - b2) - 1
    out = []
    for t, (g_t, lr) in enumerate(zip(grads, lrs), start=1):
        bc1 = 1 - b1 ** t
        bc2 = 1 - b2 ** t
        rho_t = rho_inf - 2 * t * b2 ** t / bc2
        for i in range(N):
            g = g_t[i]
            if hp["decoupled_weight_decay"]:
                p[i] *= 1 - lr * wd
            else:
                g = g + wd * p[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            mhat = m[i] / bc1
            if rho_t > 5.0:
                rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                                 / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                adaptive = math.sqrt(bc2) / (math.sqrt(v[i]) + eps)
                p[i] -= mhat * lr * adaptive * rect
            else:
                p[i] -= mhat * lr  # un-adapted (SGD-with-momentum-like) step
        out.append(list(p))
    return out


def ref_nadam(hp, init, grads, lrs):
    p = list(init)
    m = [0.0] * N
    v = [0.0] * N
    b1, b2, eps, wd, psi = hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"], hp["momentum_decay"]
    mu_prod = 1.0
    out = []
    for t, (g_t, lr) in enumerate(zip(grads, lrs), start=1):
        bc2 = 1 - b2 ** t
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        mu_prod *= mu
        mu_prod_next = mu_prod * mu_next
        for i in range(N):
            g = g_t[i]
            if hp["decoupled_weight_decay"]:
                p[i] *= 1 - lr * wd
            else:
                g = g + wd * p[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            denom = math.sqrt(v[i] / bc2) + eps
            p[i] += -lr * (1.0 - mu) / (1.0 - mu_prod) * g / denom
            p[i] += -lr * mu_next / (1.0 - mu_prod_next) * m[i] / denom
        out.append(list(p))
    return out


# --------------------------------------------------------------------------
# optimizer traces
# --------------------------------------------------------------------------

OPT_CLASSES = {
    "SGD": torch.optim.SGD,
    "Adagrad": torch.optim.Adagrad,
    "RMSprop": torch.optim.RMSprop,
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
    "RAdam": torch.optim.RAdam,
    "NAdam": torch.optim.NAdam,
}

# hyper-parameters written in the `params` line, per optimizer, in this order
HP_KEYS = {
    "SGD": ["lr", "momentum", "dampening", "weight_decay", "nesterov"],
    "Adagrad": ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"],
    "RMSprop": ["lr", "alpha", "eps", "weight_decay", "momentum", "centered"],
    "Adam": ["lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad", "decoupled_weight_decay"],
    "AdamW": ["lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"],
    "RAdam": ["lr", "beta1", "beta2", "eps", "weight_decay", "decoupled_weight_decay"],
    "NAdam": ["lr", "beta1", "beta2", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay"],
}


def ref_run(opt, hp, init, grads, lrs):
    if opt == "SGD":
        return ref_sgd(hp, init, grads, lrs)
    if opt == "Adagrad":
        return ref_adagrad(hp, init, grads, lrs)
    if opt == "RMSprop":
        return ref_rmsprop(hp, init, grads, lrs)
    if opt == "Adam":
        return ref_adam(hp, init, grads, lrs, decoupled=hp["decoupled_weight_decay"])
    if opt == "AdamW":
        return ref_adam(hp, init, grads, lrs, decoupled=True)
    if opt == "RAdam":
        return ref_radam(hp, init, grads, lrs)
    if opt == "NAdam":
        return ref_nadam(hp, init, grads, lrs)
    raise KeyError(opt)


def torch_run(opt, kwargs, init, grads, lrs, dtype):
    torch.set_default_dtype(dtype)  # scalar optimizer state (step, mu_product) in this dtype
    try:
        p = torch.nn.Parameter(torch.tensor(init, dtype=dtype))
        o = OPT_CLASSES[opt]([p], lr=lrs[0], foreach=False, **kwargs)
        out = []
        for g, lr in zip(grads, lrs):
            for group in o.param_groups:
                group["lr"] = lr
            p.grad = torch.tensor(g, dtype=dtype)
            o.step()
            out.append([float(x) for x in p.detach().tolist()])
        hp = {}
        d = o.param_groups[0]
        for k in HP_KEYS[opt]:
            if k == "lr":
                hp[k] = float(lrs[0])
            elif k == "beta1":
                hp[k] = float(d["betas"][0])
            elif k == "beta2":
                hp[k] = float(d["betas"][1])
            elif k in ("nesterov", "centered", "amsgrad", "decoupled_weight_decay"):
                hp[k] = bool(d[k])
            else:
                hp[k] = float(d[k])
        return out, hp
    finally:
        torch.set_default_dtype(torch.float32)


def max_dev(a, b):
    m = 0.0
    for ra, rb in zip(a, b):
        for x, y in zip(ra, rb):
            m = max(m, abs(x - y) / max(1.0, abs(y)))
    return m


# name, optimizer, torch kwargs (beyond lr), lr0, gradient set, lr schedule, description
OPT_TRACES = [
    # SGD
    ("sgd_plain", "SGD", {}, SGD_LR, "wide", "const", "plain SGD"),
    ("sgd_momentum", "SGD", {"momentum": 0.9}, SGD_LR, "wide", "const", "momentum 0.9 (first step: buf = g)"),
    ("sgd_momentum_dampening", "SGD", {"momentum": 0.9, "dampening": 0.1}, SGD_LR, "wide", "const",
     "momentum 0.9, dampening 0.1 (not applied on the first step)"),
    ("sgd_nesterov", "SGD", {"momentum": 0.9, "nesterov": True}, SGD_LR, "wide", "const", "Nesterov momentum 0.9"),
    ("sgd_weight_decay", "SGD", {"weight_decay": 0.01}, SGD_LR, "wide", "const", "weight_decay 0.01, no momentum"),
    ("sgd_momentum_weight_decay", "SGD", {"momentum": 0.9, "weight_decay": 0.01}, SGD_LR, "wide", "const",
     "momentum 0.9 + weight_decay 0.01"),
    ("sgd_momentum_lrchange", "SGD", {"momentum": 0.9}, SGD_LR, "wide", "change",
     "momentum 0.9; lr halved at step 10, restored at step 20"),
    # Adagrad
    ("adagrad_default", "Adagrad", {}, ADAGRAD_LR, "wide", "const", "defaults"),
    ("adagrad_lr_decay", "Adagrad", {"lr_decay": 0.01}, ADAGRAD_LR, "wide", "const", "lr_decay 0.01: clr = lr/(1+(t-1)*lr_decay)"),
    ("adagrad_init_acc", "Adagrad", {"initial_accumulator_value": 0.1}, ADAGRAD_LR, "wide", "const",
     "initial_accumulator_value 0.1"),
    ("adagrad_eps", "Adagrad", {"eps": 1e-3}, ADAGRAD_LR, "wide", "const", "eps 1e-3 (matters for the 1e-6..1e-2 elements)"),
    ("adagrad_weight_decay", "Adagrad", {"weight_decay": 0.01}, ADAGRAD_LR, "wide", "const", "weight_decay 0.01"),
    # RMSprop
    ("rmsprop_default", "RMSprop", {}, RMSPROP_LR, "wide", "const", "defaults"),
    ("rmsprop_centered", "RMSprop", {"centered": True}, RMSPROP_LR, "wide", "const", "centered"),
    ("rmsprop_momentum", "RMSprop", {"momentum": 0.9}, RMSPROP_MOM_LR, "wide", "const", "momentum 0.9"),
    ("rmsprop_centered_momentum", "RMSprop", {"centered": True, "momentum": 0.9}, RMSPROP_MOM_LR, "wide", "const",
     "centered + momentum 0.9"),
    ("rmsprop_weight_decay", "RMSprop", {"weight_decay": 0.01}, RMSPROP_LR, "wide", "const", "weight_decay 0.01"),
    ("rmsprop_alpha", "RMSprop", {"alpha": 0.9}, RMSPROP_LR, "wide", "const", "alpha 0.9"),
    # Adam
    ("adam_default", "Adam", {}, ADAM_LR, "wide", "const", "defaults"),
    ("adam_amsgrad", "Adam", {"amsgrad": True}, ADAM_LR, "wide", "const", "amsgrad"),
    ("adam_weight_decay", "Adam", {"weight_decay": 0.01}, ADAM_LR, "wide", "const",
     "weight_decay 0.01 (L2: added to the gradient)"),
    ("adam_betas", "Adam", {"betas": (0.8, 0.99)}, ADAM_LR, "wide", "const", "betas (0.8, 0.99)"),
    ("adam_tiny_grads", "Adam", {}, ADAM_LR, "tiny", "const",
     "gradients 1e-7..1e-6 so eps=1e-8 changes each step by >1%"),
    ("adam_eps", "Adam", {"eps": 1e-3}, ADAM_LR, "wide", "const", "eps 1e-3"),
    ("adam_lrchange", "Adam", {}, ADAM_LR, "wide", "change", "defaults; lr halved at step 10, restored at step 20"),
    # AdamW
    ("adamw_default", "AdamW", {}, ADAM_LR, "wide", "const", "defaults (weight_decay 0.01, decoupled)"),
    ("adamw_weight_decay", "AdamW", {"weight_decay": 0.1}, ADAM_LR, "wide", "const", "weight_decay 0.1"),
    ("adamw_amsgrad", "AdamW", {"amsgrad": True}, ADAM_LR, "wide", "const", "amsgrad, weight_decay 0.01"),
    ("adamw_lrchange", "AdamW", {"weight_decay": 0.1}, ADAM_LR, "wide", "change",
     "weight_decay 0.1; lr halved at step 10, restored at step 20 (decay uses the current lr)"),
    # RAdam
    ("radam_default", "RAdam", {}, RADAM_LR, "wide", "const",
     "defaults; steps 1-5 have rho_t <= 5 and use the un-adapted step p -= lr*m_hat"),
    ("radam_weight_decay", "RAdam", {"weight_decay": 0.01}, RADAM_LR, "wide", "const", "weight_decay 0.01 (L2)"),
    ("radam_decoupled", "RAdam", {"weight_decay": 0.01, "decoupled_weight_decay": True}, RADAM_LR, "wide", "const",
     "weight_decay 0.01, decoupled_weight_decay=True"),
    # NAdam
    ("nadam_default", "NAdam", {}, ADAM_LR, "wide", "const", "defaults (momentum_decay 0.004)"),
    ("nadam_momentum_decay", "NAdam", {"momentum_decay": 0.01}, ADAM_LR, "wide", "const", "momentum_decay 0.01"),
    ("nadam_weight_decay", "NAdam", {"weight_decay": 0.01}, ADAM_LR, "wide", "const", "weight_decay 0.01 (L2)"),
    ("nadam_decoupled", "NAdam", {"weight_decay": 0.01, "decoupled_weight_decay": True}, ADAM_LR, "wide", "const",
     "weight_decay 0.01, decoupled_weight_decay=True"),
]


def header_common(kind, name, description):
    return [
        f"# microtrain golden trace, generated by host-tests/reference/make_golden.py",
        f"# torch_version={torch.__version__}",
        f"# kind={kind}",
        f"# name={name}",
        f"# description={description}",
    ]


def make_optimizer_traces(summary, index):
    os.makedirs(os.path.join(OUT, "optim"), exist_ok=True)
    for name, opt, kwargs, lr0, gset, lrkind, desc in OPT_TRACES:
        grads = GRADS[gset]
        lrs = lr_constant(lr0) if lrkind == "const" else lr_change(lr0)
        p64, hp = torch_run(opt, kwargs, INIT, grads, lrs, torch.float64)
        p32, _ = torch_run(opt, kwargs, INIT, grads, lrs, torch.float32)
        dev32 = max_dev(p32, p64)
        pref = ref_run(opt, hp, INIT, grads, lrs)
        devref = max_dev(pref, p64)
        if devref > INDEPENDENT_TOL:
            raise SystemExit(f"{name}: independent re-implementation deviates by {devref:.3e}")
        lines = header_common("optimizer", name, desc)
        lines += [
            f"# optimizer={opt}",
            "# reference_dtype=float64",
            f"# n={N}",
            f"# steps={STEPS}",
            f"# gradients={gset}",
            f"# lr_schedule={'constant' if lrkind == 'const' else 'lr0 for steps 1..9, lr0/2 for 10..19, lr0 for 20..30'}",
            f"# f32_vs_f64_max_dev={dev32:.3e}",
            "# f32_vs_f64_metric=max over t,i of |p_f32 - p_f64| / max(1, |p_f64|) (same run in torch float32)",
            f"# independent_check_max_dev={devref:.3e}",
            "# line order per step t=1..steps: lr t v / grad t g1..gn / param t p1..pn (param = after opt.step())",
            "params " + " ".join(f"{k}={fmt_param(v)}" for k, v in hp.items()),
            "init " + " ".join(fmt(x) for x in INIT),
        ]
        for t in range(STEPS):
            lines.append(f"lr {t + 1} {fmt(lrs[t])}")
            lines.append(f"grad {t + 1} " + " ".join(fmt(x) for x in grads[t]))
            lines.append(f"param {t + 1} " + " ".join(fmt(x) for x in p64[t]))
        rel = f"optim/{name}.txt"
        with open(os.path.join(OUT, rel), "w") as f:
            f.write("\n".join(lines) + "\n")
        summary.append((rel, dev32, devref))
        index.append((rel, "optimizer", desc))
        print(f"{rel:45s} f32_vs_f64={dev32:.3e} independent={devref:.3e}")


# --------------------------------------------------------------------------
# LR schedules
# --------------------------------------------------------------------------

W_INVSQRT = 8
K_INVTIME = 0.1


def inv_sqrt_warmup(t):
    return min((t + 1) / W_INVSQRT, math.sqrt(W_INVSQRT / (t + 1)))


def inv_time_decay(t):
    return 1.0 / (1.0 + K_INVTIME * t)


def cos_closed(base, eta_min, t, T):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T)) / 2


def warm_restarts_closed(base, eta_min, t, T0, Tmult):
    Ti, Tcur = T0, t
    while Tcur >= Ti:
        Tcur -= Ti
        Ti *= Tmult
    return cos_closed(base, eta_min, Tcur, Ti)


def onecycle_closed(t, total, max_lr, div=25.0, final_div=1e4, pct_start=0.3, three_phase=False,
                    base_m=0.85, max_m=0.95):
    init_lr = max_lr / div
    min_lr = init_lr / final_div
    if three_phase:
        phases = [(float(pct_start * total) - 1, init_lr, max_lr, max_m, base_m),
                  (float(2 * pct_start * total) - 2, max_lr, init_lr, base_m, max_m),
                  (total - 1, init_lr, min_lr, max_m, max_m)]
    else:
        phases = [(float(pct_start * total) - 1, init_lr, max_lr, max_m, base_m),
                  (total - 1, max_lr, min_lr, base_m, max_m)]
    start = 0.0
    for k, (end, l0, l1, m0, m1) in enumerate(phases):
        if t <= end or k == len(phases) - 1:
            pct = (t - start) / (end - start)
            c = math.cos(math.pi * pct) + 1
            return l1 + (l0 - l1) / 2.0 * c, m1 + (m0 - m1) / 2.0 * c
        start = end


def sched_specs():
    B = 0.1
    S = torch.optim.lr_scheduler
    return [
        ("steplr", "StepLR", {"step_size": 10, "gamma": 0.5}, SCHED_EPOCHS,
         lambda o: S.StepLR(o, step_size=10, gamma=0.5),
         "lr_t = base * gamma^floor(t/step_size)", lambda t: B * 0.5 ** (t // 10), "StepLR(step_size=10, gamma=0.5)"),
        ("multisteplr", "MultiStepLR", {"milestones": "10,25,40", "gamma": 0.3}, SCHED_EPOCHS,
         lambda o: S.MultiStepLR(o, milestones=[10, 25, 40], gamma=0.3),
         "lr_t = base * gamma^(number of milestones <= t)",
         lambda t: B * 0.3 ** sum(1 for m in (10, 25, 40) if m <= t), "MultiStepLR(milestones=[10,25,40], gamma=0.3)"),
        ("exponentiallr", "ExponentialLR", {"gamma": 0.95}, SCHED_EPOCHS,
         lambda o: S.ExponentialLR(o, gamma=0.95),
         "lr_t = base * gamma^t", lambda t: B * 0.95 ** t, "ExponentialLR(gamma=0.95)"),
        ("polynomiallr_p2", "PolynomialLR", {"total_iters": 50, "power": 2.0}, SCHED_EPOCHS,
         lambda o: S.PolynomialLR(o, total_iters=50, power=2.0),
         "lr_t = base * (1 - min(t,total_iters)/total_iters)^power",
         lambda t: B * (1 - min(t, 50) / 50) ** 2.0, "PolynomialLR(total_iters=50, power=2); lr stays 0 after total_iters"),
        ("polynomiallr_p1", "PolynomialLR", {"total_iters": 50, "power": 1.0}, SCHED_EPOCHS,
         lambda o: S.PolynomialLR(o, total_iters=50, power=1.0),
         "lr_t = base * (1 - min(t,total_iters)/total_iters)^power",
         lambda t: B * (1 - min(t, 50) / 50) ** 1.0, "PolynomialLR(total_iters=50, power=1): linear decay; lr stays 0 after total_iters"),
        ("linearlr_warmup", "LinearLR", {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 10}, SCHED_EPOCHS,
         lambda o: S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10),
         "lr_t = base * (start_factor + (end_factor-start_factor)*min(t,total_iters)/total_iters)",
         lambda t: B * (0.1 + 0.9 * min(t, 10) / 10), "LinearLR(start_factor=0.1, total_iters=10) as warm-up"),
        ("cosineannealinglr", "CosineAnnealingLR", {"T_max": 20, "eta_min": 0.001}, SCHED_EPOCHS,
         lambda o: S.CosineAnnealingLR(o, T_max=20, eta_min=0.001),
         "lr_t = eta_min + (base-eta_min)*(1+cos(pi*t/T_max))/2 (periodic with period 2*T_max beyond T_max)",
         lambda t: cos_closed(B, 0.001, t, 20),
         "CosineAnnealingLR(T_max=20, eta_min=0.001), run to t=60 > T_max: the lr goes back up (period 2*T_max)"),
        ("cosinewarmrestarts", "CosineAnnealingWarmRestarts", {"T_0": 10, "T_mult": 2, "eta_min": 0.001},
         SCHED_EPOCHS,
         lambda o: S.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=0.001),
         "lr_t = eta_min + (base-eta_min)*(1+cos(pi*T_cur/T_i))/2; restarts at t=10,30,70 (T_i=10,20,40)",
         lambda t: warm_restarts_closed(B, 0.001, t, 10, 2),
         "CosineAnnealingWarmRestarts(T_0=10, T_mult=2, eta_min=0.001)"),
        ("onecyclelr", "OneCycleLR",
         {"max_lr": 0.1, "total_steps": 60, "pct_start": 0.3, "anneal_strategy": "cos", "div_factor": 25.0,
          "final_div_factor": 10000.0, "three_phase": False, "base_momentum": 0.85, "max_momentum": 0.95},
         59,
         lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=60),
         "initial_lr=max_lr/div_factor, min_lr=initial_lr/final_div_factor; phase 1 (t=0..pct_start*total-1=17) "
         "cos-anneal initial_lr->max_lr, phase 2 (t=17..total-1=59) max_lr->min_lr; "
         "anneal(a,b,pct)=b+(a-b)/2*(cos(pi*pct)+1), pct=(t-phase_start)/(phase_end-phase_start); "
         "momentum anneals max_momentum->base_momentum->max_momentum the same way",
         lambda t: onecycle_closed(t, 60, 0.1)[0],
         "OneCycleLR(max_lr=0.1, total_steps=60), cos anneal, two phases; optimizer SGD(momentum=0.9), "
         "its lr 0.1 is overridden by OneCycleLR; t=0..total_steps-1; momentum lines give group['momentum']"),
        ("onecyclelr_three_phase", "OneCycleLR",
         {"max_lr": 0.1, "total_steps": 60, "pct_start": 0.3, "anneal_strategy": "cos", "div_factor": 25.0,
          "final_div_factor": 10000.0, "three_phase": True, "base_momentum": 0.85, "max_momentum": 0.95},
         59,
         lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=60, three_phase=True),
         "phases end at t=pct_start*total-1=17 (initial_lr->max_lr), 2*pct_start*total-2=34 (max_lr->initial_lr), "
         "total-1=59 (initial_lr->min_lr); anneal(a,b,pct)=b+(a-b)/2*(cos(pi*pct)+1); "
         "momentum max->base->max->max",
         lambda t: onecycle_closed(t, 60, 0.1, three_phase=True)[0],
         "OneCycleLR(max_lr=0.1, total_steps=60, three_phase=True); optimizer SGD(momentum=0.9), its lr 0.1 is overridden by OneCycleLR; t=0..total_steps-1; "
         "momentum lines give group['momentum']"),
        ("sequentiallr_warmup_cosine", "SequentialLR",
         {"warmup": "LinearLR", "warmup_start_factor": 0.1, "warmup_end_factor": 1.0, "warmup_total_iters": 5,
          "then": "CosineAnnealingLR", "T_max": 55, "eta_min": 0.001, "milestones": "5"},
         SCHED_EPOCHS,
         lambda o: S.SequentialLR(o, schedulers=[S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=5),
                                                 S.CosineAnnealingLR(o, T_max=55, eta_min=0.001)],
                                  milestones=[5]),
         "t<5: base*(0.1+0.9*t/5); t>=5: eta_min+(base-eta_min)*(1+cos(pi*(t-5)/55))/2",
         lambda t: B * (0.1 + 0.9 * t / 5) if t < 5 else cos_closed(B, 0.001, t - 5, 55),
         "SequentialLR([LinearLR(start_factor=0.1, total_iters=5), CosineAnnealingLR(T_max=55, eta_min=0.001)], "
         "milestones=[5])"),
        ("lambdalr_inv_sqrt_warmup", "LambdaLR", {"lambda": "inv_sqrt_warmup", "W": 8}, SCHED_EPOCHS,
         lambda o: S.LambdaLR(o, lr_lambda=inv_sqrt_warmup),
         "lr_t = base * f(t), f(t) = min((t+1)/W, sqrt(W/(t+1))), W=8",
         lambda t: B * inv_sqrt_warmup(t),
         "LambdaLR: inverse-square-root decay with linear warm-up, f(t) = min((t+1)/W, sqrt(W/(t+1))), W=8"),
        ("lambdalr_inv_time", "LambdaLR", {"lambda": "inv_time_decay", "k": 0.1}, SCHED_EPOCHS,
         lambda o: S.LambdaLR(o, lr_lambda=inv_time_decay),
         "lr_t = base * f(t), f(t) = 1/(1 + k*t), k=0.1",
         lambda t: B * inv_time_decay(t), "LambdaLR: 1/t decay lr0/(1+k*t), k=0.1"),
    ]


def make_sched_traces(summary, index):
    os.makedirs(os.path.join(OUT, "sched"), exist_ok=True)
    for name, sname, hp, epochs, ctor, closed_desc, closed, note in sched_specs():
        torch.set_default_dtype(torch.float64)
        p = torch.nn.Parameter(torch.zeros(1))
        momentum = 0.9 if sname == "OneCycleLR" else 0.0
        opt = torch.optim.SGD([p], lr=0.1, momentum=momentum)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched = ctor(opt)
            lrs = [opt.param_groups[0]["lr"]]
            moms = [opt.param_groups[0]["momentum"]]
            for _ in range(epochs):
                opt.step()  # p.grad is None: a no-op, keeps the call order torch expects
                sched.step()
                lr = opt.param_groups[0]["lr"]
                assert sched.get_last_lr()[0] == lr
                lrs.append(lr)
                moms.append(opt.param_groups[0]["momentum"])
        torch.set_default_dtype(torch.float32)
        cf = [closed(t) for t in range(len(lrs))]
        dabs = max(abs(a - b) for a, b in zip(lrs, cf))
        drel = max(abs(a - b) / abs(b) if b != 0 else abs(a - b) for a, b in zip(lrs, cf))
        lines = header_common("lr_schedule", name, note)
        lines += [
            f"# scheduler={sname}",
            "# optimizer=SGD(lr=base_lr)",
            "# usage=chainable: opt.step(); scheduler.step() once per epoch",
            f"# scheduler_steps={epochs}",
            "# lr t v = param_groups[0]['lr'] after t scheduler.step() calls = lr used in epoch t",
            f"# closed_form={closed_desc}",
            f"# closed_form_max_abs_dev={dabs:.3e}",
            f"# closed_form_max_rel_dev={drel:.3e}",
            "params base_lr=0.1 " + " ".join(f"{k}={fmt_param(v)}" for k, v in hp.items()),
        ]
        for t, lr in enumerate(lrs):
            lines.append(f"lr {t} {fmt(lr)}")
        if sname == "OneCycleLR":
            for t, m in enumerate(moms):
                lines.append(f"momentum {t} {fmt(m)}")
            mcf = [onecycle_closed(t, 60, 0.1, three_phase=hp["three_phase"])[1] for t in range(len(moms))]
            mdev = max(abs(a - b) for a, b in zip(moms, mcf))
            if mdev > 1e-12:
                raise SystemExit(f"{name}: momentum closed form deviates by {mdev}")
        rel = f"sched/{name}.txt"
        with open(os.path.join(OUT, rel), "w") as f:
            f.write("\n".join(lines) + "\n")
        summary.append((rel, dabs, drel))
        index.append((rel, "lr_schedule", note))
        print(f"{rel:45s} closed_form abs={dabs:.3e} rel={drel:.3e}")


# --------------------------------------------------------------------------
# ReduceLROnPlateau
# --------------------------------------------------------------------------

# Loss-like sequence (mode=min), steps t=1..50.  Designed so that: torch's default
# patience 10 triggers once (11 bad epochs t=7..17, including gains smaller than the
# relative threshold 1e-4); t=18..23 and later are gains of 2e-4..3e-4 (better for
# threshold_mode rel 1e-4, bad for abs 0.01); patience 3 triggers 3 times, so
# cooldown, min_lr, factor and eps all change the trace; patience 0 drives the lr
# down until the default eps=1e-8 stops it.  No comparison is within 1e-6 relative
# of a tie (checked).  Values are f32-exact.
METRIC_MIN = [f32(x) for x in (
    1.0, 0.8, 0.7, 0.65, 0.62, 0.6,                                          # 1-6 improving
    0.61, 0.605, 0.6001, 0.62, 0.59996, 0.63, 0.61, 0.6005, 0.6, 0.605, 0.61,  # 7-17 no real gain
    0.595, 0.5899, 0.5895, 0.5893, 0.5891, 0.5889,                           # 18-23 small gains
    0.6, 0.61, 0.5887, 0.62,                                                 # 24-27
    0.57, 0.5695, 0.58, 0.5693, 0.585, 0.5691, 0.59,                         # 28-34
    0.55, 0.56, 0.5498, 0.57, 0.58, 0.59, 0.5497,                            # 35-41
    0.53, 0.5299, 0.54, 0.5298, 0.55, 0.56, 0.57, 0.58, 0.5,                 # 42-50
)]

# Accuracy-like sequence (mode=max), same structure.
METRIC_MAX = [f32(x) for x in (
    0.1, 0.3, 0.45, 0.55, 0.6, 0.62,
    0.61, 0.615, 0.62005, 0.6, 0.619, 0.58, 0.6201, 0.61, 0.62, 0.605, 0.6,
    0.625, 0.63, 0.6305, 0.6308, 0.6311, 0.6314,
    0.62, 0.61, 0.6317, 0.6,
    0.65, 0.6505, 0.64, 0.6508, 0.63, 0.6511, 0.62,
    0.67, 0.66, 0.6702, 0.65, 0.64, 0.63, 0.6704,
    0.69, 0.6902, 0.68, 0.6904, 0.67, 0.66, 0.65, 0.64, 0.7,
)]

PLATEAU_TRACES = [
    # name, kwargs, metric sequence name, description
    ("plateau_min_default", {}, "min", "mode=min, all torch defaults (patience 10, factor 0.1, threshold 1e-4 rel)"),
    ("plateau_min_p3", {"patience": 3}, "min", "mode=min, patience 3 (baseline for the variants below)"),
    ("plateau_max", {"mode": "max", "patience": 3}, "max", "mode=max, patience 3, accuracy-like metric"),
    ("plateau_abs_threshold", {"patience": 3, "threshold_mode": "abs", "threshold": 0.01}, "min",
     "threshold_mode abs, threshold 0.01, patience 3 (gains < 0.01 are bad epochs; lr ends at the eps=1e-8 floor)"),
    ("plateau_cooldown", {"patience": 3, "cooldown": 2}, "min", "cooldown 2, patience 3"),
    ("plateau_patience0", {"patience": 0}, "min",
     "patience 0: every bad epoch reduces, until the default eps=1e-8 skips the step 1e-8 -> 1e-9"),
    ("plateau_min_lr", {"patience": 3, "min_lr": 0.02}, "min", "min_lr 0.02 (0.1 -> 0.02 clamp), patience 3"),
    ("plateau_factor", {"patience": 3, "factor": 0.5}, "min", "factor 0.5, patience 3"),
    ("plateau_eps", {"patience": 3, "factor": 0.9, "eps": 0.0095}, "min",
     "factor 0.9, eps 0.0095: 0.1->0.09 applied (diff 0.01), 0.09->0.081 skipped (diff 0.009 <= eps)"),
    ("plateau_eps_min_lr", {"patience": 3, "min_lr": 0.0995, "eps": 1e-3}, "min",
     "min_lr 0.0995 close to lr 0.1, eps 1e-3: the reduction to 0.0995 (diff 5e-4) is skipped"),
]

PLATEAU_DEFAULTS = {"mode": "min", "factor": 0.1, "patience": 10, "threshold": 1e-4, "threshold_mode": "rel",
                    "cooldown": 0, "min_lr": 0.0, "eps": 1e-8}


def plateau_torch(kwargs, metrics):
    torch.set_default_dtype(torch.float64)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    s = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    lrs = [opt.param_groups[0]["lr"]]
    for m in metrics:
        opt.step()
        s.step(m)
        lrs.append(float(opt.param_groups[0]["lr"]))
    torch.set_default_dtype(torch.float32)
    return lrs


def plateau_ref(hp, metrics):
    lr = 0.1
    best = math.inf if hp["mode"] == "min" else -math.inf
    bad = 0
    cool = 0
    lrs = [lr]
    for a in metrics:
        if hp["mode"] == "min":
            better = a < (best * (1 - hp["threshold"]) if hp["threshold_mode"] == "rel" else best - hp["threshold"])
        else:
            better = a > (best * (1 + hp["threshold"]) if hp["threshold_mode"] == "rel" else best + hp["threshold"])
        if better:
            best = a
            bad = 0
        else:
            bad += 1
        if cool > 0:
            cool -= 1
            bad = 0
        if bad > hp["patience"]:
            new = max(lr * hp["factor"], hp["min_lr"])
            if lr - new > hp["eps"]:
                lr = new
            cool = hp["cooldown"]
            bad = 0
        lrs.append(lr)
    return lrs


def make_plateau_traces(summary, index):
    os.makedirs(os.path.join(OUT, "plateau"), exist_ok=True)
    seqs = {"min": METRIC_MIN, "max": METRIC_MAX}
    results = {}
    for name, kwargs, seq, desc in PLATEAU_TRACES:
        metrics = seqs[seq]
        hp = dict(PLATEAU_DEFAULTS)
        hp.update(kwargs)
        lrs = plateau_torch(kwargs, metrics)
        if plateau_ref(hp, metrics) != lrs:
            raise SystemExit(f"{name}: independent re-implementation disagrees with torch")
        # robustness: relative perturbations of 1e-6 must not change the trace
        rng = random.Random(12345)
        for trial in range(300):
            pert = [m * (1 + rng.choice((-1e-6, 1e-6))) for m in metrics]
            if plateau_torch(kwargs, pert) != lrs:
                raise SystemExit(f"{name}: trace is sensitive to 1e-6 metric perturbations (trial {trial})")
        reductions = sum(1 for a, b in zip(lrs, lrs[1:]) if b != a)
        results[name] = lrs
        lines = header_common("plateau", name, desc)
        lines += [
            "# scheduler=ReduceLROnPlateau",
            "# optimizer=SGD(lr=0.1)",
            f"# steps={len(metrics)}",
            "# metric t m = value passed to the t-th scheduler.step(m) (t=1..steps);"
            " lr t v = param_groups[0]['lr'] after that call; lr 0 = initial lr",
            f"# reductions={reductions}",
            "# robustness=trace unchanged under 300 random relative metric perturbations of +-1e-6",
            "params base_lr=0.1 " + " ".join(f"{k}={fmt_param(hp[k])}" for k in PLATEAU_DEFAULTS),
            "lr 0 " + fmt(lrs[0]),
        ]
        for t, m in enumerate(metrics, start=1):
            lines.append(f"metric {t} {fmt(m)}")
            lines.append(f"lr {t} {fmt(lrs[t])}")
        rel = f"plateau/{name}.txt"
        with open(os.path.join(OUT, rel), "w") as f:
            f.write("\n".join(lines) + "\n")
        index.append((rel, "plateau", desc))
        changes = [(t, lrs[t]) for t in range(1, len(lrs)) if lrs[t] != lrs[t - 1]]
        print(f"{rel:45s} reductions at (t, new lr): {changes}")
    # each variant must actually differ from its baseline, otherwise it tests nothing
    base = results["plateau_min_p3"]
    for name in ("plateau_abs_threshold", "plateau_cooldown", "plateau_min_lr", "plateau_factor",
                 "plateau_eps", "plateau_eps_min_lr", "plateau_patience0"):
        if results[name] == base:
            raise SystemExit(f"{name}: identical to plateau_min_p3, the setting does not matter")
    if results["plateau_min_default"] == [0.1] * len(base):
        raise SystemExit("plateau_min_default never reduces")


# --------------------------------------------------------------------------
# sanity checks of the semantics the Rust side relies on
# --------------------------------------------------------------------------

def read_params(rel):
    out = {}
    with open(os.path.join(OUT, rel)) as f:
        for line in f:
            w = line.split()
            if w and w[0] == "param":
                out[int(w[1])] = [float(x) for x in w[2:]]
    return out


def spot_checks():
    g1 = GRADS["wide"][0]
    # Adam step 1: p1 = p0 - lr * g/(|g| + eps) ~= p0 - lr*sign(g)
    p = read_params("optim/adam_default.txt")[1]
    for i in range(N):
        want = INIT[i] - ADAM_LR * g1[i] / (abs(g1[i]) + 1e-8)
        assert abs(p[i] - want) < 1e-15, ("adam step 1", i, p[i], want)
        if abs(g1[i]) > 1e-5:
            assert abs(p[i] - (INIT[i] - ADAM_LR * math.copysign(1, g1[i]))) < ADAM_LR * 1e-3
    # RAdam steps 1..5: un-adapted p -= lr * m_hat; step 1: m_hat = g
    pr = read_params("optim/radam_default.txt")
    for i in range(N):
        assert abs(pr[1][i] - (INIT[i] - RADAM_LR * g1[i])) < 1e-15, ("radam step 1", i)
    b2 = 0.999
    rho_inf = 2 / (1 - b2) - 1
    rhos = [rho_inf - 2 * t * b2 ** t / (1 - b2 ** t) for t in range(1, 8)]
    assert all(r <= 5 for r in rhos[:5]) and rhos[5] > 5, rhos
    # Adam with tiny gradients: eps=1e-8 changes every step by more than 1%:
    # relative effect eps / (sqrt(v_hat) + eps)
    v = [0.0] * N
    effs = []
    for t, g_t in enumerate(GRADS["tiny"], start=1):
        for i in range(N):
            v[i] = 0.999 * v[i] + 0.001 * g_t[i] ** 2
            effs.append(1e-8 / (math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8))
    assert min(effs) > 0.01, min(effs)
    # SGD momentum with dampening: first step ignores dampening
    ps = read_params("optim/sgd_momentum_dampening.txt")[1]
    for i in range(N):
        assert abs(ps[i] - (INIT[i] - SGD_LR * g1[i])) < 1e-15
    print(f"spot checks ok: Adam step 1 = p0 - lr*g/(|g|+eps); RAdam steps 1-5 un-adapted "
          f"(rho_1..rho_6 = {', '.join(f'{r:.3f}' for r in rhos[:6])}); "
          f"tiny-gradient eps effect {min(effs) * 100:.2f}%..{max(effs) * 100:.2f}% of each step")


def main():
    parse_torch_args(__doc__.splitlines()[0], torch.__version__, EXPECTED_TORCH)
    torch.set_num_threads(1)
    # only its own outputs: golden/layers/ belongs to make_layers.py
    for sub in ("optim", "sched", "plateau"):
        if os.path.isdir(os.path.join(OUT, sub)):
            shutil.rmtree(os.path.join(OUT, sub))
    os.makedirs(OUT, exist_ok=True)
    index = []
    opt_summary, sched_summary = [], []
    print(f"torch {torch.__version__}")
    make_optimizer_traces(opt_summary, index)
    make_sched_traces(sched_summary, index)
    make_plateau_traces([], index)
    spot_checks()
    worst = max(d for _, d, _ in opt_summary)
    print(f"max f32-vs-f64 deviation over all optimizer traces: {worst:.3e} (limit {F32_DEV_LIMIT:.0e})")
    with open(os.path.join(OUT, "index.txt"), "w") as f:
        f.write(f"# microtrain golden traces, torch_version={torch.__version__}\n")
        f.write("# file <path relative to golden/> <kind> <description>\n")
        for rel, kind, desc in index:
            f.write(f"file {rel} {kind} {desc}\n")
    if worst >= F32_DEV_LIMIT:
        raise SystemExit(f"f32-vs-f64 deviation {worst:.3e} is not below {F32_DEV_LIMIT:.0e}")


if __name__ == "__main__":
    main()
