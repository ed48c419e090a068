"""Atomic file writes: write a temporary file next to the target, then rename it into place.

A crash, a full disk or a bad value half-way through never leaves a partial file under the target's name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from deepcolor.io.errors import ImageError

# Filesystems that cannot hard-link (FAT, some network mounts) answer with one of these.
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS, errno.EACCES}


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
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        raise ImageError(target, f"cannot write: {e.strerror or e}") from e
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        _move_into_place(tmp, target, overwrite)
    except OSError as e:
        raise ImageError(target, f"cannot write: {e.strerror or e}") from e
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, overwrite: bool = True) -> None:
    """Write `data` to `path` atomically (see `atomic_write`); the one way deepcolor writes whole files."""
    with atomic_write(path, overwrite=overwrite) as f:
        f.write(data)


def _move_into_place(tmp: Path, target: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # atomic "create if absent"
    except FileExistsError:
        raise ImageError(target, "already exists (not overwriting it)") from None
    except OSError as e:
        if e.errno not in _NO_LINK:
            raise
        if target.exists():
            raise ImageError(target, "already exists (not overwriting it)") from None
        os.replace(tmp, target)
