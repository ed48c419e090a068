"""Where the cluster's files live: local paths that every worker sees, or URLs of a filesystem fsspec knows.

A location containing ``://`` (``file:///archive/a.tif``, ``s3://bucket/a.tif``, ``gs://...``) goes through
fsspec; anything else is a local path. Writes are atomic in both cases, so a reader (or a rerun with
``--skip-existing``) never sees half a file: a local file is written unnamed (Linux ``O_TMPFILE``) and linked
under its name once whole, so that even a worker killed mid-write leaves nothing; elsewhere the bytes go to a
hidden temporary name beside the target (``.<name>.<random>.tmp``), then moved into place. Without
`overwrite` an existing target is never replaced.
"""

from __future__ import annotations

import errno
import os
import secrets
from typing import Any

from deepcolor.io import ImageError, atomic_write_bytes


def is_url(location: str) -> bool:
    """Whether `location` is a URL (has a ``scheme://``), as opposed to a local path."""
    return "://" in location


def _fs(location: str) -> tuple[Any, str]:
    import fsspec

    return fsspec.core.url_to_fs(location)


def read_bytes(location: str) -> bytes:
    """The whole file at `location`.

    Raises:
        ImageError: the file is missing or cannot be read (one line naming it).
    """
    try:
        if not is_url(location):
            with open(location, "rb") as f:
                return f.read()
        fs, path = _fs(location)
        return fs.cat_file(path)
    except FileNotFoundError:
        raise ImageError(location, "no such file") from None
    except IsADirectoryError:
        raise ImageError(location, "is a folder, not an image") from None
    except OSError as e:
        raise ImageError(location, f"cannot read: {e.strerror or e}") from None


def exists(location: str) -> bool:
    """Whether something is at `location` (a dangling link counts, as for the local engine)."""
    if not is_url(location):
        return os.path.lexists(location)
    fs, path = _fs(location)
    return fs.exists(path)


def remove(location: str) -> None:
    """Remove the file at `location` (a file this process wrote); nothing when it is not there."""
    try:
        if not is_url(location):
            os.remove(location)
        else:
            fs, path = _fs(location)
            fs.rm(path)
    except FileNotFoundError:
        pass


def modified_time(location: str) -> float | None:
    """The modification time (seconds since the epoch) of `location`, or None when unknown."""
    try:
        if not is_url(location):
            return os.lstat(location).st_mtime
        fs, path = _fs(location)
        value = fs.modified(path)
        return value.timestamp()
    except (OSError, NotImplementedError, AttributeError, ValueError):
        return None


def _write_unnamed(location: str, data: bytes, overwrite: bool) -> bool:
    """Write through a file without a name (Linux ``O_TMPFILE``), linked under `location` once whole and on
    disk: a worker killed at any moment (Ray stops an interrupted run's workers with SIGKILL) leaves nothing
    behind, not even a hidden temporary file. False where the filesystem cannot (NFS...): the caller then
    writes through a named temporary file.

    Raises:
        ImageError: `location` appeared meanwhile (without `overwrite`), or the write failed.
    """
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return False
    parent = os.path.dirname(os.path.abspath(location))
    try:
        os.makedirs(parent, exist_ok=True)
        fd = os.open(parent, flag | os.O_WRONLY | os.O_CLOEXEC, 0o666)  # the umask applies
    except OSError as e:
        if e.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
            return False
        raise ImageError(location, f"cannot write: {e.strerror or e}") from None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        if not overwrite:
            _link(fd, parent, os.path.basename(location))  # fails if the name exists: never replaced
            return True
        tmp = os.path.join(parent, f".{os.path.basename(location)}.{secrets.token_hex(4)}.tmp")
        _link(fd, parent, os.path.basename(tmp))
        try:
            os.replace(tmp, location)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
        return True
    except FileExistsError:
        raise ImageError(location, "exists; pass --overwrite to replace it") from None
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.EXDEV, errno.EPERM) and not os.path.lexists(location):
            return False  # no /proc, or linking refused: the named temporary file instead
        raise ImageError(location, f"cannot write: {e.strerror or e}") from None
    finally:
        os.close(fd)


def _link(fd: int, folder: str, name: str) -> None:
    """Give the unnamed file `fd` the name `folder`/`name`. A folder descriptor makes os.link call linkat
    with AT_SYMLINK_FOLLOW, which links the file behind /proc/self/fd, not that link itself."""
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=folder_fd)
    finally:
        os.close(folder_fd)


def write_bytes(location: str, data: bytes, overwrite: bool = False) -> None:
    """Write `data` to `location` atomically (temporary name, then a move).

    Raises:
        ImageError: `location` exists and not `overwrite` (``exists; pass --overwrite to replace it``), or
            the write failed (the temporary file is removed).
    """
    if not is_url(location):
        if not overwrite and os.path.lexists(location):
            raise ImageError(location, "exists; pass --overwrite to replace it")
        if not _write_unnamed(location, data, overwrite):
            atomic_write_bytes(location, data, overwrite=overwrite)
        return
    fs, path = _fs(location)
    if not overwrite and fs.exists(path):
        raise ImageError(location, "exists; pass --overwrite to replace it")
    parent, _, name = path.rpartition("/")
    tmp = f"{parent}/.{name}.{secrets.token_hex(4)}.tmp"
    try:
        if parent:
            fs.makedirs(parent, exist_ok=True)
        fs.pipe_file(tmp, data)
        fs.mv(tmp, path)
    except OSError as e:
        raise ImageError(location, f"cannot write: {e.strerror or e}") from None
    finally:
        try:
            if fs.exists(tmp):
                fs.rm(tmp)
        except OSError:
            pass
