"""ledger core: no journal line beyond the largest amount (¥999,999,999.99), whatever code path writes it

Revision ID: 0006_core
Revises: 0005_core
Create Date: 2026-12-04

The bound of ``ledger.books.money.MAX_AMOUNT_FEN``, written out here (a migration must not change when the
code does): every sum the books keep then fits in 64 bits (see that module's docstring). PostgreSQL gets a
CHECK constraint; SQLite cannot add one to an existing table without rebuilding it (and its guard triggers),
so it gets a guard trigger with the same condition. Rows written before this revision are not re-checked
(``NOT VALID``), so a database that already holds one still upgrades.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_core"
down_revision: str | Sequence[str] | None = "0005_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAX_AMOUNT_FEN = 99_999_999_999
BOUNDED = {"journal_line": ("debit_fen", "credit_fen")}


def _condition(columns: Sequence[str], row: str = "") -> str:
    return " AND ".join(f"{row}{c} BETWEEN -{MAX_AMOUNT_FEN} AND {MAX_AMOUNT_FEN}" for c in columns)


def bound(tables: dict[str, tuple[str, ...]]) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in tables.items():
        if sqlite:
            op.execute(
                f"""CREATE TRIGGER {table}_amount_bound BEFORE INSERT ON {table}
                WHEN NOT ({_condition(columns, "NEW.")})
                BEGIN
                    SELECT RAISE(ABORT, 'invalid_amount: beyond the largest amount, 999999999.99');
                END"""
            )
        else:
            op.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_amount_bound "
                f"CHECK ({_condition(columns)}) NOT VALID"
            )


def unbound(tables: dict[str, tuple[str, ...]]) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in tables:
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_amount_bound")
        else:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS ck_{table}_amount_bound")


def upgrade() -> None:
    bound(BOUNDED)


def downgrade() -> None:
    unbound(BOUNDED)
