"""The shared batch runner that every command taking images uses, and the options they all spell the same.

What every image command does, through this module: accept files, folders (``--recursive``) and glob
patterns; mirror the input names under ``-o OUTDIR``; show a progress bar (stderr) when there is more than
one image and stderr is a terminal; report a bad image on one line, ``deepcolor: <file>: <problem>``, and
carry on; print what is worth knowing but not a failure as ``deepcolor: warning: <file>: <what>``; end a
batch of several images with one summary line (``colorized 18 of 20 images; 2 failed``); never write over
an input file, nor replace a file already in OUTDIR, unless ``--overwrite`` is given; with
``--skip-existing``, leave an input whose outputs are all there alone and count it (``colorized 4 of 12
images; 8 skipped``). A file this run would write for one input is never taken as another input of the run
(``colorize photos -o photos`` run twice). File names with control characters are shown as the shell shows
them (``$'a\\nb.png'``).

Exit codes: 0 when all images succeeded or were skipped, 1 when any failed, 2 on a usage error (click's own
code for bad options; raise `click.UsageError` / `click.BadParameter` for usage checks of your own), 130
after Ctrl-C (SIGINT) and 143 after SIGTERM. An interrupted batch leaves no partial file: a signal unwinds
the write in progress, whose temporary file is removed (`deepcolor.io.atomic_write`); the files that this
process already wrote for the unfinished item are removed too, each only while it is still the one this
process wrote (a file another process put under the same name is never touched); then the runner exits.

A whole command, for the pattern::

    import sys

    import click

    from deepcolor.cli import batch
    from deepcolor.io import read_image, write_image


    @click.command()
    @batch.image_options  # INPUTS..., -o, -r, --overwrite, --skip-existing, --max-pixels
    @click.option("--method", default="luma601", show_default=True, help="...")
    def command(inputs, output, recursive, overwrite, skip_existing, max_pixels, method):
        \"\"\"Turn colour photos grey.\"\"\"
        job = batch.Batch.from_cli(
            inputs, output, recursive=recursive, overwrite=overwrite, skip_existing=skip_existing,
            output_suffixes=lambda path: [".png"],  # what an input's outputs are called
        )

        def process(item):  # item: deepcolor.io.InputItem (item.path, item.stem)
            out = job.output_path(item, ".png")  # OUTDIR/<stem>.png; refuses an input or an existing file
            image = read_image(item.path, max_pixels)  # raises ImageError: reported, batch goes on
            grey = ...
            write_image(out, grey, alpha=image.alpha, exif=image.exif)

        sys.exit(job.run(process, desc="decolorize"))  # summary: "decolorized 3 of 4 images; 1 failed"

`process` may raise `ImageError`, `ValueError`, `OSError` or `MemoryError` for a bad item: the runner prints
one line and goes on to the next. Anything else is a bug and stops the command with a traceback.
`ImageWarning`s raised while processing an item, and `echo_warning`, print ``deepcolor: warning: ...``.

A command that runs the network on several images at once gives `Batch.run` a `Chunked` instead: `prepare`
(per item: its output paths, reading), `infer` (per chunk of prepared items: one call for all) and `finish`
(per item: writing). Every item ends as one `ItemResult` (source, outputs, status ok | failed | skipped,
reason, seconds), kept in `Batch.results` and handed to `on_result` as it is made: the record that a
manifest writer consumes.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
import stat
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import click
from tqdm import tqdm

from deepcolor.errors import DeepcolorError
from deepcolor.io import DEFAULT_MAX_PIXELS, ImageError, ImageWarning, InputItem, expand_inputs
from deepcolor.io.atomic import remove_own_files, written_files
from deepcolor.io.paths import OUTPUT_OF_RUN, display_path

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
P = TypeVar("P")

# ------------------------------------------------------------------------------------------ shared options


def reject_empty(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Click callback: an empty argument (``''``, an unset shell variable) is a usage error, since as a path
    it would mean the whole current folder. Works for one value and for ``nargs=-1`` / ``multiple``."""
    values = value if isinstance(value, tuple) else (value,)
    if any(raw == "" for raw in values):
        raise click.BadParameter(EMPTY_PATH)
    return value


