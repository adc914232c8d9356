"""Small conditional score U-Nets (2-D for Poisson/Heat, 1-D for Burgers) and the regression baseline.

Everything the engine feeds in is in physical units: params, fidelity and coords are normalized
inside the network from the ranges stored as buffers, so the exported ONNX graph needs no
preprocessing (model contract v1).  The state z is in normalized units (u = shift + scale*z).
"""
from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

from .network_rules import padded

# Default widths per resolution level (fine -> coarse) and conditioning width.  The full-resolution
# level dominates the cost on a CPU, so it is the narrowest.
CHANNELS = (16, 32, 64)
EMB = 128
FOURIER = 32          # random Fourier features of log sigma (x2 for sin/cos)
FOURIER_SCALE = 2.0
SIGMA_DATA = 1.0    # std of the normalized training outputs (per channel, by construction)   # frequency scale: smooth in log sigma, so unseen sigmas interpolate well


def _groups(c):
    return math.gcd(8, c)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice; the conditioning embedding is added after the first conv."""

    def __init__(self, conv, c_in, c_out, emb):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(c_in), c_in)
        self.conv1 = conv(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb, c_out)
        self.norm2 = nn.GroupNorm(_groups(c_out), c_out)
        self.conv2 = conv(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # start as identity: stable early training
        nn.init.zeros_(self.conv2.bias)
        self.skip = conv(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        e = self.emb(emb)
        h = h + e.reshape(e.shape + (1,) * (h.dim() - 2))  # broadcast over the spatial axes
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


def _mlp(n_in, emb):
    return nn.Sequential(nn.Linear(n_in, emb), nn.SiLU(), nn.Linear(emb, emb))


class Conditioning(nn.Module):
    """Sum of the embeddings of sigma, params, fidelity and (optional) coords.

    fidelity: ("discrete", K) takes a one-hot [B, K]; ("continuous", lo, hi) a value [B, 1].
    """

    def __init__(self, param_min, param_max, fidelity, coord_min=None, coord_max=None, emb=EMB,
                 use_sigma=True):
        super().__init__()
        self.register_buffer("p_lo", torch.as_tensor(param_min, dtype=torch.float32))
        self.register_buffer("p_hi", torch.as_tensor(param_max, dtype=torch.float32))
        self.fidelity = tuple(fidelity)
        if self.fidelity[0] == "discrete":
            n_fid = int(self.fidelity[1])
        else:
            n_fid = 1
            self.register_buffer("f_lo", torch.tensor(float(self.fidelity[1])))
            self.register_buffer("f_hi", torch.tensor(float(self.fidelity[2])))
        self.has_coords = coord_min is not None
        if self.has_coords:
            self.register_buffer("c_lo", torch.as_tensor(coord_min, dtype=torch.float32))
            self.register_buffer("c_hi", torch.as_tensor(coord_max, dtype=torch.float32))
            self.coord_mlp = _mlp(len(coord_min), emb)
        self.use_sigma = use_sigma
        if use_sigma:
            # Fixed (non-trained) Gaussian random frequencies; a buffer so it is exported.
            g = torch.Generator().manual_seed(0)
            self.register_buffer("w", torch.randn(FOURIER, generator=g) * FOURIER_SCALE)
            self.sigma_mlp = _mlp(2 * FOURIER, emb)
        self.param_mlp = _mlp(len(param_min), emb)
        self.fid_mlp = _mlp(n_fid, emb)

    @staticmethod
    def _unit(x, lo, hi):
        return 2 * (x - lo) / (hi - lo) - 1  # [lo, hi] -> [-1, 1]

    def forward(self, sigma, params, fidelity, coords=None):
        e = self.param_mlp(self._unit(params, self.p_lo, self.p_hi))
        if self.fidelity[0] == "continuous":
            fidelity = self._unit(fidelity, self.f_lo, self.f_hi)
        e = e + self.fid_mlp(fidelity)
        if self.has_coords:
            e = e + self.coord_mlp(self._unit(coords, self.c_lo, self.c_hi))
        if self.use_sigma:
            a = 2 * math.pi * torch.log(sigma)[:, None] * self.w[None, :]
            e = e + self.sigma_mlp(torch.cat([torch.sin(a), torch.cos(a)], dim=1))
        return F.silu(e)


def grid_padding(grid, levels=len(CHANNELS)):
    """Per axis (before, after): the edge padding that brings each size of `grid` up to the next multiple
    of 2**(levels - 1), the factor the U-Net halves it by; split evenly, the odd cell after. A 33 grid
    becomes 36 (1 before, 2 after), a 32 grid stays. Python ints, so the exported graph is static."""
    extra = [padded(g, levels) - g for g in grid]  # network_rules states the size; this splits it
    return tuple((e // 2, e - e // 2) for e in extra)


class UNet(nn.Module):
    """Three-level U-Net, one ResBlock per level and two in the middle (dims = 1 or 2).

    Any grid: with `grid` given, a grid that the levels do not halve evenly is padded by replicating its
    edge values up to the next multiple (grid_padding) inside the network and cropped back at the end, so
    the model reads and writes the user's grid exactly (a 2^k + 1 node grid, as node-based solvers write).
    The padding holds no weights: checkpoints of a grid that needs none are unchanged."""

    def __init__(self, dims, channels=CHANNELS, emb=EMB, in_ch=1, grid=None):
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv1d
        c = channels
        self.grid = tuple(int(g) for g in grid) if grid is not None else None
        self.pads = grid_padding(self.grid, len(c)) if grid is not None else ((0, 0),) * dims
        if len(self.pads) != dims:
            raise ValueError(f"a {dims}-D U-Net takes a {dims}-D grid, got {tuple(grid)}")
        self.inp = conv(in_ch, c[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        prev = c[0]
        for i, ch in enumerate(c):
            self.down.append(ResBlock(conv, prev, ch, emb))
            prev = ch
            if i < len(c) - 1:
                self.pool.append(conv(ch, ch, 3, stride=2, padding=1))
        self.mid = nn.ModuleList([ResBlock(conv, prev, prev, emb), ResBlock(conv, prev, prev, emb)])
        self.up = nn.ModuleList()
        self.upconv = nn.ModuleList()
        for i in reversed(range(len(c))):
            self.up.append(ResBlock(conv, prev + c[i], c[i], emb))
            prev = c[i]
            if i > 0:
                self.upconv.append(conv(c[i], c[i - 1], 3, padding=1))
                prev = c[i - 1]
        self.out_norm = nn.GroupNorm(_groups(c[0]), c[0])
        self.out = conv(c[0], in_ch, 3, padding=1)

    def forward(self, x, emb):
        padded = any(lo or hi for lo, hi in self.pads)
        if padded:
            # F.pad lists the last axis first.
            x = F.pad(x, [n for lo_hi in reversed(self.pads) for n in lo_hi], mode="replicate")
        h = self.inp(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if i < len(self.pool):
                h = self.pool[i](h)
        for block in self.mid:
            h = block(h, emb)
        for i, block in enumerate(self.up):
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
            if i < len(self.upconv):
                h = self.upconv[i](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.out(F.silu(self.out_norm(h)))
        if padded:
            h = h[(Ellipsis,) + tuple(slice(lo, lo + g) for (lo, _), g in zip(self.pads, self.grid))]
        return h


class ScoreNet(nn.Module):
    """s_theta(z, sigma, params, fidelity[, coords]) = (D(z, sigma) - z) / sigma^2, where the
    denoiser D carries EDM's preconditioning (Karras et al. 2022) for data of std SIGMA_DATA:

        D = c_skip z + c_out F(c_in z, cond),  c_skip = sd^2/(s^2+sd^2),
        c_out = s sd/sqrt(s^2+sd^2),  c_in = 1/sqrt(s^2+sd^2).

    Why: a PDE solution given its parameters is (nearly) deterministic, so at large sigma the
    ideal score is -(z - u(x))/sigma^2; a plain "F/sigma" network must cancel z to 1e-4 relative
    there and cannot.  With the preconditioning, F is a unit-scale regression target at every
    sigma (at large sigma it is u(x) itself).  The exported output is still the score.
    """

    def __init__(self, dims, param_min, param_max, fidelity, coord_min=None, coord_max=None,
                 channels=CHANNELS, emb=EMB, in_ch=1, grid=None):
        super().__init__()
        self.dims = dims
        self.cond = Conditioning(param_min, param_max, fidelity, coord_min, coord_max, emb)
        self.net = UNet(dims, channels, emb, in_ch, grid)

    def precond(self, sigma, ndim):
        s = sigma.reshape((-1,) + (1,) * (ndim - 1))
        v = s * s + SIGMA_DATA**2
        return s, SIGMA_DATA**2 / v, s * SIGMA_DATA * torch.rsqrt(v), torch.rsqrt(v)

    def raw(self, z, sigma, params, fidelity, coords=None):
        """F(c_in z, cond): the network before the preconditioning (what the loss trains)."""
        _, _, _, c_in = self.precond(sigma, z.dim())
        return self.net(z * c_in, self.cond(sigma, params, fidelity, coords))

    def denoise(self, z, sigma, params, fidelity, coords=None):
        _, c_skip, c_out, _ = self.precond(sigma, z.dim())
        return c_skip * z + c_out * self.raw(z, sigma, params, fidelity, coords)

    def forward(self, z, sigma, params, fidelity, coords=None):
        s, c_skip, c_out, _ = self.precond(sigma, z.dim())
        f = self.raw(z, sigma, params, fidelity, coords)
        # (c_skip z + c_out F - z)/s^2 with c_skip - 1 = -s^2/(s^2+sd^2): written without the
        # cancellation so the score stays accurate in fp32 at small sigma.
        return (c_out * f) / (s * s) - z / (s * s + SIGMA_DATA**2)


class RegressionNet(nn.Module):
    """Direct-regression baseline: the same U-Net mapping (params, fidelity[, coords]) to the
    normalized solution.  Choice: the U-Net input is z = 0 and the sigma embedding is dropped
    (the conditioning is params + fidelity [+ coords] only), so the backbone is unchanged and no
    fake noise level enters the model."""

    def __init__(self, dims, shape, param_min, param_max, fidelity, coord_min=None,
                 coord_max=None, channels=CHANNELS, emb=EMB, in_ch=1):
        super().__init__()
        self.shape = tuple(shape)
        self.cond = Conditioning(param_min, param_max, fidelity, coord_min, coord_max, emb,
                                 use_sigma=False)
        self.net = UNet(dims, channels, emb, in_ch, self.shape[1:])

    def forward(self, params, fidelity, coords=None):
        z = params.new_zeros((params.shape[0],) + self.shape)
        return self.net(z, self.cond(None, params, fidelity, coords))


def n_params(module):
    return sum(p.numel() for p in module.parameters())
