"""The tables of the ledger core, as SQLModel classes.

Read this page to know the model:

* ``org`` is a node of the tree county → street → community / village / company. Orgs with a
  ``standard`` keep books (账套): a chart of ``account`` rows loaded from the statutory chart, extended with
  sub-accounts (parent code + two digits). ``store`` rows hang under a company; they are a dimension of the
  company's books, not books of their own.
* ``journal_entry`` (记账凭证) and ``journal_line`` (分录) are the books. Entries are written once and never
  changed: the database refuses UPDATE and DELETE on both tables. Lines are inserted *before* their entry
  (the line → entry foreign key is deferred to commit) and the entry's insert trigger checks, inside the
  database, that its lines balance, are at least two, belong to the entry's org and period, and that the
  period is open. A line cannot be added to an entry that already exists. So no code path, ORM or raw SQL,
  can leave an unbalanced or half-written entry behind.
* ``book_state`` holds each org's hash-chain head and entry sequence; posting locks that row, which
  serialises an org's postings (the chain needs an order) without serialising different orgs.
* ``voucher_counter`` numbers vouchers gaplessly per org and month (记-2025-03-0007); it is updated in the
  posting transaction, so a rollback gives the number back.
* ``account_turnover`` sums the lines per org, month and account as they are posted.
* ``period`` rows exist for periods that were closed at least once; no row means open.
  ``account_balance`` stores each account's turnover and closing balance when a period closes, so a trial
  balance reads one snapshot plus the months after it, not the whole history.
* ``user_account`` / ``api_token``: roles and scopes of DESIGN §9; tokens and passwords are stored hashed.
* ``audit_log``: who did what, when and from where; append-only like the journal.
* ``web_login_failure`` / ``web_session_revoked``: the web workbench's login throttle and logout deny list
  (``ledger.web.security``, ``ledger.web.session``), in the database so every worker process and every
  restart sees the same record; rows older than their window or expiry are pruned as new ones arrive.

All money columns are integer fen (``*_fen``, BIGINT).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    Table,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

ORG_KINDS = ("county", "street", "community", "village", "company")
STANDARDS = ("collective", "small_enterprise")
ENTRY_SOURCES = (
    "manual",
    "pos",
    "lease",
    "brokerage",
    "distribution",
    "import",
    "close",
    "reversal",
    "welfare",
    "capital",
    "stake",
)
CHANNELS = ("counter", "agency", "school", "enterprise", "village", "community", "resettlement")
COUNTERPARTY_KINDS = ("customer", "supplier", "lessee", "shareholder", "member", "cashier", "client", "other")
ROLES = ("admin", "officer", "community", "cashier")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _when_set(column: str) -> dict[str, Any]:
    """A partial index's keywords: only the rows where ``column`` is not NULL, on both databases."""
    return {f"{dialect}_where": text(f"{column} IS NOT NULL") for dialect in ("sqlite", "postgresql")}


# BIGINT everywhere, but INTEGER on SQLite, where only "INTEGER PRIMARY KEY" is the fast rowid alias.
BigId = BigInteger().with_variant(Integer, "sqlite")


class TableModel(SQLModel):
    """The base of every table: ``Model.__table__`` is the SQLAlchemy ``Table`` the queries are built on
    (declared here so the type checker knows it; SQLModel sets it)."""

    __table__: ClassVar[Table]


