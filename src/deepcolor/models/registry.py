"""The model registry: families register a factory by name; everything else builds models by name.

    model = create_model("autoencoder", base_width=24)
    model = create_model("autoencoder-lite0")  # the shipped default's architecture, a registered variant
    list_models()  # ["autoencoder", "autoencoder-lite0", "cnn", "gan"]
    model_task("autoencoder-lite0")  # "joint": what a training step means for it

As in timm, the family is code and a variant is a name: `register_variant` names a family built with fixed
kwargs (a small factory per variant), so the tests over `list_models()` build exactly what ships. The
registry decides the training task (`model_task`), from the name and the kwargs a model is built with.

Model kwargs fully rebuild a model, so a checkpoint stores `model_name` + `model_kwargs` + the state dict.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

# A task, or a rule that picks it from the kwargs a model is built with.
TaskRule = str | Callable[[Mapping[str, Any]], str]

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
_DESCRIPTIONS: dict[str, str] = {}
_TASKS: dict[str, TaskRule] = {}
_VARIANT_KWARGS: dict[str, dict[str, Any]] = {}  # a variant's kwargs, under the ones create_model is given

# What a training step means for a model (see deepcolor.train.tasks): regress ab, classify over ab bins, the
# adversarial recipe (regression pre-training, then a discriminator); a pretrained-encoder model trains both
# of its heads at once on images with simulated hints ("joint"), with a discriminator too in the GAN family.
TASKS = ("regression", "classification", "adversarial", "joint", "joint-adversarial")
ADVERSARIAL_TASKS = ("adversarial", "joint-adversarial")


def by_encoder(scratch: str, pretrained: str) -> Callable[[Mapping[str, Any]], str]:
    """A task rule for a family whose `encoder` kwarg picks the network: `scratch` for "unet" (the default,
    the from-scratch U-Net), `pretrained` for an EfficientNet-Lite encoder."""
    for task in (scratch, pretrained):
        _check_task(task)

    def rule(kwargs: Mapping[str, Any]) -> str:
        return scratch if kwargs.get("encoder", "unet") == "unet" else pretrained

    return rule


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}. Got {task!r}")


def register_model(
    name: str, description: str = "", task: TaskRule = "regression"
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register a factory (a class or a function returning an nn.Module) under `name`.

    `task` is the training task (one of `TASKS`), or a rule that picks it from the model's kwargs (see
    `by_encoder`). The optional inputs a model takes beside L are declared on the built model
    (`model.conditions`, see `deepcolor.models.conditions`), since they can depend on its kwargs.
    """
    if isinstance(task, str):
        _check_task(task)

    def wrap(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = factory
        _DESCRIPTIONS[name] = description or (factory.__doc__ or "").strip().splitlines()[0]
        _TASKS[name] = task
        return factory

    return wrap


def register_variant(name: str, family: str, kwargs: Mapping[str, Any], description: str) -> None:
    """Register `name` as the registered `family` built with `kwargs` (timm style: a variant is a name).

    `create_model(name, **overrides)` builds `family` with `{**kwargs, **overrides}`; its task is the
    family's for those kwargs. A checkpoint of a variant records the variant's name and its full kwargs.
    """
    _check_name(family)
    defaults = dict(kwargs)

    def variant(**overrides: Any) -> nn.Module:
        return _REGISTRY[family](**{**defaults, **overrides})

    variant.__doc__ = description
    register_model(name, description, lambda given: model_task(family, {**defaults, **given}))(variant)
    _VARIANT_KWARGS[name] = defaults


def variant_kwargs(name: str) -> dict[str, Any] | None:
    """The kwargs a registered variant fixes (a copy), or None for a family."""
    _check_name(name)
    return dict(_VARIANT_KWARGS[name]) if name in _VARIANT_KWARGS else None


def model_task(name: str, kwargs: Mapping[str, Any] | None = None) -> str:
    """The training task of a registered model built with `kwargs` (None: its defaults); one of `TASKS`.

    Raises:
        ValueError: `name` is not registered, or its rule gave no known task.
    """
    _check_name(name)
    rule = _TASKS[name]
    task = rule if isinstance(rule, str) else rule(dict(kwargs or {}))
    _check_task(task)
    return task


def list_models() -> list[str]:
    """Names of the registered models (families and variants), sorted."""
    return sorted(_REGISTRY)


def describe_model(name: str) -> str:
    """One-line description of a registered model."""
    _check_name(name)
    return _DESCRIPTIONS[name]


def _check_name(name: str) -> None:
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(list_models())}")


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered model by name.

    Args:
        name: a family from `list_models()`.
        **kwargs: the family's constructor arguments (width, depth, ...); unknown ones raise TypeError.

    Returns:
        An `nn.Module` that takes `l_norm (B, 1, H, W)` and has `predict_ab(l_norm) -> ab_norm (B, 2, H, W)`.

    Raises:
        ValueError: `name` is not registered (the message lists the known names).
    """
    _check_name(name)
    model = _REGISTRY[name](**kwargs)
    model.model_name = name
    model.model_kwargs = _full_kwargs(model, {**_VARIANT_KWARGS.get(name, {}), **kwargs})
    return model


def _full_kwargs(model: nn.Module, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The given kwargs plus the constructor's defaults, so that a checkpoint does not depend on them.

    A model that records its own constructor arguments (`init_kwargs`, e.g. one a family factory built
    with family-specific defaults) is taken at its word. `encoder` picks the class inside a factory and is
    kept as given.
    """
    if isinstance(getattr(model, "init_kwargs", None), dict):
        return {**kwargs, **model.init_kwargs}
    own = {k: v for k, v in kwargs.items() if k != "encoder"}
    try:
        bound = inspect.signature(type(model)).bind(**own)
    except TypeError:
        return dict(kwargs)
    bound.apply_defaults()
    full = {k: v for k, v in bound.arguments.items() if k not in ("self", "args", "kwargs")}
    return {**({"encoder": kwargs["encoder"]} if "encoder" in kwargs else {}), **full}


def count_parameters(model: nn.Module) -> int:
    """Number of trainable and frozen parameters (buffers excluded)."""
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, size: int = 256) -> int:
    """FLOPs (2 x multiply-accumulates) of `predict_ab` on one (1, 1, size, size) input, counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    x = torch.zeros(1, 1, size, size)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.predict_ab(x)
    model.train(was_training)
    return int(counter.get_total_flops())
