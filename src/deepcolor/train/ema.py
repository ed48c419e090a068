"""Exponential moving average of a model's weights (buffers copied): steadier validation, export."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps `shadow`, a copy of the model whose parameters follow p_ema <- d * p_ema + (1 - d) * p.

    The decay warms up as min(decay, (1 + step) / (10 + step)) so early weights do not linger.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        self.decay = decay
        self.shadow = copy.deepcopy(model).eval()
        for p in self.shadow.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        for p_ema, p in zip(self.shadow.parameters(), model.parameters(), strict=False):
            p_ema.lerp_(p.detach(), 1.0 - decay)
        for b_ema, b in zip(self.shadow.buffers(), model.buffers(), strict=False):
            b_ema.copy_(b)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.shadow.load_state_dict(state)
