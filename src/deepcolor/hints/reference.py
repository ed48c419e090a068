"""A reference photo as a global hint: its colour histogram over the ab bins and its mean chroma."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from deepcolor.hints.simulate import color_histogram, global_hint_vector, mean_chroma
from deepcolor.normalization import normalize_ab

REFERENCE_SIZE = 256  # the reference is read at this longer side: its palette, not its detail, matters


def reference_hints(rgb: np.ndarray, centers: torch.Tensor, saturation: bool = True) -> torch.Tensor:
    """A colour photo (H, W, 3) float sRGB in [0, 1] -> global hint vector (1, Q + 3): its histogram over the
    bins `centers` (Q, 2) and (when `saturation`) its mean chroma, both marked given."""
    from deepcolor.color import rgb_to_lab

    t = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
    h, w = t.shape[-2:]
    scale = REFERENCE_SIZE / max(h, w)
    if scale < 1:
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        t = F.interpolate(t, size=size, mode="bilinear", antialias=True, align_corners=False)
    ab_norm = normalize_ab(rgb_to_lab(t)[:, 1:])
    hist = color_histogram(ab_norm, centers)
    chroma = mean_chroma(ab_norm) if saturation else None
    return global_hint_vector(hist, chroma, 1, centers.shape[0], "cpu")
