"""What every HTTP door (the API's routes, the web pages, the till) shares: the engine of the app, the
caller's address, and how a rendered file is named in a download. Holds no rule and no query."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy import Engine


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def client_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def content_disposition(filename: str, display_name: str, *, inline: bool = False) -> str:
    """An ASCII name for old clients and the UTF-8 name (RFC 6266 / 5987) for the rest."""
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{filename}\"; filename*=UTF-8''{quote(display_name, safe='')}"
