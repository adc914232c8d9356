"""Train a DGMF score model (VE SDE, denoising score matching) or the regression baseline on a
dataset (dgmf_train.dataset: a manifest and its arrays; docs/training.md).

    dgmf-train fit my_data.json --minutes 30 --out runs/mine.pt
    dgmf-train fit poisson --minutes 45 --out runs/poisson.pt          (data/poisson_train.json)
    dgmf-train fit poisson --baseline --minutes 45 --out runs/poisson_reg.pt

All fidelity levels are trained together (fidelity is an input).  The checkpoint holds the raw
and EMA weights, the normalization (data_shift/scale), sigma_min/max and the loss log.
`--snapshot-minutes M` also writes the same checkpoint every M minutes of training to
`<out stem>_<k*M>min.pt` next to `--out` (for an error-vs-training-minutes curve; the learning rate
there is the schedule's for the full `--minutes` budget, not a finished shorter run).
`--resume CK` continues a run that stopped (a snapshot, or a finished checkpoint given more time):
its weights, EMA, step count, elapsed time and loss log carry on, and `--minutes` is the total
budget including the time already spent, so the learning-rate schedule continues where it was.
"""
from __future__ import annotations

import argparse
import copy
import math
import re
import time
from pathlib import Path

import numpy as np
import torch

from . import benchmarks
from . import network_rules
from .dataset import DatasetError, load as load_dataset, parse_manifest
from .model import RegressionNet, ScoreNet, n_params
from .validation import Validation

SIGMA_MIN = 0.01


def max_pairwise_distance(x, max_rows=6000, seed=0):
    """Largest Euclidean distance between rows of x [N, ...]; on a random subset of max_rows
    rows when N is larger (all pairs of 6000 rows is ~18 M distances, seconds on a CPU)."""
    x = torch.as_tensor(x).flatten(1).double()
    if len(x) > max_rows:
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:max_rows]]
    return max(torch.cdist(chunk, x).max().item() for chunk in x.split(1024))


def build_model(manifest, shape, baseline=False, channels=None, emb=None):
    """The built-in U-Net for a dataset of this manifest and per-row shape [C, *grid] (channels:
    widths per resolution level, fine -> coarse; emb: conditioning width; None: model.py's)."""
    from .contract import fidelity_spec
    shape = tuple(shape)
    problems = network_rules.problems(shape)
    if problems:
        raise DatasetError("; ".join(problems))
    kw = dict(param_min=[r.min for r in manifest.params], param_max=[r.max for r in manifest.params],
              fidelity=fidelity_spec(manifest), in_ch=shape[0])
    if channels:
        kw["channels"] = tuple(int(c) for c in channels)
    if emb:
        kw["emb"] = int(emb)
    if manifest.coords:
        kw.update(coord_min=[r.min for r in manifest.coords], coord_max=[r.max for r in manifest.coords])
    if baseline:
        return RegressionNet(len(shape) - 1, shape, **kw)  # its grid is shape[1:]
    return ScoreNet(len(shape) - 1, grid=shape[1:], **kw)


def checkpoint_model(ck, baseline=None):
    """The network a checkpoint's weights fit (its manifest, shape and architecture)."""
    arch = ck.get("arch", {})
    return build_model(checkpoint_manifest(ck), ck["shape"],
                       ck["baseline"] if baseline is None else baseline,
                       arch.get("channels"), arch.get("emb"))


def checkpoint_manifest(ck):
    """A checkpoint's Manifest (checkpoints from before the dataset format name a benchmark)."""
    if "manifest" in ck:
        return parse_manifest(ck["manifest"])
    return benchmarks.manifest(ck["bench"])


def checkpoint_known(ck):
    """A checkpoint's known values (mask, maps), or None."""
    if "manifest" in ck:
        return ck.get("known")
    return benchmarks.known_values(ck["bench"])


def resolve_data(data, data_dir="data"):
    """A manifest path, or a built-in benchmark name -> <data_dir>/<name>_train.json."""
    if data in benchmarks.BENCH and not Path(data).exists():
        path = Path(data_dir) / f"{data}_train.json"
        if not path.exists():
            raise DatasetError(f"{path} not found: generate the built-in data first "
                               f"(dgmf-train generate --out {data_dir})")
        return path
    return Path(data)


