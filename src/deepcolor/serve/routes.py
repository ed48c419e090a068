"""The HTTP API: thin routes that read the form, then take a place in the pool and call the engine.

Image operations take a multipart form (field `file`, the options as text fields; `hints` may also come as a
file part, the page's saved hint file) and answer with the image bytes; errors are ``{"error": "<one line>"}``
with 400, 401, 403, 408, 413, 415, 422 or 503 (see `app.py`). The body is read in full before a place is
taken, so a slow upload never holds a worker or a waiting place.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

import deepcolor
from deepcolor.serve.engine import Engine, Result
from deepcolor.serve.errors import ClientError
from deepcolor.serve.forms import Form, Upload, read_form
from deepcolor.serve.pool import WorkPool
from deepcolor.serve.schemas import (
    ColorizeParams,
    DecolorizeParams,
    EnhanceParams,
    ErrorBody,
    Health,
    ModelsResponse,
    SuggestParams,
    SuggestResponse,
    UncertaintyParams,
    multipart_schema,
    parse_params,
)
from deepcolor.serve.settings import MAX_FIELD_BYTES, Settings

# Text fields that may also come as a file part (curl -F hints=@photo.json: the page's saved hint file).
TEXT_FILE_FIELDS = ("hints",)
_FILE = {"file": "The image (JPEG, PNG, TIFF, WebP, BMP, GIF)."}
_REFERENCE = {"reference": "Optional colour photo whose colours the result should follow."}
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        400: "a Host header this server does not serve (see --allowed-host)",
        401: "missing or wrong bearer token (only when the server was started with --token)",
        403: "a cross-origin request (another site's page posting here)",
        408: "the request body did not arrive within the server's body timeout",
        413: "upload or pixel count over the server's limits (checked before decoding)",
        415: "the file is not a readable image",
        422: "a bad parameter or bad hints, or guidance for a model that takes none",
        503: "the work queue is full; retry after the Retry-After header's seconds",
    }.items()
}
_IMAGE = {
    200: {
        "content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}},
        "description": "The result image.",
    }
}


def _check_token(request: Request) -> None:
    settings: Settings = request.app.state.settings
    if settings.token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), settings.token.encode()):
        raise ClientError(
            401,
            "this server needs a bearer token (Authorization: Bearer TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )


router = APIRouter(prefix="/api", dependencies=[Depends(_check_token)], responses=_ERRORS)


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _pool(request: Request) -> WorkPool:
    return request.app.state.pool


async def _form(request: Request, received: Callable[[int], None]) -> Form:
    """The whole body, read before the request takes a place in the pool (within the body timeout), its
    bytes counted by the pool's `buffer` as they arrive."""
    settings: Settings = request.app.state.settings
    return await read_form(
        request, settings.max_upload_bytes, settings.max_body_bytes, settings.body_timeout_s, received
    )


def _file(form: Form, name: str = "file", required: bool = True) -> Upload | None:
    upload = form.files.get(name)
    if upload is None and name in form.fields:
        raise ClientError(422, f"{name}: send a file here, not text (curl -F {name}=@photo.jpg)")
    if upload is None and required:
        raise ClientError(422, f"{name}: required (the image, as a multipart file field)")
    return upload


def _text_fields(form: Form, files: tuple[str, ...]) -> dict[str, str]:
    """The options: the text fields, and the `TEXT_FILE_FIELDS` sent as files (their UTF-8 text). A file
    field sent as text is told how to send a file."""
    for name in files:
        if name in form.fields:
            raise ClientError(422, f"{name}: send a file here, not text (curl -F {name}=@photo.jpg)")
    fields = dict(form.fields)
    for name in sorted(set(form.files) - set(files)):
        upload = form.files[name]
        if name not in TEXT_FILE_FIELDS:
            raise ClientError(422, f"unknown file field {name!r}")
        if len(upload.data) > MAX_FIELD_BYTES:
            raise ClientError(413, f"{name}: {upload.filename} is over the limit of {MAX_FIELD_BYTES} bytes")
        try:
            fields[name] = upload.data.decode("utf-8")
        except UnicodeDecodeError:
            raise ClientError(422, f"{name}: {upload.filename} is not UTF-8 text") from None
    return fields


