"""user_account.sessions_valid_from: disabling a user (or revoking its sessions) ends every web session
signed before, so re-enabling the user does not bring a stolen cookie back to life

Revision ID: 0005_core
Revises: 0004_core
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_core"
down_revision: str | Sequence[str] | None = "0004_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("user_account", sa.Column("sessions_valid_from", sa.Float(), nullable=True))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place; a batch rebuild would trip the foreign keys of api_token.
    op.drop_column("user_account", "sessions_valid_from")
