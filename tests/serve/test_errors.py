"""Every error the API gives: one-line JSON bodies with 401, 413, 415, 422, 503 (with Retry-After); never a
500 for what a client sends; uploads never written to disk; nothing the client sends used as a path."""

from __future__ import annotations

import builtins
import tempfile
import threading
import time

import numpy as np
import pytest
from PIL import Image

from conftest import BAD_FILES, png_with_header_size, write_bad_files

from .helpers import colour_photo, encode, files, grey_photo


def _one_line_error(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    assert body["error"] and "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


# ------------------------------------------------------------------------------------------------ 415


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files(client, tmp_path, name):
    path = write_bad_files(tmp_path)[name]
    response = client.post("/api/colorize", files=files(path.read_bytes(), name))
    status = 413 if name == "huge.png" else 415
    error = _one_line_error(response, status)
    assert error.startswith(f"{name}: ")


def test_the_clients_file_name_is_a_label_only(client):
    response = client.post("/api/colorize", files=files(b"hello", "../../etc/pass\nwd\x00.png"))
    error = _one_line_error(response, 415)
    assert error.startswith("passwd.png: ") or error.startswith("pass")
    assert "/" not in error.split(":")[0]


# ------------------------------------------------------------------------------------------------ 413


def test_pixel_limit_is_checked_before_decoding(make_client):
    client = make_client(max_pixels=1000)
    error = _one_line_error(client.post("/api/colorize", files=files(encode(grey_photo(40, 40)))), 413)
    assert error == "photo.png: 40 x 40 pixels (1600 pixels) is over the limit of 1000 pixels"
    assert client.post("/api/colorize", files=files(encode(grey_photo(20, 40)))).status_code == 200


def test_a_decompression_bomb_header_is_refused_fast(client):
    started = time.perf_counter()
    error = _one_line_error(
        client.post("/api/colorize", files=files(png_with_header_size(60000, 60000))), 413
    )
    assert "60000 x 60000" in error
    assert time.perf_counter() - started < 2.0


def test_upload_limit_while_streaming(make_client):
    client = make_client(max_upload_mb=0.01)  # about 10 kB
    noise = np.random.default_rng(0).integers(0, 255, (150, 150), dtype=np.uint8)
    big = encode(noise)
    assert len(big) > 11_000
    error = _one_line_error(client.post("/api/colorize", files=files(big)), 413)
    assert "over the limit" in error
    # the declared length alone is enough: nothing is read
    error = _one_line_error(
        client.post(
            "/api/colorize",
            content=b"x" * 5_000_000,
            headers={"content-type": "multipart/form-data; boundary=abc"},
        ),
        413,
    )
    assert "request of" in error


def test_a_huge_text_field_is_413(client):
    response = client.post(
        "/api/colorize", files=files(encode(grey_photo())), data={"hints": "[" * 1_100_000}
    )
    _one_line_error(response, 413)


def test_a_chunked_body_over_the_limit_is_cut_off(make_client):
    client = make_client(max_upload_mb=0.01)

    def chunks():
        yield b'--abc\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        for _ in range(100):
            yield b"\0" * 1000

    response = client.post(
        "/api/colorize", content=chunks(), headers={"content-type": "multipart/form-data; boundary=abc"}
    )
    _one_line_error(response, 413)


# ------------------------------------------------------------------------------------------------ 422


@pytest.mark.parametrize(
    "fields, where",
    [
        ({"saturation": "5"}, "saturation"),
        ({"saturation": "lots"}, "saturation"),
        ({"render_size": "8"}, "render_size"),
        ({"render_size": "100000"}, "render_size"),
        ({"render_size": "1.5"}, "render_size"),
        ({"format": "tiff"}, "format"),
        ({"max_side": "0"}, "max_side"),
        ({"model": "nope"}, "model"),
        ({"model": "/etc/passwd"}, "model"),
        ({"model": "../weights/cnn.safetensors"}, "model"),
        ({"colour": "1"}, "colour"),
    ],
)
def test_bad_parameters(client, fields, where):
    response = client.post("/api/colorize", files=files(encode(grey_photo())), data=fields)
    assert _one_line_error(response, 422).startswith(f"{where}") or where in response.json()["error"]


@pytest.mark.parametrize(
    "route, fields",
    [
        ("enhance", {"strength": "2"}),
        ("enhance", {"clahe_limit": "0"}),
        ("enhance", {"clahe": "maybe"}),
        ("decolorize", {"method": "sepia"}),
        ("decolorize", {"saturation": "1"}),  # not an option of this route
        ("suggest", {"x": "1", "y": "1", "k": "100"}),
    ],
)
def test_bad_parameters_of_other_routes(client, route, fields):
    _one_line_error(client.post(f"/api/{route}", files=files(encode(grey_photo())), data=fields), 422)


def test_bad_request_shapes(client):
    assert "multipart/form-data" in _one_line_error(client.post("/api/colorize", json={"file": "x"}), 422)
    error = _one_line_error(client.post("/api/colorize", files=files(b"x", "a.png", "other")), 422)
    assert error == "unknown file field 'other'"
    assert (
        _one_line_error(
            client.post("/api/colorize", data={"saturation": "1"}, files=files(b"x", "r.png", "reference")),
            422,
        )
        == "file: required (the image, as a multipart file field)"
    )
    error = _one_line_error(
        client.post(
            "/api/colorize",
            data={"file": "not a file"},
            files=files(encode(grey_photo()), "a.png", "reference"),
        ),
        422,
    )
    assert "file" in error
    error = _one_line_error(
        client.post(
            "/api/colorize",
            content=b"--abc\r\ngarbage",
            headers={"content-type": "multipart/form-data; boundary=abc"},
        ),
        422,
    )
    assert error


def test_empty_fields_count_as_absent(client):
    response = client.post(
        "/api/colorize",
        files=files(encode(grey_photo())),
        data={"render_size": "", "model": "", "max_side": " "},
    )
    assert response.status_code == 200, response.text


def test_unknown_routes_and_methods(client):
    assert _one_line_error(client.get("/api/nothing"), 404) == "/api/nothing: not found"
    _one_line_error(client.get("/api/colorize"), 405)


# ------------------------------------------------------------------------------------------ never a 500


def _odd_inputs() -> dict[str, bytes]:
    g = grey_photo(40, 60)
    frames = [Image.fromarray(grey_photo(20, 30, seed)) for seed in range(3)]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    return {
        "one-pixel.png": encode(np.array([[128]], np.uint8)),
        "one-row.png": encode(grey_photo(1, 300)),
        "one-column.png": encode(grey_photo(300, 1)),
        "thin.png": encode(grey_photo(2, 2000)),
        "black.png": encode(np.zeros((30, 30), np.uint8)),
        "white.png": encode(np.full((30, 30), 255, np.uint8)),
        "cmyk.jpg": encode(Image.fromarray(colour_photo()).convert("CMYK"), "JPEG"),
        "palette.png": encode(Image.fromarray(colour_photo()).convert("P")),
        "la.png": encode(Image.fromarray(np.dstack([g, g]), "LA")),
        "bilevel.png": encode(Image.fromarray(g).convert("1")),
        "animated.gif": gif,
        "grey.tif": encode(g, "TIFF"),
        "float.tif": encode(Image.fromarray(g.astype(np.float32) / 255.0), "TIFF"),
        "colour.bmp": encode(colour_photo(), "BMP"),
        "colour.webp": encode(colour_photo(), "WEBP"),
        "jpeg-as.png": encode(colour_photo(), "JPEG"),
    }


@pytest.mark.filterwarnings("ignore:animated.gif:deepcolor.io.ImageWarning")  # first frame: warned in the log
@pytest.mark.parametrize("name", list(_odd_inputs()))
@pytest.mark.parametrize("route", ["colorize", "enhance", "decolorize"])
def test_odd_but_valid_images_never_give_a_500(client, name, route):
    data = _odd_inputs()[name]
    for fields in ({}, {"max_side": "16", "format": "webp"}, {"format": "jpeg"}):
        response = client.post(f"/api/{route}", files=files(data, name), data=fields)
        assert response.status_code < 500, (name, fields, response.text)
        assert response.status_code in (200, 415, 422), (name, fields, response.text)


def test_garbage_never_gives_a_500(client):
    rng = np.random.default_rng(3)
    valid = encode(grey_photo(30, 40))
    samples = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in (1, 7, 100, 5000)]
    samples += [valid[:n] for n in (8, 30, 60, len(valid) - 10)]
    samples += [bytearray(valid) for _ in range(3)]
    for i in range(3):  # flipped bytes in the middle of a valid file
        corrupt = bytearray(valid)
        corrupt[40 + 100 * i : 48 + 100 * i] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
        samples.append(bytes(corrupt))
    for sample in samples:
        response = client.post("/api/colorize", files=files(bytes(sample), "x.png"))
        assert response.status_code in (200, 413, 415), response.text


