"""Fixtures for the inference tests: a fresh model cache per test, a tiny random-weight registered model and
its safetensors + json files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from deepcolor.inference import weights as weights_module

from .helpers import TINY_KWARGS


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test loads its own files: no model cached by an earlier test."""
    weights_module.clear_cache()
    yield
    weights_module.clear_cache()


@pytest.fixture
def tiny_model() -> nn.Module:
    from deepcolor.models import create_model

    torch.manual_seed(0)
    return create_model("autoencoder", **TINY_KWARGS).eval()


@pytest.fixture
def tiny_weights(tmp_path: Path, tiny_model: nn.Module) -> Path:
    """tmp_path/tiny.safetensors + tiny.json of `tiny_model`."""
    from deepcolor.models import save_weights

    return save_weights(tiny_model, tmp_path / "tiny.safetensors", {"render_size": 64})
