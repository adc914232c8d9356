#!/usr/bin/env python3
"""Side-by-side: libdgmf vs a Python onnxruntime + numpy sampler vs PyTorch eager (score_sde style).

    python3 bench/compare.py                      # shipped Poisson model, heun 18 and pc 50, batch 1/8/64
    python3 bench/compare.py --reps 7 --threads 2 --batches 1 64 --pc-steps 100

Same ONNX model, same sampler and step count, same batch (queries x 1 sample), same intra-op
thread count for all three. The runs are interleaved (libdgmf, python-ORT, torch, libdgmf, ...)
and the table quotes medians of ms per prediction (one prediction = the whole batch).
libdgmf is timed inside the engine (`dgmf predict --repeat 2 --report-json`: wall time of the second
prediction on the loaded model, so process start, model load and ORT's first-run warm-up are excluded);
the Python columns are timed around their sampling loop after one warm-up run, likewise.  Torch needs the training checkpoint
(training/runs/<name>.pt) and torch installed; otherwise that column prints as skipped.
Not in CI: it takes minutes.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / "target" / "release" / "dgmf"
sys.path.insert(0, str(REPO / "training"))
from dgmf_train import engine  # noqa: E402
from dgmf_train.contract import read_metadata  # noqa: E402
from dgmf_train.reference import geometric, heun, karras  # noqa: E402


def meta_of(model):
    m = read_metadata(model)
    return dict(smin=m.sigma_min, smax=m.sigma_max, shape=m.shape, k=m.levels,
                shift=m.data_shift.ravel().astype(np.float32),
                scale=m.data_scale.ravel().astype(np.float32),
                pmin=m.param_min, pmax=m.param_max, coords=bool(m.coord_names))


# ---- the samplers: Heun and the schedules from dgmf_train.reference (written once), pc here -------

def pc(score, x, sig, noise, norm, snr=0.16):
    """score_sde PC: Langevin corrector (per-sample norms) then reverse-diffusion predictor."""
    for i, s in enumerate(sig):
        g = score(x, s)
        xi = noise(x)
        eps = 2 * (snr * norm(xi) / norm(g)) ** 2
        x = x + eps * g + (2 * eps) ** 0.5 * xi
        if i + 1 == len(sig):
            break
        var = s * s - sig[i + 1] ** 2
        x = x + var * score(x, s) + var ** 0.5 * noise(x)
    return x + sig[-1] ** 2 * score(x, sig[-1])


def python_ort(model, meta, params, fid, threads, sampler, steps, seed):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    n = len(params)
    feeds = dict(params=params.astype(np.float32), fidelity=fid)
    sigma = {}

    def score(x, s):
        if s not in sigma:
            sigma[s] = np.full(n, s, np.float32)
        return sess.run(None, dict(feeds, z=x, sigma=sigma[s]))[0]

    def run():
        rng = np.random.default_rng(seed)
        x = (meta["smax"] * rng.standard_normal((n, *meta["shape"]))).astype(np.float32)
        if sampler == "heun":
            x = heun(score, x, karras(steps, meta["smin"], meta["smax"]).tolist())
        else:
            norm = lambda a: np.sqrt((a.astype(np.float64) ** 2).reshape(n, -1).sum(1)).reshape(
                (n,) + (1,) * len(meta["shape"])).astype(np.float32)
            noise = lambda a: rng.standard_normal(a.shape, dtype=np.float32)
            x = pc(score, x, geometric(steps, meta["smin"], meta["smax"]).tolist(), noise, norm)
        return meta["shift"].reshape(-1, *[1] * (len(meta["shape"]) - 1)) + \
            meta["scale"].reshape(-1, *[1] * (len(meta["shape"]) - 1)) * x
    return run


def torch_eager(ckpt, meta, params, fid, threads, sampler, steps, seed):
    import torch
    from dgmf_train.export import load_ema
    torch.set_num_threads(threads)
    _, model = load_ema(ckpt)
    n = len(params)
    p, f = torch.tensor(params, dtype=torch.float32), torch.tensor(fid)

    def score(x, s):
        return model(x, torch.full((n,), float(s)), p, f)

    def run():
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            x = meta["smax"] * torch.randn((n, *meta["shape"]), generator=g)
            if sampler == "heun":
                x = heun(score, x, karras(steps, meta["smin"], meta["smax"]).tolist())
            else:
                norm = lambda a: a.reshape(n, -1).norm(dim=1).reshape((n,) + (1,) * len(meta["shape"]))
                noise = lambda a: torch.randn(a.shape, generator=g)
                x = pc(score, x, geometric(steps, meta["smin"], meta["smax"]).tolist(), noise, norm)
        return x.numpy()
    return run


def libdgmf(model, params, fid_arg, threads, sampler, steps, seed, work):
    def run():
        _, _, r = engine.predict(model, params, fid_arg, sampler=sampler, steps=steps, seed=seed,
                              threads=threads, repeat=2, work=work,
                              extra=["--max-batch", max(64, len(params))])
        return r["wall_ms"], r["ort_ms"], r["nfe"]
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "poisson.onnx"))
    ap.add_argument("--checkpoint", help="torch checkpoint (default training/runs/<name>.pt)")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64])
    ap.add_argument("--heun-steps", type=int, default=18)
    ap.add_argument("--pc-steps", type=int, default=50)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--fidelity", type=int, default=None, help="level (default: the highest)")
    args = ap.parse_args()
    if not CLI.exists():
        subprocess.run(["cargo", "build", "--release", "--bin", "dgmf"], cwd=REPO, check=True)
    model = Path(args.model).resolve()
    meta = meta_of(model)
    if meta["coords"] or meta["k"] is None:
        raise SystemExit("compare.py drives discrete-fidelity models without coords (e.g. poisson)")
    level = meta["k"] - 1 if args.fidelity is None else args.fidelity
    ckpt = Path(args.checkpoint or REPO / "training" / "runs" / f"{model.stem}.pt")
    try:
        import torch  # noqa: F401
        have_torch = ckpt.exists()
        why = f"checkpoint {ckpt} missing" if not have_torch else ""
    except ImportError:
        have_torch, why = False, "torch not installed"

    print(f"model {model.name}, threads {args.threads}, reps {args.reps} (interleaved), "
          f"CPU {os.cpu_count()} logical")
    if not have_torch:
        print(f"torch eager column skipped: {why}")
    rows = []
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        for sampler, steps in (("heun", args.heun_steps), ("pc", args.pc_steps)):
            for b in args.batches:
                params = rng.uniform(meta["pmin"], meta["pmax"], (b, len(meta["pmin"])))
                fid = np.repeat(np.eye(meta["k"], dtype=np.float32)[level][None], b, 0)
                runs = {"libdgmf": libdgmf(model, params, str(level), args.threads, sampler, steps,
                                           0, Path(tmp)),
                        "python-ort": python_ort(model, meta, params, fid, args.threads, sampler,
                                                 steps, 0)}
                if have_torch:
                    runs["torch"] = torch_eager(ckpt, meta, params, fid, args.threads, sampler,
                                                steps, 0)
                times = {k: [] for k in runs}
                overhead, nfe = [], None
                for k, f in runs.items():  # warm-up (first ORT run allocates; torch JITs nothing)
                    f()
                for _ in range(args.reps):
                    for k, f in runs.items():
                        if k == "libdgmf":
                            wall, ort_ms, nfe = f()
                            times[k].append(wall)
                            overhead.append((wall - ort_ms) / ort_ms)
                        else:
                            t0 = time.perf_counter()
                            f()
                            times[k].append(1e3 * (time.perf_counter() - t0))
                med = {k: float(np.median(v)) for k, v in times.items()}
                row = dict(sampler=sampler, steps=steps, nfe=nfe, batch=b, **med,
                           overhead=float(np.median(overhead)))
                rows.append(row)
                print(f"  {sampler:4s} N={steps:4d} NFE={nfe:4d} batch {b:3d}: " + "  ".join(
                    f"{k} {v:9.1f} ms" for k, v in med.items())
                      + f"  engine overhead {100 * row['overhead']:.2f}% of ORT", flush=True)

    print("\n| sampler | NFE | batch | libdgmf ms | python-ORT ms | torch eager ms | "
          "python-ORT / libdgmf | torch / libdgmf | engine overhead (% of ORT) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        t = r.get("torch")
        tt = "skipped" if t is None else f"{t:.1f}"
        tr = "-" if t is None else f"{t / r['libdgmf']:.2f}x"
        print(f"| {r['sampler']} {r['steps']} | {r['nfe']} | {r['batch']} | {r['libdgmf']:.1f} | "
              f"{r['python-ort']:.1f} | {tt} | "
              f"{r['python-ort'] / r['libdgmf']:.2f}x | "
              f"{tr} | {100 * r['overhead']:.2f} |")


if __name__ == "__main__":
    main()
