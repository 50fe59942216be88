"""Every workflow module is part of the product: a misspelt check module fails loudly, it is never skipped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger import modules


@pytest.fixture
def fresh_load() -> Iterator[None]:
    """``load_workflow_checks`` runs once per process; let the test run it again, and leave it clean."""
    modules.load_workflow_checks.cache_clear()
    yield
    modules.load_workflow_checks.cache_clear()


def test_every_check_module_is_loaded(fresh_load: None) -> None:
    assert modules.load_workflow_checks() == modules.CHECK_MODULES


def test_a_misspelt_check_module_fails_loudly(fresh_load: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modules, "CHECK_MODULES", (*modules.CHECK_MODULES, "pos.shfits"))
    with pytest.raises(ModuleNotFoundError, match=r"pos\.shfits"):
        modules.load_workflow_checks()
