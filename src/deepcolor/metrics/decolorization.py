"""Contrast-preservation scores for colour -> grey conversion: CCPR, CCFR and the E-score.

After Lu, Xu and Jia, "Contrast preserving decolorization with perception-based quality metrics" (IJCV 2014).
A pair of pixels (x, y) has a colour distance `delta` (CIELab, Euclidean: CIE76 Delta E) and a grey distance
`dg` (the L* of the two grey values). For a threshold `tau`:

- CCPR (colour contrast preserving ratio): of the pairs whose colour difference is visible
  (`delta >= tau`), the share whose grey difference is visible too (`dg >= tau`).
- CCFR (colour content fidelity ratio): 1 - the share of the pairs with a visible grey difference
  (`dg > tau`) whose colour difference is not visible (`delta <= tau`): contrast the grey invented.
- E-score: their harmonic mean, `2 * CCPR * CCFR / (CCPR + CCFR)`.

The protocol, exactly (every choice below is ours where the paper leaves room):

1. Size. The colour image and the grey image are resized together so that the longer side is at most
   `METRIC_SIZE` = 256 pixels (antialiased bilinear on the sRGB values, never enlarged); BSD100's 480 x 320
   becomes 256 x 171, Tiny-ImageNet's 64 x 64 stays as it is.
2. Pairs. Every 4-neighbour pair once (each pixel with its right and its lower neighbour) plus one random
   pair per pixel: pixel i with pixel `perm[i]`, where `perm` is a permutation of the pixels drawn from
   `numpy.random.default_rng(seed)` (seed 0 by default), so a score is deterministic. About 3 pairs per pixel.
3. Colour distance: CIE76 Delta E in CIELab (D65, sRGB input, `deepcolor.color.numpy.rgb_to_lab` in float64,
   which matches scikit-image's `rgb2lab`).
4. Grey distance in L*: a grey value g in [0, 1] is read as the neutral sRGB colour (g, g, g) and replaced
   by its CIE L*, so two greys that look `tau` apart in lightness are `tau` apart here. (A method that writes
   L*/100 as the grey value is therefore *not* scored as exact lightness; write sRGB grey instead.)
5. Thresholds: tau = 1, 2, ..., 15 (`TAUS`).
6. Empty sets: when no pair has `delta >= tau`, CCPR(tau) = 1 (nothing to lose); when no pair has
   `dg > tau`, CCFR(tau) = 1 (nothing invented); E(tau) = 0 when CCPR + CCFR = 0.
7. Averaging: E-score(tau) from CCPR(tau) and CCFR(tau), then the mean over the 15 thresholds gives an
   image's E-score; a data set's score is the plain mean of its images' scores.

All functions take `rgb` as (H, W, 3) sRGB, float in [0, 1] or uint8, and `gray` as (H, W) (or (H, W, 1))
sRGB grey, float in [0, 1] or uint8 (or uint16, scaled by 65535), of the same H and W.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from deepcolor.color import numpy as color_np

TAUS: tuple[int, ...] = tuple(range(1, 16))
METRIC_SIZE = 256

__all__ = [
    "METRIC_SIZE",
    "TAUS",
    "ContrastPairs",
    "ContrastScores",
    "ccfr",
    "ccpr",
    "contrast_pairs",
    "contrast_scores",
    "escore",
    "gray_lightness",
]


def _to_float(image: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float64) / 65535.0
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name} must be float in [0, 1], uint8 or uint16. Got dtype {array.dtype}")
    return np.clip(array.astype(np.float64), 0.0, 1.0)


def _resize(image: np.ndarray, size: int | None) -> np.ndarray:
    """(H, W, C) float64 -> longer side at most `size` (antialiased bilinear, never enlarged)."""
    h, w = image.shape[:2]
    if size is None or max(h, w) <= size:
        return image
    scale = size / max(h, w)
    out_hw = (max(1, round(h * scale)), max(1, round(w * scale)))
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    y = F.interpolate(x, size=out_hw, mode="bilinear", antialias=True, align_corners=False)
    return y[0].numpy().transpose(1, 2, 0).clip(0.0, 1.0)


def gray_lightness(gray: np.ndarray) -> np.ndarray:
    """CIE L* of neutral sRGB greys: grey in [0, 1] of any shape -> float64 L* in [0, 100], same shape."""
    g = np.clip(np.asarray(gray, dtype=np.float64), 0.0, 1.0)
    rgb = np.repeat(g.reshape(1, -1, 1), 3, axis=-1)
    return color_np.rgb_to_lab(rgb)[..., 0].reshape(g.shape)


def _pair_indices(h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices (first, second) of the 4-neighbour pairs and one random partner per pixel."""
    idx = np.arange(h * w).reshape(h, w)
    right = (idx[:, :-1].ravel(), idx[:, 1:].ravel())
    down = (idx[:-1, :].ravel(), idx[1:, :].ravel())
    perm = np.random.default_rng(seed).permutation(h * w)
    first = np.concatenate([right[0], down[0], idx.ravel()])
    second = np.concatenate([right[1], down[1], perm])
    return first, second


