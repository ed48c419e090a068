"""Uploaded bytes -> `LoadedImage`, and result arrays -> encoded bytes, all in memory.

Decoding is `deepcolor.io.read_image` on the bytes (its checks: pixel limit before decoding, EXIF orientation,
ICC, 16 bits), encoding `deepcolor.io.encode_image` (what `write_image` writes to a file): the library's I/O,
so that a result from the server equals the command line's for the same input and options. This module adds
the HTTP side: which ImageError is a 413 and which a 415, and the media types.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepcolor.io import ImageError, LoadedImage, encode_image, read_image
from deepcolor.serve.errors import ClientError

# Output formats a client may ask for -> (media type, extension).
FORMATS: dict[str, tuple[str, str]] = {
    "png": ("image/png", ".png"),
    "jpeg": ("image/jpeg", ".jpg"),
    "webp": ("image/webp", ".webp"),
}
_FORMAT_OF_INPUT = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "WEBP": "webp"}


def default_format(image: LoadedImage) -> str:
    """The input's kind when the API can write it (png, jpeg, webp), else png."""
    return _FORMAT_OF_INPUT.get(image.format, "png")


@dataclass
class Encoded:
    data: bytes
    media_type: str
    extension: str


# ------------------------------------------------------------------------------------------------ decoding


def decode(data: bytes | bytearray, label: str, max_pixels: int) -> LoadedImage:
    """Read an uploaded image with the library's reader.

    Args:
        data: the file's bytes.
        label: what to call the file in messages (the client's file name, made safe).
        max_pixels: refuse larger images (from the header, before decoding).

    Raises:
        ClientError: 413 for an image over `max_pixels`, 415 for anything that is not a readable image.
    """
    if not data:
        raise ClientError(415, f"{label}: empty file (0 bytes)")
    try:
        return read_image(data, max_pixels, name=label)
    except ImageError as error:
        # The reader checks the pixel count from the header, before decoding, and says so in these words.
        status = 413 if "is over the limit of" in error.problem else 415
        raise ClientError(status, str(error)) from None
    except MemoryError:
        raise ClientError(413, f"{label}: not enough memory to decode this image") from None


# ------------------------------------------------------------------------------------------------ encoding


def encode(
    array: np.ndarray,
    fmt: str,
    alpha: np.ndarray | None = None,
    icc: bytes | None = None,
    exif: bytes | None = None,
    bit_depth: int = 8,
    quality: int = 95,
) -> Encoded:
    """Encode a result as `write_image` would write it to a file of that format.

    Args:
        array: (H, W) grey or (H, W, 3) RGB, float in [0, 1] (or uint8 / uint16).
        fmt: "png", "jpeg" or "webp".
        alpha, icc, exif, bit_depth, quality: as for `write_image` (16 bits for PNG only).

    Raises:
        ClientError: 422 when the format cannot hold the result (the encoder's one line).
    """
    media_type, extension = FORMATS[fmt]
    if bit_depth == 16 and fmt != "png":
        bit_depth = 8
    try:
        data = encode_image(array, fmt, alpha=alpha, icc=icc, exif=exif, bit_depth=bit_depth, quality=quality)
    except ImageError as error:  # e.g. WebP holds at most 16383 pixels a side
        raise ClientError(422, f"format: {error.problem}") from None
    return Encoded(data, media_type, extension)
