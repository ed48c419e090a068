"""Colorization metrics: PSNR, SSIM, CIEDE2000, colourfulness, the AuC of ab error and false colour.

Pure functions on tensors, batched over any leading dimensions, keeping dtype and device. Images are
`(*, C, H, W)`: sRGB in [0, 1] (C = 3; grey C = 1 where stated), CIELab `(*, 3, H, W)` with L* in [0, 100],
and a*b* `(*, 2, H, W)` in a*b* units. Per-image metrics return `(*,)`; CIEDE2000 returns a `(*, H, W)` map.

What each metric is computed on (so that figures from different tools can be compared):

- `psnr`: both images quantised to 8 bits (round(255 x), after clipping to [0, 1]), mean squared error over
  all channels and pixels, peak 255. Identical images give +inf unless `max_db` caps it.
- `ssim`: Wang et al. (2004) with their constants (K1 = 0.01, K2 = 0.03), a Gaussian window of 11 x 11 and
  sigma 1.5, population (not sample) statistics, on the 8-bit quantised sRGB image, averaged over the valid
  window positions (no padding) and then over the channels. This is what
  `skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
  data_range=255, channel_axis=-1)` computes on the uint8 images.
- `ciede2000`: the colour difference formula of CIE 2000, written from Sharma, Wu and Dalal (2005).
- `colorfulness`: Hasler and Suesstrunk (2003) on sRGB in 0-255 units, as in the paper: with rg = R - G and
  yb = (R + G) / 2 - B, M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2). Grey is 0;
  the paper calls about 33 "moderately", 45 "quite" and 59 "highly" colourful.
- `auc_ab`: Zhang, Isola and Efros (2016): the fraction of pixels whose ab error (L2 in a*b*) is within a
  threshold t, integrated over t in [0, 150] and divided by 150. The integral is taken exactly:
  int_0^T P(err <= t) dt / T = mean(max(0, 1 - err / T)), which the 151-step sweep of the paper approximates.
- `false_colour`: blotches, the share of the truth's near-neutral pixels (chroma < 10) that the prediction
  paints saturated (chroma > 30): confident wrong colour on backdrops, skies and white walls (0 for an image
  without neutral pixels).
"""

from __future__ import annotations

import math

import torch

__all__ = ["auc_ab", "ciede2000", "colorfulness", "false_colour", "psnr", "quantize_8bit", "ssim"]

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
AUC_MAX_THRESHOLD = 150.0


def _check(image: torch.Tensor, channels: int | tuple[int, ...], name: str) -> None:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor. Got {type(image).__name__}")
    if not image.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor. Got {image.dtype}")
    allowed = (channels,) if isinstance(channels, int) else channels
    if image.dim() < 3 or image.shape[-3] not in allowed:
        wanted = " or ".join(str(c) for c in allowed)
        raise ValueError(f"{name} must have a shape of (*, {wanted}, H, W). Got {tuple(image.shape)}")


def _check_pair(pred: torch.Tensor, target: torch.Tensor, channels: int | tuple[int, ...]) -> None:
    _check(pred, channels, "pred")
    _check(target, channels, "target")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape. Got {tuple(pred.shape)} and "
                         f"{tuple(target.shape)}")


def quantize_8bit(rgb: torch.Tensor) -> torch.Tensor:
    """Round an image in [0, 1] to the nearest of the 256 levels an 8-bit file stores (values k / 255).

    Args:
        rgb: (*, C, H, W) float; values outside [0, 1] are clipped first.

    Returns:
        (*, C, H, W) float in [0, 1], same dtype.
    """
    return torch.round(rgb.clamp(0.0, 1.0) * 255.0) / 255.0


def psnr(pred: torch.Tensor, target: torch.Tensor, max_db: float | None = None) -> torch.Tensor:
    """Peak signal-to-noise ratio of 8-bit sRGB images, one figure per image.

    Args:
        pred: (*, C, H, W) float sRGB in [0, 1] (quantised to 8 bits here).
        target: (*, C, H, W) float sRGB in [0, 1] (quantised to 8 bits here).
        max_db: cap for the result; None keeps +inf for identical images.

    Returns:
        (*,) PSNR in dB: 10 log10(255^2 / MSE), MSE over channels and pixels in 0-255 units.
    """
    _check_pair(pred, target, (1, 3))
    diff = (quantize_8bit(pred) - quantize_8bit(target)) * 255.0
    mse = diff.square().mean(dim=(-3, -2, -1))
    value = 10.0 * torch.log10(255.0**2 / mse)  # mse == 0 -> +inf
    if max_db is not None:
        value = value.clamp(max=max_db)
    return value


