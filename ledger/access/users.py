"""Keeping users: create, list, disable, enable, issue and revoke tokens. Admin work, audited, one
transaction each.

Disabling a user ends everything at once: the ``disabled`` flag refuses the user's tokens and web sessions
on their next request (every request reads the user row), every token is revoked for good, and
``sessions_valid_from`` is set so that re-enabling the user does not bring an old cookie back to life.
Enabling gives back the login, not the old tokens: issue a new one.

Each change is a ``Write`` (``ledger.access.service``: scope → key → write → audit, one transaction) that
every door carries out the same way: the admin API with its Idempotency-Key, the CLI as the system actor
(``None``, audited as "(cli)"). Only an admin may make them. A change that finds nothing to do (disabling
a disabled user without tokens) writes no audit row.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from ledger.access.auth import (
    Principal,
    create_user,
    hash_token,
    issue_token,
    till_token_expired,
    token_t,
    user_t,
)
from ledger.access.service import Write
from ledger.books.errors import Conflict, NotFound
from ledger.books.orgs import now


@dataclass(frozen=True)
class UserRow:
    user_id: int
    username: str
    role: str
    scope_org_id: int | None
    scope_store_id: int | None
    disabled: bool
    token_ids: tuple[int, ...]  # the tokens in force (see ``find_user``)


KEYSPACE = "users"


def _require_admin(actor: Principal | None) -> None:
    if actor is not None:
        actor.require_role("admin")


def _by(actor: Principal | None, text: str) -> str:
    return text if actor is not None else f"{text} (cli)"


def find_user(conn: Connection, who: int | str, *, till_token_hours: float | None = None) -> UserRow:
    """A user by id or username; ``NotFound`` naming the field otherwise.

    Its ``token_ids`` are the tokens not revoked, less, given ``till_token_hours`` (the settings the token
    check runs with), the till's tokens that have expired: what a listing shows as in force. The writes
    look the user up without it, as a revocation acts on every token not yet revoked.
    """
    column = user_t.c.id if isinstance(who, int) else user_t.c.username
    row = conn.execute(select(user_t).where(column == who)).first()
    if row is None:
        raise NotFound(f"no user {who!r}", field="user")
    in_force = [token_t.c.user_id == row.id, token_t.c.revoked_at.is_(None)]
    if till_token_hours is not None:
        in_force.append(~till_token_expired(till_token_hours))
    tokens = conn.execute(select(token_t.c.id).where(*in_force).order_by(token_t.c.id)).scalars()
    return UserRow(
        row.id, row.username, row.role, row.scope_org_id, row.scope_store_id, row.disabled, tuple(tokens)
    )


def list_users(conn: Connection, actor: Principal | None, *, till_token_hours: float) -> list[UserRow]:
    """Every user with its tokens in force under ``till_token_hours``: the caller passes the settings its
    token check uses (the app's for the API, the environment's for the CLI)."""
    _require_admin(actor)
    ids = conn.execute(select(user_t.c.id).order_by(user_t.c.id)).scalars().all()
    return [find_user(conn, user_id, till_token_hours=till_token_hours) for user_id in ids]


def user_json(row: UserRow) -> dict[str, Any]:
    return {**asdict(row), "token_ids": list(row.token_ids)}


@dataclass(frozen=True)
class _Changed:
    row: UserRow
    detail: str | None  # None: nothing changed, nothing to audit


def _write(
    actor: Principal | None, action: str, run: Any, answer: Any, request: Any, status: int = 200, **kw: Any
) -> Write[Any]:
    return Write(
        action=action,
        keyspace=KEYSPACE,
        scope=lambda conn: _require_admin(actor),
        run=run,
        answer=answer,
        request=request,
        detail=lambda result: result.detail,
        status=status,
        **kw,
    )


def disable_user(actor: Principal | None, who: int | str, request: Any = None) -> Write[_Changed]:
    """Disable the user: tokens revoked, web sessions ended, now. Disabling twice changes nothing."""

    def run(conn: Connection) -> _Changed:
        user = find_user(conn, who)
        if actor is not None and user.user_id == actor.user_id:
            raise Conflict("an admin cannot disable themselves; ask another admin", field="user")
        conn.execute(
            update(user_t)
            .where(user_t.c.id == user.user_id)
            .values(disabled=True, sessions_valid_from=time.time())
        )
        conn.execute(
            update(token_t)
            .where(token_t.c.user_id == user.user_id, token_t.c.revoked_at.is_(None))
            .values(revoked_at=now())
        )
        changed = not user.disabled or bool(user.token_ids)
        detail = _by(actor, f"{user.username}; tokens revoked: {list(user.token_ids)}") if changed else None
        return _Changed(find_user(conn, user.user_id), detail)

    return _write(actor, "user.disable", run, lambda result: user_json(result.row), request)


def enable_user(actor: Principal | None, who: int | str, request: Any = None) -> Write[_Changed]:
    """Let the user log in again (the old tokens and sessions stay ended)."""

    def run(conn: Connection) -> _Changed:
        user = find_user(conn, who)
        if not user.disabled:
            return _Changed(user, None)
        conn.execute(update(user_t).where(user_t.c.id == user.user_id).values(disabled=False))
        return _Changed(find_user(conn, user.user_id), _by(actor, user.username))

    return _write(actor, "user.enable", run, lambda result: user_json(result.row), request)


@dataclass(frozen=True)
class _Issued:
    token_id: int
    token: str
    detail: str


def _issue(conn: Connection, user_id: int, label: str) -> tuple[int, str]:
    """A new token for the user: its id and its clear text (shown once)."""
    token = issue_token(conn, user_id, label)
    token_id = conn.execute(
        select(token_t.c.id).where(token_t.c.token_hash == hash_token(token))
    ).scalar_one()
    return token_id, token


def _issuing(actor: Principal | None, action: str, run: Any, request: Any) -> Write[_Issued]:
    """A write that issues a token: answered with the token once (201), a replay without it."""
    return _write(
        actor,
        action,
        run,
        lambda result: {"token_id": result.token_id, "token": result.token},
        request,
        status=201,
        keep=lambda answer: {**answer, "token": None},
    )


def new_token(actor: Principal | None, who: int | str, label: str, request: Any = None) -> Write[_Issued]:
    """A new bearer token for an enabled user, shown once (a replay of the request answers without it)."""

    def run(conn: Connection) -> _Issued:
        user = find_user(conn, who)
        if user.disabled:
            raise Conflict(f"user {user.username!r} is disabled; enable it first", field="user")
        token_id, token = _issue(conn, user.user_id, label)
        return _Issued(token_id, token, _by(actor, f"{user.username} token {token_id}"))

    return _issuing(actor, "token.issue", run, request)


def add_user(
    actor: Principal | None,
    *,
    username: str,
    role: str,
    scope_org_id: int | None = None,
    scope_store_id: int | None = None,
    password: str | None = None,
    label: str = "cli",
) -> Write[_Issued]:
    """A new user (with a password for the pages) and a first API token, shown once; a retry under the key
    answers the user without the token. The password is never part of what a retry must repeat."""

    def run(conn: Connection) -> _Issued:
        user_id = create_user(
            conn,
            username=username,
            role=role,
            scope_org_id=scope_org_id,
            scope_store_id=scope_store_id,
            password=password,
        )
        token_id, token = _issue(conn, user_id, label)
        return _Issued(token_id, token, _by(actor, f"{username} ({role}) token {token_id}"))

    return _issuing(actor, "user.create", run, {"user": [username, role, scope_org_id, scope_store_id]})


@dataclass(frozen=True)
class _Revoked:
    ids: list[int]
    detail: str | None


def revoke_tokens(
    actor: Principal | None, who: int | str, token_id: int | None = None, request: Any = None
) -> Write[_Revoked]:
    """Revoke one of the user's tokens (or all, when ``token_id`` is None); answers the ids revoked."""

    def run(conn: Connection) -> _Revoked:
        user = find_user(conn, who)
        if token_id is not None:
            owner = conn.execute(
                select(token_t.c.user_id).where(token_t.c.id == token_id)
            ).scalar_one_or_none()
            if owner != user.user_id:
                raise NotFound(f"user {user.username!r} has no token {token_id}", field="token")
            targets = [token_id] if token_id in user.token_ids else []
        else:
            targets = list(user.token_ids)
        if not targets:
            return _Revoked([], None)
        conn.execute(update(token_t).where(token_t.c.id.in_(targets)).values(revoked_at=now()))
        return _Revoked(targets, _by(actor, f"{user.username} tokens {targets}"))

    return _write(actor, "token.revoke", run, lambda result: {"revoked": result.ids}, request)
