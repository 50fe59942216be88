"""Statement importers: bank, WeChat Pay and Alipay merchant files in, ``StatementLine`` records out.

Pure parsing. This module never touches the database, never matches a line to a posting, and never guesses
silently: every cell it cannot read is recorded as a problem with its file line and column, and an import
is all or nothing, so the caller gets either every line or one ``StatementParseError`` listing every
problem. Which header names mean what is data (``ledger/data/statement_columns.toml``): a bank's variant is
an edit there, not here. The formats are described in the design reference ``statement-formats.md``.

The pipeline, top down:
    read (sniff encoding / workbook) → find the header row by column names → map columns to roles →
    split body, summary block and ``#`` trailer → parse each row to a draft → check the footer totals
    against the rows → key each line.

Amounts are integer fen throughout. Cells are read as text (``dtype=str``) and converted with ``Decimal``,
never through a float. A bank file's plain rows (``1,234.50``, ``2024-03-01 08:00:05``: nearly all of them)
are read a column at a time, the amount's digits without its point being the fen; every other row goes
through the per-cell path, which names the line and column of each bad cell. Times are naive Beijing local
time as printed; a date-only cell means midnight.
"""

from __future__ import annotations

from ledger.reconcile.importers.accounts import account_matches
from ledger.reconcile.importers.keys import legacy_keys
from ledger.reconcile.importers.parse import detect_source, parse_statement
from ledger.reconcile.importers.records import (
    KINDS,
    SOURCES,
    ParsedStatement,
    StatementLine,
    StatementParseError,
)

__all__ = [
    "KINDS",
    "SOURCES",
    "ParsedStatement",
    "StatementLine",
    "StatementParseError",
    "account_matches",
    "detect_source",
    "legacy_keys",
    "parse_statement",
]
