"""`deepcolor decolorize`: one-channel files, alpha, 16 bits, --keep-channels, bad inputs, exit codes."""

from __future__ import annotations

import re

import numpy as np
from click.testing import CliRunner
from PIL import Image

from conftest import make_rgb, to_uint8
from deepcolor.cli.decolorize import METHOD_NAMES, command, savings_line
from deepcolor.decolor import METHODS


def _run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_method_choices_are_the_packages():
    assert tuple(METHOD_NAMES) == tuple(METHODS)


def test_folder_with_bad_files_and_the_savings_line(tmp_path, mixed_folder):
    code, _, stderr = _run(mixed_folder.path, "-o", tmp_path / "out")
    assert code == 1
    assert "Traceback" not in stderr
    for bad in mixed_folder.bad:
        assert len([line for line in stderr.splitlines() if f"deepcolor: {bad}:" in line]) == 1
    written = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in written] == sorted(p.name for p in mixed_folder.good)
    for path in written:
        assert Image.open(path).mode == "L"
    line = [s for s in stderr.splitlines() if s.startswith("decolorize: 3 images")]
    assert len(line) == 1 and re.search(r"(saved|grew by) .* \(\d+%\)", line[0])


def test_one_channel_output_is_smaller_and_alpha_is_kept(tmp_path, image_file):
    rgb = make_rgb(64, 80, seed=7)
    source = image_file("photo.png", rgb)
    alpha = np.linspace(0, 1, 80)[None, :].repeat(64, 0)
    with_alpha = image_file("cutout.png", np.dstack([rgb, alpha]))
    code, _, stderr = _run(source, with_alpha, "-o", tmp_path / "out")
    assert code == 0, stderr
    grey = tmp_path / "out" / "photo.png"
    assert Image.open(grey).mode == "L"
    assert grey.stat().st_size < source.stat().st_size
    la = Image.open(tmp_path / "out" / "cutout.png")
    assert la.mode == "LA"
    np.testing.assert_array_equal(np.asarray(la)[..., 1], to_uint8(alpha))
    assert "saved" in stderr


def test_bit_depth_keep_channels_format_and_method(tmp_path, image_file):
    source = image_file("photo.png", make_rgb(32, 40, seed=8))
    code, _, stderr = _run(source, "-o", tmp_path / "d16", "--bit-depth", "16", "--method", "cpd")
    assert code == 0, stderr
    assert Image.open(tmp_path / "d16" / "photo.png").mode.startswith("I;16")
    code, _, _ = _run(source, "-o", tmp_path / "rgb", "--keep-channels", "--format", "jpg")
    assert code == 0
    rgb = Image.open(tmp_path / "rgb" / "photo.jpg")
    assert rgb.mode == "RGB"
    a = np.asarray(rgb).astype(int)
    assert np.abs(a[..., 0] - a[..., 1]).max() <= 2 and np.abs(a[..., 1] - a[..., 2]).max() <= 2
    code, _, stderr = _run(source, "-o", tmp_path / "x", "--bit-depth", "16", "--format", "jpg")
    assert code == 2 and "16 bits need --format png or tif" in stderr


def test_sixteen_bit_input_gives_sixteen_bit_output(tmp_path):
    rgb16 = np.round(make_rgb(20, 24, seed=9) * 65535).astype(np.uint16)
    from deepcolor.io import write_image

    source = write_image(tmp_path / "deep.png", rgb16, bit_depth=16)
    code, _, stderr = _run(source, "-o", tmp_path / "out")
    assert code == 0, stderr
    assert Image.open(tmp_path / "out" / "deep.png").mode.startswith("I;16")


def test_inputs_are_never_overwritten(tmp_path, image_file):
    source = image_file("photo.png", make_rgb(16, 16, seed=10))
    before = source.read_bytes()
    code, _, stderr = _run(source, "-o", tmp_path)
    assert code == 1 and "is an input file" in stderr
    assert source.read_bytes() == before
    code, _, stderr = _run(source, "-o", tmp_path, "--overwrite")
    assert code == 0, stderr
    assert Image.open(source).mode == "L"


def test_usage_errors_exit_2(tmp_path, image_file):
    source = image_file("photo.png")
    code, _, stderr = _run(source, "-o", tmp_path / "o", "--method", "magic")
    assert code == 2 and "magic" in stderr
    code, _, _ = _run(source)
    assert code == 2


def test_savings_line_wording():
    assert savings_line(2, 2_000_000, 500_000) == (
        "decolorize: 2 images, 2.0 MB in -> 500.0 kB grey: saved 1.5 MB (75%)")
    assert "grew by 10 B (10%)" in savings_line(1, 100, 110)
