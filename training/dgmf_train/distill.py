"""Distil a score model into a one- or two-step student (docs/distill.md).

    dgmf-train distill ../models/poisson.onnx --minutes 40 --out runs/poisson_fast.pt
    dgmf-train distill runs/mine.pt --minutes 20 --out runs/mine_fast.pt      (a training checkpoint)
    dgmf-train export runs/poisson_fast.pt ../models/poisson_fast.onnx       (writes its dgmf.sampler)

The method is scoring-rule distillation: the student (the teacher's network and weights to start with)
is trained so that its `consistency` sampler with one or two evaluations draws from the same distribution
as the teacher's recommended sampler does, conditions by condition. The loss is the energy score
(Gneiting & Raftery 2007), a strictly proper scoring rule, of M student samples against K teacher samples
per condition, as De Bortoli et al. (ICML 2025) train few-step diffusion samplers with it:

    ES = mean_jk |g_j - y_k| - 1/2 mean_{j != j'} |g_j - g_j'|        (|.|: RMS over the field)

The one-step sample is g = D(sigma_max xi, sigma_max); the two-step sample re-noises it to sigma_last and
denoises again; both are scored. Why not consistency or progressive distillation: both distil the
probability-flow ODE, and on these models the ODE samplers are 2-2.5x less accurate than the stochastic
ones the models recommend (docs/nfe_sweep.md: Poisson heun-18 0.0116 against ancestral-6 0.0049), so a
student of the ODE would inherit that error; the energy score distils the recommended sampler itself.

The teacher's samples come from libdgmf (`dgmf predict`, the teacher's own recommended sampler) on
conditions drawn over the model's declared ranges, a quarter of them on the box's faces, edges and
corners (draw_conditions), half at the target fidelity and the rest over the other levels. A checkpoint in train.py's
format is written (weights, EMA, optimizer), with the student's sampler spec; `--resume` continues one.
"""
from __future__ import annotations

import argparse
import copy
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from . import engine
from .contract import ContractError, parse_sampler
from .train import Budget, checkpoint_manifest, checkpoint_model, ema_update


def load_teacher(path):
    """A teacher checkpoint (.pt as train.py writes it) and an ONNX file of it for the engine; a
    built-in benchmark's .onnx is read back into a checkpoint (dgmf_train.teacher)."""
    path = Path(path)
    if path.suffix == ".onnx":
        from .teacher import checkpoint_from_onnx
        return checkpoint_from_onnx(path), path
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if ck.get("baseline"):
        raise SystemExit(f"error: {path} is a regression-baseline checkpoint; distil a score model")
    return ck, None


def draw_conditions(manifest, n, rng):
    """n conditions over the declared ranges: (params [n, P], fidelity values [n], coords or None).
    A quarter of them put each parameter and coordinate at an end of its range with probability 1/2
    (the box's faces, edges and corners, where a student trained on the interior alone was measured
    worst); the rest are uniform. Half sit at the target fidelity; the rest spread over the discrete
    levels, or over five values of a continuous fidelity's range."""
    def box(ranges):
        lo, hi = np.array([r.min for r in ranges]), np.array([r.max for r in ranges])
        u = rng.random((n, len(lo)))
        edge = (rng.random((n, 1)) < 0.25) & (rng.random((n, len(lo))) < 0.5)
        u = np.where(edge, np.round(u), u)
        return lo + (hi - lo) * u
    params = box(manifest.params)
    f = manifest.fidelity
    values = (np.arange(f.levels, dtype=float) if f.kind == "discrete" else
              np.unique(np.append(np.linspace(f.min, f.max, 5), f.target_value())))
    fid = np.where(rng.random(n) < 0.5, f.target_value(), rng.choice(values, n))
    coords = box(manifest.coords) if manifest.coords else None
    return params, fid, coords


