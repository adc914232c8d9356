"""The cross-model table of docs/uncertainty.md from the stored studies (docs/figures/<name>_uncertainty.json,
bench/ensemble_uncertainty.py): for each model, network count, case set and scale, how well the per-case
std ranks the cases and what answering the 80 % most confident cases (by the std RMS, or by it relative to the
prediction's RMS) does to the worst relative error, beside the oracle (the 80 % of smallest true error);
the few-step students' studies (docs/figures/<name>_fast_uncertainty.json) as rows `<name>_fast`.

    python3 bench/uncertainty_summary.py [docs/figures] [--png docs/figures/risk_coverage.png]

With --png, also the risk-coverage curves of the test splits: the worst relative error among the q most
confident cases (relative to the worst of all) against q, per model, for each network count and ranking,
beside the oracle.
"""
import json
import sys
from pathlib import Path

MODELS = ("poisson", "heat", "burgers", "topopt", "flow")


def at(curve, q):
    return next(w for p, _, w in curve if abs(p - q) < 1e-9)


def figure(studies, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(studies), figsize=(3.2 * len(studies), 3.2), sharey=True, squeeze=False)
    for ax, (m, doc) in zip(axes[0], studies.items()):
        label = next(iter(doc["results"][0]["sets"]))
        for r, colour in zip(doc["results"], ("tab:blue", "tab:orange")):
            x = r["sets"][label]["single"]
            worst = x["worst_rel_l2"]
            for key, style, how in (("risk_coverage", "-", "std"), ("risk_coverage_rel", "--", "relative std")):
                q, _, w = zip(*x[key])
                ax.plot(q, [v / worst for v in w], style, color=colour,
                        label=f"{r['members']} network{'s' if r['members'] > 1 else ''}, by {how}")
        q, _, w = zip(*doc["results"][0]["sets"][label]["single"]["oracle"])
        ax.plot(q, [v / doc["results"][0]["sets"][label]["single"]["worst_rel_l2"] for v in w], ":", color="k",
                label="oracle (1 network)")
        ax.set_title(f"{m} ({label})", fontsize=9)
        ax.set_xlabel("share of cases answered")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("worst error answered / its worst of all")
    axes[0][0].legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


def main():
    args = sys.argv[1:]
    png = None
    if "--png" in args:
        i = args.index("--png")
        png = args[i + 1]
        del args[i:i + 2]
    figs = Path(args[0] if args else Path(__file__).resolve().parents[1] / "docs" / "figures")
    studies = {}
    print("| model | cases | networks | scale | ±2σ | Spearman: std, RMS error | relative std, rel. error | "
          "1 / RMS(mean) alone | worst of all | worst at 80 %, by std | by relative std | oracle |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    # Each model, then its few-step student's study (<name>_fast: the shipped student and, where shipped,
    # the ensemble of students) where one was made.
    for m in (v for n in MODELS for v in (n, f"{n}_fast")):
        path = figs / f"{m}_uncertainty.json"
        if not path.exists():
            continue
        doc = studies[m] = json.loads(path.read_text())
        for label in doc["results"][0]["sets"]:
            for r in doc["results"]:
                for kind in ("single", "local"):
                    x = r["sets"][label][kind]
                    worst = x["worst_rel_l2"]
                    cut = lambda curve: f"{100 * at(curve, 0.8):.2f} % ({worst / at(curve, 0.8):.1f}×)"
                    print(f"| {m} | {label} | {r['members']} | {kind} | {100 * x['coverage_2']:.1f} % | "
                          f"{x['spearman_abs']:.2f} | {x['spearman_rel']:.2f} | {x['spearman_norm']:.2f} | "
                          f"{100 * worst:.2f} % | {cut(x['risk_coverage'])} | {cut(x['risk_coverage_rel'])} | "
                          f"{cut(x['oracle'])} |")
    if png:  # the curves of the full samplers (a student's beside them would halve each panel)
        figure({m: d for m, d in studies.items() if not m.endswith("_fast")}, png)


if __name__ == "__main__":
    main()
