"""What the routes call: the loaded models and one method per operation, each a thin layer over the library.

Every operation goes through the library's one file pipeline on images in memory: colorize and enhance
through `deepcolor.inference.images` (`process_image`, `encode_result`), decolorize through
`deepcolor.decolor` (`decolorize_image`, `encode_grey`), hints through `deepcolor.hints.points`, suggestions
through `deepcolor.suggest_colors` and the uncertainty overlay's colours from `deepcolor.inference.guidance`:
the same code as the commands, so that a result equals the command's. Only the preview scaling (and mapping
hints onto a preview) is done here: it is a display concern.

Methods run on the pool's worker threads. The models are loaded once, when the server starts, and shared by
the workers (inference holds no per-call state). Decoded previews are kept in a small cache (`PreviewCache`).
A request for guidance (hints, a reference, suggestions, uncertainty) with a model that takes none is the
library's error: a 422.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deepcolor.hints.points import PointHint, load_hint_json, parse_hints
from deepcolor.inference import images as pipeline
from deepcolor.io import ImageError, LoadedImage
from deepcolor.serve import codec
from deepcolor.serve.errors import ClientError, one_line
from deepcolor.serve.forms import Upload
from deepcolor.serve.schemas import (
    ColorizeParams,
    DecolorizeParams,
    EnhanceParams,
    ModelInfo,
    SuggestParams,
    UncertaintyParams,
)
from deepcolor.serve.settings import Settings

PREVIEW_CACHE_BYTES = 256 << 20  # decoded previews kept for the page's re-renders (a 1600 px preview: 31 MB)
PREVIEW_CACHE_ENTRIES = 16
PREVIEW_REFERENCE_SIDE = 512  # a reference photo only lends its colour statistics: a preview needs few pixels
NO_JPEG_ALPHA = "JPEG holds no transparency; the alpha channel was dropped"
MAX_HINTS = 1000  # points in one request's hints


@dataclass
class Result:
    """An encoded image and the headers that describe it."""

    encoded: codec.Encoded
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Prepared:
    """A decoded upload, scaled down for a preview when asked.

    `image` is what the pipeline gets (for a preview: the preview's pixels, the file's metadata); `width` x
    `height` is the input's own size (as displayed, after EXIF orientation), and `sx`, `sy` map its pixels
    to `image`'s.
    """

    image: LoadedImage
    width: int
    height: int
    preview: bool
    sx: float = 1.0
    sy: float = 1.0

    def copy(self) -> Prepared:
        """The same with its own pixel arrays (what the cache hands out: no request sees another's)."""
        alpha = None if self.image.alpha is None else self.image.alpha.copy()
        return dataclasses.replace(
            self, image=dataclasses.replace(self.image, rgb=self.image.rgb.copy(), alpha=alpha)
        )

    @property
    def nbytes(self) -> int:
        return self.image.rgb.nbytes + (0 if self.image.alpha is None else self.image.alpha.nbytes)

    def source_headers(self) -> dict[str, str]:
        return {"X-Source-Width": str(self.width), "X-Source-Height": str(self.height)}

    def to_pixels(self, x: float, y: float) -> tuple[int, int]:
        """A point of the input -> the nearest pixel of `image`."""
        x = min(self.image.width - 1, max(0, round((x + 0.5) * self.sx - 0.5)))
        y = min(self.image.height - 1, max(0, round((y + 0.5) * self.sy - 0.5)))
        return x, y


def _downscale(array: np.ndarray, max_side: int) -> np.ndarray:
    """(H, W) or (H, W, C) float32 -> longer side `max_side` (antialiased bilinear, aspect kept)."""
    import torch
    import torch.nn.functional as F

    from deepcolor.inference import render_shape

    size = render_shape(array.shape[0], array.shape[1], max_side)
    t = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    t = t[None, None] if t.dim() == 2 else t.permute(2, 0, 1)[None]
    with torch.inference_mode():
        out = F.interpolate(t, size=size, mode="bilinear", antialias=True, align_corners=False).clamp_(
            0.0, 1.0
        )
    out = out[0, 0] if array.ndim == 2 else out[0].permute(1, 2, 0)
    return np.ascontiguousarray(out.numpy())


def _library(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the library; what it refuses about the client's input becomes a 4xx."""
    try:
        return fn(*args, **kwargs)
    except ClientError:
        raise
    except ImageError as error:
        raise ClientError(415, str(error)) from None
    except ValueError as error:  # the library's word for bad values (hints, ranges, layouts); HintError too
        raise ClientError(422, one_line(error)) from None
    except MemoryError:
        raise ClientError(
            503,
            "not enough memory for this image right now; try again or send a smaller one",
            headers={"Retry-After": "5"},
        ) from None


class PreviewCache:
    """Least recently used decoded previews, bounded in entries and bytes; shared by the worker threads."""

    def __init__(
        self, max_bytes: int = PREVIEW_CACHE_BYTES, max_entries: int = PREVIEW_CACHE_ENTRIES
    ) -> None:
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self._items: OrderedDict[tuple, Prepared] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple) -> Prepared | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item

    def put(self, key: tuple, item: Prepared) -> None:
        if item.nbytes > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = item
            self._bytes += item.nbytes
            while self._bytes > self.max_bytes or len(self._items) > self.max_entries:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.nbytes


class Engine:
    """The server's models and operations.

    Args:
        settings: the server's settings; `settings.model` is what "default" (and an absent `model`) means.
    """

    def __init__(self, settings: Settings) -> None:
        from deepcolor.inference import Colorizer, read_index, shipped_models

        self.settings = settings
        self.colorizers: dict[str, Any] = {"default": Colorizer(settings.model, device=settings.device)}
        aliases = read_index()
        names = settings.models if settings.models is not None else shipped_models()
        for name in names:
            self.colorizers[name] = Colorizer(aliases.get(name, name), device=settings.device)
        takes = {spec.name for spec in self.colorizers["default"].conditions}
        guided = {"hints", "global_hints"} <= takes
        # What the page offers for the default model (others answer a request for guidance with a 422).
        self.features = {"hints": guided, "reference": guided, "suggest": guided, "uncertainty": guided}
        self.previews = PreviewCache()

    # ------------------------------------------------------------------------------------------- queries

    def models(self) -> list[ModelInfo]:
        """The models a request may name; the one used when it names none is marked `default`."""
        default = self.colorizers["default"]

        def info(name: str, colorizer: Any) -> ModelInfo:
            return ModelInfo(
                name=name,
                family=str(colorizer.meta.get("model_name", colorizer.name)),
                render_size=colorizer.render_size,
                default=colorizer.predictor is default.predictor,
            )

        rows = [info(name, c) for name, c in self.colorizers.items() if name != "default"]
        if not any(row.default for row in rows):  # the operator's own weights file: known as "default"
            rows.insert(0, info("default", default))
        return rows

    def _colorizer(self, name: str | None) -> Any:
        if name is None:
            return self.colorizers["default"]
        try:
            return self.colorizers[name]
        except KeyError:
            known = ", ".join(sorted(self.colorizers))
            raise ClientError(422, f"model: unknown model {name!r}; choose from {known}") from None

    # --------------------------------------------------------------------------------------------- input

    def _prepare(self, upload: Upload, max_side: int | None) -> Prepared:
        """Decode (and for a preview scale down) an upload. Previews are cached by the bytes' hash: the page
        sends the same photo again for every hint and slider change, and a 12 MP JPEG takes longer to
        decode and scale than its preview takes to colour."""
        key = None
        if max_side is not None:
            key = (hashlib.sha256(upload.data).digest(), max_side, self.settings.max_pixels)
            cached = self.previews.get(key)
            if cached is not None:
                prepared = cached.copy()
                prepared.image.name = upload.filename
                return prepared
        image = codec.decode(upload.data, upload.filename, self.settings.max_pixels)
        prepared = Prepared(image, image.width, image.height, preview=max_side is not None)
        if max_side is not None and max(image.height, image.width) > max_side:
            rgb = _downscale(image.rgb, max_side)
            alpha = None if image.alpha is None else _downscale(image.alpha, max_side)
            prepared.image = dataclasses.replace(image, rgb=rgb, alpha=alpha)  # same channels_equal
            prepared.sy = rgb.shape[0] / image.height
            prepared.sx = rgb.shape[1] / image.width
        if key is not None:
            self.previews.put(key, prepared.copy())
        return prepared

    def _hints(self, text: str | None, prepared: Prepared) -> list[PointHint] | None:
        """The hints field, parsed by the library (`deepcolor.hints.points`), mapped onto the preview's
        pixels when the request is for a preview."""
        if text is None:
            return None
        points = _library(lambda: parse_hints(load_hint_json(text, "hints"), "hints"))
        if len(points) > MAX_HINTS:
            raise ClientError(422, f"hints: {len(points)} points; at most {MAX_HINTS}")
        if not points:
            return None
        if prepared.sx == 1.0 and prepared.sy == 1.0:
            return points  # the library checks them against the image
        scale = min(prepared.sx, prepared.sy)
        scaled = []
        for point in points:
            if not (0 <= point.x < prepared.width and 0 <= point.y < prepared.height):
                raise ClientError(
                    422,
                    f"hints: point ({point.x:g}, {point.y:g}) is outside the image ({prepared.width} x "
                    f"{prepared.height})",
                )
            x, y = prepared.to_pixels(point.x, point.y)
            radius = None if point.radius is None else max(1, round(point.radius * scale))
            scaled.append(dataclasses.replace(point, x=float(x), y=float(y), radius=radius))
        return scaled

    def _reference(self, upload: Upload | None, preview: bool) -> np.ndarray | None:
        if upload is None:
            return None
        image = codec.decode(upload.data, upload.filename, self.settings.max_pixels)
        if preview and max(image.height, image.width) > PREVIEW_REFERENCE_SIDE:
            return _downscale(image.rgb, PREVIEW_REFERENCE_SIDE)
        return image.rgb

    def _guidance(
        self,
        params: ColorizeParams | UncertaintyParams | SuggestParams,
        prepared: Prepared,
        reference: Upload | None,
    ) -> dict[str, Any]:
        options: dict[str, Any] = {}
        hints = self._hints(params.hints, prepared)
        if hints is not None:
            options["hints"] = hints
        ref = self._reference(reference, prepared.preview)
        if ref is not None:
            options["reference"] = ref
        return options

    # -------------------------------------------------------------------------------------------- output

    def _encode(self, result: Any, prepared: Prepared, fmt: str | None) -> Result:
        """A pipeline result, encoded as its file would be written (previews: 8 bits, no EXIF)."""
        fmt = fmt or codec.default_format(prepared.image)
        if prepared.preview:
            result = dataclasses.replace(result, bit_depth=8, exif=None)
        if fmt == "jpeg" and result.alpha is not None:  # said in a header, not warned in the server's log
            result = dataclasses.replace(result, alpha=None, notes=(*result.notes, NO_JPEG_ALPHA))
        try:
            data = pipeline.encode_result(result, fmt)
        except ImageError as error:  # e.g. WebP holds at most 16383 pixels a side
            raise ClientError(422, f"format: {error.problem}") from None
        headers = prepared.source_headers()
        if result.notes:
            headers["X-Deepcolor-Warning"] = "; ".join(result.notes)
        media_type, extension = codec.FORMATS[fmt]
        return Result(codec.Encoded(data, media_type, extension), headers)

    # ---------------------------------------------------------------------------------------- operations

    def colorize(self, upload: Upload, params: ColorizeParams, reference: Upload | None = None) -> Result:
        colorizer = self._colorizer(params.model)
        prepared = self._prepare(upload, params.max_side)
        options = self._guidance(params, prepared, reference)
        result = _library(
            pipeline.process_image,
            prepared.image,
            colorizer,
            "colorize",
            in_place=True,
            render_size=params.render_size,
            saturation=params.saturation,
            **options,
        )
        return self._encode(result, prepared, params.format)

    def enhance(self, upload: Upload, params: EnhanceParams) -> Result:
        colorizer = self._colorizer(params.model)
        prepared = self._prepare(upload, params.max_side)
        result = _library(
            pipeline.process_image,
            prepared.image,
            colorizer,
            "enhance",
            in_place=True,
            render_size=params.render_size,
            strength=params.strength,
            clahe=params.clahe,
            clahe_limit=params.clahe_limit,
        )
        return self._encode(result, prepared, params.format)

    def decolorize(self, upload: Upload, params: DecolorizeParams) -> Result:
        """As `deepcolor decolorize`: the library's `decolorize_image` and `encode_grey` (8-bit inputs through
        the methods' uint8 path, a JPEG no finer than its source, 16 bits kept for PNG)."""
        from deepcolor.decolor import decolorize_image, encode_grey

        prepared = self._prepare(upload, params.max_side)
        result = _library(decolorize_image, prepared.image, params.method, keep_channels=params.keep_channels)
        fmt = params.format or codec.default_format(prepared.image)
        if prepared.preview:
            result = dataclasses.replace(result, bit_depth=8, exif=None)
        headers = prepared.source_headers()
        if fmt == "jpeg" and result.alpha is not None:  # said in a header, not warned in the server's log
            result, headers["X-Deepcolor-Warning"] = dataclasses.replace(result, alpha=None), NO_JPEG_ALPHA
        try:
            data = encode_grey(result, fmt)
        except ImageError as error:  # e.g. WebP holds at most 16383 pixels a side
            raise ClientError(422, f"format: {error.problem}") from None
        media_type, extension = codec.FORMATS[fmt]
        return Result(codec.Encoded(data, media_type, extension), headers)

    def suggest(
        self, upload: Upload, params: SuggestParams, reference: Upload | None = None
    ) -> dict[str, Any]:
        """`deepcolor.suggest_colors` at a point of the (preview) image, with the hints given so far."""
        import deepcolor

        colorizer = self._colorizer(params.model)
        prepared = self._prepare(upload, params.max_side)
        width, height = prepared.width, prepared.height
        if not (params.x < width and params.y < height):
            raise ClientError(
                422, f"x, y: ({params.x:g}, {params.y:g}) is outside the {width} x {height} image"
            )
        x, y = prepared.to_pixels(params.x, params.y)
        colors = _library(
            deepcolor.suggest_colors,
            prepared.image.rgb,
            x,
            y,
            k=params.k,
            model=colorizer,
            render_size=params.render_size,
            **self._guidance(params, prepared, reference),
        )
        return {
            "x": params.x,
            "y": params.y,
            "colors": [{"color": str(hex_color), "probability": float(p)} for hex_color, p in colors],
        }

    def uncertainty(
        self, upload: Upload, params: UncertaintyParams, reference: Upload | None = None
    ) -> Result:
        colorizer = self._colorizer(params.model)
        prepared = self._prepare(upload, params.max_side)
        options = self._guidance(params, prepared, reference)
        result = _library(
            pipeline.process_image,
            prepared.image,
            colorizer,
            "colorize",
            in_place=True,
            render_size=params.render_size,
            uncertainty=True,
            **options,
        )
        from deepcolor.inference.guidance import uncertainty_overlay

        heat = uncertainty_overlay(result.uncertainty)
        encoded = codec.encode(heat[..., :3], "png", alpha=heat[..., 3])
        return Result(encoded, prepared.source_headers())
