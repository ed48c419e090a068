import json

from click.testing import CliRunner

from deepcolor.cli.main import cli


def test_models_lists_families_with_parameters_and_flops():
    result = CliRunner().invoke(cli, ["models", "--size", "64", "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    names = [f["name"] for f in listing["families"]]
    assert names == ["autoencoder", "cnn", "gan"]
    for family in listing["families"]:
        assert 0 < family["parameters"] < 5_000_000
        assert 0 < family["gflops"] < 1.0  # at 64 px: about 1/16 of the 256 px figure
    table = CliRunner().invoke(cli, ["models", "--size", "64"])
    assert table.exit_code == 0 and "GFLOPs@64" in table.output and "cnn" in table.output
