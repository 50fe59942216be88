"""HTTP routes of a community's own business: assets, leases, receipts, rent roll, welfare posts,
brokerage, subsidies, stakes. Thin shells over the service modules; every route checks scope with
``Principal.require_org`` (an officer reaches the orgs of their street, a community user reads its own)
and raises only ``LedgerError`` subclasses. Every write goes through the one write path
(``ledger.api.writes.write_org``: scope → ``Idempotency-Key`` → write → audit, in one transaction).

Where a route takes a street (or the county) instead of a community, it covers every collective org below
it that the caller may see: the accrual run, the stipend run, the rent roll, the idle-asset list.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine

from ledger.access.auth import Principal
from ledger.access.messages import Amount, Day, Id, MoneyOut, Quantity, QuantityOut, RequestModel
from ledger.api.deps import CurrentUser, EngineDep, IdempotencyKey
from ledger.api.periods import day_range_params, year_param
from ledger.api.writes import respond, write_org
from ledger.books.errors import ValidationError
from ledger.books.periods import parse_period
from ledger.community import assets, brokerage, services, stakes, subsidies, welfare
from ledger.community.leases import contracts as leases
from ledger.community.leases import receipts, rentroll
from ledger.community.leases.schedule import BillingCycle, BillingTiming, LeaseTerms, rent_schedule
from ledger.community.models import CYCLES, TIMINGS
from ledger.db.engine import read_tx

router = APIRouter(prefix="/api/v1", tags=["community"])
E = TypeVar("E", bound=Enum)


Strict = RequestModel  # unknown fields refused; dates in the books' years (ledger.access.messages)


def _collective(user: Principal, org_id: int) -> Callable[[Connection], None]:
    """The scope of a write to one community's business: the user may change the org, a collective one."""

    def scope(conn: Connection) -> None:
        user.require_org(conn, org_id, write=True)
        leases.require_collective(conn, org_id)

    return scope


def _write(
    engine: Engine, user: Principal, request: Request, key: str | None, org_id: int, action: str, **kw: Any
) -> JSONResponse:
    """A write to one community's or village's books: the caller may change that collective org."""
    return write_org(
        engine, user, request, key, org_id=org_id, action=action, scope=_collective(user, org_id), **kw
    )


def _covered(user: Principal, org_id: int) -> Callable[[Connection], list[int]]:
    """The scope of a run over an org or a street: every collective org below it the user may change."""
    return lambda conn: leases.collective_orgs_for(conn, user, org_id, write=True)


# -- assets -----------------------------------------------------------------------------------------------


class AssetIn(Strict):
    kind: str = Field(min_length=1, max_length=32, description="房屋, 土地, 门面, 厂房 …")
    name: str = Field(min_length=1, max_length=200)
    location: str = Field(default="", max_length=200)
    area: Quantity | None = Field(default=None, description="m², up to 3 decimals")
    ownership: str = Field(
        default="collective", description="collective (集体自有) | state_entrusted (国有委托代管)"
    )
    entrusting_body: str = Field(default="", max_length=200)
    book_value: Amount = 0
    status: str = "idle"
    certificate_no: str = Field(default="", max_length=128, description="确权 certificate number")
    documents: str = Field(default="", max_length=2000)


class AssetOut(BaseModel):
    id: int
    org_id: int
    org_code: str
    kind: str
    name: str
    location: str
    area: QuantityOut
    ownership: str
    entrusting_body: str
    book_value: MoneyOut
    status: str
    certificate_no: str
    documents: str


class StatusIn(Strict):
    status: str


def _asset_out(a: dict[str, Any]) -> AssetOut:
    return AssetOut(
        id=a["id"],
        org_id=a["org_id"],
        org_code=a["org_code"],
        kind=a["kind"],
        name=a["name"],
        location=a["location"],
        area=a["area_milli_m2"],
        ownership=a["ownership"],
        entrusting_body=a["entrusting_body"],
        book_value=a["book_value_fen"],
        status=a["status"],
        certificate_no=a["certificate_no"],
        documents=a["documents"],
    )


