"""Splitting the body: data rows, the summary block, the ``#`` trailer."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.reconcile.importers.header import Header
from ledger.reconcile.importers.layouts import Layout, norm_name
from ledger.reconcile.importers.reading import Row, Table
from ledger.reconcile.importers.records import Problems


@dataclass
class Body:
    """A table below its header: the data rows, the ``#`` comments above the header, the trailer, and a
    WeChat summary block's header and values where there is one."""

    data: list[Row]
    preamble_comments: list[Row]
    trailer: list[Row]
    summary_header: Row | None = None
    summary_values: Row | None = None


def _is_comment(row: Row) -> bool:
    return bool(row.cells) and row.cells[0].startswith("#")


def split_body(table: Table, header: Header, layout: Layout, problems: Problems) -> Body:
    """Split ``table`` below ``header`` into data rows, trailer and summary block (``Body``)."""
    preamble = [row for row in table.rows if row.line_no < header.row.line_no and _is_comment(row)]
    body = Body(data=[], preamble_comments=preamble, trailer=[])
    summary_names = {norm_name(name) for names in layout.summary.values() for name in names}
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


def _is_summary_header(row: Row, summary_names: set[str]) -> bool:
    # The summary header starts with a summary name (总交易单数 …); checking that first keeps this cheap.
    if not row.cells or norm_name(row.cells[0]) not in summary_names:
        return False
    return sum(1 for cell in row.cells if cell and norm_name(cell) in summary_names) >= 2


def short_row(row: Row, header: Header, table: Table, problems: Problems) -> bool:
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