_FILE_KINDS = {
    stat.S_IFREG: "a file",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a pipe",
    stat.S_IFSOCK: "a socket",
}


class OutputFolder(click.Path):
    """``-o OUTDIR``: a folder path, never empty (``Path('')`` would be the current folder), and not
    something that exists as anything but a folder (``-o /dev/null``)."""

    def __init__(self) -> None:
        super().__init__(file_okay=False, dir_okay=True, writable=True, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value == "":
            self.fail(EMPTY_PATH, param, ctx)
        if isinstance(value, (str, os.PathLike)):
            try:
                st = os.stat(value)
            except OSError:
                st = None  # missing (created when written) or unreachable: the write says why
            if st is not None and not stat.S_ISDIR(st.st_mode):
                kind = _FILE_KINDS.get(stat.S_IFMT(st.st_mode), "not a folder")
                self.fail(f"{display_path(value)}: is {kind}, not a folder", param, ctx)
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
skip_existing_option = click.option(
    "--skip-existing",
    is_flag=True,
    help="Leave an input alone when its outputs are already under OUTDIR (a batch run again after Ctrl-C); "
    "counted as skipped, not failed.",
)
max_pixels_option = click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_PIXELS,
    show_default=True,
    help="Refuse images with more pixels than this (checked before decoding).",
)


def image_options(f: F) -> F:
    """All the shared options at once: INPUT..., -o/--output, -r/--recursive, --overwrite, --skip-existing,
    --max-pixels.

    The command function receives them as ``inputs, output, recursive, overwrite, skip_existing,
    max_pixels``.
    """
    for decorator in reversed(
        (
            inputs_argument,
            output_option,
            recursive_option,
            overwrite_option,
            skip_existing_option,
            max_pixels_option,
        )
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
        return f"{display_path(where)}: {error.strerror or error}"
    if isinstance(error, MemoryError):
        return f"{display_path(item.path)}: not enough memory"
    return f"{display_path(item.path)}: {error}"


def past_tense(verb: str) -> str:
    """``colorize`` -> ``colorized``, ``convert`` -> ``converted``, ``copy`` -> ``copied``: for summaries."""
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2:-1] not in ("", "a", "e", "i", "o", "u"):
        return verb[:-1] + "ied"
    return verb + "ed"


def summary_line(verb: str, done: int, total: int, skipped: int = 0, remark: str = "") -> str:
    """``colorized 20 images`` when all succeeded, else ``colorized 18 of 20 images; 2 failed``, with the
    skipped ones counted apart: ``colorized 4 of 12 images; 8 skipped`` (``; 7 skipped, 1 failed``). A
    `remark` about the images done goes in brackets after them: ``colorized 5 images (3 toned prints)``."""
    noun = "image" if total == 1 else "images"
    remark = f" ({remark})" if remark else ""
    if done == total:
        return f"{verb} {total} {noun}{remark}"
    failed = total - done - skipped
    counts = ([f"{skipped} skipped"] if skipped else []) + ([f"{failed} failed"] if failed else [])
    return f"{verb} {done} of {total} {noun}{remark}; {', '.join(counts)}"


class Terminated(BaseException):
    """SIGTERM arrived during a batch. Raised like KeyboardInterrupt (and, like it, not an `Exception`), so
    that the write in progress unwinds and removes its temporary file before the process exits."""


class Skipped(Exception):
    """Raised for an item whose outputs are all there already under ``--skip-existing``: counted as skipped,
    neither done nor failed. The message names the first output."""


class OutputExists(ImageError):
    """An output file is already there and neither ``--overwrite`` nor ``--skip-existing`` was given: a
    failure, which the summary follows with a hint at those flags."""


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


@dataclass(frozen=True)
class ItemResult:
    """What became of one input of a batch: the record a manifest writer consumes.

    Attributes:
        source: the input file.
        status: "ok", "failed" or "skipped".
        outputs: the files written for it (none unless ok).
        reason: the one-line message of a failure or a skip (``<file>: <problem>``), else None.
        seconds: wall time spent on it (its share of a chunk's network call included).
    """

    source: Path
    status: str
    outputs: tuple[Path, ...] = ()
    reason: str | None = None
    seconds: float = 0.0


