"""What a person picks from when typing a voucher (填制凭证): the org's postable accounts with their pinyin
initials and the 辅助核算 each asks for, and the org's counterparties and stores.

The accounts are the open leaf accounts of the org's own chart — exactly those ``posting`` accepts — so a
suggestion is never refused for its account. Which dimensions an account asks for is data
(``ledger/data/account_dimensions.toml``, read by ``ledger.books.account_dimensions``). Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection, select

from ledger.books.account_dimensions import dimensions_for, required_for
from ledger.db.models import Account, Counterparty, Org, Store

account_t = Account.__table__
cp_t = Counterparty.__table__
store_t = Store.__table__
org_t = Org.__table__

MAX_SUGGESTIONS = 20


@dataclass(frozen=True)
class AccountChoice:
    code: str
    name: str  # the full name, parent names first: 应收款—张三
    initials: str  # pinyin initials of the full name: yskzs
    dimensions: tuple[str, ...]  # the 辅助核算 the line asks for: ("counterparty", "contract")
    required: tuple[str, ...] = ()  # those a line typed on the page cannot do without: ("counterparty",)


@lru_cache(maxsize=20_000)
def initials(name: str) -> str:
    """Pinyin initials of a name, letters and digits kept: 银行存款 → yhck."""
    return "".join("".join(ch for ch in part.lower() if ch.isalnum()) for part in _pinyin_initials(name))


def postable_accounts(conn: Connection, org_id: int) -> list[AccountChoice]:
    """The org's open leaf accounts in code order, each with its full name and what it asks for."""
    standard = conn.execute(select(org_t.c.standard).where(org_t.c.id == org_id)).scalar()
    rows = conn.execute(
        select(
            account_t.c.id, account_t.c.code, account_t.c.name, account_t.c.parent_id, account_t.c.is_closed
        )
        .where(account_t.c.org_id == org_id)
        .order_by(account_t.c.code)
    ).all()
    by_id = {r.id: r for r in rows}
    parents = {r.parent_id for r in rows if r.parent_id is not None}
    out = []
    for r in rows:
        if r.is_closed or r.id in parents:
            continue
        names, node = [r.name], r
        while node.parent_id is not None and node.parent_id in by_id:
            node = by_id[node.parent_id]
            names.append(node.name)
        full = "—".join(reversed(names))
        out.append(
            AccountChoice(
                r.code, full, initials(full), dimensions_for(standard, r.code), required_for(standard, r.code)
            )
        )
    return out


def suggest_accounts(
    accounts: list[AccountChoice], query: str, limit: int = MAX_SUGGESTIONS
) -> list[AccountChoice]:
    """Accounts whose code starts with ``query``, whose name contains it, or whose pinyin initials start
    with it (or contain it, ranked after), codes first; all of them (up to ``limit``) for an empty query."""
    q = query.strip().lower()
    if not q:
        return accounts[:limit]
    ranked: list[tuple[int, str, AccountChoice]] = []
    for a in accounts:
        if a.code.startswith(q):
            rank = 0
        elif a.initials.startswith(q) or q in a.name:
            rank = 1
        elif q in a.initials:
            rank = 2
        else:
            continue
        ranked.append((rank, a.code, a))
    ranked.sort(key=lambda x: (x[0], x[1]))
    return [a for _, _, a in ranked[:limit]]


def counterparties(conn: Connection, org_id: int) -> list[tuple[int, str, str]]:
    """(id, kind, name) of the org's counterparties, by name."""
    rows = conn.execute(
        select(cp_t.c.id, cp_t.c.kind, cp_t.c.name)
        .where(cp_t.c.org_id == org_id)
        .order_by(cp_t.c.name, cp_t.c.id)
    )
    return [(r.id, r.kind, r.name) for r in rows]


def stores(conn: Connection, org_id: int) -> list[tuple[int, str]]:
    """(id, name) of the company's stores (none for a community)."""
    rows = conn.execute(
        select(store_t.c.id, store_t.c.name).where(store_t.c.org_id == org_id).order_by(store_t.c.code)
    )
    return [(r.id, r.name) for r in rows]


def _pinyin_initials(name: str) -> list[str]:
    """pypinyin's first letters, imported on first use: its dictionaries take ~0.5 s to load, which no
    command or server start that never shows a voucher form should pay (issue 22)."""
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default")