@dataclass(frozen=True)
class ContrastScores:
    """Scores of one grey image, one value per threshold in `taus`: each (T,) float64 in [0, 1]."""

    taus: np.ndarray
    ccpr: np.ndarray
    ccfr: np.ndarray
    escore: np.ndarray

    @property
    def mean_escore(self) -> float:
        """The image's E-score: the mean of E(tau) over the thresholds."""
        return float(self.escore.mean())


@dataclass(frozen=True)
class ContrastPairs:
    """A colour image prepared for scoring many grey versions of it (the pairs and their colour distances).

    Build it with `contrast_pairs(rgb)`, then call `score(gray)` once per method: the CIELab conversion and
    the pair sampling are done once.
    """

    shape: tuple[int, int]  # (H, W) of the input image
    metric_shape: tuple[int, int]  # (h, w) after the resize
    first: np.ndarray  # (P,) flat pixel indices at metric size
    second: np.ndarray  # (P,)
    delta: np.ndarray  # (P,) CIE76 colour distance of each pair
    size: int | None
    taus: np.ndarray  # (T,)

    def score(self, gray: np.ndarray) -> ContrastScores:
        """Score a grey version (H, W) or (H, W, 1) of the prepared image (see the module docstring)."""
        g = _to_float(gray, "gray")
        if g.ndim == 3 and g.shape[2] == 1:
            g = g[:, :, 0]
        if g.shape != self.shape:
            raise ValueError(f"gray must have shape {self.shape} (the colour image's H, W). Got {g.shape}")
        light = gray_lightness(_resize(g[:, :, None], self.size)[:, :, 0]).ravel()
        dg = np.abs(light[self.first] - light[self.second])  # (P,)
        taus = self.taus[None, :]  # (1, T)
        delta = self.delta[:, None]  # (P, 1)
        visible_colour = delta >= taus  # (P, T): the set Omega for each tau
        n_omega = visible_colour.sum(0)
        kept = (visible_colour & (dg[:, None] >= taus)).sum(0)
        visible_gray = dg[:, None] > taus  # the set Theta
        n_theta = visible_gray.sum(0)
        invented = (visible_gray & (delta <= taus)).sum(0)
        ccpr_t = np.where(n_omega > 0, kept / np.maximum(n_omega, 1), 1.0)
        ccfr_t = np.where(n_theta > 0, 1.0 - invented / np.maximum(n_theta, 1), 1.0)
        total = ccpr_t + ccfr_t
        e_t = np.where(total > 0, 2.0 * ccpr_t * ccfr_t / np.where(total > 0, total, 1.0), 0.0)
        return ContrastScores(self.taus.copy(), ccpr_t, ccfr_t, e_t)


def contrast_pairs(
    rgb: np.ndarray, *, size: int | None = METRIC_SIZE, taus: tuple[int, ...] = TAUS, seed: int = 0
) -> ContrastPairs:
    """Prepare a colour image for scoring: resize, convert to CIELab, sample the pairs.

    Args:
        rgb: (H, W, 3) sRGB, float in [0, 1] or uint8.
        size: longer side of the metric image (None: the image's own size).
        taus: the thresholds, in CIELab units.
        seed: seed of the random pairs.
    """
    image = _to_float(rgb, "rgb")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"rgb must have shape (H, W, 3). Got {image.shape}")
    if min(image.shape[:2]) < 2:
        raise ValueError(f"rgb must be at least 2 x 2 pixels. Got {image.shape[:2]}")
    small = _resize(image, size)
    h, w = small.shape[:2]
    lab = color_np.rgb_to_lab(np.ascontiguousarray(small)).reshape(-1, 3)
    first, second = _pair_indices(h, w, seed)
    delta = np.linalg.norm(lab[first] - lab[second], axis=1)
    return ContrastPairs(
        shape=image.shape[:2],
        metric_shape=(h, w),
        first=first,
        second=second,
        delta=delta,
        size=size,
        taus=np.asarray(taus, dtype=np.float64),
    )


def contrast_scores(
    rgb: np.ndarray,
    gray: np.ndarray,
    *,
    size: int | None = METRIC_SIZE,
    taus: tuple[int, ...] = TAUS,
    seed: int = 0,
) -> ContrastScores:
    """CCPR, CCFR and E per threshold of `gray` as a grey version of `rgb` (protocol in the module docstring).

    Args:
        rgb: (H, W, 3) sRGB, float in [0, 1] or uint8.
        gray: (H, W) or (H, W, 1) sRGB grey, float in [0, 1], uint8 or uint16.
    """
    return contrast_pairs(rgb, size=size, taus=taus, seed=seed).score(gray)


def ccpr(rgb: np.ndarray, gray: np.ndarray, **kwargs) -> float:
    """Colour contrast preserving ratio, averaged over the thresholds: float in [0, 1], higher is better."""
    return float(contrast_scores(rgb, gray, **kwargs).ccpr.mean())


def ccfr(rgb: np.ndarray, gray: np.ndarray, **kwargs) -> float:
    """Colour content fidelity ratio, averaged over the thresholds: float in [0, 1], higher is better."""
    return float(contrast_scores(rgb, gray, **kwargs).ccfr.mean())


def escore(rgb: np.ndarray, gray: np.ndarray, **kwargs) -> float:
    """E-score of one image: the mean over tau of 2 CCPR CCFR / (CCPR + CCFR); in [0, 1], higher is better."""
    return contrast_scores(rgb, gray, **kwargs).mean_escore