@router.post("/orgs/{org_id}/assets", response_model=AssetOut, status_code=201)
def create_asset_route(
    org_id: int, body: AssetIn, user: CurrentUser, engine: EngineDep, request: Request, key: IdempotencyKey
) -> JSONResponse:
    """Add an asset to the register (资产台账)."""

    def work(conn):  # type: ignore[no-untyped-def]
        asset_id = assets.create_asset(
            conn,
            org_id,
            kind=body.kind,
            name=body.name,
            location=body.location,
            area_milli_m2=body.area or 0,
            ownership=body.ownership,
            entrusting_body=body.entrusting_body,
            book_value_fen=body.book_value,
            status=body.status,
            certificate_no=body.certificate_no,
            documents=body.documents,
        )
        return next(a for a in assets.list_assets(conn, [org_id]) if a["id"] == asset_id)

    return _write(
        engine,
        user,
        request,
        key,
        org_id,
        "asset.create",
        body=body,
        run=work,
        answer=_asset_out,
        detail=body.name,
    )


@router.get("/orgs/{org_id}/assets", response_model=list[AssetOut])
def list_assets_route(
    org_id: int, user: CurrentUser, engine: EngineDep, status: str | None = None
) -> list[AssetOut]:
    """The register of an org, or of every collective org of a street; ``status=idle`` lists idle assets."""
    with read_tx(engine) as conn:
        org_ids = leases.collective_orgs_for(conn, user, org_id)
        return [_asset_out(a) for a in assets.list_assets(conn, org_ids, status=status)]


