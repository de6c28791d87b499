"""Muon: SGD momentum whose update is orthogonalised by a Newton-Schulz iteration
(Keller Jordan et al., 2024), as ``torch.optim.Muon`` does it, with one difference: the
iteration runs in a dtype we choose. torch's casts to bf16, which CPUs without AVX512-BF16 or
AMX emulate: there one optimiser step took ~35 s instead of a few milliseconds in fp32.
"""
from __future__ import annotations

import torch

# Quintic coefficients of the reference implementation (and of torch.optim.Muon).
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def orthogonalise(update: torch.Tensor, steps: int, dtype: torch.dtype, eps: float = 1e-7) -> torch.Tensor:
    """Approximately U V^T of update = U S V^T: every singular value pushed towards 1."""
    a, b, c = NS_COEFFICIENTS
    x = update.to(dtype)
    tall = x.size(0) > x.size(1)
    if tall:
        x = x.T
    x = x / x.norm().clamp(min=eps)  # spectral norm at most 1
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if tall else x


class Muon(torch.optim.Optimizer):
    """Nesterov momentum, orthogonalised; for 2D weight matrices only."""

    def __init__(self, params, lr: float = 0.02, momentum: float = 0.95, weight_decay: float = 0.0,
                 ns_steps: int = 5, ns_dtype: torch.dtype = torch.float32, fan_out_dim: int = 0):
        # fan_out_dim: 0 for nn.Linear weights (out, in); 1 for GPT-2's Conv1D weights (in, out)
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                                  "ns_steps": ns_steps, "fan_out_dim": fan_out_dim})
        self.ns_dtype = ns_dtype

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                momentum = self.state[p].setdefault("momentum", torch.zeros_like(p))
                momentum.lerp_(p.grad, 1 - group["momentum"])
                update = p.grad.lerp(momentum, group["momentum"])
                update = orthogonalise(update, group["ns_steps"], self.ns_dtype)
                # Same step size rule as torch.optim.Muon ("original"): taller matrices step more.
                fan_out, fan_in = p.size(group["fan_out_dim"]), p.size(1 - group["fan_out_dim"])
                scale = max(1.0, fan_out / fan_in) ** 0.5
                p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(update.to(p.dtype), alpha=-group["lr"] * scale)
