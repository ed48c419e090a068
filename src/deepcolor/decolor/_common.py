"""What the colour -> grey methods share: input checks, the small copy they fit on, pixel pairs, and a
streaming sRGB -> CIELab for the full-resolution pass.

The streaming conversion is a fused special case of `deepcolor.color.rgb_to_lab` (same constants, imported
from there): it works on row bands of a few hundred thousand pixels, takes uint8 through a 256-entry table
instead of a power, and never holds more than one band of float copies, so that a 50-megapixel photo costs
its input plus its grey output and little else. `tests/decolor/test_common.py` checks it against
`deepcolor.color.numpy.rgb_to_lab`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

from deepcolor.color.lab import F_THRESHOLD, OFFSET, SLOPE, T_FROM_LINEAR, T_THRESHOLD
from deepcolor.color.rgb import LINEAR_THRESHOLD, SRGB_THRESHOLD

FIT_STREAM = 0x5EED  # first word of the fits' random streams (never the metric's default_rng(seed))
BAND_PIXELS = 1 << 16  # pixels per band of the full-resolution pass: temporaries stay small and in cache
_T_FROM_LINEAR = T_FROM_LINEAR.numpy().astype(np.float32)  # (3, 3) linear sRGB -> XYZ / white


def _srgb_to_linear_np(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(x > SRGB_THRESHOLD, ((np.maximum(x, SRGB_THRESHOLD) + 0.055) / 1.055) ** 2.4, x / 12.92)


_LINEAR_FROM_U8 = _srgb_to_linear_np(np.arange(256) / 255.0).astype(np.float32)


def check_rgb(rgb: np.ndarray) -> np.ndarray:
    """An (H, W, 3) image, uint8 or float in [0, 1] (uint16 is scaled to float32); else ValueError."""
    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[2] != 3 or 0 in array.shape[:2]:
        raise ValueError(f"Expected an (H, W, 3) image. Got shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return array.astype(np.float32) / np.float32(65535.0)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"Expected a uint8, uint16 or float image. Got dtype {array.dtype}")
    if array.dtype != np.float32 and array.dtype != np.float64:
        array = array.astype(np.float32)
    return array


def row_bands(height: int, width: int, pixels: int = BAND_PIXELS) -> Iterator[slice]:
    """Row slices covering `height` rows, each about `pixels` pixels."""
    step = max(1, pixels // max(width, 1))
    for top in range(0, height, step):
        yield slice(top, min(height, top + step))


def _box_resize(x: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """Area (box-filter) resize of `x` along `axis` to `n_out` samples: output i is the mean of the input
    over [i, i + 1) * n / n_out, fractional pixels weighted by their overlap. The integral of a
    piecewise-constant signal is piecewise linear, so interpolating its cumulative sum is exact."""
    x = np.moveaxis(x, axis, 0)
    n = x.shape[0]
    integral = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(x, axis=0)], axis=0)  # (n + 1, ...)
    edges = np.arange(n_out + 1) * (n / n_out)
    i = np.minimum(edges.astype(np.int64), n - 1)
    frac = (edges - i).reshape(-1, *([1] * (x.ndim - 1)))
    at_edges = integral[i] + frac * (integral[i + 1] - integral[i])
    out = (at_edges[1:] - at_edges[:-1]) * (n_out / n)
    return np.moveaxis(out, 0, axis)


SAMPLES = 4  # per block side, when the block is larger than this


def thumbnail(rgb: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 / float -> (h, w, 3) float64 sRGB in [0, 1], longer side at most `size`.

    Area averaging in two steps: blocks of k x k pixels (k chosen so that at most 2 * `size` blocks span the
    longer side) are averaged -- over all their pixels when k <= 4, else over a regular 4 x 4 grid of samples
    in each block, so that the cost does not grow with the photo -- then a box filter with fractional
    weights takes the block means to the final size.
    """
    h, w = rgb.shape[:2]
    scale = 255.0 if rgb.dtype == np.uint8 else 1.0
    k = max(1, min(max(h, w) // (2 * size), h, w))
    hk, wk = h // k, w // k
    if k > SAMPLES:  # a regular grid of samples inside each block
        offsets = ((np.arange(SAMPLES) + 0.5) * k / SAMPLES).astype(np.int64)
        rows = (np.arange(hk)[:, None] * k + offsets[None, :]).ravel()
        cols = (np.arange(wk)[:, None] * k + offsets[None, :]).ravel()
        picked = rgb[rows][:, cols].astype(np.float32)  # (hk * S, wk * S, 3)
        k_eff = SAMPLES
        summed = picked.reshape(hk, k_eff, wk * k_eff, 3).sum(1)
        picked = summed.reshape(hk, wk, k_eff, 3).sum(2)
    elif k > 1:  # every pixel of each block: k * k strided views added up
        k_eff = k
        picked = np.zeros((hk, wk, 3), dtype=np.float32)
        for dy in range(k):
            for dx in range(k):
                picked += rgb[dy : hk * k : k, dx : wk * k : k]
    else:
        k_eff, picked = 1, rgb
    small = picked.astype(np.float64) * (1.0 / (scale * k_eff * k_eff))
    if max(hk, wk) > size:
        factor = size / max(hk, wk)
        ho, wo = max(1, round(hk * factor)), max(1, round(wk * factor))
        small = _box_resize(_box_resize(small, ho, 0), wo, 1)  # no BLAS: its threads spin on busy cores
    return np.clip(small, 0.0, 1.0)


def lab_of(rgb: np.ndarray) -> np.ndarray:
    """(h, w, 3) float sRGB in [0, 1] -> (h, w, 3) float64 CIELab, for the small fitting copies.

    NumPy (`band_lab`) rather than `deepcolor.color.numpy.rgb_to_lab`: that one runs torch, whose idle
    worker threads keep spinning for a while and slow down the NumPy fit that follows on a busy machine.
    """
    return np.stack(band_lab(np.asarray(rgb, dtype=np.float32)), axis=-1).astype(np.float64)


NEIGHBOURS = ((0, 1), (1, 0))  # (dy, dx): each pixel with its right and its lower neighbour


def pixel_pairs(
    height: int, width: int, seed: int = 0, offsets: tuple[tuple[int, int], ...] = NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices (first, second) of the pixel pairs: pixel (y, x) with (y + dy, x + dx) for every
    (dy, dx) in `offsets` (dy >= 0; by default every 4-neighbour pair once), then one random partner per
    pixel: about 3 pairs per pixel with the default offsets.

    The permutation comes from `numpy.random.default_rng((FIT_STREAM, seed))`, a stream of its own: the
    E-score protocol draws its random pairs from `default_rng(seed)`, and a fit on a 64 x 64 image must not
    see the very pairs it will be scored on.
    """
    idx = np.arange(height * width).reshape(height, width)
    firsts, seconds = [], []
    for dy, dx in offsets:
        rows = max(height - dy, 0)  # rows y whose partner y + dy is inside
        x0 = max(0, -dx)
        x1 = max(width - max(0, dx), x0)  # columns x whose partner x + dx is inside
        firsts.append(idx[:rows, x0:x1].ravel())
        seconds.append(idx[dy : dy + rows, x0 + dx : x1 + dx].ravel())
    perm = np.random.default_rng((FIT_STREAM, seed)).permutation(height * width)
    return np.concatenate([*firsts, idx.ravel()]), np.concatenate([*seconds, perm])


_LOCAL = threading.local()


def scratch(slots: int, shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    """A (slots, *shape) work array from a per-thread buffer that is kept between calls.

    The full-resolution passes need a dozen band-sized temporaries. Fresh ones are mapped from the
    operating system and faulted in page by page on every band of every photo; reused ones are not
    (about 2 ms of a 13 ms BSD100 photo). The buffer grows to the largest request and is kept: a few MB.
    """
    size = slots * int(np.prod(shape))
    key = f"buffer_{np.dtype(dtype).str}"
    buffer = getattr(_LOCAL, key, None)
    if buffer is None or buffer.size < size:
        buffer = np.empty(size, dtype=dtype)
        setattr(_LOCAL, key, buffer)
    return buffer[:size].reshape(slots, *shape)


def band_f(
    band: np.ndarray, out: np.ndarray | None = None, work: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(h, w, 3) uint8 or float sRGB rows -> the companded f(X/Xn), f(Y/Yn), f(Z/Zn) of CIELab, three (h, w)
    float32 arrays: L* = 116 fy - 16, a* = 500 (fx - fy), b* = 200 (fy - fz).

    `out` (3, h, w) float32 receives them and `work` (4, h, w) float32 holds the temporaries, when given.
    """
    h, w = band.shape[:2]
    if out is None:
        out = np.empty((3, h, w), dtype=np.float32)
    if work is None:
        work = np.empty((4, h, w), dtype=np.float32)
    lin, tmp = work[:3], work[3]
    if band.dtype == np.uint8:
        for c in range(3):
            np.take(_LINEAR_FROM_U8, band[..., c], out=lin[c])  # np.take: 2x a[idx]
    else:
        for c in range(3):
            x = band[..., c].astype(np.float32)
            power = np.power((np.maximum(x, SRGB_THRESHOLD) + 0.055) / 1.055, 2.4, dtype=np.float32)
            lin[c] = np.where(x > SRGB_THRESHOLD, power, x / np.float32(12.92))
    m = _T_FROM_LINEAR
    for row in range(3):
        t = out[row]
        np.multiply(lin[0], m[row, 0], out=t)
        t += np.multiply(lin[1], m[row, 1], out=tmp)
        t += np.multiply(lin[2], m[row, 2], out=tmp)
        dark = t <= T_THRESHOLD  # the linear segment near black (rare in photos: patched where it occurs)
        near_black = t[dark] * np.float32(SLOPE) + np.float32(OFFSET) if dark.any() else None
        np.cbrt(t, out=t)
        if near_black is not None:
            t[dark] = near_black
    return out[0], out[1], out[2]


def band_lab(band: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(h, w, 3) uint8 or float sRGB rows -> L*, a*, b* as three (h, w) float32 arrays (D65, as
    `deepcolor.color.rgb_to_lab`)."""
    fx, fy, fz = band_f(band)
    light = fy * np.float32(116.0) - np.float32(16.0)
    a = (fx - fy) * np.float32(500.0)
    b = (fy - fz) * np.float32(200.0)
    return light, a, b


_GREY_TABLE_SIZE = 1 << 16


def _grey_table() -> np.ndarray:
    light = np.linspace(0.0, 100.0, _GREY_TABLE_SIZE, dtype=np.float64)
    fy = (light + 16.0) / 116.0
    y = np.where(fy > F_THRESHOLD, fy**3, (fy - OFFSET) / SLOPE).clip(0.0, 1.0)
    power = 1.055 * np.maximum(y, LINEAR_THRESHOLD) ** (1 / 2.4) - 0.055
    grey = np.where(y > LINEAR_THRESHOLD, power, 12.92 * y)
    return grey.clip(0.0, 1.0).astype(np.float32)


_GREY_FROM_LIGHTNESS = _grey_table()


def gray_from_lightness_fast(light: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """`gray_from_lightness` through a 65,536-entry table (L* steps of 0.0015: within 2e-5 of exact).
    `light` (float32) is overwritten; `out` (contiguous float32, same shape) receives the grey when given."""
    scale = np.float32((_GREY_TABLE_SIZE - 1) / 100.0)
    index = np.clip(light, 0.0, 100.0, out=light)
    index *= scale
    index += np.float32(0.5)
    positions = scratch(1, light.shape, np.intp)[0]
    np.copyto(positions, index, casting="unsafe")  # truncation, as astype
    return np.take(_GREY_FROM_LIGHTNESS, positions, out=out)


def gray_from_lightness(light: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """L* in [0, 100] (clipped) -> the sRGB grey value in [0, 1] whose CIE L* it is (float32)."""
    fy = (np.clip(light, 0.0, 100.0, dtype=np.float32) + np.float32(16.0)) / np.float32(116.0)
    y = np.where(fy > F_THRESHOLD, fy * fy * fy, (fy - np.float32(OFFSET)) / np.float32(SLOPE))
    y = np.maximum(y, np.float32(0.0))
    power = np.power(np.maximum(y, LINEAR_THRESHOLD), np.float32(1.0 / 2.4), dtype=np.float32)
    encoded = power * np.float32(1.055) - np.float32(0.055)
    grey = np.where(y > LINEAR_THRESHOLD, encoded, y * np.float32(12.92))
    if out is None:
        return np.clip(grey, 0.0, 1.0).astype(np.float32, copy=False)
    np.clip(grey, 0.0, 1.0, out=out)
    return out


def max_chroma(lab: np.ndarray) -> float:
    """The largest a*b* chroma of an (h, w, 3) Lab image."""
    return float(np.sqrt(lab[..., 1] ** 2 + lab[..., 2] ** 2).max(initial=0.0))
