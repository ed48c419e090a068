"""Video files and image sequences: streaming decode and encode with PyAV (FFmpeg's libraries, no program).

    with VideoReader("old.mp4", max_pixels) as reader, VideoWriter("out/old.mp4", reader) as writer:
        for frame in reader.frames(on_packet=writer.copy):      # audio / subtitle packets copied as they come
            writer.write(colorize(frame.rgb), frame)             # (H, W, 3) uint8 in, same size out
        writer.commit()                                          # temp file -> out/old.mp4; else removed

What the output keeps: the frame count, every frame's timestamp (variable frame rate kept: frames are written
with the input's own pts in the input's time base), the frame size, the display rotation and the sample (hence
display) aspect ratio. Video is encoded with H.264 in yuv420p and CRF 18 unless told otherwise (a container
that cannot hold H.264, such as WebM, gets its own default codec). Every audio and subtitle stream is copied
packet by packet, without re-encoding, when the output container takes its codec; otherwise audio is
re-encoded (the container's default codec) and a subtitle stream that cannot be copied is left out, each with
one warning. Nothing is written under the output's name until `commit`: the encoder writes a hidden
temporary file beside it (``.<stem>.<random>.tmp<ext>``), removed on any error, Ctrl-C or SIGTERM.

Frames are stored as coded (not rotated): the rotation is metadata, copied as it is. A frame's pixels are
(H, W, 3) uint8 sRGB. A stream that ends before its header's frame count or duration, or whose packets do not
decode, raises `VideoError`: the frames decoded so far are never passed off as the whole clip.

Image sequences (a folder of numbered frames, as film scans come: PNG, TIFF 8/16-bit, JPEG) are read with
`deepcolor.io.read_image` in the order of the numbers in their names and written with the same names, format
and bit depth into a temporary folder that is renamed into place when the last frame is written.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from deepcolor.io.atomic import move_into_place, record_written
from deepcolor.io.errors import ImageError
from deepcolor.io.loaded import DEFAULT_MAX_PIXELS

# What the file expansion and the CLI treat as video (FFmpeg reads many more; any file given by name that
# FFmpeg can open as a video is a video).
VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".wmv",
     ".flv", ".ogv", ".3gp", ".mxf", ".vob"}
)  # fmt: skip
SEQUENCE_EXTENSIONS: frozenset[str] = frozenset({".png", ".tif", ".tiff", ".jpg", ".jpeg"})
DEFAULT_CRF = 18
DEFAULT_PIX_FMT = "yuv420p"
# Codec names users type -> the encoder in PyAV's FFmpeg build.
CODEC_ALIASES = {
    "h264": "libx264",
    "x264": "libx264",
    "vp9": "libvpx-vp9",
    "vp8": "libvpx",
    "av1": "libsvtav1",
}


class VideoError(ImageError):
    """A video or image sequence that cannot be read or written; one line, ``"<file>: <problem>"``."""


def is_video_name(path: str | os.PathLike[str]) -> bool:
    """Whether the file name ends in one of `VIDEO_EXTENSIONS` (any case)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class VideoInfo:
    """What a clip is: coded frame size, frame count (None when the header does not say), duration in
    seconds (None when unknown), average frame rate, display rotation in degrees (counter-clockwise, as FFmpeg
    gives it), sample aspect ratio, codec name, and the other streams ("audio aac", "subtitle mov_text")."""

    path: str
    width: int
    height: int
    frames: int | None
    duration: float | None
    rate: Fraction | None
    rotation: int
    sample_aspect_ratio: Fraction | None
    codec: str
    streams: tuple[str, ...] = ()


@dataclass
class Frame:
    """One decoded frame: `rgb` (H, W, 3) uint8 as coded; `pts` in `time_base`; `time` in seconds;
    `index` from 0. For an image sequence `rgb` is float32 in [0, 1], `source` the frame's `LoadedImage`.
    The video pipeline sets `rgb` to None once it has the frame's L*."""

    index: int
    rgb: np.ndarray | None
    pts: int | None = None
    time_base: Fraction | None = None
    time: float | None = None
    source: Any = None


def _av() -> Any:
    try:
        import av
    except ImportError as error:  # the package declares it; a broken install says so on one line
        raise ImportError("video needs PyAV: pip install av") from error
    return av


