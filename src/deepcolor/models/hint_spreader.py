"""A learnt carrier of point hints: how far each hint's colour reaches, from the decoder's semantic features.

The hint-aware colorizer reads its hints after the encoder's stem and at the full-resolution refinement; a
short training run learns there to honour a hint where it is given, hardly how far to carry it (ten hints
moved its output by 0.1 dB). This head does only the carrying, at stride 4:

    decoder map at stride 4 (the class head's input) + the hints pooled to stride 4 (their colour, how far
    it is from the prediction there, where they are) + the coarse prediction + L
    [+ with attention: what the hinted cells most like this one say, at any distance (`attend_hints`)]
        --> 1x1 conv --> dilated 3x3 residual convs (dilations 1, 2, 4, 8, 16: a reach of about the whole
            render) --> 3x3 conv to a correction of ab (before the output's tanh), zero-initialised
        --> times "this image has a hint": exactly zero without hints.

Because its output is exactly zero for an image without hints, it can be trained with everything else frozen
(`EncoderUNetColorizer.freeze_except`): the automatic colorization stays bit for bit what it was. A trained
carrier can be widened (`widened`) to a copy with more channels that computes exactly what it did, so that a
longer run goes on from it with more capacity instead of starting again, and given attention
(`with_attention`) the same way. The dilations reach by distance; attention reaches by likeness (learnt keys
of the decoder's features and L), which is what took the shipped default's 10 hints from +3.31 to +3.68 dB
on BSD100.

The computation is one function (`carry_hints`) written so that TorchScript can compile it: under a trace (an
ONNX export) its compiled form runs, so that the "no hint in the batch: zero" branch becomes an `If` node and
the exported default skips the carrier's work for an image without hints, as PyTorch does (35.5 -> 27.0 ms
at 256 x 256 with onnxruntime on one thread).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

DILATIONS = (1, 2, 4, 8, 16)  # written out in carry_hints
INPUTS_BESIDE_FEATURES = 11  # pooled hints 3, hint ab 2, delta 2, given 1, coarse ab 2, L 1
ATTENTION_INPUTS = 5  # with attention: the attended hints' delta 2 and colour 2, the best hint's likeness 1


def attend_hints(
    features: torch.Tensor,
    l_norm: torch.Tensor,
    mask: torch.Tensor,
    hint_ab: torch.Tensor,
    delta: torch.Tensor,
    key_weight: torch.Tensor,
    key_bias: torch.Tensor,
    log_scale: torch.Tensor,
) -> torch.Tensor:
    """What the hinted cells that look most like each cell say: (B, 5, h, w) = the attended delta and hint
    colour (softmax over the cosine likeness of learnt keys of features + L, times a learnt scale), and the
    likeness of the most alike hinted cell. Reach by meaning, not by distance: a hint on one of two walls
    apart in the picture speaks for both. `mask` (B, 1, h, w) is each cell's hint coverage (0: none)."""
    b, _, h, w = features.shape
    keys = F.normalize(F.conv2d(torch.cat((features, l_norm), dim=1), key_weight, key_bias), dim=1)
    keys = keys.flatten(2)  # (B, d, hw)
    # the best-covered cells first, ties to the first in reading order: every runtime picks the same cells
    # (coverage in 16ths of a cell times h * w, less the index: whole numbers, exact in float32)
    order = torch.arange(h * w, device=mask.device, dtype=mask.dtype)
    rank = torch.round(mask.flatten(1) * 16.0) * float(h * w) - order
    index = torch.topk(rank, min(128, h * w), dim=1).indices  # at most 128 heard (10 hints cover about 20)
    valid = (torch.gather(mask.flatten(1), 1, index) > 0)[:, None]  # (B, 1, k)
    index = index[:, None]
    hint_keys = torch.gather(keys, 2, index.expand(-1, keys.shape[1], -1))  # (B, d, k)
    said = torch.cat((delta, hint_ab), dim=1).flatten(2)
    said = torch.gather(said, 2, index.expand(-1, 4, -1))  # (B, 4, k)
    likeness = torch.bmm(keys.transpose(1, 2), hint_keys)  # (B, hw, k) cosines
    logits = (likeness * log_scale.exp()).masked_fill(~valid, -1e4)
    attended = torch.bmm(said, torch.softmax(logits, dim=2).transpose(1, 2))  # (B, 4, hw)
    best = likeness.masked_fill(~valid, -1.0).amax(dim=2, keepdim=True).transpose(1, 2)  # (B, 1, hw)
    return torch.cat((attended, best), dim=1).reshape(b, -1, h, w)


