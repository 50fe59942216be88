"""Year-end close (年终结账), DESIGN §6 point 1.

``close_year`` refuses while any open month of the year has unposted sources — the same checks that keep
a month from closing (open POS shifts, lease accruals not run, stipends not posted …), registered by
their modules with ``ledger.books.periods.register_close_check`` — and names each month and reason. Otherwise
it posts, dated 31 December, source ``close``:

1. ``close:{year}:income`` — every income and expense leaf account's balance for the year, on the opposite
   side, against 本年收益 321 / 本年利润 3103;
2. ``close:{year}:profit`` — the balance of 321 / 3103 into 收益分配—未分配收益 32202 /
   利润分配—未分配利润 310404; and, for a collective, ``close:{year}:transfers`` — the year's 其他转入
   (32203, earmarks applied to public-welfare spending) into 32202.

All in one transaction, idempotent by their keys. The December period is then closed with the normal
period close; the next year's opening balances follow from the trial balance, as for any month. This
module never posts into a closed period and never edits what it posted: a wrong close is reversed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, func, select

from ledger.books import periods
from ledger.books.errors import Conflict, IdempotencyConflict, ValidationError
from ledger.books.orgs import get_org, require_books
from ledger.books.posting import Draft, Line, Posted, post_entries
from ledger.books.trial_balance import movements
from ledger.db.models import Account, JournalEntry, JournalLine
from ledger.distribution.accounts import Chart, ensure_for

line_t = JournalLine.__table__
account_t = Account.__table__
entry_t = JournalEntry.__table__

INCOME_CLASSES = ("income", "expense")


@dataclass(frozen=True)
class YearClose:
    org_id: int
    year: int
    profit_fen: int  # the year's net income (negative: a loss)
    entries: list[Posted]


def year_months(year: int) -> list[str]:
    return [f"{year:04d}-{m:02d}" for m in range(1, 13)]


def unposted_sources(conn: Connection, org_id: int, year: int) -> list[str]:
    """Why the year cannot close yet: every open month's close-check reasons, month by month."""
    latest = periods.closed_through(conn, org_id) or ""
    problems: list[str] = []
    for month in year_months(year):
        if month <= latest:
            continue
        problems.extend(f"{month}: {reason}" for reason in periods.close_problems(conn, org_id, month))
    return problems


def closing_and_reversal_ids(conn: Connection, org_id: int, year: int) -> list[int]:
    """The year's closing entries and their reversals: left out when the year's figures are computed."""
    ids = close_entry_ids(conn, org_id, year)
    if not ids:
        return []
    return ids + list(conn.execute(select(entry_t.c.id).where(entry_t.c.reverses_id.in_(ids))).scalars())


def _year_balances(conn: Connection, org_id: int, year: int, classes: tuple[str, ...]) -> dict[str, int]:
    """Leaf balances (debit positive) of the year's lines on accounts of ``classes``, before closing."""
    found = movements(
        conn, org_id, f"{year:04d}-01", f"{year:04d}-12", account_classes=classes, closing="exclude"
    )
    return {code: d - c for (code,), (d, c) in sorted(found.items()) if d != c}


def balance_through(
    conn: Connection, org_id: int, code: str, last_period: str, *, excluding: list[int] | None = None
) -> int:
    """Balance (debit positive) of account ``code`` and its sub-accounts through ``last_period``."""
    stmt = (
        select(func.coalesce(func.sum(line_t.c.debit_fen - line_t.c.credit_fen), 0))
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .where(line_t.c.org_id == org_id, account_t.c.code.like(f"{code}%"), line_t.c.period <= last_period)
    )
    if excluding:
        stmt = stmt.where(line_t.c.entry_id.not_in(excluding))
    return int(conn.execute(stmt).scalar_one())


def year_profit(conn: Connection, org_id: int, year: int) -> int:
    """The year's net income before closing (negative: a loss)."""
    return -sum(_year_balances(conn, org_id, year, INCOME_CLASSES).values())


def _key(conn: Connection, org_id: int, year: int, step: str) -> str:
    """``close:{year}:{step}``; after a reversed close, the next close takes ``…:2``, ``…:3``."""
    base = f"close:{year}:{step}"
    used = conn.execute(
        select(func.count())
        .select_from(entry_t)
        .where(entry_t.c.org_id == org_id, entry_t.c.idempotency_key.like(f"{base}%"))
    ).scalar_one()
    reversed_ = conn.execute(
        select(func.count())
        .select_from(entry_t)
        .where(
            entry_t.c.org_id == org_id,
            entry_t.c.reverses_id.in_(
                select(entry_t.c.id).where(
                    entry_t.c.org_id == org_id, entry_t.c.idempotency_key.like(f"{base}%")
                )
            ),
        )
    ).scalar_one()
    if used == 0 or reversed_ < used:
        return base if used <= 1 else f"{base}:{used}"
    return f"{base}:{used + 1}"


