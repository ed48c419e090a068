"""Training: config dataclass, the loop (single process == DDP at world size 1), checkpoints, logging.

from deepcolor.train import load_config, train
train(load_config("configs/autoencoder.yaml", ["--max-steps", "500"]))
"""

from __future__ import annotations

from deepcolor.train.config import ConfigError, TrainConfig, load_config
from deepcolor.train.loop import TrainingError, evaluate, train

__all__ = ["ConfigError", "TrainConfig", "TrainingError", "evaluate", "load_config", "train"]
