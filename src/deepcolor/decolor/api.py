"""`deepcolor.decolorize`: colour -> grey on paths, PIL images, NumPy arrays and tensors.

Each kind comes back as the same kind:

- a path (str or os.PathLike): the file is read with `deepcolor.io.read_image`, the grey written next to it as
  ``<stem>_gray<ext>`` (or to `output`) with its alpha and EXIF, and the written file's `Path` is returned
  (as `deepcolor.colorize` and `deepcolor.enhance` do). The file is one channel (grey, or grey + alpha)
  unless `keep_channels`; 16 bits when the input had 16 and the format can hold them, or when asked.
- a PIL image: mode "L" ("LA" when the input had alpha), "I;16" with ``bit_depth=16``; "RGB" / "RGBA" with
  `keep_channels`.
- a NumPy array (H, W, 3) RGB or (H, W, 4) RGBA, uint8, uint16 or float in [0, 1] (grey layouts (H, W),
  (H, W, 1) and (H, W, 2) are accepted too and come back unchanged in value): an (H, W) array, (H, W, 2) when
  the input had alpha, (H, W, 3) / (H, W, 4) with `keep_channels`; the input's dtype unless `bit_depth` says
  8 (uint8) or 16 (uint16).
- a torch tensor (3, H, W) or (B, 3, H, W), float in [0, 1]: (1, H, W) or (B, 1, H, W) (3 channels with
  `keep_channels`), same dtype and device.

Files and bytes share one pipeline (as `deepcolor.inference.images` for colorize): `decolorize_image` on a
`LoadedImage` (8-bit inputs back to their codes for the methods' uint8 path), then `encode_grey` /
`decolorize_file` with the output rules: 16 bits where the input had them and the format holds them, a JPEG no
finer than its JPEG source (`grey_quality`), alpha, ICC and EXIF kept. `decolorize_bytes` is bytes in, encoded
bytes out (the web service's decolorize).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deepcolor.decolor.cpd import cpd
from deepcolor.decolor.lcp import lcp
from deepcolor.decolor.methods import average, lightness, luma601, luma709
from deepcolor.io.arrays import check_unit_range, from_unit_float, split_alpha, unit_float

if TYPE_CHECKING:
    from deepcolor.io import ImageInput, LoadedImage

DEFAULT_METHOD = "lcp"
# name -> function (H, W, 3) sRGB uint8 / float in [0, 1] -> (H, W) float32 sRGB grey in [0, 1]
METHODS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "lcp": lcp,
    "cpd": cpd,
    "lightness": lightness,
    "luma601": luma601,
    "luma709": luma709,
    "average": average,
}
SUFFIX = "_gray"


def check_method(method: str) -> Callable[[np.ndarray], np.ndarray]:
    """The function of a method name; an unknown name is a ValueError that lists the known ones."""
    try:
        return METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(f"unknown decolorization method {method!r}; known: {', '.join(METHODS)}") from None


def decolorize_array(rgb: np.ndarray, method: str = DEFAULT_METHOD) -> np.ndarray:
    """Colour -> grey on one array.

    Args:
        rgb: (H, W, 3) sRGB, uint8 (fastest), uint16 or float in [0, 1].
        method: one of `METHODS` ("lcp", the default, keeps the most contrast).

    Returns:
        (H, W) float32 sRGB grey in [0, 1].
    """
    fn = check_method(method)
    array = np.asarray(rgb)
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise ValueError("the image holds NaN or infinite values")
    if np.issubdtype(array.dtype, np.floating):
        array = np.clip(array, 0.0, 1.0)
    return fn(array)


# ------------------------------------------------------------------------------------------------ arrays


def _split(array: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """Any supported layout -> (colour (H, W, 3) or grey (H, W) in its dtype, alpha or None, is grey)."""
    check_unit_range(array)  # float values (alpha too) in [0, 1]: 0..255 floats are a mistake, not white
    color, alpha = split_alpha(array)
    return color, alpha, color.ndim == 2


def _grey_of(color: np.ndarray, is_grey: bool, method: str) -> np.ndarray:
    """(H, W, 3) colour in its dtype (or (H, W) grey) -> (H, W) float32 grey in [0, 1]."""
    if is_grey:
        check_method(method)
        return unit_float(color)
    if color.dtype == np.uint16:
        color = unit_float(color)
    return decolorize_array(color, method)


def _out_dtype(dtype: np.dtype, bit_depth: int | None) -> np.dtype:
    if bit_depth is None:
        return dtype
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16. Got {bit_depth}")
    return np.dtype(np.uint8 if bit_depth == 8 else np.uint16)


def _join(grey: np.ndarray, alpha: np.ndarray | None, keep_channels: bool, dtype: np.dtype) -> np.ndarray:
    layers = [grey] * (3 if keep_channels else 1) + ([alpha] if alpha is not None else [])
    out = layers[0] if len(layers) == 1 else np.stack(layers, axis=2)
    return from_unit_float(out, dtype)


def _decolorize_ndarray(
    array: np.ndarray, method: str, bit_depth: int | None, keep_channels: bool
) -> np.ndarray:
    color, alpha, is_grey = _split(array)
    grey = _grey_of(color, is_grey, method)
    return _join(grey, alpha, keep_channels, _out_dtype(np.asarray(array).dtype, bit_depth))


# -------------------------------------------------------------------------------------------- PIL, tensors


def _decolorize_pil(image: Any, method: str, bit_depth: int | None, keep_channels: bool) -> Any:
    from PIL import Image

    mode = image.mode
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info)
    if mode.startswith("I;16"):
        array = np.asarray(image).astype(np.uint16)
    elif mode in ("L", "RGB", "RGBA", "LA"):
        array = np.asarray(image)
    else:
        array = np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    color, alpha, is_grey = _split(array)
    grey = _grey_of(color, is_grey, method)
    depth = bit_depth if bit_depth is not None else 8
    if depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16. Got {bit_depth}")
    if depth == 16:
        if keep_channels or alpha is not None:
            raise ValueError("PIL has no 16-bit mode with colour or alpha; use 8 bits or a NumPy array")
        out = Image.fromarray(from_unit_float(grey, np.uint16))
    else:
        out = Image.fromarray(_join(grey, alpha, keep_channels, np.dtype(np.uint8)))
    if image.info.get("exif"):
        out.info["exif"] = image.info["exif"]
    return out


def _decolorize_tensor(image: Any, method: str, keep_channels: bool) -> Any:
    import torch

    if not image.is_floating_point() or image.dim() not in (3, 4) or image.shape[-3] != 3:
        raise ValueError(f"Expected a float tensor (3, H, W) or (B, 3, H, W). Got {tuple(image.shape)}")
    batch = image if image.dim() == 4 else image[None]
    greys = []
    for item in batch:
        rgb = item.detach().to("cpu", torch.float32).permute(1, 2, 0).numpy()
        check_unit_range(rgb)
        greys.append(torch.from_numpy(decolorize_array(rgb, method))[None])
    out = torch.stack(greys).to(device=image.device, dtype=image.dtype)
    if keep_channels:
        out = out.expand(-1, 3, -1, -1).contiguous()
    return out if image.dim() == 4 else out[0]


# ------------------------------------------------------------------------------------------------- files


def default_output(path: Path) -> Path:
    """``<folder>/<stem>_gray<ext>``: the input's extension when deepcolor can write it, else .png."""
    from deepcolor.io import WRITE_FORMATS

    ext = path.suffix if path.suffix.lower() in WRITE_FORMATS else ".png"
    return path.with_name(f"{path.stem}{SUFFIX}{ext}")


