"""CPD: contrast-preserving decolorization of Lu, Xu and Jia (ICCP 2012), our implementation.

The grey is a polynomial of the gamma-encoded colour, all monomials of degree 1 and 2:

    g = sum_k w_k m_k(r, g, b),   m = (r, g, b, rg, rb, gb, r^2, g^2, b^2)

and w minimises a bimodal contrast energy over pixel pairs (x, y):

    E(w) = - sum_xy ln( N(g_x - g_y; +delta_xy, sigma^2) + N(g_x - g_y; -delta_xy, sigma^2) )

with delta_xy the CIELab distance of the pair / 100: the grey difference should have the size of the colour
difference, with either sign. As in the paper the energy is minimised by expectation-maximisation: given w,
each pair's posterior alpha of the "+" mode is computed; given the alphas, w solves the linear least squares
sum_xy (g_x - g_y - (2 alpha - 1) delta_xy)^2. The initial w fits the luminance, so the first signs are those
of the lightness order.

Our choices, where the paper leaves room: the fit is on a copy whose longer side is `CPD_SIZE` pixels; the
pairs are every 4-neighbour pair and one random partner per pixel; sigma = `SIGMA`; `ITERATIONS` rounds; the
full-resolution result is stretched to [0, 1] by its minimum and maximum, as the authors' code and OpenCV's
`cv2.decolor` do. An effectively grey input is returned as its lightness (its colour differences are all
lightness differences, so that is the exact optimum).
"""

from __future__ import annotations

import numpy as np

from deepcolor.decolor._common import check_rgb, lab_of, max_chroma, pixel_pairs, row_bands, thumbnail
from deepcolor.decolor.methods import lightness

CPD_SIZE = 64
SIGMA = 0.02
ITERATIONS = 15
RIDGE = 1e-6
GREY_CHROMA = 1.0


def _monomials(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB in [0, 1] -> (..., 9) monomials of degree 1 and 2."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.stack([r, g, b, r * g, r * b, g * b, r * r, g * g, b * b], axis=-1)


def fit_cpd(rgb: np.ndarray, seed: int = 0) -> np.ndarray | None:
    """Fit the CPD polynomial of an image.

    Args:
        rgb: (H, W, 3) sRGB, uint8 or float in [0, 1].
        seed: seed of the random pixel pairs.

    Returns:
        (9,) weights of the monomials, or None for an effectively grey image.
    """
    rgb = check_rgb(rgb)
    small = thumbnail(rgb, CPD_SIZE)
    lab = lab_of(small)
    h, w = small.shape[:2]
    if h * w < 4 or max_chroma(lab) <= GREY_CHROMA:
        return None
    first, second = pixel_pairs(h, w, seed)
    flat_lab = lab.reshape(-1, 3)
    delta = np.linalg.norm(flat_lab[first] - flat_lab[second], axis=1) / 100.0
    mono = _monomials(small.reshape(-1, 3))
    diff = mono[first] - mono[second]  # (P, 9)
    gram = diff.T @ diff + RIDGE * len(diff) * np.eye(9)
    # Start from the least-squares polynomial of the luminance-ordered grey (lightness / 100).
    weights = np.linalg.lstsq(mono, flat_lab[:, 0] / 100.0, rcond=None)[0]
    for _ in range(ITERATIONS):
        dg = diff @ weights
        # Posterior of the "+" mode: N(dg - delta) / (N(dg - delta) + N(dg + delta)), computed stably.
        alpha = 1.0 / (1.0 + np.exp(np.clip(-2.0 * dg * delta / SIGMA**2, -60.0, 60.0)))
        target = (2.0 * alpha - 1.0) * delta
        weights = np.linalg.solve(gram, diff.T @ target)
    return weights


def cpd(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """Contrast-preserving decolorization (Lu, Xu and Jia 2012), our implementation.

    Args:
        rgb: (H, W, 3) sRGB, uint8 or float in [0, 1].
        seed: seed of the random pixel pairs of the fit.

    Returns:
        (H, W) float32 grey in [0, 1], stretched to the full range.
    """
    rgb = check_rgb(rgb)
    weights = fit_cpd(rgb, seed)
    if weights is None:
        return lightness(rgb)
    h, w = rgb.shape[:2]
    out = np.empty((h, w), dtype=np.float32)
    scale = np.float32(1.0 / 255.0) if rgb.dtype == np.uint8 else np.float32(1.0)
    wk = weights.astype(np.float32)
    for rows in row_bands(h, w):
        band = rgb[rows].astype(np.float32) * scale
        out[rows] = _monomials(band) @ wk
    lo, hi = float(out.min()), float(out.max())
    if hi - lo < 1e-6:
        return lightness(rgb)
    out -= lo
    out *= np.float32(1.0 / (hi - lo))
    return np.clip(out, 0.0, 1.0, out=out)
