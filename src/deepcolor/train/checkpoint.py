"""Training checkpoints: plain dicts written atomically (temp file in the same folder, fsync, os.replace).

A checkpoint holds everything to rebuild the model without this code's defaults (`model_name`,
`model_kwargs`) and to resume exactly: `model`, `ema`, `optimizers`, `schedulers`, `scaler`, `step`,
`data` (per-rank stream positions), `rng` (per-rank RNG states), `best_metric`, `config`, and for the GAN
`discriminator`. A SIGKILL at any moment leaves either the old file or the new one, never half of one.

Reading is `deepcolor.models.checkpoint.read_checkpoint` (the one loader for every model file); a file that
cannot be read or written raises its `CheckpointError`.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepcolor.models.checkpoint import write_model_file

CHECKPOINT_VERSION = 1


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """Serialise `state` with torch.save and write it atomically to `path`.

    Raises:
        CheckpointError: the file cannot be written (one line naming it).
    """
    buffer = io.BytesIO()
    torch.save({"version": CHECKPOINT_VERSION, **state}, buffer)
    write_model_file(Path(path), buffer.getvalue())


def rng_state() -> dict[str, Any]:
    """The RNG states of python, numpy, torch (CPU) and CUDA (when present)."""
    state = {
        "python": random.getstate(),
        "numpy": _numpy_state_to_plain(np.random.get_state()),  # noqa: NPY002  (the legacy global RNG)
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(_numpy_state_from_plain(state["numpy"]))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _numpy_state_to_plain(state: tuple) -> tuple:
    # ("MT19937", uint32 keys, pos, has_gauss, cached_gaussian) with the keys as a tensor: weights_only-safe
    name, keys, pos, has_gauss, cached = state
    return (str(name), torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached))


def _numpy_state_from_plain(state: tuple) -> tuple:
    name, keys, pos, has_gauss, cached = state
    keys = keys.numpy() if isinstance(keys, torch.Tensor) else np.asarray(keys)
    return (name, keys.astype(np.uint32), pos, has_gauss, cached)
