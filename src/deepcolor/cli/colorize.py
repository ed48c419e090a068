"""`deepcolor colorize`: grey photos -> colour photos at their full resolution.

For each image, writes ``OUTDIR/<name>.<ext>`` (the input's format unless ``--format``; PNG for a GIF, whose
palette cannot hold the colours): the network sees L* at ``--render-size``, its ab prediction is upsampled
guided by the full-resolution L*, and joined with the original L*, so every detail of the input is kept.
Alpha, EXIF, the ICC profile and 16-bit depth (PNG, TIFF) are kept. A colour input is reduced to its L*
first, and a warning says so; a grey photo stored as RGB is recognised as grey.

The inputs are read ``--batch-size`` at a time and go through
`deepcolor.inference.images.process_images`, the batch entry of the file pipeline that the Python API and
the web service share, so the network runs on several images at once; each result is then written. Only one
chunk of images is held in memory. `deepcolor enhance` goes image by image through `run_task`.

`prepare_item` is where one input is dispatched: the place for other kinds of input (a video file) to
branch off before the images are batched.

The model options (`model_options`) are shared with `deepcolor enhance` and `deepcolor demo`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from deepcolor.cli import batch, video
from deepcolor.cli.ray_engine import engine_options
from deepcolor.io.paths import display_path

F = TypeVar("F", bound=Callable[..., Any])

# What the uncertainty map adds to an output's stem (deepcolor.inference.images.uncertainty_output).
UNCERTAINTY_SUFFIX = ".uncertainty.png"

# Output formats for --format, and the extension each writes.
FORMATS = {"png": ".png", "jpg": ".jpg", "tif": ".tif", "webp": ".webp", "bmp": ".bmp"}
# deepcolor.inference.images.RENDER_SIZE_MIN / MAX, spelled out so that --help does not import torch (a test
# checks).
RENDER_SIZE_RANGE = (16, 4096)
# deepcolor.inference.pipeline.BACKENDS, spelled out so that --help does not import torch (a test checks).
BACKENDS = ("auto", "torch", "onnxruntime")
# Images in one network call by default (--batch-size): what a chunk holds in memory, full-size images
# included.
DEFAULT_BATCH_SIZE = 8


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

grainy_option = click.option(
    "--grainy",
    is_flag=True,
    help="The inputs are grainy scans (old film, fast film, a print scanned at its grain): where a photo "
    "measures grainy, the network sees its lightness denoised, so the grain gets no colour (the output keeps "
    "its own lightness). Off by default: finely textured clean photos can measure as grainy.",
)


def load_colorizer(model: str, device: str, backend: str, denoise_grain: bool = False) -> Any:
    """A Colorizer, or exit 2 with one line naming the model and the problem."""
    from deepcolor.inference import Colorizer

    try:
        return Colorizer(model, device=device, backend=backend, denoise_grain=denoise_grain)
    except ValueError as error:  # CheckpointError, and pick_device's unavailable device
        batch.echo_error(str(error))
        sys.exit(2)


def output_suffix(path: Path, fmt: str | None) -> str:
    """The extension to write: --format's, else the input's when writable, else .png
    (`deepcolor.io.output_suffix`, the API's rule too)."""
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
    """The batch of `deepcolor enhance`, image by image: each input through the one file pipeline
    (`deepcolor.inference.images.process_file`), its notes printed as warnings. Returns the exit code.

    Without --overwrite a file that appears under the output's name while the image is processed is left
    alone too (the write refuses to replace it), not only one that was there when the batch began."""
    from deepcolor.inference.images import process_file
    from deepcolor.io import InputItem

    notes = Notes()

    def process(item: InputItem) -> None:
        out_path = job.output_path(item, output_suffix(item.path, fmt))
        result = process_file(
            item.path, out_path, colorizer, task, max_pixels=max_pixels, overwrite=job.overwrite, **options
        )
        notes.echo(item, result.notes)

    return job.run(process, desc=task, remark=notes.remark)


def echo_note(message: str, note: str) -> None:
    """A note of a result: as a warning, or as a plain line for a remark (a toned print)."""
    from deepcolor.inference.images import is_warning

    (batch.echo_warning if is_warning(note) else batch.echo_error)(message)


@dataclass
class Notes:
    """The notes of a batch's results: printed per input as they come (`echo_note`), the toned prints
    counted for the summary line (``colorized 5 images (3 toned prints)``)."""

    toned: int = 0

    def echo(self, item: Any, notes: Sequence[str]) -> None:
        from deepcolor.inference.images import TONED_NOTE_PREFIX

        self.toned += any(note.startswith(TONED_NOTE_PREFIX) for note in notes)
        for note in notes:
            echo_note(f"{display_path(item.path)}: {note}", note)

    def remark(self) -> str:
        """What the summary line says of the notes: ``3 toned prints``, or "" when there were none."""
        if not self.toned:
            return ""
        return f"{self.toned} toned print{'' if self.toned == 1 else 's'}"


@dataclass
class Prepared:
    """One input read and ready for the network: its image, its own options, where its results go."""

    image: Any  # deepcolor.io.LoadedImage
    options: dict[str, Any]
    output: Path
    uncertainty_output: Path | None


def colorize_step(
    job: batch.Batch,
    colorizer: Any,
    guidance: Guidance,
    fmt: str | None,
    max_pixels: int,
    batch_size: int,
    clips: video.Clips | None = None,
    notes: Notes | None = None,
    **options: Any,
) -> batch.Chunked[Prepared]:
    """The `batch.Chunked` step of `deepcolor colorize`: read and check each input (`prepare_item`), run a
    chunk through `deepcolor.inference.images.process_images`, write each result (`finish_item`). A video
    input is colored whole in its prepare step by `clips` (`deepcolor.cli.video`) and passes the rest.
    `notes` prints the results' notes and counts them for the summary (a new `Notes` when None)."""
    from deepcolor.inference.images import process_images

    notes = notes if notes is not None else Notes()

    def infer(prepared: list[Prepared]) -> list[object]:
        images = [p for p in prepared if not isinstance(p, video.ClipDone)]
        results = iter(
            process_images(
                [p.image for p in images],
                colorizer,
                "colorize",
                per_image=[p.options for p in images],
                batch_size=batch_size,
                in_place=True,
                **options,
            )
            if images
            else []
        )
        return [p if isinstance(p, video.ClipDone) else next(results) for p in prepared]

    def prepare(item: Any) -> Any:
        if clips is not None and video.is_clip(item):
            return clips.colorize(item)
        return prepare_item(job, item, guidance, fmt, max_pixels, bool(options.get("uncertainty")))

    return batch.Chunked(
        prepare=prepare,
        infer=infer,
        finish=lambda item, prepared, result: (
            None if isinstance(prepared, video.ClipDone) else finish_item(job, item, prepared, result, notes)
        ),
        size=batch_size,
    )


def prepare_item(
    job: batch.Batch, item: Any, guidance: Guidance, fmt: str | None, max_pixels: int, uncertainty: bool
) -> Prepared:
    """One input before the network: its output names (refused or skipped as the flags say, before any
    reading), its hints and reference (a bad hint file fails it here), its pixels."""
    from deepcolor.io import read_image

    suffixes = [output_suffix(item.path, fmt)] + ([UNCERTAINTY_SUFFIX] if uncertainty else [])
    output, *maps = job.output_paths(item, *suffixes)
    options = guidance.options_for(item)
    image = read_image(item.path, max_pixels)
    return Prepared(image, options, output, maps[0] if maps else None)


def finish_item(
    job: batch.Batch, item: Any, prepared: Prepared, result: Any, notes: Notes | None = None
) -> None:
    """Write one result (and its uncertainty map), and print its notes (counted by `notes` when given)."""
    from deepcolor.inference.images import write_result, write_uncertainty

    (notes or Notes()).echo(item, result.notes)
    write_result(result, prepared.output, overwrite=job.overwrite)
    if prepared.uncertainty_output is not None and result.uncertainty is not None:
        write_uncertainty(result.uncertainty, prepared.uncertainty_output)


@click.command()
@engine_options("colorize")  # --engine local|ray, --manifest, ... (deepcolor.cli.ray_engine)
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
@click.option(
    "--batch-size",
    type=click.IntRange(1, 256),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Images read and run through the network together (more is faster on a GPU, and holds more images "
    "in memory).",
)
@grainy_option
@video.video_options  # --temporal/--no-temporal, --codec, --crf, --sequence (deepcolor.cli.video)
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
    saturation: float,
    fmt: str | None,
    hints_path: Path | None,
    hint_strings: tuple[str, ...],
    reference_path: Path | None,
    uncertainty: bool,
    batch_size: int,
    grainy: bool,
    **clip_options: Any,
) -> None:
    """Colorize grey photos at their full resolution.

    Writes OUTDIR/<name>.<ext> for each INPUT (files, folders or glob patterns), with the input's alpha,
    EXIF, ICC profile and bit depth. The network sees the lightness at --render-size; its colours are
    upsampled along the edges of the full-resolution photo and joined with its original lightness.
    A colour input is reduced to its lightness (CIE L*) first.

    A video INPUT writes OUTDIR/<stem>.<same extension>, steady in colour from frame to frame, with its sound;
    with --sequence each INPUT is a folder of numbered frames, written as OUTDIR/<folder>/.
    """
    if clip_options.pop("sequence"):
        sys.exit(
            video.run_sequences(
                inputs,
                output,
                overwrite,
                skip_existing,
                load_colorizer(model, device, backend, grainy),
                lambda items: Guidance.from_cli(hints_path, hint_strings, reference_path, items),
                max_pixels,
                render_size=render_size,
                saturation=saturation,
                **clip_options,
            )
        )
    job = batch.Batch.from_cli(
        inputs,
        output,
        recursive=recursive,
        overwrite=overwrite,
        skip_existing=skip_existing,
        output_suffixes=lambda path: (
            [path.suffix]
            if video.is_clip_name(path)
            else [output_suffix(path, fmt)] + ([UNCERTAINTY_SUFFIX] if uncertainty else [])
        ),
        extensions=video.INPUT_EXTENSIONS,  # folders and patterns take clips too
    )
    images = [item for item in job.items if item.error is None and item.warning is None]
    guidance = Guidance.from_cli(hints_path, hint_strings, reference_path, images)
    colorizer = load_colorizer(model, device, backend, grainy)
    clips = video.Clips(
        job, colorizer, guidance, max_pixels, render_size=render_size, saturation=saturation, **clip_options
    )
    notes = Notes()
    step = colorize_step(
        job,
        colorizer,
        guidance,
        fmt,
        max_pixels,
        batch_size,
        clips,
        notes,
        render_size=render_size,
        saturation=saturation,
        uncertainty=uncertainty,
    )
    code = job.run(step, desc="colorize", remark=notes.remark)
    clips.summary()
    sys.exit(max(code, guidance.report_unused()))


class Guidance:
    """--hints / --hint / --reference: which hints and reference go with which input."""

    def __init__(
        self,
        hints: dict[str, Any],
        references: dict[str, Path],
        hint_dir: Path | None,
        reference_dir: Path | None = None,
    ) -> None:
        self.hints = hints  # input path (str) -> hint file Path or a list of --hint strings
        self.references = references  # input path (str) -> reference photo
        self.hint_dir = hint_dir
        self.reference_dir = reference_dir  # --reference DIR: an input without <stem>.* there gets a warning
        self.unused: list[Path] = []
        self._reference: tuple[Path, Any] | None = None  # the last reference read, reused by the next input

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
        reference_dir = None
        if reference_path is not None:
            if reference_path.is_dir():
                reference_dir = reference_path
                files = {f.stem: f for f in sorted(reference_path.iterdir()) if f.is_file()}
                for item in images:
                    if item.path.stem in files:
                        references[str(item.path)] = files[item.path.stem]
            elif not reference_path.exists():
                raise click.UsageError(f"--reference {reference_path}: no such file or folder")
            else:
                for item in images:
                    references[str(item.path)] = reference_path
        guidance = cls(hints, references, hint_dir, reference_dir)
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
            options["hint_source"] = display_path(given)
        elif given:
            options["hints"] = parse_hints(given, "--hint")
            options["hint_source"] = "--hint"
        reference = self.references.get(str(item.path))
        if reference is not None:
            options["reference"] = self._read_reference(reference)
        elif self.reference_dir is not None:
            batch.echo_warning(
                f"{display_path(item.path)}: no reference photo named {item.path.stem}.* in "
                f"{display_path(self.reference_dir)}; colorized without one"
            )
        return options

    def _read_reference(self, path: Path) -> Any:
        """The reference photo as a LoadedImage, read once while consecutive inputs share it; a grey one
        gets a warning (it has no colours to follow). HintError when it cannot be read: its input fails."""
        from deepcolor.hints.points import HintError
        from deepcolor.io import ImageError, read_image

        if self._reference is not None and self._reference[0] == path:
            return self._reference[1]
        self._reference = None
        try:
            image = read_image(path)
        except ImageError as error:
            raise HintError(f"reference {error}") from None
        if image.is_gray:
            batch.echo_warning(
                f"{display_path(path)}: the reference photo is grey; it has no colours to follow"
            )
        self._reference = (path, image)
        return image

    def report_unused(self) -> int:
        """A hint file in the --hints folder for no input is an error (one line each); returns 1 if any."""
        for file in self.unused:
            batch.echo_error(
                f"{display_path(file)}: a hint file for a missing input (no input named {file.stem}.*)"
            )
        return 1 if self.unused else 0
