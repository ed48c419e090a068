"""Uploaded bytes -> `LoadedImage`, and result arrays -> encoded bytes, all in memory.

Decoding is `deepcolor.io.read_image`'s, with its checks (pixel limit before decoding, EXIF orientation, ICC,
16-bit); encoding follows `deepcolor.io.write_image`. Both are the library's file I/O, so that a result from
the server equals the command line's for the same input and options.

Interim, until `deepcolor.io` reads bytes and writes to file objects itself (issue 9, section 1): a reader
that still wants a path gets an anonymous in-memory file (`memfd_create`, nothing on disk, no name anyone
chose), and encoding uses the writer's own quantisation and save options on a `BytesIO`. Both switch to the
library's calls by feature detection, and this module then shrinks to the error mapping.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from deepcolor.io import ImageError, LoadedImage, read_image, write_image
from deepcolor.serve.errors import ClientError

# Output formats a client may ask for -> (Pillow's name, media type, extension).
FORMATS: dict[str, tuple[str, str, str]] = {
    "png": ("PNG", "image/png", ".png"),
    "jpeg": ("JPEG", "image/jpeg", ".jpg"),
    "webp": ("WEBP", "image/webp", ".webp"),
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


def _header_size(data: bytes | bytearray) -> tuple[int, int] | None:
    """(width, height) from the header alone (Pillow opens lazily), or None when Pillow cannot tell."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                return im.size
    except Image.DecompressionBombError:
        return None  # over Pillow's own bomb limit: the reader applies ours, with the size in its message
    except Exception:  # noqa: BLE001 - anything Pillow cannot open is the reader's to describe
        return None


@functools.lru_cache(maxsize=1)
def _reader_takes_bytes() -> bool:
    try:
        read_image(io.BytesIO(b"not an image"), max_pixels=1)  # type: ignore[arg-type]
    except ImageError:
        return True
    except (TypeError, AttributeError, OSError):
        return False
    return True


@contextlib.contextmanager
def _memory_file(data: bytes | bytearray) -> Iterator[str]:
    """A path to an anonymous in-memory file holding `data` (Linux `memfd_create`; never on disk)."""
    if not hasattr(os, "memfd_create"):
        raise ClientError(
            501, "this server reads uploads in memory only on Linux (until deepcolor.io reads bytes)"
        )
    fd = os.memfd_create("deepcolor-upload", os.MFD_CLOEXEC)
    try:
        with open(fd, "wb", closefd=False) as f:
            f.write(data)
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


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
    size = _header_size(data)
    if size is not None and size[0] * size[1] > max_pixels:
        raise ClientError(
            413, f"{label}: {size[0]} x {size[1]} pixels is over the limit of {max_pixels:,} pixels"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # first frame only, dropped metadata: the result is still right
            if _reader_takes_bytes():
                return read_image(io.BytesIO(data), max_pixels)  # type: ignore[arg-type]
            with _memory_file(data) as path:
                return read_image(path, max_pixels)
    except ImageError as error:
        status = 413 if "over the limit" in error.problem else 415
        raise ClientError(status, f"{label}: {error.problem}") from None
    except MemoryError:
        raise ClientError(413, f"{label}: not enough memory to decode this image") from None


# ------------------------------------------------------------------------------------------------ encoding


@functools.lru_cache(maxsize=1)
def _writer_format_argument() -> str | None:
    """The name of `write_image`'s format argument once it writes to file objects, else None."""
    parameters = inspect.signature(write_image).parameters
    return next((name for name in ("format", "fmt") if name in parameters), None)


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
    """
    pil_format, media_type, extension = FORMATS[fmt]
    if bit_depth == 16 and pil_format != "PNG":
        bit_depth = 8
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # JPEG drops alpha: expected for a format the client chose
        argument = _writer_format_argument()
        if argument is not None:
            write_image(
                buffer,
                array,
                alpha=alpha,
                icc=icc,
                exif=exif,
                bit_depth=bit_depth,  # type: ignore[arg-type]
                quality=quality,
                **{argument: pil_format},
            )
        else:
            _encode_interim(buffer, array, pil_format, alpha, icc, exif, bit_depth, quality)
    return Encoded(buffer.getvalue(), media_type, extension)


def _encode_interim(
    f: io.BytesIO,
    array: np.ndarray,
    pil_format: str,
    alpha: np.ndarray | None,
    icc: bytes | None,
    exif: bytes | None,
    bit_depth: int,
    quality: int,
) -> None:
    """`write_image`'s body for PNG / JPEG / WebP, into a buffer (its helpers, so the pixels are its own)."""
    from deepcolor.io import image as io_image

    color = io_image._unit_float(array, "array")
    if color.ndim == 3 and color.shape[2] == 1:
        color = color[:, :, 0]
    channels = [color] if color.ndim == 2 else [color[..., c] for c in range(3)]
    if alpha is not None and pil_format != "JPEG":
        channels.append(io_image._unit_float(alpha, "alpha"))
    if icc is not None and io_image._icc_space(icc) != ("GRAY" if len(channels) <= 2 else "RGB"):
        icc = None
    if bit_depth == 16:
        u16 = io_image._quantize(channels, 65535.0, np.uint16)
        io_image.write_png16(f, u16, icc=icc, exif=io_image._exif_bytes(exif))
        return
    u8 = io_image._quantize(channels, 255.0, np.uint8)
    im = Image.fromarray(u8[:, :, 0] if u8.shape[2] == 1 else u8)
    if pil_format == "WEBP" and im.mode == "LA":
        im = im.convert("RGBA")
    im.save(f, format=pil_format, **io_image._save_kwargs(pil_format, icc, exif, quality))
