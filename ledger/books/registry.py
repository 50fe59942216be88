"""Whether the workflows have told the books what they must know: close checks, verify ties, reversal hooks.

The books import no workflow. Each workflow registers, when its module is imported, its close checks
(``ledger.books.periods.register_close_check``: "every source of the month is posted"), its sub-ledger
ties (``ledger.books.verify.register_check``) and its after-reversal hooks
(``ledger.books.reversals.on_reversal``).
The composition root, ``ledger.workflows.start`` — called by the app factory, the CLI and the tests — imports
them and then calls ``mark_started``. Closing a month, verifying and reversing refuse to run before that, so
a script that forgot to start the workflows fails loudly instead of skipping a check.
"""

from __future__ import annotations

from ledger.books.errors import Conflict


class WorkflowsNotStarted(Conflict):
    """The books were asked to close, verify or reverse before the workflows registered their checks."""

    code = "workflows_not_started"


_started: list[str] = []


def mark_started(names: tuple[str, ...]) -> None:
    """Record that the workflows ``names`` have registered everything they register."""
    _started[:] = names


def started() -> tuple[str, ...]:
    return tuple(_started)


def require_started() -> None:
    if not _started:
        raise WorkflowsNotStarted(
            "the workflows' checks are not registered: call ledger.workflows.start() before closing, "
            "verifying or reversing"
        )
