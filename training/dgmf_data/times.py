"""Output times of the training cases of a time-coordinate benchmark (Burgers, flow)."""
from __future__ import annotations

import numpy as np


def stratified(rng, n_cases, t_end, n_times):
    """[n_cases, n_times] sorted times in [0, t_end]: both ends plus one uniform draw in each of
    n_times - 2 equal sub-intervals.  Why not a fixed grid: the model sees every t of the declared
    range (coords are a continuous input), while each case still spans it end to end."""
    k = n_times - 2
    inner = t_end * (np.arange(k) + rng.random((n_cases, k))) / k
    ends = np.broadcast_to([0.0, t_end], (n_cases, 2))
    return np.sort(np.concatenate([ends, inner], axis=1), axis=1)
