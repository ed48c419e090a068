"""`write_image` and `encode_image`: float images -> image files or bytes, keeping alpha, ICC and EXIF where
the format allows. Files are written atomically (`deepcolor.io.atomic`)."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from deepcolor.io._png16 import write_png16
from deepcolor.io.arrays import unit_float
from deepcolor.io.atomic import atomic_write
from deepcolor.io.errors import ImageError, ImageWarning, reason
from deepcolor.io.icc import icc_space
from deepcolor.io.metadata import exif_with_header
from deepcolor.io.source import MEMORY_NAME

# File name endings that `write_image` understands, and the Pillow format each one means.
WRITE_FORMATS: dict[str, str] = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".gif": "GIF",
}
# The media (MIME) type of each format that `encode_image` writes.
MEDIA_TYPES: dict[str, str] = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}


# Read-only spellings of formats deepcolor writes, and what a result of such a source is written as: GIF's
# palette of 256 colours cannot hold a colorized photo (and an animation's result is its first frame), so a
# GIF's result is a PNG, in the CLI and the API alike.
_SUFFIX_ALIASES = {".jpe": ".jpg", ".jfif": ".jpg", ".gif": ".png"}


def image_format(name: str) -> str | None:
    """A format name or file name ending -> the Pillow format deepcolor writes it as, or None.

    Takes "png", "jpeg", "jpg", "JPEG", ".tif", "webp", ... (any case, with or without the dot).
    """
    key = name.lower() if name.startswith(".") else "." + name.lower()
    return WRITE_FORMATS.get(key)


def output_suffix(source: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The extension to write a result of `source` with: `fmt`'s (a format name: "png", "jpg", "tif",
    "webp", ...), else the source's when deepcolor writes that format (.jpe and .jfif as .jpg; a .gif as
    .png), else .png.

    Raises:
        ValueError: `fmt` is not a format deepcolor writes.
    """
    if fmt is not None:
        if image_format(fmt) is None:
            raise ValueError(f"unknown output format {fmt!r}")
        return "." + fmt.lower().lstrip(".")
    suffix = Path(source).suffix.lower()
    suffix = _SUFFIX_ALIASES.get(suffix, suffix)
    return suffix if image_format(suffix) is not None else ".png"


def output_bit_depth(bit_depth: int, fmt: str) -> int:
    """Bits per channel to write: 16 when the source had 16 and `fmt` (".png", "tiff", "JPEG", ... as
    `image_format` takes it) holds them (PNG, TIFF), else 8."""
    return 16 if bit_depth == 16 and image_format(fmt) in ("PNG", "TIFF") else 8


def write_image(
    target: str | os.PathLike[str] | BinaryIO,
    array: np.ndarray,
    alpha: np.ndarray | None = None,
    icc: bytes | None = None,
    exif: bytes | None = None,
    bit_depth: int = 8,
    overwrite: bool = True,
    *,
    quality: int = 95,
    format: str | None = None,  # noqa: A002 - the word users know, as in Pillow's save()
) -> Path | None:
    """Write an image to a file atomically (temporary file next to it, then rename), or to a binary stream.

    The format follows the file's extension (.png, .jpg/.jpeg, .tif/.tiff, .bmp, .webp, .gif), or `format`.
    Missing parent folders are created.

    Args:
        target: the file to write, or a binary file object open for writing (the encoded image is written
            to it in one piece; `format` is then needed unless the object has a ``name`` with an extension).
        array: (H, W) grey or (H, W, 3) RGB, float in [0, 1] (clipped), or uint8 / uint16 (full range).
            (H, W, 1) counts as grey.
        alpha: (H, W) in [0, 1] (1 = opaque), or None. Kept by PNG, TIFF, WebP and GIF (one bit: below 0.5
            is transparent). JPEG cannot store alpha, and BMP readers mostly ignore it: for those two the
            alpha is dropped, with an `ImageWarning`, and the colour is written as it is (not composited).
        icc: an ICC profile to embed (PNG, JPEG, TIFF, WebP), e.g. `LoadedImage.icc`. It is left out, when
            it does not fit the output (an RGB profile on a grey output or the other way round).
        exif: an EXIF block to embed (PNG, JPEG, WebP, TIFF except 16-bit colour), e.g. `LoadedImage.exif`.
        bit_depth: 8, or 16 for .png (any channel count, through deepcolor's own 16-bit PNG encoder, since
            Pillow has no 16-bit colour mode) and .tif (grey through Pillow, colour through `tifffile`).
        overwrite: replace an existing file. With False an existing file is an `ImageError`.
        quality: JPEG and WebP quality, 1-100 (JPEG is written with 4:4:4 chroma).
        format: the format to write ("png", "jpeg", "webp", ... as `image_format` takes them) instead of
            the one the extension says.

    Returns:
        The file written as a `Path`; None for a file object.

    Raises:
        ImageError: unknown extension or format, a bit depth the format cannot hold, an existing file with
            ``overwrite=False``, or a failed write. Nothing is left behind under `path` or beside it.
        ValueError: `array` or `alpha` has the wrong shape or holds NaN.
    """
    if not isinstance(target, (str, os.PathLike)):
        stream_name = getattr(target, "name", None)
        name = os.fspath(stream_name) if isinstance(stream_name, (str, os.PathLike)) else MEMORY_NAME
        if format is None and name != MEMORY_NAME:
            format = Path(name).suffix  # noqa: A001
        data = encode_image(array, format or "", alpha, icc, exif, bit_depth, quality=quality, name=name)
        try:
            target.write(data)
        except OSError as e:
            raise ImageError(name, f"cannot write: {e.strerror or e}") from None
        return None
    path = Path(target)
    fmt = _format_or_error(
        format if format is not None else path.suffix, str(path), by_extension=format is None
    )
    channels, icc = _prepare(str(path), fmt, array, alpha, icc, bit_depth)
    with atomic_write(path, overwrite=overwrite) as f:
        _encode(f, fmt, channels, icc, exif, bit_depth, quality)
    return path