@dataclass
class Chunked(Generic[P]):
    """A batch step that runs several items through one call (the network on a chunk of images).

    Attributes:
        prepare: per item, before the chunk's call: its output paths and reading; raises `ITEM_ERRORS` for a
            bad item or `Skipped`. Returns what `infer` needs.
        infer: per chunk, the prepared values of up to `size` items -> one value per item, or the
            exception that fails that item alone (an `ITEM_ERRORS` instance).
        finish: per item, after the call: writes its outputs from its prepared value and its result.
        size: the most items in one call (memory is bounded by it: prepared values are held for one chunk).
    """

    prepare: Callable[[InputItem], P]
    infer: Callable[[list[P]], Sequence[object]]
    finish: Callable[[InputItem, P, object], object]
    size: int = 8


@dataclass
class _Outcome:
    status: str
    value: object = None
    reason: str | None = None
    outputs: tuple[Path, ...] = ()
    seconds: float = 0.0


def _attempt(item: InputItem, call: Callable[[], object]) -> _Outcome:
    """Run one item's step: its error is one line (failed), `Skipped` is counted, its warnings are printed
    after it. Interrupted (Ctrl-C, SIGTERM) or stopped by a bug, it removes the files it wrote (while still
    its own) and lets the exception go on."""
    start = time.perf_counter()
    with written_files() as written, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ImageWarning)
        try:
            outcome = _Outcome("ok", call())
        except Skipped as skip:
            outcome = _Outcome("skipped", reason=str(skip))
        except ITEM_ERRORS as error:
            outcome = _Outcome("failed", reason=describe_error(item, error))
            outcome.value = error
            echo_error(outcome.reason)
        except BaseException:
            remove_own_files(written)
            raise
    for w in caught:
        if issubclass(w.category, ImageWarning):
            echo_warning(str(w.message))
        else:  # not ours to format: hand it back to the normal machinery
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    outcome.outputs = tuple(w.path for w in written) if outcome.status == "ok" else ()
    outcome.seconds = time.perf_counter() - start
    return outcome


class _Tally:
    """The counts of a running batch, and its results."""

    def __init__(self, images: int, on_result: Callable[[ItemResult], object] | None) -> None:
        self.images = images
        self.done = self.failed = self.skipped = self.exists = 0
        self.results: list[ItemResult] = []
        self.on_result = on_result

    def add(self, item: InputItem, outcome: _Outcome, extra_seconds: float = 0.0) -> None:
        if outcome.status == "ok":
            self.done += 1
        elif outcome.status == "skipped":
            self.skipped += 1
        else:
            self.failed += 1
            self.exists += isinstance(outcome.value, OutputExists)
        result = ItemResult(
            item.path, outcome.status, outcome.outputs, outcome.reason, outcome.seconds + extra_seconds
        )
        self.results.append(result)
        if self.on_result is not None:
            self.on_result(result)


def run_batch(
    items: Sequence[InputItem],
    process: Callable[[InputItem], object] | Chunked[Any],
    desc: str | None = None,
    progress: bool | None = None,
    verb: str | None = None,
    on_result: Callable[[ItemResult], object] | None = None,
    remark: Callable[[], str] | None = None,
) -> int:
    """Run `process` on every item; report each failure on one line; return the exit code.

    Args:
        items: from `deepcolor.io.expand_inputs`; items with an `error` are reported without processing, items
            with a `warning` (a skipped folder link loop, an output of this run) are printed as warnings
            (outputs of the run in one line) and are not images.
        process: does the work for one item, raising one of `ITEM_ERRORS` for a bad one (or `Skipped`); or a
            `Chunked` step that runs the items chunk by chunk.
        desc: the progress bar's label (e.g. the command's name).
        progress: show a progress bar on stderr; None means "when there is more than one image and stderr
            is a terminal".
        verb: the summary's verb (``colorized``); None means the past tense of `desc`, else ``processed``.
        on_result: called with each item's `ItemResult` as soon as the item ends.
        remark: called once at the end; what it returns (e.g. ``3 toned prints``) goes into the summary
            line (`summary_line`), nothing when empty.

    Returns:
        0 when every image succeeded or was skipped, 1 when any failed (or there were no images).

    Raises:
        SystemExit: 130 after Ctrl-C (SIGINT), 143 after SIGTERM, with one line saying how far it got.
    """
    return _run(items, process, desc, progress, verb, on_result, remark).code


