"""LCP, local contrast-preserving decolorization: deepcolor's default colour -> grey method.

The grey of a pixel, in L* units, is

    g(x) = clip(mu_L + gain (L - mu_L) + w . (a - mu_a, b - mu_b, C - mu_C, 10)
                + c(x) . (L - mu_L, a - mu_a, b - mu_b, C - mu_C, 10), 0, 100)

where C is the chroma sqrt(a^2 + b^2) and the mu are the photo's means.

- `gain` and `w` are global: two hues of equal lightness get different greys, as far as one direction (and
  the chroma) in the a*b* plane can separate the photo's colours.
- `c(x)` is local: five coefficients per tile of a `TILES` x `TILES` grid, interpolated bilinearly between
  the tile centres, so that the mapping can differ between, say, a red flower and the sky behind it.

Fitting. Everything is fitted on a copy whose longer side is at most `FIT_SIZE` pixels, over pixel pairs
(every 4-neighbour pair and one random partner per pixel; at most `MAX_PAIRS` of them), with the
contrast-preservation goal of Lu, Xu and Jia's metrics: the grey difference of a pair should reach its CIELab
colour difference `delta` and should not exceed it. Differences above `TAU_MAX` count as reached: the E-score
looks at thresholds up to 15. That is a weighted L1 fit of |g_x - g_y| to min(delta, TAU_MAX), solved by
iteratively reweighted least squares. The sign of each target is the current sign of g_x - g_y, which starts
as the sign of the lightness difference, so the lightness order is kept. The fit knows about the clipping to
[0, 100], weighs each pair by how rare its colour difference is (the E-score averages over thresholds), and
has ridge terms that pull towards plain lightness. The global part is fitted first (`GLOBAL_ITERS` rounds);
the tiles then fit what is left (`LOCAL_ITERS` rounds, each tile's least squares with the other tiles held
fixed). Last, a calibration scales the whole departure from lightness by the factor in `SCALES` whose
E-score on the fitting pairs is highest (least squares match sizes, the score counts thresholds crossed).

Applying. The full-resolution pass streams over row bands of `BAND_PIXELS`: sRGB -> the companded
f(X), f(Y), f(Z) of CIELab (uint8 through a table), five coefficient maps (bilinear between tile centres:
two small matrix products per band, with L*, a* and b* folded into coefficients of f), then L* -> sRGB grey
through a table. A 50-megapixel photo needs its input, its output and a few bands of temporaries.

Small images. When the image is no larger than the fitting copy (`FIT_SIZE`, e.g. a 64 x 64 thumbnail),
the mapping's grey is refined with one free value per pixel (`refine_lightness`): the same weighted L1 fit,
over every pair within distance 2 and a random partner per pixel, with a ridge towards the mapping's grey.
It keeps more of the local contrast than the mapping can, also at distances it is not fitted on (first 200
tiny64-val images, E-score of the pairs at distance 3: 0.916 -> 0.921; knight's moves 0.921 -> 0.928;
distance 4: 0.915 -> 0.918). Larger images are not refined: per-pixel values found on the reduced copy
would only be blurred back up to full size, and photos would lose their speed.

An effectively grey input (no chroma above `GREY_CHROMA` in the fitted copy) has nothing to preserve beyond
its lightness and is returned as its lightness, which for a neutral grey is the input itself.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from deepcolor.decolor._common import (
    NEIGHBOURS,
    band_f,
    check_rgb,
    gray_from_lightness,
    gray_from_lightness_fast,
    lab_of,
    max_chroma,
    pixel_pairs,
    row_bands,
    scratch,
    thumbnail,
)

FIT_SIZE = 80  # longer side of the copy the mapping is fitted on
TILES = 12  # tiles per axis of the local coefficients
GLOBAL_ITERS = 10
LOCAL_ITERS = 4
MAX_PAIRS = 8000  # pairs the fit uses (a random subset when the copy has more)
TAU_MAX = 17.0  # past the largest E-score threshold (15): a larger grey difference earns nothing more
EPS = 1.0  # L1 reweighting floor, L* units
RIDGE_GLOBAL = 1e-3
RIDGE_LOCAL = 0.2
GREY_CHROMA = 1.0  # an image whose chroma never exceeds this (CIELab units) is treated as grey
OFFSET_SCALE = 10.0  # the constant feature, so that its coefficient is of the same order as the others
CALIBRATE = True
SCALES = (1.0, 0.6, 0.8, 0.9, 1.1, 1.25, 1.4, 1.6, 2.0)  # departures from lightness tried
MIN_GAIN = 0.25  # the local lightness gain never goes below this: the lightness order is kept everywhere
# per-pixel refinement of an image no larger than the fitting copy: every pair within distance 2
REFINE_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1), (0, 2), (2, 0))
REFINE_ITERS = 2  # reweighting rounds
REFINE_CG_STEPS = 15  # conjugate-gradient steps per round, at most
REFINE_RIDGE = 2.0  # pull towards the mapping's grey, relative to the mean pair weight


@dataclass(frozen=True)
class LcpMapping:
    """A fitted LCP mapping (see the module docstring for the formula).

    Attributes:
        mu: (4,) mean L*, a*, b* and chroma of the fitted copy.
        gain: the global lightness gain.
        linear: (4,) global coefficients of (a - mu_a, b - mu_b, chroma - mu_C, 10).
        tiles: (TILES, TILES, 5) local coefficients of (L - mu_L, a - mu_a, b - mu_b, C - mu_C, 10) per tile.
    """

    mu: np.ndarray
    gain: float
    linear: np.ndarray
    tiles: np.ndarray

    @staticmethod
    def identity() -> LcpMapping:
        """The mapping that gives plain lightness."""
        return LcpMapping(np.zeros(4), 1.0, np.zeros(4), np.zeros((TILES, TILES, 5)))

    @property
    def is_identity(self) -> bool:
        """Whether the mapping gives plain lightness."""
        return self.gain == 1.0 and not self.linear.any() and not self.tiles.any()


# ---------------------------------------------------------------------------------------------- fitting


class _Pairs:
    """The fitting pairs of one copy (at most `MAX_PAIRS`) and what the reweighting needs about them."""

    def __init__(
        self,
        lab: np.ndarray,
        seed: int,
        offsets: tuple[tuple[int, int], ...] = NEIGHBOURS,
        max_pairs: int | None = MAX_PAIRS,
    ) -> None:
        h, w = lab.shape[:2]
        flat = lab.reshape(-1, 3)
        first, second = pixel_pairs(h, w, seed, offsets)
        if max_pairs is not None and first.size > max_pairs:
            # a random subset, drawn once: the fit needs the pairs' mix, not all of them
            keep = np.random.default_rng(seed + 1).choice(first.size, max_pairs, replace=False)
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
    features_t = np.ascontiguousarray(features.T)  # (K, pixels): feature-major, contiguous rows
    diff = features_t[:, f] - features_t[:, s]  # (K, pairs): d(dg)/d(theta) while neither end is clipped
    theta = theta0.copy()
    for _ in range(GLOBAL_ITERS):
        raw = base + theta @ features_t
        outside = (raw <= 0.0) | (raw >= 100.0)
        if outside.any():  # a clipped end does not move: its features drop out of the pair's row
            g = np.clip(raw, 0.0, 100.0)
            dg = g[f] - g[s]
            hit = np.flatnonzero(outside[f] | outside[s])
            rows = diff.copy()
            fh, sh = f[hit], s[hit]
            rows[:, hit] = ~outside[fh] * features_t[:, fh] - ~outside[sh] * features_t[:, sh]
            offset = dg - theta @ rows
        else:  # nothing clipped: dg is linear in theta
            rows = diff
            dg = theta @ diff
            offset = 0.0
        weight = pairs.weights(dg)
        target = np.where(dg >= 0.0, pairs.target, -pairs.target) - offset
        total = max(float(weight.sum()), 1.0)
        weighted = rows * weight
        lhs = weighted @ rows.T + total * reg
        rhs = weighted @ target + total * (reg @ theta0)
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
    sign_b = np.concatenate([-np.ones(same.size), np.zeros(2 * across.size)])
    sign_a = np.concatenate([np.ones(same.size + across.size), -np.ones(across.size)])
    # Rows sorted by owning tile and stored feature-major, so that each iteration sums every tile's
    # normal equations with one reduceat over contiguous memory.
    order = np.argsort(tile[end_a].astype(np.int16), kind="stable")  # a radix sort on 16 bits
    pair, end_a, end_b, sign_a, sign_b = pair[order], end_a[order], end_b[order], sign_a[order], sign_b[order]
    owner = tile[end_a]
    present, starts = np.unique(owner, return_index=True)
    local_t = np.ascontiguousarray(local.T)  # (K, pixels)
    iu, ju = np.triu_indices(k)
    # Large per-row arrays live in reused scratch memory (fresh ones cost page faults on every photo).
    n_sums = iu.size + k + 1
    work = scratch(3 * k + n_sums, (owner.size,), np.float64)
    local_a, local_b, rows_free = work[:k], work[k : 2 * k], work[2 * k : 3 * k]
    stacked = work[3 * k :]  # refilled every round: each tile's normal equations, summed by reduceat
    np.take(local_t, end_a, axis=1, out=local_a)
    np.take(local_t, end_b, axis=1, out=local_b)
    np.multiply(sign_a, local_a, out=rows_free)
    rows_free += np.multiply(sign_b, local_b, out=stacked[:k])  # (K, n): no end clipped
    coef = np.zeros((n_tiles, k))
    lhs = np.zeros((n_tiles, k, k))
    rhs = np.zeros((n_tiles, k))
    total = np.ones(n_tiles)
    eye = np.eye(k)
    for _ in range(LOCAL_ITERS):
        contribution = np.einsum("kn,nk->n", local_t, coef[tile])
        raw = base + contribution
        inside = (raw > 0.0) & (raw < 100.0)
        g = np.clip(raw, 0.0, 100.0)
        dg = g[f] - g[s]
        weight = pairs.weights(dg)
        want = np.where(dg >= 0.0, pairs.target, -pairs.target)
        rows, scale_a, scale_b = rows_free, sign_a, sign_b
        if not inside.all():  # rows with a clipped end lose that end's features
            keep = inside.astype(np.float64)
            scale_a, scale_b = sign_a * keep[end_a], sign_b * keep[end_b]
            hit = np.flatnonzero((scale_a != sign_a) | (scale_b != sign_b))
            rows = rows_free.copy()
            rows[:, hit] = scale_a[hit] * local_a[:, hit] + scale_b[hit] * local_b[:, hit]
        # rows . coef[owner], from the per-pixel contributions (end_b is in the owner's tile or unused)
        current = scale_a * contribution[end_a] + scale_b * contribution[end_b]
        target = (want - dg)[pair] + current
        wt = weight[pair]
        wrows = rows * wt
        for m, (i, j) in enumerate(zip(iu, ju, strict=True)):
            np.multiply(wrows[i], rows[j], out=stacked[m])
        np.multiply(wrows, target, out=stacked[iu.size : iu.size + k])
        stacked[-1] = wt
        sums = np.add.reduceat(stacked, starts, axis=1)  # (15 + K + 1, tiles present)
        lhs[present[:, None], iu, ju] = sums[: iu.size].T
        lhs[present[:, None], ju, iu] = sums[: iu.size].T
        rhs[present] = sums[iu.size : iu.size + k].T
        total[present] = np.maximum(sums[-1], 1.0)
        coef = np.linalg.solve(lhs + RIDGE_LOCAL * total[:, None, None] * eye, rhs[:, :, None])[:, :, 0]
    return coef


def fit_lcp(rgb: np.ndarray, seed: int = 0) -> LcpMapping:
    """Fit the LCP mapping of an image.

    Args:
        rgb: (H, W, 3) sRGB, uint8 or float in [0, 1].
        seed: seed of the random pixel pairs (the result is deterministic for a given seed).

    Returns:
        The fitted `LcpMapping` (`LcpMapping.identity()` for an effectively grey or tiny image).
    """
    return _fit_copy(lab_of(thumbnail(check_rgb(rgb), FIT_SIZE)), seed)


def _fit_copy(lab: np.ndarray, seed: int) -> LcpMapping:
    """`fit_lcp` on the fitting copy, given as (h, w, 3) CIELab."""
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
    local = features.copy()
    coef = _fit_tiles(local, mu[0] + features @ theta, pairs, tile, TILES * TILES)
    coef[:, 0] = np.maximum(coef[:, 0], MIN_GAIN - gain)  # never invert the lightness locally
    mapping = LcpMapping(mu=mu, gain=gain, linear=theta[1:].copy(), tiles=coef.reshape(TILES, TILES, 5))
    return _calibrate(mapping, lab, pairs) if CALIBRATE else mapping


def _grey_of_copy(mapping: LcpMapping, lab: np.ndarray) -> np.ndarray:
    """The mapping's L* grey (unclipped) on the fitting copy, tiles interpolated as at full resolution."""
    h, w = lab.shape[:2]
    wy, wxt = _interp_matrix(h, TILES), _interp_matrix(w, TILES).T
    c = [wy @ mapping.tiles[:, :, k] @ wxt for k in range(5)]
    light, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    mu, lin = mapping.mu, mapping.linear
    g = mu[0] + (mapping.gain + c[0]) * (light - mu[0]) + (lin[0] + c[1]) * (a - mu[1])
    g += (lin[1] + c[2]) * (b - mu[2]) + (lin[2] + c[3]) * (np.hypot(a, b) - mu[3])
    g += OFFSET_SCALE * (lin[3] + c[4])
    return g.ravel()


