"""The NumPy wrappers: same results as the tensor functions, channel last, dtypes, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepcolor.color as color
from deepcolor.color import numpy as cnp

from .helpers import random_rgb, to_numpy, to_tensor

RGB_INPUT = ["srgb_to_linear", "rgb_to_xyz", "rgb_to_lab", "rgb_to_hsv", "rgb_to_yuv", "rgb_to_ycbcr"]
OTHER_INPUT = ["linear_to_srgb", "xyz_to_rgb", "xyz_to_lab", "lab_to_xyz", "lab_to_rgb", "hsv_to_rgb"]
OTHER_INPUT += ["yuv_to_rgb", "ycbcr_to_rgb"]
# Inputs whose range is [0, 1], where uint8 is accepted.
UNIT_RANGE = {*RGB_INPUT, "linear_to_srgb", "hsv_to_rgb", "ycbcr_to_rgb", "rgb_to_gray", "gray_to_rgb"}


def test_same_names_as_the_tensor_functions() -> None:
    assert set(cnp.__all__) == {name for name in color.__all__ if name[0].islower()}


@pytest.mark.parametrize("name", RGB_INPUT + OTHER_INPUT)
def test_matches_tensor_function(name: str) -> None:
    image = random_rgb((5, 6))
    if name.startswith("lab_"):
        image = to_numpy(color.rgb_to_lab(to_tensor(image)))
    ours = getattr(cnp, name)(image)
    assert ours.shape == (5, 6, 3) and ours.dtype == np.float64
    expected = to_numpy(getattr(color, name)(to_tensor(image)))
    np.testing.assert_array_equal(ours, expected)


def test_gray_functions() -> None:
    rgb = random_rgb((5, 6))
    for method in color.GRAY_METHODS:
        gray = cnp.rgb_to_gray(rgb, method=method)
        assert gray.shape == (5, 6)
        np.testing.assert_array_equal(
            gray, to_numpy(color.rgb_to_gray(to_tensor(rgb), method=method))[..., 0]
        )
    rgb_again = cnp.gray_to_rgb(gray)
    assert rgb_again.shape == (5, 6, 3)
    np.testing.assert_array_equal(rgb_again, np.repeat(gray[..., None], 3, axis=-1))


def test_clip_options_pass_through() -> None:
    lab = np.array([[[50.0, 127.0, -128.0]]])
    assert cnp.lab_to_rgb(lab).min() == 0.0
    assert cnp.lab_to_rgb(lab, clip=False).min() < 0.0
    xyz = np.array([[[1.5, 0.2, -0.1]]])
    assert cnp.xyz_to_rgb(xyz).max() > 1.0
    assert cnp.xyz_to_rgb(xyz, clip=True).max() == 1.0


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_dtype_kept(dtype: type) -> None:
    rgb = random_rgb((4, 5)).astype(dtype)
    lab = cnp.rgb_to_lab(rgb)
    assert lab.dtype == dtype
    assert cnp.lab_to_rgb(lab).dtype == dtype
    tolerance = {np.float16: 0.1, np.float32: 1e-3, np.float64: 1e-9}[dtype]
    np.testing.assert_allclose(lab, cnp.rgb_to_lab(rgb.astype(np.float64)), rtol=0, atol=tolerance)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_unsigned_int_scaled_to_unit_range(dtype: type) -> None:
    maximum = np.iinfo(dtype).max
    rgb = (random_rgb((4, 5)) * maximum).round().astype(dtype)
    lab = cnp.rgb_to_lab(rgb)
    assert lab.dtype == np.float32
    np.testing.assert_allclose(lab, cnp.rgb_to_lab(rgb.astype(np.float64) / maximum), rtol=0, atol=1e-3)
    gray = cnp.rgb_to_gray(rgb)
    assert gray.dtype == np.float32 and 0.0 <= gray.min() and gray.max() <= 1.0


@pytest.mark.parametrize("name", ["lab_to_rgb", "lab_to_xyz", "xyz_to_lab", "xyz_to_rgb", "yuv_to_rgb"])
def test_uint8_refused_where_the_range_is_not_unit(name: str) -> None:
    assert name not in UNIT_RANGE
    with pytest.raises(TypeError, match="Input dtype must be one of float16/32/64. Got uint8"):
        getattr(cnp, name)(np.zeros((2, 2, 3), dtype=np.uint8))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_, np.complex64])
def test_other_dtypes_refused(dtype: type) -> None:
    with pytest.raises(TypeError, match="Input dtype must be one of"):
        cnp.rgb_to_lab(np.zeros((2, 2, 3), dtype=dtype))


def test_not_an_array() -> None:
    with pytest.raises(TypeError, match="not a numpy.ndarray"):
        cnp.rgb_to_lab(torch.zeros(2, 2, 3))  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", [(4, 5), (4, 5, 4), (3,), (3, 4, 5)])
def test_wrong_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"Input must be an \(H, W, 3\) array. Got shape"):
        cnp.rgb_to_lab(np.zeros(shape))


def test_gray_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"Input must be an \(H, W\) array. Got shape \(4,\)"):
        cnp.gray_to_rgb(np.zeros(4))


def test_leading_batch_dimensions() -> None:
    batch = np.stack([random_rgb((4, 5), seed=s) for s in range(3)])
    lab = cnp.rgb_to_lab(batch)
    assert lab.shape == (3, 4, 5, 3)
    np.testing.assert_allclose(lab[1], cnp.rgb_to_lab(batch[1]), rtol=0, atol=1e-12)
    assert cnp.rgb_to_gray(batch).shape == (3, 4, 5)


def test_input_not_modified_and_output_not_shared() -> None:
    rgb = random_rgb((4, 5))
    before = rgb.copy()
    out = cnp.srgb_to_linear(rgb)
    np.testing.assert_array_equal(rgb, before)
    assert not np.shares_memory(out, rgb)
    non_contiguous = random_rgb((4, 10))[:, ::2]
    np.testing.assert_allclose(cnp.rgb_to_lab(non_contiguous), cnp.rgb_to_lab(non_contiguous.copy()), atol=0)
