"""User guidance on top of the inference path: colour hints and a reference photo as model conditions, the
model's suggested colours at a point, and where it is unsure.

    colorizer = Colorizer("default")
    conditions = guidance_conditions(colorizer, height, width, hints=[(120, 45, "#1f4fa0")], reference=rgb)
    rgb_out = colorizer.colorize_array(rgb, conditions=conditions)
    suggestions = suggest_at(colorizer, l, x, y, k=5)          # [("#8a5a3c", 0.31), ...]
    unsure = uncertainty_map(colorizer, l)                     # (H, W) in [0, 1]

Suggestions and uncertainty read the model's distribution over the ab bins, so they need a model that has
one (`predict_distribution`: the pretrained-encoder models) run through PyTorch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from deepcolor.hints.points import HintError, hint_map, parse_hints
from deepcolor.inference.pipeline import Colorizer, to_render_size
from deepcolor.models import ab_bins
from deepcolor.normalization import normalize_l


def _bin_centers(colorizer: Colorizer) -> torch.Tensor:
    module = getattr(colorizer.predictor, "module", None)
    if module is not None and hasattr(module, "bin_centers"):
        return module.bin_centers.detach().cpu().float()
    kwargs = colorizer.meta.get("model_kwargs") or {}
    return ab_bins.in_gamut_bins(float(kwargs.get("grid", 10.0)))


def guidance_conditions(
    colorizer: Colorizer,
    height: int,
    width: int,
    hints: Any = None,
    reference: np.ndarray | None = None,
    source: str = "hints",
    target: np.ndarray | None = None,
) -> dict[str, torch.Tensor]:
    """Hints (any form `parse_hints` takes) and a reference photo ((H', W', 3) float sRGB) -> the model's
    conditions at the image's full resolution (height x width). Empty for no guidance.

    With the target image itself (`target`, (H, W) or (H, W, 3) float sRGB), a reference also gives
    exemplar hints: its colours carried to the matching regions of the target (`exemplar_hints`); the
    user's own points win where both speak. When no region matches, the reference's global histogram is
    left out too: it is then the palette of an unrelated photo.

    Raises:
        HintError: a bad hint (the message names `source`), or guidance for a model that takes none.
    """
    points = parse_hints(hints, source)
    if not points and reference is None:
        return {}
    names = {spec.name: spec for spec in colorizer.conditions}
    if "hints" not in names or "global_hints" not in names:
        raise HintError(f"{source}: model {colorizer.name!r} takes no colour hints (the default model does)")
    out: dict[str, torch.Tensor] = {}
    if points:
        out["hints"] = torch.from_numpy(hint_map(points, height, width, source))[None]
    palette = reference is not None
    if reference is not None and target is not None:
        matched = exemplar_hints(colorizer, target, reference)
        if matched is not None:
            # no region of the reference matches: its palette is another photo's, not this one's (on val,
            # an unrelated reference's histogram cost 0.7 dB on the wallpapers)
            palette = bool(matched[:, 2].any())
            given = out.get("hints")
            if palette:
                out["hints"] = matched if given is None else torch.where(given[:, 2:3] > 0, given, matched)
    if palette:
        from deepcolor.hints.reference import reference_hints

        centers = _bin_centers(colorizer)
        vector = reference_hints(reference, centers)
        if vector.shape[1] != names["global_hints"].channels:
            raise HintError(f"{source}: model {colorizer.name!r} uses other ab bins than this build")
        out["global_hints"] = vector
    return out


def exemplar_hints(colorizer: Colorizer, target: np.ndarray, reference: np.ndarray) -> torch.Tensor | None:
    """The reference's colours carried to the regions of `target` that match them
    (`deepcolor.hints.exemplar`), as the sparse hint map (1, 3, H, W) at the target's size; None for a model
    without a pretrained encoder to match on."""
    from deepcolor.color import rgb_to_lab
    from deepcolor.hints.exemplar import exemplar_hint_map, match_reference
    from deepcolor.inference.pipeline import lightness

    if not isinstance(colorizer, Colorizer):  # a stand-in with no network to match on
        return None
    twin = torch_colorizer(colorizer)
    encoder = getattr(getattr(twin.predictor, "module", None), "encoder", None)
    if encoder is None or not hasattr(encoder, "feature_info"):
        return None
    height, width = target.shape[:2]

    def at_render_size(rgb: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32))
        t = t[None, None] if t.dim() == 2 else t.permute(2, 0, 1)[None]
        size = to_render_size(t, twin.render_size).shape[-2:]
        t = torch.nn.functional.interpolate(t, size=size, mode="area")
        return t[0].permute(1, 2, 0).numpy() if t.shape[1] == 3 else t[0, 0].numpy()

    small_target, small_reference = at_render_size(target), at_render_size(reference)
    lab_reference = rgb_to_lab(torch.from_numpy(small_reference).permute(2, 0, 1)[None])
    with torch.inference_mode():
        ab_cells, confidence = match_reference(
            encoder, lightness(small_target), lab_reference[:, :1], lab_reference[:, 1:]
        )
    return torch.from_numpy(exemplar_hint_map(ab_cells, confidence, height, width))[None]


def torch_colorizer(colorizer: Colorizer) -> Colorizer:
    """`colorizer` itself when it runs through PyTorch, else (an ONNX session) a PyTorch Colorizer of the
    same model, made once and kept on it: the distribution over the bins is not among the ONNX outputs."""
    if getattr(colorizer.predictor, "module", None) is not None:
        return colorizer
    twin = getattr(colorizer, "_torch_twin", None)
    if twin is None:
        twin = Colorizer(
            colorizer.model_spec, device="cpu", backend="torch", render_size=colorizer.render_size
        )
        colorizer._torch_twin = twin
    return twin


def _distribution_module(colorizer: Colorizer) -> torch.nn.Module:
    module = getattr(colorizer.predictor, "module", None)
    runs_it = hasattr(colorizer.predictor, "distribution")
    if module is None or not hasattr(module, "predict_distribution") or not runs_it:
        raise ValueError(
            f"{colorizer.name}: suggestions and uncertainty need a model with a colour distribution "
            "(the default model) run through PyTorch (backend='torch')"
        )
    return module


def distribution(
    colorizer: Colorizer,
    l: torch.Tensor,
    render_size: int | None = None,
    conditions: Mapping[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The model's per-pixel probabilities over the ab bins (1, Q, h, w) at a quarter of the render size,
    for a full-resolution L* (1, 1, H, W) and full-resolution conditions."""
    colorizer = torch_colorizer(colorizer)
    _distribution_module(colorizer)
    l_low = to_render_size(l.to(colorizer.device, torch.float32), render_size or colorizer.render_size)
    low = colorizer._conditions_at(l, tuple(l_low.shape[-2:]), conditions) if conditions else {}
    return colorizer.predictor.distribution(normalize_l(l_low), **low)


