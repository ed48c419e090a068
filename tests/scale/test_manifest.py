"""The manifest: one flushed JSON line per input, appended, readable while the run goes on."""

from __future__ import annotations

import json

import pytest

from deepcolor.scale.manifest import (
    FIELDS,
    ManifestWriter,
    count_statuses,
    manifest_row,
    open_manifest,
    read_manifest,
)


def test_rows_are_on_disk_as_soon_as_written(tmp_path):
    path = tmp_path / "sub" / "run.jsonl"
    writer = ManifestWriter(path)
    writer.write(manifest_row("a.png", "out/a.png", "ok", seconds=0.123456, model="m"))
    # not closed yet: another reader (or a crash now) already sees the whole line
    lines = path.read_text().splitlines()
    assert [json.loads(line)["source"] for line in lines] == ["a.png"]
    writer.write(manifest_row("b.png", "", "failed", "b.png: not an\nimage", model="m"))
    writer.close()
    writer.close()  # harmless
    rows = list(read_manifest(path))
    assert list(rows[0]) == list(FIELDS)
    assert rows[0]["seconds"] == 0.1235
    assert rows[1]["reason"] == "b.png: not an image"  # one line
    assert count_statuses(rows) == {"ok": 1, "failed": 1, "skipped": 0}


def test_appends_and_ignores_a_torn_last_line(tmp_path):
    path = tmp_path / "run.jsonl"
    with open_manifest(path) as writer:
        writer.write(manifest_row("a.png", "o/a.png", "ok"))
    with open_manifest(path) as writer:  # a rerun adds its rows after the first run's
        writer.write(manifest_row("b.png", "", "skipped", "o/b.png: exists; skipped"))
    with open(path, "a") as f:
        f.write('{"source": "c.png", "sta')  # a crash in the middle of a write
    assert [row["source"] for row in read_manifest(path)] == ["a.png", "b.png"]
    assert open_manifest(None) is None


def test_bad_status_and_closed_writer(tmp_path):
    with pytest.raises(ValueError, match="status"):
        manifest_row("a", "b", "done")
    writer = ManifestWriter(tmp_path / "m.jsonl")
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(manifest_row("a", "b", "ok"))
