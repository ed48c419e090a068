"""Isoluminant test images: colours of equal CIE L* and different hue, the case that plain luma gets wrong.

Three kinds, all (H, W, 3) uint8 sRGB, every colour in the sRGB gamut at the chosen L* and chroma:

- `patches`: a grid of flat patches of evenly spaced hues (shuffled), all at one L*.
- `text`: letters in one hue on a background of another hue of the same L*.
- `gradient`: the hue sweeping across the image at constant L* and chroma.

`isoluminant_set` makes a varied set of them (the benchmark's third data set; the tests use single images).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from deepcolor.color import lab_to_rgb, rgb_to_lab


def _lch_to_srgb(light: np.ndarray, chroma: np.ndarray, hue_deg: np.ndarray) -> np.ndarray:
    """L*, C*, h (broadcastable arrays) -> (..., 3) float64 sRGB in [0, 1] (clipped)."""
    h = np.deg2rad(hue_deg)
    light, a, b = np.broadcast_arrays(light, chroma * np.cos(h), chroma * np.sin(h))
    lab = torch.from_numpy(np.stack([light, a, b], axis=0).astype(np.float64))  # (3, ...)
    shape = lab.shape[1:]
    rgb = lab_to_rgb(lab.reshape(3, -1, 1))
    return rgb.reshape(3, *shape).numpy().transpose(*range(1, len(shape) + 1), 0)


def in_gamut(light: float, chroma: float, hues: np.ndarray, tolerance: float = 0.5) -> bool:
    """Whether every hue at (L*, C*) is an sRGB colour (its 8-bit version is within `tolerance` Delta E)."""
    rgb = np.round(_lch_to_srgb(np.float64(light), np.float64(chroma), np.asarray(hues, float)) * 255) / 255
    lab = rgb_to_lab(torch.from_numpy(rgb.T[:, :, None])).numpy()[:, :, 0].T
    h = np.deg2rad(np.asarray(hues, float))
    want = np.stack([np.full(h.shape, light), chroma * np.cos(h), chroma * np.sin(h)], axis=1)
    return bool(np.linalg.norm(lab - want, axis=1).max() <= tolerance)


def _to_u8(rgb: np.ndarray) -> np.ndarray:
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def patches(
    size: int = 96, n: int = 4, light: float = 60.0, chroma: float = 30.0, seed: int = 0
) -> np.ndarray:
    """An n x n grid of flat patches at one L*, hues evenly spaced and shuffled: (size, size, 3) uint8."""
    rng = np.random.default_rng(seed)
    hues = (np.arange(n * n) * 360.0 / (n * n) + rng.uniform(0, 360.0 / (n * n))) % 360.0
    rng.shuffle(hues)
    colors = _to_u8(_lch_to_srgb(np.float64(light), np.float64(chroma), hues))  # (n*n, 3)
    cell = np.minimum(np.arange(size) * n // size, n - 1)
    index = cell[:, None] * n + cell[None, :]
    return colors[index]


def text(
    size: int = 96, light: float = 60.0, chroma: float = 30.0, hue_fg: float = 30.0, hue_bg: float = 150.0,
    word: str = "Aa",
) -> np.ndarray:
    """`word` in hue `hue_fg` on a background of hue `hue_bg`, both at one L*: (size, size, 3) uint8."""
    mask = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask)
    try:
        font = ImageFont.load_default(size=int(size * 0.55))
    except TypeError:  # Pillow < 10.1: one small bitmap font
        font = ImageFont.load_default()
    box = draw.textbbox((0, 0), word, font=font)
    xy = ((size - (box[2] - box[0])) / 2 - box[0], (size - (box[3] - box[1])) / 2 - box[1])
    draw.text(xy, word, fill=255, font=font)
    m = (np.asarray(mask) >= 128)[:, :, None]
    fg, bg = (_to_u8(_lch_to_srgb(np.float64(light), np.float64(chroma), np.float64(h)))
              for h in (hue_fg, hue_bg))
    return np.where(m, fg, bg).astype(np.uint8)


def gradient(size: int = 96, light: float = 60.0, chroma: float = 30.0, start: float = 0.0,
             span: float = 360.0) -> np.ndarray:
    """The hue sweeping from `start` over `span` degrees left to right at one L* and C*: (size, size, 3)."""
    hues = start + np.linspace(0.0, span, size)
    row = _to_u8(_lch_to_srgb(np.float64(light), np.float64(chroma), hues))  # (size, 3)
    return np.repeat(row[None], size, axis=0)


def isoluminant_set(count: int = 24, size: int = 128, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """`count` isoluminant images, a third each of patches, text and gradients, with varied L*, chroma and
    hues (all in gamut): a list of (name, (size, size, 3) uint8)."""
    rng = np.random.default_rng(seed)
    images: list[tuple[str, np.ndarray]] = []
    words = ("Aa", "Hue", "OK", "42", "Iso", "Lab")
    for i in range(count):
        while True:  # draw an L* and a chroma at which every hue fits in sRGB
            light, chroma = float(rng.uniform(50, 75)), float(rng.uniform(20, 32))
            if in_gamut(light, chroma, np.arange(0, 360, 10)):
                break
        kind = ("patches", "text", "gradient")[i % 3]
        if kind == "patches":
            n = int(rng.integers(2, 6))
            image = patches(size, n=n, light=light, chroma=chroma, seed=int(rng.integers(1 << 30)))
        elif kind == "text":
            hue = float(rng.uniform(0, 360))
            other = hue + float(rng.uniform(90, 270))
            image = text(size, light, chroma, hue, other, words[(i // 3) % len(words)])
        else:
            image = gradient(size, light, chroma, float(rng.uniform(0, 360)), float(rng.uniform(120, 360)))
        images.append((f"iso_{kind}_{i:02d}", image))
    return images
