"""Loading a colorization model for inference: shipped weights, safetensors files, checkpoints, ONNX files.

`load_predictor(spec)` accepts:

- `"default"` or another alias from `deepcolor/weights/index.json` (`{"default": "<name>", ...}`);
- the name of a shipped model: `deepcolor/weights/<name>.safetensors` + `<name>.json`;
- a path to a `.safetensors` file with its `.json` beside it (`model_name`, `model_kwargs`, optional
  `render_size`, validation figures, ...);
- a path to a training checkpoint `.pt` (a dict with `model_name`, `model_kwargs`, `model`, optionally `ema`,
  whose weights are then preferred), loaded with `torch.load(weights_only=True)`: a checkpoint is plain data,
  and a file that needs arbitrary unpickling is refused;
- a path to an `.onnx` file (run with onnxruntime);
- an `nn.Module` that has `predict_ab` (e.g. a model being trained).

It returns a `Predictor`: `predictor(l_norm (B, 1, h, w)) -> ab_norm (B, 2, h, w)`, normalised as in
`deepcolor.normalization`. Loaded files are cached per process (keyed by path, modification time, device
and backend). Every user mistake (missing file, unknown alias, broken metadata) raises `WeightsError`,
whose message is one line naming the file and the problem.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
INDEX_FILE = "index.json"

ONNX_INPUT = "l_norm"
ONNX_OUTPUT = "ab_norm"

# Predictors pad L (replicating its last row and column) to a multiple of this before calling the network,
# and crop the result. U-Nets need sizes divisible by 2 ** levels and pad inside the model otherwise; that
# branch depends on the input size, which an ONNX export cannot keep (the exporter fixes it to the traced
# case). Padding outside the model makes every size take the same branch, so PyTorch and onnxruntime
# agree for every size. A model's metadata may ask for another multiple (`size_multiple`).
SIZE_MULTIPLE = 32


def pad_to_multiple(l_norm: torch.Tensor, multiple: int) -> torch.Tensor:
    """(B, 1, h, w) -> (B, 1, h', w') with h', w' the next multiples of `multiple` (replicate padding)."""
    height, width = l_norm.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if not (pad_h or pad_w):
        return l_norm
    return torch.nn.functional.pad(l_norm, (0, pad_w, 0, pad_h), mode="replicate")


class WeightsError(ValueError):
    """A model could not be loaded; the message is one line: `<file or name>: <problem>`."""


class Predictor(Protocol):
    """A loaded model: normalised L at the render size -> normalised ab at the same size."""

    name: str
    meta: dict[str, Any]
    device: torch.device

    def __call__(self, l_norm: torch.Tensor) -> torch.Tensor: ...


# Networks with fewer parameters than this run on one CPU thread. Their operations are too small to gain
# much from being split across cores (the default model: 5.1 ms on one thread, 4.3 ms on two, at 160 x 128),
# and a split operation waits for every core: when another process holds one, each of the model's few dozen
# operations can wait a time slice, and the forward pass took 200-460 ms instead of 4 on this 2-core machine.
SINGLE_THREAD_PARAMETERS = 8_000_000


@dataclass
class TorchPredictor:
    """An `nn.Module` with `predict_ab`, in eval mode on `device`."""

    module: nn.Module
    name: str
    meta: dict[str, Any] = field(default_factory=dict)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def __post_init__(self) -> None:
        parameters = sum(p.numel() for p in self.module.parameters())
        self.single_thread = self.device.type == "cpu" and parameters < SINGLE_THREAD_PARAMETERS

    def __call__(self, l_norm: torch.Tensor) -> torch.Tensor:
        from deepcolor.inference.bands import single_threaded

        height, width = l_norm.shape[-2:]
        multiple = int(self.meta.get("size_multiple") or SIZE_MULTIPLE)
        threads = single_threaded() if self.single_thread else contextlib.nullcontext()
        with torch.inference_mode(), threads:
            ab_norm = self.module.predict_ab(pad_to_multiple(l_norm.to(self.device), multiple))
        return ab_norm[..., :height, :width]


@dataclass
class OnnxPredictor:
    """An onnxruntime session with input `l_norm` (B, 1, h, w) and output `ab_norm` (B, 2, h, w)."""

    session: Any
    name: str
    meta: dict[str, Any] = field(default_factory=dict)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def __call__(self, l_norm: torch.Tensor) -> torch.Tensor:
        height, width = l_norm.shape[-2:]
        multiple = int(self.meta.get("size_multiple") or SIZE_MULTIPLE)
        padded = pad_to_multiple(l_norm.detach().cpu().float(), multiple)
        (ab_norm,) = self.session.run(None, {self.session.get_inputs()[0].name: padded.numpy()})
        return torch.from_numpy(ab_norm)[..., :height, :width]


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
        raise WeightsError(f"{path}: not a readable JSON index ({error})") from None
    if not isinstance(index, dict) or not all(isinstance(v, str) for v in index.values()):
        raise WeightsError(f"{path}: expected a JSON object mapping aliases to weight names")
    return index


def shipped_models(weights_dir: Path = WEIGHTS_DIR) -> list[str]:
    """Names of the weights shipped in the package (each has a .safetensors and a .json)."""
    if not weights_dir.is_dir():
        return []
    return sorted(p.stem for p in weights_dir.glob("*.safetensors") if p.with_suffix(".json").is_file())


def resolve_weights(spec: str | os.PathLike[str], weights_dir: Path = WEIGHTS_DIR) -> Path:
    """Turn an alias, a shipped name or a path into an existing file path.

    Raises:
        WeightsError: nothing by that name or path (the message lists what is shipped).
    """
    text = os.fspath(spec)
    path = Path(text).expanduser()
    looks_like_path = (
        path.suffix.lower() in {".safetensors", ".pt", ".pth", ".ckpt", ".onnx"} or os.sep in text
    )
    if looks_like_path:
        if not path.is_file():
            raise WeightsError(f"{text}: no such model file")
        return path
    name = read_index(weights_dir).get(text, text)
    candidate = weights_dir / f"{name}.safetensors"
    if candidate.is_file():
        return candidate
    if path.is_file():  # a file in the current folder without a telling suffix
        return path
    shipped = shipped_models(weights_dir)
    if not shipped:
        what = (
            "no model weights are shipped"
            if text == "default"
            else "no such model file, and no weights are shipped"
        )
        raise WeightsError(
            f"{text}: {what} in this installation yet (pass --model with a .safetensors, .pt or .onnx file)"
        )
    aliases = sorted(read_index(weights_dir))
    known = ", ".join([*aliases, *shipped])
    raise WeightsError(f"{text}: unknown model; shipped: {known}; or pass a .safetensors, .pt or .onnx file")


# ----------------------------------------------------------------------------------------------------------
# Loading files


def _build(model_name: Any, model_kwargs: Any, source: Path) -> nn.Module:
    from deepcolor.models import create_model

    if not isinstance(model_name, str) or not isinstance(model_kwargs, dict):
        raise WeightsError(f"{source}: metadata needs 'model_name' (a string) and 'model_kwargs' (an object)")
    try:
        return create_model(model_name, **model_kwargs)
    except (ValueError, TypeError) as error:
        raise WeightsError(f"{source}: cannot build model {model_name!r}: {error}") from None


def _strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the `module.` (DistributedDataParallel) and `_orig_mod.` (torch.compile) key prefixes."""
    out = {}
    for key, value in state.items():
        for prefix in ("module.", "_orig_mod."):
            if key.startswith(prefix):
                key = key[len(prefix) :]
        out[key] = value
    return out


