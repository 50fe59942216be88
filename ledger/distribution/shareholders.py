"""A company's shareholders (股东): subscribed and paid-in capital, and the ratios profit is shared by.

    capital paid in:  company Dr 1002 银行存款 / Cr 3001 实收资本 [shareholder]

The shareholder books its side (Dr 141 长期投资 [company] / Cr 102) with ``ledger.community.stakes``;
``cunshe verify`` ties both books to this register (``ledger.distribution.checks``). Profit is shared
pro rata to paid-in capital (Company Law 2023 art. 210), unless every shareholder agreed other ratios
(``ratio_agreement``), in which case each shareholding's ``agreed_ratio_bp`` is used; the ratios of an
agreement must be set for every shareholder and sum to 100 %. Shares are listed by shareholder org id:
that is the stated order in which largest-remainder ties go to the earlier shareholder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from ledger.books.errors import Conflict, NotFound, ValidationError
from ledger.books.orgs import counterparty, get_org, now
from ledger.books.posting import Draft, Line, post_entry
from ledger.db.rows import insert_id
from ledger.distribution.models import CapitalPayment, RatioAgreement, Shareholding

holding_t = Shareholding.__table__
payment_t = CapitalPayment.__table__
agreement_t = RatioAgreement.__table__

SHAREHOLDER_KINDS = ("village", "community")
CAPITAL = "3001"  # 实收资本
BANK = "1002"  # 银行存款


@dataclass(frozen=True)
class Share:
    """One shareholder's weight in a split: paid-in fen, or agreed basis points."""

    shareholding_id: int
    shareholder_org_id: int
    counterparty_id: int
    weight: int


def require_company(conn: Connection, org_id: int) -> Row[Any]:
    org = get_org(conn, org_id)
    if org.kind != "company":
        raise ValidationError(f"{org.name} is not a company", field="org")
    return org


def add_shareholder(
    conn: Connection,
    company_org_id: int,
    *,
    shareholder_org_id: int,
    subscribed_fen: int,
    agreed_ratio_bp: int | None = None,
) -> int:
    """Register a shareholder org with its subscribed capital (认缴); nothing is paid in yet."""
    require_company(conn, company_org_id)
    holder = get_org(conn, shareholder_org_id)
    if holder.kind not in SHAREHOLDER_KINDS:
        raise ValidationError(
            f"{holder.name} is a {holder.kind}; shareholders are villages and communities",
            field="shareholder_org_id",
        )
    if not isinstance(subscribed_fen, int) or subscribed_fen <= 0:
        raise ValidationError("the subscribed capital must be more than zero", field="subscribed")
    if agreed_ratio_bp is not None and not 0 <= agreed_ratio_bp <= 10_000:
        raise ValidationError("an agreed ratio is 0 to 10000 bp", field="agreed_ratio_bp")
    if conn.execute(
        select(holding_t.c.id).where(
            holding_t.c.company_org_id == company_org_id, holding_t.c.shareholder_org_id == shareholder_org_id
        )
    ).first():
        raise Conflict(f"{holder.name} is already a shareholder", field="shareholder_org_id")
    cp = counterparty(conn, company_org_id, "shareholder", holder.name, ref_org_id=shareholder_org_id)
    return insert_id(
        conn,
        holding_t,
        company_org_id=company_org_id,
        shareholder_org_id=shareholder_org_id,
        counterparty_id=cp,
        subscribed_fen=subscribed_fen,
        paid_in_fen=0,
        agreed_ratio_bp=agreed_ratio_bp,
        created_at=now(),
    )


def get_shareholding(conn: Connection, shareholding_id: int) -> Row[Any]:
    row = conn.execute(select(holding_t).where(holding_t.c.id == shareholding_id)).first()
    if row is None:
        raise NotFound(f"no shareholding {shareholding_id}", field="shareholding_id")
    return row


