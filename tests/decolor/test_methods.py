"""Every method: output shape, dtype and range; a grey input stays grey, unchanged and monotone; the plain
methods against their formulas."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2lab

from deepcolor.decolor import METHODS
from deepcolor.decolor.methods import average, lightness, luma601, luma709
from deepcolor.metrics.decolorization import gray_lightness


@pytest.mark.parametrize("method", list(METHODS))
def test_output_shape_dtype_range(method, rgb_image):
    for source in (rgb_image, np.round(rgb_image * 255).astype(np.uint8)):
        grey = METHODS[method](source)
        assert grey.shape == rgb_image.shape[:2]
        assert grey.dtype == np.float32
        assert grey.min() >= 0.0 and grey.max() <= 1.0
        assert grey.std() > 0.01  # not flat


@pytest.mark.parametrize("method", list(METHODS))
def test_grey_input_stays_grey_and_monotone(method):
    ramp = np.linspace(0, 255, 64).round().astype(np.uint8)
    levels = np.tile(ramp, (16, 1))
    levels[8:] = levels[8:, ::-1]  # both directions, so that a method cannot lean on position
    rgb = np.repeat(levels[..., None], 3, axis=2)
    grey = METHODS[method](rgb)
    np.testing.assert_allclose(grey * 255.0, levels, atol=0.51)  # unchanged up to rounding
    order = np.argsort(levels.ravel(), kind="stable")
    assert np.all(np.diff(grey.ravel()[order]) >= -1e-6)  # monotone in the input grey


def test_plain_formulas(rgb_image):
    r, g, b = rgb_image[..., 0], rgb_image[..., 1], rgb_image[..., 2]
    np.testing.assert_allclose(luma601(rgb_image), 0.299 * r + 0.587 * g + 0.114 * b, atol=1e-6)
    np.testing.assert_allclose(luma709(rgb_image), 0.2126 * r + 0.7152 * g + 0.0722 * b, atol=1e-6)
    np.testing.assert_allclose(average(rgb_image), (r + g + b) / 3, atol=1e-6)


def test_lightness_has_the_colours_l_star(rgb_image):
    want = rgb2lab(rgb_image.astype(np.float64))[..., 0]
    np.testing.assert_allclose(gray_lightness(lightness(rgb_image)), want, atol=2e-3)
