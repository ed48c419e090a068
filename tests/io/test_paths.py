"""expand_inputs: files, folders, globs, missing inputs; output stems mirror names and never clash."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from deepcolor.io import InputItem, expand_inputs, is_image_name
from deepcolor.io.paths import OUTPUT_OF_RUN, display_path


def touch(*paths: Path) -> None:
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")


def stems(items: list[InputItem]) -> dict[str, str]:
    return {item.path.as_posix(): item.stem.as_posix() for item in items}


def test_files_folders_and_recursion(tmp_path):
    touch(
        tmp_path / "a" / "one.jpg",
        tmp_path / "a" / "two.PNG",
        tmp_path / "a" / "notes.txt",
        tmp_path / "a" / "sub" / "three.tif",
        tmp_path / "a" / ".hidden.png",
        tmp_path / "b.webp",
    )
    flat = expand_inputs([tmp_path / "a", tmp_path / "b.webp"])
    assert stems(flat) == {
        f"{tmp_path.as_posix()}/a/one.jpg": "one",
        f"{tmp_path.as_posix()}/a/two.PNG": "two",
        f"{tmp_path.as_posix()}/b.webp": "b",
    }
    assert all(item.error is None for item in flat)
    deep = expand_inputs([tmp_path / "a"], recursive=True)
    assert [item.stem.as_posix() for item in deep] == ["one", "sub/three", "two"]


def test_a_file_named_directly_is_taken_whatever_its_extension(tmp_path):
    touch(tmp_path / "notes.txt")
    (item,) = expand_inputs([tmp_path / "notes.txt"])
    assert item.error is None and item.stem == Path("notes")


def test_glob_patterns(tmp_path, monkeypatch):
    touch(
        tmp_path / "shots" / "x1.jpg",
        tmp_path / "shots" / "x2.jpg",
        tmp_path / "shots" / "y.png",
        tmp_path / "shots" / "x3.txt",
        tmp_path / "shots" / "day2" / "x4.jpg",
    )
    monkeypatch.chdir(tmp_path)
    assert stems(expand_inputs(["shots/x*"])) == {"shots/x1.jpg": "x1", "shots/x2.jpg": "x2"}
    assert stems(expand_inputs(["shots/**/*.jpg"])) == {
        "shots/day2/x4.jpg": "day2/x4",
        "shots/x1.jpg": "x1",
        "shots/x2.jpg": "x2",
    }


def test_missing_inputs_become_bad_items(tmp_path):
    touch(tmp_path / "ok.png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    touch(tmp_path / "nested" / "deeper" / "p.png")
    items = expand_inputs(
        [
            tmp_path / "nope.png",
            str(tmp_path / "*.gif"),
            tmp_path / "ok.png",
            tmp_path / "empty",
            tmp_path / "nested",
        ]
    )
    assert [(item.path.name, item.error) for item in items] == [
        ("nope.png", "no such file or folder"),
        ("*.gif", "no image matches this pattern"),
        ("ok.png", None),
        ("empty", "no images in this folder"),
        ("nested", "no images in this folder (use --recursive to look in its sub-folders)"),
    ]


def test_same_name_in_different_folders_does_not_collide(tmp_path):
    touch(tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg", tmp_path / "a" / "y.jpg")
    files = expand_inputs([tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg"])
    assert sorted(i.stem.as_posix() for i in files) == ["a/x", "b/x"]
    assert sorted(i.stem.as_posix() for i in expand_inputs([tmp_path / "a", tmp_path / "b"])) == [
        "a/x",
        "b/x",
        "y",
    ]


def test_same_folder_name_deeper_down(tmp_path):
    touch(tmp_path / "p" / "photos" / "x.jpg", tmp_path / "q" / "photos" / "x.jpg")
    items = expand_inputs([tmp_path / "p" / "photos", tmp_path / "q" / "photos"])
    assert sorted(i.stem.as_posix() for i in items) == ["p/photos/x", "q/photos/x"]


def test_same_stem_different_extension(tmp_path):
    touch(tmp_path / "x.jpg", tmp_path / "x.png", tmp_path / "z.png")
    assert sorted(i.stem.as_posix() for i in expand_inputs([tmp_path])) == ["x_jpg", "x_png", "z"]


def test_clash_only_in_letter_case(tmp_path):
    touch(tmp_path / "a" / "X.png", tmp_path / "a" / "x.png")
    if len(list((tmp_path / "a").iterdir())) < 2:
        pytest.skip("case-insensitive file system")
    names = [i.stem.as_posix().lower() for i in expand_inputs([tmp_path / "a"])]
    assert len(set(names)) == 2


def test_each_file_once(tmp_path, monkeypatch):
    touch(tmp_path / "a" / "x.jpg")
    monkeypatch.chdir(tmp_path)
    items = expand_inputs(["a/x.jpg", "a", str(tmp_path / "a" / "x.jpg"), "a/*.jpg"])
    assert len(items) == 1 and items[0].stem == Path("x")


def test_output_path_mirrors_the_stem(tmp_path):
    item = InputItem(path=Path("in/2019/beach.jpg"), stem=Path("2019/beach"))
    assert item.output_path(tmp_path, "_lab.png") == tmp_path / "2019" / "beach_lab.png"


def test_is_image_name():
    assert is_image_name("a.JPG") and is_image_name("b.tiff") and is_image_name(Path("c.webp"))
    assert not is_image_name("notes.txt") and not is_image_name("noext")


# ------------------------------------------------------------------ links, loops and folders one cannot enter

LOOP_WARNING = "links back to a folder being read; not followed again"


def link_loop(folder: Path) -> None:
    """folder/l1.png -> l2.png -> l1.png: two names that never lead to a file."""
    (folder / "l1.png").symlink_to("l2.png")
    (folder / "l2.png").symlink_to("l1.png")


def by_name(items: list[InputItem]) -> dict[str, tuple[str | None, str | None]]:
    return {item.path.name: (item.error, item.warning) for item in items}


@pytest.mark.parametrize("recursive", [False, True])
def test_a_symlink_loop_is_one_bad_entry_each_and_the_rest_is_taken(tmp_path, recursive):
    touch(tmp_path / "a" / "good.png", tmp_path / "a" / "z.jpg")
    link_loop(tmp_path / "a")
    items = expand_inputs([tmp_path / "a"], recursive=recursive)
    assert by_name(items) == {
        "good.png": (None, None),
        "l1.png": ("cannot read: symbolic link loop", None),
        "l2.png": ("cannot read: symbolic link loop", None),
        "z.jpg": (None, None),
    }
    # named directly and through a pattern: the same answer
    assert by_name(expand_inputs([tmp_path / "a" / "l1.png"])) == {
        "l1.png": ("cannot read: symbolic link loop", None)
    }
    assert by_name(expand_inputs([str(tmp_path / "a" / "*.png")])) == {
        "good.png": (None, None),
        "l1.png": ("cannot read: symbolic link loop", None),
        "l2.png": ("cannot read: symbolic link loop", None),
    }


def test_a_folder_linking_to_itself_is_not_followed_again(tmp_path):
    touch(tmp_path / "a" / "x.png", tmp_path / "a" / "sub" / "y.png")
    (tmp_path / "a" / "self").symlink_to(".")
    (tmp_path / "a" / "sub" / "up").symlink_to("..")
    items = expand_inputs([tmp_path / "a"], recursive=True)
    images = [i for i in items if i.warning is None]
    assert [(i.stem.as_posix(), i.error) for i in images] == [("sub/y", None), ("x", None)]
    loops = sorted((i.path.relative_to(tmp_path).as_posix(), i.warning) for i in items if i.warning)
    assert loops == [("a/self", LOOP_WARNING), ("a/sub/up", LOOP_WARNING)]
    assert all(i.error is None for i in items)  # a skipped loop is not a failure
    # without --recursive the links are folders like any other: not entered
    assert [i.stem.as_posix() for i in expand_inputs([tmp_path / "a"])] == ["x"]


def test_a_folder_holding_only_a_loop_has_no_images(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "self").symlink_to(".")
    assert by_name(expand_inputs([tmp_path / "a"], recursive=True)) == {
        "self": (None, LOOP_WARNING),
        "a": ("no images in this folder", None),
    }


def test_double_star_pattern_does_not_follow_a_loop(tmp_path, monkeypatch):
    touch(tmp_path / "a" / "x.png", tmp_path / "a" / "sub" / "y.png")
    (tmp_path / "a" / "sub" / "up").symlink_to("..")
    link_loop(tmp_path / "a")
    monkeypatch.chdir(tmp_path)
    items = expand_inputs(["a/**/*.png"])  # glob.glob would walk a/sub/up/sub/up/... until ELOOP
    assert stems([i for i in items if i.error is None and i.warning is None]) == {
        "a/sub/y.png": "sub/y",
        "a/x.png": "x",
    }
    assert sorted((i.path.as_posix(), i.error or i.warning) for i in items if i.error or i.warning) == [
        ("a/l1.png", "cannot read: symbolic link loop"),
        ("a/l2.png", "cannot read: symbolic link loop"),
        ("a/sub/up", LOOP_WARNING),
    ]


def test_double_star_pattern_matches_as_glob_does(tmp_path, monkeypatch):
    touch(
        tmp_path / "s" / "x1.jpg",
        tmp_path / "s" / ".h.jpg",
        tmp_path / "s" / "d" / "x2.jpg",
        tmp_path / "s" / ".hd" / "x3.jpg",
        tmp_path / "s" / "d" / "e" / "x4.png",
    )
    monkeypatch.chdir(tmp_path)
    assert stems(expand_inputs(["s/**/*.jpg"])) == {"s/d/x2.jpg": "d/x2", "s/x1.jpg": "x1"}
    assert stems(expand_inputs(["s/**"])) == {
        "s/x1.jpg": "x1",
        "s/d/x2.jpg": "d/x2",
        "s/d/e/x4.png": "d/e/x4",
    }
    assert stems(expand_inputs(["**/e/*.png"])) == {"s/d/e/x4.png": "s/d/e/x4"}


def deny(monkeypatch, folder: Path) -> None:
    """Make every path below `folder` answer as a folder without search permission does for a user that is
    not root (tests run as root here, and root is never refused): stat and listing raise EACCES."""
    real_stat, real_scandir = os.stat, os.scandir
    locked = os.fspath(folder) + os.sep

    def refuse(path: object) -> None:
        if isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(locked):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

    def fake_stat(path, *args, **kwargs):
        refuse(path)
        return real_stat(path, *args, **kwargs)

    def fake_scandir(path="."):
        refuse(os.path.join(path, ""))
        return real_scandir(path)

    monkeypatch.setattr(os, "stat", fake_stat)
    monkeypatch.setattr(os, "scandir", fake_scandir)


def test_a_file_in_a_folder_one_cannot_enter_is_one_bad_entry(tmp_path, monkeypatch):
    touch(
        tmp_path / "ok.png",
        tmp_path / "locked" / "f.png",
        tmp_path / "top" / "locked" / "g.png",
        tmp_path / "top" / "h.png",
    )
    deny(monkeypatch, tmp_path / "locked")
    deny(monkeypatch, tmp_path / "top" / "locked")
    items = expand_inputs(
        [tmp_path / "locked" / "f.png", tmp_path / "ok.png", tmp_path / "top"], recursive=True
    )
    assert [(i.path.relative_to(tmp_path).as_posix(), i.error) for i in items] == [
        ("locked/f.png", "cannot read: permission denied"),
        ("ok.png", None),
        ("top/h.png", None),
        ("top/locked", "cannot list folder: permission denied"),
    ]


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root enters every folder; the simulated test above covers this as root",
)
def test_a_file_in_a_folder_one_cannot_enter_for_real(tmp_path):
    touch(tmp_path / "ok.png", tmp_path / "locked" / "f.png")
    (tmp_path / "locked").chmod(0)
    try:
        items = expand_inputs([tmp_path / "locked" / "f.png", tmp_path / "ok.png"])
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert [(i.path.name, i.error) for i in items] == [
        ("f.png", "cannot read: permission denied"),
        ("ok.png", None),
    ]


def test_an_empty_input_name_is_not_the_current_folder(tmp_path, monkeypatch):
    touch(tmp_path / "x.png")
    monkeypatch.chdir(tmp_path)
    assert [(i.stem.as_posix(), i.error) for i in expand_inputs([""])] == [(".", "empty input name")]


def test_display_path_quotes_control_characters_as_the_shell_does():
    assert display_path("photos/a b.png") == "photos/a b.png"
    assert display_path("a\nb.png") == "$'a\\nb.png'"
    assert display_path("it's\t\x1b.png") == "$'it\\'s\\t\\x1b.png'"


def test_an_output_of_the_run_in_the_input_folder_is_not_an_input(tmp_path):
    for name in ("camera.png", "camera.jpg", "moon.png", "moon_lab.png"):
        (tmp_path / name).write_bytes(b"x")

    def to_jpg(path: Path) -> list[str]:
        return [".jpg"]

    items = expand_inputs([tmp_path], outdir=tmp_path, output_suffixes=to_jpg)
    images = {item.path.name: item.stem.as_posix() for item in items if item.warning is None}
    outputs = [item.path.name for item in items if item.warning == OUTPUT_OF_RUN]
    assert outputs == ["camera.jpg"]  # what camera.png gets with --format jpg
    assert images == {"camera.png": "camera", "moon.png": "moon", "moon_lab.png": "moon_lab"}
    # the same folder written elsewhere: every file is an input, names made distinct as before
    elsewhere = expand_inputs([tmp_path], outdir=tmp_path / "out", output_suffixes=to_jpg)
    assert sorted(item.stem.as_posix() for item in elsewhere) == [
        "camera_jpg",
        "camera_png",
        "moon",
        "moon_lab",
    ]
    # a file named by the user stays an input
    named = expand_inputs(
        [tmp_path / "camera.png", tmp_path / "camera.jpg"], outdir=tmp_path, output_suffixes=to_jpg
    )
    assert [item.warning for item in named] == [None, None]


def test_every_output_of_an_input_is_recognised(tmp_path):
    for name in ("x.png", "x.jpg", "x.uncertainty.png"):  # colorize -o . --format jpg --uncertainty, run once
        (tmp_path / name).write_bytes(b"x")
    items = expand_inputs([tmp_path], outdir=tmp_path, output_suffixes=lambda p: [".jpg", ".uncertainty.png"])
    assert [(item.path.name, item.warning) for item in items] == [
        ("x.jpg", OUTPUT_OF_RUN),
        ("x.png", None),
        ("x.uncertainty.png", OUTPUT_OF_RUN),
    ]
    assert items[1].stem == Path("x")
