"""Loading models from training checkpoints or shipped weights, and writing pickle-free weights.

- A training checkpoint `*.pt` is a plain dict with `model_name`, `model_kwargs` and `model` (the state dict;
  `ema` holds the EMA weights when training kept them).
- Shipped weights are `NAME.safetensors` (the state dict, buffers such as the cnn's bin prior included) and
  `NAME.json` (`model_name`, `model_kwargs`, and anything else worth knowing: step, validation figures).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from deepcolor.io.atomic import atomic_write_bytes
from deepcolor.models.registry import create_model


def _numpy_globals() -> list[Any]:
    # what a numpy RNG state pickled as arrays needs (checkpoints written before it was stored as a tensor)
    core = getattr(np, "_core", None) or np.core
    return [core.multiarray._reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def torch_load_plain(path: str | Path) -> Any:
    """torch.load with weights_only=True (plain data only: no code is unpickled from the file)."""
    import pickle

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        with torch.serialization.safe_globals(_numpy_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)


def save_weights(model: nn.Module, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write `path` (.safetensors) and the JSON beside it, both atomically. Returns the .safetensors path.

    The model must come from `create_model` (it carries `model_name` and `model_kwargs`).
    """
    from safetensors.torch import save

    path = Path(path).with_suffix(".safetensors")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    kwargs = dict(model.model_kwargs)
    if "temperature" in kwargs:  # the cnn's temperature is settable after construction
        kwargs["temperature"] = float(model.temperature)
    meta = {"model_name": model.model_name, "model_kwargs": kwargs, **(metadata or {})}
    atomic_write_bytes(path, save(state))
    atomic_write_bytes(path.with_suffix(".json"), (json.dumps(meta, indent=2, default=str) + "\n").encode())
    return path


def load_model(path: str | Path, map_location: str | torch.device = "cpu", ema: bool = True) -> nn.Module:
    """Rebuild a model from a training checkpoint (.pt) or shipped weights (.safetensors + .json).

    Args:
        path: `last.pt` / `best.pt` from `deepcolor train`, or `NAME.safetensors` (its `NAME.json` beside it).
        map_location: where the weights go.
        ema: from a checkpoint, prefer the EMA weights when it has them.

    Returns:
        The model in eval mode.

    Raises:
        ValueError: the file is missing or is not a deepcolor checkpoint (one-line message naming it).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such checkpoint")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        meta_path = path.with_suffix(".json")
        if not meta_path.is_file():
            raise ValueError(f"{path}: {meta_path.name} (model name and kwargs) is missing beside it")
        meta = json.loads(meta_path.read_text())
        state = load_file(str(path), device=str(map_location))
    else:
        try:
            meta = torch_load_plain(path)
        except Exception as e:  # a truncated or foreign file
            raise ValueError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
        if not isinstance(meta, dict) or "model_name" not in meta:
            raise ValueError(f"{path}: not a deepcolor checkpoint (no model_name)")
        state = meta["ema"] if ema and meta.get("ema") is not None else meta["model"]
    model = create_model(meta["model_name"], **meta.get("model_kwargs", {}))
    model.load_state_dict(state)
    return model.to(map_location).eval()
