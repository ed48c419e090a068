"""`deepcolor demo`: one sheet per scikit-image sample photo plus index.html, offline, with any model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner
from PIL import Image

from deepcolor.cli import demo


def test_demo_writes_sheets_and_index(tmp_path, monkeypatch):
    from deepcolor.models import create_model, save_weights

    torch.manual_seed(0)
    weights = save_weights(create_model("autoencoder", base_width=4, depth=1), tmp_path / "tiny.safetensors")
    # Two of the photos keep the test fast; the full list is checked below without running the model.
    monkeypatch.setattr(demo, "SAMPLES", (demo.SAMPLES[0], demo.SAMPLES[-1]))
    out = tmp_path / "demo-out"
    result = CliRunner().invoke(
        demo.command, ["-o", str(out), "--model", str(weights), "--tile-size", "96", "--render-size", "64"]
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.png", "camera.png", "index.html"]
    with Image.open(out / "astronaut.png") as sheet:  # original | grey | colorized
        assert sheet.width > 3 * 96 and sheet.height > 96
    with Image.open(out / "camera.png") as sheet:  # grey | colorized
        assert 2 * 96 < sheet.width < 3 * 96
    page = (out / "index.html").read_text()
    assert '<img src="astronaut.png"' in page and '<img src="camera.png"' in page
    assert f"wrote 2 sheets and {out / 'index.html'}" in result.stdout


def test_grey_tile_has_the_photo_lightness():
    from deepcolor.inference import lightness
    from deepcolor.io import read_image

    rgb = read_image(demo.sample_path(demo.SAMPLES[0])).rgb[:64, :64]
    l = lightness(rgb)[0, 0].numpy()
    grey = demo.grey_of(l)
    assert np.allclose(grey[..., 0], grey[..., 2], atol=1e-4)
    np.testing.assert_allclose(lightness(grey)[0, 0].numpy(), l, atol=0.05)


def test_every_sample_photo_is_bundled_with_scikit_image():
    # Bundled files only: the demo must work offline, with nothing fetched by scikit-image's downloader.
    for sample in demo.SAMPLES:
        path = demo.sample_path(sample)
        assert path.is_file(), f"{sample.filename} is not bundled with this scikit-image"
    colour = [s for s in demo.SAMPLES if s.colour]
    assert {"astronaut", "coffee", "chelsea", "rocket"} <= {s.name for s in colour}
    assert [s.name for s in demo.SAMPLES if not s.colour] == ["camera"]


def test_missing_model_is_one_line(tmp_path):
    result = CliRunner().invoke(demo.command, ["-o", str(tmp_path / "d"), "--model", str(tmp_path / "x.pt")])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"deepcolor: {tmp_path / 'x.pt'}: no such model file"
    assert not Path(tmp_path / "d").exists()


def test_a_second_demo_needs_overwrite_and_never_mixes_two_models(tmp_path, monkeypatch):
    from deepcolor.models import create_model, save_weights

    torch.manual_seed(0)
    weights = save_weights(create_model("autoencoder", base_width=4, depth=1), tmp_path / "tiny.safetensors")
    monkeypatch.setattr(demo, "SAMPLES", (demo.SAMPLES[-1],))  # camera alone: fast
    out = tmp_path / "demo-out"
    out.mkdir()
    (out / "astronaut-guided.png").write_bytes(b"a sheet of another model's earlier demo")
    (out / "notes.txt").write_text("mine")
    args = ["-o", str(out), "--model", str(weights), "--tile-size", "64", "--render-size", "64"]
    refused = CliRunner().invoke(demo.command, args)
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        f"deepcolor: {out}: holds an earlier demo (astronaut-guided.png); pass --overwrite to replace it, "
        "or give another -o"
    )
    assert sorted(p.name for p in out.iterdir()) == ["astronaut-guided.png", "notes.txt"]
    replaced = CliRunner().invoke(demo.command, [*args, "--overwrite"])
    assert replaced.exit_code == 0, replaced.stderr
    # the model takes no hints: the stale guided sheet is gone, not left beside the new sheets
    assert sorted(p.name for p in out.iterdir()) == ["camera.png", "index.html", "notes.txt"]
    again = CliRunner().invoke(demo.command, args)
    assert again.exit_code == 1 and "holds an earlier demo (camera.png, index.html)" in again.stderr
