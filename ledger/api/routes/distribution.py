"""HTTP routes of year-end close and distribution: shareholdings, year close, plans, dividends, welfare funds,
VAT exemption, and the trail. Thin: each route checks scope, runs one service call in one transaction."""

import datetime as dt
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ledger.access.messages import Amount, Id, MoneyOut, RequestModel
from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.fields import from_row, record_from
from ledger.api.writes import Door
from ledger.books.money import format_amount
from ledger.db.engine import read_tx
from ledger.distribution import execute as ex
from ledger.distribution import services, trail, vat, welfare_funds
from ledger.distribution import shareholders as sh
from ledger.distribution.models import ApprovingBody, StepKind
from ledger.distribution.plans import DryRun, Step
from ledger.distribution.services import fen_strings

router = APIRouter(prefix="/api/v1", tags=["distribution"])

Year = Annotated[int, Path(ge=1901, le=2999)]


Strict = RequestModel  # unknown fields refused; dates in the books' years (ledger.access.messages)


class ShareholderIn(Strict):
    shareholder_org_id: Id
    subscribed: Amount
    agreed_ratio_bp: int | None = Field(default=None, ge=0, le=10_000)


class CapitalIn(Strict):
    amount: Amount
    paid_on: date


class AgreementIn(Strict):
    effective_from: date
    document_no: str = Field(min_length=1, max_length=64)
    signed_on: date


class MemberIn(Strict):
    member: str = Field(min_length=1, max_length=64)
    shares: int = Field(ge=0)


class StepIn(Strict):
    kind: StepKind
    rate_bp: int | None = Field(default=None, ge=1, le=10_000)
    amount: Amount | None = None
    target: str = Field(default="", max_length=64)


class PlanIn(Strict):
    steps: list[StepIn] = Field(max_length=20)


class ApproveIn(Strict):
    approving_body: ApprovingBody
    resolution_date: date
    document_no: str = Field(min_length=1, max_length=64)


class ExecuteIn(Strict):
    date: dt.date | None = None


class ReverseIn(Strict):
    date: dt.date


class DividendIn(Strict):
    shareholder_org_id: Id
    amount: Amount
    paid_on: date
    plan_id: Id | None = None
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)


class EarmarkIn(Strict):
    kind: Literal["post", "facility"]
    earmark_year: int = Field(ge=1901, le=2999)
    amount: Amount
    on: date
    post_id: Id | None = None


class ThresholdIn(Strict):
    effective_from: date
    quarterly_threshold: Amount
    rule: str = Field(default="", max_length=200)


class ShareOut(BaseModel):
    key: int
    counterparty_id: int
    name: str
    weight: int
    amount: MoneyOut


class PlanLineOut(BaseModel):
    order: int
    kind: str
    label: str
    amount: MoneyOut
    basis: str
    posts: bool
    shares: list[ShareOut]


class DryRunOut(BaseModel):
    profit: MoneyOut
    brought_forward: MoneyOut
    losses_covered: MoneyOut
    base: MoneyOut
    distributable: MoneyOut
    distributed: MoneyOut
    undistributed: MoneyOut
    lines: list[PlanLineOut]


class PlanOut(BaseModel):
    id: int
    org_id: int
    year: int
    version: int
    status: str
    approving_body: str
    resolution_date: date | None
    document_no: str
    steps: list[dict[str, Any]]
    execution: dict[str, Any] | None = None


def dry_run_out(run: DryRun) -> DryRunOut:
    lines = [
        from_row(
            PlanLineOut,
            ln,
            shares=[from_row(ShareOut, s.recipient, amount=s.amount_fen) for s in ln.shares],
        )
        for ln in run.lines
    ]
    return from_row(
        DryRunOut,
        run,
        profit=run.facts.profit_fen,
        brought_forward=run.facts.brought_forward_fen,
        lines=lines,
    )


# -- shareholdings ----------------------------------------------------------------------------------------


