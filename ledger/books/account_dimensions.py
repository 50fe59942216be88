"""Which 辅助核算 (dimensions: counterparty, contract, welfare post, store) a line on an account asks for, by
the org's accounting standard — data, read from ``ledger/data/account_dimensions.toml``. Read-only.

The entry form offers these fields beside a line; posting requires the ones not marked ``?`` on a person's
entry (``ledger.books.posting``)."""

from __future__ import annotations

import tomllib
from functools import cache, lru_cache
from pathlib import Path

DIMENSIONS_FILE = Path(__file__).resolve().parents[1] / "data" / "account_dimensions.toml"
DIMENSION_FIELDS = {  # a dimension's name in the file → the line's field that names it
    "counterparty": "counterparty_id",
    "contract": "contract_id",
    "welfare_post": "welfare_post_id",
    "store": "store_id",
}


@cache
def _dimension_table() -> dict[str, dict[str, tuple[str, ...]]]:
    data = tomllib.loads(DIMENSIONS_FILE.read_text(encoding="utf-8"))
    return {standard: {code: tuple(dims) for code, dims in table.items()} for standard, table in data.items()}


def _configured(standard: str | None, code: str) -> tuple[str, ...]:
    """The configured names of the longest code that prefixes ``code`` (``contract?``: offered, optional)."""
    table = _dimension_table().get(standard or "", {})
    for end in range(len(code), 0, -1):
        if code[:end] in table:
            return table[code[:end]]
    return ()


def dimensions_for(standard: str | None, code: str) -> tuple[str, ...]:
    """The dimensions a line on ``code`` asks for; () if none."""
    return tuple(d.removesuffix("?") for d in _configured(standard, code))


@lru_cache(maxsize=4096)  # posting asks for every line of a bulk load
def required_for(standard: str | None, code: str) -> tuple[str, ...]:
    """The dimensions a line on ``code`` entered by a person must name (all but the ``?`` ones)."""
    return tuple(d for d in _configured(standard, code) if not d.endswith("?"))
