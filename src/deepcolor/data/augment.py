"""Decoding and augmentation of one training image, in a worker: bytes -> (size, size, 3) uint8.

Random resized crop (area fraction in [min_scale, 1], aspect ratio in [3/4, 4/3]) then a horizontal flip
with probability 1/2. Every random draw comes from a generator seeded by (seed, epoch, record index), so an
image's augmentation does not depend on which worker or rank reads it, nor on a resume.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

# Images whose mean chroma (sqrt(a*^2 + b*^2), CIE Lab units) is below this are "near grey" and dropped:
# grey photos teach a colorizer to leave things grey. On Tiny-ImageNet 3.0 drops 4.7% of the images (JPEG
# chroma noise on a grey photo is about 1-2; 2.0 drops 3.4%, 4.0 drops 6.5%, the median is 14.5);
# ordinary colour photos sit well above. See `mean_chroma`.
GREY_CHROMA_THRESHOLD = 3.0


def decode(data: bytes, min_side: int = 0) -> Image.Image:
    """Decode image bytes to an RGB PIL image; JPEGs much larger than `min_side` are decoded at a reduced
    scale (libjpeg's DCT scaling), which is several times faster."""
    image = Image.open(io.BytesIO(data))
    if min_side and image.format == "JPEG":
        image.draft("RGB", (min_side, min_side))
    return image.convert("RGB")


def mean_chroma(rgb: np.ndarray) -> float:
    """Mean CIE Lab chroma of an (H, W, 3) uint8 sRGB image (a few ms at most: measured on <= 64 px)."""
    import torch

    from deepcolor.color import rgb_to_lab

    image = Image.fromarray(rgb)
    if max(image.size) > 64:
        image.thumbnail((64, 64), Image.Resampling.BILINEAR)
    t = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)
    lab = rgb_to_lab(t)
    return float(torch.sqrt(lab[1] ** 2 + lab[2] ** 2).mean())


def random_resized_crop(
    image: Image.Image, size: int, rng: np.random.Generator, min_scale: float = 0.35, flip: bool = True
) -> np.ndarray:
    """Crop a random area fraction in [min_scale, 1] with aspect in [3/4, 4/3], resize to (size, size),
    flip horizontally with probability 1/2. Returns (size, size, 3) uint8."""
    w, h = image.size
    area = w * h
    box = (0, 0, w, h)
    for _ in range(10):
        target = area * rng.uniform(min_scale, 1.0)
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        cw, ch = round(math.sqrt(target * ratio)), round(math.sqrt(target / ratio))
        if 0 < cw <= w and 0 < ch <= h:
            x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            box = (x0, y0, x0 + cw, y0 + ch)
            break
    else:  # fall back to the largest centred square
        side = min(w, h)
        box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    out = image.resize((size, size), Image.Resampling.BILINEAR, box=box)
    if flip and rng.random() < 0.5:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return np.asarray(out, dtype=np.uint8)


def center_crop(image: Image.Image, size: int) -> np.ndarray:
    """Resize the shorter side to `size` and crop the centre: (size, size, 3) uint8 (validation)."""
    w, h = image.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    if (nw, nh) != (w, h):
        image = image.resize((nw, nh), Image.Resampling.BILINEAR)
    x0, y0 = (nw - size) // 2, (nh - size) // 2
    return np.asarray(image.crop((x0, y0, x0 + size, y0 + size)), dtype=np.uint8)
