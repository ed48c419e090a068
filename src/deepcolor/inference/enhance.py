"""Colour enhancement of faded and dull photos: a model-guided colour restoration, and the dull-area blend.

Two modes (`enhance_array(mode=...)`, `deepcolor enhance --mode`):

**restore** (the default): a faded colour print. Its dyes lost density each at its own rate, its paper
yellowed and flare lifted its blacks (`deepcolor.data.degrade.fade_print` models this); the result is a cast
that changes with lightness, flat contrast and lost chroma, nearly all of it a per-channel tone curve. So a
low-order global colour transform is fitted at the render size and applied to every pixel at full resolution
(`fit_restoration`, `ColourTransform`), per channel c:

    y_c = (x_c - lo_c) / (hi_c - lo_c)                 (levels: the 0.2th and 99.8th percentiles of the
                                                        channel to black and white, in sRGB: flare and stain;
                                                        weighted by t, below)
    out_c = clip(g_c * linear(y_c) ^ gamma_c)          (linear: sRGB -> linear light; g and gamma relative
                                                        to green: 4 numbers, fitted)

A print that has faded lost density: its darkest tones are no longer black (flare and dye loss lift them to L*
25-45 in the fading model; the validation photos' darkest tones lie below L* 19 for 90% of them). So the whole
correction comes in with t = clamp((L*_black - 15) / 10, 0, 1) (L*_black: the lightness of the mean black
point): the levels move lo and hi by t, the fitted numbers are multiplied by t. A photo in good condition,
even a hazy one, is left as it is (without this, the correction changed unfaded BSD100 photos by about 8
CIEDE2000 on average). The four numbers are fitted (least squares, each pulled toward 0 in log units by
`PRIOR`) so that, in every band of L* of the image, the mean a*b* of the restored photo matches the
colorizer's mean a*b* there: the model knows what is sky, skin and foliage, which tells the colour a band of
lightness should have on average, while every pixel keeps its own colour relations to the others (one smooth
curve per channel, the same for all pixels). Fitting every pixel to the prediction instead was worse (the
model's per-pixel hue is often wrong), and so was setting the overall contrast from the model's chroma
(benchmarks/results/enhance.md). The levels alone are Pillow's per-channel `autocontrast`; the fitted curves
are what the model adds. A print with real colours of its own (an autochrome, a hand-tinted print) keeps them:
the transform is the same smooth curve for every pixel, never a per-pixel colour from the model.

Where the error that remains lies (measured on the first 30 faded BSD100 photos at strength 1, CIEDE2000
9.65): split into lightness alone (4.6) and colour alone (7.7), the colour dominates, and of it the cast: the
mean a*b* of the restoration is 8.6 from the original's (11.3 with Pillow's autocontrast). The model's own
mean a*b* is no better a guide (11.1 from the original's), so following the model more closely made it worse
(prior 0.2: 10.01; shifting the mean a*b* onto the model's: 10.67), as did fitting only how the cast changes
with lightness (10.4-10.8), and levels and curves in linear light, a dye-density model whose overall contrast
is then unknown (first 25 photos: 14.0 without an overall gamma, 10.7-10.9 with one fixed, against 9.50);
scaling the chroma onto the model's did not change it (9.60-9.65). Clipping less at the levels (0.2% instead
of 0.5%) and a prior of 0.35 instead of 0.5, chosen on both whole sets with the benchmark's fading, lowered it
a little on both (benchmarks/results/enhance.md).

`strength` is how far the photo moves toward its restoration (0: unchanged; the transform is scaled from
the identity, `ColourTransform.scaled`). No per-pixel blend follows: on the faded validation photos it added
colour error (benchmarks/results/enhance.md).

**blend** (the enhance of earlier versions): colour -> grey -> colorize, then the predicted chroma into dull
areas. For a dull colour photo, the colorizer's idea of the colours (predicted from the lightness alone) is
often more vivid than what is left in the photo. Per pixel, in CIELab:

    c_orig = |ab_orig|, c_pred = |ab_pred|         (chroma C*, a*b* units)
    r = c_orig / (c_pred + DELTA)                  (how vivid the photo is compared with the prediction)
    w = strength * clamp(1 - r^2, 0, 1)            (1 where the photo is grey, 0 where it is as vivid or more)
    c_new = c_orig + w * (c_pred - c_orig)         (the predicted chroma blended in)
    t = clamp(c_orig / HUE_TRUST, 0, 1)            (does the photo still have a hue of its own?)
    ab_out = t * ab_orig * c_new / c_orig          (yes: its own hue, with the new chroma)
           + (1 - t) * (ab_orig + w * (ab_pred - ab_orig))   (no, it is grey: the predicted colour)

L* is kept (or equalised with CLAHE). Vivid areas stay exactly as they are; dull ones get more chroma in their
own hue, and grey ones take the predicted colour. Keeping the photo's hue matters: the colorizer often guesses
the hue wrong, but rarely how colourful a region should be (benchmarks/enhance.py: blending whole ab vectors
instead raised CIEDE2000 to the truth by a further 1.5 units on faded BSD100 photos). The weight is computed
at the render size from area-averaged chroma (smooth, not noisy) and upsampled bilinearly; the predicted ab is
upsampled with the same guided filter as `colorize`. All full-resolution work is in row bands.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from deepcolor.inference.bands import for_each_band, single_threaded
from deepcolor.inference.pipeline import Colorizer, lightness
from deepcolor.inference.upsample import GuidedCoefficients, fit_guided

DEFAULT_STRENGTH = 0.8
MODES = ("restore", "blend")
DEFAULT_MODE = "restore"
LEVELS_CUT = 0.2  # percent of each channel's values clipped at either end by the levels
LEVELS_FROM_L, LEVELS_FULL_L = 15.0, 10.0  # levels fade in from a black point of L* 15 to full at L* 25
PRIOR = 0.35  # pull of the fitted log gains / gammas toward 0 (the levels alone), per unit of a*b* residual
L_BANDS = 10  # bands of L* in which the mean a*b* is matched
FIT_SAMPLES = 20_000  # most render-size pixels the fit looks at
DEFAULT_CLAHE_LIMIT = 0.01
DELTA = 2.0  # a*b* units: keeps r finite where the prediction is grey too
HUE_TRUST = 3.0  # a*b* units: below this chroma the photo's own hue is mostly noise and cast


def blend_weight(ab_orig: torch.Tensor, ab_pred: torch.Tensor, strength: float) -> torch.Tensor:
    """Per-pixel weight of the prediction: high where the original is dull relative to it.

    Args:
        ab_orig: (B, 2, h, w) a*b* of the original.
        ab_pred: (B, 2, h, w) predicted a*b*.
        strength: in [0, 1], the weight where the original has no chroma at all.

    Returns:
        (B, 1, h, w) weights in [0, strength].
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1]. Got {strength}")
    chroma_orig = ab_orig.norm(dim=1, keepdim=True)
    chroma_pred = ab_pred.norm(dim=1, keepdim=True)
    ratio = chroma_orig / (chroma_pred + DELTA)
    return (1.0 - ratio.square()).clamp_(0.0, 1.0).mul_(strength)


