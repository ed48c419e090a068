"""Where training images come from: an index of records over tar shards and image folders.

A record is one image: (file, byte offset, byte size, name). Tar shards (WebDataset style, one image per
member) are indexed by their members' data offsets, so a reader seeks straight to an image's bytes; a folder
of images gives one record per file (offset -1: read the whole file). Indexing reads tar headers only.
"""

from __future__ import annotations

import glob
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from deepcolor.errors import DeepcolorError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


class DataError(DeepcolorError):
    """A data source is missing or unusable; the message is one line naming it."""


@dataclass
class ImageIndex:
    """Records of images: parallel lists `files[file_id[i]]`, `offsets[i]`, `sizes[i]`, `names[i]`."""

    files: list[str] = field(default_factory=list)
    file_id: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    def add_file(self, path: str) -> int:
        self.files.append(path)
        return len(self.files) - 1

    def read(self, i: int) -> bytes:
        """The encoded bytes of record i (one seek and one read)."""
        path = self.files[self.file_id[i]]
        with open(path, "rb") as f:
            if self.offsets[i] < 0:
                return f.read()
            f.seek(self.offsets[i])
            return f.read(self.sizes[i])

    def where(self, i: int) -> str:
        """Where record i lives, as messages name it: the file path, or `path/to/shard.tar/member` (as
        `deepcolor evaluate` names tar members)."""
        path = self.files[self.file_id[i]]
        return f"{path}/{self.names[i]}" if self.offsets[i] >= 0 else path

    def subset(self, count: int) -> ImageIndex:
        """The first `count` records (in index order)."""
        return ImageIndex(
            self.files, self.file_id[:count], self.offsets[:count], self.sizes[:count], self.names[:count]
        )


def _index_tar(path: str, index: ImageIndex) -> None:
    fid = index.add_file(path)
    try:
        with tarfile.open(path, mode="r:") as tar:
            for member in tar:
                if member.isfile() and member.name.lower().endswith(IMAGE_SUFFIXES):
                    index.file_id.append(fid)
                    index.offsets.append(member.offset_data)
                    index.sizes.append(member.size)
                    index.names.append(member.name)
    except (tarfile.TarError, OSError) as e:
        raise DataError(f"{path}: not a readable tar shard ({e})") from None


def _index_folder(path: str, index: ImageIndex) -> None:
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            if name.lower().endswith(".tar"):
                _index_tar(full, index)
            elif name.lower().endswith(IMAGE_SUFFIXES):
                index.file_id.append(index.add_file(full))
                index.offsets.append(-1)
                index.sizes.append(-1)
                index.names.append(os.path.relpath(full, path))


def build_index(sources: str | Path | list[str | Path]) -> ImageIndex:
    """Index images from tar shards, folders (searched recursively; .tar files inside are shards) and globs.

    The order is deterministic: sources as given; in a folder its own files (sorted) before its sub-folders
    (sorted); tar members in archive order.

    Raises:
        DataError: a source does not exist, is unreadable, or no image is found at all.
    """
    if isinstance(sources, (str, Path)):
        sources = [sources]
    index = ImageIndex()
    for source in sources:
        source = str(source)
        matches = sorted(glob.glob(source)) if glob.has_magic(source) else [source]
        if not matches:
            raise DataError(f"{source}: no file matches")
        for path in matches:
            if os.path.isdir(path):
                _index_folder(path, index)
            elif path.lower().endswith(".tar"):
                if not os.path.isfile(path):
                    raise DataError(f"{path}: no such tar shard")
                _index_tar(path, index)
            elif os.path.isfile(path) and path.lower().endswith(IMAGE_SUFFIXES):
                index.file_id.append(index.add_file(path))
                index.offsets.append(-1)
                index.sizes.append(-1)
                index.names.append(os.path.basename(path))
            else:
                raise DataError(f"{path}: not a folder, a .tar shard or an image")
    if not len(index):
        raise DataError(f"{', '.join(map(str, sources))}: no images found")
    return index
