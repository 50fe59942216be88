"""Cells: amounts to fen (never through a float), dates and times, kinds, directions, memos."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ledger.reconcile.importers.header import Header
from ledger.reconcile.importers.layouts import Layout, norm_name
from ledger.reconcile.importers.reading import Row
from ledger.reconcile.importers.records import MAX_INTEGER_DIGITS, Problems

_AMOUNT_RE = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?")
EMPTY_AMOUNTS = frozenset({"", "-", "--", "—", "——"})
"""What an amount cell holds when there is no amount: nothing, or a dash."""


def parse_decimal(text: str) -> Decimal | None:
    """``"1,234.50"``, ``"+10000.00"``, ``"¥-0.05940"`` → Decimal; None if it is not an amount."""
    cleaned = unicodedata.normalize("NFKC", text).replace(" ", "").removeprefix("¥").removesuffix("元")
    if not cleaned or not any(ch.isdigit() for ch in cleaned) or not _AMOUNT_RE.fullmatch(cleaned):
        return None
    try:
        value = Decimal(cleaned.replace(",", ""))
    except InvalidOperation:
        return None
    if abs(value) >= Decimal(10) ** MAX_INTEGER_DIGITS:
        return None
    return value


def to_fen(value: Decimal) -> int:
    """Yuan → fen, rounding half-up (四舍五入, half away from zero) to the fen."""
    return int((value * 100).to_integral_value(rounding=ROUND_HALF_UP))


def _has_sub_fen(value: Decimal) -> bool:
    return value * 100 != (value * 100).to_integral_value()


def format_total(value: Decimal) -> str:
    """Print a total the way statements do: two places unless more are needed."""
    return f"{value:.2f}" if not _has_sub_fen(value) else format(value.normalize(), "f")


_DATE_RE = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[T\s]*(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.\d{1,6})?秒?)?)?"
)
_COMPACT_DATE_RE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:\s*T?(\d{2}):?(\d{2})(?::?(\d{2}))?)?")
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d{1,6})?|(\d{2})(\d{2})(\d{2})")


def _parse_datetime(text: str) -> tuple[datetime, bool] | None:
    """A date or date-time as banks and payment companies print it → (naive datetime, had a time part)."""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    match = _DATE_RE.fullmatch(cleaned) or _COMPACT_DATE_RE.fullmatch(cleaned)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else None for g in match.groups())
    assert year is not None and month is not None and day is not None
    if not 1990 <= year <= 2200:
        return None
    try:
        return datetime(year, month, day, hour or 0, minute or 0, second or 0), hour is not None
    except ValueError:
        return None


def _parse_time(text: str) -> time | None:
    match = _TIME_RE.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if not match:
        return None
    parts = [int(g) for g in match.groups() if g is not None]
    try:
        return time(parts[0], parts[1], parts[2] if len(parts) > 2 else 0)
    except ValueError:
        return None


class Cells:
    """One data row seen through the header's roles; bad cells become problems at (line, column)."""

    def __init__(self, row: Row, header: Header, problems: Problems) -> None:
        self.row = row
        self.header = header
        self.problems = problems
        self.line = row.line_no

    def _cell(self, index: int) -> str:
        return self.row.cells[index] if index < len(self.row.cells) else ""

    def has(self, role: str) -> bool:
        return role in self.header.roles

    def column(self, role: str) -> str:
        return self.header.name(self.header.roles[role][0])

    def text(self, role: str) -> str:
        """The best column's cell for the role ('' if the file has no such column)."""
        return self._cell(self.header.roles[role][0]) if self.has(role) else ""

    def texts(self, role: str) -> list[str]:
        """Every column's cell for the role, empty and repeated values dropped."""
        values: list[str] = []
        for index in self.header.roles.get(role, []):
            value = self._cell(index)
            if value and value not in values:
                values.append(value)
        return values

    def add_problem(self, role: str | None, message: str) -> None:
        self.problems.add(self.line, self.column(role) if role and self.has(role) else role, message)

    def decimal(self, role: str, *, required: bool = True, sub_fen: bool = False) -> Decimal | None:
        """The role's amount in yuan; None when empty (a problem if required) or bad (always a problem).

        Only fee columns (``sub_fen=True``) may carry more than two decimals; they are rounded later.
        """
        if not self.has(role):
            return None
        raw = self.text(role)
        if raw in EMPTY_AMOUNTS:
            if required:
                self.add_problem(role, "the amount is empty")
            return None
        value = parse_decimal(raw)
        if value is None:
            self.add_problem(role, f"{raw!r} is not an amount")
            return None
        if not sub_fen and _has_sub_fen(value):
            self.add_problem(role, f"{raw!r} has more than two decimals")
            return None
        return value

    def occurred_at(self, *, report: bool = True) -> datetime | None:
        """The first date cell among the date columns, with a separate time-of-day column folded in.

        A cell that is neither a date nor a bare time of day is a problem (when ``report``), even if a
        later date column would do: a damaged 交易时间 must not slide to 记账日期 unseen.
        """
        for index in self.header.roles.get("occurred_at", []):
            raw = self._cell(index)
            if not raw:
                continue
            parsed = _parse_datetime(raw)
            if parsed is None:
                if _parse_time(raw) is None:
                    if report:
                        self.problems.add(self.line, self.header.name(index), f"{raw!r} is not a date")
                    return None
                continue
            when, has_time = parsed
            if not has_time or when.time() == time(0):
                for time_index in self.header.roles.get("time_of_day", []):
                    of_day = _parse_time(self._cell(time_index)) if time_index != index else None
                    if of_day is not None:
                        return datetime.combine(when.date(), of_day)
            return when
        if report:
            self.add_problem("occurred_at", "the date is empty")
        return None


def line_kind(layout: Layout, text: str, amount_fen: int | None) -> str | None:
    """The kind of line (sale, refund, fee …) the layout's words find in ``text``, minding the sign."""
    for rule in layout.kinds:
        if amount_fen is not None and (
            (rule.direction == "in" and amount_fen <= 0) or (rule.direction == "out" and amount_fen >= 0)
        ):
            continue
        if any(word in text for word in rule.words):
            return rule.kind
    return layout.default_kind


def direction_sign(layout: Layout, value: str) -> int | None:
    """+1 for a credit (收入), -1 for a debit (支出) flag value of the layout; None if it is neither."""
    name = norm_name(value)
    if name in layout.direction_values.get("credit", frozenset()):
        return 1
    if name in layout.direction_values.get("debit", frozenset()):
        return -1
    return None


def join_memo(*parts: str) -> str:
    """The non-empty memo parts, each once, in order, joined with `` · ``."""
    seen: list[str] = []
    for part in parts:
        if part and part not in seen:
            seen.append(part)
    return " · ".join(seen)