def snapshots(out):
    """The snapshots `--snapshot-minutes` wrote for checkpoint `out` (snapshot_path's names), oldest first."""
    out = Path(out)
    found = []
    for path in out.parent.glob(f"{out.stem}_*min{out.suffix}"):
        m = re.fullmatch(rf"{re.escape(out.stem)}_(\d+(?:\.\d+)?)min", path.stem)
        if m:
            found.append((float(m.group(1)), path))
    return [path for _, path in sorted(found)]


def network_inputs(ds):
    """float32 arrays the networks take: x (physical u), params, fidelity (one-hot for a discrete
    fidelity, the value [N, 1] for a continuous one), coords."""
    out = dict(u=ds.u.astype(np.float32), params=ds.params.astype(np.float32),
               fidelity=ds.manifest.fidelity.inputs(ds.fidelity))
    if ds.coords is not None:
        out["coords"] = ds.coords.astype(np.float32)
    return out


def lr_at(progress, lr, warmup=0.02):
    """Linear warm-up, then cosine decay to 5 % over the budget (progress in [0, 1])."""
    if progress < warmup:
        return lr * progress / warmup
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


@torch.no_grad()
def ema_update(ema, model, decay):
    """ema <- decay * ema + (1 - decay) * model, parameter by parameter."""
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.lerp_(pm, 1 - decay)


class Budget:
    """The wall-clock loop the trainers share (fit, distill): a budget of `minutes` that counts the time a
    resumed run already spent, a step cap, the learning-rate schedule over whichever ends first, a
    snapshot every `snapshot_minutes` (`save(path, seconds)`), and the running loss's log."""

    def __init__(self, minutes, max_steps, opt, lr, out, save, snapshot_minutes=0.0, log_every=200,
                 step=0, spent=0.0, log=(), what="loss", progress=True):
        self.budget, self.max_steps, self.opt, self.lr = 60.0 * minutes, max_steps, opt, lr
        self.out, self.save, self.every, self.log_every = out, save, snapshot_minutes, log_every
        self.step, self.log, self.what = step, list(log), what
        self.n_snap = int(spent // (60.0 * snapshot_minutes)) if snapshot_minutes > 0 else 0
        self.running, self.n_run = 0.0, 0
        self.t0 = time.perf_counter() - spent
        self.start = (self.fraction(), time.perf_counter())
        self.postfix, self.last_bar = "", 0.0
        # A bar on a terminal only (tqdm's disable=None); a log file gets the step lines, with the ETA.
        self.bar = None
        if progress:
            from tqdm import tqdm
            self.bar = tqdm(total=100.0, initial=round(100 * self.start[0], 1), unit="%", disable=None,
                            bar_format="{l_bar}{bar}| {n:.0f}/100 % of the budget [{elapsed}<{remaining}{postfix}]")

    def elapsed(self):
        return time.perf_counter() - self.t0

    def fraction(self):
        """How far through the budget: the larger of the time and the step share."""
        return min(1.0, max(self.elapsed() / self.budget, self.step / self.max_steps))

    def eta(self):
        """Seconds left at this run's pace (None before it has a pace)."""
        f0, t0 = self.start
        done, spent = self.fraction() - f0, time.perf_counter() - t0
        return spent * (1.0 - self.fraction()) / done if done > 0 else None

    def write(self, line):
        """A log line that does not break the bar."""
        if self.bar is not None and not self.bar.disable:
            self.bar.write(line)
        else:
            print(line, flush=True)

    def steps(self):
        """Yields before each optimiser step, the learning rate set and any due snapshot written."""
        while self.step < self.max_steps:
            elapsed = self.elapsed()
            if elapsed >= self.budget:
                return
            if self.every > 0 and elapsed >= 60.0 * self.every * (self.n_snap + 1):
                self.n_snap += 1
                self.save(snapshot_path(self.out, self.every * self.n_snap), elapsed)
            for g in self.opt.param_groups:
                g["lr"] = lr_at(max(elapsed / self.budget, self.step / self.max_steps), self.lr)
            yield self.step

    def done(self, loss):
        """Counts a step of `loss` and logs the running mean every `log_every` steps."""
        self.step += 1
        self.running, self.n_run = self.running + loss, self.n_run + 1
        if self.bar is not None and time.perf_counter() - self.last_bar > 0.5:
            self.last_bar = time.perf_counter()
            self.bar.n = round(100 * self.fraction(), 1)
            self.bar.set_postfix_str(f"step {self.step}, {self.what} {loss:.4f}" +
                                     (f", {self.postfix}" if self.postfix else ""), refresh=True)
        if self.step % self.log_every == 0:
            el, eta = self.elapsed(), self.eta()
            self.log.append((self.step, el, self.running / self.n_run))
            self.write(f"step {self.step:6d}  {el:7.1f} s  {1e3 * el / self.step:6.1f} ms/step  {self.what} "
                       f"{self.running / self.n_run:.5f}  lr {self.opt.param_groups[0]['lr']:.2e}  "
                       f"{100 * self.fraction():3.0f} % of the budget"
                       + (f", ETA {eta / 60:.1f} min" if eta is not None else ""))
            self.running, self.n_run = 0.0, 0

    def finish(self):
        el = self.elapsed()
        if self.bar is not None:
            self.bar.n = round(100 * self.fraction(), 1)
            self.bar.close()
        print(f"done: {self.step} steps in {el:.1f} s ({1e3 * el / max(self.step, 1):.1f} ms/step)")
        self.save(self.out, el)


def pick_device(name):
    """--device: "cuda" must have a GPU torch can use (said plainly if not), "auto" takes one if there is."""
    cuda = torch.cuda.is_available()
    if name == "cuda" and not cuda:
        raise SystemExit(f"error: --device cuda: torch sees no CUDA device (torch {torch.__version__}, built "
                         f"with CUDA {torch.version.cuda or 'none'}); train with --device cpu, or install a "
                         "CUDA build of torch on a machine with an NVIDIA GPU")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and cuda) else "cpu")


