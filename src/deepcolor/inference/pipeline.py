"""THE inference path: full-resolution L* -> L* at the render size -> model -> ab -> guided upsampling
-> sRGB.

The recipe of Zhang et al.: the network only sees the lightness at a small render size; its ab prediction is
brought back to the full resolution and joined with the ORIGINAL full-resolution L*, so the output keeps every
detail of the input. Here the upsampling is edge-aware (`upsample.py`: a fast guided filter with detail
transfer, guided by the full-resolution L*), so colour does not bleed across edges, and all full-resolution
work is done in bands of rows (`bands.py`: a megapixel or two, spread over the CPU cores), so that a
50-megapixel photo needs little more memory than its own pixels.

Render size: the LONGER side of the image is resized to `render_size` and the aspect ratio is kept (a
3000 x 4000 photo is seen at 192 x 256). Squashing to a square would show the network distorted shapes (faces,
wheels) that it never saw in training, and would spend time on pixels that carry no information; the models
are fully convolutional and take any size. An image whose longer side already equals `render_size` (as the
evaluation passes them) goes to the network as it is. Before the network, L* is padded (replicating its
edge) to a multiple of 32 and the prediction cropped back (see `predictor.SIZE_MULTIPLE`).

Conditions: a model may take optional inputs beside L (`model.conditions`, see `deepcolor.models.conditions`:
colour hints as sparse maps, global vectors). They are given at FULL resolution, a sparse map (B, C, H, W) at
the size of L; it is brought to the render size with `resize_sparse` (a hint of one pixel survives any
downscale; never a bilinear average that would dilute it), vectors are passed as they are, and a condition
not given is zeros ("not given"). A model without conditions is called exactly as before.

Render size default: a model's metadata `render_size` (the shipped default: 160), else 160. Measured with
`deepcolor evaluate` on BSD100 (481 x 321) and the shipped default model: CIEDE2000 10.74 / 10.78 / 11.49 /
12.18 at render sizes 128 / 160 / 256 / 384 (grey: 11.92), colourfulness 24.6 / 25.7 / 31.5 / 39.0 (truth
35.7), network 4 / 5 / 9 / 19 ms on this 2-core CPU: the model, trained on small crops, guesses best when it
sees a photo small, and the network time is a few per cent of a 12 MP photo's pipeline at any of these sizes
(benchmarks/results/colorize_speed.md).

Backend: PyTorch, or onnxruntime when an ONNX export of the weights lies beside them (`--backend auto`, the
default; see `weights.load_predictor`); `DEEPCOLOR_BACKEND=torch` or `--backend torch` opts out.
`--backend onnxruntime` runs that export too, and exports the model in memory only when there is none.

Used by `deepcolor colorize`, `deepcolor enhance`, `deepcolor demo`, the Python API (`deepcolor.colorize`) and
the evaluation (`deepcolor.evaluate`).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from deepcolor.inference.bands import for_each_band, single_threaded
from deepcolor.inference.upsample import DEFAULT_EPS, DEFAULT_RADIUS, GuidedCoefficients, fit_guided
from deepcolor.inference.weights import BACKENDS, WEIGHTS_DIR, Predictor, load_predictor
from deepcolor.models.checkpoint import CheckpointError
from deepcolor.models.conditions import ConditionSpec, model_conditions, resize_sparse
from deepcolor.normalization import denormalize_ab, normalize_l

# For models without a `render_size` in their metadata (see the module notes).
DEFAULT_RENDER_SIZE = 160
# Most images in one forward pass of the batch calls (`predict_low_many`): at render size 288 a batch of 16
# holds about 0.5 GB of activations on the CPU.
DEFAULT_BATCH_SIZE = 16
BACKEND_ENV = "DEEPCOLOR_BACKEND"


def render_shape(height: int, width: int, render_size: int) -> tuple[int, int]:
    """(h, w) with max(h, w) == render_size and the aspect ratio of (height, width) kept (each side >= 1)."""
    if render_size < 1:
        raise ValueError(f"render_size must be a positive number of pixels. Got {render_size}")
    scale = render_size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resolve_backend(backend: str = "auto") -> str:
    """ "auto" -> the backend named by $DEEPCOLOR_BACKEND if set, else "auto" (see `load_predictor`)."""
    if backend == "auto":
        backend = os.environ.get(BACKEND_ENV, "auto") or "auto"
    if backend not in BACKENDS:
        raise CheckpointError(backend, f"unknown backend (choose from {', '.join(BACKENDS)})")
    return backend


GREY_TABLE_SIZE = 65536  # 65535 = 257 * 255: every 8-bit and every 16-bit grey level is a table entry


@functools.lru_cache(maxsize=4)
def _grey_table(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """L* of the grey levels k / 65535 (computed by the colour module), and the slope to the next level."""
    from deepcolor.color import rgb_to_gray

    levels = torch.linspace(0.0, 1.0, GREY_TABLE_SIZE, dtype=torch.float64)
    table = rgb_to_gray(levels.expand(1, 3, 1, -1), method="lightness")[0, 0, 0].mul(100.0)
    slope = torch.diff(table, append=table[-1:])
    return table.float().to(device), slope.float().to(device)


def _grey_lightness(grey: torch.Tensor) -> torch.Tensor:
    """L* of sRGB grey levels in [0, 1]: a table lookup, exact for 8- and 16-bit values, linearly
    interpolated (error < 1e-4 L*) in between; a third of the work of the three-channel formula."""
    table, slope = _grey_table(grey.device)
    position = grey.clamp(0.0, 1.0).mul_(GREY_TABLE_SIZE - 1)
    index = position.long()  # floor, since position >= 0
    fraction = position.sub_(index)
    return torch.addcmul(table[index], fraction, slope[index])


# Integer sRGB levels: their scale to [0, 1], and their step in the grey table (65535 = 257 * 255).
_INTEGER_LEVELS = {np.dtype(np.uint8): (1.0 / 255.0, 257), np.dtype(np.uint16): (1.0 / 65535.0, 1)}


def lightness(rgb: np.ndarray, device: torch.device | str = "cpu", gray: bool = False) -> torch.Tensor:
    """CIE L* of an sRGB image, computed in bands of rows.

    Args:
        rgb: (H, W, 3) sRGB or (H, W) grey (sRGB-encoded), float in [0, 1], or uint8 / uint16 levels (as
            decoded: no full-size float copy is made; a grey level is read from the table directly).
        device: where the result lives.
        gray: the three channels of `rgb` are known to be equal (a grey file read as RGB): L* comes from the
            first channel alone, through a table (same values, a third of the work).

    Returns:
        (1, 1, H, W) float32 L* in [0, 100].
    """
    from deepcolor.color import rgb_to_gray

    if rgb.ndim not in (2, 3) or (rgb.ndim == 3 and rgb.shape[2] != 3):
        raise ValueError(f"Expected an (H, W) or (H, W, 3) image. Got shape {rgb.shape}")
    height, width = rgb.shape[:2]
    l = torch.empty(1, 1, height, width, dtype=torch.float32, device=device)
    integer = _INTEGER_LEVELS.get(rgb.dtype)

    def work(start: int, stop: int) -> None:
        band = rgb[start:stop]
        if band.ndim == 2 or gray:
            grey = band if band.ndim == 2 else band[:, :, 0]
            if integer is not None:  # an exact table entry per level
                table = _grey_table(torch.device(device))[0]
                index = torch.from_numpy(np.ascontiguousarray(grey, dtype=np.int32)).to(device)
                if integer[1] != 1:
                    index.mul_(integer[1])
                torch.index_select(table, 0, index.view(-1), out=l[0, 0, start:stop].view(-1))
                return
            grey = torch.from_numpy(np.ascontiguousarray(grey, dtype=np.float32)).to(device)
            l[0, 0, start:stop] = _grey_lightness(grey)
            return
        band = np.ascontiguousarray(band, dtype=np.float32)
        if integer is not None:
            band *= np.float32(integer[0])
        # (T, W, 3) -> (1, 3, T, W), contiguous for the colour module's matrix products
        band = torch.from_numpy(band).to(device)
        l[:, :, start:stop] = rgb_to_gray(band.permute(2, 0, 1).contiguous()[None], "lightness").mul_(100)

    for_each_band(height, width, work, device)
    return l


def to_render_size(l: torch.Tensor, render_size: int | None) -> torch.Tensor:
    """L* (B, 1, H, W) resized (antialiased bilinear) so that its longer side is `render_size`."""
    if render_size is None or max(l.shape[-2:]) == render_size:
        return l
    size = render_shape(*l.shape[-2:], render_size)
    return F.interpolate(l, size=size, mode="bilinear", antialias=True, align_corners=False)



def _denoised_gain(ab_low: torch.Tensor, gains: list[float], low: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The network's a*b* (B, 2, h, w) times each image's factor for a denoised input
    (`Colorizer._network_input`), except with point hints: they set the colour themselves."""
    if "hints" in low or all(gain == 1.0 for gain in gains):
        return ab_low
    return ab_low * torch.tensor(gains).view(-1, 1, 1, 1).to(ab_low)

