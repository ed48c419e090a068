"""The shared batch runner that every command taking images uses, and the options they all spell the same.

What every image command does, through this module: accept files, folders (``--recursive``) and glob
patterns; mirror the input names under ``-o OUTDIR``; show a progress bar (stderr) when there is more than
one image and stderr is a terminal; report a bad image on one line, ``deepcolor: <file>: <problem>``, and
carry on; print what is worth knowing but not a failure as ``deepcolor: warning: <file>: <what>``; end a
batch of several images with one summary line (``colorized 18 of 20 images; 2 failed``); never write over
an input file, nor replace a file already in OUTDIR, unless ``--overwrite`` is given.

Exit codes: 0 when all images succeeded, 1 when any failed, 2 on a usage error (click's own code for bad
options; raise `click.UsageError` / `click.BadParameter` for usage checks of your own), 130 after Ctrl-C
(SIGINT) and 143 after SIGTERM. An interrupted batch leaves no partial file: a signal unwinds the write in
progress, whose temporary file is removed (`deepcolor.io.atomic_write`), and the runner exits.

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
            out = job.output_path(item, ".png")  # OUTDIR/<stem>.png; refuses an input or an existing file
            write_image(out, grey, alpha=image.alpha, exif=image.exif)

        sys.exit(job.run(process, desc="decolorize"))  # summary: "decolorized 3 of 4 images; 1 failed"

`process` may raise `ImageError`, `ValueError`, `OSError` or `MemoryError` for a bad item: the runner prints
one line and goes on to the next. Anything else is a bug and stops the command with a traceback.
`ImageWarning`s raised while processing an item, and `echo_warning`, print ``deepcolor: warning: ...``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click
from tqdm import tqdm

from deepcolor.errors import DeepcolorError
from deepcolor.io import DEFAULT_MAX_PIXELS, ImageError, ImageWarning, InputItem, expand_inputs

PREFIX = "deepcolor: "
# What a bad item may raise (every error a user can cause is a DeepcolorError); the runner reports these on
# one line and carries on.
ITEM_ERRORS = (DeepcolorError, ValueError, OSError, MemoryError)
# The shell's codes for a process ended by a signal: 128 + the signal's number.
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143
EMPTY_PATH = (
    "empty ('', an unset shell variable?): as a path it means the whole current folder; write . for that"
)

F = TypeVar("F", bound=Callable[..., Any])

# ------------------------------------------------------------------------------------------ shared options


def reject_empty(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Click callback: an empty argument (``''``, an unset shell variable) is a usage error, since as a path
    it would mean the whole current folder. Works for one value and for ``nargs=-1`` / ``multiple``."""
    values = value if isinstance(value, tuple) else (value,)
    if any(raw == "" for raw in values):
        raise click.BadParameter(EMPTY_PATH)
    return value


