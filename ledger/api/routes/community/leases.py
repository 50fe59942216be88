"""Lease contracts (承包 / 租赁): register, read, terminate, renew, amend; the accrual run (租金计提);
the rent roll; deposits received and refunded; rent received."""

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ledger.access.messages import Amount, Day, Id, MoneyOut
from ledger.access.service import Write
from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.fields import from_row, record_from
from ledger.api.periods import day_range_params
from ledger.api.routes.community.common import MoneyIn, Strict, community_router
from ledger.api.writes import Door, WriteDoor
from ledger.community import assets, services
from ledger.community.leases import contracts as leases
from ledger.community.leases import rentroll
from ledger.community.messages import AssetOut, ContractOut, EntryRef, TerminateOut, asset_out, contract_out
from ledger.community.models import CYCLES, TIMINGS
from ledger.community.services.leases import SpeltTerms
from ledger.db.engine import read_tx

router = community_router()


class TermsIn(Strict):
    start: date
    end: date
    rent_per_cycle: Amount = Field(description="tax-inclusive rent of one billing cycle")
    cycle: str = Field(default="monthly", description=" | ".join(CYCLES))
    timing: str = Field(default="advance", description=" | ".join(TIMINGS))
    free_months: int = 0
    escalation_bp: int = Field(default=0, description="rent increase per step in bp (500 = 5 %)")
    escalation_every_years: int = 0
    vat_rate_bp: int = Field(default=500, description="5 % simplified levy for property by default")

    def terms(self) -> SpeltTerms:
        """The terms as asked: the cycle and the timing are read by the service, after the scope check."""
        return record_from(SpeltTerms, self)


class ContractIn(TermsIn):
    code: str = Field(min_length=1, max_length=64, description="合同编号")
    mode: str = Field(default="lease", description="contract (承包) | lease (租赁) | equity (参股分红)")
    lessee_id: Id | None = None
    lessee: str | None = Field(default=None, max_length=200, description="the lessee's name, if new")
    asset_ids: list[int] = Field(default_factory=list, max_length=100)
    deposit: Amount = 0
    memo: str = Field(default="", max_length=500)


class SupersedeIn(Strict):
    """A renewal's or an amendment's terms: what is left out is as in the old contract (no free months)."""

    code: str = Field(min_length=1, max_length=64)
    start: date
    end: date
    rent_per_cycle: Amount = Field(description="tax-inclusive rent of one billing cycle")
    cycle: str | None = Field(default=None, description=" | ".join(CYCLES) + "; default: the old contract's")
    timing: str | None = Field(
        default=None, description=" | ".join(TIMINGS) + "; default: the old contract's"
    )
    free_months: int = 0
    escalation_bp: int | None = None
    escalation_every_years: int | None = None
    vat_rate_bp: int | None = None
    deposit: Amount | None = Field(default=None, description="default: the old contract's")
    memo: str = Field(default="", max_length=500)


@router.post("/orgs/{org_id}/leases", response_model=ContractOut, status_code=201)
def create_contract_route(org_id: int, body: ContractIn, door: Door) -> JSONResponse:
    """Register a lease contract; its rent is posted month by month by the accrual run."""
    write = services.add_contract(
        door.user,
        org_id,
        code=body.code,
        mode=body.mode,
        terms=body.terms(),
        lessee_id=body.lessee_id,
        lessee=body.lessee,
        asset_ids=body.asset_ids,
        deposit_fen=body.deposit,
        memo=body.memo,
    )
    return door.respond(write, body)


class AccrualOut(BaseModel):
    through: str
    orgs: int
    posted: int
    replayed: int
    amount: MoneyOut
    vouchers: int


@router.post("/orgs/{org_id}/leases/accrue", response_model=AccrualOut)
def accrue_route(
    org_id: int,
    door: Door,
    through: Annotated[str, Query(description="YYYY-MM: post every contract-month's rent through it")],
) -> JSONResponse:
    """The accrual run (租金计提) of an org or of every collective org of a street; safe to rerun."""
    return door.respond(services.accrue(door.user, org_id, through))


class RentRollRowOut(BaseModel):
    org_id: int
    org_code: str
    contract_id: int
    code: str
    mode: str
    lessee: str
    start: date
    end: date
    terminated_on: date | None
    monthly_rent: MoneyOut
    billed: MoneyOut
    received: MoneyOut
    outstanding: MoneyOut
    aging: dict[str, MoneyOut]


class RentRollOut(BaseModel):
    as_of: date
    contracts: list[RentRollRowOut]
    totals: dict[str, MoneyOut]
    aging: dict[str, MoneyOut]
    expiring: list[RentRollRowOut]
    idle_assets: list[AssetOut]


@router.get("/orgs/{org_id}/leases/rent-roll", response_model=RentRollOut)
def rent_roll_route(
    org_id: int,
    user: CurrentUser,
    engine: EngineDep,
    as_of: Day,
    horizon_days: Annotated[int, Query(ge=1, le=3660)] = 90,
) -> RentRollOut:
    """Rent roll and arrears aging of an org or a street as of a date; expiring contracts; idle assets."""
    with read_tx(engine) as conn:
        org_ids = leases.collective_orgs_for(conn, user, org_id)
        day_range_params(conn, org_id, as_of, None, from_field="as_of")
        rows = rentroll.rent_roll(conn, org_ids, as_of)
        idle = assets.list_assets(conn, org_ids, status="idle")
    return RentRollOut(
        as_of=as_of,
        contracts=[from_row(RentRollRowOut, r) for r in rows],
        totals=rentroll.roll_totals(rows),
        aging=rentroll.aging_totals(rows),
        expiring=[from_row(RentRollRowOut, r) for r in rentroll.expiring(rows, as_of, horizon_days)],
        idle_assets=[asset_out(a) for a in idle],
    )


