"""`deepcolor.decolorize` on each kind of input: the same kind back, one channel, alpha and bit depth kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import deepcolor
from deepcolor.decolor import DEFAULT_METHOD, METHODS, decolorize, decolorize_array
from deepcolor.io import ImageError, read_image


@pytest.fixture
def rgb8(rgb_image) -> np.ndarray:
    return np.round(rgb_image * 255).astype(np.uint8)


def test_lazy_top_level_name_and_default():
    assert deepcolor.decolorize is decolorize
    assert DEFAULT_METHOD == "lcp" and set(METHODS) == {"lcp", "cpd", "lightness", "luma601", "luma709",
                                                         "average"}


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_arrays_keep_their_dtype(rgb_image, dtype):
    if dtype == np.uint8:
        source = np.round(rgb_image * 255).astype(dtype)
    elif dtype == np.uint16:
        source = np.round(rgb_image * 65535).astype(dtype)
    else:
        source = rgb_image.astype(dtype)
    grey = decolorize(source, "lightness")
    assert grey.shape == rgb_image.shape[:2] and grey.dtype == dtype
    want = decolorize_array(rgb_image, "lightness")
    scale = {np.uint8: 255, np.uint16: 65535}.get(dtype, 1)
    assert np.abs(grey / scale - want).max() <= 1.0 / 255 + 1e-6


def test_alpha_keep_channels_and_bit_depth(rgb8):
    alpha = np.linspace(0, 255, rgb8.shape[1]).astype(np.uint8)[None, :].repeat(rgb8.shape[0], 0)
    rgba = np.concatenate([rgb8, alpha[..., None]], axis=2)
    out = decolorize(rgba)
    assert out.shape == (*rgb8.shape[:2], 2) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 1], alpha)
    kept = decolorize(rgba, keep_channels=True)
    assert kept.shape == (*rgb8.shape[:2], 4)
    assert (kept[..., 0] == kept[..., 1]).all() and (kept[..., 1] == kept[..., 2]).all()
    deep = decolorize(rgb8, bit_depth=16)
    assert deep.dtype == np.uint16 and abs(int(deep.max()) // 257 - int(decolorize(rgb8).max())) <= 1


def test_grey_arrays_come_back_unchanged(rgb8):
    grey = rgb8[..., 0]
    for method in METHODS:
        np.testing.assert_array_equal(decolorize(grey, method), grey)
    np.testing.assert_array_equal(decolorize(grey[..., None]), grey)


def test_pil_modes(rgb8):
    image = Image.fromarray(rgb8)
    assert decolorize(image).mode == "L"
    assert decolorize(Image.fromarray(np.dstack([rgb8, np.full(rgb8.shape[:2], 200, np.uint8)]))).mode == "LA"
    assert decolorize(image, keep_channels=True).mode == "RGB"
    assert decolorize(image, bit_depth=16).mode.startswith("I;16")
    palette = image.convert("P")
    assert decolorize(palette).mode == "L"
    np.testing.assert_array_equal(np.asarray(decolorize(image, "luma601")),
                                  decolorize(rgb8, "luma601"))


def test_tensors(rgb_image):
    t = torch.from_numpy(rgb_image).permute(2, 0, 1)
    out = decolorize(t, "luma709")
    assert out.shape == (1, *rgb_image.shape[:2]) and out.dtype == torch.float32
    batch = decolorize(torch.stack([t, t]).double(), "luma709", keep_channels=True)
    assert batch.shape == (2, 3, *rgb_image.shape[:2]) and batch.dtype == torch.float64
    np.testing.assert_allclose(batch[0, 0].numpy(), out[0].numpy(), atol=1e-6)


def test_paths(tmp_path, image_file, rgb_image):
    source = image_file("photo.png", rgb_image)
    written = decolorize(source)
    assert written == tmp_path / "photo_gray.png"
    assert Image.open(written).mode == "L"
    assert read_image(written).is_gray
    other = decolorize(str(source), "cpd", output=tmp_path / "sub" / "cpd.tif", bit_depth=16)
    assert Image.open(other).mode.startswith("I;16")
    with pytest.raises(ImageError, match="is the input file"):
        decolorize(source, output=source)


def test_bad_inputs_are_clear_errors(rgb_image, tmp_path):
    with pytest.raises(ValueError, match="unknown decolorization method 'nope'; known: lcp, cpd"):
        decolorize(rgb_image, "nope")
    bad = rgb_image.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        decolorize(bad)
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        decolorize(np.zeros((4, 4, 5), np.float32))
    with pytest.raises(ValueError, match="dtype"):
        decolorize(np.zeros((4, 4, 3), np.int32))
    with pytest.raises(ValueError, match="output= is only for path inputs"):
        decolorize(rgb_image, output=tmp_path / "x.png")
    with pytest.raises(TypeError, match="Expected a path"):
        decolorize(42)
    with pytest.raises(ImageError, match="missing.png"):
        decolorize(tmp_path / "missing.png")


@pytest.mark.parametrize("quality", [30, 60, 98])
def test_jpeg_from_jpeg_keeps_the_input_quality(rgb8, tmp_path, quality):
    from deepcolor.io import jpeg_quality

    source = tmp_path / "photo.jpg"
    Image.fromarray(rgb8).save(source, quality=quality)
    out = decolorize(source, output=tmp_path / "grey.jpg")
    assert jpeg_quality(out) == min(quality, 95)  # never finer than 95, never finer than the source
    assert out.stat().st_size < source.stat().st_size  # one channel at the same quality is smaller
    with Image.open(out) as im:
        assert im.mode == "L"


@pytest.mark.parametrize(
    "suffix, save",
    [(".png", {}), (".jpg", {"quality": 70}), (".webp", {}), (".png", {"bits": 16})],
)
def test_bytes_in_memory_equal_the_file(rgb8, tmp_path, suffix, save):
    """`decolorize_bytes` (the web service's decolorize) writes what `decolorize_file` writes: the same 8-bit
    rounding, JPEG quality (no finer than a JPEG source) and bit depth."""
    from deepcolor.decolor import decolorize_bytes, decolorize_file

    source = tmp_path / f"in{suffix}"
    if save.get("bits") == 16:
        Image.fromarray(rgb8[:, :, 0].astype(np.uint16) * 257 + 3).save(source)
    else:
        Image.fromarray(rgb8).save(source, **save)
    written = decolorize_file(source, tmp_path / f"out{suffix}")
    data, fmt = decolorize_bytes(source.read_bytes(), name=source.name)
    assert data == written.read_bytes()
    assert fmt == {".png": "PNG", ".jpg": "JPEG", ".webp": "WEBP"}[suffix]
    assert read_image(data).bit_depth == (16 if save.get("bits") == 16 else 8)
    png, fmt = decolorize_bytes(source.read_bytes(), "luma601", fmt="png", keep_channels=True)
    assert fmt == "PNG" and read_image(png).mode == "RGB"
    with pytest.raises(ImageError, match="unknown output format"):
        decolorize_bytes(source.read_bytes(), fmt="xyz")
