"""`deepcolor enhance`: restore faded colour prints, revive dull colours.

For each image, writes ``OUTDIR/<name>.<ext>``. ``--mode restore`` (the default) first removes a faded print's
colour cast and gives back its contrast and chroma with one global colour correction guided by the colorizer;
then (both modes), where the photo's chroma is low compared with what the
colorizer predicts from its lightness, the prediction is blended in (up to ``--strength``); where the photo is
already vivid it is left alone. ``--clahe`` also equalises the lightness locally. Alpha, EXIF, ICC and 16-bit
depth are kept, as by `deepcolor colorize`, through the same file pipeline (`deepcolor.inference.images`).
See `deepcolor.inference.enhance` for the formula.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from deepcolor.cli import batch
from deepcolor.cli.colorize import (
    format_option,
    grainy_option,
    load_colorizer,
    model_options,
    output_suffix,
    run_task,
)
from deepcolor.cli.ray_engine import engine_options

# deepcolor.inference.enhance's defaults, spelled out so that --help does not import torch (a test checks).
DEFAULT_STRENGTH = 0.8
DEFAULT_CLAHE_LIMIT = 0.01


@click.command()
@engine_options("enhance")  # --engine local|ray, --manifest, ... (deepcolor.cli.ray_engine)
@batch.image_options
@model_options
@click.option(
    "--strength",
    type=click.FloatRange(0.0, 1.0),
    default=DEFAULT_STRENGTH,
    show_default=True,
    help="How far the dullest areas move toward the predicted colours (0 = unchanged).",
)
@click.option(
    "--mode",
    type=click.Choice(["restore", "blend"]),
    default="restore",
    show_default=True,
    help="restore: a faded print's colour cast, contrast and chroma restored (a global correction guided "
    "by the model), then the blend; blend: only the predicted colours blended into dull areas (as before).",
)
@click.option("--clahe", is_flag=True, help="Also equalise the lightness locally (CLAHE).")
@click.option(
    "--clahe-limit",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=DEFAULT_CLAHE_LIMIT,
    show_default=True,
    help="CLAHE clip limit (higher = stronger local contrast).",
)
@grainy_option
@format_option
def command(
    inputs: tuple[str, ...],
    output: Path,
    recursive: bool,
    overwrite: bool,
    skip_existing: bool,
    max_pixels: int,
    model: str,
    render_size: int | None,
    device: str,
    backend: str,
    strength: float,
    mode: str,
    clahe: bool,
    clahe_limit: float,
    grainy: bool,
    fmt: str | None,
) -> None:
    """Restore faded colour prints, revive dull colours.

    Writes OUTDIR/<name>.<ext> for each INPUT (files, folders or glob patterns). A faded print's colour cast,
    contrast and chroma are restored by one global colour correction, fitted so that the photo's colours agree
    with what the colorizer expects (--mode restore); then the predicted colours are blended in where the
    photo's own colours are still dull, up to --strength, never where they are vivid. A grey input or a toned
    monochrome print (sepia, cyanotype...) is colorized.
    """
    job = batch.Batch.from_cli(
        inputs,
        output,
        recursive=recursive,
        overwrite=overwrite,
        skip_existing=skip_existing,
        output_suffixes=lambda path: [output_suffix(path, fmt)],
    )
    colorizer = load_colorizer(model, device, backend, grainy)
    options = {
        "strength": strength,
        "mode": mode,
        "clahe": clahe,
        "clahe_limit": clahe_limit,
        "render_size": render_size,
    }
    sys.exit(run_task("enhance", job, colorizer, fmt, max_pixels, **options))