def _hard_escore(dg: np.ndarray, delta: np.ndarray) -> float:
    """The E-score of the pairs (mean over tau = 1..15), from a joint histogram of integer parts."""
    n = 17
    grey_bin = np.minimum(dg, n - 1).astype(np.int64)  # dg >= tau  <=> floor(dg) >= tau
    floor_bin = np.minimum(delta, n - 1).astype(np.int64)
    ceil_bin = np.minimum(np.ceil(delta), n - 1).astype(np.int64)  # delta <= tau <=> ceil(delta) <= tau
    kept = np.bincount(floor_bin * n + grey_bin, minlength=n * n).reshape(n, n)
    kept = kept[::-1, ::-1].cumsum(0).cumsum(1)[::-1, ::-1]  # [i, j]: floor(delta) >= i and floor(dg) >= j
    false = np.bincount(ceil_bin * n + grey_bin, minlength=n * n).reshape(n, n)
    false = false.cumsum(0)[:, ::-1].cumsum(1)[:, ::-1]  # [i, j]: ceil(delta) <= i and floor(dg) >= j
    t = np.arange(1, 16)
    omega, theta = kept[t, 0], kept[0, t]
    ccpr = np.where(omega > 0, kept[t, t] / np.maximum(omega, 1), 1.0)
    ccfr = np.where(theta > 0, 1.0 - false[t, t] / np.maximum(theta, 1), 1.0)
    return float(np.mean(2.0 * ccpr * ccfr / np.maximum(ccpr + ccfr, 1e-12)))