def blend_chroma(ab_orig: torch.Tensor, ab_pred: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The predicted chroma blended into the original, in the original's hue where it has one.

    Args:
        ab_orig: (B, 2, H, W) a*b* of the photo.
        ab_pred: (B, 2, H, W) predicted a*b*.
        weight: (B, 1, H, W) from `blend_weight`, in [0, 1].

    Returns:
        (B, 2, H, W) a*b* (see the module notes for the formula).
    """
    chroma_orig = ab_orig.norm(dim=1, keepdim=True)
    chroma_new = torch.lerp(chroma_orig, ab_pred.norm(dim=1, keepdim=True), weight)
    own_hue = ab_orig * (chroma_new / chroma_orig.clamp(min=1e-6))
    predicted_hue = torch.lerp(ab_orig, ab_pred, weight)
    return torch.lerp(predicted_hue, own_hue, (chroma_orig / HUE_TRUST).clamp(max=1.0))


@dataclass(frozen=True)
class ColourTransform:
    """A global per-channel colour transform (see the module notes): levels in sRGB (`lo`, `hi`), then in
    linear light a power `gamma` and a gain `gain`, per channel (R, G, B)."""

    lo: tuple[float, float, float] = (0.0, 0.0, 0.0)
    hi: tuple[float, float, float] = (1.0, 1.0, 1.0)
    gamma: tuple[float, float, float] = (1.0, 1.0, 1.0)
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def scaled(self, amount: float) -> ColourTransform:
        """The transform `amount` of the way from the identity (0) to this one (1)."""

        def toward(values: tuple[float, ...], identity: float, power: bool = False) -> tuple[float, ...]:
            if power:
                return tuple(float(v**amount) for v in values)
            return tuple(float(identity + amount * (v - identity)) for v in values)

        return ColourTransform(
            lo=toward(self.lo, 0.0),  # type: ignore[arg-type]
            hi=toward(self.hi, 1.0),  # type: ignore[arg-type]
            gamma=toward(self.gamma, 1.0, power=True),  # type: ignore[arg-type]
            gain=toward(self.gain, 1.0, power=True),  # type: ignore[arg-type]
        )

    def apply(self, rgb: torch.Tensor) -> torch.Tensor:
        """(*, 3, H, W) sRGB in [0, 1] -> the transformed (*, 3, H, W) sRGB in [0, 1]."""
        from deepcolor.color import linear_to_srgb, srgb_to_linear

        def column(values: tuple[float, float, float]) -> torch.Tensor:
            return torch.tensor(values, dtype=rgb.dtype, device=rgb.device).view(3, 1, 1)

        lo, hi = column(self.lo), column(self.hi)
        y = ((rgb - lo) / (hi - lo).clamp(min=1e-3)).clamp_(0.0, 1.0)
        linear = srgb_to_linear(y).clamp_(min=1e-6).pow_(column(self.gamma)).mul_(column(self.gain))
        return linear_to_srgb(linear.clamp_(0.0, 1.0))


_XYZ_FROM_LINEAR = (
    np.array([[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]])
    / np.array([0.950456, 1.0, 1.088754])[:, None]
)


def _linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """(N, 3) linear RGB -> (N, 3) CIELab (D65), float64, for the fit."""
    xyz = np.clip(linear, 0.0, None) @ _XYZ_FROM_LINEAR.T
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    return np.stack(
        [116.0 * f[:, 1] - 16.0, 500.0 * (f[:, 0] - f[:, 1]), 200.0 * (f[:, 1] - f[:, 2])], axis=1
    )


def _srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)


def fit_restoration(
    rgb_low: np.ndarray, ab_pred_low: np.ndarray, prior: float = PRIOR, bands: int = L_BANDS
) -> ColourTransform:
    """The global colour transform that restores a faded print, fitted on a small copy of it.

    Args:
        rgb_low: (h, w, 3) sRGB in [0, 1], the photo at the render size.
        ab_pred_low: (h, w, 2) the colorizer's a*b* for it, at the same size.
        prior: pull of the fitted numbers toward the levels alone (0: none).
        bands: bands of L* in which the mean a*b* is matched.

    Returns:
        A `ColourTransform` (see the module notes).
    """
    from scipy.optimize import least_squares

    if rgb_low.ndim != 3 or rgb_low.shape[2] != 3 or ab_pred_low.shape != (*rgb_low.shape[:2], 2):
        raise ValueError(f"Expected (h, w, 3) and (h, w, 2). Got {rgb_low.shape} and {ab_pred_low.shape}")
    x = np.clip(rgb_low.reshape(-1, 3).astype(np.float64), 0.0, 1.0)
    target = ab_pred_low.reshape(-1, 2).astype(np.float64)
    if len(x) > FIT_SAMPLES:
        keep = np.random.default_rng(0).choice(len(x), FIT_SAMPLES, replace=False)
        x, target = x[keep], target[keep]
    lo = np.percentile(x, LEVELS_CUT, axis=0)
    hi = np.maximum(np.percentile(x, 100.0 - LEVELS_CUT, axis=0), lo + 1e-3)
    # levels only for a print that lost density: its darkest tones lighter than LEVELS_FROM_L (a photo in
    # good condition, even a hazy one, keeps its tones)
    black_l = _linear_to_lab(_srgb_to_linear(np.full((1, 3), lo.mean())))[0, 0]
    levels = float(np.clip((black_l - LEVELS_FROM_L) / LEVELS_FULL_L, 0.0, 1.0))
    lo, hi = levels * lo, 1.0 - levels * (1.0 - hi)
    levelled = _srgb_to_linear(np.clip((x - lo) / (hi - lo), 0.0, 1.0)).clip(min=1e-6)

    def transformed(p: np.ndarray) -> np.ndarray:
        gamma = np.exp([p[0], 0.0, p[1]])
        gain = np.exp([p[2], 0.0, p[3]])
        return _linear_to_lab(np.clip(levelled**gamma * gain, 0.0, 1.0))

    band = np.clip((transformed(np.zeros(4))[:, 0] / 100.0 * bands).astype(np.int64), 0, bands - 1)
    counts = np.bincount(band, minlength=bands).astype(np.float64)
    weight = np.sqrt(counts / counts.sum())[:, None]

    def band_means(values: np.ndarray) -> np.ndarray:
        sums = [np.bincount(band, values[:, k], minlength=bands) for k in range(values.shape[1])]
        return np.stack(sums, axis=1) / np.maximum(counts, 1.0)[:, None]

    target_means = band_means(target)

    def residuals(p: np.ndarray) -> np.ndarray:
        error = (band_means(transformed(p)[:, 1:]) - target_means) * weight
        return np.concatenate([error.ravel(), prior * 100.0 * p])

    # the curves, too, in proportion to the evidence of fading
    p = levels * least_squares(residuals, np.zeros(4), max_nfev=100).x if levels > 0 else np.zeros(4)
    triple = lambda values: tuple(float(v) for v in values)  # noqa: E731
    return ColourTransform(
        lo=triple(lo),
        hi=triple(hi),
        gamma=triple(np.exp([p[0], 0.0, p[1]])),
        gain=triple(np.exp([p[2], 0.0, p[3]])),
    )


def clahe_lightness(l: torch.Tensor, clip_limit: float = DEFAULT_CLAHE_LIMIT) -> torch.Tensor:
    """Contrast-limited adaptive histogram equalisation of L* (scikit-image's `equalize_adapthist`).

    Args:
        l: (1, 1, H, W) L* in [0, 100].
        clip_limit: scikit-image's clip limit in (0, 1]; higher = stronger local contrast.

    Returns:
        (1, 1, H, W) float32 L* in [0, 100].
    """
    from skimage.exposure import equalize_adapthist

    if not 0.0 < clip_limit <= 1.0:
        raise ValueError(f"clip_limit must be in (0, 1]. Got {clip_limit}")
    grey = l[0, 0].detach().cpu().numpy() / 100.0
    out = equalize_adapthist(np.clip(grey, 0.0, 1.0), clip_limit=clip_limit)
    return torch.from_numpy(out.astype(np.float32) * 100.0).to(l.device)[None, None]


def _lab_bands(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """(H, W, 3) sRGB -> (1, 3, H, W) float32 Lab, converted band by band."""
    from deepcolor.color import rgb_to_lab

    height, width = rgb.shape[:2]
    lab = torch.empty(1, 3, height, width, dtype=torch.float32, device=device)

    def work(start: int, stop: int) -> None:
        band = torch.from_numpy(np.ascontiguousarray(rgb[start:stop], dtype=np.float32)).to(device)
        lab[:, :, start:stop] = rgb_to_lab(band.permute(2, 0, 1).contiguous()[None])

    for_each_band(height, width, work, device)
    return lab


def enhance_array(
    colorizer: Colorizer,
    rgb: np.ndarray,
    strength: float = DEFAULT_STRENGTH,
    clahe: bool = False,
    clahe_limit: float = DEFAULT_CLAHE_LIMIT,
    render_size: int | None = None,
    out: np.ndarray | None = None,
    mode: str = DEFAULT_MODE,
) -> np.ndarray:
    """Restore faded colours, or revive dull ones, of one image.

    Args:
        colorizer: the loaded model and inference path.
        rgb: (H, W, 3) sRGB float in [0, 1] (a grey image simply gets colorized where the weight allows).
        strength: in [0, 1], how far the photo moves toward its restoration ("restore"), or how far the
            dullest areas move toward the predicted colours ("blend"); 0 = unchanged.
        clahe: also equalise the lightness locally (CLAHE).
        clahe_limit: CLAHE clip limit in (0, 1].
        render_size: longer side seen by the network; None for the colorizer's default.
        out: optional (H, W, 3) float32 array to write into (may be `rgb` itself).
        mode: "restore" (a model-guided global colour correction) or "blend" (the predicted chroma into
            dull areas, as earlier versions did); see the module notes.

    Returns:
        (H, W, 3) float32 sRGB in [0, 1].
    """
    from deepcolor.color import lab_to_rgb

    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"Expected an (H, W, 3) image. Got shape {rgb.shape}")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1]. Got {strength}")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (choose from {', '.join(MODES)})")
    height, width = rgb.shape[:2]
    device = colorizer.device
    if out is None:
        out = np.empty((height, width, 3), dtype=np.float32)
    with torch.inference_mode():
        lab = _lab_bands(rgb, device)
        l = lab[:, :1]
        l_low, ab_pred_low = colorizer.predict_low(l, render_size)
        if mode == "restore":
            lab_low = F.interpolate(
                lab, size=l_low.shape[-2:], mode="bilinear", antialias=True, align_corners=False
            )
            transform = fit_restoration(
                lab_to_rgb(lab_low)[0].permute(1, 2, 0).cpu().numpy(),
                ab_pred_low[0].permute(1, 2, 0).cpu().numpy(),
            ).scaled(strength)

            def restore(start: int, stop: int) -> None:
                band = torch.from_numpy(np.ascontiguousarray(rgb[start:stop], dtype=np.float32)).to(device)
                out[start:stop] = transform.apply(band.permute(2, 0, 1)).permute(1, 2, 0).cpu().numpy()

            for_each_band(height, width, restore, device)
            if clahe:  # local contrast on the restored photo's L*
                restored = _lab_bands(out, device)
                l_clahe = clahe_lightness(restored[:, :1], clahe_limit)

                def equalise(start: int, stop: int) -> None:
                    band = torch.cat([l_clahe[:, :, start:stop], restored[:, 1:, start:stop]], dim=1)
                    out[start:stop] = lab_to_rgb(band)[0].permute(1, 2, 0).cpu().numpy()

                for_each_band(height, width, equalise, device)
            return out
        # The photo's ab at the render size: area-averaged, so that the weight is smooth.
        ab_orig_low = F.interpolate(
            lab[:, 1:], size=l_low.shape[-2:], mode="bilinear", antialias=True, align_corners=False
        )
        with single_threaded() if device.type == "cpu" else contextlib.nullcontext():  # small operations
            weight_low = blend_weight(ab_orig_low, ab_pred_low, strength)
            predicted = fit_guided(
                l_low / 100.0, ab_pred_low, (height, width), colorizer.radius, colorizer.eps
            )
            weight = GuidedCoefficients.bilinear(weight_low, (height, width))
        l_out = clahe_lightness(l, clahe_limit) if clahe else l

        def work(start: int, stop: int) -> None:
            guide = l[:, :, start:stop] / 100.0
            ab = blend_chroma(
                lab[:, 1:, start:stop],
                predicted.apply_rows(guide, start),
                weight.apply_rows(guide, start),
            )
            band = torch.cat([l_out[:, :, start:stop], ab], dim=1)
            out[start:stop] = lab_to_rgb(band)[0].permute(1, 2, 0).cpu().numpy()

        for_each_band(height, width, work, device)
    return out


__all__ = [
    "DEFAULT_CLAHE_LIMIT",
    "DEFAULT_MODE",
    "DEFAULT_STRENGTH",
    "MODES",
    "ColourTransform",
    "blend_chroma",
    "blend_weight",
    "clahe_lightness",
    "enhance_array",
    "fit_restoration",
    "lightness",
]