def to_cpu(obj):
    """A checkpoint's tensors moved to the CPU (nested dicts, lists and tuples), everything else as is."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def snapshot_path(out, minutes):
    """`runs/burgers.pt`, 10 -> `runs/burgers_10min.pt`."""
    out = Path(out)
    return out.with_name(f"{out.stem}_{minutes:g}min{out.suffix}")


def main(argv=None, prog=None):
    ap = argparse.ArgumentParser(prog=prog, description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("data", help="dataset manifest (.json), or a built-in benchmark name "
                                  f"({', '.join(benchmarks.BENCH)}: <--data-dir>/<name>_train.json)")
    ap.add_argument("--data-dir", default="data", help="where the built-in benchmarks' data are")
    ap.add_argument("--out", required=True, help="checkpoint path (.pt)")
    ap.add_argument("--minutes", type=float, default=60.0, help="wall-clock training budget")
    ap.add_argument("--steps", type=int, default=1_000_000, help="step cap")
    ap.add_argument("--batch", type=int, default=32, help="training rows per optimiser step (default 32)")
    ap.add_argument("--lr", type=float, default=1e-3,
                    help="peak learning rate of Adam: linear warm-up, then cosine decay to 5 %% over the "
                         "budget (default 1e-3)")
    ap.add_argument("--ema", type=float, default=0.999,
                    help="decay of the weights' exponential moving average, which is what exports "
                         "(default 0.999)")
    ap.add_argument("--seed", type=int, default=0, help="initial weights and batches (default 0)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--log-every", type=int, default=200,
                    help="a log line (loss, ms per step, share of the budget, ETA) every N steps")
    ap.add_argument("--baseline", action="store_true", help="direct MSE regression instead of DSM")
    ap.add_argument("--channels", default="16,32,64",
                    help="U-Net widths per resolution level, fine -> coarse (three levels)")
    ap.add_argument("--emb", type=int, default=128, help="conditioning embedding width")
    ap.add_argument("--snapshot-minutes", type=float, default=0.0,
                    help="also save the checkpoint every M minutes to <out stem>_<minutes>min.pt")
    ap.add_argument("--resume", metavar="CK",
                    help="continue from this checkpoint of the same data and network "
                         "(--minutes is then the total budget, time already spent included; on any device)")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                    help="where to train: cuda (a GPU through torch), cpu, or auto (cuda when torch sees "
                         "one); checkpoints are the same on either and resume on either")
    ap.add_argument("--val", metavar="DIR",
                    help="held-out cases at the target fidelity (a case directory, e.g. dgmf-train split's "
                         "calib/) to report the validation error on every --val-minutes")
    ap.add_argument("--val-minutes", type=float, default=5.0,
                    help="minutes between validations (default 5; each exports the network and samples it "
                         "with the engine, and counts in --minutes)")
    ap.add_argument("--until-error", type=float, metavar="E",
                    help="stop when the validation error (the 8-sample mean; a baseline's prediction) is <= E")
    ap.add_argument("--patience", type=int, metavar="K",
                    help="stop after K validations without a new best validation error")
    ap.add_argument("--no-progress", action="store_true",
                    help="no progress bar (it is shown only on a terminal anyway; logs get the step lines)")
    args = ap.parse_args(argv)
    if (args.until_error is not None or args.patience is not None) and not args.val:
        ap.error("--until-error and --patience stop on the validation error: give --val DIR")
    if args.val_minutes <= 0:
        ap.error(f"--val-minutes must be positive, got {args.val_minutes:g}")
    device = pick_device(args.device)
    resume = torch.load(args.resume, map_location="cpu", weights_only=False) if args.resume else None
    if resume is not None:
        # The network must be the one the checkpoint holds, whatever the command line says.
        args.baseline = resume["baseline"]
        args.channels = ",".join(str(c) for c in resume["arch"]["channels"])
        args.emb = resume["arch"]["emb"]

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    try:
        ds = load_dataset(resolve_data(args.data, args.data_dir))
        channels = [int(c) for c in args.channels.split(",")]
        if len(channels) != 3 or min(channels) < 1:
            raise DatasetError(f"--channels takes three positive widths, e.g. 16,32,64; got {args.channels}")
        model = build_model(ds.manifest, ds.u.shape[1:], args.baseline, channels, args.emb)
    except DatasetError as e:
        raise SystemExit(f"error: {e}") from None
    name = ds.manifest.name
    d = network_inputs(ds)
    u = torch.from_numpy(d["u"])
    shape = tuple(u.shape[1:])
    # Per-channel normalization: physical u = shift + scale * x.
    dims = [0] + list(range(2, u.dim()))
    shift = u.double().mean(dim=dims)
    if len(u) < 2:
        raise SystemExit("error: a dataset needs at least 2 rows to train on")
    scale = u.double().std(dim=dims)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # a constant channel: unscaled
    bshape = (1, -1) + (1,) * (u.dim() - 2)
    x = ((u - shift.float().reshape(bshape)) / scale.float().reshape(bshape)).contiguous()
    cond = [torch.from_numpy(d["params"]), torch.from_numpy(d["fidelity"])]
    if "coords" in d:
        cond.append(torch.from_numpy(d["coords"]))
    sigma_max = max_pairwise_distance(x)
    if resume is not None and (tuple(resume["shape"]) != shape
                               or not np.allclose(resume["shift"], shift.tolist())
                               or not np.allclose(resume["scale"], scale.tolist())):
        raise SystemExit(f"error: {args.resume} was trained on other data (its shape, shift or "
                         "scale differ from this dataset's); resume it on the data it was trained on")
    print(f"{name}: {len(x)} training rows, shape {shape}, shift {shift.tolist()}, "
          f"scale {scale.tolist()}, sigma_max = {sigma_max:.4f} (max pairwise distance)")
    model = model.to(device)
    ema = copy.deepcopy(model).requires_grad_(False)
    print(f"model: {type(model).__name__}, {n_params(model)} parameters, on {device}")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    if resume is not None:
        model.load_state_dict(resume["model"])
        ema.load_state_dict(resume["ema"])
        if "optimizer" in resume:  # checkpoints before --resume existed have no optimizer state
            opt.load_state_dict(resume["optimizer"])  # Adam moves its state to the parameters' device
    # The random draws stay on the CPU whatever the device: the same run on a GPU sees the same batches.
    gen = torch.Generator().manual_seed(args.seed)
    x, cond = x.to(device), [c.to(device) for c in cond]
    log_lo, log_hi = math.log(SIGMA_MIN), math.log(sigma_max)
    val = None
    if args.val:
        try:
            val = Validation(args.val, ds.manifest, args.val_minutes, args.until_error, args.patience,
                             args.baseline, curve=resume.get("val", ()) if resume is not None else ())
        except (ValueError, FileNotFoundError) as e:
            raise SystemExit(f"error: {e}") from None

    def checkpoint(seconds):
        # CPU tensors: a checkpoint written on a GPU loads anywhere.
        return to_cpu(dict(bench=name, manifest=ds.manifest.to_json(), known=ds.known,
                           arch=dict(channels=channels, emb=args.emb),
                           baseline=args.baseline, shape=shape,
                           model=model.state_dict(), ema=ema.state_dict(),
                           optimizer=opt.state_dict(), shift=shift.tolist(),
                           scale=scale.tolist(), sigma_min=SIGMA_MIN, sigma_max=sigma_max, steps=clock.step,
                           seconds=seconds, log=clock.log, val=val.curve if val else [],
                           args=vars(args)))

    def save(path, seconds):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save(checkpoint(seconds), path)
        clock.write(f"wrote {path}")

    step, spent, log = 0, 0.0, []
    if resume is not None:
        log, step, spent = list(resume["log"]), int(resume["steps"]), float(resume["seconds"])
        print(f"resuming {args.resume}: {step} steps, {spent:.0f} s already spent", flush=True)
        gen.manual_seed(args.seed + step)  # fresh batches, not a replay of the first ones
    clock = Budget(args.minutes, args.steps, opt, args.lr, args.out, save, args.snapshot_minutes,
                   args.log_every, step, spent, log, progress=not args.no_progress)
    for step in clock.steps():
        if val is not None and val.due(clock.elapsed()):
            point = val.run(checkpoint(clock.elapsed()), step, clock.elapsed())
            clock.write(f"step {step:6d}  {val.describe(point)}")
            clock.postfix = f"val {point['prediction']:.4f}"
            reason = val.stop_reason()
            if reason:
                clock.write(f"stopping: {reason}")
                break
        idx = torch.randint(len(x), (args.batch,), generator=gen).to(device)
        xb, cb = x[idx], [c[idx] for c in cond]
        if args.baseline:
            loss = ((model(*cb) - xb) ** 2).mean()
        else:
            # sigma log-uniform in [sigma_min, sigma_max]; EDM weighting lambda = 1/c_out^2 on
            # |D - x|^2, i.e. a plain MSE on the raw network against (x - c_skip z)/c_out.
            sigma = torch.exp(log_lo + (log_hi - log_lo) * torch.rand(args.batch, generator=gen)).to(device)
            eps = torch.randn(xb.shape, generator=gen).to(device)
            _, c_skip, c_out, _ = model.precond(sigma, xb.dim())
            z = xb + sigma.reshape(c_out.shape) * eps
            loss = ((model.raw(z, sigma, *cb) - (xb - c_skip * z) / c_out) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema_update(ema, model, min(args.ema, (1 + step) / (10 + step)))  # short EMA while it is young
        clock.done(loss.item())
    if val is not None and (not val.curve or val.curve[-1]["step"] != clock.step):
        # The curve ends at the model the run leaves behind.
        point = val.run(checkpoint(clock.elapsed()), clock.step, clock.elapsed())
        clock.write(f"step {clock.step:6d}  {val.describe(point)} (final)")
    clock.finish()


if __name__ == "__main__":
    main()
