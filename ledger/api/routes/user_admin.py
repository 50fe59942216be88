"""Keeping users over HTTP (admin only): list, disable, enable, issue and revoke tokens.

Thin adapters over ``ledger.access.users``; every change is audited there. Disable and enable are
naturally idempotent (a retry finds the state it asked for), so they take no idempotency key.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from ledger.access import users
from ledger.api.deps import CurrentUser, EngineDep, client_addr
from ledger.db.engine import read_tx, run_write

router = APIRouter(prefix="/api/v1", tags=["users"])

UserId = Annotated[int, Path(ge=1, le=2**62)]


class UserOut(BaseModel):
    user_id: int
    username: str
    role: str
    scope_org_id: int | None
    scope_store_id: int | None
    disabled: bool
    token_ids: list[int]


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(default="api", max_length=100)


class TokenOut(BaseModel):
    token_id: int
    token: str


class Revoked(BaseModel):
    revoked: list[int]


def _out(row: users.UserRow) -> UserOut:
    return UserOut(
        user_id=row.user_id,
        username=row.username,
        role=row.role,
        scope_org_id=row.scope_org_id,
        scope_store_id=row.scope_store_id,
        disabled=row.disabled,
        token_ids=list(row.token_ids),
    )


@router.get("/users", response_model=list[UserOut])
def list_users(user: CurrentUser, engine: EngineDep) -> list[UserOut]:
    with read_tx(engine) as conn:
        return [_out(row) for row in users.list_users(conn, user)]


@router.post("/users/{user_id}/disable", response_model=UserOut)
def disable_user(user_id: UserId, user: CurrentUser, engine: EngineDep, request: Request) -> UserOut:
    """Disable the user: its tokens are revoked and its web sessions end at once."""
    addr = client_addr(request)
    return _out(run_write(engine, lambda conn: users.disable_user(conn, user, user_id, remote_addr=addr)))


@router.post("/users/{user_id}/enable", response_model=UserOut)
def enable_user(user_id: UserId, user: CurrentUser, engine: EngineDep, request: Request) -> UserOut:
    """Let the user log in again; old tokens stay revoked (issue a new one)."""
    addr = client_addr(request)
    return _out(run_write(engine, lambda conn: users.enable_user(conn, user, user_id, remote_addr=addr)))


@router.post("/users/{user_id}/tokens", response_model=TokenOut, status_code=201)
def issue_token(
    user_id: UserId, body: TokenIn, user: CurrentUser, engine: EngineDep, request: Request
) -> TokenOut:
    """A new bearer token for the user, shown once."""
    addr = client_addr(request)
    token_id, token = run_write(
        engine, lambda conn: users.new_token(conn, user, user_id, body.label, remote_addr=addr)
    )
    return TokenOut(token_id=token_id, token=token)


@router.post("/users/{user_id}/tokens/{token_id}/revoke", response_model=Revoked)
def revoke_token(
    user_id: UserId,
    token_id: Annotated[int, Path(ge=1, le=2**62)],
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
) -> Revoked:
    addr = client_addr(request)
    ids = run_write(engine, lambda conn: users.revoke_tokens(conn, user, user_id, token_id, remote_addr=addr))
    return Revoked(revoked=ids)
