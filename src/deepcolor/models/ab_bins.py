"""The quantised in-gamut ab space of Zhang, Isola and Efros (ECCV 2016), computed here from first principles.

A dense sRGB cube (64 levels per channel, float64) is converted to Lab; a*b* are rounded to a grid (10 units);
every grid point that some sRGB colour rounds to is a bin. With grid 10 that gives 261 bins spanning
a in [-90, 100], b in [-110, 90] (Zhang's published set of 313 also keeps some bins next to the gamut edge).
"""

from __future__ import annotations

import functools
import math

import torch

from deepcolor.color import rgb_to_lab

CUBE_LEVELS = 64


@functools.lru_cache(maxsize=4)
def _in_gamut_bins(grid: float) -> torch.Tensor:
    v = torch.linspace(0.0, 1.0, CUBE_LEVELS, dtype=torch.float64)
    rgb = torch.stack(torch.meshgrid(v, v, v, indexing="ij")).reshape(3, -1, 1)  # (3, N, 1)
    ab = rgb_to_lab(rgb)[1:].reshape(2, -1).T  # (N, 2)
    cells = torch.unique(torch.round(ab / grid).long(), dim=0)  # (Q, 2) sorted by a then b
    return (cells.double() * grid).float()


def in_gamut_bins(grid: float = 10.0) -> torch.Tensor:
    """Bin centres (Q, 2) in a*b* units, sorted by a then b (Q = 261 for grid 10)."""
    if grid <= 0:
        raise ValueError(f"grid must be positive. Got {grid}")
    return _in_gamut_bins(float(grid)).clone()


def nearest_bin(ab: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """ab (B, 2, H, W) in a*b* units, centres (Q, 2) -> index of the nearest bin (B, H, W), int64."""
    d2 = _sq_dist(ab, centers)
    return d2.argmin(dim=1)


def _sq_dist(ab: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    # (B, 2, H, W), (Q, 2) -> (B, Q, H, W) squared distances
    diff = ab.unsqueeze(1) - centers.to(ab.dtype).view(1, -1, 2, 1, 1)
    return diff.pow(2).sum(dim=2)


def soft_encode(
    ab: torch.Tensor, centers: torch.Tensor, neighbors: int = 5, sigma: float = 5.0
) -> torch.Tensor:
    """Soft-encode ab (B, 2, H, W) in a*b* units over bins: a Gaussian (sigma, a*b* units) on the
    `neighbors` nearest centres, normalised to sum to 1. Returns (B, Q, H, W)."""
    d2 = _sq_dist(ab, centers)
    k = min(neighbors, centers.shape[0])
    near_d2, near_idx = d2.topk(k, dim=1, largest=False)  # (B, k, H, W)
    weights = torch.exp(-near_d2 / (2.0 * sigma**2))
    weights = weights / weights.sum(dim=1, keepdim=True)
    return torch.zeros_like(d2).scatter_(1, near_idx, weights)


def normalized_entropy(probs: torch.Tensor) -> torch.Tensor:
    """Entropy of bin distributions (B, Q, h, w) over dim 1, divided by its maximum log Q: (B, 1, h, w) in
    [0, 1], 0 where one bin is certain, 1 for the uniform distribution."""
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum(dim=1, keepdim=True)
    return entropy / math.log(probs.shape[1])


def annealed_mean(probs: torch.Tensor, centers: torch.Tensor, temperature: float = 0.38) -> torch.Tensor:
    """Annealed-mean decoding: probs (B, Q, H, W) -> ab (B, 2, H, W) in a*b* units.

    The distribution is sharpened to p^(1/T) / sum(p^(1/T)); T = 1 is the mean, T -> 0 the mode.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive. Got {temperature}")
    log_p = torch.log(probs.clamp_min(1e-30)) / temperature
    sharp = torch.softmax(log_p, dim=1)
    return torch.einsum("bqhw,qc->bchw", sharp, centers.to(sharp.dtype))


def rebalancing_weights(
    prior: torch.Tensor, centers: torch.Tensor, lam: float = 0.5, sigma: float = 5.0
) -> torch.Tensor:
    """Zhang's class-rebalancing weights w ∝ ((1 - lam) * p_smooth + lam / Q)^-1 with E_p_smooth[w] = 1.

    prior: (Q,) empirical bin probabilities; p_smooth is the prior blurred by a Gaussian (sigma, a*b* units).
    """
    d2 = (centers[:, None, :] - centers[None, :, :]).pow(2).sum(-1)  # (Q, Q)
    kernel = torch.exp(-d2 / (2.0 * sigma**2))
    smooth = kernel @ (prior / prior.sum())
    smooth = smooth / smooth.sum()
    q = prior.numel()
    weights = 1.0 / ((1.0 - lam) * smooth + lam / q)
    return weights / (smooth * weights).sum()
