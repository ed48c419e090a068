"""sRGB <-> HSV, all three channels in [0, 1] (H = hue / 360 degrees), as scikit-image.

The hue is differentiable wherever it is smooth: away from grey (S = 0, where it is undefined and set to 0),
away from ties between the largest or smallest channels (the edges of the hexcone), and away from the wrap
at red (H = 0 = 1).
"""

from __future__ import annotations

import torch
from torch import nn

from deepcolor.color._core import check_image

# hsv_to_rgb: for each sextant i = floor(6 H) mod 6, which of (v, p, q, t) goes to R, G and B.
_V, _P, _Q, _T = 0, 1, 2, 3
_SEXTANT_TO_RGB = torch.tensor(
    [[_V, _T, _P], [_Q, _V, _P], [_P, _V, _T], [_P, _Q, _V], [_T, _P, _V], [_V, _P, _Q]], dtype=torch.long
)


def rgb_to_hsv(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB -> HSV.

    Args:
        rgb: (*, 3, H, W) sRGB in [0, 1].

    Returns:
        (*, 3, H, W) hue, saturation and value, each in [0, 1]; hue is 0 for greys (S = 0).
    """
    check_image(rgb)
    r, g, b = rgb.unbind(dim=-3)
    value, _ = rgb.max(dim=-3)
    delta = value - rgb.amin(dim=-3)
    chromatic = delta > 0
    safe_delta = torch.where(chromatic, delta, torch.ones_like(delta))  # no 0/0, even in the unused branch
    safe_value = torch.where(value != 0, value, torch.ones_like(value))
    saturation = torch.where(chromatic, delta / safe_value, torch.zeros_like(delta))

    # Sextant by the largest channel; on ties blue wins over green over red, as in scikit-image.
    hue = torch.where(
        b == value,
        4.0 + (r - g) / safe_delta,
        torch.where(g == value, 2.0 + (b - r) / safe_delta, (g - b) / safe_delta),
    )
    hue = torch.where(chromatic, torch.remainder(hue / 6.0, 1.0), torch.zeros_like(hue))
    return torch.stack((hue, saturation, value), dim=-3)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """HSV -> sRGB.

    Args:
        hsv: (*, 3, H, W) hue, saturation and value in [0, 1]; hue wraps around (H and H + 1 are the same).

    Returns:
        (*, 3, H, W) sRGB in [0, 1].
    """
    check_image(hsv)
    hue, saturation, value = hsv.unbind(dim=-3)
    hue6 = hue * 6.0
    sextant_float = torch.floor(hue6)
    frac = hue6 - sextant_float
    sextant = torch.remainder(sextant_float.long(), 6)  # (*, H, W) in 0..5
    p = value * (1.0 - saturation)
    q = value * (1.0 - frac * saturation)
    t = value * (1.0 - (1.0 - frac) * saturation)
    candidates = torch.stack((value, p, q, t), dim=-3)  # (*, 4, H, W)
    index = _SEXTANT_TO_RGB.to(hsv.device)[sextant].movedim(-1, -3)  # (*, 3, H, W)
    return torch.gather(candidates, -3, index)


class RgbToHsv(nn.Module):
    """Module form of :func:`rgb_to_hsv`: (*, 3, H, W) -> (*, 3, H, W)."""

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb_to_hsv(rgb)


class HsvToRgb(nn.Module):
    """Module form of :func:`hsv_to_rgb`: (*, 3, H, W) -> (*, 3, H, W)."""

    def forward(self, hsv: torch.Tensor) -> torch.Tensor:
        return hsv_to_rgb(hsv)
