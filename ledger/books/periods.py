"""Monthly periods: close (结账) and reopen (反结账).

Books close month by month in order, as in every Chinese bookkeeping package: a month closes only when the
month before it is closed (or the org has no entries before it) or is named in the same request, never a
month that has not begun, and only the latest closed month can be reopened. So "closed" always means
"closed through month X", and nothing posts on or before X — which the database enforces too. Closing
checks that the month's trial balance balances and that every source of the month is posted (checks
registered by the POS, leases, stipends … via ``register_close_check``), then stores each account's
turnover and closing balance (``account_balance``), so reports start from that snapshot.
Reopening is an admin act with a reason, recorded in ``period_event``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date

from sqlalchemy import Connection, delete, func, insert, select, update

from ledger.books import registry
from ledger.books.errors import Conflict, Forbidden, UnbalancedEntry, ValidationError
from ledger.books.orgs import get_org, now, require_books
from ledger.db.models import AccountBalance, AccountTurnover, JournalLine, Period, PeriodEvent

period_t = Period.__table__
event_t = PeriodEvent.__table__
balance_t = AccountBalance.__table__
line_t = JournalLine.__table__
turnover_t = AccountTurnover.__table__

PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

# A close check returns the reasons the month cannot close yet (empty when it can).
CloseCheck = Callable[[Connection, int, str], list[str]]
_CLOSE_CHECKS: list[CloseCheck] = []


def register_close_check(check: CloseCheck) -> CloseCheck:
    """Modules whose sources must be posted before a month closes register a check here."""
    if check not in _CLOSE_CHECKS:
        _CLOSE_CHECKS.append(check)
    return check


def close_problems(conn: Connection, org_id: int, period: str) -> list[str]:
    """Why ``period`` cannot close yet by its sources (open shifts, lease accruals or stipends not run …)."""
    registry.require_started()
    return [p for check in _CLOSE_CHECKS for p in check(conn, org_id, period)]


def parse_period(value: str, field: str = "period") -> str:
    if not isinstance(value, str) or not PERIOD_RE.match(value):
        raise ValidationError(f"a period is written YYYY-MM, not {value!r}", field=field)
    return value


def parse_date(value: object, field: str) -> date:
    """A YYYY-MM-DD date from a form, an option or a file, or a ValidationError naming ``field``."""
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from None


def previous_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"


def period_bounds(period: str) -> tuple[date, date]:
    year, month = int(period[:4]), int(period[5:])
    first = date(year, month, 1)
    last = date(year + (month == 12), month % 12 + 1, 1)
    return first, date.fromordinal(last.toordinal() - 1)


def closed_through(conn: Connection, org_id: int) -> str | None:
    """The latest closed month of the org, or None."""
    return conn.execute(
        select(func.max(period_t.c.period)).where(period_t.c.org_id == org_id, period_t.c.status == "closed")
    ).scalar_one()


def period_status(conn: Connection, org_id: int, period: str) -> str:
    latest = closed_through(conn, org_id)
    return "closed" if latest is not None and period <= latest else "open"


def open_months_before(conn: Connection, org_id: int, period: str) -> list[str]:
    """The open months a close of ``period`` would have to close first, oldest first: every month after the
    latest closed one (or from the org's first entry, for books never closed) up to the one before."""
    latest = closed_through(conn, org_id)
    if latest is not None:
        first = next_period(latest)
    else:
        first = conn.execute(
            select(func.min(line_t.c.period)).where(line_t.c.org_id == org_id, line_t.c.period < period)
        ).scalar_one()
        if first is None:
            return []
    months = []
    while first < period:
        months.append(first)
        first = next_period(first)
    return months


def close_period(
    conn: Connection,
    org_id: int,
    period: str,
    *,
    user_id: int | None = None,
    including: Sequence[str] = (),
    today: date | None = None,
) -> list[str]:
    """结账: close ``period``, and first exactly the open months before it that ``including`` names.

    A month after today's is refused (ValidationError naming the period): nothing has happened in it yet,
    and a closed future month would lock out every posting up to it (the till's shift vouchers too). Open
    months before ``period`` are never closed silently: the request names each one (the web form lists
    them and asks for a confirmation), or the close is refused with the list. Each month closes with its
    own checks, snapshot and event. Returns the months closed, oldest first.
    """
    parse_period(period)
    require_books(get_org(conn, org_id))
    today = today or now().date()
    current = f"{today.year:04d}-{today.month:02d}"
    if period > current:
        raise ValidationError(
            f"period {period} is in the future (today is {today.isoformat()}): "
            "a month closes once it has begun",
            field="period",
        )
    latest = closed_through(conn, org_id)
    if latest is not None and period <= latest:
        raise Conflict(f"period {period} is already closed (closed through {latest})", field="period")
    wanted = sorted({parse_period(m, "including") for m in including})
    earlier = open_months_before(conn, org_id, period)
    stray = [m for m in wanted if m not in earlier]
    if stray:
        raise ValidationError(
            f"{', '.join(stray)} is not an open month before {period}"
            + (f" (open before it: {', '.join(earlier)})" if earlier else " (none is open before it)"),
            field="including",
        )
    missing = [m for m in earlier if m not in wanted]
    if missing:
        raise Conflict(
            f"close {missing[0]} first: books close month by month in order; the open months before {period} "
            f"are {', '.join(earlier)} — name them to close them in the same request",
            field="period",
        )
    for month in [*earlier, period]:
        _close_one(conn, org_id, month, closed_through(conn, org_id), user_id)
    return [*earlier, period]


def _close_one(conn: Connection, org_id: int, period: str, latest: str | None, user_id: int | None) -> None:
    """Close one month whose predecessors are closed: its sources posted, its trial balance balanced."""
    problems = close_problems(conn, org_id, period)
    if problems:
        raise Conflict(f"period {period} cannot close yet: " + "; ".join(problems), field="period")
    debit, credit = conn.execute(
        select(
            func.coalesce(func.sum(line_t.c.debit_fen), 0), func.coalesce(func.sum(line_t.c.credit_fen), 0)
        ).where(line_t.c.org_id == org_id, line_t.c.period == period)
    ).one()
    if debit != credit:
        raise UnbalancedEntry(
            f"the trial balance of {period} does not balance: {debit} ≠ {credit}", field="period"
        )
    _store_snapshot(conn, org_id, period, latest)
    stamp = now()
    exists = conn.execute(
        select(period_t.c.status).where(period_t.c.org_id == org_id, period_t.c.period == period)
    ).first()
    if exists:
        conn.execute(
            update(period_t)
            .where(period_t.c.org_id == org_id, period_t.c.period == period)
            .values(status="closed", changed_at=stamp, changed_by=user_id)
        )
    else:
        conn.execute(
            insert(period_t).values(
                org_id=org_id, period=period, status="closed", changed_at=stamp, changed_by=user_id
            )
        )
    conn.execute(
        insert(event_t).values(
            org_id=org_id, period=period, action="close", reason="", user_id=user_id, at=stamp
        )
    )


def check_reopen_right(role: str) -> None:
    """Only an admin reopens a closed month (a door checks it before anything else, as its scope)."""
    if role != "admin":
        raise Forbidden("only an admin can reopen a closed period")


def reopen_period(
    conn: Connection, org_id: int, period: str, *, user_id: int | None, role: str, reason: str
) -> None:
    """反结账: only an admin, only the latest closed month, always with a reason."""
    parse_period(period)
    check_reopen_right(role)
    if not reason.strip():
        raise ValidationError("say why the period is reopened", field="reason")
    latest = closed_through(conn, org_id)
    if latest is None or period > latest:
        raise Conflict(f"period {period} is not closed", field="period")
    if period != latest:
        raise Conflict(f"reopen {latest} first: periods reopen from the latest closed month", field="period")
    stamp = now()
    conn.execute(
        update(period_t)
        .where(period_t.c.org_id == org_id, period_t.c.period == period)
        .values(status="open", changed_at=stamp, changed_by=user_id)
    )
    conn.execute(delete(balance_t).where(balance_t.c.org_id == org_id, balance_t.c.period == period))
    conn.execute(
        insert(event_t).values(
            org_id=org_id, period=period, action="reopen", reason=reason.strip(), user_id=user_id, at=stamp
        )
    )


def _store_snapshot(conn: Connection, org_id: int, period: str, previous_closed: str | None) -> None:
    """Closing balance per account = the previous snapshot + every line after it through ``period``."""
    closing: dict[int, int] = {}
    if previous_closed is not None:
        for r in conn.execute(
            select(balance_t.c.account_id, balance_t.c.closing_fen).where(
                balance_t.c.org_id == org_id, balance_t.c.period == previous_closed
            )
        ):
            closing[r.account_id] = r.closing_fen
    turnover: dict[int, tuple[int, int]] = {}
    lower = previous_closed or ""
    for account_id, month, d, c in conn.execute(
        select(
            turnover_t.c.account_id, turnover_t.c.period, turnover_t.c.debit_fen, turnover_t.c.credit_fen
        ).where(turnover_t.c.org_id == org_id, turnover_t.c.period > lower, turnover_t.c.period <= period)
    ):
        closing[account_id] = closing.get(account_id, 0) + d - c
        if month == period:
            turnover[account_id] = (int(d), int(c))
    rows = [
        {
            "org_id": org_id,
            "period": period,
            "account_id": account_id,
            "debit_fen": turnover.get(account_id, (0, 0))[0],
            "credit_fen": turnover.get(account_id, (0, 0))[1],
            "closing_fen": balance,
        }
        for account_id, balance in closing.items()
        if balance or account_id in turnover
    ]
    if rows:
        conn.execute(insert(balance_t), rows)
