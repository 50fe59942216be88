"""Which workflow modules are present: the app, the CLI and the schema mount those that exist."""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.util import find_spec

# The modules whose import registers a workflow's close checks (``ledger.periods.register_close_check``:
# "every source of the month is posted") and verify checks (``ledger.verify.register_check``: sub-ledger
# ties). Closing a period and ``cunshe verify`` load them first, whatever imported what before.
CHECK_MODULES = (
    "pos.shifts",
    "pos.stock",
    "ledger.community.checks",
    "ledger.distribution.checks",
    "ledger.reconcile.matching",
)


def present(name: str) -> bool:
    """True when the module can be imported; a missing parent package counts as absent."""
    try:
        return find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@cache
def load_workflow_checks() -> tuple[str, ...]:
    """Import every present workflow's check module once; returns the names loaded."""
    loaded = tuple(name for name in CHECK_MODULES if present(name))
    for name in loaded:
        import_module(name)
    return loaded
