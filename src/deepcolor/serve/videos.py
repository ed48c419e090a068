"""Video jobs: a clip uploaded to ``POST /api/videos`` is colorized in the background, its progress and a
preview of the current frame polled, its result downloaded once, or the job cancelled.

    POST   /api/videos               multipart `file` (the clip), optional `temporal`, `hints` (as for
                                     /api/colorize, points may give "frame" or "time"), `reference` (a
                                     colour photo) -> 202 {"id", ...}
    GET    /api/videos/{id}          state (queued|running|done|failed|cancelled), frames done / total
    GET    /api/videos/{id}/preview  the latest colour frame, JPEG (404 before the first)
    GET    /api/videos/{id}/result   the colour clip, same container; the job's files go once it is sent
    DELETE /api/videos/{id}          cancels a queued or running job and removes its files

The upload is read whole (the upload size limit, `Settings.max_upload_mb`) before anything else, written to
the job's own temporary folder under a name the server makes (nothing a client sends is used as a path; its
file name is only a label, and its extension picks the container when it is a known video extension), and
probed there: not a video, no video stream, frames over `--max-pixels` or a clip longer than
`--max-video-seconds` are a 4xx with one line. Hints and a reference are checked as the photo API checks them
(the library parses them, `deepcolor.hints.timed`; the engine decodes the reference) and against the clip
(points inside its frames as displayed, frames and times inside the clip) before the job is queued. Jobs run
one at a time on a slot of their own (`Settings.video_queue` more may wait, beyond that a 503), so photos
still get through the work pool while a clip runs. A job's folder is removed after its result is downloaded,
when it is cancelled, and an hour (`Settings.video_keep_s`) after it ended; every folder is removed when the
server stops.
"""

from __future__ import annotations

import asyncio
import io
import logging
import mimetypes
import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from deepcolor.errors import DeepcolorError
from deepcolor.hints.points import load_hint_json
from deepcolor.hints.timed import TimedHints
from deepcolor.serve.engine import MAX_HINTS, Engine, _library
from deepcolor.serve.errors import ClientError, one_line
from deepcolor.serve.forms import Form, Upload
from deepcolor.serve.routes import _ERRORS, _check_token, _engine, _file, _form, _pool, _text_fields
from deepcolor.serve.settings import Settings

log = logging.getLogger("deepcolor.serve")
STATES = ("queued", "running", "done", "failed", "cancelled")
PREVIEW_SIDE = 480


class _Cancelled(Exception):
    """Raised in the worker from the progress callback when the job was cancelled."""


@dataclass
class VideoJob:
    """One clip's job. `state`, `done`, `total`, `error` and `preview` are written by the worker thread."""

    id: str
    label: str
    suffix: str
    folder: Path
    temporal: bool = True
    hints: TimedHints | None = None
    reference: np.ndarray | None = None  # (H, W, 3) float sRGB, decoded at admission
    state: str = "queued"
    done: int = 0
    total: int | None = None
    error: str | None = None
    preview: np.ndarray | None = None
    ended: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    future: Future | None = None

    @property
    def source(self) -> Path:
        return self.folder / f"source{self.suffix}"

    @property
    def output(self) -> Path:
        return self.folder / f"colorized{self.suffix}"

    @property
    def result_name(self) -> str:
        stem = Path(self.label).stem or "video"
        return f"{stem}_colorized{self.suffix}"

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "frames_done": self.done,
            "frames_total": self.total,
            "error": self.error,
            "filename": self.label,
            "result_name": self.result_name,
        }


def _suffix(label: str) -> str:
    from deepcolor.io.video import VIDEO_EXTENSIONS

    suffix = Path(label).suffix.lower()
    return suffix if suffix in VIDEO_EXTENSIONS else ".mp4"


