"""The one place where the models' input and output normalisation lives.

Models see `l_norm = (L - 50) / 100` (L* in [0, 100] -> [-0.5, 0.5]) and predict `ab_norm = ab / 110`
(a*, b* roughly in [-110, 110] for sRGB colours -> [-1, 1]), as in Zhang et al.'s colorization code.
"""

from __future__ import annotations

import torch

from deepcolor.color.lab import lab_to_rgb

L_CENTER = 50.0
L_SCALE = 100.0
AB_SCALE = 110.0


def normalize_l(l: torch.Tensor) -> torch.Tensor:
    """L* in [0, 100] -> l_norm in [-0.5, 0.5]."""
    return (l - L_CENTER) / L_SCALE


def denormalize_l(l_norm: torch.Tensor) -> torch.Tensor:
    """l_norm in [-0.5, 0.5] -> L* in [0, 100]."""
    return l_norm * L_SCALE + L_CENTER


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """a*b* in about [-110, 110] -> ab_norm in about [-1, 1]."""
    return ab / AB_SCALE


def denormalize_ab(ab_norm: torch.Tensor) -> torch.Tensor:
    """ab_norm in about [-1, 1] -> a*b* in about [-110, 110]."""
    return ab_norm * AB_SCALE


def normalized_to_rgb(l_norm: torch.Tensor, ab_norm: torch.Tensor) -> torch.Tensor:
    """(l_norm (B, 1, H, W), ab_norm (B, 2, H, W)) -> sRGB (B, 3, H, W) in [0, 1] (differentiable)."""
    return lab_to_rgb(torch.cat((denormalize_l(l_norm), denormalize_ab(ab_norm)), dim=1))