def _calibrate(mapping: LcpMapping, lab: np.ndarray, pairs: _Pairs) -> LcpMapping:
    """Scale the mapping's departure from lightness by the factor in `SCALES` that scores best on the
    fitting pairs (the least squares fit the sizes of grey differences, not the thresholds directly)."""
    light = lab[..., 0].ravel()
    departure = _grey_of_copy(mapping, lab) - light
    best, best_scale = -1.0, 1.0
    for scale in SCALES:
        g = np.clip(light + scale * departure, 0.0, 100.0)
        score = _hard_escore(np.abs(g[pairs.first] - g[pairs.second]), pairs.delta)
        if score > best + 1e-9:
            best, best_scale = score, scale
    if best_scale == 1.0:
        return mapping
    return LcpMapping(
        mu=mapping.mu,
        gain=1.0 + best_scale * (mapping.gain - 1.0),
        linear=best_scale * mapping.linear,
        tiles=best_scale * mapping.tiles,
    )


def refine_lightness(lab: np.ndarray, light: np.ndarray, seed: int = 0) -> np.ndarray:
    """Refine a grey per pixel: the same weighted L1 fit as the mapping's, with one free value per pixel.

    For an image no larger than the fitting copy, the fitted mapping's grey can be improved pixel by pixel:
    over every pair within distance 2 (offsets `REFINE_OFFSETS`: 12 neighbours per pixel) and one random
    partner per pixel, |g_x - g_y| is fitted to min(delta, `TAU_MAX`) by IRLS as in the fit, with a ridge
    towards `light`, the mapping's grey. Each round's least squares (the pair graph's weighted Laplacian
    plus the ridge) is solved by conjugate gradients with a diagonal preconditioner.

    Args:
        lab: (h, w, 3) CIELab of the image.
        light: (h, w) the mapping's grey, L* units.
        seed: seed of the random partners (the fit's own stream, never the E-score's).

    Returns:
        (h, w) float64 refined grey, L* in [0, 100].
    """
    h, w = lab.shape[:2]
    n = h * w
    pairs = _Pairs(lab, seed, REFINE_OFFSETS, max_pairs=None)
    f, s = pairs.first, pairs.second
    start = np.clip(light.ravel().astype(np.float64), 0.0, 100.0)
    g = start.copy()
    for _ in range(REFINE_ITERS):
        dg = g[f] - g[s]
        weight = pairs.weights(dg)
        want = weight * np.where(dg >= 0.0, pairs.target, -pairs.target)
        ridge = REFINE_RIDGE * max(float(weight.sum()), 1.0) / f.size

        def laplacian(x: np.ndarray, weight: np.ndarray = weight, ridge: float = ridge) -> np.ndarray:
            wd = weight * (x[f] - x[s])
            return np.bincount(f, wd, n) - np.bincount(s, wd, n) + ridge * x

        rhs = np.bincount(f, want, n) - np.bincount(s, want, n) + ridge * start
        diagonal = np.bincount(f, weight, n) + np.bincount(s, weight, n) + ridge
        g = _conjugate_gradients(laplacian, rhs, diagonal, g, REFINE_CG_STEPS)
        np.clip(g, 0.0, 100.0, out=g)
    return g.reshape(h, w)


