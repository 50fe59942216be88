"""Reading for the doors: matches with their items and reasons, a match's history, statement and book
lines, and the book lines an officer looks for to match by hand (``find_open_book_lines``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, exists, func, or_, select

from ledger.books.periods import Month
from ledger.reconcile.matching.loading import (
    account_ids,
    successor_exists,
)
from ledger.reconcile.matching.match_rows import item_dicts, match_items, match_row
from ledger.reconcile.matching.records import BookRecord, reasons_view
from ledger.reconcile.matching.scoring import reference_tokens
from ledger.reconcile.matching.tables import cp_t, entry_t, item_t, line_t, match_t, sline_t
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
        stmt = stmt.where(~successor_exists())
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
    row = match_row(conn, org_id, match_id)
    chain = [_record(row)]
    while chain[0]["supersedes_id"] is not None:
        chain.insert(0, _record(match_row(conn, org_id, chain[0]["supersedes_id"])))
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
                ~successor_exists(),
            )
        )
        stmt = stmt.where(sline_t.c.id.not_in(current))
    rows = conn.execute(stmt.order_by(sline_t.c.occurred_at, sline_t.c.id).limit(limit).offset(offset))
    return [dict(r) for r in rows.mappings()]


BOOK_SEARCH_LIMIT = 200  # book lines one search shows; a narrower search finds the rest


@dataclass(frozen=True)
class BookSearch:
    """Which open book lines an officer looks for: dated ``first``–``last`` (either open: any date), of
    ``amount_fen`` on either side (debit or credit), or of voucher ``voucher_no``."""

    first: date | None = None
    last: date | None = None
    amount_fen: int | None = None
    voucher_no: str = ""


def book_lines_on(org_id: int, account_ids: Sequence[int]) -> Select[Any]:
    """The org's journal lines on the accounts, each with what matching and the reconciliation statement
    show of it: amounts and memo, its entry's date, voucher number, memo and source, its counterparty."""
    return (
        select(
            line_t.c.id,
            line_t.c.entry_id,
            line_t.c.debit_fen,
            line_t.c.credit_fen,
            line_t.c.memo,
            entry_t.c.entry_date,
            entry_t.c.voucher_no,
            entry_t.c.memo.label("entry_memo"),
            entry_t.c.source_ref,
            cp_t.c.name.label("cp_name"),
        )
        .join(entry_t, entry_t.c.id == line_t.c.entry_id)
        .outerjoin(cp_t, cp_t.c.id == line_t.c.counterparty_id)
        .where(line_t.c.org_id == org_id, line_t.c.account_id.in_(list(account_ids)))
    )


def find_open_book_lines(
    conn: Connection, org_id: int, ledger_account: str, search: BookSearch, *, limit: int = BOOK_SEARCH_LIMIT
) -> tuple[list[BookRecord], bool]:
    """The account's open book lines that ``search`` asks for — journal lines no confirmed match holds as
    its book side, and not of an entry a confirmed match posted (a settlement's Dr bank / Cr 101201: its
    line here is the clearing side of a bank match) — by date, the first ``limit`` in the order of posting;
    and whether there were more. What an officer may match by hand.

    Index use, whatever the window: a voucher number is one seek of ``uq_entry_org_voucher``; otherwise the
    months are named one by one (clamped to the org's first and last entry dates, read off
    ``ix_entry_org_date_seq``), so ``ix_line_tb`` (org, month, account, debit, credit) seeks each month's
    lines of the account, and an amount is checked from that index alone. Only this org's lines."""
    ids = account_ids(conn, org_id, ledger_account)
    if not ids:
        return [], False
    stmt = book_lines_on(org_id, ids)
    if search.voucher_no:
        stmt = stmt.where(  # the entry's month too: its lines are then one seek of ix_line_tb
            entry_t.c.org_id == org_id,
            entry_t.c.voucher_no == search.voucher_no,
            line_t.c.period == entry_t.c.period,
        )
    else:
        earliest, latest = conn.execute(
            select(func.min(entry_t.c.entry_date), func.max(entry_t.c.entry_date)).where(
                entry_t.c.org_id == org_id
            )
        ).one()
        if earliest is None:
            return [], False
        first = max(filter(None, (search.first, _as_date(earliest))))
        last = min(filter(None, (search.last, _as_date(latest))))
        if first > last:
            return [], False
        months = [str(Month.from_index(i)) for i in range(Month.of(first).index, Month.of(last).index + 1)]
        stmt = stmt.where(line_t.c.period.in_(months))
        if search.first is not None:
            stmt = stmt.where(entry_t.c.entry_date >= search.first)
        if search.last is not None:
            stmt = stmt.where(entry_t.c.entry_date <= search.last)
    if search.amount_fen is not None:  # the lines of the amount from the index alone, then their rows
        fen = abs(search.amount_fen)
        of_amount = select(line_t.c.id).where(
            line_t.c.org_id == org_id,
            line_t.c.account_id.in_(ids),
            or_(line_t.c.debit_fen == fen, line_t.c.credit_fen == fen),
        )
        if not search.voucher_no:
            of_amount = of_amount.where(line_t.c.period.in_(months))
        stmt = stmt.where(line_t.c.id.in_(of_amount))
    held = (
        select(item_t.c.id)
        .join(match_t, match_t.c.id == item_t.c.match_id)
        .where(
            item_t.c.journal_line_id == line_t.c.id,
            item_t.c.role == "book",
            match_t.c.status == "confirmed",
            ~successor_exists(),
        )
    )
    posted = select(match_t.c.entry_id).where(  # settlements' own entries (once, not per line)
        match_t.c.org_id == org_id,
        match_t.c.status == "confirmed",
        match_t.c.entry_id.is_not(None),
        ~successor_exists(),
    )
    stmt = stmt.where(~exists(held), line_t.c.entry_id.not_in(posted))
    # In the index's order (month, then entry: the order of posting), so the first ``limit`` lines are read
    # off ``ix_line_tb`` (org, month, account, entry) a month at a time and the scan stops there; shown by
    # date.
    order = (line_t.c.id,) if search.voucher_no else (line_t.c.period, line_t.c.entry_id, line_t.c.id)
    rows = conn.execute(stmt.order_by(*order).limit(limit + 1)).all()
    records = [
        BookRecord(
            r.id,
            _as_date(r.entry_date),
            r.debit_fen - r.credit_fen,
            r.entry_id,
            reference_tokens(r.source_ref, r.memo, r.entry_memo),
            r.cp_name or "",
            r.memo or r.entry_memo or "",
            r.voucher_no,
            ledger_account,
        )
        for r in rows[:limit]
    ]
    records.sort(key=lambda b: (b.on, b.voucher_no, b.id))
    return records, len(rows) > limit


def _as_date(value: Any) -> date:
    """A DATE column's value: SQLite may hand back text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
