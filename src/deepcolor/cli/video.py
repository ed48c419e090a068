"""`deepcolor colorize` for clips: video files and (with ``--sequence``) folders of numbered frames.

A video input (any file that is not an image by its name: FFmpeg decides whether it is a video) writes
``OUTDIR/<stem>.<same extension>`` through `deepcolor.inference.video.colorize_video`, the one video pipeline;
with ``--sequence`` each INPUT folder is one clip, written as ``OUTDIR/<folder name>/`` with the frames' own
names and bit depth. Clips mix with photos in one batch under the usual rules (one line per bad input,
``--overwrite``, ``--skip-existing``, exit codes, Ctrl-C / SIGTERM leave nothing partial: the clip's temporary
file or folder is removed as the signal unwinds). On a terminal each clip shows a progress bar in frames, with
frames per second and the time left; the batch ends with a line counting clips and frames.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from tqdm import tqdm

from deepcolor.cli import batch
from deepcolor.io.paths import IMAGE_EXTENSIONS, display_path, is_image_name

F = TypeVar("F", bound=Callable[..., Any])

# deepcolor.io.video.DEFAULT_CRF, spelled out so that --help does not import PyAV.
DEFAULT_CRF = 18


def video_options(f: F) -> F:
    """--temporal/--no-temporal, --codec, --crf, --sequence: received as temporal, codec, crf, sequence."""
    options = (
        click.option(
            "--temporal/--no-temporal",
            default=True,
            show_default=True,
            help="Clips: keep colours steady from frame to frame (carried along the optical flow, reset at "
            "cuts); --no-temporal colours each frame on its own.",
        ),
        click.option(
            "--codec",
            default=None,
            help="Clips: the video encoder (h264, vp9, av1, mpeg4, ffv1, prores_ks... as FFmpeg names them) "
            "[default: H.264 in yuv420p, or the container's own when it cannot hold H.264].",
        ),
        click.option(
            "--crf",
            type=click.IntRange(0, 63),
            default=DEFAULT_CRF,
            show_default=True,
            help="Clips: constant rate factor of the encoder (lower is better quality, larger files).",
        ),
        click.option(
            "--sequence",
            is_flag=True,
            help="Each INPUT is a folder of numbered frames (PNG, TIFF 8/16-bit, JPEG) colored as one clip "
            "and written as OUTDIR/<folder>/ with the same names and bit depth.",
        ),
    )
    for decorator in reversed(options):
        f = decorator(f)
    return f


# What `deepcolor colorize` takes from folders and patterns: images and clips (deepcolor.io.video's list,
# spelled out so that --help does not import PyAV... nor numpy).
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".wmv",
     ".flv", ".ogv", ".3gp", ".mxf", ".vob"}
)  # fmt: skip
INPUT_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS


def is_clip_name(path: Path) -> bool:
    """Whether a file name is a video's (by `VIDEO_EXTENSIONS`)."""
    return path.suffix.lower() in VIDEO_EXTENSIONS


def is_clip(item: Any) -> bool:
    """Whether a batch input is a video (any file named directly that is not an image by its name)."""
    return item.error is None and item.warning is None and not is_image_name(item.path)


@dataclass
class ClipDone:
    """A clip finished in the batch's prepare step: nothing is left for the network call or the write."""

    path: Path
    frames: int


class Clips:
    """The clips of one `deepcolor colorize` run: colours each (`colorize`) and counts clips and frames.

    Args:
        job: the batch (output names, --overwrite, --skip-existing).
        colorizer: the loaded model.
        guidance: the command's `Guidance` (hint files and references by input).
        max_pixels: --max-pixels, per frame.
        temporal, codec, crf: the video options.
        options: render_size, saturation (other photo options do not apply to clips).
    """

    def __init__(
        self,
        job: batch.Batch,
        colorizer: Any,
        guidance: Any,
        max_pixels: int,
        temporal: bool = True,
        codec: str | None = None,
        crf: int = DEFAULT_CRF,
        **options: Any,
    ) -> None:
        self.job = job
        self.colorizer = colorizer
        self.guidance = guidance
        self.max_pixels = max_pixels
        self.temporal = temporal
        self.codec = codec
        self.crf = crf
        self.render_size = options.get("render_size")
        self.saturation = options.get("saturation", 1.0)
        self.clips = 0
        self.frames = 0

    def colorize(self, item: Any, sequence: bool = False) -> ClipDone:
        """Colour one clip into its output (raises `ITEM_ERRORS` for a bad one, `batch.Skipped`)."""
        from deepcolor.inference.video import colorize_video

        suffix = "" if sequence else item.path.suffix
        (output,) = self.job.output_paths(item, suffix)
        hints, reference = self._guidance(item)
        label = display_path(item.path)
        bar = tqdm(
            desc=Path(label).name,
            unit="frame",
            file=sys.stderr,
            disable=not batch.stderr_is_terminal(),
            leave=False,
            dynamic_ncols=True,
        )

        def progress(done: int, total: int | None) -> None:
            if total and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        with bar:
            result = colorize_video(
                item.path,
                output,
                hints=hints,
                reference=reference,
                temporal=self.temporal,
                progress=progress,
                model=self.colorizer,
                codec=self.codec,
                crf=self.crf,
                overwrite=self.job.overwrite,
                max_pixels=self.max_pixels,
                sequence=sequence,
                render_size=self.render_size,
                saturation=self.saturation,
                warn=lambda line: batch.echo_warning(f"{label}: {line}"),
            )
        self.clips += 1
        self.frames += result.frames
        return ClipDone(result.path, result.frames)

    def _guidance(self, item: Any) -> tuple[Any, Any]:
        """The clip's hints (a hint file with frame / time per point, or --hint strings for its first frame)
        and reference photo, from the command's --hints / --hint / --reference."""
        from deepcolor.hints.timed import TimedHints

        if self.guidance is None:
            return None, None
        given = self.guidance.hints.get(str(item.path))
        hints = None
        if isinstance(given, Path):
            hints = TimedHints.parse(given)
        elif given:
            hints = TimedHints.parse(list(given), "--hint")
        reference = self.guidance.references.get(str(item.path))
        return hints, reference

    def summary(self) -> None:
        """One line counting the clips and their frames (when there were clips)."""
        if self.clips:
            noun = "clip" if self.clips == 1 else "clips"
            tqdm.write(f"{self.clips} {noun}, {self.frames} frames", file=sys.stderr)


def run_sequences(
    inputs: tuple[str, ...],
    output: Path,
    overwrite: bool,
    skip_existing: bool,
    colorizer: Any,
    guidance_for: Callable[[list[Any]], Any],
    max_pixels: int,
    **options: Any,
) -> int:
    """``deepcolor colorize --sequence DIR...``: each folder one clip; returns the exit code."""
    from deepcolor.io.paths import InputItem

    items = []
    for raw in inputs:
        path = Path(raw)
        name = Path(os.path.basename(os.path.normpath(raw)))
        error = (
            None
            if path.is_dir()
            else ("no such folder" if not path.exists() else "not a folder (--sequence)")
        )
        items.append(InputItem(path, name, error))
    job = batch.Batch(items=items, outdir=Path(output), overwrite=overwrite, skip_existing=skip_existing)
    clips = Clips(job, colorizer, guidance_for([i for i in items if i.error is None]), max_pixels, **options)
    code = job.run(lambda item: clips.colorize(item, sequence=True), desc="colorize")
    clips.summary()
    return code


__all__ = ["ClipDone", "Clips", "is_clip", "run_sequences", "video_options"]
