"""The one exception type for what a client got wrong (a 4xx, or a 503, with a one-line JSON body), and the
one for a client that went away before its request was read."""

from __future__ import annotations


class ClientError(Exception):
    """A request the server refuses, with the HTTP status and one line saying why.

    Args:
        status: 400, 401, 403, 408, 413, 415, 422, 503, ...
        message: one line (newlines and runs of spaces are collapsed).
        headers: extra response headers (``Retry-After`` for a 503).
    """

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.message = " ".join(str(message).split())
        self.headers = headers or {}
        super().__init__(self.message)


class ClientGone(Exception):
    """The client closed the connection before its request body was read: nothing to answer, one log line."""


def one_line(text: object, limit: int = 300) -> str:
    """`text` on one line, at most `limit` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
