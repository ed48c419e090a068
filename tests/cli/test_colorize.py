"""`deepcolor colorize`: sizes, lightness, alpha, EXIF, ICC, grey recognition, bad files and exit codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from deepcolor.cli.colorize import command
from deepcolor.io import read_image, srgb_profile

EXIF_MAKE = 0x010F


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    """A tiny random-weight registered model saved as safetensors + json (no shipped weights needed)."""
    from deepcolor.models import create_model, save_weights

    torch.manual_seed(0)
    model = create_model("autoencoder", base_width=4, depth=1)
    # Tame the random output layer: moderate chroma (|ab| up to ~20), like a trained model's, so that the
    # output stays in the sRGB gamut and its lightness can be compared with the input's.
    head = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    with torch.no_grad():
        head.weight.mul_(0.1)
        head.bias.mul_(0.1)
    return save_weights(model, tmp_path_factory.mktemp("model") / "tiny.safetensors", {"render_size": 32})


def _grey(height: int = 36, width: int = 52) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.clip(60 + 120 * x / width + 30 * ((x // 3 + y // 3) % 2), 0, 255).astype(np.uint8)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _lightness(path: Path) -> np.ndarray:
    from deepcolor.inference import lightness

    return lightness(read_image(path).rgb)[0, 0].numpy()


def test_grey_png_keeps_size_and_lightness(tmp_path, model_file):
    source = tmp_path / "in" / "old.png"
    source.parent.mkdir()
    Image.fromarray(_grey()).save(source)
    code, _, stderr = _run(source, "-o", tmp_path / "out", "--model", model_file)
    assert code == 0, stderr
    assert stderr == ""  # a grey input gets no message
    out = tmp_path / "out" / "old.png"
    image = read_image(out)
    assert image.rgb.shape == (36, 52, 3) and not image.is_gray
    # Every detail of the input kept (the 3-pixel checkerboard included): L* of the output is the input's,
    # up to the 8-bit rounding of the output's RGB.
    difference = np.abs(_lightness(out) - _lightness(source))
    assert difference.max() < 0.5


def test_alpha_exif_and_icc_are_kept(tmp_path, model_file):
    rgba = np.dstack([np.repeat(_grey()[:, :, None], 3, axis=2), np.full((36, 52), 100, np.uint8)])
    exif = Image.Exif()
    exif[EXIF_MAKE] = "deepcolor-test-camera"
    png = tmp_path / "glass.png"
    Image.fromarray(rgba, mode="RGBA").save(png, exif=exif, icc_profile=srgb_profile())
    jpg = tmp_path / "shot.jpg"
    Image.fromarray(_grey()).convert("RGB").save(jpg, exif=exif, quality=95)
    code, _, stderr = _run(png, jpg, "-o", tmp_path / "out", "--model", model_file)
    assert code == 0, stderr
    with Image.open(tmp_path / "out" / "glass.png") as out:
        assert out.mode == "RGBA"
        assert (np.asarray(out)[..., 3] == 100).all()
        assert out.getexif()[EXIF_MAKE] == "deepcolor-test-camera"
        assert out.info.get("icc_profile")
    with Image.open(tmp_path / "out" / "shot.jpg") as out:
        assert out.format == "JPEG" and out.size == (52, 36)
        assert out.getexif()[EXIF_MAKE] == "deepcolor-test-camera"


def test_grey_stored_as_rgb_is_recognised_and_colour_is_announced(tmp_path, model_file, rgb_image):
    grey_rgb = tmp_path / "grey_rgb.png"
    Image.fromarray(_grey()).convert("RGB").save(grey_rgb)
    colour = tmp_path / "colour.png"
    Image.fromarray(np.round(rgb_image * 255).astype(np.uint8)).save(colour)
    code, _, stderr = _run(grey_rgb, colour, "-o", tmp_path / "out", "--model", model_file)
    assert code == 0
    lines = [line for line in stderr.splitlines() if line.startswith("deepcolor:")]
    assert lines == [
        f"deepcolor: warning: {colour}: colour input; decolorized first (its CIE L* is what gets colorized); "
        "`deepcolor enhance` restores a colour photo's own colours"
    ]
    # The colour input was colorized from its lightness: same result as its grey version.
    grey_version = tmp_path / "g" / "colour.png"
    grey_version.parent.mkdir()
    from deepcolor.inference import lightness

    l = lightness(read_image(colour).rgb)
    from deepcolor.color import lab_to_rgb

    grey = lab_to_rgb(torch.cat([l, torch.zeros(1, 2, *l.shape[-2:])], 1))[0].permute(1, 2, 0).numpy()
    Image.fromarray(np.round(grey * 255).astype(np.uint8)).save(grey_version)
    _run(grey_version, "-o", tmp_path / "out2", "--model", model_file)
    a = read_image(tmp_path / "out" / "colour.png").rgb
    b = read_image(tmp_path / "out2" / "colour.png").rgb
    assert np.abs(a - b).max() <= 3 / 255  # one or two 8-bit codes from rounding the grey version


def test_saturation_zero_gives_grey_and_format_option(tmp_path, model_file):
    source = tmp_path / "a.png"
    Image.fromarray(_grey()).save(source)
    code, _, _ = _run(
        source, "-o", tmp_path / "out", "--model", model_file, "--saturation", "0", "--format", "tif"
    )
    assert code == 0
    image = read_image(tmp_path / "out" / "a.tif")
    assert image.is_gray


def test_sixteen_bit_input_gives_sixteen_bit_output(tmp_path, model_file):
    source = tmp_path / "deep.png"
    Image.fromarray(_grey().astype(np.uint16) * 257).save(source)
    code, _, stderr = _run(source, "-o", tmp_path / "out", "--model", model_file)
    assert code == 0, stderr
    assert read_image(tmp_path / "out" / "deep.png").bit_depth == 16


def test_bad_files_one_line_each_and_the_batch_goes_on(tmp_path, model_file, mixed_folder):
    code, _, stderr = _run(mixed_folder.path, "-o", tmp_path / "out", "--model", model_file)
    assert code == 1
    errors = [
        line for line in stderr.splitlines() if line.startswith("deepcolor:") and "colour input" not in line
    ]
    assert len(errors) == len(mixed_folder.bad)
    assert all(any(bad.name in line for line in errors) for bad in mixed_folder.bad)
    assert "Traceback" not in stderr
    for good in mixed_folder.good:
        assert (tmp_path / "out" / good.name).is_file()


def test_missing_model_is_one_line_and_exit_2(tmp_path):
    source = tmp_path / "a.png"
    Image.fromarray(_grey()).save(source)
    code, _, stderr = _run(source, "-o", tmp_path / "out", "--model", tmp_path / "none.safetensors")
    assert code == 2
    assert stderr.strip().splitlines() == [f"deepcolor: {tmp_path / 'none.safetensors'}: no such model file"]
    assert not (tmp_path / "out").exists()


def test_input_is_never_overwritten(tmp_path, model_file):
    source = tmp_path / "a.png"
    Image.fromarray(_grey()).save(source)
    before = source.read_bytes()
    code, _, stderr = _run(source, "-o", tmp_path, "--model", model_file)
    assert code == 1 and "pass --overwrite" in stderr
    assert source.read_bytes() == before
    code, _, _ = _run(source, "-o", tmp_path, "--model", model_file, "--overwrite")
    assert code == 0 and source.read_bytes() != before


def test_usage_errors_exit_2(tmp_path, model_file):
    assert _run(tmp_path, "--model", model_file)[0] == 2  # no -o
    assert _run(tmp_path, "-o", tmp_path / "o", "--saturation", "-1")[0] == 2
    assert _run(tmp_path, "-o", tmp_path / "o", "--render-size", "3")[0] == 2


def test_render_size_range_is_the_librarys():
    """The command spells the range out (so that --help does not import torch); it must be the pipeline's."""
    from deepcolor.cli.colorize import RENDER_SIZE_RANGE
    from deepcolor.inference.images import RENDER_SIZE_MAX, RENDER_SIZE_MIN

    assert RENDER_SIZE_RANGE == (RENDER_SIZE_MIN, RENDER_SIZE_MAX)


