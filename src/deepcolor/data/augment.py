"""Decoding and augmentation of one training image, in a worker: bytes -> (size, size, 3) uint8.

Decoding goes through deepcolor.io, so a training image looks as it does at inference: EXIF orientation
applied, an embedded ICC profile converted to sRGB, the same pixel limit and the same one-line `ImageError`s.
JPEGs (every image of the training sets) take a fast path: libjpeg decodes them straight at a reduced scale
close to the crop size (its DCT scaling, several times faster than a full decode), then deepcolor.io's own
orientation and ICC steps run on the 8-bit image; any other file, and a JPEG the fast path does not take
(CMYK, broken, over the limit), is read by `deepcolor.io.read_image` itself.

Random resized crop (area fraction in [min_scale, 1], aspect ratio in [3/4, 4/3]) then a horizontal flip
with probability 1/2. Every random draw comes from a generator seeded by (seed, epoch, record index), so an
image's augmentation does not depend on which worker or rank reads it, nor on a resume.
"""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
from PIL import Image

from deepcolor.data.sources import ImageIndex
from deepcolor.io import DEFAULT_MAX_PIXELS, MEMORY_NAME, ImageError, from_unit_float, read_image
from deepcolor.io.errors import DECODE_ERRORS
from deepcolor.io.icc import icc_to_srgb_8bit, is_srgb
from deepcolor.io.metadata import orient, read_exif

# Images whose mean chroma (sqrt(a*^2 + b*^2), CIE Lab units) is below this are "near grey" and dropped:
# grey photos teach a colorizer to leave things grey. On Tiny-ImageNet 3.0 drops 4.7% of the images (JPEG
# chroma noise on a grey photo is about 1-2; 2.0 drops 3.4%, 4.0 drops 6.5%, the median is 14.5);
# ordinary colour photos sit well above. See `mean_chroma`.
GREY_CHROMA_THRESHOLD = 3.0

_JPEG_SIGNATURE = b"\xff\xd8\xff"


def decode(data: bytes, min_side: int = 0, name: str = MEMORY_NAME) -> Image.Image:
    """Decode an encoded image to an upright 8-bit sRGB RGB PIL image, as deepcolor.io reads it.

    Args:
        data: the file's bytes.
        min_side: JPEGs much larger than this are decoded at a reduced scale whose sides stay >= min_side
            (0: full size).
        name: what error messages call the image (its file, or `shard.tar/member`).

    Raises:
        ImageError: not an image, truncated, over deepcolor.io's pixel limit...: one line naming `name`.
    """
    image = _decode_jpeg(data, min_side, name)
    if image is not None:
        return image
    loaded = read_image(data, name=name)
    return Image.fromarray(from_unit_float(loaded.rgb, np.uint8))


def read_record(index: ImageIndex, i: int, min_side: int = 0) -> Image.Image:
    """Record i of `index`, decoded (see `decode`); every failure, reading included, is an ImageError
    naming the record (`index.where(i)`)."""
    name = index.where(i)
    try:
        data = index.read(i)
    except OSError as e:
        raise ImageError(name, f"cannot read: {(e.strerror or str(e)).lower()}") from None
    try:
        return decode(data, min_side, name)
    except MemoryError:
        raise ImageError(name, "not enough memory to decode") from None


def _decode_jpeg(data: bytes, min_side: int, name: str) -> Image.Image | None:
    """The fast path for an RGB or grey JPEG within the pixel limit; None for anything else (read_image
    then reads it, with its checks and messages)."""
    if not data.startswith(_JPEG_SIGNATURE):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our limit is the one below
            image = Image.open(io.BytesIO(data))
            if image.format != "JPEG" or image.mode not in ("RGB", "L"):
                return None
            if image.width * image.height > DEFAULT_MAX_PIXELS:
                return None
            if min_side:
                image.draft("RGB", (min_side, min_side))
            image.load()
    except (*DECODE_ERRORS, Image.DecompressionBombError):
        return None
    orientation, _ = read_exif(image, name)  # before any conversion: a converted image has no EXIF
    icc = image.info.get("icc_profile")
    if icc and not is_srgb(icc):
        image = icc_to_srgb_8bit(image, icc, name) or image  # unusable profile: warned, pixels as stored
    if image.mode != "RGB":
        image = image.convert("RGB")
    if orientation != 1:
        image = Image.fromarray(np.ascontiguousarray(orient(np.asarray(image), orientation)))
    return image


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
