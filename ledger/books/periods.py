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

import calendar
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Connection, delete, func, insert, select, update

from ledger.books import registry
from ledger.books.county_time import business_date, today
from ledger.books.errors import Conflict, Forbidden, UnbalancedEntry, ValidationError
from ledger.books.money import MAX_INTEGER_DIGITS
from ledger.books.orgs import get_org, now, require_books
from ledger.db.models import AccountBalance, AccountTurnover, JournalLine, Period, PeriodEvent

period_t = Period.__table__
event_t = PeriodEvent.__table__
balance_t = AccountBalance.__table__
line_t = JournalLine.__table__
turnover_t = AccountTurnover.__table__

PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

FIRST_YEAR = 1900
"""The earliest year the books know: no collective economy kept books in this form before it."""
LAST_YEAR = 9998
"""The latest year a period or a stored date may have: the month after any period must still exist."""
FIRST_DAY = date(FIRST_YEAR, 1, 1)
LAST_DAY = date(LAST_YEAR, 12, 31)
POSTING_YEARS_AHEAD = 5
"""An entry is dated at most this many years after the current year. A voucher of 4085 is a typing slip
whose month could never close (a month closes only once it is past); a lease's rent accrued a few years
ahead, as the contract's own schedule, is not."""
MAX_MONTHS_PER_RUN = 120
"""A month walk (a report's range, a rent or stipend run) covers at most ten years per request."""

MAX_VOUCHERS_PER_RUN = 5000
"""Vouchers one run (rent accrual, stipends) posts: a county's year of them fits."""
MAX_RUN_TOTAL_FEN = 10 ** (MAX_INTEGER_DIGITS + 2) - 1
"""The largest total a run's answer can state (15 digits before the point)."""


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month (会计期间) of the books, ``YYYY-MM`` with a year in FIRST_YEAR..LAST_YEAR.

    Months step as numbers (``index``), never as strings, so the month after 9998-12 and before 1900-01
    are computed, not guessed. The books store a period as its ``YYYY-MM`` text (``str(month)``), whose
    order within the supported years is the months' order.
    """

    year: int
    month: int

    @classmethod
    def parse(cls, value: object, field: str = "period") -> Month:
        """``2025-03`` → Month, or a ValidationError naming ``field``."""
        match = PERIOD_RE.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValidationError(f"a period is written YYYY-MM, not {value!r}"[:200], field=field)
        month = cls(int(match[1]), int(match[2]))
        if not FIRST_YEAR <= month.year <= LAST_YEAR:
            raise ValidationError(
                f"a period lies in the years {FIRST_YEAR} to {LAST_YEAR}, not {value}", field=field
            )
        return month

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def from_index(cls, index: int) -> Month:
        year, month = divmod(index, 12)
        return cls(year, month + 1)

    @property
    def index(self) -> int:
        """Months since year 0: consecutive months have consecutive indexes."""
        return self.year * 12 + self.month - 1

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def plus(self, months: int) -> Month:
        return Month.from_index(self.index + months)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


def month_range(start: str, end: str, *, field: str = "to", limit: int = MAX_MONTHS_PER_RUN) -> list[str]:
    """The periods ``start`` .. ``end`` inclusive, stepped as numbers; more than ``limit`` is a 422."""
    first, last = Month.parse(start, field), Month.parse(end, field)
    count = last.index - first.index + 1
    if count > limit:
        raise ValidationError(
            f"{start} to {end} is {count} months; a request covers at most {limit}", field=field
        )
    return [str(Month.from_index(i)) for i in range(first.index, last.index + 1)]


def month_list(first: str | None, last: str | None) -> list[str] | None:
    """The months ``first`` .. ``last`` one by one, or None when either is open or they are more than
    ``MAX_MONTHS_PER_RUN``."""
    if not (first and last):
        return None
    low, high = Month.parse(first, "from"), Month.parse(last, "to")
    if high.index - low.index >= MAX_MONTHS_PER_RUN:
        return None
    return [str(Month.from_index(i)) for i in range(low.index, high.index + 1)]


def months_named(
    period: ColumnElement[str], first: str | None, last: str | None
) -> list[ColumnElement[bool]]:
    """The months ``first`` .. ``last`` (inclusive; None: open) as terms on a line's ``period``: the months
    named one by one (``IN``) when both are given and no more than ``MAX_MONTHS_PER_RUN``, else a range.

    ``ix_line_tb`` (org, month, account, entry, …) finds an account's lines of listed months with one seek
    per month and account; given a range of months instead, both databases read every line of those months
    in the index to find the account's (``0014_core``)."""
    listed = month_list(first, last)
    if listed is not None:
        return [period.in_(listed)]
    terms = []
    if first:
        terms.append(period >= first)
    if last:
        terms.append(period <= last)
    return terms