def teacher_samples(onnx, manifest, params, fid, coords, k, sampler, seed):
    """[n, k, *shape] physical samples of the teacher (libdgmf), k per condition, one engine run per
    fidelity value (each condition repeated k times: each repeat is its own noise stream). `sampler`: a
    spec's name and steps (None: the model's own dgmf.sampler, as `dgmf predict` picks it)."""
    name, settings = parse_sampler(sampler)
    out = None
    for value in np.unique(fid):
        rows = np.flatnonzero(fid == value)
        rep = np.repeat(rows, k)
        arg = engine.fidelity_arg(value, manifest.fidelity.kind == "discrete")
        u, _, _ = engine.predict(onnx, params[rep], arg, coords=None if coords is None else coords[rep],
                                 sampler=name, steps=settings.get("steps"), samples=1, seed=seed)
        if out is None:
            out = np.empty((len(params), k) + u.shape[1:], np.float32)
        out[rows] = u.reshape((len(rows), k) + u.shape[1:])
    return out


def energy_score(g, y):
    """Mean energy score of samples g [B, M, d] against y [B, K, d], distances as RMS over d."""
    d = g.shape[-1]
    cross = torch.cdist(g, y).mean(dim=(1, 2))
    m = g.shape[1]
    self_ = torch.cdist(g, g).sum(dim=(1, 2)) / (m * (m - 1))
    return ((cross - 0.5 * self_) / math.sqrt(d)).mean()


class Student:
    """The teacher's network with the consistency sampler's one- and two-step maps."""

    def __init__(self, net, shape, sigma_max, sigma_last):
        self.net, self.shape, self.sigma_max, self.sigma_last = net, tuple(shape), sigma_max, sigma_last

    def steps(self, cond, m, gen, two):
        """(one-step, two-step or None) samples [B, M, *shape] for the conditions [B, ...]."""
        b = len(cond[0])
        rep = [c.repeat_interleave(m, 0) for c in cond]
        shape = (b * m,) + self.shape
        z = self.sigma_max * torch.randn(shape, generator=gen)
        s = torch.full((b * m,), self.sigma_max)
        x1 = self.net.denoise(z, s, *rep)
        x2 = None
        if two:
            z2 = x1 + self.sigma_last * torch.randn(shape, generator=gen)
            x2 = self.net.denoise(z2, torch.full((b * m,), self.sigma_last), *rep)
        split = lambda x: None if x is None else x.reshape((b, m) + self.shape)
        return split(x1), split(x2)


def network_conditions(manifest, params, fid, coords):
    """The network's conditioning tensors (train.network_inputs' forms)."""
    out = [torch.from_numpy(params.astype(np.float32)),
           torch.from_numpy(manifest.fidelity.inputs(fid))]
    if coords is not None:
        out.append(torch.from_numpy(coords.astype(np.float32)))
    return out


def parse(argv, prog=None):
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    ap.add_argument("teacher", help="the teacher: a training checkpoint (.pt) or a built-in benchmark's "
                                    "exported model (.onnx, e.g. models/poisson.onnx)")
    ap.add_argument("--out", required=True, help="the student's checkpoint (.pt)")
    ap.add_argument("--minutes", type=float, default=30.0, help="wall-clock training budget")
    ap.add_argument("--max-steps", type=int, default=1_000_000, help="optimiser step cap")
    ap.add_argument("--conditions", type=int, default=2048,
                    help="conditions drawn from the declared ranges (teacher samples are made for each)")
    ap.add_argument("--teacher-samples", type=int, default=8, help="teacher samples per condition (K)")
    ap.add_argument("--student-samples", type=int, default=4, help="student samples per condition (M >= 2)")
    ap.add_argument("--batch", type=int, default=8, help="conditions per optimiser step")
    ap.add_argument("--steps", type=int, choices=(1, 2), default=2,
                    help="network evaluations of the sampler the student is written for")
    ap.add_argument("--sigma-last", type=float, default=0.1,
                    help="the two-step sampler's second noise level (the model's normalized units)")
    ap.add_argument("--teacher-sampler", metavar="'NAME steps=N'",
                    help="the teacher's sampler, name and steps (default: its dgmf.sampler)")
    ap.add_argument("--lr", type=float, default=1e-4, help="peak learning rate of Adam (default 1e-4)")
    ap.add_argument("--ema", type=float, default=0.999,
                    help="decay of the student's exponential moving average, which is what exports")
    ap.add_argument("--seed", type=int, default=0, help="conditions, noise and batches (default 0)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--log-every", type=int, default=100, help="a log line every N steps")
    ap.add_argument("--snapshot-minutes", type=float, default=0.0,
                    help="also save the checkpoint every M minutes to <out stem>_<minutes>min.pt")
    ap.add_argument("--resume", metavar="CK", help="continue a distillation from its checkpoint")
    a = ap.parse_args(argv)
    if a.student_samples < 2:
        ap.error("--student-samples must be >= 2 (the energy score compares a student's samples)")
    if min(a.conditions, a.teacher_samples, a.batch) < 1 or a.minutes <= 0:
        ap.error("--conditions, --teacher-samples, --batch and --minutes must be positive")
    return a


