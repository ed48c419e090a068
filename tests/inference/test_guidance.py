"""Colour hints, a reference photo, suggested colours and the uncertainty map, through the inference path."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from deepcolor.hints.points import HintError, hint_map, parse_hints, read_hint_file
from deepcolor.inference.guidance import (
    guidance_conditions,
    suggest_at,
    uncertainty_image,
    uncertainty_map,
)
from deepcolor.inference.pipeline import Colorizer, lightness
from deepcolor.models import create_model
from deepcolor.models.conditions import resize_sparse
from deepcolor.normalization import AB_SCALE

SMALL = {"decoder_widths": [16, 12, 8, 8], "refine_width": 8}


@pytest.fixture(scope="module")
def colorizer():
    torch.manual_seed(0)
    return Colorizer(create_model("autoencoder", encoder="efficientnet-lite0", **SMALL), device="cpu")


def test_hint_lands_at_its_place_on_a_non_square_render_size_map():
    points = parse_hints([(150, 40, "#ff0000"), (10, 110, "#0000ff")])
    full = torch.from_numpy(hint_map(points, 120, 200))[None]  # H = 120, W = 200
    assert full[0, 2, 40, 150] == 1 and full[0, 2, 110, 10] == 1
    assert full[0, 0, 40, 150] > 0.5  # red: a* strongly positive
    assert full[0, 1, 110, 10] < -0.5  # blue: b* strongly negative
    low = resize_sparse(full, (48, 80))  # the render size keeps the aspect
    ys, xs = torch.nonzero(low[0, 2], as_tuple=True)
    centres = sorted(zip(ys.tolist(), xs.tolist(), strict=True))
    assert any(abs(y - 40 * 48 / 120) <= 1.5 and abs(x - 150 * 80 / 200) <= 1.5 for y, x in centres)
    assert any(abs(y - 110 * 48 / 120) <= 1.5 and abs(x - 10 * 80 / 200) <= 1.5 for y, x in centres)


def test_hint_coordinates_are_those_of_the_displayed_image_after_exif_rotation(tmp_path):
    from deepcolor.io import read_image

    # displayed image: 60 wide, 40 high, a white square at x 45..49, y 5..9; stored rotated with tag 6
    shown = np.zeros((40, 60, 3), np.uint8)
    shown[5:10, 45:50] = 255
    stored = Image.fromarray(np.rot90(shown, k=1).copy())  # tag 6 = the viewer rotates 90 clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.png"
    stored.save(path, exif=exif)
    loaded = read_image(path)
    assert loaded.rgb.shape[:2] == (40, 60)
    points = parse_hints([{"x": 47, "y": 7, "color": "#00ff00"}])
    mask = hint_map(points, *loaded.rgb.shape[:2])[2] > 0
    assert loaded.rgb[mask].min() > 0.9  # the hint sits on the white square as displayed


def test_the_lightness_never_comes_from_the_hint():
    dark, light = parse_hints([(5, 5, "#400000"), (5, 5, "#ff8080")])
    a = hint_map([dark], 10, 10)[:2, 5, 5] * AB_SCALE
    b = hint_map([light], 10, 10)[:2, 5, 5] * AB_SCALE
    assert a.shape == (2,) and b.shape == (2,)  # only a*, b*: two channels carry colour, one the mask


@pytest.mark.parametrize(
    ("hints", "match"),
    [
        ([(500, 5, "#ff0000")], "outside the image"),
        ([(5, 5, "#ff00")], "#rgb or #rrggbb"),
        ([(5, 5, "notacolour")], "does not parse"),
        ([{"x": 5, "y": 5}], "lacks color"),
        ({"dots": []}, "unknown key 'dots'"),
        ([{"x": 5, "y": 5, "color": "red", "radius": -2}], "radius"),
    ],
)
def test_bad_hints_raise_one_line_naming_the_source(hints, match):
    with pytest.raises(HintError, match=match) as info:
        points = parse_hints(hints, "hints.json")
        hint_map(points, 20, 30, "hints.json")
    assert str(info.value).startswith("hints.json: ") and "\n" not in str(info.value)


def test_hint_file_errors(tmp_path):
    with pytest.raises(HintError, match="no such hint file"):
        read_hint_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"points": [ {"x": 1, ')
    with pytest.raises(HintError, match=r"bad.json: malformed JSON \(line 1"):
        read_hint_file(bad)
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            {"points": [{"x": 3, "y": 4, "color": "#1f4fa0", "radius": 2}, {"x": 1, "y": 1, "color": "navy"}]}
        )
    )
    points = read_hint_file(good)
    assert [p.hex for p in points] == ["#1f4fa0", "#000080"] and points[0].radius == 2


def test_conditions_reach_the_model(colorizer):
    rgb = np.random.default_rng(0).random((48, 64, 3)).astype(np.float32)
    conditions = guidance_conditions(colorizer, 48, 64, hints=[(10, 20, "#ff0000")], reference=rgb)
    assert conditions["hints"].shape == (1, 3, 48, 64)
    assert conditions["global_hints"].shape == (1, colorizer.conditions[1].channels)
    assert guidance_conditions(colorizer, 48, 64) == {}
    out = colorizer.colorize_array(rgb, conditions=conditions)
    assert out.shape == (48, 64, 3) and np.isfinite(out).all()


def test_guidance_for_a_model_without_hints_is_refused():
    plain = Colorizer(create_model("autoencoder", base_width=4, depth=2), device="cpu")
    with pytest.raises(HintError, match="takes no colour hints"):
        guidance_conditions(plain, 10, 10, hints=[(1, 1, "red")])


def test_suggest_colors_gives_k_distinct_colours_with_probabilities_summing_to_at_most_one(colorizer):
    rgb = np.random.default_rng(1).random((40, 56, 3)).astype(np.float32)
    l = lightness(rgb)
    suggestions = suggest_at(colorizer, l, 20, 10, k=5)
    assert len(suggestions) == 5
    hexes = [h for h, _ in suggestions]
    assert len(set(hexes)) == 5 and all(len(h) == 7 and h.startswith("#") for h in hexes)
    probs = [p for _, p in suggestions]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    with pytest.raises(ValueError, match="outside the image"):
        suggest_at(colorizer, l, 56, 10)


def test_uncertainty_map_size_and_range(colorizer):
    rgb = np.random.default_rng(2).random((37, 53, 3)).astype(np.float32)
    u = uncertainty_map(colorizer, lightness(rgb))
    assert u.shape == (37, 53) and u.dtype == np.float32
    assert 0 <= u.min() and u.max() <= 1
    picture = uncertainty_image(np.linspace(0, 1, 300 * 400, dtype=np.float32).reshape(300, 400))
    assert picture.shape == (300, 400, 3) and picture.dtype == np.uint8
    assert (picture[-20:, :40] == 255).any()  # the legend's white box in the bottom-left corner


@pytest.mark.slow
def test_a_model_trained_a_few_steps_with_hints_follows_a_hint():
    from deepcolor.train.config import TrainConfig
    from deepcolor.train.tasks import EncoderTask

    torch.manual_seed(0)
    model = create_model("autoencoder", encoder="efficientnet-lite0", **SMALL)
    config = TrainConfig(
        lr=3e-3, warmup_steps=0, max_steps=100, schedule="constant", flat_prob=0.0, hint_free_prob=0.0,
        hint_geometric_p=0.3, class_weight=0.0,
    )  # fmt: skip
    task = EncoderTask(model, model, config, torch.device("cpu"))
    for i in range(100):  # every image one random flat colour: only a hint can tell which
        l_norm = torch.rand(8, 1, 32, 32) * 0.6 - 0.3
        ab_norm = (torch.rand(8, 2, 1, 1) - 0.5).expand(8, 2, 32, 32).contiguous()
        task.step(l_norm, ab_norm, i)
    model.eval()
    l_norm = torch.rand(1, 1, 32, 32) * 0.6 - 0.3
    target = torch.tensor([0.4, -0.3])
    hints = torch.zeros(1, 3, 32, 32)
    hints[0, :2, 14:17, 14:17] = target[:, None, None]
    hints[0, 2, 14:17, 14:17] = 1.0
    with torch.no_grad():
        free = model.predict_ab(l_norm)[0, :, 15, 15]
        guided = model.predict_ab(l_norm, hints=hints)[0, :, 15, 15]
    assert (guided - target).norm() < 0.5 * (free - target).norm()


def test_the_api_takes_hints_a_reference_and_returns_the_uncertainty(colorizer, tmp_path):
    import deepcolor

    grey = (np.random.default_rng(3).random((40, 60)) * 255).astype(np.uint8)
    plain = deepcolor.colorize(grey, model=colorizer)
    hinted = deepcolor.colorize(grey, model=colorizer, hints=[(30, 20, "#ff0000")])
    assert plain.shape == hinted.shape == (40, 60, 3)
    reference = np.random.default_rng(4).random((32, 32, 3)).astype(np.float32)
    out, unsure = deepcolor.colorize(grey, model=colorizer, reference=reference, uncertainty=True)
    assert out.shape == (40, 60, 3) and unsure.shape == (40, 60) and 0 <= unsure.min() <= unsure.max() <= 1
    path = tmp_path / "grey.png"
    Image.fromarray(grey).save(path)
    written, map_path = deepcolor.colorize(
        path, model=colorizer, output=tmp_path / "out.png", uncertainty=True
    )
    assert written == tmp_path / "out.png" and map_path == tmp_path / "out.uncertainty.png"
    assert Image.open(map_path).size == (60, 40)
    with pytest.raises(HintError, match="outside the image"):
        deepcolor.colorize(grey, model=colorizer, hints=[(60, 20, "#ff0000")])
    suggestions = deepcolor.suggest_colors(grey, 10, 10, k=4, model=colorizer)
    assert len({h for h, _ in suggestions}) == 4
