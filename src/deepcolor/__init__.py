"""deepcolor: a deep-learning toolkit for image colour work.

Public API (imported lazily, so `import deepcolor` stays cheap):

- `deepcolor.colorize(image, model="default", render_size=...)`: grey -> colour at full resolution; `image`
  is a path (written next to it, or to `output=`), a PIL image, a NumPy array or a tensor.
  `hints=[(x, y, "#rrggbb"), ...]`, `reference=photo` and `uncertainty=True` let the user steer it.
- `deepcolor.suggest_colors(image, x, y, k=5)`: the model's k most likely colours at a point.
- `deepcolor.enhance(image, ...)`: revive dull or faded colours.
- `deepcolor.read_image(path_or_bytes)` / `deepcolor.write_image(path_or_stream, array)`: image I/O with
  deepcolor's checks (see `deepcolor.io`); bytes in memory go through `deepcolor.inference.images`
  (`process_image`, `encode_result`, `process_bytes`), the pipeline the command line uses for files.
- `deepcolor.decolorize(image, method=...)`: colour -> grey, keeping contrast.
- `deepcolor.create_model(name, **kwargs)`: build a registered model family.
- `deepcolor.color`: differentiable colour-space conversions on tensors.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "colorize": "deepcolor.inference",
    "enhance": "deepcolor.inference",
    "suggest_colors": "deepcolor.inference",
    "decolorize": "deepcolor.decolor",
    "create_model": "deepcolor.models",
    "list_models": "deepcolor.models",
    "read_image": "deepcolor.io",
    "write_image": "deepcolor.io",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'deepcolor' has no attribute {name!r}")