def _problem(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return " ".join(str(text).split())


# ------------------------------------------------------------------------------------------------ reading


class VideoReader:
    """Open a clip for streaming decode (a context manager).

    Args:
        path: the clip.
        max_pixels: refuse frames with more pixels than this (checked before decoding any frame).

    Raises:
        VideoError: not a video (FFmpeg cannot open it), no video stream, frames over `max_pixels`, or a first
            frame that does not decode.
    """

    def __init__(self, path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        av = _av()
        self.path = Path(path)
        try:
            self.container = av.open(os.fspath(path), "r")
        except FileNotFoundError:
            raise VideoError(path, "no such file") from None
        except (av.FFmpegError, OSError, ValueError) as error:
            raise VideoError(path, f"not a video FFmpeg can read ({_problem(error)})") from None
        try:
            self.info = self._probe(max_pixels)
        except BaseException:
            self.container.close()
            raise

    def _probe(self, max_pixels: int) -> VideoInfo:
        av = _av()
        container = self.container
        if not container.streams.video:
            raise VideoError(self.path, "no video stream (not a video?)")
        stream = container.streams.video[0]
        self.stream = stream
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise VideoError(self.path, "video stream without a frame size (corrupt or not a video)")
        if width * height > max_pixels:
            raise VideoError(
                self.path,
                f"frames of {width} x {height} = {width * height} pixels are over the limit of "
                f"{max_pixels} (--max-pixels)",
            )
        # The first frame: that the stream decodes at all, and its rotation (decoders attach the stream's
        # display matrix to every frame). Then back to the start for the real pass.
        rotation = 0
        try:
            for frame in container.decode(stream):
                rotation = int(round(frame.rotation or 0))
                break
            else:
                raise VideoError(
                    self.path, "the video stream has no frame that decodes (truncated or corrupt)"
                )
        except av.FFmpegError as error:
            raise VideoError(self.path, f"truncated or corrupt video stream ({_problem(error)})") from None
        container.close()
        self.container = av.open(os.fspath(self.path), "r")
        self.stream = self.container.streams.video[0]
        stream = self.stream
        tb = stream.time_base
        duration = float(stream.duration * tb) if stream.duration and tb else None
        if duration is None and self.container.duration:
            duration = self.container.duration / 1_000_000
        others = tuple(
            f"{s.type} {s.codec_context.name if s.codec_context else '?'}"
            for s in self.container.streams
            if s.index != stream.index
        )
        return VideoInfo(
            path=str(self.path),
            width=width,
            height=height,
            frames=stream.frames or None,
            duration=duration,
            rate=stream.average_rate or stream.guessed_rate,
            rotation=rotation,
            sample_aspect_ratio=stream.sample_aspect_ratio,
            codec=stream.codec_context.name,
            streams=others,
        )

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.container.close()

    def other_streams(self) -> list[Any]:
        """The streams that are not the (first) video stream: audio, subtitles, data, other video."""
        return [s for s in self.container.streams if s.index != self.stream.index]

    def frames(self, on_packet: Callable[[Any], None] | None = None) -> Iterator[Frame]:
        """Decode the video stream frame by frame, in presentation order; packets of the other streams are
        handed to `on_packet` as the demuxer meets them (e.g. `VideoWriter.copy`).

        Raises:
            VideoError: a packet that does not decode, a frame FFmpeg marks corrupt, or a stream that ends
                before the frame count or duration its header gives (truncated).
        """
        av = _av()
        stream = self.stream
        tb = stream.time_base
        index = 0
        last_time: float | None = None
        rate = self.info.rate
        try:
            for packet in self.container.demux():
                if packet.stream.index != stream.index:
                    if on_packet is not None and packet.dts is not None:
                        on_packet(packet)
                    continue
                for decoded in packet.decode():
                    if decoded.is_corrupt:
                        raise VideoError(self.path, f"corrupt video stream (frame {index} is damaged)")
                    yield self._frame(decoded, index, tb, rate)
                    last_time = decoded.time if decoded.time is not None else last_time
                    index += 1
        except av.FFmpegError as error:
            of = f" of its {self.info.frames}" if self.info.frames else ""
            raise VideoError(
                self.path,
                f"truncated or corrupt: the stream breaks after {index}{of} frames ({_problem(error)})",
            ) from None
        self._check_complete(index, last_time)

    def _frame(self, decoded: Any, index: int, tb: Fraction | None, rate: Fraction | None) -> Frame:
        pts = decoded.pts if decoded.pts is not None else decoded.best_effort_timestamp
        if pts is None and tb and rate:  # no timestamps at all (raw streams): frame index at the rate
            pts = int(round(index / (rate * tb)))
        time = float(pts * tb) if pts is not None and tb else None
        return Frame(index, decoded.to_ndarray(format="rgb24"), pts, tb, time)

    def _check_complete(self, count: int, last_time: float | None) -> None:
        info = self.info
        if count == 0:
            raise VideoError(self.path, "the video stream has no frame that decodes (truncated or corrupt)")
        if info.frames and count < info.frames:
            raise VideoError(
                self.path, f"truncated: the stream ended after {count} of its {info.frames} frames"
            )
        end, slack = self._expected_end()
        if not info.frames and end is not None and last_time is not None:
            frame = 1.0 / float(info.rate) if info.rate else 0.04
            if last_time + frame + max(2 * frame, slack) < end:
                raise VideoError(
                    self.path, f"truncated: the stream ended at {last_time:.2f} s of its {end:.2f} s"
                )

    def _expected_end(self) -> tuple[float | None, float]:
        """When the video stream should end (seconds), by its header, and the slack allowed: the stream's own
        duration, else its DURATION tag (Matroska), else the container's (audio may outlast video: 1 s)."""
        stream = self.stream
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base), 0.0
        tag = (stream.metadata or {}).get("DURATION")
        if tag:
            match = re.fullmatch(r"(\d+):(\d+):(\d+(?:\.\d+)?)", tag.strip())
            if match:
                hours, minutes, seconds = match.groups()
                return int(hours) * 3600 + int(minutes) * 60 + float(seconds), 0.0
        if self.container.duration:
            return self.container.duration / 1_000_000, 1.0
        return None, 0.0


# ------------------------------------------------------------------------------------------------ writing


def temporary_sibling(target: Path, suffix: str | None = None) -> Path:
    """A hidden name beside `target` that keeps its extension (FFmpeg picks the container by it):
    ``.<stem>.<random>.tmp<ext>``."""
    ext = target.suffix if suffix is None else suffix
    return target.parent / f".{target.stem}.{secrets.token_hex(4)}.tmp{ext}"


def _exists(target: Path) -> VideoError:
    return VideoError(target, "exists; pass --overwrite to replace it")


def choose_codec(container: Any, codec: str | None, path: str | os.PathLike[str]) -> str:
    """The encoder to use: `codec` (an FFmpeg encoder name, or h264 / vp9 / av1) when the container takes
    it; by default libx264, or the container's own default when it cannot hold H.264 (WebM: VP9).

    Raises:
        VideoError: an unknown codec, or one the output container cannot hold.
    """
    av = _av()
    supported = container.supported_codecs
    if codec is None:
        if "h264" in supported:
            return "libx264"
        codec = container.default_video_codec
        codec = CODEC_ALIASES.get(codec, codec)
    name = CODEC_ALIASES.get(codec.lower(), codec)
    try:
        found = av.codec.Codec(name, "w")
    except (av.codec.codec.UnknownCodecError, ValueError):
        raise VideoError(path, f"unknown video codec {codec!r}") from None
    if found.type != "video":
        raise VideoError(path, f"{codec!r} is not a video codec")
    if found.canonical_name not in supported:
        ext = Path(path).suffix or "this container"
        raise VideoError(
            path, f"codec {codec!r} cannot go into {ext} files (unknown codec for the container)"
        )
    return name


@dataclass
class _Copy:
    source: Any
    target: Any
    encoder: Any = None  # re-encoding: True, with the resampler and the source's decoder
    resampler: Any = None
    decoder: Any = None


class VideoWriter:
    """Encode a clip like `reader`'s into `target`, atomically (a context manager).

    Args:
        target: the output file; its extension picks the container.
        reader: the input, whose size, time base, rate, rotation, aspect ratio and other streams are kept.
        codec: the video encoder (None: H.264, or the container's default when it cannot hold H.264).
        crf: constant rate factor for the encoders that have one (x264, VP9, SVT-AV1); None: DEFAULT_CRF.
        overwrite: replace an existing `target`.
        warn: called with one line (no file name) per stream re-encoded or left out.

    Raises:
        VideoError: the target exists (without `overwrite`), or the codec is unknown or does not fit.
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        reader: VideoReader,
        codec: str | None = None,
        crf: int | None = None,
        overwrite: bool = False,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        av = _av()
        self.target = Path(target)
        self.overwrite = overwrite
        self.warn = warn or (lambda message: None)
        if not overwrite and os.path.lexists(self.target):
            raise VideoError(self.target, "exists; pass --overwrite to replace it")
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp: Path | None = None
        self.container: Any = None
        self._copies: dict[int, _Copy] = {}
        self.frames_written = 0
        try:
            self.tmp = temporary_sibling(self.target)
            try:
                self.container = av.open(os.fspath(self.tmp), "w")
            except (av.FFmpegError, ValueError) as error:
                raise VideoError(self.target, f"cannot write this kind of file ({_problem(error)})") from None
            self._add_video(reader, codec, crf)
            for stream in reader.other_streams():
                self._add_other(stream)
        except BaseException:
            self.discard()
            raise

    def _add_video(self, reader: VideoReader, codec: str | None, crf: int | None) -> None:
        info = reader.info
        source = reader.stream
        name = choose_codec(self.container, codec, self.target)
        rate = info.rate or Fraction(25)
        stream = self.container.add_stream(name, rate=rate)
        stream.width, stream.height = info.width, info.height
        formats = [f.name for f in (stream.codec_context.codec.video_formats or [])]
        pix_fmt = DEFAULT_PIX_FMT
        if info.width % 2 or info.height % 2:  # 4:2:0 needs even sides: keep the size, not the subsampling
            pix_fmt = "yuv444p"
        if formats and pix_fmt not in formats:
            pix_fmt = formats[0]
        stream.pix_fmt = pix_fmt
        if source.time_base:
            stream.time_base = source.time_base
            stream.codec_context.time_base = source.time_base
        if info.sample_aspect_ratio:
            stream.sample_aspect_ratio = info.sample_aspect_ratio
            stream.codec_context.sample_aspect_ratio = info.sample_aspect_ratio
        if info.rotation:
            stream.set_display_rotation(info.rotation)
        options = {}
        supported = {o.name for o in stream.codec_context.supported_options.private}
        if "crf" in supported:
            options["crf"] = str(DEFAULT_CRF if crf is None else crf)
        if name == "libvpx-vp9":
            options.setdefault("b", "0")  # constant quality
            options["row-mt"] = "1"
        stream.codec_context.options = options
        self.video = stream
        self.pix_fmt = pix_fmt

    def _add_other(self, source: Any) -> None:
        av = _av()
        kind = source.type
        codec = source.codec_context.name if source.codec_context is not None else "unknown"
        what = f"{kind} stream {source.index} ({codec})"
        if kind not in ("audio", "subtitle"):
            self.warn(f"{what} left out (only audio and subtitle streams are kept)")
            return
        descriptor = av.codec.Codec(codec, "r") if codec != "unknown" else None
        copyable = descriptor is not None and descriptor.canonical_name in self.container.supported_codecs
        if codec.startswith("pcm_") and self.target.suffix.lower() in (".mp4", ".m4v"):
            copyable = (
                False  # listed, but FFmpeg's MP4 muxer refuses PCM at the end (ISO PCM is experimental)
            )
        if copyable:
            target = self.container.add_stream_from_template(source)
            self._copies[source.index] = _Copy(source, target)
            return
        if kind == "audio":
            fallback = self.container.default_audio_codec
            if fallback and fallback != "none":
                target = self.container.add_stream(fallback, rate=source.codec_context.sample_rate)
                layout = _named_layout(source.codec_context.layout)
                with contextlib.suppress(AttributeError, ValueError):
                    target.layout = layout
                fmt = (target.codec_context.codec.audio_formats or [None])[0]
                resampler = av.AudioResampler(
                    format=fmt.name if fmt is not None else None,
                    layout=layout,
                    rate=source.codec_context.sample_rate,
                    frame_size=_audio_frame_size(target, fmt) or None,
                )
                # decoded by the input stream's own context (set up by the demuxer: rate, layout, format)
                self._copies[source.index] = _Copy(source, target, True, resampler, source.codec_context)
                self.warn(f"{what} re-encoded as {fallback}: {self.target.suffix} files cannot hold {codec}")
                return
        self.warn(f"{what} left out: {self.target.suffix} files cannot hold {codec}")

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.discard()  # after commit this does nothing

    def write(self, rgb: np.ndarray, frame: Frame) -> None:
        """Encode one frame, (H, W, 3) uint8 sRGB, at `frame`'s timestamp."""
        av = _av()
        out = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        if frame.pts is not None:
            out.pts = frame.pts
            out.time_base = frame.time_base
        try:
            for packet in self.video.encode(out):
                self.container.mux(packet)
        except av.FFmpegError as error:
            raise VideoError(self.target, f"cannot encode ({_problem(error)})") from None
        self.frames_written += 1

    def copy(self, packet: Any) -> None:
        """Mux a packet of another input stream into its output stream (re-encoding where needed)."""
        av = _av()
        copy = self._copies.get(packet.stream.index)
        if copy is None:
            return
        try:
            if copy.encoder is None:
                packet.stream = copy.target
                self.container.mux(packet)
                return
            for decoded in copy.decoder.decode(packet):
                self._encode_audio(copy, decoded)
        except av.FFmpegError as error:
            raise VideoError(
                self.target, f"cannot copy stream {copy.source.index} ({_problem(error)})"
            ) from None

    def _encode_audio(self, copy: _Copy, decoded: Any) -> None:
        frames = copy.resampler.resample(decoded) if decoded is not None else copy.resampler.resample(None)
        for frame in frames:
            for packet in copy.target.encode(frame):
                self.container.mux(packet)

    def commit(self) -> Path:
        """Flush the encoders, close the file and move it to the target's name. Returns the target."""
        av = _av()
        try:
            for packet in self.video.encode():
                self.container.mux(packet)
            for copy in self._copies.values():
                if copy.encoder is not None:
                    for decoded in copy.decoder.decode(None):
                        self._encode_audio(copy, decoded)
                    self._encode_audio(copy, None)
                    for packet in copy.target.encode():
                        self.container.mux(packet)
            self.container.close()
        except av.FFmpegError as error:
            raise VideoError(self.target, f"cannot finish the file ({_problem(error)})") from None
        self.container = None
        assert self.tmp is not None
        os.chmod(self.tmp, 0o666 & ~_umask())
        move_into_place(self.tmp, self.target, self.overwrite, _exists)
        self.tmp.unlink(missing_ok=True)
        self.tmp = None
        record_written(self.target)  # a batch cut short removes it; a manifest lists it
        return self.target

    def discard(self) -> None:
        """Close and remove the temporary file (nothing under the target's name). Safe to call twice."""
        if self.container is not None:
            with contextlib.suppress(Exception):
                self.container.close()
            self.container = None
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None


_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def _named_layout(layout: Any) -> Any:
    """A standard layout of as many channels for an unnamed one ("2 channels"), which encoders refuse."""
    av = _av()
    name = getattr(layout, "name", "")
    count = len(layout.channels)
    if name.endswith("channels") and count in _LAYOUTS:
        return av.AudioLayout(_LAYOUTS[count])
    return layout


def _audio_frame_size(stream: Any, fmt: Any) -> int:
    """The samples per frame an audio encoder insists on (AAC: 1024; 0 for any), from a throwaway copy of
    the stream's encoder opened with its settings (the stream's own opens when the file starts)."""
    av = _av()
    probe = av.CodecContext.create(stream.codec_context.codec.name, "w")
    probe.sample_rate = stream.codec_context.sample_rate
    probe.layout = stream.codec_context.layout
    if fmt is not None:
        probe.format = fmt
    try:
        probe.open()
    except av.FFmpegError:
        return 0
    return int(probe.frame_size or 0)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ----------------------------------------------------------------------------------------- image sequences

_NUMBER = re.compile(r"(\d+)")


def _natural_key(path: Path) -> tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part for part in _NUMBER.split(path.name))


