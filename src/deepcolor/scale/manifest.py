"""The manifest of a batch run: one JSON line per input, written as each input finishes.

Both engines (the local batch runner and the Ray engine) write the same rows::

    {"source": "scans/a.tif", "output": "out/a.tif", "status": "ok", "reason": "", "seconds": 0.41,
     "model": "autoencoder-lite0"}

``status`` is ``ok``, ``failed`` (``reason`` says why, one line) or ``skipped`` (``--skip-existing`` found the
output). Every row is flushed to the operating system as soon as it is written, so that a run that crashes or
is interrupted keeps the rows of what it finished; a line is written with one ``write`` call, so a reader
sees whole lines only (the last one may be missing, never half there).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

STATUSES = ("ok", "failed", "skipped")
FIELDS = ("source", "output", "status", "reason", "seconds", "model")


def manifest_row(
    source: str,
    output: str,
    status: str,
    reason: str = "",
    seconds: float = 0.0,
    model: str = "",
) -> dict[str, Any]:
    """One manifest row, checked: `status` is one of `STATUSES`, `reason` one line."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}. Got {status!r}")
    return {
        "source": str(source),
        "output": str(output),
        "status": status,
        "reason": " ".join(str(reason).split()),
        "seconds": round(float(seconds), 4),
        "model": str(model),
    }


class ManifestWriter:
    """Appends manifest rows to a JSON Lines file, one flushed line per row.

    Use as a context manager, or call `close`. The file is opened for appending: a rerun of an interrupted
    run (``--skip-existing``) adds its rows after the first run's.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.rows = 0

    def write(self, row: Mapping[str, Any]) -> None:
        """Write one row (see `manifest_row`) and flush it."""
        if self._file is None:
            raise ValueError(f"{self.path}: the manifest is closed")
        line = json.dumps({key: row.get(key, "") for key in FIELDS}, ensure_ascii=False) + "\n"
        self._file.write(line)
        self._file.flush()
        self.rows += 1

    def close(self) -> None:
        """Flush to disk and close; closing twice is harmless."""
        if self._file is not None:
            try:
                self._file.flush()
                os.fsync(self._file.fileno())
            finally:
                self._file.close()
                self._file = None

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_manifest(path: str | os.PathLike[str] | None) -> ManifestWriter | None:
    """A writer for ``--manifest FILE``, or None when no manifest was asked for."""
    return ManifestWriter(path) if path is not None else None


def read_manifest(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The rows of a manifest file, in the order written (a torn last line, if any, is left out)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.endswith("\n"):
                yield json.loads(line)


def count_statuses(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many rows have each status: ``{"ok": 18, "failed": 2, "skipped": 0}``."""
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row["status"]] += 1
    return counts
