"""sRGB <-> linear RGB: the sRGB transfer function (IEC 61966-2-1), with scikit-image's thresholds.

Both directions use the linear segment near 0, and the power branch is evaluated on a clamped input, so the
gradient is finite everywhere (also at exactly 0, where a bare `x ** (1 / 2.4)` would have an infinite one).
"""

from __future__ import annotations

import torch
from torch import nn

from deepcolor.color._core import check_image

# sRGB -> linear: x / 12.92 below the threshold, ((x + 0.055) / 1.055) ** 2.4 above.
SRGB_THRESHOLD = 0.04045
# linear -> sRGB: 12.92 x below, 1.055 x ** (1 / 2.4) - 0.055 above.
LINEAR_THRESHOLD = 0.0031308


def _srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    # The clamp keeps the unused branch of `where` finite (and its gradient zero) below the threshold.
    power = rgb.clamp(min=SRGB_THRESHOLD).add_(0.055).div_(1.055).pow_(2.4)
    return torch.where(rgb > SRGB_THRESHOLD, power, rgb / 12.92)


def _linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:
    power = linear.clamp(min=LINEAR_THRESHOLD).pow_(1.0 / 2.4).mul_(1.055).sub_(0.055)
    return torch.where(linear > LINEAR_THRESHOLD, power, linear * 12.92)


def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    """Undo the sRGB gamma.

    Args:
        rgb: (*, 3, H, W) sRGB in [0, 1] (values outside are extended by the same formula).

    Returns:
        (*, 3, H, W) linear RGB in [0, 1], same dtype and device.
    """
    check_image(rgb)
    return _srgb_to_linear(rgb)


def linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:
    """Apply the sRGB gamma. No clipping: values outside [0, 1] stay outside.

    Args:
        linear: (*, 3, H, W) linear RGB in [0, 1].

    Returns:
        (*, 3, H, W) sRGB in [0, 1], same dtype and device.
    """
    check_image(linear)
    return _linear_to_srgb(linear)


class SrgbToLinear(nn.Module):
    """Module form of :func:`srgb_to_linear`: (*, 3, H, W) -> (*, 3, H, W)."""

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return srgb_to_linear(rgb)


class LinearToSrgb(nn.Module):
    """Module form of :func:`linear_to_srgb`: (*, 3, H, W) -> (*, 3, H, W)."""

    def forward(self, linear: torch.Tensor) -> torch.Tensor:
        return linear_to_srgb(linear)