def _closed_into(balance: int, account: str, into: str) -> list[Line]:
    """The two lines that close ``balance`` of ``account`` (a credit balance when positive) into ``into``."""
    if balance > 0:
        return [Line(account, debit_fen=balance), Line(into, credit_fen=balance)]
    return [Line(into, debit_fen=-balance), Line(account, credit_fen=-balance)]


def closing_drafts(conn: Connection, org_id: int, year: int, chart: Chart) -> tuple[int, list[Draft]]:
    """The closing entries of the year (none when there is nothing to close) and the year's net income."""

    def closing(memo: str, lines: list[Line], step: str) -> Draft:
        key = _key(conn, org_id, year, step)
        return Draft(org_id, date(year, 12, 31), memo, lines, "close", f"close:{year}", idempotency_key=key)

    balances = _year_balances(conn, org_id, year, INCOME_CLASSES)
    profit = -sum(balances.values())
    drafts: list[Draft] = []
    lines = [
        Line(code, credit_fen=b, memo="结转本年损益")
        if b > 0
        else Line(code, debit_fen=-b, memo="结转本年损益")
        for code, b in balances.items()
    ]
    if lines:
        if profit > 0:
            lines.append(Line(chart.current_year, credit_fen=profit, memo="本年净收益"))
        elif profit < 0:
            lines.append(Line(chart.current_year, debit_fen=-profit, memo="本年净亏损"))
        drafts.append(closing(f"结转{year}年损益", lines, "income"))
    # 321 / 3103 after step 1: whatever it held before closing plus the year's net income.
    excluded = closing_and_reversal_ids(conn, org_id, year)
    current = (
        -balance_through(conn, org_id, chart.current_year, f"{year:04d}-12", excluding=excluded) + profit
    )
    if chart.other_transfers is not None:  # collective: the year's 其他转入 joins 未分配收益 too
        transfers = -balance_through(
            conn, org_id, chart.other_transfers, f"{year:04d}-12", excluding=excluded
        )
        if transfers:
            moved = _closed_into(transfers, chart.other_transfers, chart.undistributed)
            drafts.append(closing(f"结转{year}年其他转入", moved, "transfers"))
    if current:
        moved = _closed_into(current, chart.current_year, chart.undistributed)
        memo = f"结转{year}年{'收益' if chart.current_year == '321' else '利润'}"
        drafts.append(closing(memo, moved, "profit"))
    return profit, drafts


def close_year(conn: Connection, org_id: int, year: int, *, user_id: int | None = None) -> YearClose:
    """Close the year's income and expenses into 321/3103, then into 322/3104 (see the module docstring)."""
    require_books(get_org(conn, org_id))
    if not 1900 < year < 3000:
        raise ValidationError(f"{year} is not a year", field="year")
    if _year_balances(conn, org_id, year - 1, INCOME_CLASSES) and not year_closed(conn, org_id, year - 1):
        raise Conflict(
            f"close {year - 1} first: its income and expense accounts are still open", field="year"
        )
    problems = unposted_sources(conn, org_id, year)
    if problems:
        raise Conflict(f"year {year} cannot close yet: " + "; ".join(problems), field="year")
    chart = ensure_for(conn, org_id)
    profit, drafts = closing_drafts(conn, org_id, year, chart)
    try:
        posted = post_entries(conn, drafts, user_id=user_id)
    except IdempotencyConflict:
        raise Conflict(
            f"year {year} was closed before and its books changed since; reverse its closing entries "
            "and close it again",
            field="year",
        ) from None
    return YearClose(org_id, year, profit, posted)


def year_closed(conn: Connection, org_id: int, year: int) -> bool:
    """True when the year's closing entries are posted and not reversed."""
    ids = close_entry_ids(conn, org_id, year)
    if not ids:
        return False
    reversed_ = conn.execute(select(entry_t.c.id).where(entry_t.c.reverses_id.in_(ids))).first()
    return reversed_ is None


def close_entry_ids(conn: Connection, org_id: int, year: int) -> list[int]:
    return list(
        conn.execute(
            select(entry_t.c.id)
            .where(
                entry_t.c.org_id == org_id,
                entry_t.c.source == "close",
                entry_t.c.source_ref == f"close:{year}",
            )
            .order_by(entry_t.c.id)
        ).scalars()
    )
