"""Synthetic clips for the video tests, made with PyAV from scikit-image's sample photos (nothing downloaded,
nothing third-party committed): a photo panned and zoomed (known motion, known colour truth), a hard cut, a
static clip, variable frame rate, a generated tone, rotation metadata.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

TONE_RATE = 8000


def photo(name: str = "astronaut") -> np.ndarray:
    """A scikit-image sample photo as (H, W, 3) float32 in [0, 1]."""
    from skimage import data

    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return image[:, :, :3].astype(np.float32) / 255.0


def view(image: np.ndarray, size: tuple[int, int], x: float, y: float, zoom: float = 1.0) -> np.ndarray:
    """A (h, w) window of `image` whose top-left is at (x, y) of the photo, each output pixel `zoom` photo
    pixels apart (bilinear)."""
    from scipy.ndimage import map_coordinates

    h, w = size
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    ys, xs = y + rows * zoom, x + cols * zoom
    return np.stack(
        [map_coordinates(image[:, :, c], [ys, xs], order=1, mode="nearest") for c in range(3)], axis=-1
    ).astype(np.float32)


def pan_frames(
    count: int,
    size: tuple[int, int] = (48, 64),
    step: float = 1.5,
    zoom_step: float = 0.0,
    cut_at: int | None = None,
    start: tuple[float, float] = (120.0, 100.0),
) -> list[np.ndarray]:
    """Colour frames (H, W, 3) float32: a window panning right by `step` frame pixels a frame (and zooming
    by `zoom_step` a frame) over the astronaut photo, switching to the coffee photo at `cut_at`."""
    frames = []
    for i in range(count):
        source = photo("coffee") if cut_at is not None and i >= cut_at else photo("astronaut")
        zoom = 3.0 * (1.0 + zoom_step * i)
        frames.append(view(source, size, start[0] + step * i * 3.0, start[1], zoom))
    return frames


def grey(rgb: np.ndarray) -> np.ndarray:
    """sRGB float (H, W, 3) -> uint8 (H, W, 3) with equal channels (Rec. 601 luma)."""
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.repeat((np.clip(luma, 0, 1) * 255 + 0.5).astype(np.uint8)[:, :, None], 3, axis=2)


def tone(seconds: float) -> np.ndarray:
    """A 440 Hz tone, mono float32 (1, N)."""
    t = np.arange(int(TONE_RATE * seconds)) / TONE_RATE
    return (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)[None]


def write_clip(
    path: Path,
    frames: list[np.ndarray],
    rate: int = 25,
    pts_ms: list[int] | None = None,
    rotation: int = 0,
    audio: bool = False,
    codec: str = "libx264",
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
) -> Path:
    """Encode `frames` (uint8 or float (H, W, 3)) as a clip; `pts_ms` gives each frame's time in ms (variable
    frame rate); `audio` adds an AAC tone as long as the clip."""
    out = av.open(str(path), "w", options=container_options or {})
    stream = out.add_stream(codec, rate=rate)
    height, width = frames[0].shape[:2]
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuv420p" if codec == "libx264" else stream.pix_fmt
    if options:
        stream.codec_context.options = options
    if pts_ms is not None:
        stream.time_base = Fraction(1, 1000)
    if rotation:
        stream.set_display_rotation(rotation)
    sound = out.add_stream("aac", rate=TONE_RATE) if audio else None
    for i, frame in enumerate(frames):
        array = frame if frame.dtype == np.uint8 else (np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8)
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
        if pts_ms is not None:
            video_frame.pts = pts_ms[i]
            video_frame.time_base = Fraction(1, 1000)
        for packet in stream.encode(video_frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    if sound is not None:
        seconds = (pts_ms[-1] / 1000 if pts_ms else len(frames) / rate) + 0.1
        samples = av.AudioFrame.from_ndarray(tone(seconds), format="fltp", layout="mono")
        samples.sample_rate = TONE_RATE
        samples.pts = 0
        for packet in sound.encode(samples):
            out.mux(packet)
        for packet in sound.encode():
            out.mux(packet)
    out.close()
    return path


def packets(path: Path, kind: str = "audio") -> list[bytes]:
    """The payloads of a clip's packets of one stream type, in order."""
    with av.open(str(path)) as container:
        streams = [s for s in container.streams if s.type == kind]
        return [bytes(p) for p in container.demux(streams[0]) if p.size]


def decode(path: Path) -> tuple[list[np.ndarray], list[int], av.video.stream.VideoStream]:
    """A clip's frames (uint8 RGB), their pts, and facts of its video stream (read while open)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames, pts = [], []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            pts.append(frame.pts)
            rotation = frame.rotation
        facts = {
            "time_base": stream.time_base,
            "sar": stream.sample_aspect_ratio,
            "rotation": rotation,
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
        }
    return frames, pts, facts
