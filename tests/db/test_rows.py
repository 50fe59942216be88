"""The bulk row writer (ledger/db/rows.py) on both databases: text that COPY must escape arrives intact, and a
refusal comes back as SQLAlchemy's exception (a taken key is an IntegrityError on both paths)."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger.books.orgs import add_sub_account, now
from ledger.books.posting import Draft, Line, post_entries
from ledger.db.engine import driver_connection, locking, read_tx, write_tx
from ledger.db.models import Counterparty, JournalEntry, JournalLine, VoucherCounter
from ledger.db.rows import SQLITE_MAX_PARAMS, insert_id, insert_rows, sqlite_max_params
from tests.factories.county import County

entry_t = JournalEntry.__table__
line_t = JournalLine.__table__
cp_t = Counterparty.__table__
AWKWARD = "租金\t押金\\n 两行\n第二行 \\N 'quoted' \"double\" ,;|\r末尾"


def test_awkward_text_and_nulls_arrive_as_written(county: County) -> None:
    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        add_sub_account(conn, org, "501", "商品销售收入")
        drafts = [
            Draft(
                org,
                date(2025, 3, 5),
                AWKWARD + str(n),
                [Line("102", debit_fen=100 + n, memo=AWKWARD), Line("50101", credit_fen=100 + n, memo="")],
            )
            for n in range(3)
        ]
        posted = post_entries(conn, drafts)
    with read_tx(county.engine) as conn:
        memos = conn.execute(select(entry_t.c.memo).order_by(entry_t.c.id)).scalars().all()
        lines = conn.execute(
            select(line_t.c.memo, line_t.c.counterparty_id, line_t.c.channel)
            .where(line_t.c.entry_id == posted[0].id)
            .order_by(line_t.c.line_no)
        ).all()
    assert memos == [AWKWARD + "0", AWKWARD + "1", AWKWARD + "2"]
    assert [tuple(r) for r in lines] == [(AWKWARD, None, None), ("", None, None)]


def test_a_taken_key_is_an_integrity_error_and_a_trigger_refusal_a_database_error(county: County) -> None:
    org = county.ids["dingzikou"]
    columns = ("org_id", "period", "last_no")
    with write_tx(county.engine) as conn:
        insert_rows(conn, VoucherCounter.__table__.name, columns, [(org, "2025-03", 1)])
    with pytest.raises(IntegrityError), write_tx(county.engine) as conn:
        insert_rows(conn, VoucherCounter.__table__.name, columns, [(org, "2025-04", 1), (org, "2025-03", 2)])
    with read_tx(county.engine) as conn:  # all or nothing: 2025-04 is not there either
        rows = conn.execute(select(VoucherCounter.__table__.c.period)).scalars().all()
    assert rows == ["2025-03"]

    with write_tx(county.engine) as conn:
        add_sub_account(conn, org, "501", "商品销售收入")
        entry = post_entries(
            conn, [Draft(org, date(2025, 3, 5), "收款", [Line("102", 100), Line("50101", 0, 100)])]
        )[0]
        account_id = conn.execute(select(line_t.c.account_id).where(line_t.c.entry_id == entry.id)).scalar()
    row = (entry.id, org, "2025-03", 3, account_id, 5, 0, "", None, None, None, None, None, None)
    with pytest.raises(DBAPIError, match="immutable"), write_tx(county.engine) as conn:
        insert_rows(conn, line_t.name, [c.name for c in line_t.columns if c.name != "id"], [row])


def test_rows_beyond_one_statement_arrive_all_and_in_order(county: County) -> None:
    """SQLite takes as many rows a statement as its parameter limit allows (32,766 on this build, 999 on an
    old one): two full statements and a short one insert every row, in the order given."""
    with write_tx(county.engine) as conn:
        if conn.dialect.name == "sqlite":
            limit = driver_connection(conn).getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            assert sqlite_max_params(conn) == min(SQLITE_MAX_PARAMS, limit)
            per = sqlite_max_params(conn) // 2
        else:
            per = 1_000
        rows = [(n, f"行{n}") for n in range(2 * per + 3)]
        conn.execute(text("CREATE TEMPORARY TABLE bulk_rows (n INTEGER, label TEXT)"))
        insert_rows(conn, "bulk_rows", ("n", "label"), rows)
        back = conn.execute(text("SELECT n, label FROM bulk_rows")).all()
    assert [tuple(r) for r in back] == rows


def test_insert_id_answers_each_new_rows_own_id(county: County) -> None:
    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        ids = [insert_id(conn, cp_t, org_id=org, kind="supplier", name=n, created_at=now()) for n in "甲乙"]
        rows = conn.execute(select(cp_t.c.id, cp_t.c.name).where(cp_t.c.id.in_(ids))).all()
    assert dict(rows) == {ids[0]: "甲", ids[1]: "乙"}


def test_locking_asks_for_update_on_postgresql_only(county: County) -> None:
    stmt = select(entry_t.c.id)
    with read_tx(county.engine) as conn:
        locked = str(locking(conn, stmt).compile(conn))
        unlocked = str(locking(conn, stmt, lock=False).compile(conn))
    assert "FOR UPDATE" not in unlocked
    assert ("FOR UPDATE" in locked) == (county.engine.dialect.name == "postgresql")
