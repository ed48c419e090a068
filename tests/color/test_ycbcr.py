"""sRGB <-> YCbCr, BT.601 full range (JPEG), against scikit-image's YPbPr + 0.5 and OpenCV's YCrCb."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.color
import torch
from PIL import Image

import deepcolor.color as color

from .helpers import EDGE_RGB, as_image, random_rgb, to_numpy, to_tensor

TOL64 = 1e-6
# OpenCV uses rounded chroma scales (Cr = 0.713 (R - Y), Cb = 0.564 (B - Y)) instead of 0.5 / 0.701 and
# 0.5 / 0.886: up to 3e-4 apart for RGB in [0, 1].
TOL_OPENCV = 5e-4
OFFSET = np.array([0.0, 0.5, 0.5])


@pytest.mark.parametrize("rgb", [random_rgb(), as_image(EDGE_RGB)], ids=["random", "edge"])
def test_rgb_to_ycbcr_matches_skimage_ypbpr(rgb: np.ndarray) -> None:
    expected = skimage.color.rgb2ypbpr(rgb) + OFFSET
    np.testing.assert_allclose(to_numpy(color.rgb_to_ycbcr(to_tensor(rgb))), expected, rtol=0, atol=TOL64)


@pytest.mark.parametrize("rgb", [random_rgb(), as_image(EDGE_RGB)], ids=["random", "edge"])
def test_ycbcr_to_rgb_matches_skimage_ypbpr(rgb: np.ndarray) -> None:
    ycbcr = skimage.color.rgb2ypbpr(rgb) + OFFSET
    expected = skimage.color.ypbpr2rgb(ycbcr - OFFSET)
    np.testing.assert_allclose(to_numpy(color.ycbcr_to_rgb(to_tensor(ycbcr))), expected, rtol=0, atol=TOL64)


def test_known_values() -> None:
    pixels = torch.tensor(
        [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64
    )
    ycbcr = color.rgb_to_ycbcr(pixels.T[:, :, None])[:, :, 0].T
    expected = torch.tensor(
        [[0.0, 0.5, 0.5], [1.0, 0.5, 0.5], [0.299, 0.5 - 0.168736, 1.0], [0.114, 1.0, 0.5 - 0.081312]],
        dtype=torch.float64,
    )
    torch.testing.assert_close(ycbcr, expected, rtol=0, atol=1e-12)


def test_range_is_unit_interval() -> None:
    levels = np.linspace(0, 1, 9)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
    ycbcr = color.rgb_to_ycbcr(to_tensor(cube))
    assert ycbcr.min() >= -1e-12 and ycbcr.max() <= 1 + 1e-12


def test_matches_pillow_jpeg_ycbcr() -> None:
    # Pillow's YCbCr mode is JPEG's full-range BT.601 in 8-bit integers.
    rgb8 = (random_rgb((8, 16), seed=5) * 255).round().astype(np.uint8)
    expected = np.asarray(Image.fromarray(rgb8).convert("YCbCr"), dtype=np.float64) / 255.0
    ours = to_numpy(color.rgb_to_ycbcr(to_tensor(rgb8 / 255.0)))
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1.01 / 255)  # integer rounding


def test_round_trip() -> None:
    rgb = to_tensor(random_rgb())
    torch.testing.assert_close(color.ycbcr_to_rgb(color.rgb_to_ycbcr(rgb)), rgb, rtol=0, atol=1e-12)


def test_rgb_to_ycbcr_matches_opencv_float32() -> None:
    rgb = np.concatenate([random_rgb((8, 16)), as_image(EDGE_RGB)], axis=0).astype(np.float32)
    expected = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[..., [0, 2, 1]]  # OpenCV orders Y, Cr, Cb
    np.testing.assert_allclose(
        to_numpy(color.rgb_to_ycbcr(to_tensor(rgb))), expected, rtol=0, atol=TOL_OPENCV
    )


def test_ycbcr_to_rgb_matches_opencv_float32() -> None:
    rgb = random_rgb((8, 16), seed=6).astype(np.float32)
    ycbcr = to_numpy(color.rgb_to_ycbcr(to_tensor(rgb)))
    expected = cv2.cvtColor(np.ascontiguousarray(ycbcr[..., [0, 2, 1]]), cv2.COLOR_YCrCb2RGB)
    np.testing.assert_allclose(
        to_numpy(color.ycbcr_to_rgb(to_tensor(ycbcr))), expected, rtol=0, atol=2 * TOL_OPENCV
    )
