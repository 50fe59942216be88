"""Request bodies are size-limited per route before anything reads them (DESIGN §9).

A pure ASGI middleware, outside the router: a body whose ``Content-Length`` is over its route's limit is
answered 413 at once, before a byte of it is read, parsed or authenticated; a body without a length
(chunked) is counted as it streams and cut off with 413 as soon as it passes the limit, so a client cannot
make the server hold or parse more than the limit however it sends.

Limits, by method and path (the first rule that matches): a sale is small, a batch of them and an entry of
up to 1,000 lines larger, statement and catalogue uploads take ``settings.max_upload_bytes`` plus room for
the multipart envelope (the upload routes keep their own exact check of the file), anything else
``DEFAULT_LIMIT``. GET, HEAD and OPTIONS carry no body worth reading and are not counted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from fastapi import HTTPException  # FastAPI re-raises its own while reading a body (any other → 400)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
MIB = 1024 * KIB
DEFAULT_LIMIT = 256 * KIB
MULTIPART_ROOM = 64 * KIB
UPLOAD = -1  # stands for settings.max_upload_bytes + MULTIPART_ROOM

RULES: tuple[tuple[str, str, int], ...] = (
    # A sale of 500 plain lines (the schema's most) is ~50 KiB; long override reasons on every line are not.
    (r"POST", r"/api/v1/pos/sales", 128 * KIB),
    (r"POST", r"/api/v1/pos/sales:batch", 2 * MIB),
    (r"POST", r"/api/v1/pos/sales/\d+/refunds", 128 * KIB),
    (r"PUT", r"/api/v1/pos/orgs/\d+/products", 4 * MIB),  # a whole catalogue in one request
    (r"POST", r"/api/v1/orgs/\d+/entries", 512 * KIB),
    (r"POST", r"/api/v1/linked-entries", 1 * MIB),
    (r"POST", r"/api/v1/orgs/\d+/statements", UPLOAD),
    (r"POST", r"/api/v1/pos/orgs/\d+/products:import", UPLOAD),
    (r"POST", r"/web/orgs/\d+/statements/upload", UPLOAD),
)
UNCOUNTED_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyTooLarge(HTTPException):
    """413 through the app's own error handlers (JSON for the API, the error page for the pages)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than this route takes ({limit} bytes)")
        self.limit = limit


class BodyLimit:
    def __init__(
        self, app: ASGIApp, *, upload_bytes: int, rules: Sequence[tuple[str, str, int]] = RULES
    ) -> None:
        self.app = app
        upload = upload_bytes + MULTIPART_ROOM
        self.rules = [
            (method, re.compile(path), upload if limit == UPLOAD else limit) for method, path, limit in rules
        ]

    def limit_for(self, method: str, path: str) -> int:
        for rule_method, pattern, limit in self.rules:
            if method == rule_method and pattern.fullmatch(path):
                return limit
        return DEFAULT_LIMIT

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in UNCOUNTED_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "body_too_large",
                "message": f"the request body is larger than this route takes ({limit} bytes)",
                "field": None,
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
