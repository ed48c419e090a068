"""The array adapters every entry point shares: dtypes to [0, 1], alpha split and join, arrays as images."""

from __future__ import annotations

import numpy as np
import pytest

from deepcolor.io import from_unit_float, image_from_array, join_alpha, split_alpha, unit_float


def test_unit_float_scales_integers_and_checks_floats():
    np.testing.assert_array_equal(unit_float(np.array([0, 255], np.uint8)), [0.0, 1.0])
    np.testing.assert_array_equal(unit_float(np.array([0, 65535], np.uint16)), [0.0, 1.0])
    np.testing.assert_array_equal(unit_float(np.array([False, True])), [0.0, 1.0])
    floats = np.array([0.0, 0.5, 1.0 + 0.5 / 255], np.float64)  # within the slack: clipped
    out = unit_float(floats)
    assert out.dtype == np.float32 and out.max() == 1.0
    assert unit_float(floats, check_range=False) is floats  # writers clip while quantising


@pytest.mark.parametrize(
    ("values", "span"), [([0.0, 128.0, 255.0], r"\[0, 255\]"), ([-1.0, 0.0, 1.0], r"\[-1, 1\]")]
)
def test_float_values_outside_the_unit_range_name_the_range(values, span):
    with pytest.raises(ValueError, match=rf"image values span {span}; float images must be in \[0, 1\]"):
        unit_float(np.array(values, np.float32))


def test_unit_float_refusals():
    with pytest.raises(ValueError, match="NaN"):
        unit_float(np.array([np.nan], np.float32))
    with pytest.raises(ValueError, match="NaN or infinite"):
        unit_float(np.array([np.inf], np.float32))
    with pytest.raises(ValueError, match="dtype int32"):
        unit_float(np.array([1], np.int32))


@pytest.mark.parametrize(
    ("shape", "color_shape", "has_alpha"),
    [
        ((4, 5), (4, 5), False),
        ((4, 5, 1), (4, 5), False),
        ((4, 5, 2), (4, 5), True),
        ((4, 5, 3), (4, 5, 3), False),
        ((4, 5, 4), (4, 5, 3), True),
    ],
)
def test_split_alpha_layouts(shape, color_shape, has_alpha):
    array = np.full(shape, 200, np.uint8)
    color, alpha = split_alpha(array)
    assert color.shape == color_shape and color.dtype == np.uint8 and np.shares_memory(color, array)
    assert (alpha is not None) == has_alpha
    if has_alpha:
        assert alpha.dtype == np.float32 and np.allclose(alpha, 200 / 255)


def test_split_alpha_refusals():
    with pytest.raises(ValueError, match="Got dtype int64"):
        split_alpha(np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match=r"C in 1\.\.4. Got shape \(2, 2, 5\)"):
        split_alpha(np.zeros((2, 2, 5), np.uint8))
    with pytest.raises(ValueError, match=r"Got shape \(0, 3\)"):
        split_alpha(np.zeros((0, 3), np.uint8))
    with pytest.raises(ValueError, match=r"alpha values span \[2, 2\]"):
        split_alpha(np.dstack([np.zeros((2, 2)), np.full((2, 2), 2.0)]))


def test_join_alpha_and_from_unit_float():
    rgb = np.full((2, 3, 3), 0.5, np.float32)
    alpha = np.ones((2, 3), np.float32)
    assert join_alpha(rgb, None) is rgb
    joined = join_alpha(rgb, alpha)
    assert joined.shape == (2, 3, 4) and (joined[..., 3] == 1).all()
    np.testing.assert_array_equal(from_unit_float(np.array([-0.1, 0.5, 1.2]), np.uint8), [0, 128, 255])
    np.testing.assert_array_equal(from_unit_float(np.array([0.5]), np.uint16), [32768])
    assert from_unit_float(rgb, np.float64).dtype == np.float64


def test_image_from_array():
    grey = np.array([[0, 128], [255, 64]], np.uint8)
    image = image_from_array(grey)
    assert image.rgb.shape == (2, 2, 3) and image.channels_equal and image.is_gray and image.mode == "L"
    assert image.bit_depth == 8 and image.alpha is None and image.name == "<array>" and image.path is None
    rgb = np.random.default_rng(0).random((3, 4, 3)).astype(np.float32)
    rgba = np.dstack([rgb, np.full((3, 4), 0.25, np.float32)])
    image = image_from_array(rgba, name="upload")
    assert (
        not image.is_gray and not image.channels_equal and image.mode == "RGBA;F" and image.name == "upload"
    )
    np.testing.assert_array_equal(image.rgb, rgb)
    assert not np.shares_memory(image.rgb, rgba)  # safe to colorize in place
    noisy = np.repeat(rgb[..., :1], 3, axis=2)
    noisy[0, 0, 2] += 1 / 255
    image = image_from_array(noisy)
    assert image.is_gray and not image.channels_equal
    assert image_from_array(grey.astype(np.uint16) * 257).bit_depth == 16
