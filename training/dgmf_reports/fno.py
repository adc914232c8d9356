"""The neural-operator arm of the multi-fidelity study: a Fourier neural operator (the `neuraloperator`
package's FNO) mapping the inputs, as constant channels on the output grid, to the field, trained by MSE
on the finest-level runs for the same minutes as the other networks.

Hyperparameters, fixed before any result (neuraloperator's tutorial scale, not tuned on the test split):
4 Fourier layers, width 32, half the grid's modes per axis (at most 16), Adam at 1e-3 with a cosine decay
over the time budget, batch 16, the fields standardised by the training mean and std.
"""
from __future__ import annotations

import math
import time

import numpy as np

from dgmf_train.gp import inputs


def features(ds):
    """[N, P + Q, *grid]: each input scaled to [0, 1] by its declared range, constant over the grid."""
    x = inputs(ds).astype(np.float32)
    grid = ds.u.shape[2:]
    return np.broadcast_to(x.reshape(x.shape + (1,) * len(grid)), x.shape + tuple(grid)).copy()


class FnoArm:
    name = "fno"

    def __init__(self, minutes, seed=0, threads=1):
        self.minutes, self.seed, self.threads = minutes, seed, threads

    def fit(self, train):
        import torch
        from neuralop.models import FNO
        torch.manual_seed(self.seed)
        torch.set_num_threads(self.threads)
        grid = train.u.shape[2:]
        x = torch.from_numpy(features(train))
        u = torch.from_numpy(np.asarray(train.u, np.float32))
        self.mean, self.std = u.mean(), u.std().clamp_min(1e-12)
        y = (u - self.mean) / self.std
        modes = tuple(min(16, g // 2) for g in grid)
        self.net = FNO(n_modes=modes, hidden_channels=32, in_channels=x.shape[1], out_channels=u.shape[1],
                       n_layers=4)
        opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(self.seed)
        budget, t0, self.steps = 60.0 * self.minutes, time.perf_counter(), 0
        while (elapsed := time.perf_counter() - t0) < budget:
            for g in opt.param_groups:
                g["lr"] = 1e-3 * 0.5 * (1 + math.cos(math.pi * elapsed / budget))
            idx = torch.randint(len(x), (min(16, len(x)),), generator=gen)
            loss = ((self.net(x[idx]) - y[idx]) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            self.steps += 1
        self.seconds = time.perf_counter() - t0
        return self

    def predict(self, queries):
        import torch
        x = torch.from_numpy(features(queries))
        t0 = time.perf_counter()
        with torch.no_grad():
            out = torch.cat([self.net(x[i:i + 64]) for i in range(0, len(x), 64)]) * self.std + self.mean
        return out.numpy(), time.perf_counter() - t0

    def describe(self):
        return "neuraloperator FNO: 4 layers, width 32, modes min(16, grid/2), Adam 1e-3 cosine, batch 16"
