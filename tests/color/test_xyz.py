"""sRGB <-> CIE XYZ against scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.color
import torch

import deepcolor.color as color

from .helpers import EDGE_RGB, as_image, random_rgb, to_numpy, to_tensor

TOL64 = 1e-6


@pytest.mark.parametrize("rgb", [random_rgb(), as_image(EDGE_RGB)], ids=["random", "edge"])
def test_rgb_to_xyz_matches_skimage(rgb: np.ndarray) -> None:
    xyz = to_numpy(color.rgb_to_xyz(to_tensor(rgb)))
    np.testing.assert_allclose(xyz, skimage.color.rgb2xyz(rgb), rtol=0, atol=TOL64)


@pytest.mark.parametrize("rgb", [random_rgb(), as_image(EDGE_RGB)], ids=["random", "edge"])
def test_xyz_to_rgb_matches_skimage(rgb: np.ndarray) -> None:
    xyz = skimage.color.rgb2xyz(rgb)
    np.testing.assert_allclose(
        to_numpy(color.xyz_to_rgb(to_tensor(xyz))), skimage.color.xyz2rgb(xyz), atol=TOL64
    )


def test_white_is_d65() -> None:
    white = color.rgb_to_xyz(torch.ones(3, 1, 1, dtype=torch.float64))[:, 0, 0]
    # The sRGB matrix rows sum to (0.950456, 1, 1.088754); scikit-image's D65 white is (0.95047, 1, 1.08883).
    torch.testing.assert_close(white, color.D65_WHITE, rtol=0, atol=1e-4)
    assert white[1].item() == pytest.approx(1.0, abs=1e-12)


def test_out_of_gamut_xyz_clip_option() -> None:
    rng = np.random.default_rng(1)
    xyz = rng.uniform(-0.2, 1.3, (6, 7, 3))
    unclipped = color.xyz_to_rgb(to_tensor(xyz))
    assert unclipped.min() < 0 and unclipped.max() > 1  # the default is the plain inverse
    clipped = to_numpy(color.xyz_to_rgb(to_tensor(xyz), clip=True))
    np.testing.assert_allclose(clipped, skimage.color.xyz2rgb(xyz), rtol=0, atol=TOL64)


def test_round_trip() -> None:
    rgb = to_tensor(random_rgb())
    torch.testing.assert_close(color.xyz_to_rgb(color.rgb_to_xyz(rgb)), rgb, rtol=0, atol=1e-12)