def encode_image(
    array: np.ndarray,
    format: str,  # noqa: A002
    alpha: np.ndarray | None = None,
    icc: bytes | None = None,
    exif: bytes | None = None,
    bit_depth: int = 8,
    *,
    quality: int = 95,
    name: str = MEMORY_NAME,
) -> bytes:
    """The bytes of an image file, in memory: what `write_image` would write, for a web response, say.

    Args:
        array, alpha, icc, exif, bit_depth, quality: as for `write_image`.
        format: "png", "jpeg" (or "jpg"), "webp", "tiff" (or "tif"), "bmp" or "gif"; see `MEDIA_TYPES` for
            the media type of each.
        name: what error messages call the image.

    Raises:
        ImageError: unknown format, a bit depth the format cannot hold, or the encoder failed.
        ValueError: `array` or `alpha` has the wrong shape or holds NaN.
    """
    fmt = _format_or_error(format, name, by_extension=False)
    channels, icc = _prepare(name, fmt, array, alpha, icc, bit_depth)
    buffer = io.BytesIO()
    try:
        _encode(buffer, fmt, channels, icc, exif, bit_depth, quality)
    except (OSError, ValueError) as e:
        raise ImageError(name, f"cannot encode as {fmt}: {reason(e)}") from None
    return buffer.getvalue()


def _format_or_error(spelling: str, name: str, by_extension: bool) -> str:
    fmt = image_format(spelling) if spelling else None
    if fmt is not None:
        return fmt
    if by_extension:
        known = ", ".join(sorted(set(WRITE_FORMATS)))
        raise ImageError(name, f"unknown image extension {spelling!r} (use one of {known})")
    known = ", ".join(sorted({s.lstrip(".") for s in WRITE_FORMATS}))
    if not spelling:
        raise ImageError(name, f"no image format given (use one of {known})")
    raise ImageError(name, f"unknown image format {spelling!r} (use one of {known})")


def _prepare(
    name: str, fmt: str, array: np.ndarray, alpha: np.ndarray | None, icc: bytes | None, bit_depth: int
) -> tuple[list[np.ndarray], bytes | None]:
    """Checks -> (the (H, W) float channels to write, colour then alpha; the ICC profile if it fits)."""
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16. Got {bit_depth}")
    if bit_depth == 16 and fmt not in ("PNG", "TIFF"):
        raise ImageError(name, f"{fmt} holds 8 bits per channel; write 16-bit images as .png or .tif")
    color = unit_float(array, "array", check_range=False)
    if color.ndim == 3 and color.shape[2] == 1:
        color = color[:, :, 0]
    if not (color.ndim == 2 or (color.ndim == 3 and color.shape[2] == 3)) or 0 in color.shape:
        raise ValueError(f"Expected an (H, W) or (H, W, 3) image. Got shape {np.shape(array)}")
    channels = [color] if color.ndim == 2 else [color[..., c] for c in range(3)]
    if alpha is not None:
        a = np.asarray(alpha)
        a = unit_float(a.astype(np.float32) if a.dtype == np.bool_ else a, "alpha", check_range=False)
        if a.shape != color.shape[:2]:
            raise ValueError(f"alpha must be (H, W) = {color.shape[:2]}. Got shape {a.shape}")
        if fmt in ("JPEG", "BMP"):
            message = f"{name}: {fmt} cannot store alpha; the alpha channel was dropped"
            warnings.warn(message, ImageWarning, stacklevel=3)
        else:
            channels.append(a)
    gray_output = len(channels) <= 2
    if icc is not None and icc_space(icc) != ("GRAY" if gray_output else "RGB"):
        icc = None
    return channels, icc


