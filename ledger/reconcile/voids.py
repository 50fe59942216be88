"""Undoing a statement import (作废导入): a wrong file, or a file in the wrong account, taken back.

An import is voided, never deleted: its lines stay, as what the file said, and the void is a record of its
own (``statement_import_void``: who, when, why). From then on the lines count nowhere (matching, the lines
lists, the 余额调节表, the dedupe of later imports: ``store.live_lines``), so the same file, or the right
one, can be imported again. An import of which any line is in a confirmed match (a rule posting is one) is
refused, naming the lines and their matches: undo those matches first (the match records stay; a posted
entry is reversed by the officer, never deleted). Open proposals on its lines are withdrawn with it.

This module never writes or deletes journal entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, exists, insert, select
from sqlalchemy.orm import aliased

from ledger.books.errors import Conflict, NotFound, ValidationError
from ledger.books.orgs import now
from ledger.reconcile.models import ReconcileMatch, ReconcileMatchItem
from ledger.reconcile.store import get_statement_account, import_t, sline_t, void_t

match_t = ReconcileMatch.__table__
item_t = ReconcileMatchItem.__table__
_SHOWN = 10


@dataclass(frozen=True)
class VoidResult:
    import_id: int
    statement_account_id: int
    file_name: str
    line_count: int  # lines the import added, which now count nowhere
    withdrawn: int  # open proposals on them, deleted
    reason: str


def _current() -> ColumnElement[bool]:
    later = aliased(match_t)
    return ~exists().where(later.c.supersedes_id == match_t.c.id)


def void_import(
    conn: Connection, org_id: int, import_id: int, *, reason: str, user_id: int | None = None
) -> VoidResult:
    """Void ``import_id`` of ``org_id``, all or nothing; the caller audits and commits."""
    if not reason.strip():
        raise ValidationError("say why the import is voided", field="reason")
    row = conn.execute(
        select(import_t).where(import_t.c.id == import_id, import_t.c.org_id == org_id)
    ).first()
    if row is None:
        raise NotFound(f"statement import {import_id} does not exist", field="import")
    get_statement_account(conn, org_id, row.statement_account_id, lock=True)  # serialise with imports
    if conn.execute(select(void_t.c.id).where(void_t.c.import_id == import_id)).first() is not None:
        raise Conflict(f"statement import {import_id} is already voided", field="import")
    lines = select(sline_t.c.id).where(sline_t.c.import_id == import_id)
    held = conn.execute(
        select(item_t.c.match_id, sline_t.c.line_no, sline_t.c.id)
        .join(match_t, match_t.c.id == item_t.c.match_id)
        .join(sline_t, sline_t.c.id == item_t.c.statement_line_id)
        .where(
            item_t.c.statement_line_id.in_(lines),
            match_t.c.status == "confirmed",
            _current(),
        )
        .order_by(sline_t.c.line_no)
    ).all()
    if held:
        shown = ", ".join(f"line {r.line_no} (match {r.match_id})" for r in held[:_SHOWN])
        more = f" and {len(held) - _SHOWN} more" if len(held) > _SHOWN else ""
        raise Conflict(
            f"statement import {import_id} cannot be voided: {shown}{more} of {row.file_name} "
            "are matched; undo those matches first",
            field="import",
        )
    proposals = list(
        conn.execute(
            select(match_t.c.id).where(
                match_t.c.status == "proposed",
                _current(),
                match_t.c.statement_line_id.in_(lines)
                | match_t.c.id.in_(select(item_t.c.match_id).where(item_t.c.statement_line_id.in_(lines))),
            )
        ).scalars()
    )
    if proposals:
        conn.execute(item_t.delete().where(item_t.c.match_id.in_(proposals)))
        conn.execute(match_t.delete().where(match_t.c.id.in_(proposals)))
    conn.execute(
        insert(void_t).values(
            org_id=org_id,
            statement_account_id=row.statement_account_id,
            import_id=import_id,
            reason=reason.strip()[:500],
            voided_by=user_id,
            voided_at=now(),
        )
    )
    return VoidResult(
        import_id, row.statement_account_id, row.file_name, row.new_count, len(proposals), reason.strip()
    )


def list_imports(conn: Connection, org_id: int, statement_account_id: int) -> list[dict[str, Any]]:
    """The account's imports, oldest first, each with ``voided`` (and the void's reason, who and when)."""
    get_statement_account(conn, org_id, statement_account_id)
    rows = conn.execute(
        select(
            import_t,
            void_t.c.reason.label("void_reason"),
            void_t.c.voided_by,
            void_t.c.voided_at,
        )
        .outerjoin(void_t, void_t.c.import_id == import_t.c.id)
        .where(import_t.c.org_id == org_id, import_t.c.statement_account_id == statement_account_id)
        .order_by(import_t.c.id)
    ).mappings()
    return [{**dict(r), "voided": r["voided_at"] is not None} for r in rows]


def import_lines(conn: Connection, org_id: int, import_id: int) -> list[dict[str, Any]]:
    """The lines an import added, voided or not (a voided import's lines stay visible here)."""
    if (
        conn.execute(
            select(import_t.c.id).where(import_t.c.id == import_id, import_t.c.org_id == org_id)
        ).first()
        is None
    ):
        raise NotFound(f"statement import {import_id} does not exist", field="import")
    return [
        dict(r)
        for r in conn.execute(
            select(sline_t).where(sline_t.c.import_id == import_id).order_by(sline_t.c.id)
        ).mappings()
    ]