@router.patch("/orgs/{org_id}/assets/{asset_id}", response_model=AssetOut)
def set_asset_status_route(
    org_id: int,
    asset_id: int,
    body: StatusIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    def work(conn):  # type: ignore[no-untyped-def]
        assets.set_status(conn, org_id, asset_id, body.status)
        return next(a for a in assets.list_assets(conn, [org_id]) if a["id"] == asset_id)

    return _write(
        engine,
        user,
        request,
        key,
        org_id,
        "asset.status",
        body=body,
        run=work,
        answer=_asset_out,
        detail=f"{asset_id}:{body.status}",
        status=200,
    )


# -- lease contracts --------------------------------------------------------------------------------------


def _member(value: str, name: str, enum: type[E]) -> E:
    """``value`` as a member of ``enum``, or a 422 naming the field."""
    if value not in {m.value for m in enum}:
        raise ValidationError(f"{name} is one of {', '.join(m.value for m in enum)}", field=name)
    return enum(value)


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

    def terms(self) -> LeaseTerms:
        return LeaseTerms(
            start=self.start,
            end=self.end,
            rent_per_cycle_fen=self.rent_per_cycle,
            cycle=_member(self.cycle, "cycle", BillingCycle),
            timing=_member(self.timing, "timing", BillingTiming),
            free_months=self.free_months,
            escalation_bp=self.escalation_bp,
            escalation_every_years=self.escalation_every_years,
            vat_rate_bp=self.vat_rate_bp,
        )


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

    def terms(self, conn, org_id: int, contract_id: int) -> LeaseTerms:  # type: ignore[no-untyped-def]
        return leases.successor_terms(
            conn,
            org_id,
            contract_id,
            start=self.start,
            end=self.end,
            rent_per_cycle_fen=self.rent_per_cycle,
            cycle=None if self.cycle is None else _member(self.cycle, "cycle", BillingCycle),
            timing=None if self.timing is None else _member(self.timing, "timing", BillingTiming),
            free_months=self.free_months,
            escalation_bp=self.escalation_bp,
            escalation_every_years=self.escalation_every_years,
            vat_rate_bp=self.vat_rate_bp,
        )


class ScheduleLineOut(BaseModel):
    period: str
    days: int
    amount: MoneyOut
    net: MoneyOut
    tax: MoneyOut
    due_date: date
    free: bool


class ContractOut(BaseModel):
    id: int
    org_id: int
    code: str
    mode: str
    lessee_id: int
    start: date
    end: date
    rent_per_cycle: MoneyOut
    cycle: str
    timing: str
    free_months: int
    escalation_bp: int
    escalation_every_years: int
    vat_rate_bp: int
    deposit: MoneyOut
    terminated_on: date | None
    previous_id: int | None
    relation: str | None
    asset_ids: list[int]
    schedule: list[ScheduleLineOut] | None = None


def _contract_out(conn, org_id: int, contract_id: int, *, schedule: bool = False) -> ContractOut:  # type: ignore[no-untyped-def]
    c = leases.get_contract(conn, org_id, contract_id)
    return ContractOut(
        id=c.id,
        org_id=c.org_id,
        code=c.code,
        mode=c.mode,
        lessee_id=c.lessee_id,
        start=c.start_date,
        end=c.end_date,
        rent_per_cycle=c.rent_per_cycle_fen,
        cycle=c.cycle,
        timing=c.timing,
        free_months=c.free_months,
        escalation_bp=c.escalation_bp,
        escalation_every_years=c.escalation_every_years,
        vat_rate_bp=c.vat_rate_bp,
        deposit=c.deposit_fen,
        terminated_on=c.terminated_on,
        previous_id=c.previous_id,
        relation=c.relation,
        asset_ids=leases.contract_asset_ids(conn, c.id),
        schedule=[
            ScheduleLineOut(
                period=ln.period,
                days=ln.days,
                amount=ln.amount_fen,
                net=ln.net_fen,
                tax=ln.tax_fen,
                due_date=ln.due_date,
                free=ln.free,
            )
            for ln in rent_schedule(leases.terms_of(c))
        ]
        if schedule
        else None,
    )


@router.post("/orgs/{org_id}/leases", response_model=ContractOut, status_code=201)
def create_contract_route(
    org_id: int, body: ContractIn, user: CurrentUser, engine: EngineDep, request: Request, key: IdempotencyKey
) -> JSONResponse:
    """Register a lease contract; its rent is posted month by month by the accrual run."""

    def work(conn):  # type: ignore[no-untyped-def]
        cid = leases.create_contract(
            conn,
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
        return _contract_out(conn, org_id, cid, schedule=True)

    return _write(
        engine, user, request, key, org_id, "lease.create", body=body, run=work, detail=body.code, status=201
    )


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
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
    through: Annotated[str, Query(description="YYYY-MM: post every contract-month's rent through it")],
) -> JSONResponse:
    """The accrual run (租金计提) of an org or of every collective org of a street; safe to rerun."""
    return respond(engine, user, request, key, services.accrue(user, org_id, through))


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


def _row_out(r: rentroll.RentRollRow) -> RentRollRowOut:
    return RentRollRowOut(
        org_id=r.org_id,
        org_code=r.org_code,
        contract_id=r.contract_id,
        code=r.code,
        mode=r.mode,
        lessee=r.lessee,
        start=r.start,
        end=r.end,
        terminated_on=r.terminated_on,
        monthly_rent=r.monthly_rent_fen,
        billed=r.billed_fen,
        received=r.received_fen,
        outstanding=r.outstanding_fen,
        aging=r.aging,
    )


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
        contracts=[_row_out(r) for r in rows],
        totals=rentroll.roll_totals(rows),
        aging=rentroll.aging_totals(rows),
        expiring=[_row_out(r) for r in rentroll.expiring(rows, as_of, horizon_days)],
        idle_assets=[_asset_out(a) for a in idle],
    )


@router.get("/orgs/{org_id}/leases", response_model=list[ContractOut])
def list_contracts_route(org_id: int, user: CurrentUser, engine: EngineDep) -> list[ContractOut]:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        return [_contract_out(conn, org_id, cid) for cid in leases.contract_ids(conn, org_id)]


