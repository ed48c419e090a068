"""The plain colour -> grey methods: weighted sums of the channels and CIE lightness.

Each takes (H, W, 3) sRGB (uint8 or float in [0, 1]) and returns (H, W) float32 sRGB grey in [0, 1], in
row bands, so that a 50-megapixel photo needs little beyond its input and output.

- `luma601`: 0.299 R' + 0.587 G' + 0.114 B' on the gamma-encoded values (BT.601, JPEG, OpenCV's
  `COLOR_RGB2GRAY`).
- `luma709`: 0.2126 R' + 0.7152 G' + 0.0722 B' (BT.709 weights, gamma-encoded).
- `average`: (R' + G' + B') / 3.
- `lightness`: the neutral grey with the pixel's CIE L* (so it looks as light as the colour): the sRGB
  encoding of the relative luminance Y. This differs from `deepcolor.color.rgb_to_gray(..., "lightness")`,
  which returns L* / 100 as a number; written to a file, L* / 100 would not display with the L* it stands for.

All four return a neutral grey input unchanged (up to float rounding).
"""

from __future__ import annotations

import numpy as np

from deepcolor.color.gray import LUMA_WEIGHTS, Y_FROM_LINEAR
from deepcolor.color.rgb import LINEAR_THRESHOLD, SRGB_THRESHOLD
from deepcolor.decolor._common import _LINEAR_FROM_U8, check_rgb, row_bands

_WEIGHTS = {
    "luma601": LUMA_WEIGHTS["bt601"].numpy().astype(np.float32),
    "luma709": LUMA_WEIGHTS["bt709"].numpy().astype(np.float32),
    "average": np.full(3, 1.0 / 3.0, dtype=np.float32),
}
_Y_WEIGHTS = Y_FROM_LINEAR.numpy().astype(np.float32)


def _weighted(rgb: np.ndarray, weights: np.ndarray) -> np.ndarray:
    rgb = check_rgb(rgb)
    h, w = rgb.shape[:2]
    out = np.empty((h, w), dtype=np.float32)
    scale = np.float32(1.0 / 255.0) if rgb.dtype == np.uint8 else np.float32(1.0)
    wk = weights * scale
    for rows in row_bands(h, w):
        band = rgb[rows]
        out[rows] = band[..., 0] * wk[0] + band[..., 1] * wk[1] + band[..., 2] * wk[2]
    return np.clip(out, 0.0, 1.0, out=out)


def luma601(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma: (H, W, 3) sRGB -> (H, W) float32 grey in [0, 1]."""
    return _weighted(rgb, _WEIGHTS["luma601"])


def luma709(rgb: np.ndarray) -> np.ndarray:
    """BT.709 luma: (H, W, 3) sRGB -> (H, W) float32 grey in [0, 1]."""
    return _weighted(rgb, _WEIGHTS["luma709"])


def average(rgb: np.ndarray) -> np.ndarray:
    """Mean of R', G' and B': (H, W, 3) sRGB -> (H, W) float32 grey in [0, 1]."""
    return _weighted(rgb, _WEIGHTS["average"])


def _linear(channel: np.ndarray) -> np.ndarray:
    if channel.dtype == np.uint8:
        return np.take(_LINEAR_FROM_U8, channel)
    x = channel.astype(np.float32)
    power = np.power((np.maximum(x, SRGB_THRESHOLD) + 0.055) / 1.055, 2.4, dtype=np.float32)
    return np.where(x > SRGB_THRESHOLD, power, x / np.float32(12.92))


def lightness(rgb: np.ndarray) -> np.ndarray:
    """CIE lightness: (H, W, 3) sRGB -> (H, W) float32 sRGB grey in [0, 1] with the same L* as each pixel."""
    rgb = check_rgb(rgb)
    h, w = rgb.shape[:2]
    out = np.empty((h, w), dtype=np.float32)
    for rows in row_bands(h, w):
        band = rgb[rows]
        y = sum(_linear(band[..., c]) * _Y_WEIGHTS[c] for c in range(3))
        y = np.clip(y, 0.0, 1.0)
        power = np.power(np.maximum(y, LINEAR_THRESHOLD), np.float32(1.0 / 2.4), dtype=np.float32)
        out[rows] = np.where(y > LINEAR_THRESHOLD, power * np.float32(1.055) - np.float32(0.055),
                             y * np.float32(12.92))
    return np.clip(out, 0.0, 1.0, out=out)
