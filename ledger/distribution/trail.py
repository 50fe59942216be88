"""The audit trail of public-welfare money, walked back by ids (issue 5, "the trail is complete").

From an entry of a community's 公益性岗位 (a stipend, or its payment) back to: the post → the earmarks that
funded it (``welfare_funding``) → the community's executed plan of each earmark year → that year's close
of the community's books and the dividends in its income (502, linked entries) → the company's executed
plan on the same link → the company's year close → the POS shift vouchers (source ``pos``) that earned the
company's profit. Every hop is an id the API serves (``/entries/{id}``, ``/plans/{id}`` …). Read only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from ledger.books.errors import NotFound
from ledger.db.models import Account, Counterparty, JournalEntry, JournalLine, Org
from ledger.distribution.models import DistributionPlan, PlanExecution, WelfareFunding
from ledger.distribution.yearend import close_entry_ids, year_profit

entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
account_t = Account.__table__
cp_t = Counterparty.__table__
org_t = Org.__table__
plan_t = DistributionPlan.__table__
exec_t = PlanExecution.__table__
funding_t = WelfareFunding.__table__

MAX_IDS = 200


def _executed_plan(conn: Connection, org_id: int, year: int) -> dict[str, Any] | None:
    row = conn.execute(
        select(plan_t.c.id, plan_t.c.version, plan_t.c.document_no, exec_t.c.link_id, exec_t.c.entry_ids)
        .join(exec_t, exec_t.c.plan_id == plan_t.c.id)
        .where(plan_t.c.org_id == org_id, plan_t.c.year == year, plan_t.c.status == "executed")
    ).first()
    if row is None:
        return None
    return {
        "plan_id": row.id,
        "version": row.version,
        "document_no": row.document_no,
        "link_id": row.link_id,
        "entry_ids": [int(i) for i in row.entry_ids.split(",") if i],
    }


def company_trail(conn: Connection, company_org_id: int, year: int) -> dict[str, Any]:
    """The company's plan, its year close and the POS vouchers of the year that earned the profit."""
    pos = conn.execute(
        select(entry_t.c.id, entry_t.c.source_ref, entry_t.c.total_fen)
        .where(
            entry_t.c.org_id == company_org_id,
            entry_t.c.source == "pos",
            entry_t.c.period >= f"{year:04d}-01",
            entry_t.c.period <= f"{year:04d}-12",
        )
        .order_by(entry_t.c.id)
    ).all()
    return {
        "org_id": company_org_id,
        "year": year,
        "plan": _executed_plan(conn, company_org_id, year),
        "profit_fen": year_profit(conn, company_org_id, year),
        "close_entry_ids": close_entry_ids(conn, company_org_id, year),
        "pos_entries": {
            "count": len(pos),
            "entry_ids": [r.id for r in pos[:MAX_IDS]],
            "shifts": [r.source_ref for r in pos[:MAX_IDS]],
        },
    }


def community_year_trail(conn: Connection, org_id: int, year: int) -> dict[str, Any]:
    """A collective's plan of ``year``, its close, and the company dividends in its income, each traced."""
    dividends = conn.execute(
        select(entry_t.c.id, entry_t.c.link_id, cp_t.c.ref_org_id, func.sum(line_t.c.credit_fen))
        .join(line_t, line_t.c.entry_id == entry_t.c.id)
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .join(cp_t, cp_t.c.id == line_t.c.counterparty_id)
        .where(
            entry_t.c.org_id == org_id,
            account_t.c.code.like("502%"),
            entry_t.c.period >= f"{year:04d}-01",
            entry_t.c.period <= f"{year:04d}-12",
            entry_t.c.source == "distribution",
        )
        .group_by(entry_t.c.id, entry_t.c.link_id, cp_t.c.ref_org_id)
        .order_by(entry_t.c.id)
    ).all()
    traced = []
    for d in dividends:
        company_plan = conn.execute(
            select(plan_t.c.id, plan_t.c.org_id, plan_t.c.year)
            .join(exec_t, exec_t.c.plan_id == plan_t.c.id)
            .where(exec_t.c.link_id == d.link_id)
        ).first()
        traced.append(
            {
                "entry_id": d.id,
                "link_id": d.link_id,
                "company_org_id": d.ref_org_id,
                "amount_fen": int(d[3]),
                "company_plan_id": company_plan.id if company_plan else None,
                "company": company_trail(conn, company_plan.org_id, company_plan.year)
                if company_plan
                else None,
            }
        )
    return {
        "org_id": org_id,
        "year": year,
        "plan": _executed_plan(conn, org_id, year),
        "income_fen": year_profit(conn, org_id, year),
        "close_entry_ids": close_entry_ids(conn, org_id, year),
        "dividends": traced,
    }


def welfare_trail(conn: Connection, org_id: int, entry_id: int) -> dict[str, Any]:
    """From a 公益性岗位 entry (stipend or payment) back to the plans, profits and sales that paid for it."""
    entry = conn.execute(select(entry_t).where(entry_t.c.id == entry_id, entry_t.c.org_id == org_id)).first()
    if entry is None:
        raise NotFound(f"entry {entry_id} does not exist in this org", field="entry_id")
    post_id = conn.execute(
        select(line_t.c.welfare_post_id).where(
            line_t.c.entry_id == entry_id, line_t.c.welfare_post_id.is_not(None)
        )
    ).scalar()
    if post_id is None:
        raise NotFound("that entry is not a public-welfare post's stipend or payment", field="entry_id")
    fundings = conn.execute(
        select(funding_t)
        .where(funding_t.c.org_id == org_id, funding_t.c.post_id == post_id)
        .order_by(funding_t.c.id)
    ).all()
    years = sorted({f.earmark_year for f in fundings})
    return {
        "entry_id": entry_id,
        "voucher_no": entry.voucher_no,
        "welfare_post_id": post_id,
        "fundings": [
            {
                "funding_id": f.id,
                "entry_id": f.entry_id,
                "earmark_year": f.earmark_year,
                "amount_fen": f.amount_fen,
            }
            for f in fundings
        ],
        "earmark_years": [community_year_trail(conn, org_id, y) for y in years],
    }
