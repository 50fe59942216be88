"""``0014_core``: one journal_line index by org, month and account, on books migrated before it and new ones.

It drops ``0007_core``'s ``ix_line_org_account`` (org, account, month, entry) and puts the entry into
``ix_line_tb``, now (org, month, account, entry, debit, credit), from which an account's lines are read by
naming the months one by one. Books upgraded from ``0013_core`` end where new books do, the downgrade
brings both old indexes back, and the readers of an account's lines — the journal's account filter (by
months or by days), the 明细账, the period window — seek that index on both databases.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from alembic import command
from sqlalchemy import Connection, event, text

from ledger.books.journal import EntryFilter, list_entries
from ledger.books.trial_balance import movements
from ledger.db.engine import read_tx
from ledger.db.migrate import alembic_config, at_heads, upgrade
from reports.queries import account_postings
from tests.factories.county import County

ONE_INDEX = "(org_id, period, account_id, entry_id, debit_fen, credit_fen)"


def _line_indexes(conn: Connection) -> dict[str, str]:
    """journal_line's indexes as the database states them, name → definition."""
    if conn.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'journal_line'"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'journal_line'"
    return {name: (sql or "").replace('"', "") for name, sql in conn.execute(text(query))}


def test_books_upgraded_from_0013_have_one_line_index_by_month_and_the_downgrade_brings_back_two(
    county: County,
) -> None:
    engine = county.engine
    with read_tx(engine) as conn:
        new = _line_indexes(conn)
    assert "ix_line_org_account" not in new
    assert ONE_INDEX in new["ix_line_tb"]
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0013_core")
    with read_tx(engine) as conn:
        before = _line_indexes(conn)
    assert not at_heads(engine)
    assert "(org_id, account_id, period, entry_id)" in before["ix_line_org_account"]
    assert "(org_id, period, account_id, debit_fen, credit_fen)" in before["ix_line_tb"]
    upgrade(engine)
    with read_tx(engine) as conn:
        assert _line_indexes(conn) == new


def _plans(conn: Connection, run: Callable[[Connection], Any]) -> list[str]:
    """The plans of the SELECTs on journal_line that ``run`` sends, as the database explains them (on
    PostgreSQL with sequential scans off: a test's few rows would otherwise be read whole)."""
    sent: list[tuple[str, Any]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "journal_line" in statement:
            sent.append((statement, parameters))

    sqlite = conn.dialect.name == "sqlite"
    if not sqlite:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    event.listen(conn, "before_cursor_execute", capture)
    try:
        run(conn)
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    plans = []
    for statement, parameters in sent:
        rows = conn.exec_driver_sql(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, parameters)
        plans.append("\n".join(str(r[-1]) if sqlite else str(r[0]) for r in rows))
    assert plans, "nothing read journal_line"
    return plans


def _seeks_by_month_and_account(plan: str, sqlite: bool) -> bool:
    """``ix_line_tb`` sought by org, a named month and an account, not read over a range of months. On
    PostgreSQL, ``ix_line_tb`` read with the months named (a test's few rows leave its planner free to check
    them on the index's rows rather than seek them; on 10⁶ lines it seeks, bench/README.md)."""
    if sqlite:
        return "ix_line_tb (org_id=? AND period=? AND account_id=?)" in plan
    scan = re.search(
        r"Index (?:Only )?Scan using ix_line_tb on journal_line.*\n(\s+(Index Cond|Filter): .*\n?)+", plan
    )
    return scan is not None and re.search(r"period\)?(::text)? = ANY", scan[0]) is not None


def test_an_accounts_lines_are_sought_by_month_in_the_one_index(books_2025: County) -> None:
    org = books_2025.ids["dingzikou"]
    readers: dict[str, Callable[[Connection], Any]] = {
        "journal, account over months": lambda c: list_entries(
            c, org, EntryFilter(period_from="2025-01", period_to="2025-06", account="102"), count_limit=50
        ),
        "journal, account over days": lambda c: list_entries(
            c,
            org,
            EntryFilter(date_from=date(2025, 2, 10), date_to=date(2025, 4, 9), account="1"),
            count_limit=50,
        ),
        "明细账": lambda c: account_postings(c, org, ["102"], "2025-01", "2025-12", limit=20),
    }
    with read_tx(books_2025.engine) as conn:
        sqlite = conn.dialect.name == "sqlite"
        for name, run in readers.items():
            plans = _plans(conn, run)
            assert any(_seeks_by_month_and_account(p, sqlite) for p in plans), (name, plans)
            assert not any("ix_line_org_account" in p for p in plans), name
        # the period window (every figure's movements) still reads the one index by org and months
        window = _plans(conn, lambda c: movements(c, org, "2025-03", "2025-03", accounts=("102",)))
        assert any("ix_line_tb" in p for p in window), window


def test_an_accounts_lines_with_no_months_asked_for_are_sought_in_the_months_it_was_posted_in(
    books_2025: County,
) -> None:
    """The API's account filter may name no months: the months come from ``account_turnover`` (the
    account's months with lines), each sought in ``ix_line_tb`` — not every line of the org's years read
    for the account's. On PostgreSQL the test's few rows leave the planner free to join otherwise; on 10⁶
    lines it seeks ``period = account_turnover.period`` month by month (bench/README.md)."""
    org = books_2025.ids["dingzikou"]
    every_month = EntryFilter(account="102")
    with read_tx(books_2025.engine) as conn:
        sqlite = conn.dialect.name == "sqlite"
        plans = _plans(conn, lambda c: list_entries(c, org, every_month))
        counted = plans[0]  # the total, counted first
        assert "account_turnover" in counted, counted
        if sqlite:
            assert _seeks_by_month_and_account(counted, sqlite), counted
        entries, total = list_entries(conn, org, every_month, limit=500)
        months = list_entries(
            conn, org, EntryFilter(account="102", period_from="2025-01", period_to="2025-12")
        )
    assert total == months[1] > 0 and len(entries) == total
