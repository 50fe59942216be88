"""lease receipts and deposit movements follow a reversal of their entry: reversed_by_entry_id

A 红字冲销 of a rent receipt (or of a deposit received, applied or refunded) marks its row reversed: the
receipt then credits no contract and pays no charge, the deposit movement counts for nothing. Plain nullable
columns (no table rebuild on SQLite, where the reference to the journal entry is not declared).

Revision ID: 0202_community
Revises: 0201_community
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0202_community"
down_revision: str | Sequence[str] | None = "0201_community"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("lease_receipt", "lease_deposit")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        if sqlite:
            # Alembic would rebuild the table to add the reference, and other tables point at these rows;
            # a declared reference would also stop DROP COLUMN. Journal entries are never deleted (their
            # triggers refuse), so the undeclared pointer cannot dangle.
            op.execute(f"ALTER TABLE {table} ADD COLUMN reversed_by_entry_id BIGINT")
            continue
        op.add_column(
            table,
            sa.Column(
                "reversed_by_entry_id",
                sa.BigInteger(),
                sa.ForeignKey("journal_entry.id", name=f"fk_{table}_reversed_by"),
                nullable=True,
            ),
        )


def downgrade() -> None:
    for table in TABLES:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE {table} DROP COLUMN reversed_by_entry_id")
        else:
            op.drop_column(table, "reversed_by_entry_id")
