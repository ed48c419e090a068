"""atomic_write: the file appears whole or not at all."""

from __future__ import annotations

import os

import pytest

from deepcolor.io import ImageError, atomic_write
from deepcolor.io.atomic import remove_own_files, written_files


def test_success_renames_into_place(tmp_path):
    with atomic_write(tmp_path / "sub" / "f.bin") as f:
        f.write(b"abc")
        assert not (tmp_path / "sub" / "f.bin").exists()  # not visible until complete
    assert (tmp_path / "sub" / "f.bin").read_bytes() == b"abc"
    assert os.listdir(tmp_path / "sub") == ["f.bin"]


def test_error_inside_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_write(tmp_path / "f.bin") as f:
            f.write(b"half")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_no_overwrite_even_when_the_file_appears_meanwhile(tmp_path):
    target = tmp_path / "f.bin"
    with pytest.raises(ImageError, match=r"f\.bin: already exists"):
        with atomic_write(target, overwrite=False) as f:
            f.write(b"new")
            target.write_bytes(b"someone else's")  # appears while we write
    assert target.read_bytes() == b"someone else's"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_unwritable_folder_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(ImageError, match=r"cannot write"):
        with atomic_write(tmp_path / "file" / "f.bin") as f:  # parent is a file
            f.write(b"x")


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_an_interrupt_just_after_the_temporary_file_is_created_leaves_nothing(
    tmp_path, monkeypatch, interrupt
):
    """A signal handler can raise between any two bytecodes, also right after the temporary file appears
    and before the writer has a file object (where tempfile.mkstemp would leave it behind)."""
    real_open = os.open

    def open_then_interrupt(*args, **kwargs):
        fd = real_open(*args, **kwargs)
        os.close(fd)
        raise interrupt

    monkeypatch.setattr(os, "open", open_then_interrupt)
    with pytest.raises(interrupt):
        with atomic_write(tmp_path / "f.bin") as f:
            f.write(b"never")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_temporary_names_are_hidden_and_unique(tmp_path):
    with atomic_write(tmp_path / "a.png") as f, atomic_write(tmp_path / "a.png") as g:
        names = sorted(os.listdir(tmp_path))
        assert len(names) == 2 and all(n.startswith(".a.png.") and n.endswith(".tmp") for n in names)
        f.write(b"1")
        g.write(b"2")
    assert os.listdir(tmp_path) == ["a.png"]


def test_own_files_are_removed_only_while_they_are_still_ours(tmp_path):
    with written_files() as written:
        with atomic_write(tmp_path / "mine.bin") as f:
            f.write(b"mine")
        with atomic_write(tmp_path / "replaced.bin") as f:
            f.write(b"mine too")
    assert [w.path.name for w in written] == ["mine.bin", "replaced.bin"]
    with atomic_write(tmp_path / "replaced.bin") as f:  # another process's file under the name since
        f.write(b"theirs")
    remove_own_files(written)
    assert sorted(os.listdir(tmp_path)) == ["replaced.bin"]
    assert (tmp_path / "replaced.bin").read_bytes() == b"theirs"


def test_nothing_is_recorded_outside_written_files(tmp_path):
    with written_files() as written:
        pass
    with atomic_write(tmp_path / "f.bin") as f:
        f.write(b"x")
    assert written == []
