"""The app factory: `create_app(settings)` builds the FastAPI app; the models load once in its lifespan.

Errors: a `ClientError` from anywhere becomes its status with ``{"error": "<one line>"}``; FastAPI's own
validation errors and Starlette's 404 / 405 get the same body; a client that left mid-upload (`ClientGone`)
is one line in the log; anything else is the server's fault: a 500 with a one-line body, and the traceback
in the server's log.

Before any route runs, `RequestGuard` refuses a Host header this server does not serve (400: DNS rebinding)
and a cross-origin POST (403: a form or script on another site posting to this one).
"""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import deepcolor
from deepcolor.errors import DeepcolorError
from deepcolor.serve.errors import ClientError, ClientGone, one_line
from deepcolor.serve.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
log = logging.getLogger("deepcolor.serve")

# The page uses nothing but its own files: no CDN, no inline script, nothing fetched from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


class SecurityHeaders:
    """Adds nosniff and the page's Content-Security-Policy to every response. A plain ASGI middleware:
    Starlette's BaseHTTPMiddleware reads from the request while the route runs, which would answer an
    ``Expect: 100-continue`` before the route has looked at the declared size."""

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    ]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in self.HEADERS if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def host_name(host: str) -> str:
    """A Host header's name without its port: ``"127.0.0.1:8000"`` -> ``"127.0.0.1"``, ``"[::1]:80"`` ->
    ``"[::1]"``."""
    host = host.strip()
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class RequestGuard:
    """Refuses, before anything else runs, a request whose Host header names a host this server does not
    serve (400; `Settings.host_allowed`), and a state-changing request from another site's page (403: an
    ``Origin`` other than the Host it is sent to, or ``Sec-Fetch-Site: cross-site``). A plain ASGI
    middleware, as `SecurityHeaders`."""

    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def problem(self, scope: Scope) -> tuple[int, str] | None:
        """(status, one line) for a request to refuse, else None."""
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        name = host_name(host)
        if not self.settings.host_allowed(name):
            shown = name[:80] or "(none)"
            return 400, (
                f"Host {shown!r} is not served here (this server answers to {self.settings.host} and the "
                "loopback names; deepcolor serve --allowed-host NAME adds one)"
            )
        if scope["method"] in self.SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None:
            netloc = urlsplit(origin).netloc.lower() if origin != "null" else ""
            if netloc != host.strip().lower():
                return 403, f"cross-origin request refused (Origin {origin[:80]!r} is not this server)"
        elif headers.get("sec-fetch-site", "").lower() == "cross-site":
            return 403, "cross-origin request refused (Sec-Fetch-Site: cross-site)"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = self.problem(scope)
            if refused is not None:
                await _error(*refused)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": one_line(message)}, status_code=status, headers=headers)


def _lifespan(settings: Settings):  # noqa: ANN202 - FastAPI's lifespan type is a callable of the app
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from deepcolor.serve.engine import Engine
        from deepcolor.serve.pool import WorkPool
        from deepcolor.serve.videos import VideoJobs

        if settings.torch_threads is not None:  # once, before any model or session is made
            import torch

            torch.set_num_threads(settings.torch_threads)
        app.state.engine = Engine(settings)
        # the bodies held at once: as many as could be in the pool, each of the largest size
        capacity = settings.workers + (settings.queue or 0)
        app.state.pool = WorkPool(
            settings.workers, settings.queue or 0, settings.retry_after_s, capacity * settings.max_body_bytes
        )
        app.state.videos = VideoJobs(settings, app.state.engine.colorizers["default"])
        try:
            yield
        finally:
            app.state.videos.shutdown()
            app.state.pool.shutdown()

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    """The deepcolor web service: the page at /, the API under /api, /healthz, /docs and /openapi.json.

    Args:
        settings: the server's configuration (None: the defaults).
    """
    from deepcolor.serve.routes import health_router, router
    from deepcolor.serve.videos import video_router

    settings = settings or Settings()
    app = FastAPI(
        title="deepcolor",
        version=deepcolor.__version__,
        summary="Colorize, enhance and decolorize photos on this machine; nothing leaves it.",
        lifespan=_lifespan(settings),
        docs_url=None,  # FastAPI's docs pages load their scripts from a CDN; ours is served from static/
        redoc_url=None,
    )
    app.state.settings = settings

    @app.exception_handler(ClientError)
    async def client_error(request: Request, error: ClientError) -> JSONResponse:
        return _error(error.status, error.message, error.headers)

    @app.exception_handler(ClientGone)
    async def client_gone(request: Request, error: ClientGone) -> Response:
        log.warning("deepcolor serve: %s %s: %s", request.method, request.url.path, error)
        return Response(status_code=400)  # nobody reads it: the connection is closed

    @app.exception_handler(DeepcolorError)
    async def user_error(request: Request, error: DeepcolorError) -> JSONResponse:
        return _error(422, one_line(error))  # what the library says a user got wrong: never a 500

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return _error(422, f"{where or 'request'}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        message = f"{request.url.path}: not found" if error.status_code == 404 else str(error.detail)
        return _error(error.status_code, message, getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> JSONResponse:
        log.exception("deepcolor serve: %s %s failed", request.method, request.url.path)
        return _error(500, f"internal error ({type(error).__name__}); the server's log has the details")

    app.add_middleware(RequestGuard, settings=settings)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so the guard's refusals carry it too
    app.include_router(router)
    app.include_router(video_router)
    app.include_router(health_router)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    docs_page = (STATIC_DIR / "docs.html").read_text(encoding="utf-8")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        """The API's page, its curl lines addressed to this server as the browser reached it."""
        origin = html.escape(f"{request.url.scheme}://{request.headers.get('host', '127.0.0.1')}", quote=True)
        auth = " -H 'Authorization: Bearer TOKEN'" if settings.token else ""
        return HTMLResponse(docs_page.replace("{origin}", origin).replace("{auth}", auth))

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
