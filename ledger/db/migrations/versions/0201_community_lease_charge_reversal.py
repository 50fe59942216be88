"""lease charges follow a reversal of their voucher: reversed_by_entry_id, one live charge per contract-month

A 红字冲销 of an accrual voucher marks its charges reversed instead of deleting them, and the month is then
charged again: the unique (contract, month) constraint becomes a unique index over the live charges only
(partial index on SQLite and PostgreSQL). Charges are also found by their entry (the reversal looks them up).

Revision ID: 0201_community
Revises: 0200_community
Create Date: 2026-12-02
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0201_community"
down_revision: str | Sequence[str] | None = "0200_community"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "reversed_by_entry_id IS NULL"


@contextmanager
def _children_set_aside() -> Iterator[None]:
    """SQLite drops a constraint by rebuilding the table, and with foreign keys on (they cannot be switched
    off inside the migration's transaction) dropping ``lease_charge`` while ``lease_allocation`` rows point at
    it fails. So the allocations wait in a temporary table and come back, same ids, into the same DDL."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    ddl = [
        sql
        for (sql,) in bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'lease_allocation' AND sql IS NOT NULL "
            "ORDER BY type = 'index', name"
        )
    ]
    op.execute("CREATE TEMP TABLE _lease_allocation_copy AS SELECT * FROM lease_allocation")
    op.execute("DROP TABLE lease_allocation")
    yield
    for sql in ddl:
        op.execute(sql)
    op.execute("INSERT INTO lease_allocation SELECT * FROM _lease_allocation_copy")
    op.execute("DROP TABLE _lease_allocation_copy")


def upgrade() -> None:
    with _children_set_aside(), op.batch_alter_table("lease_charge", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reversed_by_entry_id", sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(
            "fk_lease_charge_reversed_by", "journal_entry", ["reversed_by_entry_id"], ["id"]
        )
        batch_op.drop_constraint("uq_lease_charge_month", type_="unique")
    op.create_index(
        "uq_lease_charge_month",
        "lease_charge",
        ["contract_id", "period"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )
    op.create_index("ix_lease_charge_entry", "lease_charge", ["entry_id"])


def downgrade() -> None:
    op.drop_index("ix_lease_charge_entry", table_name="lease_charge")
    op.drop_index("uq_lease_charge_month", table_name="lease_charge")
    with _children_set_aside(), op.batch_alter_table("lease_charge", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_lease_charge_month", ["contract_id", "period"])
        batch_op.drop_constraint("fk_lease_charge_reversed_by", type_="foreignkey")
        batch_op.drop_column("reversed_by_entry_id")
