"""deepcolor.scale on the test run's local Ray: the Dataset of rows, and a worker killed mid-run."""

from __future__ import annotations

import os
import sys

import pytest
from tests.scale.conftest import write_photos

from deepcolor.scale import RayColorizer, colorize_dataset

# Each test starts Ray workers (a model load each): seconds, not milliseconds.
pytestmark = pytest.mark.slow


class ExitOnceOnMarked(RayColorizer):
    """A worker that dies (the process exits, as if killed) the first time it meets an input named
    ``die*``: the flag file beside it records that it did."""

    def __call__(self, batch):
        for source in batch["source"]:
            flag = str(source) + ".died"
            if os.path.basename(str(source)).startswith("die") and not os.path.exists(flag):
                open(flag, "w").close()
                os._exit(1)
        return super().__call__(batch)


@pytest.fixture
def by_value(ray_address):
    """Ray's workers cannot import this test module: its classes travel by value."""
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def rows_of(dataset):
    return sorted(dataset.iter_rows(), key=lambda row: row["source"])


def test_dataset_rows_one_per_source_bad_files_included(ray_address, tmp_path):
    photos = write_photos(tmp_path / "in", 5)
    bad = tmp_path / "in" / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    sources = [*photos, bad]
    outputs = [tmp_path / "out" / p.name for p in sources]
    rows = rows_of(colorize_dataset(sources, outputs, "decolorize", workers=2, batch_size=2))
    assert [r["source"] for r in rows] == sorted(str(s) for s in sources)
    by_source = {r["source"]: r for r in rows}
    assert by_source[str(bad)]["status"] == "failed"
    assert by_source[str(bad)]["reason"].startswith(f"{bad}: ")
    assert all(by_source[str(p)]["status"] == "ok" for p in photos)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in photos)


def test_a_killed_worker_costs_only_its_batch(by_value, tmp_path):
    from PIL import Image

    photos = write_photos(tmp_path / "in", 7)
    marked = tmp_path / "in" / "die.png"
    photos[0].rename(marked)
    photos[0] = marked
    outputs = [tmp_path / "out" / p.name for p in photos]
    dataset = colorize_dataset(photos, outputs, "colorize", workers=2, batch_size=2, worker=ExitOnceOnMarked)
    rows = rows_of(dataset)
    assert (tmp_path / "in" / "die.png.died").exists()  # the worker did die once
    assert len(rows) == len(photos)  # one row per input: the retried batch is not counted twice
    assert {r["status"] for r in rows} == {"ok"}, rows
    for out in outputs:  # every output once and whole
        with Image.open(out) as im:
            im.load()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(o.name for o in outputs)


def test_bad_arguments(ray_address, tmp_path):
    with pytest.raises(ValueError, match="one output per source"):
        colorize_dataset(["a.png"], [], "colorize")
    with pytest.raises(ValueError, match="MIN <= MAX"):
        colorize_dataset(["a.png"], ["b.png"], "colorize", workers="3,1")
