"""Subsidies received (补助收入) and their yearly totals by source; stakes in companies (参股)."""

from datetime import date
from typing import Annotated

from fastapi import Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ledger.access.messages import Amount, Id, MoneyOut
from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.fields import from_row
from ledger.api.periods import year_param
from ledger.api.routes.community.common import MoneyIn, Strict, community_router
from ledger.api.writes import Door
from ledger.community import services, stakes, subsidies
from ledger.community.leases import contracts as leases
from ledger.community.messages import StakeOut, SubsidyOut
from ledger.db.engine import read_tx

router = community_router()


class SubsidyIn(MoneyIn):
    source: str = Field(min_length=1, max_length=64, description="工作经费 …")
    grantor: str = Field(default="", max_length=200)


class SubsidyTotalOut(BaseModel):
    org_id: int
    source: str
    amount: MoneyOut


@router.post("/orgs/{org_id}/subsidies", response_model=SubsidyOut, status_code=201)
def subsidy_route(org_id: int, body: SubsidyIn, door: Door) -> JSONResponse:
    """补助收入 received: Dr 102 / Cr 503, with its source."""
    write = services.receive_subsidy(
        door.user,
        org_id,
        source=body.source,
        grantor=body.grantor,
        amount_fen=body.amount,
        received_on=body.date,
        cash_account=body.cash_account,
        idempotency_key=door.key,
    )
    return door.respond(write, body)


@router.get("/orgs/{org_id}/subsidies", response_model=list[SubsidyTotalOut])
def subsidy_totals_route(
    org_id: int, user: CurrentUser, engine: EngineDep, year: Annotated[int, Query(ge=1990, le=2999)]
) -> list[SubsidyTotalOut]:
    with read_tx(engine) as conn:
        org_ids = leases.collective_orgs_for(conn, user, org_id)
        rows = subsidies.totals_by_source(conn, org_ids, year_param(conn, org_id, year))
    return [from_row(SubsidyTotalOut, r) for r in rows]


class StakeIn(Strict):
    company_org_id: Id
    paid_in: Amount
    share_bp: int = Field(description="share of the company in bp (2500 = 25 %)")
    date: date
    funded_from: str = "102"


@router.post("/orgs/{org_id}/stakes", response_model=StakeOut, status_code=201)
def stake_route(org_id: int, body: StakeIn, door: Door) -> JSONResponse:
    """参股: Dr 141 长期投资 [company] / Cr 102."""
    write = services.record_stake(
        door.user,
        org_id,
        company_org_id=body.company_org_id,
        paid_in_fen=body.paid_in,
        share_bp=body.share_bp,
        acquired_on=body.date,
        funded_from=body.funded_from,
        idempotency_key=door.key,
    )
    return door.respond(write, body)


class StakeRowOut(BaseModel):
    stake_id: int
    company_org_id: int
    company: str
    paid_in: MoneyOut
    share_bp: int
    acquired_on: date


@router.get("/orgs/{org_id}/stakes", response_model=list[StakeRowOut])
def list_stakes_route(org_id: int, user: CurrentUser, engine: EngineDep) -> list[StakeRowOut]:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        rows = stakes.list_stakes(conn, org_id)
    return [from_row(StakeRowOut, r, stake_id=r["id"]) for r in rows]
