"""The video job API: start, progress to done, preview, result (a valid clip of the same frame count), cancel,
limits, unknown ids, cleanup after download. Tiny clips (32 x 24, a few frames) made with PyAV."""

from __future__ import annotations

import io
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from video_clips import grey, pan_frames, write_clip

from .helpers import files


def clip_bytes(tmp_path: Path, count: int = 6, rate: int = 25, name: str = "clip.mp4") -> bytes:
    frames = [grey(f) for f in pan_frames(count, size=(24, 32))]
    return write_clip(tmp_path / name, frames, rate=rate).read_bytes()


def frame_count(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        return sum(1 for _ in container.decode(video=0))


def wait_for(client, job_id: str, states: tuple[str, ...], timeout_s: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get(f"/api/videos/{job_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["state"] in states:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_a_clip_goes_from_queued_to_done_and_downloads_once(client, tmp_path):
    response = client.post("/api/videos", files=files(clip_bytes(tmp_path, 6), "my clip.mp4"))
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["state"] in ("queued", "running") and job["filename"] == "my clip.mp4"
    jobs = client.app.state.videos
    folder = jobs.jobs[job["id"]].folder
    assert folder.parent == jobs.root and folder.is_dir()

    done = wait_for(client, job["id"], ("done", "failed"))
    assert done["state"] == "done", done
    assert done["frames_done"] == done["frames_total"] == 6

    preview = client.get(f"/api/videos/{job['id']}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(preview.content)) as image:
        assert image.size == (32, 24)
        rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    assert float(np.ptp(rgb, axis=2).max()) > 3  # colour, not grey

    result = client.get(f"/api/videos/{job['id']}/result")
    assert result.status_code == 200, result.text
    assert result.headers["content-type"] == "video/mp4"
    assert "my%20clip_colorized.mp4" in result.headers["content-disposition"]
    assert frame_count(result.content) == 6
    # removed after the download: the job, its files
    assert not folder.exists()
    assert client.get(f"/api/videos/{job['id']}").status_code == 404
    assert client.get(f"/api/videos/{job['id']}/result").status_code == 404


def test_photos_get_through_while_a_clip_runs(client, tmp_path):
    from .helpers import encode, grey_photo

    job = client.post("/api/videos", files=files(clip_bytes(tmp_path, 24), "long.mp4")).json()
    photo = client.post("/api/colorize", files=files(encode(grey_photo())))
    assert photo.status_code == 200
    assert client.delete(f"/api/videos/{job['id']}").status_code == 200


def test_cancel_removes_the_files(client, tmp_path):
    response = client.post("/api/videos", files=files(clip_bytes(tmp_path, 32), "c.mp4"))
    assert response.status_code == 202
    job_id = response.json()["id"]
    folder = client.app.state.videos.jobs[job_id].folder
    cancelled = client.delete(f"/api/videos/{job_id}")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    body = wait_for(client, job_id, ("cancelled",))
    assert body["frames_done"] < 32
    deadline = time.monotonic() + 60
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not folder.exists()
    assert client.get(f"/api/videos/{job_id}/result").status_code == 409


def test_a_clip_over_the_length_limit_is_refused(make_client, tmp_path):
    small = make_client(max_video_seconds=0.5)
    response = small.post("/api/videos", files=files(clip_bytes(tmp_path, 30, rate=25), "long.mp4"))
    assert response.status_code == 413
    assert "long.mp4" in response.json()["error"] and "0.5 s" in response.json()["error"]
    assert list(small.app.state.videos.root.iterdir()) == []  # nothing kept


@pytest.mark.parametrize(
    ("data", "name"),
    [(b"not a video at all" * 50, "fake.mp4"), (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 300, "cut.mp4")],
)
def test_not_a_video_is_a_415_with_one_line(client, data, name):
    response = client.post("/api/videos", files=files(data, name))
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert error.startswith(f"{name}: ") and "\n" not in error and "/tmp" not in error


def test_a_truncated_clip_fails_the_job_with_one_line(client, tmp_path):
    data = clip_bytes(tmp_path, 12)
    response = client.post("/api/videos", files=files(data[: len(data) * 2 // 3], "cut.mp4"))
    if response.status_code == 415:  # refused on probing: as good
        return
    assert response.status_code == 202, response.text
    body = wait_for(client, response.json()["id"], ("done", "failed"))
    assert body["state"] == "failed" and body["error"].startswith("cut.mp4: ")
    assert "/tmp" not in body["error"]


def test_unknown_ids_and_bad_requests(client):
    assert client.get("/api/videos/nope").status_code == 404
    assert client.get("/api/videos/nope/preview").status_code == 404
    assert client.get("/api/videos/nope/result").status_code == 404
    assert client.delete("/api/videos/nope").status_code == 404
    assert client.post("/api/videos", files=files(b"x", "a.mp4", field="video")).status_code == 422
    bad = client.post("/api/videos", files=files(b"x", "a.mp4"), data={"temporal": "maybe"})
    assert bad.status_code == 422 and "temporal" in bad.json()["error"]


def test_the_upload_size_limit_holds(make_client, tmp_path):
    small = make_client(max_upload_mb=0.001)
    response = small.post("/api/videos", files=files(b"\x00" * 4096, "big.mp4"))
    assert response.status_code == 413


# ------------------------------------------------------------------------------------- hints and reference


def result_frames(client, job_id: str) -> list[np.ndarray]:
    body = wait_for(client, job_id, ("done", "failed"))
    assert body["state"] == "done", body
    result = client.get(f"/api/videos/{job_id}/result")
    assert result.status_code == 200, result.text
    with av.open(io.BytesIO(result.content)) as container:
        return [frame.to_ndarray(format="rgb24").astype(np.float64) for frame in container.decode(video=0)]


def hinted_clip(tmp_path: Path) -> bytes:
    frames = [grey(f) for f in pan_frames(8, size=(48, 64))]
    return write_clip(tmp_path / "hinted.mp4", frames, rate=25).read_bytes()


def test_a_hinted_job_differs_from_an_unhinted_one_where_the_hint_is(client, tmp_path):
    data = hinted_clip(tmp_path)
    plain = client.post("/api/videos", files=files(data, "plain.mp4"))
    assert plain.status_code == 202, plain.text
    plain_frames = result_frames(client, plain.json()["id"])
    hints = '{"points": [{"x": 40, "y": 20, "color": "#1f4fe0", "radius": 3, "frame": 2}]}'
    hinted = client.post("/api/videos", files=files(data, "hinted.mp4"), data={"hints": hints})
    assert hinted.status_code == 202, hinted.text
    hinted_frames = result_frames(client, hinted.json()["id"])
    assert len(hinted_frames) == len(plain_frames) == 8
    blue = np.array([0x1F, 0x4F, 0xE0], dtype=np.float64)

    def patch(frames: list[np.ndarray], t: int) -> np.ndarray:
        return frames[t][18:23, 38:43].reshape(-1, 3).mean(axis=0)

    # the hint acts from its frame on: bluer there than without it, and frame 0 (before it) is untouched
    for t in (2, 3):
        hinted_blue = patch(hinted_frames, t)[2] - patch(hinted_frames, t)[0]
        plain_blue = patch(plain_frames, t)[2] - patch(plain_frames, t)[0]
        assert hinted_blue > plain_blue + 20, (t, patch(hinted_frames, t), patch(plain_frames, t), blue)
    before = float(np.abs(hinted_frames[0] - plain_frames[0]).mean())
    assert before < 0.25 * float(np.abs(hinted_frames[3] - plain_frames[3]).mean()), before


def test_hints_as_a_file_part_and_by_time_are_taken(client, tmp_path):
    hints = b'{"points": [{"x": 10, "y": 10, "color": "red", "time": 0.04}]}'
    response = client.post(
        "/api/videos",
        files={**files(hinted_clip(tmp_path), "c.mp4"), "hints": ("h.json", hints, "application/json")},
    )
    assert response.status_code == 202, response.text
    assert len(result_frames(client, response.json()["id"])) == 8


@pytest.mark.parametrize(
    ("hints", "reason"),
    [
        ('{"points": [{"x": 1, "y": 2, "color": "red"}', "malformed JSON"),
        ('{"points": [{"x": 1, "y": 2, "color": "nocolour"}]}', "nocolour"),
        ('{"points": [{"x": 1, "y": 2, "color": "red", "frame": -1}]}', "frame"),
        ('{"points": [{"x": 1, "y": 2, "color": "red", "frame": 1, "time": 0.1}]}', "both frame and time"),
        ('{"points": [{"x": 64, "y": 2, "color": "red"}]}', "outside the frame (64 x 48)"),
        ('{"points": [{"x": 1, "y": 2, "color": "red", "frame": 8}]}', "past the clip's last frame (7)"),
        ('{"points": [{"x": 1, "y": 2, "color": "red", "time": 5}]}', "past the clip's end"),
    ],
)
def test_bad_hints_are_a_422_with_a_reason(client, tmp_path, hints, reason):
    response = client.post("/api/videos", files=files(hinted_clip(tmp_path), "c.mp4"), data={"hints": hints})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error.startswith("hints: ") and reason in error and "\n" not in error
    assert list(client.app.state.videos.root.iterdir()) == []  # nothing kept


def test_a_reference_steers_the_job_and_a_bad_one_is_refused(client, tmp_path):
    from .helpers import encode

    data = hinted_clip(tmp_path)
    plain = result_frames(client, client.post("/api/videos", files=files(data, "p.mp4")).json()["id"])
    red = np.zeros((40, 40, 3), dtype=np.uint8)
    red[..., 0] = 200
    red[..., 1:] = 30
    response = client.post(
        "/api/videos",
        files={**files(data, "r.mp4"), "reference": ("red.png", encode(red), "image/png")},
    )
    assert response.status_code == 202, response.text
    steered = result_frames(client, response.json()["id"])
    redness = [float(np.mean(f[..., 0] - f[..., 2])) for f in (plain[4], steered[4])]
    assert redness[1] > redness[0] + 3, redness

    bad = client.post(
        "/api/videos", files={**files(data, "r.mp4"), "reference": ("ref.png", b"not an image", "image/png")}
    )
    assert bad.status_code == 415, bad.text
    assert bad.json()["error"].startswith("ref.png") or "ref.png" in bad.json()["error"]
    text = client.post("/api/videos", files=files(data, "r.mp4"), data={"reference": "red"})
    assert text.status_code == 422 and "reference" in text.json()["error"]
