"""Models that take conditions beside L: the predictors pad and feed them, the Colorizer resizes them from the
full resolution without losing a hint, ONNX exports one input per condition, weights record them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from deepcolor.inference import Colorizer, load_predictor
from deepcolor.inference.predictor import SIZE_MULTIPLE
from deepcolor.models.conditions import ConditionSpec

from .helpers import ConstantAb


class Hinted(nn.Module):
    """A tiny model with a sparse `hints` map (ab_norm + mask) and a `global_hints` vector: the hinted ab
    where the mask is 1, a convolution of L elsewhere, plus a term from the vector (0 for a zero vector)."""

    conditions = (
        ConditionSpec("hints", "sparse", 3, "ab_norm of hinted pixels + 0/1 mask"),
        ConditionSpec("global_hints", "vector", 4, "a global colour vector"),
    )

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(4, 2, 3, padding=1)
        self.vector = nn.Linear(4, 2, bias=False)  # zeros ("not given") add nothing
        self.model_name, self.model_kwargs = "hinted", {}

    def predict_ab(self, l_norm, hints=None, global_hints=None):
        b, _, h, w = l_norm.shape
        hints = l_norm.new_zeros(b, 3, h, w) if hints is None else hints
        ab = 0.5 * torch.tanh(self.conv(torch.cat([l_norm, hints], dim=1)))
        mask = hints[:, 2:]
        ab = ab * (1 - mask) + hints[:, :2] * mask
        if global_hints is not None:
            ab = ab + 0.1 * torch.tanh(self.vector(global_hints))[:, :, None, None]
        return ab


class Spy(nn.Module):
    """Records what `predict_ab` receives; predicts ab = 0."""

    conditions = Hinted.conditions

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, torch.Tensor]] = []

    def predict_ab(self, l_norm, **conditions):
        self.calls.append({"l_norm": l_norm.clone(), **{k: v.clone() for k, v in conditions.items()}})
        return torch.zeros(l_norm.shape[0], 2, *l_norm.shape[-2:])


def _hint_map(
    batch: int, height: int, width: int, points: list[tuple[int, int, float, float]]
) -> torch.Tensor:
    hints = torch.zeros(batch, 3, height, width)
    for y, x, a, b in points:
        hints[:, :, y, x] = torch.tensor([a, b, 1.0])
    return hints


def test_sparse_maps_are_padded_with_zeros_and_vectors_left_alone():
    spy = Spy()
    l_norm = torch.rand(1, 1, 45, 70) - 0.5
    hints = _hint_map(1, 45, 70, [(44, 69, 0.3, -0.2)])  # in the last row and column
    vector = torch.rand(1, 4)
    out = load_predictor(spy)(l_norm, hints=hints, global_hints=vector)
    assert out.shape == (1, 2, 45, 70)
    seen = spy.calls[-1]
    assert seen["l_norm"].shape == seen["hints"].shape[:1] + (1, 64, 96)
    assert (seen["l_norm"][..., 45:, :70] == l_norm[..., 44:45, :]).all()  # L: replicated
    assert seen["hints"][..., :45, :70].equal(hints)
    assert (seen["hints"][..., 45:, :] == 0).all() and (seen["hints"][..., :, 70:] == 0).all()  # zeros
    assert seen["global_hints"].equal(vector)


def test_missing_conditions_are_zeros():
    spy = Spy()
    load_predictor(spy)(torch.zeros(2, 1, 32, 32))
    seen = spy.calls[-1]
    assert seen["hints"].shape == (2, 3, 32, 32) and not seen["hints"].any()
    assert seen["global_hints"].shape == (2, 4) and not seen["global_hints"].any()


def test_model_without_conditions_is_called_with_l_only():
    calls = []

    class LOnly(ConstantAb):
        def predict_ab(self, l_norm):  # no **conditions: any keyword would be a TypeError
            calls.append(l_norm.shape)
            return super().predict_ab(l_norm)

    predictor = load_predictor(LOnly())
    assert predictor.conditions == ()
    predictor(torch.zeros(1, 1, 20, 20))
    assert calls == [(1, 1, SIZE_MULTIPLE, SIZE_MULTIPLE)]
    with pytest.raises(ValueError, match="takes no condition 'hints' \\(conditions it takes: none\\)"):
        predictor(torch.zeros(1, 1, 20, 20), hints=torch.zeros(1, 3, 20, 20))


def test_wrong_conditions_are_one_line_errors():
    predictor = load_predictor(Hinted())
    l_norm = torch.zeros(1, 1, 32, 32)
    with pytest.raises(
        ValueError, match="takes no condition 'hint' \\(conditions it takes: hints, global_hints"
    ):
        predictor(l_norm, hint=torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match=r"'hints' \(sparse\) must have a shape of \(1, 3, 32, 32\)"):
        predictor(l_norm, hints=torch.zeros(1, 3, 16, 16))
    colorizer = Colorizer(Hinted(), device="cpu", render_size=32)
    with pytest.raises(ValueError, match="the size of L"):
        colorizer.predict_ab(
            torch.full((1, 1, 64, 64), 50.0), conditions={"hints": torch.zeros(1, 3, 32, 32)}
        )


def test_colorizer_resizes_full_resolution_hints_without_losing_them():
    spy = Spy()
    colorizer = Colorizer(spy, device="cpu", render_size=40)
    l = torch.full((1, 1, 300, 400), 50.0)
    hints = _hint_map(1, 300, 400, [(7, 11, 0.4, -0.3), (299, 399, -0.2, 0.1)])  # one pixel each
    vector = torch.rand(1, 4)
    ab = colorizer.predict_ab(l, conditions={"hints": hints, "global_hints": vector})
    assert ab.shape == (1, 2, 300, 400)
    seen = spy.calls[-1]
    low = seen["hints"][..., :30, :40]  # render size 30 x 40, then padded to 32 x 64 by the predictor
    assert int(low[0, 2].sum()) == 2  # both one-pixel hints survive the 10x downscale...
    assert torch.allclose(low[0, :2, 0, 1], torch.tensor([0.4, -0.3]))  # ...with their exact values
    assert torch.allclose(low[0, :2, 29, 39], torch.tensor([-0.2, 0.1]))
    assert seen["global_hints"].equal(vector)
    # A bilinear resize would have diluted them to ~1 % of a cell:
    bilinear = torch.nn.functional.interpolate(hints, size=(30, 40), mode="bilinear", antialias=True)
    assert bilinear[0, 2].max() < 0.05


def test_a_hint_shows_in_the_colorized_image():
    colorizer = Colorizer(Hinted(), device="cpu", render_size=48)
    grey = np.full((96, 128), 0.5, dtype=np.float32)
    plain = colorizer.colorize_array(grey)
    hints = torch.zeros(1, 3, 96, 128)
    hints[:, :, 40:56, 56:72] = torch.tensor([0.5, 0.4, 1.0])[:, None, None]  # a red-orange patch
    hinted = colorizer.colorize_array(grey, conditions={"hints": hints})
    assert np.abs(hinted - plain).max() > 0.1
    centre = hinted[48, 64]
    assert centre[0] > centre[2] + 0.1  # red over blue where the hint is


def test_no_conditions_gives_the_same_result_as_before():
    # For a model without conditions, conditions=None and {} take the unchanged path.
    colorizer = Colorizer(ConstantAb(), device="cpu", render_size=32)
    l = torch.rand(1, 1, 50, 70) * 100
    reference = colorizer.predict_ab(l)
    assert torch.equal(colorizer.predict_ab(l, conditions={}), reference)
    assert torch.equal(colorizer.predict_ab(l, conditions=None), reference)


def test_weights_record_their_conditions(tmp_path):
    from deepcolor.models import save_weights

    path = save_weights(Hinted(), tmp_path / "hinted.safetensors")
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["conditions"] == [
        {"name": "hints", "kind": "sparse", "channels": 3},
        {"name": "global_hints", "kind": "vector", "channels": 4},
    ]


@pytest.fixture(scope="module")
def hinted_onnx(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from deepcolor.inference.onnx import export_onnx

    model = Hinted().eval()
    path = tmp_path_factory.mktemp("onnx") / "hinted.onnx"
    export_onnx(model, path, meta={"model_name": "hinted", "model_kwargs": {}})
    return model, path


def test_onnx_export_has_one_named_input_per_condition(hinted_onnx):
    import onnx

    from deepcolor.inference.onnx import compare_onnx

    model, path = hinted_onnx
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["l_norm", "hints", "global_hints"]
    dims = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}
    assert isinstance(dims["hints"][2], str) and isinstance(dims["hints"][3], str)  # dynamic H and W
    assert dims["hints"][1] == 3 and dims["global_hints"][1] == 4
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["deepcolor"])["conditions"][0] == {
        "name": "hints",
        "kind": "sparse",
        "channels": 3,
    }
    assert compare_onnx(model, path, size=(64, 96)) < 1e-3


@pytest.mark.parametrize("size", [(32, 32), (45, 70)])
def test_onnxruntime_feeds_every_condition_zeros_when_not_given(hinted_onnx, size):
    model, path = hinted_onnx
    by_onnx, by_torch = load_predictor(path), load_predictor(model)
    assert [c.name for c in by_onnx.conditions] == ["hints", "global_hints"]
    l_norm = torch.rand(2, 1, *size) - 0.5
    hints = _hint_map(2, *size, [(3, 4, 0.3, 0.2), (size[0] - 1, size[1] - 1, -0.3, 0.1)])
    vector = torch.rand(2, 4)
    for conditions in ({}, {"hints": hints}, {"hints": hints, "global_hints": vector}):
        got, expected = by_onnx(l_norm, **conditions), by_torch(l_norm, **conditions)
        assert got.shape == (2, 2, *size)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    assert by_onnx(l_norm, hints=hints)[0, :, 3, 4].tolist() == pytest.approx([0.3, 0.2], abs=1e-6)
