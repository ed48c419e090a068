"""sRGB <-> linear RGB against scikit-image's transfer function (the first step of its rgb2xyz)."""

from __future__ import annotations

import numpy as np
import skimage.color
import torch

import deepcolor.color as color

from .helpers import EDGE_RGB, as_image, random_rgb, to_numpy, to_tensor

TOL64 = 1e-6


def _inputs() -> np.ndarray:
    return np.concatenate([random_rgb((6, 8)).reshape(1, -1, 3), as_image(EDGE_RGB)], axis=1)


def test_srgb_to_linear_matches_skimage() -> None:
    rgb = _inputs()
    # skimage has no public sRGB -> linear; its rgb2xyz is that followed by the sRGB matrix.
    expected = skimage.color.rgb2xyz(rgb) @ np.linalg.inv(skimage.color.colorconv.xyz_from_rgb).T
    np.testing.assert_allclose(to_numpy(color.srgb_to_linear(to_tensor(rgb))), expected, rtol=0, atol=TOL64)


def test_linear_to_srgb_matches_skimage() -> None:
    linear = _inputs()
    # skimage's xyz2rgb is the inverse sRGB matrix followed by the gamma (and a clip, idle on [0, 1]).
    expected = skimage.color.xyz2rgb(linear @ skimage.color.colorconv.xyz_from_rgb.T)
    np.testing.assert_allclose(
        to_numpy(color.linear_to_srgb(to_tensor(linear))), expected, rtol=0, atol=TOL64
    )


def test_known_values() -> None:
    rgb = torch.tensor([0.0, 1.0, 0.04045, 0.5], dtype=torch.float64).view(1, 4, 1).expand(3, 4, 1)
    linear = color.srgb_to_linear(rgb)[0, :, 0]
    expected = torch.tensor([0.0, 1.0, 0.04045 / 12.92, ((0.5 + 0.055) / 1.055) ** 2.4], dtype=torch.float64)
    torch.testing.assert_close(linear, expected, rtol=0, atol=1e-15)


def test_transfer_function_is_continuous_and_increasing() -> None:
    x = torch.linspace(-0.1, 1.1, 20001, dtype=torch.float64).expand(3, 1, -1)
    for fn in (color.srgb_to_linear, color.linear_to_srgb):
        y = fn(x)[0, 0]
        assert (y.diff() > 0).all()
        assert y.diff().max() < 1e-3  # no jump at the thresholds


def test_round_trip() -> None:
    rgb = to_tensor(_inputs())
    # The two published thresholds do not quite meet (0.04045 / 12.92 = 0.00313080495 > 0.0031308): an sRGB
    # value at 0.04045 comes back 3e-8 off. Elsewhere the round trip is exact to rounding.
    torch.testing.assert_close(color.linear_to_srgb(color.srgb_to_linear(rgb)), rgb, rtol=0, atol=5e-8)
    away = rgb[..., (rgb - 0.04045).abs().amin(dim=0) > 1e-6][:, None, :]  # (3, 1, N)
    torch.testing.assert_close(color.linear_to_srgb(color.srgb_to_linear(away)), away, rtol=0, atol=1e-12)
    rgb32 = rgb.float()
    torch.testing.assert_close(color.linear_to_srgb(color.srgb_to_linear(rgb32)), rgb32, rtol=0, atol=1e-6)


def test_values_outside_unit_range_are_not_clipped() -> None:
    linear = torch.tensor([-0.5, 1.5], dtype=torch.float64).view(1, 2, 1).expand(3, 2, 1)
    srgb = color.linear_to_srgb(linear)[0, :, 0]
    assert srgb[0] < 0 and srgb[1] > 1
