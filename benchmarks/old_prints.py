"""Old prints on the validation photos: toned prints recognised, enhance on them, grainy scans, blotches.

The prints are made from the photos of val/bsd100 and val/wallpapers by `deepcolor.data.degrade` (seeded per
photo):

1. Toned monochrome: two toned prints per photo (`random_tone`: sepia, selenium, gold, platinum, cyanotype or
   yellowed paper, hue jittered, strength 0.4-1.5; the second one also grainy, soft and saved as JPEG 40), and
   the colour photo itself, through `deepcolor.inference.toned.analyse_tone`: how many colour photos are taken
   for monochrome (target 0), how many toned prints are recognised (target >= 98%).
2. `enhance` on the first toned print (the file pipeline, `process_image(..., "enhance")`) against `colorize`
   on the photo's grey: CIEDE2000 to the photo (target: as good).
3. Scan damage: the photo's grey, and the same grey with film grain (0.05), blur (sigma 1) and JPEG 40
   (`degrade_scan`), both colorized: CIEDE2000 and colourfulness (targets: within 0.5, at least 85%).
4. Blotches: the share of pixels with chroma > 30 where the photo's chroma is < 10 (confident wrong colour on
   neutral areas), for the clean and the damaged grey.

    python benchmarks/old_prints.py                 # both sets
    python benchmarks/old_prints.py --limit 20      # the first 20 photos of each set
    python benchmarks/old_prints.py --sheet docs/images/old-prints.png --limit 0   # only the demo sheet
    python benchmarks/old_prints.py --unsure-fade --limit 25   # only the table of item 5

5. (`--unsure-fade`) Colour faded toward neutral where the model is unsure: the colorization's a*b* scaled by
   1 - (1 - floor) * clamp((u - u0) / (u1 - u0), 0, 1), u the uncertainty map (the entropy of the model's ab
   distribution, `deepcolor.inference.guidance.uncertainty_map`), for a few (u0, u1, floor): blotches,
   CIEDE2000 with the photo's L*, colourfulness. Measured, not shipped (see benchmarks/results/old_prints.md).

The sheet (`--sheet`): scikit-image's sample photos made into a sepia print, a faded colour print and a
grainy, cracked scan of a grey print by the same models, before and after deepcolor.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections import Counter
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DEEPCOLOR_DATA", REPO.parent / "shared" / "data"))
SUFFIXES = (".png", ".jpg", ".jpeg")
BLOTCH_CHROMA, NEUTRAL_CHROMA = 30.0, 10.0


def main() -> None:
    from deepcolor.color import rgb_to_lab
    from deepcolor.color.numpy import lab_to_rgb
    from deepcolor.data.degrade import degrade_scan, random_tone
    from deepcolor.inference import Colorizer
    from deepcolor.inference.grain import NOISE_GATE, noise_level
    from deepcolor.inference.images import process_image
    from deepcolor.inference.pipeline import lightness
    from deepcolor.inference.toned import analyse_tone
    from deepcolor.io import image_from_array, read_image
    from deepcolor.metrics import ciede2000, colorfulness

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="shipped name or a weights / checkpoint file")
    parser.add_argument("--data", type=Path, action="append", help="folder of photos (repeatable)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N photos of each set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unsure-fade", action="store_true", help="only the table of item 5")
    parser.add_argument("--sheet", type=Path, default=None, help="also write the demo sheet here (PNG)")
    parser.add_argument(
        "--no-denoise-grain", action="store_true",
        help="the damaged scans are colorized without --grainy too (the network sees grainy L* as it is)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    sets = args.data or [DATA / "val" / "bsd100", DATA / "val" / "wallpapers"]
    # clean photos go through the default path; the damaged scans as a user with a grainy scan runs them,
    # `deepcolor colorize --grainy` (Colorizer(denoise_grain=True))
    colorizer = Colorizer(args.model, device="cpu")
    grainy_colorizer = Colorizer(args.model, device="cpu", denoise_grain=not args.no_denoise_grain)

    def tensor(rgb: np.ndarray) -> torch.Tensor:
        rgb = np.round(np.clip(rgb, 0, 1) * 255.0) / 255.0
        return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]

    def delta_e(out: np.ndarray, truth_lab: torch.Tensor) -> tuple[float, float]:
        """CIEDE2000 to the photo, and the same with the photo's own L* put into the result (its colour alone:
        a damaged or toned print's L* differs from the photo's, which no colorization can undo)."""
        lab = rgb_to_lab(tensor(out))
        own_l = torch.cat([truth_lab[:, :1], lab[:, 1:]], dim=1)
        return ciede2000(lab, truth_lab).mean().item(), ciede2000(own_l, truth_lab).mean().item()

    def colorize(rgb: np.ndarray, task: str = "colorize", grainy: bool = False) -> np.ndarray:
        used = grainy_colorizer if grainy else colorizer
        return process_image(image_from_array(rgb.copy()), used, task).rgb

    print(f"model {colorizer.name}, render size {colorizer.render_size}, seed {args.seed}\n")
    if args.sheet is not None:
        write_sheet(args.sheet, colorizer)
        print(f"wrote {args.sheet}\n")
    if args.unsure_fade:
        for folder in sets:
            unsure_fade_table(folder, args.limit, colorizer)
        return
    for folder in sets:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)[: args.limit]
        if not files:
            continue
        colour_as_mono: list[str] = []
        recognised: Counter[str] = Counter()
        toned_total: Counter[str] = Counter()
        spreads_colour, spreads_toned = [], []
        de: dict[str, list[tuple[float, float]]] = {
            "enhance on toned": [],
            "colorize on toned grey": [],
            "clean grey": [],
            "damaged grey": [],
        }
        cf = {"truth": [], "clean grey": [], "damaged grey": []}
        blotch = {"clean grey": [], "damaged grey": []}
        denoised = {"clean grey": 0, "damaged grey": 0}  # photos the grain gate let through
        with torch.inference_mode():
            for index, path in enumerate(files):
                rng = np.random.default_rng(args.seed + index)
                truth = read_image(path).rgb
                truth_lab = rgb_to_lab(tensor(truth))
                neutral = truth_lab[:, 1:].norm(dim=1) < NEUTRAL_CHROMA
                analysis = analyse_tone(truth)
                spreads_colour.append(analysis.spread)
                if analysis.kind != "colour":
                    colour_as_mono.append(f"{path.name} ({analysis.kind}, spread {analysis.spread:.2f})")
                toned, tone, _ = random_tone(truth, rng)
                damaged_toned = degrade_scan(random_tone(truth, rng)[0], rng, grain=0.04, blur=0.8)
                for name, print_ in ((tone, toned), ("grainy JPEG 40", damaged_toned)):
                    result = analyse_tone(print_)
                    spreads_toned.append(result.spread)
                    toned_total[name] += 1
                    recognised[name] += result.is_toned
                l = truth_lab[0, 0].numpy()
                grey = lab_to_rgb(
                    np.stack([l, np.zeros_like(l), np.zeros_like(l)], axis=-1)
                )  # its L* as grey
                clean = colorize(grey)
                de["enhance on toned"].append(delta_e(colorize(toned, "enhance"), truth_lab))
                toned_l = rgb_to_lab(tensor(toned))[0, 0].numpy()
                toned_grey = lab_to_rgb(np.stack([toned_l, 0 * toned_l, 0 * toned_l], axis=-1))
                de["colorize on toned grey"].append(delta_e(colorize(toned_grey), truth_lab))
                damaged_grey = degrade_scan(grey, rng)
                damaged = colorize(damaged_grey, grainy=True)
                for name, image, used in (("clean grey", grey, colorizer), ("damaged grey", damaged_grey,
                                                                            grainy_colorizer)):
                    if used.denoise_grain:
                        denoised[name] += noise_level(lightness(image.astype(np.float32))) >= NOISE_GATE
                cf["truth"].append(colorfulness(tensor(truth)).item())
                for name, out in (("clean grey", clean), ("damaged grey", damaged)):
                    lab = rgb_to_lab(tensor(out))
                    de[name].append(delta_e(out, truth_lab))
                    cf[name].append(colorfulness(tensor(out)).item())
                    wrong = (lab[:, 1:].norm(dim=1) > BLOTCH_CHROMA) & neutral
                    blotch[name].append(wrong.float().sum().item() / max(neutral.float().sum().item(), 1.0))
        total = sum(toned_total.values())
        print(f"### {folder.name}: {len(files)} photos\n")
        print(
            f"Toned prints recognised: {sum(recognised.values())} of {total} "
            f"({sum(recognised.values()) / total:.1%}; target >= 98%); colour photos taken for monochrome: "
            f"{len(colour_as_mono)} of {len(files)} (target 0)"
            + (": " + ", ".join(colour_as_mono) if colour_as_mono else "")
        )
        print(
            f"spread (a*b*): colour photos min {min(spreads_colour):.2f}, 5th percentile "
            f"{np.percentile(spreads_colour, 5):.2f}; toned prints median {np.median(spreads_toned):.2f}, "
            f"max {max(spreads_toned):.2f}\n"
        )
        print("| print | recognised |")
        print("| --- | ---: |")
        for name in sorted(toned_total):
            print(f"| {name} | {recognised[name]} / {toned_total[name]} |")
        print()
        print(
            "| colorization | CIEDE2000 to the photo | the same, the photo's L* | colourfulness (truth "
            f"{statistics.mean(cf['truth']):.1f}) | blotches (chroma > 30 where truth < 10) |"
        )
        print("| --- | ---: | ---: | ---: | ---: |")
        labels = {
            "enhance on toned": "enhance on the toned print",
            "colorize on toned grey": "colorize on the toned print's grey",
            "clean grey": "colorize on the photo's grey",
            "damaged grey": "colorize on it grainy, soft, JPEG 40",
        }
        for name, label in labels.items():
            full, own = (statistics.mean(v) for v in zip(*de[name], strict=True))
            extra = (
                f"{statistics.mean(cf[name]):.1f} | {statistics.mean(blotch[name]):.2%}"
                if name in cf
                else " | "
            )
            print(f"| {label} | {full:.2f} | {own:.2f} | {extra} |")
        gap = statistics.mean(v[1] for v in de["damaged grey"]) - statistics.mean(
            v[1] for v in de["clean grey"]
        )
        ratio = statistics.mean(cf["damaged grey"]) / statistics.mean(cf["clean grey"])
        print(
            f"\ndamaged - clean: CIEDE2000 with the photo's L* {gap:+.2f} (target within 0.5); colourfulness "
            f"{ratio:.0%} of the clean result's (target >= 85%)"
        )
        print(
            f"the network's input denoised (grain gate, deepcolor.inference.grain): clean grey "
            f"{denoised['clean grey']} of {len(files)}, damaged {denoised['damaged grey']} of {len(files)}\n"
        )


UNSURE_FADES = [None, (0.7, 0.95, 0.5), (0.6, 0.9, 0.3), (0.5, 0.8, 0.2)]


def unsure_fade_table(folder: Path, limit: int | None, colorizer: object) -> None:
    """Item 5 of the module notes, on the first `limit` photos of `folder`, colorized from their L*."""
    from deepcolor.color import lab_to_rgb, rgb_to_lab
    from deepcolor.inference.guidance import uncertainty_map
    from deepcolor.io import read_image
    from deepcolor.metrics import ciede2000, colorfulness

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)[:limit]
    rows: dict[object, list[tuple[float, float, float]]] = {params: [] for params in UNSURE_FADES}
    with torch.inference_mode():
        for path in files:
            truth = torch.from_numpy(read_image(path).rgb).permute(2, 0, 1)[None].contiguous()
            truth_lab = rgb_to_lab(truth)
            l = truth_lab[:, :1].contiguous()
            lab = rgb_to_lab(torch.from_numpy(colorizer.colorize_l(l)).permute(2, 0, 1)[None])  # type: ignore[attr-defined]
            unsure = torch.from_numpy(uncertainty_map(colorizer, l))[None, None]  # type: ignore[arg-type]
            neutral = truth_lab[:, 1:].norm(dim=1) < NEUTRAL_CHROMA
            for params in UNSURE_FADES:
                ab = lab[:, 1:]
                if params is not None:
                    u0, u1, floor = params
                    ab = ab * (1 - (1 - floor) * ((unsure - u0) / (u1 - u0)).clamp(0, 1))
                own_l = torch.cat([truth_lab[:, :1], ab], dim=1)
                blotches = ((ab.norm(dim=1) > BLOTCH_CHROMA) & neutral).sum() / neutral.sum().clamp(min=1)
                rows[params].append(
                    (
                        ciede2000(own_l, truth_lab).mean().item(),
                        colorfulness(lab_to_rgb(own_l)).item(),
                        blotches.item(),
                    )
                )
    print(f"### {folder.name}: colour faded where the model is unsure, {len(files)} photos\n")
    print("| fade (u0, u1, floor) | CIEDE2000, the photo's L* | colourfulness | blotches |")
    print("| --- | ---: | ---: | ---: |")
    for params, values in rows.items():
        de, cf, blotches = (statistics.mean(v) for v in zip(*values, strict=True))
        print(f"| {params or 'none (shipped)'} | {de:.2f} | {cf:.1f} | {blotches:.2%} |")
    print()


def write_sheet(path: Path, colorizer: object) -> None:
    """The demo sheet: a toned print, a faded print, a grainy scan, each before and after deepcolor."""
    import skimage.data
    from PIL import Image

    from deepcolor.color.numpy import lab_to_rgb, rgb_to_lab
    from deepcolor.data.degrade import FadeParams, degrade_scan, fade_print, tone_print
    from deepcolor.inference.images import process_image
    from deepcolor.io import image_from_array
    from deepcolor.viz import make_sheet

    def run(rgb: np.ndarray, task: str) -> np.ndarray:
        return process_image(image_from_array(rgb.copy()), colorizer, task).rgb  # type: ignore[arg-type]

    def unit(image: np.ndarray) -> np.ndarray:
        return np.asarray(image, dtype=np.float32) / 255.0

    rng = np.random.default_rng(0)
    astronaut, coffee, chelsea = (
        unit(skimage.data.astronaut()),
        unit(skimage.data.coffee()),
        unit(skimage.data.chelsea()),
    )
    sepia = degrade_scan(tone_print(astronaut, "sepia", 1.1), rng, grain=0.02, blur=0.5, jpeg_quality=85)
    faded = fade_print(coffee, FadeParams(retained=(0.45, 0.8, 0.85), stain=(0.0, 0.04, 0.12), flare=0.03))
    l = rgb_to_lab(chelsea)[..., 0]
    grey = lab_to_rgb(np.stack([l, 0 * l, 0 * l], axis=-1)).astype(np.float32)
    grainy = degrade_scan(grey, rng, grain=0.05, blur=1.0, jpeg_quality=40, cracks=4)
    rows = [
        [astronaut, sepia, run(sepia, "enhance"), run(sepia, "colorize")],
        [coffee, faded, run(faded, "enhance"), run(faded, "colorize")],
        [chelsea, grainy, run(grainy, "enhance"), run(grainy, "colorize")],
    ]
    sheet = make_sheet(
        rows,
        col_labels=["original photo", "old print (simulated)", "deepcolor enhance", "deepcolor colorize"],
        row_labels=["sepia print", "faded colour print", "grainy, cracked scan"],
        tile_size=256,
        title="Old prints made by deepcolor.data.degrade from scikit-image's sample photos",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(path, optimize=True)


if __name__ == "__main__":
    main()
