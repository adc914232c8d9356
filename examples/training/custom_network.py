"""Your own PyTorch network as a libdgmf model: a small MLP denoiser trained by denoising score
matching on a dgmf dataset, exported with dgmf_train.contract.export_contract (docs/training.md).

    python3 examples/training/custom_network.py work/split/train.json work/mlp.onnx --steps 1500

export_contract wraps the input normalization (params mapped to [-1, 1]) and EDM's preconditioning
(the network is a raw F, the model the denoiser x0), exports, and checks the file with ONNX
Runtime and `dgmf info`.  The point is the pipeline: this network is not tuned for accuracy.
"""
import argparse
import math

import torch
from torch import nn

from dgmf_train import dataset as D
from dgmf_train.contract import export_contract


class MLP(nn.Module):
    """F(z, sigma, params, fidelity): the state flattened, concatenated with the conditions."""

    def __init__(self, n, p, k, width=128):
        super().__init__()
        self.f = nn.Sequential(nn.Linear(n + 1 + p + k, width), nn.SiLU(), nn.Linear(width, width),
                               nn.SiLU(), nn.Linear(width, n))

    def forward(self, z, sigma, params, fidelity):
        x = torch.cat([z.flatten(1), torch.log(sigma)[:, None] / 4, params, fidelity], dim=1)
        return self.f(x).reshape(z.shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="dataset manifest (discrete fidelity, no coords)")
    ap.add_argument("out", help="the .onnx to write")
    ap.add_argument("--steps", type=int, default=1500)
    a = ap.parse_args()
    torch.manual_seed(0)
    ds = D.load(a.data)
    m = ds.manifest
    u = torch.tensor(ds.u, dtype=torch.float32)
    shift, scale = u.mean().item(), u.std().item()
    x = (u - shift) / scale                                           # the model's units
    lo = torch.tensor([r.min for r in m.params], dtype=torch.float32)
    hi = torch.tensor([r.max for r in m.params], dtype=torch.float32)
    params = 2 * (torch.tensor(ds.params, dtype=torch.float32) - lo) / (hi - lo) - 1
    onehot = torch.eye(m.fidelity.levels)[torch.tensor(ds.fidelity).long()]
    net = MLP(x[0].numel(), len(m.params), m.fidelity.levels)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sigma_min, sigma_max = 0.01, 20.0
    for step in range(a.steps):
        i = torch.randint(len(x), (64,))
        sigma = torch.exp(torch.empty(64).uniform_(math.log(sigma_min), math.log(sigma_max)))
        s = sigma[:, None, None]
        z = x[i] + s * torch.randn_like(x[i])
        c_skip, c_out, c_in = 1 / (s * s + 1), s / torch.sqrt(s * s + 1), 1 / torch.sqrt(s * s + 1)
        loss = ((net(c_in * z, sigma, params[i], onehot[i]) - (x[i] - c_skip * z) / c_out) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 500 == 0 or step == a.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}")
    export_contract(net, m, a.out, shape=tuple(ds.u.shape[1:]), output="x0", precondition=True,
                    normalize_inputs=True, sigma_min=sigma_min, sigma_max=sigma_max,
                    data_shift=shift, data_scale=scale, require_cli=True)


if __name__ == "__main__":
    main()
