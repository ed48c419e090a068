"""`deepcolor convert`: show an image's channels in another colour space.

For each image, writes ``OUTDIR/<name>_<space>.png``: a labelled montage of the original and one grey tile
per channel, each channel scaled into [0, 1] from the range its label states (e.g. ``L* [0,100]``), so the
tiles of different images compare. With ``--npy`` also ``OUTDIR/<name>_<space>.npy``: the channels at full
resolution, (H, W, 3) float32 ((H, W, 1) for ``gray``) in the units of `deepcolor.color`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click
import numpy as np

from deepcolor.cli import batch
from deepcolor.io import InputItem, read_image, to_numpy, to_tensor, write_image, write_npy
from deepcolor.viz import make_sheet

if TYPE_CHECKING:  # torch is imported where it is used, so that --help and usage errors stay fast
    import torch

# deepcolor.color.GRAY_METHODS, spelled out so that --help does not import torch (a test checks).
GRAY_METHODS = ("bt601", "bt709", "lightness")


@dataclass(frozen=True)
class Channel:
    name: str
    low: float
    high: float

    @property
    def label(self) -> str:
        return f"{self.name} [{self.low:g},{self.high:g}]"

    def to_display(self, values: np.ndarray) -> np.ndarray:
        """Channel values -> [0, 1] for a grey tile (values outside the stated range are clipped)."""
        return np.clip((values - self.low) / (self.high - self.low), 0.0, 1.0)


# space -> the channels' names and nominal ranges, as docs/ARCHITECTURE.md states them.
SPACES: dict[str, tuple[Channel, ...]] = {
    "hsv": (Channel("H", 0, 1), Channel("S", 0, 1), Channel("V", 0, 1)),
    "yuv": (Channel("Y", 0, 1), Channel("U", -0.436, 0.436), Channel("V", -0.615, 0.615)),
    "ycbcr": (Channel("Y", 0, 1), Channel("Cb", 0, 1), Channel("Cr", 0, 1)),
    "lab": (Channel("L*", 0, 100), Channel("a*", -128, 127), Channel("b*", -128, 127)),
    "gray": (Channel("gray", 0, 1),),
}


def converter(space: str, gray_method: str = "bt601") -> Callable[[torch.Tensor], torch.Tensor]:
    """The `deepcolor.color` function for `space`: (1, 3, H, W) sRGB -> (1, C, H, W) channels."""
    from deepcolor import color

    if space == "gray":
        return lambda rgb: color.rgb_to_gray(rgb, method=gray_method)
    return {
        "hsv": color.rgb_to_hsv,
        "yuv": color.rgb_to_yuv,
        "ycbcr": color.rgb_to_ycbcr,
        "lab": color.rgb_to_lab,
    }[space]


def _shrink(rgb: torch.Tensor, longest: int) -> torch.Tensor:
    """(1, 3, H, W) -> longer side at most `longest` (antialiased), for display only."""
    import torch.nn.functional as F

    h, w = rgb.shape[-2:]
    scale = longest / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(rgb, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def montage(
    rgb: np.ndarray,
    channels: np.ndarray,
    space: str,
    alpha: np.ndarray | None = None,
    title: str | None = None,
    tile_size: int = 256,
    gray_method: str = "bt601",
) -> np.ndarray:
    """The picture `convert` writes: the original and one labelled tile per channel.

    Args:
        rgb: (H, W, 3) sRGB in [0, 1].
        channels: (H, W, C) the channels of `space`, in its units (same H, W as `rgb`).
        space: a key of `SPACES`.
        alpha: (H, W) in [0, 1] or None; the original is shown over white.
        title: a line above the tiles.
        tile_size: the longer side of each tile in pixels.
        gray_method: named in the label of the ``gray`` tile.

    Returns:
        (H', W', 3) uint8 sheet.
    """
    specs = SPACES[space]
    shown = rgb if alpha is None else rgb * alpha[..., None] + (1.0 - alpha[..., None])
    tiles = [shown] + [spec.to_display(channels[..., c]) for c, spec in enumerate(specs)]
    labels = ["sRGB"] + [spec.label for spec in specs]
    if space == "gray":
        labels[1] = f"gray {gray_method} [0,1]"
    return make_sheet([tiles], col_labels=labels, tile_size=tile_size, title=title)


@click.command()
@batch.image_options
@click.option(
    "--space",
    type=click.Choice(list(SPACES)),
    default="lab",
    show_default=True,
    help="The colour space to show.",
)
@click.option("--npy", is_flag=True, help="Also write the full-resolution float channels as .npy.")
@click.option(
    "--gray-method",
    type=click.Choice(GRAY_METHODS),
    default="bt601",
    show_default=True,
    help="Grey formula for --space gray.",
)
@click.option(
    "--tile-size",
    type=click.IntRange(16, 4096),
    default=256,
    show_default=True,
    help="Longer side of each montage tile, in pixels.",
)
def command(
    inputs: tuple[str, ...],
    output: str,
    recursive: bool,
    overwrite: bool,
    skip_existing: bool,
    max_pixels: int,
    space: str,
    npy: bool,
    gray_method: str,
    tile_size: int,
) -> None:
    """Show each image's channels in another colour space.

    Writes OUTDIR/<name>_<space>.png: the original beside one labelled grey tile per channel, scaled into
    view from the range its label states; with --npy also OUTDIR/<name>_<space>.npy, the float channels at
    full resolution, (H, W, 3) float32 ((H, W, 1) for gray). INPUT may be files, folders or glob patterns.
    """
    import torch

    suffixes = [f"_{space}.png", f"_{space}.npy"] if npy else [f"_{space}.png"]
    job = batch.Batch.from_cli(
        inputs,
        output,
        recursive=recursive,
        overwrite=overwrite,
        skip_existing=skip_existing,
        output_suffixes=lambda path: suffixes,
    )
    convert = converter(space, gray_method)

    def process(item: InputItem) -> None:
        sheet_path, *npy_paths = job.output_paths(item, *suffixes)
        npy_path = npy_paths[0] if npy_paths else None
        image = read_image(item.path, max_pixels)
        rgb = to_tensor(image.rgb)  # (1, 3, H, W)
        with torch.no_grad():
            if npy_path is not None:
                full = to_numpy(convert(rgb))  # (H, W, C) at full resolution
                write_npy(npy_path, full.astype(np.float32, copy=False), overwrite=job.overwrite)
            small = _shrink(rgb, tile_size)
            channels = to_numpy(convert(small))
        alpha = image.alpha
        if alpha is not None and small.shape[-2:] != rgb.shape[-2:]:
            alpha = to_numpy(_shrink(to_tensor(alpha), tile_size))[..., 0]
        sheet = montage(
            to_numpy(small),
            channels,
            space,
            alpha=alpha,
            title=f"{item.path.name}: {space}",
            tile_size=tile_size,
            gray_method=gray_method,
        )
        write_image(sheet_path, sheet, overwrite=job.overwrite)

    sys.exit(job.run(process, desc="convert"))
