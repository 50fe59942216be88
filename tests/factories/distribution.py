"""Profit distribution's books: entries from (account, Dr/Cr, fen) triples, an account's credit balance, the
joint company with its three shareholder communities and a year's sales, and the approved plans of the
company (``COMPANY_PLAN``) and of 丁字口社区 (``COMMUNITY_PLAN``, after ``community_year``)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from ledger.books.posting import Draft, Line, post_entry
from ledger.community.stakes import record_stake
from ledger.db.engine import write_tx
from ledger.db.models import Account, JournalLine
from ledger.distribution import execute as ex
from ledger.distribution.accounts import ensure_for
from ledger.distribution.plans import Step
from ledger.distribution.shareholders import add_shareholder, pay_in_capital
from ledger.distribution.yearend import close_year
from tests.factories.county import County

YUAN = 100
line_t = JournalLine.__table__
account_t = Account.__table__
COMPANY_PLAN = [
    Step("cover_losses"),
    Step("statutory_reserve", rate_bp=1_000),
    Step("shareholders", amount_fen=10_000_001),  # ¥100,000.01 over 3 : 2 : 1 needs the largest remainder
]


COMMUNITY_PLAN = [
    Step("cover_losses"),
    Step("public_reserve", rate_bp=1_000),
    Step("welfare_post_earmark", rate_bp=2_000),
    Step("facility_earmark", amount_fen=5_000 * YUAN),
    Step("members", rate_bp=5_500),
]


def book(
    conn: Connection,
    org_id: int,
    on: date,
    memo: str,
    *pairs: tuple[str, str, int],
    source: str = "manual",
    source_ref: str | None = None,
) -> int:
    """Post an entry from (account, 'Dr'|'Cr', fen) triples."""
    lines = [Line(a, debit_fen=f) if side == "Dr" else Line(a, credit_fen=f) for a, side, f in pairs]
    draft = Draft(org_id=org_id, entry_date=on, memo=memo, lines=lines, source=source, source_ref=source_ref)
    return post_entry(conn, draft).id


def balance(conn: Connection, org_id: int, code: str, counterparty_id: int | None = None) -> int:
    """Credit balance (credit positive) of an account and its sub-accounts."""
    stmt = (
        select(func.coalesce(func.sum(line_t.c.credit_fen - line_t.c.debit_fen), 0))
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .where(line_t.c.org_id == org_id, account_t.c.code.like(f"{code}%"))
    )
    if counterparty_id is not None:
        stmt = stmt.where(line_t.c.counterparty_id == counterparty_id)
    return int(conn.execute(stmt).scalar_one())


def company_with_shareholders(county: County, *, sales_ref: str | None = None) -> dict[str, int]:
    """Paid-in capital on both sides, the 2024 loss and the 2025 profit, both years closed.

    With ``sales_ref`` (``shift:901``) the 2025 sales are a POS shift voucher (source ``pos``).
    """
    ids = county.ids
    co = ids["company"]
    holdings: dict[str, int] = {}
    with write_tx(county.engine) as conn:
        ensure_for(conn, co)
        for name, paid in (("dingzikou", 300_000), ("huahuaqiao", 200_000), ("village1", 100_000)):
            holdings[name] = add_shareholder(
                conn, co, shareholder_org_id=ids[name], subscribed_fen=paid * YUAN
            )
            pay_in_capital(conn, holdings[name], amount_fen=paid * YUAN, paid_on=date(2024, 1, 10))
            book(
                conn,
                ids[name],
                date(2024, 1, 5),
                "集体资金",
                ("102", "Dr", paid * YUAN),
                ("301", "Cr", paid * YUAN),
            )
            record_stake(
                conn,
                ids[name],
                company_org_id=co,
                paid_in_fen=paid * YUAN,
                share_bp=paid * 10_000 // 600_000,
                acquired_on=date(2024, 1, 10),
            )
        book(
            conn,
            co,
            date(2024, 1, 31),
            "法定盈余公积 (期初)",
            ("1002", "Dr", 490_000 * YUAN),
            ("310101", "Cr", 490_000 * YUAN),
        )
        book(
            conn,
            co,
            date(2024, 6, 30),
            "管理费用",
            ("5602", "Dr", 20_000 * YUAN),
            ("1002", "Cr", 20_000 * YUAN),
        )
        assert close_year(conn, co, 2024).profit_fen == -20_000 * YUAN
        book(
            conn,
            co,
            date(2025, 5, 31),
            "销售收入",
            ("1002", "Dr", 300_000 * YUAN),
            ("5001", "Cr", 300_000 * YUAN),
            source="pos" if sales_ref else "manual",
            source_ref=sales_ref,
        )
        book(
            conn,
            co,
            date(2025, 5, 31),
            "销售成本",
            ("5401", "Dr", 100_000 * YUAN),
            ("1002", "Cr", 100_000 * YUAN),
        )
        closed = close_year(conn, co, 2025)
        assert closed.profit_fen == 200_000 * YUAN
    return holdings


def approved_company_plan(county: County, steps: list[Step] = COMPANY_PLAN) -> int:
    with write_tx(county.engine) as conn:
        plan_id = ex.create_plan(conn, county.ids["company"], 2025, steps)
        ex.approve_plan(
            conn,
            plan_id,
            approving_body="股东会",
            resolution_date=date(2025, 12, 28),
            document_no="和联司股决〔2025〕3号",
        )
    return plan_id


def community_year(county: County) -> dict[str, int]:
    dz = county.ids["dingzikou"]
    members = {}
    with write_tx(county.engine) as conn:
        book(
            conn,
            dz,
            date(2025, 3, 1),
            "工作经费",
            ("102", "Dr", 100_000 * YUAN),
            ("503", "Cr", 100_000 * YUAN),
        )
        book(conn, dz, date(2025, 6, 1), "办公费", ("513", "Dr", 20_000 * YUAN), ("102", "Cr", 20_000 * YUAN))
        for name, shares in (("王一", 7), ("王二", 5), ("王三", 4)):
            members[name] = ex.add_member(conn, dz, member=name, shares=shares)
        assert close_year(conn, dz, 2025).profit_fen == 80_000 * YUAN
    return members


def approved_plan(county: County, steps: list[Step] = COMMUNITY_PLAN) -> int:
    with write_tx(county.engine) as conn:
        plan_id = ex.create_plan(conn, county.ids["dingzikou"], 2025, steps)
        ex.approve_plan(
            conn,
            plan_id,
            approving_body="成员大会",
            resolution_date=date(2025, 12, 20),
            document_no="丁社成决〔2025〕2号",
        )
    return plan_id
