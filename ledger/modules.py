"""The workflows' check modules: closing a period, ``cunshe verify`` and a reversal load them first."""

from __future__ import annotations

from functools import cache
from importlib import import_module

# The modules whose import registers a workflow's close checks (``ledger.books.periods.register_close_check``:
# "every source of the month is posted"), verify checks (``ledger.books.verify.register_check``: sub-ledger
# ties) and reversal hooks (``ledger.books.reversals.on_reversal``). They import ``ledger.books.periods`` and
# ``ledger.books.verify``, so those load them lazily, by name; a name that does not import fails loudly.
CHECK_MODULES = (
    "pos.shifts",
    "pos.stock",
    "ledger.community.checks",
    "ledger.distribution.checks",
    "ledger.reconcile.matching",
)


@cache
def load_workflow_checks() -> tuple[str, ...]:
    """Import every workflow's check module once; returns the names loaded."""
    for name in CHECK_MODULES:
        import_module(name)
    return CHECK_MODULES