def _gaussian_window(size: int, sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def _band(g: torch.Tensor, width: int) -> torch.Tensor:
    """(width + k - 1, width) matrix whose column j holds the window g at rows j .. j + k - 1."""
    k = g.numel()
    band = torch.zeros(width + k - 1, width, dtype=g.dtype, device=g.device)
    j = torch.arange(width, device=g.device)
    for i in range(k):
        band[j + i, j] = g[i]
    return band


def _blur_valid(x: torch.Tensor, g: torch.Tensor, block: int = 64) -> torch.Tensor:
    """Separable blur of (..., H, W) by the window g without padding -> (..., H - k + 1, W - k + 1).

    Each axis is filtered as products with a banded matrix, `block` outputs at a time: BLAS makes that
    about 15x faster on the CPU than k shifted slices or conv2d with a one-channel kernel (im2col).
    """
    k = g.numel()
    h, w = x.shape[-2:]
    out_h, out_w = h - k + 1, w - k + 1
    band_w = _band(g, min(block, out_w))
    cols = []
    for start in range(0, out_w, band_w.shape[1]):
        n = min(band_w.shape[1], out_w - start)
        cols.append(x[..., start : start + n + k - 1] @ band_w[: n + k - 1, :n])
    x = torch.cat(cols, dim=-1)
    band_h = _band(g, min(block, out_h)).T
    rows = []
    for start in range(0, out_h, band_h.shape[0]):
        n = min(band_h.shape[0], out_h - start)
        rows.append(band_h[:n, : n + k - 1] @ x[..., start : start + n + k - 1, :])
    return torch.cat(rows, dim=-2)


def ssim(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) of 8-bit sRGB images, one figure per image.

    Gaussian window 11 x 11, sigma 1.5, K1 = 0.01, K2 = 0.03, population statistics, computed on the
    8-bit quantised images (data range 1 after scaling), averaged over the window positions that fit inside
    the image (no padding) and then over the channels.

    Args:
        pred: (*, C, H, W) float sRGB in [0, 1], C = 1 or 3, H and W at least 11.
        target: (*, C, H, W) float sRGB in [0, 1].

    Returns:
        (*,) SSIM in [-1, 1]; 1 for identical images.
    """
    _check_pair(pred, target, (1, 3))
    h, w = pred.shape[-2:]
    if h < SSIM_WINDOW or w < SSIM_WINDOW:
        raise ValueError(f"ssim needs images of at least {SSIM_WINDOW} x {SSIM_WINDOW} pixels. Got {h} x {w}")
    batch_shape = pred.shape[:-3]
    x = quantize_8bit(pred).reshape(-1, h, w)
    y = quantize_8bit(target).reshape(-1, h, w)
    g = _gaussian_window(SSIM_WINDOW, SSIM_SIGMA, pred.dtype, pred.device)
    # One blur over the five moment images at once: (5N, h, w).
    moments = _blur_valid(torch.cat([x, y, x * x, y * y, x * y]), g).chunk(5)
    mu_x, mu_y, xx, yy, xy = moments
    var_x = xx - mu_x * mu_x
    var_y = yy - mu_y * mu_y
    cov = xy - mu_x * mu_y
    c1 = SSIM_K1**2  # data range 1
    c2 = SSIM_K2**2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    per_channel = ssim_map.mean(dim=(-2, -1))  # (N*C,)
    return per_channel.reshape(*batch_shape, pred.shape[-3]).mean(dim=-1)


def ciede2000(
    lab1: torch.Tensor, lab2: torch.Tensor, k_l: float = 1.0, k_c: float = 1.0, k_h: float = 1.0
) -> torch.Tensor:
    """CIEDE2000 colour difference per pixel (Sharma, Wu and Dalal 2005), vectorised.

    Args:
        lab1: (*, 3, H, W) CIELab, L* in [0, 100], a*, b* about [-128, 127].
        lab2: (*, 3, H, W) CIELab, same shape.
        k_l, k_c, k_h: the parametric weights of lightness, chroma and hue (1 for the reference conditions).

    Returns:
        (*, H, W) Delta E 00, >= 0 (about 1 is a just-noticeable difference).
    """
    _check_pair(lab1, lab2, 3)
    l1, a1, b1 = lab1.unbind(dim=-3)
    l2, a2, b2 = lab2.unbind(dim=-3)
    deg = 180.0 / math.pi

    # a* is stretched by G so that near-neutral colours get hues that behave (Sharma eq. 2-4).
    c_mean = 0.5 * (torch.hypot(a1, b1) + torch.hypot(a2, b2))
    c7 = c_mean**7
    g = 0.5 * (1.0 - torch.sqrt(c7 / (c7 + 25.0**7)))
    a1p = (1.0 + g) * a1
    a2p = (1.0 + g) * a2
    c1p = torch.hypot(a1p, b1)
    c2p = torch.hypot(a2p, b2)
    h1p = torch.remainder(torch.atan2(b1, a1p) * deg, 360.0)  # degrees in [0, 360); atan2(0, 0) = 0
    h2p = torch.remainder(torch.atan2(b2, a2p) * deg, 360.0)

    # Differences (eq. 8-11); the hue difference takes the short way round the circle.
    chroma_product = c1p * c2p
    neutral = chroma_product == 0
    dl = l2 - l1
    dc = c2p - c1p
    dh = h2p - h1p
    dh = torch.where(dh > 180.0, dh - 360.0, torch.where(dh < -180.0, dh + 360.0, dh))
    dh = torch.where(neutral, torch.zeros_like(dh), dh)
    dh_big = 2.0 * torch.sqrt(chroma_product) * torch.sin(dh / (2.0 * deg))

    # Means (eq. 12-14); the mean hue also goes the short way round.
    l_bar = 0.5 * (l1 + l2)
    c_bar = 0.5 * (c1p + c2p)
    h_sum = h1p + h2p
    far = (h1p - h2p).abs() > 180.0
    h_bar = torch.where(far, torch.where(h_sum < 360.0, h_sum + 360.0, h_sum - 360.0), h_sum) * 0.5
    h_bar = torch.where(neutral, h_sum, h_bar)

    # Weighting functions and the rotation term (eq. 15-22).
    t = (
        1.0
        - 0.17 * torch.cos((h_bar - 30.0) / deg)
        + 0.24 * torch.cos(2.0 * h_bar / deg)
        + 0.32 * torch.cos((3.0 * h_bar + 6.0) / deg)
        - 0.20 * torch.cos((4.0 * h_bar - 63.0) / deg)
    )
    d_theta = 30.0 * torch.exp(-(((h_bar - 275.0) / 25.0) ** 2))
    c_bar7 = c_bar**7
    r_c = 2.0 * torch.sqrt(c_bar7 / (c_bar7 + 25.0**7))
    l50 = (l_bar - 50.0) ** 2
    s_l = 1.0 + 0.015 * l50 / torch.sqrt(20.0 + l50)
    s_c = 1.0 + 0.045 * c_bar
    s_h = 1.0 + 0.015 * c_bar * t
    r_t = -torch.sin(2.0 * d_theta / deg) * r_c

    term_l = dl / (k_l * s_l)
    term_c = dc / (k_c * s_c)
    term_h = dh_big / (k_h * s_h)
    squared = term_l**2 + term_c**2 + term_h**2 + r_t * term_c * term_h
    return torch.sqrt(squared.clamp(min=0.0))


def colorfulness(rgb: torch.Tensor) -> torch.Tensor:
    """Colourfulness of Hasler and Suesstrunk (2003), one figure per image.

    Args:
        rgb: (*, 3, H, W) float sRGB in [0, 1] (scaled to 0-255 units here, as the paper's figures are).

    Returns:
        (*,) colourfulness M >= 0; 0 for any grey image.
    """
    _check(rgb, 3, "rgb")
    r, g, b = (rgb * 255.0).unbind(dim=-3)
    rg = (r - g).flatten(-2)
    yb = (0.5 * (r + g) - b).flatten(-2)
    std = torch.sqrt(rg.var(dim=-1, unbiased=False) + yb.var(dim=-1, unbiased=False))
    mean = torch.hypot(rg.mean(dim=-1), yb.mean(dim=-1))
    return std + 0.3 * mean


def auc_ab(
    ab_pred: torch.Tensor, ab_true: torch.Tensor, max_threshold: float = AUC_MAX_THRESHOLD
) -> torch.Tensor:
    """Area under the cumulative curve of ab error (Zhang, Isola and Efros 2016), one figure per image.

    The fraction of pixels whose L2 error in a*b* is within t, integrated over t in [0, max_threshold] and
    divided by max_threshold: exactly mean(max(0, 1 - err / max_threshold)).

    Args:
        ab_pred: (*, 2, H, W) predicted a*b*.
        ab_true: (*, 2, H, W) true a*b*.
        max_threshold: the largest threshold, in a*b* units (150 as the paper).

    Returns:
        (*,) AuC in [0, 1]; 1 when every pixel is exact.
    """
    _check_pair(ab_pred, ab_true, 2)
    if max_threshold <= 0:
        raise ValueError(f"max_threshold must be positive. Got {max_threshold}")
    err = torch.linalg.vector_norm(ab_pred - ab_true, dim=-3)  # (*, H, W)
    return (1.0 - err / max_threshold).clamp(min=0.0).mean(dim=(-2, -1))


def false_colour(
    ab_pred: torch.Tensor, ab_true: torch.Tensor, saturated: float = 30.0, neutral: float = 10.0
) -> torch.Tensor:
    """Blotches: the share of the truth's neutral pixels (chroma < `neutral`) whose prediction has chroma
    > `saturated`, one figure per image in [0, 1] (0 where the truth has no neutral pixel).

    Args:
        ab_pred: (*, 2, H, W) predicted a*b*.
        ab_true: (*, 2, H, W) true a*b*.
    """
    _check_pair(ab_pred, ab_true, 2)
    grey = torch.linalg.vector_norm(ab_true, dim=-3) < neutral
    painted = (torch.linalg.vector_norm(ab_pred, dim=-3) > saturated) & grey
    count = grey.flatten(-2).sum(dim=-1)
    return painted.flatten(-2).sum(dim=-1).to(ab_pred.dtype) / count.clamp(min=1).to(ab_pred.dtype)
