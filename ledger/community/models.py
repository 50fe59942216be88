"""The registers and sub-ledgers of a community's own business, as SQLModel tables.

Read this page to know the model; every table carries ``org_id`` and every query filters by it.

* ``community_asset`` (资产台账): what the community owns or holds in trust — kind, location, area, the
  ownership (``collective`` 集体自有, or ``state_entrusted`` 国有委托代管 with the entrusting body), book
  value, status (``idle`` / ``leased`` / ``own_use``) and the 确权 certificate number.
* ``lease_contract``: one 承包 / 租赁 / 参股分红 contract with a lessee (a counterparty of kind ``lessee``)
  and the money terms that ``ledger.community.leases.schedule`` turns into its rent schedule. An amendment or
  a renewal is a new contract pointing at the one before (``previous_id``, ``relation``); the old one is cut
  by ``terminated_on``. ``lease_contract_asset`` says which assets a contract covers.
* ``lease_charge``: the rent of one contract and month, written by the accrual run together with its
  journal entry (the org's summary voucher of the month: Dr 112 [lessee, contract] per contract / Cr 50102
  and 214 for the month). At most one live charge per contract and month. A 红字冲销 of the voucher marks
  its charges ``reversed_by_entry_id`` (the reversal's entry): a reversed charge stays as a record, counts
  for nothing (not billed, not open, its allocations released) and its month is charged again by the next
  run.
* ``lease_receipt`` is money received from a lessee (or a deposit applied to arrears); its Cr 112 lines are
  ``lease_receipt_part`` rows, one per contract. ``lease_allocation`` says which charges a receipt paid;
  what a part has not yet paid is the contract's credit (预收, prepaid rent), applied to later charges.
  So per contract: 112 balance = Σ charges − Σ receipt parts (checked by ``cunshe verify``). A reversed
  receipt (``reversed_by_entry_id``) credits nothing and pays nothing, as its entry and the reversal net
  to nothing on 112; a reversed deposit movement counts for nothing.
* ``lease_deposit``: 押金 received, applied to arrears, refunded (Dr/Cr 21101 [lessee, contract]).
* ``brokerage_deal`` / ``brokerage_receipt``: 居间服务 fees earned and collected.
* ``subsidy``: 补助收入 received, with its source (工作经费 from the county, …).
* ``equity_stake``: a stake (参股) in a company, booked at 141 长期投资 [company].
* ``welfare_post`` (公益性岗位) and ``welfare_stipend`` (one row per post and month, with its entry) and
  ``welfare_payment`` (stipends paid out of 212).

All money is integer fen (``*_fen``); rates are basis points (``*_bp``: 5 % = 500); areas are thousandths
of a square metre (``area_milli_m2``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field

from ledger.db.models import TableModel

ASSET_STATUSES = ("idle", "leased", "own_use")
OWNERSHIPS = ("collective", "state_entrusted")
LEASE_MODES = ("contract", "lease", "equity")
CYCLES = ("monthly", "quarterly", "half_yearly", "yearly")
TIMINGS = ("advance", "arrears")
RELATIONS = ("renewal", "amendment")
RECEIPT_SOURCES = ("cash", "deposit", "transfer")
DEPOSIT_KINDS = ("received", "applied", "refunded")
BROKERAGE_KINDS = ("house_lease", "labour", "produce", "other")
WELFARE_POSTS = ("保洁员", "护路员", "治安巡逻员", "社区服务专干")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CommunityAsset(TableModel, table=True):
    """资产台账: one asset of a community or village."""

    __tablename__ = "community_asset"
    __table_args__ = (
        CheckConstraint(_in("status", ASSET_STATUSES), name="ck_asset_status"),
        CheckConstraint(_in("ownership", OWNERSHIPS), name="ck_asset_ownership"),
        CheckConstraint("book_value_fen >= 0 AND area_milli_m2 >= 0", name="ck_asset_amounts"),
        CheckConstraint(
            "ownership <> 'state_entrusted' OR entrusting_body <> ''", name="ck_asset_entrusting_body"
        ),
        Index("ix_asset_org_status", "org_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    kind: str = Field(max_length=32)
    name: str
    location: str = ""
    area_milli_m2: int = Field(default=0, sa_type=BigInteger)
    ownership: str = Field(default="collective", max_length=16)
    entrusting_body: str = ""
    book_value_fen: int = Field(default=0, sa_type=BigInteger)
    status: str = Field(default="idle", max_length=8)
    certificate_no: str = ""
    documents: str = ""
    created_at: datetime


class LeaseContract(TableModel, table=True):
    """A 承包 / 租赁 / 参股分红 contract; its terms feed ``leases.schedule.rent_schedule``."""

    __tablename__ = "lease_contract"
    __table_args__ = (
        UniqueConstraint("org_id", "code", name="uq_lease_org_code"),
        CheckConstraint(_in("mode", LEASE_MODES), name="ck_lease_mode"),
        CheckConstraint(_in("cycle", CYCLES), name="ck_lease_cycle"),
        CheckConstraint(_in("timing", TIMINGS), name="ck_lease_timing"),
        CheckConstraint(f"relation IS NULL OR {_in('relation', RELATIONS)}", name="ck_lease_relation"),
        CheckConstraint("end_date >= start_date", name="ck_lease_dates"),
        CheckConstraint("rent_per_cycle_fen >= 0 AND deposit_fen >= 0", name="ck_lease_amounts"),
        CheckConstraint("escalation_bp BETWEEN 0 AND 10000", name="ck_lease_escalation"),
        Index("ix_lease_org_lessee", "org_id", "lessee_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    code: str = Field(max_length=64)
    mode: str = Field(max_length=8)
    lessee_id: int = Field(foreign_key="counterparty.id")
    start_date: date
    end_date: date
    rent_per_cycle_fen: int = Field(sa_type=BigInteger)
    cycle: str = Field(max_length=12)
    timing: str = Field(max_length=8)
    free_months: int = 0
    escalation_bp: int = 0
    escalation_every_years: int = 0
    vat_rate_bp: int = 500
    deposit_fen: int = Field(default=0, sa_type=BigInteger)
    terminated_on: date | None = None
    accrued_through: str | None = Field(default=None, max_length=7)
    """The accrual run has posted every month with rent through this one (a shortcut for reruns)."""
    previous_id: int | None = Field(default=None, foreign_key="lease_contract.id")
    relation: str | None = Field(default=None, max_length=10)
    memo: str = ""
    created_at: datetime


class LeaseContractAsset(TableModel, table=True):
    __tablename__ = "lease_contract_asset"

    contract_id: int = Field(foreign_key="lease_contract.id", primary_key=True)
    asset_id: int = Field(foreign_key="community_asset.id", primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)


class LeaseCharge(TableModel, table=True):
    """The rent of one contract-month, posted once (Dr 112 / Cr 50102, 214) unless its voucher is reversed."""

    __tablename__ = "lease_charge"
    __table_args__ = (
        Index(
            "uq_lease_charge_month",
            "contract_id",
            "period",
            unique=True,
            sqlite_where=text("reversed_by_entry_id IS NULL"),
            postgresql_where=text("reversed_by_entry_id IS NULL"),
        ),
        Index("ix_lease_charge_entry", "entry_id"),
        CheckConstraint("amount_fen > 0 AND net_fen + tax_fen = amount_fen", name="ck_lease_charge_amount"),
        Index("ix_lease_charge_org_lessee", "org_id", "lessee_id", "due_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    contract_id: int = Field(foreign_key="lease_contract.id")
    lessee_id: int = Field(foreign_key="counterparty.id")
    period: str = Field(max_length=7)
    amount_fen: int = Field(sa_type=BigInteger)
    net_fen: int = Field(sa_type=BigInteger)
    tax_fen: int = Field(sa_type=BigInteger)
    due_date: date
    entry_id: int = Field(sa_type=BigInteger, foreign_key="journal_entry.id")
    reversed_by_entry_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="journal_entry.id")
    """The 红字冲销 of ``entry_id``; the charge then counts for nothing and its month may be charged again."""


class LeaseReceipt(TableModel, table=True):
    """Money received from a lessee (``cash``), a deposit applied to its arrears (``deposit``), or credit
    moved from an old contract to the one that supersedes it (``transfer``: parts −x old, +x new)."""

    __tablename__ = "lease_receipt"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_lease_receipt_amount"),
        CheckConstraint(_in("source", RECEIPT_SOURCES), name="ck_lease_receipt_source"),
        Index("ix_lease_receipt_org_lessee", "org_id", "lessee_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    lessee_id: int = Field(foreign_key="counterparty.id")
    received_on: date
    amount_fen: int = Field(sa_type=BigInteger)
    source: str = Field(default="cash", max_length=8)
    cash_account: str = Field(max_length=32)
    memo: str = ""
    entry_id: int = Field(sa_type=BigInteger, foreign_key="journal_entry.id")
    created_at: datetime
    reversed_by_entry_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="journal_entry.id")
    """The 红字冲销 of ``entry_id``: the receipt then credits no contract and pays no charge."""


class LeaseReceiptPart(TableModel, table=True):
    """The part of a receipt credited to one contract's 112 (one Cr 112 line of the receipt's entry)."""

    __tablename__ = "lease_receipt_part"
    # Negative only in a credit transfer: the part taken off the old contract when a renewal or an
    # amendment carries the lessee's prepaid rent over to the new one.
    __table_args__ = (CheckConstraint("amount_fen <> 0", name="ck_lease_part_amount"),)

    receipt_id: int = Field(foreign_key="lease_receipt.id", primary_key=True)
    contract_id: int = Field(foreign_key="lease_contract.id", primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    amount_fen: int = Field(sa_type=BigInteger)


class LeaseAllocation(TableModel, table=True):
    """How much of a receipt paid one charge (same contract); a charge is open while not fully paid."""

    __tablename__ = "lease_allocation"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_lease_allocation_amount"),
        Index("ix_lease_allocation_charge", "charge_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    receipt_id: int = Field(foreign_key="lease_receipt.id")
    charge_id: int = Field(foreign_key="lease_charge.id")
    contract_id: int = Field(foreign_key="lease_contract.id")
    amount_fen: int = Field(sa_type=BigInteger)


class LeaseDeposit(TableModel, table=True):
    """押金 movements of a contract: received (+), applied to arrears (−), refunded (−)."""

    __tablename__ = "lease_deposit"
    __table_args__ = (
        CheckConstraint(_in("kind", DEPOSIT_KINDS), name="ck_lease_deposit_kind"),
        CheckConstraint("amount_fen > 0", name="ck_lease_deposit_amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    contract_id: int = Field(foreign_key="lease_contract.id", index=True)
    kind: str = Field(max_length=8)
    on_date: date
    amount_fen: int = Field(sa_type=BigInteger)
    entry_id: int = Field(sa_type=BigInteger, foreign_key="journal_entry.id")
    reversed_by_entry_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="journal_entry.id")
    """The 红字冲销 of ``entry_id``: the movement then counts for nothing."""


class BrokerageDeal(TableModel, table=True):
    """居间服务: a deal brokered for a client, and the commission it earned."""

    __tablename__ = "brokerage_deal"
    __table_args__ = (
        CheckConstraint(_in("kind", BROKERAGE_KINDS), name="ck_brokerage_kind"),
        CheckConstraint("commission_fen > 0 AND deal_value_fen >= 0", name="ck_brokerage_amounts"),
        Index("ix_brokerage_org_client", "org_id", "client_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    client_id: int = Field(foreign_key="counterparty.id")
    other_party: str = ""
    kind: str = Field(max_length=12)
    deal_value_fen: int = Field(default=0, sa_type=BigInteger)
    commission_rate_bp: int | None = None
    commission_fen: int = Field(sa_type=BigInteger)
    vat_rate_bp: int = 100
    earned_on: date
    paid_at_once: bool = False
    memo: str = ""
    entry_id: int = Field(sa_type=BigInteger, foreign_key="journal_entry.id")
    created_at: datetime


class BrokerageReceipt(TableModel, table=True):
    __tablename__ = "brokerage_receipt"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="ck_brokerage_receipt_amount"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    deal_id: int = Field(foreign_key="brokerage_deal.id", index=True)
    received_on: date
    amount_fen: int = Field(sa_type=BigInteger)
    entry_id: int = Field(sa_type=BigInteger, foreign_key="journal_entry.id")


class Subsidy(TableModel, table=True):
    """补助收入 received: Dr 102 / Cr 503, with where it came from."""

    __tablename__ = "subsidy"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="ck_subsidy_amount"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    source: str = Field(max_length=64)
    grantor: str = ""
    received_on: date
    amount_fen: int = Field(sa_type=BigInteger)
    entry_id: int = Field(sa_type=BigInteger, foreign_key="journal_entry.id")


class EquityStake(TableModel, table=True):
    """参股: paid-in capital in a company (141 长期投资 [company]) and the share it gives."""

    __tablename__ = "equity_stake"
    __table_args__ = (
        UniqueConstraint("org_id", "company_org_id", name="uq_stake_org_company"),
        CheckConstraint("paid_in_fen > 0 AND share_bp BETWEEN 0 AND 10000", name="ck_stake_amounts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id")
    company_org_id: int = Field(foreign_key="org.id")
    counterparty_id: int = Field(foreign_key="counterparty.id")
    paid_in_fen: int = Field(sa_type=BigInteger)
    share_bp: int
    acquired_on: date
    entry_id: int = Field(sa_type=BigInteger, foreign_key="journal_entry.id")


class WelfarePost(TableModel, table=True):
    """公益性岗位: a post, its holder and monthly stipend, from ``start_date`` to ``end_date``."""

    __tablename__ = "welfare_post"
    __table_args__ = (
        CheckConstraint("monthly_stipend_fen > 0", name="ck_welfare_stipend"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ck_welfare_dates"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    post: str = Field(max_length=32)
    holder: str
    monthly_stipend_fen: int = Field(sa_type=BigInteger)
    start_date: date
    end_date: date | None = None
    created_at: datetime


class WelfareStipend(TableModel, table=True):
    """The stipend of one post and month, posted once (Dr 51401 / Cr 212 [welfare_post])."""

    __tablename__ = "welfare_stipend"
    __table_args__ = (
        UniqueConstraint("post_id", "period", name="uq_welfare_stipend_month"),
        CheckConstraint("amount_fen > 0", name="ck_welfare_stipend_amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    post_id: int = Field(foreign_key="welfare_post.id")
    period: str = Field(max_length=7)
    amount_fen: int = Field(sa_type=BigInteger)
    entry_id: int = Field(sa_type=BigInteger, foreign_key="journal_entry.id")


class WelfarePayment(TableModel, table=True):
    """A stipend paid to the holder: Dr 212 [welfare_post] / Cr 102."""

    __tablename__ = "welfare_payment"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="ck_welfare_payment_amount"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    post_id: int = Field(foreign_key="welfare_post.id", index=True)
    paid_on: date
    amount_fen: int = Field(sa_type=BigInteger)
    entry_id: int = Field(sa_type=BigInteger, foreign_key="journal_entry.id")
