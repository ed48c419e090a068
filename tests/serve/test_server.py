"""`deepcolor serve` for real: a subprocess on a free loopback port, requests over HTTP, SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading

import httpx2 as httpx
import pytest

from .helpers import Server, decoded, encode, files, grey_photo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    running = Server("--workers", "2", "--max-upload-mb", "1")
    yield running
    running.stop()


def test_page_api_and_docs_over_http(server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        page = http.get("/")
        assert page.status_code == 200 and "deepcolor" in page.text
        assert http.get("/docs").status_code == 200
        assert "/api/colorize" in http.get("/openapi.json").json()["paths"]
        response = http.post(
            "/api/colorize", files=files(encode(grey_photo(90, 120))), data={"max_side": "60"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/png"
        assert (decoded(response.content).width, decoded(response.content).height) == (60, 45)
        assert "server" not in response.headers  # no server banner
        bad = http.post("/api/colorize", files=files(b"just text", "notes.jpg"))
        assert bad.status_code == 415 and bad.json() == {
            "error": "notes.jpg: not an image (it looks like a text file)"
        }


def test_concurrent_requests(server):
    photo = encode(grey_photo(64, 80))
    codes: list[int] = []

    def one() -> None:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            codes.append(http.post("/api/colorize", files=files(photo)).status_code)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    assert sorted(codes) == [200] * 6  # 2 working + 4 waiting: within the default queue (8)


def test_an_upload_over_the_limit_is_refused_before_it_is_read(server):
    """10 MB against --max-upload-mb 1: the headers say it all; the answer comes without reading the body
    (no ``100 Continue``: the client never sends it)."""
    body_size = 10 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(
            (
                f"POST /api/colorize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {body_size}\r\n"
                "Content-Type: multipart/form-data; boundary=abc\r\nExpect: 100-continue\r\n\r\n"
            ).encode()
        )
        answer = b""
        while b'"}' not in answer:  # the status line and headers, then the one-line JSON body
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        answer = answer.decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer
    assert '{"error":"request of 10 MB is over the limit of' in answer


def test_sigterm_shuts_down_cleanly():
    running = Server("--workers", "1")
    with httpx.Client(base_url=running.url, timeout=60) as http:
        assert http.post("/api/colorize", files=files(encode(grey_photo()))).status_code == 200
    code = running.stop()
    log = running.stderr()
    assert code in (0, -signal.SIGTERM, 128 + signal.SIGTERM), log
    assert "deepcolor: serving on http://127.0.0.1:" in log and "deepcolor: stopped" in log
    assert "Traceback" not in log and "ERROR" not in log, log
    with socket.socket() as s:  # nothing listens on the port any more
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", running.port))


def test_other_hosts_need_a_token():
    result = subprocess.run(
        [sys.executable, "-m", "deepcolor", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--token" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_model_is_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "deepcolor", "serve", "--model", "nope.safetensors"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("deepcolor: nope.safetensors:") and result.stderr.count("\n") == 1
