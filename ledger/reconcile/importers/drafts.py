"""What the per-source row parsers share: the file's context and a line's balance."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.reconcile.importers.body import Body
from ledger.reconcile.importers.cells import Cells, to_fen
from ledger.reconcile.importers.header import Header
from ledger.reconcile.importers.layouts import Layout
from ledger.reconcile.importers.reading import Table
from ledger.reconcile.importers.records import Problems


@dataclass
class ParseContext:
    """What a source's row parser works on: the layout, the table, its header and body, and the problems."""

    layout: Layout
    table: Table
    header: Header
    body: Body
    problems: Problems


def read_balance_fen(cells: Cells) -> int | None:
    """The row's balance cell in fen, or None where the layout's file prints none."""
    balance = cells.decimal("balance", required=False)
    return to_fen(balance) if balance is not None else None