def _load_state(model: nn.Module, state: dict[str, torch.Tensor], source: Path) -> dict[str, torch.Tensor]:
    """Load `state` into `model`; return the tensors the model has no place for (e.g. a bin prior)."""
    state = _strip_prefixes(state)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    if missing:
        shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
        raise WeightsError(f"{source}: weights do not fit model (missing {len(missing)} tensors: {shown})")
    try:
        model.load_state_dict({k: state[k] for k in own}, strict=True)
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        detail = first[-1].strip() if first else "shape mismatch"
        raise WeightsError(f"{source}: weights do not fit model ({detail})") from None
    return {k: v for k, v in state.items() if k not in own}


def _load_safetensors(path: Path) -> tuple[nn.Module, dict[str, Any]]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    meta_path = path.with_suffix(".json")
    if not meta_path.is_file():
        raise WeightsError(f"{path}: its metadata {meta_path.name} is missing beside it")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as error:
        raise WeightsError(f"{meta_path}: not readable JSON ({error})") from None
    if not isinstance(meta, dict):
        raise WeightsError(f"{meta_path}: expected a JSON object")
    model = _build(meta.get("model_name"), meta.get("model_kwargs", {}), meta_path)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"{path}: not a readable safetensors file ({error})") from None
    extra = _load_state(model, state, path)
    meta = dict(meta, extra_tensors=extra)
    return model, meta


