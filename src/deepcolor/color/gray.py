"""sRGB -> grey (BT.601 luma, BT.709 luma, or CIE L*), and grey -> sRGB.

The lumas are weighted sums of the gamma-encoded channels, as in video and JPEG. BT.709 uses the standard
(0.2126, 0.7152, 0.0722); scikit-image's `rgb2gray` uses the older rounding (0.2125, 0.7154, 0.0721), which
differs by at most 2e-4. "lightness" is L* / 100 of CIELab (D65), a perceptual grey.
"""

from __future__ import annotations

import torch
from torch import nn

from deepcolor.color._core import check_image, f64
from deepcolor.color.lab import _companding
from deepcolor.color.rgb import _srgb_to_linear
from deepcolor.color.xyz import XYZ_FROM_LINEAR

LUMA_WEIGHTS = {
    "bt601": f64([[0.299, 0.587, 0.114]])[0],
    "bt709": f64([[0.2126, 0.7152, 0.0722]])[0],
}
Y_FROM_LINEAR = XYZ_FROM_LINEAR[1]  # the Y row of the sRGB matrix; the D65 white has Y = 1
GRAY_METHODS = ("bt601", "bt709", "lightness")


def rgb_to_gray(rgb: torch.Tensor, method: str = "bt601") -> torch.Tensor:
    """sRGB -> one grey channel.

    Args:
        rgb: (*, 3, H, W) sRGB in [0, 1].
        method: "bt601" (luma 0.299 R + 0.587 G + 0.114 B, as JPEG and OpenCV), "bt709"
            (0.2126 R + 0.7152 G + 0.0722 B) or "lightness" (CIE L* / 100).

    Returns:
        (*, 1, H, W) grey in [0, 1].

    Raises:
        ValueError: unknown `method` (the message lists the known ones).
    """
    check_image(rgb)
    if method not in GRAY_METHODS:
        raise ValueError(f"Unknown grey method {method!r}. Known: {', '.join(GRAY_METHODS)}")
    if method == "lightness":
        # L* / 100 = 1.16 (f(Y) - 16/116), with only Y computed.
        return _companding(_weighted_sum(Y_FROM_LINEAR, _srgb_to_linear(rgb))).mul_(1.16)
    return _weighted_sum(LUMA_WEIGHTS[method], rgb)


def _weighted_sum(weights: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
    weights = weights.to(device=rgb.device, dtype=rgb.dtype)
    # (1, 3) @ (*, 3, HW) -> (*, 1, HW): one pass over the image.
    shape = rgb.shape
    flat = rgb.reshape(-1, 3, shape[-2] * shape[-1])
    return torch.matmul(weights[None, :], flat).reshape(*shape[:-3], 1, shape[-2], shape[-1])


def gray_to_rgb(gray: torch.Tensor) -> torch.Tensor:
    """Grey -> sRGB by repeating the channel (a new tensor, not a view).

    Args:
        gray: (*, 1, H, W) in [0, 1].

    Returns:
        (*, 3, H, W) with R = G = B = gray.
    """
    check_image(gray, channels=1)
    return torch.cat((gray, gray, gray), dim=-3)


class RgbToGray(nn.Module):
    """Module form of :func:`rgb_to_gray`: (*, 3, H, W) -> (*, 1, H, W)."""

    def __init__(self, method: str = "bt601") -> None:
        super().__init__()
        if method not in GRAY_METHODS:
            raise ValueError(f"Unknown grey method {method!r}. Known: {', '.join(GRAY_METHODS)}")
        self.method = method

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb_to_gray(rgb, method=self.method)


class GrayToRgb(nn.Module):
    """Module form of :func:`gray_to_rgb`: (*, 1, H, W) -> (*, 3, H, W)."""

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        return gray_to_rgb(gray)
