"""`deepcolor colorize` on clips: video files beside photos in one batch, frame folders with --sequence, the
flags (--skip-existing, --overwrite, --no-temporal, --codec), bad clips on one line, and a signal mid-clip
leaving nothing behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from deepcolor.cli.colorize import command
from video_clips import decode, grey, packets, pan_frames, write_clip


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    """A tiny random-weight model (fast; the pipeline's mechanics are under test, not its colours)."""
    from deepcolor.models import create_model, save_weights

    torch.manual_seed(0)
    model = create_model("autoencoder", base_width=4, depth=1)
    head = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    with torch.no_grad():
        head.weight.mul_(0.1)
        head.bias.mul_(0.1)
    return save_weights(model, tmp_path_factory.mktemp("model") / "tiny.safetensors", {"render_size": 32})


def _run(*args) -> tuple[int, str]:
    result = CliRunner().invoke(command, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


def test_clip_and_photo_in_one_batch(tmp_path, model_file):
    pts = [0, 40, 80, 160, 200, 320]  # variable frame rate
    clip = write_clip(
        tmp_path / "reel.mp4", [grey(f) for f in pan_frames(6)], pts_ms=pts, rotation=270, audio=True
    )
    photo = tmp_path / "photo.png"
    Image.fromarray(grey(pan_frames(1)[0])).save(photo)
    out = tmp_path / "out"
    code, stderr = _run(clip, photo, "-o", out, "--model", model_file)
    assert code == 0, stderr
    assert "colorized 2 images" in stderr and "1 clip, 6 frames" in stderr
    frames, out_pts, facts = decode(out / "reel.mp4")
    _, in_pts, in_facts = decode(clip)
    assert len(frames) == 6 and frames[0].shape == (48, 64, 3)
    assert [p * facts["time_base"] for p in out_pts] == [p * in_facts["time_base"] for p in in_pts]
    assert facts["rotation"] == in_facts["rotation"] and facts["codec"] == "h264"
    assert packets(out / "reel.mp4") == packets(clip)  # the sound, bit for bit
    assert (out / "photo.png").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["photo.png", "reel.mp4"]

    # again: refused without a flag, skipped with --skip-existing, replaced with --overwrite
    code, stderr = _run(clip, "-o", out, "--model", model_file)
    assert code == 1 and "reel.mp4: exists" in stderr
    code, stderr = _run(clip, "-o", out, "--model", model_file, "--skip-existing")
    assert code == 0 and "skipped" in stderr
    before = (out / "reel.mp4").stat().st_mtime_ns
    code, stderr = _run(clip, "-o", out, "--model", model_file, "--overwrite", "--no-temporal", "--crf", "30")
    assert code == 0, stderr
    assert (out / "reel.mp4").stat().st_mtime_ns != before


def test_codec_choice_and_unknown_codec(tmp_path, model_file):
    clip = write_clip(tmp_path / "a.mkv", [grey(f) for f in pan_frames(3)])
    code, stderr = _run(clip, "-o", tmp_path / "o1", "--model", model_file, "--codec", "ffv1")
    assert code == 0, stderr
    assert decode(tmp_path / "o1" / "a.mkv")[2]["codec"] == "ffv1"
    code, stderr = _run(clip, "-o", tmp_path / "o2", "--model", model_file, "--codec", "nosuch")
    assert (
        code == 1
        and stderr.splitlines()[0] == f"deepcolor: {tmp_path / 'o2' / 'a.mkv'}: unknown video codec 'nosuch'"
    )
    assert not (tmp_path / "o2").exists() or list((tmp_path / "o2").iterdir()) == []


def test_bad_clips_one_line_each_and_the_batch_goes_on(tmp_path, model_file):
    good = write_clip(tmp_path / "good.mp4", [grey(f) for f in pan_frames(3)])
    text = tmp_path / "text.mov"
    text.write_text("hello")
    whole = write_clip(
        tmp_path / "whole.mp4",
        [grey(f) for f in pan_frames(30)],
        container_options={"movflags": "+faststart"},
    )
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    out = tmp_path / "out"
    code, stderr = _run(text, cut, good, "-o", out, "--model", model_file, "--max-pixels", 100_000)
    assert code == 1
    lines = stderr.splitlines()
    assert any(line.startswith(f"deepcolor: {text}: not a video") for line in lines)
    assert any(line.startswith(f"deepcolor: {cut}: truncated") for line in lines), stderr
    assert len(lines) == 4  # one line per bad clip, the summary and the clips' line
    assert "colorized 1 of 3 images; 2 failed" in stderr
    assert sorted(p.name for p in out.iterdir()) == ["good.mp4"]  # nothing of the bad ones
    code, stderr = _run(good, "-o", tmp_path / "o2", "--model", model_file, "--max-pixels", 1000)
    assert code == 1 and "over the limit" in stderr


def test_sequence_of_16_bit_tiffs(tmp_path, model_file):
    import tifffile

    folder = tmp_path / "scan"
    folder.mkdir()
    for i, frame in enumerate(pan_frames(4)):
        luma = (frame @ np.array([0.299, 0.587, 0.114], np.float32) * 65535).astype(np.uint16)
        tifffile.imwrite(folder / f"f{i + 1}.tif", luma)
    out = tmp_path / "out"
    code, stderr = _run(folder, "-o", out, "--model", model_file, "--sequence")
    assert code == 0, stderr
    names = sorted(p.name for p in (out / "scan").iterdir())
    assert names == ["f1.tif", "f2.tif", "f3.tif", "f4.tif"]
    image = tifffile.imread(out / "scan" / "f2.tif")
    assert image.dtype == np.uint16 and image.shape == (48, 64, 3)
    assert sorted(p.name for p in out.iterdir()) == ["scan"]
    code, stderr = _run(folder, "-o", out, "--model", model_file, "--sequence", "--skip-existing")
    assert code == 0 and "skipped" in stderr
    code, stderr = _run(tmp_path / "nope", "-o", out, "--model", model_file, "--sequence")
    assert code == 1 and "no such folder" in stderr


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_clip_leaves_nothing(tmp_path, model_file, sig, code):
    frames = [grey(f) for f in pan_frames(8, size=(96, 128))] * 200  # 1,600 frames
    clip = write_clip(tmp_path / "long.mp4", frames, audio=True)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
         " from deepcolor.cli.main import main; sys.argv[0] = 'deepcolor'; main()",
         "colorize", str(clip), "-o", str(out), "--model", str(model_file), "--batch-size", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (out.is_dir() and any(out.glob(".long.*.tmp.mp4"))):  # the clip under way
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.01)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code, stderr
    assert list(out.iterdir()) == []  # no clip, no temporary file


def test_a_folder_gives_its_clips_and_photos(tmp_path, model_file):
    from deepcolor.cli.video import VIDEO_EXTENSIONS
    from deepcolor.io.video import VIDEO_EXTENSIONS as LIBRARY_LIST

    assert VIDEO_EXTENSIONS == LIBRARY_LIST  # the CLI's copy (no PyAV import for --help) is the library's
    folder = tmp_path / "box"
    folder.mkdir()
    write_clip(folder / "reel.MKV", [grey(f) for f in pan_frames(3)])
    Image.fromarray(grey(pan_frames(1)[0])).save(folder / "print.png")
    (folder / "notes.txt").write_text("not taken")
    out = tmp_path / "out"
    code, stderr = _run(folder, "-o", out, "--model", model_file)
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["print.png", "reel.MKV"]
    assert len(decode(out / "reel.MKV")[0]) == 3
    # run again into the input folder itself: the outputs of the run are not taken as inputs
    code, stderr = _run(folder, "-o", out, "--model", model_file, "--skip-existing")
    assert code == 0 and "2 skipped" in stderr


def test_manifest_lists_the_clip(tmp_path, model_file):
    import json

    clip = write_clip(tmp_path / "c.mp4", [grey(f) for f in pan_frames(3)])
    manifest = tmp_path / "run.jsonl"
    code, stderr = _run(clip, "-o", tmp_path / "out", "--model", model_file, "--manifest", manifest)
    assert code == 0, stderr
    (row,) = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert row["status"] == "ok" and Path(row["output"]) == tmp_path / "out" / "c.mp4"
