"""`deepcolor export --onnx`: write a model as an ONNX file and check it against PyTorch.

The file computes `predict_ab`: input `l_norm` (B, 1, H, W), plus one input per condition the model takes
(e.g. `hints` (B, 3, H, W), `global_hints` (B, C); see `deepcolor.inference.onnx`) -> output `ab_norm`
(B, 2, H, W), normalised as in `deepcolor.normalization`, with batch, height and width dynamic. The model's
name, kwargs, render size and conditions are stored in the file's metadata, so `--model model.onnx` works with
every deepcolor command. After writing, the file is run with onnxruntime on a random L (and random conditions)
and the largest ab difference from PyTorch is printed.

Exported next to its weights as `<name>.onnx` (e.g. `deepcolor export --onnx --model default -o
src/deepcolor/weights/<name>.onnx`), the file is what `--backend auto` runs (with onnxruntime, faster than
PyTorch on CPUs for the U-Net models), and `--backend onnxruntime` too instead of exporting again, for as long
as the weights are unchanged: it records their SHA-256.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from deepcolor.cli import batch
from deepcolor.io.paths import display_path


@click.command()
@click.option("--onnx", "onnx_format", is_flag=True, required=True, help="Export to ONNX (the one format).")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The .onnx file to write.",
)
@click.option(
    "--model",
    default="default",
    show_default=True,
    help="Shipped model name or alias, or a .safetensors (with its .json) or .pt checkpoint.",
)
@click.option(
    "--render-size",
    type=click.IntRange(16, 4096),
    default=None,
    help="Render size stored in the file and used for the tracing example [default: the model's, else 160].",
)
@click.option("--overwrite", is_flag=True, help="Replace the .onnx file if it exists (never done otherwise).")
def command(onnx_format: bool, output: Path, model: str, render_size: int | None, overwrite: bool) -> None:
    """Export a model to ONNX and check it with onnxruntime.

    An existing OUTPUT is replaced only with --overwrite (and then only once the new file is whole).
    """
    from deepcolor.inference.onnx import ONNX_INPUT, compare_onnx, export_onnx, file_sha256
    from deepcolor.inference.pipeline import DEFAULT_RENDER_SIZE
    from deepcolor.inference.weights import load_module, resolve_weights
    from deepcolor.models.checkpoint import CheckpointError
    from deepcolor.models.conditions import model_conditions

    if output.suffix.lower() != ".onnx":
        batch.echo_error(f"{display_path(output)}: the output file name must end in .onnx")
        sys.exit(2)
    if os.path.lexists(output) and not overwrite:  # checked before the minutes an export takes
        batch.echo_error(f"{display_path(output)}: exists; pass --overwrite to replace it")
        sys.exit(1)
    try:
        module, meta = load_module(model)
        source = resolve_weights(model)
    except CheckpointError as error:
        batch.echo_error(str(error))
        sys.exit(2)
    size = render_size or int(meta.get("render_size") or DEFAULT_RENDER_SIZE)
    # The weights' hash lets `--backend auto` use this file in place of the weights it was made from, and
    # only while they are unchanged (an export left beside retrained weights is ignored).
    meta = {k: v for k, v in meta.items() if k != "extra_tensors"} | {
        "render_size": size,
        "source": source.name,
        "source_sha256": file_sha256(source),
    }
    sample = (max(32, size * 3 // 4 // 32 * 32), max(32, size // 32 * 32))  # 4:3 landscape, multiples of 32
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        exporter = export_onnx(module, output, meta=meta, sample_size=sample)
    except (RuntimeError, OSError) as error:
        batch.echo_error(f"{output}: {' '.join(str(error).split())}")
        sys.exit(1)
    try:
        difference = compare_onnx(module, output)
    except CheckpointError as error:  # onnxruntime missing: the file is written, the check skipped
        batch.echo_warning(str(error))
        difference = None
    megabytes = output.stat().st_size / 1e6
    inputs = ", ".join([ONNX_INPUT, *(c.name for c in model_conditions(module))])
    shape = f"dynamic batch/height/width; inputs: {inputs}"
    click.echo(f"wrote {output} ({megabytes:.1f} MB, {exporter} exporter, {shape})")
    if difference is not None:
        click.echo(
            f"onnxruntime vs PyTorch on a random L: max |ab difference| = {difference:.2e} (a*b* units)"
        )
