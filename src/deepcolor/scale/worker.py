"""`RayColorizer`: the code that runs on each cluster worker.

Ray Data's batch-inference pattern: `__init__` loads the model once per worker process; `__call__` takes a
batch of rows (a dict of arrays: ``source``, ``output`` and, optionally, ``options``, a JSON object per row on
top of the shared options), and reads, decodes, processes and writes every row on the worker, returning one
result row per input::

    source, output, status ("ok" | "failed" | "skipped"), reason, seconds, model, notes, uncertainty

Colorize's guidance comes per row in ``options`` (JSON, the local engine's meaning): ``hints`` (a hint
dict or a list of ``"X,Y,COLOR"`` strings), ``hints_file`` (a JSON hint file, read on the worker),
``hint_source`` (what hint errors name), ``reference`` (the path of a colour photo, read on the worker).
A bad hint file or an unreadable reference fails its row alone. With the shared option ``uncertainty``,
the map is written beside the output (`<stem>.uncertainty.png`, before the output itself) and its path
is the row's ``uncertainty``.

A bad input is a ``failed`` row with a one-line reason, never an exception: one bad scan must not fail a run
(Ray Data's ``max_errored_blocks`` is 0 by default). The steps are the local engine's, so the bytes written
are the same: `deepcolor.io.read_image`, `deepcolor.inference.images.process_images` (the network on batches
of images), `encode_result`; decolorize through `deepcolor.decolor`'s `decolorize_image`, `encode_grey`.

Writes are atomic (`deepcolor.scale.files.write_bytes`). When Ray retries a batch (its worker was killed),
outputs the first try already wrote are found in place: an output modified after the run began (`started`)
is taken as this run's and reported ``ok`` again, never written twice; an older one is an ``exists`` failure
(or ``skipped`` with `skip_existing`), exactly as for the local engine.

Memory: before an image is decoded its header gives its size; one that would need more memory than the
worker has free (about `BYTES_PER_PIXEL` per pixel) fails with a reason saying so, and the run goes on.
A `MemoryError` while processing fails that image the same way.
"""

from __future__ import annotations

import io
import json
import os
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deepcolor.io import DEFAULT_MAX_PIXELS, ImageError, ImageWarning
from deepcolor.scale import files

TASKS = ("colorize", "enhance", "decolorize")
# Peak working memory of the full-resolution steps, per pixel (float32 RGB, L*, a*b*, the edge-aware
# upsampling's windows, the encoder's copy): a 12 MP photo peaks near 0.6 GiB over the loaded model.
BYTES_PER_PIXEL = 48
# Decoded pixels held at once before a group goes through the network: bounds a worker's memory whatever
# the batch size (16 images of 1 MP go together; one 12 MP scan goes alone).
DEFAULT_CHUNK_PIXELS = 16_000_000
RESULT_COLUMNS = ("source", "output", "status", "reason", "seconds", "model", "notes", "uncertainty")
ITEM_ERRORS = (ImageError, ValueError, OSError, MemoryError)


