"""RMSProp whose statistics live in shared memory, so every A3C worker updates the same ones.

Mnih et al. (2016) found shared RMSProp statistics the most robust choice for asynchronous
training: each worker applies its gradients to the global parameters (Hogwild, no lock) and
all workers read and write one running average of squared gradients.
"""

from __future__ import annotations

from typing import Iterable

import torch


class SharedRMSprop(torch.optim.Optimizer):
    """RMSProp (non-centred, as in A3C) with eagerly created, shareable state.

    Args:
        params: the global model's parameters (already in shared memory).
        lr: learning rate. alpha: decay of the squared-gradient average. eps: added to its root.

    Example:
        >>> model = torch.nn.Linear(2, 1).share_memory()
        >>> opt = SharedRMSprop(model.parameters(), lr=7e-4).share_memory()
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float = 7e-4, alpha: float = 0.99, eps: float = 0.1):
        if lr <= 0 or not 0 < alpha < 1 or eps <= 0:
            raise ValueError(f"SharedRMSprop needs lr > 0, 0 < alpha < 1, eps > 0; got lr={lr}, alpha={alpha}, eps={eps}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps))
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["step"] = torch.zeros(1)
                self.state[p]["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def share_memory(self) -> "SharedRMSprop":
        """Move the statistics to shared memory (call before starting the workers)."""
        for state in self.state.values():
            for tensor in state.values():
                tensor.share_memory_()
        return self

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                state["step"] += 1
                square_avg = state["square_avg"]
                square_avg.mul_(group["alpha"]).addcmul_(p.grad, p.grad, value=1 - group["alpha"])
                p.addcdiv_(p.grad, square_avg.sqrt().add_(group["eps"]), value=-group["lr"])
        return None
