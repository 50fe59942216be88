"""Users and tokens (admin), and who-am-I."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from ledger.access.auth import create_user, issue_token
from ledger.access.messages import Id, RequestModel
from ledger.access.service import Write
from ledger.api.deps import CurrentUser
from ledger.api.fields import from_row
from ledger.api.writes import Door, as_json, fingerprint

router = APIRouter(prefix="/api/v1", tags=["users"])


class MeOut(BaseModel):
    user_id: int
    username: str
    role: str
    scope_org_id: int | None
    scope_store_id: int | None


class UserCreate(RequestModel):
    username: str = Field(min_length=1, max_length=64)
    role: str
    scope_org_id: Id | None = None
    scope_store_id: Id | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)


class UserCreated(BaseModel):
    user_id: int
    token: str | None = Field(description="the first API token, shown once (null on a retry)")


@router.get("/me", response_model=MeOut)
def me(user: CurrentUser) -> MeOut:
    return from_row(MeOut, user)


@router.post("/users", response_model=UserCreated, status_code=201)
def add_user(body: UserCreate, door: Door) -> JSONResponse:
    """Create a user and return its first token, shown once (a retry answers without it). Admin only."""

    def work(conn: Connection) -> UserCreated:
        user_id = create_user(
            conn,
            username=body.username,
            role=body.role,
            scope_org_id=body.scope_org_id,
            scope_store_id=body.scope_store_id,
            password=body.password,
        )
        return UserCreated(user_id=user_id, token=issue_token(conn, user_id, "api"))

    write = Write(
        action="user.create",
        keyspace="users",
        org_id=body.scope_org_id,
        scope=lambda conn: door.user.require_role("admin"),
        run=work,
        answer=as_json,
        request=fingerprint(door.request, body.model_dump(exclude={"password"})),
        detail=body.username,
        keep=lambda answer: {**answer, "token": None},
    )
    return door.respond(write)
