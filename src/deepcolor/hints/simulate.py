"""Hints drawn from the true colours, as Zhang et al. (SIGGRAPH 2017) trained their user-guided network.

Point hints: the number of points is geometric (p = 1/8, zero allowed); each is a square patch whose side
is uniform in 1..9 pixels, placed from a Gaussian centred on the image (sigma = a quarter of the side), and
carries the patch's mean ab. Global hints: the image's colour histogram over the ab bins and its mean chroma,
each given at random. All tensors are torch; the random draws use the given `torch.Generator` (or torch's
global one), so a run that saves and restores torch's RNG state replays them exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from deepcolor.models import ab_bins
from deepcolor.normalization import denormalize_ab

HISTOGRAM_STRIDE = 4  # histograms are counted on ab area-averaged to 1/4, like the class targets


def _randint(high: int, generator: torch.Generator | None) -> int:
    return int(torch.randint(high, (1,), generator=generator).item())


def point_hint_count(p: float, generator: torch.Generator | None = None, cap: int = 64) -> int:
    """A geometric count on {0, 1, 2, ...}: P(n) = (1 - p)^n p (mean (1 - p) / p), capped at `cap`."""
    u = float(torch.rand((), generator=generator).clamp_min(1e-12))
    n = int(torch.floor(torch.log(torch.tensor(u)) / torch.log(torch.tensor(1.0 - p))).item())
    return min(n, cap)


def place_point_hints(
    ab_norm: torch.Tensor,
    count: int,
    generator: torch.Generator | None = None,
    side_range: tuple[int, int] = (1, 9),
    fixed_side: int | None = None,
) -> torch.Tensor:
    """Hints for one image: ab_norm (2, H, W) truth -> hint map (3, H, W): patch mean ab and a 0/1 mask.

    Patch centres come from a Gaussian centred on the image with sigma = side / 4 per axis (clamped into the
    image); the side is uniform in `side_range` unless `fixed_side` is given.
    """
    _, h, w = ab_norm.shape
    hints = ab_norm.new_zeros(3, h, w)
    for _ in range(count):
        side = fixed_side or (side_range[0] + _randint(side_range[1] - side_range[0] + 1, generator))
        cy = h / 2 + float(torch.randn((), generator=generator)) * h / 4
        cx = w / 2 + float(torch.randn((), generator=generator)) * w / 4
        y0 = int(min(max(round(cy - side / 2), 0), max(h - side, 0)))
        x0 = int(min(max(round(cx - side / 2), 0), max(w - side, 0)))
        patch = ab_norm[:, y0 : y0 + side, x0 : x0 + side]
        hints[:2, y0 : y0 + side, x0 : x0 + side] = patch.mean(dim=(1, 2), keepdim=True)
        hints[2, y0 : y0 + side, x0 : x0 + side] = 1.0
    return hints


def simulate_point_hints(
    ab_norm: torch.Tensor, p: float = 0.125, free_prob: float = 0.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Training hints for a batch ab_norm (B, 2, H, W) -> (B, 3, H, W); `free_prob` of the images get none
    (on top of the geometric zero), so the same weights also learn the automatic task."""
    maps = []
    for item in ab_norm:
        free = float(torch.rand((), generator=generator)) < free_prob
        count = 0 if free else point_hint_count(p, generator)
        maps.append(place_point_hints(item, count, generator))
    return torch.stack(maps)


