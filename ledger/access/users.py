"""Keeping users: list, disable, enable, issue and revoke tokens. Admin work, audited, one transaction each.

Disabling a user ends everything at once: the ``disabled`` flag refuses the user's tokens and web sessions
on their next request (every request reads the user row), every token is revoked for good, and
``sessions_valid_from`` is set so that re-enabling the user does not bring an old cookie back to life.
Enabling gives back the login, not the old tokens: issue a new one.

Each function takes the actor (``None`` for the command line, which is recorded as such in the audit log)
and refuses anyone but an admin.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from ledger.access.auth import Principal, audit, hash_token, issue_token, token_t, user_t
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
    token_ids: tuple[int, ...]  # the tokens still in force


def _require_admin(actor: Principal | None) -> None:
    if actor is not None:
        actor.require_role("admin")


def _detail(text: str, actor: Principal | None) -> str:
    return text if actor is not None else f"{text} (cli)"


def find_user(conn: Connection, who: int | str) -> UserRow:
    """A user by id or username; ``NotFound`` naming the field otherwise."""
    column = user_t.c.id if isinstance(who, int) else user_t.c.username
    row = conn.execute(select(user_t).where(column == who)).first()
    if row is None:
        raise NotFound(f"no user {who!r}", field="user")
    tokens = conn.execute(
        select(token_t.c.id)
        .where(token_t.c.user_id == row.id, token_t.c.revoked_at.is_(None))
        .order_by(token_t.c.id)
    ).scalars()
    return UserRow(
        row.id, row.username, row.role, row.scope_org_id, row.scope_store_id, row.disabled, tuple(tokens)
    )


def list_users(conn: Connection, actor: Principal | None) -> list[UserRow]:
    _require_admin(actor)
    ids = conn.execute(select(user_t.c.id).order_by(user_t.c.id)).scalars().all()
    return [find_user(conn, user_id) for user_id in ids]


def disable_user(
    conn: Connection, actor: Principal | None, who: int | str, *, remote_addr: str | None = None
) -> UserRow:
    """Disable the user: tokens revoked, web sessions ended, now; audited. Disabling twice changes nothing."""
    _require_admin(actor)
    user = find_user(conn, who)
    if actor is not None and user.user_id == actor.user_id:
        raise Conflict("an admin cannot disable themselves; ask another admin", field="user")
    at = now()
    conn.execute(
        update(user_t)
        .where(user_t.c.id == user.user_id)
        .values(disabled=True, sessions_valid_from=time.time())
    )
    conn.execute(
        update(token_t)
        .where(token_t.c.user_id == user.user_id, token_t.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    if not user.disabled or user.token_ids:
        audit(
            conn,
            actor,
            "user.disable",
            org_id=user.scope_org_id,
            detail=_detail(f"{user.username}; tokens revoked: {list(user.token_ids)}", actor),
            remote_addr=remote_addr,
        )
    return find_user(conn, user.user_id)


def enable_user(
    conn: Connection, actor: Principal | None, who: int | str, *, remote_addr: str | None = None
) -> UserRow:
    """Let the user log in again (the old tokens and sessions stay ended); audited."""
    _require_admin(actor)
    user = find_user(conn, who)
    if user.disabled:
        conn.execute(update(user_t).where(user_t.c.id == user.user_id).values(disabled=False))
        audit(
            conn,
            actor,
            "user.enable",
            org_id=user.scope_org_id,
            detail=_detail(user.username, actor),
            remote_addr=remote_addr,
        )
    return find_user(conn, user.user_id)


def new_token(
    conn: Connection, actor: Principal | None, who: int | str, label: str, *, remote_addr: str | None = None
) -> tuple[int, str]:
    """A new bearer token for an enabled user: (token id, the token, shown once); audited."""
    _require_admin(actor)
    user = find_user(conn, who)
    if user.disabled:
        raise Conflict(f"user {user.username!r} is disabled; enable it first", field="user")
    token = issue_token(conn, user.user_id, label)
    token_id = conn.execute(
        select(token_t.c.id).where(token_t.c.token_hash == hash_token(token))
    ).scalar_one()
    audit(
        conn,
        actor,
        "token.issue",
        org_id=user.scope_org_id,
        detail=_detail(f"{user.username} token {token_id}", actor),
        remote_addr=remote_addr,
    )
    return token_id, token


def revoke_tokens(
    conn: Connection,
    actor: Principal | None,
    who: int | str,
    token_id: int | None = None,
    *,
    remote_addr: str | None = None,
) -> list[int]:
    """Revoke one of the user's tokens (or all, when ``token_id`` is None); the ids revoked; audited."""
    _require_admin(actor)
    user = find_user(conn, who)
    if token_id is not None:
        owner = conn.execute(select(token_t.c.user_id).where(token_t.c.id == token_id)).scalar_one_or_none()
        if owner != user.user_id:
            raise NotFound(f"user {user.username!r} has no token {token_id}", field="token")
        targets = [token_id] if token_id in user.token_ids else []
    else:
        targets = list(user.token_ids)
    if targets:
        conn.execute(update(token_t).where(token_t.c.id.in_(targets)).values(revoked_at=now()))
        audit(
            conn,
            actor,
            "token.revoke",
            org_id=user.scope_org_id,
            detail=_detail(f"{user.username} tokens {targets}", actor),
            remote_addr=remote_addr,
        )
    return targets
