"""ledger core: posting's cost in the database — one guard trigger per line, no index entry for a NULL

Revision ID: 0013_core
Revises: 0012_core
Create Date: 2026-12-05

Posting cost more per entry than before issue 15, and most of the difference was SQLite's (bench/README.md,
the ledger core). What this revision changes, refusing what was refused before with the same messages:

- SQLite: ``0006_core``'s ``journal_line_amount_bound`` was a second trigger program run for every line
  beside ``0003_core``'s ``journal_line_check``; its condition moves into ``journal_line_check``, which
  refuses an amount beyond the largest first (the order the two triggers fired in: SQLite fires the
  later-created first), then a line added to a posted entry. PostgreSQL keeps its CHECK constraint.
- Both databases: ``ix_line_counterparty`` (org, counterparty) and ``ix_entry_link`` (link) hold only the
  rows that have one (``WHERE … IS NOT NULL``): most lines name no counterparty and most entries no link,
  and every posting wrote an index entry for each of them. Every query that reads these indexes asks for
  a value (``=`` or ``IN``), which implies NOT NULL, so both planners still choose them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_core"
down_revision: str | Sequence[str] | None = "0012_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ``ledger.books.money.MAX_AMOUNT_FEN`` as 0006_core wrote it (a migration must not change when the code does)
MAX_AMOUNT_FEN = 99_999_999_999

LINE_GUARD = f"""CREATE TRIGGER journal_line_check BEFORE INSERT ON journal_line
BEGIN
    SELECT CASE
        WHEN NOT (NEW.debit_fen BETWEEN -{MAX_AMOUNT_FEN} AND {MAX_AMOUNT_FEN}
                  AND NEW.credit_fen BETWEEN -{MAX_AMOUNT_FEN} AND {MAX_AMOUNT_FEN})
            THEN RAISE(ABORT, 'invalid_amount: beyond the largest amount, 999999999.99')
        WHEN EXISTS (SELECT 1 FROM journal_entry WHERE id = NEW.entry_id)
            THEN RAISE(ABORT, 'immutable: lines cannot be added to a posted entry')
    END;
END"""

# 0003_core's line guard and 0006_core's amount bound, for the downgrade.
OLD_LINE_GUARD = """CREATE TRIGGER journal_line_check BEFORE INSERT ON journal_line
BEGIN
    SELECT RAISE(ABORT, 'immutable: lines cannot be added to a posted entry')
    WHERE EXISTS (SELECT 1 FROM journal_entry WHERE id = NEW.entry_id);
END"""

OLD_AMOUNT_BOUND = f"""CREATE TRIGGER journal_line_amount_bound BEFORE INSERT ON journal_line
                WHEN NOT (NEW.debit_fen BETWEEN -{MAX_AMOUNT_FEN} AND {MAX_AMOUNT_FEN} AND NEW.credit_fen BETWEEN -{MAX_AMOUNT_FEN} AND {MAX_AMOUNT_FEN})
                BEGIN
                    SELECT RAISE(ABORT, 'invalid_amount: beyond the largest amount, 999999999.99');
                END"""


# index -> (table, columns, the column most rows leave NULL)
PARTIAL = {
    "ix_line_counterparty": ("journal_line", ["org_id", "counterparty_id"], "counterparty_id"),
    "ix_entry_link": ("journal_entry", ["link_id"], "link_id"),
}


def _index(name: str, *, partial: bool) -> None:
    table, columns, nullable = PARTIAL[name]
    op.drop_index(name, table_name=table)
    where = {
        "sqlite_where": sa.text(f"{nullable} IS NOT NULL"),
        "postgresql_where": sa.text(f"{nullable} IS NOT NULL"),
    }
    op.create_index(name, table, columns, **(where if partial else {}))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS journal_line_amount_bound")
        op.execute("DROP TRIGGER IF EXISTS journal_line_check")
        op.execute(LINE_GUARD)
    for name in PARTIAL:
        _index(name, partial=True)


def downgrade() -> None:
    for name in PARTIAL:
        _index(name, partial=False)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS journal_line_check")
        op.execute(OLD_LINE_GUARD)
        op.execute(OLD_AMOUNT_BOUND)
