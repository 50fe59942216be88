"""Organisations, their charts of accounts, stores and counterparties.

An org with a standard keeps books: creating it loads that statutory chart (``collective`` 42 first-level
accounts, 财会〔2023〕14号; ``small_enterprise`` 66, 财会〔2011〕17号) from the CSVs in ``ledger/data``.
Sub-accounts extend a parent code by two digits; a parent with children is a summary account and takes no
postings. A sub-account cannot be added under an account that already has postings (its balance would be
stranded on a summary account): open the sub-accounts first, as a bookkeeper would.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from ledger.books.errors import Conflict, NotFound, ValidationError
from ledger.db.models import Account, AccountTurnover, BookState, Counterparty, Org, Store
from ledger.db.rows import insert_id

DEFAULT_STANDARD = {"community": "collective", "village": "collective", "company": "small_enterprise"}
PARENT_KINDS = {
    "county": (None,),
    "street": ("county",),
    "community": ("street",),
    "village": ("street", "county"),
    "company": ("street", "county"),
}
CHART_FILES = {
    "collective": "chart-collective-2023.csv",
    "small_enterprise": "chart-small-enterprise-2011.csv",
}

org_t = Org.__table__
account_t = Account.__table__
store_t = Store.__table__
cp_t = Counterparty.__table__


@dataclass(frozen=True)
class ChartAccount:
    code: str
    name: str
    account_class: str
    normal_side: str


@cache
def statutory_chart(standard: str) -> tuple[ChartAccount, ...]:
    """The first-level accounts of a standard, as shipped in ``ledger/data``."""
    try:
        name = CHART_FILES[standard]
    except KeyError:
        raise ValidationError(f"unknown standard {standard!r}", field="standard") from None
    text = (files("ledger") / "data" / name).read_text(encoding="utf-8")
    return tuple(
        ChartAccount(row["code"], row["name"], row["class"], row["normal_side"])
        for row in csv.DictReader(text.splitlines())
    )


def now() -> datetime:
    return datetime.now(UTC)


def create_org(
    conn: Connection,
    *,
    code: str,
    name: str,
    kind: str,
    parent_id: int | None = None,
    standard: str | None = None,
    registered_capital_fen: int = 0,
) -> int:
    """Create an org in the tree; an org with books gets its statutory chart and an empty hash chain."""
    if kind not in PARENT_KINDS:
        raise ValidationError(f"unknown org kind {kind!r}", field="kind")
    if not code.strip() or not name.strip():
        raise ValidationError("code and name are required", field="code" if not code.strip() else "name")
    street_id: int | None = None
    if parent_id is None:
        if None not in PARENT_KINDS[kind]:
            raise ValidationError(f"a {kind} needs a parent org", field="parent_id")
    else:
        parent = conn.execute(select(org_t).where(org_t.c.id == parent_id)).first()
        if parent is None:
            raise NotFound(f"parent org {parent_id} does not exist", field="parent_id")
        if parent.kind not in PARENT_KINDS[kind]:
            raise ValidationError(f"a {kind} cannot sit under a {parent.kind}", field="parent_id")
        street_id = parent.id if parent.kind == "street" else parent.street_id
    if kind in ("county", "street"):
        if standard is not None:
            raise ValidationError(f"a {kind} keeps no books of its own (roll-up only)", field="standard")
    else:
        standard = standard or DEFAULT_STANDARD[kind]
        statutory_chart(standard)  # validates the name
    if conn.execute(select(org_t.c.id).where(org_t.c.code == code)).first():
        raise Conflict(f"an org with code {code!r} already exists", field="code")
    org_id = insert_id(
        conn,
        org_t,
        code=code,
        name=name,
        kind=kind,
        standard=standard,
        parent_id=parent_id,
        street_id=street_id if kind != "street" else None,
        registered_capital_fen=registered_capital_fen,
        created_at=now(),
    )
    if kind == "street":
        conn.execute(update(org_t).where(org_t.c.id == org_id).values(street_id=org_id))
    if standard is not None:
        created = now()
        conn.execute(
            insert(account_t),
            [
                {
                    "org_id": org_id,
                    "code": a.code,
                    "name": a.name,
                    "account_class": a.account_class,
                    "normal_side": a.normal_side,
                    "parent_id": None,
                    "level": 1,
                    "is_closed": False,
                    "created_at": created,
                }
                for a in statutory_chart(standard)
            ],
        )
        conn.execute(insert(BookState.__table__).values(org_id=org_id, last_seq=0, head_hash="0" * 64))
    return org_id


def get_org(conn: Connection, org_id: int) -> Row[Any]:
    row = conn.execute(select(org_t).where(org_t.c.id == org_id)).first()
    if row is None:
        raise NotFound(f"org {org_id} does not exist", field="org")
    return row


def org_by_code(conn: Connection, code: str) -> Row[Any]:
    row = conn.execute(select(org_t).where(org_t.c.code == code)).first()
    if row is None:
        raise NotFound(f"no org with code {code!r}", field="org")
    return row


def all_org_ids(conn: Connection) -> list[int]:
    """Every org, by id (an admin's view of the county)."""
    return list(conn.execute(select(org_t.c.id).order_by(org_t.c.id)).scalars())


def subtree_ids(conn: Connection, root_id: int) -> list[int]:
    """The org and every org below it (the tree is shallow: county → street → org)."""
    ids = [root_id]
    frontier = [root_id]
    while frontier:
        children = conn.execute(select(org_t.c.id).where(org_t.c.parent_id.in_(frontier))).scalars().all()
        ids.extend(children)
        frontier = list(children)
    return ids


def require_books(org: Row[Any]) -> str:
    if org.standard is None:
        raise ValidationError(f"{org.name} is a {org.kind} and keeps no books", field="org")
    return org.standard


def create_store(conn: Connection, *, company_id: int, code: str, name: str) -> int:
    org = get_org(conn, company_id)
    if org.kind != "company":
        raise ValidationError("a store belongs to a company", field="company_id")
    if conn.execute(select(store_t.c.id).where(store_t.c.code == code)).first():
        raise Conflict(f"a store with code {code!r} already exists", field="code")
    return insert_id(conn, store_t, org_id=company_id, code=code, name=name, created_at=now())


def add_sub_account(
    conn: Connection, org_id: int, parent_code: str, name: str, code: str | None = None
) -> str:
    """Open a sub-account under ``parent_code``: the parent's code plus two digits (the next free pair)."""
    parent = conn.execute(
        select(account_t).where(account_t.c.org_id == org_id, account_t.c.code == parent_code)
    ).first()
    if parent is None:
        raise NotFound(f"no account {parent_code} in this org", field="parent_code")
    if parent.is_closed:
        raise ValidationError(f"account {parent_code} is closed", field="parent_code")
    if not name.strip():
        raise ValidationError("a sub-account needs a name", field="name")
    siblings = set(
        conn.execute(select(account_t.c.code).where(account_t.c.parent_id == parent.id)).scalars().all()
    )
    if not siblings and _has_postings(conn, org_id, parent.id):
        raise Conflict(
            f"account {parent_code} already has postings; a sub-account would strand its balance",
            field="parent_code",
        )
    if code is None:
        free = next(
            (f"{parent_code}{n:02d}" for n in range(1, 100) if f"{parent_code}{n:02d}" not in siblings), None
        )
        if free is None:
            raise Conflict(f"account {parent_code} has no free sub-account codes", field="parent_code")
        code = free
    elif len(code) != len(parent_code) + 2 or not code.startswith(parent_code) or not code[-2:].isdigit():
        raise ValidationError(
            f"a sub-account of {parent_code} is {parent_code} plus two digits", field="code"
        )
    elif code in siblings:
        raise Conflict(f"account {code} already exists", field="code")
    conn.execute(
        insert(account_t).values(
            org_id=org_id,
            code=code,
            name=name,
            account_class=parent.account_class,
            normal_side=parent.normal_side,
            parent_id=parent.id,
            level=parent.level + 1,
            is_closed=False,
            created_at=now(),
        )
    )
    return code


def ensure_sub_account(conn: Connection, org_id: int, parent_code: str, code: str, name: str) -> str:
    """The conventional sub-account ``code`` (DESIGN §5), opened if the org does not have it yet."""
    exists = conn.execute(
        select(account_t.c.id).where(account_t.c.org_id == org_id, account_t.c.code == code)
    ).first()
    if exists is None:
        add_sub_account(conn, org_id, parent_code, name, code=code)
    return code


def close_account(conn: Connection, org_id: int, code: str) -> None:
    """Close an account: it keeps its history and takes no new postings. Its balance must be zero."""
    acct = conn.execute(
        select(account_t).where(account_t.c.org_id == org_id, account_t.c.code == code)
    ).first()
    if acct is None:
        raise NotFound(f"no account {code} in this org", field="code")
    month = AccountTurnover.__table__  # a row a month with postings: months, not the history's lines
    balance = conn.execute(
        select(func.coalesce(func.sum(month.c.debit_fen - month.c.credit_fen), 0)).where(
            month.c.org_id == org_id, month.c.account_id == acct.id
        )
    ).scalar_one()
    if balance:
        raise Conflict(
            f"account {code} has a balance of {balance} fen; clear it before closing", field="code"
        )
    conn.execute(update(account_t).where(account_t.c.id == acct.id).values(is_closed=True))


def _has_postings(conn: Connection, org_id: int, account_id: int) -> bool:
    """Whether any line was ever posted to the account: its months' turnover rows are written with the lines
    (in the same transaction), so a month's row is there exactly when a line is."""
    month = AccountTurnover.__table__
    return (
        conn.execute(
            select(month.c.period).where(month.c.org_id == org_id, month.c.account_id == account_id).limit(1)
        ).first()
        is not None
    )


def counterparty(
    conn: Connection, org_id: int, kind: str, name: str, *, ref_org_id: int | None = None
) -> int:
    """The id of the org's counterparty (kind, name), created on first use."""
    row = conn.execute(
        select(cp_t.c.id).where(cp_t.c.org_id == org_id, cp_t.c.kind == kind, cp_t.c.name == name)
    ).first()
    if row is not None:
        return row.id
    return insert_id(conn, cp_t, org_id=org_id, kind=kind, name=name, ref_org_id=ref_org_id, created_at=now())
