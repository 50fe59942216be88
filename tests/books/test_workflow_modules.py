"""The books know no workflow by name: the workflows register with them at start-up, and the books refuse to
close, verify or reverse before they have (a forgotten start fails loudly, it never skips a check)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from ledger import workflows
from ledger.books import registry


@pytest.fixture
def restarted() -> Iterator[None]:
    """Leave the process as the suite found it (started), whatever the test does."""
    yield
    workflows.start()


def test_start_registers_every_workflow_module(restarted: None) -> None:
    assert workflows.start() == workflows.WORKFLOW_MODULES
    assert registry.started() == workflows.WORKFLOW_MODULES


def test_a_misspelt_workflow_module_fails_loudly(restarted: None) -> None:
    with pytest.raises(ModuleNotFoundError, match=r"pos\.shfits"):
        workflows.start((*workflows.WORKFLOW_MODULES, "pos.shfits"))


def test_the_books_refuse_to_verify_before_the_workflows_start(restarted: None) -> None:
    registry.mark_started(())
    with pytest.raises(registry.WorkflowsNotStarted, match=r"ledger\.workflows\.start"):
        registry.require_started()


BOOKS_ONLY = """
import sys
import ledger.books.periods, ledger.books.posting, ledger.books.verify, ledger.books.reversals
above = ('ledger.community', 'ledger.distribution', 'ledger.reconcile')
above += ('ledger.api', 'ledger.web', 'ledger.cli')
print(sorted(m for m in sys.modules if m.split('.')[0] in ('pos', 'reports') or m.startswith(above)))
"""


def test_importing_the_books_imports_no_workflow_and_no_shell() -> None:
    out = subprocess.run([sys.executable, "-c", BOOKS_ONLY], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
