"""Colour -> grey: `decolorize(image, method=...)` and the methods behind it.

Methods (`METHODS`), each (H, W, 3) sRGB -> (H, W) float32 sRGB grey in [0, 1]:

- "lcp" (default, `deepcolor.decolor.lcp`): local contrast-preserving decolorization, a per-image mapping
  (global + per-tile) fitted so that grey differences follow CIELab colour differences.
- "cpd" (`deepcolor.decolor.cpd`): Lu, Xu and Jia's contrast-preserving decolorization (2012), our own
  implementation.
- "lightness", "luma601", "luma709", "average" (`deepcolor.decolor.methods`).

Contrast is scored by `deepcolor.metrics.decolorization` (CCPR, CCFR, E-score).
"""

from deepcolor.decolor.api import (
    DEFAULT_METHOD,
    METHODS,
    GreyResult,
    check_method,
    decolorize,
    decolorize_array,
    decolorize_bytes,
    decolorize_file,
    decolorize_image,
    encode_grey,
)

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "GreyResult",
    "check_method",
    "decolorize",
    "decolorize_array",
    "decolorize_bytes",
    "decolorize_file",
    "decolorize_image",
    "encode_grey",
]
