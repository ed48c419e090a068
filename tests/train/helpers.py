"""A tiny training setup: synthetic shards, 16 px crops, a 4-channel U-Net, CPU, one thread, no workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from data.helpers import write_shard
from deepcolor.train.config import TrainConfig, make_config


def tiny_values(tmp_path: Path, model: str = "autoencoder", **overrides: Any) -> dict[str, Any]:
    train = tmp_path / "train.tar"
    val = tmp_path / "val.tar"
    if not train.exists():
        write_shard(train, 48, size=20)
        write_shard(val, 8, size=20, start=1000)
    values: dict[str, Any] = {
        "model": model,
        "model_kwargs": {"base_width": 4, "depth": 2},
        "train_data": [str(train)],
        "val_data": [str(val)],
        "val_images": 6,
        "image_size": 16,
        "batch_size": 4,
        "num_workers": 0,
        "threads": 1,
        "max_steps": 2,
        "warmup_steps": 1,
        "lr": 3e-3,
        "prior_images": 16,
        "log_every": 1,
        "val_every": 2,
        "ckpt_every": 2,
        "sample_every": 2,
        "num_samples": 2,
        "out_dir": str(tmp_path / "runs"),
        "run_name": f"tiny-{model}",
        "progress": False,
        "device": "cpu",
    }
    values.update(overrides)
    return values


def tiny_config(tmp_path: Path, model: str = "autoencoder", **overrides: Any) -> TrainConfig:
    return make_config(tiny_values(tmp_path, model, **overrides))


def write_preset(tmp_path: Path, model: str = "autoencoder", **overrides: Any) -> Path:
    path = tmp_path / f"{model}.yaml"
    path.write_text(yaml.safe_dump(tiny_values(tmp_path, model, **overrides)))
    return path


def loss_rows(run_dir: Path) -> list[tuple[int, str]]:
    """(step, loss) of the training rows of metrics.csv, as written (exact text)."""
    import csv

    with (run_dir / "metrics.csv").open() as f:
        return [(int(r["step"]), r["loss"]) for r in csv.DictReader(f) if r["loss"]]
