"""``cunshe verify``: recompute everything the books promise and report every break.

Per org with books: the hash chain (each entry's hash from its predecessor and its canonical bytes, the
sequence without gaps, the head stored in ``book_state``), every entry balanced with at least two lines,
vouchers numbered 1…n without gaps in each month, the whole trial balance netting to zero, and every
income and expense account of a closed year netting to zero. Modules add
their sub-ledger ties (stock = 1405, leases = 112 …) with ``register_check``. Problems come back as data,
all of them, so an operator sees everything in one pass; the first broken entry of a chain is named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from ledger.books import registry
from ledger.books.chain import GENESIS, chain_hash
from ledger.books.trial_balance import movements, org_nets_to_zero
from ledger.db.models import Account, AccountTurnover, BookState, JournalEntry, JournalLine, Org

entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
account_t = Account.__table__
book_t = BookState.__table__
org_t = Org.__table__
turnover_t = AccountTurnover.__table__

CHUNK = 5000


@dataclass(frozen=True)
class Problem:
    org_id: int | None
    check: str
    message: str
    entry_id: int | None = None
    voucher_no: str | None = None

    def __str__(self) -> str:
        where = f"org {self.org_id}" if self.org_id is not None else "books"
        if self.voucher_no:
            where += f", {self.voucher_no} (entry {self.entry_id})"
        return f"[{self.check}] {where}: {self.message}"


Check = Callable[[Connection, int], list[Problem]]
_CHECKS: list[Check] = []


@dataclass(frozen=True)
class Tie:
    """A sub-ledger tied to its control account (DESIGN §7): the sub-ledger's total, the books', and the
    rows that differ (``columns`` names their fields), e.g. stock value per store against 1405 [store]."""

    name: str
    label: str
    subledger_fen: int
    ledger_fen: int
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()

    @property
    def difference_fen(self) -> int:
        return self.subledger_fen - self.ledger_fen


TieRule = Callable[[Connection, int], "Tie | None"]
_TIES: list[tuple[TieRule, str | None]] = []


def register_tie(check: str | None) -> Callable[[TieRule], TieRule]:
    """Register a sub-ledger tie, defined once for ``cunshe verify`` and the ties report. ``check`` names
    the problem verify reports when the tie breaks (None: shown in the ties report only). A rule returns
    None for an org it does not apply to."""

    def register(rule: TieRule) -> TieRule:
        if all(r is not rule for r, _ in _TIES):
            _TIES.append((rule, check))
        return rule

    return register


def subledger_ties(conn: Connection, org_id: int) -> list[Tie]:
    """Every registered tie that applies to the org, computed now."""
    registry.require_started()
    return [tie for rule, _check in _TIES if (tie := rule(conn, org_id)) is not None]


def _broken_ties(conn: Connection, org_id: int) -> list[Problem]:
    problems = []
    for rule, check in _TIES:
        tie = rule(conn, org_id) if check else None
        if tie is not None and tie.difference_fen != 0:
            rows = "; ".join(
                ", ".join(f"{c} {v}" for c, v in zip(tie.columns, row, strict=False)) for row in tie.rows[:5]
            )
            message = f"{tie.label}: sub-ledger {tie.subledger_fen} fen ≠ ledger {tie.ledger_fen} fen"
            problems.append(Problem(org_id, check or tie.name, message + (f" ({rows})" if rows else "")))
    return problems


def register_check(check: Check) -> Check:
    """Sub-ledger ties and other module checks, run per org after the core checks."""
    if check not in _CHECKS:
        _CHECKS.append(check)
    return check


def verify_chain(conn: Connection, org_id: int) -> list[Problem]:
    codes = dict(
        conn.execute(select(account_t.c.id, account_t.c.code).where(account_t.c.org_id == org_id)).all()
    )
    prev = GENESIS
    expected_seq = 1
    last_seq = 0
    problems: list[Problem] = []
    while True:
        entries = conn.execute(
            select(entry_t)
            .where(entry_t.c.org_id == org_id, entry_t.c.seq >= expected_seq)
            .order_by(entry_t.c.seq)
            .limit(CHUNK)
        ).all()
        if not entries:
            break
        ids = [e.id for e in entries]
        lines: dict[int, list[dict]] = {i: [] for i in ids}
        for r in conn.execute(
            select(line_t).where(line_t.c.entry_id.in_(ids)).order_by(line_t.c.entry_id, line_t.c.line_no)
        ).mappings():
            line = dict(r)
            line["account_code"] = codes.get(r["account_id"], f"?{r['account_id']}")
            lines[r["entry_id"]].append(line)
        for e in entries:
            entry = e._asdict()
            if e.seq != expected_seq:
                problems.append(
                    Problem(
                        org_id,
                        "chain",
                        f"sequence jumps from {expected_seq - 1} to {e.seq}",
                        e.id,
                        e.voucher_no,
                    )
                )
                return problems
            ls = lines[e.id]
            debit = sum(x["debit_fen"] for x in ls)
            credit = sum(x["credit_fen"] for x in ls)
            if debit != credit or len(ls) < 2:
                problems.append(
                    Problem(
                        org_id,
                        "balance",
                        f"entry does not balance: {debit} ≠ {credit}, {len(ls)} lines",
                        e.id,
                        e.voucher_no,
                    )
                )
            if e.prev_hash != prev or chain_hash(prev, entry, ls) != e.hash:
                problems.append(
                    Problem(
                        org_id,
                        "chain",
                        "hash does not match: the entry or its lines were changed",
                        e.id,
                        e.voucher_no,
                    )
                )
                return problems  # everything after the first break is unverifiable
            prev = e.hash
            last_seq = e.seq
            expected_seq += 1
    state = conn.execute(select(book_t).where(book_t.c.org_id == org_id)).first()
    if state is not None and (state.last_seq != last_seq or state.head_hash != prev):
        problems.append(
            Problem(org_id, "chain", f"chain head says seq {state.last_seq}, entries end at {last_seq}")
        )
    return problems


def verify_vouchers(conn: Connection, org_id: int) -> list[Problem]:
    """Each month's vouchers are numbered 1…n with no gap and no repeat."""
    numbers: dict[str, list[int]] = {}
    for period, voucher_no in conn.execute(
        select(entry_t.c.period, entry_t.c.voucher_no).where(entry_t.c.org_id == org_id)
    ):
        numbers.setdefault(period, []).append(int(voucher_no.rsplit("-", 1)[1]))
    problems = []
    for period, seen in sorted(numbers.items()):
        seen.sort()
        if seen != list(range(1, len(seen) + 1)):
            missing = sorted(set(range(1, max(seen) + 1)) - set(seen))[:5]
            problems.append(
                Problem(
                    org_id,
                    "vouchers",
                    f"{period}: {len(seen)} vouchers, numbers missing or repeated: {missing}",
                )
            )
    return problems


