"""account turnover per org, month and account, maintained by posting; filled from existing lines

Revision ID: 0002_core
Revises: 0001_core
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002_core"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_turnover",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("debit_fen", sa.BigInteger(), nullable=False),
        sa.Column("credit_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"]),
        sa.PrimaryKeyConstraint("org_id", "period", "account_id"),
    )
    op.execute(
        "INSERT INTO account_turnover (org_id, period, account_id, debit_fen, credit_fen) "
        "SELECT org_id, period, account_id, SUM(debit_fen), SUM(credit_fen) FROM journal_line "
        "GROUP BY org_id, period, account_id"
    )


def downgrade() -> None:
    op.drop_table("account_turnover")
