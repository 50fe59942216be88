"""Splitting the body: data rows, the summary block, the ``#`` trailer."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.reconcile.importers.header import _Header
from ledger.reconcile.importers.layouts import _Layout, _norm_name
from ledger.reconcile.importers.reading import _Row, _Table
from ledger.reconcile.importers.records import _Problems


@dataclass
class _Body:
    data: list[_Row]
    preamble_comments: list[_Row]
    trailer: list[_Row]
    summary_header: _Row | None = None
    summary_values: _Row | None = None


def _is_comment(row: _Row) -> bool:
    return bool(row.cells) and row.cells[0].startswith("#")


def _split_body(table: _Table, header: _Header, layout: _Layout, problems: _Problems) -> _Body:
    preamble = [row for row in table.rows if row.line_no < header.row.line_no and _is_comment(row)]
    body = _Body(data=[], preamble_comments=preamble, trailer=[])
    summary_names = {_norm_name(name) for names in layout.summary.values() for name in names}
    header_cells = header.row.cells
    ended = False
    for row in table.rows:
        if row.line_no <= header.row.line_no or row.blank:
            continue
        if _is_comment(row):
            body.trailer.append(row)
            ended = True
        elif body.summary_header is None and summary_names and _is_summary_header(row, summary_names):
            body.summary_header = row
            ended = True
        elif body.summary_header is not None and body.summary_values is None:
            body.summary_values = row
        elif ended:
            problems.add(row.line_no, None, "unexpected row after the end of the table")
        elif row.cells[: len(header_cells)] == header_cells:
            continue  # the header repeated on each printed page
        else:
            body.data.append(row)
    return body


def _is_summary_header(row: _Row, summary_names: set[str]) -> bool:
    # The summary header starts with a summary name (总交易单数 …); checking that first keeps this cheap.
    if not row.cells or _norm_name(row.cells[0]) not in summary_names:
        return False
    return sum(1 for cell in row.cells if cell and _norm_name(cell) in summary_names) >= 2


def _short_row(row: _Row, header: _Header, table: _Table, problems: _Problems) -> bool:
    """A text row with fewer fields than the mapped columns need: cut off, usually by a truncated file."""
    needed = max(index for indexes in header.roles.values() for index in indexes) + 1
    if table.is_text and len(row.cells) < needed:
        problems.add(
            row.line_no,
            None,
            f"the row has {len(row.cells)} fields but the header has {len(header.row.cells)}; "
            "the file looks truncated or damaged",
        )
        return True
    return False
