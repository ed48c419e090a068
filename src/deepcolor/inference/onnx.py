"""Everything ONNX: export a model, check the file, run it with onnxruntime, find a weights file's export.

The graph is `model.predict_ab`, the call inference uses, with one named input per tensor:

- `l_norm` (B, 1, H, W), normalised as in `deepcolor.normalization`;
- one input per condition the model declares (`model.conditions`, see `deepcolor.models.conditions`), under
  the condition's name: sparse maps (B, C, H, W) with batch, height and width dynamic; vectors (B, C) with
  the batch dynamic;

and one output `ab_norm` (B, 2, H, W). It is exported with PyTorch's TorchScript exporter first (seconds: the
pretrained-encoder default took 2 s, against 13 minutes for the torch.export-based one on this 2-core CPU),
and the file is kept only if onnxruntime gives PyTorch's output at another size than the traced one (a
trace can freeze a size-dependent amount; `EXPORT_TOLERANCE`); else the torch.export-based exporter (the
default since PyTorch 2.9) is tried. deepcolor's metadata (model name, kwargs, render size, conditions, the
SHA-256 of the weights it was made from) is stored in the file's metadata under the key "deepcolor", so an
.onnx file is self-describing for `Colorizer`.

`OnnxPredictor` runs a file with onnxruntime on the CPU, feeding zeros ("not given") for the conditions the
caller leaves out. `matching_onnx` finds the `<name>.onnx` beside a weights file that is an export of exactly
that file, which `load_predictor` runs instead of exporting the model again in every process.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.util
import io
import json
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from deepcolor.inference.predictor import SIZE_MULTIPLE, check_conditions, prepare_inputs
from deepcolor.models.checkpoint import CheckpointError
from deepcolor.models.conditions import ConditionSpec, model_conditions

ONNX_INPUT = "l_norm"
ONNX_OUTPUT = "ab_norm"

# Default tracing size: multiples of SIZE_MULTIPLE (what the predictors feed the network), not square, so that
# no size is confused with another.
SAMPLE_SIZE = (64, 96)
# The check after export: multiples of 32 that are not multiples of 64, a batch of 2.
CHECK_SIZE = (96, 160)
# Largest max |ab difference| (a*b* units) between onnxruntime and PyTorch at CHECK_SIZE for a kept export.
EXPORT_TOLERANCE = 0.05


# ------------------------------------------------------------------------------------------------- export


class _PredictAb(nn.Module):
    """Wraps `model.predict_ab` as `forward(l_norm, *conditions)`, the one method exporters trace; knows the
    graph's input names and dynamic axes."""

    def __init__(self, model: nn.Module, specs: tuple[ConditionSpec, ...]) -> None:
        super().__init__()
        self.model = model
        self.specs = specs
        self.input_names = [ONNX_INPUT, *(spec.name for spec in specs)]
        # batch dynamic everywhere; height and width of L and of sparse maps
        image = {0: "batch", 2: "height", 3: "width"}
        self.axes = [image, *(image if spec.kind == "sparse" else {0: "batch"} for spec in specs)]

    def forward(self, l_norm: torch.Tensor, *conditions: torch.Tensor) -> torch.Tensor:
        names = (spec.name for spec in self.specs)
        return self.model.predict_ab(l_norm, **dict(zip(names, conditions, strict=True)))

    def sample(self, batch: int, size: tuple[int, int]) -> tuple[torch.Tensor, ...]:
        return (torch.zeros(batch, 1, *size), *(spec.empty(batch, *size) for spec in self.specs))


@contextlib.contextmanager
def _quiet():
    """Silence the exporters' progress prints, deprecation warnings and optional-package notices."""
    loggers = [
        logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._export", "onnxscript")
    ]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _dynamic_shapes(wrapper: _PredictAb) -> tuple:
    """torch.export's dynamic shapes, in the structure of forward's arguments: (l_norm, (*conditions))."""
    auto = torch.export.Dim.AUTO
    image = {axis: auto for axis in wrapper.axes[0]}
    if not wrapper.specs:
        return (image,)
    return (image, tuple({axis: auto for axis in dims} for dims in wrapper.axes[1:]))


def _export_dynamo(wrapper: _PredictAb, inputs: tuple[torch.Tensor, ...], path: Path) -> None:
    torch.onnx.export(
        wrapper,
        inputs,
        str(path),
        dynamo=True,
        verbose=False,
        external_data=False,
        input_names=wrapper.input_names,
        output_names=[ONNX_OUTPUT],
        dynamic_shapes=_dynamic_shapes(wrapper),
    )


