"""CIE XYZ / sRGB <-> CIELab (D65, 2 degree observer), with scikit-image's constants.

The constants are the easyrgb ones that scikit-image uses (thresholds 0.008856 and 0.2068966, slope 7.787),
so float64 results match `skimage.color.rgb2lab` / `lab2rgb` to about 1e-12.

Implementation note: with f the CIE companding function, L = 116 f(y) - 16, a = 500 (f(x) - f(y)) and
b = 200 (f(y) - f(z)). Writing g = f - 16/116 turns this into one (3, 3) matrix product with no offset, and
the white point is folded into the sRGB matrix, so sRGB -> Lab is: gamma, one matmul, companding, one matmul.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from deepcolor.color._core import check_image, f64, mix, needs_grad
from deepcolor.color.rgb import LINEAR_THRESHOLD, SRGB_THRESHOLD, _linear_to_srgb, _srgb_to_linear
from deepcolor.color.xyz import LINEAR_FROM_XYZ, XYZ_FROM_LINEAR

# CIE XYZ of the D65 white, 2 degree observer (scikit-image's `xyz_tristimulus_values("D65", "2")`).
D65_WHITE = f64([[0.95047, 1.0, 1.08883]])[0]

T_THRESHOLD = 0.008856  # (6/29)^3, rounded as scikit-image does
F_THRESHOLD = 0.2068966  # 6/29, rounded as scikit-image does
SLOPE = 7.787  # (29/6)^2 / 3, rounded as scikit-image does
OFFSET = 16.0 / 116.0

LAB_FROM_G = f64([[0.0, 116.0, 0.0], [500.0, -500.0, 0.0], [0.0, 200.0, -200.0]])
G_FROM_LAB = torch.linalg.inv(LAB_FROM_G)
# Linear sRGB -> XYZ / white, and back: the white point folded into the matrices.
T_FROM_LINEAR = XYZ_FROM_LINEAR / D65_WHITE[:, None]
LINEAR_FROM_T = LINEAR_FROM_XYZ * D65_WHITE[None, :]
# f(Z) may not go below 0 (b* too large for L*): scikit-image clamps it there, and so do we.
G_LOWER = f64([[-torch.inf], [-torch.inf], [-OFFSET]])


def _companding(t: torch.Tensor) -> torch.Tensor:
    """t = XYZ / white -> g = f(t) - 16/116. The cube root sees a clamped input: finite gradient at 0."""
    cube_root = t.clamp(min=T_THRESHOLD).pow_(1.0 / 3.0).sub_(OFFSET)
    return torch.where(t > T_THRESHOLD, cube_root, t * SLOPE)


def _inverse_companding(g: torch.Tensor) -> torch.Tensor:
    """g = f(t) - 16/116 -> t = XYZ / white."""
    g = torch.maximum(g, G_LOWER.to(device=g.device, dtype=g.dtype)[:, :, None])  # (3, 1, 1)
    cube = g.clamp(min=F_THRESHOLD - OFFSET).add_(OFFSET).pow_(3)
    return torch.where(g > F_THRESHOLD - OFFSET, cube, g / SLOPE)


def _white(like: torch.Tensor) -> torch.Tensor:
    return D65_WHITE.to(device=like.device, dtype=like.dtype)[:, None, None]  # (3, 1, 1)


def xyz_to_lab(xyz: torch.Tensor) -> torch.Tensor:
    """CIE XYZ (D65) -> CIELab.

    Args:
        xyz: (*, 3, H, W) X, Y, Z; the D65 white is (0.95047, 1, 1.08883).

    Returns:
        (*, 3, H, W) L in [0, 100], a and b about [-128, 127] (a in [-87, 99], b in [-108, 95] for sRGB).
    """
    check_image(xyz)
    return mix(LAB_FROM_G, _companding(xyz / _white(xyz)))


def lab_to_xyz(lab: torch.Tensor) -> torch.Tensor:
    """CIELab -> CIE XYZ (D65).

    As in scikit-image, f(Z) = (L + 16) / 116 - b / 200 is clamped at 0 when b* is too large for L*.

    Args:
        lab: (*, 3, H, W) L in [0, 100], a and b about [-128, 127].

    Returns:
        (*, 3, H, W) X, Y, Z; the D65 white is (0.95047, 1, 1.08883).
    """
    check_image(lab)
    return _inverse_companding(mix(G_FROM_LAB, lab)) * _white(lab)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB -> CIELab (D65), the same as ``xyz_to_lab(rgb_to_xyz(rgb))`` in fewer passes.

    Args:
        rgb: (*, 3, H, W) sRGB in [0, 1].

    Returns:
        (*, 3, H, W) L in [0, 100], a in about [-87, 99], b in about [-108, 95].
    """
    check_image(rgb)
    if not needs_grad(rgb):
        return _rgb_to_lab_no_grad(rgb)
    return mix(LAB_FROM_G, _companding(mix(T_FROM_LINEAR, _srgb_to_linear(rgb))))


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """CIELab (D65) -> sRGB.

    Many Lab triples lie outside the sRGB gamut; with `clip` (the default, as scikit-image's `lab2rgb`) the
    result is clipped to [0, 1], and the gradient is zero for the clipped channels. As in scikit-image,
    f(Z) is clamped at 0 when b* is too large for L*.

    Args:
        lab: (*, 3, H, W) L in [0, 100], a and b about [-128, 127].
        clip: clip the sRGB result to [0, 1].

    Returns:
        (*, 3, H, W) sRGB, in [0, 1] when `clip` is set.
    """
    check_image(lab)
    if not needs_grad(lab):
        return _lab_to_rgb_no_grad(lab, clip)
    rgb = _linear_to_srgb(mix(LINEAR_FROM_T, _inverse_companding(mix(G_FROM_LAB, lab))))
    return rgb.clamp_(0.0, 1.0) if clip else rgb


