"""What every report builder shares: the period asked for, and the words and frames around figures.

The period a report covers, as a reader asks for it: a month, a quarter, a year, or a range of months.

``?period=2025-03`` (a month), ``2025-Q1`` (a quarter: the 财务公开榜 is quarterly), ``2025`` (a year), or
``?from=2025-01&to=2025-06``. Statements run from the start of ``to``'s year (本年累计) whatever ``from``
says.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ledger.books.errors import ValidationError
from ledger.books.periods import MAX_MONTHS_PER_RUN, month_range, parse_period, period_bounds
from reports.report import Lang, Report

_YEAR = re.compile(r"(\d{4})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")


@dataclass(frozen=True)
class ReportPeriod:
    """Months ``from_period``..``to_period`` inclusive (``YYYY-MM``)."""

    from_period: str
    to_period: str

    @property
    def year(self) -> int:
        return int(self.to_period[:4])

    @property
    def year_start(self) -> str:
        return f"{self.year:04d}-01"

    @property
    def months(self) -> list[str]:
        return month_range(self.from_period, self.to_period)

    def _kind(self) -> str:
        start_month, end_month = int(self.from_period[5:]), int(self.to_period[5:])
        same_year = self.from_period[:4] == self.to_period[:4]
        if self.from_period == self.to_period:
            return "month"
        if same_year and start_month == 1 and end_month == 12:
            return "year"
        if same_year and start_month % 3 == 1 and end_month == start_month + 2:
            return "quarter"
        return "range"

    def label(self, lang: Lang = "zh") -> str:
        """``2025年3月``, ``2025年第1季度``, ``2025年度``, ``2025年1月至6月`` (or the English)."""
        kind = self._kind()
        y, m1, m2 = self.from_period[:4], int(self.from_period[5:]), int(self.to_period[5:])
        if lang == "en":
            names = "January February March April May June July August September October November December"
            month_names = names.split()
            if kind == "month":
                return f"{month_names[m1 - 1]} {y}"
            if kind == "quarter":
                return f"Q{(m1 + 2) // 3} {y}"
            if kind == "year":
                return f"Year {y}"
            return f"{month_names[m1 - 1]} {y} – {month_names[m2 - 1]} {self.to_period[:4]}"
        if kind == "month":
            return f"{y}年{m1}月"
        if kind == "quarter":
            return f"{y}年第{(m1 + 2) // 3}季度"
        if kind == "year":
            return f"{y}年度"
        if self.from_period[:4] == self.to_period[:4]:
            return f"{y}年{m1}月至{m2}月"
        return f"{y}年{m1}月至{self.to_period[:4]}年{m2}月"

    def as_of_label(self, lang: Lang = "zh") -> str:
        """The last day, as a balance sheet is dated: ``2025年3月31日`` / ``31 March 2025``."""
        last = period_bounds(self.to_period)[1]
        if lang == "en":
            return f"{last.day} {_month_en(last.month)} {last.year}"
        return f"{last.year}年{last.month}月{last.day}日"

    def slug(self) -> str:
        """For file names: ``2025-03``, ``2025-Q1``, ``2025``, ``2025-01_2025-06``."""
        kind = self._kind()
        if kind == "month":
            return self.from_period
        if kind == "quarter":
            return f"{self.from_period[:4]}-Q{(int(self.from_period[5:]) + 2) // 3}"
        if kind == "year":
            return self.from_period[:4]
        return f"{self.from_period}_{self.to_period}"


def _month_en(month: int) -> str:
    return [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ][month - 1]


def parse_report_period(
    period: str | None = None, from_period: str | None = None, to_period: str | None = None
) -> ReportPeriod:
    """``period`` (month, ``YYYY-Qn`` or ``YYYY``) or ``from``/``to`` months; a 422 naming the field else."""
    if period is not None:
        if from_period is not None or to_period is not None:
            raise ValidationError("give period, or from and to, not both", field="period")
        if _YEAR.fullmatch(period):
            return ReportPeriod(parse_period(f"{period}-01"), f"{period}-12")
        quarter = _QUARTER.fullmatch(period)
        if quarter:
            year, q = quarter[1], int(quarter[2])
            return ReportPeriod(parse_period(f"{year}-{3 * q - 2:02d}"), f"{year}-{3 * q:02d}")
        try:
            month = parse_period(period, "period")
        except ValidationError:
            raise ValidationError(
                f"a period is YYYY-MM, YYYY-Qn or YYYY, not {period!r}", field="period"
            ) from None
        return ReportPeriod(month, month)
    if from_period is None:
        raise ValidationError("give ?period=YYYY-MM (or YYYY-Qn, YYYY), or ?from=&to=", field="period")
    start = parse_period(from_period, "from")
    end = parse_period(to_period or from_period, "to")
    if end < start:
        raise ValidationError("to is before from", field="to")
    month_range(start, end, field="to", limit=MAX_MONTHS_PER_RUN)  # a report covers at most ten years
    return ReportPeriod(start, end)


# --- what a builder gets and gives ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChartImage:
    """A chart drawn server-side (``reports.charts``): SVG markup, a caption, and alt text for screens."""

    caption: str
    svg: str
    alt: str = ""

    @property
    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode("utf-8")).decode("ascii")


@dataclass(frozen=True, eq=False)
class ChartedReport(Report):
    """A report with charts beside its tables. A chart never carries a figure the tables do not."""

    charts: tuple[ChartImage, ...] = ()


@dataclass(frozen=True)
class BuildContext:
    """Everything a builder reads: the connection, the org row, the period, the language and options."""

    conn: Connection
    org: Any  # an ``org`` row: id, code, name, kind, standard
    period: ReportPeriod
    lang: Lang = "zh"
    options: Mapping[str, str] = field(default_factory=dict)
    generated_at: datetime | None = None

    def t(self, zh: str, en: str) -> str:
        """The word in the report's language."""
        return en if self.lang == "en" else zh

    def stamp(self) -> dict[str, Any]:
        """``generated_at`` for ``Report`` when the caller fixed it (golden tests), else nothing."""
        return {"generated_at": self.generated_at} if self.generated_at is not None else {}
