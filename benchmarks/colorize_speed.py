"""Speed and memory of `deepcolor colorize`: model forward, ONNX, and the whole pipeline at 12 and 50 MP.

Prints markdown tables (paste them into benchmarks/results/colorize_speed.md):

1. Model forward at 256 x 256 (torch, default threads), median of several interleaved runs, for the model(s)
   under test beside the ECCV16 colorization network of Zhang et al. (32.2 M parameters), which is built here
   from the paper's layer table with random weights (the time does not depend on the weights).
2. The same models run by onnxruntime after `deepcolor.inference.onnx.export_onnx`, with the max abs ab
   difference from PyTorch (a*b* units).
3. Forward time against render size (the network's input size, longer side), for choosing `--render-size`.
4. The whole pipeline (read a JPEG, L*, network, guided upsampling, Lab -> sRGB, write a JPEG) on a grey
   12-megapixel photo and a 50-megapixel one, each size in a fresh process: the first image (cold) and the
   median of the next ones (warm), the time per stage, and the process's peak resident memory
   (the child's VmHWM).
5. Batches: images per second through `deepcolor.inference.images.process_images` (the batch entry of the
   file pipeline, what `deepcolor colorize --batch-size B` runs) and through the network alone
   (`Colorizer.predict_low_many`), for batches of 1, 4 and 16 grey 640 x 480 photos (BSD100's first 16,
   resized; scikit-image's samples when the data folder is missing), medians of interleaved runs.

The models under test: `--model` (a shipped name or a file), else the shipped default when there is one, else
the three training presets in configs/ (untrained: the time does not depend on the weights).

    python benchmarks/colorize_speed.py                      # everything (about 3 minutes on 2 cores)
    python benchmarks/colorize_speed.py --skip-pipeline      # forward times only
    python benchmarks/colorize_speed.py --pipeline-only --sizes 12
    python benchmarks/colorize_speed.py --batch-only [--device cuda]   # section 5 alone
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from torch import nn

REPO = Path(__file__).resolve().parents[1]
SIZES_MP = {12: (3000, 4000), 50: (5773, 8660)}
ECCV16_LABEL = "ECCV16 (Zhang et al. 2016)"  # (H, W): 4:3 photos of 12.0 and 50.0 megapixels


# ---------------------------------------------------------------------------------------------- ECCV16
# Zhang, Isola, Efros, "Colorful Image Colorization", ECCV 2016, Table 4 (the network's layer table):
# eight blocks of 3x3 convolutions with ReLU, batch norm after each block; channels 64, 128, 256, 512, 512,
# 512, 512, 256; blocks 1-3 end with stride 2, blocks 5-6 use dilation 2, block 8 starts with a stride-2
# transposed convolution (4x4); then a 1x1 convolution to 313 ab-bin logits, softmax, the annealed mean as a
# 1x1 convolution to ab (no bias), and a 4x bilinear upsampling to the input size.


def _conv_block(c_in: int, c_out: int, n: int, stride_last: int = 1, dilation: int = 1) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i in range(n):
        stride = stride_last if i == n - 1 else 1
        layers += [
            nn.Conv2d(
                c_in if i == 0 else c_out, c_out, 3, stride=stride, padding=dilation, dilation=dilation
            ),
            nn.ReLU(inplace=True),
        ]
    return layers


class ECCV16(nn.Module):
    """The ECCV16 colorization network (random weights): L (B, 1, H, W) -> ab (B, 2, H, W)."""

    def __init__(self) -> None:
        super().__init__()
        blocks = [
            (_conv_block(1, 64, 2, stride_last=2), 64),
            (_conv_block(64, 128, 2, stride_last=2), 128),
            (_conv_block(128, 256, 3, stride_last=2), 256),
            (_conv_block(256, 512, 3), 512),
            (_conv_block(512, 512, 3, dilation=2), 512),
            (_conv_block(512, 512, 3, dilation=2), 512),
            (_conv_block(512, 512, 3), 512),
        ]
        layers: list[nn.Module] = []
        for block, channels in blocks:
            layers += [*block, nn.BatchNorm2d(channels)]
        layers += [nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
        layers += _conv_block(256, 256, 2)
        layers.append(nn.Conv2d(256, 313, 1))
        self.body = nn.Sequential(*layers)
        self.to_ab = nn.Conv2d(313, 2, 1, bias=False)

    def forward(self, l_norm: torch.Tensor) -> torch.Tensor:
        ab = self.to_ab(torch.softmax(self.body(l_norm), dim=1))
        return nn.functional.interpolate(ab, scale_factor=4, mode="bilinear", align_corners=False)

    def predict_ab(self, l_norm: torch.Tensor) -> torch.Tensor:
        return self.forward(l_norm)


# ---------------------------------------------------------------------------------------------- helpers


def median_time(fn, runs: int, warmup: int = 2) -> float:
    """Median wall time of `fn()` in seconds over `runs` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(fns: dict[str, object], runs: int, warmup: int = 2) -> dict[str, float]:
    """Median wall time of each function, the functions called in turn (so that load changes hit all)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def cpu_ms(fn, runs: int, warmup: int = 2) -> float:
    """Least CPU time (process_time) of one call in ms: the work, hardly affected by other processes."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times) * 1e3


