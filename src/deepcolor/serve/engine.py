"""What the routes call: the loaded models and one method per operation, each a thin layer over the library.

Every operation decodes the upload (`codec.decode`: the library's reader), calls the library's one inference
path (`deepcolor.colorize`, `deepcolor.enhance`, `deepcolor.decolor`, `deepcolor.suggest_colors`) on the
array, and encodes the result (`codec.encode`). Nothing is re-implemented here but the preview scaling and
the uncertainty heat map's colours, which are display concerns.

Methods run on the pool's worker threads. The models are loaded once, when the server starts, and shared by
the workers (inference holds no per-call state).

Hints, reference photos, suggestions and uncertainty maps arrive with issue 8 (tracker issue 11): they are
found by feature (`Features`), and a request that needs one the library lacks gets a 501.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
    parse_hints,
)
from deepcolor.serve.settings import Settings

PREVIEW_CACHE_BYTES = 256 << 20  # decoded previews kept for the page's re-renders (a 1600 px preview: 31 MB)
PREVIEW_CACHE_ENTRIES = 16
PREVIEW_REFERENCE_SIDE = 512  # a reference photo only lends its colour statistics: a preview needs few pixels


@dataclass(frozen=True)
class Features:
    """Which of issue 8's parts the installed library has."""

    hints: bool = False
    reference: bool = False
    uncertainty: bool = False
    suggest: bool = False

    @classmethod
    def detect(cls) -> Features:
        import deepcolor

        parameters = inspect.signature(deepcolor.colorize).parameters
        try:
            suggest = callable(deepcolor.suggest_colors)
        except (AttributeError, ImportError):
            suggest = False
        return cls(
            hints="hints" in parameters,
            reference="reference" in parameters,
            uncertainty="uncertainty" in parameters,
            suggest=suggest,
        )

    def as_dict(self) -> dict[str, bool]:
        return {
            "hints": self.hints,
            "reference": self.reference,
            "uncertainty": self.uncertainty,
            "suggest": self.suggest,
        }


def _missing(what: str) -> ClientError:
    return ClientError(
        501, f"{what} are not available in this deepcolor yet (they need the hint-aware model)"
    )


