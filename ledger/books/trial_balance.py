"""Trial balance (科目余额表) and the one period window every figure is read through.

``movements`` answers "the debit and credit turnover of these accounts between these months (or dates)",
leaving out the year-end closing entries (source ``close``, and the red-ink reversals of them) unless
asked — ``closing="include"`` or ``closing="only"``; ``balances`` answers "the balance as of this date"
(every posting dated on or before it, closing entries included: a balance is a balance). Every report and
every figure of the workflows (VAT quarters, welfare funds, channel sales, brokerage, disclosure, the
year-end close itself) reads the journal through these two; nobody filters journal lines by hand.

Trial balance: opening, period debits and credits, closing; per account, with parents.

Balances are signed debit-positive in storage and arithmetic; ``TrialBalanceRow.side`` says how a
statement prints one (借/贷/平). The cost follows the number of months and accounts, not the history: both
the opening balance and the movement sum ``account_turnover`` (per org, month and account, kept by the
posting code in the same transaction as the lines; ``cunshe verify`` recomputes it from the lines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypeVarTuple

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select

from ledger.books.errors import ValidationError
from ledger.books.periods import parse_period, previous_period
from ledger.db.models import Account, AccountTurnover, JournalEntry, JournalLine

account_t = Account.__table__
line_t = JournalLine.__table__
entry_t = JournalEntry.__table__
turnover_t = AccountTurnover.__table__
reversed_entry = entry_t.alias("reversed_entry")

CLOSING_SOURCE = "close"
Closing = Literal["exclude", "include", "only"]
Bound = str | date  # a month ``YYYY-MM`` (its lines) or a day (the entries dated on it)
DIMENSIONS = {
    "period": line_t.c.period,
    "counterparty": line_t.c.counterparty_id,
    "store": line_t.c.store_id,
    "channel": line_t.c.channel,
    "contract": line_t.c.contract_id,
    "welfare_post": line_t.c.welfare_post_id,
}

_Ts = TypeVarTuple("_Ts")  # a SELECT's column types, kept through the window's joins


# --- the period window ------------------------------------------------------------------------------------


def _window_conditions(
    org_id: int, start: Bound | None, end: Bound | None, accounts: Sequence[str], closing: Closing
) -> tuple[list[ColumnElement[bool]], bool]:
    """WHERE clauses over line ⋈ account (⋈ entry, ⋈ reversed entry when the second value is True)."""
    if closing not in ("exclude", "include", "only"):
        raise ValueError(f"closing is exclude, include or only, not {closing!r}")
    cond = [line_t.c.org_id == org_id]
    needs_entry = closing != "include"
    for bound, op in ((start, "ge"), (end, "le")):
        if bound is None:
            continue
        if isinstance(bound, date):
            column = entry_t.c.entry_date
            needs_entry = True
        else:
            column = line_t.c.period
            parse_period(bound, "from" if op == "ge" else "to")
        cond.append(column >= bound if op == "ge" else column <= bound)
    if accounts and accounts != ("",):
        cond.append(or_(*(account_t.c.code.startswith(a, autoescape=True) for a in accounts)))
    if closing != "include":
        # A closing entry, or the red ink of one (a wrong close reversed): both belong to the close.
        is_closing = or_(entry_t.c.source == CLOSING_SOURCE, reversed_entry.c.source == CLOSING_SOURCE)
        cond.append(is_closing if closing == "only" else ~func.coalesce(is_closing, False))
    return cond, needs_entry


def _window(stmt: Select[*_Ts], needs_entry: bool, closing: Closing) -> Select[*_Ts]:
    stmt = stmt.select_from(line_t).join(account_t, account_t.c.id == line_t.c.account_id)
    if needs_entry:
        stmt = stmt.join(entry_t, entry_t.c.id == line_t.c.entry_id)
    if closing != "include":
        stmt = stmt.outerjoin(reversed_entry, reversed_entry.c.id == entry_t.c.reverses_id)
    return stmt


def movements(
    conn: Connection,
    org_id: int,
    start: Bound | None,
    end: Bound | None,
    *,
    accounts: Sequence[str] = ("",),
    closing: Closing = "exclude",
    by: Sequence[str] = (),
    account_classes: Sequence[str] = (),
    sources: Sequence[str] = (),
) -> dict[tuple[Any, ...], tuple[int, int]]:
    """(account code, *dimensions in ``by``) → (debit, credit) turnover between ``start`` and ``end``.

    ``start``/``end`` are months (``YYYY-MM``, inclusive) or days (inclusive, by the entry's date); None
    leaves that side open. ``accounts`` are code prefixes (an account and its sub-accounts). Closing entries
    are left out unless ``closing`` says ``include`` (a 科目余额表's turnover) or ``only``. ``sources``
    keeps only entries of those sources (the distribution's own lines, say).
    """
    unknown = set(by) - set(DIMENSIONS)
    if unknown:
        raise ValidationError(f"no dimension {sorted(unknown)[0]!r}", field="by")
    cond, needs_entry = _window_conditions(org_id, start, end, accounts, closing)
    if account_classes:
        cond.append(account_t.c.account_class.in_(list(account_classes)))
    if sources:
        cond.append(entry_t.c.source.in_(list(sources)))
        needs_entry = True
    keys = [account_t.c.code, *(DIMENSIONS[d] for d in by)]
    stmt = _window(
        select(*keys, func.sum(line_t.c.debit_fen), func.sum(line_t.c.credit_fen)), needs_entry, closing
    )
    rows = conn.execute(stmt.where(and_(*cond)).group_by(*keys))
    return {tuple(r[:-2]): (int(r[-2]), int(r[-1])) for r in rows}


def net_credit(
    conn: Connection,
    org_id: int,
    start: Bound | None,
    end: Bound | None,
    *,
    accounts: Sequence[str],
    closing: Closing = "exclude",
) -> int:
    """Σ credit − Σ debit of the accounts over the window (an income account's net turnover)."""
    found = movements(conn, org_id, start, end, accounts=accounts, closing=closing)
    return sum(c - d for d, c in found.values())


def balances(
    conn: Connection,
    org_id: int,
    as_of: Bound,
    *,
    accounts: Sequence[str] = ("",),
    by: Sequence[str] = (),
    closing: Closing = "include",
) -> dict[tuple[Any, ...], int]:
    """(account code, *dimensions) → balance (debit positive) of every posting dated on or before ``as_of``
    (a day) or in a month up to ``as_of`` (``YYYY-MM``). Accounts whose balance is zero are left out."""
    found = movements(conn, org_id, None, as_of, accounts=accounts, closing=closing, by=by)
    return {key: d - c for key, (d, c) in found.items() if d != c}


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


def _closing_sums(conn: Connection, org_id: int, first: str, last: str) -> dict[int, tuple[int, int]]:
    """The closing entries' turnover per account id over the months (the few lines a 结转 posts)."""
    cond, needs_entry = _window_conditions(org_id, first, last, ("",), "only")
    stmt = _window(
        select(line_t.c.account_id, func.sum(line_t.c.debit_fen), func.sum(line_t.c.credit_fen)),
        needs_entry,
        "only",
    )
    rows = conn.execute(stmt.where(and_(*cond)).group_by(line_t.c.account_id))
    return {account_id: (int(d), int(c)) for account_id, d, c in rows}


def trial_balance(
    conn: Connection,
    org_id: int,
    from_period: str,
    to_period: str | None = None,
    *,
    closing: Literal["include", "exclude"] = "include",
) -> list[TrialBalanceRow]:
    """Every account of the org in code order, parents summing their children.

    The turnover columns count the year-end closing entries (结转 is a real movement of the month) unless
    ``closing="exclude"``, which leaves them out of the turnover and so of the closing column too.
    """
    parse_period(from_period, "from")
    to_period = parse_period(to_period or from_period, "to")
    before = previous_period(from_period)
    opening = {account_id: d - c for account_id, (d, c) in _sums(conn, org_id, "", before).items()}
    movement = _sums(conn, org_id, before, to_period)
    if closing == "exclude":
        for account_id, (d, c) in _closing_sums(conn, org_id, from_period, to_period).items():
            md, mc = movement.get(account_id, (0, 0))
            movement[account_id] = (md - d, mc - c)

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