class VideoJobs:
    """The jobs of one server: a folder of their own, one worker thread, `queue` waiting places.

    Args:
        settings: the server's settings (limits, how long results are kept).
        colorizer: the model that colours the clips (the server's default).
    """

    def __init__(self, settings: Settings, colorizer: Any) -> None:
        self.settings = settings
        self.colorizer = colorizer
        self.root = Path(tempfile.mkdtemp(prefix="deepcolor-videos-"))
        self.jobs: dict[str, VideoJob] = {}
        self.lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepcolor-video")

    # ------------------------------------------------------------------------------------------ bookkeeping

    def sweep(self) -> None:
        """Forget the jobs that ended more than `video_keep_s` ago, removing their files."""
        now = time.monotonic()
        with self.lock:
            old = [
                j
                for j in self.jobs.values()
                if j.ended is not None and now - j.ended > self.settings.video_keep_s
            ]
            for job in old:
                del self.jobs[job.id]
        for job in old:
            shutil.rmtree(job.folder, ignore_errors=True)

    def get(self, job_id: str) -> VideoJob:
        self.sweep()
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise ClientError(
                404, f"no video job {job_id[:40]!r} (unknown, or its result was downloaded or expired)"
            )
        return job

    # -------------------------------------------------------------------------------------------- starting

    def admit(self, upload: Upload, options: VideoOptions, engine: Engine) -> VideoJob:
        """Check the guidance, write the upload into a new job's folder and probe it; a ClientError (and no
        folder) when it is not a clip this server takes or the guidance is bad. Runs on a thread (it decodes
        the reference, writes and probes a file); `engine` decodes the reference as for photos."""
        from deepcolor.io.video import VideoError, VideoReader

        hints = self._hints(options.hints)
        reference = None
        if options.reference is not None:
            self._guided("reference")
            reference = _library(engine._reference, options.reference, False)
        job = VideoJob(
            secrets.token_hex(12),
            upload.filename,
            _suffix(upload.filename),
            Path(),
            options.temporal,
            hints,
            reference,
        )
        job.folder = Path(tempfile.mkdtemp(prefix="job-", dir=self.root))
        try:
            job.source.write_bytes(upload.data)
            try:
                with VideoReader(job.source, self.settings.max_pixels) as reader:
                    info = reader.info
            except VideoError as error:
                status = 413 if "over the limit" in error.problem else 415
                raise ClientError(status, f"{job.label}: {error.problem}") from None
            seconds = info.duration
            if seconds is None and info.frames and info.rate:
                seconds = info.frames / float(info.rate)
            limit = self.settings.max_video_seconds
            if seconds is not None and seconds > limit:
                raise ClientError(
                    413,
                    f"{job.label}: the clip is {seconds:.1f} s long, over this server's limit of {limit:g} s",
                )
            job.total = info.frames
            if hints:
                _check_hints_fit(hints, info, seconds)
        except BaseException:
            shutil.rmtree(job.folder, ignore_errors=True)
            raise
        return job

    def _guided(self, field_name: str) -> None:
        """A 422 when the server's model takes no guidance (the engine's rule: hint and reference inputs)."""
        takes = {spec.name for spec in self.colorizer.conditions}
        if not {"hints", "global_hints"} <= takes:
            raise ClientError(
                422, f"{field_name}: model {self.colorizer.name!r} takes no colour hints or reference"
            )

    def _hints(self, text: str | None) -> TimedHints | None:
        """The hints field, parsed by the library as a clip's hint file (points may give frame / time)."""
        if text is None:
            return None
        timed = _library(lambda: TimedHints.parse(load_hint_json(text, "hints"), "hints"))
        count = sum(len(points) for points in timed.by_frame.values()) + len(timed.by_time)
        if count > MAX_HINTS:
            raise ClientError(422, f"hints: {count} points; at most {MAX_HINTS}")
        if not timed:
            return None
        self._guided("hints")
        return timed

    def submit(self, job: VideoJob) -> None:
        """Queue an admitted job (a 503, its folder removed, when every waiting place is taken)."""
        self.sweep()
        with self.lock:
            active = sum(1 for j in self.jobs.values() if j.state in ("queued", "running"))
            if active >= 1 + self.settings.video_queue:
                shutil.rmtree(job.folder, ignore_errors=True)
                raise ClientError(
                    503,
                    f"the server is busy with {active} clips; try again later",
                    headers={"Retry-After": str(max(self.settings.retry_after_s, 5))},
                )
            self.jobs[job.id] = job
        job.future = self._executor.submit(self._run, job)

    # -------------------------------------------------------------------------------------------- running

    def _run(self, job: VideoJob) -> None:
        from deepcolor.inference.video import colorize_video

        with self.lock:
            if job.state != "queued":
                return
            job.state = "running"

        def progress(done: int, total: int | None) -> None:
            job.done = done
            if total:
                job.total = max(total, done)
            if job.cancel.is_set():
                raise _Cancelled

        def on_frame(rgb: np.ndarray) -> None:
            job.preview = rgb

        try:
            colorize_video(
                job.source,
                job.output,
                model=self.colorizer,
                temporal=job.temporal,
                hints=job.hints,
                reference=job.reference,
                progress=progress,
                on_frame=on_frame,
                max_pixels=self.settings.max_pixels,
            )
            with self.lock:
                if job.state == "running":
                    job.total = job.done
                    job.state = "done"
        except _Cancelled:
            pass
        except (DeepcolorError, ValueError) as error:
            problem = getattr(error, "problem", None) or str(error)
            problem = problem.replace(str(job.source), job.label).replace(str(job.folder), "")
            self._fail(job, one_line(f"{job.label}: {problem}"))
        except Exception as error:  # noqa: BLE001 - the server's fault: logged, the job failed
            log.exception("deepcolor serve: video job %s failed", job.id)
            self._fail(
                job, f"{job.label}: internal error ({type(error).__name__}); the server's log has the details"
            )
        finally:
            job.ended = time.monotonic()
            job.source.unlink(missing_ok=True)
            if job.state != "done":
                shutil.rmtree(job.folder, ignore_errors=True)

    def _fail(self, job: VideoJob, message: str) -> None:
        with self.lock:
            if job.state == "running":
                job.state = "failed"
                job.error = message

    # ------------------------------------------------------------------------------------------- the rest

    def cancel(self, job: VideoJob) -> None:
        """Cancel a queued or running job (its worker removes its files); an ended one's files go now."""
        with self.lock:
            if job.state in ("queued", "running"):
                was = job.state
                job.state = "cancelled"
                job.cancel.set()
                if was == "queued" and job.future is not None and job.future.cancel():
                    job.ended = time.monotonic()
                    shutil.rmtree(job.folder, ignore_errors=True)
                return
            if job.state == "done":
                job.state = "cancelled"
        shutil.rmtree(job.folder, ignore_errors=True)

    def forget(self, job: VideoJob) -> None:
        """After its result was sent: the job and its files go."""
        with self.lock:
            self.jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def shutdown(self) -> None:
        """Cancel every job, wait for the worker, remove every folder."""
        with self.lock:
            for job in self.jobs.values():
                job.cancel.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.root, ignore_errors=True)


