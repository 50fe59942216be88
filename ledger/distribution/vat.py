"""The small-scale taxpayer's quarterly VAT exemption (小规模纳税人免征增值税), at the quarter's end.

Where an org's sales of a quarter (net of tax: the credit turnover of its revenue accounts, 5001 + 5051 for
a company, 501 for a collective) stay within its quarterly threshold, the output VAT accrued in that
quarter (222101 应交增值税 / 214 应交税费) is not payable; a period-end entry moves it to income:

    Dr 222101 (214) / Cr 5301 营业外收入 (company) or 504 其他收入 (collective)

dated the quarter's last day, source ``close``, idempotency key ``vat-exempt:{year}Q{q}``, with the rule
and the threshold in the memo and ``source_ref``. Thresholds are dated data: an org's own rows
(``vat_threshold``: from a date, the quarterly threshold and the rule that sets it) win; otherwise the
national schedule shipped in ``vat_thresholds.csv`` (¥300,000 a quarter since 2023, 财政部 税务总局公告
2023年第1号 and 第19号). Over the threshold nothing is posted: the VAT is payable in full. (The 2022
full exemption of 公告2022年第15号 is not modelled.) Confirm with the local tax office.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files

from sqlalchemy import Connection, select

from ledger.books.errors import Conflict, ValidationError
from ledger.books.money import format_amount
from ledger.books.periods import period_bounds
from ledger.books.posting import Draft, Line, post_entry
from ledger.books.trial_balance import net_credit
from ledger.db.models import Account, JournalEntry
from ledger.db.rows import insert_id
from ledger.distribution.accounts import chart_for
from ledger.distribution.models import VatThreshold

threshold_t = VatThreshold.__table__
account_t = Account.__table__
entry_t = JournalEntry.__table__

DEFAULT_THRESHOLD_FEN = 30_000_000  # only when a date precedes every row of the shipped schedule


@cache
def national_schedule() -> tuple[tuple[date, int, str], ...]:
    """The shipped schedule of quarterly thresholds: (effective from, fen, rule), oldest first."""
    text = (files("ledger.distribution") / "vat_thresholds.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return tuple(
        sorted(
            (date.fromisoformat(r["effective_from"]), int(r["quarterly_threshold_fen"]), r["rule"])
            for r in rows
        )
    )


@dataclass(frozen=True)
class VatQuarter:
    org_id: int
    year: int
    quarter: int
    sales_fen: int
    threshold_fen: int
    rule: str
    vat_fen: int
    exempt: bool
    entry_id: int | None


def set_threshold(
    conn: Connection, org_id: int, *, effective_from: date, quarterly_threshold_fen: int, rule: str = ""
) -> int:
    chart_for(conn, org_id)
    if not isinstance(quarterly_threshold_fen, int) or quarterly_threshold_fen < 0:
        raise ValidationError("the threshold is zero or more fen", field="quarterly_threshold")
    taken = select(threshold_t.c.id).where(
        threshold_t.c.org_id == org_id, threshold_t.c.effective_from == effective_from
    )
    if conn.execute(taken).first() is not None:
        raise Conflict(f"a threshold already takes effect on {effective_from}", field="effective_from")
    return insert_id(
        conn,
        threshold_t,
        org_id=org_id,
        effective_from=effective_from,
        quarterly_threshold_fen=quarterly_threshold_fen,
        rule=rule.strip(),
    )


def threshold_on(conn: Connection, org_id: int, on: date) -> tuple[int, str]:
    """The quarterly threshold in force on ``on`` and the rule that sets it."""
    row = conn.execute(
        select(threshold_t)
        .where(threshold_t.c.org_id == org_id, threshold_t.c.effective_from <= on)
        .order_by(threshold_t.c.effective_from.desc())
        .limit(1)
    ).first()
    if row is None:
        dated = [(fen, rule) for since, fen, rule in national_schedule() if since <= on]
        return dated[-1] if dated else (DEFAULT_THRESHOLD_FEN, "")
    return (
        row.quarterly_threshold_fen,
        row.rule or f"本单位税务登记：季度起征点 {row.quarterly_threshold_fen} 分",
    )


def quarter_periods(year: int, quarter: int) -> tuple[str, str]:
    if quarter not in (1, 2, 3, 4):
        raise ValidationError("a quarter is 1 to 4", field="quarter")
    return f"{year:04d}-{quarter * 3 - 2:02d}", f"{year:04d}-{quarter * 3:02d}"


def _vat_account(conn: Connection, org_id: int, code: str) -> str:
    """222101 where the org has it (the POS opens it), else its parent 2221; 214 for a collective."""
    exists = conn.execute(
        select(account_t.c.id).where(account_t.c.org_id == org_id, account_t.c.code == code)
    ).first()
    return code if exists else code[:4]


def vat_quarter(conn: Connection, org_id: int, year: int, quarter: int) -> VatQuarter:
    """The quarter's sales, threshold and accrued VAT; whether it is exempt. Posts nothing."""
    chart = chart_for(conn, org_id)
    first, last = quarter_periods(year, quarter)
    end = period_bounds(last)[1]
    threshold, rule = threshold_on(conn, org_id, end)
    # The year-end closing entry (31 December) debits the year's sales away: a quarter's sales are before it.
    sales = net_credit(conn, org_id, first, last, accounts=chart.sales_accounts)
    done, exempted = conn.execute(
        select(entry_t.c.id, entry_t.c.total_fen).where(
            entry_t.c.org_id == org_id, entry_t.c.idempotency_key == f"vat-exempt:{year}Q{quarter}"
        )
    ).first() or (None, 0)
    # The VAT accrued in the quarter, before its own exemption entry moved it to income.
    vat = net_credit(conn, org_id, first, last, accounts=(chart.vat_payable,)) + int(exempted)
    return VatQuarter(org_id, year, quarter, sales, threshold, rule, vat, sales <= threshold, done)


def post_vat_exemption(
    conn: Connection, org_id: int, year: int, quarter: int, *, user_id: int | None = None
) -> VatQuarter:
    """Move the quarter's accrued output VAT to income when its sales are within the threshold."""
    q = vat_quarter(conn, org_id, year, quarter)
    if not q.exempt or q.vat_fen <= 0 or q.entry_id is not None:
        return q
    chart = chart_for(conn, org_id)
    _, last = quarter_periods(year, quarter)
    vat_account = _vat_account(conn, org_id, chart.vat_payable)
    posted = post_entry(
        conn,
        Draft(
            org_id=org_id,
            entry_date=period_bounds(last)[1],
            memo=(
                f"{year}年第{quarter}季度销售额 {format_amount(q.sales_fen)} 元 ≤ 起征点"
                f" {format_amount(q.threshold_fen)} 元，"
                f"增值税免征转入收入（{q.rule}）"
            )[:500],
            lines=[
                Line(vat_account, debit_fen=q.vat_fen, memo="免征增值税"),
                Line(chart.vat_income, credit_fen=q.vat_fen, memo="免征增值税"),
            ],
            # Not "close": that marks 结转 entries, which statements leave out of the year's income. This is
            # real income (营业外收入 / 其他收入) and must show on the 利润表 / 收益及收益分配表.
            source="manual",
            source_ref=f"vat-exempt:{year}Q{quarter}:threshold={q.threshold_fen}",
            idempotency_key=f"vat-exempt:{year}Q{quarter}",
        ),
        user_id=user_id,
    )
    return VatQuarter(org_id, year, quarter, q.sales_fen, q.threshold_fen, q.rule, q.vat_fen, True, posted.id)
