"""Users and tokens (admin), and who-am-I."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ledger.access.auth import audit, create_user, issue_token
from ledger.api.deps import CurrentUser, EngineDep, client_addr
from ledger.db.engine import run_write

router = APIRouter(prefix="/api/v1", tags=["users"])


class MeOut(BaseModel):
    user_id: int
    username: str
    role: str
    scope_org_id: int | None
    scope_store_id: int | None


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    role: str
    scope_org_id: int | None = None
    scope_store_id: int | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)


class UserCreated(BaseModel):
    user_id: int
    token: str


@router.get("/me", response_model=MeOut)
def me(user: CurrentUser) -> MeOut:
    return MeOut(
        user_id=user.user_id,
        username=user.username,
        role=user.role,
        scope_org_id=user.scope_org_id,
        scope_store_id=user.scope_store_id,
    )


@router.post("/users", response_model=UserCreated, status_code=201)
def add_user(body: UserCreate, user: CurrentUser, engine: EngineDep, request: Request) -> UserCreated:
    """Create a user and return its first token (shown once). Admin only."""
    user.require_role("admin")

    def work(conn):  # type: ignore[no-untyped-def]
        user_id = create_user(
            conn,
            username=body.username,
            role=body.role,
            scope_org_id=body.scope_org_id,
            scope_store_id=body.scope_store_id,
            password=body.password,
        )
        token = issue_token(conn, user_id, "api")
        audit(
            conn,
            user,
            "user.create",
            org_id=body.scope_org_id,
            detail=body.username,
            remote_addr=client_addr(request),
        )
        return UserCreated(user_id=user_id, token=token)

    return run_write(engine, work)
