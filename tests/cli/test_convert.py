"""`deepcolor convert`: montages, --npy channels, bad files in a batch, usage errors, a subprocess run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from deepcolor.cli.convert import SPACES, command
from deepcolor.color import numpy as cnp
from deepcolor.io import read_image, write_image

REFERENCE = {
    "hsv": cnp.rgb_to_hsv,
    "yuv": cnp.rgb_to_yuv,
    "ycbcr": cnp.rgb_to_ycbcr,
    "lab": cnp.rgb_to_lab,
    "gray": lambda rgb: cnp.rgb_to_gray(rgb)[..., None],
}


def message_lines(stderr: str) -> list[str]:
    return [line.rsplit("\r", 1)[-1] for line in stderr.split("\n") if "deepcolor: " in line]


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


@pytest.mark.parametrize("space", list(SPACES))
def test_npy_holds_the_channels_of_deepcolor_color(tmp_path, image_file, space):
    src = image_file("photo.png")
    result = CliRunner().invoke(command, [str(src), "--space", space, "--npy", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    channels = np.load(tmp_path / "out" / f"photo_{space}.npy")
    rgb = read_image(src).rgb
    assert channels.dtype == np.float32
    assert channels.shape == (*rgb.shape[:2], len(SPACES[space]))
    np.testing.assert_allclose(channels, REFERENCE[space](rgb), atol=1e-4)
    sheet = read_image(tmp_path / "out" / f"photo_{space}.png")
    assert sheet.rgb.shape[1] > sheet.rgb.shape[0]  # one row of tiles: original + channels


def test_montage_shows_each_channel_scaled_from_its_stated_range(tmp_path, image_file):
    # A flat colour makes every tile flat, so each tile's grey level can be found in the sheet.
    rgb = np.broadcast_to(np.array([0.8, 0.3, 0.1], np.float32), (40, 40, 3))
    src = image_file("flat.png", rgb)
    assert CliRunner().invoke(command, [str(src), "-o", str(tmp_path), "--tile-size", "40"]).exit_code == 0
    sheet = np.round(read_image(tmp_path / "flat_lab.png").rgb * 255).astype(int)
    lab = cnp.rgb_to_lab(read_image(src).rgb)[0, 0]
    expected_greys = [lab[0] / 100, (lab[1] + 128) / 255, (lab[2] + 128) / 255]  # L*, a*, b* ranges
    for grey in expected_greys:
        level = round(grey * 255)
        is_tile = (np.abs(sheet - level) <= 1).all(axis=2)
        assert is_tile.sum() >= 40 * 40 * 0.95, f"no 40x40 tile of grey {level}"
    original = (np.abs(sheet - np.round(np.array([0.8, 0.3, 0.1]) * 255)) <= 1).all(axis=2)
    assert original.sum() >= 40 * 40 * 0.95


def test_large_image_montage_is_small_and_npy_is_full_size(tmp_path, image_file):
    from conftest import make_rgb

    src = image_file("big.png", make_rgb(300, 500))
    result = CliRunner().invoke(command, [str(src), "-o", str(tmp_path), "--npy", "--tile-size", "64"])
    assert result.exit_code == 0
    assert np.load(tmp_path / "big_lab.npy").shape == (300, 500, 3)
    assert read_image(tmp_path / "big_lab.png").rgb.shape[1] < 4 * 64 + 100


def test_alpha_and_grey_inputs(tmp_path, image_file, gray_image):
    rgba = np.dstack([np.full((10, 12, 3), 0.5), np.linspace(0, 1, 120).reshape(10, 12)])
    image_file("rgba.png", rgba)
    image_file("grey.png", gray_image)
    result = CliRunner().invoke(
        command,
        [
            str(tmp_path / "rgba.png"),
            str(tmp_path / "grey.png"),
            "--space",
            "hsv",
            "-o",
            str(tmp_path / "out"),
            "--npy",
        ],
    )
    assert result.exit_code == 0, result.output
    hsv = np.load(tmp_path / "out" / "grey_hsv.npy")
    np.testing.assert_allclose(hsv[..., 1], 0.0, atol=1e-6)  # grey has no saturation


def test_mixed_folder_montages_for_good_one_line_per_bad_exit_1(tmp_path, mixed_folder):
    out = tmp_path / "out"
    result = CliRunner().invoke(command, [str(mixed_folder.path), "-o", str(out), "--space", "ycbcr"])
    assert result.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}_ycbcr.png" for p in mixed_folder.good)
    lines = message_lines(result.stderr)
    assert len(lines) == len(mixed_folder.bad)
    expected = {
        "empty.jpg": "empty file (0 bytes)",
        "truncated.jpg": "truncated or corrupt image data",
        "text.jpg": "not an image",
        "huge.png": "is over the limit of 100 MP",
    }
    for name, problem in expected.items():
        (line,) = [x for x in lines if x.startswith(f"deepcolor: {mixed_folder.path / name}: ")]
        assert problem in line
    assert leftovers(out) == []
    assert "Traceback" not in result.output


def test_awkward_but_valid_inputs_all_convert(tmp_path, image_file, rgb_image):
    """CMYK JPEG, 16-bit PNG, palette PNG with transparency, EXIF-rotated JPEG, animated GIF, 1x1, 1xN."""
    exif = Image.Exif()
    exif[0x0112] = 6
    image_file("in/cmyk.jpg", Image.fromarray((rgb_image * 255).astype(np.uint8)).convert("CMYK"))
    write_image(tmp_path / "in" / "deep.png", rgb_image, bit_depth=16)
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([250, 0, 0, 0, 0, 250] + [0] * 762)
    image_file("in/palette.png", palette, transparency=1)
    image_file("in/rotated.jpg", rgb_image, exif=exif)
    frames = [Image.new("RGB", (8, 8), c) for c in [(255, 0, 0), (0, 255, 0)]]
    frames[0].save(tmp_path / "in" / "anim.gif", save_all=True, append_images=frames[1:])
    image_file("in/dot.png", np.full((1, 1, 3), 0.5))
    image_file("in/strip.png", np.linspace(0, 1, 17 * 3).reshape(1, 17, 3))
    result = CliRunner().invoke(command, [str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--npy"])
    assert result.exit_code == 0, result.output
    assert message_lines(result.stderr) == [
        f"deepcolor: warning: {tmp_path / 'in' / 'anim.gif'}: has 2 frames; reading the first"
    ]
    names = ["anim", "cmyk", "deep", "dot", "palette", "rotated", "strip"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == [f"{n}_lab.png" for n in names]
    assert np.load(tmp_path / "out" / "rotated_lab.npy").shape == (32, 24, 3)  # EXIF 6: upright is taller
    assert np.load(tmp_path / "out" / "strip_lab.npy").shape == (1, 17, 3)


def test_names_are_mirrored_under_outdir(tmp_path, image_file):
    image_file("in/a/x.png")
    image_file("in/b/x.png")
    image_file("in/b/deeper/y.jpg")
    result = CliRunner().invoke(command, [str(tmp_path / "in"), "-r", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    made = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    assert made == ["a/x_lab.png", "b/deeper/y_lab.png", "b/x_lab.png"]


def test_input_is_not_overwritten(tmp_path, image_file):
    image_file("x.png")
    victim = image_file("x_lab.png")  # what `convert x.png` would write
    before = victim.read_bytes()
    result = CliRunner().invoke(command, [str(tmp_path / "x.png"), str(victim), "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert message_lines(result.stderr) == [
        f"deepcolor: {victim}: is an input file; pass --overwrite to write over it"
    ]
    assert victim.read_bytes() == before
    assert (tmp_path / "x_lab_lab.png").exists()  # the other input went through


@pytest.mark.parametrize("args", [["--space", "cmyk"], [], ["--tile-size", "3"]])
def test_usage_errors_exit_2(tmp_path, image_file, args):
    src = image_file("a.png")
    argv = [str(src), "-o", str(tmp_path / "out"), *args] if args else ["--space", "lab"]
    result = CliRunner().invoke(command, argv)
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_subprocess_on_a_mixed_folder(tmp_path, mixed_folder):
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "deepcolor", "convert", str(mixed_folder.path), "-o", str(out)]
    proc = subprocess.run(argv, capture_output=True, timeout=120)  # bytes: keep the bar's \r as it is
    stderr = proc.stderr.decode()
    assert proc.returncode == 1, stderr
    assert proc.stdout == b""
    lines = message_lines(stderr)
    assert sorted(lines) == sorted(
        line for line in lines if any(line.startswith(f"deepcolor: {bad}: ") for bad in mixed_folder.bad)
    )
    assert len(lines) == len(mixed_folder.bad)
    # nothing else on a line of its own (no traceback), but the summary at the end
    assert stderr.count("\n") == len(mixed_folder.bad) + 1
    assert stderr.endswith("\nconverted 3 of 7 images; 4 failed\n")
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}_lab.png" for p in mixed_folder.good)
    assert leftovers(out) == []
    for good in mixed_folder.good:
        assert read_image(out / f"{good.stem}_lab.png").rgb.shape[2] == 3


@pytest.mark.data
def test_real_photo(tmp_path, data_dir):
    photos = sorted((data_dir / "val" / "bsd100").glob("*.png"))[:1]
    if not photos:
        pytest.skip("no BSD100 photos in the data folder")
    result = CliRunner().invoke(command, [str(photos[0]), "-o", str(tmp_path), "--npy"])
    assert result.exit_code == 0
    lab = np.load(tmp_path / f"{photos[0].stem}_lab.npy")
    assert 0 <= lab[..., 0].min() and lab[..., 0].max() <= 100 and lab.shape[:2] in ((320, 480), (480, 320))


def test_skip_existing_needs_every_output_of_an_image(tmp_path, image_file):
    image_file("x.png")
    image_file("y.png")
    out = tmp_path / "out"
    assert CliRunner().invoke(command, [str(tmp_path / "x.png"), "-o", str(out), "--npy"]).exit_code == 0
    (out / "y_lab.png").write_bytes(b"half of y's outputs")  # y_lab.npy is missing
    inputs = [str(tmp_path / "x.png"), str(tmp_path / "y.png")]
    result = CliRunner().invoke(command, [*inputs, "-o", str(out), "--npy", "--skip-existing"])
    assert result.exit_code == 1
    assert message_lines(result.stderr) == [
        f"deepcolor: {out / 'y_lab.png'}: exists; pass --overwrite to replace it"
    ]
    assert result.stderr.splitlines()[-2].startswith("converted 0 of 2 images; 1 skipped, 1 failed")
    assert (out / "y_lab.png").read_bytes() == b"half of y's outputs" and not (out / "y_lab.npy").exists()
