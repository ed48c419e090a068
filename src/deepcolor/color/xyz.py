"""sRGB <-> CIE XYZ (D65, 2 degree observer), with the sRGB matrix that scikit-image uses."""

from __future__ import annotations

import torch
from torch import nn

from deepcolor.color._core import check_image, f64, mix
from deepcolor.color.rgb import _linear_to_srgb, _srgb_to_linear

# Linear sRGB -> XYZ, from the sRGB specification (as scikit-image's `xyz_from_rgb`).
XYZ_FROM_LINEAR = f64(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
LINEAR_FROM_XYZ = torch.linalg.inv(XYZ_FROM_LINEAR)


def rgb_to_xyz(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB -> CIE XYZ (D65): undo the gamma, then the sRGB matrix.

    Args:
        rgb: (*, 3, H, W) sRGB in [0, 1].

    Returns:
        (*, 3, H, W) X, Y, Z; for sRGB in [0, 1], X in [0, 0.951], Y in [0, 1], Z in [0, 1.089].
    """
    check_image(rgb)
    return mix(XYZ_FROM_LINEAR, _srgb_to_linear(rgb))


def xyz_to_rgb(xyz: torch.Tensor, clip: bool = False) -> torch.Tensor:
    """CIE XYZ (D65) -> sRGB: the inverse sRGB matrix, then the gamma.

    Args:
        xyz: (*, 3, H, W) X, Y, Z (D65 white is (0.95047, 1, 1.08883)).
        clip: clip the result to [0, 1] (scikit-image's `xyz2rgb` always clips). Off by default so that
            XYZ -> sRGB stays the exact inverse of :func:`rgb_to_xyz`, also for colours outside the gamut.

    Returns:
        (*, 3, H, W) sRGB, in [0, 1] for colours inside the sRGB gamut (or always, with `clip`).
    """
    check_image(xyz)
    rgb = _linear_to_srgb(mix(LINEAR_FROM_XYZ, xyz))
    return rgb.clamp(0.0, 1.0) if clip else rgb


class RgbToXyz(nn.Module):
    """Module form of :func:`rgb_to_xyz`: (*, 3, H, W) -> (*, 3, H, W)."""

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb_to_xyz(rgb)


class XyzToRgb(nn.Module):
    """Module form of :func:`xyz_to_rgb`: (*, 3, H, W) -> (*, 3, H, W)."""

    def __init__(self, clip: bool = False) -> None:
        super().__init__()
        self.clip = clip

    def forward(self, xyz: torch.Tensor) -> torch.Tensor:
        return xyz_to_rgb(xyz, clip=self.clip)
