"""Held-out test sets and a quick accuracy check of an exported model.

Write the sets that ship beside the model (params.npy float64 [N, P], fidelity.npy [N], u.npy float32
exact solution [N, *shape]; coords.npy and case.npy for Burgers and flow): the generator's test split, its
calibration split, and the declared-range set (box corners plus uniform draws):

    cd training && python3 -m dgmf_reports.evaluate poisson --write-testset ../models/poisson \
        --write-calib ../models/poisson/calib --write-box ../models/poisson/box

Relative L2 error over the first --n test cases: the DGMF model through the engine's CLI
(`dgmf predict --sampler heun --steps 18 --samples 1`), the same sampler re-implemented on ONNX
Runtime (a cross-check of the engine), the low-fidelity solver (coarsest level, interpolated)
and optionally a regression-baseline checkpoint:

    cd training && python3 -m dgmf_reports.evaluate poisson --model ../models/poisson.onnx --n 32
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dgmf_data import generate

from dgmf_train import benchmarks, engine
from dgmf_train.testsets import rel_l2
from dgmf_train.reference import heun_on_onnx


# Seed offsets of the held-out splits in dgmf_data.generate (seed = base + offset).
SPLIT_SEED = {"test": 99, "calib": 98}


def write_testset(name, data_dir, out_dir, split="test"):
    """params.npy float64 [N, P], fidelity.npy [N], u.npy float32 [N, *shape] (the exact solution),
    and for the coords model coords.npy float64 [N, Q] plus case.npy int64 [N] (rows of one PDE solve
    share a case). The test split also gets u_top.npy: the finest training solver on the same rows
    (the top level, or the one below it where the top level is the exact solution), for the "vs the
    finest training solver" column of docs/accuracy.md."""
    module, _, base = generate.CONFIG[name]
    d = np.load(Path(data_dir) / f"{name}_{split}.npz")
    case = d["case"]
    n_cases = int(case.max()) + 1
    # The npz stores float32 params; redraw the same Sobol points in float64 (same seed as
    # generate.build_split) so the engine gets the exact inputs of the reference solves.
    params = generate.sample_params(module, n_cases, base + SPLIT_SEED[split])[case]
    assert np.allclose(params.astype(np.float32), d["params"]), f"{split} split does not match"
    top = len(generate.level_resolutions(name)) - 1
    fidelity = d["level"] if benchmarks.BENCH[name]["fidelity"][0] == "discrete" else \
        np.full(len(params), float(generate._fidelity(name, top)))
    assert (d["level"] == top).all()
    times = None
    if "coords" in d:
        # float64 copies of the exact output times of the reference.
        times = np.tile(module.TIMES, n_cases)[:, None]
        assert np.allclose(times.astype(np.float32), d["coords"]), "coords do not match"
    _save(Path(out_dir), params, fidelity, d["u"], times, case if times is not None else None)
    if split == "test" and not getattr(module, "REFERENCE_IS_TOP_LEVEL", False):
        first = np.unique(case, return_index=True)[1]
        top_u = [generate.solver_field(name, params[i], module.LEVELS[-1],
                                       None if times is None else module.TIMES) for i in first]
        top_u = np.stack(top_u).reshape(d["u"].shape)
        np.save(Path(out_dir) / "u_top.npy", top_u.astype(np.float32))


def write_boxset(name, out_dir, interior, seed=7, half=False):
    """The declared-range set: every corner of the parameter box plus `interior` uniform draws, at the
    highest fidelity, with the exact solution.  half: only the half fraction of the corners whose last
    parameter's side is the parity of the others' (2^(P-1) corners: every combination of the other
    parameters' extremes, each extreme of the last one half of the time), where a reference is dear.
    Time-coordinate benchmarks (Burgers, flow): per case 16 times with both ends of the time range
    included (the module's train_times)."""
    module = generate.CONFIG[name][0]
    lo, hi = np.asarray(module.PARAM_LOW, float), np.asarray(module.PARAM_HIGH, float)
    corners = box_corners(lo, hi, half)
    rng = np.random.default_rng(seed)
    params = np.concatenate([corners, lo + (hi - lo) * rng.random((interior, len(lo)))])
    top = len(generate.level_resolutions(name)) - 1
    times = None
    if name in generate.TIME_SERIES:
        per_case = module.train_times(rng, len(params))
        u = np.concatenate([generate.reference_field(name, p, ts) for p, ts in zip(params, per_case)])
        case = np.repeat(np.arange(len(params)), per_case.shape[1])
        params, times = params[case], per_case.reshape(-1, 1)
        u = generate.as_rows(name, u)
    else:
        case = None
        u = generate.as_rows(name, np.stack([generate.reference_field(name, p) for p in params]))
    fidelity = np.full(len(params), float(top) if benchmarks.BENCH[name]["fidelity"][0] == "discrete"
                       else float(generate._fidelity(name, top)))
    _save(Path(out_dir), params, fidelity, u, times, case)


def box_corners(lo, hi, half=False):
    """The 2^P corners of the box [lo, hi] (rows), or the half fraction write_boxset describes."""
    corners = np.array(np.meshgrid(*zip(lo, hi), indexing="ij")).reshape(len(lo), -1).T
    if half:
        odd = (corners[:, :-1] == hi[:-1]).sum(axis=1) % 2 == 1
        corners = corners[(corners[:, -1] == hi[-1]) == odd]
    return corners


