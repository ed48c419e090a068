"""deepcolor: a deep-learning toolkit for image colour work.

Public API (imported lazily, so `import deepcolor` stays cheap; `dir(deepcolor)` lists it all):

- `deepcolor.colorize(image, model="default", render_size=...)`: grey -> colour at full resolution; `image`
  is a path (written next to it, or to `output=`), a PIL image, a NumPy array or a tensor.
  `hints=[(x, y, "#rrggbb"), ...]`, `reference=photo` and `uncertainty=True` let the user steer it.
- `deepcolor.suggest_colors(image, x, y, k=5)`: the model's k most likely colours at a point.
- `deepcolor.colorize_video(src, dst, hints=..., reference=..., temporal=True, progress=...)`: a clip (a video
  file, or a folder of numbered frames) -> a colour clip, steady from frame to frame, sound kept;
  `deepcolor.colorize_frames(frames)`: the same over NumPy frames (arrays in, arrays out).
- `deepcolor.enhance(image, ...)`: revive dull or faded colours.
- `deepcolor.decolorize(image, method=...)`: colour -> grey, keeping contrast.
- `deepcolor.read_image(path_or_bytes)` / `deepcolor.write_image(path_or_stream, array)`: image I/O with
  deepcolor's checks (see `deepcolor.io`); `deepcolor.LoadedImage` is what `read_image` returns.
- `deepcolor.Colorizer(model="default")`: a loaded model and the inference path around it, for many images
  (`colorize_arrays`, `colorize_many`: batches through the network); `deepcolor.process_images(images,
  colorizer)`: the file pipeline's batch entry (hints, reference, uncertainty, per-image options).
- `deepcolor.create_model(name, **kwargs)` / `deepcolor.list_models()`: the model registry.
- `deepcolor.color`: differentiable colour-space conversions on tensors (`deepcolor.color.rgb_to_lab`, ...).
- `deepcolor.DeepcolorError`: the base of every error a user can cause (see `deepcolor.errors`);
  `deepcolor.ImageError`: an image file that cannot be read or written.
- `deepcolor.__version__`: the package's version (pyproject.toml reads it from here).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from deepcolor.errors import DeepcolorError

__version__ = "0.1.0"

# name -> the module that defines it; imported on first use (torch loads only when a model is needed)
_LAZY = {
    "colorize": "deepcolor.inference",
    "enhance": "deepcolor.inference",
    "suggest_colors": "deepcolor.inference",
    "Colorizer": "deepcolor.inference",
    "process_images": "deepcolor.inference.images",
    "colorize_video": "deepcolor.inference.video",
    "colorize_frames": "deepcolor.inference.video",
    "decolorize": "deepcolor.decolor",
    "create_model": "deepcolor.models",
    "list_models": "deepcolor.models",
    "read_image": "deepcolor.io",
    "write_image": "deepcolor.io",
    "ImageError": "deepcolor.io",
    "LoadedImage": "deepcolor.io",
}
# sub-packages reachable as attributes after a plain `import deepcolor`
_SUBMODULES = ("color",)

if TYPE_CHECKING:  # what editors and type checkers see; at run time `__getattr__` imports on first use
    from deepcolor import color
    from deepcolor.decolor import decolorize
    from deepcolor.inference import Colorizer, colorize, enhance, suggest_colors
    from deepcolor.inference.images import process_images
    from deepcolor.inference.video import colorize_frames, colorize_video
    from deepcolor.io import ImageError, LoadedImage, read_image, write_image
    from deepcolor.models import create_model, list_models

__all__ = [  # what `from deepcolor import *` and `dir(deepcolor)` give: _LAZY, _SUBMODULES and the two above
    "Colorizer",
    "DeepcolorError",
    "ImageError",
    "LoadedImage",
    "__version__",
    "color",
    "colorize",
    "colorize_frames",
    "colorize_video",
    "create_model",
    "decolorize",
    "enhance",
    "list_models",
    "process_images",
    "read_image",
    "suggest_colors",
    "write_image",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"deepcolor.{name}")
    else:
        raise AttributeError(f"module 'deepcolor' has no attribute {name!r}")
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | {name for name in globals() if name.startswith("__")})
