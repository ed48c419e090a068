"""Atomic file writes: write a temporary file next to the target, then rename it into place.

A crash, a full disk or a bad value half-way through never leaves a partial file under the target's name.
`written_files()` records what this process moved into place, so that a caller undoing unfinished work (a
batch item cut short by Ctrl-C) removes its own files, and only while they are still its own:
`remove_own_files`.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from deepcolor.io.errors import ImageError

_NAME_ATTEMPTS = 100
_CREATE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
)
# Filesystems that cannot hard-link (FAT, some network mounts) answer with one of these.
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS, errno.EACCES}


@dataclass(frozen=True)
class WrittenFile:
    """A file this process moved into place, and the identity (device, inode) it had then."""

    path: Path
    device: int
    inode: int


_RECORD: contextvars.ContextVar[list[WrittenFile] | None] = contextvars.ContextVar("_RECORD", default=None)


@contextlib.contextmanager
def written_files() -> Iterator[list[WrittenFile]]:
    """Record every file that `atomic_write` moves into place inside the block (this thread or task only).

    Yields:
        The list that fills as files are written, in order.
    """
    record: list[WrittenFile] = []
    token = _RECORD.set(record)
    try:
        yield record
    finally:
        _RECORD.reset(token)


def record_written(path: str | os.PathLike[str]) -> None:
    """Record `path`, just moved into place by this process without `atomic_write` (a video encoder's
    temporary file renamed), as `atomic_write` records its own files (see `written_files`)."""
    record = _RECORD.get()
    if record is not None:
        st = os.stat(path, follow_symlinks=False)
        record.append(WrittenFile(Path(path), st.st_dev, st.st_ino))


def remove_own_files(files: list[WrittenFile]) -> None:
    """Remove each file of `files` that is still the one this process wrote (same device and inode): a file
    that another process has put under the name since is never touched. Errors are ignored."""
    for written in files:
        with contextlib.suppress(OSError):
            st = os.stat(written.path, follow_symlinks=False)
            if (st.st_dev, st.st_ino) == (written.device, written.inode):
                os.unlink(written.path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], overwrite: bool = True) -> Iterator[BinaryIO]:
    """Open a temporary binary file next to `path`; when the block ends without error, move it to `path`.

    The parent folder is created when missing. The temporary file is hidden (``.<name>.<random>.tmp``) and
    removed on any error. With ``overwrite=False`` an existing `path` is never replaced, even if it appears
    while the block runs (the final step is a hard link, which fails when the name exists).

    Raises:
        ImageError: `path` exists and ``overwrite`` is False, or the file cannot be written (the message
            names `path` and gives the system's reason).
    """
    target = Path(path)
    if not overwrite and target.exists():
        raise ImageError(target, "already exists (not overwriting it)")
    # The temporary file's name is known before the file exists, and its removal is registered (the
    # `finally` below) before it is created: an exception at any moment after, even one raised by a signal
    # handler between two bytecodes (Ctrl-C, deepcolor's SIGTERM), removes it. (tempfile.mkstemp returns the
    # name only after creating the file, which leaves a window for a stray temporary file.)
    tmp: Path | None = None
    try:
        fd = -1
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            for _ in range(_NAME_ATTEMPTS):
                tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
                try:
                    fd = os.open(tmp, _CREATE_FLAGS, 0o600)
                    break
                except FileExistsError:
                    tmp = None  # someone else's: never ours to remove
            else:
                raise FileExistsError(errno.EEXIST, "no free temporary file name")
        except OSError as e:
            raise ImageError(target, f"cannot write: {e.strerror or e}") from e
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # created 0600; give the file the usual permissions
        st = os.stat(tmp)
        move_into_place(tmp, target, overwrite)
        record = _RECORD.get()
        if record is not None:
            record.append(WrittenFile(target, st.st_dev, st.st_ino))
    except OSError as e:
        raise ImageError(target, f"cannot write: {e.strerror or e}") from e
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, overwrite: bool = True) -> None:
    """Write `data` to `path` atomically (see `atomic_write`); the one way deepcolor writes whole files."""
    with atomic_write(path, overwrite=overwrite) as f:
        f.write(data)


def _already_exists(target: Path) -> ImageError:
    return ImageError(target, "already exists (not overwriting it)")


def move_into_place(
    tmp: Path,
    target: Path,
    overwrite: bool,
    exists: Callable[[Path], Exception] | None = None,
) -> None:
    """Give the finished temporary file `tmp` the name `target`: replacing it when `overwrite`, else an
    atomic "create if absent" (a hard link; a rename where the filesystem has no links), raising
    `exists(target)` (default: an ImageError) when a file is already there. `tmp` is left for the caller to
    remove."""
    if exists is None:
        exists = _already_exists
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # atomic "create if absent"
    except FileExistsError:
        raise exists(target) from None
    except OSError as e:
        if e.errno not in _NO_LINK:
            raise
        if target.exists():
            raise exists(target) from None
        os.replace(tmp, target)
