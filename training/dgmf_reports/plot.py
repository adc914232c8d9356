"""Plot a checkpoint's training loss:  python3 -m dgmf_reports.plot runs/poisson.pt [out.png]"""
import sys

import matplotlib
matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import torch


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ck = torch.load(argv[0], map_location="cpu", weights_only=False)
    out = argv[1] if len(argv) > 1 else argv[0].rsplit(".", 1)[0] + "_loss.png"
    step, _, loss = zip(*ck["log"])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(step, loss)
    ax.set(xlabel="step", ylabel="loss (mean over the last log interval)",
           title=f"{ck['bench']} {'regression' if ck['baseline'] else 'DSM'}: {ck['steps']} steps, "
                 f"{ck['seconds'] / 60:.0f} min")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