@dataclass
class GreyResult:
    """A decolorized image in memory, with what its output file keeps of the source.

    Attributes:
        grey: (H, W) float32 grey in [0, 1] ((H, W, 3) with `keep_channels`).
        alpha: (H, W) float32 in [0, 1], the source's, or None.
        icc, exif: the source's ICC profile and EXIF block, or None.
        bit_depth: bits per channel of the source; an output keeps 16 where its format holds them.
        jpeg_quality: the source's JPEG quality (a JPEG output is written no finer), or None.
        name: what messages call the source.
    """

    grey: np.ndarray
    alpha: np.ndarray | None
    icc: bytes | None
    exif: bytes | None
    bit_depth: int
    jpeg_quality: int | None
    name: str


def decolorize_image(
    image: LoadedImage, method: str = DEFAULT_METHOD, *, keep_channels: bool = False
) -> GreyResult:
    """Colour -> grey on a decoded image (from `deepcolor.io.read_image`): the step files and bytes share.

    Raises:
        ValueError: unknown method.
    """
    fn = check_method(method)
    rgb = image.rgb
    if image.bit_depth <= 8:  # back to the 8-bit codes: the methods' uint8 path uses tables, not powers
        rgb = np.rint(rgb * np.float32(255.0)).astype(np.uint8)
    grey = fn(rgb)
    array = np.repeat(grey[:, :, None], 3, axis=2) if keep_channels else grey
    return GreyResult(
        array, image.alpha, image.icc, image.exif, image.bit_depth, image.jpeg_quality, image.name
    )


