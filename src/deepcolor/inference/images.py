"""Whole images through colorize and enhance: read, grey decision, alpha, output format and bit depth, write.

The one implementation behind `deepcolor colorize` / `deepcolor enhance`, the Python API
(`deepcolor.colorize(path, output=...)`, and arrays through `deepcolor.io.image_from_array`) and the web
service, which works on bytes in memory::

    # files
    result = process_file("scan.tif", "out/scan.png", colorizer, "colorize", saturation=1.2)
    result.path, result.notes                     # the file written; one-line remarks for the user
    # memory
    image = read_image(upload_bytes, name="scan.tif")             # bytes or a binary stream
    result = process_image(image, colorizer, "enhance", strength=0.8)
    data = encode_result(result, "webp")                          # or write_result(result, path)
    encoded = process_bytes(upload_bytes, colorizer, "colorize", fmt="png")   # the three at once

The rules, each decided here and nowhere else:

- Grey. Two questions with two answers. "Does the image show colour?" is `LoadedImage.is_gray` (channels
  equal within `GRAY_TOLERANCE`, so the noise of a grey JPEG is not colour); it decides the notes (colour
  input to `colorize`: "decolorized first"; grey input to `enhance`: "gets colorized"). "May L* be computed
  from one channel?" is `LoadedImage.channels_equal` (exactly equal): a shortcut must not change the result.
- Toned prints. A colour file whose colour is one hue that depends on its lightness alone (sepia, selenium,
  cyanotype, yellowed paper: `deepcolor.inference.toned.analyse_tone`) is a monochrome photo: "colorize"
  colorizes its L* with a remark ("toned print (warm tone) ...", not a warning: `is_warning`), "enhance"
  colorizes it too instead of strengthening its tone. A real colour photo given to "colorize" gets the
  "colour input" note, which points at "enhance".
- Alpha, the ICC profile and EXIF are kept wherever the output format holds them (`deepcolor.io.write_image`;
  JPEG and BMP drop alpha with a warning).
- Output suffix (`output_suffix`): the one asked for, else the input's when deepcolor writes that format
  (.jpe and .jfif as .jpg), else .png. Bit depth (`output_bit_depth`): 16 when the input had 16 bits per
  channel and the output is PNG or TIFF, else 8. (Both live in `deepcolor.io`, which has no torch, so that
  the commands that need no model use them too; they are named here because they are this module's rules.)
- Render size (`check_render_size`, `network_render_size`): None for the model's default, else a whole number
  of pixels in [RENDER_SIZE_MIN, RENDER_SIZE_MAX], the command line's range (ValueError otherwise). The
  network never sees a longer side above the larger of the image's own and the model's default: a photo
  rendered larger than itself gains nothing, and the network's memory grows as the square of the size.
- Options: every other keyword goes to the colorizer unchanged (`Colorizer.colorize_array` for "colorize",
  `deepcolor.inference.enhance.enhance_array` for "enhance"): saturation, strength, mode, clahe,
  clahe_limit, and per-input model inputs (colour hints...) for the models that take them.

Nothing here imports torch; the colorizer brings it.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from deepcolor.io import (
    DEFAULT_MAX_PIXELS,
    MEDIA_TYPES,
    ImageError,
    ImageInput,
    LoadedImage,
    encode_image,
    image_format,
    output_bit_depth,
    output_suffix,
    read_image,
    write_image,
)

if TYPE_CHECKING:
    from deepcolor.inference.pipeline import Colorizer
    from deepcolor.inference.toned import ToneAnalysis

__all__ = [
    "OUTPUT_STEM_SUFFIXES",
    "RENDER_SIZE_MAX",
    "RENDER_SIZE_MIN",
    "TASKS",
    "EncodedImage",
    "FileResult",
    "ImageResult",
    "check_options",
    "check_render_size",
    "default_output",
    "is_warning",
    "encode_result",
    "network_render_size",
    "output_bit_depth",
    "output_suffix",
    "process_bytes",
    "process_file",
    "process_image",
    "process_images",
    "write_result",
]

TASKS = ("colorize", "enhance")
# What `default_output` puts after the input's stem, per task.
OUTPUT_STEM_SUFFIXES = {"colorize": "_colorized", "enhance": "_enhanced"}
RENDER_SIZE_MIN, RENDER_SIZE_MAX = 16, 4096
_NOTES = {
    "colorize": (
        "colour input; decolorized first (its CIE L* is what gets colorized); "
        "`deepcolor enhance` restores a colour photo's own colours"
    ),
    "enhance": "grey input; it has no colours to revive, so it gets colorized",
}
TONED_NOTE_PREFIX = "toned print"  # a remark, not a warning (`is_warning`)


@dataclass
class ImageResult:
    """A colorized or enhanced image in memory, with what its output file keeps of the source.

    Attributes:
        rgb: (H, W, 3) float32 sRGB in [0, 1].
        alpha: (H, W) float32 in [0, 1], the source's, or None.
        icc: the ICC profile to embed (the source's, or sRGB when its profile was applied), or None.
        exif: the source's EXIF block (orientation reset), or None.
        bit_depth: bits per channel of the source; an output keeps 16 where its format holds them.
        name: what messages call the source (its path, the name given for bytes, or "<memory>").
        notes: one-line remarks for the user, without the name (e.g. "colour input; decolorized first
            ..."); a command prints them as warnings, a web service may send them as a header.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    icc: bytes | None
    exif: bytes | None
    bit_depth: int
    name: str
    notes: tuple[str, ...] = ()
    uncertainty: np.ndarray | None = None  # (H, W) in [0, 1] when asked for (colorize, uncertainty=True)


@dataclass
class FileResult:
    """What `process_file` did: the file written and the notes for the user (see `ImageResult.notes`)."""

    path: Path
    notes: tuple[str, ...] = ()
    uncertainty_path: Path | None = None  # `<output stem>.uncertainty.png`, when asked for


@dataclass
class EncodedImage:
    """What `process_bytes` gives: the encoded file, its Pillow format and media type, and the notes."""

    data: bytes
    format: str
    media_type: str
    notes: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------------ rules


def check_render_size(render_size: object) -> int | None:
    """None, or a render size in the command line's range.

    Raises:
        ValueError: not a whole number of pixels (1.5, "160", True) or outside
            [RENDER_SIZE_MIN, RENDER_SIZE_MAX] (0, 5, 100000).
    """
    if render_size is None:
        return None
    if isinstance(render_size, bool) or not isinstance(render_size, numbers.Integral):
        raise ValueError(
            f"render_size must be a whole number of pixels in [{RENDER_SIZE_MIN}, {RENDER_SIZE_MAX}]. "
            f"Got {render_size!r}"
        )
    if not RENDER_SIZE_MIN <= render_size <= RENDER_SIZE_MAX:
        raise ValueError(
            f"render_size must be in [{RENDER_SIZE_MIN}, {RENDER_SIZE_MAX}] pixels. Got {render_size}"
        )
    return int(render_size)


def network_render_size(render_size: int | None, height: int, width: int, default: int) -> int:
    """The longer side the network sees for an image of `height` x `width`.

    Args:
        render_size: the size asked for (checked with `check_render_size`), or None for `default`.
        height, width: the image's size in pixels.
        default: the model's own render size (`Colorizer.render_size`).

    Returns:
        `render_size` (or `default`), lowered to ``max(height, width, default)`` when above it.
    """
    asked = default if check_render_size(render_size) is None else int(render_size)  # type: ignore[arg-type]
    return min(asked, max(height, width, default))


def default_output(source: str | os.PathLike[str], task: str = "colorize") -> Path:
    """``<folder>/<stem>_colorized<ext>`` (``_enhanced`` for enhance) next to `source`, `ext` by
    `output_suffix`."""
    path = Path(source)
    return path.with_name(f"{path.stem}{OUTPUT_STEM_SUFFIXES[_check_task(task)]}{output_suffix(path)}")


def _check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r} (choose from {', '.join(TASKS)})")
    return task


def is_warning(note: str) -> bool:
    """Whether a note of `ImageResult.notes` is a warning (something may not be what the user meant) or a
    remark (what was seen: a toned print)."""
    return not note.startswith(TONED_NOTE_PREFIX)


def _tone(image: LoadedImage) -> ToneAnalysis | None:
    """The tone analysis of a colour image; None for a grey one."""
    from deepcolor.inference.toned import analyse_tone

    return None if image.is_gray else analyse_tone(image.rgb)


def _toned_note(tone: ToneAnalysis, task: str) -> str:
    from deepcolor.inference.toned import tone_name

    what = (
        "colorized from its lightness"
        if task == "colorize"
        else "colorized instead of strengthening its tone"
    )
    return f"{TONED_NOTE_PREFIX} ({tone_name(tone.hue)} tone): {what}"


def _colorize_notes(image: LoadedImage) -> tuple[str, ...]:
    """The notes of a colorized image: none for grey, a remark for a toned print, else the colour note."""
    tone = _tone(image)
    if tone is None:
        return ()
    return (_toned_note(tone, "colorize"),) if tone.is_toned else (_NOTES["colorize"],)


def check_options(task: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options of `process_image` checked where this module owns the rule (render size, saturation);
    the rest are the colorizer's to check. Returns them with render_size normalised.

    Raises:
        ValueError: an unknown task, a bad render size, a negative or non-finite saturation.
    """
    _check_task(task)
    options = dict(options)
    if "render_size" in options:
        options["render_size"] = check_render_size(options["render_size"])
    saturation = options.get("saturation")
    if saturation is not None and not (
        isinstance(saturation, numbers.Real) and math.isfinite(saturation) and saturation >= 0
    ):
        raise ValueError(f"saturation must be a number >= 0. Got {saturation!r}")
    return options


# ------------------------------------------------------------------------------------------------ images


def process_image(
    image: LoadedImage,
    colorizer: Colorizer,
    task: str = "colorize",
    *,
    in_place: bool = False,
    **options: Any,
) -> ImageResult:
    """Colorize or enhance one image in memory: the entry that the file path and the web service share.

    Args:
        image: from `read_image` (a file, bytes or a stream) or `deepcolor.io.image_from_array`.
        colorizer: the loaded model (`deepcolor.inference.Colorizer`).
        task: "colorize" (a colour image is colorized from its L*) or "enhance" (its colours revived).
        in_place: write the result into ``image.rgb`` (saves a full-size copy; `image` is spent).
        **options: passed to the colorizer unchanged, after the checks of `check_options`: render_size
            (see the module notes), saturation (colorize), strength, clahe, clahe_limit (enhance), and any
            per-input model inputs the colorizer takes.

    Returns:
        An `ImageResult` with the source's alpha, ICC, EXIF and bit depth, and notes for the user.

    Raises:
        ValueError: a bad option (render size, saturation, strength, ...), or one the colorizer does not
            take (TypeError then, from the colorizer).
    """
    options = check_options(task, options)
    options["render_size"] = network_render_size(
        options.get("render_size"), image.height, image.width, int(colorizer.render_size)
    )
    out = image.rgb if in_place else None
    notes = []
    uncertainty = None
    if task == "colorize":
        notes.extend(_colorize_notes(image))
        options, want_uncertainty = _guidance_options(image, colorizer, options)
        if want_uncertainty:  # L* once for the map and the colours (the colorization may overwrite image.rgb)
            from deepcolor.inference.guidance import uncertainty_map
            from deepcolor.inference.pipeline import lightness

            l = lightness(image.rgb, colorizer.device, gray=image.channels_equal)
            uncertainty = uncertainty_map(colorizer, l, options["render_size"], options.get("conditions"))
            rgb = colorizer.colorize_l(l, out=out, **options)
        else:
            rgb = colorizer.colorize_array(image.rgb, out=out, gray=image.channels_equal, **options)
    else:
        from deepcolor.inference.enhance import enhance_array

        tone = _tone(image)
        if image.is_gray:
            notes.append(_NOTES["enhance"])
        if tone is not None and tone.is_toned:  # a monochrome print: colorized, its tone not strengthened
            notes.append(_toned_note(tone, "enhance"))
        if (tone is not None and tone.is_toned) or (image.is_gray and options.get("mode") != "blend"):
            rgb = colorizer.colorize_array(
                image.rgb, out=out, gray=image.channels_equal, render_size=options["render_size"]
            )
        else:
            rgb = enhance_array(colorizer, image.rgb, out=out, **options)
    return ImageResult(
        rgb=rgb,
        alpha=image.alpha,
        icc=image.icc,
        exif=image.exif,
        bit_depth=image.bit_depth,
        name=image.name,
        notes=tuple(notes),
        uncertainty=uncertainty,
    )


def process_images(
    images: Sequence[LoadedImage],
    colorizer: Colorizer,
    task: str = "colorize",
    *,
    per_image: Sequence[Mapping[str, Any]] | None = None,
    batch_size: int | None = None,
    in_place: bool = False,
    **options: Any,
) -> list[ImageResult | ValueError]:
    """`process_image` for several images, the network run on batches of them: the batch entry that the
    command line, evaluation, video frames and cluster workers share.

    Images are grouped by the shape their L* takes at the render size (and by the model inputs given), and
    each group goes through the network `batch_size` images at a time (`Colorizer.predict_low_many`); the
    full-resolution work stays per image. The results equal `process_image`'s up to float rounding.
    An uncertainty map and the "enhance" task take the one-image path for now.

    Args:
        images: from `read_image` or `deepcolor.io.image_from_array`.
        colorizer: the loaded model.
        task: "colorize" or "enhance".
        per_image: per image, options on top of `options` (its hints, reference, hint_source...).
        batch_size: most images in one forward pass (None: the pipeline's DEFAULT_BATCH_SIZE).
        in_place: write each result into its ``image.rgb``.
        **options: as in `process_image`, for every image.

    Returns:
        Per image, in order, its `ImageResult`, or the ValueError that its options raised (a bad hint file,
        an unreadable reference): one image's mistake does not fail the others.
    """
    from deepcolor.inference.pipeline import DEFAULT_BATCH_SIZE, lightness

    _check_task(task)
    per_image = list(per_image) if per_image is not None else [{}] * len(images)
    if len(per_image) != len(images):
        raise ValueError(f"per_image must have one entry per image. Got {len(per_image)} for {len(images)}")
    results: list[ImageResult | ValueError | None] = [None] * len(images)
    batched: list[tuple[int, dict[str, Any]]] = []
    for index, (image, own) in enumerate(zip(images, per_image, strict=True)):
        merged = {**options, **own}
        if task != "colorize" or merged.get("uncertainty"):
            try:
                results[index] = process_image(image, colorizer, task, in_place=in_place, **merged)
            except ValueError as error:
                results[index] = error
            continue
        try:
            checked = check_options(task, merged)
            checked["render_size"] = network_render_size(
                checked.get("render_size"), image.height, image.width, int(colorizer.render_size)
            )
            checked, _ = _guidance_options(image, colorizer, checked)
            unknown = set(checked) - {"render_size", "saturation", "conditions"}
            if unknown:
                raise TypeError(f"unexpected options: {', '.join(sorted(unknown))}")
        except ValueError as error:
            results[index] = error
            continue
        batched.append((index, checked))
    if batched:
        # the notes look at the colours, before an in-place colorization replaces them
        notes = {index: _colorize_notes(images[index]) for index, _ in batched}
        ls = [lightness(images[i].rgb, colorizer.device, gray=images[i].channels_equal) for i, _ in batched]
        rgbs = colorizer.colorize_many(
            ls,
            render_sizes=[checked["render_size"] for _, checked in batched],
            saturation=[float(checked.get("saturation", 1.0)) for _, checked in batched],
            conditions=[checked.get("conditions") for _, checked in batched],
            outs=[images[i].rgb if in_place else None for i, _ in batched],
            batch_size=batch_size or DEFAULT_BATCH_SIZE,
        )
        for (index, _), rgb in zip(batched, rgbs, strict=True):
            image = images[index]
            results[index] = ImageResult(
                rgb=rgb,
                alpha=image.alpha,
                icc=image.icc,
                exif=image.exif,
                bit_depth=image.bit_depth,
                name=image.name,
                notes=notes[index],
            )
    return results  # type: ignore[return-value]


def _guidance_options(
    image: LoadedImage, colorizer: Colorizer, options: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Turn the user-guidance options of a colorize into the model's conditions.

    `hints` (any form `deepcolor.hints.parse_hints` takes), `reference` (a path, bytes, a `LoadedImage` or an
    (H, W, 3) array in [0, 1]) and `hint_source` (what hint errors name) become `conditions`;
    `uncertainty` (bool) is returned apart. Raises HintError (a ValueError) for bad hints or a reference
    that cannot be read.
    """
    options = dict(options)
    hints = options.pop("hints", None)
    reference = options.pop("reference", None)
    source = options.pop("hint_source", None) or "hints"
    want_uncertainty = bool(options.pop("uncertainty", False))
    if hints is None and reference is None:
        return options, want_uncertainty
    from deepcolor.inference.guidance import guidance_conditions

    reference_rgb = _reference_rgb(reference) if reference is not None else None
    conditions = guidance_conditions(
        colorizer, image.height, image.width, hints, reference_rgb, source, target=image.rgb
    )
    if conditions:
        options["conditions"] = {**options.get("conditions", {}), **conditions}
    return options, want_uncertainty


def _reference_rgb(reference: Any) -> np.ndarray:
    from deepcolor.hints.points import HintError
    from deepcolor.io import ImageError, unit_float

    if isinstance(reference, LoadedImage):
        return reference.rgb
    if isinstance(reference, np.ndarray):
        rgb = unit_float(reference)
        if rgb.ndim != 3 or rgb.shape[2] < 3:
            raise HintError(f"reference: a colour image (H, W, 3) is needed. Got shape {reference.shape}")
        return rgb[:, :, :3]
    if hasattr(reference, "convert") and hasattr(reference, "mode"):  # a PIL image
        return np.asarray(reference.convert("RGB"), dtype=np.float32) / 255.0
    try:
        return read_image(reference).rgb
    except ImageError as error:
        raise HintError(f"reference {error}") from None


def write_result(
    result: ImageResult,
    target: str | os.PathLike[str] | BinaryIO,
    *,
    format: str | None = None,  # noqa: A002 - as `write_image`
    overwrite: bool = True,
    quality: int = 95,
) -> Path | None:
    """Write a result to a file (atomically) or a binary stream, with its alpha, ICC, EXIF and bit depth.

    Args:
        target: the file (its extension gives the format unless `format`) or a binary stream.
        format: the format to write ("png", "jpeg", "webp", ...), needed for a stream without a name.
        overwrite: replace an existing file.
        quality: JPEG and WebP quality, 1-100.

    Returns:
        The file written, or None for a stream.

    Raises:
        ImageError: see `deepcolor.io.write_image`.
    """
    if format is not None:
        fmt = format
    elif isinstance(target, (str, os.PathLike)):
        fmt = Path(target).suffix
    else:
        fmt = Path(str(getattr(target, "name", ""))).suffix
    return write_image(
        target,
        result.rgb,
        alpha=result.alpha,
        icc=result.icc,
        exif=result.exif,
        bit_depth=output_bit_depth(result.bit_depth, fmt) if fmt else 8,
        overwrite=overwrite,
        quality=quality,
        format=format,
    )


def encode_result(result: ImageResult, fmt: str = "png", quality: int = 95) -> bytes:
    """A result as the bytes of a file of format `fmt` ("png", "jpeg", "webp", ...): the bytes
    `write_result` writes to a file of that format.

    Raises:
        ImageError: an unknown format, or the encoder failed.
    """
    return encode_image(
        result.rgb,
        fmt,
        alpha=result.alpha,
        icc=result.icc,
        exif=result.exif,
        bit_depth=output_bit_depth(result.bit_depth, fmt),
        quality=quality,
        name=result.name,
    )


# ----------------------------------------------------------------------------------------- files, bytes


def process_file(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    colorizer: Colorizer,
    task: str = "colorize",
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    overwrite: bool = True,
    **options: Any,
) -> FileResult:
    """Read `source`, colorize or enhance it, write `output` (format from its extension, atomically).

    Args:
        source: the input file.
        output: the file to write; it may be `source` itself (read fully first, replaced atomically).
        colorizer, task, options: as for `process_image`.
        max_pixels: refuse larger images (from the header, before decoding); None for no limit.
        overwrite: replace an existing `output`; with False an existing file is an `ImageError`.

    Returns:
        A `FileResult`: the path written and the notes for the user.

    Raises:
        ImageError: the input cannot be read or the output written (one line naming the file).
        ValueError: a bad option.
    """
    output = Path(output)
    options = check_options(task, options)
    image = read_image(source, max_pixels)
    result = process_image(image, colorizer, task, in_place=True, **options)
    uncertainty_path = None
    if result.uncertainty is not None:  # checked before the colour result is written: both or neither
        uncertainty_path = uncertainty_output(output)
        if uncertainty_path.exists() and not overwrite:
            raise ImageError(str(uncertainty_path), "exists; pass --overwrite to replace it")
    path = write_result(result, output, overwrite=overwrite)
    assert path is not None
    if uncertainty_path is not None:
        write_uncertainty(result.uncertainty, uncertainty_path)
    return FileResult(path, result.notes, uncertainty_path)


def uncertainty_output(output: str | os.PathLike[str]) -> Path:
    """Where the uncertainty map of `output` goes: `<output stem>.uncertainty.png` beside it."""
    output = Path(output)
    return output.with_name(f"{output.stem}.uncertainty.png")


def write_uncertainty(uncertainty: np.ndarray, target: str | os.PathLike[str] | BinaryIO) -> Path | None:
    """The uncertainty map (H, W) in [0, 1] as a heat-map PNG of the same size, with its legend."""
    from deepcolor.inference.guidance import uncertainty_image

    picture = uncertainty_image(uncertainty).astype(np.float32) / 255.0
    return write_image(target, picture, format=None if isinstance(target, (str, os.PathLike)) else "png")


def process_bytes(
    data: ImageInput,
    colorizer: Colorizer,
    task: str = "colorize",
    *,
    fmt: str | None = None,
    quality: int = 95,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    name: str | None = None,
    **options: Any,
) -> EncodedImage:
    """Bytes (or a binary stream) in, encoded bytes out: `read_image`, `process_image`, `encode_result`.

    Args:
        data: the input file's bytes, or a binary stream.
        colorizer, task, options: as for `process_image`.
        fmt: the output format ("png", "jpeg", "webp", ...); None: the input's when deepcolor writes it,
            else PNG.
        quality: JPEG and WebP quality, 1-100.
        max_pixels: refuse larger images (from the header, before decoding); None for no limit.
        name: what messages call the input (an upload's file name); default "<memory>".

    Raises:
        ImageError: the input is no readable image, or over `max_pixels` (one line naming `name`).
        ValueError: a bad option.
    """
    options = check_options(task, options)
    image = read_image(data, max_pixels, name=name)
    if fmt is None:
        fmt = image.format if image_format(image.format or "") is not None else "png"
    pil_format = image_format(fmt)
    if pil_format is None:
        raise ImageError(image.name, f"unknown output format {fmt!r}")
    result = process_image(image, colorizer, task, in_place=True, **options)
    encoded = encode_result(result, fmt, quality)
    return EncodedImage(encoded, pil_format, MEDIA_TYPES[pil_format], result.notes)
