"""Differentiable colour-space conversions on tensors shaped (*, 3, H, W) (grey (*, 1, H, W)).

Every function keeps the input's dtype and device, accepts any leading batch shape, and is differentiable
(float64 `gradcheck` passes away from the few singular points each docstring names). sRGB is in [0, 1];
the ranges of the other spaces are in each docstring and in docs/ARCHITECTURE.md. Each conversion also has an
`nn.Module` form (`RgbToLab`, ...). `deepcolor.color.numpy` has the same functions on (H, W, 3) arrays.

Constants are scikit-image's (sRGB matrix, D65 white (0.95047, 1, 1.08883), Lab thresholds), so float64
results match `skimage.color` to about 1e-12. `lab_to_rgb` clips out-of-gamut colours to [0, 1];
`lab_to_rgb8` gives 8-bit codes (for writing out; the gamma from a table).
"""

from __future__ import annotations

from deepcolor.color.gray import GRAY_METHODS, GrayToRgb, RgbToGray, gray_to_rgb, rgb_to_gray
from deepcolor.color.hsv import HsvToRgb, RgbToHsv, hsv_to_rgb, rgb_to_hsv
from deepcolor.color.lab import (
    D65_WHITE,
    LabToRgb,
    LabToXyz,
    RgbToLab,
    XyzToLab,
    lab_to_rgb,
    lab_to_xyz,
    rgb_to_lab,
    xyz_to_lab,
)
from deepcolor.color.lab import (
    lab_to_rgb8 as lab_to_rgb8,  # not in __all__: an 8-bit output step, not a differentiable conversion
)
from deepcolor.color.rgb import LinearToSrgb, SrgbToLinear, linear_to_srgb, srgb_to_linear
from deepcolor.color.xyz import RgbToXyz, XyzToRgb, rgb_to_xyz, xyz_to_rgb
from deepcolor.color.ycbcr import RgbToYcbcr, YcbcrToRgb, rgb_to_ycbcr, ycbcr_to_rgb
from deepcolor.color.yuv import RgbToYuv, YuvToRgb, rgb_to_yuv, yuv_to_rgb

__all__ = [
    "D65_WHITE",
    "GRAY_METHODS",
    "GrayToRgb",
    "HsvToRgb",
    "LabToRgb",
    "LabToXyz",
    "LinearToSrgb",
    "RgbToGray",
    "RgbToHsv",
    "RgbToLab",
    "RgbToXyz",
    "RgbToYcbcr",
    "RgbToYuv",
    "SrgbToLinear",
    "XyzToLab",
    "XyzToRgb",
    "YcbcrToRgb",
    "YuvToRgb",
    "gray_to_rgb",
    "hsv_to_rgb",
    "lab_to_rgb",
    "lab_to_xyz",
    "linear_to_srgb",
    "rgb_to_gray",
    "rgb_to_hsv",
    "rgb_to_lab",
    "rgb_to_xyz",
    "rgb_to_ycbcr",
    "rgb_to_yuv",
    "srgb_to_linear",
    "xyz_to_lab",
    "xyz_to_rgb",
    "ycbcr_to_rgb",
    "yuv_to_rgb",
]
