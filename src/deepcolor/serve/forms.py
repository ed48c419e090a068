"""Reading a multipart/form-data body into memory, with the size limits applied while it streams in.

Starlette's own form parser spools every upload over 1 MB to a temporary file on disk; an uploaded photo must
never touch the disk here, and the limits must hold before anything is decoded. So the body is fed, chunk by
chunk, to python-multipart's streaming parser, each part lands in a `bytearray`, and the request is refused
(413) the moment a part or the whole body grows past its limit. A declared Content-Length over the limit is
refused before a byte of the body is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from deepcolor.serve.errors import ClientError, ClientGone
from deepcolor.serve.settings import MAX_FIELD_BYTES, MAX_PARTS, MB


@dataclass
class Upload:
    """One file part: its bytes and what the client called it (a label for messages, never a path)."""

    data: bytearray
    filename: str
    content_type: str


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


def _mb(n: int) -> str:
    return f"{n / MB:.4g} MB"


def safe_label(filename: str, fallback: str = "upload") -> str:
    """The client's file name reduced to something safe to print: no folders, printable, at most 80 chars."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in "\"'<>`")
    return name.strip()[:80] or fallback


class _Collector:
    """python-multipart callbacks that gather the parts, enforcing the per-part limits."""

    def __init__(self, max_file_bytes: int) -> None:
        self.max_file_bytes = max_file_bytes
        self.form = Form()
        self.parts = 0
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._name = ""
        self._filename: str | None = None
        self._data = bytearray()

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise ClientError(422, f"too many form fields (at most {MAX_PARTS})")
        self._headers = {}
        self._data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", b""))
        name = options.get(b"name")
        if name is None:
            raise ClientError(422, "a form part has no name (Content-Disposition: form-data; name=...)")
        self._name = name.decode("utf-8", "replace")
        filename = options.get(b"filename")
        self._filename = None if filename is None else filename.decode("utf-8", "replace")
        if self._name in self.form.fields or self._name in self.form.files:
            raise ClientError(422, f"form field {self._name!r} given twice")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._data += data[start:end]
        if self._filename is not None:
            if len(self._data) > self.max_file_bytes:
                raise ClientError(
                    413, f"{self._name}: upload is over the limit of {_mb(self.max_file_bytes)}"
                )
        elif len(self._data) > MAX_FIELD_BYTES:
            raise ClientError(413, f"form field {self._name!r} is over the limit of {_mb(MAX_FIELD_BYTES)}")

    def on_part_end(self) -> None:
        if self._filename is not None:
            content_type = self._headers.get("content-type", b"").decode("latin-1")
            self.form.files[self._name] = Upload(
                self._data, safe_label(self._filename, self._name), content_type
            )
        else:
            try:
                self.form.fields[self._name] = self._data.decode("utf-8")
            except UnicodeDecodeError:
                raise ClientError(422, f"form field {self._name!r} is not UTF-8 text") from None
        self._data = bytearray()

    def callbacks(self) -> dict[str, object]:
        names = (
            "on_part_begin",
            "on_part_data",
            "on_part_end",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
        )
        return {name: getattr(self, name) for name in names}


async def read_form(
    request: Request,
    max_file_bytes: int,
    max_body_bytes: int,
    timeout_s: float | None = None,
    received: Callable[[int], None] | None = None,
) -> Form:
    """The multipart body of `request`, in memory.

    Args:
        request: the request, its body not read yet.
        max_file_bytes: the largest file part.
        max_body_bytes: the largest body.
        timeout_s: the whole body must arrive within this many seconds (None: no deadline).
        received: called with the size of each chunk as it arrives (the pool's count of bodies held; it
            raises a ClientError to refuse more).

    Raises:
        ClientError: 413 when the body or one of its parts is over the limits (the declared length is checked
            before reading); 422 when the body is not multipart/form-data or is malformed; 408 when it did
            not arrive within `timeout_s`.
        ClientGone: the client closed the connection before the body was complete.
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise ClientError(
            422, "send the image as multipart/form-data (a 'file' field), e.g. curl -F file=@photo.jpg"
        )
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise ClientError(422, "Content-Length is not a number") from None
        if length > max_body_bytes:
            raise ClientError(413, f"request of {_mb(length)} is over the limit of {_mb(max_body_bytes)}")
    collector = _Collector(max_file_bytes)
    parser = MultipartParser(options[b"boundary"], collector.callbacks())
    try:
        await asyncio.wait_for(_feed(request, parser, max_body_bytes, received), timeout_s)
    except asyncio.TimeoutError:
        raise ClientError(
            408, f"the request body did not arrive within {timeout_s:g} s", headers={"Connection": "close"}
        ) from None
    except ClientDisconnect:
        raise ClientGone("the client closed the connection during the upload") from None
    except MultipartParseError as error:
        raise ClientError(422, f"malformed multipart body ({error})") from None
    return collector.form


async def _feed(
    request: Request, parser: MultipartParser, max_body_bytes: int, received: Callable[[int], None] | None
) -> None:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > max_body_bytes:
            raise ClientError(413, f"request is over the limit of {_mb(max_body_bytes)}")
        if received is not None:
            received(len(chunk))
        parser.write(chunk)
    parser.finalize()
