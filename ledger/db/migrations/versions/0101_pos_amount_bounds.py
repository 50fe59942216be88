"""pos: no sale, sale line, unit price or payment beyond the largest amount (¥999,999,999.99); a product's
own ceiling for price overrides

Revision ID: 0101_pos
Revises: 0100_pos
Create Date: 2026-12-04

The till's share of the bound of ``ledger.books.money.MAX_AMOUNT_FEN`` (see ``0006_core``, which bounds
the journal's lines the same way): a CHECK constraint on PostgreSQL, a guard trigger on SQLite (which cannot
add a CHECK to an existing table without rebuilding it). Rows written before are not re-checked.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0101_pos"
down_revision: str | Sequence[str] | None = "0100_pos"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAX_AMOUNT_FEN = 99_999_999_999
BOUNDED = {
    "pos_sale": ("total_fen",),
    "pos_sale_line": ("amount_fen", "unit_price_fen"),
    "pos_payment": ("amount_fen",),
}


def _condition(columns: Sequence[str], row: str = "") -> str:
    return " AND ".join(f"{row}{c} BETWEEN -{MAX_AMOUNT_FEN} AND {MAX_AMOUNT_FEN}" for c in columns)


def upgrade() -> None:
    # A product's own ceiling for a till's price override (NULL: ten times its price, at least ¥100.00).
    op.add_column("pos_product", sa.Column("max_price_fen", sa.BigInteger(), nullable=True))
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in BOUNDED.items():
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


def downgrade() -> None:
    op.drop_column("pos_product", "max_price_fen")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in BOUNDED:
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_amount_bound")
        else:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS ck_{table}_amount_bound")