class Colorizer:
    """A loaded colorization model and the inference path around it.

    Args:
        model: "default", an alias or shipped name, a .safetensors (with its .json), a training checkpoint
            .pt, an .onnx file, or an nn.Module with `predict_ab`. A module is borrowed: it stays on its
            device and in its mode (a model being trained stays in training; each prediction runs it in eval
            mode and restores the mode), and the Colorizer runs where the module is.
        device: "auto" (CUDA when present), "cpu", "cuda", ...; for a model loaded from a file. ONNX models
            run on the CPU.
        backend: "auto": onnxruntime when the weights file has a matching `<name>.onnx` export beside it
            (faster on CPUs for the U-Net models; `deepcolor export` writes it), else PyTorch;
            $DEEPCOLOR_BACKEND=torch (or onnxruntime) overrides "auto". "torch" / "onnxruntime" force one
            (onnxruntime without a matching export: one made in memory, once per process).
        render_size: default longer side seen by the network; None takes the model's metadata `render_size`,
            else DEFAULT_RENDER_SIZE.
        radius: guided-filter window radius, in pixels at the render size.
        eps: guided-filter regularisation, in (L* / 100)^2.
        denoise_grain: show the network a denoised L* where a photo is measurably grainy (`grain.py`; the
            output's L* is always the input's): for grainy scans (`deepcolor colorize --grainy`). Off by
            default: finely textured clean photos measure as grainy too (18 of BSD100's 100, each about 0.9
            CIEDE2000 worse for it), and a clip's frames near the gate would switch it on and off.

    Raises:
        CheckpointError (a ValueError): the model cannot be found or loaded; the message is one line.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | nn.Module = "default",
        device: str | torch.device = "auto",
        backend: str = "auto",
        render_size: int | None = None,
        radius: int = DEFAULT_RADIUS,
        eps: float = DEFAULT_EPS,
        weights_dir: os.PathLike[str] | None = None,
        denoise_grain: bool = False,
    ) -> None:
        from deepcolor.device import pick_device

        self.device = pick_device(str(device)) if not isinstance(device, torch.device) else device
        self.backend = resolve_backend(backend)
        self.model_spec = model  # as asked for: guidance builds a PyTorch twin of an ONNX model from it
        self.predictor: Predictor = load_predictor(
            model,
            device=self.device,
            backend=self.backend,
            **({"weights_dir": weights_dir} if weights_dir else {}),
        )
        self.device = self.predictor.device  # ONNX runs on the CPU, a borrowed module where it is
        meta_size = self.predictor.meta.get("render_size")
        self.render_size = int(render_size or meta_size or DEFAULT_RENDER_SIZE)
        # A regressor trained with an L1/Huber loss predicts the conditional median, so it under-shoots
        # chroma; shipped weights carry the gain calibrated for them (`chroma_gain` in their JSON, chosen on
        # a tuning split, see docs/models/). `saturation` in the calls below scales on top of it.
        self.chroma_gain = float(self.predictor.meta.get("chroma_gain", 1.0))
        self.radius = radius
        self.eps = eps
        self.denoise_grain = denoise_grain
        # point hints are also spread edge-aware around themselves after the network (hints/propagate.py),
        # unless the network carries them itself (a learnt `hint_spread` head: the spread on top of it had
        # cost 10 hints 0.8 dB on BSD100's first 50)
        kwargs = self.predictor.meta.get("model_kwargs") or {}
        module = getattr(self.predictor, "module", None)
        self.carries_hints = bool(kwargs.get("hint_spread")) or (
            getattr(module, "hint_spreader", None) is not None
        )

    @property
    def name(self) -> str:
        return self.predictor.name

    @property
    def meta(self) -> dict[str, Any]:
        return self.predictor.meta

    def __repr__(self) -> str:
        return f"Colorizer({self.name!r}, device={str(self.device)!r}, render_size={self.render_size})"

    @property
    def conditions(self) -> tuple[ConditionSpec, ...]:
        """The optional inputs the model takes beside L (see `deepcolor.models.conditions`); () for none."""
        return model_conditions(self.predictor)

    # ------------------------------------------------------------------------------------------- render size

    def _conditions_at(
        self, l: torch.Tensor, size: tuple[int, int], conditions: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """Full-resolution conditions for L (B, 1, H, W) -> at the render size `size`: sparse maps through
        `resize_sparse`, vectors as they are (all float32 on this Colorizer's device)."""
        specs = {spec.name: spec for spec in self.conditions}
        batch, _, height, width = l.shape
        out = {}
        for name, value in conditions.items():
            spec = specs.get(name)
            if spec is None:
                takes = ", ".join(specs) if specs else "none"
                raise ValueError(f"{self.name}: takes no condition {name!r} (conditions it takes: {takes})")
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"condition {name!r} must be a torch tensor. Got {type(value).__name__}")
            value = value.to(self.device, torch.float32)
            if spec.kind == "sparse":
                expected = (batch, spec.channels, height, width)
                if tuple(value.shape) != expected:
                    raise ValueError(
                        f"condition {name!r} (sparse) must have a shape of {expected}, the size of L. "
                        f"Got {tuple(value.shape)}"
                    )
                value = resize_sparse(value, size)
            out[name] = value
        return out

    def predict_low(
        self,
        l: torch.Tensor,
        render_size: int | None = None,
        *,
        conditions: Mapping[str, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the network at the render size.

        Args:
            l: (B, 1, H, W) L* in [0, 100].
            render_size: longer side seen by the network; None for this Colorizer's default.
            conditions: optional inputs the model takes (`self.conditions`), at FULL resolution: sparse maps
                (B, C, H, W) at the size of `l`, vectors (B, C). Sparse maps are resized to the render size
                with `resize_sparse` (hints survive); a condition not given is zeros.

        Returns:
            (l_low (B, 1, h, w) L*, ab_low (B, 2, h, w) a*b*), float32 on this Colorizer's device.

        Raises:
            ValueError: a condition the model does not take, or of the wrong shape.
        """
        if l.dim() != 4 or l.shape[1] != 1:
            raise ValueError(f"L must have a shape of (B, 1, H, W). Got {tuple(l.shape)}")
        l_low = to_render_size(l.to(self.device, torch.float32), render_size or self.render_size)
        low = self._conditions_at(l, tuple(l_low.shape[-2:]), conditions) if conditions else {}
        seen, gains = self._network_input(l, l_low)
        return l_low, _denoised_gain(self._predict_rendered(seen, low), gains, low)

    def _network_input(self, l: torch.Tensor, l_low: torch.Tensor) -> tuple[torch.Tensor, list[float]]:
        """What the network sees of L* (B, 1, h, w) at the render size: `l_low`, denoised per image where
        the photo is measurably grainy (`grain.py`; `denoise_grain=False` never), and the factor on the
        network's a*b* per image (1.0 where it was not denoised). The guide stays `l_low`."""
        if not self.denoise_grain:
            return l_low, [1.0] * l_low.shape[0]
        from deepcolor.inference.grain import DENOISED_CHROMA_GAIN, denoise_for_network

        rows, gains = [], []
        for index in range(l_low.shape[0]):
            row = l_low[index : index + 1]
            seen = denoise_for_network(l[index : index + 1], row)
            rows.append(seen)
            gains.append(1.0 if seen is row else DENOISED_CHROMA_GAIN)
        return (l_low if all(gain == 1.0 for gain in gains) else torch.cat(rows)), gains

    def _predict_rendered(self, l_low: torch.Tensor, low: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The network on L* already at the render size (B, 1, h, w), with conditions at that size ->
        ab_low (B, 2, h, w) a*b*, calibrated (chroma gain) and with point hints carried."""
        with torch.inference_mode():
            ab_norm = self.predictor(normalize_l(l_low), **low)
        ab_low = denormalize_ab(ab_norm.to(self.device, torch.float32))
        if ab_low.shape[-2:] != l_low.shape[-2:]:  # e.g. an ONNX graph exported at one fixed size
            ab_low = F.interpolate(ab_low, size=l_low.shape[-2:], mode="bilinear", align_corners=False)
        if "hints" in low:  # carry each hint over its region (hints/propagate.py),
            from deepcolor.hints.propagate import propagate_hints  # the gain only where no hint reaches

            with torch.inference_mode():
                return propagate_hints(
                    l_low,
                    ab_low,
                    low["hints"].to(ab_low.device),
                    gain=self.chroma_gain,
                    spread=not self.carries_hints,
                )
        if self.chroma_gain != 1.0:  # the model's calibration, from its metadata (see __init__)
            ab_low = ab_low * self.chroma_gain
        return ab_low

    def predict_low_many(
        self,
        ls: Sequence[torch.Tensor],
        render_sizes: Sequence[int | None] | None = None,
        conditions: Sequence[Mapping[str, torch.Tensor] | None] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        *,
        ls_low: Sequence[torch.Tensor | None] | None = None,
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """`predict_low` for several images of any sizes, through the network in batches.

        Images whose L* comes to the same shape at the render size, with the same conditions given, share
        forward passes of up to `batch_size` images (a batch of 640 x 480 photos at render size 288 is one
        pass). The result of each image is its `predict_low` result, up to float rounding.

        Args:
            ls: L* (1, 1, H, W) in [0, 100] per image, at full resolution (sizes may differ).
            render_sizes: per image, the longer side seen by the network (None: this Colorizer's default).
            conditions: per image, its conditions at full resolution as in `predict_low` (batch 1), or None.
            batch_size: most images in one forward pass.
            ls_low: per image, its L* already at the render size (`to_render_size(l, render_size)`, on this
                Colorizer's device) where the caller has it, or None: not resized again.

        Returns:
            Per image, in order: (l_low (1, 1, h, w), ab_low (1, 2, h, w)).
        """
        count = len(ls)
        render_sizes = list(render_sizes) if render_sizes is not None else [None] * count
        conditions = list(conditions) if conditions is not None else [None] * count
        given_lows = list(ls_low) if ls_low is not None else [None] * count
        if len(render_sizes) != count or len(conditions) != count or len(given_lows) != count:
            raise ValueError(
                f"ls, render_sizes, conditions and ls_low must have one entry per image. "
                f"Got {count}, {len(render_sizes)}, {len(conditions)}, {len(given_lows)}"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1. Got {batch_size}")
        lows: list[torch.Tensor] = []
        seen: list[torch.Tensor] = []  # what the network sees, and the factor on its a*b* (`_network_input`)
        gains: list[float] = []
        lows_conditions: list[dict[str, torch.Tensor]] = []
        groups: dict[tuple[Any, ...], list[int]] = {}
        for index, (l, size, given, l_low) in enumerate(
            zip(ls, render_sizes, conditions, given_lows, strict=True)
        ):
            if l.dim() != 4 or l.shape[:2] != (1, 1):
                raise ValueError(f"each L must have a shape of (1, 1, H, W). Got {tuple(l.shape)}")
            if l_low is None:
                l_low = to_render_size(l.to(self.device, torch.float32), size or self.render_size)
            low = self._conditions_at(l, tuple(l_low.shape[-2:]), given) if given else {}
            lows.append(l_low)
            l_seen, (gain,) = self._network_input(l, l_low)
            seen.append(l_seen)
            gains.append(gain)
            lows_conditions.append(low)
            groups.setdefault((tuple(l_low.shape), tuple(sorted(low))), []).append(index)
        results: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * count
        for (_, names), members in groups.items():
            for start in range(0, len(members), batch_size):
                chunk = members[start : start + batch_size]
                l_low = torch.cat([seen[i] for i in chunk])
                low = {name: torch.cat([lows_conditions[i][name] for i in chunk]) for name in names}
                ab_low = _denoised_gain(self._predict_rendered(l_low, low), [gains[i] for i in chunk], low)
                for row, index in enumerate(chunk):
                    results[index] = (lows[index], ab_low[row : row + 1])
        return results  # type: ignore[return-value]

    def fit(
        self,
        l: torch.Tensor,
        render_size: int | None = None,
        *,
        conditions: Mapping[str, torch.Tensor] | None = None,
    ) -> GuidedCoefficients:
        """Predict ab at the render size and fit the guided upsampler for the full size of `l` (B, 1, H, W).

        The returned coefficients give a*b* from the full-resolution guide L* / 100, band by band.
        `conditions` are as in `predict_low` (full resolution).
        """
        l_low, ab_low = self.predict_low(l, render_size, conditions=conditions)
        # Small images, small operations: one thread (see bands.py on why splitting them hurts).
        threads = single_threaded() if self.device.type == "cpu" else contextlib.nullcontext()
        with torch.inference_mode(), threads:
            return fit_guided(l_low / 100.0, ab_low, tuple(l.shape[-2:]), radius=self.radius, eps=self.eps)

    def predict_ab(
        self,
        l: torch.Tensor,
        render_size: int | None = None,
        saturation: float = 1.0,
        *,
        conditions: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Predicted chroma at full resolution: the call shared by the commands, the API and evaluation.

        Args:
            l: (B, 1, H, W) L* in [0, 100] at full resolution (any device; float).
            render_size: longer side seen by the network; None for this Colorizer's default.
            saturation: factor on the predicted chroma (0 = grey, 1 = as predicted).
            conditions: optional model inputs at full resolution (see `predict_low`), e.g.
                `{"hints": (B, 3, H, W)}` for a model that takes colour hints.

        Returns:
            (B, 2, H, W) a*b* (about [-110, 110]), float32 on the device of `l`, upsampled with the
            full-resolution L as the guide.
        """
        coefficients = self.fit(l, render_size, conditions=conditions)
        with torch.inference_mode():
            guide = l.to(self.device, torch.float32) / 100.0
            ab = coefficients.apply(guide)
            if saturation != 1.0:
                ab.mul_(saturation)
        return ab.to(l.device)

    # ---------------------------------------------------------------------------------------- full images

    def colorize_l(
        self,
        l: torch.Tensor,
        render_size: int | None = None,
        saturation: float = 1.0,
        out: np.ndarray | None = None,
        *,
        conditions: Mapping[str, torch.Tensor] | None = None,
    ) -> np.ndarray:
        """Colorize one full-resolution L*: Lab(L, predicted ab) -> sRGB, in bands of rows.

        Args:
            l: (1, 1, H, W) L* in [0, 100].
            render_size: longer side seen by the network; None for this Colorizer's default.
            saturation: factor on the predicted chroma.
            out: optional (H, W, 3) float32 array to write into (may be the input's own RGB array).
            conditions: optional model inputs at full resolution (see `predict_low`).

        Returns:
            (H, W, 3) float32 sRGB in [0, 1] (`out` when given). Its L* equals the input's up to the sRGB
            gamut clipping of the output.
        """
        coefficients = self.fit(l, render_size, conditions=conditions)
        return self._join(l, coefficients, saturation, out)

    def colorize_many(
        self,
        ls: Sequence[torch.Tensor],
        render_sizes: Sequence[int | None] | None = None,
        saturation: float | Sequence[float] = 1.0,
        conditions: Sequence[Mapping[str, torch.Tensor] | None] | None = None,
        outs: Sequence[np.ndarray | None] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[np.ndarray]:
        """`colorize_l` for several images: the network runs in batches (`predict_low_many`), the
        full-resolution upsampling and join per image.

        Args:
            ls: L* (1, 1, H, W) in [0, 100] per image (sizes may differ).
            render_sizes, conditions: per image, as in `predict_low_many`.
            saturation: factor on the predicted chroma, for every image or per image.
            outs: per image, an optional (H, W, 3) float32 array to write into.
            batch_size: most images in one forward pass.

        Returns:
            Per image, in order, (H, W, 3) float32 sRGB in [0, 1].
        """
        predictions = self.predict_low_many(ls, render_sizes, conditions, batch_size)
        outs = list(outs) if outs is not None else [None] * len(ls)
        saturations = [saturation] * len(ls) if isinstance(saturation, (int, float)) else list(saturation)
        results = []
        for l, (l_low, ab_low), out, saturation in zip(ls, predictions, outs, saturations, strict=True):
            threads = single_threaded() if self.device.type == "cpu" else contextlib.nullcontext()
            with torch.inference_mode(), threads:
                coefficients = fit_guided(
                    l_low / 100.0, ab_low, tuple(l.shape[-2:]), radius=self.radius, eps=self.eps
                )
            results.append(self._join(l, coefficients, saturation, out))
        return results

    def colorize_arrays(
        self,
        images: Sequence[np.ndarray],
        render_size: int | None = None,
        saturation: float = 1.0,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[np.ndarray]:
        """`colorize_array` for several images (any sizes) with the network run in batches.

        Args:
            images: (H, W, 3) sRGB or (H, W) grey, float in [0, 1], per image.
            render_size: longer side seen by the network; None for this Colorizer's default.
            saturation: factor on the predicted chroma.
            batch_size: most images in one forward pass.

        Returns:
            Per image, in order, (H, W, 3) float32 sRGB in [0, 1].
        """
        ls = [lightness(rgb, self.device) for rgb in images]
        return self.colorize_many(ls, [render_size] * len(ls), saturation, batch_size=batch_size)

    def colorize_array(
        self,
        rgb: np.ndarray,
        render_size: int | None = None,
        saturation: float = 1.0,
        out: np.ndarray | None = None,
        gray: bool = False,
        *,
        conditions: Mapping[str, torch.Tensor] | None = None,
    ) -> np.ndarray:
        """Colorize an image array; a colour image is reduced to its L* first.

        Args:
            rgb: (H, W, 3) sRGB or (H, W) grey, float in [0, 1].
            render_size: longer side seen by the network; None for this Colorizer's default.
            saturation: factor on the predicted chroma.
            out: optional (H, W, 3) float32 array to write into; passing `rgb` itself saves memory.
            gray: the three channels of `rgb` are equal (a grey source read as RGB): a faster L*.
            conditions: optional model inputs at the image's full resolution (see `predict_low`), batch 1.

        Returns:
            (H, W, 3) float32 sRGB in [0, 1].
        """
        l = lightness(rgb, self.device, gray=gray)
        return self.colorize_l(l, render_size, saturation, out, conditions=conditions)

    def _join(
        self,
        l: torch.Tensor,
        coefficients: GuidedCoefficients,
        saturation: float,
        out: np.ndarray | None,
        l_out: torch.Tensor | None = None,
        dtype: npt.DTypeLike = np.float32,
        workspace: dict[tuple[int, int, int], tuple[torch.Tensor, ...]] | None = None,
    ) -> np.ndarray:
        """sRGB of Lab(l_out or l, ab from `coefficients` guided by l), band by band into `out`: float32 in
        [0, 1], or 8-bit codes when `out` (or, without one, `dtype`) is uint8 (`lab_to_rgb8`: what a video
        encoder takes, without a full-size float copy). `workspace`: a dict kept by the caller from one
        image of a size to the next (a clip's frames), where the bands' buffers are kept and reused: fresh
        image-sized buffers cost page faults, a third of this step's time at 1080p."""
        from deepcolor.color import lab_to_rgb, lab_to_rgb8

        height, width = l.shape[-2:]
        if out is None:
            out = np.empty((height, width, 3), dtype=dtype)
        if out.shape != (height, width, 3) or out.dtype not in (np.float32, np.uint8):
            raise ValueError(
                f"out must be a ({height}, {width}, 3) float32 or uint8 array. Got {out.shape} {out.dtype}"
            )
        l_out = l if l_out is None else l_out

        def work(start: int, stop: int) -> None:
            guide = l[:, :, start:stop].to(self.device, torch.float32)
            key = (start, stop, width)
            buffers = workspace.get(key) if workspace is not None else None
            if buffers is None or buffers[0].shape[0] != guide.shape[0]:
                buffers = tuple(guide.new_empty(guide.shape[0], c, stop - start, width) for c in (1, 3, 3))
                if workspace is not None:
                    workspace[key] = buffers  # each band is its own key: no two workers share one
            scaled, lab, spare = buffers
            lab[:, :1] = l_out[:, :, start:stop]
            ab = coefficients.apply_rows(torch.div(guide, 100.0, out=scaled), start, out=lab[:, 1:])
            if saturation != 1.0:
                ab.mul_(saturation)
            rgb = lab_to_rgb8(lab, work=spare) if out.dtype == np.uint8 else lab_to_rgb(lab)
            torch.from_numpy(out[start:stop]).copy_(rgb[0].permute(1, 2, 0).cpu())

        for_each_band(height, width, work, self.device)
        return out


def colorizer_for(
    model: str | os.PathLike[str] | nn.Module | Colorizer = "default",
    device: str | torch.device = "auto",
    backend: str = "auto",
) -> Colorizer:
    """A Colorizer for `model`, or `model` itself when it already is one."""
    if isinstance(model, Colorizer):
        return model
    return Colorizer(model, device=device, backend=backend)


__all__ = [
    "BACKENDS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_RENDER_SIZE",
    "WEIGHTS_DIR",
    "Colorizer",
    "colorizer_for",
    "lightness",
    "render_shape",
    "to_render_size",
]
