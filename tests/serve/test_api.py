"""The HTTP API against the app (FastAPI's TestClient): every route, results equal to the command line's, and
hints / reference / suggestions / uncertainty passed through to the library."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import deepcolor
from deepcolor.hints.points import hints_to_json

from .helpers import colour_photo, decoded, encode, files, grey16_png, grey_photo, rgba_png

# ------------------------------------------------------------------------------------------------- basics


def test_healthz_and_models(client):
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["workers"] == 2 and health["busy"] == 0
    assert health["version"] == deepcolor.__version__
    info = client.get("/api/models").json()
    names = [m["name"] for m in info["models"]]
    assert "cnn" in names
    assert sum(m["default"] for m in info["models"]) == 1
    assert info["default"] in names
    assert set(info["features"]) == {"hints", "reference", "suggest", "uncertainty"}
    assert info["limits"]["max_upload_mb"] == 50


def test_page_and_static_files_are_served_by_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/main.js">' in page.text and "/static/style.css" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for path in ("/static/style.css", "/static/docs.js", "/static/icon.svg", "/docs"):
        assert client.get(path).status_code == 200, path
    for module in ("main", "api", "viewer", "hints", "picker"):  # ES modules: a JavaScript media type
        script = client.get(f"/static/{module}.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"], module


def test_page_fetches_nothing_from_elsewhere():
    """No CDN: every URL in the page's files is the server's own (or a hint text)."""
    from deepcolor.serve.app import STATIC_DIR

    for path in STATIC_DIR.iterdir():
        text = path.read_text()
        for marker in ("http://", "https://", "//cdn", "@import"):
            assert marker not in text.replace("http://127.0.0.1:8000", "").replace(
                "http://www.w3.org/2000/svg", ""
            ), (path.name, marker)


def test_openapi_describes_every_route(client):
    spec = client.get("/openapi.json").json()
    for path in ("/api/colorize", "/api/enhance", "/api/decolorize", "/api/suggest", "/api/uncertainty"):
        body = spec["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert body["properties"]["file"]["format"] == "binary"
        assert "file" in body["required"]
        assert {"413", "415", "422", "503"} <= set(spec["paths"][path]["post"]["responses"])
    colorize = spec["paths"]["/api/colorize"]["post"]["requestBody"]["content"]["multipart/form-data"][
        "schema"
    ]
    assert {"model", "render_size", "saturation", "format", "hints", "reference", "max_side"} <= set(
        colorize["properties"]
    )
    assert "/api/models" in spec["paths"] and "/healthz" in spec["paths"]


def test_decolor_methods_match_the_library():
    from deepcolor.decolor import METHODS
    from deepcolor.serve.schemas import DECOLOR_METHODS

    assert set(DECOLOR_METHODS) == set(METHODS)


# --------------------------------------------------------------------------------------------- operations


@pytest.mark.parametrize("route", ["colorize", "enhance", "decolorize"])
def test_image_routes_answer_an_image_of_the_input_size(client, route):
    data = encode(colour_photo(50, 70), "JPEG", quality=90)
    response = client.post(f"/api/{route}", files=files(data, "photo.jpg"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"  # the input's kind
    assert response.headers["x-source-width"] == "70" and response.headers["x-source-height"] == "50"
    image = decoded(response.content)
    assert (image.width, image.height) == (70, 50)


@pytest.mark.parametrize("fmt, media", [("png", "image/png"), ("jpeg", "image/jpeg"), ("webp", "image/webp")])
def test_format_and_preview_size(client, fmt, media):
    data = encode(grey_photo(120, 200))
    response = client.post("/api/colorize", files=files(data), data={"format": fmt, "max_side": "50"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media
    image = decoded(response.content)
    assert (image.width, image.height) == (50, 30)
    assert response.headers["x-source-width"] == "200"  # the page maps clicks with the source size


def test_a_grey_photo_gets_colour(client):
    response = client.post("/api/colorize", files=files(encode(grey_photo(64, 96))))
    rgb = decoded(response.content).rgb
    assert float(np.abs(rgb[..., 0] - rgb[..., 2]).mean()) > 0.005
    assert "x-deepcolor-warning" not in response.headers


def test_a_colour_photo_is_colorized_from_its_lightness_with_a_warning(client):
    response = client.post("/api/colorize", files=files(encode(colour_photo())))
    assert response.status_code == 200
    assert "decolorized first" in response.headers["x-deepcolor-warning"]


def test_model_and_saturation_change_the_result(client):
    data = encode(grey_photo(64, 96))
    default = decoded(client.post("/api/colorize", files=files(data)).content).rgb
    cnn = decoded(client.post("/api/colorize", files=files(data), data={"model": "cnn"}).content).rgb
    grey = decoded(client.post("/api/colorize", files=files(data), data={"saturation": "0"}).content).rgb
    assert np.abs(default - cnn).max() > 0.01
    assert np.abs(grey[..., 0] - grey[..., 2]).max() <= 1 / 255 + 1e-6  # no chroma at all


def test_decolorize_options(client):
    data = encode(colour_photo())
    grey = decoded(client.post("/api/decolorize", files=files(data)).content)
    assert grey.mode == "L"
    kept = decoded(client.post("/api/decolorize", files=files(data), data={"keep_channels": "true"}).content)
    assert kept.mode == "RGB" and kept.is_gray
    luma = decoded(client.post("/api/decolorize", files=files(data), data={"method": "luma601"}).content)
    assert np.abs(luma.rgb - grey.rgb).max() > 0


def test_enhance_options(client):
    data = encode(colour_photo())
    plain = client.post("/api/enhance", files=files(data), data={"strength": "0"})
    assert np.abs(decoded(plain.content).rgb - decoded(data).rgb).max() <= 1 / 255 + 1e-6
    clahe = client.post("/api/enhance", files=files(data), data={"clahe": "true", "clahe_limit": "0.05"})
    assert clahe.status_code == 200


def test_alpha_and_16_bits_are_kept(client):
    rgba = decoded(client.post("/api/colorize", files=files(rgba_png())).content)
    assert rgba.alpha is not None and rgba.alpha.min() == 0.0
    deep = decoded(client.post("/api/colorize", files=files(grey16_png())).content)
    assert deep.bit_depth == 16
    preview = decoded(
        client.post("/api/colorize", files=files(grey16_png()), data={"max_side": "20"}).content
    )
    assert preview.bit_depth == 8  # previews are for the screen


# ------------------------------------------------------------------------- the same result as the command


def _cli(command_module: str, source: Path, out: Path, *options: str) -> Path:
    import importlib

    command = importlib.import_module(command_module).command
    result = CliRunner().invoke(command, [str(source), "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    written = list(out.iterdir())
    assert len(written) == 1
    return written[0]


INPUTS = {
    "grey.png": lambda: encode(grey_photo(45, 61)),
    "rgb-grey.png": lambda: encode(np.repeat(grey_photo(45, 61)[..., None], 3, axis=2)),
    "colour.jpg": lambda: encode(colour_photo(45, 61), "JPEG", quality=88),
    "deep.png": grey16_png,
    "rgba.png": rgba_png,
}


@pytest.mark.parametrize("name", list(INPUTS))
@pytest.mark.parametrize(
    "route, module, options, fields",
    [
        ("colorize", "deepcolor.cli.colorize", ["--format", "png"], {"format": "png"}),
        (
            "colorize",
            "deepcolor.cli.colorize",
            ["--format", "png", "--saturation", "1.4", "--render-size", "128"],
            {"format": "png", "saturation": "1.4", "render_size": "128"},
        ),
        (
            "enhance",
            "deepcolor.cli.enhance",
            ["--format", "png", "--strength", "0.6"],
            {"format": "png", "strength": "0.6"},
        ),
        ("decolorize", "deepcolor.cli.decolorize", ["--format", "png"], {"format": "png"}),
    ],
)
def test_results_equal_the_command_line(client, tmp_path, name, route, module, options, fields):
    data = INPUTS[name]()
    source = tmp_path / name
    source.write_bytes(data)
    written = _cli(module, source, tmp_path / "out", *options)
    response = client.post(f"/api/{route}", files=files(data, name), data=fields)
    assert response.status_code == 200, response.text
    by_cli, by_api = decoded(written.read_bytes()), decoded(response.content)
    assert (by_api.mode, by_api.bit_depth) == (by_cli.mode, by_cli.bit_depth)
    assert np.abs(by_api.rgb - by_cli.rgb).max() == 0
    assert (by_api.alpha is None) == (by_cli.alpha is None)
    if by_cli.alpha is not None:
        assert np.abs(by_api.alpha - by_cli.alpha).max() == 0


def test_decolorized_jpeg_keeps_the_inputs_quality_as_the_command_does(client, tmp_path):
    data = encode(colour_photo(45, 61), "JPEG", quality=70)
    source = tmp_path / "q70.jpg"
    source.write_bytes(data)
    written = _cli("deepcolor.cli.decolorize", source, tmp_path / "out")
    response = client.post("/api/decolorize", files=files(data, "q70.jpg"))
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content == written.read_bytes()


# ------------------------------------------------------------------ hints, reference, suggest, uncertainty


@pytest.fixture
def spy(client, monkeypatch):
    """The pipeline's process_image and deepcolor.suggest_colors replaced by recorders (hints as the points
    that `deepcolor.hints.points` parsed, in the hint file's form)."""
    from deepcolor.inference import images as pipeline

    calls: dict[str, list] = {"process": [], "suggest": []}
    real = pipeline.process_image

    def process_image(
        image,
        colorizer,
        task="colorize",
        *,
        in_place=False,
        hints=None,
        reference=None,
        uncertainty=False,
        hint_source=None,
        **options,
    ):
        calls["process"].append(
            {
                "image": image.rgb.copy(),
                "hints": None if hints is None else hints_to_json(hints),
                "reference": reference,
                "uncertainty": uncertainty,
                "task": task,
                **options,
            }
        )
        result = real(image, colorizer, task, in_place=in_place, **options)
        if uncertainty:
            h, w = image.rgb.shape[:2]
            result = dataclasses.replace(result, uncertainty=np.linspace(0, 1, h * w).reshape(h, w))
        return result

    def suggest_colors(image, x, y, k=5, model="default", hints=None, reference=None, render_size=None):
        hints = None if hints is None else hints_to_json(hints)
        calls["suggest"].append({"image": image, "x": x, "y": y, "k": k, "hints": hints, "model": model})
        return [("#aa3311", 0.5), ("#1144aa", 0.25)][:k]

    monkeypatch.setattr(pipeline, "process_image", process_image)
    monkeypatch.setattr(deepcolor, "suggest_colors", suggest_colors, raising=False)
    return calls


