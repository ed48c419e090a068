"""sRGB -> grey (BT.601, BT.709, L*) and grey -> sRGB."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.color
import torch

import deepcolor.color as color

from .helpers import EDGE_RGB, as_image, random_rgb, to_numpy, to_tensor

TOL64 = 1e-6
INPUTS = [random_rgb(), as_image(EDGE_RGB)]
IDS = ["random", "edge"]


def _gray(rgb: np.ndarray, method: str) -> np.ndarray:
    return to_numpy(color.rgb_to_gray(to_tensor(rgb), method=method))[..., 0]


@pytest.mark.parametrize("rgb", INPUTS, ids=IDS)
def test_bt601_is_skimage_yuv_luma(rgb: np.ndarray) -> None:
    np.testing.assert_allclose(_gray(rgb, "bt601"), skimage.color.rgb2yuv(rgb)[..., 0], rtol=0, atol=TOL64)


@pytest.mark.parametrize("rgb", INPUTS, ids=IDS)
def test_bt709_is_close_to_skimage_rgb2gray(rgb: np.ndarray) -> None:
    # skimage rounds the BT.709 weights differently (0.2125, 0.7154, 0.0721): at most 2e-4 apart.
    np.testing.assert_allclose(_gray(rgb, "bt709"), skimage.color.rgb2gray(rgb), rtol=0, atol=2e-4 + 1e-12)


def test_bt709_weights_are_the_standard_ones() -> None:
    primaries = as_image(np.eye(3))
    np.testing.assert_allclose(_gray(primaries, "bt709")[0], [0.2126, 0.7152, 0.0722], rtol=0, atol=1e-15)
    np.testing.assert_allclose(_gray(primaries, "bt601")[0], [0.299, 0.587, 0.114], rtol=0, atol=1e-15)


@pytest.mark.parametrize("rgb", INPUTS, ids=IDS)
def test_lightness_is_skimage_l_over_100(rgb: np.ndarray) -> None:
    np.testing.assert_allclose(_gray(rgb, "lightness"), skimage.color.rgb2lab(rgb)[..., 0] / 100, atol=TOL64)


@pytest.mark.parametrize("method", color.GRAY_METHODS)
def test_range_and_greys(method: str) -> None:
    levels = np.linspace(0, 1, 9)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
    gray = _gray(cube, method)
    assert gray.min() >= -1e-12 and gray.max() <= 1 + 1e-12
    # Black is 0, white is 1 and every method keeps the order of greys.
    greys = _gray(as_image(np.repeat(levels[:, None], 3, axis=1)), method)[0]
    assert greys[0] == pytest.approx(0, abs=1e-12) and greys[-1] == pytest.approx(1, abs=1e-9)
    assert np.all(np.diff(greys) > 0)


def test_bt601_matches_opencv_float32() -> None:
    rgb = random_rgb((8, 16)).astype(np.float32)
    expected = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    np.testing.assert_allclose(_gray(rgb, "bt601"), expected, rtol=0, atol=1e-6)


def test_unknown_method() -> None:
    with pytest.raises(ValueError, match="Unknown grey method 'bt2020'. Known: bt601, bt709, lightness"):
        color.rgb_to_gray(torch.rand(3, 2, 2), method="bt2020")
    with pytest.raises(ValueError, match="Unknown grey method"):
        color.RgbToGray("average")


def test_gray_to_rgb_repeats_and_copies() -> None:
    gray = torch.rand(2, 1, 3, 4)
    rgb = color.gray_to_rgb(gray)
    for channel in range(3):
        torch.testing.assert_close(rgb[:, channel : channel + 1], gray, rtol=0, atol=0)
    rgb[:, 0] += 1.0  # a new tensor: writing to it leaves the input alone
    assert gray.max() <= 1.0


@pytest.mark.parametrize("method", color.GRAY_METHODS)
def test_gray_round_trip_of_greys(method: str) -> None:
    # A grey image converts to the same grey with the luma methods, and to L*/100 with lightness.
    gray = torch.rand(1, 1, 3, 4, dtype=torch.float64)
    back = color.rgb_to_gray(color.gray_to_rgb(gray), method=method)
    expected = gray if method != "lightness" else color.rgb_to_lab(color.gray_to_rgb(gray))[:, :1] / 100
    torch.testing.assert_close(back, expected, rtol=0, atol=1e-12)
