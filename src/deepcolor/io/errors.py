"""The errors and warnings that image I/O raises: one line each, naming the file."""

from __future__ import annotations

import os


class ImageError(Exception):
    """A file that cannot be read or written. ``str(error)`` is one line: ``"<file>: <problem>"``.

    Attributes:
        path: the file, as the caller named it.
        problem: what is wrong with it, one line, no file name.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = " ".join(str(problem).split())  # one line, whatever the cause said
        super().__init__(f"{self.path}: {self.problem}")


class ImageWarning(UserWarning):
    """Something the reader or writer did that the user should know (first frame only, alpha dropped...).

    The message is one line, ``"<file>: <what happened>"``, like `ImageError`'s.
    """
