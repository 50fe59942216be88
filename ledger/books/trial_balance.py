"""Trial balance (科目余额表): opening, period debits and credits, closing; per account, with parents.

Balances are signed debit-positive in storage and arithmetic; ``TrialBalanceRow.side`` says how a
statement prints one (借/贷/平). The cost follows the number of months and accounts, not the history: both
the opening balance and the movement sum ``account_turnover`` (per org, month and account, kept by the
posting code in the same transaction as the lines; ``cunshe verify`` recomputes it from the lines).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from ledger.books.periods import parse_period, previous_period
from ledger.db.models import Account, AccountTurnover, JournalLine

account_t = Account.__table__
line_t = JournalLine.__table__
turnover_t = AccountTurnover.__table__


@dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    name: str
    level: int
    parent_code: str | None
    account_class: str
    normal_side: str
    is_leaf: bool
    opening_fen: int  # debit positive
    debit_fen: int
    credit_fen: int
    closing_fen: int  # debit positive

    @property
    def side(self) -> str:
        """借 / 贷 / 平 of the closing balance, as printed in the 借或贷 column."""
        return "平" if self.closing_fen == 0 else ("借" if self.closing_fen > 0 else "贷")


def _sums(
    conn: Connection, org_id: int, lower_exclusive: str, upper_inclusive: str
) -> dict[int, tuple[int, int]]:
    if upper_inclusive <= lower_exclusive:
        return {}
    rows = conn.execute(
        select(turnover_t.c.account_id, func.sum(turnover_t.c.debit_fen), func.sum(turnover_t.c.credit_fen))
        .where(
            turnover_t.c.org_id == org_id,
            turnover_t.c.period > lower_exclusive,
            turnover_t.c.period <= upper_inclusive,
        )
        .group_by(turnover_t.c.account_id)
    )
    return {account_id: (int(d), int(c)) for account_id, d, c in rows}


def trial_balance(
    conn: Connection, org_id: int, from_period: str, to_period: str | None = None
) -> list[TrialBalanceRow]:
    """Every account of the org in code order, parents summing their children."""
    parse_period(from_period, "from")
    to_period = parse_period(to_period or from_period, "to")
    before = previous_period(from_period)
    opening = {account_id: d - c for account_id, (d, c) in _sums(conn, org_id, "", before).items()}
    movement = _sums(conn, org_id, before, to_period)

    accounts = conn.execute(
        select(
            account_t.c.id,
            account_t.c.code,
            account_t.c.name,
            account_t.c.level,
            account_t.c.parent_id,
            account_t.c.account_class,
            account_t.c.normal_side,
        )
        .where(account_t.c.org_id == org_id)
        .order_by(account_t.c.code)
    ).all()
    by_id = {a.id: a for a in accounts}
    totals: dict[int, list[int]] = {a.id: [0, 0, 0] for a in accounts}
    for account_id in set(opening) | set(movement):
        o = opening.get(account_id, 0)
        d, c = movement.get(account_id, (0, 0))
        node = by_id.get(account_id)
        while node is not None:  # roll up through the parents
            t = totals[node.id]
            t[0] += o
            t[1] += d
            t[2] += c
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
    parents = {a.parent_id for a in accounts if a.parent_id is not None}
    return [
        TrialBalanceRow(
            code=a.code,
            name=a.name,
            level=a.level,
            parent_code=by_id[a.parent_id].code if a.parent_id is not None else None,
            account_class=a.account_class,
            normal_side=a.normal_side,
            is_leaf=a.id not in parents,
            opening_fen=totals[a.id][0],
            debit_fen=totals[a.id][1],
            credit_fen=totals[a.id][2],
            closing_fen=totals[a.id][0] + totals[a.id][1] - totals[a.id][2],
        )
        for a in accounts
    ]


def balances_by_code(rows: list[TrialBalanceRow], *, leaves_only: bool = False) -> dict[str, int]:
    """Closing balances keyed by account code (debit positive), for statements."""
    return {r.code: r.closing_fen for r in rows if r.is_leaf or not leaves_only}


def org_nets_to_zero(conn: Connection, org_id: int) -> int:
    """Σ debit − Σ credit over every line the org ever posted: zero for sound books."""
    return int(
        conn.execute(
            select(func.coalesce(func.sum(line_t.c.debit_fen - line_t.c.credit_fen), 0)).where(
                line_t.c.org_id == org_id
            )
        ).scalar_one()
    )