def _encode(
    f: BinaryIO,
    fmt: str,
    channels: list[np.ndarray],
    icc: bytes | None,
    exif: bytes | None,
    bit_depth: int,
    quality: int,
) -> None:
    if bit_depth == 16:
        u16 = _quantize(channels, 65535.0, np.uint16)
        if fmt == "PNG":
            write_png16(f, u16, icc=icc, exif=exif_with_header(exif))
        elif u16.shape[2] == 1:
            grey16 = Image.fromarray(u16[:, :, 0])
            grey16.save(f, format="TIFF", **_save_kwargs("TIFF", icc, exif, quality))
        else:
            _write_tiff16(f, u16, icc)
        return
    u8 = _quantize(channels, 255.0, np.uint8)
    im = Image.fromarray(u8[:, :, 0] if u8.shape[2] == 1 else u8)  # L, LA, RGB or RGBA
    if fmt == "GIF":
        im, transparency = _to_gif_palette(u8)
        im.save(f, format="GIF", **({} if transparency is None else {"transparency": transparency}))
        return
    if fmt == "WEBP" and im.mode == "LA":
        im = im.convert("RGBA")
    im.save(f, format=fmt, **_save_kwargs(fmt, icc, exif, quality))


def _quantize(channels: list[np.ndarray], scale: float, dtype: type) -> np.ndarray:
    """(H, W) float channels in [0, 1] -> (H, W, C) integers, rounded, a band of rows at a time: a 12 MP
    photo needs a few MB of float temporaries instead of several full-size copies."""
    height, width = channels[0].shape
    out = np.empty((height, width, len(channels)), dtype)
    rows = max(1, (1 << 20) // width)  # about one megapixel per band
    for top in range(0, height, rows):
        for c, channel in enumerate(channels):
            band = np.clip(channel[top : top + rows], 0.0, 1.0).astype(np.float32, copy=False)
            band *= scale
            np.rint(band, out=band)
            out[top : top + rows, :, c] = band
    return out


def _to_gif_palette(u8: np.ndarray) -> tuple[Image.Image, int | None]:
    """(H, W, C) uint8 -> (palette image, transparent index or None). GIF alpha is one bit: alpha < 50%
    is transparent; the colours get at most 255 palette entries, leaving one for transparency."""
    color = u8[..., :3] if u8.shape[2] >= 3 else np.repeat(u8[..., :1], 3, axis=2)
    im = Image.fromarray(np.ascontiguousarray(color)).quantize(colors=255, dither=Image.Dither.NONE)
    if u8.shape[2] not in (2, 4):
        return im, None
    indices = np.asarray(im).copy()
    indices[u8[..., -1] < 128] = 255
    out = im.copy()
    out.frombytes(indices.tobytes())
    out.putpalette(((im.getpalette() or []) + [0] * 768)[:768])
    return out, 255


def _save_kwargs(fmt: str, icc: bytes | None, exif: bytes | None, quality: int) -> dict[str, object]:
    kwargs: dict[str, object] = {}
    if fmt in ("PNG", "JPEG", "TIFF", "WEBP"):
        if icc:
            kwargs["icc_profile"] = icc
        if exif:
            exif_obj = Image.Exif()
            exif_obj.load(exif_with_header(exif))
            kwargs["exif"] = exif_obj
    if fmt == "JPEG":
        kwargs.update(quality=quality, subsampling=0)
    elif fmt == "WEBP":
        kwargs.update(quality=quality)
    elif fmt == "TIFF":
        kwargs.update(compression="tiff_deflate")
    return kwargs


def _write_tiff16(f: BinaryIO, u16: np.ndarray, icc: bytes | None) -> None:
    import tifffile  # installed with scikit-image

    buffer = io.BytesIO()  # tifffile wants a named file or a BytesIO, not our temporary file's descriptor
    tifffile.imwrite(
        buffer,
        u16,
        photometric="rgb" if u16.shape[2] >= 3 else "minisblack",
        extrasamples=["unassalpha"] if u16.shape[2] in (2, 4) else None,
        compression="zlib",
        iccprofile=icc,
        metadata=None,
    )
    f.write(buffer.getbuffer())


def write_npy(path: str | os.PathLike[str], array: np.ndarray, overwrite: bool = True) -> Path:
    """Save an array as .npy atomically (temporary file, then rename).

    Raises:
        ImageError: `path` exists and ``overwrite`` is False, or the write failed.
    """
    path = Path(path)
    with atomic_write(path, overwrite=overwrite) as f:
        np.save(f, np.asarray(array), allow_pickle=False)
    return path
