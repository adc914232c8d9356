"""What `dgmf-train fit` and `split` impose on a dataset, checked without torch, so that `dgmf-train check`
states every condition before anyone waits for training (train.build_model and dataset.split apply the
same rules).
"""
from __future__ import annotations

LEVELS = 3          # resolution levels of the built-in U-Net (model.CHANNELS)
MIN_GRID = 4        # smallest grid size per axis the built-in U-Net is meant for
# Split-conformal calibration at 95.45 % takes the ⌈(n + 1)·0.9545⌉-th smallest of n exchangeable scores;
# below 21 cases that is the largest one (or beyond it), and the scale says nothing about 95 %.
MIN_CALIB_CASES = 21
# A mean error over fewer test cases has a relative standard error above ~1/sqrt(10) ≈ 30 %.
MIN_TEST_CASES = 10


def padded(size, levels=LEVELS):
    """The size the U-Net computes on: the next multiple of 2**(levels - 1) (model.grid_padding)."""
    m = 2 ** (levels - 1)
    return size + (-size) % m


def problems(shape):
    """Why the built-in network cannot take rows of this shape [C, *grid] (an empty list: it can)."""
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3):
        return [f"the built-in U-Net takes rows [C, L] (1-D) or [C, H, W] (2-D); these rows are {shape}: "
                "reshape them, or export your own network with dgmf_train.contract.export_contract"]
    out = []
    if shape[0] < 1:
        out.append(f"rows of shape {shape} have no channel")
    small = [g for g in shape[1:] if g < MIN_GRID]
    if small:
        out.append(f"grid {shape[1:]}: every size must be at least {MIN_GRID} for the built-in U-Net "
                   f"(it halves the grid {LEVELS - 1} times)")
    return out


def fit_lines(shape):
    """What fit will do with rows of this shape, for `check` (one line each)."""
    shape = tuple(int(s) for s in shape)
    bad = problems(shape)
    if bad:
        return [f"fit: cannot train the built-in network: {b}" for b in bad]
    grid = shape[1:]
    inner = tuple(padded(g) for g in grid)
    pad = ("" if inner == grid else
           f", padded inside the network to {'×'.join(map(str, inner))} (edge values repeated) and cropped "
           "back: the model reads and writes your grid exactly")
    return [f"fit: {len(grid)}-D U-Net, {shape[0]} channel(s), grid {'×'.join(map(str, grid))}{pad}"]


def split_lines(target_cases, calib=0.2, test=0.2):
    """What `split` with these fractions gives from this many target-fidelity cases, and the warnings it
    prints (the same rules)."""
    n_cal, n_test = round(calib * target_cases), round(test * target_cases)
    lines = [f"split (--calib {calib:g} --test {test:g}): {target_cases} case(s) at the target fidelity -> "
             f"{n_cal} calibration, {n_test} test, {target_cases - n_cal - n_test} for training"]
    return lines + [f"warning: {w}" for w in split_warnings(n_cal, n_test)]


def split_warnings(n_cal, n_test):
    out = []
    if 0 < n_cal < MIN_CALIB_CASES:
        out.append(f"{n_cal} calibration case(s): the ±2σ scale (split-conformal at 95.45 %) needs at least "
                   f"{MIN_CALIB_CASES} cases to be more than the largest ratio seen; add cases at the target "
                   "fidelity or raise --calib")
    if 0 < n_test < MIN_TEST_CASES:
        out.append(f"{n_test} test case(s): a mean error over fewer than {MIN_TEST_CASES} cases is uncertain "
                   "by ~30 % or more; add cases at the target fidelity or raise --test")
    return out
