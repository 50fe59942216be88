"""The county's clock: Beijing time, whatever zone the server's clock is kept in.

China Standard Time has had no daylight saving since 1991, so a fixed UTC+8 is exact. A server kept on UTC
is still on yesterday from 00:00 to 08:00 Beijing time: every day a form, a sale, a rent roll or a month close
is dated by comes from here, never from ``date.today()``. No imports beyond the standard library, so that
the PDF renderer and the login limiter load it for nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")


def business_date(at: datetime) -> date:
    """The county's day (Beijing time) of an instant; a naive instant is read as UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(CHINA).date()


def today() -> date:
    """The county's day now: what a form's date, the rent roll's as-of and the posting horizon start from."""
    return datetime.now(CHINA).date()
