"""`deepcolor demo`: colorize the sample photos that scikit-image installs, into comparison sheets.

The colour photos (astronaut, coffee, chelsea, rocket, motorcycle) are turned grey first (their CIE L*, the
input a colorizer sees) and colorized; the grey `camera` photo is colorized as it is. For each photo,
``OUTDIR/<name>.png`` is a labelled sheet (original | grey | colorized; grey | colorized for camera), and
``OUTDIR/index.html`` shows all sheets. With a model that takes colour hints (the default),
``OUTDIR/astronaut-guided.png`` shows the three ways to steer it: automatic, three point hints (drawn as
rings; their colours are the original's at those points, as a user who remembers them would give), and a
reference photo (coffee). Only files bundled with scikit-image are used (no download), read from
`skimage.data.data_dir`.

A folder that already holds a demo's files is refused unless ``--overwrite``; then every file of the demo
is replaced, and those of its names that this run does not write (the guided sheet of a model with hints,
when the model now has none) are removed, so that the sheets never mix two models. Other files are left
alone.
"""

from __future__ import annotations

import html
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from deepcolor.cli import batch
from deepcolor.cli.colorize import load_colorizer, model_options


@dataclass(frozen=True)
class SamplePhoto:
    name: str
    filename: str  # in skimage.data.data_dir, bundled with scikit-image
    colour: bool  # False: a grey photo, colorized as it is
    caption: str


SAMPLES: tuple[SamplePhoto, ...] = (
    SamplePhoto("astronaut", "astronaut.png", True, "Astronaut Eileen Collins (NASA)"),
    SamplePhoto("coffee", "coffee.png", True, "A cup of coffee (Rachel Michetti)"),
    SamplePhoto("chelsea", "chelsea.png", True, "Chelsea the cat (Stefan van der Walt)"),
    SamplePhoto("rocket", "rocket.jpg", True, "Falcon 9 rocket on the launch pad (SpaceX)"),
    SamplePhoto("motorcycle", "motorcycle_left.png", True, "A motorcycle (Middlebury stereo set)"),
    SamplePhoto("camera", "camera.png", False, "The cameraman, a classic grey test photo"),
)


def sample_path(sample: SamplePhoto) -> Path:
    import skimage.data

    return Path(skimage.data.data_dir) / sample.filename


def grey_of(lightness: np.ndarray) -> np.ndarray:
    """(H, W) L* -> (H, W, 3) the sRGB grey with that L*: what the colorizer is given."""
    import torch

    from deepcolor.color import lab_to_rgb

    lab = torch.from_numpy(lightness)[None, None].expand(1, 3, -1, -1).clone()
    lab[:, 1:] = 0.0
    return lab_to_rgb(lab)[0].permute(1, 2, 0).numpy()


# Where the guided sheet puts its three hints on the astronaut (x, y in pixels of the 512 x 512 photo).
GUIDED_POINTS = ((80, 330), (250, 170), (30, 150))  # the suit, the face, the flag's red


