"""Orgs, their accounts, periods and trial balance."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from ledger.access import bookkeeping
from ledger.access.messages import Id, MoneyOut, RequestModel
from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.fields import from_row
from ledger.api.periods import month_range_params
from ledger.api.writes import Door
from ledger.books import orgs as org_service
from ledger.books import periods
from ledger.books.trial_balance import trial_balance
from ledger.db.engine import read_tx
from ledger.db.models import Account, Org, PeriodEvent

router = APIRouter(prefix="/api/v1", tags=["orgs"])
org_t = Org.__table__
account_t = Account.__table__
event_t = PeriodEvent.__table__


Strict = RequestModel  # unknown fields refused; dates in the books' years (ledger.access.messages)


class OrgOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    standard: str | None
    parent_id: int | None
    street_id: int | None


class OrgCreate(Strict):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: str
    parent_id: Id | None = None
    standard: str | None = None


class AccountOut(BaseModel):
    id: int
    code: str
    name: str
    account_class: str
    normal_side: str
    parent_code: str | None
    level: int
    is_closed: bool
    is_leaf: bool


class SubAccountCreate(Strict):
    parent_code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=100)
    code: str | None = None


class TrialBalanceRowOut(BaseModel):
    code: str
    name: str
    level: int
    parent_code: str | None
    is_leaf: bool
    opening: MoneyOut
    debit: MoneyOut
    credit: MoneyOut
    closing: MoneyOut
    side: str


class TrialBalanceOut(BaseModel):
    org_id: int
    from_period: str
    to_period: str
    rows: list[TrialBalanceRowOut]
    total_debit: MoneyOut
    total_credit: MoneyOut


class PeriodOut(BaseModel):
    org_id: int
    period: str
    status: str
    closed_through: str | None
    closed: list[str] = []  # the months a close request closed, oldest first


class ReopenIn(Strict):
    reason: str = Field(min_length=1, max_length=500)


class PeriodEventOut(BaseModel):
    period: str
    action: str
    reason: str
    user_id: int | None
    at: datetime


@router.get("/orgs", response_model=list[OrgOut])
def list_orgs(user: CurrentUser, engine: EngineDep, kind: str | None = None) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        stmt = select(org_t).order_by(org_t.c.id)
        visible = user.visible_orgs(conn)
        if visible is not None:
            stmt = stmt.where(org_t.c.id.in_(visible))
        if kind:
            stmt = stmt.where(org_t.c.kind == kind)
        return [bookkeeping.org_json(conn, r.id) for r in conn.execute(stmt)]


@router.post("/orgs", response_model=OrgOut, status_code=201)
def create_org(body: OrgCreate, door: Door) -> JSONResponse:
    """A new org below ``parent_id`` (an officer: below their street); a top-level org is the admin's."""
    write = bookkeeping.create_org(
        door.user,
        code=body.code,
        name=body.name,
        kind=body.kind,
        parent_id=body.parent_id,
        standard=body.standard,
    )
    return door.respond(write, body)


@router.get("/orgs/{org_id}", response_model=OrgOut)
def get_org(org_id: int, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return bookkeeping.org_json(conn, user.require_org(conn, org_id).id)


@router.get("/orgs/{org_id}/accounts", response_model=list[AccountOut])
def list_accounts(org_id: int, user: CurrentUser, engine: EngineDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        return bookkeeping.accounts_json(conn, org_id)


@router.post("/orgs/{org_id}/accounts", response_model=AccountOut, status_code=201)
def add_sub_account(org_id: int, body: SubAccountCreate, door: Door) -> JSONResponse:
    write = bookkeeping.add_account(
        door.user, org_id, parent_code=body.parent_code, name=body.name, code=body.code
    )
    return door.respond(write, body)


@router.post("/orgs/{org_id}/accounts/{code}/close", response_model=AccountOut)
def close_account(org_id: int, code: str, door: Door) -> JSONResponse:
    return door.respond(bookkeeping.close_account(door.user, org_id, code))


@router.get("/orgs/{org_id}/trial-balance", response_model=TrialBalanceOut)
def get_trial_balance(
    org_id: int,
    user: CurrentUser,
    engine: EngineDep,
    from_period: Annotated[str, Query(alias="from")],
    to_period: Annotated[str | None, Query(alias="to")] = None,
    leaves_only: bool = False,
) -> TrialBalanceOut:
    with read_tx(engine) as conn:
        org_service.require_books(user.require_org(conn, org_id))
        from_period, to_period = month_range_params(conn, org_id, from_period, to_period)
        rows = trial_balance(conn, org_id, from_period, to_period)
    out = [from_row(TrialBalanceRowOut, r) for r in rows if r.is_leaf or not leaves_only]
    top = [r for r in rows if r.level == 1]
    return TrialBalanceOut(
        org_id=org_id,
        from_period=from_period,
        to_period=to_period or from_period,
        rows=out,
        total_debit=sum(r.debit_fen for r in top),
        total_credit=sum(r.credit_fen for r in top),
    )


@router.get("/orgs/{org_id}/periods/{period}", response_model=PeriodOut)
def get_period(org_id: int, period: str, user: CurrentUser, engine: EngineDep) -> PeriodOut:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        periods.parse_period(period)
        return PeriodOut(
            org_id=org_id,
            period=period,
            status=periods.period_status(conn, org_id, period),
            closed_through=periods.closed_through(conn, org_id),
        )


@router.post("/orgs/{org_id}/periods/{period}/close", response_model=PeriodOut)
def close_period(
    org_id: int, period: str, door: Door, including: Annotated[list[str] | None, Query(max_length=240)] = None
) -> JSONResponse:
    """Close a month; ``?including=2026-01&including=2026-02`` (or ``2026-01,2026-02``) names the open months
    before it to close first. A month not begun yet is a 422; an open month not named, a 409 listing them."""
    named = [m.strip() for value in including or [] for m in value.split(",") if m.strip()]
    # The one close path (pages and CLI too): each month closed gets its signed checkpoint.
    return door.respond(bookkeeping.close_period(door.user, org_id, period, including=named))


@router.post("/orgs/{org_id}/periods/{period}/reopen", response_model=PeriodOut)
def reopen_period(org_id: int, period: str, body: ReopenIn, door: Door) -> JSONResponse:
    """反结账: the latest closed month reopens (admin only), with the reason recorded."""
    write = bookkeeping.reopen_period(door.user, org_id, period, reason=body.reason)
    return door.respond(write, body)


@router.get("/orgs/{org_id}/period-events", response_model=list[PeriodEventOut])
def list_period_events(org_id: int, user: CurrentUser, engine: EngineDep) -> list[PeriodEventOut]:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        rows = conn.execute(select(event_t).where(event_t.c.org_id == org_id).order_by(event_t.c.id)).all()
    return [
        PeriodEventOut(period=r.period, action=r.action, reason=r.reason, user_id=r.user_id, at=r.at)
        for r in rows
    ]
