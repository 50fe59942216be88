"""The public entry points: ``detect_source`` and ``parse_statement`` (all or nothing)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ledger.db.rows import gc_paused
from ledger.reconcile.importers.accounts import control_problems, file_accounts
from ledger.reconcile.importers.balances import check_balances
from ledger.reconcile.importers.bank import parse_bank
from ledger.reconcile.importers.body import split_body
from ledger.reconcile.importers.drafts import ParseContext
from ledger.reconcile.importers.header import Header, find_header, missing_columns
from ledger.reconcile.importers.keys import keyed
from ledger.reconcile.importers.layouts import Layout, load_layouts
from ledger.reconcile.importers.payments import (
    parse_alipay_account,
    parse_alipay_detail,
    parse_wechat_fund,
    parse_wechat_trade,
)
from ledger.reconcile.importers.reading import Table, head_tables, read_tables
from ledger.reconcile.importers.records import (
    DETECT_ORDER,
    HEADER_SCAN_ROWS,
    SOURCES,
    ParsedStatement,
    Problems,
)

_PARSERS = {
    "bank": parse_bank,
    "wechat_trade": parse_wechat_trade,
    "wechat_fund": parse_wechat_fund,
    "alipay_detail": parse_alipay_detail,
    "alipay_account": parse_alipay_account,
}


def _locate(
    path: Path, source: str | None, encoding: str | None, problems: Problems
) -> tuple[Layout, Table, Header]:
    """The layout, table and header row: the given source's, or the first source whose header is found.

    A long text file's header is looked for in its first MB first (``reading.head_tables``): a file without
    one is refused there, before the whole of it is read into memory."""
    layouts = load_layouts()
    if source is not None and source not in layouts:
        raise problems.fail(None, None, f"unknown statement source {source!r}; expected one of {SOURCES}")
    head = head_tables(path, encoding, problems)
    if head is not None:
        _find(head, layouts, source, problems)  # raises when the head has no header row
    return _find(read_tables(path, encoding, problems), layouts, source, problems)


def _find(
    tables: Iterable[Table], layouts: dict[str, Layout], source: str | None, problems: Problems
) -> tuple[Layout, Table, Header]:
    wanted = [source] if source is not None else list(DETECT_ORDER)
    best: tuple[Layout, Header] | None = None
    for table in tables:
        for name in wanted:
            layout = layouts[name]
            header, candidate = find_header(table, layout)
            if header is not None:
                return layout, table, header
            if candidate is not None and (best is None or len(candidate.roles) > len(best[1].roles)):
                best = (layout, candidate)
    if best is not None:
        layout, candidate = best
        prefix = "" if source is not None else f"cannot tell which statement this is; as a {layout.label}: "
        for message in missing_columns(candidate.roles, layout):
            problems.add(candidate.row.line_no, None, prefix + message)
        if not len(problems):
            missing = ", ".join(layout.detect)
            message = f"{prefix}not a {layout.label}: the header lacks {missing}"
            problems.add(candidate.row.line_no, None, message)
        raise problems.error()
    if source is not None:
        layout = layouts[source]
        needed = ", ".join(layout.role_label(role) for role in layout.required)
        raise problems.fail(
            None, None, f"no header row with {needed} in the first {HEADER_SCAN_ROWS} lines ({layout.label})"
        )
    raise problems.fail(
        None,
        None,
        "cannot tell which statement this is: no header row of a bank, WeChat Pay or Alipay statement "
        f"in the first {HEADER_SCAN_ROWS} lines",
    )


def detect_source(path: str | Path, *, encoding: str | None = None) -> str:
    """Which statement this file is: ``"bank"``, ``"wechat_trade"``, ``"wechat_fund"``,
    ``"alipay_detail"`` or ``"alipay_account"``, judged by its header row. Raises StatementParseError."""
    path = Path(path)
    layout, _, _ = _locate(path, None, encoding, Problems(path.name))
    return layout.source


def parse_statement(
    path: str | Path,
    source: str | None = None,
    *,
    encoding: str | None = None,
    file_name: str | None = None,
) -> ParsedStatement:
    """Parse a whole statement file into lines, all or nothing.

    ``source`` skips detection; ``encoding`` overrides sniffing for text files (a GBK file forced as UTF-8
    fails, it is never decoded as mojibake); ``file_name`` is the name messages give the file (an
    upload's own name, not its temporary copy's). Beyond each cell, the file must hold together: its
    balances run without a break, no serial is printed twice, and it has lines. Raises one
    StatementParseError listing every problem.
    """
    path = Path(path)
    problems = Problems(file_name or path.name)
    with gc_paused():
        layout, table, header = _locate(path, source, encoding, problems)
        if table.has_control:
            control_problems(table, header, problems)
            raise problems.error()
        body = split_body(table, header, layout, problems)
        ctx = ParseContext(layout, table, header, body, problems)
        drafts, summary = _PARSERS[layout.source](ctx)
        accounts = file_accounts(ctx, drafts)
        problems.raise_if_any()
        if not drafts and not summary:
            # A WeChat or Alipay bill whose totals say 0 is a day without sales; a bank file of a header
            # alone says nothing, and an empty import would look like a done one.
            raise problems.fail(header.row.line_no, None, "the file has a header but no lines")
        lines, _ = keyed(ctx, drafts)
        problems.raise_if_any()  # a repeated line would also break the balances: say it once
        balance_column, opening = check_balances(ctx, lines)
        problems.raise_if_any()
        return ParsedStatement(
            layout.source,
            lines,
            table.encoding,
            summary,
            account_numbers=accounts,
            account_label=layout.account_label,
            balance_column=balance_column,
            opening_line=opening,
        )
