"""ledger core: trigram indexes for the journal's text filter (凭证查询, 摘要 contains …), PostgreSQL only

Revision ID: 0011_core
Revises: 0010_core
Create Date: 2026-12-05

The journal's text filter (``ledger.books.journal.EntryFilter.text_contains``) asks for an entry whose
摘要, or one of whose lines' 摘要, holds a piece of text anywhere (``LIKE '%…%'``), which no b-tree finds.
PostgreSQL's ``pg_trgm`` GIN indexes do, for any text of three characters or more, CJK included when the
database's LC_CTYPE classifies those characters as letters (C.UTF-8, zh_CN.UTF-8, en_US.UTF-8 do; plain
``C`` does not: such a database still answers, by reading the 摘要):

* ``ix_entry_memo_trgm`` on ``journal_entry.memo``;
* ``ix_line_memo_trgm`` on ``journal_line.memo``, only the lines that have one (most have none).

``pg_trgm`` ships with PostgreSQL's contrib modules (Debian: in ``postgresql-NN`` itself; elsewhere the
``postgresql-contrib`` package) and is a trusted extension since PostgreSQL 13, so the database's owner may
create it. Where the server has no such module this revision creates nothing and says so: the filter gives
the same answers without the indexes, only slower on big books. SQLite has no such index; the filter reads
its 摘要 there (``bench/README.md``, the journal).
"""

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_core"
down_revision: str | Sequence[str] | None = "0010_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).scalar_one_or_none()
    if available is None:
        warnings.warn(
            "PostgreSQL has no pg_trgm extension (install the server's contrib modules): the journal's text"
            " filter will read every 摘要 instead of using an index",
            stacklevel=1,
        )
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_entry_memo_trgm ON journal_entry USING gin (memo gin_trgm_ops)")
    op.execute(
        "CREATE INDEX ix_line_memo_trgm ON journal_line USING gin (memo gin_trgm_ops) WHERE memo <> ''"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_line_memo_trgm")
    op.execute("DROP INDEX IF EXISTS ix_entry_memo_trgm")
    # the extension stays: another schema in the database may use it, and it holds no data of ours
