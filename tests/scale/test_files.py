"""deepcolor.scale.files: atomic writes that leave no temporary file, local paths and file:// URLs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from deepcolor.io import ImageError
from deepcolor.scale import files


@pytest.mark.parametrize("as_url", [False, True])
def test_write_refuse_overwrite(tmp_path, as_url):
    target = tmp_path / "deep" / "a.png"
    location = target.as_uri() if as_url else str(target)
    files.write_bytes(location, b"first")
    assert files.exists(location) and files.read_bytes(location) == b"first"
    with pytest.raises(ImageError, match="exists; pass --overwrite to replace it"):
        files.write_bytes(location, b"second")
    files.write_bytes(location, b"third", overwrite=True)
    assert target.read_bytes() == b"third"
    assert os.listdir(target.parent) == ["a.png"]  # no temporary file left
    assert files.modified_time(location) == pytest.approx(target.stat().st_mtime, abs=1e-3)
    with pytest.raises(ImageError, match="no such file"):
        files.read_bytes(location + ".nope")


def test_a_writer_killed_before_the_link_leaves_nothing(tmp_path):
    """The bytes are written to an unnamed file: a process that dies before linking it leaves no trace."""
    code = (
        "import os, deepcolor.scale.files as f\n"
        "f._link = lambda *a: os._exit(9)\n"  # killed after writing and fsync, before the name is given
        f"f.write_bytes({str(tmp_path / 'a.png')!r}, b'x' * 100000)\n"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    assert os.listdir(tmp_path) == []
