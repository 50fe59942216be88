"""reconciliation: statement accounts, imports, lines, matches

Revision ID: 0300_reconcile
Revises: 0001_core
Create Date: 2026-11-23 15:40:00

Statement lines and decided matches are records: the database refuses to change them (DESIGN §7: the
officer confirms; confirmed matches are recorded, not rewritten). Only an open proposal may be deleted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0300_reconcile"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("reconcile",)
depends_on: str | Sequence[str] | None = None

SQLITE_GUARDS = [
    """CREATE TRIGGER statement_line_no_update BEFORE UPDATE ON statement_line
    BEGIN SELECT RAISE(ABORT, 'immutable: statement lines are what the bank said'); END""",
    """CREATE TRIGGER statement_line_no_delete BEFORE DELETE ON statement_line
    BEGIN SELECT RAISE(ABORT, 'immutable: statement lines are what the bank said'); END""",
    """CREATE TRIGGER statement_import_no_update BEFORE UPDATE ON statement_import
    BEGIN SELECT RAISE(ABORT, 'immutable: imports are records'); END""",
    """CREATE TRIGGER statement_import_no_delete BEFORE DELETE ON statement_import
    BEGIN SELECT RAISE(ABORT, 'immutable: imports are records'); END""",
    """CREATE TRIGGER reconcile_match_no_update BEFORE UPDATE ON reconcile_match
    BEGIN SELECT RAISE(ABORT, 'immutable: a match is corrected by a new record that supersedes it'); END""",
    """CREATE TRIGGER reconcile_match_no_delete BEFORE DELETE ON reconcile_match
    WHEN OLD.status <> 'proposed'
    BEGIN SELECT RAISE(ABORT, 'immutable: confirmed and rejected matches are records'); END""",
    """CREATE TRIGGER reconcile_match_item_no_update BEFORE UPDATE ON reconcile_match_item
    BEGIN SELECT RAISE(ABORT, 'immutable: match items are records'); END""",
    """CREATE TRIGGER reconcile_match_item_no_delete BEFORE DELETE ON reconcile_match_item
    WHEN (SELECT status FROM reconcile_match WHERE id = OLD.match_id) <> 'proposed'
    BEGIN SELECT RAISE(ABORT, 'immutable: confirmed and rejected matches are records'); END""",
]

POSTGRES_GUARDS = [
    """CREATE FUNCTION cunshe_reconcile_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- Nested IFs: PL/pgSQL does not promise to short-circuit AND, and OLD differs per table.
        IF TG_OP = 'DELETE' THEN
            IF TG_TABLE_NAME = 'reconcile_match' THEN
                IF OLD.status = 'proposed' THEN
                    RETURN OLD;
                END IF;
            ELSIF TG_TABLE_NAME = 'reconcile_match_item' THEN
                IF (SELECT status FROM reconcile_match WHERE id = OLD.match_id) = 'proposed' THEN
                    RETURN OLD;
                END IF;
            END IF;
        END IF;
        RAISE EXCEPTION 'immutable: % rows are records and are never %d', TG_TABLE_NAME, lower(TG_OP)
            USING ERRCODE = 'restrict_violation';
    END $$""",
    *[
        f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION cunshe_reconcile_guard()"
        for table in ("statement_line", "statement_import", "reconcile_match", "reconcile_match_item")
    ],
    *[
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION cunshe_reconcile_guard()"
        for table in ("statement_line", "statement_import", "reconcile_match", "reconcile_match_item")
    ],
]


def upgrade() -> None:
    op.create_table(
        "statement_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("ledger_account", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("account_no", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('bank', 'wechat', 'alipay')", name="ck_statement_account_kind"),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "id", name="uq_statement_account_org_id"),
        sa.UniqueConstraint("org_id", "name", name="uq_statement_account_name"),
    )
    op.create_index(op.f("ix_statement_account_org_id"), "statement_account", ["org_id"], unique=False)
    op.create_table(
        "reconcile_match",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("statement_account_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("conflict", sa.Boolean(), nullable=False),
        sa.Column("reasons", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("supersedes_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('one_to_one', 'one_to_many', 'many_to_one', 'settlement', 'rule', 'manual')",
            name="ck_reconcile_match_kind",
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'confirmed', 'rejected')", name="ck_reconcile_match_status"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.ForeignKeyConstraint(
            ["statement_account_id"],
            ["statement_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["reconcile_match.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supersedes_id", name="uq_reconcile_match_supersedes"),
    )
    op.create_index(
        "ix_reconcile_match_account",
        "reconcile_match",
        ["org_id", "statement_account_id", "status"],
        unique=False,
    )
    op.create_table(
        "statement_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("statement_account_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("encoding", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("new_count", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.Integer(), nullable=True),
        sa.Column("imported_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_by"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.ForeignKeyConstraint(
            ["statement_account_id"],
            ["statement_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_statement_import_account", "statement_import", ["org_id", "statement_account_id"], unique=False
    )
    op.create_table(
        "statement_line",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("statement_account_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("balance_fen", sa.BigInteger(), nullable=True),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("merchant_ref", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("counterparty", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("counterparty_account", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("memo", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["statement_import.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.ForeignKeyConstraint(
            ["statement_account_id"],
            ["statement_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("statement_account_id", "key", name="uq_statement_line_key"),
    )
    op.create_index(
        "ix_statement_line_account_at",
        "statement_line",
        ["org_id", "statement_account_id", "occurred_at"],
        unique=False,
    )
    op.create_index("ix_statement_line_import", "statement_line", ["import_id"], unique=False)
    op.create_table(
        "reconcile_match_item",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("match_id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("statement_line_id", sa.BigInteger(), nullable=True),
        sa.Column("journal_line_id", sa.BigInteger(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("role IN ('statement', 'book', 'settled')", name="ck_reconcile_item_role"),
        sa.CheckConstraint(
            "(statement_line_id IS NULL) <> (journal_line_id IS NULL)", name="ck_reconcile_item_one_side"
        ),
        sa.ForeignKeyConstraint(
            ["journal_line_id"],
            ["journal_line.id"],
        ),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["reconcile_match.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.ForeignKeyConstraint(
            ["statement_line_id"],
            ["statement_line.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_reconcile_item_journal_line", "reconcile_match_item", ["journal_line_id"], unique=False
    )
    op.create_index("ix_reconcile_item_match", "reconcile_match_item", ["match_id"], unique=False)
    op.create_index(
        "ix_reconcile_item_statement_line", "reconcile_match_item", ["statement_line_id"], unique=False
    )

    dialect = op.get_bind().dialect.name
    for statement in SQLITE_GUARDS if dialect == "sqlite" else POSTGRES_GUARDS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_GUARDS:
            op.execute("DROP TRIGGER IF EXISTS " + statement.split()[2])
    else:
        op.execute("DROP FUNCTION IF EXISTS cunshe_reconcile_guard() CASCADE")
    op.drop_index("ix_reconcile_item_statement_line", table_name="reconcile_match_item")
    op.drop_index("ix_reconcile_item_match", table_name="reconcile_match_item")
    op.drop_index("ix_reconcile_item_journal_line", table_name="reconcile_match_item")
    op.drop_table("reconcile_match_item")
    op.drop_index("ix_statement_line_import", table_name="statement_line")
    op.drop_index("ix_statement_line_account_at", table_name="statement_line")
    op.drop_table("statement_line")
    op.drop_index("ix_statement_import_account", table_name="statement_import")
    op.drop_table("statement_import")
    op.drop_index("ix_reconcile_match_account", table_name="reconcile_match")
    op.drop_table("reconcile_match")
    op.drop_index(op.f("ix_statement_account_org_id"), table_name="statement_account")
    op.drop_table("statement_account")