@dataclass
class Result:
    """An encoded image and the headers that describe it."""

    encoded: codec.Encoded
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Prepared:
    """A decoded upload, scaled down for a preview when asked.

    `rgb` / `alpha` are what the pipeline gets; `width` x `height` is the input's size (as displayed, after
    EXIF orientation), and `sx`, `sy` map its pixels to `rgb`'s. `image` carries the file's metadata (mode,
    bit depth, ICC, EXIF); for a cached preview its pixels are the preview's.
    """

    image: LoadedImage
    label: str
    rgb: np.ndarray
    alpha: np.ndarray | None
    preview: bool
    width: int
    height: int
    sx: float = 1.0
    sy: float = 1.0

    def copy(self) -> Prepared:
        """The same with its own pixel arrays (what a cache hands out, so that no request sees another's)."""
        alpha = None if self.alpha is None else self.alpha.copy()
        return dataclasses.replace(self, rgb=self.rgb.copy(), alpha=alpha)

    @property
    def nbytes(self) -> int:
        return self.rgb.nbytes + (0 if self.alpha is None else self.alpha.nbytes)

    @property
    def grey_source(self) -> bool:
        """Grey stored as grey (what `deepcolor colorize` treats as grey; an RGB-stored grey is not)."""
        from deepcolor.cli.colorize import GREY_MODES

        return self.image.is_gray and self.image.mode in GREY_MODES

    def source_headers(self) -> dict[str, str]:
        return {"X-Source-Width": str(self.width), "X-Source-Height": str(self.height)}


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
    except ValueError as error:  # the library's word for bad values (hints, ranges, layouts)
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
        self.features = Features.detect()
        self.previews = PreviewCache()
        self.colorizers: dict[str, Any] = {"default": Colorizer(settings.model, device=settings.device)}
        aliases = read_index()
        names = settings.models if settings.models is not None else shipped_models()
        for name in names:
            self.colorizers[name] = Colorizer(aliases.get(name, name), device=settings.device)

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
        decode than the whole preview takes to colour."""
        key = None
        if max_side is not None:
            key = (hashlib.sha256(upload.data).digest(), max_side, self.settings.max_pixels)
            cached = self.previews.get(key)
            if cached is not None:
                return dataclasses.replace(cached.copy(), label=upload.filename)
        image = codec.decode(upload.data, upload.filename, self.settings.max_pixels)
        prepared = Prepared(
            image,
            upload.filename,
            image.rgb,
            image.alpha,
            preview=max_side is not None,
            width=image.width,
            height=image.height,
        )
        if max_side is not None and max(image.height, image.width) > max_side:
            prepared.rgb = _downscale(image.rgb, max_side)
            prepared.alpha = None if image.alpha is None else _downscale(image.alpha, max_side)
            prepared.sy = prepared.rgb.shape[0] / image.height
            prepared.sx = prepared.rgb.shape[1] / image.width
        if key is not None:
            light = dataclasses.replace(image, rgb=prepared.rgb, alpha=prepared.alpha)  # not the full pixels
            self.previews.put(key, dataclasses.replace(prepared, image=light).copy())
        return prepared

    def _hints(self, text: str | None, prepared: Prepared) -> dict[str, Any] | None:
        """The hints field, checked against the input's size and mapped onto the (preview) pixels."""
        if text is None:
            return None
        hints = parse_hints(text, prepared.width, prepared.height)
        if not hints.get("points"):
            return None
        if not self.features.hints:
            raise _missing("colour hints")
        if prepared.sx == 1.0 and prepared.sy == 1.0:
            return hints
        height, width = prepared.rgb.shape[:2]
        points = []
        for point in hints["points"]:
            scaled = dict(point)
            scaled["x"] = min(width - 1, max(0, round((point["x"] + 0.5) * prepared.sx - 0.5)))
            scaled["y"] = min(height - 1, max(0, round((point["y"] + 0.5) * prepared.sy - 0.5)))
            if point.get("radius") is not None:
                scaled["radius"] = max(1, round(point["radius"] * min(prepared.sx, prepared.sy)))
            points.append(scaled)
        return {**hints, "points": points}

    def _reference(self, upload: Upload | None, preview: bool) -> np.ndarray | None:
        if upload is None:
            return None
        if not self.features.reference:
            raise _missing("reference photos")
        image = codec.decode(upload.data, upload.filename, self.settings.max_pixels)
        if preview and max(image.height, image.width) > PREVIEW_REFERENCE_SIDE:
            return _downscale(image.rgb, PREVIEW_REFERENCE_SIDE)
        return image.rgb

    # -------------------------------------------------------------------------------------------- output

    def _encode(
        self,
        rgb: np.ndarray,
        prepared: Prepared,
        fmt: str | None,
        quality: int = 95,
        bit_depth: int | None = None,
    ) -> codec.Encoded:
        image = prepared.image
        fmt = fmt or codec.default_format(image)
        if bit_depth is None:
            bit_depth = 16 if image.bit_depth == 16 and fmt == "png" and not prepared.preview else 8
        exif = None if prepared.preview else image.exif
        return codec.encode(
            rgb, fmt, alpha=prepared.alpha, icc=image.icc, exif=exif, bit_depth=bit_depth, quality=quality
        )

    # ---------------------------------------------------------------------------------------- operations

    def colorize(self, upload: Upload, params: ColorizeParams, reference: Upload | None = None) -> Result:
        import deepcolor

        if reference is not None and not self.features.reference:
            raise _missing("reference photos")
        colorizer = self._colorizer(params.model)
        prepared = self._prepare(upload, params.max_side)
        extras: dict[str, Any] = {}
        hints = self._hints(params.hints, prepared)
        if hints is not None:
            extras["hints"] = hints
        ref = self._reference(reference, prepared.preview)
        if ref is not None:
            extras["reference"] = ref
        array = prepared.rgb[:, :, 0] if prepared.grey_source else prepared.rgb
        rgb = _library(
            deepcolor.colorize,
            array,
            model=colorizer,
            render_size=params.render_size,
            saturation=params.saturation,
            **extras,
        )
        headers = prepared.source_headers()
        if not prepared.image.is_gray:
            headers["X-Deepcolor-Warning"] = (
                "colour input; decolorized first (its CIE L* is what gets colorized)"
            )
        return Result(self._encode(rgb, prepared, params.format), headers)

    def enhance(self, upload: Upload, params: EnhanceParams) -> Result:
        import deepcolor

        colorizer = self._colorizer(params.model)
        prepared = self._prepare(upload, params.max_side)
        rgb = _library(
            deepcolor.enhance,
            prepared.rgb,
            model=colorizer,
            strength=params.strength,
            clahe=params.clahe,
            clahe_limit=params.clahe_limit,
            render_size=params.render_size,
        )
        headers = prepared.source_headers()
        if prepared.image.is_gray:
            headers["X-Deepcolor-Warning"] = "grey input; it has no colours to revive, so it gets colorized"
        return Result(self._encode(rgb, prepared, params.format), headers)

    def decolorize(self, upload: Upload, params: DecolorizeParams) -> Result:
        from deepcolor.decolor import decolorize_array

        prepared = self._prepare(upload, params.max_side)
        rgb = prepared.rgb
        if prepared.image.bit_depth <= 8:  # as `deepcolor decolorize`: the methods' uint8 path uses tables
            rgb = np.rint(rgb * np.float32(255.0)).astype(np.uint8)
        grey = _library(decolorize_array, rgb, params.method)
        array = np.repeat(grey[:, :, None], 3, axis=2) if params.keep_channels else grey
        fmt = params.format or codec.default_format(prepared.image)
        quality = 95
        if fmt == "jpeg" and prepared.image.jpeg_quality is not None:
            quality = min(95, prepared.image.jpeg_quality)  # as the command: no finer than the source
        return Result(self._encode(array, prepared, fmt, quality=quality), prepared.source_headers())

    def suggest(self, upload: Upload, params: SuggestParams) -> dict[str, Any]:
        import deepcolor

        if not self.features.suggest:
            raise _missing("colour suggestions")
        colorizer = self._colorizer(params.model)
        prepared = self._prepare(upload, params.max_side)
        width, height = prepared.width, prepared.height
        if not (params.x < width and params.y < height):
            raise ClientError(
                422,
                f"x, y: ({params.x:g}, {params.y:g}) is outside the {width} x {height} image",
            )
        height, width = prepared.rgb.shape[:2]
        x = min(width - 1, max(0, round((params.x + 0.5) * prepared.sx - 0.5)))
        y = min(height - 1, max(0, round((params.y + 0.5) * prepared.sy - 0.5)))
        kwargs: dict[str, Any] = {"k": params.k}
        accepted = inspect.signature(deepcolor.suggest_colors).parameters
        if "model" in accepted:
            kwargs["model"] = colorizer
        if "render_size" in accepted and params.render_size is not None:
            kwargs["render_size"] = params.render_size
        array = prepared.rgb[:, :, 0] if prepared.grey_source else prepared.rgb
        colors = _library(deepcolor.suggest_colors, array, x, y, **kwargs)
        return {
            "x": params.x,
            "y": params.y,
            "colors": [{"color": str(hex_color), "probability": float(p)} for hex_color, p in colors],
        }

    def uncertainty(
        self, upload: Upload, params: UncertaintyParams, reference: Upload | None = None
    ) -> Result:
        import deepcolor

        if not self.features.uncertainty:
            raise _missing("uncertainty maps")
        colorizer = self._colorizer(params.model)
        prepared = self._prepare(upload, params.max_side)
        extras: dict[str, Any] = {"uncertainty": True}
        hints = self._hints(params.hints, prepared)
        if hints is not None:
            extras["hints"] = hints
        ref = self._reference(reference, prepared.preview)
        if ref is not None:
            extras["reference"] = ref
        array = prepared.rgb[:, :, 0] if prepared.grey_source else prepared.rgb
        result = _library(
            deepcolor.colorize, array, model=colorizer, render_size=params.render_size, **extras
        )
        heat = heat_map(uncertainty_of(result))
        encoded = codec.encode(heat[..., :3], "png", alpha=heat[..., 3])
        return Result(encoded, prepared.source_headers())


