import json

import pytest
import torch

from deepcolor.models import create_model, load_model, save_weights
from deepcolor.train.checkpoint import save_checkpoint


@pytest.mark.parametrize("name", ["autoencoder", "cnn"])
def test_safetensors_round_trip(tmp_path, name):
    torch.manual_seed(1)
    model = create_model(name, base_width=4, depth=2)
    if name == "cnn":
        model.set_prior(torch.rand(model.num_bins))
        model.temperature = 0.2
    path = save_weights(model, tmp_path / "w.safetensors", {"val_l1": 9.5})
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["model_name"] == name and meta["val_l1"] == 9.5
    loaded = load_model(path)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    if name == "cnn":
        assert loaded.temperature == 0.2
    x = torch.rand(1, 1, 16, 16) - 0.5
    torch.testing.assert_close(loaded.predict_ab(x), model.eval().predict_ab(x))


def test_checkpoint_prefers_ema(tmp_path):
    model = create_model("autoencoder", base_width=4, depth=2)
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in model.state_dict().items()}
    save_checkpoint(
        {
            "model_name": "autoencoder",
            "model_kwargs": model.model_kwargs,
            "model": model.state_dict(),
            "ema": ema,
        },
        tmp_path / "c.pt",
    )
    key = "net.head.bias"
    assert torch.equal(load_model(tmp_path / "c.pt").state_dict()[key], ema[key])
    assert torch.equal(load_model(tmp_path / "c.pt", ema=False).state_dict()[key], model.state_dict()[key])


def test_bad_files_give_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="no such checkpoint"):
        load_model(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_model(tmp_path / "junk.pt")
    (tmp_path / "lonely.safetensors").write_bytes(b"x")
    with pytest.raises(ValueError, match="lonely.json"):
        load_model(tmp_path / "lonely.safetensors")