def _image_response(result: Result, stem: str) -> Response:
    headers = {
        "Cache-Control": "no-store",
        "Content-Disposition": f'inline; filename="{stem}{result.encoded.extension}"',
        **result.headers,
    }
    return Response(result.encoded.data, media_type=result.encoded.media_type, headers=headers)


@router.post(
    "/colorize",
    response_class=Response,
    responses=_IMAGE,
    openapi_extra=multipart_schema(ColorizeParams, {**_FILE, **_REFERENCE}),
)
async def colorize(request: Request) -> Response:
    """Colorize a grey photo (a colour photo is colorized from its lightness)."""
    async with _pool(request).buffer() as received:
        form = await _form(request, received)
        params = parse_params(ColorizeParams, _text_fields(form, ("file", "reference")))
        upload, reference = _file(form), _file(form, "reference", required=False)
        async with _pool(request).place():
            result = await _pool(request).run(_engine(request).colorize, upload, params, reference)
    return _image_response(result, "colorized")


@router.post(
    "/enhance",
    response_class=Response,
    responses=_IMAGE,
    openapi_extra=multipart_schema(EnhanceParams, _FILE),
)
async def enhance(request: Request) -> Response:
    """Revive the dull or faded colours of a photo."""
    async with _pool(request).buffer() as received:
        form = await _form(request, received)
        params = parse_params(EnhanceParams, _text_fields(form, ("file",)))
        upload = _file(form)
        async with _pool(request).place():
            result = await _pool(request).run(_engine(request).enhance, upload, params)
    return _image_response(result, "enhanced")


@router.post(
    "/decolorize",
    response_class=Response,
    responses=_IMAGE,
    openapi_extra=multipart_schema(DecolorizeParams, _FILE),
)
async def decolorize(request: Request) -> Response:
    """Colour to grey, keeping the colour contrast that plain luma loses."""
    async with _pool(request).buffer() as received:
        form = await _form(request, received)
        params = parse_params(DecolorizeParams, _text_fields(form, ("file",)))
        upload = _file(form)
        async with _pool(request).place():
            result = await _pool(request).run(_engine(request).decolorize, upload, params)
    return _image_response(result, "grey")


@router.post(
    "/suggest",
    response_model=SuggestResponse,
    openapi_extra=multipart_schema(SuggestParams, {**_FILE, **_REFERENCE}),
)
async def suggest(request: Request) -> dict[str, Any]:
    """The model's most likely colours at one point of the photo: what a colour picker offers first."""
    async with _pool(request).buffer() as received:
        form = await _form(request, received)
        params = parse_params(SuggestParams, _text_fields(form, ("file", "reference")))
        upload, reference = _file(form), _file(form, "reference", required=False)
        async with _pool(request).place():
            return await _pool(request).run(_engine(request).suggest, upload, params, reference)


@router.post(
    "/uncertainty",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "RGBA heat map, input size."}},
    openapi_extra=multipart_schema(UncertaintyParams, {**_FILE, **_REFERENCE}),
)
async def uncertainty(request: Request) -> Response:
    """Where the model is unsure (where a hint would help most), as a PNG overlay: clear where it is sure,
    through the colours of `deepcolor colorize --uncertainty`'s map to yellow where it is least sure."""
    async with _pool(request).buffer() as received:
        form = await _form(request, received)
        params = parse_params(UncertaintyParams, _text_fields(form, ("file", "reference")))
        upload, reference = _file(form), _file(form, "reference", required=False)
        async with _pool(request).place():
            result = await _pool(request).run(_engine(request).uncertainty, upload, params, reference)
    return _image_response(result, "uncertainty")


@router.get("/models", response_model=ModelsResponse)
async def models(request: Request) -> dict[str, Any]:
    """The models a request may name, the guidance the default model takes, and the upload limits."""
    engine = _engine(request)
    settings: Settings = request.app.state.settings
    rows = engine.models()
    return {
        "default": next(row.name for row in rows if row.default),
        "models": rows,
        "features": engine.features,
        "limits": {"max_upload_mb": settings.max_upload_mb, "max_pixels": settings.max_pixels},
    }


health_router = APIRouter()


@health_router.get("/healthz", response_model=Health)
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness: the models are loaded and the pool is running."""
    pool = _pool(request)
    return {
        "status": "ok",
        "version": deepcolor.__version__,
        "workers": pool.workers,
        "queue": pool.queue,
        "busy": pool.busy,
    }
