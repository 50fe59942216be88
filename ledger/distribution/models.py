"""The registers of year-end distribution, as SQLModel tables.

Read this page to know the model; every table carries the org it belongs to.

* ``shareholding``: one shareholder org (a village or community) of a company, with its subscribed and
  paid-in capital (认缴 / 实缴) and the date paid. The company books paid-in capital at 3001 实收资本
  [shareholder]; the shareholder at 141 长期投资 [company]; ``cunshe verify`` ties both to this register.
  ``agreed_ratio_bp`` is an explicit share (basis points) used only when the company records an
  all-shareholder agreement (``ratio_agreement``) for the year; otherwise shares follow paid-in capital.
* ``ratio_agreement``: the 全体股东约定 that lets profit be shared other than by paid-in capital.
* ``member_share``: a collective's members (成员) and their shares (股份), for the members' step.
* ``distribution_plan``: an org's plan for a year, versioned (``version`` 1, 2, …), with its status
  (``draft`` → ``approved`` → ``executed`` → ``reversed``) and its approval: the body (成员大会 /
  成员代表大会 / 股东会), the resolution date and the document number.
* ``plan_step``: the ordered steps of a plan; each a rate (``rate_bp`` of the base) or a fixed
  ``amount_fen``.
* ``plan_execution``: what executing a plan posted: the link id and the journal entry ids (the company's
  and each shareholder's), and the amounts per step and per shareholder (``plan_execution_part``).
* ``dividend_payment``: dividends paid out of 2232 (company) into 102 (shareholder), linked.
* ``welfare_funding``: an earmark of some year (31102 / 31103) applied to a 公益性岗位 or to facilities.
* ``vat_threshold``: the small-scale taxpayer's quarterly VAT exemption threshold, dated data per org
  (default ¥300,000 a quarter when an org has none).

All money is integer fen (``*_fen``); rates are basis points (``*_bp``: 10 % = 1000).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, get_args

from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field

from ledger.db.models import TableModel

PLAN_STATUSES = ("draft", "approved", "executed", "reversed")
StepKind = Literal[
    "cover_losses",
    "statutory_reserve",
    "discretionary_reserve",
    "public_reserve",
    "welfare_post_earmark",
    "facility_earmark",
    "shareholders",
    "members",
]
STEP_KINDS: tuple[StepKind, ...] = get_args(StepKind)
ApprovingBody = Literal["成员大会", "成员代表大会", "股东会"]
APPROVING_BODIES: tuple[ApprovingBody, ...] = get_args(ApprovingBody)
FUNDING_KINDS = ("post", "facility")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Shareholding(TableModel, table=True):
    """A shareholder org's capital in a company: subscribed, paid in, when."""

    __tablename__ = "shareholding"
    __table_args__ = (
        UniqueConstraint("company_org_id", "shareholder_org_id", name="uq_shareholding"),
        CheckConstraint(
            "subscribed_fen > 0 AND paid_in_fen >= 0 AND paid_in_fen <= subscribed_fen",
            name="ck_shareholding_capital",
        ),
        CheckConstraint(
            "agreed_ratio_bp IS NULL OR agreed_ratio_bp BETWEEN 0 AND 10000", name="ck_shareholding_ratio"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_org_id: int = Field(foreign_key="org.id", index=True)
    shareholder_org_id: int = Field(foreign_key="org.id", index=True)
    counterparty_id: int = Field(foreign_key="counterparty.id")
    subscribed_fen: int = Field(sa_type=BigInteger)
    paid_in_fen: int = Field(default=0, sa_type=BigInteger)
    paid_on: date | None = None
    agreed_ratio_bp: int | None = None
    created_at: datetime


class CapitalPayment(TableModel, table=True):
    """Paid-in capital received by the company: Dr 1002 / Cr 3001 [shareholder]."""

    __tablename__ = "capital_payment"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="ck_capital_payment_amount"),)

    id: int | None = Field(default=None, primary_key=True)
    shareholding_id: int = Field(foreign_key="shareholding.id", index=True)
    paid_on: date
    amount_fen: int = Field(sa_type=BigInteger)
    entry_id: int = Field(sa_type=BigInteger, foreign_key="journal_entry.id")


class RatioAgreement(TableModel, table=True):
    """全体股东约定: the shareholders all agreed to share profit by ``agreed_ratio_bp`` from a date."""

    __tablename__ = "ratio_agreement"

    id: int | None = Field(default=None, primary_key=True)
    company_org_id: int = Field(foreign_key="org.id", index=True)
    effective_from: date
    document_no: str = Field(max_length=64)
    signed_on: date
    created_at: datetime