# ------------------------------------------------------------------------------------------------ 401


def test_token(make_client):
    client = make_client(token="s3cret")
    photo = files(encode(grey_photo()))
    assert "bearer token" in _one_line_error(client.post("/api/colorize", files=photo), 401)
    assert client.get("/api/models").status_code == 401
    wrong = client.post("/api/colorize", files=photo, headers={"Authorization": "Bearer nope"})
    assert _one_line_error(wrong, 401) and wrong.headers["www-authenticate"] == "Bearer"
    right = client.post("/api/colorize", files=photo, headers={"Authorization": "Bearer s3cret"})
    assert right.status_code == 200
    assert client.get("/healthz").status_code == 200 and client.get("/").status_code == 200


# ------------------------------------------------------------------------------------------------ 503


def test_a_full_queue_gives_503_with_retry_after(make_client, monkeypatch):
    client = make_client(workers=1, queue=1)
    engine = client.app.state.engine
    release = threading.Event()
    real = engine.colorize

    def slow(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "colorize", slow)
    photo = files(encode(grey_photo()))
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda: answers.append(client.post("/api/colorize", files=photo).status_code))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    deadline = time.time() + 20
    while client.app.state.pool.busy < 2 and time.time() < deadline:
        time.sleep(0.02)
    assert client.app.state.pool.busy == 2
    refused = client.post("/api/colorize", files=photo)
    error = _one_line_error(refused, 503)
    assert "busy" in error and refused.headers["retry-after"] == "1"
    release.set()
    for thread in threads:
        thread.join(30)
    assert answers == [200, 200]
    assert client.app.state.pool.busy == 0
    assert client.post("/api/colorize", files=photo).status_code == 200


