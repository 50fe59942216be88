"""the web login throttle and logout deny list, in the database (shared by every worker, kept on restart)

Revision ID: 0004_core
Revises: 0003_core
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_core"
down_revision: str | Sequence[str] | None = "0003_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_login_failure",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("addr", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("failed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_login_failure_who", "web_login_failure", ["username", "addr", "failed_at"])
    op.create_index("ix_web_login_failure_at", "web_login_failure", ["failed_at"])
    op.create_table(
        "web_session_revoked",
        sa.Column("sid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sid"),
    )
    op.create_index("ix_web_session_revoked_expires_at", "web_session_revoked", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_web_session_revoked_expires_at", table_name="web_session_revoked")
    op.drop_table("web_session_revoked")
    op.drop_index("ix_web_login_failure_at", table_name="web_login_failure")
    op.drop_index("ix_web_login_failure_who", table_name="web_login_failure")
    op.drop_table("web_login_failure")
