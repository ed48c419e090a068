"""Turning the INPUT... arguments of a command into a list of image files and their output names.

An input may be a file, a folder (its images; with ``recursive`` also those in sub-folders) or a glob
pattern (``"photos/*.jpg"``, ``"shots/**/*.png"``). Each image gets a relative output stem (no extension)
that mirrors its name: ``holiday/beach.jpg`` given as a file -> ``beach``; found in folder ``holiday`` ->
``beach``, or ``2019/beach`` when it sits in ``holiday/2019/``. When two images would get the same stem
(``a/x.jpg`` and ``b/x.jpg``, or ``x.jpg`` and ``x.png``), the stems are made distinct by adding the
extension (``x_jpg``, ``x_png``) or the folders they came from (``a/x``, ``b/x``).

Inputs that are missing or unreadable (a folder that cannot be entered, a symbolic link loop), and patterns
and folders that yield no image, become items with an `error`, so that a command reports them in its batch
like any other bad file, instead of stopping. A folder link that leads back to a folder being read (``a/self
-> .``) is not followed again: it becomes an item with a `warning`, which is not an image and not a failure.

When the output folder holds inputs too (``colorize photos -o photos``), a file found in a folder or by a
pattern that is the output this run would write for another input (``camera.jpg`` beside ``camera.png`` with
``--format jpg``) is an earlier result, not an input: it becomes an item with the warning `OUTPUT_OF_RUN`, so
that a run repeated gives the same names and finds its outputs there (`expand_inputs`' `outdir` and
`output_suffixes`).

`display_path` is how messages show a file name: as the shell would, ``$'a\\nb.png'``, when it holds a control
character, so that a line naming it stays one line and names that file.
"""

from __future__ import annotations

import errno
import fnmatch
import glob
import os
import stat
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Images are found in folders and patterns by these extensions (any case). A file named directly is always
# tried, whatever its name.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".tif", ".tiff", ".bmp", ".webp", ".gif"}
)


# The warning of an input that is the output another input of the same run would write.
OUTPUT_OF_RUN = "an output of another input of this run; not taken as an input"

_SHELL_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\", "'": "\\'"}


