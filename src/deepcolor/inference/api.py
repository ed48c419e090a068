"""The Python API: `deepcolor.colorize` and `deepcolor.enhance` on paths, PIL images, NumPy arrays, tensors.

Each returns the same kind it was given:

- a path (str or os.PathLike): the file goes through the one file pipeline (`deepcolor.inference.images`,
  the command line's): the result is written next to it (or to `output`) with alpha, EXIF, ICC and bit depth
  kept, and the output's `Path` is returned;
- a PIL image: an RGB (or RGBA, alpha kept) PIL image, 8 bits per channel; EXIF is kept in `.info`;
- a NumPy array (H, W), (H, W, 1), (H, W, 2) grey + alpha, (H, W, 3) or (H, W, 4) RGBA, uint8, uint16 or float
  in [0, 1]: an (H, W, 3) array, or (H, W, 4) when the input had alpha, of the same dtype;
- a torch tensor (C, H, W) or (B, C, H, W), C = 1 or 3, float in [0, 1]: (3, H, W) or (B, 3, H, W), same dtype
  and device.

Float input outside [0, 1] (0..255 values, or negative ones) is a ValueError naming the range found, not a
white or black image. A colour input is colorized from its L* (its own colours are ignored) by `colorize`;
`enhance` keeps them. Every kind goes through `deepcolor.inference.images.process_image`, the arrays as
`deepcolor.io.image_from_array` makes them, so the rules (grey, render size, options) are the command's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from deepcolor.inference.enhance import DEFAULT_CLAHE_LIMIT, DEFAULT_STRENGTH
from deepcolor.inference.images import check_options, default_output, process_file, process_image
from deepcolor.inference.pipeline import Colorizer, colorizer_for
from deepcolor.io import from_unit_float, image_from_array, join_alpha

ModelLike = str | os.PathLike | nn.Module | Colorizer
ImageT = TypeVar("ImageT")

# Pillow modes that carry an alpha channel, and what to convert them to for reading the colour.
_PIL_ALPHA = {"RGBA": "RGBA", "LA": "LA", "PA": "RGBA", "RGBa": "RGBA", "La": "LA"}


def _pil_to_array(image: Any) -> np.ndarray:
    """PIL image -> uint8 / uint16 array in a layout `image_from_array` takes (alpha kept)."""
    mode = image.mode
    if mode in _PIL_ALPHA:
        return np.asarray(image.convert(_PIL_ALPHA[mode]))
    if mode == "P":
        return np.asarray(image.convert("RGBA" if "transparency" in image.info else "RGB"))
    if mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16)
    if mode in ("L", "RGB"):
        return np.asarray(image)
    if mode == "1":
        return np.asarray(image.convert("L"))
    return np.asarray(image.convert("RGB"))


def _process_array(
    array: np.ndarray, colorizer: Colorizer, task: str, options: dict[str, Any], dtype: Any = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """One image array -> the (H, W, 3) result, (H, W, 4) with the input's alpha, in `dtype` (default: the
    input's), and the uncertainty map when asked for."""
    image = image_from_array(array)
    result = process_image(image, colorizer, task, in_place=True, **options)
    out = from_unit_float(join_alpha(result.rgb, result.alpha), dtype or np.asarray(array).dtype)
    return out, result.uncertainty


def _apply(
    image: Any,
    colorizer: Colorizer,
    task: str,
    output: str | os.PathLike[str] | None,
    options: dict[str, Any],
) -> Any:
    from PIL import Image

    if isinstance(image, (str, os.PathLike)):
        source = Path(image)
        target = Path(output) if output is not None else default_output(source, task)
        if target.resolve() == source.resolve():
            raise ValueError(f"{target}: is the input file; choose another output")
        written = process_file(source, target, colorizer, task, **options)
        return (written.path, written.uncertainty_path) if options.get("uncertainty") else written.path
    if output is not None:
        raise ValueError("output= is only for path inputs; arrays and images are returned")
    if isinstance(image, Image.Image):
        array, uncertainty = _process_array(_pil_to_array(image), colorizer, task, options, np.uint8)
        out = Image.fromarray(array)
        if image.info.get("exif"):
            out.info["exif"] = image.info["exif"]
    elif isinstance(image, np.ndarray):
        out, uncertainty = _process_array(image, colorizer, task, options)
    elif isinstance(image, torch.Tensor):
        out, uncertainty = _apply_tensor(image, colorizer, task, options)
    else:
        raise TypeError(
            f"Expected a path, a PIL image, a NumPy array or a tensor. Got {type(image).__name__}"
        )
    return (out, uncertainty) if options.get("uncertainty") else out