def color_histogram(ab_norm: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """ab_norm (B, 2, H, W) -> the share of pixels in each ab bin (B, Q), counted at 1/4 resolution."""
    h, w = ab_norm.shape[-2:]
    size = (max(1, h // HISTOGRAM_STRIDE), max(1, w // HISTOGRAM_STRIDE))
    ab = denormalize_ab(F.adaptive_avg_pool2d(ab_norm.float(), size))
    idx = ab_bins.nearest_bin(ab, centers).flatten(1)  # (B, n)
    q = centers.shape[0]
    counts = torch.zeros(ab.shape[0], q, device=ab.device).scatter_add_(
        1, idx, torch.ones_like(idx, dtype=ab.dtype)
    )
    return counts / counts.sum(dim=1, keepdim=True)


def mean_chroma(ab_norm: torch.Tensor) -> torch.Tensor:
    """ab_norm (B, 2, H, W) -> mean chroma sqrt(a^2 + b^2) per image (B,), in ab_norm units."""
    return ab_norm.float().pow(2).sum(dim=1).sqrt().mean(dim=(1, 2))


def global_hint_vector(
    histogram: torch.Tensor | None,
    chroma: torch.Tensor | None,
    batch: int,
    q: int,
    device: torch.device | str,
) -> torch.Tensor:
    """(B, Q + 3): [histogram (Q), histogram given, mean chroma, chroma given]; None means not given."""
    out = torch.zeros(batch, q + 3, device=device)
    if histogram is not None:
        out[:, :q] = histogram
        out[:, q] = 1.0
    if chroma is not None:
        out[:, q + 1] = chroma
        out[:, q + 2] = 1.0
    return out


def simulate_global_hints(
    ab_norm: torch.Tensor,
    centers: torch.Tensor,
    histogram_prob: float = 0.2,
    chroma_prob: float = 0.2,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Training global hints (B, Q + 3): each image's histogram (from a random crop of at least half its
    side, so the model learns a reference's palette rather than its layout) and mean chroma, each given with
    its probability."""
    b, _, h, w = ab_norm.shape
    q = centers.shape[0]
    out = torch.zeros(b, q + 3, device=ab_norm.device)
    for i in range(b):
        if float(torch.rand((), generator=generator)) < histogram_prob:
            ch = h // 2 + _randint(h - h // 2 + 1, generator)
            cw = w // 2 + _randint(w - w // 2 + 1, generator)
            y0, x0 = _randint(h - ch + 1, generator), _randint(w - cw + 1, generator)
            crop = ab_norm[i : i + 1, :, y0 : y0 + ch, x0 : x0 + cw]
            out[i, :q] = color_histogram(crop, centers)[0]
            out[i, q] = 1.0
        if float(torch.rand((), generator=generator)) < chroma_prob:
            out[i, q + 1] = mean_chroma(ab_norm[i : i + 1])[0]
            out[i, q + 2] = 1.0
    return out


def flat_images(
    batch: int, height: int, width: int, device: torch.device | str, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Texture-less grey inputs (B, 1, H, W) in l_norm units: a uniform level, a linear (or, for a quarter,
    radial) ramp of random direction and slope (none for a third of them), and faint noise of a random
    strength (none for a third); their true colour is neutral (the model must learn to leave such areas
    grey). Exactly uniform images are among them on purpose: with noise always present, a model learnt to
    key on the noise and still coloured a perfectly flat grey."""
    level = torch.rand(batch, 1, 1, 1, generator=generator) * 0.9 - 0.45
    # slopes up to the whole L* range across the image (a studio backdrop, a vignette)
    slope = (torch.rand(batch, 2, 1, 1, generator=generator) - 0.5) * 2.0
    slope = slope * (torch.rand(batch, 1, 1, 1, generator=generator) > 1 / 3)
    yy = torch.linspace(-0.5, 0.5, height).view(1, 1, height, 1)
    xx = torch.linspace(-0.5, 0.5, width).view(1, 1, 1, width)
    radial = torch.rand(batch, 1, 1, 1, generator=generator) < 0.25  # a quarter radial, centred at random
    centre = torch.rand(batch, 2, 1, 1, generator=generator) - 0.5
    distance = ((yy - centre[:, :1]) ** 2 + (xx - centre[:, 1:]) ** 2).sqrt()
    ramp = torch.where(radial, slope[:, :1] * distance, slope[:, :1] * yy + slope[:, 1:] * xx)
    strength = torch.rand(batch, 1, 1, 1, generator=generator) * 0.008
    strength = strength * (torch.rand(batch, 1, 1, 1, generator=generator) > 1 / 3)
    noise = torch.randn(batch, 1, height, width, generator=generator) * strength
    return (level + ramp + noise).clamp(-0.5, 0.5).to(device)
