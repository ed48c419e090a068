"""User colour hints: parsing them (a JSON hint file, `X,Y,COLOR` strings, tuples) and turning them into the
sparse map the model reads.

The hint file (a fixed format, so that scripts can rely on it):

    {"points": [{"x": 120, "y": 45, "color": "#1f4fa0", "radius": 3}, ...]}

`x`, `y` are pixel coordinates in the input image as displayed (after EXIF orientation), origin top-left;
`color` is sRGB `#rgb` / `#rrggbb` or a CSS colour name; `radius` (optional, pixels of the input) makes the
hint a square of side 2 * radius + 1 around the point. Only the colour's a*b* is used: the lightness always
comes from the photo. Every problem raises `HintError` whose message is one line naming the source, also for
JSON nested too deeply to parse (`load_hint_json`) and values too big to show (shortened with `reprlib`).
"""

from __future__ import annotations

import json
import math
import os
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deepcolor.errors import DeepcolorError
from deepcolor.io.paths import display_path
from deepcolor.normalization import AB_SCALE


class HintError(DeepcolorError, ValueError):
    """A hint that cannot be used; the message is one line: `<source>: <problem>`."""


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 40, 40


def _shown(value: Any) -> str:
    """A value as an error message quotes it: a repr cut short (nested lists, long strings) and one line."""
    return " ".join(_REPR.repr(value).split())


@dataclass(frozen=True)
class PointHint:
    """One point hint: position in input pixels, sRGB colour in [0, 1], half-side of its square (pixels)."""

    x: float
    y: float
    rgb: tuple[float, float, float]
    radius: int | None = None

    @property
    def hex(self) -> str:
        return "#" + "".join(f"{round(c * 255):02x}" for c in self.rgb)


def parse_color(value: Any, source: str) -> tuple[float, float, float]:
    """`#rgb`, `#rrggbb` or a CSS colour name -> sRGB in [0, 1]; HintError otherwise."""
    from PIL import ImageColor

    if not isinstance(value, str) or not value.strip():
        raise HintError(f"{source}: colour {_shown(value)} is not a string such as '#1f4fa0' or 'navy'")
    text = value.strip()
    if text.startswith("#") and len(text) not in (4, 7):
        raise HintError(f"{source}: colour {_shown(value)} must be #rgb or #rrggbb")
    try:
        rgb = ImageColor.getrgb(text)
    except ValueError:
        raise HintError(
            f"{source}: colour {_shown(value)} does not parse (use #rgb, #rrggbb or a CSS name)"
        ) from None
    return (rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0)


