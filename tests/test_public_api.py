"""The public API: what `import deepcolor` offers, the one version, and the one error base that every front
end maps in one place."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deepcolor
from deepcolor.errors import DeepcolorError

REPO = Path(__file__).resolve().parents[1]
API = (
    "colorize",
    "enhance",
    "decolorize",
    "suggest_colors",
    "read_image",
    "write_image",
    "create_model",
    "list_models",
    "Colorizer",
    "process_images",
    "color",
    "DeepcolorError",
    "ImageError",
    "LoadedImage",
    "__version__",
)


def test_dir_lists_the_api_in_a_fresh_interpreter():
    # a fresh process: this test run has imported every module already
    code = "import sys, deepcolor; print(dir(deepcolor)); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    listed, torch_loaded = out.splitlines()
    for name in API:
        assert repr(name) in listed, name
    assert "importlib" not in listed and "TYPE_CHECKING" not in listed  # the API, not the module's imports
    assert torch_loaded == "False"  # listing the API imports nothing heavy


def test_every_listed_name_resolves_to_what_its_module_defines():
    from deepcolor.inference.images import process_images
    from deepcolor.inference.pipeline import Colorizer

    lazy = {*deepcolor._LAZY, *deepcolor._SUBMODULES}
    assert set(deepcolor.__all__) == lazy | {"DeepcolorError", "__version__"}
    for name in deepcolor.__all__:
        assert getattr(deepcolor, name) is not None, name
    assert deepcolor.Colorizer is Colorizer and deepcolor.process_images is process_images
    with pytest.raises(AttributeError, match="no attribute 'colourise'"):
        deepcolor.colourise  # noqa: B018


def test_color_is_reachable_as_documented():
    code = "import deepcolor; print(deepcolor.color.rgb_to_lab.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().startswith("deepcolor.color")


def _pyproject_line(start: str) -> str:
    """The one line of pyproject.toml that starts with `start` (the file holds no second one)."""
    lines = [line for line in (REPO / "pyproject.toml").read_text().splitlines() if line.startswith(start)]
    assert len(lines) == 1, lines
    return lines[0]


def test_the_package_is_typed():
    assert (REPO / "src" / "deepcolor" / "py.typed").is_file()
    package_data = _pyproject_line("deepcolor = [")  # [tool.setuptools.package-data]
    assert '"py.typed"' in package_data


def test_the_version_is_written_in_one_place():
    from importlib.metadata import version

    assert _pyproject_line("dynamic = ").startswith('dynamic = ["version"]')
    assert _pyproject_line("version = ") == 'version = { attr = "deepcolor.__version__" }'  # nothing else
    assert version("deepcolor") == deepcolor.__version__


def test_every_error_a_user_can_cause_is_a_deepcolor_error():
    from deepcolor.data import DataError
    from deepcolor.evaluate import EvaluationError
    from deepcolor.hints.points import HintError
    from deepcolor.io import ImageError
    from deepcolor.models import CheckpointError
    from deepcolor.models.encoders import WeightsMissing
    from deepcolor.train.config import ConfigError
    from deepcolor.train.loop import TrainingError

    for error in (ImageError, CheckpointError, HintError, ConfigError, DataError, TrainingError,
                  EvaluationError, WeightsMissing):  # fmt: skip
        assert issubclass(error, DeepcolorError), error
    for error in (CheckpointError, HintError, ConfigError):  # callers that catch ValueError keep working
        assert issubclass(error, ValueError), error
    assert deepcolor.DeepcolorError is DeepcolorError


def test_the_api_raises_deepcolor_errors_for_user_mistakes(tmp_path):
    (tmp_path / "notes.jpg").write_text("not a picture")
    with pytest.raises(DeepcolorError, match=r"notes\.jpg: "):
        deepcolor.read_image(tmp_path / "notes.jpg")
    with pytest.raises(DeepcolorError, match=r"missing\.pt: no such model file"):
        deepcolor.Colorizer(str(tmp_path / "missing.pt"))
    with pytest.raises(DeepcolorError, match="colour"):
        deepcolor.colorize(np.zeros((16, 16), np.float32), hints=[(1, 1, "not-a-colour")])


class _Odd(DeepcolorError):
    """A user error that is neither an ImageError nor a ValueError: the front ends still map it."""


def test_the_batch_runner_reports_any_deepcolor_error_and_carries_on(tmp_path, capsys):
    from deepcolor.cli import batch

    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"")
    job = batch.Batch.from_cli((str(tmp_path / "a.png"), str(tmp_path / "b.png")), str(tmp_path / "out"))
    seen = []

    def process(item):
        seen.append(item.path.name)
        if item.path.name == "a.png":
            raise _Odd(f"{item.path}: something the user can fix")

    assert job.run(process, desc="check") == 1
    assert seen == ["a.png", "b.png"]  # the batch went on
    err = capsys.readouterr().err
    assert "a.png: something the user can fix" in err and "Traceback" not in err


def test_the_server_answers_a_deepcolor_error_with_a_422():
    from fastapi.testclient import TestClient

    from deepcolor.serve.app import create_app

    app = create_app()

    @app.get("/odd")
    async def odd() -> None:
        raise _Odd("something the user can fix")

    with TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False) as client:
        response = client.get("/odd")
    assert response.status_code == 422
    assert response.json() == {"error": "something the user can fix"}
