"""Brokerage (居间服务): record a deal and its fee, what clients still owe, a fee received."""

from datetime import date

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ledger.access.messages import Amount, MoneyOut
from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.fields import from_row, record_from
from ledger.api.routes.community.common import MoneyIn, Strict, community_router
from ledger.api.writes import Door
from ledger.community import brokerage, services
from ledger.community.leases import contracts as leases
from ledger.community.messages import DealOut, EntryRef
from ledger.db.engine import read_tx

router = community_router()


class DealIn(Strict):
    client: str = Field(min_length=1, max_length=200)
    other_party: str = Field(default="", max_length=200)
    kind: str = Field(
        description="house_lease (房屋租赁居间) | labour (劳务用工) | produce (农产品购销) | other"
    )
    deal_value: Amount = 0
    commission_rate_bp: int | None = None
    commission: Amount | None = None
    vat_rate_bp: int = brokerage.DEFAULT_VAT_BP
    earned_on: date
    paid_at_once: bool = False
    cash_account: str = "102"
    memo: str = Field(default="", max_length=500)


class OutstandingOut(BaseModel):
    deal_id: int
    org_id: int
    client: str
    kind: str
    earned_on: date
    commission: MoneyOut
    received: MoneyOut
    outstanding: MoneyOut


@router.post("/orgs/{org_id}/brokerage/deals", response_model=DealOut, status_code=201)
def deal_route(org_id: int, body: DealIn, door: Door) -> JSONResponse:
    """居间服务: record a deal and post its fee (Dr 112 [client] or 102 / Cr 50103, 214)."""
    deal = record_from(brokerage.Deal, body)
    write = services.record_deal(door.user, org_id, deal, idempotency_key=door.key)
    return door.respond(write, body)


@router.get("/orgs/{org_id}/brokerage/outstanding", response_model=list[OutstandingOut])
def outstanding_route(org_id: int, user: CurrentUser, engine: EngineDep) -> list[OutstandingOut]:
    with read_tx(engine) as conn:
        rows = brokerage.outstanding(conn, leases.collective_orgs_for(conn, user, org_id))
    return [from_row(OutstandingOut, r) for r in rows]


@router.post("/orgs/{org_id}/brokerage/deals/{deal_id}/receipts", response_model=EntryRef, status_code=201)
def deal_receipt_route(org_id: int, deal_id: int, body: MoneyIn, door: Door) -> JSONResponse:
    write = services.receive_fee(
        door.user,
        org_id,
        deal_id,
        amount_fen=body.amount,
        received_on=body.date,
        cash_account=body.cash_account,
        idempotency_key=door.key,
    )
    return door.respond(write, body)
