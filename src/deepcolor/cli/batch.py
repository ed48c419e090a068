"""The shared batch runner that every command taking images uses, and the options they all spell the same.

What every image command does, through this module: accept files, folders (``--recursive``) and glob
patterns; mirror the input names under ``-o OUTDIR``; show a progress bar (stderr) when there is more than
one image; report a bad image on one line, ``deepcolor: <file>: <problem>``, and carry on; never write over
an input file unless ``--overwrite`` is given; exit 0 when all images succeeded, 1 when any failed, 2 on a
usage error (click's own exit code for bad options; raise `click.UsageError` / `click.BadParameter` for
usage checks of your own).

A whole command, for the pattern::

    import sys

    import click

    from deepcolor.cli import batch
    from deepcolor.io import read_image, write_image


    @click.command()
    @batch.image_options  # INPUTS..., -o/--output, -r/--recursive, --overwrite, --max-pixels
    @click.option("--method", default="luma601", show_default=True, help="...")
    def command(inputs, output, recursive, overwrite, max_pixels, method):
        \"\"\"Turn colour photos grey.\"\"\"
        job = batch.Batch.from_cli(inputs, output, recursive=recursive, overwrite=overwrite)

        def process(item):  # item: deepcolor.io.InputItem (item.path, item.stem)
            image = read_image(item.path, max_pixels)  # raises ImageError: reported, batch goes on
            grey = ...
            out = job.output_path(item, ".png")  # OUTDIR/<stem>.png; refuses to hit an input
            write_image(out, grey, alpha=image.alpha, exif=image.exif)

        sys.exit(job.run(process, desc="decolorize"))

`process` may raise `ImageError`, `ValueError`, `OSError` or `MemoryError` for a bad item: the runner prints
one line and goes on to the next. Anything else is a bug and stops the command with a traceback.
`ImageWarning`s raised while processing an item are printed as ``deepcolor: warning: <file>: <what>``.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click
from tqdm import tqdm

from deepcolor.io import DEFAULT_MAX_PIXELS, ImageError, ImageWarning, InputItem, expand_inputs

PREFIX = "deepcolor: "
# What a bad item may raise; the runner reports these on one line and carries on.
ITEM_ERRORS = (ImageError, ValueError, OSError, MemoryError)

F = TypeVar("F", bound=Callable[..., Any])

# ------------------------------------------------------------------------------------------ shared options

inputs_argument = click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
output_option = click.option(
    "-o",
    "--output",
    required=True,
    metavar="OUTDIR",
    type=click.Path(file_okay=False, dir_okay=True, writable=True, path_type=Path),
    help="Folder for the results; input names are mirrored under it (created when missing).",
)
recursive_option = click.option(
    "-r", "--recursive", is_flag=True, help="Also take the images in sub-folders of the folders given."
)
overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Allow writing over input files (never done otherwise)."
)
max_pixels_option = click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_PIXELS,
    show_default=True,
    help="Refuse images with more pixels than this (checked before decoding).",
)


def image_options(f: F) -> F:
    """All the shared options at once: INPUT..., -o/--output, -r/--recursive, --overwrite, --max-pixels.

    The command function receives them as ``inputs, output, recursive, overwrite, max_pixels``.
    """
    for decorator in reversed(
        (inputs_argument, output_option, recursive_option, overwrite_option, max_pixels_option)
    ):
        f = decorator(f)
    return f


# ------------------------------------------------------------------------------------------------ runner


def echo_error(message: str) -> None:
    """Print one ``deepcolor: <message>`` line to stderr without breaking a progress bar."""
    tqdm.write(PREFIX + " ".join(message.split()), file=sys.stderr)


def echo_warning(message: str) -> None:
    """Print one ``deepcolor: warning: <message>`` line to stderr: something to know, not a failure."""
    echo_error("warning: " + message)


def check_device(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Click callback for ``--device``: an unknown device (``tpu``, ``cuda:x``) is a usage error (exit 2),
    found before torch is imported."""
    from deepcolor.device import check_device_name

    try:
        return check_device_name(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def describe_error(item: InputItem, error: BaseException) -> str:
    """One line, ``<file>: <problem>``, for an error raised while processing `item`."""
    if isinstance(error, ImageError):
        return str(error)
    if isinstance(error, OSError):
        where = error.filename if error.filename is not None else item.path
        return f"{os.fspath(where)}: {error.strerror or error}"
    if isinstance(error, MemoryError):
        return f"{item.path}: not enough memory"
    return f"{item.path}: {error}"


def run_batch(
    items: Sequence[InputItem],
    process: Callable[[InputItem], object],
    desc: str | None = None,
    progress: bool | None = None,
) -> int:
    """Run `process` on every item; report each failure on one line; return the exit code.

    Args:
        items: from `deepcolor.io.expand_inputs`; items with an `error` are reported without processing.
        process: does the work for one item; raises one of `ITEM_ERRORS` for a bad one.
        desc: the progress bar's label (e.g. the command's name).
        progress: show a progress bar on stderr; None means "when there is more than one item".

    Returns:
        0 when every item succeeded, 1 when any failed (or there were no items).
    """
    failed = 0
    show = len(items) > 1 if progress is None else progress
    with tqdm(
        total=len(items),
        desc=desc,
        unit="image",
        file=sys.stderr,
        disable=not show,
        leave=False,
        dynamic_ncols=True,
    ) as bar:
        for item in items:
            if item.error is not None:
                echo_error(f"{item.path}: {item.error}")
                failed += 1
            elif not _run_one(item, process):
                failed += 1
            bar.update(1)
    return 1 if failed or not items else 0


def _run_one(item: InputItem, process: Callable[[InputItem], object]) -> bool:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ImageWarning)
        try:
            process(item)
            ok = True
        except ITEM_ERRORS as e:
            echo_error(describe_error(item, e))
            ok = False
    for w in caught:
        if issubclass(w.category, ImageWarning):
            echo_error(f"warning: {w.message}")
        else:  # not ours to format: hand it back to the normal machinery
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return ok


