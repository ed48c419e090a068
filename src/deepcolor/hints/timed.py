"""Hints across time: a clip's hint file gives each point a frame (``"frame": N``, from 0) or a time
(``"time": seconds``); a point without either belongs to the first frame.

    {"points": [{"x": 120, "y": 45, "color": "#1f4fa0", "frame": 0},
                {"x": 300, "y": 210, "color": "crimson", "time": 12.5}]}

A hint set on one frame is carried through its shot (until the next cut) along the optical flow
(`deepcolor.inference.temporal.track_points`); the video pipeline asks `TimedHints.starting_at` which points
start at each frame. ``x``, ``y`` are pixels of the frame as displayed (a rotated clip's hints are mapped to
its coded frames by `displayed_to_coded`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deepcolor.hints.points import HintError, PointHint, parse_hints


def _when(item: Mapping[str, Any], source: str) -> tuple[str, float]:
    if "frame" in item and "time" in item:
        raise HintError(f"{source}: a point gives both frame and time; give one")
    if "frame" in item:
        value = item["frame"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise HintError(f"{source}: frame must be a whole number >= 0. Got {value!r}")
        return "frame", float(value)
    if "time" in item:
        value = item["time"]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise HintError(f"{source}: time must be a number of seconds >= 0. Got {value!r}")
        return "time", float(value)
    return "frame", 0.0


@dataclass
class TimedHints:
    """Point hints by the frame (index) or time (seconds) where they start."""

    by_frame: dict[int, list[PointHint]] = field(default_factory=dict)
    by_time: list[tuple[float, PointHint]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.by_frame or self.by_time)

    @classmethod
    def parse(cls, hints: Any, source: str = "hints") -> TimedHints:
        """Hints in any form `parse_hints` takes, each point dict optionally with ``frame`` or ``time``; a
        path (str / PathLike ending in .json) is read as a hint file."""
        from pathlib import Path

        if hints is None:
            return cls()
        if isinstance(hints, TimedHints):
            return hints
        if isinstance(hints, (str, os.PathLike)) and str(hints).lower().endswith(".json"):
            import json

            source = str(hints)
            try:
                hints = json.loads(Path(hints).read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise HintError(f"{source}: no such hint file") from None
            except (OSError, UnicodeDecodeError) as e:
                raise HintError(f"{source}: cannot read: {getattr(e, 'strerror', None) or e}") from None
            except json.JSONDecodeError as e:
                raise HintError(
                    f"{source}: malformed JSON (line {e.lineno}, column {e.colno}: {e.msg})"
                ) from None
        items: Iterable[Any] = hints
        if isinstance(hints, Mapping):
            unknown = sorted(set(hints) - {"points"})
            if unknown or not isinstance(hints.get("points"), list):
                raise HintError(f'{source}: a hint file holds {{"points": [...]}}')
            items = hints["points"]
        out = cls()
        for item in items:
            if isinstance(item, Mapping):
                kind, value = _when(item, source)
                point = parse_hints([{k: v for k, v in item.items() if k not in ("frame", "time")}], source)[
                    0
                ]
            else:
                kind, value = "frame", 0.0
                point = parse_hints([item], source)[0]
            if kind == "frame":
                out.by_frame.setdefault(int(value), []).append(point)
            else:
                out.by_time.append((value, point))
        return out

    def starting_at(self, index: int, time: float | None, frame_duration: float | None) -> list[PointHint]:
        """The points that start at frame `index` shown at `time` seconds: those given for this frame, and
        those given for a time within half a frame before it up to half a frame after."""
        points = list(self.by_frame.get(index, ()))
        if self.by_time:
            if time is None:
                raise HintError(
                    "hints: 'time' needs a clip with timestamps; give 'frame' for an image sequence"
                )
            half = (frame_duration or 0.0) / 2.0
            points += [
                p for t, p in self.by_time if time - half <= t < time + half or (index == 0 and t < time)
            ]
        return points

    def last_frame(self) -> int:
        """The highest frame index a point names (-1 for none)."""
        return max(self.by_frame, default=-1)


def displayed_to_coded(x: float, y: float, width: int, height: int, rotation: int) -> tuple[float, float]:
    """A point of a frame as displayed -> the same point of the coded frame (`width` x `height`), for a clip
    whose frames are shown rotated by `rotation` degrees counter-clockwise (a multiple of 90)."""
    turns = (int(round(rotation / 90.0)) % 4 + 4) % 4
    # displayed = rot90(coded, turns): undo one counter-clockwise quarter turn at a time
    w, h = (height, width) if turns % 2 else (width, height)  # displayed size
    for _ in range(turns):
        # displayed = rot90(before) with `before` h wide and w high: (x, y) came from (h - 1 - y, x)
        x, y = h - 1 - y, x
        w, h = h, w
    return x, y


__all__ = ["TimedHints", "displayed_to_coded"]
