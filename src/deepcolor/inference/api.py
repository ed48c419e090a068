"""The Python API: `deepcolor.colorize` and `deepcolor.enhance` on paths, PIL images, NumPy arrays, tensors.

Each returns the same kind it was given:

- a path (str or os.PathLike): the file is read with `deepcolor.io.read_image`, the result written next to it
  (or to `output`) with alpha, EXIF, ICC and bit depth kept, and the output's `Path` is returned;
- a PIL image: an RGB (or RGBA, alpha kept) PIL image, 8 bits per channel; EXIF is kept in `.info`;
- a NumPy array (H, W), (H, W, 1), (H, W, 2) grey + alpha, (H, W, 3) or (H, W, 4) RGBA, uint8, uint16 or float
  in [0, 1]: an (H, W, 3) array, or (H, W, 4) when the input had alpha, of the same dtype;
- a torch tensor (C, H, W) or (B, C, H, W), C = 1 or 3, float in [0, 1]: (3, H, W) or (B, 3, H, W), same dtype
  and device.

A colour input is colorized from its L* (its own colours are ignored) by `colorize`; `enhance` keeps them.
All kinds go through the same `Colorizer` inference path as the `deepcolor colorize` command.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from deepcolor.inference.enhance import DEFAULT_CLAHE_LIMIT, DEFAULT_STRENGTH, enhance_array
from deepcolor.inference.pipeline import Colorizer, colorizer_for

ModelLike = str | os.PathLike | nn.Module | Colorizer
ImageT = TypeVar("ImageT")

# Pillow modes that carry an alpha channel, and what to convert them to for reading the colour.
_PIL_ALPHA = {"RGBA": "RGBA", "LA": "LA", "PA": "RGBA", "RGBa": "RGBA", "La": "LA"}


def _split_array(array: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """NumPy image of any supported layout and dtype -> (rgb (H, W, 3) float32, alpha or None, is grey)."""
    a = np.asarray(array)
    if a.dtype == np.uint8:
        scale = 255.0
    elif a.dtype == np.uint16:
        scale = 65535.0
    elif np.issubdtype(a.dtype, np.floating):
        scale = 1.0
    else:
        raise ValueError(f"Expected a uint8, uint16 or float image. Got dtype {a.dtype}")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4) or 0 in a.shape[:2]:
        raise ValueError(f"Expected an (H, W) or (H, W, C) image with C in 1..4. Got shape {np.shape(array)}")
    f = a.astype(np.float32) / np.float32(scale) if scale != 1.0 else a.astype(np.float32)
    if not np.isfinite(f).all():
        raise ValueError("the image holds NaN or infinite values")
    np.clip(f, 0.0, 1.0, out=f)
    color_channels = 1 if a.shape[2] in (1, 2) else 3
    alpha = np.ascontiguousarray(f[:, :, color_channels]) if a.shape[2] in (2, 4) else None
    if color_channels == 1:
        rgb = np.repeat(f[:, :, :1], 3, axis=2)
    else:
        rgb = np.ascontiguousarray(f[:, :, :3])
    return rgb, alpha, color_channels == 1


def _join_array(rgb: np.ndarray, alpha: np.ndarray | None, dtype: np.dtype) -> np.ndarray:
    """(H, W, 3) float32 result (+ alpha) -> (H, W, 3 or 4) array of `dtype`."""
    out = rgb if alpha is None else np.concatenate([rgb, alpha[:, :, None]], axis=2)
    if dtype == np.uint8:
        return np.round(out * 255.0).astype(np.uint8)
    if dtype == np.uint16:
        return np.round(out * 65535.0).astype(np.uint16)
    return out.astype(dtype, copy=False)


def _pil_to_array(image: Any) -> tuple[np.ndarray, bool]:
    """PIL image -> (uint8 / uint16 / float array, has alpha)."""
    mode = image.mode
    if mode in _PIL_ALPHA:
        return np.asarray(image.convert(_PIL_ALPHA[mode])), True
    if mode == "P":
        has_alpha = "transparency" in image.info
        return np.asarray(image.convert("RGBA" if has_alpha else "RGB")), has_alpha
    if mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16), False
    if mode in ("L", "RGB"):
        return np.asarray(image), False
    if mode == "1":
        return np.asarray(image.convert("L")), False
    return np.asarray(image.convert("RGB")), False


def _apply(
    image: ImageT,
    process: Callable[[np.ndarray, bool], np.ndarray],
    output: str | os.PathLike[str] | None,
    suffix: str,
) -> ImageT | Path:
    """Run `process(rgb (H, W, 3) float32, is_grey) -> rgb` on any supported kind of image."""
    from PIL import Image

    if isinstance(image, (str, os.PathLike)):
        return _apply_file(Path(image), process, output, suffix)
    if output is not None:
        raise ValueError("output= is only for path inputs; arrays and images are returned")
    if isinstance(image, Image.Image):
        array, _ = _pil_to_array(image)
        rgb, alpha, grey = _split_array(array)
        rgb = process(rgb, grey)
        out = Image.fromarray(_join_array(rgb, alpha, np.dtype(np.uint8)))
        if image.info.get("exif"):
            out.info["exif"] = image.info["exif"]
        return out
    if isinstance(image, np.ndarray):
        rgb, alpha, grey = _split_array(image)
        return _join_array(process(rgb, grey), alpha, image.dtype)
    if isinstance(image, torch.Tensor):
        return _apply_tensor(image, process)
    raise TypeError(f"Expected a path, a PIL image, a NumPy array or a tensor. Got {type(image).__name__}")


def _apply_tensor(image: torch.Tensor, process: Callable[[np.ndarray, bool], np.ndarray]) -> torch.Tensor:
    if not image.is_floating_point() or image.dim() not in (3, 4) or image.shape[-3] not in (1, 3):
        raise ValueError(
            f"Expected a float tensor (C, H, W) or (B, C, H, W) with C in (1, 3). Got {image.shape}"
        )
    batch = image if image.dim() == 4 else image[None]
    results = []
    for item in batch:
        array = item.detach().to("cpu", torch.float32).permute(1, 2, 0).numpy()
        rgb, _, grey = _split_array(array)
        results.append(torch.from_numpy(process(rgb, grey)).permute(2, 0, 1))
    out = torch.stack(results).to(device=image.device, dtype=image.dtype)
    return out if image.dim() == 4 else out[0]


def _apply_file(
    path: Path,
    process: Callable[[np.ndarray, bool], np.ndarray],
    output: str | os.PathLike[str] | None,
    suffix: str,
) -> Path:
    from deepcolor.io import WRITE_FORMATS, read_image, write_image

    loaded = read_image(path)
    if output is None:
        ext = path.suffix if path.suffix.lower() in WRITE_FORMATS else ".png"
        output = path.with_name(f"{path.stem}{suffix}{ext}")
    output = Path(output)
    if output.resolve() == path.resolve():
        raise ValueError(f"{output}: is the input file; choose another output")
    rgb = process(loaded.rgb, loaded.is_gray)
    bit_depth = 16 if loaded.bit_depth == 16 and output.suffix.lower() in (".png", ".tif", ".tiff") else 8
    return write_image(output, rgb, alpha=loaded.alpha, icc=loaded.icc, exif=loaded.exif, bit_depth=bit_depth)


def colorize(
    image: ImageT,
    model: ModelLike = "default",
    render_size: int | None = None,
    saturation: float = 1.0,
    device: str = "auto",
    output: str | os.PathLike[str] | None = None,
) -> ImageT | Path:
    """Colorize a grey photo at its full resolution (a colour photo is colorized from its L*).

    Args:
        image: a path, a PIL image, a NumPy array ((H, W), (H, W, 3), (H, W, 4), ...; uint8, uint16 or float
            in [0, 1]) or a float tensor ((C, H, W) or (B, C, H, W), C in (1, 3), values in [0, 1]).
        model: "default", a shipped name, a .safetensors / .pt / .onnx path, an nn.Module or a `Colorizer`.
        render_size: longer side (pixels) that the network sees; None for the model's default.
        saturation: factor on the predicted chroma (0 = grey, 1 = as predicted, > 1 more vivid).
        device: "auto", "cpu", "cuda", ...
        output: for a path input only, where to write (default: `<name>_colorized.<ext>` next to the input).

    Returns:
        The same kind as `image` (see the module notes): the output Path for a path input.

    Raises:
        WeightsError (ValueError): the model cannot be loaded. ImageError: the file cannot be read or written.
        ValueError / TypeError: an unsupported array layout, dtype or kind.
    """
    if saturation < 0:
        raise ValueError(f"saturation must be >= 0. Got {saturation}")
    colorizer = colorizer_for(model, device=device)

    def process(rgb: np.ndarray, grey: bool) -> np.ndarray:
        return colorizer.colorize_array(rgb, render_size, saturation, out=rgb, gray=grey)

    return _apply(image, process, output, "_colorized")


def enhance(
    image: ImageT,
    model: ModelLike = "default",
    strength: float = DEFAULT_STRENGTH,
    clahe: bool = False,
    clahe_limit: float = DEFAULT_CLAHE_LIMIT,
    render_size: int | None = None,
    device: str = "auto",
    output: str | os.PathLike[str] | None = None,
) -> ImageT | Path:
    """Revive the dull or faded colours of a photo (colour -> grey -> colorize -> blend into dull areas).

    Args:
        image: a path, PIL image, NumPy array or tensor, as for `colorize`.
        model: "default", a shipped name, a .safetensors / .pt / .onnx path, an nn.Module or a `Colorizer`.
        strength: in [0, 1], how far the dullest areas move toward the predicted colours.
        clahe: also equalise the lightness locally (CLAHE).
        clahe_limit: CLAHE clip limit in (0, 1].
        render_size: longer side (pixels) that the network sees; None for the model's default.
        device: "auto", "cpu", "cuda", ...
        output: for a path input only, where to write (default: `<name>_enhanced.<ext>` next to the input).

    Returns:
        The same kind as `image`: the output Path for a path input.
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1]. Got {strength}")
    colorizer = colorizer_for(model, device=device)

    def process(rgb: np.ndarray, grey: bool) -> np.ndarray:
        return enhance_array(colorizer, rgb, strength, clahe, clahe_limit, render_size, out=rgb)

    return _apply(image, process, output, "_enhanced")
