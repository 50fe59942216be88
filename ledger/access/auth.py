"""Users, credentials and scopes (DESIGN §9).

Roles: ``admin`` (everything), ``officer`` (a street, or the county, and every org below it; keeps the
books), ``community`` (one org, read-only), ``cashier`` (one store's POS, nothing else). API clients send
bearer tokens; only their SHA-256 is stored (they are 256-bit random, so a slow hash adds nothing). A
till's token (a cashier's login at the till, labelled ``till``) lasts a shift: ``till_token_hours`` after it
was issued it is refused (401) and the till asks for the login again; other tokens last until revoked.
People log in with passwords hashed by argon2. A request outside one's scope gets 404, so that the
existence of another org's books does not leak; a role that may see but not do gets 403.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, Connection, Row, Table, and_, insert, select

from ledger.access.idempotency import driver_sql, driver_time
from ledger.books.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationError
from ledger.books.orgs import get_org, now, subtree_ids
from ledger.db.models import ROLES, ApiToken, AuditLog, Org, Store, UserAccount
from ledger.db.rows import insert_id
from ledger.settings import TILL_TOKEN_HOURS, get_settings

user_t = UserAccount.__table__
token_t = ApiToken.__table__
store_t = Store.__table__
org_t = Org.__table__
audit_t = AuditLog.__table__


@cache
def _hasher() -> PasswordHasher:
    settings = get_settings()
    return PasswordHasher(time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib)


TOKEN_PREFIX = "cs_"
TILL_LABEL = "till"
"""The label of the token a till's login issues (``ledger.web.till``); it expires (module docstring)."""
TILL_EXPIRED = "the till's login has expired; log in again"


@dataclass
class Principal:
    """Who is asking, and what they may touch."""

    user_id: int
    username: str
    role: str
    scope_org_id: int | None
    scope_store_id: int | None
    store_org_id: int | None = None  # the company of a cashier's store
    _visible: frozenset[int] | None = field(default=None, repr=False)

    @property
    def recorded_id(self) -> int | None:
        """The user a row names as its author (``created_by``, ``imported_by``…): none for a system actor."""
        return self.user_id or None

    def visible_orgs(self, conn: Connection) -> frozenset[int] | None:
        """The org ids this principal may read; None means all (admin)."""
        if self.role == "admin":
            return None
        if self._visible is None:
            if self.role == "officer" and self.scope_org_id is not None:
                self._visible = frozenset(subtree_ids(conn, self.scope_org_id))
            elif self.role == "community" and self.scope_org_id is not None:
                self._visible = frozenset({self.scope_org_id})
            else:
                self._visible = frozenset()
        return self._visible

    def require_org(self, conn: Connection, org_id: int, *, write: bool = False) -> Row[Any]:
        """The org row if this principal may read it (and write, if asked); 404 or 403 otherwise."""
        visible = self.visible_orgs(conn)
        if visible is not None and org_id not in visible:
            raise NotFound(f"org {org_id} does not exist", field="org")
        org = get_org(conn, org_id)
        if write and self.role not in ("admin", "officer"):
            raise Forbidden(f"a {self.role} user cannot change the books")
        return org

    def require_role(self, *roles: str) -> None:
        if self.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}")


SYSTEM_USER_ID = 0
"""The ``user_id`` of a system actor (the CLI): it has no row, and its audit rows name no user."""