@router.get("/orgs/{org_id}/leases/{contract_id}", response_model=ContractOut)
def get_contract_route(org_id: int, contract_id: int, user: CurrentUser, engine: EngineDep) -> ContractOut:
    """A contract with its rent schedule (租金计划)."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        return _contract_out(conn, org_id, contract_id, schedule=True)


class TerminateIn(Strict):
    last_day: date = Field(description="the last day charged")
    settle_on: date | None = Field(default=None, description="date of the deposit entries (default last_day)")
    apply_deposit: bool = True
    refund_rest: bool = False


class TerminateOut(BaseModel):
    contract: ContractOut
    deposit_applied: MoneyOut
    deposit_refunded: MoneyOut
    deposit_left: MoneyOut


@router.post("/orgs/{org_id}/leases/{contract_id}/terminate", response_model=TerminateOut)
def terminate_route(
    org_id: int,
    contract_id: int,
    body: TerminateIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    """Early termination: no charges after ``last_day``; the deposit pays the arrears, the rest refunded."""

    def work(conn):  # type: ignore[no-untyped-def]
        on = body.settle_on or body.last_day
        if body.apply_deposit:
            done = receipts.terminate_and_settle(
                conn,
                org_id,
                contract_id,
                last_day=body.last_day,
                on=on,
                refund_rest=body.refund_rest,
                user_id=user.user_id,
            )
        else:
            leases.terminate_contract(conn, org_id, contract_id, last_day=body.last_day)
            done = {"applied": 0, "refunded": 0, "deposit_left": receipts.deposit_held(conn, contract_id)}
        return TerminateOut(
            contract=_contract_out(conn, org_id, contract_id),
            deposit_applied=done["applied"],
            deposit_refunded=done["refunded"],
            deposit_left=done["deposit_left"],
        )

    return _write(
        engine,
        user,
        request,
        key,
        org_id,
        "lease.terminate",
        body=body,
        run=work,
        detail=str(contract_id),
        status=200,
    )


def _supersede(relation: str):  # type: ignore[no-untyped-def]
    def route(
        org_id: int,
        contract_id: int,
        body: SupersedeIn,
        user: CurrentUser,
        engine: EngineDep,
        request: Request,
        key: IdempotencyKey,
    ) -> JSONResponse:
        def work(conn):  # type: ignore[no-untyped-def]
            new = leases.supersede_contract(
                conn,
                org_id,
                contract_id,
                relation=relation,
                code=body.code,
                terms=body.terms(conn, org_id, contract_id),
                deposit_fen=body.deposit,
                memo=body.memo,
            )
            return _contract_out(conn, org_id, new, schedule=True)

        return write_org(
            engine,
            user,
            request,
            key,
            org_id=org_id,
            action=f"lease.{relation}",
            body=body,
            run=work,
            detail=lambda r: f"{contract_id}->{r.id}",
            status=201,
            scope=_collective(user, org_id),
        )

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


class MoneyIn(Strict):
    amount: Amount
    date: date
    cash_account: str = "102"


class EntryRef(BaseModel):
    entry_id: int


@router.post("/orgs/{org_id}/leases/{contract_id}/deposit", response_model=EntryRef, status_code=201)
def deposit_route(
    org_id: int,
    contract_id: int,
    body: MoneyIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    """押金 received: Dr 102 / Cr 21101 [lessee, contract]."""

    def work(conn):  # type: ignore[no-untyped-def]
        entry_id = receipts.receive_deposit(
            conn,
            org_id,
            contract_id,
            amount_fen=body.amount,
            on=body.date,
            cash_account=body.cash_account,
            idempotency_key=key,
            user_id=user.user_id,
        )
        return EntryRef(entry_id=entry_id)

    return _write(
        engine, user, request, key, org_id, "lease.deposit", body=body, run=work, detail=str(contract_id)
    )


class RefundIn(Strict):
    amount: Amount | None = Field(default=None, description="default: all that is held")
    date: date
    cash_account: str = "102"


@router.post("/orgs/{org_id}/leases/{contract_id}/deposit/refund", response_model=EntryRef, status_code=201)
def refund_route(
    org_id: int,
    contract_id: int,
    body: RefundIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    def work(conn):  # type: ignore[no-untyped-def]
        entry_id = receipts.refund_deposit(
            conn,
            org_id,
            contract_id,
            amount_fen=body.amount,
            on=body.date,
            cash_account=body.cash_account,
            idempotency_key=key,
            user_id=user.user_id,
        )
        return EntryRef(entry_id=entry_id)

    return _write(
        engine,
        user,
        request,
        key,
        org_id,
        "lease.deposit_refund",
        body=body,
        run=work,
        detail=str(contract_id),
    )


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
def receipt_route(
    org_id: int,
    body: ReceiptIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    """Rent received: pays the oldest open charges (or the allocations given); the rest is a credit."""
    write = services.receive_rent(
        user,
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
        idempotency_key=key,
    )

    return respond(engine, user, request, key, write)


# -- welfare posts ----------------------------------------------------------------------------------------


class PostIn(Strict):
    post: str = Field(min_length=1, max_length=32, description="保洁员, 护路员, 治安巡逻员, 社区服务专干 …")
    holder: str = Field(min_length=1, max_length=100)
    monthly_stipend: Amount
    start: date
    end: date | None = None


class PostOut(BaseModel):
    id: int
    org_id: int
    post: str
    holder: str
    monthly_stipend: MoneyOut
    start: date
    end: date | None
    owed: MoneyOut


def _post_out(conn, org_id: int, post_id: int) -> PostOut:  # type: ignore[no-untyped-def]
    p = welfare.get_post(conn, org_id, post_id)
    return PostOut(
        id=p.id,
        org_id=p.org_id,
        post=p.post,
        holder=p.holder,
        monthly_stipend=p.monthly_stipend_fen,
        start=p.start_date,
        end=p.end_date,
        owed=welfare.stipend_owed(conn, p.id),
    )


@router.post("/orgs/{org_id}/welfare-posts", response_model=PostOut, status_code=201)
def create_post_route(
    org_id: int, body: PostIn, user: CurrentUser, engine: EngineDep, request: Request, key: IdempotencyKey
) -> JSONResponse:
    """Register a public-welfare post (公益性岗位) and its holder."""

    def work(conn):  # type: ignore[no-untyped-def]
        post_id = welfare.create_post(
            conn,
            org_id,
            post=body.post,
            holder=body.holder,
            monthly_stipend_fen=body.monthly_stipend,
            start=body.start,
            end=body.end,
        )
        return _post_out(conn, org_id, post_id)

    return _write(
        engine,
        user,
        request,
        key,
        org_id,
        "welfare.post",
        body=body,
        run=work,
        detail=f"{body.post} {body.holder}",
    )


@router.get("/orgs/{org_id}/welfare-posts", response_model=list[PostOut])
def list_posts_route(org_id: int, user: CurrentUser, engine: EngineDep) -> list[PostOut]:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        return [_post_out(conn, org_id, pid) for pid in welfare.post_ids(conn, org_id)]


class EndPostIn(Strict):
    end: date


@router.post("/orgs/{org_id}/welfare-posts/{post_id}/end", response_model=PostOut)
def end_post_route(
    org_id: int,
    post_id: int,
    body: EndPostIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    def work(conn):  # type: ignore[no-untyped-def]
        welfare.end_post(conn, org_id, post_id, last_day=body.end)
        return _post_out(conn, org_id, post_id)

    return _write(
        engine,
        user,
        request,
        key,
        org_id,
        "welfare.end",
        body=body,
        run=work,
        detail=str(post_id),
        status=200,
    )


class StipendRunOut(BaseModel):
    through: str
    posted: int
    amount: MoneyOut


@router.post("/orgs/{org_id}/welfare-posts/stipends", response_model=StipendRunOut)
def stipend_run_route(
    org_id: int,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
    through: Annotated[str, Query(description="YYYY-MM")],
) -> JSONResponse:
    """The monthly stipend run of an org or a street (idempotent per post and month)."""
    parse_period(through, "through")
    covered = _covered(user, org_id)

    def work(conn):  # type: ignore[no-untyped-def]
        run = welfare.run_stipends(conn, covered(conn), through, user_id=user.user_id)
        return StipendRunOut(through=through, posted=run.posted, amount=run.amount_fen)

    return write_org(
        engine,
        user,
        request,
        key,
        org_id=org_id,
        action="welfare.stipends",
        run=work,
        detail=lambda r: f"through {through}: {r.posted}" if r.posted else None,
        status=200,
        scope=covered,
    )


class StipendIn(Strict):
    period: str


@router.post("/orgs/{org_id}/welfare-posts/{post_id}/stipends", response_model=StipendRunOut, status_code=201)
def post_stipend_route(
    org_id: int,
    post_id: int,
    body: StipendIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    """One post's stipend for one month (refused for a month the post is not held)."""

    def work(conn):  # type: ignore[no-untyped-def]
        run = welfare.post_stipend(conn, org_id, post_id, body.period, user_id=user.user_id)
        return StipendRunOut(through=body.period, posted=run.posted, amount=run.amount_fen)

    return _write(
        engine,
        user,
        request,
        key,
        org_id,
        "welfare.stipend",
        body=body,
        run=work,
        detail=f"{post_id}:{body.period}",
    )


