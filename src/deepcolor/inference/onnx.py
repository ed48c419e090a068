"""ONNX export of a colorization model: input `l_norm` (B, 1, H, W) -> output `ab_norm` (B, 2, H, W).

The graph is `model.predict_ab`, the call inference uses, exported with PyTorch's torch.export-based exporter
(the default since PyTorch 2.9; the TorchScript one is deprecated), with batch, height and width dynamic.
If that exporter fails on a model, the TorchScript exporter is tried next. deepcolor's metadata (model name,
kwargs, render size) is stored in the file's metadata under the key "deepcolor", so an .onnx file is
self-describing for `Colorizer`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from deepcolor.inference.weights import ONNX_INPUT, ONNX_OUTPUT

# Default tracing size: multiples of SIZE_MULTIPLE (what the predictors feed the network), not square, so that
# no size is confused with another.
SAMPLE_SIZE = (64, 96)
# The check after export: multiples of 32 that are not multiples of 64, a batch of 2.
CHECK_SIZE = (96, 160)


class _PredictAb(nn.Module):
    """Wraps `model.predict_ab` as `forward`, the one method exporters trace."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        return self.model.predict_ab(l_norm)


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


def _export_dynamo(wrapper: nn.Module, sample: torch.Tensor, path: Path) -> None:
    auto = torch.export.Dim.AUTO
    torch.onnx.export(
        wrapper,
        (sample,),
        str(path),
        dynamo=True,
        verbose=False,
        external_data=False,
        input_names=[ONNX_INPUT],
        output_names=[ONNX_OUTPUT],
        dynamic_shapes=({0: auto, 2: auto, 3: auto},),
    )


def _export_torchscript(wrapper: nn.Module, sample: torch.Tensor, path: Path) -> None:
    axes = {0: "batch", 2: "height", 3: "width"}
    torch.onnx.export(
        wrapper,
        (sample,),
        str(path),
        dynamo=False,
        input_names=[ONNX_INPUT],
        output_names=[ONNX_OUTPUT],
        dynamic_axes={ONNX_INPUT: axes, ONNX_OUTPUT: axes},
        opset_version=18,
    )


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike[str],
    meta: dict[str, Any] | None = None,
    sample_size: tuple[int, int] = SAMPLE_SIZE,
) -> str:
    """Export `model.predict_ab` to an ONNX file, written atomically (temp file then rename).

    Args:
        model: an nn.Module with `predict_ab(l_norm (B, 1, H, W)) -> ab_norm (B, 2, H, W)`; exported on
            the CPU.
        path: the .onnx file to write.
        meta: JSON-serialisable metadata stored in the file (model_name, model_kwargs, render_size, ...).
        sample_size: (H, W) of the example input used for tracing.

    Returns:
        The exporter that succeeded: "dynamo" or "torchscript".

    Raises:
        RuntimeError: both exporters failed (the message carries the first line of each error).
    """
    import onnx

    path = Path(path)
    wrapper = _PredictAb(model).cpu().eval()
    sample = torch.zeros(2, 1, *sample_size)  # batch 2: torch.export specialises a size-1 dimension
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    errors = []
    exporter = ""
    for exporter, function in (("dynamo", _export_dynamo), ("torchscript", _export_torchscript)):
        try:
            with _quiet():
                function(wrapper, sample, tmp)
            break
        except Exception as error:  # exporters raise many types; we report them and try the next one
            text = str(error).strip()
            errors.append(f"{exporter}: {text.splitlines()[0] if text else type(error).__name__}")
            tmp.unlink(missing_ok=True)
    else:
        raise RuntimeError("ONNX export failed (" + "; ".join(errors) + ")")
    try:
        proto = onnx.load(str(tmp))
        clean = {k: v for k, v in (meta or {}).items() if k != "extra_tensors"}
        entry = proto.metadata_props.add()
        entry.key, entry.value = "deepcolor", json.dumps(clean, default=str)
        onnx.save(proto, str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return exporter


def compare_onnx(
    model: nn.Module, path: str | os.PathLike[str], size: tuple[int, int] = CHECK_SIZE, seed: int = 0
) -> float:
    """Run the exported file with onnxruntime and the model with PyTorch on the same random L.

    Args:
        model: the PyTorch model that was exported.
        path: the .onnx file.
        size: (H, W) of the random test input, multiples of 32 (what the predictors feed the network); it
            differs from the tracing size and the batch is 2, to check the dynamic axes.
        seed: seed of the random input.

    Returns:
        Max absolute difference of the predicted ab, in a*b* units.
    """
    from deepcolor.inference.weights import onnx_session
    from deepcolor.normalization import denormalize_ab

    generator = torch.Generator().manual_seed(seed)
    l_norm = torch.rand(2, 1, *size, generator=generator) - 0.5
    with torch.inference_mode():
        expected = model.cpu().eval().predict_ab(l_norm)
    session = onnx_session(Path(path))
    (got,) = session.run(None, {session.get_inputs()[0].name: l_norm.numpy()})
    difference = np.abs(got - expected.numpy()).max()
    return float(denormalize_ab(torch.tensor(difference)))