def preview_jpeg(rgb: np.ndarray) -> bytes:
    """A frame as a JPEG at most `PREVIEW_SIDE` pixels on its longer side."""
    from PIL import Image

    image = Image.fromarray(rgb)
    image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------- routes

video_router = APIRouter(
    prefix="/api", dependencies=[Depends(_check_token)], responses=_ERRORS, tags=["videos"]
)


def _jobs(request: Request) -> VideoJobs:
    return request.app.state.videos


@dataclass
class VideoOptions:
    """A video job's options as the form gave them (checked in `VideoJobs.admit`)."""

    temporal: bool = True
    hints: str | None = None  # the hints field's JSON text
    reference: Upload | None = None


def _options(form: Form) -> VideoOptions:
    """The form's options: `temporal`, `hints` (text, or a file part as for the photo API), `reference`."""
    fields = _text_fields(form, ("file", "reference"))
    unknown = sorted(set(fields) - {"temporal", "hints"})
    if unknown:
        raise ClientError(
            422,
            f"unknown field {unknown[0]!r} (a video job takes 'file', 'temporal', 'hints' and 'reference')",
        )
    text = fields.get("temporal", "true").strip().lower()
    if text not in ("true", "false", "1", "0"):
        raise ClientError(422, f"temporal: expected true or false. Got {text[:20]!r}")
    return VideoOptions(text in ("true", "1"), fields.get("hints"), _file(form, "reference", required=False))


