"""Idempotent retries of writes whose entry depends on the state of the books.

A receipt's Cr 112 split depends on which charges are open, a refund of "all that is held" on what is
held: retried after the first attempt succeeded, the same request would build a different entry, and
``post_entries`` would call that a conflict. So these services look the key up first and, when it was
used, answer with what the first request recorded — if the request is the same one — or a 409.

Every door answers a retry before it gets here (``ledger.access.idempotency``, scope first); this is the
books-side defence for a key that reaches a service without a request record (one written before the
request records existed, or a caller in-process).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, select

from ledger.books.errors import IdempotencyConflict
from ledger.books.posting import Draft, post_entry
from ledger.db.models import JournalEntry
from ledger.db.rows import insert_id

entry_t = JournalEntry.__table__


def earlier_record(
    conn: Connection, org_id: int, key: str | None, table: Table, expect: Mapping[str, Any]
) -> Any | None:
    """The ``table`` row recorded with the entry posted under ``key``, if the key was used; 409 if that
    row does not match ``expect`` (column → value; None values are not compared)."""
    if key is None:
        return None
    entry_id = conn.execute(
        select(entry_t.c.id).where(entry_t.c.org_id == org_id, entry_t.c.idempotency_key == key)
    ).scalar()
    if entry_id is None:
        return None
    row = conn.execute(select(table).where(table.c.entry_id == entry_id)).first()
    if row is None or any(v is not None and getattr(row, k) != v for k, v in expect.items()):
        raise IdempotencyConflict(
            f"idempotency key {key!r} was used for a different request", field="Idempotency-Key"
        )
    return row


@dataclass(frozen=True)
class Recorded:
    """An entry posted and the register row that records it; ``created`` is False on a replay."""

    row_id: int
    entry_id: int
    created: bool


def post_recorded(
    conn: Connection, draft: Draft, table: Table, row: Mapping[str, Any], *, user_id: int | None
) -> Recorded:
    """Post ``draft`` and record it in ``table`` once: the first time, a row of ``row``'s values and the
    entry's id; when the books answer with the entry already posted under the draft's key, the row recorded
    with it then."""
    posted = post_entry(conn, draft, user_id=user_id)
    if posted.created:
        row_id = insert_id(conn, table, **row, entry_id=posted.id)
    else:
        row_id = conn.execute(select(table.c.id).where(table.c.entry_id == posted.id)).scalar_one()
    return Recorded(row_id, posted.id, posted.created)
