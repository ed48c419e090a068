"""`deepcolor serve` for real: a subprocess on a free loopback port, requests over HTTP, SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time

import httpx2 as httpx
import pytest

from .helpers import Server, decoded, encode, files, grey_photo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    running = Server("--workers", "2", "--max-upload-mb", "1", "--body-timeout", "4")
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


# ------------------------------------------------------------------------------------ slow and odd clients


def _upload_head(port: int, length: int, host: str = "127.0.0.1") -> bytes:
    return (
        f"POST /api/colorize HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {length}\r\n"
        "Content-Type: multipart/form-data; boundary=abc\r\n\r\n"
        '--abc\r\nContent-Disposition: form-data; name="file"; filename="slow.png"\r\n\r\n'
    ).encode()


def _dribble(port: int, stop: threading.Event, answers: list[str], every_s: float) -> None:
    """A slow client: headers, then a byte every `every_s` seconds (at most 40) until `stop` or an answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(_upload_head(port, 10_000))
        s.settimeout(every_s)
        answer = b""
        for _ in range(40):
            if stop.is_set():
                break
            try:
                s.sendall(b"x")
                answer += s.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if answer:
                break
        s.settimeout(10)
        while answer and b'"}' not in answer:  # the status line and headers, then the one-line JSON body
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
        answers.append(answer.decode("latin-1"))


def test_slow_uploads_hold_no_place(server):
    """Ten clients sending a byte every 2 s: before, each held one of the 10 places (2 workers + 8 waiting)
    and every real request got 503; now they hold nothing, and the body timeout (4 s) ends them with 408."""
    stop = threading.Event()
    answers: list[str] = []
    slow = [
        threading.Thread(target=_dribble, args=(server.port, stop, answers, 2.0), daemon=True)
        for _ in range(10)
    ]
    for thread in slow:
        thread.start()
    try:
        time.sleep(1.0)  # every slow client has sent its headers and is in its route
        photo = encode(grey_photo(48, 64))
        with httpx.Client(base_url=server.url, timeout=60) as http:
            assert http.get("/healthz").json()["busy"] == 0
            codes = [http.post("/api/colorize", files=files(photo)).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
    finally:
        for thread in slow:
            thread.join(20)  # the body timeout ends them within 4 s (+ a byte's wait)
        stop.set()
    assert len(answers) == 10
    assert all(answer.startswith("HTTP/1.1 408") for answer in answers), answers
    assert all("did not arrive within 4 s" in answer for answer in answers)


def test_a_client_leaving_mid_upload_is_one_quiet_line(server):
    before = server.stderr()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(_upload_head(server.port, 100_000) + b"x" * 1000)
        time.sleep(0.5)
    deadline = time.monotonic() + 10
    while server.stderr() == before and time.monotonic() < deadline:
        time.sleep(0.1)
    new = server.stderr()[len(before) :]
    assert new.count("\n") == 1, new
    assert "POST /api/colorize: the client closed the connection during the upload" in new
    assert "Traceback" not in new and "ClientDisconnect" not in new


def test_a_foreign_host_header_is_refused_over_http(server):
    """curl -H 'Host: evil.example' -F file=@x .../api/colorize: a DNS-rebound page's request."""
    photo = files(encode(grey_photo()))
    with httpx.Client(base_url=server.url, timeout=60) as http:
        evil = http.post("/api/colorize", files=photo, headers={"Host": "evil.example"})
        assert evil.status_code == 400 and "'evil.example' is not served here" in evil.json()["error"]
        cross = http.post("/api/colorize", files=photo, headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403 and "cross-origin" in cross.json()["error"]
        local = http.post("/api/colorize", files=photo, headers={"Host": f"localhost:{server.port}"})
        assert local.status_code == 200


def test_a_port_in_use_is_one_line_and_exit_2():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "deepcolor", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"deepcolor: port {port} is in use\n"
