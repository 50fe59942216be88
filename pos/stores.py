"""Stores and who may touch them: the scope rules of the POS (DESIGN §9) in one place.

A cashier token works for its own store only (anything else is a 404, so other stores' existence does not
leak); officers see every store of the companies under their street; admins see all. Catalogue, purchases,
customers and stock adjustments are the back office: officers and admins only. This module must never
decide an access question anywhere else, and never write anything but stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select

from ledger.access.auth import TILL_EXPIRED, TILL_LABEL, Principal, hash_token, till_token_cutoff
from ledger.books.errors import Forbidden, NotFound, Unauthenticated, ValidationError
from ledger.books.orgs import create_store, get_org
from ledger.db.models import Store
from ledger.settings import TILL_TOKEN_HOURS
from pos.fastsql import Sql, db_time

store_t = Store.__table__


@dataclass(frozen=True)
class StoreRef:
    id: int
    org_id: int
    code: str
    name: str


_TOKEN_SQL = Sql(
    "SELECT u.id, u.username, u.role, u.scope_org_id, u.scope_store_id, u.disabled, s.org_id, "
    "(t.label = :till AND t.created_at <= :cutoff) "
    "FROM api_token t JOIN user_account u ON u.id = t.user_id LEFT JOIN store s ON s.id = u.scope_store_id "
    "WHERE t.token_hash = :hash AND t.revoked_at IS NULL"
)


def till_principal(
    conn: Connection, authorization: str, *, till_token_hours: float = TILL_TOKEN_HOURS
) -> Principal:
    """The caller of a till request from its bearer token, in one statement on the request's own connection.

    The same rule as ``ledger.access.auth.principal_for_token`` (hashed token, not revoked, user not
    disabled, a till's token not expired), written as one driver-level query because the till's hot path
    cannot afford two Core statements and a transaction of their own per sale.
    """
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use 'Authorization: Bearer <token>'")
    cutoff = db_time(conn, till_token_cutoff(till_token_hours))
    row = _TOKEN_SQL.run(
        conn, {"hash": hash_token(token.strip()), "till": TILL_LABEL, "cutoff": cutoff}
    ).fetchone()
    if row is None or row[5]:
        raise Unauthenticated("unknown or revoked token")
    if row[7]:
        raise Unauthenticated(TILL_EXPIRED)
    return Principal(row[0], row[1], row[2], row[3], row[4], row[6])


# Stores are never renamed or moved between companies, so a process may remember them (keyed by database).
_STORES: dict[tuple[str, int], StoreRef] = {}


def get_store(conn: Connection, store_id: int) -> StoreRef:
    cache_key = (str(conn.engine.url), store_id)
    cached = _STORES.get(cache_key)
    if cached is not None:
        return cached
    row = conn.execute(
        select(store_t.c.id, store_t.c.org_id, store_t.c.code, store_t.c.name).where(store_t.c.id == store_id)
    ).first()
    if row is None:
        raise NotFound(f"store {store_id} does not exist", field="store_id")
    store = _STORES[cache_key] = StoreRef(row.id, row.org_id, row.code, row.name)
    return store


def require_store(conn: Connection, user: Principal, store_id: int, *, back_office: bool = False) -> StoreRef:
    """The store if the caller may work in it; ``back_office`` work is for officers and admins only."""
    if user.role == "cashier":
        if store_id != user.scope_store_id:
            raise NotFound(f"store {store_id} does not exist", field="store_id")
        if back_office:
            raise Forbidden("a cashier can open and close shifts and post sales and refunds, nothing else")
        return get_store(conn, store_id)
    store = get_store(conn, store_id)
    user.require_org(conn, store.org_id)
    if user.role not in ("admin", "officer"):
        raise Forbidden(f"a {user.role} user cannot use the POS")
    return store


def require_company(conn: Connection, user: Principal, org_id: int, *, write: bool = False) -> Row[Any]:
    """The company org if the caller may see it; cashiers see their own store's company, read-only."""
    if user.role == "cashier":
        if org_id != user.store_org_id:
            raise NotFound(f"org {org_id} does not exist", field="org")
        if write:
            raise Forbidden("a cashier cannot change the catalogue, stock or customers")
        org = get_org(conn, org_id)
    else:
        org = user.require_org(conn, org_id, write=write)
    if org.kind != "company":
        raise ValidationError(f"{org.name} is a {org.kind}; the POS belongs to a company", field="org")
    return org


def add_store(conn: Connection, user: Principal, *, company_id: int, code: str, name: str) -> StoreRef:
    require_company(conn, user, company_id, write=True)
    store_id = create_store(conn, company_id=company_id, code=code, name=name)
    return StoreRef(store_id, company_id, code, name)


def list_stores(conn: Connection, user: Principal, company_id: int) -> list[StoreRef]:
    require_company(conn, user, company_id)
    stmt = select(store_t.c.id, store_t.c.org_id, store_t.c.code, store_t.c.name).where(
        store_t.c.org_id == company_id
    )
    if user.role == "cashier":
        stmt = stmt.where(store_t.c.id == user.scope_store_id)
    return [StoreRef(r.id, r.org_id, r.code, r.name) for r in conn.execute(stmt.order_by(store_t.c.id))]
