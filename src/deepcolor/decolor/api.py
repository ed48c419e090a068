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
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from deepcolor.decolor.cpd import cpd
from deepcolor.decolor.lcp import lcp
from deepcolor.decolor.methods import average, lightness, luma601, luma709
from deepcolor.io.arrays import check_unit_range, from_unit_float, split_alpha, unit_float

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
    from deepcolor.io import DEFAULT_MAX_PIXELS, ImageError, read_image, write_image

    fn = check_method(method)
    path, output = Path(path), Path(output)
    if not replace_input and output.resolve() == path.resolve():
        raise ImageError(output, "is the input file; write the grey image elsewhere")
    image = read_image(path, DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels)
    array, options = decolorize_loaded(
        image, fn, output.suffix, bit_depth=bit_depth, keep_channels=keep_channels
    )
    return write_image(output, array, overwrite=overwrite, **options)


def decolorize_loaded(
    image: Any,
    method: str | Callable[[np.ndarray], np.ndarray],
    suffix: str,
    *,
    bit_depth: int | None = None,
    keep_channels: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The grey of a read image and how to write it: the step that `decolorize_file` and the cluster
    workers (`deepcolor.scale`) share.

    Args:
        image: a `deepcolor.io.LoadedImage`.
        method: a method name or its function.
        suffix: the output's extension (".png", ".jpg", ...): it decides the bit depth and the JPEG quality.
        bit_depth, keep_channels: as in `decolorize_file`.

    Returns:
        The array to write and `write_image` / `encode_image`'s keyword arguments (alpha, icc, exif,
        bit_depth, quality).
    """
    fn = check_method(method) if isinstance(method, str) else method
    rgb = image.rgb
    if image.bit_depth <= 8:  # back to the 8-bit codes: the methods' uint8 path uses tables, not powers
        rgb = np.rint(rgb * np.float32(255.0)).astype(np.uint8)
    grey = fn(rgb)
    if bit_depth is None:
        bit_depth = 16 if image.bit_depth == 16 and suffix.lower() in (".png", ".tif", ".tiff") else 8
    array = np.repeat(grey[:, :, None], 3, axis=2) if keep_channels else grey
    # JPEG from JPEG: the input's own quality (at most 95), so that the grey file is not larger for
    # being written finer than its source was.
    quality = 95
    if suffix.lower() in (".jpg", ".jpeg") and image.jpeg_quality is not None:
        quality = min(95, image.jpeg_quality)
    options = {"alpha": image.alpha, "icc": image.icc, "exif": image.exif, "bit_depth": bit_depth,
               "quality": quality}
    return array, options


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