def test_main_entry_lists_colorize():
    from deepcolor.cli.main import cli

    result = CliRunner().invoke(cli, ["colorize", "--help"])
    assert result.exit_code == 0 and "--render-size" in result.stdout and "--saturation" in result.stdout


def test_oversized_png_metadata_and_extra_tiff_pages_are_warning_lines(tmp_path, model_file):
    """The pixels are colorized and one `warning:` line says what was dropped."""
    import zlib

    import tifffile

    from conftest import png_chunk

    png = tmp_path / "xmp.png"
    Image.fromarray(_grey()).save(png)
    data = png.read_bytes()
    xmp = png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\x01\x00\0\0" + zlib.compress(b" " * (2 << 20), 9))
    png.write_bytes(data[:33] + xmp + data[33:])  # after IHDR (8 + 25 bytes)
    tif = tmp_path / "pages.tif"
    tifffile.imwrite(tif, np.stack([_grey(), _grey()]).astype(np.float32) / 255, photometric="minisblack")
    code, _, stderr = _run(png, tif, "-o", tmp_path / "out", "--model", model_file)
    assert code == 0, stderr
    warnings = [line for line in stderr.splitlines() if line.startswith("deepcolor: warning:")]
    assert warnings == [
        f"deepcolor: warning: {png}: the iTXt metadata chunk 'XML:com.adobe.xmp' (over 1 MB uncompressed) "
        "dropped; the pixels are read without it",
        f"deepcolor: warning: {tif}: has 2 pages; reading the first",
    ]
    assert read_image(tmp_path / "out" / "xmp.png").rgb.shape == (36, 52, 3)
    assert read_image(tmp_path / "out" / "pages.tif").rgb.shape == (36, 52, 3)


