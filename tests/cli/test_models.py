import json

from click.testing import CliRunner

from deepcolor.cli.main import cli
from deepcolor.models import list_models


def test_models_lists_families_with_parameters_and_flops():
    result = CliRunner().invoke(cli, ["models", "--size", "64", "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    names = sorted({f["name"] for f in listing["families"]})
    assert names == list_models() and "autoencoder-lite0" in names  # families and variants
    encoders = {f["encoder"] for f in listing["families"]}
    assert encoders == {"unet", "efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"}
    for family in listing["families"]:
        assert 0 < family["parameters"] < 8_000_000
        assert 0 < family["gflops"] < 1.0  # at 64 px: about 1/16 of the 256 px figure
        pretrained = family["encoder"] != "unet"
        assert ("hints" in family["inputs"]) == pretrained
        assert family["task"].startswith("joint") == pretrained  # the registry's task for those kwargs
    by_variant = {(f["name"], f["encoder"]): f["parameters"] for f in listing["families"]}
    assert by_variant["autoencoder", "efficientnet-lite2"] > by_variant["autoencoder", "efficientnet-lite0"]
    table = CliRunner().invoke(cli, ["models", "--size", "64"])
    assert table.exit_code == 0 and "GFLOPs@64" in table.output and "efficientnet-lite1" in table.output
    assert "autoencoder-lite0 [default] (autoencoder)" in table.output.splitlines()[-1]  # the weights ship
