"""`deepcolor enhance`: strength, CLAHE, kept metadata, messages and exit codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from deepcolor.cli.enhance import command
from deepcolor.io import read_image


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    from deepcolor.models import create_model, save_weights

    torch.manual_seed(0)
    model = create_model("autoencoder", base_width=4, depth=1)
    return save_weights(model, tmp_path_factory.mktemp("model") / "tiny.safetensors")


def _run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _faded(path: Path) -> np.ndarray:
    from conftest import make_rgb

    rgb = make_rgb(40, 56, seed=5)
    faded = 0.55 + 0.3 * (rgb - 0.55)  # much less chroma (and contrast)
    Image.fromarray(np.round(faded * 255).astype(np.uint8)).save(path)
    return faded


def test_strength_zero_keeps_the_photo_and_strength_changes_it(tmp_path, model_file):
    source = tmp_path / "faded.png"
    _faded(source)
    original = read_image(source).rgb
    code, _, stderr = _run(source, "-o", tmp_path / "zero", "--model", model_file, "--strength", "0")
    assert code == 0, stderr
    assert np.abs(read_image(tmp_path / "zero" / "faded.png").rgb - original).max() <= 1.5 / 255
    code, _, _ = _run(source, "-o", tmp_path / "full", "--model", model_file, "--strength", "1", "--clahe")
    assert code == 0
    assert np.abs(read_image(tmp_path / "full" / "faded.png").rgb - original).max() > 10 / 255


def test_grey_input_message_and_bad_files(tmp_path, model_file, mixed_folder):
    code, _, stderr = _run(mixed_folder.path, "-o", tmp_path / "out", "--model", model_file)
    assert code == 1
    grey = mixed_folder.path / "grey.png"
    assert f"deepcolor: warning: {grey}: grey input; it has no colours to revive" in stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in mixed_folder.good)


def test_usage_errors(tmp_path, model_file):
    source = tmp_path / "faded.png"
    _faded(source)
    assert _run(source, "-o", tmp_path / "o", "--model", model_file, "--strength", "1.5")[0] == 2
    assert _run(source, "-o", tmp_path / "o", "--model", model_file, "--clahe-limit", "0")[0] == 2
    code, _, stderr = _run(source, "-o", tmp_path / "o", "--model", tmp_path / "missing.pt")
    assert code == 2 and stderr.strip() == f"deepcolor: {tmp_path / 'missing.pt'}: no such model file"


def test_summary_counts_toned_prints(tmp_path, model_file):
    from deepcolor.data.degrade import tone_print

    y, x = np.mgrid[0:48, 0:64]
    grey = np.clip(60 + 120 * x / 64 + 30 * ((x // 3 + y // 3) % 2), 0, 255).astype(np.float32) / 255.0
    rgb = np.repeat(grey[..., None], 3, axis=2)
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.round(tone_print(rgb, "sepia") * 255).astype(np.uint8)).save(folder / "a.png")
    Image.fromarray(np.round(grey * 255).astype(np.uint8)).save(folder / "b.png")
    code, _, stderr = _run(folder, "-o", tmp_path / "out", "--model", model_file)
    assert code == 0, stderr
    assert stderr.strip().splitlines()[-1] == "enhanced 2 images (1 toned print)", stderr


def test_grainy_flag_reaches_the_colorizer_of_a_grainy_grey_scan(tmp_path, model_file):
    from conftest import grainy_grey_scan

    source = tmp_path / "scan.png"
    Image.fromarray(grainy_grey_scan()).save(source)
    outputs = {}
    for name, extra in (("plain", []), ("grainy", ["--grainy"])):
        code, _, stderr = _run(
            source, "-o", tmp_path / name, "--model", model_file, "--render-size", 96, *extra
        )
        assert code == 0, stderr
        outputs[name] = read_image(tmp_path / name / "scan.png").rgb
    assert not np.array_equal(outputs["plain"], outputs["grainy"])  # a grey scan is colorized: denoised input