def _apply_tensor(
    image: torch.Tensor, colorizer: Colorizer, task: str, options: dict[str, Any]
) -> tuple[torch.Tensor, np.ndarray | None]:
    if not image.is_floating_point() or image.dim() not in (3, 4) or image.shape[-3] not in (1, 3):
        raise ValueError(
            f"Expected a float tensor (C, H, W) or (B, C, H, W) with C in (1, 3). Got {image.shape}"
        )
    batch = image if image.dim() == 4 else image[None]
    results, maps = [], []
    for item in batch:
        array = item.detach().to("cpu", torch.float32).permute(1, 2, 0).numpy()
        result, uncertainty = _process_array(array, colorizer, task, options)
        results.append(torch.from_numpy(result).permute(2, 0, 1))
        maps.append(uncertainty)
    out = torch.stack(results).to(device=image.device, dtype=image.dtype)
    stacked = np.stack(maps) if maps[0] is not None else None
    if image.dim() == 4:
        return out, stacked
    return out[0], (stacked[0] if stacked is not None else None)


def colorize(
    image: ImageT,
    model: ModelLike = "default",
    render_size: int | None = None,
    saturation: float = 1.0,
    device: str = "auto",
    output: str | os.PathLike[str] | None = None,
    hints: Any = None,
    reference: Any = None,
    uncertainty: bool = False,
    **options: Any,
) -> Any:
    """Colorize a grey photo at its full resolution (a colour photo is colorized from its L*).

    Args:
        image: a path, a PIL image, a NumPy array ((H, W), (H, W, 3), (H, W, 4), ...; uint8, uint16 or float
            in [0, 1]) or a float tensor ((C, H, W) or (B, C, H, W), C in (1, 3), values in [0, 1]).
        model: "default", a shipped name, a .safetensors / .pt / .onnx path, an nn.Module or a `Colorizer`.
        render_size: longer side (pixels) that the network sees, in [16, 4096]; None for the model's
            default. Never above the larger of the image's longer side and the model's default.
        saturation: factor on the predicted chroma (0 = grey, 1 = as predicted, > 1 more vivid).
        device: "auto", "cpu", "cuda", ...
        output: for a path input only, where to write (default: `<name>_colorized.<ext>` next to the input).
        hints: colour hints: `[(x, y, "#rrggbb"), ...]` (also `(x, y, color, radius)`, `"X,Y,COLOR"`
            strings, or the hint file's dict `{"points": [{"x", "y", "color", "radius"}, ...]}`). x, y are
            pixels of the image as displayed (after EXIF orientation), origin top-left; colours are sRGB hex
            or CSS names; only their a*b* is used.
        reference: a colour photo (path, PIL image or array) whose colours the result should follow (its
            colour histogram and saturation are given to the model as global hints).
        uncertainty: also return where the model is unsure: (H, W) float32 in [0, 1] (a path input writes
            `<output stem>.uncertainty.png` and returns its Path).
        **options: passed to the colorizer unchanged, for each input.

    Returns:
        The same kind as `image` (see the module notes): the output Path for a path input; with
        `uncertainty`, a pair (result, uncertainty map or its Path).

    Raises:
        CheckpointError (ValueError): the model cannot be loaded. ImageError: the file cannot be read or
            written.
        ValueError / TypeError: an unsupported array layout, dtype, value range or kind; a bad render size
            or saturation.
    """
    guidance = {"hints": hints, "reference": reference, "uncertainty": uncertainty}
    options = {**{k: v for k, v in guidance.items() if v is not None and v is not False}, **options}
    options = check_options("colorize", {"render_size": render_size, "saturation": saturation, **options})
    colorizer = colorizer_for(model, device=device)
    return _apply(image, colorizer, "colorize", output, options)


