"""The learnt hint carrier: exactly zero without hints, a correction with them; training only it."""

import pytest
import torch

from deepcolor.models import create_model

SMALL = {"encoder": "efficientnet-lite0", "decoder_widths": [16, 12, 8, 8], "refine_width": 4}


def _model(**kwargs):
    torch.manual_seed(0)
    model = create_model("autoencoder", **SMALL, hint_spread=8, **kwargs).eval()
    torch.nn.init.normal_(model.hint_spreader.out.weight, std=0.5)  # as if trained: far from its zero start
    if model.hint_spreader.attention:  # and the attended inputs read with weights that are not zero
        torch.nn.init.normal_(model.hint_spreader.inp.weight, std=0.5)
    return model


def test_without_hints_the_spreader_changes_nothing_and_with_one_it_does():
    model = _model()
    plain = create_model("autoencoder", **SMALL).eval()
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("hint_spreader")})
    l_norm = torch.rand(2, 1, 64, 96) * 2 - 1
    hints = torch.zeros(2, 3, 64, 96)
    with torch.no_grad():
        assert torch.equal(model.predict_ab(l_norm, hints=hints), plain.predict_ab(l_norm, hints=hints))
        hints[1, :, 20:23, 40:43] = torch.tensor([0.5, 0.2, 1.0])[:, None, None]  # a hint in image 1 only
        with_hint, without = model.predict_ab(l_norm, hints=hints), plain.predict_ab(l_norm, hints=hints)
    assert torch.equal(with_hint[0], without[0])  # the other image of the batch is untouched
    assert (with_hint[1] - without[1]).abs().amax() > 1e-3
    assert with_hint.shape == (2, 2, 64, 96) and with_hint.abs().max() <= 1


def test_freeze_except_trains_only_the_named_module_and_keeps_the_rest_in_eval_mode():
    model = _model()
    model.freeze_except(["hint_spreader"])
    model.train()
    assert model.hint_spreader.training and not model.encoder.training and not model.decoder.training
    trainable = {name.split(".")[0] for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"hint_spreader"}
    with pytest.raises(ValueError, match="no module 'nothing'"):
        model.freeze_except(["nothing"])


def test_the_spreader_needs_hint_inputs():
    with pytest.raises(ValueError, match="hint_inputs"):
        create_model("autoencoder", **SMALL, hint_spread=8, hint_inputs=False)


def _hinted_input():
    torch.manual_seed(1)
    l_norm = torch.rand(2, 1, 64, 96) * 2 - 1
    hints = torch.zeros(2, 3, 64, 96)
    hints[0, :, 10:14, 20:24] = torch.tensor([0.5, -0.2, 1.0])[:, None, None]
    hints[1, :, 40:43, 70:73] = torch.tensor([-0.3, 0.4, 1.0])[:, None, None]
    return l_norm, hints


def test_a_widened_carrier_gives_exactly_what_the_narrow_one_did_and_then_trains_its_new_channels():
    from deepcolor.models.hint_spreader import HintSpreader

    torch.manual_seed(0)
    narrow = HintSpreader(12, 8)
    for p in narrow.parameters():  # as if trained: nothing zero
        torch.nn.init.normal_(p, std=0.2)
    wide = narrow.widened(20)
    assert wide.width == 20 and sum(p.numel() for p in wide.parameters()) > sum(
        p.numel() for p in narrow.parameters()
    )
    shapes = ((2, 12, 16, 24), (2, 3, 16, 24), (2, 2, 16, 24), (2, 1, 16, 24))
    args = tuple(torch.randn(*shape) for shape in shapes)
    with torch.no_grad():
        torch.testing.assert_close(wide(*args), narrow(*args), rtol=0, atol=1e-6)
    wide(*args).pow(2).sum().backward()
    assert wide.out.weight.grad[:, 8:].abs().sum() > 0  # the new channels can learn
    with pytest.raises(ValueError, match="narrow"):
        wide.widened(8)


def _carrier_run_from(model, tmp_path, model_kwargs):
    """The model a carrier-only training run with `model_kwargs` builds from `model` saved as its init_from,
    checked to start at `model`'s output on hinted input; returns it and that input."""
    from deepcolor.models import save_weights
    from deepcolor.train.config import make_config
    from deepcolor.train.loop import _build_model

    path = save_weights(model, tmp_path / "init.safetensors")
    config = make_config(
        {"model": "autoencoder", "init_from": str(path), "model_kwargs": model_kwargs,
         "train_only": ["hint_spreader"]}
    )  # fmt: skip
    grown = _build_model(config).eval()
    l_norm, hints = _hinted_input()
    with torch.no_grad():
        expected = model.predict_ab(l_norm, hints=hints)
        torch.testing.assert_close(grown.predict_ab(l_norm, hints=hints), expected, rtol=0, atol=1e-5)
    return grown, (l_norm, hints)


