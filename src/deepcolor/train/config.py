"""One typed config per training run: a YAML preset plus `--key value` overrides.

    config = load_config("configs/autoencoder.yaml", ["--lr", "3e-4", "--model-kwargs.base-width", "24"])

Keys are the fields of `TrainConfig` (dashes or underscores); `model_kwargs.NAME` reaches into the model's
kwargs. Values are parsed as YAML (so `3e-4`, `true`, `[a, b]` work) and checked against the field's type.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deepcolor.errors import DeepcolorError
from deepcolor.models.encoders import VARIANTS


class ConfigError(DeepcolorError, ValueError):
    """A bad preset or override; the message is one line."""


def default_data_root() -> str:
    """`$DEEPCOLOR_DATA`, else `<repo>/../shared/data` (the repo root found from this file)."""
    env = os.environ.get("DEEPCOLOR_DATA")
    if env:
        return env
    repo = Path(__file__).resolve().parents[3]
    return str(repo.parent / "shared" / "data")


@dataclass
class TrainConfig:
    """Everything a run depends on. Paths starting with `data:` are relative to the data root."""

    # what to train
    model: str = "autoencoder"
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    init_from: str | None = (
        None  # a checkpoint whose model weights start this run (gan: the L1-trained U-Net)
    )
    # where
    run_name: str | None = None  # default: <model>-<YYYYmmdd-HHMMSS>
    out_dir: str = "runs"
    # data
    train_data: list[str] = field(default_factory=lambda: ["data:train/tiny64"])
    val_data: list[str] = field(default_factory=lambda: ["data:val/tiny64-val.tar"])
    val_images: int = 500
    image_size: int = 64
    min_scale: float = 0.35  # random resized crop: smallest area fraction
    grey_threshold: float = 3.0  # mean Lab chroma below which an image is dropped (0 keeps all)
    batch_size: int = 32
    num_workers: int = 1
    seed: int = 0
    # optimisation
    max_steps: int = 3000
    # stop after this many minutes of training (0: no limit), saving, validating and sampling at the step it
    # stops on, as at max_steps: a run sized to a lent GPU's time (`--max-minutes 10`)
    max_minutes: float = 0.0
    lr: float = 2e-3
    min_lr: float = 1e-5
    weight_decay: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.99
    warmup_steps: int = 100
    schedule: str = "cosine"  # cosine | linear | constant (after the linear warm-up)
    grad_clip: float = 1.0  # max gradient norm; 0 disables
    ema: bool = False
    ema_decay: float = 0.999
    amp: str = "auto"  # auto (on CUDA) | on | off
    # family-specific losses
    loss: str = "huber"  # autoencoder / gan generator regression loss: huber | l1
    huber_delta: float = 0.05  # in ab_norm units (about 5.5 a*b* units)
    prior: str | None = None  # cnn: a .pt file from --compute-prior; None computes it at the start
    prior_images: int = 5000
    soft_neighbors: int = 5
    soft_sigma: float = 5.0
    adv_weight: float = 0.01  # gan: adversarial loss weight (L1 weight is 1)
    pretrain_steps: int = 0  # gan: L1-only steps before the adversarial phase (0 when init_from is set)
    disc_lr: float = 2e-4
    disc_width: int = 32
    disc_layers: int = 3
    # gan: steps (after pretrain_steps) in which only the discriminator learns, against the generator as it
    # is (NoGAN's critic pre-training): the generator never follows an untrained critic's gradient
    disc_warmup_steps: int = 0
    # gan: the discriminator judges the (L, ab) pair average-pooled by this factor: the colour of regions,
    # not pixel texture, so that a few saturated pixels cannot buy realism
    disc_pool: int = 1
    # pretrained-encoder models (model_kwargs.encoder = efficientnet-lite0|1|2)
    class_weight: float = 0.01  # weight of the bin cross-entropy beside the regression loss
    regression_weight: float = 1.0  # weight of the regression loss (0 for a pure classifier)
    encoder_lr_scale: float = 0.1  # the encoder's learning rate is lr times this
    freeze_blocks: int = 0  # freeze the encoder's stem and its first N blocks
    train_only: list[str] = field(default_factory=list)  # train only these child modules (rest frozen, eval)
    hint_free_prob: float = 0.5  # share of training images with no point hints (beside the geometric zero)
    # what an image without point hints learns: "truth", or "init" (the init_from model's own prediction for
    # it, with the same global hints: a hint fine-tune of shipped weights keeps their automatic colorization)
    hint_free_target: str = "truth"
    hint_geometric_p: float = 0.125  # number of point hints ~ Geometric(p) on {0, 1, ...}
    histogram_hint_prob: float = 0.2  # share of images whose colour histogram is given as a global hint
    chroma_hint_prob: float = 0.2  # share of images whose mean chroma is given as a global hint
    flat_prob: float = 0.03  # share of training images replaced by texture-less grey ramps (target: neutral)
    # a perceptual loss beside the regression: distance in a frozen ImageNet network's features
    # (train/feature_loss.py); Lite1 by default, so evaluate's Lite0 metrics are not what was optimised
    perceptual_weight: float = 0.0
    perceptual_net: str = "efficientnet-lite1"
    # running
    device: str = "auto"
    threads: int = 0  # torch threads; 0 = the cores left after the data workers
    log_every: int = 10
    val_every: int = 250
    ckpt_every: int = 250
    sample_every: int = 250
    num_samples: int = 8
    best_metric: str = "val_l1"  # val_l1 (lower is better) | val_psnr (higher is better)
    # also keep the weights of every validation step (step000150.safetensors, ...): to choose afterwards on
    # what the loop's check does not measure (colourfulness, blotches, Frechet distance)
    keep_val_weights: bool = False
    progress: bool = True

    def resolve_path(self, path: str) -> str:
        return os.path.join(default_data_root(), path[5:]) if path.startswith("data:") else path

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_EXPONENT_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")
_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
_CHOICES = {
    "hint_free_target": ("truth", "init"),
    "perceptual_net": tuple(VARIANTS),
}


def _check_type(name: str, value: Any, annotation: Any) -> Any:
    hint = typing.get_type_hints(TrainConfig)[name] if annotation is None else annotation
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        origin = typing.get_origin(hint)
    if hint is float and isinstance(value, str):  # YAML 1.1 reads "3e-4" (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is bool and isinstance(value, bool):
        return value
    if hint is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if origin is list:
        if isinstance(value, (str, Path)):
            value = [value]
        if isinstance(value, list):
            return [str(v) for v in value]
    if origin is dict and isinstance(value, dict):
        return dict(value)
    raise ConfigError(f"config key {name!r} wants {getattr(hint, '__name__', hint)}, got {value!r}")


def _unknown(name: str) -> ConfigError:
    close = difflib.get_close_matches(name, list(_FIELDS), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return ConfigError(f"unknown config key {name!r}{hint}")


def make_config(values: dict[str, Any]) -> TrainConfig:
    """Build a config from a dict (YAML preset, checkpoint), checking every key and type."""
    config = TrainConfig()
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in _FIELDS:
            raise _unknown(key)
        setattr(config, name, _check_type(name, value, None))
    for name, choices in _CHOICES.items():
        if getattr(config, name) not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}. Got {getattr(config, name)!r}")
    return config


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """`["--lr", "3e-4", "--ema", "--model-kwargs.depth=4"]`
    -> {"lr": 3e-4, "ema": True, "model_kwargs.depth": 4}."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise ConfigError(f"expected --key value, got {arg!r}")
        key, eq, raw = arg[2:].partition("=")
        if not eq:
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                raw = args[i + 1]
                i += 1
            else:
                raw = "true"
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        if isinstance(value, str) and _EXPONENT_FLOAT.match(value):
            value = float(value)  # "3e-4": YAML 1.1 wants a dot in a float
        out[key.replace("-", "_")] = value
        i += 1
    return out


def apply_overrides(values: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    values["model_kwargs"] = dict(values.get("model_kwargs") or {})
    for key, value in overrides.items():
        if key.startswith("model_kwargs."):
            values["model_kwargs"][key.split(".", 1)[1]] = value
        elif key in _FIELDS:
            values[key] = value
        else:
            raise _unknown(key)
    return values


def read_preset(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys")
    return {k.replace("-", "_"): v for k, v in values.items()}


def load_config(path: str | Path | None, overrides: list[str] | dict[str, Any] | None = None) -> TrainConfig:
    """A preset (or the defaults when `path` is None) with overrides applied, type-checked."""
    values = read_preset(path) if path else {}
    if isinstance(overrides, list):
        overrides = parse_overrides(overrides)
    values = apply_overrides(values, overrides or {})
    try:
        return make_config(values)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}" if path else str(e)) from None


def save_config(config: TrainConfig, path: str | Path) -> None:
    """Write the config as YAML, atomically."""
    from deepcolor.io.atomic import atomic_write_bytes

    text = yaml.safe_dump(config.to_dict(), sort_keys=False)
    atomic_write_bytes(Path(path), text.encode())