# --------------------------------------------------------------------------------------- nothing on disk


def test_uploads_are_never_written_to_disk(client, monkeypatch):
    """A 4 MB upload (over Starlette's 1 MB spooling threshold) with every way to write a file blocked."""

    def refuse(*args, **kwargs):
        raise AssertionError("the server tried to write a file")

    real_open = builtins.open

    def open_for_reading_only(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            raise AssertionError(f"the server tried to write {file!r}")
        return real_open(file, mode, *args, **kwargs)

    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile"):
        monkeypatch.setattr(tempfile, name, refuse)
    monkeypatch.setattr(builtins, "open", open_for_reading_only)
    noise = np.random.default_rng(0).integers(0, 255, (1200, 1200), dtype=np.uint8)
    data = encode(noise)
    assert len(data) > 1_200_000
    response = client.post("/api/colorize", files=files(data), data={"max_side": "64"})
    assert response.status_code == 200, response.text


# ---------------------------------------------------------------------------------------- Host and Origin


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", ""])
def test_a_host_this_server_does_not_serve_is_400(client, host):
    """DNS rebinding: a page on evil.example whose name now points at 127.0.0.1 sends `Host: evil.example`."""
    response = client.post("/api/colorize", files=files(encode(grey_photo())), headers={"Host": host})
    error = _one_line_error(response, 400)
    assert "is not served here" in error and "--allowed-host" in error
    assert client.get("/", headers={"Host": host}).status_code == 400  # the page too
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "localhost:1234", "[::1]:8000", "127.0.0.2"])
def test_the_loopback_names_are_served(client, host):
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_allowed_hosts_and_the_listening_address(make_client):
    client = make_client(host="192.168.1.20", allowed_hosts=["photos.lan"], token="t")
    auth = {"Authorization": "Bearer t"}
    for host in ("photos.lan", "PHOTOS.LAN:8000", "192.168.1.20:8000", "127.0.0.1"):
        assert client.get("/api/models", headers={**auth, "Host": host}).status_code == 200, host
    for host in ("192.168.1.21", "evil.example"):
        _one_line_error(client.get("/api/models", headers={**auth, "Host": host}), 400)
    # listening on every address: any address literal is this machine's, but names still need --allowed-host
    wildcard = make_client(host="0.0.0.0", token="t")
    assert wildcard.get("/api/models", headers={**auth, "Host": "10.1.2.3:8000"}).status_code == 200
    _one_line_error(wildcard.get("/api/models", headers={**auth, "Host": "evil.example"}), 400)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://127.0.0.1:9999"},  # another port is another origin
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_cross_origin_posts_are_403(client, headers):
    response = client.post("/api/colorize", files=files(encode(grey_photo())), headers=headers)
    assert "cross-origin request refused" in _one_line_error(response, 403)


