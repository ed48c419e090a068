"""The page in a real browser: Playwright for Python driving Debian's Chromium (/usr/bin/chromium, headless,
--no-sandbox) against `deepcolor serve` in a subprocess.

Skipped only where no Chromium (or Playwright) can be had, and never in CI: with CI=true a missing browser
fails the test. Screenshots go to the test's folder, and also to $DEEPCOLOR_SCREENSHOTS when set (that is how
docs/images/serve-page.png is made). $DEEPCOLOR_SERVE_TEST_MODEL serves another model than the default.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .helpers import Server, grey_photo

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 90_000  # the CPU may be shared with a training run


def _chromium() -> str | None:
    for candidate in (
        os.environ.get("DEEPCOLOR_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must run the browser test (.ci/run installs Debian's chromium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        _unavailable("no Chromium found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server():
    # $DEEPCOLOR_SERVE_TEST_MODEL: serve another model (a hint-aware checkpoint, say) for these tests
    model = os.environ.get("DEEPCOLOR_SERVE_TEST_MODEL")
    running = Server("--workers", "2", *(["--model", model] if model else []))
    yield running
    running.stop()


@pytest.fixture
def page(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith((server.url, "blob:", "data:")) else outside.append(request.url)
        ),
    )
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready='1']")
    yield page
    context.close()
    assert errors == [], errors
    assert outside == [], f"the page fetched from elsewhere: {outside}"


def _screenshot(page, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring in the picture
    if name.endswith(".jpg"):
        page.screenshot(path=str(path), type="jpeg", quality=88)
    else:
        page.screenshot(path=str(path))
    target = os.environ.get("DEEPCOLOR_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / name)


def _grey_photo_file(tmp_path: Path) -> tuple[Path, tuple[int, int]]:
    """A grey photo larger than the preview: scikit-image's astronaut at 1200 x 1200 (synthetic if absent)."""
    try:
        from skimage import data

        rgb = data.astronaut()
        grey = Image.fromarray(rgb).convert("L").resize((1200, 1200), Image.Resampling.LANCZOS)
    except Exception:  # noqa: BLE001 - scikit-image without its sample data
        grey = Image.fromarray(grey_photo(1200, 1200))
    path = tmp_path / "astronaut-grey.jpg"
    grey.save(path, quality=92)
    return path, grey.size


def _wait_until(page, expression: str, timeout_s: float = TIMEOUT_MS / 1000) -> None:
    """Poll a JavaScript expression from Python: Playwright's wait_for_function evaluates a string inside the
    page, which the page's Content-Security-Policy (no eval) rightly forbids."""
    import time

    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        page.wait_for_timeout(50)


def _after_changes(page, seq: str | None) -> None:
    _wait_until(page, f"document.getElementById('after').dataset.seq !== {seq!r}")


def _upload(page, path: Path) -> None:
    page.set_input_files("#file", str(path))
    page.wait_for_selector("#compare[data-ready='1']")


def _preview_pixel(page, fx: float, fy: float) -> np.ndarray:
    rgb = page.evaluate(
        "([fx, fy]) => { const p = window.deepcolorPage.pixelAt(fx, fy); return [p.r, p.g, p.b]; }", [fx, fy]
    )
    return np.array(rgb, dtype=np.float64)


def test_upload_preview_slider_download(page, tmp_path):
    path, size = _grey_photo_file(tmp_path)
    _upload(page, path)
    preview = page.evaluate(
        "[document.getElementById('after').naturalWidth, document.getElementById('after').naturalHeight]"
    )
    assert 0 < preview[0] < size[0] and preview[0] == preview[1]  # a screen-sized preview, square kept
    assert "1200 x 1200" in page.inner_text("#status")
    # the preview has colour: channels differ somewhere
    samples = [_preview_pixel(page, fx, fy) for fx in (0.2, 0.5, 0.8) for fy in (0.3, 0.6, 0.9)]
    assert max(float(np.ptp(s)) for s in samples) > 3
    # the before/after slider, by keyboard
    page.focus("#split")
    page.keyboard.press("Home")
    assert page.eval_on_selector("#after-clip", "e => e.style.clipPath") == "inset(0px 0px 0px 0%)"
    page.keyboard.press("End")
    page.eval_on_selector("#split", "e => { e.value = 50; e.dispatchEvent(new Event('input')); }")
    _screenshot(page, tmp_path, "serve-page.jpg")

    page.select_option("#download-format", "png")
    with page.expect_download() as download_info:
        page.click("#download")
    download = download_info.value
    assert download.suggested_filename == "astronaut-grey_colorized.png"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with Image.open(saved) as result:
        assert result.size == size and result.mode == "RGB"
    _wait_until(page, "document.getElementById('status').textContent.startsWith('Downloaded')")


