"""``--engine local|ray`` and ``--manifest`` for `deepcolor colorize`, `enhance` and `decolorize`.

`engine_options(task)` decorates a command (under ``@click.command()``) with ``--engine``, ``--ray-address``,
``--workers``, ``--gpus-per-worker``, ``--batch-size`` (unless the command has its own) and ``--manifest``.
The local engine is the command itself, its rows handed to the manifest through the batch runner's
``on_result`` hook (`batch.result_hook`). The Ray engine (`run_on_ray`) plans on the driver with the local
runner's own rules (`Batch.output_paths`: the same output names, ``--overwrite`` / ``--skip-existing``, the
same one-line errors), sends only file names to the workers (`deepcolor.scale.colorize_dataset`), prints
each row as it comes back (errors, warnings, a progress bar with files done, failed, images per second and
ETA), writes the manifest as rows finish, and ends with the same summary line and exit code.
Colorize's ``--hint`` / ``--hints`` / ``--reference`` are matched to inputs on the driver by the local
engine's own `Guidance` and sent per row (hint strings, or the hint file's and reference's paths, read on
the workers); ``--uncertainty`` maps are written by the workers beside their outputs.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
from tqdm import tqdm

from deepcolor.cli import batch

F = TypeVar("F", bound=Callable[..., Any])
ENGINES = ("local", "ray")
DEFAULT_BATCH_SIZE = 8
ENGINE_PARAMS = ("engine", "ray_address", "workers", "gpus_per_worker", "manifest")


def _check_workers(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, int]:
    from deepcolor.scale.dataset import parse_workers

    try:
        return parse_workers(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def engine_options(task: str) -> Callable[[F], F]:
    """Add the engine options to the command of `task` ("colorize", "enhance" or "decolorize")."""

    def decorate(f: F) -> F:
        own = {p.name for p in getattr(f, "__click_params__", [])}
        has_batch_size = "batch_size" in own

        @functools.wraps(f)
        def wrapper(**kwargs: Any) -> Any:
            engine = kwargs.pop("engine")
            address = kwargs.pop("ray_address")
            workers = kwargs.pop("workers")
            gpus = kwargs.pop("gpus_per_worker")
            manifest = kwargs.pop("manifest")
            size = kwargs["batch_size"] if has_batch_size else kwargs.pop("batch_size")
            if engine == "local":
                if address is not None or gpus or workers != (1, 1):
                    raise click.UsageError("--ray-address, --workers and --gpus-per-worker need --engine ray")
                with _local_manifest(manifest, task, kwargs):
                    return f(**kwargs)
            sys.exit(run_on_ray(task, kwargs, address, workers, gpus, size, manifest))

        options = [
            click.option(
                "--engine",
                type=click.Choice(ENGINES),
                default="local",
                show_default=True,
                help="local: this process. ray: workers of a Ray cluster (pip install 'deepcolor[ray]'); the "
                "same outputs, byte for byte.",
            ),
            click.option(
                "--ray-address",
                default=None,
                metavar="auto|HOST:PORT",
                help="With --engine ray: join this running cluster [default: start a Ray on this machine].",
            ),
            click.option(
                "--workers",
                default="1",
                show_default=True,
                callback=_check_workers,
                metavar="N|MIN,MAX",
                help="With --engine ray: worker processes, each loading the model once; MIN,MAX autoscales.",
            ),
            click.option(
                "--gpus-per-worker",
                type=click.FloatRange(min=0.0),
                default=0.0,
                show_default=True,
                help="With --engine ray: GPUs each worker reserves (0.5: two workers share one).",
            ),
            click.option(
                "--manifest",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Append one JSON line per input (source, output, status ok|failed|skipped, reason, "
                "seconds, model) as each one finishes.",
            ),
        ]
        if not has_batch_size:
            options.append(
                click.option(
                    "--batch-size",
                    type=click.IntRange(1, 256),
                    default=DEFAULT_BATCH_SIZE,
                    show_default=True,
                    help="Images handed to a worker at once and run through the network together.",
                )
            )
        params = wrapper.__dict__.setdefault("__click_params__", [])
        before = len(params)
        for option in reversed(options):
            wrapper = option(wrapper)
        params[:] = params[before:] + params[:before]  # listed after the command's own options in --help
        return wrapper  # type: ignore[return-value]

    return decorate


# ---------------------------------------------------------------------------------------------- manifest


def _model_label(task: str, kwargs: dict[str, Any]) -> str:
    """What a manifest row's ``model`` says: the decolorization method, or the model's name as its weights
    call it (``default`` -> ``autoencoder-lite0``, through the shipped index), read without importing torch
    (the Ray engine's driver never loads a model)."""
    if task == "decolorize":
        return str(kwargs.get("method", ""))
    import json

    import deepcolor

    spec = str(kwargs.get("model", "default"))
    try:  # deepcolor.inference.weights.read_index's file
        index = json.loads((Path(deepcolor.__file__).parent / "weights" / "index.json").read_text())
    except (OSError, ValueError):
        index = {}
    name = index.get(spec, spec) if isinstance(index, dict) else spec
    return Path(name).stem if Path(name).suffix else str(name)


@contextlib.contextmanager
def _local_manifest(path: Path | None, task: str, kwargs: dict[str, Any]) -> Iterator[None]:
    """Write the local batch runner's results to the manifest (through `batch.result_hook`)."""
    if path is None:
        yield
        return
    from deepcolor.io.paths import display_path
    from deepcolor.scale.manifest import ManifestWriter, manifest_row

    model = _model_label(task, kwargs)
    with ManifestWriter(path) as writer:

        def write(result: batch.ItemResult) -> None:
            output = display_path(result.outputs[0]) if result.outputs else ""
            reason = result.reason or ""
            writer.write(
                manifest_row(
                    display_path(result.source), output, result.status, reason, result.seconds, model
                )
            )

        with batch.result_hook(write):
            yield


# -------------------------------------------------------------------------------------------- ray engine


def _task_options(task: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The task's options for every image, from the command's arguments."""
    if task == "colorize":
        return {"render_size": kwargs["render_size"], "saturation": kwargs["saturation"]}
    if task == "enhance":
        return {
            "strength": kwargs["strength"],
            "clahe": kwargs["clahe"],
            "clahe_limit": kwargs["clahe_limit"],
            "render_size": kwargs["render_size"],
        }
    bit_depth = kwargs.get("bit_depth")
    if bit_depth == "16" and kwargs.get("fmt") not in (None, "png", "tif"):
        raise click.BadParameter("16 bits need --format png or tif", param_hint="--bit-depth")
    return {
        "method": kwargs["method"],
        "bit_depth": int(bit_depth) if bit_depth is not None else None,
        "keep_channels": kwargs["keep_channels"],
    }


def run_on_ray(
    task: str,
    kwargs: dict[str, Any],
    address: str | None,
    workers: tuple[int, int],
    gpus_per_worker: float,
    batch_size: int,
    manifest: Path | None,
) -> int:
    """The command's batch on Ray: plan here, process on the workers; returns the exit code."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise click.UsageError("--engine ray needs Ray: pip install 'deepcolor[ray]'") from None
    from deepcolor.cli.colorize import UNCERTAINTY_SUFFIX, Guidance, output_suffix
    from deepcolor.io.paths import OUTPUT_OF_RUN, display_path
    from deepcolor.scale import colorize_dataset, start_ray
    from deepcolor.scale.manifest import open_manifest

    options = _task_options(task, kwargs)
    fmt = kwargs.get("fmt")
    uncertainty = task == "colorize" and bool(kwargs.get("uncertainty"))
    if uncertainty:
        options["uncertainty"] = True
    suffixes = lambda path: [output_suffix(path, fmt)] + ([UNCERTAINTY_SUFFIX] if uncertainty else [])  # noqa: E731
    job = batch.Batch.from_cli(
        kwargs["inputs"],
        kwargs["output"],
        recursive=kwargs["recursive"],
        overwrite=kwargs["overwrite"],
        skip_existing=kwargs["skip_existing"],
        output_suffixes=suffixes,
    )
    verb = batch.past_tense(task)
    model = _model_label(task, kwargs)
    tally = {"ok": 0, "failed": 0, "skipped": 0, "exists": 0}
    images = [item for item in job.items if item.warning is None]
    guidance = None
    if task == "colorize":  # the local engine's matching of hints and references to inputs (no file read)
        guidance = Guidance.from_cli(
            kwargs["hints_path"],
            kwargs["hint_strings"],
            kwargs["reference_path"],
            [item for item in images if item.error is None],
        )
    writer = open_manifest(manifest)
    shown: dict[str, str] = {}  # absolute path -> as the user gave it, for messages

    def record(source: str, output: str, status: str, reason: str, seconds: float, name: str) -> None:
        from deepcolor.scale.manifest import manifest_row

        tally[status] += 1
        if writer is not None:
            writer.write(manifest_row(source, output, status, reason, seconds, name))

    def how_far() -> str:
        skipped = f"; {tally['skipped']} skipped" if tally["skipped"] else ""
        return f"{verb} {tally['ok']} of {len(images)} images{skipped}"

    todo: list[tuple[str, str]] = []
    own: list[dict[str, Any] | None] = []  # per row of todo: its hints and reference
    references: set[str] = set()  # as shown: a note naming one is not put under its input
    written: list[tuple[str, str]] = []  # (source, output) of the images done
    show = len(images) > 1 and batch.stderr_is_terminal()
    we_started = False
    try:
        with batch.exit_on_signals(how_far), _progress(len(images), task, show) as bar:
            for item in job.items:  # planning: the local runner's rules, no image read here
                if item.warning is not None:
                    if item.warning != OUTPUT_OF_RUN:
                        batch.echo_warning(f"{display_path(item.path)}: {item.warning}")
                    continue
                source = display_path(item.path)
                if item.error is not None:
                    reason = f"{source}: {item.error}"
                    batch.echo_error(reason)
                    record(source, "", "failed", reason, 0.0, model)
                    bar.update(1)
                    continue
                try:
                    out, *maps = job.output_paths(item, *suffixes(item.path))
                except batch.Skipped as skip:
                    record(source, "", "skipped", str(skip), 0.0, model)
                    bar.update(1)
                    continue
                except batch.ITEM_ERRORS as error:
                    reason = batch.describe_error(item, error)
                    batch.echo_error(reason)
                    tally["exists"] += isinstance(error, batch.OutputExists)
                    record(source, "", "failed", reason, 0.0, model)
                    bar.update(1)
                    continue
                absolute = (os.path.abspath(item.path), os.path.abspath(out))
                shown[absolute[0]], shown[absolute[1]] = source, display_path(out)
                for path in maps:  # the uncertainty map
                    shown[os.path.abspath(path)] = display_path(path)
                todo.append(absolute)
                own.append(_row_guidance(guidance, item, shown, references))
            if todo:
                we_started = start_ray(address)
                dataset = colorize_dataset(
                    [s for s, _ in todo],
                    [o for _, o in todo],
                    task,
                    model=kwargs.get("model", "default"),
                    device=kwargs.get("device", "auto"),
                    backend=kwargs.get("backend", "auto"),
                    options=options,
                    row_options=own if any(own) else None,
                    workers=workers,
                    gpus_per_worker=gpus_per_worker,
                    batch_size=batch_size,
                    max_pixels=kwargs["max_pixels"],
                    overwrite=kwargs["overwrite"],
                )
                for row in dataset.iter_rows():
                    source, output = shown.get(row["source"], row["source"]), shown.get(row["output"], "")
                    reason = _shown(row["reason"], shown)
                    for note in filter(None, str(row["notes"]).split("\n")):
                        note = _shown(note, shown)
                        named = note.startswith(source + ":") or note.split(": ")[0] in references
                        batch.echo_warning(note if named else f"{source}: {note}")
                    if row["status"] == "failed":
                        batch.echo_error(reason)
                    if row["status"] == "ok":
                        written.append((row["source"], row["output"]))
                    record(
                        source,
                        output if row["status"] == "ok" else "",
                        row["status"],
                        reason,
                        float(row["seconds"]),
                        str(row["model"]),
                    )
                    bar.update(1)
                    bar.set_postfix(failed=tally["failed"], refresh=False)
    finally:
        if writer is not None:
            writer.close()
        if we_started:
            import ray

            ray.shutdown()
    if len(images) > 1 or tally["skipped"]:
        batch._echo_line(batch.summary_line(verb, tally["ok"], len(images), tally["skipped"]))
    if tally["exists"]:
        batch._echo_line(
            f"{tally['exists']} {'output exists' if tally['exists'] == 1 else 'outputs exist'} already: pass "
            "--skip-existing to leave those inputs alone, or --overwrite to replace them"
        )
    if task == "decolorize" and tally["ok"]:  # what the local command adds: the bytes the grey files saved
        from deepcolor.cli.decolorize import savings_line

        sizes = [(os.path.getsize(s), os.path.getsize(o)) for s, o in written]
        click.echo(savings_line(len(sizes), sum(i for i, _ in sizes), sum(o for _, o in sizes)), err=True)
    code = 1 if tally["failed"] or not images else 0
    return max(code, guidance.report_unused()) if guidance is not None else code


def _row_guidance(
    guidance: Any, item: Any, shown: dict[str, str], references: set[str]
) -> dict[str, Any] | None:
    """One input's hints and reference as a row sends them (the local `Guidance.options_for`'s meaning,
    its files named by absolute path and read on the worker), the names registered for messages."""
    from deepcolor.io.paths import display_path

    if guidance is None:
        return None
    own: dict[str, Any] = {}
    given = guidance.hints.get(str(item.path))
    if isinstance(given, Path):
        own["hints_file"] = os.path.abspath(given)
        shown[own["hints_file"]] = display_path(given)
    elif given:
        own["hints"], own["hint_source"] = list(given), "--hint"
    reference = guidance.references.get(str(item.path))
    if reference is not None:
        own["reference"] = os.path.abspath(reference)
        shown[own["reference"]] = display_path(reference)
        references.add(display_path(reference))
    elif guidance.reference_dir is not None:
        batch.echo_warning(
            f"{display_path(item.path)}: no reference photo named {item.path.stem}.* in "
            f"{display_path(guidance.reference_dir)}; colorized without one"
        )
    return own or None


def _shown(text: str, shown: dict[str, str]) -> str:
    """`text` with the absolute paths the workers saw put back as the user gave them."""
    for absolute in sorted((p for p in shown if p in text), key=len, reverse=True):
        text = text.replace(absolute, shown[absolute])
    return text


@contextlib.contextmanager
def _progress(total: int, desc: str, show: bool) -> Iterator[tqdm]:
    """The progress bar: files done of the total, images per second, ETA, and (postfix) how many failed."""
    with tqdm(
        total=total,
        desc=desc,
        unit="image",
        file=sys.stderr,
        disable=not show,
        leave=False,
        dynamic_ncols=True,
    ) as bar:
        yield bar
