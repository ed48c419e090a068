"""Is a colour file a toned monochrome print? (sepia, selenium, gold, platinum, cyanotype, yellowed paper)

A toned print's colour is one hue that depends on its lightness alone: every pixel of a given L* has (about)
the same a*b*. A colour photo has several colours at one lightness (a red coat and a green lawn of the same
L*). On a strided sample of the image (longer side about SAMPLES_PER_BLOCK * ANALYSIS_SIZE), in CIELab:

    curve(L) = the median a*b* of the samples in each band of L* (`L_BANDS` bands, interpolated between them)
    residual = ab - curve(L) per sample, then averaged as a vector over blocks of at least MIN_BLOCK pixels
               (each sample's own distance, so that an edge between two tones is no colour; averaged, so
               that grain and JPEG noise cancel while a coloured object's offset stays; JPEG keeps chroma in
               16 x 16 blocks at half resolution, so finer blocks would compare its smeared chroma with a
               sharp L*)
    spread   = the RESIDUAL_PERCENTILE-th percentile of |residual| over the blocks     (a*b* units)
    tone     = the median |curve(L)| over the samples                                 (how strongly toned)

    grey     when the chroma of almost every pixel is below GREY_CHROMA
    toned    when spread <= MAX_SPREAD + SPREAD_PER_CHROMA * tone (and it is not grey)
    colour   otherwise

The thresholds were chosen on the validation photos and on toned versions of them made by
`deepcolor.data.degrade.tone_print` (`benchmarks/old_prints.py`): no colour photo is taken for a toned print
there, and the toned ones are recognised. No torch: the file pipeline (`inference/images.py`) asks this for
every colour input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_SPREAD", "SPREAD_PER_CHROMA", "ToneAnalysis", "analyse_tone", "tone_name"]

ANALYSIS_SIZE = 128  # longer side of the analysed grid of blocks
SAMPLES_PER_BLOCK = 4  # a block is the mean of at least 4 x 4 samples
MIN_BLOCK = 16  # pixels of the image
MIN_BLOCKS = 12  # blocks across the shorter side, at least
L_BANDS = 20
RESIDUAL_PERCENTILE = 99.0
MAX_SPREAD = 3.2  # a*b* units, for a tone of no chroma ...
SPREAD_PER_CHROMA = 0.06  # ... plus this much per unit of the tone's chroma (JPEG's error grows with it)
GREY_CHROMA = 2.0  # a*b* units: the 99th percentile of chroma below this is grey
MIN_BAND_PIXELS = 8

_XYZ_FROM_RGB = np.array(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=np.float64,
)
_WHITE = np.array([0.950456, 1.0, 1.088754])


@dataclass(frozen=True)
class ToneAnalysis:
    """What `analyse_tone` found.

    Attributes:
        kind: "grey", "toned" or "colour".
        spread: the RESIDUAL_PERCENTILE-th percentile of the distance to one-colour-per-lightness (a*b*).
        chroma: the median chroma of the tone curve (a*b* units; how strongly toned).
        hue: the hue of the tone in degrees in the a*b* plane (weighted by chroma), or NaN for grey.
    """

    kind: str
    spread: float
    chroma: float
    hue: float

    @property
    def is_toned(self) -> bool:
        return self.kind == "toned"


def _samples(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """(H, W, 3) -> (a strided sample of it whose longer side is about SAMPLES_PER_BLOCK * ANALYSIS_SIZE,
    float64; the block size in samples)."""
    height, width = rgb.shape[:2]
    step = max(1, max(height, width) // (ANALYSIS_SIZE * SAMPLES_PER_BLOCK))
    block = max(SAMPLES_PER_BLOCK, -(-MIN_BLOCK // step))
    # a small image still gets a grid of at least MIN_BLOCKS blocks across its shorter side
    block = max(1, min(block, min(height, width) // step // MIN_BLOCKS))
    return rgb[::step, ::step, :3].astype(np.float64), block


def _block_mean(values: np.ndarray, block: int) -> np.ndarray:
    """(h, w, C) -> (h // block, w // block, C) block means (the whole array's mean if it is smaller)."""
    h, w = values.shape[0] // block * block, values.shape[1] // block * block
    if h == 0 or w == 0:
        return values.reshape(1, -1, values.shape[-1]).mean(axis=1, keepdims=True)
    return values[:h, :w].reshape(h // block, block, w // block, block, -1).mean(axis=(1, 3))


def _srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    rgb = np.clip(rgb, 0.0, 1.0)
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = linear @ _XYZ_FROM_RGB.T / _WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    return np.stack(
        [116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], axis=-1
    )


def analyse_tone(rgb: np.ndarray) -> ToneAnalysis:
    """Grey, toned monochrome or colour (see the module notes).

    Args:
        rgb: (H, W, 3) sRGB float in [0, 1] (any size; a small copy is analysed).

    Returns:
        A `ToneAnalysis`.
    """
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"Expected an (H, W, 3) image. Got shape {rgb.shape}")
    samples, block = _samples(rgb)
    lab = _srgb_to_lab(samples)
    flat = lab.reshape(-1, 3)
    l, ab = flat[:, 0], flat[:, 1:]
    chroma = np.hypot(_block_mean(lab[..., 1:], block)[..., 0], _block_mean(lab[..., 1:], block)[..., 1])
    if chroma.size == 0 or np.percentile(chroma, 99.0) < GREY_CHROMA:
        return ToneAnalysis("grey", 0.0, float(np.median(chroma)) if chroma.size else 0.0, math.nan)
    band = np.clip((l / 100.0 * L_BANDS).astype(np.int64), 0, L_BANDS - 1)
    centres, curve_a, curve_b = [], [], []
    for k in np.unique(band):
        members = band == k
        if members.sum() >= MIN_BAND_PIXELS:
            centres.append(float(np.median(l[members])))
            curve_a.append(float(np.median(ab[members, 0])))
            curve_b.append(float(np.median(ab[members, 1])))
    if not centres:
        centres, curve_a, curve_b = [50.0], [float(np.median(ab[:, 0]))], [float(np.median(ab[:, 1]))]
    fitted = np.stack([np.interp(l, centres, curve_a), np.interp(l, centres, curve_b)], axis=1)
    residual = _block_mean((ab - fitted).reshape(*lab.shape[:2], 2), block)
    spread = float(np.percentile(np.hypot(residual[..., 0], residual[..., 1]), RESIDUAL_PERCENTILE))
    tone_chroma = np.hypot(fitted[:, 0], fitted[:, 1])
    mean_ab = fitted.mean(axis=0)
    hue = float(np.degrees(np.arctan2(mean_ab[1], mean_ab[0])) % 360.0)
    kind = "toned" if spread <= MAX_SPREAD + SPREAD_PER_CHROMA * float(np.median(tone_chroma)) else "colour"
    return ToneAnalysis(kind, spread, float(np.median(tone_chroma)), hue)


def tone_name(hue: float) -> str:
    """A word for a tone's hue (degrees in the a*b* plane): "warm" (sepia, platinum, yellowed paper),
    "purple-brown" (selenium), "blue" (cyanotype, gold), or "tinted"."""
    if math.isnan(hue):
        return "neutral"
    if 45.0 <= hue < 110.0:
        return "warm"
    if hue < 45.0 or hue >= 330.0:
        return "purple-brown"
    if 200.0 <= hue < 300.0:
        return "blue"
    return "tinted"
