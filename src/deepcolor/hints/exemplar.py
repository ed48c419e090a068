"""A reference photo carried where it belongs: exemplar-based hints (after He et al. 2018, Deep Exemplar-based
Colorization).

A global histogram (`reference.py`, SIGGRAPH 2017's global hints) can only move a photo's overall palette.
Here the two photos are matched region by region on the colorizer's own pretrained encoder, and the
reference's colours go to the regions of the target that look like them:

1. Both photos are seen as GREY at the render size (the target is grey anyway; the reference's L* alone, so
   that a warmer light or another white balance in the reference does not change what matches).
2. Features: the encoder's stride-8 and stride-16 maps (the stride-16 one upsampled), each centred and made
   unit length per cell, joined and made unit length again: a descriptor per stride-8 cell.
3. Correspondence: the cosine similarity of every target cell to every reference cell; each target cell takes
   the softmax-weighted a*b* of its best `TOP_K` reference cells (the reference's a*b* averaged over each
   cell). Its confidence is the best similarity, kept only when the match is mutual within `MUTUAL_CELLS`
   cells (the reference cell's own best target cell lies near it), which a chance resemblance rarely is.
4. The confident cells become the model's ordinary point hints (a square per cell, the sparse `hints` map),
   the most confident first, at most `MAX_HINTS`, no two closer than `SPACING` cells: the hint paths and the
   carrier trained for user clicks spread them over their regions, and the global histogram stays for what
   does not match.

An unrelated reference gives few confident mutual matches, so few hints: the result stays near the automatic
one (measured in benchmarks/hints.py).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from deepcolor.normalization import AB_SCALE

TOP_K = 4  # reference cells blended per target cell
TEMPERATURE = 0.02  # softmax temperature on the cosine similarities of those cells
MIN_SIMILARITY = 0.75  # cosine similarity below which a match is not a hint
MUTUAL_CELLS = 2  # a match is mutual when the reference cell's best target cell is this near (Chebyshev)
MAX_HINTS = 48
SPACING = 2  # cells between two hints (at stride 8)
STRIDE = 8


def _descriptors(encoder: torch.nn.Module, l: torch.Tensor) -> torch.Tensor:
    """L* (1, 1, h, w) -> unit descriptors (C, h8, w8) from the encoder's stride-8 and stride-16 maps."""
    maps = encoder.features(l / 100.0)
    strides = [stride for _, stride in encoder.feature_info]
    s8, s16 = maps[strides.index(8)], maps[strides.index(16)]
    s16 = F.interpolate(s16, size=s8.shape[-2:], mode="bilinear", align_corners=False)
    parts = [F.normalize(m - m.mean(dim=(2, 3), keepdim=True), dim=1) for m in (s8, s16)]
    return F.normalize(torch.cat(parts, dim=1), dim=1)[0]


def match_reference(
    encoder: torch.nn.Module, l_target: torch.Tensor, l_reference: torch.Tensor, ab_reference: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference's a*b* carried to the target's stride-8 cells, and the confidence of each.

    Args:
        encoder: a pretrained encoder with `features` and `feature_info` (strides 8 and 16 among them).
        l_target: (1, 1, h, w) L* of the target at the render size.
        l_reference: (1, 1, h', w') L* of the reference at the render size.
        ab_reference: (1, 2, h', w') a*b* of the reference.

    Returns:
        ab (2, h8, w8) a*b* per target cell, confidence (h8, w8) in [0, 1] (0: no mutual match above
        MIN_SIMILARITY).
    """
    target = _descriptors(encoder, l_target)  # (C, h8, w8)
    reference = _descriptors(encoder, l_reference)  # (C, r8h, r8w)
    height, width = target.shape[-2:]
    ref_height, ref_width = reference.shape[-2:]
    ab_cells = F.adaptive_avg_pool2d(ab_reference, (ref_height, ref_width))[0].flatten(1)  # (2, Nr)
    similarity = target.flatten(1).T @ reference.flatten(1)  # (Nt, Nr)
    top, index = similarity.topk(min(TOP_K, similarity.shape[1]), dim=1)
    weights = torch.softmax(top / TEMPERATURE, dim=1)  # (Nt, k)
    ab = (ab_cells[:, index] * weights[None]).sum(dim=2)  # (2, Nt)
    best = similarity.argmax(dim=0)  # each reference cell's best target cell (Nr,)
    back = best[index[:, 0]]  # the target cell that the best reference cell points back to (Nt,)
    cells = torch.arange(height * width, device=similarity.device)
    near = torch.maximum((back // width - cells // width).abs(), (back % width - cells % width).abs())
    confidence = torch.where((near <= MUTUAL_CELLS) & (top[:, 0] >= MIN_SIMILARITY), top[:, 0], 0.0)
    return ab.reshape(2, height, width), confidence.reshape(height, width)


def exemplar_hint_map(
    ab_cells: torch.Tensor, confidence: torch.Tensor, height: int, width: int
) -> np.ndarray:
    """Confident cells -> the model's sparse hint map (3, height, width) at the target's full resolution:
    a square hint per chosen cell (ab_norm and a 0/1 mask), the most confident first, at most MAX_HINTS, no
    two closer than SPACING cells."""
    from deepcolor.hints.points import default_radius

    out = np.zeros((3, height, width), dtype=np.float32)
    cells_h, cells_w = confidence.shape
    order = torch.argsort(confidence.flatten(), descending=True).tolist()
    taken = np.zeros((cells_h, cells_w), dtype=bool)
    radius = default_radius(height, width)
    count = 0
    for cell in order:
        if count >= MAX_HINTS or float(confidence.flatten()[cell]) <= 0:
            break
        cy, cx = divmod(cell, cells_w)
        if taken[max(cy - SPACING + 1, 0) : cy + SPACING, max(cx - SPACING + 1, 0) : cx + SPACING].any():
            continue
        taken[cy, cx] = True
        count += 1
        y = min(height - 1, round((cy + 0.5) * height / cells_h))
        x = min(width - 1, round((cx + 0.5) * width / cells_w))
        y0, y1 = max(y - radius, 0), min(y + radius + 1, height)
        x0, x1 = max(x - radius, 0), min(x + radius + 1, width)
        out[0, y0:y1, x0:x1] = float(ab_cells[0, cy, cx]) / AB_SCALE
        out[1, y0:y1, x0:x1] = float(ab_cells[1, cy, cx]) / AB_SCALE
        out[2, y0:y1, x0:x1] = 1.0
    return out
