"""The community's registers a voucher line can name (辅助核算): its lease contracts and welfare posts, as
(id, label) for the entry form. Read-only."""

from __future__ import annotations

from sqlalchemy import Connection, select

from ledger.community.models import LeaseContract, WelfarePost
from ledger.db.models import Counterparty

contract_t = LeaseContract.__table__
post_t = WelfarePost.__table__
cp_t = Counterparty.__table__


def contracts(conn: Connection, org_id: int) -> list[tuple[int, str]]:
    """(id, "HT-1 张三") of the org's lease contracts, by code."""
    rows = conn.execute(
        select(contract_t.c.id, contract_t.c.code, cp_t.c.name)
        .join(cp_t, cp_t.c.id == contract_t.c.lessee_id)
        .where(contract_t.c.org_id == org_id)
        .order_by(contract_t.c.code)
    )
    return [(r.id, f"{r.code} {r.name}") for r in rows]


def welfare_posts(conn: Connection, org_id: int) -> list[tuple[int, str]]:
    """(id, "保洁员 李梅") of the org's welfare posts."""
    rows = conn.execute(
        select(post_t.c.id, post_t.c.post, post_t.c.holder)
        .where(post_t.c.org_id == org_id)
        .order_by(post_t.c.id)
    )
    return [(r.id, f"{r.post} {r.holder}") for r in rows]