def grey_quality(result: GreyResult, fmt: str) -> int:
    """The JPEG / WebP quality to write `result` at: JPEG from JPEG at the input's own quality (at most 95),
    so that the grey file is not larger for being written finer than its source was; else 95."""
    from deepcolor.io import image_format

    if image_format(fmt) == "JPEG" and result.jpeg_quality is not None:
        return min(95, result.jpeg_quality)
    return 95


def encode_grey(result: GreyResult, fmt: str = "png", *, bit_depth: int | None = None) -> bytes:
    """`result` as the bytes of a file of format `fmt`: what `decolorize_file` writes to such a file.

    Args:
        bit_depth: 8 or 16; None: 16 when the input had 16 bits and the format holds them, else 8.

    Raises:
        ImageError: an unknown format, a bit depth the format cannot hold, or the encoder failed.
    """
    from deepcolor.io import encode_image, output_bit_depth

    return encode_image(
        result.grey,
        fmt,
        alpha=result.alpha,
        icc=result.icc,
        exif=result.exif,
        bit_depth=output_bit_depth(result.bit_depth, fmt) if bit_depth is None else bit_depth,
        quality=grey_quality(result, fmt),
        name=result.name,
    )


def decolorize_bytes(
    data: ImageInput,
    method: str = DEFAULT_METHOD,
    *,
    fmt: str | None = None,
    keep_channels: bool = False,
    max_pixels: int | None = None,
    name: str | None = None,
) -> tuple[bytes, str]:
    """Bytes (or a binary stream) in, the grey image's file bytes out, with the rules of `decolorize_file`.

    Args:
        fmt: the output format ("png", "jpeg", ...); None: the input's when deepcolor writes it, else PNG.
        max_pixels: refuse larger images (None: `deepcolor.io.DEFAULT_MAX_PIXELS`).
        name: what messages call the input (an upload's file name).

    Returns:
        (the encoded bytes, the Pillow format written: "PNG", "JPEG", ...).

    Raises:
        ImageError: the input is no readable image or the output cannot be encoded.
        ValueError: unknown method.
    """
    from deepcolor.io import DEFAULT_MAX_PIXELS, ImageError, image_format, read_image

    check_method(method)
    image = read_image(data, DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels, name=name)
    pil_format = image_format(fmt if fmt is not None else (image.format or "")) or (
        None if fmt is not None else "PNG"
    )
    if pil_format is None:
        raise ImageError(image.name, f"unknown output format {fmt!r}")
    result = decolorize_image(image, method, keep_channels=keep_channels)
    return encode_grey(result, pil_format), pil_format