@router.get("/orgs/{org_id}/shareholdings")
def list_shareholdings_route(org_id: int, user: CurrentUser, engine: EngineDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        return [
            {
                "id": r.id,
                "shareholder_org_id": r.shareholder_org_id,
                "counterparty_id": r.counterparty_id,
                "subscribed": format_amount(r.subscribed_fen),
                "paid_in": format_amount(r.paid_in_fen),
                "paid_on": r.paid_on.isoformat() if r.paid_on else None,
                "agreed_ratio_bp": r.agreed_ratio_bp,
            }
            for r in sh.list_shareholdings(conn, org_id)
        ]


@router.post("/orgs/{org_id}/shareholdings", status_code=201)
def add_shareholder_route(org_id: int, body: ShareholderIn, door: Door) -> JSONResponse:
    write = services.add_shareholder(
        door.user,
        org_id,
        shareholder_org_id=body.shareholder_org_id,
        subscribed_fen=body.subscribed,
        agreed_ratio_bp=body.agreed_ratio_bp,
    )
    return door.respond(write, body)


@router.post("/orgs/{org_id}/shareholdings/{holding_id}/capital", status_code=201)
def pay_in_route(org_id: int, holding_id: int, body: CapitalIn, door: Door) -> JSONResponse:
    write = services.pay_in_capital(
        door.user, org_id, holding_id, amount_fen=body.amount, paid_on=body.paid_on, key=door.key
    )
    return door.respond(write, body)


@router.post("/orgs/{org_id}/ratio-agreements", status_code=201)
def agreement_route(org_id: int, body: AgreementIn, door: Door) -> JSONResponse:
    write = services.record_ratio_agreement(
        door.user,
        org_id,
        effective_from=body.effective_from,
        document_no=body.document_no,
        signed_on=body.signed_on,
    )
    return door.respond(write, body)


@router.post("/orgs/{org_id}/members", status_code=201)
def add_member_route(org_id: int, body: MemberIn, door: Door) -> JSONResponse:
    write = services.add_member(door.user, org_id, member=body.member, shares=body.shares)
    return door.respond(write, body)


# -- year close -------------------------------------------------------------------------------------------


@router.post("/orgs/{org_id}/years/{year}/close")
def close_year_route(org_id: int, year: Year, door: Door) -> JSONResponse:
    """年终结账: refused (409) naming each open month's unposted sources; idempotent."""
    return door.respond(services.year_close(door.user, org_id, year))


# -- plans ------------------------------------------------------------------------------------------------


@router.post("/orgs/{org_id}/years/{year}/plans", response_model=PlanOut, status_code=201)
def create_plan_route(org_id: int, year: Year, body: PlanIn, door: Door) -> JSONResponse:
    steps = [Step(s.kind, s.rate_bp, s.amount, s.target) for s in body.steps]
    return door.respond(services.create_plan(door.user, org_id, year, steps), body)


@router.get("/orgs/{org_id}/years/{year}/plans", response_model=list[PlanOut])
def list_plans_route(org_id: int, year: Year, user: CurrentUser, engine: EngineDep) -> list[dict[str, Any]]:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        ids = conn.execute(
            ex.plan_t.select()
            .with_only_columns(ex.plan_t.c.id)
            .where(ex.plan_t.c.org_id == org_id, ex.plan_t.c.year == year)
            .order_by(ex.plan_t.c.version)
        ).scalars()
        return [services.plan_json(conn, i) for i in list(ids)]


@router.get("/orgs/{org_id}/plans/{plan_id}", response_model=PlanOut)
def get_plan_route(org_id: int, plan_id: int, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        ex.get_plan(conn, plan_id, org_id)
        return services.plan_json(conn, plan_id)


@router.get("/orgs/{org_id}/plans/{plan_id}/dry-run", response_model=DryRunOut)
def dry_run_route(org_id: int, plan_id: int, user: CurrentUser, engine: EngineDep) -> DryRunOut:
    """The whole plan to the fen against the books as they stand; nothing posts. 422 with every reason."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        ex.get_plan(conn, plan_id, org_id)
        return dry_run_out(ex.dry_run_plan(conn, plan_id))


@router.post("/orgs/{org_id}/plans/{plan_id}/approve", response_model=PlanOut)
def approve_route(org_id: int, plan_id: int, body: ApproveIn, door: Door) -> JSONResponse:
    write = services.approve_plan(
        door.user,
        org_id,
        plan_id,
        approving_body=body.approving_body,
        resolution_date=body.resolution_date,
        document_no=body.document_no,
    )
    return door.respond(write, body)


@router.post("/orgs/{org_id}/plans/{plan_id}/execute", response_model=PlanOut)
def execute_route(org_id: int, plan_id: int, body: ExecuteIn, door: Door) -> JSONResponse:
    """Post the plan: the org's entries and each shareholder's, linked, in one transaction."""
    write = services.execute_plan(door.user, org_id, plan_id, entry_date=body.date)
    return door.respond(write, body)


@router.post("/orgs/{org_id}/plans/{plan_id}/reverse", response_model=PlanOut)
def reverse_plan_route(org_id: int, plan_id: int, body: ReverseIn, door: Door) -> JSONResponse:
    write = services.reverse_plan(door.user, org_id, plan_id, entry_date=body.date)
    return door.respond(write, body)


@router.post("/orgs/{org_id}/dividends", status_code=201)
def pay_dividend_route(org_id: int, body: DividendIn, door: Door) -> JSONResponse:
    """Pay a shareholder: company Dr 2232 / Cr 1002 and the shareholder's Dr 102 / Cr 112, linked."""
    door = door.keyed(body.idempotency_key)
    write = services.pay_dividend(
        door.user,
        org_id,
        shareholder_org_id=body.shareholder_org_id,
        amount_fen=body.amount,
        paid_on=body.paid_on,
        plan_id=body.plan_id,
        key=door.key,
    )
    return door.respond(write, body)


# -- public-welfare funds ---------------------------------------------------------------------------------


@router.post("/orgs/{org_id}/welfare-funds/apply", status_code=201)
def apply_earmark_route(org_id: int, body: EarmarkIn, door: Door) -> JSONResponse:
    write = services.apply_earmark(door.user, org_id, record_from(welfare_funds.EarmarkUse, body))
    return door.respond(write, body)


@router.get("/orgs/{org_id}/years/{year}/welfare-funds")
def welfare_funds_route(org_id: int, year: Year, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """Per earmark year: earmarked, applied, remaining; per post: the year's stipends, payments, funding."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        report = welfare_funds.funds_report(conn, org_id, year)
    doc = fen_strings(asdict(report))
    for e, src in zip(doc["earmarks"], report.earmarks, strict=True):
        e["remaining"] = format_amount(src.remaining_fen)
    return doc


@router.get("/orgs/{street_id}/years/{year}/welfare-reach")
def welfare_reach_route(
    street_id: int, year: Year, user: CurrentUser, engine: EngineDep
) -> list[dict[str, Any]]:
    """For a street: how much of the supermarkets' profit reached public-welfare posts in each community."""
    with read_tx(engine) as conn:
        user.require_org(conn, street_id)
        return fen_strings([asdict(r) for r in welfare_funds.street_reach(conn, street_id, year)])


@router.get("/orgs/{org_id}/entries/{entry_id}/trail")
def trail_route(org_id: int, entry_id: int, user: CurrentUser, engine: EngineDep) -> dict[str, Any]:
    """From a 公益性岗位 stipend or payment back to the plans, the profit and the POS shifts behind it."""
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        return fen_strings(trail.welfare_trail(conn, org_id, entry_id))


# -- VAT --------------------------------------------------------------------------------------------------


@router.post("/orgs/{org_id}/vat-thresholds", status_code=201)
def threshold_route(org_id: int, body: ThresholdIn, door: Door) -> JSONResponse:
    write = services.set_vat_threshold(
        door.user,
        org_id,
        effective_from=body.effective_from,
        quarterly_threshold_fen=body.quarterly_threshold,
        rule=body.rule,
    )
    return door.respond(write, body)


@router.get("/orgs/{org_id}/vat/{year}/q{quarter}")
def vat_quarter_route(
    org_id: int, year: Year, quarter: Annotated[int, Path(ge=1, le=4)], user: CurrentUser, engine: EngineDep
) -> dict[str, Any]:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        return fen_strings(asdict(vat.vat_quarter(conn, org_id, year, quarter)))


@router.post("/orgs/{org_id}/vat/{year}/q{quarter}/exemption")
def vat_exemption_route(
    org_id: int, year: Year, quarter: Annotated[int, Path(ge=1, le=4)], door: Door
) -> JSONResponse:
    """Within the threshold, move the quarter's output VAT to income (rule and threshold on the entry)."""
    return door.respond(services.vat_exemption(door.user, org_id, year, quarter))