def _conjugate_gradients(
    matvec: Callable[[np.ndarray], np.ndarray], b: np.ndarray, diagonal: np.ndarray, x: np.ndarray, steps: int
) -> np.ndarray:
    """Solve A x = b (A symmetric positive definite, given by `matvec`) from `x`, with a Jacobi
    preconditioner, for at most `steps` steps or until the residual is 1e-4 of b's size."""
    x = x.copy()
    r = b - matvec(x)
    z = r / diagonal
    p = z.copy()
    rz = float(r @ z)
    stop = 1e-8 * float(b @ b)
    for _ in range(steps):
        if float(r @ r) <= stop:
            break
        q = matvec(p)
        alpha = rz / float(p @ q)
        x += alpha * p
        r -= alpha * q
        z = r / diagonal
        rz, rz_old = float(r @ z), rz
        p *= rz / rz_old
        p += z
    return x


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


def _fx_fy_fz_tables(mapping: LcpMapping) -> np.ndarray:
    """(T, T, 5) tables of the per-pixel coefficients of (fx, fy, fz, C, 1): the global and local parts of
    the mapping folded together and rewritten from (L*, a*, b*) to the companded values L*, a* and b* come
    from, so that the full-resolution pass does the fewest operations per pixel."""
    tiles = mapping.tiles.astype(np.float64)
    c = [tiles[:, :, k] for k in range(5)]
    c[0] = c[0] + mapping.gain
    for k in range(4):
        c[k + 1] = c[k + 1] + mapping.linear[k]
    mu = mapping.mu
    # g = c0 (L - mu_L) + c1 (a - mu_a) + c2 (b - mu_b) + c3 (C - mu_C) + 10 c4 + mu_L, with
    # L = 116 fy - 16, a = 500 (fx - fy), b = 200 (fy - fz).
    alpha = 500.0 * c[1]
    beta = 116.0 * c[0] - 500.0 * c[1] + 200.0 * c[2]
    gamma = -200.0 * c[2]
    const = OFFSET_SCALE * c[4] + mu[0] - c[0] * (mu[0] + 16.0) - c[1] * mu[1] - c[2] * mu[2] - c[3] * mu[3]
    return np.stack([alpha, beta, gamma, c[3], const], axis=2).astype(np.float32)


