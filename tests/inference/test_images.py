"""deepcolor.inference.images: the one file-level pipeline of colorize / enhance, for the command line, the
Python API and the web service (bytes in memory)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import deepcolor
from deepcolor.inference import Colorizer
from deepcolor.inference.images import (
    RENDER_SIZE_MAX,
    RENDER_SIZE_MIN,
    check_render_size,
    default_output,
    encode_result,
    network_render_size,
    output_bit_depth,
    output_suffix,
    process_bytes,
    process_file,
    process_image,
    write_result,
)
from deepcolor.io import ImageError, image_from_array, read_image, write_image

from .helpers import TINY_KWARGS, ConstantAb


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    """A tiny registered model with tamed random weights, as safetensors + json (render size 32)."""
    from deepcolor.models import create_model, save_weights

    torch.manual_seed(0)
    model = create_model("autoencoder", **TINY_KWARGS)
    head = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    with torch.no_grad():
        head.weight.mul_(0.1)
        head.bias.mul_(0.1)
    return save_weights(model, tmp_path_factory.mktemp("model") / "tiny.safetensors", {"render_size": 32})


@pytest.fixture
def colorizer() -> Colorizer:
    return Colorizer(ConstantAb(), device="cpu", render_size=32)


def _grey(height: int = 36, width: int = 52) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.clip(60 + 120 * x / width + 30 * ((x // 3 + y // 3) % 2), 0, 255).astype(np.uint8)


def _inputs(folder: Path) -> dict[str, Path]:
    """The four kinds the issue names: an RGB-stored grey PNG, a colour JPEG, a 16-bit PNG, an RGBA PNG."""
    from conftest import make_rgb, to_uint8

    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in ("grey_rgb.png", "colour.jpg", "deep.png", "glass.png")}
    Image.fromarray(_grey()).convert("RGB").save(paths["grey_rgb.png"])
    Image.fromarray(to_uint8(make_rgb(36, 52, seed=7))).save(paths["colour.jpg"], quality=90)
    Image.fromarray(_grey().astype(np.uint16) * 257 + 100).save(paths["deep.png"])
    rgba = np.dstack(
        [to_uint8(make_rgb(36, 52, seed=8)), np.linspace(0, 255, 52, dtype=np.uint8)[None].repeat(36, 0)]
    )
    Image.fromarray(rgba, mode="RGBA").save(paths["glass.png"])
    return paths


# ------------------------------------------------------------------------------ one pipeline, two callers


def test_command_and_api_write_identical_pixels(tmp_path, model_file):
    from deepcolor.cli.main import cli

    inputs = _inputs(tmp_path / "in")
    for name, source in inputs.items():
        result = CliRunner().invoke(
            cli,
            [
                "colorize",
                str(source),
                "--format",
                "png",
                "-o",
                str(tmp_path / "cli"),
                "--model",
                str(model_file),
            ],
        )
        assert result.exit_code == 0, result.output
        api = deepcolor.colorize(source, model=model_file, output=tmp_path / "api" / f"{source.stem}.png")
        from_cli = read_image(tmp_path / "cli" / f"{source.stem}.png")
        from_api = read_image(api)
        assert np.abs(from_cli.rgb - from_api.rgb).max() == 0, name
        assert (from_cli.alpha is None) == (from_api.alpha is None) == (name != "glass.png")
        if from_cli.alpha is not None:
            assert np.abs(from_cli.alpha - from_api.alpha).max() == 0
        assert from_cli.bit_depth == from_api.bit_depth == (16 if name == "deep.png" else 8)
        assert from_api.rgb.shape == (36, 52, 3) and not from_api.is_gray


def test_grey_rule_is_exact_channel_equality(tmp_path, colorizer):
    """L* from one channel only when the three are equal; a grey JPEG's noisy channels get the full L*."""
    grey = np.repeat(_grey()[:, :, None], 3, axis=2).astype(np.float32) / 255
    noisy = grey.copy()
    noisy[::2, ::3, 0] += 1.5 / 255  # grey to the eye (is_gray), but the channels differ
    for rgb, exact in ((grey, True), (noisy, False)):
        image = image_from_array(rgb)
        assert image.is_gray and image.channels_equal == exact
        result = process_image(image, colorizer)
        expected = colorizer.colorize_array(rgb.copy(), gray=exact)
        np.testing.assert_array_equal(result.rgb, expected)
        assert result.notes == ()  # grey to the eye: no "colour input" note
    # Read from files: a grey PNG stored as RGB has equal channels, so does a grey-mode file.
    write_image(tmp_path / "g.png", grey)
    assert read_image(tmp_path / "g.png").channels_equal
    Image.fromarray(_grey()).save(tmp_path / "l.png")
    assert read_image(tmp_path / "l.png").channels_equal