@dataclass
class _Ran:
    code: int
    results: list[ItemResult] = field(default_factory=list)


def _run(
    items: Sequence[InputItem],
    process: Callable[[InputItem], object] | Chunked[Any],
    desc: str | None,
    progress: bool | None,
    verb: str | None,
    on_result: Callable[[ItemResult], object] | None,
    remark: Callable[[], str] | None = None,
) -> _Ran:
    step = process if isinstance(process, Chunked) else Chunked(process, list, lambda item, p, r: None, 1)
    outputs_of_run = [item for item in items if item.warning == OUTPUT_OF_RUN]
    images = [item for item in items if item.warning is None]
    show = len(images) > 1 and stderr_is_terminal() if progress is None else progress
    verb = verb or (past_tense(desc) if desc else "processed")
    tally = _Tally(len(images), on_result)
    pending: list[tuple[InputItem, _Outcome]] = []

    def how_far() -> str:
        skipped = f"; {tally.skipped} skipped" if tally.skipped else ""
        return f"{verb} {tally.done} of {len(images)} images{skipped}"

    def flush(bar: tqdm) -> None:
        if not pending:
            return
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ImageWarning)
            results = _infer(step, [outcome.value for _, outcome in pending])
        for w in caught:
            echo_warning(str(w.message))
        share = (time.perf_counter() - start) / len(pending)
        for (item, prepared), result in zip(pending, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, ITEM_ERRORS):
                    raise result
                echo_error(describe_error(item, result))
                outcome = _Outcome("failed", result, describe_error(item, result), (), prepared.seconds)
            else:
                outcome = _attempt(item, lambda i=item, p=prepared.value, r=result: step.finish(i, p, r))
                outcome.seconds += prepared.seconds
                if outcome.status == "ok":
                    outcome.outputs = prepared.outputs + outcome.outputs
            tally.add(item, outcome, share)
            bar.update(1)
        pending.clear()

    with (
        exit_on_signals(how_far),
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
        if outputs_of_run:
            echo_warning(
                f"{len(outputs_of_run)} {'file' if len(outputs_of_run) == 1 else 'files'} under the output "
                f"folder {'is' if len(outputs_of_run) == 1 else 'are'} what this run writes for other "
                f"inputs (e.g. {display_path(outputs_of_run[0].path)}); not taken as inputs"
            )
        for item in items:
            if item.warning is not None:
                if item.warning != OUTPUT_OF_RUN:
                    echo_warning(f"{display_path(item.path)}: {item.warning}")
                continue
            if item.error is not None:
                reason = f"{display_path(item.path)}: {item.error}"
                echo_error(reason)
                tally.add(item, _Outcome("failed", reason=reason))
                bar.update(1)
                continue
            outcome = _attempt(item, lambda i=item: step.prepare(i))
            if outcome.status == "ok":
                pending.append((item, outcome))
                if len(pending) >= step.size:
                    flush(bar)
                continue
            tally.add(item, outcome)
            bar.update(1)
        flush(bar)
    if len(images) > 1 or tally.skipped:
        _echo_line(summary_line(verb, tally.done, len(images), tally.skipped, remark() if remark else ""))
    if tally.exists:
        _echo_line(
            f"{tally.exists} {'output exists' if tally.exists == 1 else 'outputs exist'} already: pass "
            "--skip-existing to leave those inputs alone, or --overwrite to replace them"
        )
    return _Ran(1 if tally.failed or not images else 0, tally.results)


def _infer(step: Chunked[Any], prepared: list[Any]) -> Sequence[object]:
    """`step.infer` on a chunk; when the whole call fails with an item error (not enough memory for the
    chunk, say), each item is tried alone, so that only the one that fails alone fails."""
    try:
        return step.infer(prepared)
    except ITEM_ERRORS as error:
        if len(prepared) == 1:
            return [error]
    results: list[object] = []
    for value in prepared:
        try:
            results.extend(step.infer([value]))
        except ITEM_ERRORS as error:
            results.append(error)
    return results


def _echo_line(line: str) -> None:
    """An informational line on stderr: no ``deepcolor:`` prefix, so that it does not read as a problem."""
    tqdm.write(line, file=sys.stderr)


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
        skip_existing: whether an item whose outputs all exist is skipped (`Skipped`) instead of failing.
        results: one `ItemResult` per image once `run` has returned (or as far as it got).
    """

    items: list[InputItem]
    outdir: Path
    overwrite: bool = False
    skip_existing: bool = False
    results: list[ItemResult] = field(default_factory=list)
    _inputs: frozenset[Path] = field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        if self.overwrite and self.skip_existing:
            raise click.UsageError("--overwrite and --skip-existing exclude each other; give one")
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
        skip_existing: bool = False,
        output_suffixes: Callable[[Path], Iterable[str]] | None = None,
        extensions: frozenset[str] | None = None,
    ) -> Batch:
        """Expand the INPUT... arguments (files, folders, globs); missing ones become bad items.

        `output_suffixes` (an input's path -> what its outputs add to its stem, e.g. ``[".jpg"]``): with it,
        a file under OUTDIR that this run writes for another input is not taken as an input. `extensions`:
        what folders and patterns take (None: images; see `deepcolor.io.expand_inputs`).
        """
        more = {"extensions": extensions} if extensions is not None else {}
        items = expand_inputs(
            inputs, recursive=recursive, outdir=output, output_suffixes=output_suffixes, **more
        )
        return cls(items=items, outdir=Path(output), overwrite=overwrite, skip_existing=skip_existing)

    def output_paths(self, item: InputItem, *suffixes: str) -> list[Path]:
        """``OUTDIR/<item.stem><suffix>`` for each suffix (``".png"``, ``"_lab.png"``...): the files of one
        item, checked together.

        Raises:
            Skipped: with ``--skip-existing``, when every one of them exists.
            ImageError: without ``--overwrite``, one is an input (``is an input file; pass --overwrite to
                write over it``) or a file is already there (`OutputExists`: ``exists; pass --overwrite to
                replace it``, or ``--skip-existing`` when only some of the item's files are there).
        """
        paths = [item.output_path(self.outdir, suffix) for suffix in suffixes]
        if self.overwrite:
            return paths
        for path in paths:
            if Path(os.path.realpath(path)) in self._inputs:
                raise ImageError(path, "is an input file; pass --overwrite to write over it")
        there = [path for path in paths if os.path.lexists(path)]
        if there and self.skip_existing and len(there) == len(paths):
            raise Skipped(f"{display_path(there[0])}: exists; skipped")
        if there:
            raise OutputExists(there[0], "exists; pass --overwrite to replace it")
        return paths

    def output_path(self, item: InputItem, suffix: str) -> Path:
        """``OUTDIR/<item.stem><suffix>``, e.g. suffix ``".png"`` or ``"_lab.png"`` (see `output_paths`)."""
        return self.output_paths(item, suffix)[0]

    def run(
        self,
        process: Callable[[InputItem], object] | Chunked[Any],
        desc: str | None = None,
        verb: str | None = None,
        on_result: Callable[[ItemResult], object] | None = None,
        remark: Callable[[], str] | None = None,
    ) -> int:
        """`run_batch` over this batch's items; returns the exit code (0 or 1) and fills `results`.

        An item that writes several files (``convert --npy``) and is interrupted half-way (Ctrl-C, SIGTERM)
        leaves none of its files behind: nothing partial, per item as per file. Only files that this
        process wrote are removed, and only while they are still the ones it wrote.
        """
        ran = _run(self.items, process, desc, None, verb, on_result or _RESULT_HOOK.get(), remark)
        self.results = ran.results
        return ran.code


# Where `Batch.run` also sends each `ItemResult` when its caller gives no `on_result`: set by an option that
# wraps a whole command (--manifest, deepcolor.cli.ray_engine) without the command knowing of it.
_RESULT_HOOK: contextvars.ContextVar[Callable[[ItemResult], object] | None] = contextvars.ContextVar(
    "deepcolor_batch_result_hook", default=None
)


@contextlib.contextmanager
def result_hook(on_result: Callable[[ItemResult], object]) -> Iterator[None]:
    """Within the block, every `Batch.run` without its own `on_result` hands its results to `on_result`."""
    token = _RESULT_HOOK.set(on_result)
    try:
        yield
    finally:
        _RESULT_HOOK.reset(token)
