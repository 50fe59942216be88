"""Every text a request carries is free of NUL and control characters (``ledger.books.text``), checked
here once for the whole app, before any route or page reads it: the path, every query name and value,
every string (and key) of a JSON body, every field of a urlencoded form. The answer is the one error
shape, a 422 naming the field (``lines[2].memo``, the query parameter, ``path``).

Multipart bodies (statement and catalogue files) pass through: a file's cells are the importers' to
clean, and their few form fields are checked where they are read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.api.errors import error_body
from ledger.books.text import control_character

# A JSON string can hold a control character only as an escape (a raw one is invalid JSON), or a C1
# character as raw UTF-8: this finds every candidate in the raw bytes, so clean bodies are never parsed.
# A hit is confirmed on the parsed body (``"\\u0000"`` is a backslash and text, not a NUL).
_JSON_SUSPECT = re.compile(rb"\\u00[0189][0-9a-fA-F]|\\u007[fF]|\\[bf]|\xc2[\x80-\x9f]")


def _found(field: str, text: str) -> tuple[str, str] | None:
    bad = control_character(text)
    return None if bad is None else (field, bad)


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path or "body", value
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            yield (path or "body"), str(key)
            yield from _walk(item, child)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def json_problem(body: bytes) -> tuple[str, str] | None:
    """(field, character) of the first control character in a JSON body's strings, or None."""
    if not _JSON_SUSPECT.search(body):
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        return None  # not JSON: the route's own parser answers 422
    for field, text in _walk(doc, ""):
        if (problem := _found(field[:100], text)) is not None:
            return problem
    return None


def pairs_problem(pairs: list[tuple[str, str]], default: str) -> tuple[str, str] | None:
    for name, value in pairs:
        if (problem := _found(default, name)) is not None:
            return problem
        if (problem := _found(name[:100], value)) is not None:
            return problem
    return None


class TextGuard:
    """ASGI middleware: refuse a request whose text holds a control character (422, the field named)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        problem = _found("path", scope.get("path", ""))
        if problem is None and query:  # most requests (every sale) carry none
            problem = pairs_problem(
                parse_qsl(query.decode("latin-1"), keep_blank_values=True, errors="replace"), "query"
            )
        if problem is None:
            kind = _content_type(scope)
            if kind in ("application/json", "application/x-www-form-urlencoded") or kind.endswith("+json"):
                body = await _read_body(receive)
                if kind == "application/x-www-form-urlencoded":
                    problem = pairs_problem(
                        parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True), "form"
                    )
                else:
                    problem = json_problem(body)
                receive = _replay(body, receive)
        if problem is not None:
            field, character = problem
            response = JSONResponse(
                error_body("invalid_text", f"text may not hold control characters ({character})", field),
                status_code=422,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