def test_modes_and_controls(page, tmp_path):
    path, _ = _grey_photo_file(tmp_path)
    _upload(page, path)
    seq = page.get_attribute("#after", "data-seq")
    page.check("input[name='mode'][value='decolorize']")
    _after_changes(page, seq)
    assert page.is_visible("#method") and not page.is_visible("#saturation")
    grey = _preview_pixel(page, 0.5, 0.5)
    assert float(np.ptp(grey)) <= 1  # decolorized: grey
    seq = page.get_attribute("#after", "data-seq")
    page.check("input[name='mode'][value='enhance']")
    _after_changes(page, seq)
    assert page.is_visible("#strength")
    seq = page.get_attribute("#after", "data-seq")
    page.check("input[name='mode'][value='colorize']")
    _after_changes(page, seq)
    seq = page.get_attribute("#after", "data-seq")
    page.eval_on_selector("#saturation", "e => { e.value = 0; e.dispatchEvent(new Event('input')); }")
    _after_changes(page, seq)
    assert float(np.ptp(_preview_pixel(page, 0.5, 0.5))) <= 1  # saturation 0: no chroma
    models = page.eval_on_selector_all("#model option", "options => options.map(o => o.value)")
    # the shipped names (c8defa7 renamed cnn / gan to cnn-unet / gan-unet; cnn-lite0 answers to --model cnn)
    assert {"autoencoder", "cnn-lite0", "cnn-unet", "gan-unet"} <= set(models)


def test_keyboard_reaches_the_controls(page):
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate(
                "document.activeElement.id || document.activeElement.name || document.activeElement.tagName"
            )
        )
    assert {"file", "mode", "model", "render-size", "saturation", "download-format"} <= reached, reached


