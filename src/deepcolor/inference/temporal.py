"""Temporal consistency of a clip's colours: the previous output's a*b* carried forward along the optical flow
and blended with the new prediction where the flow is reliable; reset at shot cuts.

A colorizer that sees one frame at a time flickers: the same wall turns a slightly different colour every
frame (Lai et al. 2018 measure it as the warping error; DeOldify's author calls it a fundamental limitation
of frame-by-frame colouring). What is done here, on the CPU and without weights, after the prediction
at the render size (where the flow is cheap and the colour is smooth anyway; the edge-aware upsampling then
brings it to full resolution along each frame's own edges):

1. Flow. OpenCV's DIS optical flow (Kroeger et al. 2016) on the grey frames, both ways between t-1 and t.
2. Reliability, per pixel of frame t: the forward-backward check of Ruder et al. (2016) (a pixel whose flow
   to t-1 and back does not return is occluded or wrongly matched) times brightness constancy (its L* and the
   L* it came from agree: Gaussian in the difference).
3. Cuts. A frame where most pixels have no reliable match in the previous one starts a new shot: nothing is
   carried over it (a hint or a colour from another shot would be wrong).
4. Global colour statistics held steady over a shot: the prediction's mean a*b* is moved to a running mean of
   the shot's (so a whole frame, disoccluded parts included, cannot jump in hue). Holding the spread too was
   tried: on bikes.mp4 it cost 0.1 dB of PSNR for no steadier result (benchmarks/video.py).
5. Blend: ``ab_t = w * warp(ab_{t-1}) + (1 - w) * prediction_t``, w = `strength` x reliability. A static
   scene thus becomes a running average of the predictions (flicker falls by about sqrt((1 - w) / (1 + w)) in
   spread), a moving one follows its motion, and a disoccluded region takes the new prediction at once.

`FlowTracker.observe(grey)` runs ahead of the network (the flow is also what carries a hint through its shot:
`track_points`), `Stabilizer.blend(motion, ab)` after it, both in frame order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Carried share of the previous output where the flow is perfectly reliable. 0.85: a static scene averages
# about 12 frames (half a second) of predictions; higher holds colours longer after a real change.
DEFAULT_STRENGTH = 0.85
# Brightness constancy: Gaussian weight of the L* difference along the flow (L* units).
BRIGHTNESS_SIGMA = 6.0
# A frame with less than this mean reliability against the previous one starts a new shot.
CUT_RELIABILITY = 0.3
# A tracked hint is dropped where the flow's reliability at its new place is below this (0: only as it leaves
# the frame). On bikes.mp4's second shot a hint dropped below 0.5 was lost after 10-20 frames (the a*b*
# distance to its colour back to 69-85 of 90 unhinted); followed at any reliability it held to the shot's end
# (7-17), and was gone after the cut either way (benchmarks/video.py).
TRACK_RELIABILITY = 0.0
# Running colour statistics: weight of a new frame's mean a*b*. Measured on bikes.mp4's first 60 frames at the
# render size: 0.1 (and the spread held too) 1.30 warping error, PSNR 29.84 dB; 0.3, the mean only, 1.39 and
# 29.97 dB; none 1.59 and 29.98 dB; frame by frame 10.7 and 29.99 dB.
STATS_RATE = 0.3


def _cv2():
    try:
        import cv2
    except ImportError as error:
        raise ImportError("temporal consistency needs OpenCV: pip install opencv-python-headless") from error
    return cv2


def grey_u8(l: np.ndarray) -> np.ndarray:
    """L* (h, w) in [0, 100] -> uint8 grey (h, w) for the flow."""
    return np.clip(l * 2.55 + 0.5, 0, 255).astype(np.uint8)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample `image` (h, w) or (h, w, C) at x + flow(x) (bilinear, edges replicated): with the backward flow
    of frame t (t -> t-1), frame t-1's values brought to where they are in frame t."""
    cv2 = _cv2()
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x = grid_x + flow[..., 0]
    map_y = grid_y + flow[..., 1]
    return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@dataclass
class Motion:
    """How frame t relates to frame t-1 (at the working size h x w).

    Attributes:
        backward: (h, w, 2) flow t -> t-1 (where each pixel of t was).
        forward: (h, w, 2) flow t-1 -> t (where each pixel of t-1 goes).
        reliability: (h, w) float32 in [0, 1]: how far the backward flow can be trusted per pixel of t.
        cut: frame t starts a new shot (nothing is carried into it).
    """

    backward: np.ndarray | None
    forward: np.ndarray | None
    reliability: np.ndarray | None
    cut: bool

    @classmethod
    def new_shot(cls) -> Motion:
        return cls(None, None, None, True)