# Without autograd, the same steps ping-pong between two image-sized buffers (`a`, `b`) instead of
# allocating a fresh one per step: each fresh allocation of a large image costs as much as a pass over it
# (the OS hands out zeroed pages), and the differentiable path makes about ten of them per direction.
# Same operations in the same order: identical results on contiguous input (tests/color check it; other
# layouts may differ in the last bit, as the matrix product then takes another kernel).


def _rgb_to_lab_no_grad(rgb: torch.Tensor) -> torch.Tensor:
    a = torch.empty(rgb.shape, dtype=rgb.dtype, device=rgb.device)  # contiguous, whatever rgb's layout
    b = torch.empty_like(a)
    torch.clamp(rgb, min=SRGB_THRESHOLD, out=a).add_(0.055).div_(1.055).pow_(2.4)
    torch.div(rgb, 12.92, out=b)
    torch.where(rgb > SRGB_THRESHOLD, a, b, out=a)  # a = linear RGB
    mix(T_FROM_LINEAR, a, out=b)  # b = XYZ / white
    cube_root = b > T_THRESHOLD
    torch.clamp(b, min=T_THRESHOLD, out=a).pow_(1.0 / 3.0).sub_(OFFSET)
    torch.where(cube_root, a, b.mul_(SLOPE), out=a)  # a = g = f - 16/116
    return mix(LAB_FROM_G, a, out=b)


