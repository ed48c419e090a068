import pytest

from deepcolor.train.config import ConfigError, TrainConfig, load_config, parse_overrides


def test_overrides_parse_as_yaml():
    assert parse_overrides(
        ["--lr", "3e-4", "--ema", "--batch-size=8", "--model-kwargs.base-width", "24"]
    ) == {"lr": 3e-4, "ema": True, "batch_size": 8, "model_kwargs.base_width": 24}


def test_preset_plus_overrides(tmp_path):
    preset = tmp_path / "p.yaml"
    preset.write_text("model: cnn\nmodel_kwargs: {base_width: 8, depth: 3}\nlr: 0.001\nmax-steps: 50\n")
    config = load_config(preset, ["--lr", "2e-4", "--model-kwargs.depth", "4", "--train-data", "a.tar"])
    assert isinstance(config, TrainConfig)
    assert (config.model, config.lr, config.max_steps) == ("cnn", 2e-4, 50)
    assert config.model_kwargs == {"base_width": 8, "depth": 4}
    assert config.train_data == ["a.tar"]  # a single value becomes a list


def test_ints_are_accepted_for_floats():
    assert load_config(None, ["--lr", "1"]).lr == 1.0


@pytest.mark.parametrize(
    "args,match",
    [
        (["--lrr", "1"], "unknown config key 'lrr' \\(did you mean lr"),
        (["--max-steps", "many"], "max_steps' wants int, got 'many'"),
        (["--ema", "3"], "ema' wants bool"),
        (["lr", "3"], "expected --key value"),
    ],
)
def test_bad_overrides_are_one_line_errors(args, match):
    with pytest.raises(ConfigError, match=match) as info:
        load_config(None, args)
    assert "\n" not in str(info.value)


def test_bad_presets(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)


def test_repository_presets_load():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "configs"
    for name in ("autoencoder", "cnn", "gan"):
        config = load_config(root / f"{name}.yaml")
        assert config.model == name
