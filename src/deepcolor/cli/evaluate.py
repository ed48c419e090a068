"""`deepcolor evaluate`: score colorization models against the truth on a folder of images or a tar shard.

    deepcolor evaluate --model default --model runs/ae/best.pt --data ../shared/data/val/bsd100 -o eval-out

Prints one table row per model (the `gray` baseline, ab = 0, always first) and writes per_image.csv,
summary.csv and sheet.png (grey | each model | truth) under the output folder.

Exit codes: 0 every image scored; 1 some images could not be read (one line each, the rest are scored);
2 the evaluation cannot run: a wrong flag, a model that cannot be loaded, a data path that is not a folder of
images or a tar shard, an output folder that cannot be written (one line each).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from deepcolor.cli import batch
from deepcolor.cli.batch import echo_error

# deepcolor.evaluate.DEFAULT_SHEET_COUNT, spelled out so that --help does not import torch (a test checks).
DEFAULT_SHEET_COUNT = 6


@click.command(
    "evaluate",
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit codes: 0 all images scored, 1 some images unreadable (skipped), 2 usage error.",
)
@click.option(
    "-m",
    "--model",
    "models",
    multiple=True,
    metavar="MODEL",
    help="Model to score: 'default', a shipped name, a .safetensors, a checkpoint .pt or an .onnx file. "
    "Repeat to compare several. The 'gray' baseline (ab = 0) always runs too; '--model gray' runs it alone. "
    "[default: default]",
)
@click.option(
    "-d",
    "--data",
    required=True,
    metavar="FOLDER_OR_TAR",
    callback=batch.reject_empty,
    help="A folder of colour images (sub-folders included) or a tar shard of images: the truth.",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Score only the first N images.")
@click.option(
    "--render-size",
    type=click.IntRange(min=8),
    default=None,
    help="Size the network sees (longer side, pixels). [default: the inference default]",
)
@click.option(
    "-o",
    "--output",
    "output_dir",
    type=batch.OutputFolder(),
    default=Path("eval-out"),
    show_default=True,
    help="Folder for per_image.csv, summary.csv and sheet.png.",
)
@click.option(
    "--sheet",
    "sheet_count",
    type=click.IntRange(min=0),
    default=DEFAULT_SHEET_COUNT,
    show_default=True,
    help="How many images the comparison sheet shows (0: no sheet).",
)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    callback=batch.check_device,
    help="Where the models run: auto (CUDA when present), cpu, cuda, cuda:1, mps.",
)
@click.option(
    "--backend",
    type=click.Choice(["auto", "torch", "onnxruntime"]),
    default="auto",
    show_default=True,
    help="Run PyTorch models with torch or through onnxruntime (auto: $DEEPCOLOR_BACKEND, else torch).",
)
@click.option(
    "--hints",
    "hint_count",
    type=click.IntRange(min=0, max=1000),
    default=0,
    show_default=True,
    help="Give each model that takes colour hints N point hints per image, sampled from the truth "
    "(fixed seed, Gaussian placement, 7 x 7 mean colour).",
)
@click.option(
    "--reference",
    type=click.Choice(["truth"]),
    default=None,
    help="truth: give each image's own truth as the reference photo.",
)
@click.option(
    "--no-perceptual",
    is_flag=True,
    help="Skip the ImageNet-classifier metrics (semantic agreement, Frechet distance of Lite0 features).",
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar (never drawn off a terminal).")
def command(
    models: tuple[str, ...],
    data: str,
    limit: int | None,
    render_size: int | None,
    output_dir: Path,
    sheet_count: int,
    device: str,
    backend: str,
    hint_count: int,
    reference: str | None,
    no_perceptual: bool,
    no_progress: bool,
) -> None:
    """Score colorization models against the truth on a folder or tar shard (PSNR, SSIM, CIEDE2000,
    colourfulness and its gap, AuC, ImageNet-classifier agreement, a Frechet distance), beside the gray
    baseline; --hints N and --reference truth score user-guided colorization."""
    from deepcolor.evaluate import EvaluationError, evaluate, format_table

    try:
        result = evaluate(
            list(models) or ["default"],
            data,
            limit=limit,
            render_size=render_size,
            sheet_count=sheet_count,
            output_dir=output_dir,
            progress=not no_progress and batch.stderr_is_terminal(),
            device=device,
            backend=backend,
            on_failure=echo_error,
            hints=hint_count,
            reference=reference,
            perceptual=not no_perceptual,
        )
    except EvaluationError as error:
        click.echo(f"deepcolor: {error}", err=True)
        sys.exit(2)
    for note in result.notes:
        batch.echo_warning(note)
    click.echo(f"{result.data}: {result.counts_line()}")
    click.echo(format_table(result))
    for path in result.files:
        click.echo(f"wrote {path}")
    sys.exit(1 if result.failed else 0)