HINTS = (
    '{"points": [{"x": 100, "y": 20, "color": "#1f4fa0", "radius": 4}, {"x": 0, "y": 59, "color": "red"}]}'
)


def test_hints_and_reference_are_passed_through_at_full_resolution(client, spy):
    photo, reference = encode(grey_photo(60, 120)), encode(colour_photo(30, 40))
    response = client.post(
        "/api/colorize",
        files={**files(photo), **files(reference, "ref.png", "reference")},
        data={"hints": HINTS},
    )
    assert response.status_code == 200, response.text
    call = spy["process"][-1]
    assert call["hints"]["points"] == [
        {"x": 100, "y": 20, "color": "#1f4fa0", "radius": 4},
        {"x": 0, "y": 59, "color": "#ff0000"},
    ]
    assert call["reference"].shape == (30, 40, 3)
    assert call["image"].shape[:2] == (60, 120)


def test_hints_are_mapped_onto_the_preview(client, spy):
    response = client.post(
        "/api/colorize", files=files(encode(grey_photo(60, 120))), data={"hints": HINTS, "max_side": "60"}
    )
    assert response.status_code == 200, response.text
    call = spy["process"][-1]
    assert call["image"].shape[:2] == (30, 60)
    assert call["hints"]["points"] == [
        {"x": 50, "y": 10, "color": "#1f4fa0", "radius": 2},
        {"x": 0, "y": 29, "color": "#ff0000"},
    ]


