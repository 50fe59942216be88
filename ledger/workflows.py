"""The composition root of the workflows: importing each registers what the books must know about it.

Called once at start-up by every door (``ledger.app.create_app``, the CLI, the tests); see
``ledger.books.registry``. A module named here that does not import fails loudly.
"""

from __future__ import annotations

from importlib import import_module

from ledger.books import registry

# Each registers close checks, verify ties or reversal hooks when imported.
WORKFLOW_MODULES = (
    "pos.shifts",
    "pos.stock",
    "ledger.community.checks",
    "ledger.community.leases.contracts",
    "ledger.distribution.checks",
    "ledger.reconcile.matching.verify",
)


def start(modules: tuple[str, ...] = WORKFLOW_MODULES) -> tuple[str, ...]:
    """Import every workflow module (once per process; later calls cost a dict look-up each)."""
    for name in modules:
        import_module(name)
    registry.mark_started(modules)
    return modules
