"""THE checkpoint loader: every file that holds a colorization model's weights is read here, and only here.

Two kinds of file:

- a training checkpoint `*.pt` (also `.pth`, `.ckpt`): the plain dict that `deepcolor train` writes
  (`model_name`, `model_kwargs`, `model` = the state dict, `ema` = the EMA weights or None, and what a resume
  needs: optimizers, step, config, ...). It is read with `torch.load(weights_only=True)` and nothing else: a
  checkpoint is plain data, and a file that needs arbitrary unpickling is refused. Checkpoints written before
  the numpy RNG state was stored as a tensor are still read (numpy's array reconstruction is the one thing
  allowed beyond plain data).
- shipped weights `NAME.safetensors` (the state dict, buffers such as a bin prior included) with `NAME.json`
  beside it (`model_name`, `model_kwargs`, and anything worth knowing: render size, chroma gain, the
  conditions the model takes, validation figures).

Every state dict read loses the `module.` (DistributedDataParallel) and `_orig_mod.` (torch.compile) key
prefixes, so a model saved wrapped loads unwrapped. Every problem, reading or writing, raises
`CheckpointError` (a `deepcolor.DeepcolorError` and a ValueError) whose message is one line:
`"<file>: <problem>"`.

    weights = read_weights("runs/ae/best.pt")        # -> Weights: model_name, model_kwargs, state, meta, ...
    model = weights.build()                          # the nn.Module with the weights in place
    model = load_model("best.safetensors")           # the same in one call, in eval mode
    checkpoint = read_checkpoint("runs/ae/last.pt")  # the whole training dict, to resume
"""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from deepcolor.errors import DeepcolorError
from deepcolor.io.atomic import atomic_write_bytes
from deepcolor.io.errors import ImageError
from deepcolor.models.registry import create_model

# Key prefixes that wrappers add to a state dict: DistributedDataParallel, then torch.compile.
WRAPPER_PREFIXES = ("module.", "_orig_mod.")
# The state dicts of a training checkpoint (the model, its EMA copy, the GAN's discriminator).
_CHECKPOINT_STATES = ("model", "ema", "discriminator")


class CheckpointError(DeepcolorError, ValueError):
    """A model file cannot be used. ``str(error)`` is one line: ``"<file>: <problem>"``.

    Attributes:
        path: the file (or the model name) as the caller gave it.
        problem: what is wrong, one line, without the file name.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{self.path}: {self.problem}")


def strip_prefixes(state: dict[str, Any]) -> dict[str, Any]:
    """The state dict with the `module.` and `_orig_mod.` key prefixes removed (in any order, repeated)."""
    out = {}
    for key, value in state.items():
        stripped = True
        while stripped:
            stripped = False
            for prefix in WRAPPER_PREFIXES:
                if key.startswith(prefix):
                    key, stripped = key[len(prefix) :], True
        out[key] = value
    return out


# ------------------------------------------------------------------------------------------ reading files


def _numpy_globals() -> list[Any]:
    # what a numpy RNG state pickled as arrays needs (checkpoints written before it was stored as a tensor)
    core = getattr(np, "_core", None) or np.core
    return [core.multiarray._reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def torch_load_plain(path: str | os.PathLike[str]) -> Any:
    """`torch.load(weights_only=True)` onto the CPU: plain data only, no code is unpickled from the file.

    Raises:
        CheckpointError: the file cannot be read, is not a PyTorch file, or holds objects beyond plain data.
    """
    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            with torch.serialization.safe_globals(_numpy_globals()):
                return torch.load(path, map_location="cpu", weights_only=True)
    except OSError as error:
        raise CheckpointError(path, f"cannot read ({error.strerror or error})") from None
    except Exception as error:  # a foreign file makes the unpickler raise almost anything
        text = " ".join(str(error).split())
        if not _looks_like_torch_file(path):
            raise CheckpointError(
                path,
                "not a readable PyTorch checkpoint (neither the zip archive nor the pickle that "
                "torch.save writes)",
            ) from None
        if isinstance(error, pickle.UnpicklingError) and "unsupported global" in text.lower():
            # weights_only refuses arbitrary objects; a checkpoint must stay a plain dict of tensors and
            # built-in values (the training code saves it so), and we never unpickle code from a file.
            raise CheckpointError(
                path,
                "not a plain checkpoint dict (holds objects that weights_only loading refuses; "
                "save plain dicts, lists, numbers, strings and tensors)",
            ) from None
        if "PytorchStreamReader" in text:
            raise CheckpointError(
                path, "not a readable PyTorch checkpoint (a damaged or cut zip archive)"
            ) from None
        raise CheckpointError(
            path, f"not a readable PyTorch checkpoint ({text[:120] or type(error).__name__})"
        ) from None


def _looks_like_torch_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file starts as torch.save writes: a zip archive, or (the legacy format) a pickle."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return True  # let the error already raised speak
    return head.startswith((b"PK\x03\x04", b"\x80"))


def _check_file(path: Path) -> None:
    if not path.exists():
        raise CheckpointError(path, "no such file")
    if path.is_dir():
        raise CheckpointError(path, "is a folder, not a checkpoint or weights file")


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a training checkpoint (`last.pt`, `best.pt`) onto the CPU, wrapper prefixes stripped.

    Returns:
        The checkpoint dict as `deepcolor train` wrote it (`model_name`, `model_kwargs`, `model`, `ema`, ...).

    Raises:
        CheckpointError: missing, unreadable, not plain data, or not a deepcolor checkpoint (one line).
    """
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() == ".safetensors":
        raise CheckpointError(path, "shipped weights, not a training checkpoint (a run's last.pt or best.pt)")
    checkpoint = torch_load_plain(path)
    if not isinstance(checkpoint, dict) or "model" not in checkpoint or "model_name" not in checkpoint:
        raise CheckpointError(path, "not a deepcolor checkpoint (expected a dict with 'model_name', 'model')")
    if not isinstance(checkpoint["model"], dict):
        raise CheckpointError(path, "not a deepcolor checkpoint ('model' is not a state dict)")
    for key in _CHECKPOINT_STATES:
        if isinstance(checkpoint.get(key), dict):
            checkpoint[key] = strip_prefixes(checkpoint[key])
    checkpoint.setdefault("model_kwargs", {})
    return checkpoint


