"""Conditions: the optional inputs a model takes beside L (`predict_ab(l_norm, **conditions)`).

A model lists what it accepts in its `conditions` attribute (a tuple of `ConditionSpec`, empty for a model
that takes only L). Every condition is optional: a caller that passes none gets the automatic result, and
a missing condition is the same as an all-zero tensor of its shape (zeros mean "not given").

Two kinds:

- ``sparse``: a map (B, C, H, W) at the resolution of L whose last channel is a 0/1 mask of where a value is
  given (colour hints: ab_norm of the hint, then the mask). Resizing such a map must keep every hint, so it
  is never averaged bilinearly: see `resize_sparse`.
- ``vector``: a per-image vector (B, C) (a global colour histogram with its flags); independent of size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

KINDS = ("sparse", "vector")


@dataclass(frozen=True)
class ConditionSpec:
    """One optional model input: its keyword in `predict_ab`, its kind (see the module) and channels."""

    name: str
    kind: str
    channels: int
    doc: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"condition kind must be one of {KINDS}. Got {self.kind!r}")

    def empty(self, batch: int, height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """The "not given" value: zeros of the shape this condition has for a (batch, 1, height, width) L."""
        if self.kind == "sparse":
            return torch.zeros(batch, self.channels, height, width, device=device)
        return torch.zeros(batch, self.channels, device=device)


def model_conditions(model: object) -> tuple[ConditionSpec, ...]:
    """The conditions a model (or predictor) accepts; () for one that takes only L."""
    return tuple(getattr(model, "conditions", ()) or ())


def resize_sparse(hint_map: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a sparse map (B, C, H, W) whose last channel is a 0/1 mask to `size` without losing hints.

    Each output cell takes the mean of the given values that fall in it (mask-weighted area average) and
    mask 1 if any input pixel in it was given; a hint of one pixel therefore survives any downscale, and an
    upscale repeats it (nearest). Cells with no hint stay exactly zero.
    """
    if hint_map.dim() != 4 or hint_map.shape[1] < 2:
        raise ValueError(f"a sparse map must have a shape of (B, C >= 2, H, W). Got {tuple(hint_map.shape)}")
    height, width = hint_map.shape[-2:]
    if (height, width) == tuple(size):
        return hint_map
    values, mask = hint_map[:, :-1], hint_map[:, -1:]
    if size[0] >= height and size[1] >= width:
        return F.interpolate(hint_map, size=size, mode="nearest")
    # area sums via adaptive average pooling (proportional to sums for each output cell)
    weight = F.adaptive_avg_pool2d(mask, size)
    total = F.adaptive_avg_pool2d(values * mask, size)
    given = weight > 0
    mean = torch.where(given, total / weight.clamp_min(1e-12), torch.zeros_like(total))
    return torch.cat((mean, given.to(hint_map.dtype)), dim=1)
