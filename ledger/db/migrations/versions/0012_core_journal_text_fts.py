"""ledger core: trigram full-text tables for the journal's text filter (凭证查询, 摘要 contains …), SQLite only

Revision ID: 0012_core
Revises: 0011_core
Create Date: 2026-12-05

What ``0011_core``'s ``pg_trgm`` indexes do on PostgreSQL, for SQLite: FTS5 tables with the ``trigram``
tokenizer (SQLite ≥ 3.34) hold each 摘要's trigrams, so that a text of three characters or more is found
among the 摘要 holding all of its trigrams in a row (``MATCH`` on a phrase) instead of by reading a year's
摘要. ``ledger.books.journal`` still tests each candidate's 摘要 with ``LIKE``: the table only narrows, it
decides no answer (its case folding is Unicode's where ``LIKE`` folds ASCII only):

* ``journal_entry_memo_fts``: ``journal_entry.memo``, rowid = the entry's id;
* ``journal_line_memo_fts``: ``journal_line.memo`` of the lines that have one, rowid = the line's id.

Both are contentless (``content=''``: the trigrams only, the text stays in the journal) and filled by an
``AFTER INSERT`` trigger on every posting path — posted entries and lines are never updated or deleted
(their guard triggers refuse it), so inserts are all there is to follow; a posting rolled back takes its
trigrams with it. Existing rows are indexed here.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_core"
down_revision: str | Sequence[str] | None = "0011_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATEMENTS = (
    "CREATE VIRTUAL TABLE journal_entry_memo_fts USING fts5(memo, content='', tokenize='trigram')",
    "CREATE VIRTUAL TABLE journal_line_memo_fts USING fts5(memo, content='', tokenize='trigram')",
    "INSERT INTO journal_entry_memo_fts (rowid, memo) SELECT id, memo FROM journal_entry WHERE memo <> ''",
    "INSERT INTO journal_line_memo_fts (rowid, memo) SELECT id, memo FROM journal_line WHERE memo <> ''",
    """CREATE TRIGGER journal_entry_memo_fts_insert AFTER INSERT ON journal_entry WHEN new.memo <> ''
    BEGIN INSERT INTO journal_entry_memo_fts (rowid, memo) VALUES (new.id, new.memo); END""",
    """CREATE TRIGGER journal_line_memo_fts_insert AFTER INSERT ON journal_line WHEN new.memo <> ''
    BEGIN INSERT INTO journal_line_memo_fts (rowid, memo) VALUES (new.id, new.memo); END""",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS journal_line_memo_fts_insert")
    op.execute("DROP TRIGGER IF EXISTS journal_entry_memo_fts_insert")
    op.execute("DROP TABLE IF EXISTS journal_line_memo_fts")
    op.execute("DROP TABLE IF EXISTS journal_entry_memo_fts")
