"""`deepcolor colorize`: grey photos -> colour photos at their full resolution.

For each image, writes ``OUTDIR/<name>.<ext>`` (the input's format unless ``--format``): the network sees
L* at ``--render-size``, its ab prediction is upsampled guided by the full-resolution L*, and joined with the
original L*, so every detail of the input is kept. Alpha, EXIF, the ICC profile and 16-bit depth (PNG, TIFF)
are kept. A colour input is reduced to its L* first, and a warning says so; a grey photo stored as RGB is
recognised as grey. Each file goes through `deepcolor.inference.images.process_file`, the pipeline that the
Python API and the web service share (`run_task`, also `deepcolor enhance`'s).

The model options (`model_options`) are shared with `deepcolor enhance` and `deepcolor demo`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from deepcolor.cli import batch

F = TypeVar("F", bound=Callable[..., Any])

# Output formats for --format, and the extension each writes.
FORMATS = {"png": ".png", "jpg": ".jpg", "tif": ".tif", "webp": ".webp", "bmp": ".bmp"}
# deepcolor.inference.images.RENDER_SIZE_MIN / MAX, spelled out so that --help does not import torch (a test
# checks).
RENDER_SIZE_RANGE = (16, 4096)
# deepcolor.inference.pipeline.BACKENDS, spelled out so that --help does not import torch (a test checks).
BACKENDS = ("auto", "torch", "onnxruntime")
# Pillow modes of grey sources. No longer the grey rule (that is `LoadedImage.channels_equal`, see
# deepcolor.inference.images); kept for callers that still import it.
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})


def model_options(f: F) -> F:
    """--model, --render-size, --device, --backend, received as model, render_size, device, backend."""
    options = (
        click.option(
            "--model",
            default="default",
            show_default=True,
            help="Shipped model name or alias, or a .safetensors (with its .json), .pt or .onnx file.",
        ),
        click.option(
            "--render-size",
            type=click.IntRange(*RENDER_SIZE_RANGE),
            default=None,
            help="Longer side, in pixels, of the L* the network sees (aspect kept) [default: the model's, "
            "else 160].",
        ),
        click.option(
            "--device",
            default="auto",
            show_default=True,
            callback=batch.check_device,
            help="auto, cpu, cuda, cuda:1, mps.",
        ),
        click.option(
            "--backend",
            type=click.Choice(BACKENDS),
            default="auto",
            show_default=True,
            help="Run the network with PyTorch or onnxruntime. auto: onnxruntime when an ONNX export of the "
            "weights lies beside them (deepcolor export), else torch; $DEEPCOLOR_BACKEND overrides auto.",
        ),
    )
    for decorator in reversed(options):
        f = decorator(f)
    return f


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default=None,
    help="Output format [default: the input's, PNG when it cannot be written].",
)


def load_colorizer(model: str, device: str, backend: str) -> Any:
    """A Colorizer, or exit 2 with one line naming the model and the problem."""
    from deepcolor.inference import Colorizer

    try:
        return Colorizer(model, device=device, backend=backend)
    except ValueError as error:  # WeightsError, and pick_device's unavailable device
        batch.echo_error(str(error))
        sys.exit(2)


def output_suffix(path: Path, fmt: str | None) -> str:
    """The extension to write: --format's, else the input's when writable, else .png (the rule is
    `deepcolor.io.output_suffix`; this name is kept for the other commands)."""
    from deepcolor.io import output_suffix as rule

    return rule(path, fmt)


def output_bit_depth(bit_depth: int, suffix: str) -> int:
    """16 when the input had 16 bits per channel and the output format can hold them, else 8
    (`deepcolor.io.output_bit_depth`)."""
    from deepcolor.io import output_bit_depth as rule

    return rule(bit_depth, suffix)


def run_task(
    task: str,
    job: batch.Batch,
    colorizer: Any,
    fmt: str | None,
    max_pixels: int,
    **options: Any,
) -> int:
    """The batch of `deepcolor colorize` or `deepcolor enhance`: each input through the one file pipeline
    (`deepcolor.inference.images.process_file`), its notes printed as warnings. Returns the exit code.

    Without --overwrite a file that appears under the output's name while the image is processed is left
    alone too (the write refuses to replace it), not only one that was there when the batch began."""
    from deepcolor.inference.images import process_file
    from deepcolor.io import InputItem

    def process(item: InputItem) -> None:
        out_path = job.output_path(item, output_suffix(item.path, fmt))
        result = process_file(
            item.path, out_path, colorizer, task, max_pixels=max_pixels, overwrite=job.overwrite, **options
        )
        for note in result.notes:
            batch.echo_warning(f"{item.path}: {note}")

    return job.run(process, desc=task)


@click.command()
@batch.image_options
@model_options
@click.option(
    "--saturation",
    type=click.FloatRange(min=0.0, max=4.0),
    default=1.0,
    show_default=True,
    help="Factor on the predicted chroma: 0 gives grey, above 1 more vivid.",
)
@format_option
def command(
    inputs: tuple[str, ...],
    output: Path,
    recursive: bool,
    overwrite: bool,
    max_pixels: int,
    model: str,
    render_size: int | None,
    device: str,
    backend: str,
    saturation: float,
    fmt: str | None,
) -> None:
    """Colorize grey photos at their full resolution.

    Writes OUTDIR/<name>.<ext> for each INPUT (files, folders or glob patterns), with the input's alpha,
    EXIF, ICC profile and bit depth. The network sees the lightness at --render-size; its colours are
    upsampled along the edges of the full-resolution photo and joined with its original lightness.
    A colour input is reduced to its lightness (CIE L*) first.
    """
    job = batch.Batch.from_cli(inputs, output, recursive=recursive, overwrite=overwrite)
    colorizer = load_colorizer(model, device, backend)
    sys.exit(
        run_task("colorize", job, colorizer, fmt, max_pixels, render_size=render_size, saturation=saturation)
    )
