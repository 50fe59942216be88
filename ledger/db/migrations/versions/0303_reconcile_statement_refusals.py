"""statement_refusal: every problem of a refused statement file, for the download its 422 links to

A refused import writes nothing of the file; the API answers with the count and the first 20 problems and
keeps the whole list here under a random token, for ``GET /orgs/{org}/statement-refusals/{token}.csv``. It
is a note about a refusal, not the books: a week-old note is deleted when the next one is kept.

Revision ID: 0303_reconcile
Revises: 0302_reconcile
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0303_reconcile"
down_revision: str | Sequence[str] | None = "0302_reconcile"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "statement_refusal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("org.id"), nullable=False),
        sa.Column(
            "statement_account_id", sa.Integer(), sa.ForeignKey("statement_account.id"), nullable=False
        ),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("problem_count", sa.Integer(), nullable=False),
        sa.Column("problems_csv", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
    )
    op.create_index("ix_statement_refusal_created", "statement_refusal", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_statement_refusal_created", table_name="statement_refusal")
    op.drop_table("statement_refusal")