# ------------------------------------------------------------------------------------------ output paths


def check_not_input(
    path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]], overwrite: bool
) -> None:
    """Refuse to write `path` when it is one of the `inputs`, unless `overwrite`.

    Raises:
        ImageError: ``"<path>: is an input file; pass --overwrite to write over it"``.
    """
    if overwrite:
        return
    target = Path(path).resolve()
    if any(Path(p).resolve() == target for p in inputs):
        raise ImageError(path, "is an input file; pass --overwrite to write over it")


@dataclass
class Batch:
    """The images of one command run and where their results go.

    Attributes:
        items: the expanded inputs (`deepcolor.io.InputItem`), bad ones included.
        outdir: the output folder.
        overwrite: whether input files may be written over.
    """

    items: list[InputItem]
    outdir: Path
    overwrite: bool = False
    _inputs: frozenset[Path] = field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        self._inputs = frozenset(item.path.resolve() for item in self.items if item.error is None)

    @classmethod
    def from_cli(
        cls,
        inputs: Iterable[str | os.PathLike[str]],
        output: str | os.PathLike[str],
        recursive: bool = False,
        overwrite: bool = False,
    ) -> Batch:
        """Expand the INPUT... arguments (files, folders, globs); missing ones become bad items."""
        return cls(items=expand_inputs(inputs, recursive=recursive), outdir=Path(output), overwrite=overwrite)

    def output_path(self, item: InputItem, suffix: str) -> Path:
        """``OUTDIR/<item.stem><suffix>``, e.g. suffix ``".png"`` or ``"_lab.png"``.

        Raises:
            ImageError: the path is one of the inputs and ``--overwrite`` was not given.
        """
        path = item.output_path(self.outdir, suffix)
        if not self.overwrite and path.resolve() in self._inputs:
            raise ImageError(path, "is an input file; pass --overwrite to write over it")
        return path

    def run(self, process: Callable[[InputItem], object], desc: str | None = None) -> int:
        """`run_batch` over this batch's items; returns the exit code (0 or 1)."""
        return run_batch(self.items, process, desc=desc)
