"""The GPU recipe end to end at tiny size on the CPU: training images packed small
(`deepcolor.train.pack`), then `configs/autoencoder-lite0-gpu.yaml` run to its time limit (`--max-minutes`),
writing its checkpoint and log into the folder given."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepcolor.data.sources import DataError
from deepcolor.train.pack import pack

REPO = Path(__file__).resolve().parents[2]


def _photos(folder: Path, count: int, size: tuple[int, int]) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]] / max(size)
    for i in range(count):
        tint = rng.uniform(0.2, 1.0, 3)
        rgb = np.stack([yy * tint[0], xx * tint[1], (1 - yy) * tint[2]], axis=-1)
        Image.fromarray((rgb * 255).astype(np.uint8)).save(folder / f"photo{i}.png")
    return folder


def test_pack_writes_small_jpeg_shards(tmp_path: Path) -> None:
    source = _photos(tmp_path / "src", 5, (120, 80))
    assert pack([str(source)], tmp_path / "out", side=40) == 5
    with tarfile.open(tmp_path / "out" / "packed-000.tar") as tar:
        names = tar.getnames()
        image = Image.open(tar.extractfile(names[0]))
        assert len(names) == 5 and image.format == "JPEG" and min(image.size) == 40
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temp file left
    with pytest.raises(DataError, match="already holds"):
        pack([str(source)], tmp_path / "out")


@pytest.mark.slow
def test_gpu_recipe_runs_to_its_time_limit(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pack([str(_photos(tmp_path / "train", 12, (64, 48)))], data / "train" / "packed", side=40)
    pack([str(_photos(tmp_path / "val", 3, (64, 48)))], data / "val" / "packed", side=40)
    out = tmp_path / "out"
    config = REPO / "configs" / "autoencoder-lite0-gpu.yaml"
    command = [
        sys.executable, "-m", "deepcolor", "train", "--config", str(config), "--out-dir", str(out),
        "--run-name", "gpu", "--max-minutes", "0.05", "--image-size", "32", "--batch-size", "2",
        "--num-workers", "0", "--threads", "1", "--val-images", "2", "--prior-images", "4",
        "--log-every", "1", "--device", "cpu", "--warmup-steps", "1",
    ]  # fmt: skip
    env = {**os.environ, "DEEPCOLOR_DATA": str(data)}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    run = out / "gpu"
    assert (run / "last.pt").is_file() and (run / "best.safetensors").is_file()
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    steps = [int(r["step"]) for r in rows]
    assert 0 < max(steps) < 100000  # stopped by the clock, not by max_steps
    assert any(r["val_psnr"] for r in rows if int(r["step"]) == max(steps))  # validated where it stopped