class Org(TableModel, table=True):
    __tablename__ = "org"
    __table_args__ = (
        CheckConstraint(_in("kind", ORG_KINDS), name="ck_org_kind"),
        CheckConstraint(f"standard IS NULL OR {_in('standard', STANDARDS)}", name="ck_org_standard"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=64)
    name: str
    kind: str
    standard: str | None = None
    parent_id: int | None = Field(default=None, foreign_key="org.id", index=True)
    street_id: int | None = Field(default=None, foreign_key="org.id", index=True)
    registered_capital_fen: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime


class Store(TableModel, table=True):
    __tablename__ = "store"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    code: str = Field(unique=True, max_length=64)
    name: str
    created_at: datetime


class Account(TableModel, table=True):
    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("org_id", "code", name="uq_account_org_code"),
        UniqueConstraint("org_id", "id", name="uq_account_org_id"),
        CheckConstraint("normal_side IN ('debit', 'credit')", name="ck_account_side"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    code: str = Field(max_length=32)
    name: str
    account_class: str = Field(max_length=16)
    normal_side: str = Field(max_length=6)
    parent_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    level: int = 1
    is_closed: bool = False
    created_at: datetime


class Counterparty(TableModel, table=True):
    """A customer, supplier, lessee, shareholder, member or cashier of one org (辅助核算: 往来单位)."""

    __tablename__ = "counterparty"
    __table_args__ = (
        UniqueConstraint("org_id", "kind", "name", name="uq_counterparty_org_kind_name"),
        UniqueConstraint("org_id", "id", name="uq_counterparty_org_id"),
        CheckConstraint(_in("kind", COUNTERPARTY_KINDS), name="ck_counterparty_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    kind: str = Field(max_length=16)
    name: str
    ref_org_id: int | None = Field(default=None, foreign_key="org.id")
    created_at: datetime


class BookState(TableModel, table=True):
    __tablename__ = "book_state"

    org_id: int = Field(foreign_key="org.id", primary_key=True)
    last_seq: int = Field(default=0, sa_type=BigInteger)
    head_hash: str = Field(default="0" * 64, max_length=64)


class VoucherCounter(TableModel, table=True):
    __tablename__ = "voucher_counter"

    org_id: int = Field(foreign_key="org.id", primary_key=True)
    period: str = Field(primary_key=True, max_length=7)
    last_no: int = 0


class JournalEntry(TableModel, table=True):
    __tablename__ = "journal_entry"
    __table_args__ = (
        UniqueConstraint("org_id", "seq", name="uq_entry_org_seq"),
        UniqueConstraint("org_id", "voucher_no", name="uq_entry_org_voucher"),
        UniqueConstraint("org_id", "idempotency_key", name="uq_entry_org_idem"),
        UniqueConstraint("reverses_id", name="uq_entry_reverses"),
        CheckConstraint(_in("source", ENTRY_SOURCES), name="ck_entry_source"),
        CheckConstraint("line_count >= 2", name="ck_entry_lines"),
        Index("ix_entry_org_period", "org_id", "period"),
        Index("ix_entry_link", "link_id", **_when_set("link_id")),  # only entries with a link (0013_core)
        Index("ix_entry_source_ref", "org_id", "source", "source_ref"),
        Index("ix_entry_org_date_seq", "org_id", "entry_date", "seq"),  # the journal's order (0007_core)
        Index("ix_entry_org_total", "org_id", "total_fen"),  # vouchers by amount (0007_core)
    )

    id: int = Field(sa_column=Column(BigId, primary_key=True, autoincrement=False))
    org_id: int = Field(foreign_key="org.id")
    seq: int = Field(sa_type=BigInteger)
    entry_date: date
    period: str = Field(max_length=7)
    voucher_no: str = Field(max_length=32)
    memo: str = ""
    source: str = Field(max_length=16)
    source_ref: str | None = Field(default=None, max_length=128)
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime
    idempotency_key: str | None = Field(default=None, max_length=128)
    request_hash: str | None = Field(default=None, max_length=64)
    link_id: str | None = Field(default=None, max_length=36)
    reverses_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="journal_entry.id")
    total_fen: int = Field(sa_type=BigInteger)
    line_count: int
    attachments: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # 附单据数 (0009_core)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class JournalLine(TableModel, table=True):
    __tablename__ = "journal_line"
    __table_args__ = (
        # Lines are written before their entry; the entry must exist by commit time.
        ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entry.id"],
            name="fk_line_entry",
            deferrable=True,
            initially="DEFERRED",
        ),
        ForeignKeyConstraint(
            ["org_id", "account_id"], ["account.org_id", "account.id"], name="fk_line_account"
        ),
        CheckConstraint("(debit_fen = 0) <> (credit_fen = 0)", name="ck_line_one_side"),
        Index("ix_line_entry", "entry_id"),
        # Covering index for the period window (GROUP BY account over one org's months reads only the index)
        # and for an account's lines with their entries, the months named one by one (0014_core).
        Index("ix_line_tb", "org_id", "period", "account_id", "entry_id", "debit_fen", "credit_fen"),
        # only the lines that name a counterparty (0013_core)
        Index("ix_line_counterparty", "org_id", "counterparty_id", **_when_set("counterparty_id")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    entry_id: int = Field(sa_type=BigInteger)
    org_id: int
    period: str = Field(max_length=7)
    line_no: int
    account_id: int
    debit_fen: int = Field(default=0, sa_type=BigInteger)
    credit_fen: int = Field(default=0, sa_type=BigInteger)
    memo: str = ""
    counterparty_id: int | None = None
    store_id: int | None = Field(default=None, foreign_key="store.id")
    channel: str | None = Field(default=None, max_length=16)
    contract_id: int | None = None
    welfare_post_id: int | None = None
    product_category: str | None = Field(default=None, max_length=64)


class Period(TableModel, table=True):
    __tablename__ = "period"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="ck_period_status"),)

    org_id: int = Field(foreign_key="org.id", primary_key=True)
    period: str = Field(primary_key=True, max_length=7)
    status: str = Field(max_length=8)
    changed_at: datetime
    changed_by: int | None = Field(default=None, foreign_key="user_account.id")


class PeriodEvent(TableModel, table=True):
    """Every close and reopen of a period, with who and why (reopening is an audited admin act)."""

    __tablename__ = "period_event"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    period: str = Field(max_length=7)
    action: str = Field(max_length=8)
    reason: str = ""
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    at: datetime


class _MonthTurnover(TableModel):
    """The columns of one org's month of one account: the key and the debit and credit turnover."""

    org_id: int = Field(foreign_key="org.id", primary_key=True)
    period: str = Field(primary_key=True, max_length=7)
    account_id: int = Field(foreign_key="account.id", primary_key=True)
    debit_fen: int = Field(default=0, sa_type=BigInteger)
    credit_fen: int = Field(default=0, sa_type=BigInteger)


class AccountBalance(_MonthTurnover, table=True):
    """Per account and closed period: turnover and the cumulative closing balance (debit positive)."""

    __tablename__ = "account_balance"

    closing_fen: int = Field(default=0, sa_type=BigInteger)


class AccountTurnover(_MonthTurnover, table=True):
    """Per org, month and account: the debit and credit turnover of every line posted. Written in the same
    transaction as the lines, so a trial balance reads months × accounts, not the history; ``cunshe verify``
    recomputes it from the lines."""

    __tablename__ = "account_turnover"


class UserAccount(TableModel, table=True):
    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="ck_user_role"),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    role: str = Field(max_length=16)
    scope_org_id: int | None = Field(default=None, foreign_key="org.id")
    scope_store_id: int | None = Field(default=None, foreign_key="store.id")
    password_hash: str | None = None
    display_name: str = ""
    disabled: bool = False
    created_at: datetime
    # Web sessions that logged in before this instant (epoch seconds) are over: set on disable.
    sessions_valid_from: float | None = None


class ApiToken(TableModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    label: str = ""
    created_at: datetime
    revoked_at: datetime | None = None


class AuditLog(TableModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_org_at", "org_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    org_id: int | None = Field(default=None, foreign_key="org.id")
    action: str = Field(max_length=64)
    detail: str = ""
    remote_addr: str | None = Field(default=None, max_length=64)


class IdempotencyRecord(TableModel, table=True):
    """The stored answer to an idempotent write other than a journal entry (scope, key) → response."""

    __tablename__ = "idempotency_record"

    scope: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=128)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: str
    created_at: datetime


class WebLoginFailure(TableModel, table=True):
    """One failed web login for a username (case-folded) from an address, at ``failed_at`` (epoch seconds)."""

    __tablename__ = "web_login_failure"
    __table_args__ = (
        Index("ix_web_login_failure_who", "username", "addr", "failed_at"),
        Index("ix_web_login_failure_at", "failed_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True))
    username: str
    addr: str
    failed_at: float


class WebSessionRevoked(TableModel, table=True):
    """A logged-out web session id, refused until ``expires_at`` (epoch seconds), when its cookie expires."""

    __tablename__ = "web_session_revoked"

    sid: str = Field(primary_key=True, max_length=64)
    expires_at: float = Field(index=True)


class PeriodCheckpoint(TableModel, table=True):
    """A month close, signed (``ledger.books.checkpoints``): the org's chain head and the month's trial
    balance digest as they stood, signed with an Ed25519 key kept outside the database. Append-only: a
    month reopened and closed again gets a new checkpoint; the old one stays as evidence."""

    __tablename__ = "period_checkpoint"
    __table_args__ = (Index("ix_period_checkpoint_org_period", "org_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    period: str = Field(max_length=7)
    code: str = Field(unique=True, max_length=16)
    payload: str
    signature: str = Field(max_length=128)
    key_id: str = Field(max_length=32)
    public_key: str = Field(max_length=64)
    created_at: datetime
