"""ICC profiles: recognising sRGB, and converting other profiles' pixels to sRGB with LittleCMS.

8-bit images are converted by LittleCMS directly; 16-bit and float images through a fine lookup table
sampled from LittleCMS (it works on 8-bit images only), so that smooth gradients get no 8-bit banding.
"""

from __future__ import annotations

import io
import warnings
from functools import lru_cache

import numpy as np
from PIL import Image, ImageCms

from deepcolor.io.errors import ImageWarning, reason

_LUT_STEP = 5  # grid step in 8-bit codes: 52 points per axis (0, 5, ..., 255)


@lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """The sRGB ICC profile (LittleCMS's built-in one) that deepcolor embeds in converted images."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@lru_cache(maxsize=1)
def _srgb_cms() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@lru_cache(maxsize=32)
def is_srgb(icc: bytes) -> bool:
    """Whether an RGB profile maps colours to sRGB unchanged (within one 8-bit code), tested on a grid of
    4096 colours; names are not trusted ("Linear sRGB" is not sRGB)."""
    if icc == srgb_profile():
        return True
    if icc_space(icc) != "RGB":
        return False
    levels = np.arange(0, 256, 17, dtype=np.uint8)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        out = ImageCms.profileToProfile(Image.fromarray(grid), source, _srgb_cms(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return False
    return int(np.abs(np.asarray(out).astype(np.int16) - grid).max()) <= 1


def icc_space(icc: bytes) -> str:
    """The profile's data colour space from its header: 'RGB', 'GRAY', 'CMYK', ..."""
    return icc[16:20].decode("ascii", "replace").strip() if len(icc) >= 20 else ""


def icc_to_srgb_8bit(im: Image.Image, icc: bytes, name: str) -> Image.Image | None:
    """L, RGB or CMYK image with an embedded profile -> RGB sRGB image, or None (with a warning naming
    `name`) if the profile cannot be used."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(im, source, _srgb_cms(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as e:
        warnings.warn(f"{name}: embedded ICC profile not applied ({reason(e)})", ImageWarning, stacklevel=4)
        return None


def icc_to_srgb_float(color: np.ndarray, icc: bytes, name: str) -> tuple[np.ndarray, bytes | None]:
    """16-bit or float image with a non-sRGB profile -> (sRGB float, profile now describing it).

    LittleCMS through Pillow works on 8-bit images only, so the profile is sampled on a grid (every 5th
    code per channel, or all 256 grey levels) and the grid is interpolated: the colour transform itself
    is accurate to about one 8-bit code, but smooth gradients stay smooth, with no 8-bit banding.
    """
    gray = color.ndim == 2
    levels = np.arange(0, 256, 1 if gray else _LUT_STEP, dtype=np.uint8)
    if gray:
        grid = Image.fromarray(levels[None, :])  # (1, 256) L
    else:
        r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")
        grid = Image.fromarray(np.stack([r, g, b], axis=-1).reshape(1, -1, 3))  # (1, n^3) RGB
    converted = icc_to_srgb_8bit(grid, icc, name)
    if converted is None:
        return color, icc
    table = np.asarray(converted, dtype=np.float32).reshape(-1, 3) / 255.0
    if gray:
        x = np.linspace(0.0, 1.0, 256, dtype=np.float32)
        rgb = np.stack([np.interp(color, x, table[:, c]) for c in range(3)], axis=-1)
        return rgb.astype(np.float32), srgb_profile()
    n = len(levels)
    return _trilinear(color, table.reshape(n, n, n, 3)), srgb_profile()


def _trilinear(rgb: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """rgb: (H, W, 3) in [0, 1]; lut: (n, n, n, 3) samples on a uniform grid -> (H, W, 3)."""
    n = lut.shape[0]
    flat = rgb.reshape(-1, 3)
    out = np.empty_like(flat, dtype=np.float32)
    for start in range(0, len(flat), 1 << 20):  # bound the temporaries on large images
        pos = np.clip(flat[start : start + (1 << 20)], 0.0, 1.0) * (n - 1)
        i0 = np.minimum(pos.astype(np.int64), n - 2)
        f = (pos - i0).astype(np.float32)
        acc = np.zeros((len(pos), 3), dtype=np.float32)
        for dr in (0, 1):
            wr = f[:, 0] if dr else 1.0 - f[:, 0]
            for dg in (0, 1):
                wg = f[:, 1] if dg else 1.0 - f[:, 1]
                for db in (0, 1):
                    wb = f[:, 2] if db else 1.0 - f[:, 2]
                    acc += (wr * wg * wb)[:, None] * lut[i0[:, 0] + dr, i0[:, 1] + dg, i0[:, 2] + db]
        out[start : start + len(pos)] = acc
    return out.reshape(rgb.shape)
