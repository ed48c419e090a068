"""Tiny models for the inference tests: a fixed model whose prediction is known, so that properties of the
path around the model can be checked exactly, and the kwargs of a tiny registered model."""

from __future__ import annotations

import torch
from torch import nn

TINY_KWARGS = {"base_width": 4, "depth": 1}


class ConstantAb(nn.Module):
    """predict_ab -> one ab_norm everywhere (in gamut for mid greys): isolates the path from the model."""

    def __init__(self, a: float = 0.12, b: float = -0.08) -> None:
        super().__init__()
        self.register_buffer("ab", torch.tensor([a, b]))

    def predict_ab(self, l_norm: torch.Tensor) -> torch.Tensor:
        return self.ab.view(1, 2, 1, 1).expand(l_norm.shape[0], 2, *l_norm.shape[-2:]).clone()


class LeftRight(nn.Module):
    """predict_ab -> red-ish on dark pixels, blue-ish on bright ones: a colour that follows the lightness."""

    def predict_ab(self, l_norm: torch.Tensor) -> torch.Tensor:
        dark = (l_norm < 0).to(l_norm.dtype)
        return torch.cat([0.5 * dark, -0.4 * (1 - dark)], dim=1)