def uncertainty_of(result: Any) -> np.ndarray:
    """The uncertainty map out of what `deepcolor.colorize(..., uncertainty=True)` returns: a (colorized,
    map) pair, an object with `.uncertainty`, or a dict with "uncertainty"."""
    if isinstance(result, tuple) and len(result) == 2:
        return np.asarray(result[1])
    if isinstance(result, dict) and "uncertainty" in result:
        return np.asarray(result["uncertainty"])
    if hasattr(result, "uncertainty"):
        return np.asarray(result.uncertainty)
    raise TypeError(f"colorize(uncertainty=True) returned {type(result).__name__}; expected (image, map)")


def heat_map(uncertainty: np.ndarray) -> np.ndarray:
    """(H, W) uncertainty (any non-negative scale) -> (H, W, 4) float RGBA overlay: clear where the model
    is sure, through yellow to red where it is least sure; an (H, W, 3) map (coloured already) is kept."""
    u = np.asarray(uncertainty, dtype=np.float32)
    if u.ndim == 3 and u.shape[2] in (3, 4):
        rgb = u[..., :3] / (255.0 if u.max(initial=0) > 1.0 else 1.0)
        return np.concatenate([rgb, np.ones(u.shape[:2] + (1,), np.float32)], axis=2)
    u = np.nan_to_num(u.reshape(u.shape[:2]), nan=0.0)
    top = float(u.max(initial=0.0))
    u = np.clip(u / top, 0.0, 1.0) if top > 1.0 else np.clip(u, 0.0, 1.0)
    rgba = np.empty(u.shape + (4,), np.float32)
    rgba[..., 0] = 1.0
    rgba[..., 1] = 1.0 - 0.85 * u
    rgba[..., 2] = 0.0
    rgba[..., 3] = 0.8 * u
    return rgba