def test_a_bare_list_of_points_is_accepted(client, spy):
    response = client.post(
        "/api/colorize",
        files=files(encode(grey_photo(60, 120))),
        data={"hints": '[{"x": 3, "y": 4, "color": "#123"}]'},
    )
    assert response.status_code == 200
    assert spy["process"][-1]["hints"] == {"points": [{"x": 3, "y": 4, "color": "#112233"}]}


@pytest.mark.parametrize(
    "hints, message",
    [
        ("{not json", "malformed JSON"),
        ('{"points": 3}', 'a hint file holds {"points": [...]}'),
        ('{"points": [{"x": 1, "y": 2}]}', "a point lacks color"),
        ('{"points": [{"x": "1", "y": 2, "color": "#fff"}]}', "x must be a number"),
        ('{"points": [{"x": 1, "y": 2, "color": "blurple"}]}', "does not parse"),
        ('{"points": [{"x": 1, "y": 1, "color": "#fff", "radius": -2}]}', "radius"),
        ('{"points": [{"x": 1, "y": 1, "colour": "#fff"}]}', "lacks color"),
    ],
)
def test_bad_hints_are_a_422_naming_the_problem(client, hints, message):
    """Parsed by the library (`deepcolor.hints.points`), not by the server: its one line, as a 422."""
    for fields in ({}, {"max_side": "60"}):
        response = client.post(
            "/api/colorize", files=files(encode(grey_photo(60, 120))), data={"hints": hints, **fields}
        )
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error.startswith("hints:") and message in error and "\n" not in error, error


