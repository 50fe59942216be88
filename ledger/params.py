"""Query parameters that name months or days, checked alike on every route and page: well-formed, a range in
order, and within the org's years — or a 422 naming the parameter, before anything is read. The API's routes
(through ``ledger.api.periods``) and the pages (``ledger.web.pages``) both call these.

An org's years run from the first year it has books (its first posted month) to the last year it may
post into (this year + ``POSTING_YEARS_AHEAD``, or a later month already posted). An org with nothing
posted yet, and a street or the county (which keep no books of their own), take the years of the
county's books (nothing posted anywhere: any year the books know). ``?period=1999`` for books begun in
2025 is therefore refused rather than rendered empty.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, func, select

from ledger.books.errors import ValidationError
from ledger.books.orgs import now
from ledger.books.periods import FIRST_YEAR, POSTING_YEARS_AHEAD, Month
from ledger.db.models import AccountTurnover

_Bound = TypeVar("_Bound", str, date)  # a range's ends: two months ("2024-03") or two days

if TYPE_CHECKING:
    from reports.builders_base import ReportPeriod

turnover_t = AccountTurnover.__table__


def org_years(conn: Connection, org_id: int) -> tuple[int, int]:
    """(first year, last year) a request about the org may name."""
    span = select(func.min(turnover_t.c.period), func.max(turnover_t.c.period))
    first, last = conn.execute(span.where(turnover_t.c.org_id == org_id)).one()
    if first is None:  # nothing posted here (yet), or a roll-up: the years of the county's books
        first, last = conn.execute(span).one()
    start = int(first[:4]) if first else FIRST_YEAR
    end = max(now().year + POSTING_YEARS_AHEAD, int(last[:4]) if last else FIRST_YEAR)
    return start, end


class ParamRefused(ValidationError):
    """A parameter refused for its value, not its form (422, code ``invalid``): ``words`` is the catalogue key
    and fields a page tells it with (``ledger.web.i18n.error_text``); the API answers the English message."""

    def __init__(self, message: str, *, field: str, words: str, **fields: object) -> None:
        super().__init__(message, field=field)
        self.words, self.fields = words, fields


def _within(conn: Connection, org_id: int, year: int, field: str, shown: str) -> None:
    start, end = org_years(conn, org_id)
    if not start <= year <= end:
        raise ParamRefused(
            f"{shown} is outside this org's years, {start} to {end}",
            field=field,
            words="param_outside_years",
            value=shown,
            start=start,
            end=end,
        )


def _in_order(first: _Bound, last: _Bound, from_field: str, to_field: str) -> None:
    if last < first:
        raise ParamRefused(
            f"{to_field} ({last}) is before {from_field} ({first})",
            field=to_field,
            words="param_range_backwards",
            first=first,
            last=last,
        )


def month_param(conn: Connection, org_id: int, value: str, field: str = "period") -> str:
    """A ``YYYY-MM`` query parameter in the org's years."""
    month = Month.parse(value, field)
    _within(conn, org_id, month.year, field, str(month))
    return str(month)


def month_range_params(
    conn: Connection,
    org_id: int,
    start: str,
    end: str | None,
    *,
    from_field: str = "from",
    to_field: str = "to",
) -> tuple[str, str]:
    """``from`` .. ``to`` months (``to`` defaults to ``from``): each well-formed and in the org's years,
    and ``to`` not before ``from``."""
    first = month_param(conn, org_id, start, from_field)
    last = month_param(conn, org_id, end, to_field) if end is not None else first
    _in_order(first, last, from_field, to_field)
    return first, last


def day_range_params(
    conn: Connection,
    org_id: int,
    first: date | None,
    last: date | None,
    *,
    from_field: str = "from",
    to_field: str = "to",
) -> None:
    """``from`` .. ``to`` days (either may be open): in order and in the org's years."""
    for day, field in ((first, from_field), (last, to_field)):
        if day is not None:
            _within(conn, org_id, day.year, field, day.isoformat())
    if first is not None and last is not None:
        _in_order(first, last, from_field, to_field)


def report_period_params(
    conn: Connection, org_id: int, period: str | None, from_period: str | None, to_period: str | None
) -> ReportPeriod:
    """A report's ``period`` (``YYYY-MM``, ``YYYY-Qn``, ``YYYY``) or ``from``/``to``, in the org's years."""
    from reports.builders_base import parse_report_period

    chosen = parse_report_period(period, from_period, to_period)
    if period is not None:
        _within(conn, org_id, int(chosen.from_period[:4]), "period", period)
    else:
        _within(conn, org_id, int(chosen.from_period[:4]), "from", chosen.from_period)
        _within(conn, org_id, int(chosen.to_period[:4]), "to", chosen.to_period)
    return chosen


def year_param(conn: Connection, org_id: int, year: int, field: str = "year") -> int:
    """A year parameter in the org's years."""
    _within(conn, org_id, year, field, str(year))
    return year
