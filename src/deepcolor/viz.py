"""Labelled picture sheets: the one way deepcolor shows results to a person.

Used by `convert` (channel montages), training (grey | predicted | truth samples), evaluation (comparison
sheets) and the demo. Works on NumPy images: (H, W, 3) or (H, W) floats in [0, 1] or uint8.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (255, 255, 255)
TEXT = (20, 20, 20)


def to_uint8_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1) or (H, W, 3) image, float in [0, 1] or uint8 -> (H, W, 3) uint8."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"Expected an (H, W) or (H, W, 3) image. Got shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    return (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def _fit(tile: Image.Image, tile_size: int) -> Image.Image:
    """Scale so that the longer side is `tile_size`, keeping the aspect ratio."""
    scale = tile_size / max(tile.size)
    size = (max(1, round(tile.width * scale)), max(1, round(tile.height * scale)))
    return tile.resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.NEAREST)


def make_sheet(
    rows: Sequence[Sequence[np.ndarray]],
    col_labels: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    tile_size: int = 256,
    title: str | None = None,
    gap: int = 6,
) -> np.ndarray:
    """Lay images out in a labelled grid.

    Args:
        rows: rows of images, each (H, W) or (H, W, 3), float in [0, 1] or uint8; sizes may differ.
        col_labels: one label per column, drawn above the first row.
        row_labels: one label per row, drawn to its left.
        tile_size: the longer side of every tile in pixels.
        title: an optional line above everything.
        gap: pixels between tiles.

    Returns:
        (H, W, 3) uint8 sheet.
    """
    if not rows or not all(rows):
        raise ValueError("make_sheet needs at least one non-empty row")
    n_cols = max(len(r) for r in rows)
    font_size = max(12, tile_size // 14)
    font = _font(font_size)
    line = font_size + 8
    tiles = [[_fit(Image.fromarray(to_uint8_rgb(t)), tile_size) for t in row] for row in rows]
    row_heights = [max(t.height for t in row) for row in tiles]
    label_w = 0
    if row_labels:
        probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        label_w = max(int(probe.textlength(s, font=font)) for s in row_labels) + 2 * gap
    top = (line if title else 0) + (line if col_labels else 0)
    width = label_w + n_cols * tile_size + (n_cols + 1) * gap
    height = top + sum(row_heights) + (len(rows) + 1) * gap
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    y = gap
    if title:
        draw.text((gap, y), title, fill=TEXT, font=font)
        y += line
    if col_labels:
        for c, label in enumerate(col_labels):
            x = label_w + gap + c * (tile_size + gap)
            w = draw.textlength(label, font=font)
            draw.text((x + max(0, (tile_size - w) / 2), y), label, fill=TEXT, font=font)
        y += line
    for r, row in enumerate(tiles):
        if row_labels and r < len(row_labels):
            draw.text((gap, y + row_heights[r] / 2 - font_size / 2), row_labels[r], fill=TEXT, font=font)
        for c, tile in enumerate(row):
            x = label_w + gap + c * (tile_size + gap)
            sheet.paste(tile, (x + (tile_size - tile.width) // 2, y + (row_heights[r] - tile.height) // 2))
        y += row_heights[r] + gap
    return np.asarray(sheet)
