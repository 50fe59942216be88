"""What a printed report is, before any format: tables of figures plus the words around them.

Every report (statement, trial balance, journal, aging, roll-up) is a ``Report``: a title, the org, the
period, one or more ``Table`` (a pandas DataFrame and the columns to show), optional headline ``Total``
figures printed with 人民币大写, the signature roles, the org's chain-head hash at generation, and the
code of the signed checkpoint of the month it ends in (if that month is closed; a roll-up's: every org's,
when every one is closed). ``reports.render``
turns it into HTML, PDF, XLSX and JSON. Amounts are integer fen throughout; nothing here formats or
computes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd


ColumnKind = Literal["text", "label", "amount", "integer", "line_no"]
Lang = Literal["zh", "en"]


def as_lang(value: object) -> Lang:
    """``value`` as a report language: "en" stays English, anything else is Chinese (the default)."""
    return "en" if value == "en" else "zh"


LANGS: tuple[Lang, ...] = ("zh", "en")

_HEX = re.compile(r"[0-9a-f]{16,128}")


@dataclass(frozen=True)
class Column:
    """One column to show: the DataFrame column ``key``, its printed ``header``, and how to print it.

    ``amount``: integer fen, printed ``1,234.50``; ``label``: text indented by the row's ``indent`` and
    bold on ``subtotal``/``total`` rows; ``line_no``: 行次, centred; ``integer`` and ``text`` as they are.
    """

    key: str
    header: str
    kind: ColumnKind = "text"


@dataclass(frozen=True, eq=False)
class Table:
    """A DataFrame and the columns of it to print.

    Optional frame columns the renderers understand: ``style`` (``heading``, ``subtotal``, ``total``) and
    ``indent`` (a level, 0–7). With ``left_sections`` the table prints 账户式 (two sides, as a balance sheet):
    rows whose ``section`` is in it on the left, the rest on the right, the last rows (the grand totals)
    level; ``side_headings`` replace the first column's header on each side. XLSX and JSON keep one row
    per line whatever the print layout.
    """

    frame: pd.DataFrame
    columns: tuple[Column, ...]
    caption: str | None = None
    left_sections: frozenset[str] = frozenset()
    side_headings: tuple[str, str] = ("", "")

    def __post_init__(self) -> None:
        missing = [c.key for c in self.columns if c.key not in self.frame.columns]
        if missing:
            raise ValueError(f"table columns not in the frame: {missing}")
        if self.left_sections and "section" not in self.frame.columns:
            raise ValueError("a two-sided table needs a 'section' column")


@dataclass(frozen=True)
class Total:
    """A headline figure printed below the tables with ¥ and 人民币大写 (资产总计, 净利润)."""

    label: str
    fen: int


@dataclass(frozen=True, eq=False)
class Report:
    """A report ready to render. ``signatures``/``unit`` default to the report language's words."""

    title: str
    org_name: str
    period: str
    tables: tuple[Table, ...]
    chain_head: str
    totals: tuple[Total, ...] = ()
    signatures: tuple[str, ...] | None = None
    form_no: str = ""
    unit: str | None = None
    lang: Lang = "zh"
    landscape: bool = False
    template: str = "report_base.html"
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # The signed month-close checkpoint's code (ledger.books.checkpoints) of the period the report ends in,
    # when that month is closed and signed: /verify/{code} confirms the figures against the books.
    checkpoint: str | None = None
    # A roll-up's: each org's (org code, checkpoint code), when every org in it is closed and signed for the
    # period (one code each: /verify/{code} confirms each org's figures).
    checkpoints: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise ValueError(f"lang must be one of {LANGS}, not {self.lang!r}")
        if not _HEX.fullmatch(self.chain_head):
            raise ValueError("chain_head must be the org's chain-head hash in lowercase hex")
        if self.generated_at.tzinfo is None:
            raise ValueError("generated_at must be timezone-aware")
        for total in self.totals:
            if isinstance(total.fen, bool) or not isinstance(total.fen, int):
                raise TypeError(f"total {total.label!r} must be int fen, not {type(total.fen).__name__}")