def _load_checkpoint(path: Path) -> tuple[nn.Module, dict[str, Any]]:
    import pickle

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a foreign file makes the unpickler raise almost anything
        text = " ".join(str(error).split())
        if isinstance(error, pickle.UnpicklingError) and "weights only" in text.lower():
            # weights_only refuses arbitrary objects; a checkpoint must stay a plain dict of tensors and
            # built-in values (the training code saves it so), and we never unpickle code from a file.
            raise WeightsError(
                f"{path}: not a plain checkpoint dict (holds objects that weights_only loading "
                "refuses; save plain dicts, lists, numbers, strings and tensors)"
            ) from None
        reason = text[:120] or type(error).__name__
        raise WeightsError(f"{path}: not a readable PyTorch checkpoint ({reason})") from None
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise WeightsError(f"{path}: not a deepcolor checkpoint (expected a dict with 'model_name', 'model')")
    model = _build(checkpoint.get("model_name"), checkpoint.get("model_kwargs", {}), path)
    # The EMA weights when training kept them (deepcolor.models.checkpoint's format), else the raw ones.
    state = checkpoint["ema"] if isinstance(checkpoint.get("ema"), dict) else checkpoint["model"]
    extra = _load_state(model, state, path)
    meta = {
        "model_name": checkpoint.get("model_name"),
        "model_kwargs": checkpoint.get("model_kwargs", {}),
        "step": checkpoint.get("step"),
        "extra_tensors": extra,
    }
    return model, meta


def load_module(
    spec: str | os.PathLike[str], weights_dir: Path = WEIGHTS_DIR
) -> tuple[nn.Module, dict[str, Any]]:
    """Build the `nn.Module` for an alias, shipped name, .safetensors or .pt path (eval mode, on the CPU).

    Returns:
        (model, meta): meta holds the JSON metadata (or the checkpoint's model_name / model_kwargs / step).

    Raises:
        WeightsError: missing or unreadable file, or weights that do not fit the model.
    """
    path = resolve_weights(spec, weights_dir)
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        raise WeightsError(f"{path}: an ONNX file has no PyTorch module (use it for inference only)")
    model, meta = _load_safetensors(path) if suffix == ".safetensors" else _load_checkpoint(path)
    return model.eval(), meta