def suggest_at(
    colorizer: Colorizer,
    l: torch.Tensor,
    x: float,
    y: float,
    k: int = 5,
    render_size: int | None = None,
    conditions: Mapping[str, torch.Tensor] | None = None,
) -> list[tuple[str, float]]:
    """The model's k most likely colours at pixel (x, y) of the full-resolution L* (1, 1, H, W), most
    likely first: (sRGB hex, probability) with distinct hex strings and probabilities summing to <= 1.
    Each colour is the bin's a*b* at the photo's own L* there (the lightness always comes from the photo)."""
    from deepcolor.color.numpy import lab_to_rgb

    height, width = l.shape[-2:]
    if not (0 <= x <= width - 1 and 0 <= y <= height - 1):
        raise ValueError(f"point ({x:g}, {y:g}) is outside the image ({width} x {height})")
    if not 1 <= k <= 64:
        raise ValueError(f"k must be in 1..64. Got {k}")
    probs = distribution(colorizer, l, render_size, conditions)[0]  # (Q, h, w)
    q, h, w = probs.shape
    # the cell under the point (grid_sample at its centre, bilinear between cells)
    gx = (x + 0.5) / width * 2 - 1
    gy = (y + 0.5) / height * 2 - 1
    grid = torch.tensor([[[[gx, gy]]]], dtype=probs.dtype, device=probs.device)
    p = F.grid_sample(probs[None], grid, mode="bilinear", align_corners=False)[0, :, 0, 0]
    p = p / p.sum().clamp_min(1e-12)
    centers = _bin_centers(torch_colorizer(colorizer)).to(p.device)
    lightness = float(l[0, 0, int(round(y)), int(round(x))])
    out: list[tuple[str, float]] = []
    seen: set[str] = set()
    for index in torch.argsort(p, descending=True).tolist():
        a, b = centers[index].tolist()
        rgb = lab_to_rgb(np.array([[[lightness, a, b]]], dtype=np.float64))[0, 0]
        hex_code = "#" + "".join(f"{int(round(c * 255)):02x}" for c in np.clip(rgb, 0, 1))
        if hex_code in seen:
            continue
        seen.add(hex_code)
        out.append((hex_code, float(p[index])))
        if len(out) == k:
            break
    return out