def _lab_to_linear_no_grad(
    lab: torch.Tensor, a: torch.Tensor | None = None, b: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Linear RGB of `lab` (in `a`), and a spare buffer of its shape (`b`, which may be `lab` itself)."""
    if a is None:
        a = torch.empty(lab.shape, dtype=lab.dtype, device=lab.device)  # contiguous, whatever lab's layout
    if b is None:
        b = torch.empty_like(a)
    mix(G_FROM_LAB, lab, out=a)  # a = g = f - 16/116
    torch.maximum(a, G_LOWER.to(device=a.device, dtype=a.dtype)[:, :, None], out=a)  # f(Z) >= 0
    cube = a > F_THRESHOLD - OFFSET
    torch.clamp(a, min=F_THRESHOLD - OFFSET, out=b).add_(OFFSET).pow_(3)
    torch.where(cube, b, a.div_(SLOPE), out=b)  # b = XYZ / white
    mix(LINEAR_FROM_T, b, out=a)  # a = linear RGB
    return a, b


def _lab_to_rgb_no_grad(lab: torch.Tensor, clip: bool) -> torch.Tensor:
    a, b = _lab_to_linear_no_grad(lab)
    power = a > LINEAR_THRESHOLD
    torch.clamp(a, min=LINEAR_THRESHOLD, out=b).pow_(1.0 / 2.4).mul_(1.055).sub_(0.055)
    torch.where(power, b, a.mul_(12.92), out=b)  # b = sRGB
    return b.clamp_(0.0, 1.0) if clip else b


# 8-bit sRGB codes of linear RGB on a grid of 2^18 levels over [0, 1]: the gamma (a power, the costliest step
# of Lab -> sRGB) becomes a table lookup. A grid step moves sRGB by at most 255 * 12.92 / 2^18 = 0.013 of a
# code (near black, less above), so a result differs from rounding the exact value only for values within
# that distance of a code boundary, and then by one code.
SRGB8_TABLE_SIZE = 1 << 18


@functools.lru_cache(maxsize=4)
def _srgb8_table(device: torch.device) -> torch.Tensor:
    linear = torch.linspace(0.0, 1.0, SRGB8_TABLE_SIZE, dtype=torch.float64)
    codes = _linear_to_srgb(linear).clamp_(0.0, 1.0).mul_(255.0).add_(0.5).floor_()
    return codes.to(torch.uint8).to(device)


def lab_to_rgb8(lab: torch.Tensor, work: torch.Tensor | None = None) -> torch.Tensor:
    """CIELab (D65) -> 8-bit sRGB codes, for writing out: ``round(255 * lab_to_rgb(lab))`` with the gamma read
    from a table (`SRGB8_TABLE_SIZE` levels of linear RGB): the same codes, but one code off for the rare
    values that lie within 0.013 of a code boundary. Out-of-gamut colours are clipped. No autograd.

    Args:
        lab: (*, 3, H, W) L in [0, 100], a and b about [-128, 127], float.
        work: optional contiguous tensor of `lab`'s shape and dtype (not `lab`) to compute in; `lab` is then
            overwritten too, and no image-sized buffer is made. Reused from frame to frame, this saves what a
            fresh buffer costs (the OS hands out zeroed pages: as much as a pass over the image).

    Returns:
        (*, 3, H, W) uint8 sRGB in [0, 255], on the device of `lab`.
    """
    check_image(lab)
    if work is not None and (work.shape != lab.shape or work.dtype != lab.dtype or not work.is_contiguous()):
        raise ValueError(
            f"work must be a contiguous {lab.dtype} tensor of shape {tuple(lab.shape)}. "
            f"Got {work.dtype} {tuple(work.shape)}"
        )
    with torch.no_grad():
        linear, spare = _lab_to_linear_no_grad(lab, work, None if work is None else lab)
        linear.clamp_(0.0, 1.0).mul_(SRGB8_TABLE_SIZE - 1).add_(0.5)
        if spare.element_size() == 4:  # the nearest level (x + 0.5 truncated), in the spare buffer
            index = spare.view(torch.int32).copy_(linear)
        else:
            index = linear.to(torch.int32)
        return _srgb8_table(lab.device).index_select(0, index.reshape(-1)).view(lab.shape)


class XyzToLab(nn.Module):
    """Module form of :func:`xyz_to_lab`: (*, 3, H, W) -> (*, 3, H, W)."""

    def forward(self, xyz: torch.Tensor) -> torch.Tensor:
        return xyz_to_lab(xyz)


class LabToXyz(nn.Module):
    """Module form of :func:`lab_to_xyz`: (*, 3, H, W) -> (*, 3, H, W)."""

    def forward(self, lab: torch.Tensor) -> torch.Tensor:
        return lab_to_xyz(lab)


class RgbToLab(nn.Module):
    """Module form of :func:`rgb_to_lab`: (*, 3, H, W) sRGB in [0, 1] -> (*, 3, H, W) Lab."""

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb_to_lab(rgb)


class LabToRgb(nn.Module):
    """Module form of :func:`lab_to_rgb`: (*, 3, H, W) Lab -> (*, 3, H, W) sRGB, clipped by default."""

    def __init__(self, clip: bool = True) -> None:
        super().__init__()
        self.clip = clip

    def forward(self, lab: torch.Tensor) -> torch.Tensor:
        return lab_to_rgb(lab, clip=self.clip)