class MemberShare(TableModel, table=True):
    """A member (成员) of a collective and the shares (股份) that weigh the members' step."""

    __tablename__ = "member_share"
    __table_args__ = (
        UniqueConstraint("org_id", "member", name="uq_member_share"),
        CheckConstraint("shares >= 0", name="ck_member_shares"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    member: str = Field(max_length=64)
    shares: int
    counterparty_id: int = Field(foreign_key="counterparty.id")


class DistributionPlan(TableModel, table=True):
    """An org's profit distribution plan (收益分配方案 / 利润分配方案) for one year, one version."""

    __tablename__ = "distribution_plan"
    __table_args__ = (
        UniqueConstraint("org_id", "year", "version", name="uq_plan_version"),
        CheckConstraint(_in("status", PLAN_STATUSES), name="ck_plan_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    year: int
    version: int
    status: str = Field(default="draft", max_length=10)
    approving_body: str = Field(default="", max_length=16)
    resolution_date: date | None = None
    document_no: str = Field(default="", max_length=64)
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime


class PlanStep(TableModel, table=True):
    """One step of a plan, in order: a rate of the base or a fixed amount."""

    __tablename__ = "plan_step"
    __table_args__ = (
        UniqueConstraint("plan_id", "step_order", name="uq_plan_step_order"),
        CheckConstraint(_in("kind", STEP_KINDS), name="ck_plan_step_kind"),
        CheckConstraint(
            "(rate_bp IS NULL) <> (amount_fen IS NULL) OR kind = 'cover_losses'", name="ck_plan_step_value"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="distribution_plan.id", index=True)
    step_order: int
    kind: str = Field(max_length=24)
    rate_bp: int | None = None
    amount_fen: int | None = Field(default=None, sa_type=BigInteger)
    target: str = Field(default="", max_length=64)


class PlanExecution(TableModel, table=True):
    """The posting of a plan: one link across the company and its shareholders."""

    __tablename__ = "plan_execution"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="distribution_plan.id", unique=True)
    link_id: str = Field(max_length=36, index=True)
    entry_ids: str  # comma-separated journal entry ids, the org's own first
    distributable_fen: int = Field(sa_type=BigInteger)
    executed_on: date
    executed_at: datetime
    reversal_link_id: str | None = Field(default=None, max_length=36)
    reversed_at: datetime | None = None


class PlanExecutionPart(TableModel, table=True):
    """One amount of an executed plan: a step, or one shareholder's or member's share of a step."""

    __tablename__ = "plan_execution_part"
    __table_args__ = (Index("ix_plan_part_plan", "plan_id"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="distribution_plan.id")
    step_order: int
    kind: str = Field(max_length=24)
    amount_fen: int = Field(sa_type=BigInteger)
    recipient_org_id: int | None = Field(default=None, foreign_key="org.id")
    counterparty_id: int | None = Field(default=None, foreign_key="counterparty.id")
    entry_id: int | None = Field(default=None, sa_type=BigInteger, foreign_key="journal_entry.id")


class DividendPayment(TableModel, table=True):
    """Dividends paid: company Dr 2232 [shareholder] / Cr 1002, shareholder Dr 102 / Cr 112, linked."""

    __tablename__ = "dividend_payment"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="ck_dividend_payment_amount"),)

    id: int | None = Field(default=None, primary_key=True)
    company_org_id: int = Field(foreign_key="org.id", index=True)
    shareholder_org_id: int = Field(foreign_key="org.id")
    plan_id: int | None = Field(default=None, foreign_key="distribution_plan.id")
    paid_on: date
    amount_fen: int = Field(sa_type=BigInteger)
    link_id: str = Field(max_length=36)
    company_entry_id: int = Field(sa_type=BigInteger, foreign_key="journal_entry.id")
    shareholder_entry_id: int = Field(sa_type=BigInteger, foreign_key="journal_entry.id")


class WelfareFunding(TableModel, table=True):
    """An earmark of ``earmark_year`` applied to a 公益性岗位 (or to facilities), with its entry."""

    __tablename__ = "welfare_funding"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_welfare_funding_amount"),
        CheckConstraint(_in("kind", FUNDING_KINDS), name="ck_welfare_funding_kind"),
        CheckConstraint("(kind = 'post') = (post_id IS NOT NULL)", name="ck_welfare_funding_post"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    earmark_year: int
    kind: str = Field(max_length=8)
    post_id: int | None = Field(default=None, foreign_key="welfare_post.id")
    funded_year: int
    amount_fen: int = Field(sa_type=BigInteger)
    entry_id: int = Field(sa_type=BigInteger, foreign_key="journal_entry.id")
    created_at: datetime


class VatThreshold(TableModel, table=True):
    """The quarterly sales threshold under which a small-scale taxpayer's VAT is exempt, from a date."""

    __tablename__ = "vat_threshold"
    __table_args__ = (
        UniqueConstraint("org_id", "effective_from", name="uq_vat_threshold"),
        CheckConstraint("quarterly_threshold_fen >= 0", name="ck_vat_threshold_amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="org.id", index=True)
    effective_from: date
    quarterly_threshold_fen: int = Field(sa_type=BigInteger)
    rule: str = Field(default="", max_length=200)
