"""The reconciliation tests' books: the joint company's March 2024 (``tests.factories.reconcile``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories.county import County
from tests.factories.reconcile import Books, build_books


@pytest.fixture
def books(county: County, tmp_path: Path) -> Books:
    return build_books(county, tmp_path)
