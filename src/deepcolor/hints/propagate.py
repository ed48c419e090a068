"""Spreading point hints over the regions they belong to, on top of the network's own use of them.

The hint-aware network takes hints as inputs, but within a short training run it learns to honour them where
they are far better than how far to carry them. This step carries them: each hinted cell at the render size
pulls the colour of the pixels around it toward its own, in proportion to a joint bilateral weight (near in
space, similar in lightness, as in edge-aware colorization by optimisation), and the pull fades where no hint
is near. Only the correction (hint minus the network's prediction at the hint) is spread, so away from hints
the network's colours are untouched and at a hint the output is the hint's colour.

The model's chroma gain (its calibration against the regression's muted colour, from its metadata) is applied
here too, but only where no hint speaks: a pixel's gain fades from the model's to 1 as the hints' weight
there grows (`coverage`, the same weights' total over total + FLOOR). Lifting every colour and then
correcting toward the hints had cost 10 hints 0.5 dB on val/wallpapers (24.12 against 24.63 dB).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from deepcolor.normalization import AB_SCALE

SPATIAL_SIGMA = 0.20  # fraction of the longer side (0.1-0.3 and LIGHTNESS_SIGMA 10-25 tried on BSD100/val)
LIGHTNESS_SIGMA = 10.0  # L* units
FLOOR = 0.05  # weight below which the pull fades (one hint at distance 0 and equal L weighs 1)
WORK_SIDE = 128  # the weights are computed on a grid of at most this longer side
MAX_POINTS = 512


def propagate_hints(
    l: torch.Tensor,
    ab: torch.Tensor,
    hints: torch.Tensor,
    spatial_sigma: float = SPATIAL_SIGMA,
    lightness_sigma: float = LIGHTNESS_SIGMA,
    floor: float = FLOOR,
    gain: float = 1.0,
    spread: bool = True,
) -> torch.Tensor:
    """ab (B, 2, h, w) a*b* predicted for L* (B, 1, h, w), hints (B, 3, h, w) as the model reads them
    (ab_norm + mask) at the same size -> ab with each hint's correction spread edge-aware around it, and
    `gain` applied where the hints do not reach (an image without hints: ab x gain). `spread=False` (a model
    that carries its hints itself: `hint_spread`) keeps only the gain's fading and the exact hinted pixels."""
    out = ab * gain
    height, width = l.shape[-2:]
    scale = min(1.0, WORK_SIDE / max(height, width))
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    l_work = F.interpolate(l.float(), size=size, mode="area") if scale < 1 else l.float()
    yy = torch.arange(size[0], device=l.device, dtype=torch.float32).repeat_interleave(size[1])
    xx = torch.arange(size[1], device=l.device, dtype=torch.float32).repeat(size[0])
    sigma_px = spatial_sigma * max(size)
    for b in range(l.shape[0]):
        mask = hints[b, 2] > 0
        if not mask.any():
            continue
        ys, xs = torch.nonzero(mask, as_tuple=True)
        if ys.numel() > MAX_POINTS:
            keep = torch.linspace(0, ys.numel() - 1, MAX_POINTS, device=ys.device).long()
            ys, xs = ys[keep], xs[keep]
        delta = hints[b, :2, ys, xs].float() * AB_SCALE - ab[b, :, ys, xs].float()  # (2, n)
        l_points = l[b, 0, ys, xs].float()  # (n,)
        py, px = ys.float() * scale, xs.float() * scale
        d2 = (yy[None] - py[:, None]) ** 2 + (xx[None] - px[:, None]) ** 2  # (n, hw)
        dl = l_work[b, 0].reshape(1, -1) - l_points[:, None]
        weights = torch.exp(-d2 / (2 * sigma_px**2) - dl**2 / (2 * lightness_sigma**2))  # (n, hw)
        total = weights.sum(dim=0)  # (hw,)
        correction = (delta @ weights) / (total + floor)  # (2, hw)
        coverage = total / (total + floor)  # 0 far from every hint, near 1 at one
        fields = torch.cat((correction, coverage[None])).reshape(1, 3, *size)
        if scale < 1:
            fields = F.interpolate(fields, size=(height, width), mode="bilinear", align_corners=False)
        correction, coverage = fields[0, :2], fields[0, 2:]
        out[b] = ab[b] * (gain + (1.0 - gain) * coverage).to(out.dtype)
        if spread:
            out[b] += correction.to(out.dtype)
        # exactly the hint's colour where one was given (the lightness stays the photo's)
        out[b, :, mask] = hints[b, :2, mask].to(out.dtype) * AB_SCALE
    return out
