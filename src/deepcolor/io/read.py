"""`read_image`: whatever a user hands us (a file, bytes, a stream) -> float32 sRGB in [0, 1], or one clear
line saying why not.

What it copes with, and how:

- Formats: JPEG, PNG (8 and 16 bit, any colour type, interlaced), TIFF (integer and float, grey and
  colour), BMP, WebP, GIF; anything else Pillow opens is tried too. Animated GIF/WebP/PNG and multi-page
  TIFF: the first frame or page, with an `ImageWarning`. Modes and bit depths: `deepcolor.io.decode`.
- EXIF orientation is applied to the pixels and reset to 1 in the EXIF that is handed back.
- An embedded ICC profile other than sRGB is converted to sRGB (`deepcolor.io.icc`).
- A PNG whose text (XMP...) or ICC chunk is over Pillow's size limits: its pixels are read, the oversized
  metadata dropped with an `ImageWarning` (`deepcolor.io.metadata.png_without_oversized_metadata`).
- Refused with `ImageError("<file>: <problem>")`: missing, empty, unreadable or truncated files, files that
  are not images, and images over `max_pixels`, checked from the header before any pixel is decoded. Bytes
  and streams go through the same checks; their messages name them ``"<memory>"`` or the name given.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

from deepcolor.io.decode import (
    MetadataTooLarge,
    decode,
    float_to_unit,
    is_metadata_limit,
    open_without_pillow_limit,
)
from deepcolor.io.errors import DECODE_ERRORS, ImageError, ImageWarning, reason
from deepcolor.io.icc import icc_to_srgb_float, is_srgb, srgb_profile
from deepcolor.io.loaded import DEFAULT_MAX_PIXELS, GRAY_TOLERANCE, LoadedImage, gray_and_equal
from deepcolor.io.metadata import (
    PNG_SIGNATURE,
    orient,
    png_without_oversized_metadata,
    quality_of_tables,
    read_exif,
)
from deepcolor.io.source import ImageInput, Source, as_source

_TIFF_ICC_TAG, _TIFF_ORIENTATION_TAG = 34675, 274


def read_image(
    source: ImageInput,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    *,
    gray_tolerance: float = GRAY_TOLERANCE,
    name: str | None = None,
) -> LoadedImage:
    """Read an image into float32 sRGB.

    Args:
        source: a path (str or os.PathLike), the file's bytes (bytes, bytearray, memoryview), or a binary
            file object open for reading (read to its end from where it stands).
        max_pixels: refuse images with more pixels than this (width x height, read from the header before
            decoding); None for no limit.
        gray_tolerance: channel difference up to which a colour image counts as grey (`is_gray`).
        name: what messages and `LoadedImage.name` call the image; default: the path, a file object's
            ``name``, else ``"<memory>"``.

    Returns:
        A `LoadedImage` with `rgb` (H, W, 3) float32 in [0, 1] and `alpha` (H, W) float32 or None.

    Raises:
        ImageError: the file is missing, empty, not an image, truncated or corrupt, or over `max_pixels`.
            The message is one line: ``"<file>: <problem>"``.
        TypeError: `source` is not a path, bytes or a binary file object.

    Warns:
        ImageWarning: only the first frame of an animation was read, oversized PNG metadata or a broken
            ICC profile or EXIF block was dropped, float or 32-bit values were stretched.
    """
    src = as_source(source, name)
    src.check()
    # Pillow and tifffile log warnings about odd files, and libtiff prints straight to file descriptor 2:
    # the user gets our one line per file instead.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _quiet_loggers(), _capture_c_stderr() if src.is_tiff() else contextlib.nullcontext():
            try:
                image = _read(src, max_pixels, gray_tolerance)
            except MetadataTooLarge as e:
                image = _read_without_oversized_metadata(src, max_pixels, gray_tolerance, str(e))
    # Only for a file that was read: a refused one has its error, which says enough.
    for w in caught:
        if issubclass(w.category, Image.DecompressionBombWarning):
            continue  # our own pixel limit has been applied
        if issubclass(w.category, ImageWarning):
            warnings.warn(w.message, stacklevel=2)
        elif issubclass(w.category, UserWarning) and ("PIL" in w.filename or "tifffile" in w.filename):
            # Pillow's "Corrupt EXIF data", "Truncated File Read"...: one line naming the file.
            warnings.warn(f"{src.name}: {' '.join(str(w.message).split())}", ImageWarning, stacklevel=2)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return image


def _read(
    src: Source, max_pixels: int | None, gray_tolerance: float, icc_override: bytes | None = None
) -> LoadedImage:
    with open_without_pillow_limit():  # our own limit is checked below, with the size in the message
        try:
            im = Image.open(src.opener())
        except UnidentifiedImageError:
            if src.is_tiff():  # layouts Pillow does not know (16-bit grey + alpha, float RGB...): tifffile
                return _read_tiff_fallback(src, max_pixels, gray_tolerance)
            raise src.error(_not_an_image(src)) from None
        except DECODE_ERRORS as e:
            if is_metadata_limit(e):
                raise MetadataTooLarge(str(e)) from None
            raise src.error(f"not a readable image ({reason(e)})") from None
    with im:
        width, height = im.size
        if width <= 0 or height <= 0:
            raise src.error(f"has no pixels ({width} x {height})")
        if max_pixels is not None and width * height > max_pixels:
            raise src.error(_over_limit(width, height, max_pixels))
        _warn_if_animated(im, src.name)
        fmt, mode = im.format or "?", im.mode
        quality = quality_of_tables(getattr(im, "quantization", None)) if fmt == "JPEG" else None
        icc = im.info.get("icc_profile") or icc_override
        color, alpha, bit_depth, icc_done = decode(im, src, icc)
        orientation, exif = read_exif(im, src.name)  # after decoding: PNG's getexif() would decode at 8 bits
    if icc_done:
        icc = srgb_profile()  # the pixels are sRGB now; the file's profile no longer describes them
    elif icc is not None and color.dtype == np.float32 and bit_depth > 8 and not is_srgb(icc):
        color, icc = icc_to_srgb_float(color, icc, src.name)
    return _loaded(
        src,
        color,
        alpha,
        orientation,
        gray_tolerance,
        icc=icc,
        exif=exif,
        bit_depth=bit_depth,
        format=fmt,
        mode=mode,
        jpeg_quality=quality,
    )


def _read_without_oversized_metadata(
    src: Source, max_pixels: int | None, gray_tolerance: float, problem: str
) -> LoadedImage:
    """The second try for a PNG that Pillow refused for the size of its metadata: without that metadata."""
    src = src.in_memory()
    assert src.data is not None
    if not src.data.startswith(PNG_SIGNATURE):
        raise src.error(f"not a readable image ({problem})")
    data, icc = png_without_oversized_metadata(src.data, src.name)
    try:
        return _read(Source(src.name, path=src.path, data=data), max_pixels, gray_tolerance, icc)
    except MetadataTooLarge as e:
        raise src.error(f"not a readable image ({e})") from None


def _loaded(
    src: Source,
    color: np.ndarray,
    alpha: np.ndarray | None,
    orientation: int,
    gray_tolerance: float,
    **fields: object,
) -> LoadedImage:
    """Decoded pixels -> an upright `LoadedImage`, grey sources repeated to three channels."""
    color = orient(color, orientation)
    alpha = None if alpha is None else orient(alpha, orientation)
    if color.ndim == 2:
        rgb = np.repeat(color[:, :, None], 3, axis=2)
        is_gray = channels_equal = True
    else:
        rgb = np.ascontiguousarray(color)
        is_gray, channels_equal = gray_and_equal(rgb, gray_tolerance)
    return LoadedImage(
        rgb=rgb.astype(np.float32, copy=False),
        alpha=None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32),
        is_gray=is_gray,
        channels_equal=channels_equal,
        path=src.path,
        name=src.name,
        **fields,  # type: ignore[arg-type]
    )


@contextlib.contextmanager
def _quiet_loggers() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("PIL", "tifffile")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextlib.contextmanager
def _capture_c_stderr() -> Iterator[None]:
    """Send file descriptor 2 to a scratch file for the duration (libtiff's warnings go there)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _pixels(n: int) -> str:
    return f"{round(n / 1e6, 1):g} MP" if n >= 1_000_000 else f"{n} pixels"


def _over_limit(width: int, height: int, max_pixels: int) -> str:
    return f"{width} x {height} pixels ({_pixels(width * height)}) is over the limit of {_pixels(max_pixels)}"


def _not_an_image(src: Source) -> str:
    head = src.head(512)
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "not an image (it looks like a text file)"
    return "not an image, or a format deepcolor cannot read"


def _warn_if_animated(im: Image.Image, name: str) -> None:
    try:
        frames = int(getattr(im, "n_frames", 1))
    except DECODE_ERRORS:
        return  # counting frames reads the whole file; a broken tail shows up when decoding
    _warn_extra_frames(name, frames, "pages" if im.format == "TIFF" else "frames")


def _warn_extra_frames(name: str, frames: int, what: str) -> None:
    if frames > 1:
        warnings.warn(f"{name}: has {frames} {what}; reading the first", ImageWarning, stacklevel=4)


def _read_tiff_fallback(src: Source, max_pixels: int | None, gray_tolerance: float) -> LoadedImage:
    """TIFF layouts that Pillow cannot open (16-bit grey + alpha, float RGB, ...), through tifffile."""
    import tifffile  # installed with scikit-image

    try:
        with tifffile.TiffFile(src.opener()) as tif:
            page = tif.pages[0]
            height, width = int(page.imagelength), int(page.imagewidth)
            if max_pixels is not None and width * height > max_pixels:
                raise src.error(_over_limit(width, height, max_pixels))
            _warn_extra_frames(src.name, len(tif.pages), "pages")
            data = page.asarray()
            icc = page.tags.get(_TIFF_ICC_TAG)
            icc = bytes(icc.value) if icc is not None else None
            tag = page.tags.get(_TIFF_ORIENTATION_TAG)
            orientation = int(tag.value) if tag is not None else 1
    except ImageError:
        raise
    except MemoryError:
        raise src.error("not enough memory to decode") from None
    except Exception as e:  # noqa: BLE001 - tifffile raises many kinds on broken files
        raise src.error(f"not a readable image ({reason(e)})") from None
    if data.ndim == 2:
        data = data[:, :, None]
    is_float = np.issubdtype(data.dtype, np.floating)
    if data.ndim != 3 or data.shape[2] > 4 or not (is_float or data.dtype in (np.uint8, np.uint16)):
        raise src.error(f"unsupported TIFF layout {data.shape} {data.dtype}")
    colour_channels = 1 if data.shape[2] <= 2 else 3
    if is_float:  # samples meant to be in [0, 1]; others are stretched, as for float grey (mode F)
        values = data.astype(np.float32)
        color = float_to_unit(values[..., :colour_channels], src)
        alpha = np.clip(values[..., -1], 0.0, 1.0) if data.shape[2] in (2, 4) else None
    else:
        values = data.astype(np.float32) / float(np.iinfo(data.dtype).max)
        color = values[..., :colour_channels]
        alpha = values[..., -1] if data.shape[2] in (2, 4) else None
    if colour_channels == 1:
        color = color[..., 0]
    if icc is not None and not is_srgb(icc):
        color, icc = icc_to_srgb_float(color, icc, src.name)
    bits = 8 * data.dtype.itemsize
    mode = ("L", "LA", "RGB", "RGBA")[data.shape[2] - 1] + (";16" if bits == 16 and not is_float else "")
    return _loaded(
        src,
        color,
        alpha,
        orientation if orientation in range(1, 9) else 1,
        gray_tolerance,
        icc=icc,
        exif=None,
        bit_depth=bits,
        format="TIFF",
        mode=mode + (";F" if is_float else ""),
    )