def sequence_frames(folder: str | os.PathLike[str]) -> list[Path]:
    """The frames of an image sequence: the files in `folder` with a number in their name and an image
    extension of `SEQUENCE_EXTENSIONS`, in the order of their numbers.

    Raises:
        VideoError: not a folder, no numbered frames, or frames of several formats.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise VideoError(folder, "not a folder of numbered frames (--sequence takes folders)")
    try:
        files = [
            p
            for p in folder.iterdir()
            if p.suffix.lower() in SEQUENCE_EXTENSIONS
            and not p.name.startswith(".")
            and _NUMBER.search(p.stem)
        ]
    except OSError as error:
        raise VideoError(folder, f"cannot list folder: {_problem(error)}") from None
    if not files:
        raise VideoError(folder, "no numbered frames (PNG, TIFF or JPEG files with a number in their names)")
    kinds = {p.suffix.lower().replace(".jpeg", ".jpg").replace(".tiff", ".tif") for p in files}
    if len(kinds) > 1:
        raise VideoError(folder, f"frames of several formats ({', '.join(sorted(kinds))}): one clip has one")
    return sorted(files, key=_natural_key)


def read_sequence(files: list[Path], max_pixels: int = DEFAULT_MAX_PIXELS) -> Iterator[Frame]:
    """The frames of a sequence, one at a time (`Frame.rgb` float32 in [0, 1], `Frame.source` the
    `LoadedImage`). All frames must have the first one's size.

    Raises:
        ImageError: a frame that cannot be read; VideoError: a frame of another size.
    """
    from deepcolor.io.read import read_image

    size = None
    for index, path in enumerate(files):
        image = read_image(path, max_pixels)
        if size is None:
            size = image.rgb.shape[:2]
        elif image.rgb.shape[:2] != size:
            raise VideoError(
                path,
                f"frame of {image.width} x {image.height}; the sequence's frames are {size[1]} x {size[0]}",
            )
        yield Frame(index, image.rgb, time=None, source=image)


@dataclass
class SequenceWriter:
    """Write a sequence's frames under their own names into `target` (a folder), atomically: into a hidden
    temporary folder beside it, renamed into place by `commit`, removed by `discard` (a context manager)."""

    target: Path
    overwrite: bool = False
    tmp: Path | None = field(default=None, init=False)
    frames_written: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.target = Path(self.target)
        if not self.overwrite and os.path.lexists(self.target):
            raise VideoError(self.target, "exists; pass --overwrite to replace it")
        self.target.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.target.parent / f".{self.target.name}.{secrets.token_hex(4)}.tmp"
        self.tmp = tmp  # registered before it exists: discard removes it from here on
        tmp.mkdir()

    def __enter__(self) -> SequenceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def write(self, rgb: np.ndarray, frame: Frame) -> None:
        """Write one frame (float (H, W, 3) in [0, 1]) under its source's name, format and bit depth."""
        from deepcolor.io.write import output_bit_depth, write_image

        assert self.tmp is not None and frame.source is not None
        source = frame.source
        name = Path(source.path).name
        write_image(
            self.tmp / name,
            rgb,
            alpha=source.alpha,
            icc=source.icc,
            exif=source.exif,
            bit_depth=output_bit_depth(source.bit_depth, Path(name).suffix),
        )
        self.frames_written += 1

    def commit(self) -> Path:
        """Move the finished folder into place (an existing one, with `overwrite`, is replaced)."""
        assert self.tmp is not None
        old = None
        if os.path.lexists(self.target):
            if not self.overwrite:
                raise VideoError(self.target, "exists; pass --overwrite to replace it")
            old = self.target.parent / f".{self.target.name}.{secrets.token_hex(4)}.old"
            os.rename(self.target, old)
        os.rename(self.tmp, self.target)
        self.tmp = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
        return self.target

    def discard(self) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


__all__ = [
    "DEFAULT_CRF",
    "SEQUENCE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "Frame",
    "SequenceWriter",
    "VideoError",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "choose_codec",
    "is_video_name",
    "read_sequence",
    "sequence_frames",
]
