"""ledger core: one journal_line index by org, month and account serves the trial balance and an account's lines

Revision ID: 0014_core
Revises: 0013_core
Create Date: 2026-12-05

Every posted line wrote three entries into indexes that lead with its org: ``ix_line_tb`` (org, month,
account, debit, credit) for the period window and ``0007_core``'s ``ix_line_org_account`` (org, account,
month, entry) for an account's lines, plus ``ix_line_entry``. Posting at 10⁵ entries cost about 5 % more CPU
than before issue 15 for it (bench/README.md, the ledger core). This revision keeps one of the two:

* ``ix_line_tb`` becomes (org, month, account, entry, debit, credit): still the period window's covering
  index, and now also an account's lines with their entry, which its readers reach by naming the months
  one by one (``period IN (…)``: one seek per month and account, as ``0007_core``'s index answered them);
  the entry before the amounts puts a new line at the end of its month's and account's run of the index
  instead of at a random place within it;
* ``ix_line_org_account`` goes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_core"
down_revision: str | Sequence[str] | None = "0013_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the index's columns before and after (0001_core's, this revision's)
OLD_TB = ["org_id", "period", "account_id", "debit_fen", "credit_fen"]
NEW_TB = ["org_id", "period", "account_id", "entry_id", "debit_fen", "credit_fen"]


def upgrade() -> None:
    op.drop_index("ix_line_org_account", table_name="journal_line")
    op.drop_index("ix_line_tb", table_name="journal_line")
    op.create_index("ix_line_tb", "journal_line", NEW_TB)


def downgrade() -> None:
    op.drop_index("ix_line_tb", table_name="journal_line")
    op.create_index("ix_line_tb", "journal_line", OLD_TB)
    op.create_index("ix_line_org_account", "journal_line", ["org_id", "account_id", "period", "entry_id"])
