"""``0013_core`` on books migrated before it: the same schema as new books, and the same refusals.

It folds SQLite's amount-bound trigger into the line guard and makes two mostly-NULL indexes partial; a
database upgraded from ``0012_core`` must end where a new one does, and still refuse by raw SQL a line
beyond the largest amount and a line added to a posted entry.
"""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from ledger.books.money import MAX_AMOUNT_FEN
from ledger.books.posting import Draft, Line, post_entry
from ledger.db.engine import read_tx, write_tx
from ledger.db.migrate import alembic_config, at_heads, upgrade
from tests.factories.books import raw_posting
from tests.factories.county import County


def _journal_schema(conn: Connection) -> list[tuple[str, str]]:
    """The journal tables' triggers and indexes as the database states them."""
    if conn.dialect.name == "sqlite":
        query = (
            "SELECT name, sql FROM sqlite_master WHERE type IN ('trigger', 'index') AND sql IS NOT NULL"
            " AND tbl_name IN ('journal_entry', 'journal_line') ORDER BY name"
        )
    else:
        query = (
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('journal_entry', 'journal_line')"
            " UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid IN ('journal_entry'::regclass, 'journal_line'::regclass) ORDER BY 1"
        )
    return [(name, sql) for name, sql in conn.execute(text(query))]


def test_books_upgraded_from_0012_have_the_new_books_schema_and_refuse_the_same(county: County) -> None:
    engine, org = county.engine, county.ids["dingzikou"]
    with read_tx(engine) as conn:
        new = _journal_schema(conn)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012_core")
    with read_tx(engine) as conn:
        before = _journal_schema(conn)
    assert not at_heads(engine)
    assert before != new  # the downgrade did undo something, so the comparison below can fail
    if engine.dialect.name == "sqlite":
        assert "journal_line_amount_bound" in dict(before)
    upgrade(engine)
    with read_tx(engine) as conn:
        assert _journal_schema(conn) == new
    indexes = dict(new)
    assert "IS NOT NULL" in indexes["ix_line_counterparty"] and "IS NOT NULL" in indexes["ix_entry_link"]

    beyond = MAX_AMOUNT_FEN + 1
    with pytest.raises(DBAPIError, match="amount"), write_tx(engine) as conn:
        raw_posting(conn, org, [("102", beyond, 0), ("214", 0, beyond)])
    with pytest.raises(DBAPIError, match="amount"), write_tx(engine) as conn:
        raw_posting(conn, org, [("102", 0, -beyond), ("214", 0, 100)])
    with write_tx(engine) as conn:  # the largest amount itself goes in: the bound is not blind
        raw_posting(conn, org, [("102", MAX_AMOUNT_FEN, 0), ("214", 0, MAX_AMOUNT_FEN)])
    with write_tx(engine) as conn:
        posted = post_entry(
            conn, Draft(org, date(2025, 4, 2), "x", [Line("102", debit_fen=5), Line("214", credit_fen=5)])
        )
    with pytest.raises(DBAPIError, match="immutable"), write_tx(engine) as conn:
        conn.execute(
            text(
                "INSERT INTO journal_line (entry_id, org_id, period, line_no, account_id, debit_fen,"
                " credit_fen, memo) VALUES (:e, :o, '2025-04', 9,"
                " (SELECT id FROM account WHERE org_id = :o AND code = '102'), 1, 0, '')"
            ),
            {"e": posted.id, "o": org},
        )
    with read_tx(engine) as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM journal_line")).scalar_one() == 4
