"""statement imports: the file's own account, an account override, the key scheme, voids; a line's voucher

An import records the account number its file printed (``file_account_no``) and, when the officer imported
it into an account of another number on purpose, why (``account_override``). ``key_scheme`` says how its
lines were keyed: 1 by every field (imports before this revision), 2 by the source's own serial where the
file has one; an account holding scheme-1 lines is also checked against their old keys, so no earlier
line imports again. ``statement_line.voucher_fen``: WeChat's 代金券 on the line (older bills).

``statement_import_void``: an import undone by an officer, with the reason. Its lines stay (they are what
the file said) but stop counting; the void is a record like the import: never updated or deleted.

Revision ID: 0302_reconcile
Revises: 0301_reconcile
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0302_reconcile"
down_revision: str | Sequence[str] | None = "0301_reconcile"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IMPORT_COLUMNS = (
    "file_account_no VARCHAR(64) NOT NULL DEFAULT ''",
    "account_override VARCHAR NOT NULL DEFAULT ''",
    "key_scheme INTEGER NOT NULL DEFAULT 1",
)


def upgrade() -> None:
    for column in IMPORT_COLUMNS:
        op.execute(f"ALTER TABLE statement_import ADD COLUMN {column}")
    op.execute("ALTER TABLE statement_line ADD COLUMN voucher_fen BIGINT NOT NULL DEFAULT 0")
    op.create_table(
        "statement_import_void",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("org.id"), nullable=False),
        sa.Column(
            "statement_account_id", sa.Integer(), sa.ForeignKey("statement_account.id"), nullable=False
        ),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("statement_import.id"), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("voided_by", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("voided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("import_id", name="uq_statement_import_void_import"),
        sa.CheckConstraint("length(reason) > 0", name="ck_statement_import_void_reason"),
    )
    op.create_index(
        "ix_statement_import_void_account", "statement_import_void", ["org_id", "statement_account_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        # cunshe_reconcile_guard (0300_reconcile) refuses every UPDATE, DELETE and TRUNCATE of the table.
        op.execute(
            "CREATE TRIGGER statement_import_void_immutable BEFORE UPDATE OR DELETE ON statement_import_void "
            "FOR EACH ROW EXECUTE FUNCTION cunshe_reconcile_guard()"
        )
        op.execute(
            "CREATE TRIGGER statement_import_void_no_truncate BEFORE TRUNCATE ON statement_import_void "
            "FOR EACH STATEMENT EXECUTE FUNCTION cunshe_reconcile_guard()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER statement_import_void_no_{event.lower()} BEFORE {event} "
                "ON statement_import_void BEGIN SELECT RAISE(ABORT, 'immutable: voids are records'); END"
            )


def downgrade() -> None:
    op.drop_index("ix_statement_import_void_account", table_name="statement_import_void")
    op.drop_table("statement_import_void")
    op.execute("ALTER TABLE statement_line DROP COLUMN voucher_fen")
    for column in IMPORT_COLUMNS:
        op.execute(f"ALTER TABLE statement_import DROP COLUMN {column.split()[0]}")