def display_path(path: str | os.PathLike[str]) -> str:
    """A file name as messages show it: unchanged, unless it holds a control character (a newline, a tab,
    an escape...), then quoted as bash shows it, ``$'a\\nb.png'``, so that the message stays one line."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not any(ord(c) < 32 or ord(c) == 127 for c in text):
        return text
    out = []
    for c in text:
        if c in _SHELL_ESCAPES:
            out.append(_SHELL_ESCAPES[c])
        elif ord(c) < 32 or ord(c) == 127:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    return "$'" + "".join(out) + "'"


@dataclass(frozen=True)
class InputItem:
    """One image to process.

    Attributes:
        path: the file (as found: relative paths stay relative).
        stem: its output name relative to the output folder, without extension (e.g. ``Path("2019/beach")``).
        error: why this input cannot be processed (missing file, pattern without matches), or None.
        warning: set on an entry that was skipped without being an error (a folder link loop): not an image,
            just something to tell the user.
    """

    path: Path
    stem: Path
    error: str | None = None
    warning: str | None = None

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
    warning: str | None = None
    tagged: bool = False  # extension added to the name
    depth: int = 0  # number of root folder names put in front
    counter: int = 0  # last resort
    parents: tuple[str, ...] = field(default=())
    named: bool = False  # named by the user as a file (not found in a folder or by a pattern)

    def stem(self) -> Path:
        name = self.rel.name
        if self.tagged and self.suffix:
            name += "_" + self.suffix.lstrip(".")
        if self.counter:
            name += f"_{self.counter}"
        front = self.parents[len(self.parents) - self.depth :] if self.depth else ()
        return Path(*front, self.rel.parent, name)


def expand_inputs(
    inputs: Iterable[str | os.PathLike[str]],
    recursive: bool = False,
    *,
    outdir: str | os.PathLike[str] | None = None,
    output_suffixes: Callable[[Path], Iterable[str]] | None = None,
    extensions: frozenset[str] = IMAGE_EXTENSIONS,
) -> list[InputItem]:
    """Expand files, folders and glob patterns into images with distinct output stems.

    Args:
        inputs: what the user typed: files, folders, glob patterns (``*``, ``?``, ``[...]``, ``**``).
        recursive: also look in sub-folders of the folders given (``**`` in a pattern recurses anyway).
        outdir: the output folder of the run, when the command writes one.
        output_suffixes: what the command appends to an input's output stem (``[".jpg"]``, ``["_lab.png",
            "_lab.npy"]``), given the input's path. With `outdir`, an input that is the output of another
            input of the run gets the warning `OUTPUT_OF_RUN` instead of being an image.
        extensions: what folders and patterns take, lower case with the dot (`deepcolor colorize` adds
            `deepcolor.io.video.VIDEO_EXTENSIONS`); a file named directly is always taken.

    Returns:
        One `InputItem` per image, in input order (folder contents sorted by name), each file once. A missing
        or unreadable input, a pattern with no match and a folder without images each give one item with
        `error` set; a folder link loop and an output of the run give one item with `warning` set.
    """
    found: list[_Found] = []
    for raw in inputs:
        found.extend(_expand_one(Path(raw), os.fspath(raw), recursive, extensions))
    found = _dedupe(found)
    images = [f for f in found if f.error is None and f.warning is None]
    if outdir is not None and output_suffixes is not None:
        for f in _outputs_of_run(images, Path(outdir), output_suffixes):
            f.warning = OUTPUT_OF_RUN
        images = [f for f in images if f.warning is None]
    _make_stems_unique(images)
    return [InputItem(path=f.path, stem=f.stem(), error=f.error, warning=f.warning) for f in found]


def _outputs_of_run(
    images: list[_Found], outdir: Path, output_suffixes: Callable[[Path], Iterable[str]]
) -> list[_Found]:
    """The images that are what another image of the run writes under `outdir` (with the stems made unique
    among the rest, or its plain name), found until no more are: an earlier run's results in the input
    folder. Cheap when `outdir` holds no input."""
    root = Path(os.path.realpath(outdir))
    inside = {}
    for f in images:
        real = Path(os.path.realpath(f.path))
        if real.is_relative_to(root) and not f.named:  # a file the user named is an input whatever it is
            inside[real] = f
    dropped: dict[int, _Found] = {}
    while inside:
        active = [f for f in images if id(f) not in dropped]
        _reset_stems(active)
        _make_stems_unique(active)
        new: dict[int, _Found] = {}
        for f in active:
            if id(f) in new:  # an output itself: what it would write does not count
                continue
            suffixes = list(output_suffixes(f.path))
            for stem in {f.stem(), f.rel}:
                for suffix in suffixes:
                    target = Path(os.path.realpath(root / stem.parent / (stem.name + suffix)))
                    other = inside.get(target)
                    if other is not None and other is not f and id(other) not in dropped:
                        new[id(other)] = other
        if not new:
            break
        dropped.update(new)
    _reset_stems(images)
    return list(dropped.values())


def _reset_stems(found: list[_Found]) -> None:
    for f in found:
        f.tagged, f.depth, f.counter = False, 0, 0


def _expand_one(
    path: Path, raw: str, recursive: bool, extensions: frozenset[str] = IMAGE_EXTENSIONS
) -> list[_Found]:
    if raw == "":  # Path("") is the current folder: an unset shell variable must not mean "everything here"
        return [_missing(path, "empty input name")]
    try:
        st = os.stat(path)
    except OSError as e:
        if glob.has_magic(raw):
            found = _from_pattern(raw, extensions)
            if not any(f.warning is None for f in found):
                found.append(_missing(path, "no image matches this pattern"))
            return found
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            return [_missing(path, "no such file or folder")]
        return [_missing(path, f"cannot read: {_problem(e)}")]
    if stat.S_ISDIR(st.st_mode):
        found = _from_folder(path, path, Path(), recursive, ancestors=frozenset(), extensions=extensions)
        if not any(f.warning is None for f in found):  # nothing but skipped loops
            found.append(_missing(path, _empty_folder(path, recursive)))
        return found
    # a file named directly is always tried, whatever its extension
    return [_Found(path, path.parent, Path(path.stem), path.suffix, named=True)]


def _problem(error: OSError) -> str:
    """The system's reason in a few lower-case words: ``permission denied``, ``symbolic link loop``."""
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if error.errno == errno.ELOOP:
        return "symbolic link loop"
    text = error.strerror or str(error)
    return text[:1].lower() + text[1:]


def _missing(path: Path, why: str) -> _Found:
    return _Found(path, path.parent, Path(path.name), "", error=why)


def _loop(path: Path) -> _Found:
    return _Found(path, path.parent, Path(path.name), "", warning=_LOOP)


