"""FastAPI dependencies as type aliases: the engine, the caller, the idempotency key."""

from typing import Annotated

from fastapi import Depends, Header, Request

from ledger.access.auth import Principal, principal_for_token, principal_for_user
from ledger.books.errors import Unauthenticated, ValidationError
from ledger.db.engine import read_tx
from ledger.http import EngineDep, client_addr, get_engine  # noqa: F401  (the routes' dependencies)


def current_principal(request: Request, engine: EngineDep) -> Principal:
    """The caller, from ``Authorization: Bearer <token>`` or the web session cookie."""
    header = request.headers.get("authorization", "")
    with read_tx(engine) as conn:
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("use 'Authorization: Bearer <token>'")
            hours = request.app.state.settings.till_token_hours
            return principal_for_token(conn, token.strip(), till_token_hours=hours)
        user_id = getattr(request.state, "session_user_id", None)
        if user_id is not None:
            logged_in_at = getattr(request.state, "session_logged_in_at", 0)
            return principal_for_user(conn, user_id, logged_in_at=logged_in_at)
    raise Unauthenticated("log in, or send 'Authorization: Bearer <token>'")


CurrentUser = Annotated[Principal, Depends(current_principal)]


def idempotency_key(
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str | None:
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 128:
        raise ValidationError("an idempotency key has 1 to 128 characters", field="Idempotency-Key")
    return idempotency_key


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
