"""A U-Net decoder built from an encoder's `feature_info`, never from hard-coded channel counts."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from deepcolor.models.layers import ConvNormAct


class UNetDecoder(nn.Module):
    """Climbs from the deepest feature map to stride 2, joining each shallower map on the way.

    Args:
        feature_info: (channels, stride) of the encoder's maps, shallow to deep (strides 2, 4, ..., 32).
        widths: output channels of each step up, deep to shallow (one per skip, len(feature_info) - 1).

    `forward(features)` returns the maps after each step, deep to shallow: the last is at stride 2;
    `forward(features, steps=n)` stops after the first n steps (for a head that reads a coarser map).
    """

    def __init__(self, feature_info: tuple[tuple[int, int], ...], widths: tuple[int, ...]) -> None:
        super().__init__()
        channels = [c for c, _ in feature_info]
        if len(widths) != len(channels) - 1:
            raise ValueError(
                f"need {len(channels) - 1} decoder widths for {len(channels)} features. Got {widths}"
            )
        self.widths = tuple(widths)
        self.strides = tuple(s for _, s in feature_info[:-1])[::-1]
        blocks = []
        c_deep = channels[-1]
        for width, c_skip in zip(widths, channels[-2::-1], strict=True):
            blocks.append(
                nn.Sequential(
                    ConvNormAct(c_deep + c_skip, width, act="relu"),
                    ConvNormAct(width, width, act="relu", separable=True),
                )
            )
            c_deep = width
        self.blocks = nn.ModuleList(blocks)

    def forward(self, features: list[torch.Tensor], steps: int | None = None) -> list[torch.Tensor]:
        y = features[-1]
        outputs = []
        pairs = list(zip(self.blocks, features[-2::-1], strict=True))
        for block, skip in pairs[:steps]:
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = block(torch.cat((y, skip), dim=1))
            outputs.append(y)
        return outputs