def _apply_band(
    band: np.ndarray, tables: np.ndarray, wy: np.ndarray, wxt: np.ndarray, out: np.ndarray
) -> None:
    """One row band of the full-resolution pass, into `out` (rows, W), in reused scratch memory."""
    work = scratch(10, band.shape[:2])
    fx, fy, fz = band_f(band, out=work[:3], work=work[3:7])
    maps = work[3:8]
    for k in range(5):
        np.matmul(wy @ tables[:, :, k], wxt, out=maps[k])  # (rows, T) @ (T, T) @ (T, W)
    a = np.subtract(fx, fy, out=work[8])
    a *= np.float32(500.0)
    a *= a
    b = np.subtract(fy, fz, out=work[9])
    b *= np.float32(200.0)
    b *= b
    a += b
    g = np.sqrt(a, out=a)  # the chroma; np.hypot was 6x slower here
    g *= maps[3]
    g += maps[4]
    for m, f in ((maps[0], fx), (maps[1], fy), (maps[2], fz)):
        m *= f
        g += m
    gray_from_lightness_fast(g, out=out)


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
    tables = _fx_fy_fz_tables(mapping)
    out = np.empty((h, w), dtype=np.float32)

    def run(rows: slice) -> None:
        _apply_band(rgb[rows], tables, wy[rows], wxt, out[rows])

    bands = list(row_bands(h, w))
    if workers > 1 and len(bands) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, bands))
    else:
        for rows in bands:
            run(rows)
    return out


def lcp(rgb: np.ndarray, seed: int = 0, workers: int = 1) -> np.ndarray:
    """Local contrast-preserving decolorization (fit on a small copy, apply at full resolution).

    Args:
        rgb: (H, W, 3) sRGB, uint8 or float in [0, 1].
        seed: seed of the random pixel pairs of the fit.
        workers: threads for the full-resolution pass. NumPy's many short loops contend for the GIL, so
            more threads were slower on the 2-core machine we measured on (benchmarks/decolorize.py).

    Returns:
        (H, W) float32 sRGB grey in [0, 1].
    """
    rgb = check_rgb(rgb)
    lab = lab_of(thumbnail(rgb, FIT_SIZE))
    mapping = _fit_copy(lab, seed)
    h, w = rgb.shape[:2]
    if lab.shape[:2] != (h, w) or mapping.is_identity:
        return apply_lcp(rgb, mapping, workers=workers)
    # the fitting copy is the image itself: refine the mapping's grey pixel by pixel
    light = _grey_of_copy(mapping, lab).reshape(h, w)
    return gray_from_lightness(refine_lightness(lab, light, seed))