def _export_torchscript(wrapper: _PredictAb, inputs: tuple[torch.Tensor, ...], path: Path) -> None:
    torch.onnx.export(
        wrapper,
        inputs,
        str(path),
        dynamo=False,
        input_names=wrapper.input_names,
        output_names=[ONNX_OUTPUT],
        dynamic_axes={
            **dict(zip(wrapper.input_names, wrapper.axes, strict=True)),
            ONNX_OUTPUT: wrapper.axes[0],
        },
        opset_version=18,
    )


def _checked_difference(model: nn.Module, path: Path) -> float | None:
    """`compare_onnx` at CHECK_SIZE (not the tracing size), or None where onnxruntime is not installed."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    return compare_onnx(model, path)


def _conditions_meta(specs: tuple[ConditionSpec, ...]) -> list[dict[str, Any]]:
    return [{"name": spec.name, "kind": spec.kind, "channels": spec.channels} for spec in specs]


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike[str],
    meta: dict[str, Any] | None = None,
    sample_size: tuple[int, int] = SAMPLE_SIZE,
) -> str:
    """Export `model.predict_ab` to an ONNX file, written atomically (temp file then rename).

    Args:
        model: an nn.Module with `predict_ab(l_norm (B, 1, H, W), **conditions) -> ab_norm (B, 2, H, W)`. A
            copy is exported on the CPU in eval mode; the model itself is left as it was.
        path: the .onnx file to write.
        meta: JSON-serialisable metadata stored in the file (model_name, model_kwargs, render_size, ...); the
            model's conditions are added as `conditions`.
        sample_size: (H, W) of the example input used for tracing.

    Returns:
        The exporter whose file was kept: "torchscript" or "dynamo".

    Raises:
        RuntimeError: both exporters failed (the message carries the first line of each error).
    """
    import onnx

    path = Path(path)
    specs = model_conditions(model)
    wrapper = _PredictAb(copy.deepcopy(model), specs).cpu().eval()
    inputs = wrapper.sample(2, sample_size)  # batch 2: torch.export specialises a size-1 dimension
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    errors = []
    exporter = ""
    for exporter, function in (("torchscript", _export_torchscript), ("dynamo", _export_dynamo)):
        try:
            with _quiet():
                function(wrapper, inputs, tmp)
            difference = _checked_difference(model, tmp)
            if difference is None or difference <= EXPORT_TOLERANCE:
                break
            errors.append(f"{exporter}: differs from PyTorch by {difference:.3g} a*b* at another size")
        except Exception as error:  # exporters raise many types; we report them and try the next one
            text = str(error).strip()
            errors.append(f"{exporter}: {text.splitlines()[0] if text else type(error).__name__}")
        tmp.unlink(missing_ok=True)
    else:
        raise RuntimeError("ONNX export failed (" + "; ".join(errors) + ")")
    try:
        proto = onnx.load(str(tmp))
        clean = {k: v for k, v in (meta or {}).items() if k != "extra_tensors"}
        if specs:
            clean["conditions"] = _conditions_meta(specs)
        entry = proto.metadata_props.add()
        entry.key, entry.value = "deepcolor", json.dumps(clean, default=str)
        onnx.save(proto, str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return exporter


def _random_conditions(
    specs: tuple[ConditionSpec, ...], batch: int, size: tuple[int, int], generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Random conditions for a check: sparse maps with values on about 1 % of the pixels, a 0/1 mask in the
    last channel; vectors in [0, 1)."""
    out = {}
    for spec in specs:
        if spec.kind == "sparse":
            mask = (torch.rand(batch, 1, *size, generator=generator) < 0.01).float()
            values = (torch.rand(batch, spec.channels - 1, *size, generator=generator) - 0.5) * mask
            out[spec.name] = torch.cat((values, mask), dim=1)
        else:
            out[spec.name] = torch.rand(batch, spec.channels, generator=generator)
    return out


