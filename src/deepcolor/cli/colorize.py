"""`deepcolor colorize`: grey photos -> colour photos at their full resolution.

For each image, writes ``OUTDIR/<name>.<ext>`` (the input's format unless ``--format``): the network sees
L* at ``--render-size``, its ab prediction is upsampled guided by the full-resolution L*, and joined with the
original L*, so every detail of the input is kept. Alpha, EXIF, the ICC profile and 16-bit depth (PNG, TIFF)
are kept. A colour input is reduced to its L* first, and a line says so; a grey photo stored as RGB is
recognised as grey.

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
# Read-only spellings of writable formats.
_SUFFIX_ALIASES = {".jpe": ".jpg", ".jfif": ".jpg"}
# deepcolor.inference.pipeline.BACKENDS, spelled out so that --help does not import torch (a test checks).
BACKENDS = ("auto", "torch", "onnxruntime")
# Pillow modes of grey sources: their three channels in LoadedImage.rgb are copies of one.
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
            type=click.IntRange(16, 4096),
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
    """The extension to write: --format's, else the input's when writable, else .png."""
    from deepcolor.io import WRITE_FORMATS

    if fmt is not None:
        return FORMATS[fmt]
    suffix = path.suffix.lower()
    suffix = _SUFFIX_ALIASES.get(suffix, suffix)
    return suffix if suffix in WRITE_FORMATS else ".png"


def output_bit_depth(bit_depth: int, suffix: str) -> int:
    """16 when the input had 16 bits per channel and the output format can hold them, else 8."""
    return 16 if bit_depth == 16 and suffix in (".png", ".tif", ".tiff") else 8


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
    from deepcolor.io import InputItem, read_image, write_image

    job = batch.Batch.from_cli(inputs, output, recursive=recursive, overwrite=overwrite)
    colorizer = load_colorizer(model, device, backend)

    def process(item: InputItem) -> None:
        image = read_image(item.path, max_pixels)
        suffix = output_suffix(item.path, fmt)
        out_path = job.output_path(item, suffix)
        if not image.is_gray:
            batch.echo_warning(
                f"{item.path}: colour input; decolorized first (its CIE L* is what gets colorized)"
            )
        grey_source = image.is_gray and image.mode in GREY_MODES
        rgb = colorizer.colorize_array(image.rgb, render_size, saturation, out=image.rgb, gray=grey_source)
        write_image(
            out_path,
            rgb,
            alpha=image.alpha,
            icc=image.icc,
            exif=image.exif,
            bit_depth=output_bit_depth(image.bit_depth, suffix),
        )

    sys.exit(job.run(process, desc="colorize"))
