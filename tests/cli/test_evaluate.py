"""`deepcolor evaluate`: table, files, one-line errors and exit codes (0 / 1 / 2)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from deepcolor.cli.evaluate import command


def _write_photo(path: Path, seed: int, size: tuple[int, int] = (24, 18)) -> None:
    rng = np.random.default_rng(seed)
    array = (rng.uniform(0, 1, (size[1], size[0], 3)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for i in range(3):
        _write_photo(root / f"p{i}.png", i)
    return root


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_gray_baseline_table_and_files(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = _run(
        "--model", "gray", "--data", str(data), "-o", str(out), "--sheet", "2", "--no-progress"
    )
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert lines[0] == f"{data}: 3 images scored"
    assert lines[1].split()[:4] == ["model", "images", "PSNR", "dB"]
    row = lines[3].split()
    assert row[0] == "gray" and row[1] == "3" and float(row[2]) < 40  # noise photos: grey is far off
    assert sorted(p.name for p in out.iterdir()) == ["per_image.csv", "sheet.png", "summary.csv"]
    assert f"wrote {out / 'sheet.png'}" in stdout


def test_limit_and_no_sheet(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = _run("-m", "gray", "-d", str(data), "-o", str(out), "--limit", "2", "--sheet", "0")
    assert code == 0
    assert "2 images scored" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["per_image.csv", "summary.csv"]


def test_bad_image_one_line_exit_1(tmp_path: Path, data: Path) -> None:
    (data / "zz_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    code, stdout, stderr = _run("-m", "gray", "-d", str(data), "-o", str(tmp_path / "out"))
    assert code == 1
    errors = [line for line in stderr.splitlines() if line.startswith("deepcolor: ")]
    assert len(errors) == 1 and "zz_broken.jpg" in errors[0]
    assert "3 images scored, 1 unreadable (skipped)" in stdout


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda tmp: tmp / "nowhere", "no such file or folder"),
        (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "no images found"),
    ],
)
def test_data_errors_exit_2(tmp_path: Path, data: Path, make, message: str) -> None:
    code, stdout, stderr = _run("-m", "gray", "-d", str(make(tmp_path)), "-o", str(tmp_path / "out"))
    assert code == 2
    assert stderr.count("\n") == 1 and stderr.startswith("deepcolor: ") and message in stderr
    assert stdout == ""


def test_usage_errors_exit_2(data: Path) -> None:
    assert _run("-m", "gray")[0] == 2  # --data is required
    assert _run("-m", "gray", "-d", str(data), "--limit", "0")[0] == 2


def test_help_lists_kebab_case_flags() -> None:
    code, stdout, _ = _run("--help")
    assert code == 0
    for flag in ("--model", "--data", "--limit", "--render-size", "--output", "--sheet"):
        assert flag in stdout


def test_subprocess_bad_data_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "deepcolor",
            "evaluate",
            "-m",
            "gray",
            "-d",
            str(tmp_path / "missing"),
            "-o",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"deepcolor: {tmp_path / 'missing'}: no such file or folder"
    assert not (tmp_path / "out").exists()


def test_unknown_model_one_line_exit_2(tmp_path: Path, data: Path) -> None:
    code, stdout, stderr = _run("-m", "no-such-model", "-d", str(data), "-o", str(tmp_path / "out"))
    assert code == 2
    assert stderr.count("\n") == 1 and stderr.startswith("deepcolor: no-such-model: ")
    assert stdout == "" and not (tmp_path / "out").exists()


def test_checkpoint_beside_gray(tmp_path: Path, data: Path) -> None:
    import torch

    from deepcolor.models import create_model

    kwargs = {"base_width": 4, "depth": 2}
    checkpoint = tmp_path / "ckpt.pt"
    model = create_model("autoencoder", **kwargs)
    torch.save({"model_name": "autoencoder", "model_kwargs": kwargs, "model": model.state_dict()}, checkpoint)
    code, stdout, stderr = _run(
        "-m",
        str(checkpoint),
        "-d",
        str(data),
        "-o",
        str(tmp_path / "out"),
        "--render-size",
        "16",
        "--device",
        "cpu",
        "--no-progress",
    )
    assert code == 0, stderr
    rows = [line.split()[0] for line in stdout.splitlines()[3:5]]
    assert rows == ["gray", "/".join(checkpoint.parts[-2:])]


def test_unwritable_output_one_line(tmp_path: Path, data: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the output folder's parent should be")
    code, stdout, stderr = _run("-m", "gray", "-d", str(data), "-o", str(blocker / "out"), "--no-progress")
    assert code == 2
    assert stderr.count("\n") == 1 and stderr.startswith("deepcolor: ") and "cannot write" in stderr


def test_no_progress_bar_off_a_terminal(tmp_path: Path, data: Path) -> None:
    code, _, stderr = _run("-m", "gray", "-d", str(data), "-o", str(tmp_path / "out"), "--sheet", "0")
    assert code == 0
    assert stderr == ""  # CliRunner's stderr is not a terminal: no bar drawn, no '\r' lines


def test_empty_data_or_output_and_unknown_device_are_usage_errors(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["-d", ""], ["-d", str(data), "-o", ""], ["-d", str(data), "--device", "tpu"]):
        code, _, stderr = _run("-m", "gray", *args)
        assert code == 2 and "Traceback" not in stderr, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]  # nothing written
