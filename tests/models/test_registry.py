"""Every registered model, the day it is registered: shapes, gradients, no NaN, output ranges."""

import pytest
import torch

from deepcolor.models import count_flops, count_parameters, create_model, list_models

TINY = {"base_width": 4, "depth": 2}


def test_known_families():
    assert list_models() == ["autoencoder", "cnn", "gan"]


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown model 'resnet'; known models: autoencoder, cnn, gan"):
        create_model("resnet")


def test_unknown_kwarg_is_a_type_error():
    with pytest.raises(TypeError):
        create_model("autoencoder", widht=3)


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("size", [(16, 16), (20, 28)])  # the second is not a multiple of the total stride
def test_forward_backward_shapes_and_ranges(name, size):
    torch.manual_seed(0)
    model = create_model(name, **TINY)
    l_norm = torch.rand(2, 1, *size) - 0.5
    out = model(l_norm)
    assert torch.isfinite(out).all()
    out.float().pow(2).mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    model.eval()
    with torch.no_grad():
        ab = model.predict_ab(l_norm)
    assert ab.shape == (2, 2, *size)
    assert torch.isfinite(ab).all() and ab.abs().max() <= 1.0  # ab_norm: a*b* within +-110


@pytest.mark.parametrize("name", list_models())
def test_model_kwargs_rebuild_the_model(name):
    model = create_model(name, **TINY)
    again = create_model(name, **model.model_kwargs)
    assert model.model_kwargs == again.model_kwargs
    assert set(model.model_kwargs) >= {"base_width", "depth"}  # defaults included
    again.load_state_dict(model.state_dict())  # same structure


@pytest.mark.parametrize("name", list_models())
def test_default_models_fit_the_inference_budget(name):
    # the shipped default must run fast on a 2-core CPU: <= ~1 GFLOP-class at 256 px, <= 5 M parameters
    model = create_model(name)
    assert count_parameters(model) <= 5_000_000
    assert count_flops(model, 256) <= 1.3e9


def test_width_and_depth_are_configurable():
    small = count_parameters(create_model("autoencoder", base_width=8, depth=2))
    wide = count_parameters(create_model("autoencoder", base_width=16, depth=2))
    deep = count_parameters(create_model("autoencoder", base_width=8, depth=3))
    assert small < wide and small < deep