def test_notes(colorizer, rgb_image):
    colour = image_from_array(rgb_image)
    assert process_image(colour, colorizer).notes == (
        "colour input; decolorized first (its CIE L* is what gets colorized); "
        "`deepcolor enhance` restores a colour photo's own colours",
    )
    assert process_image(colour, colorizer, "enhance").notes == ()
    grey = image_from_array(rgb_image[..., 0])
    assert process_image(grey, colorizer, "enhance").notes == (
        "grey input; it has no colours to revive, so it gets colorized",
    )
    with pytest.raises(ValueError, match="unknown task 'paint'"):
        process_image(grey, colorizer, "paint")


def test_in_place_and_not(colorizer):
    image = image_from_array(_grey())
    before = image.rgb.copy()
    result = process_image(image, colorizer)
    np.testing.assert_array_equal(image.rgb, before)
    again = process_image(image, colorizer, in_place=True)
    assert again.rgb is image.rgb
    np.testing.assert_array_equal(again.rgb, result.rgb)


class _Recorder:
    """Stands in for a Colorizer: records what the pipeline passes on."""

    render_size = 32

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def colorize_array(self, rgb: np.ndarray, **kwargs: object) -> np.ndarray:
        self.calls.append(kwargs)
        return rgb


def test_per_input_options_reach_the_colorizer_unchanged():
    recorder = _Recorder()
    extra = object()
    process_image(image_from_array(_grey(8, 8)), recorder, some_model_input=extra, saturation=1.5)
    (call,) = recorder.calls
    assert call["some_model_input"] is extra and call["saturation"] == 1.5
    assert call["gray"] is True and call["render_size"] == 32 and call["out"] is None


def test_hints_and_a_reference_become_the_model_conditions():
    from deepcolor.models import ab_bins
    from deepcolor.models.conditions import ConditionSpec

    recorder = _Recorder()
    q = ab_bins.in_gamut_bins(10.0).shape[0]
    recorder.conditions = (
        ConditionSpec("hints", "sparse", 3),
        ConditionSpec("global_hints", "vector", q + 3),
    )
    recorder.name, recorder.meta, recorder.predictor = "recorder", {}, None
    hints = {"points": [{"x": 1, "y": 2, "color": "#ff0000"}]}
    reference = np.random.default_rng(0).random((4, 4, 3)).astype(np.float32)
    process_image(image_from_array(_grey(8, 8)), recorder, hints=hints, reference=reference, saturation=1.5)
    (call,) = recorder.calls
    assert "hints" not in call and "reference" not in call and call["saturation"] == 1.5
    conditions = call["conditions"]
    assert conditions["hints"].shape == (1, 3, 8, 8) and conditions["hints"][0, 2, 2, 1] == 1
    assert conditions["global_hints"].shape == (1, q + 3)


# ------------------------------------------------------------------------------------------ render size


@pytest.mark.parametrize("bad", [0, 5, 1.5, 100000, True, "160", 15, 4097])
def test_render_size_outside_the_command_range_is_a_value_error(colorizer, bad):
    with pytest.raises(ValueError, match=r"render_size must be .*\[16, 4096\]"):
        check_render_size(bad)
    with pytest.raises(ValueError, match=r"render_size must be .*\[16, 4096\]"):
        deepcolor.colorize(_grey(), model=colorizer, render_size=bad)
    with pytest.raises(ValueError, match=r"render_size must be"):
        deepcolor.enhance(_grey(), model=colorizer, render_size=bad)


