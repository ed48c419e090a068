"""A learnt carrier of point hints: how far each hint's colour reaches, from the decoder's semantic features.

The hint-aware colorizer reads its hints after the encoder's stem and at the full-resolution refinement; a
short training run learns there to honour a hint where it is given, hardly how far to carry it (ten hints
moved its output by 0.1 dB). This head does only the carrying, at stride 4:

    decoder map at stride 4 (the class head's input) + the hints pooled to stride 4 (their colour, how far
    it is from the prediction there, where they are) + the coarse prediction + L
        --> 1x1 conv --> dilated 3x3 residual convs (dilations 1, 2, 4, 8, 16: a reach of about the whole
            render) --> 3x3 conv to a correction of ab (before the output's tanh), zero-initialised
        --> times "this image has a hint": exactly zero without hints.

Because its output is exactly zero for an image without hints, it can be trained with everything else frozen
(`EncoderUNetColorizer.freeze_except`): the automatic colorization stays bit for bit what it was. A trained
carrier can be widened (`widened`) to a copy with more channels that computes exactly what it did, so that a
longer run goes on from it with more capacity instead of starting again.

The computation is one function (`carry_hints`) written so that TorchScript can compile it: under a trace (an
ONNX export) its compiled form runs, so that the "no hint in the batch: zero" branch becomes an `If` node and
the exported default skips the carrier's work for an image without hints, as PyTorch does (35.5 -> 27.0 ms
at 256 x 256 with onnxruntime on one thread).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

DILATIONS = (1, 2, 4, 8, 16)  # written out in carry_hints
INPUTS_BESIDE_FEATURES = 11  # pooled hints 3, hint ab 2, delta 2, given 1, coarse ab 2, L 1


def carry_hints(
    features: torch.Tensor,
    pooled: torch.Tensor,
    ab_coarse: torch.Tensor,
    l_norm: torch.Tensor,
    weights: list[torch.Tensor],
) -> torch.Tensor:
    """HintSpreader's forward (see the class) on its `weights`: the input conv's weight and bias, each body
    conv's (dilations 1, 2, 4, 8, 16), the output conv's. Zero, without any work, for a batch without
    hints."""
    mask = pooled[:, 2:3]  # pooled: the hint map (a m, b m, m) averaged over each cell
    given = (mask > 0).to(features.dtype)
    if not bool(given.any()):
        return torch.zeros_like(ab_coarse)
    hint_ab = pooled[:, :2] / mask.clamp_min(1e-6) * given  # the mean hint colour of a cell with hints
    delta = (hint_ab - ab_coarse) * given  # how far the prediction is from the hint, where there is one
    x = torch.cat((features, pooled, hint_ab, delta, given, ab_coarse, l_norm), dim=1)
    x = F.relu(F.conv2d(x, weights[0], weights[1]))
    # the dilations written out: an ONNX export needs them as constants
    x = x + F.relu(F.conv2d(x, weights[2], weights[3], padding=1, dilation=1))
    x = x + F.relu(F.conv2d(x, weights[4], weights[5], padding=2, dilation=2))
    x = x + F.relu(F.conv2d(x, weights[6], weights[7], padding=4, dilation=4))
    x = x + F.relu(F.conv2d(x, weights[8], weights[9], padding=8, dilation=8))
    x = x + F.relu(F.conv2d(x, weights[10], weights[11], padding=16, dilation=16))
    any_hint = given.amax(dim=(2, 3), keepdim=True)  # (B, 1, 1, 1): 0 for an image without hints
    return F.conv2d(x, weights[12], weights[13], padding=1) * any_hint


@functools.cache
def _compiled_carry_hints() -> Callable[..., torch.Tensor]:
    return torch.jit.script(carry_hints)  # once, at the first export (tracing keeps a scripted call whole)


class HintSpreader(nn.Module):
    """(features (B, C, h, w), hints averaged over 4 x 4 cells (B, 3, h, w), ab_coarse (B, 2, h, w), l_norm
    (B, 1, h, w)) -> a correction (B, 2, h, w) of the pre-tanh ab at stride 4; zero for images without
    hints."""

    def __init__(self, feature_channels: int, width: int = 32) -> None:
        super().__init__()
        self.feature_channels = feature_channels
        self.inp = nn.Conv2d(feature_channels + INPUTS_BESIDE_FEATURES, width, 1)
        self.body = nn.ModuleList(nn.Conv2d(width, width, 3, padding=d, dilation=d) for d in DILATIONS)
        self.out = nn.Conv2d(width, 2, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def width(self) -> int:
        return self.inp.out_channels

    @torch.no_grad()
    def widened(self, width: int) -> HintSpreader:
        """A copy with `width` channels that gives exactly this carrier's output: the old channels keep their
        weights and never read the new ones (those weights are zero, as are the new channels' weights into
        the output), the new channels start from the usual random init, scaled down, and read everything."""
        old = self.width
        if width < old:
            raise ValueError(f"cannot narrow a hint carrier of width {old} to {width}")
        wide = HintSpreader(self.feature_channels, width).to(self.inp.weight.device)
        wide.inp.weight[:old], wide.inp.bias[:old] = self.inp.weight, self.inp.bias
        for mine, theirs in zip(wide.body, self.body, strict=True):
            mine.weight[old:] *= 0.1  # new channels join gently: their output adds to the residual stream
            mine.bias[old:] = 0.0
            mine.weight[:old, :old], mine.bias[:old] = theirs.weight, theirs.bias
            mine.weight[:old, old:] = 0.0
        wide.out.weight[:, :old], wide.out.bias[:] = self.out.weight, self.out.bias
        wide.out.weight[:, old:] = 0.0
        return wide

    def forward(
        self, features: torch.Tensor, pooled: torch.Tensor, ab_coarse: torch.Tensor, l_norm: torch.Tensor
    ) -> torch.Tensor:
        weights = [self.inp.weight, self.inp.bias]
        for conv in self.body:
            weights += [conv.weight, conv.bias]
        carry = _compiled_carry_hints() if torch.jit.is_tracing() else carry_hints
        return carry(features, pooled, ab_coarse, l_norm, [*weights, self.out.weight, self.out.bias])
