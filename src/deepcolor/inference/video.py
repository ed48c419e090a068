"""THE video pipeline: a clip (a file FFmpeg reads, or a folder of numbered frames) -> a colour clip, and the
same on NumPy frames for people with their own I/O.

    deepcolor.colorize_video("old.mp4", "colour.mp4", hints="old.json", reference="1962.jpg")
    for rgb in colorize_frames(frames):                  # (H, W, 3) arrays in, colour arrays out, in order
        ...

Streaming: frames are decoded (`deepcolor.io.video`), gathered `batch_size` at a time, their L* taken to the
render size, the optical flow of the grey frames computed in order (`temporal.FlowTracker`: shot cuts, and
the motion that carries hints through their shot), the network run on the batch (`Colorizer.predict_low_many`,
the batch API shared with images), each prediction blended with the previous output carried along the flow
(`temporal.Stabilizer`), brought to full resolution along the frame's own edges and joined with its own L*
(the Colorizer's upsampler and join), and encoded at once. Memory holds one batch of frames, whatever the
clip's length. `temporal=False` colours each frame on its own (the network still runs in batches).

Guidance: `hints` (a hint file, or points, each with an optional ``frame`` / ``time``, see
`deepcolor.hints.timed`) start at their frame and are moved along the flow to every later frame of their shot
(given to the network on each); `reference` (a colour photo) steers every frame.
"""

from __future__ import annotations

import contextlib
import os
import time as _time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepcolor.hints.points import HintError, PointHint
from deepcolor.hints.timed import TimedHints, displayed_to_coded
from deepcolor.inference.bands import single_threaded
from deepcolor.inference.pipeline import Colorizer, colorizer_for, lightness, to_render_size
from deepcolor.inference.temporal import FlowTracker, Motion, Stabilizer, grey_u8, track_points
from deepcolor.inference.upsample import fit_guided
from deepcolor.io.loaded import DEFAULT_MAX_PIXELS
from deepcolor.io.video import (
    Frame,
    SequenceWriter,
    VideoError,
    VideoReader,
    VideoWriter,
    read_sequence,
    sequence_frames,
)

# Frames per network pass. 8 at render size 160 is past the point where a larger batch is faster on a 2-core
# CPU, and 8 frames of 1080p L* are 66 MB.
DEFAULT_VIDEO_BATCH = 8

Progress = Callable[[int, "int | None"], None]


@dataclass
class VideoResult:
    """What `colorize_video` did: the output, frames written, seconds taken, shots found, notes (warnings
    about streams re-encoded or left out)."""

    path: Path
    frames: int
    seconds: float
    shots: int
    notes: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Pending:
    frame: Frame
    l: torch.Tensor  # (1, 1, H, W) L*
    l_low: torch.Tensor | None  # (1, 1, h, w) L* at the render size, where the flow needed it
    motion: Motion
    points: list[PointHint]
    codes: bool  # the frame came as 8-bit codes: so does its result