def candidates(spec: str | None) -> list[tuple[str, nn.Module, dict]]:
    """(label, model in eval mode, metadata) for the models under test."""
    from deepcolor.inference.weights import load_module, shipped_models
    from deepcolor.models import create_model

    if spec is not None:
        module, meta = load_module(spec)
        return [(Path(spec).stem if os.sep in spec else spec, module, {**meta, "spec": spec})]
    if shipped_models():
        module, meta = load_module("default")
        return [("default", module, {**meta, "spec": "default"})]
    found = []
    for preset in sorted((REPO / "configs").glob("*.yaml")):
        config = yaml.safe_load(preset.read_text())
        kwargs = config.get("model_kwargs", {})
        model = create_model(config["model"], **kwargs).eval()
        found.append(
            (
                f"{config['model']} preset (untrained)",
                model,
                {"model_name": config["model"], "model_kwargs": kwargs},
            )
        )
    return found


def parameters(model: nn.Module) -> str:
    return f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M"


# ---------------------------------------------------------------------------------------------- sections


def forward_section(models: list[tuple[str, nn.Module, dict]], runs: int, onnx: bool = True) -> None:
    from deepcolor.inference.onnx import compare_onnx, export_onnx
    from deepcolor.inference.weights import onnx_session

    eccv = ECCV16().eval()
    everything = [(ECCV16_LABEL, eccv, {}), *models]
    x = torch.rand(1, 1, 256, 256) - 0.5

    def feeds(session) -> dict:  # L, and zeros ("not given") for the conditions an export takes
        inputs = session.get_inputs()
        out = {inputs[0].name: x.numpy()}
        for spec in inputs[1:]:
            shape = [1, spec.shape[1], 256, 256] if len(spec.shape) == 4 else [1, spec.shape[1]]
            out[spec.name] = np.zeros(shape, dtype=np.float32)
        return out

    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as folder:
        sessions, single, differences = {}, {}, {}
        for i, (label, model, meta) in enumerate(everything if onnx else []):
            path = Path(folder) / f"m{i}.onnx"
            export_onnx(model, path, meta={k: v for k, v in meta.items() if k != "spec"})
            sessions[label] = onnx_session(path, threads=threads)
            single[label] = onnx_session(path, threads=1)
            differences[label] = compare_onnx(model, path)
        from deepcolor.inference.weights import load_predictor

        fns, paths = {}, {}
        for label, model, meta in everything:
            fns[("torch", label)] = lambda model=model: model.predict_ab(x)
            # the deepcolor path as the commands get it: from the file (folded, channels-last) when there
            # is one, else the module as it is
            source = meta.get("spec", model)
            paths[label] = load_predictor(source, backend="torch")
            fns[("path", label)] = lambda p=paths[label]: p(x)
            if onnx:
                fns[("ort", label)] = lambda s=sessions[label]: s.run(None, feeds(s))
        with torch.inference_mode():
            wall = interleaved_medians(fns, runs)
            torch.set_num_threads(1)
            work = {
                ("torch", label): cpu_ms(lambda m=model: m.predict_ab(x), runs)
                for label, model, _ in everything
            }
            work.update({("path", label): cpu_ms(lambda p=p: p(x), runs) for label, p in paths.items()})
            torch.set_num_threads(threads)
        for label, _, _ in everything if onnx else []:
            s = single[label]
            work[("ort", label)] = cpu_ms(lambda s=s: s.run(None, feeds(s)), runs)
    reference, reference_work = wall[("path", ECCV16_LABEL)] * 1e3, work[("path", ECCV16_LABEL)]
    print("## Model forward at 256 x 256 (1 image)\n")
    print(
        f"Wall: median of {runs} interleaved runs with {threads} threads (what a user waits; inflated when "
        "other processes load the CPU). The deepcolor path is `load_predictor(name)`, what the commands run: "
        "batch norms folded, channels-last, padded to a multiple of 32, networks under 3 M parameters on one "
        "thread. CPU: the least CPU time of one call on 1 thread (the work itself).\n"
    )
    print(
        "| model | parameters | torch wall ms | deepcolor torch path wall ms | onnxruntime wall ms | "
        "torch CPU ms | deepcolor path CPU ms | onnxruntime CPU ms | speed-up vs ECCV16, path (wall / CPU) "
        "| ONNX max abs ab diff |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, model, _ in everything:
        nan = float("nan")
        t, p, o = (wall.get((kind, label), nan) * 1e3 for kind in ("torch", "path", "ort"))
        tc, pc, oc = (work.get((kind, label), nan) for kind in ("torch", "path", "ort"))
        print(
            f"| {label} | {parameters(model)} | {t:.1f} | {p:.1f} | {o:.1f} | {tc:.1f} | {pc:.1f} | "
            f"{oc:.1f} | {reference / p:.1f}x / {reference_work / pc:.1f}x | "
            f"{differences.get(label, nan):.1e} |"
        )
    print()


def render_size_section(models: list[tuple[str, nn.Module, dict]], runs: int) -> None:
    from deepcolor.inference.weights import load_predictor

    sizes = (128, 160, 192, 256, 320, 384, 512)
    print(
        f"## Network time (ms, deepcolor torch path) against render size, 4:3 input (longer side x 3/4), "
        f"median of {runs}\n"
    )
    print("| model | " + " | ".join(f"{s}x{s * 3 // 4}" for s in sizes) + " |")
    print("| --- |" + " ---: |" * len(sizes))
    for label, model, _ in models:
        predictor = load_predictor(model)
        cells = []
        for s in sizes:
            x = torch.rand(1, 1, s * 3 // 4, s) - 0.5
            cells.append(f"{median_time(lambda x=x, p=predictor: p(x), runs) * 1e3:.1f}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()


def upsampler_section(data_dir: Path, renders: tuple[int, ...] = (32, 64, 128)) -> None:
    """Oracle test of the upsampler on BSD100: the TRUE ab, shrunk to the render size, is upsampled back and
    joined with the true L*; CIEDE2000 to the truth (all pixels, and pixels within 3 px of a lightness step
    of more than 12 L*). What the upsampling alone costs, with a perfect model."""
    import torch.nn.functional as F

    from deepcolor.color import lab_to_rgb, rgb_to_lab
    from deepcolor.inference.pipeline import render_shape
    from deepcolor.inference.upsample import guided_upsample
    from deepcolor.io import read_image
    from deepcolor.metrics import ciede2000

    files = sorted((data_dir / "val" / "bsd100").glob("*.png"))
    if not files:
        print(f"(upsampler quality skipped: no {data_dir / 'val' / 'bsd100'})\n")
        return
    methods = {
        "bilinear": lambda ab, l_low, l: F.interpolate(
            ab, size=l.shape[-2:], mode="bilinear", align_corners=False
        ),
        "fast guided filter (He & Sun, r 2, eps 1e-4)": lambda ab, l_low, l: guided_upsample(
            ab, l_low / 100, l / 100, radius=2, eps=1e-4, clamp=False, detail=False
        ),
        "ours: guided + detail transfer + clamp": lambda ab, l_low, l: guided_upsample(
            ab, l_low / 100, l / 100
        ),
    }
    scores = {(m, r): ([], []) for m in methods for r in renders}
    seconds = {m: 0.0 for m in methods}
    with torch.inference_mode():
        for path in files:
            rgb = torch.from_numpy(read_image(path).rgb).permute(2, 0, 1)[None].contiguous()
            lab = rgb_to_lab(rgb)
            l = lab[:, :1]
            step = torch.zeros_like(l)
            step[..., 1:, :] += (l[..., 1:, :] - l[..., :-1, :]).abs()
            step[..., :, 1:] += (l[..., :, 1:] - l[..., :, :-1]).abs()
            near_edge = (F.max_pool2d((step > 12).float(), 7, stride=1, padding=3) > 0)[:, 0]
            for render in renders:
                size = render_shape(*l.shape[-2:], render)
                shrink = dict(size=size, mode="bilinear", antialias=True, align_corners=False)
                l_low, ab_low = F.interpolate(l, **shrink), F.interpolate(lab[:, 1:], **shrink)
                for name, method in methods.items():
                    start = time.perf_counter()
                    ab = method(ab_low, l_low, l)
                    seconds[name] += time.perf_counter() - start
                    error = ciede2000(rgb_to_lab(lab_to_rgb(torch.cat([l, ab], dim=1))), lab)
                    scores[(name, render)][0].append(error.mean().item())
                    scores[(name, render)][1].append(error[near_edge].mean().item())
    print(
        f"## Upsampler quality: BSD100 ({len(files)} photos, 481 x 321), true ab shrunk to the render size\n"
    )
    print(
        "Mean CIEDE2000 to the truth, all pixels / pixels near lightness edges (lower is better). The "
        "upsampling factor is 481 / render size; a 12 MP photo at render size 256 is upsampled 15.6x.\n"
    )
    print("| method | " + " | ".join(f"render {r} ({481 / r:.1f}x)" for r in renders) + " |")
    print("| --- |" + " ---: |" * len(renders))
    for name in methods:
        cells = [
            f"{np.mean(scores[(name, r)][0]):.3f} / {np.mean(scores[(name, r)][1]):.3f}" for r in renders
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()


def make_photo(path: Path, size: tuple[int, int]) -> None:
    """A grey JPEG photo of `size` (H, W): scikit-image's astronaut, upscaled, with sensor-like noise."""
    import skimage.data
    from PIL import Image

    height, width = size
    grey = (
        Image.fromarray(skimage.data.astronaut())
        .convert("L")
        .resize((width, height), Image.Resampling.BICUBIC)
    )
    noisy = np.asarray(grey, dtype=np.float32)
    noisy += np.random.default_rng(0).normal(0.0, 3.0, noisy.shape).astype(np.float32)
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(path, quality=92)


def child(photo: Path, model_file: Path, backend: str, render_size: int, repeats: int, threads: int) -> None:
    """One process: colorize `photo` `repeats` + 1 times, print stage times and peak RSS as JSON."""
    torch.set_num_threads(threads)
    start = time.perf_counter()
    from deepcolor.inference import Colorizer, lightness
    from deepcolor.io import read_image, write_image

    colorizer = Colorizer(str(model_file), device="cpu", backend=backend)
    startup = time.perf_counter() - start
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats + 1):
            stages: dict[str, float] = {}
            cpu_start = time.process_time()

            def lap(name: str, t0: float, stages: dict[str, float] = stages) -> float:
                now = time.perf_counter()
                stages[name] = now - t0
                return now

            t = time.perf_counter()
            image = read_image(photo)
            t = lap("read", t)
            l = lightness(image.rgb, gray=image.channels_equal)  # the pipeline's rule (inference/images.py)
            t = lap("L*", t)
            coefficients = colorizer.fit(l, render_size)
            t = lap("network", t)
            rgb = colorizer._join(l, coefficients, 1.0, out=image.rgb)
            t = lap("upsample + Lab->sRGB", t)
            del l, coefficients  # as in `deepcolor colorize`, where they end with `colorize_array`
            write_image(Path(folder) / "out.jpg", rgb, exif=image.exif, icc=image.icc)
            lap("write", t)
            stages["total"] = sum(stages.values())
            stages["CPU"] = time.process_time() - cpu_start
            runs.append(stages)
            del image, rgb
    print(json.dumps({"startup": startup, "runs": runs, "peak_mib": peak_mib()}))


def peak_mib() -> float:
    """This process's peak resident memory: VmHWM, which exec resets (ru_maxrss of a child started by a
    process holding 1.4 GB reported those 1.4 GB: it counts the parent's pages from before the exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB -> MiB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux


def pipeline_section(
    models, sizes: list[int], backend: str, render_size: int, repeats: int, threads: list[int]
) -> None:
    from deepcolor.models import save_weights

    label, model, meta = models[0]
    print(
        f"## Whole pipeline, grey JPEG in -> colour JPEG out, `{label}`, render size {render_size}, "
        f"backend {backend}\n"
    )
    print(
        "Each size and thread count in a fresh process; cold = the first image after loading the model, "
        f"warm = median of the next {repeats}. Startup = imports + model load. Stage times are wall seconds; "
        "CPU = the process's CPU seconds for the whole image (all threads). Peak RSS = the process's "
        "VmHWM, its own high-water mark.\n"
    )
    stages = ["read", "L*", "network", "upsample + Lab->sRGB", "write", "total", "CPU"]
    print(
        "| photo | threads | startup s | run | " + " | ".join(f"{s} s" for s in stages) + " | peak RSS MiB |"
    )
    print("| --- | ---: | ---: | --- |" + " ---: |" * len(stages) + " ---: |")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        model_file = folder / "model.safetensors"
        if not hasattr(model, "model_name"):
            model.model_name, model.model_kwargs = meta["model_name"], meta.get("model_kwargs", {})
        save_weights(model, model_file, {k: v for k, v in meta.items() if k not in ("extra_tensors",)})
        for mp in sizes:
            photo = folder / f"photo{mp}.jpg"
            make_photo(photo, SIZES_MP[mp])
            h, w = SIZES_MP[mp]
            name = f"{mp} MP ({w} x {h})"
            for n in threads:
                command = [sys.executable, __file__, "--child", str(photo), "--model-file", str(model_file)]
                command += ["--backend", backend, "--render-size", str(render_size), "--threads", str(n)]
                command += ["--repeats", str(repeats if mp <= 12 else 1)]
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    print(f"| {name} | {n} | failed: {done.stderr.strip().splitlines()[-1:]} |")
                    continue
                report = json.loads(done.stdout.strip().splitlines()[-1])
                cold, warm = report["runs"][0], report["runs"][1:]
                cells = " | ".join(f"{cold[s]:.3f}" for s in stages)
                print(
                    f"| {name} | {n} | {report['startup']:.2f} | cold | {cells} | {report['peak_mib']:.0f} |"
                )
                if warm:
                    med = {s: statistics.median(r[s] for r in warm) for s in stages}
                    cells = " | ".join(f"{med[s]:.3f}" for s in stages)
                    print(f"| {name} | {n} | | warm (median of {len(warm)}) | {cells} | |")
            photo.unlink()
    print()


# ---------------------------------------------------------------------------------------------- batches


def batch_photos(data_dir: Path, count: int = 16, size: tuple[int, int] = (640, 480)) -> list[np.ndarray]:
    """`count` grey photos of `size` (width, height) as (H, W, 3) float32 in [0, 1]: BSD100's first photos
    resized (the speed does not depend on the content), else scikit-image's bundled samples."""
    from PIL import Image

    folder = data_dir / "val" / "bsd100"
    files = (
        sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
        if folder.is_dir()
        else []
    )
    if not files:
        import skimage.data

        files = sorted(Path(skimage.data.data_dir).glob("*.png"))
    photos = []
    for i in range(count):
        with Image.open(files[i % len(files)]) as image:
            grey = image.convert("L").resize(size, Image.Resampling.BICUBIC)
        rgb = np.repeat(np.asarray(grey, dtype=np.float32)[..., None] / 255.0, 3, axis=2)
        photos.append(rgb)
    return photos


def batch_section(
    spec: str | None, backend: str, device: str, runs: int, data_dir: Path, batch_sizes=(1, 4, 16)
) -> None:
    """Images per second for batches of 1, 4 and 16 photos of 640 x 480, whole in-memory pipeline and
    network alone."""
    from deepcolor.inference import Colorizer
    from deepcolor.inference.images import process_images
    from deepcolor.inference.pipeline import lightness
    from deepcolor.io import image_from_array

    colorizer = Colorizer(spec or "default", device=device, backend=backend)
    photos = batch_photos(data_dir, max(batch_sizes))
    images = [image_from_array(rgb, name=f"photo{i}") for i, rgb in enumerate(photos)]
    ls = [lightness(image.rgb, colorizer.device, gray=image.channels_equal) for image in images]
    sync = torch.cuda.synchronize if colorizer.device.type == "cuda" else (lambda: None)

    def whole(batch: int):
        def run() -> None:
            process_images(images, colorizer, "colorize", batch_size=batch)
            sync()

        return run

    def network(batch: int):
        def run() -> None:
            colorizer.predict_low_many(ls, batch_size=batch)
            sync()

        return run

    fns = {("whole", b): whole(b) for b in batch_sizes} | {("network", b): network(b) for b in batch_sizes}
    for fn in fns.values():  # warm-up
        fn()
    walls: dict[tuple[str, int], list[float]] = {key: [] for key in fns}
    cpus: dict[tuple[str, int], list[float]] = {key: [] for key in fns}
    for _ in range(runs):  # interleaved, so that a change of load hits every batch size
        for key, fn in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            walls[key].append(time.perf_counter() - wall)
            cpus[key].append(time.process_time() - cpu)
    medians = {key: statistics.median(t) for key, t in walls.items()}
    cpu_medians = {key: statistics.median(t) for key, t in cpus.items()}
    count = len(images)
    print(
        f"## Batches: {count} grey photos of 640 x 480, `{spec or 'default'}`, backend {colorizer.backend}, "
        f"device {colorizer.device}, render size {colorizer.render_size}, {torch.get_num_threads()} threads\n"
    )
    print(
        f"Images per second (median of {runs} interleaved runs over the {count} photos). Whole: "
        "`process_images` in memory (L*, network in batches of B, guided upsampling, Lab -> sRGB; no file "
        "I/O), what `deepcolor colorize --batch-size B` runs between reading and writing. Network: "
        "`Colorizer.predict_low_many` (resize to the render size and the forward passes).\n"
    )
    print(
        "CPU ms/image: the process's CPU time (all threads) per image, median: the work itself, hardly "
        "changed by other processes on the machine, unlike the wall time.\n"
    )
    print(
        "| batch size | whole: images/s | whole: wall ms/image | whole: CPU ms/image | network: images/s "
        "| network: wall ms/image | network: CPU ms/image |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for b in batch_sizes:
        w, n = medians[("whole", b)], medians[("network", b)]
        wc, nc = cpu_medians[("whole", b)], cpu_medians[("network", b)]
        print(
            f"| {b} | {count / w:.1f} | {1e3 * w / count:.1f} | {1e3 * wc / count:.1f} | {count / n:.1f} "
            f"| {1e3 * n / count:.1f} | {1e3 * nc / count:.1f} |"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="shipped name or file; default: shipped default or presets"
    )
    parser.add_argument("--runs", type=int, default=9, help="timed runs per forward measurement")
    parser.add_argument("--sizes", default="12,50", help="pipeline photo sizes in megapixels (12, 50)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="warm pipeline runs after the cold one (12 MP)"
    )
    parser.add_argument(
        "--render-size", type=int, default=None, help="pipeline render size [model's default]"
    )
    parser.add_argument("--backend", default="torch", choices=("torch", "onnxruntime"))
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--skip-onnx", action="store_true", help="no ONNX export in the forward table")
    parser.add_argument("--skip-upsampler", action="store_true", help="skip the BSD100 upsampler oracle")
    parser.add_argument("--pipeline-only", action="store_true")
    parser.add_argument("--batch-only", action="store_true", help="only the batch table (section 5)")
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--device", default="auto", help="device of the batch table (auto, cpu, cuda)")
    parser.add_argument("--threads", type=int, default=0, help="pipeline threads; 0: torch's default and 1")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--model-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.model_file, args.backend, args.render_size, args.repeats, args.threads)
        return
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"load average at start {os.getloadavg()[0]:.1f}\n"
    )
    data_dir = Path(os.environ.get("DEEPCOLOR_DATA", REPO.parent / "shared" / "data"))
    if args.batch_only:
        if args.threads:
            torch.set_num_threads(args.threads)
        batch_section(args.model, args.backend, args.device, max(3, args.runs // 2), data_dir)
        print(f"load average at end {os.getloadavg()[0]:.1f}")
        return
    models = candidates(args.model)
    if not args.pipeline_only:
        forward_section(models, args.runs, onnx=not args.skip_onnx)
        render_size_section(models, max(3, args.runs // 2))
    if not args.pipeline_only and not args.skip_upsampler:
        upsampler_section(Path(os.environ.get("DEEPCOLOR_DATA", REPO.parent / "shared" / "data")))
    if not args.skip_pipeline:
        sizes = [int(s) for s in args.sizes.split(",")]
        threads = [args.threads] if args.threads else sorted({torch.get_num_threads(), 1}, reverse=True)
        from deepcolor.inference.pipeline import DEFAULT_RENDER_SIZE

        render_size = args.render_size or int(models[0][2].get("render_size") or DEFAULT_RENDER_SIZE)
        pipeline_section(models, sizes, args.backend, render_size, args.repeats, threads)
    if not args.skip_batch and not args.pipeline_only:
        batch_section(args.model, args.backend, args.device, max(3, args.runs // 2), data_dir)
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
