"""`deepcolor decolorize`: colour photos -> real one-channel grey images that keep the colour contrast.

For each image, writes ``OUTDIR/<name>.<ext>`` (the input's format unless ``--format``): one channel, grey
or grey + alpha (mode L / LA), 8 bits, or 16 with ``--bit-depth 16`` (PNG, TIFF; a 16-bit input gives 16 by
default where the format holds it); ``--keep-channels`` writes the grey as RGB. EXIF is kept. A JPEG made from
a JPEG keeps the input's quality (read from its quantisation table, at most 95). At the end one line says how
many bytes the grey files take against their inputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from deepcolor.cli import batch
from deepcolor.cli.colorize import format_option, output_suffix
from deepcolor.cli.ray_engine import engine_options

# Imported lazily for the help text: the list must match deepcolor.decolor.METHODS (a test checks it).
METHOD_NAMES = ("lcp", "cpd", "lightness", "luma601", "luma709", "average")


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def savings_line(done: int, in_bytes: int, out_bytes: int) -> str:
    """One line: how many bytes the grey files saved (or cost) against their inputs."""
    saved = in_bytes - out_bytes
    share = 100.0 * saved / in_bytes if in_bytes else 0.0
    word = "saved" if saved >= 0 else "grew by"
    return (f"decolorize: {done} image{'s' if done != 1 else ''}, {_size(in_bytes)} in -> {_size(out_bytes)} "
            f"grey: {word} {_size(abs(saved))} ({abs(share):.0f}%)")


@click.command()
@engine_options("decolorize")  # --engine local|ray, --manifest, ... (deepcolor.cli.ray_engine)
@batch.image_options
@click.option(
    "--method",
    type=click.Choice(METHOD_NAMES),
    default="lcp",
    show_default=True,
    help="lcp: local contrast-preserving (keeps the most contrast); cpd: Lu, Xu and Jia 2012; lightness: "
    "CIE L*; luma601 / luma709: video luma; average: (R + G + B) / 3.",
)
@click.option(
    "--bit-depth",
    type=click.Choice(["8", "16"]),
    default=None,
    help="Bits per channel of the output [default: 16 for 16-bit inputs where the format holds it, else 8]. "
    "16 needs PNG or TIFF.",
)
@click.option("--keep-channels", is_flag=True, help="Write the grey as RGB (three equal channels).")
@format_option
def command(
    inputs: tuple[str, ...],
    output: Path,
    recursive: bool,
    overwrite: bool,
    skip_existing: bool,
    max_pixels: int,
    method: str,
    bit_depth: str | None,
    keep_channels: bool,
    fmt: str | None,
) -> None:
    """Turn colour photos into one-channel grey images that keep their colour contrast.

    Writes OUTDIR/<name>.<ext> for each INPUT (files, folders or glob patterns): one channel (grey, or grey +
    alpha), 8 bits unless --bit-depth 16, EXIF kept. The default method, lcp, fits a mapping to each photo so
    that colours of equal lightness (a red flower on green leaves) stay apart in grey.
    """
    from deepcolor.decolor import decolorize_file

    job = batch.Batch.from_cli(
        inputs,
        output,
        recursive=recursive,
        overwrite=overwrite,
        skip_existing=skip_existing,
        output_suffixes=lambda path: [output_suffix(path, fmt)],
    )
    if bit_depth == "16" and fmt is not None and fmt not in ("png", "tif"):
        raise click.BadParameter("16 bits need --format png or tif", param_hint="--bit-depth")
    totals = {"done": 0, "in": 0, "out": 0}

    def process(item) -> None:  # item: deepcolor.io.InputItem
        suffix = output_suffix(item.path, fmt)
        out_path = job.output_path(item, suffix)
        written = decolorize_file(
            item.path,
            out_path,
            method,
            bit_depth=int(bit_depth) if bit_depth is not None else None,
            keep_channels=keep_channels,
            max_pixels=max_pixels,
            replace_input=overwrite,  # job.output_path has already refused an input without --overwrite
        )
        totals["done"] += 1
        totals["in"] += item.path.stat().st_size
        totals["out"] += written.stat().st_size

    code = job.run(process, desc="decolorize")
    if totals["done"]:
        click.echo(savings_line(totals["done"], totals["in"], totals["out"]), err=True)
    sys.exit(code)