def verify_turnover(conn: Connection, org_id: int) -> list[Problem]:
    """``account_turnover`` equals the lines it sums, per month and account."""
    lines = {
        (period, account_id): (int(d), int(c))
        for period, account_id, d, c in conn.execute(
            select(
                line_t.c.period,
                line_t.c.account_id,
                func.sum(line_t.c.debit_fen),
                func.sum(line_t.c.credit_fen),
            )
            .where(line_t.c.org_id == org_id)
            .group_by(line_t.c.period, line_t.c.account_id)
        )
    }
    kept = {
        (r.period, r.account_id): (r.debit_fen, r.credit_fen)
        for r in conn.execute(select(turnover_t).where(turnover_t.c.org_id == org_id))
    }
    wrong = sorted(k for k in set(lines) | set(kept) if lines.get(k, (0, 0)) != kept.get(k, (0, 0)))
    return [
        Problem(
            org_id,
            "turnover",
            f"{p} account {a}: the lines sum to {lines.get((p, a))}, kept {kept.get((p, a))}",
        )
        for p, a in wrong[:10]
    ]


INCOME_AND_EXPENSE = ("income", "expense")


def closed_years(conn: Connection, org_id: int) -> list[int]:
    """The years whose income and expenses were closed (年终结账): a live ``close`` entry of the year
    touches an income or expense account (a distribution's 结转 posts to equity only)."""
    reversed_ids = select(entry_t.c.reverses_id).where(
        entry_t.c.org_id == org_id, entry_t.c.reverses_id.is_not(None)
    )
    periods = conn.execute(
        select(entry_t.c.period)
        .distinct()
        .join(line_t, line_t.c.entry_id == entry_t.c.id)
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .where(
            entry_t.c.org_id == org_id,
            entry_t.c.source == "close",
            entry_t.c.id.not_in(reversed_ids),
            account_t.c.account_class.in_(INCOME_AND_EXPENSE),
        )
    ).scalars()
    return sorted({int(p[:4]) for p in periods})


def verify_closed_years(conn: Connection, org_id: int) -> list[Problem]:
    """After a year is closed, every income and expense leaf of that year nets to zero."""
    problems = []
    for year in closed_years(conn, org_id):
        found = movements(
            conn,
            org_id,
            f"{year:04d}-01",
            f"{year:04d}-12",
            closing="include",
            account_classes=INCOME_AND_EXPENSE,
        )
        for (code,), (debit, credit) in sorted(found.items()):
            if debit != credit:
                problems.append(
                    Problem(
                        org_id,
                        "year_close",
                        f"{year} is closed but account {code} is left at {debit - credit} fen "
                        "(debit positive): every income and expense account nets to zero after 年终结账",
                    )
                )
    return problems


def verify_org(conn: Connection, org_id: int) -> list[Problem]:
    registry.require_started()
    problems = verify_chain(conn, org_id) + verify_vouchers(conn, org_id) + verify_turnover(conn, org_id)
    problems += verify_closed_years(conn, org_id)
    net = org_nets_to_zero(conn, org_id)
    if net != 0:
        problems.append(Problem(org_id, "trial_balance", f"debits exceed credits by {net} fen"))
    problems += _broken_ties(conn, org_id)
    for check in _CHECKS:
        problems.extend(check(conn, org_id))
    return problems


def verify_all(conn: Connection) -> list[Problem]:
    org_ids = conn.execute(
        select(org_t.c.id).where(org_t.c.standard.is_not(None)).order_by(org_t.c.id)
    ).scalars()
    return [p for org_id in list(org_ids) for p in verify_org(conn, org_id)]
