"""sRGB <-> HSV against scikit-image (float64) and OpenCV (float32, hue in degrees)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.color
import torch

import deepcolor.color as color

from .helpers import EDGE_RGB, as_image, random_rgb, to_numpy, to_tensor

TOL64 = 1e-6
TOL_OPENCV = 1e-5  # OpenCV computes in float32 like us; the hue is scaled from degrees


@pytest.mark.parametrize("rgb", [random_rgb(), as_image(EDGE_RGB)], ids=["random", "edge"])
def test_rgb_to_hsv_matches_skimage(rgb: np.ndarray) -> None:
    hsv = to_numpy(color.rgb_to_hsv(to_tensor(rgb)))
    np.testing.assert_allclose(hsv, skimage.color.rgb2hsv(rgb), rtol=0, atol=TOL64)


@pytest.mark.parametrize("seed", [0, 1])
def test_hsv_to_rgb_matches_skimage(seed: int) -> None:
    hsv = random_rgb(seed=seed)
    hsv[1, :, 0] = np.arange(hsv.shape[1]) / 6  # exact sextant boundaries, and H = 1
    rgb = to_numpy(color.hsv_to_rgb(to_tensor(hsv)))
    np.testing.assert_allclose(rgb, skimage.color.hsv2rgb(hsv), rtol=0, atol=TOL64)


def test_known_values() -> None:
    pixels = torch.tensor(
        [
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [1.0, 1.0, 0.0],
            [0.5, 0.5, 0.5],
            [0.0, 0.0, 0.0],
        ],
        dtype=torch.float64,
    )
    hsv = color.rgb_to_hsv(pixels.T[:, :, None])[:, :, 0].T
    expected = torch.tensor(
        [
            [0.0, 1.0, 1.0],
            [1 / 3, 1.0, 1.0],
            [2 / 3, 1.0, 1.0],
            [1 / 6, 1.0, 1.0],
            [0.0, 0.0, 0.5],
            [0.0, 0.0, 0.0],
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(hsv, expected, rtol=0, atol=1e-15)


def test_hue_wraps() -> None:
    hsv = to_tensor(random_rgb())
    shifted = hsv.clone()
    shifted[0] += 1.0
    torch.testing.assert_close(color.hsv_to_rgb(shifted), color.hsv_to_rgb(hsv), rtol=0, atol=1e-12)
    shifted[0] -= 3.0
    torch.testing.assert_close(color.hsv_to_rgb(shifted), color.hsv_to_rgb(hsv), rtol=0, atol=1e-12)


def test_hue_just_below_red_is_near_one() -> None:
    rgb = torch.tensor([1.0, 0.0, 1e-3], dtype=torch.float64).view(3, 1, 1)
    assert 0.999 < color.rgb_to_hsv(rgb)[0].item() < 1.0


def test_round_trip() -> None:
    rgb = to_tensor(np.concatenate([random_rgb((4, 16)), as_image(EDGE_RGB)], axis=0))
    torch.testing.assert_close(color.hsv_to_rgb(color.rgb_to_hsv(rgb)), rgb, rtol=0, atol=1e-12)
    rgb32 = rgb.float()
    torch.testing.assert_close(color.hsv_to_rgb(color.rgb_to_hsv(rgb32)), rgb32, rtol=0, atol=1e-6)


def test_rgb_to_hsv_matches_opencv_float32() -> None:
    rgb = np.concatenate([random_rgb((8, 16)), as_image(EDGE_RGB)], axis=0).astype(np.float32)
    expected = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV) / np.array([360.0, 1.0, 1.0], dtype=np.float32)
    expected[..., 0] %= 1.0  # OpenCV may return 360 for hues just below red
    ours = to_numpy(color.rgb_to_hsv(to_tensor(rgb)))
    # OpenCV divides by (max - min + FLT_EPSILON): near-greys (the 0.04045 +- 1e-5 edge colour) get another
    # hue. Compare the hue only where the chroma is not tiny.
    near_grey = np.ptp(rgb, axis=-1) < 1e-3
    assert 0 < near_grey.sum() < 10
    ours[near_grey, 0] = expected[near_grey, 0]
    np.testing.assert_allclose(ours, expected, rtol=0, atol=TOL_OPENCV)


def test_hsv_to_rgb_matches_opencv_float32() -> None:
    hsv = random_rgb((8, 16), seed=4).astype(np.float32)
    expected = cv2.cvtColor(hsv * np.array([360.0, 1.0, 1.0], dtype=np.float32), cv2.COLOR_HSV2RGB)
    np.testing.assert_allclose(to_numpy(color.hsv_to_rgb(to_tensor(hsv))), expected, rtol=0, atol=TOL_OPENCV)
