"""Decisions on proposals: confirm (one or many; a settlement posts its entry), reject, manual match."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, select

from ledger.books.errors import Conflict, NotFound, ValidationError
from ledger.books.money import format_amount
from ledger.books.orgs import get_org, require_books
from ledger.books.posting import Draft, Line, Posted, post_entries
from ledger.reconcile.matching.loading import account_ids, matched_ids, parse_statement_time, settled_ids
from ledger.reconcile.matching.match_rows import (
    in_chunks,
    items_of_match,
    match_items,
    match_row,
    reasons_json,
    require_current,
    write_matches,
)
from ledger.reconcile.matching.records import Reason
from ledger.reconcile.matching.rulebook import fee_account_code
from ledger.reconcile.matching.tables import account_t, line_t, match_t, saccount_t, sline_t
from ledger.reconcile.store import get_statement_account, live_lines, void_t


def _check_not_matched(
    conn: Connection, org_id: int, items: list[tuple[str, int | None, int | None, int]]
) -> None:
    s_done, b_done = matched_ids(conn, org_id)
    settled = settled_ids(conn, org_id) if any(role == "settled" for role, *_ in items) else set()
    for role, s_id, b_id, _ in items:
        if s_id is not None and s_id in s_done:
            raise Conflict(f"statement line {s_id} is already matched", field="statement_line_ids")
        if b_id is not None and b_id in (settled if role == "settled" else b_done):
            raise Conflict(
                f"journal line {b_id} is already {'settled' if role == 'settled' else 'matched'}",
                field="journal_line_ids",
            )


def resolve_posting_account(conn: Connection, org_id: int, code: str, sub_word: str) -> str:
    """``code`` itself if it takes postings, else its sub-account named with ``sub_word`` (手续费)."""
    parent = conn.execute(
        select(account_t.c.id).where(account_t.c.org_id == org_id, account_t.c.code == code)
    ).first()
    if parent is None:
        raise NotFound(f"no account {code} in this org's chart", field="account")
    children = conn.execute(
        select(account_t.c.code, account_t.c.name)
        .where(account_t.c.parent_id == parent.id, account_t.c.is_closed.is_(False))
        .order_by(account_t.c.code)
    ).all()
    if not children:
        return code
    named = [c.code for c in children if sub_word and sub_word in c.name]
    if len(named) == 1:
        return named[0]
    raise ValidationError(
        f"account {code} has sub-accounts; none is named {sub_word!r} to take this posting", field="account"
    )


def get_statement_line(conn: Connection, org_id: int, statement_line_id: int) -> Row[Any]:
    """The org's statement line, refused (404) if it is not the org's and (409) if its import is void."""
    row = conn.execute(
        select(sline_t).where(sline_t.c.id == statement_line_id, sline_t.c.org_id == org_id)
    ).first()
    if row is None:
        raise NotFound(f"statement line {statement_line_id} does not exist", field="statement_line")
    if conn.execute(select(void_t.c.id).where(void_t.c.import_id == row.import_id)).first() is not None:
        raise Conflict(
            f"statement line {statement_line_id} is of voided import {row.import_id}", field="statement_line"
        )
    return row


def _settlement_entry(
    conn: Connection,
    org_id: int,
    match: Row[Any],
    items: Sequence[tuple[str, int | None, int | None, int]],
    user_id: int | None,
) -> tuple[Posted, int]:
    """Post Dr bank (net), Dr 财务费用 (fee) / Cr clearing (gross); returns it and its bank line id."""
    account = conn.execute(select(saccount_t).where(saccount_t.c.id == match.statement_account_id)).one()
    standard = require_books(get_org(conn, org_id))
    s_id = next(s for role, s, _, _ in items if role == "statement" and s is not None)
    line = get_statement_line(conn, org_id, s_id)
    settled = [b for role, _, b, _ in items if role == "settled"]
    clearing = conn.execute(
        select(account_t.c.code, func.sum(line_t.c.debit_fen - line_t.c.credit_fen))
        .join(account_t, account_t.c.id == line_t.c.account_id)
        .where(line_t.c.id.in_(settled))
        .group_by(account_t.c.code)
    ).all()
    fee_code, fee_word = fee_account_code(standard)
    fee_account = resolve_posting_account(conn, org_id, fee_code, fee_word)
    gross = sum(int(total) for _, total in clearing)
    if gross - line.amount_fen != match.fee_fen:
        raise Conflict("the settled lines no longer add up to this settlement", field="match")
    on = parse_statement_time(line.occurred_at).date()
    lines = [
        Line(account.ledger_account, debit_fen=line.amount_fen, memo=f"结算到账 {line.reference}".strip())
    ]
    if match.fee_fen:
        lines.append(Line(fee_account, debit_fen=match.fee_fen, memo="支付手续费"))
    lines.extend(Line(code, credit_fen=int(total), memo="结算") for code, total in clearing if total)
    draft = Draft(
        org_id=org_id,
        entry_date=on,
        memo=f"{account.name} 结算 {on:%m-%d} 到账",
        lines=lines,
        source="import",
        source_ref=f"stmt:{line.id}",
        idempotency_key=f"reconcile-settlement:{match.id}",
    )
    posted = post_entries(conn, [draft], user_id=user_id)[0]
    bank_line = conn.execute(
        select(line_t.c.id).where(line_t.c.entry_id == posted.id, line_t.c.line_no == 1)
    ).scalar_one()
    return posted, bank_line


def confirm_match(
    conn: Connection, org_id: int, match_id: int, user_id: int | None = None, *, note: str = ""
) -> int:
    """Confirm a proposal: a new ``confirmed`` record superseding it; returns the record's id.

    A proposal whose references conflict needs a ``note`` saying why it is right. A settlement posts its
    entry (Dr bank, Dr 财务费用 / Cr clearing) and the record joins the statement line to the new bank line.
    """
    return confirm_matches(conn, org_id, [match_id], user_id, note=note)[0]


def confirm_matches(
    conn: Connection, org_id: int, match_ids: Sequence[int], user_id: int | None = None, *, note: str = ""
) -> list[int]:
    """Confirm several proposals at once (all or none), e.g. every exact one an officer has reviewed.

    The rules of ``confirm_match`` apply to each; no line may be in two of them. Returns the new record ids
    in the order asked.
    """
    ids = list(dict.fromkeys(match_ids))
    if not ids:
        return []
    rows: dict[int, Any] = {}
    for chunk in in_chunks(ids):
        for r in conn.execute(select(match_t).where(match_t.c.id.in_(chunk), match_t.c.org_id == org_id)):
            rows[r.id] = r
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFound(f"match {missing[0]} does not exist", field="match")
    for account_id in sorted({r.statement_account_id for r in rows.values()}):
        get_statement_account(conn, org_id, account_id, lock=True)
    for chunk in in_chunks(ids):
        successor = conn.execute(
            select(match_t.c.id, match_t.c.status, match_t.c.supersedes_id).where(
                match_t.c.supersedes_id.in_(chunk)
            )
        ).first()
        if successor is not None:
            raise Conflict(
                f"match {successor.supersedes_id} was already decided ({successor.status}, record "
                f"{successor.id})",
                field="match",
            )
    for i in ids:
        if rows[i].status != "proposed":
            raise Conflict(f"match {i} is {rows[i].status}, not a proposal", field="match")
        if rows[i].conflict and not note.strip():
            raise ValidationError(
                f"the references of match {i} conflict; say in a note why it is right", field="note"
            )
    items = match_items(conn, [rows[i] for i in ids])
    s_done, b_done = matched_ids(conn, org_id)
    # A clearing line (101201 …) is matched to its bill and settled into the bank: two relations, each
    # held once, neither excluding the other (``matched_ids``), so each is checked against its own kind.
    settled = settled_ids(conn, org_id)
    for i in ids:
        for role, s_id, b_id, _ in items[i]:
            if s_id is not None:
                if s_id in s_done:
                    raise Conflict(f"statement line {s_id} is already matched", field="statement_line_ids")
                s_done.add(s_id)
            elif b_id is not None:
                pool = settled if role == "settled" else b_done
                if b_id in pool:
                    word = "settled" if role == "settled" else "matched"
                    raise Conflict(f"journal line {b_id} is already {word}", field="journal_line_ids")
                pool.add(b_id)
    by_account: dict[int, list[int]] = defaultdict(list)
    for i in ids:
        by_account[rows[i].statement_account_id].append(i)
    new_ids: dict[int, int] = {}
    for account_id, group in by_account.items():
        records, record_items = [], []
        for i in group:
            proposal, its = rows[i], items[i]
            entry_id = None
            if proposal.kind == "settlement":
                posted, bank_line = _settlement_entry(conn, org_id, proposal, its, user_id)
                entry_id = posted.id
                s_amount = next(a for role, _, _, a in its if role == "statement")
                its = [*its, ("book", None, bank_line, s_amount)]
            records.append(
                {
                    "status": "confirmed",
                    "kind": proposal.kind,
                    "score": proposal.score,
                    "conflict": proposal.conflict,
                    "reasons": proposal.reasons,
                    "fee_fen": proposal.fee_fen,
                    "note": note.strip(),
                    "entry_id": entry_id,
                    "supersedes_id": i,
                    "created_by": user_id,
                }
            )
            record_items.append(its)
        for i, new_id in zip(
            group, write_matches(conn, org_id, account_id, records, record_items), strict=True
        ):
            new_ids[i] = new_id
    return [new_ids[i] for i in ids]


def reject_match(
    conn: Connection, org_id: int, match_id: int, user_id: int | None = None, *, note: str = ""
) -> int:
    """Reject a proposal, or undo a confirmed match: a new ``rejected`` record that supersedes it.

    The same pairing is not proposed again. An entry posted on confirmation (a settlement) stays in the
    books: reverse it (红字冲销) if it was wrong.
    """
    row = match_row(conn, org_id, match_id)
    get_statement_account(conn, org_id, row.statement_account_id, lock=True)
    require_current(conn, match_id)
    if row.status == "rejected":
        raise Conflict(f"match {match_id} is already rejected", field="match")
    if row.status == "confirmed" and not note.strip():
        raise ValidationError("undoing a confirmed match needs a note saying why", field="note")
    return write_matches(
        conn,
        org_id,
        row.statement_account_id,
        [
            {
                "status": "rejected",
                "kind": row.kind,
                "score": row.score,
                "conflict": row.conflict,
                "reasons": row.reasons,
                "fee_fen": row.fee_fen,
                "note": note.strip(),
                "supersedes_id": match_id,
                "created_by": user_id,
            }
        ],
        [items_of_match(conn, match_id)],
    )[0]


def manual_match(
    conn: Connection,
    org_id: int,
    statement_account_id: int,
    statement_line_ids: Sequence[int],
    journal_line_ids: Sequence[int],
    user_id: int | None = None,
    *,
    note: str = "",
) -> int:
    """An officer's own match: the statement lines and the account's journal lines must sum equal."""
    account = get_statement_account(conn, org_id, statement_account_id, lock=True)
    if not statement_line_ids or not journal_line_ids:
        raise ValidationError(
            "a match joins at least one statement line and one journal line", field="statement_line_ids"
        )
    s_rows = conn.execute(
        select(sline_t.c.id, sline_t.c.amount_fen).where(
            sline_t.c.id.in_(statement_line_ids),
            sline_t.c.org_id == org_id,
            live_lines(statement_account_id),
        )
    ).all()
    if len(s_rows) != len(set(statement_line_ids)):
        raise NotFound("a statement line is not this account's", field="statement_line_ids")
    ids = account_ids(conn, org_id, account.ledger_account)
    b_rows = conn.execute(
        select(line_t.c.id, line_t.c.debit_fen, line_t.c.credit_fen).where(
            line_t.c.id.in_(journal_line_ids), line_t.c.org_id == org_id, line_t.c.account_id.in_(ids)
        )
    ).all()
    if len(b_rows) != len(set(journal_line_ids)):
        raise NotFound(
            f"a journal line is not on account {account.ledger_account} of this org", field="journal_line_ids"
        )
    s_total = sum(r.amount_fen for r in s_rows)
    b_total = sum(r.debit_fen - r.credit_fen for r in b_rows)
    if s_total != b_total:
        raise ValidationError(
            f"statement lines total {format_amount(s_total)} and journal lines {format_amount(b_total)}",
            field="journal_line_ids",
        )
    items = [("statement", r.id, None, r.amount_fen) for r in s_rows] + [
        ("book", None, r.id, r.debit_fen - r.credit_fen) for r in b_rows
    ]
    _check_not_matched(conn, org_id, items)
    reasons = [
        Reason("manual", 0),
        Reason("sum_equal", 0, {"amount_fen": abs(s_total), "variant": "total"}),
    ]
    return write_matches(
        conn,
        org_id,
        statement_account_id,
        [
            {
                "status": "confirmed",
                "kind": "manual",
                "score": 100,
                "conflict": False,
                "reasons": reasons_json(reasons),
                "note": note.strip(),
                "created_by": user_id,
            }
        ],
        [items],
    )[0]
