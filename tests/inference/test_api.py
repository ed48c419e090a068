"""deepcolor.colorize / deepcolor.enhance: the kind that goes in comes out, through the one inference path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import deepcolor
from deepcolor.inference import Colorizer

from .helpers import ConstantAb


@pytest.fixture
def colorizer() -> Colorizer:
    return Colorizer(ConstantAb(), device="cpu", render_size=32)


def _grey(height: int = 20, width: int = 30) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return (0.3 + 0.4 * x / (width - 1) + 0.02 * (y % 2)).astype(np.float32)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_numpy_in_numpy_out(colorizer, dtype):
    scale = {np.uint8: 255, np.uint16: 65535}.get(dtype, 1)
    grey = (np.round(_grey() * scale) if scale != 1 else _grey()).astype(dtype)
    out = deepcolor.colorize(grey, model=colorizer)
    assert isinstance(out, np.ndarray) and out.dtype == dtype and out.shape == (20, 30, 3)
    rgb = out.astype(np.float64) / scale
    assert (rgb[..., 0] - rgb[..., 1]).mean() > 0.03  # ConstantAb predicts a* = 13: redder than green


def test_numpy_alpha_and_layouts_are_kept(colorizer):
    rgba = np.dstack(
        [np.repeat(_grey()[:, :, None], 3, axis=2), np.linspace(0, 1, 30)[None, :].repeat(20, 0)]
    )
    out = deepcolor.colorize(rgba.astype(np.float32), model=colorizer)
    assert out.shape == (20, 30, 4)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3].astype(np.float32))
    grey_alpha = np.dstack([_grey(), np.full((20, 30), 0.5)]).astype(np.float32)
    assert deepcolor.colorize(grey_alpha, model=colorizer).shape == (20, 30, 4)
    assert deepcolor.colorize(_grey()[:, :, None], model=colorizer).shape == (20, 30, 3)


def test_input_array_is_not_modified(colorizer):
    rgb = np.repeat(_grey()[:, :, None], 3, axis=2)
    before = rgb.copy()
    deepcolor.colorize(rgb, model=colorizer)
    deepcolor.enhance(rgb, model=colorizer)
    np.testing.assert_array_equal(rgb, before)


@pytest.mark.parametrize(
    ("mode", "out_mode"),
    [("L", "RGB"), ("RGB", "RGB"), ("LA", "RGBA"), ("RGBA", "RGBA"), ("P", "RGB"), ("I;16", "RGB")],
)
def test_pil_in_pil_out(colorizer, mode, out_mode):
    grey8 = (np.round(_grey() * 255)).astype(np.uint8)
    if mode == "I;16":
        image = Image.fromarray(grey8.astype(np.uint16) * 257)  # mode I;16
    else:
        image = Image.fromarray(grey8).convert(mode)
    image.info["exif"] = Image.Exif().tobytes()
    out = deepcolor.colorize(image, model=colorizer)
    assert isinstance(out, Image.Image) and out.mode == out_mode and out.size == image.size
    assert "exif" in out.info


def test_tensor_in_tensor_out(colorizer):
    grey = torch.from_numpy(_grey())[None, None].double()
    out = deepcolor.colorize(grey.expand(2, 1, -1, -1), model=colorizer)
    assert out.shape == (2, 3, 20, 30) and out.dtype == torch.float64
    single = deepcolor.colorize(grey[0].float(), model=colorizer)
    assert single.shape == (3, 20, 30) and single.dtype == torch.float32
    torch.testing.assert_close(out[0].float(), single, atol=1e-6, rtol=0)


def test_path_in_path_out_keeps_alpha_and_never_overwrites(colorizer, tmp_path):
    rgba = np.dstack([np.repeat(_grey()[:, :, None], 3, axis=2), np.full((20, 30), 0.5)])
    source = tmp_path / "photo.png"
    Image.fromarray(np.round(rgba * 255).astype(np.uint8), mode="RGBA").save(source)
    out = deepcolor.colorize(source, model=colorizer)
    assert out == tmp_path / "photo_colorized.png"
    with Image.open(out) as image:
        assert image.mode == "RGBA" and image.size == (30, 20)
        assert np.asarray(image)[..., 3].max() == 128
    from deepcolor.io import ImageWarning

    with pytest.warns(ImageWarning, match="JPEG cannot store alpha"):
        chosen = deepcolor.enhance(str(source), model=colorizer, output=tmp_path / "x" / "e.jpg")
    assert chosen == tmp_path / "x" / "e.jpg" and chosen.is_file()
    with pytest.raises(ValueError, match="is the input file"):
        deepcolor.colorize(source, model=colorizer, output=source)


def test_api_equals_the_colorizer_path(colorizer):
    grey = _grey()
    np.testing.assert_allclose(
        deepcolor.colorize(grey, model=colorizer), colorizer.colorize_array(grey), atol=0
    )


def test_bad_arguments(colorizer, tmp_path):
    from deepcolor.io import ImageError

    with pytest.raises(TypeError, match="Expected a path"):
        deepcolor.colorize([1, 2, 3], model=colorizer)
    with pytest.raises(ValueError, match="dtype"):
        deepcolor.colorize(np.zeros((4, 4), dtype=np.int32), model=colorizer)
    with pytest.raises(ValueError, match="NaN"):
        deepcolor.colorize(np.full((4, 4), np.nan, dtype=np.float32), model=colorizer)
    with pytest.raises(ValueError, match="saturation"):
        deepcolor.colorize(_grey(), model=colorizer, saturation=-1)
    with pytest.raises(ValueError, match="output= is only for path"):
        deepcolor.colorize(_grey(), model=colorizer, output=tmp_path / "o.png")
    with pytest.raises(ImageError, match="no such file"):
        deepcolor.colorize(tmp_path / "missing.png", model=colorizer)
    with pytest.raises(ValueError, match="no such model file"):
        deepcolor.colorize(_grey(), model=Path(tmp_path / "missing.safetensors"))


@pytest.mark.parametrize(
    ("values", "span"),
    [((0.0, 255.0), r"\[0, 255\]"), ((-1.0, 1.0), r"\[-1, 1\]"), ((-0.2, 0.8), r"\[-0.2, 0.8\]")],
)
def test_float_values_outside_unit_range_are_a_value_error_naming_the_range(colorizer, values, span):
    """Before: silently clipped (0..255 floats came back all white)."""
    lo, hi = values
    array = np.linspace(lo, hi, 20 * 30, dtype=np.float32).reshape(20, 30)
    for fn in (deepcolor.colorize, deepcolor.enhance):
        with pytest.raises(ValueError, match=rf"image values span {span}; float images must be in \[0, 1\]"):
            fn(array, model=colorizer)
        with pytest.raises(ValueError, match=rf"values span {span}"):
            fn(torch.from_numpy(array)[None], model=colorizer)
    rgba = np.dstack([np.repeat(_grey()[:, :, None], 3, axis=2), np.full((20, 30), 2.0, np.float32)])
    with pytest.raises(ValueError, match=r"alpha values span \[2, 2\]"):
        deepcolor.colorize(rgba, model=colorizer)


def test_rounding_noise_around_the_unit_range_is_accepted(colorizer):
    grey = _grey()
    grey[0, 0], grey[0, 1] = -1e-6, 1.0 + 1e-6  # what float arithmetic leaves behind
    out = deepcolor.colorize(grey, model=colorizer)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_extra_options_reach_the_colorizer(colorizer):
    """Per-input options pass through unchanged: a colorizer that does not take one says so; colour hints for
    a model that takes none are one line saying that."""
    from deepcolor.hints.points import HintError

    with pytest.raises(TypeError, match="tile_size"):
        deepcolor.colorize(_grey(), model=colorizer, tile_size=3)
    with pytest.raises(HintError, match="takes no colour hints"):
        deepcolor.colorize(_grey(), model=colorizer, hints=[(1, 1, "red")])
