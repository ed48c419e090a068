"""Temporal consistency: the flow finds a known pan, cuts are found, a static clip's colours hold still, a
hint rides the flow through its shot and stops at a cut, and the whole video pipeline keeps its promises."""

from __future__ import annotations

import numpy as np
import pytest

from deepcolor.hints.timed import TimedHints
from deepcolor.inference.temporal import FlowTracker, Motion, Stabilizer, grey_u8, track_points, warp
from video_clips import grey, pan_frames, photo, view


def test_flow_recovers_a_known_pan_and_reliability_is_high():
    image = photo()
    a = grey(view(image, (90, 160), 100.0, 120.0, 2.0))[:, :, 0]
    b = grey(view(image, (90, 160), 106.0, 120.0, 2.0))[:, :, 0]  # the window moved 3 output px right
    tracker = FlowTracker()
    assert tracker.observe(a).cut
    motion = tracker.observe(b)
    assert not motion.cut
    inner = (slice(10, -10), slice(10, -10))
    # content moves 3 px left: pixel x of b was at x + 3 in a
    assert np.median(motion.backward[inner][..., 0]) == pytest.approx(3.0, abs=0.3)
    assert np.median(motion.backward[inner][..., 1]) == pytest.approx(0.0, abs=0.3)
    assert np.median(motion.forward[inner][..., 0]) == pytest.approx(-3.0, abs=0.3)
    assert motion.reliability[inner].mean() > 0.7
    warped = warp(a.astype(np.float32), motion.backward)
    assert np.abs(warped[inner] - b[inner].astype(np.float32)).mean() < 4.0


def test_hard_cut_starts_a_new_shot():
    a = grey(view(photo("astronaut"), (90, 160), 100.0, 120.0, 2.0))[:, :, 0]
    b = grey(view(photo("coffee"), (90, 160), 100.0, 120.0, 2.0))[:, :, 0]
    tracker = FlowTracker()
    tracker.observe(a)
    assert tracker.observe(b).cut
    assert not tracker.observe(b).cut


def test_static_clip_flicker_is_damped_and_mean_colour_kept():
    rng = np.random.default_rng(0)
    frame = grey(view(photo(), (60, 80), 100.0, 120.0, 3.0))[:, :, 0]
    truth = np.stack([np.full((60, 80), 20.0), np.full((60, 80), -10.0)], axis=-1).astype(np.float32)
    tracker, stabilizer = FlowTracker(), Stabilizer()
    raw, steady = [], []
    for _ in range(30):
        prediction = truth + rng.normal(0, 6.0, (1, 1, 2)).astype(np.float32)  # a whole-frame colour jump
        prediction += rng.normal(0, 3.0, truth.shape).astype(np.float32)
        raw.append(prediction)
        steady.append(stabilizer.blend(tracker.observe(frame), prediction))
    change = lambda frames: np.mean([np.abs(frames[t + 1] - frames[t]).mean() for t in range(10, 29)])  # noqa: E731
    assert change(steady) < 0.25 * change(raw)
    assert np.abs(np.mean(steady[10:], axis=(0, 1, 2)) - truth[0, 0]).max() < 3.0  # not drained of colour


def test_cut_resets_the_blend():
    stabilizer = Stabilizer()
    first = np.full((8, 8, 2), 30.0, np.float32)
    second = np.full((8, 8, 2), -30.0, np.float32)
    stabilizer.blend(Motion.new_shot(), first)
    assert np.array_equal(stabilizer.blend(Motion.new_shot(), second), second)


def test_points_follow_the_flow_and_drop_out_of_the_frame():
    image = photo()
    frames = [grey(view(image, (90, 160), 100.0 + 6.0 * i, 120.0, 2.0))[:, :, 0] for i in range(2)]
    tracker = FlowTracker()
    tracker.observe(frames[0])
    motion = tracker.observe(frames[1])
    # full resolution twice the working size: a point at x = 100 moves to x = 100 - 2 * 3
    moved = track_points([(100.0, 90.0), (1.0, 90.0)], motion, (0.5, 0.5))
    assert moved[0] is not None and moved[0][0] == pytest.approx(94.0, abs=1.0)
    assert moved[1] is None  # left the frame
    assert track_points([(100.0, 90.0)], Motion.new_shot(), (1, 1)) == [None]


def test_timed_hints_parse_frame_and_time():
    hints = TimedHints.parse(
        {
            "points": [
                {"x": 1, "y": 2, "color": "red"},
                {"x": 3, "y": 4, "color": "#00f", "frame": 5},
                {"x": 5, "y": 6, "color": "lime", "time": 1.0},
            ]
        }
    )
    assert [p.x for p in hints.starting_at(0, 0.0, 0.04)] == [1]
    assert [p.x for p in hints.starting_at(5, 0.2, 0.04)] == [3]
    assert [p.x for p in hints.starting_at(25, 1.0, 0.04)] == [5]
    assert hints.starting_at(26, 1.04, 0.04) == []
    from deepcolor.hints.points import HintError

    with pytest.raises(HintError, match="frame must be"):
        TimedHints.parse([{"x": 1, "y": 1, "color": "red", "frame": -1}])
    with pytest.raises(HintError, match="both frame and time"):
        TimedHints.parse([{"x": 1, "y": 1, "color": "red", "frame": 1, "time": 2}])


