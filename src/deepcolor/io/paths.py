"""Turning the INPUT... arguments of a command into a list of image files and their output names.

An input may be a file, a folder (its images; with ``recursive`` also those in sub-folders) or a glob
pattern (``"photos/*.jpg"``, ``"shots/**/*.png"``). Each image gets a relative output stem (no extension)
that mirrors its name: ``holiday/beach.jpg`` given as a file -> ``beach``; found in folder ``holiday`` ->
``beach``, or ``2019/beach`` when it sits in ``holiday/2019/``. When two images would get the same stem
(``a/x.jpg`` and ``b/x.jpg``, or ``x.jpg`` and ``x.png``), the stems are made distinct by adding the
extension (``x_jpg``, ``x_png``) or the folders they came from (``a/x``, ``b/x``).

Inputs that are missing, or patterns and folders that yield no image, become items with an `error`, so
that a command reports them in its batch like any other bad file, instead of stopping.
"""

from __future__ import annotations

import glob
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Images are found in folders and patterns by these extensions (any case). A file named directly is always
# tried, whatever its name.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".tif", ".tiff", ".bmp", ".webp", ".gif"}
)


@dataclass(frozen=True)
class InputItem:
    """One image to process.

    Attributes:
        path: the file (as found: relative paths stay relative).
        stem: its output name relative to the output folder, without extension (e.g. ``Path("2019/beach")``).
        error: why this input cannot be processed (missing file, pattern without matches), or None.
    """

    path: Path
    stem: Path
    error: str | None = None

    def output_path(self, outdir: str | os.PathLike[str], suffix: str) -> Path:
        """``outdir / stem`` with `suffix` appended to the name: (out, ``2019/beach``, ``_lab.png``) ->
        ``out/2019/beach_lab.png``."""
        return Path(outdir) / self.stem.parent / (self.stem.name + suffix)


def is_image_name(path: str | os.PathLike[str]) -> bool:
    """Whether the file name ends in one of `IMAGE_EXTENSIONS` (any case)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


@dataclass
class _Found:
    path: Path
    root: Path  # the folder that `rel` is relative to
    rel: Path  # path below root, without extension
    suffix: str
    error: str | None = None
    tagged: bool = False  # extension added to the name
    depth: int = 0  # number of root folder names put in front
    counter: int = 0  # last resort
    parents: tuple[str, ...] = field(default=())

    def stem(self) -> Path:
        name = self.rel.name
        if self.tagged and self.suffix:
            name += "_" + self.suffix.lstrip(".")
        if self.counter:
            name += f"_{self.counter}"
        front = self.parents[len(self.parents) - self.depth :] if self.depth else ()
        return Path(*front, self.rel.parent, name)


def expand_inputs(inputs: Iterable[str | os.PathLike[str]], recursive: bool = False) -> list[InputItem]:
    """Expand files, folders and glob patterns into images with distinct output stems.

    Args:
        inputs: what the user typed: files, folders, glob patterns (``*``, ``?``, ``[...]``, ``**``).
        recursive: also look in sub-folders of the folders given (``**`` in a pattern recurses anyway).

    Returns:
        One `InputItem` per image, in input order (folder contents sorted by name), each file once. A missing
        input, a pattern with no match and a folder without images each give one item with `error` set.
    """
    found: list[_Found] = []
    for raw in inputs:
        found.extend(_expand_one(Path(raw), str(raw), recursive))
    found = _dedupe(found)
    _make_stems_unique([f for f in found if f.error is None])
    return [InputItem(path=f.path, stem=f.stem(), error=f.error) for f in found]


def _expand_one(path: Path, raw: str, recursive: bool) -> list[_Found]:
    if path.is_dir():
        return _from_folder(path, path, Path(), recursive) or [_missing(path, _empty_folder(path, recursive))]
    if path.exists():  # a file named directly is always tried, whatever its extension
        return [_Found(path, path.parent, Path(path.stem), path.suffix)]
    if glob.has_magic(raw):
        return _from_pattern(raw) or [_missing(path, "no image matches this pattern")]
    return [_missing(path, "no such file or folder")]


def _missing(path: Path, why: str) -> _Found:
    return _Found(path, path.parent, Path(path.name), "", error=why)


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _from_folder(folder: Path, root: Path, prefix: Path, recursive: bool) -> list[_Found]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        return [_missing(folder, f"cannot list folder: {e.strerror or e}")]
    out: list[_Found] = []
    for entry in entries:
        if _hidden(entry.name):
            continue
        p = Path(folder, entry.name)
        if entry.is_dir():
            if recursive:
                out.extend(_from_folder(p, root, prefix / entry.name, recursive))
        elif is_image_name(entry.name):
            out.append(_Found(p, root, prefix / p.stem, p.suffix))
    return out


def _empty_folder(folder: Path, recursive: bool) -> str:
    if not recursive and any(p.is_dir() and not _hidden(p.name) for p in folder.iterdir()):
        return "no images in this folder (use --recursive to look in its sub-folders)"
    return "no images in this folder"


def _glob_base(pattern: str) -> Path:
    """The folders before the first wildcard: ``photos/2019/*.jpg`` -> ``photos/2019``."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path()


def _from_pattern(pattern: str) -> list[_Found]:
    base = _glob_base(pattern)
    out: list[_Found] = []
    for match in sorted(glob.glob(pattern, recursive=True)):
        p = Path(match)
        rel = p.relative_to(base) if p.is_relative_to(base) else Path(p.name)
        if p.is_dir():
            out.extend(_from_folder(p, base, rel, recursive=False))
        elif is_image_name(p):
            out.append(_Found(p, base, rel.with_suffix(""), p.suffix))
    return out


def _dedupe(found: list[_Found]) -> list[_Found]:
    seen: set[Path] = set()
    out = []
    for f in found:
        if f.error is None:
            key = f.path.resolve()
            if key in seen:
                continue
            seen.add(key)
        out.append(f)
    return out


def _make_stems_unique(found: list[_Found]) -> None:
    for f in found:
        f.parents = f.root.resolve().parts[1:]  # the folder names above the root, without "/" or "C:\\"
    for _ in range(10_000):  # each round changes at least one stem, and counters end every clash
        groups: dict[str, list[_Found]] = defaultdict(list)
        for f in found:
            groups[f.stem().as_posix().lower()].append(f)  # lower: safe on case-insensitive disks too
        clashes = [g for g in groups.values() if len(g) > 1]
        if not clashes:
            return
        for group in clashes:
            if len({f.suffix.lower() for f in group}) > 1 and not all(f.tagged for f in group):
                for f in group:
                    f.tagged = True
            elif len({f.parents for f in group}) > 1 and any(f.depth < len(f.parents) for f in group):
                for f in group:
                    f.depth = min(f.depth + 1, len(f.parents))
            else:
                for i, f in enumerate(group[1:], start=2):
                    f.counter = f.counter + i if f.counter else i
    raise AssertionError("output names could not be made unique")  # unreachable: counters always end it
