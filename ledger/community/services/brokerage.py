"""Brokerage (居间服务) as services: record a deal and post its fee; a client pays a fee earned on credit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from ledger.access.auth import Principal
from ledger.access.service import Write
from ledger.community import brokerage
from ledger.community.accounts import BANK
from ledger.community.brokerage import Deal
from ledger.community.messages import DealOut, EntryRef
from ledger.community.services.base import entry_ref, fields_of, on_collective, records_one


def record_deal(
    actor: Principal, org_id: int, deal: Deal, *, idempotency_key: str | None = None
) -> Write[DealOut]:
    """A deal and its fee: Dr 112 [client] (or 102 when paid at once) / Cr 50103, 214."""

    def run(conn: Connection) -> DealOut:
        deal_id = brokerage.record_deal(
            conn, org_id, deal, idempotency_key=idempotency_key, user_id=actor.recorded_id
        )
        return DealOut(deal_id=deal_id)

    asked = fields_of(deal)
    return on_collective(
        actor, org_id, "brokerage.deal", asked=asked, run=run, detail=lambda d: str(d.deal_id)
    )


def receive_fee(
    actor: Principal,
    org_id: int,
    deal_id: int,
    *,
    amount_fen: int,
    received_on: date,
    cash_account: str = BANK,
    idempotency_key: str | None = None,
) -> Write[EntryRef]:
    """A fee earned on credit paid: Dr 102 / Cr 112 [client]."""
    terms = {"amount_fen": amount_fen, "received_on": received_on, "cash_account": cash_account}
    post = brokerage.receive_fee
    return records_one(
        actor,
        org_id,
        "brokerage.receipt",
        post,
        deal_id,
        terms=terms,
        key=idempotency_key,
        detail=str(deal_id),
        answer=entry_ref,
    )
