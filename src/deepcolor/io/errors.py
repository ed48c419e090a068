"""The errors and warnings that image I/O raises: one line each, naming the file."""

from __future__ import annotations

import os
import struct
import zlib

from deepcolor.errors import DeepcolorError
from deepcolor.io.paths import display_path


class ImageError(DeepcolorError):
    """A file that cannot be read or written. ``str(error)`` is one line: ``"<file>: <problem>"``.

    Attributes:
        path: the file, as the caller named it (``"<memory>"``, or the name given, for bytes and streams).
        problem: what is wrong with it, one line, no file name.
    """

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = " ".join(str(problem).split())  # one line, whatever the cause said
        super().__init__(f"{display_path(self.path)}: {self.problem}")  # a newline in a name shown as $'\n'


class ImageWarning(UserWarning):
    """Something the reader or writer did that the user should know (first frame only, alpha dropped...).

    The message is one line, ``"<file>: <what happened>"``, like `ImageError`'s.
    """


# Exceptions that Pillow and its codecs raise on broken data (Pillow uses SyntaxError for bad headers).
# TypeError and ZeroDivisionError: what Pillow's TIFF reader raises on some malformed headers.
DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    ZeroDivisionError,
    zlib.error,
)


def reason(error: BaseException) -> str:
    """The text of an exception, or its type's name when it has none."""
    return str(error) or type(error).__name__