def pay_in_capital(
    conn: Connection,
    shareholding_id: int,
    *,
    amount_fen: int,
    paid_on: date,
    user_id: int | None = None,
    idempotency_key: str | None = None,
) -> int:
    """Book capital paid in (实缴): Dr 1002 / Cr 3001 [shareholder]. Returns the entry id."""
    row = get_shareholding(conn, shareholding_id)
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValidationError("the amount paid in must be more than zero", field="amount")
    if row.paid_in_fen + amount_fen > row.subscribed_fen:
        raise ValidationError(
            f"paid-in capital would exceed the subscribed {row.subscribed_fen} fen", field="amount"
        )
    holder = get_org(conn, row.shareholder_org_id)
    posted = post_entry(
        conn,
        Draft(
            org_id=row.company_org_id,
            entry_date=paid_on,
            memo=f"收到 {holder.name} 实缴出资",
            lines=[
                Line(BANK, debit_fen=amount_fen),
                Line(CAPITAL, credit_fen=amount_fen, counterparty_id=row.counterparty_id),
            ],
            source="capital",
            source_ref=f"capital:{shareholding_id}",
            idempotency_key=idempotency_key,
        ),
        user_id=user_id,
    )
    if posted.created:
        conn.execute(
            insert(payment_t).values(
                shareholding_id=shareholding_id, paid_on=paid_on, amount_fen=amount_fen, entry_id=posted.id
            )
        )
        conn.execute(
            update(holding_t)
            .where(holding_t.c.id == shareholding_id)
            .values(paid_in_fen=holding_t.c.paid_in_fen + amount_fen, paid_on=paid_on)
        )
    return posted.id


def set_agreed_ratio(conn: Connection, shareholding_id: int, agreed_ratio_bp: int | None) -> None:
    """The ratio a shareholder agreed to (basis points); it counts once an agreement is recorded."""
    get_shareholding(conn, shareholding_id)
    if agreed_ratio_bp is not None and not 0 <= agreed_ratio_bp <= 10_000:
        raise ValidationError("an agreed ratio is 0 to 10000 bp", field="agreed_ratio_bp")
    conn.execute(
        update(holding_t).where(holding_t.c.id == shareholding_id).values(agreed_ratio_bp=agreed_ratio_bp)
    )


def record_ratio_agreement(
    conn: Connection, company_org_id: int, *, effective_from: date, document_no: str, signed_on: date
) -> int:
    """Record the all-shareholder agreement to share profit by the agreed ratios, not paid-in capital."""
    require_company(conn, company_org_id)
    if not document_no.strip():
        raise ValidationError("the agreement needs its document number", field="document_no")
    rows = list_shareholdings(conn, company_org_id)
    if not rows:
        raise ValidationError("the company has no shareholders", field="org")
    missing = [r.shareholder_org_id for r in rows if r.agreed_ratio_bp is None]
    if missing:
        raise ValidationError(f"shareholder orgs {missing} have no agreed ratio", field="agreed_ratio_bp")
    total = sum(r.agreed_ratio_bp for r in rows)
    if total != 10_000:
        raise ValidationError(f"agreed ratios sum to {total} bp, not 10000", field="agreed_ratio_bp")
    return insert_id(
        conn,
        agreement_t,
        company_org_id=company_org_id,
        effective_from=effective_from,
        document_no=document_no.strip(),
        signed_on=signed_on,
        created_at=now(),
    )


def list_shareholdings(conn: Connection, company_org_id: int) -> list[Row[Any]]:
    return list(
        conn.execute(
            select(holding_t)
            .where(holding_t.c.company_org_id == company_org_id)
            .order_by(holding_t.c.shareholder_org_id)
        ).all()
    )


def agreement_in_force(conn: Connection, company_org_id: int, on: date) -> Row[Any] | None:
    return conn.execute(
        select(agreement_t)
        .where(agreement_t.c.company_org_id == company_org_id, agreement_t.c.effective_from <= on)
        .order_by(agreement_t.c.effective_from.desc(), agreement_t.c.id.desc())
        .limit(1)
    ).first()


def shares(conn: Connection, company_org_id: int, on: date) -> tuple[list[Share], str]:
    """The weights profit is shared by on ``on``, in shareholder-org-id order, and their basis."""
    rows = list_shareholdings(conn, company_org_id)
    agreement = agreement_in_force(conn, company_org_id, on)
    if agreement is not None:
        return (
            [Share(r.id, r.shareholder_org_id, r.counterparty_id, r.agreed_ratio_bp or 0) for r in rows],
            f"全体股东约定 {agreement.document_no}",
        )
    return (
        [Share(r.id, r.shareholder_org_id, r.counterparty_id, r.paid_in_fen) for r in rows],
        "实缴出资比例",
    )


def paid_in_total(conn: Connection, company_org_id: int) -> int:
    return int(
        conn.execute(
            select(func.coalesce(func.sum(holding_t.c.paid_in_fen), 0)).where(
                holding_t.c.company_org_id == company_org_id
            )
        ).scalar_one()
    )
