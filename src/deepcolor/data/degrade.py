"""How old prints degrade: toning, dye fading, grain / softness / JPEG damage and cracks, on sRGB arrays.

Each model takes an (H, W, 3) sRGB float image in [0, 1] and returns a new (H, W, 3) float32 image in [0, 1],
rounded to 8 bits (what a scan file stores). The random versions take a `numpy.random.Generator`, so a photo's
degradation is reproducible from a seed. Used by the benchmarks (`benchmarks/enhance.py`,
`benchmarks/old_prints.py`), the tests and the demo sheet; the training pipeline may draw `degrade_scan`.

**Toning** (`tone_print`). A toned monochrome print is a silver image whose colour is one hue that depends on
the lightness alone: sepia and selenium turn the silver into silver sulphide / selenide (warm brown, purple
brown, strongest in the mid-tones and shadows), gold toning gives blue-blacks, platinum / palladium prints are
warm and low in contrast (a weaker maximum density), a cyanotype is Prussian blue with white paper, and an old
paper yellows most where it is bare (the highlights). The model, in CIELab, for the photo's L*:

    L' = L_black + (100 - L_black) * L / 100          (a weaker maximum density where the tone has it)
    C(L) = strength * (peak * bump(L; L_peak) + paper * (L' / 100)^2)
    ab' = C(L) * (cos h(L), sin h(L)),  h moving linearly from the shadow hue to the highlight hue

so ab is a function of L* alone, which is what `deepcolor.inference.toned` detects.

**Dye fading** (`fade_print`). A chromogenic colour print holds three dyes: cyan absorbs red, magenta green
and yellow blue. Each dye loses density at its own rate (Wilhelm, *The Permanence and Care of Color
Photographs*, 1993): in the dark, cyan was the least stable dye of most papers up to the 1980s (prints go
red); in light, magenta often fades first (prints go green-yellow-cyan). The paper base and the gelatin yellow
with age (a stain density, strongest in blue, visible mostly in the highlights), and viewing / scanning flare
lifts the blacks. Per channel c, on the linear reflectance R_c = 10^(-D_c):

    D'_c = r_c D_c + s_c          (r_c: the dye's retained fraction; s_c: yellow stain density)
    R'_c = (1 - f) 10^(-D'_c) + f (f: flare)

`random_fade` draws which dye fades first (cyan or magenta), the retained fractions, the stain and the flare
per photo. This is a per-channel power law with gain and offset in linear light, so a global per-channel
transform can undo most of it; which transform is not known to the restorer.

**Scan damage** (`degrade_scan`): film grain (Gaussian noise of about 1.5 pixels' correlation, strongest in
the mid-tones, the same in every channel: a monochrome emulsion), softness (Gaussian blur) and JPEG
compression (Pillow, quality 40), and optionally thin bright cracks (random walks, as in a cracked emulsion).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = [
    "TONES",
    "FadeParams",
    "Tone",
    "degrade_scan",
    "fade_print",
    "random_fade",
    "random_tone",
    "tone_print",
]


@dataclass(frozen=True)
class Tone:
    """A toning process: shadow / highlight hue (degrees in the a*b* plane), peak chroma and where it peaks
    (L*), the paper's own chroma at L* 100 and the L* of the print's deepest black."""

    shadow_hue: float
    highlight_hue: float
    peak: float
    peak_l: float
    paper: float = 0.0
    black_l: float = 0.0


TONES: dict[str, Tone] = {
    "sepia": Tone(shadow_hue=62.0, highlight_hue=75.0, peak=22.0, peak_l=45.0, paper=4.0, black_l=6.0),
    "selenium": Tone(shadow_hue=15.0, highlight_hue=40.0, peak=9.0, peak_l=30.0),
    "gold": Tone(shadow_hue=265.0, highlight_hue=250.0, peak=8.0, peak_l=35.0),
    "platinum": Tone(shadow_hue=70.0, highlight_hue=80.0, peak=9.0, peak_l=55.0, paper=3.0, black_l=14.0),
    "cyanotype": Tone(shadow_hue=275.0, highlight_hue=255.0, peak=36.0, peak_l=42.0, black_l=10.0),
    "yellowed": Tone(shadow_hue=75.0, highlight_hue=90.0, peak=4.0, peak_l=60.0, paper=20.0),
}


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"Expected an (H, W, 3) sRGB array. Got {getattr(rgb, 'shape', type(rgb))}")
    return np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0)


def _to_8bit(rgb: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(rgb, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def _lab(rgb: np.ndarray) -> np.ndarray:
    from deepcolor.color.numpy import rgb_to_lab

    return rgb_to_lab(rgb.astype(np.float32))


def _rgb(lab: np.ndarray) -> np.ndarray:
    from deepcolor.color.numpy import lab_to_rgb

    return lab_to_rgb(lab.astype(np.float32))


def tone_print(rgb: np.ndarray, tone: str | Tone = "sepia", strength: float = 1.0) -> np.ndarray:
    """A toned monochrome print of a photo (its L*; see the module notes).

    Args:
        rgb: (H, W, 3) sRGB in [0, 1] (colour or grey: only its L* is used).
        tone: a name of `TONES` or a `Tone`.
        strength: chroma scale, >= 0 (1 = the tone's typical chroma; 0 = grey, with the tone's black).

    Returns:
        (H, W, 3) float32 sRGB in [0, 1], 8-bit levels.
    """
    if isinstance(tone, str):
        if tone not in TONES:
            raise ValueError(f"unknown tone {tone!r} (choose from {', '.join(TONES)})")
        tone = TONES[tone]
    if not (math.isfinite(strength) and strength >= 0):
        raise ValueError(f"strength must be a number >= 0. Got {strength!r}")
    l = _lab(_check_rgb(rgb))[..., 0]
    l = tone.black_l + (100.0 - tone.black_l) * np.clip(l, 0.0, 100.0) / 100.0
    u = l / 100.0
    p = tone.peak_l / 100.0
    # a bump of height 1 at L_peak, 0 at L* 0 and 100: u^a (1 - u)^b with a / (a + b) = p
    a, b = 2.0 * p / (1.0 - p) if p < 1 else 2.0, 2.0
    bump = u**a * (1.0 - u) ** b / (p**a * (1.0 - p) ** b)
    chroma = strength * (tone.peak * bump + tone.paper * u**2)
    hue = np.deg2rad(tone.shadow_hue + (tone.highlight_hue - tone.shadow_hue) * u)
    lab = np.stack([l, chroma * np.cos(hue), chroma * np.sin(hue)], axis=-1)
    return _to_8bit(_rgb(lab))


def random_tone(rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str, float]:
    """`tone_print` with a tone drawn from `TONES`, its hues jittered by up to 8 degrees and its strength in
    [0.4, 1.5]. Returns (toned image, tone name, strength)."""
    name = str(rng.choice(list(TONES)))
    base = TONES[name]
    jitter = float(rng.uniform(-8.0, 8.0))
    tone = Tone(
        shadow_hue=base.shadow_hue + jitter,
        highlight_hue=base.highlight_hue + jitter,
        peak=base.peak,
        peak_l=float(np.clip(base.peak_l + rng.uniform(-10.0, 10.0), 20.0, 70.0)),
        paper=base.paper,
        black_l=base.black_l,
    )
    strength = float(rng.uniform(0.4, 1.5))
    return tone_print(rgb, tone, strength), name, strength


@dataclass(frozen=True)
class FadeParams:
    """A print's fading (see the module notes): retained dye fractions (cyan, magenta, yellow) = (red, green,
    blue channel), stain densities per channel, flare in [0, 1)."""

    retained: tuple[float, float, float] = (0.5, 0.75, 0.8)
    stain: tuple[float, float, float] = (0.0, 0.03, 0.12)
    flare: float = 0.03


def fade_print(rgb: np.ndarray, params: FadeParams | None = None) -> np.ndarray:
    """A faded colour print of a photo (see the module notes).

    Args:
        rgb: (H, W, 3) sRGB in [0, 1].
        params: the fading; None for `FadeParams()` (cyan faded to half, a yellow stain, 3% flare).

    Returns:
        (H, W, 3) float32 sRGB in [0, 1], 8-bit levels.
    """
    from deepcolor.color.numpy import linear_to_srgb, srgb_to_linear

    params = params or FadeParams()
    retained = np.asarray(params.retained, dtype=np.float64)
    stain = np.asarray(params.stain, dtype=np.float64)
    if retained.shape != (3,) or stain.shape != (3,) or np.any(retained <= 0) or np.any(stain < 0):
        raise ValueError(f"retained must be 3 numbers > 0 and stain 3 numbers >= 0. Got {params}")
    if not 0.0 <= params.flare < 1.0:
        raise ValueError(f"flare must be in [0, 1). Got {params.flare}")
    linear = np.clip(srgb_to_linear(_check_rgb(rgb)).astype(np.float64), 1e-4, 1.0)  # D <= 4
    faded = linear**retained * 10.0 ** (-stain)  # 10^-(r D + s)
    faded = (1.0 - params.flare) * faded + params.flare
    return _to_8bit(linear_to_srgb(faded.astype(np.float32)))


def random_fade(rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, FadeParams]:
    """`fade_print` with a fading drawn per photo: cyan or magenta fades first (retained 0.35-0.6), the other
    two dyes keep 0.6-0.9 of their density; a yellow stain of 0.04-0.2 in blue (a quarter to half of it in
    green); flare 0.01-0.05. Returns (faded image, its parameters)."""
    retained = rng.uniform(0.65, 0.95, size=3)
    first = int(rng.integers(0, 2))  # 0 cyan, 1 magenta
    retained[first] = rng.uniform(0.4, 0.65)
    blue_stain = float(rng.uniform(0.03, 0.15))
    stain = (0.0, blue_stain * float(rng.uniform(0.25, 0.5)), blue_stain)
    params = FadeParams(
        retained=tuple(float(r) for r in retained),  # type: ignore[arg-type]
        stain=stain,
        flare=float(rng.uniform(0.01, 0.05)),
    )
    return fade_print(rgb, params), params


def _gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return image
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(image, sigma=(sigma, sigma) + (0,) * (image.ndim - 2), mode="reflect")


def degrade_scan(
    rgb: np.ndarray,
    rng: np.random.Generator,
    grain: float = 0.05,
    blur: float = 1.0,
    jpeg_quality: int | None = 40,
    cracks: int = 0,
) -> np.ndarray:
    """A damaged scan of a print: film grain, softness, cracks and JPEG compression (see the module notes).

    Args:
        rgb: (H, W, 3) sRGB in [0, 1].
        rng: the random generator (grain and cracks).
        grain: standard deviation of the grain in sRGB units at mid-grey (0 for none).
        blur: Gaussian blur sigma in pixels (0 for none).
        jpeg_quality: Pillow JPEG quality in [1, 95], or None for no compression.
        cracks: number of thin bright cracks.

    Returns:
        (H, W, 3) float32 sRGB in [0, 1], 8-bit levels.
    """
    rgb = _check_rgb(rgb).copy()
    height, width = rgb.shape[:2]
    if cracks:
        for _ in range(cracks):  # a random walk of 1-2 px wide, bright (emulsion gone: paper shows)
            y, x = float(rng.uniform(0, height)), float(rng.uniform(0, width))
            angle = float(rng.uniform(0, 2 * math.pi))
            for _ in range(int(rng.integers(max(height, width) // 4, max(height, width)))):
                angle += float(rng.normal(0, 0.25))
                y, x = y + math.sin(angle), x + math.cos(angle)
                if not (0 <= y < height - 1 and 0 <= x < width - 1):
                    break
                rgb[int(y) : int(y) + 2, int(x)] = 0.92
    rgb = _gaussian_blur(rgb, blur)
    if grain > 0:
        noise = _gaussian_blur(rng.standard_normal((height, width)).astype(np.float32), 0.7)
        noise *= grain / max(float(noise.std()), 1e-6)
        luma = rgb.mean(axis=2)
        rgb += (noise * 2.0 * np.sqrt(np.clip(luma * (1.0 - luma), 0.0, 0.25)))[..., None]
    rgb = _to_8bit(rgb)
    if jpeg_quality is not None:
        if not 1 <= jpeg_quality <= 95:
            raise ValueError(f"jpeg_quality must be in [1, 95]. Got {jpeg_quality}")
        buffer = io.BytesIO()
        Image.fromarray((rgb * 255.0 + 0.5).astype(np.uint8)).save(buffer, "JPEG", quality=jpeg_quality)
        rgb = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), dtype=np.float32) / 255.0
    return rgb.astype(np.float32)
