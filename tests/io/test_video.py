"""deepcolor.io.video: streaming decode / encode keeps what it must (frames, timestamps, rotation, aspect,
audio bit for bit), is atomic, and refuses bad clips on one line; image sequences keep names and depth."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from deepcolor.io.video import (
    SequenceWriter,
    VideoError,
    VideoReader,
    VideoWriter,
    read_sequence,
    sequence_frames,
)
from video_clips import decode, grey, packets, pan_frames, write_clip


def transcode(src: Path, dst: Path, change=lambda rgb: 255 - rgb, **kwargs) -> int:
    with VideoReader(src) as reader, VideoWriter(dst, reader, **kwargs) as writer:
        for frame in reader.frames(on_packet=writer.copy):
            writer.write(change(frame.rgb), frame)
        writer.commit()
    return writer.frames_written


def test_round_trip_keeps_frames_timestamps_rotation_aspect_and_audio(tmp_path):
    pts = [0, 40, 80, 200, 240, 400, 420, 440]  # variable frame rate
    frames = [grey(f) for f in pan_frames(len(pts))]
    src = write_clip(tmp_path / "in.mp4", frames, pts_ms=pts, rotation=90, audio=True)
    assert transcode(src, tmp_path / "out" / "in.mp4") == len(pts)
    out_frames, out_pts, facts = decode(tmp_path / "out" / "in.mp4")
    _, in_pts, in_facts = decode(src)
    assert len(out_frames) == len(pts)
    times_in = [p * in_facts["time_base"] for p in in_pts]
    times_out = [p * facts["time_base"] for p in out_pts]
    assert times_out == times_in
    assert facts["rotation"] == 90
    assert facts["codec"] == "h264" and facts["pix_fmt"] == "yuv420p"
    assert out_frames[0].shape == frames[0].shape
    # the frames are ours (inverted), not copies
    assert abs(float(out_frames[3].mean()) - (255 - float(frames[3].mean()))) < 6
    audio_in, audio_out = packets(src), packets(tmp_path / "out" / "in.mp4")
    assert audio_in and audio_in == audio_out  # copied bit for bit
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["in.mp4"]  # no temporary file left


def test_sample_aspect_ratio_kept(tmp_path):
    src = write_clip(tmp_path / "sar.mkv", [grey(f) for f in pan_frames(4)])
    with VideoReader(src) as reader:
        reader.stream.codec_context  # noqa: B018 - opened
    # re-encode with a non-square pixel aspect, then through the writer again
    import av

    with av.open(str(src)) as container, av.open(str(tmp_path / "wide.mkv"), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.sample_aspect_ratio = Fraction(4, 3)
        for frame in container.decode(video=0):
            frame.pts = None
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    transcode(tmp_path / "wide.mkv", tmp_path / "out" / "wide.mkv")
    assert decode(tmp_path / "out" / "wide.mkv")[2]["sar"] == Fraction(4, 3)


def test_webm_gets_its_own_codec_and_audio_reencoded_with_one_warning(tmp_path):
    src = write_clip(tmp_path / "a.mp4", [grey(f) for f in pan_frames(4)], audio=True)
    warnings: list[str] = []
    transcode(src, tmp_path / "a.webm", warn=warnings.append)
    frames, _, facts = decode(tmp_path / "a.webm")
    assert len(frames) == 4 and facts["codec"] == "vp9"
    assert len(warnings) == 1 and "re-encoded" in warnings[0]
    assert packets(tmp_path / "a.webm")  # the sound is there


def test_atomic_nothing_left_on_error_and_no_replace(tmp_path):
    src = write_clip(tmp_path / "in.mp4", [grey(f) for f in pan_frames(6)])
    out = tmp_path / "out"

    def boom(rgb):
        if boom.calls == 3:
            raise KeyboardInterrupt
        boom.calls += 1
        return rgb

    boom.calls = 0
    with pytest.raises(KeyboardInterrupt):
        transcode(src, out / "in.mp4", change=boom)
    assert list(out.iterdir()) == []
    (out / "in.mp4").write_bytes(b"mine")
    with pytest.raises(VideoError, match="exists"):
        transcode(src, out / "in.mp4")
    assert (out / "in.mp4").read_bytes() == b"mine"
    transcode(src, out / "in.mp4", overwrite=True)
    assert len(decode(out / "in.mp4")[0]) == 6
    assert [p.name for p in out.iterdir()] == ["in.mp4"]


def test_bad_inputs_one_line_each(tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 20)
    with pytest.raises(VideoError, match="not a video") as error:
        VideoReader(text)
    assert "\n" not in str(error.value) and str(text) in str(error.value)

    import av

    sound = tmp_path / "sound.m4a"
    with av.open(str(sound), "w") as out:
        stream = out.add_stream("aac", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4000), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 8000, 0
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    with pytest.raises(VideoError, match="no video stream"):
        VideoReader(sound)

    big = write_clip(tmp_path / "big.mp4", [grey(f) for f in pan_frames(2)])
    with pytest.raises(VideoError, match="max-pixels"):
        VideoReader(big, max_pixels=1000)

    with VideoReader(big) as reader:
        with pytest.raises(VideoError, match="unknown video codec"):
            VideoWriter(tmp_path / "o1.mp4", reader, codec="nosuchcodec")
        with pytest.raises(VideoError, match="cannot go into .webm"):
            VideoWriter(tmp_path / "o2.webm", reader, codec="h264")
    assert not list(tmp_path.glob(".*tmp*"))


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_truncated_clip_is_not_passed_off_as_whole(tmp_path, suffix):
    frames = [grey(f) for f in pan_frames(40, size=(64, 96))]
    options = {"movflags": "+faststart"} if suffix == ".mp4" else None
    src = write_clip(tmp_path / f"whole{suffix}", frames, container_options=options)
    data = src.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(VideoError, match="truncated|corrupt|not a video") as error:
        with VideoReader(cut) as reader:
            for _ in reader.frames():
                pass
    assert "\n" not in str(error.value)


def test_corrupt_packets_raise(tmp_path):
    frames = [grey(f) for f in pan_frames(30, size=(64, 96))]
    src = write_clip(tmp_path / "c.mkv", frames)
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(0)
    start = len(data) // 3
    data[start : start + 2000] = rng.integers(0, 256, 2000, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.mkv"
    bad.write_bytes(bytes(data))
    with pytest.raises(VideoError, match="corrupt|truncated"):
        with VideoReader(bad) as reader:
            for _ in reader.frames():
                pass


def test_sequence_16_bit_tiff_keeps_names_and_depth(tmp_path):
    import tifffile

    folder = tmp_path / "scans"
    folder.mkdir()
    frames = pan_frames(5)
    for i, frame in enumerate(frames):
        luma = (frame @ np.array([0.299, 0.587, 0.114], np.float32) * 65535).astype(np.uint16)
        tifffile.imwrite(folder / f"reel1_{i * 10 + 8:04d}.tif", luma)  # 8, 18, 28...: numeric order
    (folder / "notes.txt").write_text("not a frame")
    files = sequence_frames(folder)
    assert [f.name for f in files] == [f"reel1_{i * 10 + 8:04d}.tif" for i in range(5)]
    target = tmp_path / "out" / "scans"
    with SequenceWriter(target) as writer:
        for frame in read_sequence(files):
            assert frame.source.bit_depth == 16
            writer.write(np.repeat(frame.rgb[:, :, :1], 3, axis=2) * 0.5, frame)
        writer.commit()
    names = sorted(p.name for p in target.iterdir())
    assert names == [f.name for f in files]
    written = tifffile.imread(target / names[0])
    assert written.dtype == np.uint16
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["scans"]


def test_sequence_writer_discard_and_bad_folders(tmp_path):
    with pytest.raises(VideoError, match="no numbered frames"):
        sequence_frames(tmp_path)
    target = tmp_path / "out" / "clip"
    writer = SequenceWriter(target)
    writer.discard()
    assert not target.exists() and list((tmp_path / "out").iterdir()) == []


def test_pcm_sound_into_mp4_is_reencoded(tmp_path):
    import av

    from video_clips import tone

    src = tmp_path / "pcm.mkv"
    with av.open(str(src), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream("pcm_s16le", rate=8000)
        for frame in pan_frames(5):
            for packet in video.encode(av.VideoFrame.from_ndarray(grey(frame), format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        samples = av.AudioFrame.from_ndarray(
            (tone(0.2) * 32767).astype(np.int16), format="s16", layout="mono"
        )
        samples.sample_rate, samples.pts = 8000, 0
        for packet in [*sound.encode(samples), *sound.encode()]:
            out.mux(packet)
    warnings: list[str] = []
    transcode(src, tmp_path / "out.mp4", warn=warnings.append)
    assert len(warnings) == 1 and "re-encoded as aac" in warnings[0]
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert [s.codec_context.name for s in container.streams] == ["h264", "aac"]
        assert sum(f.samples for f in container.decode(audio=0)) >= 1600