def check_day(day: date, field: str) -> date:
    """A date the books can store (years FIRST_YEAR..LAST_YEAR), or a ValidationError naming ``field``."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(f"a date lies in the years {FIRST_YEAR} to {LAST_YEAR}, not {day}", field=field)
    return day


def check_run_size(months: set[str], vouchers: int, total_fen: int, through: str) -> None:
    """A run posts at most ``MAX_MONTHS_PER_RUN`` months and ``MAX_VOUCHERS_PER_RUN`` vouchers, and a total
    an answer can state: a post begun decades ago is caught up by running through earlier months first."""
    if months:
        first = min(months)
        span = Month.parse(through, "through").index - Month.parse(first).index + 1
        if span > MAX_MONTHS_PER_RUN:
            last = Month.parse(first).plus(MAX_MONTHS_PER_RUN - 1)
            raise ValidationError(
                f"the run would post {span} months from {first}; a run posts at most "
                f"{MAX_MONTHS_PER_RUN}: run through {last} first",
                field="through",
            )
    if vouchers > MAX_VOUCHERS_PER_RUN:
        raise ValidationError(
            f"the run would post {vouchers} vouchers; a run posts at most {MAX_VOUCHERS_PER_RUN}: "
            "run through an earlier month first",
            field="through",
        )
    if total_fen > MAX_RUN_TOTAL_FEN:
        raise ValidationError(
            f"the run would post {total_fen} fen, more than an amount can state; run fewer months",
            field="through",
        )


def latest_posting_day() -> date:
    """The last day an entry may be dated: the end of the ``POSTING_YEARS_AHEAD``-th year from now."""
    return date(today().year + POSTING_YEARS_AHEAD, 12, 31)


def check_posting_day(day: date, field: str) -> date:
    """An entry's date: storable, and not past ``latest_posting_day`` (whose month could never close)."""
    check_day(day, field)
    latest = latest_posting_day()
    if day > latest:
        raise ValidationError(f"an entry is dated by {latest}, not {day}", field=field)
    return day


def check_run_through(through: str, field: str = "through") -> str:
    """The last month a rent or stipend run posts: a period whose entries may be dated (not years ahead)."""
    month = Month.parse(through, field)
    latest = Month.of(latest_posting_day())
    if month > latest:
        raise ValidationError(f"a run posts through {latest} at the latest, not {through}", field=field)
    return through


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
    """A ``YYYY-MM`` period in the supported years, as text, or a ValidationError naming ``field``."""
    return str(Month.parse(value, field))


def parse_date(value: object, field: str) -> date:
    """A YYYY-MM-DD date from a form, an option or a file, in the supported years, or a ValidationError
    naming ``field``."""
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(f"{str(value)[:40]!r} is not a date (YYYY-MM-DD)", field=field) from None
    return check_day(day, field)


def period_of(day: date) -> str:
    """The period a date falls in: ``2025-03-15`` → ``2025-03``."""
    return f"{day.year:04d}-{day.month:02d}"


def _shaped(period: str) -> Month:
    """A ``YYYY-MM`` the books computed (the month before 1900-01 is fine here); input goes through
    ``parse_period``, which also checks the years."""
    match = PERIOD_RE.match(period) if isinstance(period, str) else None
    if match is None:
        raise ValidationError(f"a period is written YYYY-MM, not {period!r}"[:200], field="period")
    return Month(int(match[1]), int(match[2]))


def previous_period(period: str) -> str:
    return str(_shaped(period).plus(-1))


def next_period(period: str) -> str:
    return str(_shaped(period).plus(1))


def period_bounds(period: str) -> tuple[date, date]:
    month = _shaped(period)
    return month.first_day, month.last_day


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
    latest closed one (or from the org's first entry, for books never closed) up to the one before. The
    months step and compare as ``Month`` numbers, never as text."""
    until = _shaped(period)
    latest = closed_through(conn, org_id)
    if latest is not None:
        first = _shaped(latest).plus(1)
    else:
        earliest = conn.execute(
            select(func.min(line_t.c.period)).where(line_t.c.org_id == org_id, line_t.c.period < str(until))
        ).scalar_one()
        if earliest is None:
            return []
        first = _shaped(earliest)
    return [str(Month.from_index(i)) for i in range(first.index, until.index)]


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
    today = today or business_date(now())
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
