"""LCP, local contrast-preserving decolorization: deepcolor's default colour -> grey method.

The grey of a pixel, in L* units, is

    g(x) = clip(mu_L + gain (L - mu_L) + w . (a - mu_a, b - mu_b, C - mu_C, 10)
                + c(x) . (L - mu_L, a - mu_a, b - mu_b, 10), 0, 100)

where C is the chroma sqrt(a^2 + b^2) and the mu are the photo's means.

- `gain` and `w` are global: two hues of equal lightness get different greys, as far as one direction (and
  the chroma) in the a*b* plane can separate the photo's colours.
- `c(x)` is local: four coefficients per tile of a `TILES` x `TILES` grid, interpolated bilinearly between
  the tile centres, so that the mapping can differ between, say, a red flower and the sky behind it.

Fitting. Everything is fitted on a copy whose longer side is `FIT_SIZE` pixels, over pixel pairs (every
4-neighbour pair and one random partner per pixel), with the contrast-preservation goal of Lu, Xu and Jia's
metrics: the grey difference of a pair should reach its CIELab colour difference `delta` (capped at 15.5,
past the largest threshold that the E-score looks at) and should not exceed it. That is a weighted L1 fit of
|g_x - g_y| to min(delta, 15.5), solved by iteratively reweighted least squares. The sign of each target is
the current sign of g_x - g_y, which starts as the sign of the lightness difference, so the lightness order
is kept. The fit knows about the clipping to [0, 100], weighs each pair by how rare its colour difference is
(the E-score averages over thresholds), and has ridge terms that pull towards plain lightness. The global
part is fitted first (`GLOBAL_ITERS` rounds); the tiles then fit what is left (`LOCAL_ITERS` rounds, each
tile's least squares with the other tiles held fixed).

Applying. The full-resolution pass streams over row bands: sRGB -> Lab (a fused conversion, uint8 through a
table), the tile coefficients (separable bilinear: two small matrix products per band), then L* -> sRGB grey.
A 50-megapixel photo needs its input, its output and a few bands of temporaries.

An effectively grey input (no chroma above `GREY_CHROMA` in the fitted copy) has nothing to preserve beyond
its lightness and is returned as its lightness, which for a neutral grey is the input itself.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from deepcolor.decolor._common import (
    band_lab,
    check_rgb,
    gray_from_lightness,
    lab_of,
    max_chroma,
    pixel_pairs,
    row_bands,
    thumbnail,
)

FIT_SIZE = 96  # longer side of the copy the mapping is fitted on
TILES = 6  # tiles per axis of the local coefficients
GLOBAL_ITERS = 10
LOCAL_ITERS = 5
MAX_PAIRS = 8000  # pairs the fit uses (a random subset when the copy has more)
TAU_MAX = 15.5  # the largest E-score threshold is 15: a larger grey difference earns nothing more
EPS = 0.5  # L1 reweighting floor, L* units
RIDGE_GLOBAL = 1e-3
RIDGE_LOCAL = 0.05
GREY_CHROMA = 1.0  # an image whose chroma never exceeds this (CIELab units) is treated as grey
OFFSET_SCALE = 10.0  # the constant feature, so that its coefficient is of the same order as the others
MIN_GAIN = 0.25  # the local lightness gain never goes below this: the lightness order is kept everywhere


@dataclass(frozen=True)
class LcpMapping:
    """A fitted LCP mapping (see the module docstring for the formula).

    Attributes:
        mu: (4,) mean L*, a*, b* and chroma of the fitted copy.
        gain: the global lightness gain.
        linear: (4,) global coefficients of (a - mu_a, b - mu_b, chroma - mu_C, 10).
        tiles: (TILES, TILES, 4) local coefficients (lightness, a*, b*, offset / 10) per tile.
    """

    mu: np.ndarray
    gain: float
    linear: np.ndarray
    tiles: np.ndarray

    @staticmethod
    def identity() -> LcpMapping:
        """The mapping that gives plain lightness."""
        return LcpMapping(np.zeros(4), 1.0, np.zeros(4), np.zeros((TILES, TILES, 4)))


# ---------------------------------------------------------------------------------------------- fitting


class _Pairs:
    """The fitting pairs of one copy (at most `MAX_PAIRS`) and what the reweighting needs about them."""

    def __init__(self, lab: np.ndarray, seed: int) -> None:
        h, w = lab.shape[:2]
        flat = lab.reshape(-1, 3)
        first, second = pixel_pairs(h, w, seed)
        if first.size > MAX_PAIRS:  # a random subset, drawn once: the fit needs the pairs' mix, not all
            keep = np.random.default_rng(seed + 1).choice(first.size, MAX_PAIRS, replace=False)
            first, second = first[keep], second[keep]
        self.first, self.second = first, second
        self.delta = np.linalg.norm(flat[first] - flat[second], axis=1)
        self.target = np.minimum(self.delta, TAU_MAX)
        # The E-score averages over thresholds tau = 1..15 the share of the pairs with delta >= tau that are
        # kept: a pair counts about 1 / #(delta >= tau) near its own delta.
        counts = first.size - np.searchsorted(np.sort(self.delta), np.arange(1.0, 16.0))
        counts = np.maximum(counts, 1)
        nearest = np.clip(np.round(self.target).astype(np.int64) - 1, 0, 14)
        self.importance = counts.mean() / counts[nearest]
        self.sat_high = self.delta >= TAU_MAX
        self.sat_low = self.delta < 1.0

    def weights(self, dg: np.ndarray) -> np.ndarray:
        """IRLS weights for the current grey differences: L1 reweighting, satisfied pairs left out."""
        ad = np.abs(dg)
        done = (self.sat_high & (ad >= TAU_MAX)) | (self.sat_low & (ad < 1.0))
        w = self.importance / np.maximum(np.abs(ad - self.target), EPS)
        w[done] = 0.0
        return w


def _fit_global(
    features: np.ndarray, base: float, pairs: _Pairs, theta0: np.ndarray, reg: np.ndarray
) -> np.ndarray:
    """IRLS for g = clip(base + features @ theta, 0, 100); `reg` (K, K) regularises towards `theta0`."""
    f, s = pairs.first, pairs.second
    diff = features[f] - features[s]  # d(dg)/d(theta) while neither end is clipped
    theta = theta0.copy()
    for _ in range(GLOBAL_ITERS):
        raw = base + features @ theta
        outside = (raw <= 0.0) | (raw >= 100.0)
        g = np.clip(raw, 0.0, 100.0)
        dg = g[f] - g[s]
        rows = diff
        if outside.any():  # a clipped end does not move: its features drop out of the pair's row
            hit = np.flatnonzero(outside[f] | outside[s])
            rows = diff.copy()
            fh, sh = f[hit], s[hit]
            rows[hit] = (~outside[fh, None]) * features[fh] - (~outside[sh, None]) * features[sh]
        weight = pairs.weights(dg)
        target = np.where(dg >= 0.0, 1.0, -1.0) * pairs.target - (dg - rows @ theta)
        total = max(float(weight.sum()), 1.0)
        weighted = rows * weight[:, None]
        lhs = weighted.T @ rows + total * reg
        rhs = weighted.T @ target + total * (reg @ theta0)
        theta = np.linalg.solve(lhs, rhs)
    return theta


def _fit_tiles(
    local: np.ndarray, base: np.ndarray, pairs: _Pairs, tile: np.ndarray, n_tiles: int
) -> np.ndarray:
    """IRLS for per-tile coefficients c: g = clip(base + local . c[tile], 0, 100); (T, K) coefficients."""
    f, s = pairs.first, pairs.second
    k = local.shape[1]
    # Rows of each tile's least squares: a pair inside one tile moves with it at both ends; a pair across
    # tiles gives a row to each end's tile, the other end held at its current value. A row is
    # sign_a * inside[end_a] * local[end_a] + sign_b * inside[end_b] * local[end_b] (sign_b = 0: one end).
    same = np.flatnonzero(tile[f] == tile[s])
    across = np.flatnonzero(tile[f] != tile[s])
    pair = np.concatenate([same, across, across])
    end_a = np.concatenate([f[same], f[across], s[across]])
    end_b = np.concatenate([s[same], s[across], s[across]])
    sign_a = np.concatenate([np.ones(same.size), np.ones(across.size), -np.ones(across.size)])
    sign_b = np.concatenate([-np.ones(same.size), np.zeros(2 * across.size)])
    owner = tile[end_a]
    local_a, local_b = local[end_a], local[end_b]
    iu, ju = np.triu_indices(k)
    coef = np.zeros((n_tiles, k))
    for _ in range(LOCAL_ITERS):
        raw = base + np.einsum("nk,nk->n", local, coef[tile])
        inside = ((raw > 0.0) & (raw < 100.0)).astype(np.float64)
        g = np.clip(raw, 0.0, 100.0)
        dg = g[f] - g[s]
        weight = pairs.weights(dg)
        want = np.where(dg >= 0.0, pairs.target, -pairs.target)
        rows = (sign_a * inside[end_a])[:, None] * local_a + (sign_b * inside[end_b])[:, None] * local_b
        target = (want - dg)[pair] + np.einsum("nk,nk->n", rows, coef[owner])
        wt = weight[pair]
        wrows = rows * wt[:, None]
        lhs = np.empty((n_tiles, k, k))
        for i, j in zip(iu, ju, strict=True):
            lhs[:, i, j] = lhs[:, j, i] = np.bincount(owner, wrows[:, i] * rows[:, j], minlength=n_tiles)
        rhs = np.stack([np.bincount(owner, wrows[:, i] * target, minlength=n_tiles) for i in range(k)], 1)
        total = np.maximum(np.bincount(owner, wt, minlength=n_tiles), 1.0)
        lhs += RIDGE_LOCAL * total[:, None, None] * np.eye(k)
        coef = np.linalg.solve(lhs, rhs[:, :, None])[:, :, 0]
    return coef


def fit_lcp(rgb: np.ndarray, seed: int = 0) -> LcpMapping:
    """Fit the LCP mapping of an image.

    Args:
        rgb: (H, W, 3) sRGB, uint8 or float in [0, 1].
        seed: seed of the random pixel pairs (the result is deterministic for a given seed).

    Returns:
        The fitted `LcpMapping` (`LcpMapping.identity()` for an effectively grey or tiny image).
    """
    rgb = check_rgb(rgb)
    lab = lab_of(thumbnail(rgb, FIT_SIZE))
    h, w = lab.shape[:2]
    if h * w < 4 or max_chroma(lab) <= GREY_CHROMA:
        return LcpMapping.identity()
    flat = lab.reshape(-1, 3)
    a, b = flat[:, 1], flat[:, 2]
    chroma = np.hypot(a, b)
    mu = np.array([*flat.mean(0), chroma.mean()])
    pairs = _Pairs(lab, seed)

    # Global: [L - mu_L, a - mu_a, b - mu_b, C - mu_C, 10].
    columns = [flat[:, 0] - mu[0], a - mu[1], b - mu[2], chroma - mu[3], np.full(a.size, OFFSET_SCALE)]
    features = np.stack(columns, 1)
    theta0 = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
    theta = _fit_global(features, mu[0], pairs, theta0, RIDGE_GLOBAL * np.eye(5))
    gain = max(float(theta[0]), MIN_GAIN)
    theta[0] = gain

    # Local: per tile [L - mu_L, a - mu_a, b - mu_b, 10], on top of the global grey.
    rows_tile = np.minimum(np.arange(h) * TILES // h, TILES - 1)
    cols_tile = np.minimum(np.arange(w) * TILES // w, TILES - 1)
    tile = (rows_tile[:, None] * TILES + cols_tile[None, :]).ravel()
    local = np.concatenate([flat - mu[:3], np.full((h * w, 1), OFFSET_SCALE)], axis=1)
    coef = _fit_tiles(local, mu[0] + features @ theta, pairs, tile, TILES * TILES)
    coef[:, 0] = np.maximum(coef[:, 0], MIN_GAIN - gain)  # never invert the lightness locally
    return LcpMapping(
        mu=mu,
        gain=gain,
        linear=theta[1:].copy(),
        tiles=coef.reshape(TILES, TILES, 4),
    )


# --------------------------------------------------------------------------------------------- applying


def _interp_matrix(length: int, n: int) -> np.ndarray:
    """(length, n) bilinear weights of pixel centres onto n tile centres (edges clamped)."""
    u = np.clip((np.arange(length) + 0.5) * n / length - 0.5, 0.0, n - 1)
    i = np.minimum(u.astype(np.int64), max(n - 2, 0))
    frac = u - i
    m = np.zeros((length, n), dtype=np.float32)
    if n == 1:
        m[:, 0] = 1.0
        return m
    m[np.arange(length), i] = 1.0 - frac
    m[np.arange(length), i + 1] = frac
    return m


def _apply_band(band: np.ndarray, mapping: LcpMapping, wy: np.ndarray, wxt: np.ndarray) -> np.ndarray:
    light, a, b = band_lab(band)
    mu = mapping.mu.astype(np.float32)
    lin = mapping.linear.astype(np.float32)
    g = lin[0] * (a - mu[1])
    g += lin[1] * (b - mu[2])
    g += lin[2] * (np.hypot(a, b) - mu[3])
    g += lin[3] * np.float32(OFFSET_SCALE)
    # Local coefficients: (rows, T) @ (T, T) @ (T, W) per coefficient.
    tiles = mapping.tiles.astype(np.float32)
    c = [(wy @ tiles[:, :, k]) @ wxt for k in range(4)]
    dl = light - mu[0]
    g += mu[0] + (np.float32(mapping.gain) + c[0]) * dl
    g += c[1] * (a - mu[1])
    g += c[2] * (b - mu[2])
    g += np.float32(OFFSET_SCALE) * c[3]
    return gray_from_lightness(g, out=g)


def apply_lcp(rgb: np.ndarray, mapping: LcpMapping, workers: int = 1) -> np.ndarray:
    """Apply a fitted mapping at full resolution, streaming over row bands.

    Args:
        rgb: (H, W, 3) sRGB, uint8 or float in [0, 1].
        mapping: from `fit_lcp`.
        workers: threads over bands (NumPy releases the GIL in its loops).

    Returns:
        (H, W) float32 sRGB grey in [0, 1].
    """
    rgb = check_rgb(rgb)
    h, w = rgb.shape[:2]
    t = mapping.tiles.shape[0]
    wy, wxt = _interp_matrix(h, t), _interp_matrix(w, t).T.copy()
    out = np.empty((h, w), dtype=np.float32)

    def run(rows: slice) -> None:
        out[rows] = _apply_band(rgb[rows], mapping, wy[rows], wxt)

    bands = list(row_bands(h, w))
    if workers > 1 and len(bands) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, bands))
    else:
        for rows in bands:
            run(rows)
    return out


def lcp(rgb: np.ndarray, seed: int = 0, workers: int | None = None) -> np.ndarray:
    """Local contrast-preserving decolorization (fit on a small copy, apply at full resolution).

    Args:
        rgb: (H, W, 3) sRGB, uint8 or float in [0, 1].
        seed: seed of the random pixel pairs of the fit.
        workers: threads for the full-resolution pass (None: up to 4, one per core, for images over one
            megapixel; else 1).

    Returns:
        (H, W) float32 sRGB grey in [0, 1].
    """
    rgb = check_rgb(rgb)
    mapping = fit_lcp(rgb, seed=seed)
    if workers is None:
        workers = min(4, os.cpu_count() or 1) if rgb.shape[0] * rgb.shape[1] > 1_000_000 else 1
    return apply_lcp(rgb, mapping, workers=workers)
