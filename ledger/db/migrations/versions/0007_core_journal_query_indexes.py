"""ledger core: indexes for the journal's filters (凭证查询) on books of millions of lines

Revision ID: 0007_core
Revises: 0006_core
Create Date: 2026-12-04

* ``ix_entry_org_date_seq``: a page of an org's vouchers in date and chain order is read off the index and
  stops after its rows, instead of sorting every match first;
* ``ix_entry_org_total``: vouchers by amount (the total, what one looks a voucher up by);
* ``ix_line_org_account``: the lines of one account (and its sub-accounts) within months, with their entry,
  from the index alone (``ix_line_tb`` leads with the month, so it reads every account of those months).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_core"
down_revision: str | Sequence[str] | None = "0006_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_entry_org_date_seq", "journal_entry", ["org_id", "entry_date", "seq"])
    op.create_index("ix_entry_org_total", "journal_entry", ["org_id", "total_fen"])
    op.create_index("ix_line_org_account", "journal_line", ["org_id", "account_id", "period", "entry_id"])


def downgrade() -> None:
    op.drop_index("ix_line_org_account", table_name="journal_line")
    op.drop_index("ix_entry_org_total", table_name="journal_entry")
    op.drop_index("ix_entry_org_date_seq", table_name="journal_entry")
