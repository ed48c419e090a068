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
    except ValueError as error:  # CheckpointError, and pick_device's unavailable device
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
    per_item: Callable[[Any], dict[str, Any]] | None = None,
    **options: Any,
) -> int:
    """The batch of `deepcolor colorize` or `deepcolor enhance`: each input through the one file pipeline
    (`deepcolor.inference.images.process_file`), its notes printed as warnings. Returns the exit code.

    Without --overwrite a file that appears under the output's name while the image is processed is left
    alone too (the write refuses to replace it), not only one that was there when the batch began."""
    from deepcolor.inference.images import process_file
    from deepcolor.io import InputItem

    def process(item: InputItem) -> None:
        extra = per_item(item) if per_item is not None else {}  # a bad hint fails here, before any write
        out_path = job.output_path(item, output_suffix(item.path, fmt))
        result = process_file(
            item.path,
            out_path,
            colorizer,
            task,
            max_pixels=max_pixels,
            overwrite=job.overwrite,
            **options,
            **extra,
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
@click.option(
    "--hints",
    "hints_path",
    type=click.Path(path_type=Path),
    default=None,
    help='Colour hints: a JSON hint file {"points": [{"x": 120, "y": 45, "color": "#1f4fa0", "radius": 3}]} '
    "for a single input, or a folder holding <input stem>.json for the inputs that have hints.",
)
@click.option(
    "--hint",
    "hint_strings",
    multiple=True,
    metavar="X,Y,COLOR",
    help="A colour hint at pixel X,Y (origin top-left, as displayed) for a single input; COLOR is #rgb, "
    "#rrggbb or a CSS name. Repeatable.",
)
@click.option(
    "--reference",
    "reference_path",
    type=click.Path(path_type=Path),
    default=None,
    help="A colour photo whose colours the result should follow, or a folder holding one per input by stem.",
)
@click.option(
    "--uncertainty",
    is_flag=True,
    help="Also write OUTDIR/<name>.uncertainty.png: a heat map of where the model is unsure (a hint helps "
    "most there).",
)
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
    hints_path: Path | None,
    hint_strings: tuple[str, ...],
    reference_path: Path | None,
    uncertainty: bool,
) -> None:
    """Colorize grey photos at their full resolution.

    Writes OUTDIR/<name>.<ext> for each INPUT (files, folders or glob patterns), with the input's alpha,
    EXIF, ICC profile and bit depth. The network sees the lightness at --render-size; its colours are
    upsampled along the edges of the full-resolution photo and joined with its original lightness.
    A colour input is reduced to its lightness (CIE L*) first.
    """
    job = batch.Batch.from_cli(inputs, output, recursive=recursive, overwrite=overwrite)
    images = [item for item in job.items if item.error is None and item.warning is None]
    guidance = Guidance.from_cli(hints_path, hint_strings, reference_path, images)
    colorizer = load_colorizer(model, device, backend)
    code = run_task(
        "colorize",
        job,
        colorizer,
        fmt,
        max_pixels,
        per_item=guidance.options_for,
        render_size=render_size,
        saturation=saturation,
        uncertainty=uncertainty,
    )
    sys.exit(max(code, guidance.report_unused()))


class Guidance:
    """--hints / --hint / --reference: which hints and reference go with which input."""

    def __init__(self, hints: dict[str, Any], references: dict[str, Path], hint_dir: Path | None) -> None:
        self.hints = hints  # input path (str) -> hint file Path or a list of --hint strings
        self.references = references  # input path (str) -> reference photo
        self.hint_dir = hint_dir
        self.unused: list[Path] = []

    @classmethod
    def from_cli(
        cls,
        hints_path: Path | None,
        hint_strings: tuple[str, ...],
        reference_path: Path | None,
        images: list[Any],
    ) -> Guidance:
        single = len(images) == 1
        if hint_strings and hints_path is not None:
            raise click.UsageError("give hints either with --hints or with --hint, not both")
        if hint_strings and not single:
            raise click.UsageError(
                f"--hint is for a single input; {len(images)} were given (use --hints DIR)"
            )
        hints: dict[str, Any] = {}
        hint_dir = None
        if hint_strings:
            hints[str(images[0].path)] = list(hint_strings)
        elif hints_path is not None:
            if hints_path.is_dir():
                hint_dir = hints_path
                by_stem = {item.path.stem: item for item in images}
                for file in sorted(hints_path.glob("*.json")):
                    if file.stem in by_stem:
                        hints[str(by_stem[file.stem].path)] = file
            elif not single:
                raise click.UsageError(
                    f"--hints {hints_path}: a hint file is for a single input; for {len(images)} inputs "
                    "give a folder of <input stem>.json"
                )
            elif images:
                hints[str(images[0].path)] = hints_path  # read (and its errors reported) with its input
        references: dict[str, Path] = {}
        if reference_path is not None:
            if reference_path.is_dir():
                files = {f.stem: f for f in sorted(reference_path.iterdir()) if f.is_file()}
                for item in images:
                    if item.path.stem in files:
                        references[str(item.path)] = files[item.path.stem]
            elif not reference_path.exists():
                raise click.UsageError(f"--reference {reference_path}: no such file or folder")
            else:
                for item in images:
                    references[str(item.path)] = reference_path
        guidance = cls(hints, references, hint_dir)
        if hint_dir is not None:
            known = {item.path.stem for item in images}
            guidance.unused = [f for f in sorted(hint_dir.glob("*.json")) if f.stem not in known]
        return guidance

    def options_for(self, item: Any) -> dict[str, Any]:
        """The colorize options of one input; a bad hint file raises HintError (that input fails)."""
        from deepcolor.hints.points import parse_hints, read_hint_file

        options: dict[str, Any] = {}
        given = self.hints.get(str(item.path))
        if isinstance(given, Path):
            options["hints"] = read_hint_file(given)
            options["hint_source"] = str(given)
        elif given:
            options["hints"] = parse_hints(given, "--hint")
            options["hint_source"] = "--hint"
        reference = self.references.get(str(item.path))
        if reference is not None:
            options["reference"] = reference
        return options

    def report_unused(self) -> int:
        """A hint file in the --hints folder for no input is an error (one line each); returns 1 if any."""
        for file in self.unused:
            batch.echo_error(f"{file}: a hint file for a missing input (no input named {file.stem}.*)")
        return 1 if self.unused else 0