def decolorize_file(
    path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    method: str = DEFAULT_METHOD,
    *,
    bit_depth: int | None = None,
    keep_channels: bool = False,
    max_pixels: int | None = None,
    overwrite: bool = True,
    replace_input: bool = False,
) -> Path:
    """Read `path`, write its grey version to `output` (atomically); the format follows `output`'s extension.

    Args:
        bit_depth: 8 or 16; None: 16 when the input had 16 bits and the format holds them, else 8.
        keep_channels: write RGB (or RGBA) grey instead of one channel.
        max_pixels: refuse larger images (None: `deepcolor.io.DEFAULT_MAX_PIXELS`).
        overwrite: replace an existing `output`.
        replace_input: allow `output` to be the input file itself (otherwise an ImageError); the write is
            atomic, so the input is intact if anything fails.

    Raises:
        ImageError: unreadable input, output equal to the input, a bit depth the format cannot hold.
        ValueError: unknown method.
    """
    from deepcolor.io import DEFAULT_MAX_PIXELS, ImageError, output_bit_depth, read_image, write_image

    check_method(method)
    path, output = Path(path), Path(output)
    if not replace_input and output.resolve() == path.resolve():
        raise ImageError(output, "is the input file; write the grey image elsewhere")
    image = read_image(path, DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels)
    result = decolorize_image(image, method, keep_channels=keep_channels)
    if bit_depth is None:
        bit_depth = output_bit_depth(result.bit_depth, output.suffix)
    return write_image(
        output,
        result.grey,
        alpha=result.alpha,
        icc=result.icc,
        exif=result.exif,
        bit_depth=bit_depth,
        overwrite=overwrite,
        quality=grey_quality(result, output.suffix),
    )


def decolorize(
    image: Any,
    method: str = DEFAULT_METHOD,
    *,
    output: str | os.PathLike[str] | None = None,
    bit_depth: int | None = None,
    keep_channels: bool = False,
) -> Any:
    """Colour -> grey, keeping the contrast that plain luma loses (with the default method).

    Args:
        image: a path, a PIL image, a NumPy array (H, W, 3) / (H, W, 4), uint8, uint16 or float in [0, 1],
            or a float tensor (3, H, W) / (B, 3, H, W) in [0, 1]. What comes back for each kind is in the
            module docstring: the same kind, one channel.
        method: one of `METHODS`: "lcp" (default: local contrast-preserving, fitted per image), "cpd"
            (Lu, Xu and Jia 2012), "lightness" (CIE L*), "luma601", "luma709", "average".
        output: for a path input, where to write (default ``<stem>_gray<ext>`` next to it).
        bit_depth: 8 or 16 bits per channel of the result (None: the input's where the kind allows it).
        keep_channels: return / write RGB grey (3 equal channels, + alpha) instead of one channel.

    Returns:
        The grey image, of the kind given (a `Path` to the written file for a path).

    Raises:
        ValueError: unknown method, bad shape, dtype or values, `output` with a non-path input.
        ImageError: (paths) unreadable input, output equal to the input.
    """
    from PIL import Image

    check_method(method)
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        return decolorize_file(path, output if output is not None else default_output(path), method,
                               bit_depth=bit_depth, keep_channels=keep_channels)
    if output is not None:
        raise ValueError("output= is only for path inputs; arrays and images are returned")
    if isinstance(image, Image.Image):
        return _decolorize_pil(image, method, bit_depth, keep_channels)
    if isinstance(image, np.ndarray):
        return _decolorize_ndarray(image, method, bit_depth, keep_channels)
    try:
        import torch

        if isinstance(image, torch.Tensor):
            return _decolorize_tensor(image, method, keep_channels)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    raise TypeError(f"Expected a path, a PIL image, a NumPy array or a tensor. Got {type(image).__name__}")