def compare_onnx(
    model: nn.Module, path: str | os.PathLike[str], size: tuple[int, int] = CHECK_SIZE, seed: int = 0
) -> float:
    """Run the exported file with onnxruntime and the model with PyTorch on the same random inputs.

    Args:
        model: the PyTorch model that was exported (left in its mode and on its device).
        path: the .onnx file.
        size: (H, W) of the random test input, multiples of 32 (what the predictors feed the network); it
            differs from the tracing size and the batch is 2, to check the dynamic axes. Conditions are
            random too (sparse hints on about 1 % of the pixels).
        seed: seed of the random input.

    Returns:
        Max absolute difference of the predicted ab, in a*b* units.

    Raises:
        CheckpointError: onnxruntime is not installed or cannot load the file.
    """
    from deepcolor.inference.predictor import eval_mode
    from deepcolor.normalization import denormalize_ab

    generator = torch.Generator().manual_seed(seed)
    l_norm = torch.rand(2, 1, *size, generator=generator) - 0.5
    conditions = _random_conditions(model_conditions(model), 2, size, generator)
    reference = copy.deepcopy(model).cpu()
    with torch.inference_mode(), eval_mode(reference):
        expected = reference.predict_ab(l_norm, **conditions)
    session = onnx_session(Path(path))
    names = [i.name for i in session.get_inputs()]
    (got,) = session.run(None, {names[0]: l_norm.numpy(), **{k: v.numpy() for k, v in conditions.items()}})
    difference = np.abs(got - expected.numpy()).max()
    return float(denormalize_ab(torch.tensor(difference)))


# ------------------------------------------------------------------------------------------- onnxruntime


def onnx_session(path: Path, threads: int | None = None) -> Any:
    """An onnxruntime CPU session for `path` (full graph optimisation, `threads` intra-op threads).

    Raises:
        CheckpointError: onnxruntime is not installed, or the file is not a loadable ONNX model.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise CheckpointError(
            path, "running an ONNX model needs onnxruntime (pip install onnxruntime)"
        ) from None
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for a broken file
        raise CheckpointError(
            path, f"not a loadable ONNX model ({str(error).splitlines()[0][:160]})"
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


def onnx_conditions(session: Any, meta: dict[str, Any]) -> tuple[ConditionSpec, ...]:
    """The conditions an ONNX file takes: its inputs after the first (L), described by the metadata's
    `conditions` when it has them, else by the input's rank (4: sparse, 2: vector) and channel count."""
    described = {c.get("name"): c for c in meta.get("conditions") or [] if isinstance(c, dict)}
    specs = []
    for item in session.get_inputs()[1:]:
        known = described.get(item.name)
        if known is not None:
            specs.append(ConditionSpec(item.name, str(known["kind"]), int(known["channels"])))
            continue
        shape = list(item.shape)
        kind = "sparse" if len(shape) == 4 else "vector"
        channels = shape[1] if len(shape) > 1 and isinstance(shape[1], int) else 0
        specs.append(ConditionSpec(item.name, kind, channels))
    return tuple(specs)


@dataclass
class OnnxPredictor:
    """An onnxruntime session: input L (`l_norm` (B, 1, h, w)) and one input per condition -> `ab_norm`."""

    session: Any
    name: str
    meta: dict[str, Any] = field(default_factory=dict)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def __post_init__(self) -> None:
        self.input_name = self.session.get_inputs()[0].name
        self.conditions = onnx_conditions(self.session, self.meta)

    def __call__(self, l_norm: torch.Tensor, **conditions: torch.Tensor) -> torch.Tensor:
        check_conditions(self.conditions, l_norm, conditions, self.name)
        height, width = l_norm.shape[-2:]
        multiple = int(self.meta.get("size_multiple") or SIZE_MULTIPLE)
        given = {k: v.detach().float() for k, v in conditions.items()}
        padded, inputs = prepare_inputs(
            self.conditions, l_norm.detach().float(), given, multiple, self.device
        )
        feeds = {self.input_name: padded.numpy(), **{k: v.numpy() for k, v in inputs.items()}}
        (ab_norm,) = self.session.run(None, feeds)
        return torch.from_numpy(ab_norm)[..., :height, :width]


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file (weights are a few MB: milliseconds)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def matching_onnx(path: Path, device: torch.device | None = None) -> Path | None:
    """`<path stem>.onnx` beside a weights file when it is an export of exactly that file (it records the
    weights' SHA-256) and onnxruntime is installed; else None. A stale export (weights changed since) is
    ignored. With a `device`, only a CPU device matches (onnxruntime runs on the CPU here)."""
    companion = path.with_suffix(".onnx")
    if device is not None and device.type != "cpu":
        return None
    if path.suffix.lower() == ".onnx" or not companion.is_file():
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


def onnx_predictor_from_module(module: nn.Module, name: str, meta: dict[str, Any]) -> OnnxPredictor:
    """An `OnnxPredictor` for a module that has no export on disk: exported to a scratch file (seconds), run
    from memory. The module itself is left as it was."""
    with tempfile.TemporaryDirectory(prefix="deepcolor-onnx-") as folder:
        path = Path(folder) / f"{name}.onnx"
        export_onnx(module, path, meta=meta)
        session = onnx_session(path)
        meta = {**meta, **onnx_meta(session, path)}
    return OnnxPredictor(session=session, name=name, meta=meta)
