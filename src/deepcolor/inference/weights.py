"""Loading a colorization model for inference: shipped weights, safetensors files, checkpoints, ONNX files.

`load_predictor(spec)` accepts:

- `"default"` or another alias from `deepcolor/weights/index.json` (`{"default": "<name>", ...}`);
- the name of a shipped model: `deepcolor/weights/<name>.safetensors` + `<name>.json`;
- a path to a `.safetensors` file with its `.json` beside it (`model_name`, `model_kwargs`, optional
  `render_size`, `conditions`, validation figures, ...);
- a path to a training checkpoint `.pt` (its EMA weights preferred when it has them);
- a path to an `.onnx` file (run with onnxruntime);
- an `nn.Module` that has `predict_ab` (e.g. a model being trained: borrowed, never moved or switched).

Files are read by THE checkpoint loader (`deepcolor.models.checkpoint`), ONNX files and exports by
`deepcolor.inference.onnx`; this module turns names into files and files into a `Predictor`
(`deepcolor.inference.predictor`): `predictor(l_norm (B, 1, h, w), **conditions) -> ab_norm (B, 2, h, w)`,
normalised as in `deepcolor.normalization`. Loaded files are cached per process (keyed by path, modification
time, device and backend). Every user mistake (missing file, unknown alias, broken metadata) raises
the loader's `CheckpointError` (a `deepcolor.DeepcolorError` and a ValueError), whose message is one line
naming the file and the problem.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import torch
from torch import nn

from deepcolor.inference.onnx import (  # noqa: F401  (re-exported: the names other modules use)
    ONNX_INPUT,
    ONNX_OUTPUT,
    OnnxPredictor,
    file_sha256,
    matching_onnx,
    onnx_meta,
    onnx_predictor_from_module,
    onnx_session,
)
from deepcolor.inference.predictor import (  # noqa: F401  (re-exported)
    SINGLE_THREAD_PARAMETERS,
    SIZE_MULTIPLE,
    Predictor,
    TorchPredictor,
    module_device,
    pad_to_multiple,
)
from deepcolor.models.checkpoint import CheckpointError, read_weights

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
INDEX_FILE = "index.json"

BACKENDS = ("auto", "torch", "onnxruntime")


# ----------------------------------------------------------------------------------------------------------
# Shipped weights


def read_index(weights_dir: Path = WEIGHTS_DIR) -> dict[str, str]:
    """Aliases of the shipped weights (`{"default": "<name>", ...}`); {} when there is no index."""
    path = weights_dir / INDEX_FILE
    if not path.is_file():
        return {}
    try:
        index = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CheckpointError(path, f"not a readable JSON index ({error})") from None
    if not isinstance(index, dict) or not all(isinstance(v, str) for v in index.values()):
        raise CheckpointError(path, "expected a JSON object mapping aliases to weight names")
    return index


def shipped_models(weights_dir: Path = WEIGHTS_DIR) -> list[str]:
    """Names of the weights shipped in the package (each has a .safetensors and a .json)."""
    if not weights_dir.is_dir():
        return []
    return sorted(p.stem for p in weights_dir.glob("*.safetensors") if p.with_suffix(".json").is_file())


def resolve_weights(spec: str | os.PathLike[str], weights_dir: Path = WEIGHTS_DIR) -> Path:
    """Turn an alias, a shipped name or a path into an existing file path.

    Raises:
        CheckpointError: nothing by that name or path (the message lists what is shipped).
    """
    text = os.fspath(spec)
    path = Path(text).expanduser()
    looks_like_path = (
        path.suffix.lower() in {".safetensors", ".pt", ".pth", ".ckpt", ".onnx"} or os.sep in text
    )
    if looks_like_path:
        if not path.is_file():
            raise CheckpointError(text, "no such model file")
        return path
    name = read_index(weights_dir).get(text, text)
    candidate = weights_dir / f"{name}.safetensors"
    if candidate.is_file():
        return candidate
    if path.is_file():  # a file in the current folder without a telling suffix
        return path
    known = ", ".join([*sorted(read_index(weights_dir)), *shipped_models(weights_dir)]) or "none"
    raise CheckpointError(
        text, f"unknown model; shipped: {known}; or pass a .safetensors, .pt or .onnx file"
    )


def load_module(
    spec: str | os.PathLike[str], weights_dir: Path = WEIGHTS_DIR
) -> tuple[nn.Module, dict[str, Any]]:
    """Build the `nn.Module` for an alias, shipped name, .safetensors or .pt path (eval mode, on the CPU).

    Returns:
        (model, meta): meta holds the JSON metadata (or the checkpoint's model_name / model_kwargs / step).

    Raises:
        CheckpointError: missing or unreadable file, or weights that do not fit the model.
    """
    weights = read_weights(resolve_weights(spec, weights_dir))
    model = weights.build()
    return model.eval(), weights.meta


_CACHE: dict[tuple, Predictor] = {}
_CACHE_LOCK = threading.Lock()


def load_predictor(
    spec: str | os.PathLike[str] | nn.Module = "default",
    device: torch.device | str = "cpu",
    backend: str = "torch",
    weights_dir: Path = WEIGHTS_DIR,
) -> Predictor:
    """Load (or fetch from the per-process cache) a model for inference.

    Args:
        spec: "default", an alias or shipped name, a .safetensors / .pt / .onnx path, or an nn.Module.
        device: where a PyTorch model loaded from a file runs (ONNX models run on the CPU with onnxruntime).
            A module handed in runs where it is: it is borrowed, not moved.
        backend: "auto", "torch" or "onnxruntime". "auto" runs a weights file with onnxruntime when an
            ONNX export of exactly that file lies beside it (`<name>.onnx`, from `deepcolor export`, which
            records the weights' SHA-256) and onnxruntime is installed and the device is the CPU; else with
            PyTorch. "onnxruntime" runs that export too when there is one (whatever `device` says), and else
            exports the PyTorch model in memory (seconds, once per process and model). An .onnx file always
            uses onnxruntime.
        weights_dir: where shipped weights live (tests point it elsewhere).

    Returns:
        A Predictor: `predictor(l_norm (B, 1, h, w), **conditions) -> ab_norm (B, 2, h, w)`.

    Raises:
        CheckpointError: the model cannot be found or loaded (one line).
    """
    device = torch.device(device)
    if backend not in BACKENDS:
        raise CheckpointError(backend, f"unknown backend (use {', '.join(BACKENDS)})")
    if isinstance(spec, nn.Module):
        return _borrowed_module(spec, backend)

    path = resolve_weights(spec, weights_dir)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, str(device), backend)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    name = path.stem
    companion = None
    if backend != "torch" and path.suffix.lower() != ".onnx":
        companion = matching_onnx(path, device if backend == "auto" else None)
    if path.suffix.lower() == ".onnx" or companion is not None:
        onnx_path = companion or path
        session = onnx_session(onnx_path)
        predictor: Predictor = OnnxPredictor(session=session, name=name, meta=onnx_meta(session, onnx_path))
    else:
        module, meta = load_module(path, weights_dir)
        if backend == "onnxruntime":
            predictor = onnx_predictor_from_module(module, name, meta)
        else:
            module = module.to(device)
            predictor = TorchPredictor(module=module, name=name, meta=meta, device=device, owned=True)
    with _CACHE_LOCK:
        _CACHE[key] = predictor
    return predictor


def _borrowed_module(module: nn.Module, backend: str) -> Predictor:
    """A predictor over the caller's module, which keeps its device and mode (see TorchPredictor)."""
    if not hasattr(module, "predict_ab"):
        raise CheckpointError(type(module).__name__, "a model needs a predict_ab(l_norm) method")
    name = getattr(module, "model_name", type(module).__name__)
    meta = {"model_name": name, "model_kwargs": getattr(module, "model_kwargs", {})}
    if backend == "onnxruntime":  # "auto" keeps a live module in PyTorch: it may be training
        return onnx_predictor_from_module(module, name, meta)
    return TorchPredictor(module=module, name=name, meta=meta, device=module_device(module))


def clear_cache() -> None:
    """Forget the models loaded so far in this process."""
    with _CACHE_LOCK:
        _CACHE.clear()
