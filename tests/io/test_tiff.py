"""TIFF layouts that Pillow cannot open, read through tifffile: float RGB (as float grey already is),
16-bit grey + alpha, and multi-page files (the first page, with a warning, as for the other readers)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from deepcolor.io import ImageError, ImageWarning, read_image


def test_float32_rgb_tiff_is_read(tmp_path):
    rgb = np.random.default_rng(0).random((5, 7, 3)).astype(np.float32)
    tifffile.imwrite(tmp_path / "f.tif", rgb, photometric="rgb")
    image = read_image(tmp_path / "f.tif")
    np.testing.assert_array_equal(image.rgb, rgb)
    assert image.alpha is None and image.bit_depth == 32 and not image.is_gray and image.mode == "RGB;F"


def test_float_rgba_and_float64_tiff(tmp_path):
    rgba = np.random.default_rng(1).random((4, 6, 4))
    tifffile.imwrite(tmp_path / "f.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    image = read_image(tmp_path / "f.tif")
    np.testing.assert_allclose(image.rgb, rgba[..., :3], atol=1e-7)
    np.testing.assert_allclose(image.alpha, rgba[..., 3], atol=1e-7)
    assert image.bit_depth == 64 and image.rgb.dtype == np.float32


def test_float_rgb_outside_unit_range_is_stretched_with_a_warning(tmp_path):
    rgb = np.linspace(-1, 3, 5 * 4 * 3, dtype=np.float32).reshape(5, 4, 3)
    tifffile.imwrite(tmp_path / "hdr.tif", rgb, photometric="rgb")
    with pytest.warns(ImageWarning, match=r"hdr\.tif: float values span \[-1, 3\]; stretched"):
        image = read_image(tmp_path / "hdr.tif")
    np.testing.assert_allclose(image.rgb, (rgb + 1) / 4, atol=1e-6)


def test_float_rgb_with_nan_is_refused(tmp_path):
    rgb = np.zeros((3, 3, 3), np.float32)
    rgb[1, 1, 1] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", rgb, photometric="rgb")
    with pytest.raises(ImageError, match=r"nan\.tif: float image holds NaN"):
        read_image(tmp_path / "nan.tif")


@pytest.mark.parametrize(
    ("data", "kwargs"),
    [
        (np.zeros((3, 4, 6, 3), np.float32), {"photometric": "rgb"}),
        (np.zeros((2, 4, 6, 2), np.uint16), {"photometric": "minisblack", "extrasamples": ["unassalpha"]}),
    ],
)
def test_multi_page_tiff_through_tifffile_warns(tmp_path, data, kwargs):
    tifffile.imwrite(tmp_path / "pages.tif", data, **kwargs)
    with pytest.warns(ImageWarning, match=rf"pages\.tif: has {len(data)} pages; reading the first"):
        image = read_image(tmp_path / "pages.tif")
    assert image.rgb.shape == (4, 6, 3)


def test_pixel_limit_in_the_tifffile_path(tmp_path):
    tifffile.imwrite(tmp_path / "f.tif", np.zeros((40, 50, 3), np.float32), photometric="rgb")
    with pytest.raises(ImageError, match=r"50 x 40 pixels \(2000 pixels\) is over the limit of 100 pixels"):
        read_image(tmp_path / "f.tif", max_pixels=100)
    with pytest.raises(ImageError, match=r"^<memory>: 50 x 40 pixels"):
        read_image((tmp_path / "f.tif").read_bytes(), max_pixels=100)