def uncertainty_map(
    colorizer: Colorizer,
    l: torch.Tensor,
    render_size: int | None = None,
    conditions: Mapping[str, torch.Tensor] | None = None,
) -> np.ndarray:
    """How unsure the model is per pixel: the entropy of its ab distribution divided by its maximum
    (log Q), (H, W) float32 in [0, 1] at the full resolution of L* (1, 1, H, W); 0 = one colour is certain."""
    probs = distribution(colorizer, l, render_size, conditions)
    entropy = ab_bins.normalized_entropy(probs)
    full = F.interpolate(entropy, size=tuple(l.shape[-2:]), mode="bilinear", align_corners=False)
    return full[0, 0].clamp(0, 1).cpu().numpy().astype(np.float32)


# A perceptually ordered dark-blue -> teal -> yellow ramp (anchors chosen by hand), for the heat map.
_RAMP = np.array(
    [[0.05, 0.03, 0.25], [0.18, 0.22, 0.55], [0.13, 0.50, 0.56], [0.30, 0.72, 0.42], [0.99, 0.91, 0.15]]
)


def heat_colors(values: np.ndarray) -> np.ndarray:
    """(H, W) values in [0, 1] -> (H, W, 3) float sRGB on the ramp above (0 dark blue, 1 yellow)."""
    v = np.clip(values, 0, 1) * (len(_RAMP) - 1)
    i = np.minimum(v.astype(np.int64), len(_RAMP) - 2)
    f = (v - i)[..., None]
    return _RAMP[i] * (1 - f) + _RAMP[i + 1] * f


def uncertainty_overlay(values: np.ndarray) -> np.ndarray:
    """The uncertainty map as a layer to lay over the photo (the web page's): the same colours as
    `heat_colors`, transparent where the model is sure and 80% opaque where it is least sure.
    (H, W) in [0, 1] -> (H, W, 4) float32 RGBA in [0, 1]."""
    u = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0), 0, 1)
    rgba = np.empty(u.shape + (4,), np.float32)
    rgba[..., :3] = heat_colors(u)
    rgba[..., 3] = 0.8 * u
    return rgba


def uncertainty_image(values: np.ndarray) -> np.ndarray:
    """The uncertainty map as a picture of the same size: the heat map with a legend (a ramp from "sure" to
    "unsure") drawn in its bottom-left corner. (H, W) in [0, 1] -> (H, W, 3) uint8."""
    from PIL import Image, ImageDraw

    from deepcolor.viz import _font

    height, width = values.shape
    image = Image.fromarray((heat_colors(values) * 255 + 0.5).astype(np.uint8))
    bar_w = max(16, min(width // 3, 240))
    bar_h = max(4, min(height // 24, 14))
    font = _font(max(8, bar_h + 2))
    pad = max(2, bar_h // 2)
    label_h = bar_h + 4
    box_w, box_h = bar_w + 2 * pad, bar_h + label_h + 2 * pad
    if box_w > width or box_h > height:  # too small for a legend: the colours alone
        return np.asarray(image)
    draw = ImageDraw.Draw(image)
    x0, y0 = pad, height - box_h - pad if height > box_h + pad else 0
    draw.rectangle([x0, y0, x0 + box_w, y0 + box_h], fill=(255, 255, 255))
    ramp = (heat_colors(np.linspace(0, 1, bar_w)[None].repeat(bar_h, 0)) * 255 + 0.5).astype(np.uint8)
    image.paste(Image.fromarray(ramp), (x0 + pad, y0 + pad))
    draw.text((x0 + pad, y0 + pad + bar_h + 1), "sure", fill=(20, 20, 20), font=font)
    unsure_w = draw.textlength("unsure", font=font)
    draw.text((x0 + pad + bar_w - unsure_w, y0 + pad + bar_h + 1), "unsure", fill=(20, 20, 20), font=font)
    return np.asarray(image)