def main(argv=None, prog=None):
    a = parse(argv, prog)
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    try:
        ck, onnx = load_teacher(a.teacher)
    except (ContractError, OSError) as e:
        raise SystemExit(f"error: {e}") from None
    manifest, shape = checkpoint_manifest(ck), tuple(ck["shape"])
    if not ck["sigma_min"] <= a.sigma_last <= ck["sigma_max"]:
        raise SystemExit(f"error: --sigma-last {a.sigma_last} is outside the teacher's noise range "
                         f"[{ck['sigma_min']}, {ck['sigma_max']}]")
    resume = torch.load(a.resume, weights_only=False) if a.resume else None
    rng = np.random.default_rng(a.seed)
    params, fid, coords = draw_conditions(manifest, a.conditions, rng)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if onnx is None:
            from . import export
            onnx = Path(tmp) / "teacher.onnx"
            export.main([str(a.teacher), str(onnx)])
        y = teacher_samples(onnx, manifest, params, fid, coords, a.teacher_samples, a.teacher_sampler,
                            a.seed)
        sampler = a.teacher_sampler or teacher_spec(onnx) or "the library default"
    print(f"teacher: {len(params)} conditions x {a.teacher_samples} samples of `{sampler}`"
          f" in {time.perf_counter() - t0:.0f} s", flush=True)
    bshape = (1, 1, -1) + (1,) * (len(shape) - 1)
    y = (torch.from_numpy(y) - torch.tensor(ck["shift"], dtype=torch.float32).reshape(bshape)) \
        / torch.tensor(ck["scale"], dtype=torch.float32).reshape(bshape)
    cond = network_conditions(manifest, params, fid, coords)

    net = checkpoint_model(ck)
    net.load_state_dict(ck["ema"])
    ema = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    step, spent, log = 0, 0.0, []
    if resume is not None:
        net.load_state_dict(resume["model"])
        ema.load_state_dict(resume["ema"])
        opt.load_state_dict(resume["optimizer"])
        step, spent, log = int(resume["steps"]), float(resume["seconds"]), list(resume["log"])
        print(f"resuming {a.resume}: {step} steps, {spent:.0f} s already spent", flush=True)
    student = Student(net, shape, ck["sigma_max"], a.sigma_last)
    gen = torch.Generator().manual_seed(a.seed + step)
    spec = (f"consistency steps={a.steps} schedule=geometric denoise=1"
            + (f" sigma_last={np.format_float_positional(np.float32(a.sigma_last))}" if a.steps == 2 else ""))

    def save(path, seconds):
        out = dict(ck, model=net.state_dict(), ema=ema.state_dict(), optimizer=opt.state_dict(),
                   steps=clock.step, seconds=seconds, log=clock.log, sampler=spec,
                   distill=dict(vars(a), teacher_sampler=sampler, method="energy score"))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save(out, path)
        print(f"wrote {path}", flush=True)

    clock = Budget(a.minutes, a.max_steps, opt, a.lr, a.out, save, a.snapshot_minutes, a.log_every,
                   step, spent, log, what="energy score")
    for _ in clock.steps():
        idx = torch.randint(len(params), (a.batch,), generator=gen)
        x1, x2 = student.steps([c[idx] for c in cond], a.student_samples, gen, a.steps == 2)
        target = y[idx].flatten(2)
        loss = energy_score(x1.flatten(2), target)
        if x2 is not None:
            loss = loss + energy_score(x2.flatten(2), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema_update(ema, net, a.ema)
        clock.done(loss.item())
    print(f"the student's sampler: {spec}")
    clock.finish()


def teacher_spec(onnx):
    from .contract import read_metadata
    return read_metadata(onnx).raw.get("dgmf.sampler")


if __name__ == "__main__":
    main()
