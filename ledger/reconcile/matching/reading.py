"""Reading for the doors: matches with their items and reasons, a match's history, statement and book
lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from ledger.reconcile.matching.loading import _successor_exists, load_book_records, matched_ids
from ledger.reconcile.matching.match_rows import _match_row, item_dicts, match_items
from ledger.reconcile.matching.records import BookRecord, reasons_view
from ledger.reconcile.matching.tables import item_t, match_t, sline_t
from ledger.reconcile.store import live_lines


def list_matches(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    *,
    status: str | None = None,
    current_only: bool = True,
    limit: int = 500,
    offset: int = 0,
    lang: str = "zh",
) -> list[dict[str, Any]]:
    """Matches of an account with their items and reasons in ``lang`` (current records unless
    ``current_only``)."""
    stmt = select(match_t).where(
        match_t.c.org_id == org_id, match_t.c.statement_account_id == statement_account_id
    )
    if status is not None:
        stmt = stmt.where(match_t.c.status == status)
    if current_only:
        stmt = stmt.where(~_successor_exists())
    rows = conn.execute(stmt.order_by(match_t.c.id).limit(limit).offset(offset)).all()
    items = match_items(conn, rows)
    return [match_view(r, items[r.id], lang) for r in rows]


def match_view(
    row: Any, items: Sequence[tuple[str, int | None, int | None, int]], lang: str = "zh"
) -> dict[str, Any]:
    """A match row as a dict with its reasons in ``lang`` and its items (the pair columns folded in)."""
    return {**_record(row), "reasons": reasons_view(row.reasons, lang), "items": item_dicts(items)}


def match_history(conn: Connection, org_id: int, match_id: int) -> list[dict[str, Any]]:
    """The chain of records from the first proposal to the current decision."""
    row = _match_row(conn, org_id, match_id)
    chain = [_record(row)]
    while chain[0]["supersedes_id"] is not None:
        chain.insert(0, _record(_match_row(conn, org_id, chain[0]["supersedes_id"])))
    while True:
        nxt = conn.execute(select(match_t).where(match_t.c.supersedes_id == chain[-1]["id"])).first()
        if nxt is None:
            break
        chain.append(_record(nxt))
    return chain


_PAIR_COLUMNS = ("statement_line_id", "journal_line_id", "pair_amount_fen")


def _record(row: Any) -> dict[str, Any]:
    """A match row as a dict, without the pair columns (storage; ``match_items`` reads them)."""
    return {k: v for k, v in row._mapping.items() if k not in _PAIR_COLUMNS}


def statement_lines(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    *,
    unmatched: bool = False,
    first: date | None = None,
    last: date | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[dict[str, Any]]:
    stmt = select(sline_t).where(sline_t.c.org_id == org_id, live_lines(statement_account_id))
    if first is not None:
        stmt = stmt.where(sline_t.c.occurred_at >= datetime.combine(first, datetime.min.time()))
    if last is not None:
        stmt = stmt.where(
            sline_t.c.occurred_at < datetime.combine(last + timedelta(days=1), datetime.min.time())
        )
    if unmatched:
        current = (
            select(item_t.c.statement_line_id)
            .join(match_t, match_t.c.id == item_t.c.match_id)
            .where(
                match_t.c.org_id == org_id,
                match_t.c.status == "confirmed",
                item_t.c.statement_line_id.is_not(None),
                ~_successor_exists(),
            )
        )
        stmt = stmt.where(sline_t.c.id.not_in(current))
    rows = conn.execute(stmt.order_by(sline_t.c.occurred_at, sline_t.c.id).limit(limit).offset(offset))
    return [dict(r) for r in rows.mappings()]


def open_book_lines(
    conn: Connection, org_id: int, ledger_account: str, first: date, last: date
) -> list[BookRecord]:
    """The account's journal lines dated ``first``–``last`` that no confirmed match holds as its book side:
    what an officer may match by hand (oldest first). The entries confirmed matches posted (a settlement's
    Dr bank / Cr 101201) are left out: their line here is the clearing account's side of a bank match."""
    _, done = matched_ids(conn, org_id)
    posted = set(
        conn.execute(
            select(match_t.c.entry_id).where(
                match_t.c.org_id == org_id,
                match_t.c.status == "confirmed",
                match_t.c.entry_id.is_not(None),
                ~_successor_exists(),
            )
        ).scalars()
    )
    records = load_book_records(conn, org_id, ledger_account, first, last, exclude=done)
    return sorted((b for b in records if b.entry_id not in posted), key=lambda b: (b.on, b.voucher_no, b.id))
