"""sRGB <-> YUV (BT.601) against scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.color
import torch

import deepcolor.color as color

from .helpers import EDGE_RGB, as_image, random_rgb, to_numpy, to_tensor

TOL64 = 1e-6


@pytest.mark.parametrize("rgb", [random_rgb(), as_image(EDGE_RGB)], ids=["random", "edge"])
def test_rgb_to_yuv_matches_skimage(rgb: np.ndarray) -> None:
    np.testing.assert_allclose(
        to_numpy(color.rgb_to_yuv(to_tensor(rgb))), skimage.color.rgb2yuv(rgb), rtol=0, atol=TOL64
    )


@pytest.mark.parametrize("rgb", [random_rgb(), as_image(EDGE_RGB)], ids=["random", "edge"])
def test_yuv_to_rgb_matches_skimage(rgb: np.ndarray) -> None:
    yuv = skimage.color.rgb2yuv(rgb)
    np.testing.assert_allclose(
        to_numpy(color.yuv_to_rgb(to_tensor(yuv))), skimage.color.yuv2rgb(yuv), rtol=0, atol=TOL64
    )


def test_ranges_at_the_primaries() -> None:
    yuv = color.rgb_to_yuv(to_tensor(as_image(EDGE_RGB)))
    assert yuv[0].min() >= 0 and yuv[0].max() <= 1 + 1e-12
    assert yuv[1].abs().max().item() == pytest.approx(0.436, abs=1e-3)  # blue / yellow
    assert yuv[2].abs().max().item() == pytest.approx(0.615, abs=1e-3)  # red / cyan


def test_round_trip() -> None:
    rgb = to_tensor(random_rgb())
    torch.testing.assert_close(color.yuv_to_rgb(color.rgb_to_yuv(rgb)), rgb, rtol=0, atol=1e-12)
