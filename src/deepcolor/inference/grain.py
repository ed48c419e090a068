"""Film grain in what the network sees: measured on the full-resolution L*, removed from the render-size L*.

A grainy scan (film grain, `deepcolor.data.degrade.degrade_scan`) colorized as it is loses about 1 CIEDE2000
and a fifth of its colourfulness against the same photo without grain (benchmarks/results/old_prints.md).
Where the loss happens was measured on the validation photos (first 20 of BSD100, the 14 wallpapers; grain
0.05, blur 1, JPEG 40): all of it is in the network's render-size a*b*. Upsampling the damaged prediction
with the clean L* as the guide, or the clean prediction with the grainy guide, changes CIEDE2000 by less than
0.01 (the guided upsampler's eps ignores lightness texture below about 5 L*), and of the three damages the
grain alone costs it (blur alone +0.08, JPEG 40 alone -0.28, grain alone +2.0 on those 20 photos).

So the network is shown a denoised L*: non-local means (OpenCV's `fastNlMeansDenoising`, 5 x 5 patches,
15 x 15 search) on the render-size L*, with a filter strength h equal to the noise measured there, then an
unsharp mask (amount 1, Gaussian sigma 1) that gives back the edges the grain, the blur and the filter took.
On the denoised input the network's colour is duller (mean chroma 73-84% of the clean grey's on the
validation photos), so its a*b* is multiplied by `DENOISED_CHROMA_GAIN` (not where colour hints are given:
they set the colour). The output's L* stays the user's own; only the chroma changes.

Noise is measured as a robust low percentile of the standard deviation of a high-pass (L* minus its Gaussian
blur of sigma 1) in small blocks of mid-tone (20 < L* < 85: grain vanishes in the blacks and whites): the
flattest blocks of a clean photo hold almost nothing, those of a grainy scan hold the grain. The denoising
runs only when the full-resolution measure (2nd percentile of 8 x 8 blocks) reaches `NOISE_GATE`, so a clean
photo goes through bit for bit unchanged. The measure cannot tell a photo that is finely textured all over
(gravel, foliage, the film grain of an old scan) from a grainy one: 18 of the 100 clean BSD100 photos (film
scans) and none of the 14 wallpapers reach the gate (see benchmarks/results/old_prints.md for what it costs
them); 1 of 100 BSD100 grainy scans stays below it.

Chosen on the validation photos with degradation seeds other than the benchmark's (1000 + index; first 40 of
BSD100 and the 14 wallpapers; CIEDE2000 and colourfulness against the clean grey's result):

| the network's input | BSD100 | wallpapers |
| --- | ---: | ---: |
| as it is (before) | +1.00, 75% | +1.22, 80% |
| non-local means, h = noise | +0.45, 73% | +0.20, 90% |
| the same, h = 1.5 x noise | +1.21, 92% | +0.60, 104% |
| non-local means, unsharp mask | +0.25, 66% | +0.12, 83% |
| the same, chroma x 1.2 (shipped) | +0.48, 79% | +0.46, 103% |
| the same, chroma x 1.35 | +0.71, 89% | +0.79, 117% |

Every step toward more colour costs accuracy on BSD100; none of these meets both targets there (within 0.5,
at least 85%). Total variation, a bilateral filter and a Gaussian blur did less than non-local means; the
guide of the upsampler does not matter (above).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["DENOISED_CHROMA_GAIN", "NOISE_GATE", "NOISE_STRENGTH", "denoise_for_network", "noise_level"]

# Full-resolution noise (L* units) from which the network's input is denoised: a grainy scan as
# `degrade_scan` makes it (grain 0.05, blur 1, JPEG 40) measures 1.2-2.2 on the validation photos, clean
# wallpapers 0.1-1.2, clean BSD100 photos 0.1-4.5 (the textured ones high).
NOISE_GATE = 1.2
# The non-local means strength h in units of the render-size noise; the unsharp mask after it.
NOISE_STRENGTH = 1.0
SHARPEN_AMOUNT, SHARPEN_SIGMA = 1.0, 1.0
# Factor on the network's a*b* for a denoised input (see the module notes).
DENOISED_CHROMA_GAIN = 1.2
BLOCK, PERCENTILE = 8, 2.0  # the full-resolution measure (the gate)
LOW_BLOCK, LOW_PERCENTILE = 8, 10.0  # the render-size measure (the strength)
MIDTONES = (20.0, 85.0)
MIN_BLOCKS = 16
MAX_MEASURED_PIXELS = 4_000_000  # larger images are measured on evenly spaced bands of block rows


def noise_level(l: np.ndarray | torch.Tensor, block: int = BLOCK, percentile: float = PERCENTILE) -> float:
    """Robust noise level of a lightness image, in L* units.

    Args:
        l: (H, W) or (1, 1, H, W) L* in [0, 100].
        block: side of the blocks in pixels.
        percentile: which percentile of the blocks' deviations.

    Returns:
        The `percentile`-th percentile of the standard deviation of L* minus its Gaussian blur (sigma 1) over
        the mid-tone blocks (all blocks when fewer than MIN_BLOCKS are mid-tone); 0.0 for an image smaller
        than one block.
    """
    import cv2

    if isinstance(l, torch.Tensor):
        l = l.detach().to("cpu", torch.float32).numpy()
    x = np.asarray(l, dtype=np.float32)
    x = x.reshape(x.shape[-2:]) if x.ndim == 4 else x
    if x.ndim != 2:
        raise ValueError(f"L* must have a shape of (H, W) or (1, 1, H, W). Got {np.shape(l)}")
    rows, cols = x.shape[0] // block, x.shape[1] // block
    if rows == 0 or cols == 0:
        return 0.0
    # A very large image: every n-th band of block rows (grain is the same all over a scan).
    step = max(1, int(np.ceil(rows * cols * block * block / MAX_MEASURED_PIXELS)))
    bands = [x[r * block : (r + 1) * block, : cols * block] for r in range(0, rows, step)]
    x = np.ascontiguousarray(np.concatenate(bands, axis=0))
    high = x - cv2.GaussianBlur(x, (0, 0), 1.0)
    shape = (x.shape[0] // block, block, cols, block)
    deviation = high.reshape(shape).std(axis=(1, 3))
    mean = x.reshape(shape).mean(axis=(1, 3))
    midtone = (mean > MIDTONES[0]) & (mean < MIDTONES[1])
    values = deviation[midtone] if midtone.sum() >= MIN_BLOCKS else deviation.ravel()
    return float(np.percentile(values, percentile))


def denoise_for_network(
    l: torch.Tensor,
    l_low: torch.Tensor,
    gate: float = NOISE_GATE,
    strength: float = NOISE_STRENGTH,
) -> torch.Tensor:
    """The render-size L* the network should see: `l_low` itself for a clean photo, denoised for a grainy one.

    Args:
        l: (1, 1, H, W) full-resolution L* in [0, 100] (where the noise is measured for the gate).
        l_low: (1, 1, h, w) the same L* at the render size.
        gate: full-resolution noise level (L*) from which to denoise; `inf` never does.
        strength: non-local means h in units of the render-size noise level.

    Returns:
        `l_low` itself (the same tensor) when `noise_level(l) < gate`, else a new (1, 1, h, w) float32 tensor
        on `l_low`'s device (denoised, then sharpened): the network's a*b* for it is then to be multiplied
        by `DENOISED_CHROMA_GAIN`.
    """
    import cv2

    if l.dim() != 4 or l.shape[:2] != (1, 1) or l_low.dim() != 4 or l_low.shape[:2] != (1, 1):
        raise ValueError(
            f"l and l_low must have a shape of (1, 1, H, W). Got {tuple(l.shape)} and {tuple(l_low.shape)}"
        )
    if not np.isfinite(gate) or noise_level(l) < gate:
        return l_low
    low = l_low[0, 0].detach().to("cpu", torch.float32).numpy()
    sigma = noise_level(low, LOW_BLOCK, LOW_PERCENTILE)
    if sigma <= 0.0:
        return l_low
    scale = 255.0 / 100.0  # OpenCV's non-local means works on 8-bit images
    grey = np.clip(low * scale + 0.5, 0, 255).astype(np.uint8)
    denoised = cv2.fastNlMeansDenoising(grey, None, float(strength * sigma * scale), 5, 15)
    denoised = denoised.astype(np.float32) / scale
    if SHARPEN_AMOUNT:
        denoised += SHARPEN_AMOUNT * (denoised - cv2.GaussianBlur(denoised, (0, 0), SHARPEN_SIGMA))
    out = torch.from_numpy(np.clip(denoised, 0.0, 100.0))
    return out[None, None].to(l_low.device)
