"""ledger core: orgs, charts, journal, periods, users — and the database guards of the books

Revision ID: 0001_core
Revises:
Create Date: 2026-11-23 15:02:36.255880
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001_core"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("core",)
depends_on: str | Sequence[str] | None = None


# The database's own defence of the books (DESIGN §3), whatever code path writes: lines go in first, then
# their entry; the entry's insert checks the lines. Posted rows never change.
SQLITE_GUARDS = [
    """CREATE TRIGGER journal_entry_check BEFORE INSERT ON journal_entry
    BEGIN
        SELECT RAISE(ABORT, 'unbalanced_entry: debits and credits differ')
        WHERE (SELECT COALESCE(SUM(debit_fen), 0) - COALESCE(SUM(credit_fen), 0)
               FROM journal_line WHERE entry_id = NEW.id) <> 0;
        SELECT RAISE(ABORT, 'unbalanced_entry: an entry needs at least two lines')
        WHERE (SELECT COUNT(*) FROM journal_line WHERE entry_id = NEW.id) < 2
           OR (SELECT COUNT(*) FROM journal_line WHERE entry_id = NEW.id) <> NEW.line_count;
        SELECT RAISE(ABORT, 'unbalanced_entry: total does not match the lines')
        WHERE (SELECT COALESCE(SUM(debit_fen), 0) FROM journal_line WHERE entry_id = NEW.id) <> NEW.total_fen;
        SELECT RAISE(ABORT, 'account_not_postable: a line belongs to another org or period')
        WHERE EXISTS (SELECT 1 FROM journal_line WHERE entry_id = NEW.id
                      AND (org_id <> NEW.org_id OR period <> NEW.period));
        SELECT RAISE(ABORT, 'unbalanced_entry: negative amounts only in a reversal')
        WHERE NEW.reverses_id IS NULL AND EXISTS (SELECT 1 FROM journal_line WHERE entry_id = NEW.id
                                                 AND (debit_fen < 0 OR credit_fen < 0));
        SELECT RAISE(ABORT, 'period_closed: the period is closed')
        WHERE EXISTS (SELECT 1 FROM period WHERE org_id = NEW.org_id AND period = NEW.period
                      AND status = 'closed');
        SELECT RAISE(ABORT, 'invalid: entry date outside its period')
        WHERE substr(NEW.entry_date, 1, 7) <> NEW.period;
    END""",
    """CREATE TRIGGER journal_line_check BEFORE INSERT ON journal_line
    BEGIN
        SELECT RAISE(ABORT, 'immutable: lines cannot be added to a posted entry')
        WHERE EXISTS (SELECT 1 FROM journal_entry WHERE id = NEW.entry_id);
        SELECT RAISE(ABORT, 'account_not_postable: closed or summary account')
        WHERE EXISTS (SELECT 1 FROM account WHERE id = NEW.account_id AND is_closed)
           OR EXISTS (SELECT 1 FROM account WHERE parent_id = NEW.account_id);
    END""",
    """CREATE TRIGGER journal_entry_no_update BEFORE UPDATE ON journal_entry
    BEGIN SELECT RAISE(ABORT, 'immutable: posted entries are never updated; post a reversal'); END""",
    """CREATE TRIGGER journal_entry_no_delete BEFORE DELETE ON journal_entry
    BEGIN SELECT RAISE(ABORT, 'immutable: posted entries are never deleted; post a reversal'); END""",
    """CREATE TRIGGER journal_line_no_update BEFORE UPDATE ON journal_line
    BEGIN SELECT RAISE(ABORT, 'immutable: posted lines are never updated; post a reversal'); END""",
    """CREATE TRIGGER journal_line_no_delete BEFORE DELETE ON journal_line
    BEGIN SELECT RAISE(ABORT, 'immutable: posted lines are never deleted; post a reversal'); END""",
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'immutable: the audit log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'immutable: the audit log is append-only'); END""",
    """CREATE TRIGGER period_event_no_change BEFORE UPDATE ON period_event
    BEGIN SELECT RAISE(ABORT, 'immutable: period events are append-only'); END""",
    """CREATE TRIGGER period_event_no_delete BEFORE DELETE ON period_event
    BEGIN SELECT RAISE(ABORT, 'immutable: period events are append-only'); END""",
]