def _read_json(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CheckpointError(path, f"not readable JSON ({error})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(path, "expected a JSON object")
    return meta


@dataclass
class Weights:
    """What a model file holds, read but not yet built into a module.

    Attributes:
        path: the file read.
        model_name, model_kwargs: what rebuilds the model (`create_model(model_name, **model_kwargs)`).
        state: the state dict to load (the EMA weights of a checkpoint that has them, unless ema=False).
        meta: the file's metadata: the .json beside shipped weights, or a checkpoint's model_name,
            model_kwargs and step. `build` adds `extra_tensors` (tensors the model has no place for).
        checkpoint: the whole training checkpoint when the file is one (for a resume or an export).
    """

    path: Path
    model_name: str
    model_kwargs: dict[str, Any]
    state: dict[str, torch.Tensor]
    meta: dict[str, Any] = field(default_factory=dict)
    checkpoint: dict[str, Any] | None = None

    def build(self) -> nn.Module:
        """The model with these weights in place (on the CPU, in training mode, as `create_model` makes it).

        Raises:
            CheckpointError: the family is unknown, its kwargs do not fit, or the weights do not fit it.
        """
        source = self.path.with_suffix(".json") if self.checkpoint is None else self.path
        try:
            model = create_model(self.model_name, **self.model_kwargs)
        except (ValueError, TypeError) as error:
            raise CheckpointError(source, f"cannot build model {self.model_name!r}: {error}") from None
        self.meta["extra_tensors"] = load_state(model, self.state, self.path)
        return model


def read_weights(path: str | os.PathLike[str], ema: bool = True) -> Weights:
    """Read a training checkpoint (.pt) or shipped weights (.safetensors with its .json), once.

    Args:
        path: the file.
        ema: from a checkpoint, take the EMA weights when it has them (what validation scored).

    Raises:
        CheckpointError: missing or unreadable file or metadata (one line naming the file).
    """
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        raise CheckpointError(path, "an ONNX file has no PyTorch module (use it for inference only)")
    if suffix == ".safetensors":
        return _read_safetensors(path)
    checkpoint = read_checkpoint(path)
    state = checkpoint["ema"] if ema and isinstance(checkpoint.get("ema"), dict) else checkpoint["model"]
    meta = {
        "model_name": checkpoint["model_name"],
        "model_kwargs": checkpoint["model_kwargs"],
        "step": checkpoint.get("step"),
    }
    return _weights(path, meta, state, checkpoint, source=path)


def _read_safetensors(path: Path) -> Weights:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    meta_path = path.with_suffix(".json")
    if not meta_path.is_file():
        raise CheckpointError(
            path, f"its metadata {meta_path.name} is missing beside it (model name and kwargs)"
        )
    meta = _read_json(meta_path)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(path, f"not a readable safetensors file ({error})") from None
    return _weights(path, meta, strip_prefixes(state), None, source=meta_path)


def _weights(
    path: Path, meta: dict[str, Any], state: dict[str, Any], checkpoint: dict[str, Any] | None, source: Path
) -> Weights:
    name, kwargs = meta.get("model_name"), meta.get("model_kwargs", {})
    if not isinstance(name, str) or not isinstance(kwargs, dict):
        raise CheckpointError(source, "metadata needs 'model_name' (a string) and 'model_kwargs' (an object)")
    return Weights(path, name, dict(kwargs), state, dict(meta), checkpoint)


def load_state(model: nn.Module, state: dict[str, torch.Tensor], source: str | os.PathLike[str]) -> dict:
    """Load `state` (prefixes stripped) into `model`; every tensor the model has must be there.

    Returns:
        The tensors of `state` that the model has no place for (reported, not silently dropped).

    Raises:
        CheckpointError: tensors missing or of the wrong shape (one line with the first names).
    """
    state = strip_prefixes(state)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    if missing:
        shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
        raise CheckpointError(source, f"weights do not fit model (missing {len(missing)} tensors: {shown})")
    try:
        model.load_state_dict({k: state[k] for k in own}, strict=True)
    except RuntimeError as error:
        lines = str(error).strip().splitlines()
        detail = lines[-1].strip() if lines else "shape mismatch"
        raise CheckpointError(source, f"weights do not fit model ({detail})") from None
    return {k: v for k, v in state.items() if k not in own}


def load_model(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu", ema: bool = True
) -> nn.Module:
    """Rebuild a model from a training checkpoint (.pt) or shipped weights (.safetensors + .json).

    Args:
        path: `last.pt` / `best.pt` from `deepcolor train`, or `NAME.safetensors` (its `NAME.json` beside it).
        map_location: where the weights go.
        ema: from a checkpoint, prefer the EMA weights when it has them.

    Returns:
        The model in eval mode.

    Raises:
        CheckpointError (a ValueError): the file is missing or is not a deepcolor model (one line naming it).
    """
    return read_weights(path, ema=ema).build().to(map_location).eval()


# ------------------------------------------------------------------------------------------ writing files


def save_weights(
    model: nn.Module, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None
) -> Path:
    """Write `path` (.safetensors) and the JSON beside it, both atomically. Returns the .safetensors path.

    The model must come from `create_model` (it carries `model_name` and `model_kwargs`). The JSON records the
    conditions the model takes (`conditions`: name, kind, channels), if any.
    """
    from safetensors.torch import save

    from deepcolor.models.conditions import model_conditions

    path = Path(path).with_suffix(".safetensors")
    state = {k: v.detach().cpu().contiguous() for k, v in strip_prefixes(model.state_dict()).items()}
    kwargs = dict(model.model_kwargs)
    if "temperature" in kwargs:  # the cnn's temperature is settable after construction
        kwargs["temperature"] = float(model.temperature)
    meta: dict[str, Any] = {"model_name": model.model_name, "model_kwargs": kwargs}
    conditions = model_conditions(model)
    if conditions:
        meta["conditions"] = [{"name": c.name, "kind": c.kind, "channels": c.channels} for c in conditions]
    meta.update(metadata or {})
    write_model_file(path, save(state))
    write_model_file(path.with_suffix(".json"), (json.dumps(meta, indent=2, default=str) + "\n").encode())
    return path


def write_model_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Write a model file (weights, their JSON, a training checkpoint) atomically.

    Raises:
        CheckpointError: the file cannot be written (one line naming it and the system's reason).
    """
    try:
        atomic_write_bytes(path, data)
    except ImageError as error:  # atomic_write's one-line error, about this file
        raise CheckpointError(error.path, error.problem) from error
