"""ledger core: 附单据数, the count of documents attached to a voucher, stored with the entry

Revision ID: 0009_core
Revises: 0008_core
Create Date: 2026-12-05

``journal_entry.attachments`` (0 for every entry posted before it, and for every entry a workflow posts):
how many source documents (receipts, invoices) the paper voucher carries. It is set once, when the entry is
posted, and is part of the entry's hashed bytes when it is not 0 (``ledger.books.chain``), so the hashes
of every entry posted before it are unchanged. Adding a column with a constant default rewrites no row, so
the journal's guard triggers (no UPDATE) are not involved.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_core"
down_revision: str | Sequence[str] | None = "0008_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "journal_entry", sa.Column("attachments", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )


def downgrade() -> None:
    # Not a batch (a copy of the table): the journal's guard triggers name journal_entry and would break
    # mid-copy on SQLite; both databases drop a plain column in place (SQLite since 3.35).
    op.execute("ALTER TABLE journal_entry DROP COLUMN attachments")