POSTGRES_GUARDS = [
    # Entry ids are drawn before the lines are written (lines go in first), from this sequence.
    "CREATE SEQUENCE journal_entry_id_seq OWNED BY journal_entry.id",
    """CREATE FUNCTION cunshe_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'immutable: % rows are never %d; post a reversal', TG_TABLE_NAME, lower(TG_OP)
            USING ERRCODE = 'restrict_violation';
    END $$""",
    """CREATE FUNCTION cunshe_check_entry() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        d BIGINT; c BIGINT; n INTEGER; neg INTEGER; foreign_lines INTEGER;
    BEGIN
        SELECT COALESCE(SUM(debit_fen), 0), COALESCE(SUM(credit_fen), 0), COUNT(*),
               COUNT(*) FILTER (WHERE debit_fen < 0 OR credit_fen < 0),
               COUNT(*) FILTER (WHERE org_id <> NEW.org_id OR period <> NEW.period)
          INTO d, c, n, neg, foreign_lines
          FROM journal_line WHERE entry_id = NEW.id;
        IF d <> c THEN
            RAISE EXCEPTION 'unbalanced_entry: debits % and credits % differ', d, c USING ERRCODE = 'check_violation';
        END IF;
        IF n < 2 OR n <> NEW.line_count THEN
            RAISE EXCEPTION 'unbalanced_entry: an entry needs at least two lines' USING ERRCODE = 'check_violation';
        END IF;
        IF d <> NEW.total_fen THEN
            RAISE EXCEPTION 'unbalanced_entry: total does not match the lines' USING ERRCODE = 'check_violation';
        END IF;
        IF foreign_lines > 0 THEN
            RAISE EXCEPTION 'account_not_postable: a line belongs to another org or period'
                USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.reverses_id IS NULL AND neg > 0 THEN
            RAISE EXCEPTION 'unbalanced_entry: negative amounts only in a reversal' USING ERRCODE = 'check_violation';
        END IF;
        IF EXISTS (SELECT 1 FROM period WHERE org_id = NEW.org_id AND period = NEW.period AND status = 'closed') THEN
            RAISE EXCEPTION 'period_closed: the period % is closed', NEW.period USING ERRCODE = 'check_violation';
        END IF;
        IF to_char(NEW.entry_date, 'YYYY-MM') <> NEW.period THEN
            RAISE EXCEPTION 'invalid: entry date outside its period' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$""",
    """CREATE FUNCTION cunshe_check_line() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM journal_entry WHERE id = NEW.entry_id) THEN
            RAISE EXCEPTION 'immutable: lines cannot be added to a posted entry' USING ERRCODE = 'restrict_violation';
        END IF;
        IF EXISTS (SELECT 1 FROM account WHERE id = NEW.account_id AND is_closed)
           OR EXISTS (SELECT 1 FROM account WHERE parent_id = NEW.account_id) THEN
            RAISE EXCEPTION 'account_not_postable: closed or summary account' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$""",
    "CREATE TRIGGER journal_entry_check BEFORE INSERT ON journal_entry FOR EACH ROW EXECUTE FUNCTION cunshe_check_entry()",
    "CREATE TRIGGER journal_line_check BEFORE INSERT ON journal_line FOR EACH ROW EXECUTE FUNCTION cunshe_check_line()",
    *[
        f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION cunshe_refuse_change()"
        for table in ("journal_entry", "journal_line", "audit_log", "period_event")
    ],
    # TRUNCATE skips row triggers; refuse it for the books too.
    *[
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION cunshe_refuse_change()"
        for table in ("journal_entry", "journal_line", "audit_log", "period_event")
    ],
]


def _create_guards() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_GUARDS if dialect == "sqlite" else POSTGRES_GUARDS:
        op.execute(statement)


