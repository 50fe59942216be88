"""居间服务 (brokerage): deals a community brokers for a client, the commission, and its collection.

    fee earned, on credit:  Dr 112 应收款 [client] / Cr 50103 居间服务收入, Cr 214 应交税费
    fee earned, paid at once: Dr 102 / Cr 50103, Cr 214
    fee collected later:    Dr 102 / Cr 112 [client]

The commission is a rate of the deal value (basis points, rounded half up to the fen) or a fixed amount;
it is tax-inclusive, split by ``ledger.books.money.split_tax_inclusive`` at the deal's VAT rate (default 1 %,
the small-scale rate for services, DESIGN §5a — confirm with the local tax office).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from ledger.books.errors import NotFound, ValidationError
from ledger.books.money import round_half_up, split_tax_inclusive
from ledger.books.orgs import counterparty, now
from ledger.books.posting import Draft, Line
from ledger.community import accounts as acct
from ledger.community.idempotency import earlier_record, post_recorded
from ledger.community.leases.contracts import lock_books, require_collective
from ledger.community.models import BROKERAGE_KINDS, BrokerageDeal, BrokerageReceipt
from ledger.db.models import Counterparty

deal_t = BrokerageDeal.__table__
receipt_t = BrokerageReceipt.__table__
cp_t = Counterparty.__table__

DEFAULT_VAT_BP = 100


def commission(deal_value_fen: int, *, rate_bp: int | None, fixed_fen: int | None) -> int:
    """The commission: exactly one of a rate of the deal value or a fixed amount."""
    if (rate_bp is None) == (fixed_fen is None):
        raise ValidationError(
            "give one of a commission rate or a fixed commission", field="commission_rate_bp"
        )
    if rate_bp is not None:
        if not 0 < rate_bp <= 10_000:
            raise ValidationError("the commission rate is between 1 and 10000 bp", field="commission_rate_bp")
        fee = round_half_up(deal_value_fen * rate_bp, 10_000)
    else:
        fee = fixed_fen or 0
    if fee <= 0:
        raise ValidationError("the commission must be more than zero", field="commission")
    return fee


@dataclass(frozen=True, kw_only=True)
class Deal:
    """A brokered deal as it is recorded: the commission is a rate of ``deal_value_fen`` or a fixed fee."""

    client: str
    kind: str
    earned_on: date
    deal_value_fen: int = 0
    commission_rate_bp: int | None = None
    commission_fen: int | None = None
    vat_rate_bp: int = DEFAULT_VAT_BP
    other_party: str = ""
    paid_at_once: bool = False
    cash_account: str = acct.BANK
    memo: str = ""


def record_deal(
    conn: Connection,
    org_id: int,
    deal: Deal,
    *,
    idempotency_key: str | None = None,
    user_id: int | None = None,
) -> int:
    """Record a deal and post its fee; returns the deal id (the original one on an idempotent retry)."""
    require_collective(conn, org_id)
    if not deal.client.strip():
        raise ValidationError("name the client (委托方)", field="client")
    if deal.kind not in BROKERAGE_KINDS:
        raise ValidationError(f"kind is one of {', '.join(BROKERAGE_KINDS)}", field="kind")
    if deal.deal_value_fen < 0:
        raise ValidationError("the deal value must not be negative", field="deal_value")
    if not 0 <= deal.vat_rate_bp <= 10_000:
        raise ValidationError("the VAT rate is between 0 and 10000 bp", field="vat_rate_bp")
    if deal.cash_account not in acct.CASH_ACCOUNTS:
        raise ValidationError(
            f"fees are received into {' or '.join(acct.CASH_ACCOUNTS)}", field="cash_account"
        )
    fee = commission(deal.deal_value_fen, rate_bp=deal.commission_rate_bp, fixed_fen=deal.commission_fen)
    net, tax = split_tax_inclusive(fee, deal.vat_rate_bp)
    acct.ensure(conn, org_id, acct.BROKERAGE_INCOME)
    client_id = counterparty(conn, org_id, "client", deal.client.strip())
    debit = (
        Line(deal.cash_account, debit_fen=fee)
        if deal.paid_at_once
        else Line(acct.RECEIVABLE, debit_fen=fee, counterparty_id=client_id)
    )
    lines = [debit, Line(acct.BROKERAGE_INCOME, credit_fen=net, counterparty_id=client_id)]
    if tax:
        lines.append(Line(acct.TAX_PAYABLE, credit_fen=tax))
    draft = Draft(
        org_id=org_id,
        entry_date=deal.earned_on,
        memo=deal.memo or f"居间服务费 {deal.client.strip()}",
        lines=lines,
        source="brokerage",
        source_ref=f"deal:{client_id}",
        idempotency_key=idempotency_key,
    )
    row = {
        "org_id": org_id,
        "client_id": client_id,
        "other_party": deal.other_party,
        "kind": deal.kind,
        "deal_value_fen": deal.deal_value_fen,
        "commission_rate_bp": deal.commission_rate_bp,
        "commission_fen": fee,
        "vat_rate_bp": deal.vat_rate_bp,
        "earned_on": deal.earned_on,
        "paid_at_once": deal.paid_at_once,
        "memo": deal.memo,
        "created_at": now(),
    }
    return post_recorded(conn, draft, deal_t, row, user_id=user_id).row_id


def outstanding(conn: Connection, org_ids: Sequence[int], as_of: date | None = None) -> list[dict[str, Any]]:
    """Deals on credit with fee still to collect: deal, client, commission, received, outstanding.

    With ``as_of``, as of that day: deals earned and fees received on or before it (a printed statement
    of a past month keeps its figures when later fees come in).
    """
    received_cond: list[ColumnElement[bool]] = [receipt_t.c.org_id.in_(list(org_ids))]
    deal_cond: list[ColumnElement[bool]] = [
        deal_t.c.org_id.in_(list(org_ids)),
        deal_t.c.paid_at_once.is_(False),
    ]
    if as_of is not None:
        received_cond.append(receipt_t.c.received_on <= as_of)
        deal_cond.append(deal_t.c.earned_on <= as_of)
    received = (
        select(receipt_t.c.deal_id, func.sum(receipt_t.c.amount_fen).label("received"))
        .where(*received_cond)
        .group_by(receipt_t.c.deal_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            deal_t.c.id,
            deal_t.c.org_id,
            deal_t.c.kind,
            deal_t.c.earned_on,
            deal_t.c.commission_fen,
            cp_t.c.name.label("client"),
            func.coalesce(received.c.received, 0).label("received"),
        )
        .join(cp_t, cp_t.c.id == deal_t.c.client_id)
        .outerjoin(received, received.c.deal_id == deal_t.c.id)
        .where(*deal_cond)
        .order_by(deal_t.c.org_id, deal_t.c.earned_on, deal_t.c.id)
    ).all()
    return [
        {
            "deal_id": r.id,
            "org_id": r.org_id,
            "client": r.client,
            "kind": r.kind,
            "earned_on": r.earned_on,
            "commission_fen": r.commission_fen,
            "received_fen": int(r.received),
            "outstanding_fen": r.commission_fen - int(r.received),
        }
        for r in rows
        if r.commission_fen > int(r.received)
    ]


def receive_fee(
    conn: Connection,
    org_id: int,
    deal_id: int,
    *,
    amount_fen: int,
    received_on: date,
    cash_account: str = acct.BANK,
    idempotency_key: str | None = None,
    user_id: int | None = None,
) -> int:
    """A client pays a fee earned on credit: Dr 102 / Cr 112 [client]. Returns the entry id."""
    lock_books(conn, [org_id])  # what is outstanding is read before posting
    deal = conn.execute(select(deal_t).where(deal_t.c.org_id == org_id, deal_t.c.id == deal_id)).first()
    if deal is None:
        raise NotFound(f"no brokerage deal {deal_id} in this org", field="deal_id")
    if deal.paid_at_once:
        raise ValidationError("this deal's fee was paid when it was earned", field="deal_id")
    expect = {"deal_id": deal_id, "amount_fen": amount_fen, "received_on": received_on}
    done = earlier_record(conn, org_id, idempotency_key, receipt_t, expect)
    if done is not None:  # a retry: what is outstanding now already counts the first attempt
        return int(done.entry_id)
    owed = next((r["outstanding_fen"] for r in outstanding(conn, [org_id]) if r["deal_id"] == deal_id), 0)
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValidationError("the amount must be more than zero", field="amount")
    if amount_fen > owed:
        raise ValidationError(f"only {owed} fen of this fee is outstanding", field="amount")
    if cash_account not in acct.CASH_ACCOUNTS:
        raise ValidationError(
            f"fees are received into {' or '.join(acct.CASH_ACCOUNTS)}", field="cash_account"
        )
    draft = Draft(
        org_id=org_id,
        entry_date=received_on,
        memo="收居间服务费",
        lines=[
            Line(cash_account, debit_fen=amount_fen),
            Line(acct.RECEIVABLE, credit_fen=amount_fen, counterparty_id=deal.client_id),
        ],
        source="brokerage",
        source_ref=f"deal-receipt:{deal_id}",
        idempotency_key=idempotency_key,
    )
    row = {"org_id": org_id, "deal_id": deal_id, "received_on": received_on, "amount_fen": amount_fen}
    return post_recorded(conn, draft, receipt_t, row, user_id=user_id).entry_id
