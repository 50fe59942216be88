"""The tables of reconciliation (对账), as SQLModel classes.

Read this page to know the model:

* ``statement_account``: a bank account or a WeChat Pay / Alipay merchant account of one org, tied to the
  ledger account its money is booked on (``102`` / ``1002`` for a bank, ``101201`` for WeChat …).
* ``statement_import``: one file imported into a statement account: who, when, the file's name and
  SHA-256, its format (``source``), how many lines it had and how many were new.
* ``statement_line``: one line of a statement, as ``ledger.reconcile.importers.StatementLine`` parsed it,
  keyed so that re-importing an overlapping file adds only the new lines (``key`` is unique per statement
  account). Statement lines are what the bank said: the database refuses UPDATE and DELETE.
* ``statement_import_void``: an import undone (wrong file, wrong account) before any of its lines was
  matched: its lines stay, as what the file said, but stop counting anywhere (``store.live_lines``), and
  the same file may be imported again.
* ``statement_refusal``: the whole list of problems of a file the import refused (0303), so the API can
  answer with the first 20 and a link to all of them as CSV. It is a note about the refusal, not the books:
  nothing of the file was imported, and notes older than a week are removed when the next one is kept.
* ``reconcile_match`` + ``reconcile_match_item``: a match between statement lines and journal lines
  (分录). A match is ``proposed`` by the matcher, then ``confirmed`` or ``rejected`` by an officer. Confirmed
  and rejected matches are records: never updated, never deleted. Confirming or rejecting a proposal
  writes a new record whose ``supersedes_id`` is the proposal; undoing a confirmed match later writes a
  ``rejected`` record that supersedes it. So the history of every decision stays, and the *current* state
  of a match is the record nothing supersedes (``supersedes_id`` is unique: one successor per record).
  Only open proposals (not superseded, status ``proposed``) may be deleted, when the matcher runs again.
  Items say which statement lines and which journal lines a match joins, with their signed amounts
  (+ money in); ``role`` is ``statement``, ``book`` (a line on the statement account's ledger account) or
  ``settled`` (a clearing-account line that a fee-netted settlement clears, e.g. the day's WeChat sales
  on 101201).
* A ``proposed`` one-to-one match keeps its pair on its own row (``statement_line_id``,
  ``journal_line_id``, ``pair_amount_fen``: the amount of both sides) and has no item rows: 10⁵ proposals
  are written in half the time. Its items read the same (``matching.match_items``: a ``statement`` item
  and a ``book`` item); deciding it writes a record with ordinary item rows.

Table names are ``reconcile_match*`` rather than ``match``: MATCH is an SQL keyword.
All money columns are integer fen (``*_fen``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Index, Integer, UniqueConstraint
from sqlmodel import Field

from ledger.db.models import TableModel

STATEMENT_ACCOUNT_KINDS = ("bank", "wechat", "alipay")
#: Which statement formats an account of each kind takes.
SOURCES_BY_KIND = {
    "bank": ("bank",),
    "wechat": ("wechat_trade", "wechat_fund"),
    "alipay": ("alipay_detail", "alipay_account"),
}
MATCH_STATUSES = ("proposed", "confirmed", "rejected")
MATCH_KINDS = ("one_to_one", "one_to_many", "many_to_one", "settlement", "rule", "manual")
ITEM_ROLES = ("statement", "book", "settled")

BigId = BigInteger().with_variant(Integer, "sqlite")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class StatementAccount(TableModel, table=True):
    __tablename__ = "statement_account"
    __table_args__ = (
        UniqueConstraint("org_id", "name", name="uq_statement_account_name"),
        UniqueConstraint("org_id", "id", name="uq_statement_account_org_id"),
        CheckConstraint(_in("kind", STATEMENT_ACCOUNT_KINDS), name="ck_statement_account_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    ledger_account: str = Field(max_length=32)
    kind: str = Field(max_length=8)
    name: str
    account_no: str = Field(default="", max_length=64)
    created_at: datetime


class StatementImport(TableModel, table=True):
    __tablename__ = "statement_import"
    __table_args__ = (Index("ix_statement_import_account", "org_id", "statement_account_id"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    statement_account_id: int = Field(foreign_key="statement_account.id")
    file_name: str
    sha256: str = Field(max_length=64)
    source: str = Field(max_length=16)
    encoding: str = Field(max_length=16)
    line_count: int
    new_count: int
    imported_by: int | None = Field(default=None, foreign_key="user_account.id")
    imported_at: datetime
    # The account number the file printed, and why it went into an account of another number (0302).
    file_account_no: str = Field(default="", max_length=64)
    account_override: str = ""
    # 1: lines keyed by every field (before 0302); 2: by the source's serial where there is one.
    key_scheme: int = 2


class StatementImportVoid(TableModel, table=True):
    """An import undone (0302): its lines stop counting and the file may be imported again."""

    __tablename__ = "statement_import_void"
    __table_args__ = (
        UniqueConstraint("import_id", name="uq_statement_import_void_import"),
        Index("ix_statement_import_void_account", "org_id", "statement_account_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    statement_account_id: int = Field(foreign_key="statement_account.id")
    import_id: int = Field(foreign_key="statement_import.id")
    reason: str
    voided_by: int | None = Field(default=None, foreign_key="user_account.id")
    voided_at: datetime


class StatementRefusal(TableModel, table=True):
    """A refused statement file's problems, all of them, for the download the refusal links to (0303)."""

    __tablename__ = "statement_refusal"
    __table_args__ = (Index("ix_statement_refusal_created", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(max_length=32, unique=True)
    org_id: int = Field(foreign_key="org.id")
    statement_account_id: int = Field(foreign_key="statement_account.id")
    file_name: str = Field(max_length=255)
    problem_count: int
    problems_csv: str
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime


class StatementLineRow(TableModel, table=True):
    __tablename__ = "statement_line"
    __table_args__ = (
        UniqueConstraint("statement_account_id", "key", name="uq_statement_line_key"),
        Index("ix_statement_line_account_at", "org_id", "statement_account_id", "occurred_at"),
        Index("ix_statement_line_import", "import_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    org_id: int = Field(foreign_key="org.id")
    statement_account_id: int = Field(foreign_key="statement_account.id")
    import_id: int = Field(foreign_key="statement_import.id")
    key: str = Field(max_length=64)
    source: str = Field(max_length=16)
    line_no: int
    # Naive Beijing local time, as the statement printed it.
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=False), nullable=False))
    amount_fen: int = Field(sa_type=BigInteger)
    fee_fen: int = Field(default=0, sa_type=BigInteger)
    balance_fen: int | None = Field(default=None, sa_type=BigInteger)
    reference: str = ""
    merchant_ref: str = ""
    counterparty: str = ""
    counterparty_account: str = ""
    memo: str = ""
    kind: str = Field(max_length=16)
    voucher_fen: int = Field(default=0, sa_type=BigInteger)  # WeChat's 代金券 (0302)


class ReconcileMatch(TableModel, table=True):
    __tablename__ = "reconcile_match"
    __table_args__ = (
        UniqueConstraint("supersedes_id", name="uq_reconcile_match_supersedes"),
        CheckConstraint(_in("status", MATCH_STATUSES), name="ck_reconcile_match_status"),
        CheckConstraint(_in("kind", MATCH_KINDS), name="ck_reconcile_match_kind"),
        Index("ix_reconcile_match_account", "org_id", "statement_account_id", "status"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    org_id: int = Field(foreign_key="org.id")
    statement_account_id: int = Field(foreign_key="statement_account.id")
    status: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    score: int = 0
    conflict: bool = False
    reasons: str = "[]"  # JSON list of {"code", "text", "points"}
    fee_fen: int = Field(default=0, sa_type=BigInteger)
    note: str = ""
    entry_id: int | None = Field(default=None, sa_type=BigInteger)  # posted on confirmation, if any
    supersedes_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="reconcile_match.id")
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime
    # A proposed one-to-one pair, on the row instead of two item rows (migration 0301_reconcile).
    statement_line_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="statement_line.id")
    journal_line_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="journal_line.id")
    pair_amount_fen: int | None = Field(default=None, sa_type=BigInteger)


class ReconcileMatchItem(TableModel, table=True):
    __tablename__ = "reconcile_match_item"
    __table_args__ = (
        CheckConstraint(
            "(statement_line_id IS NULL) <> (journal_line_id IS NULL)", name="ck_reconcile_item_one_side"
        ),
        CheckConstraint(_in("role", ITEM_ROLES), name="ck_reconcile_item_role"),
        Index("ix_reconcile_item_match", "match_id"),
        Index("ix_reconcile_item_statement_line", "statement_line_id"),
        Index("ix_reconcile_item_journal_line", "journal_line_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    match_id: int = Field(sa_type=BigInteger, foreign_key="reconcile_match.id")
    org_id: int = Field(foreign_key="org.id")
    role: str = Field(max_length=16)
    statement_line_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="statement_line.id")
    journal_line_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="journal_line.id")
    amount_fen: int = Field(sa_type=BigInteger)