def _drop_guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_GUARDS:
            op.execute("DROP TRIGGER IF EXISTS " + statement.split()[2])
    else:
        for name in ("cunshe_refuse_change", "cunshe_check_entry", "cunshe_check_line"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}() CASCADE")


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "idempotency_record",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    op.create_table(
        "org",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("standard", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.Column("registered_capital_fen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('county', 'street', 'community', 'village', 'company')", name="ck_org_kind"
        ),
        sa.CheckConstraint(
            "standard IS NULL OR standard IN ('collective', 'small_enterprise')", name="ck_org_standard"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["org.id"],
        ),
        sa.ForeignKeyConstraint(
            ["street_id"],
            ["org.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("org", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_org_code"), ["code"], unique=True)
        batch_op.create_index(batch_op.f("ix_org_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_org_street_id"), ["street_id"], unique=False)

    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("account_class", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("normal_side", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("is_closed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("normal_side IN ('debit', 'credit')", name="ck_account_side"),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "code", name="uq_account_org_code"),
        sa.UniqueConstraint("org_id", "id", name="uq_account_org_id"),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "book_state",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.PrimaryKeyConstraint("org_id"),
    )
    op.create_table(
        "counterparty",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("ref_org_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('customer', 'supplier', 'lessee', 'shareholder', 'member', 'cashier', 'client', 'other')",
            name="ck_counterparty_kind",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ref_org_id"],
            ["org.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "id", name="uq_counterparty_org_id"),
        sa.UniqueConstraint("org_id", "kind", "name", name="uq_counterparty_org_kind_name"),
    )
    op.create_table(
        "store",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_org_id"), ["org_id"], unique=False)

    op.create_table(
        "voucher_counter",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("last_no", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.PrimaryKeyConstraint("org_id", "period"),
    )
    op.create_table(
        "account_balance",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("debit_fen", sa.BigInteger(), nullable=False),
        sa.Column("credit_fen", sa.BigInteger(), nullable=False),
        sa.Column("closing_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.PrimaryKeyConstraint("org_id", "period", "account_id"),
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("scope_org_id", sa.Integer(), nullable=True),
        sa.Column("scope_store_id", sa.Integer(), nullable=True),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'officer', 'community', 'cashier')", name="ck_user_role"),
        sa.ForeignKeyConstraint(
            ["scope_org_id"],
            ["org.id"],
        ),
        sa.ForeignKeyConstraint(
            ["scope_store_id"],
            ["store.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("remote_addr", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_org_at", ["org_id", "at"], unique=False)

    op.create_table(
        "journal_entry",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("voucher_no", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("memo", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source_ref", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("link_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("reverses_id", sa.BigInteger(), nullable=True),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.CheckConstraint(
            "source IN ('manual', 'pos', 'lease', 'brokerage', 'distribution', 'import', 'close', 'reversal')",
            name="ck_entry_source",
        ),
        sa.CheckConstraint("line_count >= 2", name="ck_entry_lines"),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["journal_entry.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "idempotency_key", name="uq_entry_org_idem"),
        sa.UniqueConstraint("org_id", "seq", name="uq_entry_org_seq"),
        sa.UniqueConstraint("org_id", "voucher_no", name="uq_entry_org_voucher"),
        sa.UniqueConstraint("reverses_id", name="uq_entry_reverses"),
    )
    with op.batch_alter_table("journal_entry", schema=None) as batch_op:
        batch_op.create_index("ix_entry_link", ["link_id"], unique=False)
        batch_op.create_index("ix_entry_org_period", ["org_id", "period"], unique=False)
        batch_op.create_index("ix_entry_source_ref", ["org_id", "source", "source_ref"], unique=False)

    op.create_table(
        "period",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_period_status"),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["user_account.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.PrimaryKeyConstraint("org_id", "period"),
    )
    op.create_table(
        "period_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["org.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("period_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_period_event_org_id"), ["org_id"], unique=False)

    op.create_table(
        "journal_line",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("debit_fen", sa.BigInteger(), nullable=False),
        sa.Column("credit_fen", sa.BigInteger(), nullable=False),
        sa.Column("memo", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("counterparty_id", sa.Integer(), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("welfare_post_id", sa.Integer(), nullable=True),
        sa.Column("product_category", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.CheckConstraint("(debit_fen = 0) <> (credit_fen = 0)", name="ck_line_one_side"),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["journal_entry.id"], name="fk_line_entry", initially="DEFERRED", deferrable=True
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "account_id"], ["account.org_id", "account.id"], name="fk_line_account"
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["store.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("journal_line", schema=None) as batch_op:
        batch_op.create_index("ix_line_counterparty", ["org_id", "counterparty_id"], unique=False)
        batch_op.create_index("ix_line_entry", ["entry_id"], unique=False)
        batch_op.create_index(
            "ix_line_tb", ["org_id", "period", "account_id", "debit_fen", "credit_fen"], unique=False
        )

    # ### end Alembic commands ###

    _create_guards()


def downgrade() -> None:
    _drop_guards()
    with op.batch_alter_table("journal_line", schema=None) as batch_op:
        batch_op.drop_index("ix_line_tb")
        batch_op.drop_index("ix_line_entry")
        batch_op.drop_index("ix_line_counterparty")

    op.drop_table("journal_line")
    with op.batch_alter_table("period_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_period_event_org_id"))

    op.drop_table("period_event")
    op.drop_table("period")
    with op.batch_alter_table("journal_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_source_ref")
        batch_op.drop_index("ix_entry_org_period")
        batch_op.drop_index("ix_entry_link")

    op.drop_table("journal_entry")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_org_at")

    op.drop_table("audit_log")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user_id"))

    op.drop_table("api_token")
    op.drop_table("user_account")
    op.drop_table("account_balance")
    op.drop_table("voucher_counter")
    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_org_id"))

    op.drop_table("store")
    op.drop_table("counterparty")
    op.drop_table("book_state")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_parent_id"))

    op.drop_table("account")
    with op.batch_alter_table("org", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_org_street_id"))
        batch_op.drop_index(batch_op.f("ix_org_parent_id"))
        batch_op.drop_index(batch_op.f("ix_org_code"))

    op.drop_table("org")
    op.drop_table("idempotency_record")
    # ### end Alembic commands ###