def _dir_key(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


_LOOP = "links back to a folder being read; not followed again"


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _from_folder(
    folder: Path,
    root: Path,
    prefix: Path,
    recursive: bool,
    ancestors: frozenset[tuple[int, int]],
    extensions: frozenset[str] = IMAGE_EXTENSIONS,
) -> list[_Found]:
    """The images in `folder` (and below, with `recursive`). `ancestors` holds the folders being read on the
    way down from the folder the user named, so that a link back to one of them is not followed again."""
    try:
        key = _dir_key(os.stat(folder))
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        return [_missing(folder, f"cannot list folder: {_problem(e)}")]
    ancestors = ancestors | {key}
    out: list[_Found] = []
    for entry in entries:
        if _hidden(entry.name):
            continue
        p = Path(folder, entry.name)
        try:
            is_dir = entry.is_dir()  # follows symbolic links; a link loop raises ELOOP
        except OSError as e:
            if Path(entry.name).suffix.lower() in extensions or recursive:  # an entry we would have taken
                out.append(_missing(p, f"cannot read: {_problem(e)}"))
            continue
        if is_dir:
            if not recursive:
                continue
            try:
                sub_key = _dir_key(entry.stat())
            except OSError as e:
                out.append(_missing(p, f"cannot list folder: {_problem(e)}"))
                continue
            if sub_key in ancestors:
                out.append(_loop(p))
                continue
            out.extend(_from_folder(p, root, prefix / entry.name, recursive, ancestors, extensions))
        elif Path(entry.name).suffix.lower() in extensions:
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


def _from_pattern(pattern: str, extensions: frozenset[str] = IMAGE_EXTENSIONS) -> list[_Found]:
    base = _glob_base(pattern)
    rest = Path(pattern).parts[len(base.parts) :]
    out: list[_Found] = []
    if "**" in rest:  # walked here: glob.glob follows a folder link loop until the path is too long
        matches = _walk_pattern(base, rest, out)
    else:
        matches = [Path(m) for m in glob.glob(pattern)]
    for p in sorted(matches, key=os.fspath):
        rel = p.relative_to(base) if p.is_relative_to(base) else Path(p.name)
        try:
            is_dir = stat.S_ISDIR(os.stat(p).st_mode)
        except FileNotFoundError:  # a dangling link: reading it says so
            is_dir = False
        except OSError as e:
            if p.suffix.lower() in extensions:
                out.append(_missing(p, f"cannot read: {_problem(e)}"))
            continue
        if is_dir:
            out.extend(
                _from_folder(p, base, rel, recursive=False, ancestors=frozenset(), extensions=extensions)
            )
        elif p.suffix.lower() in extensions:
            out.append(_Found(p, base, rel.with_suffix(""), p.suffix))
    return out


def _walk_pattern(base: Path, pattern: tuple[str, ...], loops: list[_Found]) -> list[Path]:
    """The paths below `base` that match `pattern` (its parts after `base`, ``**`` = any number of folders),
    as glob.glob would find them; a folder link back to a folder being walked is added to `loops` instead
    of being followed."""
    matches = [base] if _parts_match(pattern, ()) else []

    def walk(folder: Path, rel: tuple[str, ...], ancestors: frozenset[tuple[int, int]]) -> None:
        try:
            key = _dir_key(os.stat(folder))
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return  # as glob: an unreadable folder matches nothing
        ancestors = ancestors | {key}
        for entry in entries:
            parts = (*rel, entry.name)
            p = folder / entry.name
            try:
                sub_key = _dir_key(entry.stat()) if entry.is_dir() else None
            except OSError:
                sub_key = None  # a link loop or an unreadable entry: matched as a file, reported when read
            if sub_key is not None and sub_key in ancestors:
                if _parts_match(pattern, parts) or _parts_match(pattern, parts, prefix=True):
                    loops.append(_loop(p))
                continue
            if _parts_match(pattern, parts):
                matches.append(p)
            if sub_key is not None and _parts_match(pattern, parts, prefix=True):
                walk(p, parts, ancestors)

    walk(base, (), frozenset())
    return matches


def _parts_match(pattern: tuple[str, ...], parts: tuple[str, ...], prefix: bool = False) -> bool:
    """Whether path `parts` match glob `pattern` parts (``**``: zero or more names; hidden names only match
    a part that starts with a dot, as in glob). With `prefix`: whether something below `parts` could."""
    if not parts:
        return bool(pattern) if prefix else all(p == "**" for p in pattern)
    if not pattern:
        return False
    if pattern[0] == "**":
        return _parts_match(pattern[1:], parts, prefix) or (
            not _hidden(parts[0]) and _parts_match(pattern, parts[1:], prefix)
        )
    return (
        fnmatch.fnmatch(parts[0], pattern[0])
        and (not _hidden(parts[0]) or _hidden(pattern[0]))
        and _parts_match(pattern[1:], parts[1:], prefix)
    )


def _dedupe(found: list[_Found]) -> list[_Found]:
    """Each file once, and each bad entry reported once (a folder can be reached by two names)."""
    seen: set[tuple[Path, str | None, str | None]] = set()
    out = []
    for f in found:
        # os.path.realpath, unlike Path.resolve, never raises on a link loop; a bad entry's own link is
        # not followed (it is what is being reported)
        if f.error is None and f.warning is None:
            where = Path(os.path.realpath(f.path))
        else:
            where = Path(os.path.realpath(f.path.parent), f.path.name)
        key = (where, f.error, f.warning)
        if key not in seen:
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
