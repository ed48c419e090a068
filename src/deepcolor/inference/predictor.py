"""The loaded-model contract of inference: `predictor(l_norm, **conditions) -> ab_norm`, and its PyTorch form.

A `Predictor` takes normalised L (B, 1, h, w) at the render size, plus the optional conditions its model
declares (`predictor.conditions`, see `deepcolor.models.conditions`: sparse maps (B, C, h, w) at the size of
L, per-image vectors (B, C)), and returns normalised ab (B, 2, h, w). A condition that is not given is
all zeros ("not given"). The ONNX form lives in `deepcolor.inference.onnx`; `load_predictor`
(`deepcolor.inference.weights`) builds either from a file.

Before the network, L is padded (replicating its last row and column) to a multiple of `SIZE_MULTIPLE`, sparse
maps with zeros (a padded cell holds no hint), and the prediction is cropped back. U-Nets need sizes divisible
by 2 ** levels and pad inside the model otherwise; that branch depends on the input size, which an ONNX export
cannot keep (the exporter fixes it to the traced case). Padding outside the model makes every size take the
same branch, so PyTorch and onnxruntime agree for every size. A model's metadata may ask for another multiple
(`size_multiple`).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from deepcolor.models.conditions import ConditionSpec, model_conditions
from deepcolor.models.fusion import fold_batchnorm

SIZE_MULTIPLE = 32

# Networks with fewer parameters than this run on one CPU thread. Their operations are too small to gain
# much from being split across cores (the from-scratch U-Net `autoencoder`, 1.6 M parameters: 5.1 ms on one
# thread, 4.3 ms on two, at 160 x 128), and a split operation waits for every core: when another process
# holds one, each of the model's few dozen operations can wait a time slice, and the forward pass took
# 200-460 ms instead of 4 on this 2-core machine. The pretrained-encoder default (3.9 M) has the work to
# share: 47 ms on one thread, 26 ms on two at 256 x 256 on an idle machine (slower on two while another
# process keeps a core busy; `deepcolor serve` gives each worker one thread anyway).
SINGLE_THREAD_PARAMETERS = 3_000_000

# glibc hands freed blocks above its mmap threshold straight back to the OS, so every forward pass of the
# pretrained-encoder default page-faulted its few-MB feature maps in afresh: 6,000 faults and 11 ms of
# system time in a 60 ms pass at 256 x 256 on this machine. Keeping blocks up to MMAP_THRESHOLD on the heap,
# and up to TRIM_THRESHOLD of freed heap before trimming, lets the next pass reuse the same pages. Full-size
# images (above 32 MB) are still mapped and unmapped; the pipeline's explicit malloc_trim after its band
# workers still returns the rest (`deepcolor.inference.bands.release_freed_memory`). DEEPCOLOR_MALLOC=system
# leaves glibc's defaults alone.
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's ceiling for M_MMAP_THRESHOLD on 64-bit
TRIM_THRESHOLD = 256 * 1024 * 1024


class Predictor(Protocol):
    """A loaded model: normalised L (+ conditions) at the render size -> normalised ab at the same size."""

    name: str
    meta: dict[str, Any]
    device: torch.device
    conditions: tuple[ConditionSpec, ...]

    def __call__(self, l_norm: torch.Tensor, **conditions: torch.Tensor) -> torch.Tensor: ...


def pad_to_multiple(l_norm: torch.Tensor, multiple: int, mode: str = "replicate") -> torch.Tensor:
    """(B, C, h, w) -> (B, C, h', w') with h', w' the next multiples of `multiple`, padded at the bottom and
    right ("replicate" for L, "zeros" for sparse condition maps)."""
    height, width = l_norm.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if not (pad_h or pad_w):
        return l_norm
    if mode == "zeros":
        return F.pad(l_norm, (0, pad_w, 0, pad_h), mode="constant", value=0.0)
    return F.pad(l_norm, (0, pad_w, 0, pad_h), mode=mode)


def check_conditions(
    specs: tuple[ConditionSpec, ...], l_norm: torch.Tensor, conditions: Mapping[str, torch.Tensor], who: str
) -> None:
    """ValueError (one line) for a condition the model does not take, or of the wrong shape for `l_norm`."""
    known = {spec.name: spec for spec in specs}
    batch, _, height, width = l_norm.shape
    for name, value in conditions.items():
        spec = known.get(name)
        if spec is None:
            takes = ", ".join(known) if known else "none"
            raise ValueError(f"{who}: takes no condition {name!r} (conditions it takes: {takes})")
        expected = (batch, spec.channels, height, width) if spec.kind == "sparse" else (batch, spec.channels)
        if tuple(value.shape) != expected:
            raise ValueError(
                f"{who}: condition {name!r} ({spec.kind}) must have a shape of {expected} for L of shape "
                f"{tuple(l_norm.shape)}. Got {tuple(value.shape)}"
            )


def prepare_inputs(
    specs: tuple[ConditionSpec, ...],
    l_norm: torch.Tensor,
    conditions: Mapping[str, torch.Tensor],
    multiple: int,
    device: torch.device,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """L padded (replicate) and every declared condition on `device`: given ones with sparse maps padded with
    zeros, vectors as they are; missing ones as zeros. A model without conditions gets an empty dict."""
    padded = pad_to_multiple(l_norm.to(device), multiple)
    batch, _, height, width = padded.shape
    inputs = {}
    for spec in specs:
        value = conditions.get(spec.name)
        if value is None:
            inputs[spec.name] = spec.empty(batch, height, width, device=device).to(padded.dtype)
        elif spec.kind == "sparse":
            inputs[spec.name] = pad_to_multiple(value.to(device, padded.dtype), multiple, mode="zeros")
        else:
            inputs[spec.name] = value.to(device, padded.dtype)
    return padded, inputs


def module_device(module: nn.Module) -> torch.device:
    """Where a module's parameters (else buffers) live; the CPU for a module that has neither."""
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


