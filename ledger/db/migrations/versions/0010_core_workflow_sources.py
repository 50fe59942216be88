"""ledger core: the welfare-post, paid-in-capital and stake workflows post under their own sources

Revision ID: 0010_core
Revises: 0009_core
Create Date: 2026-12-05

Stipends and their payments (``welfare``), a company's capital paid in (``capital``) and a collective's
stake in a company (``stake``) were posted as ``manual``, so the accounts they keep could not be told
apart from a person's entry and could not be guarded (``ledger.books.posting.register_kept_account``).
Existing rows keep the source they were posted with (posted entries never change).

The sources' CHECK only widens. PostgreSQL drops and re-adds it. SQLite cannot alter a CHECK; widening one
changes nothing stored, so it takes SQLite's documented route for such changes ("Making Other Kinds Of
Table Schema Changes", https://www.sqlite.org/lang_altertable.html#otheralter): the table's CREATE text is
rewritten in ``sqlite_schema`` under ``writable_schema`` and the schema version bumped, in the migration's
transaction — no copy of the journal, whose guard triggers and references stay as they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_core"
down_revision: str | Sequence[str] | None = "0009_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out (a migration must not change when ledger.db.models.ENTRY_SOURCES does).
OLD = ("manual", "pos", "lease", "brokerage", "distribution", "import", "close", "reversal")
NEW = (*OLD, "welfare", "capital", "stake")


def _check(sources: Sequence[str]) -> str:
    return f"source IN ({', '.join(repr(s) for s in sources)})"


def _sqlite_rewrite(old: str, new: str) -> None:
    bind = op.get_bind()
    sql = bind.execute(
        sa.text("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'journal_entry'")
    ).scalar_one()
    if f"CHECK ({old})" not in sql:
        raise RuntimeError(f"journal_entry's CREATE text has no CHECK ({old}); not rewriting it")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    try:
        bind.execute(
            sa.text("UPDATE sqlite_schema SET sql = :sql WHERE type = 'table' AND name = 'journal_entry'"),
            {"sql": sql.replace(f"CHECK ({old})", f"CHECK ({new})")},
        )
        bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    finally:
        bind.execute(sa.text("PRAGMA writable_schema = OFF"))
    problems = bind.execute(sa.text("PRAGMA quick_check")).scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"journal_entry's schema after the rewrite: {problems}")


def _change(old: Sequence[str], new: Sequence[str]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite(_check(old), _check(new))
    else:
        op.execute("ALTER TABLE journal_entry DROP CONSTRAINT ck_entry_source")
        op.execute(f"ALTER TABLE journal_entry ADD CONSTRAINT ck_entry_source CHECK ({_check(new)})")


def upgrade() -> None:
    _change(OLD, NEW)


def downgrade() -> None:
    # Entries posted under the new sources would break the narrower CHECK: PostgreSQL refuses the
    # downgrade then; SQLite is asked first.
    held = (
        op.get_bind()
        .execute(sa.text(f"SELECT COUNT(*) FROM journal_entry WHERE NOT ({_check(OLD)})"))
        .scalar_one()
    )
    if held:
        raise RuntimeError(f"{held} entries carry the sources of 0010_core; they cannot be downgraded")
    _change(NEW, OLD)
