"""What a run leaves behind besides checkpoints: metrics.csv (and TensorBoard events when tensorboard is
installed), sample sheets (grey | predicted | truth) and a loss-curve PNG. Files are written atomically."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from deepcolor.io.atomic import atomic_write_bytes

BASE_COLUMNS = ["step", "epoch", "lr", "loss"]
TAIL_COLUMNS = [
    "grad_norm",
    "images_per_s",
    "grey_dropped",
    "val_l1",
    "val_psnr",
    "val_colourfulness",
    "elapsed_s",
]


class MetricsLog:
    """metrics.csv with a fixed header; training rows leave the val columns empty and vice versa.

    `truncate(step)` drops rows after a checkpoint's step, so a resumed run's CSV matches an unbroken one.
    """

    def __init__(self, path: Path, extra: list[str], tensorboard_dir: Path | None = None) -> None:
        self.path = path
        self.columns = BASE_COLUMNS + extra + TAIL_COLUMNS
        self.rows: list[dict[str, str]] = []
        if path.is_file():
            with path.open(newline="") as f:
                self.rows = list(csv.DictReader(f))
        self.writer = None
        if tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(tensorboard_dir))
            except ImportError:  # tensorboard is optional
                self.writer = None

    def truncate(self, step: int) -> None:
        self.rows = [r for r in self.rows if int(r["step"]) <= step]
        self._flush()

    def add(self, row: dict[str, Any]) -> None:
        out = {c: "" for c in self.columns}
        for key, value in row.items():
            if key in out:
                out[key] = f"{value:.6g}" if isinstance(value, float) else str(value)
        self.rows.append(out)
        if self.writer is not None:
            for key, value in row.items():
                if key not in ("step", "epoch") and isinstance(value, (int, float)):
                    self.writer.add_scalar(key, value, int(row["step"]))
        self._flush()

    def _flush(self) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_bytes(self.path, buffer.getvalue().encode())

    def series(self, column: str) -> tuple[list[int], list[float]]:
        steps, values = [], []
        for r in self.rows:
            if r.get(column):
                steps.append(int(r["step"]))
                values.append(float(r[column]))
        return steps, values

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def write_png(path: Path, image: np.ndarray) -> None:
    """(H, W, 3) uint8 -> PNG, atomically."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


def plot_curves(
    series: list[tuple[str, list[int], list[float], tuple[int, int, int]]],
    title: str,
    size: tuple[int, int] = (900, 500),
    log_y: bool = False,
) -> np.ndarray:
    """A plain line chart: series of (label, steps, values, colour) on shared axes -> (H, W, 3) uint8."""
    width, height = size
    left, right, top, bottom = 80, 20, 40, 50
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = _font(14)
    draw.text((left, 10), title, fill=(20, 20, 20), font=font)
    points = [(s, v) for _, steps, values, _ in series for s, v in zip(steps, values, strict=True)]
    points = [(s, v) for s, v in points if math.isfinite(v)]
    if not points or (log_y and all(v <= 0 for _, v in points)):
        draw.text((left, height // 2), "no data", fill=(20, 20, 20), font=font)
        return np.asarray(image)

    def ty(v: float) -> float:
        return math.log10(max(v, 1e-12)) if log_y else v

    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    ys = [ty(p[1]) for p in points if not log_y or p[1] > 0]
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5

    def px(s: float, v: float) -> tuple[float, float]:
        return (
            left + (s - x0) / (x1 - x0) * (width - left - right),
            top + (1 - (ty(v) - y0) / (y1 - y0)) * (height - top - bottom),
        )

    axis = (120, 120, 120)
    draw.rectangle((left, top, width - right, height - bottom), outline=axis)
    for k in range(5):
        yv = y0 + (y1 - y0) * k / 4
        y = top + (1 - k / 4) * (height - top - bottom)
        draw.line((left - 4, y, left, y), fill=axis)
        label = f"{10**yv:.3g}" if log_y else f"{yv:.3g}"
        draw.text((5, y - 7), label, fill=(20, 20, 20), font=font)
        xv = x0 + (x1 - x0) * k / 4
        x = left + k / 4 * (width - left - right)
        draw.line((x, height - bottom, x, height - bottom + 4), fill=axis)
        draw.text((x - 15, height - bottom + 8), f"{xv:.0f}", fill=(20, 20, 20), font=font)
    draw.text((width // 2 - 15, height - 20), "step", fill=(20, 20, 20), font=font)
    for i, (label, steps, values, colour) in enumerate(series):
        pairs = zip(steps, values, strict=True)
        xy = [px(s, v) for s, v in pairs if math.isfinite(v) and (not log_y or v > 0)]
        if len(xy) > 1:
            draw.line(xy, fill=colour, width=2)
        elif xy:
            draw.ellipse((xy[0][0] - 2, xy[0][1] - 2, xy[0][0] + 2, xy[0][1] + 2), fill=colour)
        draw.text((width - right - 160, top + 8 + 18 * i), label, fill=colour, font=font)
    return np.asarray(image)


def write_loss_curve(log: MetricsLog, path: Path, title: str) -> None:
    """loss.png: training loss (log scale) on top, validation L1 (a*b* units) below."""
    steps, loss = log.series("loss")
    val_steps, val_l1 = log.series("val_l1")
    top = plot_curves([("train loss", steps, loss, (31, 119, 180))], f"{title}: training loss", log_y=True)
    bottom = plot_curves(
        [("val L1 (a*b*)", val_steps, val_l1, (214, 39, 40))], f"{title}: validation L1 on ab"
    )
    write_png(path, np.concatenate((top, bottom), axis=0))