def carry_hints(
    features: torch.Tensor,
    pooled: torch.Tensor,
    ab_coarse: torch.Tensor,
    l_norm: torch.Tensor,
    weights: list[torch.Tensor],
) -> torch.Tensor:
    """HintSpreader's forward (see the class) on its `weights`: the input conv's weight and bias, each body
    conv's (dilations 1, 2, 4, 8, 16), the output conv's, then, with attention, the key conv's weight and
    bias and the log of the likeness scale (`attend_hints`). Zero, without any work, for a batch without
    hints."""
    mask = pooled[:, 2:3]  # pooled: the hint map (a m, b m, m) averaged over each cell
    given = (mask > 0).to(features.dtype)
    if not bool(given.any()):
        return torch.zeros_like(ab_coarse)
    hint_ab = pooled[:, :2] / mask.clamp_min(1e-6) * given  # the mean hint colour of a cell with hints
    delta = (hint_ab - ab_coarse) * given  # how far the prediction is from the hint, where there is one
    x = torch.cat((features, pooled, hint_ab, delta, given, ab_coarse, l_norm), dim=1)
    if len(weights) > 14:  # the key conv's weights follow the plain carrier's 14
        heard = attend_hints(features, l_norm, mask, hint_ab, delta, weights[14], weights[15], weights[16])
        x = torch.cat((x, heard), dim=1)
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
    hints. `attention` > 0: keys of that many channels let every cell also hear the hinted cells most like
    it (`attend_hints`)."""

    def __init__(self, feature_channels: int, width: int = 32, attention: int = 0) -> None:
        super().__init__()
        self.feature_channels = feature_channels
        extra = ATTENTION_INPUTS if attention else 0
        self.inp = nn.Conv2d(feature_channels + INPUTS_BESIDE_FEATURES + extra, width, 1)
        self.body = nn.ModuleList(nn.Conv2d(width, width, 3, padding=d, dilation=d) for d in DILATIONS)
        self.out = nn.Conv2d(width, 2, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        if attention:
            self.key = nn.Conv2d(feature_channels + 1, attention, 1)
            self.key_scale = nn.Parameter(torch.tensor(math.log(10.0)))  # cosines x 10 to start

    @property
    def width(self) -> int:
        return self.inp.out_channels

    @property
    def attention(self) -> int:
        return self.key.out_channels if hasattr(self, "key") else 0

    @torch.no_grad()
    def with_attention(self, attention: int) -> HintSpreader:
        """A copy that also attends to its hints (`attend_hints`) and gives exactly this carrier's output: the
        input conv reads the new inputs with zero weights to start."""
        if self.attention:
            raise ValueError(f"this hint carrier already attends (keys of {self.attention} channels)")
        heard = HintSpreader(self.feature_channels, self.width, attention).to(self.inp.weight.device)
        state = self.state_dict()
        inp = heard.inp.weight.clone()
        inp[:, : self.inp.in_channels] = self.inp.weight
        inp[:, self.inp.in_channels :] = 0.0
        heard.load_state_dict({**heard.state_dict(), **state, "inp.weight": inp})
        return heard

    @torch.no_grad()
    def widened(self, width: int) -> HintSpreader:
        """A copy with `width` channels that gives exactly this carrier's output: the old channels keep their
        weights and never read the new ones (those weights are zero, as are the new channels' weights into
        the output), the new channels start from the usual random init, scaled down, and read everything."""
        old = self.width
        if width < old:
            raise ValueError(f"cannot narrow a hint carrier of width {old} to {width}")
        wide = HintSpreader(self.feature_channels, width, self.attention).to(self.inp.weight.device)
        wide.inp.weight[:old], wide.inp.bias[:old] = self.inp.weight, self.inp.bias
        if self.attention:  # the keys do not depend on the width
            wide.key.load_state_dict(self.key.state_dict())
            wide.key_scale.copy_(self.key_scale)
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
        weights += [self.out.weight, self.out.bias]
        if self.attention:
            weights += [self.key.weight, self.key.bias, self.key_scale]
        carry = _compiled_carry_hints() if torch.jit.is_tracing() else carry_hints
        return carry(features, pooled, ab_coarse, l_norm, weights)
