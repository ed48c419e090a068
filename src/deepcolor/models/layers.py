"""Building blocks shared by the model families: conv + norm + activation, and a small U-Net."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def make_norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(min(8, channels), channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; use batch, group or none")


def make_act(kind: str) -> nn.Module:
    if kind == "relu":
        return nn.ReLU(inplace=True)
    if kind == "silu":
        return nn.SiLU(inplace=True)
    if kind == "leaky":
        return nn.LeakyReLU(0.2, inplace=True)
    raise ValueError(f"unknown activation {kind!r}; use relu, silu or leaky")


class ConvNormAct(nn.Sequential):
    """3x3 (or k x k) conv -> norm -> activation; `separable` makes it depthwise 3x3 + pointwise 1x1."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int = 3,
        stride: int = 1,
        norm: str = "batch",
        act: str = "relu",
        separable: bool = False,
    ) -> None:
        pad = kernel // 2
        bias = norm == "none"
        if separable and kernel > 1:
            layers: list[nn.Module] = [
                nn.Conv2d(c_in, c_in, kernel, stride, pad, groups=c_in, bias=False),
                nn.Conv2d(c_in, c_out, 1, bias=bias),
            ]
        else:
            layers = [nn.Conv2d(c_in, c_out, kernel, stride, pad, bias=bias)]
        super().__init__(*layers, make_norm(norm, c_out), make_act(act))


class UNet(nn.Module):
    """Encoder-decoder with skip connections whose stem downsamples by 2 at once.

    Widths double per level from `base_width` (capped at `max_width`). The decoder climbs back to
    `1 / out_stride` of the input (2 or 4) and ends in a 1x1 head with `out_channels`.

    Input (B, c_in, H, W) with H, W multiples of 2 ** (depth + 1) for exact skips (others are padded);
    output (B, out_channels, ceil(H / out_stride), ceil(W / out_stride)), no final activation.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 2,
        base_width: int = 24,
        depth: int = 3,
        blocks: int = 1,
        max_width: int = 256,
        out_stride: int = 2,
        norm: str = "batch",
        act: str = "relu",
        separable: bool = False,
    ) -> None:
        super().__init__()
        if out_stride not in (2, 4):
            raise ValueError(f"out_stride must be 2 or 4. Got {out_stride}")
        if depth < 1 or (out_stride == 4 and depth < 2):
            raise ValueError(f"depth must be >= 1 (>= 2 with out_stride 4). Got {depth}")
        conv = dict(norm=norm, act=act, separable=separable)
        widths = [min(base_width * 2**i, max_width) for i in range(depth + 1)]
        self.widths = widths
        self.depth = depth
        # the stem: full res -> 1/2, then `blocks` convs at 1/2
        self.stem = nn.Sequential(
            ConvNormAct(in_channels, widths[0], stride=2, norm=norm, act=act),
            *[ConvNormAct(widths[0], widths[0], **conv) for _ in range(blocks)],
        )
        self.down = nn.ModuleList(
            nn.Sequential(
                ConvNormAct(widths[i], widths[i + 1], stride=2, **conv),
                *[ConvNormAct(widths[i + 1], widths[i + 1], **conv) for _ in range(blocks)],
            )
            for i in range(depth)
        )
        # decoder level i goes from 1/2^(i+2) to 1/2^(i+1); stop at 1/out_stride
        first_level = 0 if out_stride == 2 else 1
        self.first_level = first_level
        self.reduce = nn.ModuleList(
            nn.Conv2d(widths[i + 1], widths[i], 1, bias=False) for i in range(first_level, depth)
        )
        self.up = nn.ModuleList(
            nn.Sequential(
                ConvNormAct(2 * widths[i], widths[i], **conv),
                *[ConvNormAct(widths[i], widths[i], **conv) for _ in range(blocks - 1)],
            )
            for i in range(first_level, depth)
        )
        self.head = nn.Conv2d(widths[first_level], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        multiple = 2 ** (self.depth + 1)
        h, w = x.shape[-2:]
        pad_h, pad_w = (-h) % multiple, (-w) % multiple
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        skips = [self.stem(x)]  # (B, w0, H/2, W/2)
        for down in self.down:
            skips.append(down(skips[-1]))  # (B, w_i, H/2^(i+1), W/2^(i+1))
        y = skips.pop()
        for i in reversed(range(len(self.up))):
            skip = skips[i + self.first_level]
            y = F.interpolate(self.reduce[i](y), size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = self.up[i](torch.cat((y, skip), dim=1))
        y = self.head(y)
        stride = 2 if self.first_level == 0 else 4
        return y[..., : -(-h // stride), : -(-w // stride)]
