"""Where an image's bytes come from: a file, or bytes in memory (an upload, a stream), and the checks made
before anything is decoded.

Every message names the source as the user knows it: the file's path, the name a caller gave to bytes or a
stream (a web upload's file name, say), or ``"<memory>"``.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from deepcolor.io.errors import ImageError

MEMORY_NAME = "<memory>"

# What `read_image` takes: a path, bytes, or a binary file object open for reading.
ImageInput = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO

_KINDS = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a pipe",
    stat.S_IFSOCK: "a socket",
}
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


@dataclass(frozen=True)
class Source:
    """An image's bytes: `data` when set, else the file at `path`. `name` is what messages call it.

    A file's bytes may be held in `data` too (`in_memory`); `path` then still says where they came from.
    """

    name: str
    path: Path | None = None
    data: bytes | None = None

    def __post_init__(self) -> None:
        if self.path is None and self.data is None:
            raise ValueError("a Source needs a path or data")

    def open(self) -> BinaryIO:
        """A fresh binary stream over the bytes, positioned at the start; the caller closes it."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return open(self.path, "rb")

    def opener(self) -> str | os.PathLike[str] | BinaryIO:
        """What to hand to `PIL.Image.open` or `tifffile`: the path itself (they open and close the file),
        or a stream over the bytes."""
        return self.open() if self.data is not None else self.path  # type: ignore[return-value]

    def head(self, size: int = 512) -> bytes:
        """The first `size` bytes (fewer when the source is shorter)."""
        if self.data is not None:
            return self.data[:size]
        with self.open() as f:
            return f.read(size)

    def in_memory(self) -> Source:
        """The same image with its bytes held in memory (the file is read once)."""
        if self.data is not None:
            return self
        assert self.path is not None
        return Source(self.name, path=self.path, data=self.path.read_bytes())

    def is_tiff(self) -> bool:
        return self.head(4) in _TIFF_SIGNATURES

    def error(self, problem: str) -> ImageError:
        """An `ImageError` naming this source."""
        return ImageError(self.name, problem)

    def check(self) -> None:
        """Refuse what is no image before opening it: a missing file, a folder, no bytes, no permission.

        Raises:
            ImageError: one line naming the source.
        """
        if self.data is not None:
            if not self.data:
                raise self.error("empty (0 bytes)")
            return
        assert self.path is not None
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise self.error("no such file") from None
        except OSError as e:
            raise self.error(f"cannot read: {e.strerror or e}") from None
        if self.path.is_dir():
            raise self.error("is a folder, not an image file")
        if not stat.S_ISREG(st.st_mode):  # /dev/zero, a pipe: no size to check, possibly endless
            raise self.error(f"is {_KINDS.get(stat.S_IFMT(st.st_mode), 'a special file')}, not an image file")
        if st.st_size == 0:
            raise self.error("empty file (0 bytes)")
        if not os.access(self.path, os.R_OK):
            raise self.error("cannot read: permission denied")


def as_source(source: ImageInput, name: str | None = None) -> Source:
    """A path, bytes (bytes, bytearray, memoryview) or a binary file object -> `Source`.

    Args:
        source: what to read. A file object is read to its end, from where it stands.
        name: what messages call the image; default: the path, a file object's ``name`` when it has a
            string one, else ``"<memory>"``.

    Raises:
        TypeError: `source` is none of these, or a file object that reads text.
        ImageError: a file object that cannot be read (the system's reason).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return Source(name if name is not None else str(path), path=path)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return Source(name if name is not None else MEMORY_NAME, data=bytes(source))
    read = getattr(source, "read", None)
    if not callable(read):
        raise TypeError(f"Expected a path, bytes or a binary file object. Got {type(source).__name__}")
    if name is None:
        stream_name = getattr(source, "name", None)
        name = os.fspath(stream_name) if isinstance(stream_name, (str, os.PathLike)) else MEMORY_NAME
    try:
        data = read()
    except OSError as e:
        raise ImageError(name, f"cannot read: {e.strerror or e}") from None
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"Expected a binary file object (its read() gave {type(data).__name__})")
    return Source(name, data=bytes(data))