def system_actor(name: str) -> Principal:
    """A named system actor (``cunshe`` on the command line): every right, audited without a user row."""
    return Principal(
        user_id=SYSTEM_USER_ID, username=name, role="admin", scope_org_id=None, scope_store_id=None
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _require_scope(conn: Connection, table: Table, what: str, row_id: int | None) -> None:
    """``NotFound`` on ``scope_<what>_id`` unless the scope's ``what`` (org, store) is absent or exists."""
    if row_id is not None and conn.execute(select(table.c.id).where(table.c.id == row_id)).first() is None:
        raise NotFound(f"{what} {row_id} does not exist", field=f"scope_{what}_id")


def create_user(
    conn: Connection,
    *,
    username: str,
    role: str,
    scope_org_id: int | None = None,
    scope_store_id: int | None = None,
    password: str | None = None,
    display_name: str = "",
) -> int:
    if role not in ROLES:
        raise ValidationError(f"role is one of {', '.join(ROLES)}", field="role")
    if role in ("officer", "community") and scope_org_id is None:
        raise ValidationError(f"a {role} user needs a scope org", field="scope")
    # The scope must name a real org and store: checked here, not left to the foreign key (a 500).
    _require_scope(conn, Org.__table__, "org", scope_org_id)
    _require_scope(conn, Store.__table__, "store", scope_store_id)
    if role == "officer" and scope_org_id is not None:  # None was refused above
        kind = get_org(conn, scope_org_id).kind
        if kind not in ("street", "county"):
            raise ValidationError("an officer's scope is a street or the county", field="scope")
    if role == "cashier" and scope_store_id is None:
        raise ValidationError("a cashier user needs a store", field="scope")
    if conn.execute(select(user_t.c.id).where(user_t.c.username == username)).first():
        raise Conflict(f"user {username!r} already exists", field="username")
    return insert_id(
        conn,
        user_t,
        username=username,
        role=role,
        scope_org_id=scope_org_id,
        scope_store_id=scope_store_id,
        password_hash=hash_password(password) if password else None,
        display_name=display_name or username,
        disabled=False,
        created_at=now(),
    )


def issue_token(conn: Connection, user_id: int, label: str = "") -> str:
    """A new bearer token for the user; the clear text is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        insert(token_t).values(user_id=user_id, token_hash=hash_token(token), label=label, created_at=now())
    )
    return token


def _principal(conn: Connection, user: Row[Any]) -> Principal:
    store_org = None
    if user.scope_store_id is not None:
        store_org = conn.execute(
            select(store_t.c.org_id).where(store_t.c.id == user.scope_store_id)
        ).scalar_one()
    return Principal(user.id, user.username, user.role, user.scope_org_id, user.scope_store_id, store_org)


def till_token_cutoff(till_token_hours: float) -> datetime:
    """A till token issued at or before this instant has expired."""
    return now() - timedelta(hours=till_token_hours)


def till_token_expired(till_token_hours: float) -> ColumnElement[bool]:
    """The condition on ``api_token`` rows: a till's token issued ``till_token_hours`` ago or earlier."""
    return and_(token_t.c.label == TILL_LABEL, token_t.c.created_at <= till_token_cutoff(till_token_hours))


def principal_for_token(
    conn: Connection, token: str, *, till_token_hours: float = TILL_TOKEN_HOURS
) -> Principal:
    """The token's user: not revoked, not disabled, and a till's token within ``till_token_hours``."""
    row = conn.execute(
        select(user_t, till_token_expired(till_token_hours).label("till_expired"))
        .join(token_t, token_t.c.user_id == user_t.c.id)
        .where(token_t.c.token_hash == hash_token(token), token_t.c.revoked_at.is_(None))
    ).first()
    if row is None or row.disabled:
        raise Unauthenticated("unknown or revoked token")
    if row.till_expired:
        raise Unauthenticated(TILL_EXPIRED)
    return _principal(conn, row)


def principal_for_user(conn: Connection, user_id: int, *, logged_in_at: float | None = None) -> Principal:
    """The user's principal; for a web session (``logged_in_at`` given), only if the session began after
    the user's sessions were last ended (``sessions_valid_from``, set when the user is disabled)."""
    row = conn.execute(select(user_t).where(user_t.c.id == user_id)).first()
    if row is None or row.disabled:
        raise Unauthenticated("unknown user")
    cutoff = row.sessions_valid_from
    if logged_in_at is not None and cutoff is not None and logged_in_at < cutoff:
        raise Unauthenticated("this session was ended; log in again")
    return _principal(conn, row)


@cache
def _decoy_hash() -> str:
    """A hash of nothing anyone knows, checked for an unknown username: the same work as a real check."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class LoginCandidate:
    """What a login needs from the database, read before any password work (so no connection waits on it)."""

    user_id: int | None
    password_hash: str | None  # None: unknown, disabled or password-less; checked against a decoy


def login_candidate(conn: Connection, username: str) -> LoginCandidate:
    """The stored hash for ``username``; nothing for an unknown, disabled or password-less user."""
    row = conn.execute(
        select(user_t.c.id, user_t.c.password_hash, user_t.c.disabled).where(user_t.c.username == username)
    ).first()
    if row is None or row.disabled or not row.password_hash:
        return LoginCandidate(None, None)
    return LoginCandidate(row.id, row.password_hash)


def password_matches(candidate: LoginCandidate, password: str) -> bool:
    """One argon2 verification, whoever the candidate is (unknown users cost the same as real ones)."""
    try:
        _hasher().verify(candidate.password_hash or _decoy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return candidate.user_id is not None


def check_password(conn: Connection, username: str, password: str) -> Principal:
    candidate = login_candidate(conn, username)
    if not password_matches(candidate, password) or candidate.user_id is None:  # a match has a user
        raise Unauthenticated("wrong username or password")
    return principal_for_user(conn, candidate.user_id)


def audit(
    conn: Connection,
    principal: Principal | None,
    action: str,
    *,
    org_id: int | None = None,
    detail: str = "",
    remote_addr: str | None = None,
) -> None:
    """Append to the audit log (who, what, when, from where), in the same transaction as the change."""
    driver_sql(
        conn,
        _AUDIT,
        (
            driver_time(conn, now()),
            principal.user_id if principal and principal.user_id else None,
            org_id,
            action,
            detail[:2000],
            remote_addr,
        ),
    )


# Every write is audited: the statement goes straight to the driver (``ledger.access.idempotency``).
_AUDIT = "INSERT INTO audit_log (at, user_id, org_id, action, detail, remote_addr) VALUES (?, ?, ?, ?, ?, ?)"
