"""Backups: restore into an empty database, verify, and find the same trial balances and chain heads."""

from __future__ import annotations

import itertools
import os
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from ledger.books.errors import Conflict
from ledger.books.posting import Draft, Line, post_entries, reverse_entry
from ledger.books.trial_balance import trial_balance
from ledger.books.verify import verify_all
from ledger.cli.backup import backup, restore
from ledger.db.engine import make_engine, read_tx, write_tx
from ledger.db.models import BookState
from tests.factories.county import County
from tests.factories.databases import admin_exec, pg_url

_names = itertools.count()


def _snapshot(engine: Engine, org_ids: list[int]) -> tuple[dict, list]:
    with read_tx(engine) as conn:
        heads = {r.org_id: (r.last_seq, r.head_hash) for r in conn.execute(select(BookState.__table__))}
        tbs = [trial_balance(conn, org, "2025-01", "2025-12") for org in org_ids]
        assert verify_all(conn) == []
    return heads, tbs


def test_backup_then_restore_gives_the_same_books(
    county: County, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    org, company = county.ids["dingzikou"], county.ids["company"]
    with write_tx(county.engine) as conn:
        posted = post_entries(
            conn,
            [
                Draft(
                    org,
                    date(2025, 2, 1),
                    "工作经费",
                    [Line("102", debit_fen=10_000_000), Line("503", credit_fen=10_000_000)],
                ),
                Draft(
                    company,
                    date(2025, 3, 3),
                    "日结",
                    [
                        Line("1001", debit_fen=50_500),
                        Line("5001", credit_fen=50_000),
                        Line("2221", credit_fen=500),
                    ],
                ),
            ],
        )
        reverse_entry(conn, posted[1].id, entry_date=date(2025, 3, 4))
    before = _snapshot(county.engine, [org, company])
    dump = backup(county.engine, tmp_path / "books.backup")
    kind = county.engine.dialect.name
    target = fresh_empty(kind, request, tmp_path)
    restore(target, dump)
    assert _snapshot(target, [org, company]) == before
    with pytest.raises(Conflict, match="empty database"):
        restore(target, dump)


def fresh_empty(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    """An empty database of the same kind (no schema at all), dropped after the test."""
    if kind == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    name = f"cunshe_restore_{os.getpid()}_{next(_names)}"
    admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin_exec(f"CREATE DATABASE {name}")
    engine = make_engine(pg_url(name))

    def drop() -> None:
        engine.dispose()
        admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    request.addfinalizer(drop)
    return engine
