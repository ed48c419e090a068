"""Synthetic training images for the data, model and training tests: smooth random colour fields (so every
image has real chroma), optionally some grey ones, written as PNG/JPEG files or a tar shard."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image


def colour_image(seed: int, size: int = 24, grey: bool = False) -> np.ndarray:
    """(size, size, 3) uint8: a 3x3 grid of random colours upsampled smoothly, plus light noise."""
    rng = np.random.default_rng(seed)
    grid = rng.uniform(0.1, 0.9, (3, 3, 3))
    image = np.asarray(Image.fromarray((grid * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR))
    image = np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    if grey:
        image = np.repeat(image.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
    return image


def encode(image: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def write_shard(path: Path, count: int, size: int = 24, start: int = 0, grey_every: int = 0) -> Path:
    """A WebDataset-style tar of `count` images named img_<n>.png / .jpg (every `grey_every`-th is grey)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for n in range(start, start + count):
            grey = grey_every > 0 and n % grey_every == 0
            fmt = "JPEG" if n % 2 else "PNG"
            data = encode(colour_image(n, size, grey), fmt)
            info = tarfile.TarInfo(f"img_{n:05d}.{'jpg' if fmt == 'JPEG' else 'png'}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_folder(folder: Path, count: int, size: int = 24, start: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(start, start + count):
        (folder / f"img_{n:05d}.png").write_bytes(encode(colour_image(n, size)))
    return folder
