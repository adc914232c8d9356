"""The validation curves a `dgmf-train fit --val` run keeps in its checkpoint, side by side: one line per
validation (minutes, step, errors) and a log-scale plot.

    python3 bench/own_pde/curve.py dgmf.pt reg.pt [--png curve.png]
"""
import argparse

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", help="fit checkpoints (.pt) trained with --val")
    ap.add_argument("--png", help="write the plot here")
    a = ap.parse_args()
    curves = {}
    for path in a.checkpoints:
        ck = torch.load(path, map_location="cpu", weights_only=False)
        kind = "regression" if ck.get("baseline") else "DGMF"
        curves[f"{kind} ({path})"] = ck.get("val", [])
        print(f"{kind} ({path}): {ck['steps']} steps in {ck['seconds'] / 60:.1f} min")
        print(f"  {'min':>6} {'step':>6}  " + ("one sample   mean of 8" if kind == "DGMF" else "prediction"))
        for p in ck.get("val", []):
            errs = (f"{p['one_sample']:.4f}       {p['prediction']:.4f}" if "one_sample" in p
                    else f"{p['prediction']:.4f}")
            print(f"  {p['seconds'] / 60:6.1f} {p['step']:6d}  {errs}")
    if a.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, c in curves.items():
            t = [p["seconds"] / 60 for p in c]
            ax.plot(t, [p["prediction"] for p in c], "o-", label=name + (": mean of 8" if "DGMF" in name else ""))
            if c and "one_sample" in c[0]:
                ax.plot(t, [p["one_sample"] for p in c], "o--", label=name + ": one sample")
        ax.set(xlabel="training minutes (one CPU thread, validation included)",
               ylabel="mean relative L2 on the calibration cases", yscale="log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(a.png, dpi=120)
        print(f"wrote {a.png}")


if __name__ == "__main__":
    main()
