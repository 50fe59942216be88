"""The HTTP door of ``ledger.access.service``: a route builds a ``Write`` and answers with ``respond``.

A first request answers with the route's status (201 for a creation); a retry under the same
``Idempotency-Key`` answers 200 with the same body and writes nothing (DESIGN §3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, Engine

from ledger.access.auth import Principal
from ledger.access.service import Write, carry_out, org_keys
from ledger.api.deps import client_addr


def as_json(value: Any) -> Any:
    """A route's answer (pydantic models, dataclasses, dates, Decimals) as plain JSON data."""
    return jsonable_encoder(value)


def respond(
    engine: Engine, user: Principal, request: Request, key: str | None, write: Write[Any], body: Any = None
) -> JSONResponse:
    """Carry out ``write`` for the request; ``body`` is the route's parsed body, so that a key stored when
    this door fingerprinted the path and body (before the services named their requests) is replayed."""
    shape = write.answer
    write = replace(write, answer=lambda result: as_json(shape(result)))  # dates, Decimals → JSON
    as_before = fingerprint(request, body)
    if write.request != as_before:
        write = replace(write, former_requests=(*write.former_requests, as_before))
    answer = carry_out(engine, user, write, key=key, remote_addr=client_addr(request))
    return JSONResponse(answer.body, status_code=answer.status)


def fingerprint(request: Request, body: Any = None) -> dict[str, Any]:
    """What a retry must repeat: the path (with its ids), the query and the parsed body."""
    return {
        "path": request.url.path,
        "query": sorted(request.query_params.multi_items()),
        "body": as_json(body),
    }


def write_org(
    engine: Engine,
    user: Principal,
    request: Request,
    key: str | None,
    *,
    org_id: int,
    action: str,
    run: Callable[[Connection], Any],
    body: Any = None,
    answer: Callable[[Any], Any] = lambda result: result,
    detail: Callable[[Any], str | None] | str = "",
    status: int | Callable[[Any], int] = 201,
    scope: Callable[[Connection], object] | None = None,
) -> JSONResponse:
    """A write to one org's books: by default the actor must be allowed to change that org."""
    write = Write(
        action=action,
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=scope or (lambda conn: user.require_org(conn, org_id, write=True)),
        run=run,
        answer=lambda result: as_json(answer(result)),
        request=fingerprint(request, body),
        detail=detail,
        status=status,
    )
    return respond(engine, user, request, key, write, body)