class PaymentIn(Strict):
    amount: Amount | None = Field(default=None, description="default: all that is owed")
    date: date
    cash_account: str = "102"


@router.post("/orgs/{org_id}/welfare-posts/{post_id}/payments", response_model=EntryRef, status_code=201)
def pay_stipend_route(
    org_id: int,
    post_id: int,
    body: PaymentIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    def work(conn):  # type: ignore[no-untyped-def]
        entry_id = welfare.pay_stipend(
            conn,
            org_id,
            post_id,
            amount_fen=body.amount,
            paid_on=body.date,
            cash_account=body.cash_account,
            idempotency_key=key,
            user_id=user.user_id,
        )
        return EntryRef(entry_id=entry_id)

    return _write(engine, user, request, key, org_id, "welfare.pay", body=body, run=work, detail=str(post_id))


class FacilityIn(MoneyIn):
    memo: str = Field(min_length=1, max_length=500)


@router.post("/orgs/{org_id}/welfare-facilities", response_model=EntryRef, status_code=201)
def facility_route(
    org_id: int,
    body: FacilityIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    """公益设施 spending: Dr 51402 / Cr 102."""

    def work(conn):  # type: ignore[no-untyped-def]
        entry_id = welfare.facility_spending(
            conn,
            org_id,
            amount_fen=body.amount,
            spent_on=body.date,
            memo=body.memo,
            cash_account=body.cash_account,
            idempotency_key=key,
            user_id=user.user_id,
        )
        return EntryRef(entry_id=entry_id)

    return _write(
        engine, user, request, key, org_id, "welfare.facility", body=body, run=work, detail=body.memo
    )


# -- brokerage --------------------------------------------------------------------------------------------


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


class DealOut(BaseModel):
    deal_id: int


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
def deal_route(
    org_id: int, body: DealIn, user: CurrentUser, engine: EngineDep, request: Request, key: IdempotencyKey
) -> JSONResponse:
    """居间服务: record a deal and post its fee (Dr 112 [client] or 102 / Cr 50103, 214)."""

    def work(conn):  # type: ignore[no-untyped-def]
        deal_id = brokerage.record_deal(
            conn,
            org_id,
            client=body.client,
            kind=body.kind,
            earned_on=body.earned_on,
            deal_value_fen=body.deal_value,
            commission_rate_bp=body.commission_rate_bp,
            commission_fen=body.commission,
            vat_rate_bp=body.vat_rate_bp,
            other_party=body.other_party,
            paid_at_once=body.paid_at_once,
            cash_account=body.cash_account,
            memo=body.memo,
            idempotency_key=key,
            user_id=user.user_id,
        )
        return DealOut(deal_id=deal_id)

    return _write(
        engine,
        user,
        request,
        key,
        org_id,
        "brokerage.deal",
        body=body,
        run=work,
        detail=lambda r: str(r.deal_id),
    )


@router.get("/orgs/{org_id}/brokerage/outstanding", response_model=list[OutstandingOut])
def outstanding_route(org_id: int, user: CurrentUser, engine: EngineDep) -> list[OutstandingOut]:
    with read_tx(engine) as conn:
        rows = brokerage.outstanding(conn, leases.collective_orgs_for(conn, user, org_id))
    return [
        OutstandingOut(
            deal_id=r["deal_id"],
            org_id=r["org_id"],
            client=r["client"],
            kind=r["kind"],
            earned_on=r["earned_on"],
            commission=r["commission_fen"],
            received=r["received_fen"],
            outstanding=r["outstanding_fen"],
        )
        for r in rows
    ]


@router.post("/orgs/{org_id}/brokerage/deals/{deal_id}/receipts", response_model=EntryRef, status_code=201)
def deal_receipt_route(
    org_id: int,
    deal_id: int,
    body: MoneyIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    def work(conn):  # type: ignore[no-untyped-def]
        entry_id = brokerage.receive_fee(
            conn,
            org_id,
            deal_id,
            amount_fen=body.amount,
            received_on=body.date,
            cash_account=body.cash_account,
            idempotency_key=key,
            user_id=user.user_id,
        )
        return EntryRef(entry_id=entry_id)

    return _write(
        engine, user, request, key, org_id, "brokerage.receipt", body=body, run=work, detail=str(deal_id)
    )


# -- subsidies and stakes ---------------------------------------------------------------------------------


class SubsidyIn(MoneyIn):
    source: str = Field(min_length=1, max_length=64, description="工作经费 …")
    grantor: str = Field(default="", max_length=200)


class SubsidyOut(BaseModel):
    subsidy_id: int


class SubsidyTotalOut(BaseModel):
    org_id: int
    source: str
    amount: MoneyOut


@router.post("/orgs/{org_id}/subsidies", response_model=SubsidyOut, status_code=201)
def subsidy_route(
    org_id: int,
    body: SubsidyIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    """补助收入 received: Dr 102 / Cr 503, with its source."""

    def work(conn):  # type: ignore[no-untyped-def]
        sid = subsidies.receive_subsidy(
            conn,
            org_id,
            source=body.source,
            grantor=body.grantor,
            amount_fen=body.amount,
            received_on=body.date,
            cash_account=body.cash_account,
            idempotency_key=key,
            user_id=user.user_id,
        )
        return SubsidyOut(subsidy_id=sid)

    return _write(
        engine, user, request, key, org_id, "subsidy.receive", body=body, run=work, detail=body.source
    )


@router.get("/orgs/{org_id}/subsidies", response_model=list[SubsidyTotalOut])
def subsidy_totals_route(
    org_id: int, user: CurrentUser, engine: EngineDep, year: Annotated[int, Query(ge=1990, le=2999)]
) -> list[SubsidyTotalOut]:
    with read_tx(engine) as conn:
        org_ids = leases.collective_orgs_for(conn, user, org_id)
        rows = subsidies.totals_by_source(conn, org_ids, year_param(conn, org_id, year))
    return [SubsidyTotalOut(org_id=r["org_id"], source=r["source"], amount=r["amount_fen"]) for r in rows]


class StakeIn(Strict):
    company_org_id: Id
    paid_in: Amount
    share_bp: int = Field(description="share of the company in bp (2500 = 25 %)")
    date: date
    funded_from: str = "102"


class StakeOut(BaseModel):
    stake_id: int


@router.post("/orgs/{org_id}/stakes", response_model=StakeOut, status_code=201)
def stake_route(
    org_id: int,
    body: StakeIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    """参股: Dr 141 长期投资 [company] / Cr 102."""

    def work(conn):  # type: ignore[no-untyped-def]
        sid = stakes.record_stake(
            conn,
            org_id,
            company_org_id=body.company_org_id,
            paid_in_fen=body.paid_in,
            share_bp=body.share_bp,
            acquired_on=body.date,
            funded_from=body.funded_from,
            idempotency_key=key,
            user_id=user.user_id,
        )
        return StakeOut(stake_id=sid)

    return _write(
        engine,
        user,
        request,
        key,
        org_id,
        "stake.record",
        body=body,
        run=work,
        detail=str(body.company_org_id),
    )


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
    return [
        StakeRowOut(
            stake_id=r["id"],
            company_org_id=r["company_org_id"],
            company=r["company"],
            paid_in=r["paid_in_fen"],
            share_bp=r["share_bp"],
            acquired_on=r["acquired_on"],
        )
        for r in rows
    ]
