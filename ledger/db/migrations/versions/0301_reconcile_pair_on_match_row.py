"""reconcile_match keeps a proposed one-to-one pair on its own row: statement_line_id, journal_line_id,
pair_amount_fen

The matcher proposes ~10⁵ one-to-one pairs for a month of a busy account; two item rows each made writing
them the larger part of a run. The three columns are all set or all empty, and only on a proposed
one-to-one match (a CHECK on PostgreSQL, an insert trigger on SQLite, whose ALTER TABLE cannot add one);
the rows stay as immutable as before (0300_reconcile's guards cover every column).

Revision ID: 0301_reconcile
Revises: 0300_reconcile
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0301_reconcile"
down_revision: str | Sequence[str] | None = "0300_reconcile"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    "statement_line_id BIGINT REFERENCES statement_line (id)",
    "journal_line_id BIGINT REFERENCES journal_line (id)",
    "pair_amount_fen BIGINT",
)


def _shape(row: str = "") -> str:
    """The pair columns are all empty, or all set on a proposed one-to-one match (``row``: "NEW.")."""
    pair = ("statement_line_id", "journal_line_id", "pair_amount_fen")
    empty = " AND ".join(f"{row}{c} IS NULL" for c in pair)
    full = " AND ".join(f"{row}{c} IS NOT NULL" for c in pair)
    return f"({empty}) OR ({full} AND {row}status = 'proposed' AND {row}kind = 'one_to_one')"


def upgrade() -> None:
    for column in COLUMNS:
        op.execute(f"ALTER TABLE reconcile_match ADD COLUMN {column}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE reconcile_match ADD CONSTRAINT ck_reconcile_match_pair CHECK ({_shape()})")
    else:
        op.execute(
            "CREATE TRIGGER reconcile_match_pair_shape BEFORE INSERT ON reconcile_match "
            f"WHEN NOT ({_shape('NEW.')}) "
            "BEGIN SELECT RAISE(ABORT, 'ck_reconcile_match_pair: a pair on a match row is all three columns, "
            "on a proposed one_to_one'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE reconcile_match DROP CONSTRAINT ck_reconcile_match_pair")
    else:
        op.execute("DROP TRIGGER reconcile_match_pair_shape")
    for column in COLUMNS:
        op.execute(f"ALTER TABLE reconcile_match DROP COLUMN {column.split()[0]}")