def test_same_origin_posts_and_cross_origin_reads_pass(client):
    same = client.post(
        "/api/colorize", files=files(encode(grey_photo())), headers={"Origin": "http://127.0.0.1:8000"}
    )
    assert same.status_code == 200, same.text
    assert client.get("/healthz", headers={"Origin": "http://evil.example"}).status_code == 200


# ------------------------------------------------------------------------------------- fields and files


def test_a_file_field_sent_as_text_gets_the_friendly_line(client):
    """curl -F file=hello (no @): the field holds text, not a file."""
    error = _one_line_error(client.post("/api/colorize", files={"file": (None, "hello")}), 422)
    assert error == "file: send a file here, not text (curl -F file=@photo.jpg)"
    error = _one_line_error(
        client.post("/api/colorize", files=files(encode(grey_photo())), data={"reference": "hello"}), 422
    )
    assert error.startswith("reference: send a file here")


def test_hints_may_come_as_a_file_part(client):
    """curl -F hints=@photo.json: the page's saved hint file, sent as it is."""
    photo = encode(grey_photo(48, 64))
    hints = b'{"points": [{"x": 10, "y": 20, "color": "#1f4fa0"}]}'
    as_file = client.post("/api/colorize", files={**files(photo), **files(hints, "photo.json", "hints")})
    assert as_file.status_code == 200, as_file.text
    as_text = client.post("/api/colorize", files=files(photo), data={"hints": hints.decode()})
    assert as_file.content == as_text.content
    bad = client.post("/api/colorize", files={**files(photo), **files(b"\xff\xfe{", "h.json", "hints")})
    assert _one_line_error(bad, 422) == "hints: h.json is not UTF-8 text"


@pytest.mark.parametrize("hints", ["[" * 2000 + "]" * 2000, '{"points": ' + "[" * 2000 + "]" * 2000 + "}"])
def test_hints_nested_2000_deep_are_a_422(client, hints):
    response = client.post("/api/colorize", files=files(encode(grey_photo())), data={"hints": hints})
    assert _one_line_error(response, 422).startswith("hints:")


def test_the_bodies_held_at_once_are_bounded_by_the_bytes_received():
    """Bodies are read before a place is taken, so their memory has its own bound: the bytes received by all
    requests (a slow client holds only what it has sent); past it a 503, and a request's bytes are released
    when it ends."""
    import asyncio

    from deepcolor.serve.errors import ClientError
    from deepcolor.serve.pool import WorkPool

    async def scenario() -> None:
        pool = WorkPool(1, 0, retry_after_s=2, max_buffered_bytes=1000)
        try:
            async with pool.buffer() as first, pool.buffer() as second:
                first(600)
                second(300)
                assert pool.buffered == 900
                with pytest.raises(ClientError) as refused:
                    second(200)
                assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "2"
                assert "too many uploads" in refused.value.message and pool.buffered == 900
            assert pool.buffered == 0
        finally:
            pool.shutdown()

    asyncio.run(scenario())


def test_a_request_past_the_body_budget_is_503(make_client):
    client = make_client(workers=1, queue=0)
    client.app.state.pool.max_buffered_bytes = 20_000
    noise = np.random.default_rng(1).integers(0, 255, (200, 200), dtype=np.uint8)
    error = _one_line_error(client.post("/api/colorize", files=files(encode(noise))), 503)
    assert "too many uploads" in error
    assert client.app.state.pool.buffered == 0
    assert client.post("/api/colorize", files=files(encode(grey_photo()))).status_code == 200
