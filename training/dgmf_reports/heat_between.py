"""Heat model queried between training fidelities: h = 1/(m-1) for m = 20 (trained: m = 8,12,16,24,32),
# against the backward-Euler solver run at m = 20 and interpolated to the 32x32 output grid.

    cd training && python3 -m dgmf_reports.heat_between
"""
import numpy as np
from dgmf_train import engine
from . import accuracy as a
from dgmf_data import heat


def main():
    t = a.load_testset('heat')
    params = t['params'][:32]
    for m in (20, 32):
        h = float(heat.fidelity_value(m))
        ref = np.stack([heat.to_output(*heat.solve(p, m)) for p in params])[:, None]
        u = engine.predict(a.REPO / 'models' / 'heat.onnx', params, repr(h))[0]
        e = a.rel_l2(u, ref)
        e_top = a.rel_l2(u, t['u'][:32])
        print(f"m={m} h={h:.4f}: vs solver at m={m}: mean {e.mean():.4f} worst {e.max():.4f}; "
              f"vs the 32x32 reference: mean {e_top.mean():.4f}")


if __name__ == '__main__':
    main()