def test_init_from_a_narrower_carrier_starts_the_wider_model_at_its_output(tmp_path):
    wide, _ = _carrier_run_from(_model(), tmp_path, {"hint_spread": 24})
    assert wide.hint_spreader.width == 24


def test_attention_carries_a_hint_to_the_far_cells_that_look_like_its_own_and_not_to_the_others():
    from deepcolor.models.hint_spreader import attend_hints

    torch.manual_seed(0)
    height, width, channels = 12, 20, 6
    like_a, like_b = torch.randn(channels), torch.randn(channels)
    features = like_b[:, None, None].repeat(1, height, width)[None]
    features[..., :, :4] = like_a[:, None, None]  # a band on the left ...
    features[..., :, -4:] = like_a[:, None, None]  # ... and its twin on the right, 12 cells away
    mask = torch.zeros(1, 1, height, width)
    hint_ab, delta = torch.zeros(1, 2, height, width), torch.zeros(1, 2, height, width)
    for (y, x), colour in (((5, 1), (0.6, -0.4)), ((5, 10), (-0.5, 0.3))):  # one hint on A, one on B
        mask[..., y, x] = 1.0
        hint_ab[0, :, y, x] = delta[0, :, y, x] = torch.tensor(colour)
    l_norm = torch.zeros(1, 1, height, width)
    key = torch.nn.Conv2d(channels + 1, 8, 1)
    heard = attend_hints(features, l_norm, mask, hint_ab, delta, key.weight, key.bias, torch.tensor(4.0))
    assert heard.shape == (1, 5, height, width)
    twin, other = heard[0, :2, 5, 17], heard[0, :2, 2, 12]  # far right on A's twin; a B cell
    torch.testing.assert_close(twin, torch.tensor([0.6, -0.4]), atol=0.02, rtol=0)
    torch.testing.assert_close(other, torch.tensor([-0.5, 0.3]), atol=0.02, rtol=0)
    assert heard[0, 4].amax() <= 1 + 1e-6 and heard[0, 4, 5, 17] > 0.99  # the likeness: a cosine


def test_a_carrier_given_attention_starts_at_its_output_and_learns_its_keys(tmp_path):
    plain = _model()
    torch.nn.init.normal_(plain.hint_spreader.inp.weight, std=0.5)
    with pytest.raises(ValueError, match="already attends"):
        plain.hint_spreader.with_attention(4).with_attention(4)
    heard, (l_norm, hints) = _carrier_run_from(plain, tmp_path, {"hint_attention": 4})
    assert heard.hint_spreader.attention == 4 and heard.hint_spreader.width == 8
    heard.predict_ab(l_norm, hints=hints).pow(2).sum().backward()
    inputs = plain.hint_spreader.inp.in_channels
    assert heard.hint_spreader.inp.weight.grad[:, inputs:].abs().sum() > 0  # it can learn to listen
    with pytest.raises(ValueError, match="hint carrier"):
        create_model("autoencoder", **SMALL, hint_attention=4)


@pytest.mark.parametrize("attention", [0, 4], ids=["plain", "attention"])
def test_the_onnx_export_skips_the_carrier_without_hints_and_runs_it_with_them(tmp_path, attention):
    pytest.importorskip("onnxruntime")
    import onnx

    from deepcolor.inference.onnx import export_onnx, onnx_session

    model = _model(hint_attention=attention)
    path = tmp_path / "carrier.onnx"
    assert export_onnx(model, path) == "torchscript"
    graph = onnx.load(str(path)).graph
    assert [node.op_type for node in graph.node].count("If") == 1  # the "any hint?" branch, kept
    session = onnx_session(path, threads=1)
    l_norm = torch.rand(1, 1, 64, 96) * 2 - 1
    hints = torch.zeros(1, 3, 64, 96)
    global_hints = torch.zeros(1, model.num_bins + 3)
    for with_hint in (False, True):
        if with_hint:
            hints[0, :, 20:23, 40:43] = torch.tensor([0.5, 0.2, 1.0])[:, None, None]
        feeds = {"l_norm": l_norm.numpy(), "hints": hints.numpy(), "global_hints": global_hints.numpy()}
        (got,) = session.run(None, feeds)
        with torch.no_grad():
            expected = model.predict_ab(l_norm, hints=hints, global_hints=global_hints)
        assert abs(got - expected.numpy()).max() < 1e-4, with_hint
