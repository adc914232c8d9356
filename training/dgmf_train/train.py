"""Train a DGMF score model (VE SDE, denoising score matching) or the regression baseline.

    cd training && python3 -m dgmf_train.train poisson --minutes 45 --out runs/poisson.pt
    cd training && python3 -m dgmf_train.train poisson --baseline --minutes 10 --out runs/poisson_reg.pt

All fidelity levels are trained together (fidelity is an input).  The checkpoint holds the raw
and EMA weights, the normalization (data_shift/scale), sigma_min/max and the loss log.
`--snapshot-minutes M` also writes the same checkpoint every M minutes of training to
`<out stem>_<k*M>min.pt` next to `--out` (for an error-vs-training-minutes curve; the learning rate
there is the schedule's for the full `--minutes` budget, not a finished shorter run).
"""
from __future__ import annotations

import argparse
import copy
import math
import time
from pathlib import Path

import numpy as np
import torch

from . import bench
from .model import RegressionNet, ScoreNet, n_params

SIGMA_MIN = 0.01


def max_pairwise_distance(x, max_rows=6000, seed=0):
    """Largest Euclidean distance between rows of x [N, ...]; on a random subset of max_rows
    rows when N is larger (all pairs of 6000 rows is ~18 M distances, seconds on a CPU)."""
    x = torch.as_tensor(x).flatten(1).double()
    if len(x) > max_rows:
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:max_rows]]
    return max(torch.cdist(chunk, x).max().item() for chunk in x.split(1024))


def build_model(name, shape, baseline=False):
    b, m = bench.BENCH[name], bench.BENCH[name]["module"]
    kw = dict(param_min=m.PARAM_LOW, param_max=m.PARAM_HIGH, fidelity=b["fidelity"])
    if b["coords"] is not None:
        kw.update(coord_min=[b["coords"][1]], coord_max=[b["coords"][2]])
    if baseline:
        return RegressionNet(b["dims"], shape, **kw)
    return ScoreNet(b["dims"], **kw)


def lr_at(progress, lr, warmup=0.02):
    """Linear warm-up, then cosine decay to 5 % over the budget (progress in [0, 1])."""
    if progress < warmup:
        return lr * progress / warmup
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def snapshot_path(out, minutes):
    """`runs/burgers.pt`, 10 -> `runs/burgers_10min.pt`."""
    out = Path(out)
    return out.with_name(f"{out.stem}_{minutes:g}min{out.suffix}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", choices=list(bench.BENCH))
    ap.add_argument("--data", default="data")
    ap.add_argument("--out", required=True, help="checkpoint path (.pt)")
    ap.add_argument("--minutes", type=float, default=60.0, help="wall-clock training budget")
    ap.add_argument("--steps", type=int, default=1_000_000, help="step cap")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log-every", type=int, default=200)
    ap.add_argument("--baseline", action="store_true", help="direct MSE regression instead of DSM")
    ap.add_argument("--snapshot-minutes", type=float, default=0.0,
                    help="also save the checkpoint every M minutes to <out stem>_<minutes>min.pt")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    d = bench.load(args.data, args.bench, "train")
    u = torch.from_numpy(d["u"])
    shape = tuple(u.shape[1:])
    # Per-channel normalization: physical u = shift + scale * x.
    dims = [0] + list(range(2, u.dim()))
    shift = u.double().mean(dim=dims)
    scale = u.double().std(dim=dims)
    bshape = (1, -1) + (1,) * (u.dim() - 2)
    x = ((u - shift.float().reshape(bshape)) / scale.float().reshape(bshape)).contiguous()
    cond = [torch.from_numpy(d["params"]), torch.from_numpy(d["fidelity"])]
    if "coords" in d:
        cond.append(torch.from_numpy(d["coords"]))
    sigma_max = max_pairwise_distance(x)
    print(f"{args.bench}: {len(x)} training rows, shape {shape}, shift {shift.tolist()}, "
          f"scale {scale.tolist()}, sigma_max = {sigma_max:.4f} (max pairwise distance)")

    model = build_model(args.bench, shape, args.baseline)
    ema = copy.deepcopy(model).requires_grad_(False)
    print(f"model: {type(model).__name__}, {n_params(model)} parameters")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    log_lo, log_hi = math.log(SIGMA_MIN), math.log(sigma_max)

    def save(path, seconds):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save(dict(bench=args.bench, baseline=args.baseline, shape=shape,
                        model=model.state_dict(), ema=ema.state_dict(), shift=shift.tolist(),
                        scale=scale.tolist(), sigma_min=SIGMA_MIN, sigma_max=sigma_max, steps=step,
                        seconds=seconds, log=log, args=vars(args)), path)
        print(f"wrote {path}", flush=True)

    budget = 60.0 * args.minutes
    n_snap = 0
    t0 = time.perf_counter()
    log, running, n_run, step = [], 0.0, 0, 0
    while step < args.steps:
        elapsed = time.perf_counter() - t0
        if elapsed >= budget:
            break
        if args.snapshot_minutes > 0 and elapsed >= 60.0 * args.snapshot_minutes * (n_snap + 1):
            n_snap += 1
            save(snapshot_path(args.out, args.snapshot_minutes * n_snap), elapsed)
        for g in opt.param_groups:
            g["lr"] = lr_at(max(elapsed / budget, step / args.steps), args.lr)
        idx = torch.randint(len(x), (args.batch,), generator=gen)
        xb, cb = x[idx], [c[idx] for c in cond]
        if args.baseline:
            loss = ((model(*cb) - xb) ** 2).mean()
        else:
            # sigma log-uniform in [sigma_min, sigma_max]; EDM weighting lambda = 1/c_out^2 on
            # |D - x|^2, i.e. a plain MSE on the raw network against (x - c_skip z)/c_out.
            sigma = torch.exp(log_lo + (log_hi - log_lo) * torch.rand(args.batch, generator=gen))
            eps = torch.randn(xb.shape, generator=gen)
            _, c_skip, c_out, _ = model.precond(sigma, xb.dim())
            z = xb + sigma.reshape(c_out.shape) * eps
            loss = ((model.raw(z, sigma, *cb) - (xb - c_skip * z) / c_out) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            decay = min(args.ema, (1 + step) / (10 + step))  # short EMA while it is young
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - decay)
        step += 1
        running += loss.item()
        n_run += 1
        if step % args.log_every == 0:
            el = time.perf_counter() - t0
            log.append((step, el, running / n_run))
            print(f"step {step:6d}  {el:7.1f} s  {1e3 * el / step:6.1f} ms/step  "
                  f"loss {running / n_run:.5f}  lr {opt.param_groups[0]['lr']:.2e}", flush=True)
            running, n_run = 0.0, 0
    el = time.perf_counter() - t0
    print(f"done: {step} steps in {el:.1f} s ({1e3 * el / max(step, 1):.1f} ms/step)")

    save(args.out, el)


if __name__ == "__main__":
    main()
