"""Keeping users over HTTP (admin only): list, disable, enable, issue and revoke tokens.

Thin adapters over the ``Write``s of ``ledger.access.users``, carried out through the one write path with
the request's Idempotency-Key (a retried token issue answers the first token's id, without the token).
"""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ledger.access import users
from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.fields import fields_of
from ledger.api.writes import Door, fingerprint
from ledger.db.engine import read_tx

router = APIRouter(prefix="/api/v1", tags=["users"])

UserId = Annotated[int, Path(ge=1, le=2**62)]
TokenId = Annotated[int, Path(ge=1, le=2**62)]


@fields_of(users.UserRow)
class UserOut(BaseModel):
    pass


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(default="api", max_length=100)


class TokenOut(BaseModel):
    token_id: int
    token: str | None = Field(description="shown once (null on a retry)")


class Revoked(BaseModel):
    revoked: list[int]


@router.get("/users", response_model=list[UserOut])
def list_users(user: CurrentUser, engine: EngineDep, request: Request) -> list[dict]:
    hours = request.app.state.settings.till_token_hours  # the token check's (ledger.api.deps)
    with read_tx(engine) as conn:
        return [users.user_json(row) for row in users.list_users(conn, user, till_token_hours=hours)]


@router.post("/users/{user_id}/disable", response_model=UserOut)
def disable_user(user_id: UserId, door: Door) -> JSONResponse:
    """Disable the user: its tokens are revoked and its web sessions end at once."""
    return door.respond(users.disable_user(door.user, user_id, fingerprint(door.request)))


@router.post("/users/{user_id}/enable", response_model=UserOut)
def enable_user(user_id: UserId, door: Door) -> JSONResponse:
    """Let the user log in again; old tokens stay revoked (issue a new one)."""
    return door.respond(users.enable_user(door.user, user_id, fingerprint(door.request)))


@router.post("/users/{user_id}/tokens", response_model=TokenOut, status_code=201)
def issue_token(user_id: UserId, body: TokenIn, door: Door) -> JSONResponse:
    """A new bearer token for the user, shown once."""
    write = users.new_token(door.user, user_id, body.label, fingerprint(door.request, body))
    return door.respond(write, body)


@router.post("/users/{user_id}/tokens/{token_id}/revoke", response_model=Revoked)
def revoke_token(user_id: UserId, token_id: TokenId, door: Door) -> JSONResponse:
    return door.respond(users.revoke_tokens(door.user, user_id, token_id, fingerprint(door.request)))
