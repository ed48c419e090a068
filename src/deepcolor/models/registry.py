"""The model registry: families register a factory by name; everything else builds models by name.

    model = create_model("autoencoder", base_width=24)
    list_models()  # ["autoencoder", "cnn", "gan"]

Model kwargs fully rebuild a model, so a checkpoint stores `model_name` + `model_kwargs` + the state dict.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
_DESCRIPTIONS: dict[str, str] = {}
_TASKS: dict[str, str] = {}

# What a training step means for a family (see deepcolor.train.tasks): regress ab, classify over ab bins,
# or the adversarial recipe (regression pre-training, then a discriminator).
TASKS = ("regression", "classification", "adversarial")


def register_model(
    name: str, description: str = "", task: str = "regression"
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register a factory (a class or a function returning an nn.Module) under `name`.

    `task` is the family's training task (one of `TASKS`). The optional inputs a model takes beside L are
    declared on the built model (`model.conditions`, see `deepcolor.models.conditions`), since they can
    depend on its kwargs.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}. Got {task!r}")

    def wrap(factory: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = factory
        _DESCRIPTIONS[name] = description or (factory.__doc__ or "").strip().splitlines()[0]
        _TASKS[name] = task
        return factory

    return wrap


def model_task(name: str) -> str:
    """The training task of a registered family: "regression", "classification" or "adversarial"."""
    _check_name(name)
    return _TASKS[name]


def list_models() -> list[str]:
    """Names of the registered model families, sorted."""
    return sorted(_REGISTRY)


def describe_model(name: str) -> str:
    """One-line description of a registered family."""
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
    model.model_kwargs = _full_kwargs(model, kwargs)
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
