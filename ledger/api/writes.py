"""The HTTP door of ``ledger.access.service``: a route takes a ``Door``, builds a ``Write`` and answers
with ``door.respond(write, body)``.

A first request answers with the route's status (201 for a creation); a retry under the same
``Idempotency-Key`` answers 200 with the same body and writes nothing (DESIGN §3).
"""

from dataclasses import dataclass, replace
from typing import Annotated, Any, Self

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from ledger.access.auth import Principal
from ledger.access.service import Write, carry_out
from ledger.api.deps import CurrentUser, EngineDep, IdempotencyKey, client_addr


def as_json(value: Any) -> Any:
    """A route's answer (pydantic models, dataclasses, dates, Decimals) as plain JSON data."""
    return jsonable_encoder(value)


def fingerprint(request: Request, body: Any = None) -> dict[str, Any]:
    """What a retry must repeat: the path (with its ids), the query and the parsed body."""
    return {
        "path": request.url.path,
        "query": sorted(request.query_params.multi_items()),
        "body": as_json(body),
    }


@dataclass(frozen=True)
class WriteDoor:
    """What a write route carries its ``Write`` out with: the caller, the engine, the request and the
    request's ``Idempotency-Key``."""

    user: Principal
    engine: Engine
    request: Request
    key: str | None

    def keyed(self, body_key: str | None) -> Self:
        """The door keyed by the ``Idempotency-Key`` header or, without one, by the body's own key."""
        return replace(self, key=self.key or body_key)

    def respond(self, write: Write[Any], body: Any = None) -> JSONResponse:
        """Carry out ``write`` for the request; ``body`` is the route's parsed body, so that a key stored
        when this door fingerprinted the path and body (before the services named their requests) is
        replayed."""
        shape = write.answer
        write = replace(write, answer=lambda result: as_json(shape(result)))  # dates, Decimals → JSON
        as_before = fingerprint(self.request, body)
        if write.request != as_before:
            write = replace(write, former_requests=(*write.former_requests, as_before))
        answer = carry_out(self.engine, self.user, write, key=self.key, remote_addr=client_addr(self.request))
        return JSONResponse(answer.body, status_code=answer.status)


def write_door(user: CurrentUser, engine: EngineDep, request: Request, key: IdempotencyKey) -> WriteDoor:
    return WriteDoor(user, engine, request, key)


Door = Annotated[WriteDoor, Depends(write_door)]