@contextlib.contextmanager
def eval_mode(module: nn.Module):
    """The module in eval mode for the duration, then back in the mode it was in (a model being trained
    stays in training; its batch-norm statistics are not touched by a prediction)."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


@functools.lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Set glibc's malloc thresholds once per process (see MMAP_THRESHOLD); False where that is not glibc or
    DEEPCOLOR_MALLOC=system."""
    if not sys.platform.startswith("linux") or os.environ.get("DEEPCOLOR_MALLOC", "") == "system":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(mallopt(m_mmap_threshold, MMAP_THRESHOLD)) and bool(mallopt(m_trim_threshold, TRIM_THRESHOLD))


@dataclass
class TorchPredictor:
    """An `nn.Module` with `predict_ab(l_norm, **conditions)`, run on `device` in eval mode.

    A module handed in by the caller (a model being trained) is only borrowed: each call runs it in eval mode
    and puts it back in the mode it was in, and it stays on its own device (`load_predictor` passes that
    device); nothing about it is changed.

    A module the predictor owns (`owned=True`: `load_predictor` built it from a file) is made fast for
    inference once: batch norms folded into their convolutions (`deepcolor.models.fusion`), and on the CPU
    the channels-last layout, in which oneDNN's depthwise and 3 x 3 convolutions ran the pretrained-encoder
    default 20-25% faster; outputs agree with the unchanged module to 1e-6.
    """

    module: nn.Module
    name: str
    meta: dict[str, Any] = field(default_factory=dict)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    owned: bool = False

    def __post_init__(self) -> None:
        parameters = sum(p.numel() for p in self.module.parameters())
        self.single_thread = self.device.type == "cpu" and parameters < SINGLE_THREAD_PARAMETERS
        self.conditions = model_conditions(self.module)
        self.channels_last = False
        if self.owned:
            fold_batchnorm(self.module.eval())
            if self.device.type == "cpu":
                self.module.to(memory_format=torch.channels_last)
                self.channels_last = True
                keep_freed_memory()

    def __call__(self, l_norm: torch.Tensor, **conditions: torch.Tensor) -> torch.Tensor:
        height, width = l_norm.shape[-2:]
        ab_norm = self._run("predict_ab", l_norm, conditions)
        return ab_norm[..., :height, :width].contiguous()

    def distribution(self, l_norm: torch.Tensor, **conditions: torch.Tensor) -> torch.Tensor:
        """The model's probabilities over its ab bins (B, Q, ceil(h / 4), ceil(w / 4)) for the same inputs
        (a model with `predict_distribution`: the pretrained-encoder families)."""
        if not hasattr(self.module, "predict_distribution"):
            raise ValueError(f"{self.name}: this model has no colour distribution")
        height, width = l_norm.shape[-2:]
        probs = self._run("predict_distribution", l_norm, conditions)
        return probs[..., : -(-height // 4), : -(-width // 4)].float().contiguous()

    def _run(self, method: str, l_norm: torch.Tensor, conditions: Mapping[str, torch.Tensor]) -> torch.Tensor:
        from deepcolor.inference.bands import single_threaded

        check_conditions(self.conditions, l_norm, conditions, self.name)
        multiple = int(self.meta.get("size_multiple") or SIZE_MULTIPLE)
        threads = single_threaded() if self.single_thread else contextlib.nullcontext()
        with torch.inference_mode(), threads, eval_mode(self.module):
            padded, inputs = prepare_inputs(self.conditions, l_norm, conditions, multiple, self.device)
            if self.channels_last:
                padded = padded.contiguous(memory_format=torch.channels_last)
                inputs = {
                    k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v
                    for k, v in inputs.items()
                }
            return getattr(self.module, method)(padded, **inputs)
