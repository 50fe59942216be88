"""What the per-source row parsers share: the file's context and a line's balance."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.reconcile.importers.body import _Body
from ledger.reconcile.importers.cells import _Cells, _to_fen
from ledger.reconcile.importers.header import _Header
from ledger.reconcile.importers.layouts import _Layout
from ledger.reconcile.importers.reading import _Table
from ledger.reconcile.importers.records import _Problems


@dataclass
class _Context:
    layout: _Layout
    table: _Table
    header: _Header
    body: _Body
    problems: _Problems


def _balance_fen(cells: _Cells) -> int | None:
    balance = cells.decimal("balance", required=False)
    return _to_fen(balance) if balance is not None else None