# ------------------------------------------------------------------------------ the pipeline, with the model


@pytest.fixture(scope="module")
def colorizer():
    from deepcolor.inference import Colorizer

    return Colorizer("default")


def _ab(frames):
    from deepcolor.color.numpy import rgb_to_lab

    return [rgb_to_lab(f.astype(np.float32) / 255.0)[..., 1:] for f in frames]


def test_static_clip_output_nearly_constant(colorizer):
    from deepcolor.inference.video import colorize_frames

    rng = np.random.default_rng(1)
    base = grey(view(photo(), (48, 64), 120.0, 100.0, 4.0)).astype(np.int16)
    frames = [
        np.clip(base + rng.integers(-6, 7, base.shape[:2])[..., None], 0, 255).astype(np.uint8)
        for _ in range(12)
    ]
    for f in frames:
        f[:, :, 1:] = f[:, :, :1]  # grain, still grey
    steady = _ab(list(colorize_frames(frames, colorizer)))
    plain = _ab(list(colorize_frames(frames, colorizer, temporal=False)))
    change = lambda ab: np.mean([np.abs(ab[t + 1] - ab[t]).mean() for t in range(4, 11)])  # noqa: E731
    assert change(steady) < 0.5 * change(plain)
    assert change(steady) < 1.0  # a*b* units per frame


def test_pan_zoom_temporal_is_steadier_and_keeps_fidelity(colorizer):
    from deepcolor.inference.video import colorize_frames

    truth = pan_frames(14, size=(48, 64), step=1.0, zoom_step=0.01)
    frames = [grey(f) for f in truth]
    steady = list(colorize_frames(frames, colorizer))
    plain = list(colorize_frames(frames, colorizer, temporal=False))
    assert len(steady) == 14 and steady[0].dtype == np.uint8 and steady[0].shape == (48, 64, 3)
    # the output's lightness is the input's
    from deepcolor.color.numpy import rgb_to_lab

    l_out = rgb_to_lab(steady[5].astype(np.float32) / 255.0)[..., 0]
    l_in = rgb_to_lab(frames[5].astype(np.float32) / 255.0)[..., 0]
    assert np.abs(l_out - l_in).mean() < 1.5
    truth_ab = _ab([(np.clip(t, 0, 1) * 255).astype(np.uint8) for t in truth])
    error = lambda out: np.mean([np.abs(a - b).mean() for a, b in zip(_ab(out), truth_ab, strict=True)])  # noqa: E731
    assert error(steady) < error(plain) + 1.0


def test_hint_carried_through_its_shot_and_not_past_the_cut(colorizer):
    from deepcolor.inference.video import colorize_frames

    truth = pan_frames(10, size=(48, 64), step=1.0, cut_at=6)
    frames = [grey(f) for f in truth]
    hint = {"x": 32, "y": 24, "color": "#1040ff", "radius": 3, "frame": 0}
    hinted = _ab(list(colorize_frames(frames, colorizer, hints=[hint])))
    plain = _ab(list(colorize_frames(frames, colorizer)))
    target = np.array([hinted[0][24, 32, 0], hinted[0][24, 32, 1]])
    assert target[1] < -20  # blue: b* well below 0 at the hint on its frame
    # frame 5 (same shot): the content moved 1 px left a frame; the hint's colour is still near its point
    moved = hinted[5][20:29, 23:32].reshape(-1, 2).mean(0)
    unhinted = plain[5][20:29, 23:32].reshape(-1, 2).mean(0)
    assert moved[1] < unhinted[1] - 10
    # after the cut (frame 6 on) the hint is gone
    assert np.abs(hinted[8] - plain[8]).mean() < 2.0


def test_colorize_frames_rejects_bad_frames(colorizer):
    from deepcolor.inference.video import colorize_frames

    with pytest.raises(ValueError, match="frame 0"):
        list(colorize_frames([np.zeros((4, 4, 2), np.uint8)], colorizer))


def test_grey_u8_range():
    out = grey_u8(np.array([[0.0, 100.0, 50.0, -3.0, 120.0]]))
    assert out.dtype == np.uint8 and out[0, :2].tolist() == [0, 255] and out[0, 2] in (127, 128)
    assert out[0, 3:].tolist() == [0, 255]


def test_hint_outside_the_frame_is_an_error(colorizer):
    from deepcolor.hints.points import HintError
    from deepcolor.inference.video import colorize_frames

    frames = [grey(f) for f in pan_frames(2)]
    with pytest.raises(HintError, match=r"point \(64, 3\) of frame 1 is outside the frame \(64 x 48"):
        list(colorize_frames(frames, colorizer, hints=[{"x": 64, "y": 3, "color": "red", "frame": 1}]))
