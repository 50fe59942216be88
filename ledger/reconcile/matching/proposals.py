"""Writing proposals: ``propose_matches`` replaces a period's open proposals with the matcher's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select

from ledger.books.errors import ValidationError
from ledger.books.periods import parse_period, period_bounds
from ledger.db.rows import gc_paused
from ledger.reconcile.matching.loading import (
    load_bill_fees,
    load_book_records,
    load_clearing,
    load_statement_records,
    matched_ids,
    rejected_keys,
    successor_exists,
)
from ledger.reconcile.matching.match_rows import pair_items, reasons_json, write_matches
from ledger.reconcile.matching.passes import propose
from ledger.reconcile.matching.records import (
    DEFAULT_MAX_FEE_BP,
    DEFAULT_WINDOW_DAYS,
    MAX_SETTLEMENT_LAG,
    MatchOptions,
    Reason,
)
from ledger.reconcile.matching.tables import item_t, match_t
from ledger.reconcile.store import get_statement_account, large_page_cache


def _withdraw_open_proposals(conn: Connection, org_id: int, statement_account_id: int) -> int:
    """Delete the account's open proposals (nothing decided on them), before proposing afresh."""
    open_ids = list(
        conn.execute(
            select(match_t.c.id).where(
                match_t.c.org_id == org_id,
                match_t.c.statement_account_id == statement_account_id,
                match_t.c.status == "proposed",
                ~successor_exists(),
            )
        ).scalars()
    )
    for start in range(0, len(open_ids), 5000):
        chunk = open_ids[start : start + 5000]
        conn.execute(item_t.delete().where(item_t.c.match_id.in_(chunk)))
        conn.execute(match_t.delete().where(match_t.c.id.in_(chunk)))
    return len(open_ids)


@dataclass(frozen=True)
class ProposeResult:
    proposed: int
    auto_confirmed: int
    withdrawn: int
    statement_lines: int
    book_lines: int
    unmatched_statement_lines: int
    match_ids: tuple[int, ...]


def propose_matches(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    period: str,
    user_id: int | None = None,
    *,
    window_days: int = DEFAULT_WINDOW_DAYS,
    max_fee_bp: int = DEFAULT_MAX_FEE_BP,
    auto_confirm_exact: bool = False,
) -> ProposeResult:
    """Propose matches for the statement lines of ``period`` still unmatched; replaces open proposals."""
    with large_page_cache(conn), gc_paused():
        return _propose_matches(
            conn,
            org_id,
            statement_account_id,
            period,
            user_id,
            window_days=window_days,
            max_fee_bp=max_fee_bp,
            auto_confirm_exact=auto_confirm_exact,
        )


def _propose_matches(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    period: str,
    user_id: int | None,
    *,
    window_days: int,
    max_fee_bp: int,
    auto_confirm_exact: bool,
) -> ProposeResult:
    parse_period(period)
    if not 0 <= window_days <= 31:
        raise ValidationError("the date window is 0 to 31 days", field="window_days")
    account = get_statement_account(conn, org_id, statement_account_id, lock=True)
    first, last = period_bounds(period)
    withdrawn = _withdraw_open_proposals(conn, org_id, statement_account_id)
    s_done, b_done = matched_ids(conn, org_id)
    stmts = load_statement_records(conn, org_id, statement_account_id, first, last, exclude=s_done)
    books = load_book_records(
        conn,
        org_id,
        account.ledger_account,
        first - timedelta(days=window_days),
        last + timedelta(days=window_days),
        exclude=b_done,
    )
    clearing_from = first - timedelta(days=MAX_SETTLEMENT_LAG)
    clearing = load_clearing(conn, org_id, account, clearing_from, last)
    options = MatchOptions(
        window_days=window_days,
        max_fee_bp=max_fee_bp,
        rejected=rejected_keys(conn, org_id, statement_account_id),
        bill_fees=load_bill_fees(conn, org_id, clearing_from, last) if clearing else {},
    )
    proposals = propose(stmts, books, clearing=clearing, options=options)
    s_amount = {s.id: s.amount_fen for s in stmts}
    b_amount = {b.id: b.amount_fen for b in books}
    c_amount = {c.id: c.amount_fen for c in clearing}
    rows: list[dict[str, Any]] = []
    items: list[list[tuple[str, int | None, int | None, int]]] = []
    for p in proposals:
        row = {
            "status": "proposed",
            "kind": p.kind,
            "score": p.score,
            "conflict": p.conflict,
            "reasons": reasons_json(p.reasons),
            "fee_fen": p.fee_fen,
            "created_by": user_id,
        }
        if p.kind == "one_to_one":
            (s_id,), (b_id,) = p.statement_ids, p.book_ids
            row["pair"] = (s_id, b_id, s_amount[s_id])
            items.append([])
        else:
            parts: list[tuple[str, int | None, int | None, int]] = [
                ("statement", s, None, s_amount[s]) for s in p.statement_ids
            ]
            items.append(
                parts
                + [("book", None, b, b_amount[b]) for b in p.book_ids]
                + [("settled", None, c, c_amount[c]) for c in p.settled_ids]
            )
        rows.append(row)
    ids = write_matches(conn, org_id, statement_account_id, rows, items)
    auto = [
        (mid, p, pair_items(*row["pair"]))
        for mid, p, row in zip(ids, proposals, rows, strict=True)
        if auto_confirm_exact and p.auto_confirmable
    ]
    if auto:
        confirmed_rows = [
            {
                "status": "confirmed",
                "kind": p.kind,
                "score": p.score,
                "conflict": False,
                "reasons": reasons_json((*p.reasons, Reason("auto_confirmed", 0))),
                "supersedes_id": mid,
                "created_by": user_id,
                "note": "auto_confirm_exact",
            }
            for mid, p, _ in auto
        ]
        write_matches(conn, org_id, statement_account_id, confirmed_rows, [its for _, _, its in auto])
    matched_now = {s for p in proposals for s in p.statement_ids}
    return ProposeResult(
        proposed=len(proposals),
        auto_confirmed=len(auto),
        withdrawn=withdrawn,
        statement_lines=len(stmts),
        book_lines=len(books),
        unmatched_statement_lines=len(stmts) - len(matched_now),
        match_ids=tuple(ids),
    )
