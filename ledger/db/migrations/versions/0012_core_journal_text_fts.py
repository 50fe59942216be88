"""ledger core: trigram full-text tables for the journal's text filter (凭证查询, 摘要 contains …), SQLite only

Revision ID: 0012_core
Revises: 0011_core
Create Date: 2026-12-05

What ``0011_core``'s ``pg_trgm`` indexes do on PostgreSQL, for SQLite: FTS5 tables with the ``trigram``
tokenizer (SQLite ≥ 3.34) hold each 摘要's trigrams, so that a text of three characters or more is found
among the 摘要 holding all of its trigrams in a row (``MATCH`` on a phrase), and one of two characters among
those holding a trigram that begins with them, instead of by reading a year's 摘要.
``ledger.books.journal`` still tests each candidate's 摘要 with ``LIKE``: the tables only narrow, they decide
no answer (their case folding is Unicode's where ``LIKE`` folds ASCII only):

* ``journal_entry_memo_fts``: ``journal_entry.memo``, rowid = the entry's id;
* ``journal_line_memo_fts``: ``journal_line.memo`` of the lines that have one, rowid = the line's id;
* ``journal_entry_memo_fts_terms``, ``journal_line_memo_fts_terms``: their vocabularies (``fts5vocab``),
  where a two-character text (租金, 张三) finds the trigrams that begin with it.

The two tables are contentless (``content=''``: the trigrams only, the text stays in the journal) and
filled by an ``AFTER INSERT`` trigger on every posting path — posted entries and lines are never updated or deleted
(their guard triggers refuse it), so inserts are all there is to follow; a posting rolled back takes its
trigrams with it. Existing rows are indexed here. A SQLite built without FTS5, or older than 3.34, gets
none of this and a warning: the filter gives the same answers by reading the 摘要.
"""

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_core"
down_revision: str | Sequence[str] | None = "0011_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each 摘要 is indexed with a U+001F after it: two characters at its end then make a trigram as well, so
# that a two-character text is found among the trigrams that begin with it (the ``_terms`` vocabularies).
STATEMENTS = (
    "CREATE VIRTUAL TABLE journal_entry_memo_fts USING fts5(memo, content='', tokenize='trigram')",
    "CREATE VIRTUAL TABLE journal_line_memo_fts USING fts5(memo, content='', tokenize='trigram')",
    "CREATE VIRTUAL TABLE journal_entry_memo_fts_terms USING fts5vocab(journal_entry_memo_fts, 'row')",
    "CREATE VIRTUAL TABLE journal_line_memo_fts_terms USING fts5vocab(journal_line_memo_fts, 'row')",
    """INSERT INTO journal_entry_memo_fts (rowid, memo)
    SELECT id, memo || char(31) FROM journal_entry WHERE memo <> ''""",
    """INSERT INTO journal_line_memo_fts (rowid, memo)
    SELECT id, memo || char(31) FROM journal_line WHERE memo <> ''""",
    """CREATE TRIGGER journal_entry_memo_fts_insert AFTER INSERT ON journal_entry WHEN new.memo <> ''
    BEGIN INSERT INTO journal_entry_memo_fts (rowid, memo) VALUES (new.id, new.memo || char(31)); END""",
    """CREATE TRIGGER journal_line_memo_fts_insert AFTER INSERT ON journal_line WHEN new.memo <> ''
    BEGIN INSERT INTO journal_line_memo_fts (rowid, memo) VALUES (new.id, new.memo || char(31)); END""",
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    fts5, version = bind.execute(
        sa.text("SELECT sqlite_compileoption_used('ENABLE_FTS5'), sqlite_version()")
    ).one()
    if not fts5 or tuple(int(n) for n in version.split(".")[:2]) < (3, 34):
        warnings.warn(
            f"SQLite {version} has no FTS5 trigram tokenizer: the journal's text filter will read every 摘要",
            stacklevel=1,
        )
        return
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS journal_line_memo_fts_insert")
    op.execute("DROP TRIGGER IF EXISTS journal_entry_memo_fts_insert")
    op.execute("DROP TABLE IF EXISTS journal_line_memo_fts_terms")
    op.execute("DROP TABLE IF EXISTS journal_entry_memo_fts_terms")
    op.execute("DROP TABLE IF EXISTS journal_line_memo_fts")
    op.execute("DROP TABLE IF EXISTS journal_entry_memo_fts")