def _folder_of_greys(folder: Path, sizes: list[tuple[int, int]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (height, width) in enumerate(sizes):
        path = folder / f"{i:02d}.png"
        Image.fromarray(np.roll(_grey(height, width), 3 * i, axis=1)).save(path)
        paths.append(path)
    return paths


def test_the_batch_runs_chunks_through_process_images_with_the_one_image_results(
    tmp_path, model_file, monkeypatch
):
    import deepcolor.inference.images as images

    sizes = [(36, 52), (36, 52), (40, 30), (36, 52), (36, 52), (52, 36), (36, 52)]
    _folder_of_greys(tmp_path / "in", sizes)
    calls = []
    real = images.process_images

    def counting(loaded, *args, **kwargs):
        calls.append(len(loaded))
        return real(loaded, *args, **kwargs)

    monkeypatch.setattr(images, "process_images", counting)
    code, _, stderr = _run(tmp_path / "in", "-o", tmp_path / "b3", "--model", model_file, "--batch-size", "3")
    assert code == 0, stderr
    assert calls == [3, 3, 1]  # chunks: never the whole folder in memory
    calls.clear()
    code, _, stderr = _run(tmp_path / "in", "-o", tmp_path / "b1", "--model", model_file, "--batch-size", "1")
    assert code == 0, stderr
    assert calls == [1] * len(sizes)
    for i in range(len(sizes)):
        batched = read_image(tmp_path / "b3" / f"{i:02d}.png").rgb
        alone = read_image(tmp_path / "b1" / f"{i:02d}.png").rgb
        assert batched.shape == alone.shape
        assert np.abs(batched - alone).max() <= 1.5 / 255  # float rounding of the batched forward


def test_a_bad_file_inside_a_chunk_fails_alone(tmp_path, model_file):
    _folder_of_greys(tmp_path / "in", [(36, 52)] * 3)
    (tmp_path / "in" / "01.png").write_bytes(b"not a png")
    code, _, stderr = _run(tmp_path / "in", "-o", tmp_path / "out", "--model", model_file)
    assert code == 1
    assert stderr.splitlines()[-1] == "colorized 2 of 3 images; 1 failed"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["00.png", "02.png"]


def test_skip_existing_after_an_interrupted_batch(tmp_path, model_file):
    _folder_of_greys(tmp_path / "in", [(36, 52)] * 4)
    out = tmp_path / "out"
    assert (
        _run(tmp_path / "in" / "00.png", tmp_path / "in" / "02.png", "-o", out, "--model", model_file)[0] == 0
    )
    done = {p.name: p.read_bytes() for p in out.iterdir()}
    code, _, stderr = _run(tmp_path / "in", "-o", out, "--model", model_file, "--skip-existing")
    assert code == 0, stderr
    assert stderr.splitlines()[-1] == "colorized 2 of 4 images; 2 skipped"
    assert sorted(p.name for p in out.iterdir()) == ["00.png", "01.png", "02.png", "03.png"]
    assert all((out / name).read_bytes() == data for name, data in done.items())
    code, _, stderr = _run(tmp_path / "in", "-o", out, "--model", model_file)  # neither flag: suggested
    assert code == 1
    assert stderr.splitlines()[-2:] == [
        "colorized 0 of 4 images; 4 failed",
        "4 outputs exist already: pass --skip-existing to leave those inputs alone, or --overwrite to "
        "replace them",
    ]


def test_format_jpg_into_the_input_folder_three_times_keeps_its_names(tmp_path, model_file):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(_grey()).save(photos / "camera.png")
    assert _run(photos, "-o", photos, "--format", "jpg", "--model", model_file)[0] == 0
    for _ in range(2):
        code, _, stderr = _run(photos, "-o", photos, "--format", "jpg", "--model", model_file)
        assert code == 1
        assert f"deepcolor: {photos / 'camera.jpg'}: exists; pass --overwrite to replace it" in stderr
        assert sorted(p.name for p in photos.iterdir()) == ["camera.jpg", "camera.png"]
    code, _, stderr = _run(photos, "-o", photos, "--format", "jpg", "--model", model_file, "--skip-existing")
    assert code == 0 and sorted(p.name for p in photos.iterdir()) == ["camera.jpg", "camera.png"]


def test_an_animated_gif_gives_a_png_of_its_first_frame(tmp_path, model_file):
    frames = [Image.fromarray(_grey()).convert("P"), Image.fromarray(255 - _grey()).convert("P")]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    code, _, stderr = _run(tmp_path / "anim.gif", "-o", tmp_path / "out", "--model", model_file)
    assert code == 0, stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["anim.png"]
    assert "has 2 frames; reading the first" in stderr
    with Image.open(tmp_path / "out" / "anim.png") as result:
        assert result.format == "PNG" and result.mode == "RGB" and result.size == (52, 36)


def test_a_garbage_pt_model_gets_an_accurate_reason(tmp_path):
    source = tmp_path / "a.png"
    Image.fromarray(_grey()).save(source)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(bytes(range(7, 255)) * 8)
    code, _, stderr = _run(source, "-o", tmp_path / "out", "--model", junk)
    assert code == 2
    assert stderr.strip() == (
        f"deepcolor: {junk}: not a readable PyTorch checkpoint (neither the zip archive nor the pickle that "
        "torch.save writes)"
    )


def test_summary_counts_toned_prints(tmp_path, model_file):
    from deepcolor.data.degrade import tone_print

    grey = _grey(48, 64)
    rgb = np.repeat(grey[..., None], 3, axis=2).astype(np.float32) / 255.0
    folder = tmp_path / "in"
    folder.mkdir()
    for name, tone in (("a.png", "sepia"), ("b.png", "cyanotype")):
        Image.fromarray(np.round(tone_print(rgb, tone) * 255).astype(np.uint8)).save(folder / name)
    Image.fromarray(grey).save(folder / "c.png")
    from deepcolor.color.numpy import lab_to_rgb

    # a real colour photo: red and green bands over the same lightness ramp (two hues at one L*)
    l = np.broadcast_to(np.linspace(30, 80, 64), (48, 64))
    a = np.where((np.arange(48) // 8 % 2 == 0)[:, None], 40.0, -40.0) * np.ones((48, 64))
    colour = lab_to_rgb(np.stack([l, a, np.zeros_like(l)], axis=-1))
    Image.fromarray(np.round(np.clip(colour, 0, 1) * 255).astype(np.uint8)).save(folder / "d.png")
    code, _, stderr = _run(folder, "-o", tmp_path / "out", "--model", model_file)
    assert code == 0, stderr
    lines = stderr.strip().splitlines()
    assert lines[-1] == "colorized 4 images (2 toned prints)", stderr
    assert sum("toned print" in line for line in lines[:-1]) == 2
    # no toned print, no remark in the summary
    code, _, stderr = _run(folder / "c.png", folder / "d.png", "-o", tmp_path / "out2", "--model", model_file)
    assert code == 0, stderr
    assert stderr.strip().splitlines()[-1] == "colorized 2 images", stderr


def test_grainy_flag_denoises_what_the_network_sees_and_is_off_by_default(tmp_path, model_file):
    from conftest import grainy_grey_scan

    source = tmp_path / "in" / "scan.png"
    source.parent.mkdir()
    Image.fromarray(grainy_grey_scan()).save(source)
    outputs = {}
    for name, extra in (("plain", []), ("grainy", ["--grainy"])):
        code, _, stderr = _run(
            source, "-o", tmp_path / name, "--model", model_file, "--render-size", 96, *extra
        )
        assert code == 0, stderr
        outputs[name] = read_image(tmp_path / name / "scan.png").rgb
    assert not np.array_equal(outputs["plain"], outputs["grainy"])  # the grain changed what the network saw
    # the output keeps the scan's own lightness either way
    plain, grainy = (_lightness(tmp_path / name / "scan.png") for name in ("plain", "grainy"))
    assert np.abs(plain - grainy).max() < 1.0