@pytest.mark.parametrize("point", ['{"x": 120, "y": 2}', '{"x": 1, "y": -1}', '{"x": 1, "y": 60}'])
@pytest.mark.parametrize("fields", [{}, {"max_side": "60"}])
def test_a_hint_outside_the_photo_is_a_422(client, point, fields):
    hints = '{"points": [' + point[:-1] + ', "color": "#fff"}]}'
    response = client.post(
        "/api/colorize", files=files(encode(grey_photo(60, 120))), data={"hints": hints, **fields}
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error.startswith("hints: point (") and "is outside the image (120 x 60" in error, error


def test_a_hint_the_library_refuses_is_a_422(client, spy, monkeypatch):
    from deepcolor.hints.points import HintError
    from deepcolor.inference import images as pipeline

    def refuse(*args, **kwargs):
        raise HintError("hints: model 'x' takes no colour hints")

    monkeypatch.setattr(pipeline, "process_image", refuse)
    response = client.post(
        "/api/colorize",
        files=files(encode(grey_photo())),
        data={"hints": '[{"x": 1, "y": 1, "color": "navy"}]'},
    )
    assert response.status_code == 422
    assert response.json() == {"error": "hints: model 'x' takes no colour hints"}


def test_suggest(client, spy):
    response = client.post(
        "/api/suggest",
        files=files(encode(grey_photo(60, 120))),
        data={"x": "100", "y": "20", "k": "2", "max_side": "60"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "x": 100,
        "y": 20,
        "colors": [{"color": "#aa3311", "probability": 0.5}, {"color": "#1144aa", "probability": 0.25}],
    }
    call = spy["suggest"][-1]
    assert (call["x"], call["y"], call["k"]) == (50, 10, 2) and call["image"].shape[:2] == (30, 60)
    assert call["hints"] is None and call["model"] is client.app.state.engine.colorizers["default"]
    with_hints = client.post(
        "/api/suggest",
        files=files(encode(grey_photo(60, 120))),
        data={"x": "100", "y": "20", "max_side": "60", "hints": HINTS},
    )
    assert with_hints.status_code == 200
    assert spy["suggest"][-1]["hints"]["points"][0] == {"x": 50, "y": 10, "color": "#1f4fa0", "radius": 2}


@pytest.mark.parametrize(
    "fields", [{"x": "120", "y": "1"}, {"x": "1"}, {"x": "-1", "y": "1"}, {"x": "1", "y": "1", "k": "0"}]
)
def test_suggest_bad_point(client, spy, fields):
    response = client.post("/api/suggest", files=files(encode(grey_photo(60, 120))), data=fields)
    assert response.status_code == 422, response.text


def test_uncertainty_is_a_png_overlay_of_the_input_size(client, spy):
    response = client.post(
        "/api/uncertainty", files=files(encode(grey_photo(60, 120))), data={"hints": HINTS}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    overlay = decoded(response.content)
    assert (overlay.width, overlay.height) == (120, 60) and overlay.alpha is not None
    assert spy["process"][-1]["uncertainty"] is True and spy["process"][-1]["hints"]["points"]
    # one colour map, the library's (the CLI's uncertainty PNG): clear where sure, most opaque where unsure
    from deepcolor.inference.guidance import heat_colors

    unsure = np.linspace(0, 1, 60 * 120).reshape(60, 120)  # what the spy answered
    assert overlay.alpha[0, 0] == 0 and overlay.alpha[-1, -1] == pytest.approx(0.8, abs=1 / 255)
    expected = heat_colors(unsure[-1, -1:])[0]
    assert np.abs(overlay.rgb[-1, -1] - expected).max() <= 1 / 255 + 1e-6


def test_a_model_without_guidance_answers_422_and_the_page_is_told(make_client):
    """A server whose default model takes no guidance (the from-scratch autoencoder): the library's 422."""
    client = make_client(model="autoencoder")
    assert client.get("/api/models").json()["features"] == dict.fromkeys(
        ("hints", "reference", "suggest", "uncertainty"), False
    )
    photo = files(encode(grey_photo()))
    hint = '[{"x": 1, "y": 1, "color": "#fff"}]'
    answers = [
        client.post("/api/colorize", files=photo, data={"hints": hint}),
        client.post("/api/colorize", files={**photo, **files(encode(colour_photo()), "r.png", "reference")}),
        client.post("/api/suggest", files=photo, data={"x": "1", "y": "1"}),
        client.post("/api/uncertainty", files=photo),
    ]
    for response in answers:
        assert response.status_code == 422, response.text
        assert "\n" not in response.json()["error"]
    assert "takes no colour hints" in answers[0].json()["error"]
    # no points at all is no hint: colorized as usual
    assert client.post("/api/colorize", files=photo, data={"hints": '{"points": []}'}).status_code == 200


def test_features_follow_the_default_model(client):
    """The page's hint tools are on exactly when the default model takes hints (the shipped default does)."""
    engine = client.app.state.engine
    takes = {spec.name for spec in engine.colorizers["default"].conditions}
    assert engine.features["hints"] == ("hints" in takes) is True


def test_a_real_hint_moves_the_colour_toward_it(client):
    """With issue 8's model (not the spy): a blue hint makes that point bluer."""
    photo = encode(grey_photo(96, 128))
    before = decoded(client.post("/api/colorize", files=files(photo)).content)
    hints = '{"points": [{"x": 64, "y": 48, "color": "#1040ff", "radius": 6}]}'
    after = decoded(client.post("/api/colorize", files=files(photo), data={"hints": hints}).content)
    from deepcolor.color.numpy import rgb_to_lab

    b_before = rgb_to_lab(before.rgb)[48, 64, 2]
    b_after = rgb_to_lab(after.rgb)[48, 64, 2]
    assert b_after < b_before - 5  # b* goes negative toward blue


def test_uploads_keep_their_exif_orientation(client):
    """The page places hints on the photo as displayed: the server reads it upright (EXIF applied)."""
    image = Image.fromarray(grey_photo(30, 50))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    response = client.post("/api/colorize", files=files(encode(image, "JPEG", exif=exif.tobytes()), "r.jpg"))
    assert (response.headers["x-source-width"], response.headers["x-source-height"]) == ("30", "50")


def test_previews_are_cached_by_content_and_size(make_client):
    """The page sends the same photo for every change: its decoded preview is kept, the result the same."""
    client = make_client()
    cache = client.app.state.engine.previews
    photo = encode(grey_photo(300, 400))
    first = client.post("/api/colorize", files=files(photo, "a.png"), data={"max_side": "100"})
    hits = cache.hits
    again = client.post("/api/colorize", files=files(photo, "b.png"), data={"max_side": "100"})
    assert cache.hits == hits + 1
    assert first.content == again.content
    assert again.headers["x-source-width"] == "400"
    client.post("/api/colorize", files=files(photo), data={"max_side": "120"})
    client.post("/api/colorize", files=files(photo))  # full resolution: never cached
    assert cache.hits == hits + 1
    other = encode(grey_photo(300, 400, seed=5))
    client.post("/api/colorize", files=files(other), data={"max_side": "100"})
    assert cache.hits == hits + 1
    # what a request does with its pixels does not reach the cache
    decolorized = client.post("/api/decolorize", files=files(photo), data={"max_side": "100"})
    assert decolorized.status_code == 200
    assert client.post("/api/colorize", files=files(photo), data={"max_side": "100"}).content == first.content


def test_preview_cache_is_bounded():
    from deepcolor.serve.engine import Prepared, PreviewCache

    cache = PreviewCache(max_bytes=1000, max_entries=3)

    def item(n: int) -> Prepared:
        image = decoded(encode(np.zeros((1, 1), np.uint8)))
        return Prepared(dataclasses.replace(image, rgb=np.zeros(n, np.uint8)), 1, 1, True)

    for i in range(5):
        cache.put((i,), item(100))
    assert cache.get((0,)) is None and cache.get((4,)) is not None and len(cache._items) == 3
    cache.put(("big",), item(2000))
    assert cache.get(("big",)) is None
    for i in range(3):
        cache.put(("m", i), item(400))
    assert sum(x.nbytes for x in cache._items.values()) <= 1000


def test_docs_show_the_address_the_server_was_reached_at(client, make_client):
    page = client.get("/docs", headers={"Host": "localhost:5123"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "curl -F file=@grey.jpg http://localhost:5123/api/colorize" in page.text
    assert "127.0.0.1:8000" not in page.text and "{origin}" not in page.text
    assert "Authorization" not in page.text
    with_token = make_client(token="t").get("/docs", headers={"Host": "127.0.0.1:9000"})
    assert "curl -H 'Authorization: Bearer TOKEN' -F file=@grey.jpg http://127.0.0.1:9000/" in with_token.text


@pytest.mark.filterwarnings("ignore:clip.gif:deepcolor.io.ImageWarning")  # first frame: warned in the log
def test_an_animated_gif_comes_back_as_png(client):
    """The same rule as the command line: a GIF input gives a PNG (its first frame, not a dithered GIF)."""
    frames = [Image.fromarray(grey_photo(20, 30, seed)) for seed in range(3)]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    for route in ("colorize", "enhance", "decolorize"):
        response = client.post(f"/api/{route}", files=files(gif, "clip.gif"))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        assert response.headers["content-disposition"].endswith('.png"')
        assert decoded(response.content).format == "PNG"