def test_a_refused_file_shows_the_servers_line(page, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture\n")
    page.set_input_files("#file", str(bad))
    _wait_until(page, "document.getElementById('error').textContent.length > 0")
    assert page.inner_text("#error") == "notes.png: not an image (it looks like a text file)"


def test_narrow_window(page, tmp_path):
    path, _ = _grey_photo_file(tmp_path)
    page.set_viewport_size({"width": 380, "height": 800})
    _upload(page, path)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 380, f"horizontal scrolling in a narrow window: {width} px"
    box = page.locator("#compare").bounding_box()
    assert box and box["width"] <= 380
    _screenshot(page, tmp_path, "serve-page-narrow.png")


def test_hint_moves_the_preview_toward_its_colour(page, server, tmp_path):
    """Click to add a hint, pick a colour, and the preview's colour at that point moves toward it."""
    import json
    import urllib.request

    with urllib.request.urlopen(server.url + "/api/models") as response:
        features = json.load(response)["features"]
    path, size = _grey_photo_file(tmp_path)
    _upload(page, path)
    assert features["hints"], "the shipped default takes colour hints: the page must offer them"
    _hint_flow(page, tmp_path, size, features, screenshots=True)


def _ab_distance(rgb: np.ndarray, other: np.ndarray) -> float:
    from deepcolor.color.numpy import rgb_to_lab

    lab = rgb_to_lab(np.stack([rgb, other])[None].astype(np.float64) / 255.0)[0]
    return float(np.linalg.norm(lab[0, 1:] - lab[1, 1:]))


def _hint_flow(
    page, tmp_path: Path, size: tuple[int, int], features: dict, screenshots: bool = False
) -> None:
    import json

    box = page.locator("#compare").bounding_box()
    fx, fy = 0.3, 0.75  # on the suit: grey-white in the photo
    target = np.array([0x10, 0x50, 0xF0], dtype=np.float64)
    before = _preview_pixel(page, fx, fy)
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    page.wait_for_selector("#picker", state="visible")
    if features["suggest"]:
        page.wait_for_selector("#suggestions button")
        assert page.locator("#suggestions button").count() >= 1
    if screenshots:
        _screenshot(page, tmp_path, "serve-picker.png")
    seq = page.get_attribute("#after", "data-seq")
    page.fill("#picker-color", "#1050f0")
    page.click("#picker-ok")
    _after_changes(page, seq)
    assert page.locator(".hint-dot").count() == 1
    after = _preview_pixel(page, fx, fy)
    # toward the hint's a*b* (its lightness never counts: that always comes from the photo)
    assert _ab_distance(after, target) < _ab_distance(before, target) - 5, (before, after)
    if screenshots:
        _screenshot(page, tmp_path, "serve-page-hint.png")

    # saved hints are the command line's hint file, in the photo's pixels
    with page.expect_download() as download_info:
        page.click("#save-hints")
    saved = tmp_path / "hints.json"
    download_info.value.save_as(saved)
    point = json.loads(saved.read_text())["points"][0]
    assert abs(point["x"] - fx * size[0]) <= 3 and abs(point["y"] - fy * size[1]) <= 3

    # a suggested colour is one click; dragging a dot moves the hint
    if features["suggest"]:
        seq = page.get_attribute("#after", "data-seq")
        page.mouse.click(box["x"] + 0.7 * box["width"], box["y"] + 0.2 * box["height"])
        page.wait_for_selector("#suggestions button")
        page.click("#suggestions button >> nth=0")
        _after_changes(page, seq)
        assert page.locator(".hint-dot").count() == 2
        seq = page.get_attribute("#after", "data-seq")
        dot = page.locator(".hint-dot >> nth=1").bounding_box()
        page.mouse.move(dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.3 * box["height"], steps=5)
        page.mouse.up()
        _after_changes(page, seq)
        moved = page.evaluate("window.deepcolorPage.state.hints[1]")
        assert (
            abs(moved["x"] - 0.6 * size[0]) <= 0.02 * size[0]
            and abs(moved["y"] - 0.3 * size[1]) <= 0.02 * size[1]
        )
        page.click("#hint-list li:nth-child(2) button:has-text('Remove')")
        assert page.locator(".hint-dot").count() == 1

    # loading the saved file gives the same hint back
    page.click("#clear-hints")
    assert page.locator(".hint-dot").count() == 0
    page.set_input_files("#load-hints", str(saved))
    _wait_until(page, "document.querySelectorAll('.hint-dot').length === 1")

    # the uncertainty overlay
    if features["uncertainty"]:
        page.check("#uncertainty")
        _wait_until(page, "!document.getElementById('overlay').hidden")

    # and removing the hint by keyboard brings the automatic colours back
    seq = page.get_attribute("#after", "data-seq")
    page.focus(".hint-dot")
    page.keyboard.press("Delete")
    _after_changes(page, seq)
    assert page.locator(".hint-dot").count() == 0
    assert np.linalg.norm(_preview_pixel(page, fx, fy) - before) < 3

    # a hint by keyboard alone: focus the photo, move the cursor, Enter, pick
    page.focus("#compare")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_selector("#picker", state="visible")
    seq = page.get_attribute("#after", "data-seq")
    page.focus("#picker-ok")
    page.keyboard.press("Enter")
    _after_changes(page, seq)
    assert page.locator(".hint-dot").count() == 1


@pytest.fixture
def stand_in_server(monkeypatch):
    """The app in this process (uvicorn on a thread), with the library's guidance stood in by fakes that paint
    each hint's colour around its point: the page's hint tools, apart from what the model makes of them."""
    import dataclasses
    import threading
    import time

    import uvicorn

    import deepcolor
    from deepcolor.inference import images as pipeline
    from deepcolor.serve import Settings, create_app

    from .helpers import free_port

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
        result = real(image, colorizer, task, in_place=in_place, **options)
        out = result.rgb
        h, w = out.shape[:2]
        y, x = np.mgrid[0:h, 0:w]
        for point in hints or []:  # deepcolor.hints.points.PointHint
            rgb = np.array(point.rgb, np.float32)
            disk = (x - point.x) ** 2 + (y - point.y) ** 2 <= (0.04 * max(h, w)) ** 2
            out[disk] = rgb
        if uncertainty:
            unsure = (np.hypot(x - w / 2, y - h / 2) / np.hypot(w / 2, h / 2)).astype(np.float32)
            result = dataclasses.replace(result, uncertainty=unsure)
        return result

    def suggest_colors(image, x, y, k=5, **guidance):
        return [("#1050f0", 0.4), ("#c03020", 0.3), ("#40a040", 0.1)][:k]

    monkeypatch.setattr(pipeline, "process_image", process_image)
    monkeypatch.setattr(deepcolor, "suggest_colors", suggest_colors, raising=False)
    port = free_port()
    app = create_app(Settings(workers=2, models=[]))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the stand-in server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


def test_the_pages_hint_tools_with_a_stand_in_library(browser, stand_in_server, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(stand_in_server + "/")
    page.wait_for_selector("body[data-ready='1']")
    path, size = _grey_photo_file(tmp_path)
    _upload(page, path)
    _hint_flow(page, tmp_path, size, {"hints": True, "suggest": True, "uncertainty": True})
    # a reference photo can be dropped in (chosen here)
    reference = tmp_path / "reference.png"
    Image.fromarray(np.full((40, 60, 3), (200, 80, 40), np.uint8)).save(reference)
    seq = page.get_attribute("#after", "data-seq")
    page.set_input_files("#reference", str(reference))
    _after_changes(page, seq)
    assert page.is_visible("#reference-thumb") and "reference.png" in page.inner_text("#reference-text")
    context.close()
    assert errors == [], errors


def test_a_text_file_after_a_photo_leaves_the_photo(page, tmp_path):
    """Load a photo, then choose a text file: the photo and its result stay, only the error shows."""
    path, _ = _grey_photo_file(tmp_path)
    _upload(page, path)
    shown = page.evaluate(
        "[document.getElementById('before').src, document.getElementById('after').src,"
        " document.getElementById('after').dataset.seq]"
    )
    assert not page.is_disabled("#download")
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture\n")
    page.set_input_files("#file", str(bad))
    _wait_until(page, "document.getElementById('error').textContent.length > 0")
    assert page.inner_text("#error") == "notes.png: not an image (it looks like a text file)"
    assert "notes.png was not opened; still showing astronaut-grey.jpg" in page.inner_text("#status")
    after = page.evaluate(
        "[document.getElementById('before').src, document.getElementById('after').src,"
        " document.getElementById('after').dataset.seq]"
    )
    assert after == shown  # the same photo and result, not a broken image
    assert page.evaluate("document.getElementById('before').naturalWidth") > 0
    assert page.evaluate("document.getElementById('after').naturalWidth") > 0
    assert page.inner_text("#file-name") == "astronaut-grey.jpg"
    assert not page.is_disabled("#download")  # as it was


def test_a_busy_server_is_said_above_the_photo_and_retried(page, tmp_path):
    """The server answers 503 (Retry-After: 1) to the first preview: a message seen without scrolling, then
    the page asks again by itself and the photo appears."""
    answered = {"busy": 0, "passed": 0}

    def busy_once(route):
        if answered["busy"] == 0:
            answered["busy"] += 1
            route.fulfill(
                status=503,
                headers={"Retry-After": "1", "Content-Type": "application/json"},
                body='{"error": "the server is busy (2 working, 8 waiting); try again shortly"}',
            )
        else:
            answered["passed"] += 1
            route.continue_()

    page.route("**/api/colorize", busy_once)
    path, _ = _grey_photo_file(tmp_path)
    page.set_input_files("#file", str(path))
    page.wait_for_selector("#notice:not([hidden])")
    notice = page.inner_text("#notice")
    assert "The server is busy" in notice and "Trying again in 1 s" in notice
    box = page.locator("#notice").bounding_box()
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= 900  # in view, no scrolling
    assert page.inner_text("#error") == ""
    page.wait_for_selector("#compare[data-ready='1']")  # retried by itself
    assert answered == {"busy": 1, "passed": 1}
    assert page.is_hidden("#notice")
    assert "astronaut-grey.jpg: 1200 x 1200" in page.inner_text("#status")


def test_a_hint_file_the_server_refuses_keeps_the_hints(page, tmp_path):
    """The page checks only the file's shape; the server judges the colour and says why, one line."""
    path, _ = _grey_photo_file(tmp_path)
    _upload(page, path)
    bad_colour = tmp_path / "bad.json"
    bad_colour.write_text('{"points": [{"x": 10, "y": 10, "color": "blurple"}]}')
    page.set_input_files("#load-hints", str(bad_colour))
    _wait_until(page, "document.getElementById('error').textContent.length > 0")
    assert page.inner_text("#error").startswith("bad.json: hints: colour 'blurple' does not parse")
    assert page.locator(".hint-dot").count() == 0
    bad_shape = tmp_path / "shape.json"
    bad_shape.write_text('{"points": [{"x": "ten", "y": 10, "color": "red"}]}')
    page.set_input_files("#load-hints", str(bad_shape))
    _wait_until(page, "document.getElementById('error').textContent.startsWith('shape.json')")
    assert "not an object with numbers x and y" in page.inner_text("#error")


def test_a_video_runs_as_a_job_with_progress_preview_and_download(page, tmp_path):
    import av

    from video_clips import grey, pan_frames, write_clip

    clip = write_clip(tmp_path / "old film.mp4", [grey(f) for f in pan_frames(8, size=(24, 32))])
    page.set_input_files("#file", str(clip))
    page.wait_for_selector("#video:not([hidden])")
    _wait_until(page, "document.getElementById('video').dataset.state === 'done'")
    assert page.inner_text("#video-name") == "old film.mp4"
    assert "8 of 8 frames" in page.inner_text("#video-status")
    assert page.evaluate("document.getElementById('video-progress').value") == 8
    _wait_until(page, "document.getElementById('video-preview').naturalWidth === 32")
    assert page.is_visible("#video-preview") and page.is_disabled("#video-cancel")
    assert page.is_enabled("#video-download")
    assert page.is_visible("#drop")  # the photo tools are left as they were
    with page.expect_download() as download_info:
        page.click("#video-download")
    download = download_info.value
    assert download.suggested_filename == "old film_colorized.mp4"
    saved = tmp_path / "result.mp4"
    download.save_as(saved)
    with av.open(str(saved)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 8 and frames[0].shape == (24, 32, 3)
    _wait_until(page, "document.getElementById('video-status').textContent.startsWith('Downloaded')")
    assert page.get_attribute("#video", "data-state") == "downloaded"