class OutputFolder(click.Path):
    """``-o OUTDIR``: a folder path, never empty (``Path('')`` would be the current folder)."""

    def __init__(self) -> None:
        super().__init__(file_okay=False, dir_okay=True, writable=True, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value == "":
            self.fail(EMPTY_PATH, param, ctx)
        return super().convert(value, param, ctx)


inputs_argument = click.argument("inputs", nargs=-1, required=True, metavar="INPUT...", callback=reject_empty)
output_option = click.option(
    "-o",
    "--output",
    required=True,
    metavar="OUTDIR",
    type=OutputFolder(),
    help="Folder for the results; input names are mirrored under it (created when missing).",
)
recursive_option = click.option(
    "-r", "--recursive", is_flag=True, help="Also take the images in sub-folders of the folders given."
)
overwrite_option = click.option(
    "--overwrite",
    is_flag=True,
    help="Replace files that already exist under OUTDIR, input files included (never done otherwise).",
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


def past_tense(verb: str) -> str:
    """``colorize`` -> ``colorized``, ``convert`` -> ``converted``, ``copy`` -> ``copied``: for summaries."""
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2:-1] not in ("", "a", "e", "i", "o", "u"):
        return verb[:-1] + "ied"
    return verb + "ed"


def summary_line(verb: str, done: int, total: int) -> str:
    """``colorized 20 images`` when all succeeded, else ``colorized 18 of 20 images; 2 failed``."""
    noun = "image" if total == 1 else "images"
    if done == total:
        return f"{verb} {total} {noun}"
    return f"{verb} {done} of {total} {noun}; {total - done} failed"


class Terminated(BaseException):
    """SIGTERM arrived during a batch. Raised like KeyboardInterrupt (and, like it, not an `Exception`), so
    that the write in progress unwinds and removes its temporary file before the process exits."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    def handler(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
        raise Terminated

    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:  # started ignoring it: keep it ignored
            yield
            return
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: signals are not ours to handle
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


@contextlib.contextmanager
def exit_on_signals(how_far: Callable[[], str] | None = None) -> Iterator[None]:
    """Turn Ctrl-C (SIGINT) into exit 130 and SIGTERM into exit 143, after the code inside has unwound (so
    that `deepcolor.io.atomic_write` removed its temporary file); one line says so, with ``how_far()``
    (e.g. ``colorized 3 of 20 images``) when given."""
    try:
        with _sigterm_raises():
            yield
    except KeyboardInterrupt:
        _echo_line("interrupted (Ctrl-C)" + (f": {how_far()}" if how_far else ""))
        raise SystemExit(EXIT_INTERRUPTED) from None
    except Terminated:
        _echo_line("terminated (SIGTERM)" + (f": {how_far()}" if how_far else ""))
        raise SystemExit(EXIT_TERMINATED) from None


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal: only then is a progress bar drawn (a log file gets no bar lines)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def run_batch(
    items: Sequence[InputItem],
    process: Callable[[InputItem], object],
    desc: str | None = None,
    progress: bool | None = None,
    verb: str | None = None,
) -> int:
    """Run `process` on every item; report each failure on one line; return the exit code.

    Args:
        items: from `deepcolor.io.expand_inputs`; items with an `error` are reported without processing, items
            with a `warning` (a skipped folder link loop) are printed as warnings and are not images.
        process: does the work for one item; raises one of `ITEM_ERRORS` for a bad one.
        desc: the progress bar's label (e.g. the command's name).
        progress: show a progress bar on stderr; None means "when there is more than one image and stderr
            is a terminal".
        verb: the summary's verb (``colorized``); None means the past tense of `desc`, else ``processed``.

    Returns:
        0 when every image succeeded, 1 when any failed (or there were no images).

    Raises:
        SystemExit: 130 after Ctrl-C (SIGINT), 143 after SIGTERM, with one line saying how far it got.
    """
    images = [item for item in items if item.warning is None]
    show = len(images) > 1 and stderr_is_terminal() if progress is None else progress
    verb = verb or (past_tense(desc) if desc else "processed")
    done = failed = 0
    with (
        exit_on_signals(lambda: f"{verb} {done} of {len(images)} images"),
        tqdm(
            total=len(images),
            desc=desc,
            unit="image",
            file=sys.stderr,
            disable=not show,
            leave=False,
            dynamic_ncols=True,
        ) as bar,
    ):
        for item in items:
            if item.warning is not None:
                echo_warning(f"{item.path}: {item.warning}")
                continue
            if item.error is not None:
                echo_error(f"{item.path}: {item.error}")
                failed += 1
            elif _run_one(item, process):
                done += 1
            else:
                failed += 1
            bar.update(1)
    if len(images) > 1:
        _echo_line(summary_line(verb, done, len(images)))
    return 1 if failed or not images else 0


def _echo_line(line: str) -> None:
    """An informational line on stderr: no ``deepcolor:`` prefix, so that it does not read as a problem."""
    tqdm.write(line, file=sys.stderr)


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
            echo_warning(str(w.message))
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
        overwrite: whether existing files, inputs included, may be replaced.
    """

    items: list[InputItem]
    outdir: Path
    overwrite: bool = False
    _inputs: frozenset[Path] = field(default=frozenset(), repr=False)
    # output paths handed out for the item under way that did not exist yet: removed if it does not finish
    _new_paths: list[Path] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._inputs = frozenset(
            Path(os.path.realpath(item.path))
            for item in self.items
            if item.error is None and item.warning is None
        )

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
            ImageError: without ``--overwrite``, the path is one of the inputs (``is an input file; pass
                --overwrite to write over it``) or a file is already there (``exists; pass --overwrite to
                replace it``).
        """
        path = item.output_path(self.outdir, suffix)
        exists = os.path.lexists(path)
        if not self.overwrite:
            if Path(os.path.realpath(path)) in self._inputs:
                raise ImageError(path, "is an input file; pass --overwrite to write over it")
            if exists:
                raise ImageError(path, "exists; pass --overwrite to replace it")
        if not exists:
            self._new_paths.append(path)
        return path

    def run(
        self, process: Callable[[InputItem], object], desc: str | None = None, verb: str | None = None
    ) -> int:
        """`run_batch` over this batch's items; returns the exit code (0 or 1).

        An item that writes several files (``convert --npy``) and is interrupted half-way (Ctrl-C, SIGTERM)
        leaves none of its new files behind: nothing partial, per item as per file. (A failed item keeps
        what it wrote: a file that appeared meanwhile under one of its names would not be ours to remove.)
        """

        def whole(item: InputItem) -> None:
            self._new_paths = []
            try:
                process(item)
            except (KeyboardInterrupt, Terminated):
                for path in self._new_paths:
                    with contextlib.suppress(OSError):
                        path.unlink()
                raise
            finally:
                self._new_paths = []

        return run_batch(self.items, whole, desc=desc, verb=verb)
