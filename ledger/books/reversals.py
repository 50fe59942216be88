"""What a reversal (红字冲销) must also record outside the journal: hooks by the source of the entry reversed.

A workflow whose sub-ledger mirrors its entries (leases: one charge per contract and month, pointing at its
voucher) registers a hook for its entries' source with ``on_reversal``. ``ledger.books.posting.reverse_entry``
(and ``reverse_link``, once for each entry of a linked posting) calls ``after_reversal`` in the same
transaction, right after it posted the reversal (not when an idempotent retry returns the reversal again),
so the journal and the sub-ledger commit together. A hook writes only its own sub-ledger; it may raise a
``LedgerError`` to refuse, and then nothing is written.
This module must never post or change an entry itself.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, select

from ledger.books import registry
from ledger.db.models import JournalEntry

Hook = Callable[[Connection, int, int], None]
"""(connection, id of the entry reversed, id of its reversal)"""

_HOOKS: dict[str, list[Hook]] = {}


def on_reversal(source: str) -> Callable[[Hook], Hook]:
    """Register ``hook`` for reversals of entries of ``source``."""

    def register(hook: Hook) -> Hook:
        hooks = _HOOKS.setdefault(source, [])
        if hook not in hooks:
            hooks.append(hook)
        return hook

    return register


def after_reversal(conn: Connection, entry_id: int, reversal_id: int) -> None:
    """Run the hooks of the reversed entry's source; refused until the workflows have registered theirs
    (``ledger.books.registry``), so no process reverses an entry without keeping its sub-ledger right."""
    registry.require_started()
    entry_t = JournalEntry.__table__
    source = conn.execute(select(entry_t.c.source).where(entry_t.c.id == entry_id)).scalar_one()
    for hook in _HOOKS.get(source, ()):
        hook(conn, entry_id, reversal_id)