@router.get("/orgs/{org_id}/leases", response_model=list[ContractOut])
def list_contracts_route(org_id: int, user: CurrentUser, engine: EngineDep) -> list[ContractOut]:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        return [contract_out(conn, org_id, cid) for cid in leases.contract_ids(conn, org_id)]


@router.get("/orgs/{org_id}/leases/{contract_id}", response_model=ContractOut)
def get_contract_route(org_id: int, contract_id: int, user: CurrentUser, engine: EngineDep) -> ContractOut:
    """A contract with its rent schedule (租金计划)."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        return contract_out(conn, org_id, contract_id, schedule=True)


class TerminateIn(Strict):
    last_day: date = Field(description="the last day charged")
    settle_on: date | None = Field(default=None, description="date of the deposit entries (default last_day)")
    apply_deposit: bool = True
    refund_rest: bool = False


@router.post("/orgs/{org_id}/leases/{contract_id}/terminate", response_model=TerminateOut)
def terminate_route(org_id: int, contract_id: int, body: TerminateIn, door: Door) -> JSONResponse:
    """Early termination: no charges after ``last_day``; the deposit pays the arrears, the rest refunded."""
    write = services.terminate(
        door.user,
        org_id,
        contract_id,
        last_day=body.last_day,
        settle_on=body.settle_on,
        apply_deposit=body.apply_deposit,
        refund_rest=body.refund_rest,
    )
    return door.respond(write, body)


def _supersede(relation: str) -> Callable[..., JSONResponse]:
    def route(org_id: int, contract_id: int, body: SupersedeIn, door: Door) -> JSONResponse:
        write = services.supersede(
            door.user,
            org_id,
            contract_id,
            relation=relation,
            code=body.code,
            start=body.start,
            end=body.end,
            rent_per_cycle_fen=body.rent_per_cycle,
            cycle=body.cycle,
            timing=body.timing,
            free_months=body.free_months,
            escalation_bp=body.escalation_bp,
            escalation_every_years=body.escalation_every_years,
            vat_rate_bp=body.vat_rate_bp,
            deposit_fen=body.deposit,
            memo=body.memo,
        )
        return door.respond(write, body)

    return route


router.post(
    "/orgs/{org_id}/leases/{contract_id}/amend",
    response_model=ContractOut,
    status_code=201,
    summary="Amend a contract from a date (a new contract linked to the old, which ends the day before)",
)(_supersede("amendment"))
router.post(
    "/orgs/{org_id}/leases/{contract_id}/renew",
    response_model=ContractOut,
    status_code=201,
    summary="Renew a contract (a new contract after the old one's end, linked to it)",
)(_supersede("renewal"))


class RefundIn(Strict):
    amount: Amount | None = Field(default=None, description="default: all that is held")
    date: date
    cash_account: str = "102"


def _deposit_move(
    move: Callable[..., Write[EntryRef]],
    org_id: int,
    contract_id: int,
    body: MoneyIn | RefundIn,
    door: WriteDoor,
) -> JSONResponse:
    """A contract's deposit received or refunded: the body's amount, day and cash account, under the
    request's key."""
    write = move(
        door.user,
        org_id,
        contract_id,
        amount_fen=body.amount,
        on=body.date,
        cash_account=body.cash_account,
        idempotency_key=door.key,
    )
    return door.respond(write, body)


@router.post("/orgs/{org_id}/leases/{contract_id}/deposit", response_model=EntryRef, status_code=201)
def deposit_route(org_id: int, contract_id: int, body: MoneyIn, door: Door) -> JSONResponse:
    """押金 received: Dr 102 / Cr 21101 [lessee, contract]."""
    return _deposit_move(services.receive_deposit, org_id, contract_id, body, door)


@router.post("/orgs/{org_id}/leases/{contract_id}/deposit/refund", response_model=EntryRef, status_code=201)
def refund_route(org_id: int, contract_id: int, body: RefundIn, door: Door) -> JSONResponse:
    return _deposit_move(services.refund_deposit, org_id, contract_id, body, door)


class AllocationIn(Strict):
    charge_id: Id
    amount: Amount


class ReceiptIn(Strict):
    lessee_id: Id | None = None
    lessee: str | None = Field(default=None, max_length=200)
    amount: Amount
    date: date
    cash_account: str = "102"
    allocations: list[AllocationIn] | None = Field(default=None, max_length=1000)
    credit_contract_id: Id | None = None
    memo: str = Field(default="", max_length=200)


class ReceiptOut(BaseModel):
    receipt_id: int
    entry_id: int
    voucher_no: str
    applied: MoneyOut
    credit: MoneyOut


@router.post("/orgs/{org_id}/lease-receipts", response_model=ReceiptOut, status_code=201)
def receipt_route(org_id: int, body: ReceiptIn, door: Door) -> JSONResponse:
    """Rent received: pays the oldest open charges (or the allocations given); the rest is a credit."""
    write = services.receive_rent(
        door.user,
        org_id,
        amount_fen=body.amount,
        received_on=body.date,
        lessee_id=body.lessee_id,
        lessee=body.lessee,
        cash_account=body.cash_account,
        allocations=[(a.charge_id, a.amount) for a in body.allocations]
        if body.allocations is not None
        else None,
        credit_contract_id=body.credit_contract_id,
        memo=body.memo,
        idempotency_key=door.key,
    )
    return door.respond(write, body)