def _number(value: Any, what: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise HintError(f"{source}: {what} must be a number. Got {_shown(value)}")
    return float(value)


def _point_from_mapping(item: Any, source: str) -> PointHint:
    if not isinstance(item, Mapping):
        raise HintError(f"{source}: each point must be an object with x, y and color. Got {_shown(item)}")
    missing = [k for k in ("x", "y", "color") if k not in item]
    if missing:
        raise HintError(f"{source}: a point lacks {', '.join(missing)}")
    unknown = sorted(set(item) - {"x", "y", "color", "radius"})
    if unknown:
        raise HintError(f"{source}: unknown key {_shown(unknown[0])} in a point (keys: x, y, color, radius)")
    radius = None
    if item.get("radius") is not None:
        r = _number(item["radius"], "radius", source)
        if r < 0 or r > 256 or r != int(r):
            raise HintError(
                f"{source}: radius must be a whole number of pixels in 0..256. Got {_shown(item['radius'])}"
            )
        radius = int(r)
    return PointHint(
        _number(item["x"], "x", source),
        _number(item["y"], "y", source),
        parse_color(item["color"], source),
        radius,
    )


def parse_hints(hints: Any, source: str = "hints") -> list[PointHint]:
    """Hints in any of the accepted forms -> a list of `PointHint`.

    Accepted: a hint dict `{"points": [...]}`; a list of point dicts; a list of `(x, y, color)` or
    `(x, y, color, radius)` tuples; a list of `"X,Y,COLOR"` strings (the CLI's `--hint`); `PointHint`s.
    """
    if hints is None:
        return []
    if isinstance(hints, Mapping):
        unknown = sorted(set(hints) - {"points"})
        if unknown:
            raise HintError(
                f'{source}: unknown key {_shown(unknown[0])} (a hint file holds {{"points": [...]}})'
            )
        if "points" not in hints or not isinstance(hints["points"], list):
            raise HintError(f'{source}: a hint file holds {{"points": [...]}}')
        hints = hints["points"]
    if isinstance(hints, (str, bytes)) or not isinstance(hints, Iterable):
        raise HintError(f"{source}: hints must be a list of points or a {{'points': [...]}} dict")
    points = []
    for item in hints:
        if isinstance(item, PointHint):
            points.append(item)
        elif isinstance(item, Mapping):
            points.append(_point_from_mapping(item, source))
        elif isinstance(item, str):
            points.append(parse_hint_string(item, source))
        elif isinstance(item, Sequence) and len(item) in (3, 4):
            keys = ("x", "y", "color", "radius")
            points.append(_point_from_mapping(dict(zip(keys, item, strict=False)), source))
        else:
            raise HintError(
                f"{source}: a point must be (x, y, color), a dict or 'X,Y,COLOR'. Got {_shown(item)}"
            )
    return points


def parse_hint_string(text: str, source: str = "--hint") -> PointHint:
    """`"X,Y,COLOR"` or `"X,Y,COLOR,RADIUS"` -> PointHint (COLOR as in `parse_color`)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise HintError(f"{source}: {_shown(text)} must be X,Y,COLOR (for example 120,45,#1f4fa0)")
    try:
        numbers = [float(parts[0]), float(parts[1])] + ([float(parts[3])] if len(parts) == 4 else [])
    except ValueError:
        raise HintError(f"{source}: {_shown(text)}: X and Y (and RADIUS) must be numbers") from None
    item: dict[str, Any] = {"x": numbers[0], "y": numbers[1], "color": parts[2]}
    if len(parts) == 4:
        item["radius"] = numbers[2]
    return _point_from_mapping(item, source)


def read_hint_file(path: str | os.PathLike[str]) -> list[PointHint]:
    """A JSON hint file -> points; HintError naming the file for a missing file or malformed JSON."""
    source = display_path(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HintError(f"{source}: no such hint file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise HintError(f"{source}: cannot read: {getattr(e, 'strerror', None) or e}") from None
    return parse_hints(load_hint_json(text, source), source)


def load_hint_json(text: str | bytes, source: str = "hints") -> Any:
    """The JSON of a hint file or form field, parsed; HintError naming `source` for malformed JSON and for
    JSON nested too deeply to parse (a hint file is 3 levels deep; Python's parser gives up near 1,000)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise HintError(f"{source}: malformed JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise HintError(f'{source}: JSON nested too deeply (a hint file is {{"points": [...]}})') from None
    except UnicodeDecodeError:
        raise HintError(f"{source}: not UTF-8 text") from None


def hints_to_json(points: Iterable[PointHint]) -> dict[str, Any]:
    """Points -> the hint file's dict (what the web page saves and the CLI reads back)."""
    out = []
    for p in points:
        item: dict[str, Any] = {"x": p.x, "y": p.y, "color": p.hex}
        if p.radius is not None:
            item["radius"] = p.radius
        out.append(item)
    return {"points": out}


def default_radius(height: int, width: int) -> int:
    """The half-side of a hint square when the hint gives none: about 1% of the longer side (>= 1 px), so a
    hint covers a few pixels at the render size whatever the photo's resolution."""
    return max(1, round(0.006 * max(height, width)))


def hint_map(points: Sequence[PointHint], height: int, width: int, source: str = "hints") -> np.ndarray:
    """Points -> the model's sparse map (3, H, W) float32 at the input's size: ab_norm of each hint's colour
    (a*b* of its sRGB colour, divided by AB_SCALE) and a 0/1 mask. A point outside the image raises."""
    from deepcolor.color.numpy import rgb_to_lab

    out = np.zeros((3, height, width), dtype=np.float32)
    for p in points:
        if not (0 <= p.x <= width - 1 and 0 <= p.y <= height - 1):
            raise HintError(
                f"{source}: point ({p.x:g}, {p.y:g}) is outside the image ({width} x {height}: "
                f"x in 0..{width - 1}, y in 0..{height - 1})"
            )
        lab = rgb_to_lab(np.asarray(p.rgb, dtype=np.float64).reshape(1, 1, 3))[0, 0]
        r = default_radius(height, width) if p.radius is None else p.radius
        cx, cy = int(round(p.x)), int(round(p.y))
        y0, y1 = max(cy - r, 0), min(cy + r + 1, height)
        x0, x1 = max(cx - r, 0), min(cx + r + 1, width)
        out[0, y0:y1, x0:x1] = lab[1] / AB_SCALE
        out[1, y0:y1, x0:x1] = lab[2] / AB_SCALE
        out[2, y0:y1, x0:x1] = 1.0
    return out
