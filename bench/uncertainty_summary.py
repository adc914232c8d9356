"""The cross-model table of docs/uncertainty.md from the stored studies (docs/figures/<name>_uncertainty.json,
bench/ensemble_uncertainty.py): for each model, network count, case set and scale, how well the per-case
std ranks the cases and what answering the 80 % most confident cases (by the std RMS, or by it relative to the
prediction's RMS) does to the worst relative error, beside the oracle (the 80 % of smallest true error).

    python3 bench/uncertainty_summary.py [docs/figures]
"""
import json
import sys
from pathlib import Path

MODELS = ("poisson", "heat", "burgers", "topopt", "flow")


def at(curve, q):
    return next(w for p, _, w in curve if abs(p - q) < 1e-9)


def main():
    figs = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "figures")
    print("| model | cases | networks | scale | ±2σ | Spearman: std, RMS error | relative std, rel. error | "
          "1 / RMS(mean) alone | worst of all | worst at 80 %, by std | by relative std | oracle |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m in MODELS:
        path = figs / f"{m}_uncertainty.json"
        if not path.exists():
            continue
        doc = json.loads(path.read_text())
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


if __name__ == "__main__":
    main()
