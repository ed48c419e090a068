"""sRGB <-> YCbCr, BT.601 full range as JPEG (JFIF) uses: Y, Cb, Cr all in [0, 1], chroma centred on 0.5.

Not scikit-image's `rgb2ycbcr`, which is the studio range (Y in [16, 235]); the matrix is scikit-image's
`ypbpr_from_rgb` (the JFIF coefficients) with 0.5 added to the chroma.
"""

from __future__ import annotations

import torch
from torch import nn

from deepcolor.color._core import check_image, f64, mix

YCBCR_FROM_RGB = f64(
    [
        [0.299, 0.587, 0.114],
        [-0.168736, -0.331264, 0.5],
        [0.5, -0.418688, -0.081312],
    ]
)
RGB_FROM_YCBCR = torch.linalg.inv(YCBCR_FROM_RGB)
CHROMA_OFFSET = f64([[0.0], [0.5], [0.5]])[:, :, None]  # (3, 1, 1)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB -> YCbCr (BT.601 full range, as JPEG).

    Args:
        rgb: (*, 3, H, W) sRGB in [0, 1].

    Returns:
        (*, 3, H, W) Y, Cb, Cr, each in [0, 1]; Cb = Cr = 0.5 for greys.
    """
    check_image(rgb)
    return mix(YCBCR_FROM_RGB, rgb) + CHROMA_OFFSET.to(device=rgb.device, dtype=rgb.dtype)


def ycbcr_to_rgb(ycbcr: torch.Tensor) -> torch.Tensor:
    """YCbCr (BT.601 full range, as JPEG) -> sRGB. No clipping.

    Args:
        ycbcr: (*, 3, H, W) Y, Cb, Cr in [0, 1], chroma centred on 0.5.

    Returns:
        (*, 3, H, W) sRGB, in [0, 1] for YCbCr values that come from sRGB colours.
    """
    check_image(ycbcr)
    return mix(RGB_FROM_YCBCR, ycbcr - CHROMA_OFFSET.to(device=ycbcr.device, dtype=ycbcr.dtype))


class RgbToYcbcr(nn.Module):
    """Module form of :func:`rgb_to_ycbcr`: (*, 3, H, W) -> (*, 3, H, W)."""

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb_to_ycbcr(rgb)


class YcbcrToRgb(nn.Module):
    """Module form of :func:`ycbcr_to_rgb`: (*, 3, H, W) -> (*, 3, H, W)."""

    def forward(self, ycbcr: torch.Tensor) -> torch.Tensor:
        return ycbcr_to_rgb(ycbcr)
