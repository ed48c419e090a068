"""RayColorizer, called directly (as Ray calls it on a worker): rows for every input, the local engine's
bytes, atomic writes, retries, memory, fsspec URLs. No Ray needed here; tests/scale/test_ray.py runs it on
Ray.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest
from tests.scale.conftest import write_photos

from deepcolor.scale.worker import RESULT_COLUMNS, RayColorizer


@pytest.fixture(scope="module")
def colorize_worker():
    return RayColorizer("colorize", options={"saturation": 1.2}, batch_size=3)


def call(worker, sources, outputs, options=None):
    batch = {"source": np.array([str(s) for s in sources]), "output": np.array([str(o) for o in outputs])}
    if options is not None:
        batch["options"] = np.array([json.dumps(o) for o in options])
    out = worker(batch)
    assert list(out) == list(RESULT_COLUMNS)
    return [dict(zip(out, values, strict=True)) for values in zip(*out.values(), strict=True)]


def no_temp_files(folder):
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_rows_and_bytes_equal_the_local_pipeline(tmp_path, colorize_worker):
    from deepcolor.inference.images import process_file

    photos = write_photos(tmp_path / "in", 5)
    bad = tmp_path / "in" / "bad.png"
    bad.write_bytes(b"not an image at all")
    missing = tmp_path / "in" / "missing.png"
    sources = [*photos[:2], bad, missing, *photos[2:]]
    outputs = [tmp_path / "out" / "sub" / p.name for p in sources]
    rows = call(colorize_worker, sources, outputs)
    assert [r["source"] for r in rows] == [str(s) for s in sources]
    assert [r["status"] for r in rows] == ["ok", "ok", "failed", "failed", "ok", "ok", "ok"]
    assert rows[2]["reason"].startswith(f"{bad}: ") and "\n" not in rows[2]["reason"]
    assert rows[3]["reason"].startswith(f"{missing}: ")
    assert all(r["model"] == colorize_worker.model_name for r in rows)
    assert all(r["seconds"] > 0 for r in rows if r["status"] == "ok")
    for source, output, row in zip(sources, outputs, rows, strict=True):
        if row["status"] != "ok":
            assert not output.exists()
            continue
        reference = tmp_path / "ref.png"
        process_file(source, reference, colorize_worker.colorizer, "colorize", saturation=1.2)
        assert output.read_bytes() == reference.read_bytes(), source
        reference.unlink()
    assert no_temp_files(tmp_path)


def test_existing_outputs_skipped_refused_or_taken_as_a_retry(tmp_path, colorize_worker):
    photos = write_photos(tmp_path / "in", 2)
    outputs = [tmp_path / "out" / p.name for p in photos]
    outputs[0].parent.mkdir()
    for out in outputs:
        out.write_bytes(b"older")
        os.utime(out, (time.time() - 3600, time.time() - 3600))
    rows = call(colorize_worker, photos, outputs)  # the worker was made before: these files are older
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert rows[0]["reason"] == f"{outputs[0]}: exists; pass --overwrite to replace it"
    skipping = RayColorizer("decolorize", skip_existing=True)
    assert [r["status"] for r in call(skipping, photos, outputs)] == ["skipped", "skipped"]
    # a file written after the run began is this run's own (Ray retried the batch): ok, not written again
    os.utime(outputs[1])
    rows = call(skipping, photos, outputs)
    assert [r["status"] for r in rows] == ["skipped", "ok"]
    assert outputs[1].read_bytes() == b"older"


def test_enhance_and_decolorize_equal_the_local_pipeline(tmp_path, colorize_worker):
    from deepcolor.decolor.api import decolorize_file
    from deepcolor.inference.images import process_file

    rgb_path = tmp_path / "in" / "colour.png"
    rgb_path.parent.mkdir()
    from PIL import Image
    from tests.conftest import make_rgb, to_uint8

    Image.fromarray(to_uint8(make_rgb(30, 40))).save(rgb_path)
    enhance = RayColorizer("enhance", options={"strength": 0.6, "clahe": True, "clahe_limit": 0.01})
    rows = call(enhance, [rgb_path], [tmp_path / "e.png"])
    assert rows[0]["status"] == "ok", rows[0]
    process_file(rgb_path, tmp_path / "e_ref.png", enhance.colorizer, "enhance", strength=0.6, clahe=True)
    assert (tmp_path / "e.png").read_bytes() == (tmp_path / "e_ref.png").read_bytes()

    grey = RayColorizer("decolorize", options={"method": "lcp"})
    assert grey.model_name == "lcp"
    outputs = [tmp_path / "d.jpg", tmp_path / "d16.png"]
    rows = call(grey, [rgb_path, rgb_path], outputs, [{}, {"bit_depth": 16}])
    assert [r["status"] for r in rows] == ["ok", "ok"]
    decolorize_file(rgb_path, tmp_path / "d_ref.jpg", "lcp")
    decolorize_file(rgb_path, tmp_path / "d16_ref.png", "lcp", bit_depth=16)
    assert (tmp_path / "d.jpg").read_bytes() == (tmp_path / "d_ref.jpg").read_bytes()
    assert (tmp_path / "d16.png").read_bytes() == (tmp_path / "d16_ref.png").read_bytes()
    with pytest.raises(ValueError, match="unknown decolorization method"):
        RayColorizer("decolorize", options={"method": "nope"})
    with pytest.raises(ValueError, match="task"):
        RayColorizer("paint")


def test_an_image_too_big_for_the_worker_fails_alone(tmp_path):
    photos = write_photos(tmp_path / "in", 1)
    big = tmp_path / "in" / "big.png"
    from PIL import Image

    Image.new("L", (1000, 800), 128).save(big)  # 0.8 MP: about 38 MB to process at 48 bytes a pixel
    worker = RayColorizer("decolorize", memory_limit=8_000_000)
    rows = call(worker, [big, photos[0]], [tmp_path / "o" / "big.png", tmp_path / "o" / "p.png"])
    assert [r["status"] for r in rows] == ["failed", "ok"]
    assert rows[0]["reason"].startswith(f"{big}: not enough memory on this worker: 1000 x 800 pixels need")
    assert not (tmp_path / "o" / "big.png").exists()


def test_fsspec_file_urls(tmp_path, colorize_worker):
    from deepcolor.inference.images import process_file

    photos = write_photos(tmp_path / "in", 2)
    sources = [p.resolve().as_uri() for p in photos]  # file:///...
    outputs = [(tmp_path / "out" / "deep" / p.name).resolve().as_uri() for p in photos]
    missing = (tmp_path / "in" / "gone.png").resolve().as_uri()
    rows = call(colorize_worker, [*sources, missing], [*outputs, outputs[0] + ".x.png"])
    assert [r["status"] for r in rows] == ["ok", "ok", "failed"]
    assert rows[2]["reason"] == f"{missing}: no such file"
    process_file(photos[1], tmp_path / "ref.png", colorize_worker.colorizer, "colorize", saturation=1.2)
    assert (tmp_path / "out" / "deep" / photos[1].name).read_bytes() == (tmp_path / "ref.png").read_bytes()
    assert no_temp_files(tmp_path)
    rows = call(colorize_worker, sources[:1], outputs[:1])  # no overwrite through fsspec either
    assert rows[0]["status"] == "ok" and "earlier try" in rows[0]["reason"]