def test_render_size_never_exceeds_the_image_or_the_default(colorizer, monkeypatch):
    seen = []
    predict_low = colorizer.predict_low

    def spy(l, render_size=None, **kwargs):
        seen.append(render_size)
        return predict_low(l, render_size, **kwargs)

    monkeypatch.setattr(colorizer, "predict_low", spy)
    grey = _grey(40, 60)
    for asked in (None, 16, 48, 4096, np.int64(4096)):
        deepcolor.colorize(grey, model=colorizer, render_size=asked)
    deepcolor.enhance(grey, model=colorizer, render_size=4096)
    assert seen == [32, 16, 48, 60, 60, 60]  # default 32; never above the image's 60 px
    small = _grey(20, 24)
    deepcolor.colorize(small, model=colorizer, render_size=4096)
    assert seen[-1] == 32  # a small image: up to the model's default, as with no render size
    assert network_render_size(None, 3000, 4000, 160) == 160
    assert network_render_size(RENDER_SIZE_MAX, 3000, 4000, 160) == 4000
    assert network_render_size(RENDER_SIZE_MIN, 10, 10, 160) == 16


# ------------------------------------------------------------------------------- rules, files and memory


def test_output_rules():
    assert output_suffix("a/b.TIF") == ".tif" and output_suffix("b.jpe") == ".jpg"
    assert output_suffix("b.psd") == ".png" and output_suffix("b.jpg", "webp") == ".webp"
    with pytest.raises(ValueError, match="unknown output format 'exr'"):
        output_suffix("b.png", "exr")
    assert [output_bit_depth(16, s) for s in (".png", ".tif", "tiff", ".jpg", "webp")] == [16, 16, 16, 8, 8]
    assert output_bit_depth(8, ".png") == 8 and output_bit_depth(32, ".tif") == 8
    assert default_output(Path("x/photo.jpe")) == Path("x/photo_colorized.jpg")
    assert default_output("photo.psd", "enhance") == Path("photo_enhanced.png")


def test_process_file_writes_and_reports(tmp_path, colorizer, rgb_image):
    source = write_image(tmp_path / "c.png", rgb_image, alpha=rgb_image[..., 2])
    result = process_file(source, tmp_path / "out" / "c.webp", colorizer, saturation=0.5)
    assert result.path == tmp_path / "out" / "c.webp" and result.notes[0].startswith("colour input")
    assert read_image(result.path).alpha is not None
    with pytest.raises(ImageError, match="already exists"):
        process_file(source, result.path, colorizer, overwrite=False)
    with pytest.raises(ImageError, match="no such file"):
        process_file(tmp_path / "missing.png", tmp_path / "o.png", colorizer)
    with pytest.raises(ValueError, match="render_size"):
        process_file(source, tmp_path / "o.png", colorizer, render_size=2)
    assert not (tmp_path / "o.png").exists()


def test_bytes_in_bytes_out_equals_the_file_path(tmp_path, colorizer):
    inputs = _inputs(tmp_path / "in")
    for name, source in inputs.items():
        via_file = process_file(source, tmp_path / "out" / f"{source.stem}.png", colorizer).path
        for fmt in ("png", None):
            encoded = process_bytes(source.read_bytes(), colorizer, fmt=fmt, name=name)
            expected_format = "JPEG" if fmt is None and name.endswith(".jpg") else "PNG"
            assert (
                encoded.format == expected_format and encoded.media_type == f"image/{expected_format.lower()}"
            )
            if expected_format == "PNG":
                assert encoded.data == via_file.read_bytes(), name
            colour = name in ("colour.jpg", "glass.png")
            assert [note.split(";")[0] for note in encoded.notes] == (["colour input"] if colour else [])


def test_memory_results_encode_and_write(tmp_path, colorizer):
    image = read_image(
        write_image(tmp_path / "d.png", _grey().astype(np.uint16) * 257, bit_depth=16).read_bytes()
    )
    result = process_image(image, colorizer, "enhance", strength=0.5)
    assert result.name == "<memory>" and result.bit_depth == 16
    assert (
        read_image(encode_result(result, "png")).bit_depth == 16
    )  # 16 bits kept where the format holds them
    assert read_image(encode_result(result, "jpeg")).bit_depth == 8
    assert write_result(result, tmp_path / "e.tif") == tmp_path / "e.tif"
    assert read_image(tmp_path / "e.tif").bit_depth == 16
    with pytest.raises(ImageError, match="^<memory>: unknown image format 'exr'"):
        encode_result(result, "exr")
    with pytest.raises(ImageError, match="^up.png: unknown output format 'exr'"):
        process_bytes(tmp_path.joinpath("d.png").read_bytes(), colorizer, fmt="exr", name="up.png")
    with pytest.raises(ImageError, match=r"^up.png: empty \(0 bytes\)"):
        process_bytes(b"", colorizer, name="up.png")