def suggest_colors(
    image: Any,
    x: float,
    y: float,
    k: int = 5,
    model: ModelLike = "default",
    hints: Any = None,
    reference: Any = None,
    render_size: int | None = None,
    device: str = "auto",
) -> list[tuple[str, float]]:
    """The model's k most likely colours at pixel (x, y): what a colour picker offers first.

    Args:
        image: a path, PIL image or NumPy array, as for `colorize`.
        x, y: pixel coordinates in the image as displayed (after EXIF orientation), origin top-left.
        k: how many colours (1..64).
        model, render_size, device: as for `colorize` (the model needs a colour distribution: the default).
        hints, reference: the guidance already given, as for `colorize` (suggestions then take it in).

    Returns:
        [(sRGB hex, probability), ...], most likely first: k distinct colours at the photo's own lightness
        there, with probabilities summing to at most 1.
    """
    from deepcolor.inference.guidance import guidance_conditions, suggest_at, torch_colorizer
    from deepcolor.inference.images import _reference_rgb, check_render_size, network_render_size
    from deepcolor.inference.pipeline import lightness
    from deepcolor.io import read_image

    if isinstance(image, (str, os.PathLike, bytes)):
        loaded = read_image(image)
    elif isinstance(image, np.ndarray):
        loaded = image_from_array(image)
    else:
        loaded = image_from_array(_pil_to_array(image))
    colorizer = torch_colorizer(colorizer_for(model, device=device))
    size = network_render_size(
        check_render_size(render_size), loaded.height, loaded.width, colorizer.render_size
    )
    reference_rgb = _reference_rgb(reference) if reference is not None else None
    conditions = guidance_conditions(colorizer, loaded.height, loaded.width, hints, reference_rgb)
    l = lightness(loaded.rgb, colorizer.device, gray=loaded.channels_equal)
    return suggest_at(colorizer, l, x, y, k, size, conditions or None)


def enhance(
    image: ImageT,
    model: ModelLike = "default",
    strength: float = DEFAULT_STRENGTH,
    clahe: bool = False,
    clahe_limit: float = DEFAULT_CLAHE_LIMIT,
    render_size: int | None = None,
    device: str = "auto",
    output: str | os.PathLike[str] | None = None,
    **options: Any,
) -> ImageT | Path:
    """Restore a faded colour print, or revive a dull photo's colours (`deepcolor.inference.enhance`).

    Args:
        image: a path, PIL image, NumPy array or tensor, as for `colorize`.
        model: "default", a shipped name, a .safetensors / .pt / .onnx path, an nn.Module or a `Colorizer`.
        strength: in [0, 1]: how far toward the restored colours (mode "restore", the default), or how far
            the dullest areas move toward the predicted colours (mode="blend"); 0 = unchanged.
        clahe: also equalise the lightness locally (CLAHE).
        clahe_limit: CLAHE clip limit in (0, 1].
        render_size: longer side (pixels) that the network sees, as for `colorize`.
        device: "auto", "cpu", "cuda", ...
        output: for a path input only, where to write (default: `<name>_enhanced.<ext>` next to the input).
        **options: passed to the colorizer unchanged, for each input.

    Returns:
        The same kind as `image`: the output Path for a path input.
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1]. Got {strength}")
    options = check_options(
        "enhance",
        {
            "strength": strength,
            "clahe": clahe,
            "clahe_limit": clahe_limit,
            "render_size": render_size,
            **options,
        },
    )
    colorizer = colorizer_for(model, device=device)
    return _apply(image, colorizer, "enhance", output, options)