class ClipColorizer:
    """Colour the frames of one clip in order (one instance per clip: it holds the clip's temporal state).

    Args:
        colorizer: the loaded model (`Colorizer`).
        temporal: carry colours along the optical flow (see `deepcolor.inference.temporal`); False: frame by
            frame.
        hints: `TimedHints` (or anything `TimedHints.parse` takes), in displayed pixels.
        reference: a colour photo (H', W', 3) float in [0, 1] that steers every frame, or None.
        render_size: longer side seen by the network (None: the model's).
        saturation: factor on the predicted chroma.
        batch_size: frames per network pass.
        rotation: the clip's display rotation (degrees counter-clockwise), to map hints to coded frames.
        frame_duration: seconds per frame, to place hints given by time.
    """

    def __init__(
        self,
        colorizer: Colorizer,
        *,
        temporal: bool = True,
        hints: Any = None,
        reference: np.ndarray | None = None,
        render_size: int | None = None,
        saturation: float = 1.0,
        batch_size: int = DEFAULT_VIDEO_BATCH,
        rotation: int = 0,
        frame_duration: float | None = None,
    ) -> None:
        self.colorizer = colorizer
        self.temporal = temporal
        self.hints = TimedHints.parse(hints)
        self.reference = reference
        self.render_size = render_size or colorizer.render_size
        self.saturation = saturation
        self.batch_size = max(1, int(batch_size))
        self.rotation = rotation
        self.frame_duration = frame_duration
        self.tracker = FlowTracker()
        self.stabilizer = Stabilizer()
        self.shots = 0
        self._active: list[PointHint] = []  # hints carried in the current shot, in coded pixels
        self._global: torch.Tensor | None = None
        self._workspace: dict[tuple[int, int, int], tuple[torch.Tensor, ...]] = {}  # the join's buffers
        self._workspace_size: torch.Size | None = None
        if reference is not None:
            from deepcolor.inference.guidance import guidance_conditions

            self._global = guidance_conditions(colorizer, 8, 8, None, reference, "reference")["global_hints"]
        if self.hints:
            from deepcolor.inference.guidance import guidance_conditions

            guidance_conditions(colorizer, 8, 8, [(0, 0, "#808080")], None, "hints")  # the model takes hints?

    def run(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, np.ndarray]]:
        """Each frame with its colour result, (H, W, 3) sRGB, in order: uint8 codes for a frame that came
        as uint8 (a decoded video: what the encoder takes, with no full-size float copy), else float32 in
        [0, 1]."""
        batch: list[_Pending] = []
        for frame in frames:
            batch.append(self._prepare(frame))
            if len(batch) >= self.batch_size:
                yield from self._finish(batch)
                batch = []
        if batch:
            yield from self._finish(batch)

    def _prepare(self, frame: Frame) -> _Pending:
        rgb = frame.rgb
        if (
            rgb.ndim == 3
            and np.array_equal(rgb[:, :, 0], rgb[:, :, 1])
            and np.array_equal(rgb[:, :, 0], rgb[:, :, 2])
        ):
            rgb = rgb[:, :, 0]  # a grey frame (old film): L* of one channel, through a table
        codes = rgb.dtype == np.uint8
        l = lightness(rgb, self.colorizer.device)  # integer levels taken as they are decoded
        height, width = l.shape[-2:]
        motion = Motion.new_shot()
        l_low = None
        if self.temporal or self.hints:
            l_low = to_render_size(l, self.render_size)
            motion = self.tracker.observe(grey_u8(l_low[0, 0].cpu().numpy()))
        if motion.cut:
            if self.temporal or self.hints or not self.shots:  # frame by frame: cuts are not looked for
                self.shots += 1
            self._active = []
        elif self._active:
            scale = (motion.forward.shape[1] / width, motion.forward.shape[0] / height)
            moved = track_points([(p.x, p.y) for p in self._active], motion, scale)
            self._active = [
                PointHint(xy[0], xy[1], p.rgb, p.radius)
                for p, xy in zip(self._active, moved, strict=True)
                if xy
            ]
        if self.hints:
            shown_w, shown_h = (height, width) if (self.rotation // 90) % 2 else (width, height)
            for p in self.hints.starting_at(frame.index, frame.time, self.frame_duration):
                if not (0 <= p.x <= shown_w - 1 and 0 <= p.y <= shown_h - 1):
                    raise HintError(
                        f"hints: point ({p.x:g}, {p.y:g}) of frame {frame.index} is outside the frame "
                        f"({shown_w} x {shown_h} as displayed)"
                    )
                x, y = displayed_to_coded(p.x, p.y, width, height, self.rotation)
                self._active.append(PointHint(x, y, p.rgb, p.radius))
        frame.rgb = None  # only its L* is needed from here on: a batch holds no decoded pixels
        return _Pending(frame, l, l_low, motion, list(self._active), codes)

    def _conditions(self, item: _Pending) -> dict[str, torch.Tensor] | None:
        out: dict[str, torch.Tensor] = {}
        height, width = item.l.shape[-2:]
        if item.points:
            from deepcolor.hints.points import hint_map

            inside = [p for p in item.points if 0 <= p.x <= width - 1 and 0 <= p.y <= height - 1]
            if inside:
                out["hints"] = torch.from_numpy(hint_map(inside, height, width, "hints"))[None]
        if self._global is not None:
            out["global_hints"] = self._global
        return out or None

    def _finish(self, batch: list[_Pending]) -> Iterator[tuple[Frame, np.ndarray]]:
        colorizer = self.colorizer
        predictions = colorizer.predict_low_many(
            [item.l for item in batch],
            [self.render_size] * len(batch),
            [self._conditions(item) for item in batch],
            batch_size=self.batch_size,
            ls_low=[item.l_low for item in batch],
        )
        for item, (l_low, ab_low) in zip(batch, predictions, strict=True):
            if self.temporal:
                ab = ab_low[0].permute(1, 2, 0).cpu().numpy()
                ab = self.stabilizer.blend(item.motion, ab)
                ab_low = torch.from_numpy(np.ascontiguousarray(ab.transpose(2, 0, 1)))[None].to(l_low.device)
            threads = single_threaded() if colorizer.device.type == "cpu" else contextlib.nullcontext()
            with torch.inference_mode(), threads:
                coefficients = fit_guided(
                    l_low / 100.0,
                    ab_low,
                    tuple(item.l.shape[-2:]),
                    radius=colorizer.radius,
                    eps=colorizer.eps,
                )
            dtype = np.uint8 if item.codes else np.float32
            if self._workspace_size != item.l.shape:  # another frame size: other bands
                self._workspace.clear()
                self._workspace_size = item.l.shape
            rgb = colorizer._join(
                item.l, coefficients, self.saturation, None, dtype=dtype, workspace=self._workspace
            )
            yield item.frame, rgb


def _as_output(rgb: np.ndarray, like: np.dtype) -> np.ndarray:
    if rgb.dtype == like:
        return rgb
    if like == np.uint8:
        return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if like == np.uint16:
        return (np.clip(rgb, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
    return rgb


def colorize_frames(
    frames: Iterable[np.ndarray],
    model: str | os.PathLike[str] | Colorizer = "default",
    *,
    temporal: bool = True,
    hints: Any = None,
    reference: Any = None,
    render_size: int | None = None,
    saturation: float = 1.0,
    batch_size: int = DEFAULT_VIDEO_BATCH,
    fps: float | None = None,
) -> Iterator[np.ndarray]:
    """Colour a clip given as NumPy frames, in order; lazily (one batch of frames held at a time).

    Args:
        frames: (H, W, 3) sRGB or (H, W) grey frames, uint8, uint16 or float in [0, 1]; all of one size for
            the temporal mode to carry colour (a frame of another size starts a new shot).
        model: a `Colorizer` or what `Colorizer` takes.
        temporal: carry colours along the optical flow (False: frame by frame).
        hints: points with an optional ``frame`` / ``time`` (see `deepcolor.hints.timed`), or a hint file.
        reference: a colour photo (path, array, PIL image) that steers every frame.
        render_size, saturation: as for photos.
        batch_size: frames per network pass.
        fps: frames per second, for hints given by ``time``.

    Yields:
        (H, W, 3) colour frames, of the input's dtype (uint8 / uint16), else float32 in [0, 1].
    """
    colorizer = colorizer_for(model)
    reference_rgb = _reference(reference)
    clip = ClipColorizer(
        colorizer,
        temporal=temporal,
        hints=hints,
        reference=reference_rgb,
        render_size=render_size,
        saturation=saturation,
        batch_size=batch_size,
        frame_duration=1.0 / fps if fps else None,
    )
    dtypes: dict[int, np.dtype] = {}

    def wrapped() -> Iterator[Frame]:
        for index, array in enumerate(frames):
            array = np.asarray(array)
            if array.ndim == 3 and array.shape[2] == 1:
                array = array[:, :, 0]
            if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
                raise ValueError(f"frame {index}: expected (H, W), (H, W, 3) or (H, W, 4). Got {array.shape}")
            if array.ndim == 3:
                array = array[:, :, :3]
            dtypes[index] = array.dtype
            rgb = array if array.dtype in (np.uint8, np.uint16) else np.clip(array.astype(np.float32), 0, 1)
            yield Frame(index, rgb, time=index / fps if fps else None)

    for frame, rgb in clip.run(wrapped()):
        yield _as_output(rgb, dtypes.pop(frame.index))


def _reference(reference: Any) -> np.ndarray | None:
    if reference is None:
        return None
    from deepcolor.inference.images import _reference_rgb

    return _reference_rgb(reference)


def colorize_video(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    hints: Any = None,
    reference: Any = None,
    temporal: bool = True,
    progress: Progress | None = None,
    model: str | os.PathLike[str] | Colorizer = "default",
    codec: str | None = None,
    crf: int | None = None,
    overwrite: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    sequence: bool | None = None,
    render_size: int | None = None,
    saturation: float = 1.0,
    batch_size: int = DEFAULT_VIDEO_BATCH,
    warn: Callable[[str], None] | None = None,
    on_frame: Callable[[np.ndarray], None] | None = None,
) -> VideoResult:
    """Colour a clip: a video file -> a video file of the same kind, or a folder of numbered frames -> a
    folder of frames of the same names, format and bit depth.

    Args:
        src: a video file (whatever FFmpeg decodes) or, with `sequence` (None: when `src` is a folder), a
            folder of numbered PNG / TIFF / JPEG frames.
        dst: the output file (its extension picks the container) or folder; written atomically.
        hints: a hint file or points, each with an optional ``frame`` / ``time`` (`deepcolor.hints.timed`);
            carried through its shot.
        reference: a colour photo that steers the whole clip.
        temporal: carry colours along the optical flow (False: frame by frame).
        progress: called as ``progress(frames_done, frames_total_or_None)`` after each frame.
        model: a `Colorizer` or what `Colorizer` takes.
        codec, crf: the video encoder (default H.264 yuv420p, or the container's own when it cannot hold
            H.264) and its constant rate factor (default 18).
        overwrite: replace an existing `dst`.
        max_pixels: refuse frames with more pixels.
        render_size, saturation, batch_size: as for photos; frames per network pass.
        warn: called with one line for each audio / subtitle stream re-encoded or left out (also in
            `VideoResult.notes`).
        on_frame: for a video file, called with each colour frame, (H, W, 3) uint8 as coded, once it is
            written (a server's preview of the current frame).

    Returns:
        VideoResult (output path, frames, seconds, shots, notes).

    Raises:
        VideoError (an ImageError): not a video, no video stream, truncated or corrupt, frames too large, a
            codec the container cannot hold, `dst` exists; nothing is left under `dst`.
        HintError (a ValueError): bad hints or reference.
    """
    src, dst = Path(src), Path(dst)
    notes: list[str] = []

    def note(line: str) -> None:
        notes.append(line)
        if warn is not None:
            warn(line)

    colorizer = colorizer_for(model)
    reference_rgb = _reference(reference)
    timed = TimedHints.parse(hints)
    settings = {  # the clip's colouring, whether it comes as frames or as a video file
        "temporal": temporal,
        "hints": timed,
        "reference": reference_rgb,
        "render_size": render_size,
        "saturation": saturation,
        "batch_size": batch_size,
    }
    started = _time.perf_counter()
    if sequence or (sequence is None and src.is_dir()):
        files = sequence_frames(src)
        clip = ClipColorizer(colorizer, **settings)
        with SequenceWriter(dst, overwrite=overwrite) as writer:
            done = 0
            for frame, rgb in clip.run(read_sequence(files, max_pixels)):
                writer.write(rgb, frame)
                done += 1
                if progress is not None:
                    progress(done, len(files))
            writer.commit()
        return VideoResult(dst, done, _time.perf_counter() - started, clip.shots, notes)
    if src.is_dir():
        raise VideoError(src, "is a folder; a folder of frames is colored with --sequence")
    with VideoReader(src, max_pixels) as reader:
        info = reader.info
        clip = ClipColorizer(
            colorizer,
            **settings,
            rotation=info.rotation,
            frame_duration=1.0 / float(info.rate) if info.rate else None,
        )
        expected = info.frames  # else an estimate from the duration, for a progress bar
        if not expected and info.duration and info.rate:
            expected = max(1, round(info.duration * float(info.rate)))
        with VideoWriter(dst, reader, codec=codec, crf=crf, overwrite=overwrite, warn=note) as writer:
            done = 0
            for frame, rgb in clip.run(reader.frames(on_packet=writer.copy)):
                out = _as_output(rgb, np.dtype(np.uint8))
                writer.write(out, frame)
                if on_frame is not None:
                    on_frame(out)
                done += 1
                if progress is not None:
                    progress(done, expected)
            writer.commit()
    return VideoResult(dst, done, _time.perf_counter() - started, clip.shots, notes)


__all__ = ["DEFAULT_VIDEO_BATCH", "ClipColorizer", "VideoResult", "colorize_frames", "colorize_video"]
