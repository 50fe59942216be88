"""What a community's business answers, from every door: the JSON of an asset, a contract, a welfare post.

The services (``ledger.community.services``) answer with these models' JSON (money as decimal strings), the
API's routes name them as their response models and read routes build them too, so a contract read from
``GET /leases/{id}`` is the one a write answered; the CLI prints from the same JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection

from ledger.access.messages import MoneyOut, QuantityOut
from ledger.community import welfare
from ledger.community.leases import contracts as leases
from ledger.community.leases.schedule import rent_schedule


def dump(model: BaseModel) -> Any:
    """A model as the JSON data a door shows and a retry is answered with."""
    return model.model_dump(mode="json")


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


def asset_out(a: dict[str, Any]) -> AssetOut:
    """An asset row of ``assets.list_assets``."""
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


def contract_out(conn: Connection, org_id: int, contract_id: int, *, schedule: bool = False) -> ContractOut:
    """A contract of the org, with its rent schedule (租金计划) if asked."""
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


class TerminateOut(BaseModel):
    contract: ContractOut
    deposit_applied: MoneyOut
    deposit_refunded: MoneyOut
    deposit_left: MoneyOut


class EntryRef(BaseModel):
    entry_id: int


class PostOut(BaseModel):
    id: int
    org_id: int
    post: str
    holder: str
    monthly_stipend: MoneyOut
    start: date
    end: date | None
    owed: MoneyOut


def post_out(conn: Connection, org_id: int, post_id: int) -> PostOut:
    """A welfare post (公益性岗位) of the org, with the stipend still owed to its holder."""
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


class StipendRunOut(BaseModel):
    through: str
    posted: int
    amount: MoneyOut


class DealOut(BaseModel):
    deal_id: int


class SubsidyOut(BaseModel):
    subsidy_id: int


class StakeOut(BaseModel):
    stake_id: int
