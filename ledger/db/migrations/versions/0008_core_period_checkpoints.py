"""ledger core: signed month-close checkpoints (period_checkpoint), append-only like the journal

Revision ID: 0008_core
Revises: 0007_core
Create Date: 2026-12-04

Each close of a month stores what it signed (``ledger.books.checkpoints``): the payload, the Ed25519
signature, the signing key's id and public half. The private key never enters the database. Rows are
never updated or deleted (guard triggers, as for the journal).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008_core"
down_revision: str | Sequence[str] | None = "0007_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "period_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("payload", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("public_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_period_checkpoint_org_period", "period_checkpoint", ["org_id", "period"])
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"""CREATE TRIGGER period_checkpoint_no_{event.lower()} BEFORE {event} ON period_checkpoint
                BEGIN SELECT RAISE(ABORT, 'immutable: checkpoints are append-only'); END"""
            )
    else:
        op.execute(
            "CREATE TRIGGER period_checkpoint_immutable BEFORE UPDATE OR DELETE ON period_checkpoint "
            "FOR EACH ROW EXECUTE FUNCTION cunshe_refuse_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER period_checkpoint_no_update")
        op.execute("DROP TRIGGER period_checkpoint_no_delete")
    op.drop_index("ix_period_checkpoint_org_period", table_name="period_checkpoint")
    op.drop_table("period_checkpoint")