def _check_hints_fit(hints: TimedHints, info: Any, seconds: float | None) -> None:
    """422 for a point outside the clip's frames as displayed, or a frame / time past the clip's end."""
    width, height = (info.height, info.width) if (info.rotation // 90) % 2 else (info.width, info.height)
    timed = [(f"frame {frame}", p) for frame, points in hints.by_frame.items() for p in points]
    timed += [(f"time {t:g} s", p) for t, p in hints.by_time]
    for when, p in timed:
        if not (0 <= p.x <= width - 1 and 0 <= p.y <= height - 1):
            raise ClientError(
                422, f"hints: point ({p.x:g}, {p.y:g}) of {when} is outside the frame ({width} x {height})"
            )
    last = hints.last_frame()
    if info.frames and last >= info.frames:
        raise ClientError(422, f"hints: frame {last} is past the clip's last frame ({info.frames - 1})")
    latest = max((t for t, _ in hints.by_time), default=None)
    if latest is not None and seconds is not None and latest > seconds:
        raise ClientError(422, f"hints: time {latest:g} s is past the clip's end ({seconds:.2f} s)")


@video_router.post("/videos", status_code=202)
async def start_video(request: Request) -> dict[str, Any]:
    """Upload a clip (multipart field `file`; `temporal`: true (default) or false; `hints`: JSON as for
    /api/colorize, each point optionally with "frame" or "time", carried through its shot; `reference`: a
    colour photo that steers the whole clip) to be colorized in the background: 202 with the job's id and
    state; poll ``GET /api/videos/{id}``."""
    async with _pool(request).buffer() as received:
        form = await _form(request, received)
        options = _options(form)
        upload = _file(form)
        job = await asyncio.to_thread(_jobs(request).admit, upload, options, _engine(request))
    _jobs(request).submit(job)
    return job.body()


@video_router.get("/videos/{job_id}")
async def video_state(request: Request, job_id: str) -> dict[str, Any]:
    """A job's state (queued, running, done, failed, cancelled), frames done and total, and its error."""
    return _jobs(request).get(job_id).body()


@video_router.get("/videos/{job_id}/preview", response_class=Response)
async def video_preview(request: Request, job_id: str) -> Response:
    """The latest colour frame, as a JPEG (404 before the first frame is done)."""
    frame = _jobs(request).get(job_id).preview
    if frame is None:
        raise ClientError(404, "no frame is colorized yet")
    data = await asyncio.to_thread(preview_jpeg, frame)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@video_router.get("/videos/{job_id}/result", response_class=FileResponse)
async def video_result(request: Request, job_id: str) -> FileResponse:
    """The colour clip (the upload's container); the job and its files are removed once it is sent."""
    jobs = _jobs(request)
    job = jobs.get(job_id)
    if job.state != "done":
        raise ClientError(409, f"the job is {job.state}, not done" + (f": {job.error}" if job.error else ""))
    media_type = mimetypes.guess_type(job.result_name)[0] or "application/octet-stream"
    return FileResponse(
        job.output,
        media_type=media_type,
        filename=job.result_name,
        headers={"Cache-Control": "no-store"},
        background=BackgroundTask(jobs.forget, job),
    )


@video_router.delete("/videos/{job_id}")
async def cancel_video(request: Request, job_id: str) -> dict[str, Any]:
    """Cancel a queued or running job and remove its files."""
    jobs = _jobs(request)
    job = jobs.get(job_id)
    jobs.cancel(job)
    return job.body()
