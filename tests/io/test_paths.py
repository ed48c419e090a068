"""expand_inputs: files, folders, globs, missing inputs; output stems mirror names and never clash."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepcolor.io import InputItem, expand_inputs, is_image_name


def touch(*paths: Path) -> None:
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")


def stems(items: list[InputItem]) -> dict[str, str]:
    return {item.path.as_posix(): item.stem.as_posix() for item in items}


def test_files_folders_and_recursion(tmp_path):
    touch(tmp_path / "a" / "one.jpg", tmp_path / "a" / "two.PNG", tmp_path / "a" / "notes.txt",
          tmp_path / "a" / "sub" / "three.tif", tmp_path / "a" / ".hidden.png", tmp_path / "b.webp")
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
    touch(tmp_path / "shots" / "x1.jpg", tmp_path / "shots" / "x2.jpg", tmp_path / "shots" / "y.png",
          tmp_path / "shots" / "x3.txt", tmp_path / "shots" / "day2" / "x4.jpg")
    monkeypatch.chdir(tmp_path)
    assert stems(expand_inputs(["shots/x*"])) == {"shots/x1.jpg": "x1", "shots/x2.jpg": "x2"}
    assert stems(expand_inputs(["shots/**/*.jpg"])) == {
        "shots/day2/x4.jpg": "day2/x4", "shots/x1.jpg": "x1", "shots/x2.jpg": "x2"}


def test_missing_inputs_become_bad_items(tmp_path):
    touch(tmp_path / "ok.png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    touch(tmp_path / "nested" / "deeper" / "p.png")
    items = expand_inputs([tmp_path / "nope.png", str(tmp_path / "*.gif"), tmp_path / "ok.png",
                           tmp_path / "empty", tmp_path / "nested"])
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
        "a/x", "b/x", "y"]


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