def onnx_session(path: Path, threads: int | None = None) -> Any:
    """An onnxruntime CPU session for `path` (full graph optimisation, `threads` intra-op threads)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise WeightsError(
            f"{path}: running an ONNX model needs onnxruntime (pip install onnxruntime)"
        ) from None
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for a broken file
        raise WeightsError(
            f"{path}: not a loadable ONNX model ({str(error).splitlines()[0][:160]})"
        ) from None


def onnx_meta(session: Any, path: Path) -> dict[str, Any]:
    """Metadata written by `deepcolor export` (model_name, model_kwargs, render_size), or the .json beside."""
    props = dict(session.get_modelmeta().custom_metadata_map)
    meta: dict[str, Any] = {}
    if "deepcolor" in props:
        try:
            meta = json.loads(props["deepcolor"])
        except ValueError:
            meta = {}
    beside = path.with_suffix(".json")
    if not meta and beside.is_file():
        try:
            meta = json.loads(beside.read_text())
        except (OSError, ValueError):
            meta = {}
    return meta if isinstance(meta, dict) else {}


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
        device: where a PyTorch model runs (ONNX models run on the CPU with onnxruntime).
        backend: "auto", "torch" or "onnxruntime". "auto" runs a weights file with onnxruntime when an
            ONNX export of exactly that file lies beside it (`<name>.onnx`, from `deepcolor export`, which
            records the weights' SHA-256) and onnxruntime is installed and the device is the CPU; else with
            PyTorch. "onnxruntime" runs a PyTorch model through an ONNX export made in memory when there is
            no such file (done once per process and model). An .onnx file always uses onnxruntime.
        weights_dir: where shipped weights live (tests point it elsewhere).

    Returns:
        A Predictor: `predictor(l_norm (B, 1, h, w)) -> ab_norm (B, 2, h, w)`.

    Raises:
        WeightsError: the model cannot be found or loaded (one line).
    """
    device = torch.device(device)
    if backend not in ("auto", "torch", "onnxruntime"):
        raise WeightsError(f"{backend}: unknown backend (use auto, torch or onnxruntime)")
    if isinstance(spec, nn.Module):
        if not hasattr(spec, "predict_ab"):
            raise WeightsError(f"{type(spec).__name__}: a model needs a predict_ab(l_norm) method")
        name = getattr(spec, "model_name", type(spec).__name__)
        meta = {"model_name": name, "model_kwargs": getattr(spec, "model_kwargs", {})}
        module = spec.to(device).eval()
        if backend == "onnxruntime":  # "auto" keeps a live module in PyTorch: it may be training
            return _onnx_from_module(module, name, meta)
        return TorchPredictor(module=module, name=name, meta=meta, device=device)

    path = resolve_weights(spec, weights_dir)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, str(device), backend)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    name = path.stem
    if path.suffix.lower() == ".onnx":
        session = onnx_session(path)
        predictor: Predictor = OnnxPredictor(session=session, name=name, meta=onnx_meta(session, path))
    elif backend == "auto" and (companion := matching_onnx(path, device)) is not None:
        session = onnx_session(companion)
        predictor = OnnxPredictor(session=session, name=name, meta=onnx_meta(session, companion))
    else:
        module, meta = load_module(path, weights_dir)
        if backend == "onnxruntime":
            predictor = _onnx_from_module(module, name, meta)
        else:
            predictor = TorchPredictor(module=module.to(device), name=name, meta=meta, device=device)
    with _CACHE_LOCK:
        _CACHE[key] = predictor
    return predictor


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file (weights are a few MB: milliseconds)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def matching_onnx(path: Path, device: torch.device) -> Path | None:
    """`<path stem>.onnx` beside a weights file when it is an export of exactly that file and onnxruntime can
    run it here (CPU device, onnxruntime installed); else None. A stale export (weights changed since) is
    ignored."""
    companion = path.with_suffix(".onnx")
    if device.type != "cpu" or path.suffix.lower() == ".onnx" or not companion.is_file():
        return None
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    try:
        import onnx

        props = {p.key: p.value for p in onnx.load(str(companion), load_external_data=False).metadata_props}
        source = json.loads(props.get("deepcolor", "{}")).get("source_sha256")
    except Exception:  # an unreadable companion is no reason to fail: PyTorch runs the weights
        return None
    return companion if source is not None and source == file_sha256(path) else None


def _onnx_from_module(module: nn.Module, name: str, meta: dict[str, Any]) -> OnnxPredictor:
    import tempfile

    from deepcolor.inference.onnx import export_onnx

    with tempfile.TemporaryDirectory(prefix="deepcolor-onnx-") as folder:
        path = Path(folder) / f"{name}.onnx"
        export_onnx(module.cpu(), path, meta=meta)
        session = onnx_session(path)
    return OnnxPredictor(session=session, name=name, meta=meta)


def clear_cache() -> None:
    """Forget the models loaded so far in this process."""
    with _CACHE_LOCK:
        _CACHE.clear()