def reliability(
    grey: np.ndarray, previous: np.ndarray, backward: np.ndarray, forward: np.ndarray
) -> np.ndarray:
    """Per pixel of frame t, in [0, 1]: Ruder et al.'s forward-backward check (1 where t -> t-1 -> t returns
    to the start, within 1% of the motion plus half a pixel) times brightness constancy (Gaussian in the L*
    difference along the flow, `BRIGHTNESS_SIGMA`). `grey`, `previous`: uint8 (h, w)."""
    forward_at = warp(forward, backward)  # t-1 -> t flow, read where each pixel of t came from
    round_trip = backward + forward_at
    error = np.sum(round_trip * round_trip, axis=-1)
    bound = 0.01 * (np.sum(backward * backward, axis=-1) + np.sum(forward_at * forward_at, axis=-1)) + 0.5
    consistent = (error <= bound).astype(np.float32)
    came_from = warp(previous, backward).astype(np.float32)
    difference = (grey.astype(np.float32) - came_from) / 2.55  # in L*
    constant = np.exp(-((difference / BRIGHTNESS_SIGMA) ** 2))
    return (consistent * constant).astype(np.float32)


class FlowTracker:
    """Optical flow between consecutive grey frames, their reliability and the shot cuts (frame order)."""

    def __init__(self, cut_reliability: float = CUT_RELIABILITY) -> None:
        cv2 = _cv2()
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.cut_reliability = cut_reliability
        self.previous: np.ndarray | None = None

    def reset(self) -> None:
        self.previous = None

    def observe(self, grey: np.ndarray) -> Motion:
        """The motion from the previous frame to `grey` (uint8 (h, w)); a cut for the first frame, a frame
        of another size, or one with too little reliable match."""
        previous, self.previous = self.previous, grey
        if previous is None or previous.shape != grey.shape or min(grey.shape) < 8:
            return Motion.new_shot()
        backward = self.flow.calc(grey, previous, None)
        forward = self.flow.calc(previous, grey, None)
        trust = reliability(grey, previous, backward, forward)
        if float(trust.mean()) < self.cut_reliability:
            return Motion.new_shot()
        return Motion(backward, forward, trust, False)


def track_points(
    points: list[tuple[float, float]], motion: Motion, scale: tuple[float, float]
) -> list[tuple[float, float] | None]:
    """Move points of frame t-1 to frame t along the forward flow. Points are in full-resolution pixels;
    `scale` is (working width / full width, working height / full height). A point that leaves the frame, or
    lands where the match's reliability is below `TRACK_RELIABILITY`, becomes None."""
    if motion.cut or motion.forward is None or motion.reliability is None:
        return [None] * len(points)
    height, width = motion.forward.shape[:2]
    out: list[tuple[float, float] | None] = []
    for x, y in points:
        lx, ly = x * scale[0], y * scale[1]
        ix, iy = int(np.clip(round(lx), 0, width - 1)), int(np.clip(round(ly), 0, height - 1))
        dx, dy = motion.forward[iy, ix]
        nx, ny = lx + float(dx), ly + float(dy)
        jx, jy = int(round(nx)), int(round(ny))
        if not (0 <= jx < width and 0 <= jy < height) or motion.reliability[jy, jx] < TRACK_RELIABILITY:
            out.append(None)
            continue
        out.append((nx / scale[0], ny / scale[1]))
    return out


class Stabilizer:
    """The blend of each frame's predicted a*b* with the previous output carried along the flow (frame
    order), and the shot's running colour statistics.

    Args:
        strength: carried share where the flow is fully reliable (0: frame by frame; < 1).
    """

    def __init__(self, strength: float = DEFAULT_STRENGTH) -> None:
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"strength must be in [0, 1). Got {strength}")
        self.strength = strength
        self.previous: np.ndarray | None = None  # (h, w, 2) float32: the last output a*b*
        self.mean: np.ndarray | None = None  # (2,) the shot's running mean a*b*

    def blend(self, motion: Motion, ab: np.ndarray) -> np.ndarray:
        """One frame: `ab` (h, w, 2) float32 a*b* predicted at the working size -> the stabilised a*b*."""
        ab = np.asarray(ab, dtype=np.float32)
        previous = self.previous
        if motion.cut or previous is None or previous.shape != ab.shape:
            self.mean = ab.mean(axis=(0, 1))
            self.previous = ab.copy()
            return ab
        ab = self._steady_mean(ab)
        assert motion.backward is not None and motion.reliability is not None
        carried = warp(previous, motion.backward)
        weight = (self.strength * motion.reliability)[..., None]
        out = weight * carried + (1.0 - weight) * ab
        self.previous = out
        return out

    def _steady_mean(self, ab: np.ndarray) -> np.ndarray:
        """`ab` shifted so that its mean is the shot's running mean (then updated with this frame's)."""
        assert self.mean is not None
        mean = ab.mean(axis=(0, 1))
        self.mean = (1.0 - STATS_RATE) * self.mean + STATS_RATE * mean
        return (ab + (self.mean - mean)).astype(np.float32)


__all__ = [
    "DEFAULT_STRENGTH",
    "FlowTracker",
    "Motion",
    "Stabilizer",
    "grey_u8",
    "reliability",
    "track_points",
    "warp",
]