def free_memory() -> int | None:
    """Bytes of memory available on this machine now (Linux ``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _suffix(location: str) -> str:
    """The extension of a path or URL (".png"): the output format, as the local engine takes it."""
    return Path(location.rpartition("/")[2]).suffix


def uncertainty_location(output: str) -> str:
    """``<output stem>.uncertainty.png`` beside `output` (a path or URL), as the local engine names it."""
    head, sep, name = output.rpartition("/")
    suffix = _suffix(name)
    return f"{head}{sep}{name[: -len(suffix)] if suffix else name}.uncertainty.png"


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def describe(source: str, error: BaseException) -> str:
    """One line, ``<file>: <problem>``, as the local batch runner prints it."""
    if isinstance(error, ImageError):
        return str(error)
    if isinstance(error, MemoryError):
        return f"{source}: not enough memory"
    if isinstance(error, OSError):
        where = error.filename if error.filename is not None else source
        return f"{os.fspath(where)}: {error.strerror or error}"
    return f"{source}: {error}"


@dataclass
class _Row:
    source: str
    output: str
    status: str = "ok"
    reason: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    uncertainty: str = ""  # the uncertainty map written, when asked for


class RayColorizer:
    """A callable class for `ray.data.Dataset.map_batches`: colorize, enhance or decolorize a batch of files.

    Args:
        task: "colorize", "enhance" or "decolorize".
        model: the model name or file (as `deepcolor.inference.Colorizer` takes it); unused by decolorize.
        device: "auto", "cpu", "cuda"...: a GPU worker (``num_gpus`` > 0) gets "cuda" with "auto".
        backend: "auto", "torch" or "onnxruntime".
        options: the task's options for every row (colorize: render_size, saturation; enhance: strength,
            clahe, clahe_limit, render_size; decolorize: method, bit_depth, keep_channels).
        max_pixels: refuse larger images (from the header, before decoding).
        overwrite: replace existing outputs.
        skip_existing: an output that is already there is a ``skipped`` row.
        batch_size: most images in one forward pass.
        memory_limit: bytes this worker may use for one image; None: what the machine has free.
        started: when the run began (seconds since the epoch): outputs modified since are this run's (a
            retried batch); None: now.
        chunk_pixels: decoded pixels held at once.
    """

    def __init__(
        self,
        task: str = "colorize",
        model: str = "default",
        *,
        device: str = "auto",
        backend: str = "auto",
        options: Mapping[str, Any] | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        overwrite: bool = False,
        skip_existing: bool = False,
        batch_size: int = 16,
        memory_limit: int | None = None,
        started: float | None = None,
        chunk_pixels: int = DEFAULT_CHUNK_PIXELS,
    ) -> None:
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}. Got {task!r}")
        self.task = task
        self.options = dict(options or {})
        self.max_pixels = max_pixels
        self.overwrite = overwrite
        self.skip_existing = skip_existing
        self.batch_size = batch_size
        self.memory_limit = memory_limit
        self.started = time.time() if started is None else started
        self.chunk_pixels = chunk_pixels
        self._reference: tuple[str, Any] | None = None  # the last reference read, reused by the next row
        if task == "decolorize":
            from deepcolor.decolor.api import DEFAULT_METHOD, check_method

            self.colorizer = None
            method = self.options.get("method", DEFAULT_METHOD)
            check_method(method)
            self.model_name = method
        else:
            from deepcolor.inference import Colorizer

            self.colorizer = Colorizer(model, device=device, backend=backend)
            self.model_name = self.colorizer.name

    # ------------------------------------------------------------------------------------------- the batch

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Process a batch: ``{"source": [...], "output": [...], "options": [JSON, ...] (optional)}`` ->
        the result columns (`RESULT_COLUMNS`), one row per input, in order."""
        sources = [str(s) for s in batch["source"]]
        outputs = [str(s) for s in batch["output"]]
        own = batch.get("options")
        rows = [_Row(s, o) for s, o in zip(sources, outputs, strict=True)]
        pending: list[tuple[int, Any, dict[str, Any]]] = []
        pixels = 0
        for index, row in enumerate(rows):
            started = time.perf_counter()
            image = self._read(row, own[index] if own is not None else None)
            row.seconds += time.perf_counter() - started
            if image is None:
                continue
            loaded, options = image
            pending.append((index, loaded, options))
            pixels += loaded.height * loaded.width
            if len(pending) >= self.batch_size or pixels >= self.chunk_pixels:
                self._process(rows, pending)
                pending, pixels = [], 0
        if pending:
            self._process(rows, pending)
        return {
            "source": np.array(sources, dtype=object),
            "output": np.array(outputs, dtype=object),
            "status": np.array([r.status for r in rows], dtype=object),
            "reason": np.array([r.reason for r in rows], dtype=object),
            "seconds": np.array([r.seconds for r in rows], dtype=np.float64),
            "model": np.array([self.model_name] * len(rows), dtype=object),
            "notes": np.array(["\n".join(r.notes) for r in rows], dtype=object),
            "uncertainty": np.array([r.uncertainty for r in rows], dtype=object),
        }

    def _read(self, row: _Row, own: Any) -> tuple[Any, dict[str, Any]] | None:
        """The decoded image and its options, or None with the row filled in (skipped, failed, done)."""
        from deepcolor.io import read_image

        try:
            if files.exists(row.output) and not self.overwrite:
                modified = files.modified_time(row.output)
                if modified is not None and modified >= self.started - 1.0:
                    row.reason = "written by an earlier try of this batch"  # Ray retried it
                    if self.options.get("uncertainty"):  # written before the output: there too
                        row.uncertainty = uncertainty_location(row.output)
                elif self.skip_existing:
                    row.status, row.reason = "skipped", "exists"
                else:
                    raise ImageError(row.output, "exists; pass --overwrite to replace it")
                return None
            options = self._guidance(row, dict(json.loads(own)) if own else {})
            location = row.source if files.is_url(row.source) else Path(row.source)
            data = files.read_bytes(row.source) if files.is_url(row.source) else None
            self._check_memory(row.source, data if data is not None else location)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ImageWarning)
                image = read_image(data if data is not None else location, self.max_pixels, name=row.source)
            row.notes += [str(w.message) for w in caught if issubclass(w.category, ImageWarning)]
            return image, options
        except ITEM_ERRORS as error:
            row.status, row.reason = "failed", describe(row.source, error)
            return None

    def _guidance(self, row: _Row, options: dict[str, Any]) -> dict[str, Any]:
        """A row's own options with its hint file and reference read, as the local engine's `Guidance`
        reads them (HintError, a ValueError, for a bad one: the row fails)."""
        from deepcolor.hints.points import parse_hints, read_hint_file

        hints_file = options.pop("hints_file", None)
        if hints_file is not None:
            options["hints"] = read_hint_file(hints_file)
            options.setdefault("hint_source", hints_file)
        elif options.get("hints") is not None:
            options["hints"] = parse_hints(options["hints"], options.get("hint_source") or "hints")
        if options.get("reference") is not None:
            options["reference"] = self._read_reference(row, str(options["reference"]))
        return options

    def _read_reference(self, row: _Row, location: str) -> Any:
        """The reference photo as a LoadedImage (kept while consecutive rows share it); a grey one is a
        note. HintError when it cannot be read."""
        from deepcolor.hints.points import HintError
        from deepcolor.io import read_image

        if self._reference is None or self._reference[0] != location:
            self._reference = None
            try:
                data = files.read_bytes(location) if files.is_url(location) else Path(location)
                image = read_image(data, name=location) if files.is_url(location) else read_image(data)
            except ImageError as error:
                raise HintError(f"reference {error}") from None
            if image.is_gray:  # said when read, as the local engine says it
                row.notes.append(f"{location}: the reference photo is grey; it has no colours to follow")
            self._reference = (location, image)
        return self._reference[1]

    def _check_memory(self, source: str, data: Any) -> None:
        from deepcolor.io.header import image_size

        known = [x for x in (free_memory(), self.memory_limit) if x is not None]
        budget = min(known) if known else None
        size = image_size(data) if budget is not None else None
        if size is None:
            return
        need = size[0] * size[1] * BYTES_PER_PIXEL
        if need > budget:
            raise ImageError(
                source,
                f"not enough memory on this worker: {size[0]} x {size[1]} pixels need about {_gib(need)}, "
                f"{_gib(budget)} available (give the workers more memory)",
            )

    def _process(self, rows: list[_Row], pending: list[tuple[int, Any, dict[str, Any]]]) -> None:
        """Process the decoded images of `pending` together and write each result."""
        started = time.perf_counter()
        try:
            results = self._results(
                [image for _, image, _ in pending],
                [opts for _, _, opts in pending],
                [_suffix(rows[index].output) for index, _, _ in pending],
            )
        except MemoryError:  # the group together did not fit: one at a time
            if len(pending) == 1:
                results = [MemoryError()]
            else:
                for one in pending:
                    self._process(rows, [one])
                return
        share = (time.perf_counter() - started) / len(pending)
        for (index, _, _), result in zip(pending, results, strict=True):
            row = rows[index]
            started = time.perf_counter()
            try:
                if isinstance(result, BaseException):
                    raise result
                data, notes, uncertainty = result
                if uncertainty is not None:
                    self._write_uncertainty(row, uncertainty)
                try:
                    files.write_bytes(row.output, data, overwrite=self.overwrite)
                except ITEM_ERRORS:
                    if row.uncertainty:  # both or neither, as the local engine
                        files.remove(row.uncertainty)
                        row.uncertainty = ""
                    raise
                row.notes += notes
            except ITEM_ERRORS as error:
                row.status, row.reason = "failed", describe(row.source, error)
            row.seconds += share + time.perf_counter() - started

    def _write_uncertainty(self, row: _Row, data: bytes) -> None:
        """The uncertainty map beside the output (written first: an output in place means its map is too);
        one left by an earlier try of this batch is replaced."""
        location = uncertainty_location(row.output)
        modified = files.modified_time(location) if files.exists(location) else None
        ours = modified is not None and modified >= self.started - 1.0
        files.write_bytes(location, data, overwrite=self.overwrite or ours)
        row.uncertainty = location

    def _results(self, images: list[Any], per_image: list[dict[str, Any]], suffixes: list[str]) -> list[Any]:
        """Per image, (the bytes of its output file, notes, the bytes of its uncertainty map or None) or the
        exception that failed it."""
        if self.task == "decolorize":
            return [
                self._decolorize(image, own, suffix)
                for image, own, suffix in zip(images, per_image, suffixes, strict=True)
            ]
        from deepcolor.inference.images import encode_result, process_images, write_uncertainty

        results = process_images(
            images,
            self.colorizer,
            self.task,
            per_image=per_image,
            batch_size=self.batch_size,
            in_place=True,
            **self.options,
        )
        out: list[Any] = []
        for result, suffix in zip(results, suffixes, strict=True):
            if isinstance(result, BaseException):
                out.append(result)
                continue
            try:
                uncertainty = None
                if result.uncertainty is not None:
                    buffer = io.BytesIO()
                    write_uncertainty(result.uncertainty, buffer)
                    uncertainty = buffer.getvalue()
                out.append((encode_result(result, suffix), list(result.notes), uncertainty))
            except ITEM_ERRORS as error:
                out.append(error)
        return out

    def _decolorize(self, image: Any, own: dict[str, Any], suffix: str) -> Any:
        from deepcolor.decolor.api import decolorize_image, encode_grey

        options = {**self.options, **own}
        try:
            grey = decolorize_image(
                image,
                options.get("method", self.model_name),
                keep_channels=bool(options.get("keep_channels", False)),
            )
            return encode_grey(grey, suffix, bit_depth=options.get("bit_depth")), [], None
        except ITEM_ERRORS as error:
            return error
