"""The HTTP API: thin routes that read the form, take a place in the pool and call the engine.

Image operations take a multipart form (field `file`, the options as text fields) and answer with the image
bytes; errors are ``{"error": "<one line>"}`` with 401, 413, 415, 422, 501 or 503 (see `app.py`).
"""

from __future__ import annotations

import hmac
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
from deepcolor.serve.settings import Settings

_FILE = {"file": "The image (JPEG, PNG, TIFF, WebP, BMP, GIF)."}
_REFERENCE = {"reference": "Optional colour photo whose colours the result should follow."}
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        401: "missing or wrong bearer token (only when the server was started with --token)",
        413: "upload or pixel count over the server's limits (checked before decoding)",
        415: "the file is not a readable image",
        422: "a bad parameter or bad hints",
        501: "a feature this installation does not have yet (hints, reference, suggestions, uncertainty)",
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


async def _form(request: Request) -> Form:
    settings: Settings = request.app.state.settings
    return await read_form(request, settings.max_upload_bytes, settings.max_body_bytes)


def _file(form: Form, name: str = "file", required: bool = True) -> Upload | None:
    upload = form.files.get(name)
    if upload is None and name in form.fields:
        raise ClientError(422, f"{name}: send a file here, not text (curl -F {name}=@photo.jpg)")
    if upload is None and required:
        raise ClientError(422, f"{name}: required (the image, as a multipart file field)")
    return upload


def _text_fields(form: Form, files: tuple[str, ...]) -> dict[str, str]:
    unexpected = sorted(set(form.files) - set(files))
    if unexpected:
        raise ClientError(422, f"unknown file field {unexpected[0]!r}")
    return form.fields


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
    async with _pool(request).place():
        form = await _form(request)
        params = parse_params(ColorizeParams, _text_fields(form, ("file", "reference")))
        upload = _file(form)
        result = await _pool(request).run(
            _engine(request).colorize, upload, params, _file(form, "reference", required=False)
        )
    return _image_response(result, "colorized")


@router.post(
    "/enhance",
    response_class=Response,
    responses=_IMAGE,
    openapi_extra=multipart_schema(EnhanceParams, _FILE),
)
async def enhance(request: Request) -> Response:
    """Revive the dull or faded colours of a photo."""
    async with _pool(request).place():
        form = await _form(request)
        params = parse_params(EnhanceParams, _text_fields(form, ("file",)))
        result = await _pool(request).run(_engine(request).enhance, _file(form), params)
    return _image_response(result, "enhanced")


@router.post(
    "/decolorize",
    response_class=Response,
    responses=_IMAGE,
    openapi_extra=multipart_schema(DecolorizeParams, _FILE),
)
async def decolorize(request: Request) -> Response:
    """Colour to grey, keeping the colour contrast that plain luma loses."""
    async with _pool(request).place():
        form = await _form(request)
        params = parse_params(DecolorizeParams, _text_fields(form, ("file",)))
        result = await _pool(request).run(_engine(request).decolorize, _file(form), params)
    return _image_response(result, "grey")


@router.post(
    "/suggest",
    response_model=SuggestResponse,
    openapi_extra=multipart_schema(SuggestParams, {**_FILE, **_REFERENCE}),
)
async def suggest(request: Request) -> dict[str, Any]:
    """The model's most likely colours at one point of the photo: what a colour picker offers first."""
    async with _pool(request).place():
        form = await _form(request)
        params = parse_params(SuggestParams, _text_fields(form, ("file", "reference")))
        reference = _file(form, "reference", required=False)
        return await _pool(request).run(_engine(request).suggest, _file(form), params, reference)


@router.post(
    "/uncertainty",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "RGBA heat map, input size."}},
    openapi_extra=multipart_schema(UncertaintyParams, {**_FILE, **_REFERENCE}),
)
async def uncertainty(request: Request) -> Response:
    """Where the model is unsure (where a hint would help most), as a transparent-to-red PNG overlay."""
    async with _pool(request).place():
        form = await _form(request)
        params = parse_params(UncertaintyParams, _text_fields(form, ("file", "reference")))
        result = await _pool(request).run(
            _engine(request).uncertainty, _file(form), params, _file(form, "reference", required=False)
        )
    return _image_response(result, "uncertainty")


@router.get("/models", response_model=ModelsResponse)
async def models(request: Request) -> dict[str, Any]:
    """The models a request may name, the features this installation has, and the upload limits."""
    engine = _engine(request)
    settings: Settings = request.app.state.settings
    rows = engine.models()
    return {
        "default": next(row.name for row in rows if row.default),
        "models": rows,
        "features": engine.features.as_dict(),
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