def draw_hints(rgb: np.ndarray, points: list[tuple[int, int, str]]) -> np.ndarray:
    """(H, W, 3) float image with each hint drawn as a ring in its colour, outlined for contrast."""
    from PIL import Image, ImageDraw

    image = Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    r = max(6, max(image.size) // 48)
    for x, y, colour in points:
        draw.ellipse([x - r - 2, y - r - 2, x + r + 2, y + r + 2], outline=(255, 255, 255), width=2)
        draw.ellipse([x - r, y - r, x + r, y + r], outline=colour, width=max(3, r // 2))
        draw.ellipse([x - r + r // 2 + 1, y - r + r // 2 + 1, x + r - r // 2 - 1, y + r - r // 2 - 1],
                     outline=(0, 0, 0), width=1)  # fmt: skip
    return np.asarray(image).astype(np.float32) / 255.0


def guided_sheet(colorizer, render_size: int | None, tile_size: int, title: str) -> np.ndarray:
    """astronaut: grey | automatic | 3 hints | reference photo | original, as one labelled sheet."""
    from deepcolor.inference import lightness
    from deepcolor.inference.guidance import guidance_conditions
    from deepcolor.io import read_image
    from deepcolor.viz import make_sheet

    photo = read_image(sample_path(SAMPLES[0])).rgb
    reference = read_image(sample_path(SAMPLES[1])).rgb  # coffee
    grey = grey_of(lightness(photo)[0, 0].numpy())
    height, width = grey.shape[:2]
    hints = []
    for x, y in GUIDED_POINTS:
        r, g, b = (np.clip(photo[y, x], 0, 1) * 255).round().astype(int)
        hints.append((x, y, f"#{r:02x}{g:02x}{b:02x}"))
    automatic = colorizer.colorize_array(grey, render_size, gray=True)
    with_hints = colorizer.colorize_array(
        grey, render_size, gray=True, conditions=guidance_conditions(colorizer, height, width, hints=hints)
    )
    with_reference = colorizer.colorize_array(
        grey,
        render_size,
        gray=True,
        conditions=guidance_conditions(colorizer, height, width, reference=reference),
    )
    tiles = [grey, automatic, draw_hints(with_hints, hints), with_reference, reference, photo]
    labels = ["grey (input)", "automatic", "3 hints", "reference photo:", "(the reference)", "original"]
    return make_sheet([tiles], col_labels=labels, tile_size=tile_size, title=title)


GUIDED_NAME = "astronaut-guided.png"
INDEX_NAME = "index.html"


def demo_files() -> list[str]:
    """Every file name a demo writes into its folder."""
    return [f"{sample.name}.png" for sample in SAMPLES] + [GUIDED_NAME, INDEX_NAME]


def write_index(
    outdir: Path, entries: list[tuple[SamplePhoto, str]], model_name: str, overwrite: bool = True
) -> Path:
    """OUTDIR/index.html: every sheet with its caption, atomically written."""
    from deepcolor.io import atomic_write

    figures = "\n".join(
        f'<figure><a href="{html.escape(sheet)}"><img src="{html.escape(sheet)}" alt="{html.escape(s.name)}">'
        f"</a><figcaption>{html.escape(s.caption)}</figcaption></figure>"
        for s, sheet in entries
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>deepcolor demo</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
img{{max-width:100%;border:1px solid #ddd}}figure{{margin:2em 0}}</style></head>
<body><h1>deepcolor demo</h1>
<p>scikit-image's sample photos: each colour photo is turned grey (its CIE L*) and colorized by the model
<code>{html.escape(model_name)}</code>; the grey cameraman photo is colorized as it is.</p>
{figures}
</body></html>
"""
    path = outdir / INDEX_NAME
    with atomic_write(path, overwrite=overwrite) as f:
        f.write(page.encode("utf-8"))
    return path


@click.command()
@click.option(
    "-o",
    "--output",
    default="demo-out",
    show_default=True,
    type=batch.OutputFolder(),
    help="Folder for the sheets and index.html (created when missing).",
)
@model_options
@click.option(
    "--tile-size",
    type=click.IntRange(64, 2048),
    default=384,
    show_default=True,
    help="Longer side of each tile of a sheet, in pixels.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace the files of an earlier demo in OUTDIR (and remove those of its sheets this run does not "
    "write); never done otherwise.",
)
def command(
    output: Path,
    model: str,
    render_size: int | None,
    device: str,
    backend: str,
    tile_size: int,
    overwrite: bool,
) -> None:
    """Colorize scikit-image's sample photos into comparison sheets.

    Writes OUTDIR/<photo>.png for each photo (original | grey | colorized) and OUTDIR/index.html.
    """
    from deepcolor.inference import lightness
    from deepcolor.io import ImageError, read_image, write_image
    from deepcolor.io.paths import display_path
    from deepcolor.viz import make_sheet

    earlier = [name for name in demo_files() if os.path.lexists(output / name)]
    if earlier and not overwrite:
        batch.echo_error(
            f"{display_path(output)}: holds an earlier demo ({', '.join(earlier[:3])}"
            f"{', ...' if len(earlier) > 3 else ''}); pass --overwrite to replace it, or give another -o"
        )
        sys.exit(1)
    colorizer = load_colorizer(model, device, backend)
    entries: list[tuple[SamplePhoto, str]] = []
    failed = 0
    # Ctrl-C: exit 130, SIGTERM: exit 143, without leaving a half-written sheet
    with batch.exit_on_signals(lambda: f"wrote {len(entries)} of {len(SAMPLES)} sheets"):
        for sample in SAMPLES:
            try:
                image = read_image(sample_path(sample))
                l = lightness(image.rgb, gray=not sample.colour)[0, 0].numpy()
                grey = grey_of(l)
                colorized = colorizer.colorize_array(grey, render_size, gray=True)
                if sample.colour:
                    tiles, labels = [image.rgb, grey, colorized], ["original", "grey (input)", "colorized"]
                else:
                    tiles, labels = [grey, colorized], ["grey (input)", "colorized"]
                sheet = make_sheet(
                    [tiles], col_labels=labels, tile_size=tile_size, title=f"{sample.name}: {model}"
                )
                write_image(output / f"{sample.name}.png", sheet, overwrite=overwrite)
            except (ImageError, ValueError, OSError) as error:
                batch.echo_error(str(error))
                failed += 1
                continue
            entries.append((sample, f"{sample.name}.png"))
        if entries and {"hints", "global_hints"} <= {c.name for c in colorizer.conditions}:
            try:
                sheet = guided_sheet(colorizer, render_size, tile_size, f"astronaut, steered: {model}")
                write_image(output / GUIDED_NAME, sheet, overwrite=overwrite)
                guided = SamplePhoto(
                    "astronaut-guided", "", True, "Steering the colours: 3 hints, a reference"
                )
                entries.append((guided, GUIDED_NAME))
            except (ImageError, ValueError, OSError) as error:
                batch.echo_error(str(error))
                failed += 1
        if entries:
            index = write_index(output, entries, colorizer.name, overwrite=overwrite)
            written = {sheet for _, sheet in entries} | {INDEX_NAME}
            for name in earlier:  # an earlier demo's sheet that this one did not replace: not left to mix
                if name not in written:
                    (output / name).unlink(missing_ok=True)
            click.echo(f"wrote {len(entries)} sheets and {index}")
    sys.exit(1 if failed or not entries else 0)
