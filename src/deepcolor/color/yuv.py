"""sRGB <-> YUV (BT.601, analogue PAL form), with the matrix that scikit-image uses."""

from __future__ import annotations

import torch
from torch import nn

from deepcolor.color._core import check_image, f64, mix

# Y = BT.601 luma; U = 0.492111 (B - Y); V = 0.877283 (R - Y) (scikit-image's `yuv_from_rgb`).
YUV_FROM_RGB = f64(
    [
        [0.299, 0.587, 0.114],
        [-0.14714119, -0.28886916, 0.43601035],
        [0.61497538, -0.51496512, -0.10001026],
    ]
)
RGB_FROM_YUV = torch.linalg.inv(YUV_FROM_RGB)


def rgb_to_yuv(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB -> YUV (BT.601). A linear map of the gamma-encoded values.

    Args:
        rgb: (*, 3, H, W) sRGB in [0, 1].

    Returns:
        (*, 3, H, W) Y in [0, 1], U in [-0.436, 0.436], V in [-0.615, 0.615].
    """
    check_image(rgb)
    return mix(YUV_FROM_RGB, rgb)


def yuv_to_rgb(yuv: torch.Tensor) -> torch.Tensor:
    """YUV (BT.601) -> sRGB. No clipping.

    Args:
        yuv: (*, 3, H, W) Y in [0, 1], U in [-0.436, 0.436], V in [-0.615, 0.615].

    Returns:
        (*, 3, H, W) sRGB, in [0, 1] for YUV values that come from sRGB colours.
    """
    check_image(yuv)
    return mix(RGB_FROM_YUV, yuv)


class RgbToYuv(nn.Module):
    """Module form of :func:`rgb_to_yuv`: (*, 3, H, W) -> (*, 3, H, W)."""

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb_to_yuv(rgb)


class YuvToRgb(nn.Module):
    """Module form of :func:`yuv_to_rgb`: (*, 3, H, W) -> (*, 3, H, W)."""

    def forward(self, yuv: torch.Tensor) -> torch.Tensor:
        return yuv_to_rgb(yuv)