def _save(out, params, fidelity, u, coords, case):
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "params.npy", params)
    np.save(out / "fidelity.npy", fidelity)
    np.save(out / "u.npy", np.asarray(u, np.float32))
    if coords is not None:
        np.save(out / "coords.npy", coords)
        np.save(out / "case.npy", case.astype(np.int64))
    print(f"wrote {out}/: params {params.shape}, fidelity {fidelity.shape}, u {np.shape(u)}"
          + (", coords, case" if coords is not None else ""))


def low_fidelity(name, params, coords=None):
    """Coarsest-level solver output on the common output grid (one row per params row)."""
    m = benchmarks.BENCH[name]["module"]
    res = m.LEVELS[0]
    if name in generate.TIME_SERIES:
        out = None
        # One solve per distinct parameter row, at all the times asked for with it.
        keys = [tuple(float(x) for x in p) for p in params]
        for key in dict.fromkeys(keys):
            rows = np.array([i for i, k in enumerate(keys) if k == key])
            order = np.argsort(coords[rows, 0], kind="stable")
            field = generate.as_rows(name, generate.solver_field(name, np.array(key), res,
                                                                coords[rows[order], 0]))
            if out is None:
                out = np.empty((len(params),) + field.shape[1:])
            out[rows[order]] = field
        return out
    return generate.as_rows(name, np.stack([generate.solver_field(name, p, res) for p in params]))


def cli_predict(model, params, fidelity, steps=18, work=None):
    return engine.predict(model, params, fidelity, sampler="heun", steps=steps, work=work, echo=True)[0]


def ort_heun(model, params, fidelity_row, steps=18, seed=0, rho=7.0):
    """Heun on onnxruntime directly (dgmf_train.reference.heun_on_onnx) for these parameter rows."""
    n = len(params)
    feeds = dict(params=params.astype(np.float32),
                 fidelity=np.repeat(fidelity_row[None].astype(np.float32), n, 0))
    return heun_on_onnx(model, feeds, n, steps, seed, rho)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", choices=list(benchmarks.BENCH))
    ap.add_argument("--data", default="data")
    ap.add_argument("--write-testset", metavar="DIR", help="write the test split (and u_top.npy) here")
    ap.add_argument("--write-calib", metavar="DIR", help="write the calibration split here")
    ap.add_argument("--write-box", metavar="DIR", help="write the declared-range set here")
    ap.add_argument("--box-interior", type=int, default=32, help="interior draws of the box set")
    ap.add_argument("--box-half", action="store_true",
                    help="the half fraction of the box's corners (2^(P-1)) instead of all 2^P")
    ap.add_argument("--model", help="exported .onnx")
    ap.add_argument("--testset", help="test-set directory (default: beside the model)")
    ap.add_argument("--baseline", help="regression-baseline checkpoint (.pt)")
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--steps", type=int, default=18)
    ap.add_argument("--work", default="runs", help="scratch directory for .npy files")
    args = ap.parse_args(argv)

    if args.write_testset:
        write_testset(args.bench, args.data, args.write_testset)
    if args.write_calib:
        write_testset(args.bench, args.data, args.write_calib, split="calib")
    if args.write_box:
        write_boxset(args.bench, args.write_box, args.box_interior, half=args.box_half)
    if not args.model:
        return
    model = Path(args.model).resolve()
    tdir = Path(args.testset or model.with_suffix(""))
    params = np.load(tdir / "params.npy")[: args.n]
    fidelity = np.load(tdir / "fidelity.npy")[: args.n]
    ref = np.load(tdir / "u.npy")[: args.n]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    f = benchmarks.BENCH[args.bench]["fidelity"]
    fid_arg = int(fidelity[0]) if f[0] == "discrete" else repr(float(fidelity[0]))
    assert (fidelity == fidelity[0]).all()
    rows = {}
    pred = cli_predict(model, params, fid_arg, args.steps, work)
    rows["DGMF (dgmf predict, heun 18)"] = rel_l2(pred.reshape(ref.shape), ref)
    frow = np.eye(f[1])[int(fidelity[0])] if f[0] == "discrete" else np.array([fidelity[0]])
    rows["DGMF (onnxruntime heun 18)"] = rel_l2(ort_heun(model, params, frow, args.steps), ref)
    rows["low fidelity (level 0 solver)"] = rel_l2(low_fidelity(args.bench, params), ref)
    if args.baseline:
        import torch
        from dgmf_train.train import checkpoint_model
        ck = torch.load(args.baseline, map_location="cpu", weights_only=False)
        net = checkpoint_model(ck, baseline=True)
        net.load_state_dict(ck["ema"])
        with torch.no_grad():
            x = net(torch.tensor(params, dtype=torch.float32),
                    torch.tensor(np.repeat(frow[None], len(params), 0), dtype=torch.float32)).numpy()
        sh = np.reshape(ck["shift"], (-1,) + (1,) * (x.ndim - 2))
        sc = np.reshape(ck["scale"], sh.shape)
        rows["regression baseline (EMA)"] = rel_l2(sh + sc * x, ref)
    print(f"\nrelative L2 error vs the reference solutions, first {len(ref)} test cases:")
    for k, e in rows.items():
        print(f"  {k:34s} mean {e.mean():.4e}  median {np.median(e):.4e}  worst {e.max():.4e}")


if __name__ == "__main__":
    main()
