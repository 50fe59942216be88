"""What a community's business answers, from every door: the JSON of an asset, a contract, a welfare post.

The services (``ledger.community.services``) answer with these models' JSON (money as decimal strings), the
API's routes name them as their response models and read routes build them too, so a contract read from
``GET /leases/{id}`` is the one a write answered; the CLI prints from the same JSON.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection

from ledger.access.messages import MoneyOut, QuantityOut
from ledger.community import welfare
from ledger.community.leases import contracts as leases
from ledger.community.leases.schedule import ScheduleLine, rent_schedule


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
    """An asset row of ``assets.list_assets``: the row's fields, the area and book value renamed."""
    return AssetOut.model_validate({**a, "area": a["area_milli_m2"], "book_value": a["book_value_fen"]})


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


def _schedule_line(ln: ScheduleLine) -> ScheduleLineOut:
    """A month of a rent schedule: the line's fields, its amounts renamed."""
    amounts = {"amount": ln.amount_fen, "net": ln.net_fen, "tax": ln.tax_fen}
    return ScheduleLineOut.model_validate({**asdict(ln), **amounts})


def contract_out(conn: Connection, org_id: int, contract_id: int, *, schedule: bool = False) -> ContractOut:
    """A contract of the org, with its rent schedule (租金计划) if asked: the row's fields, the term and the
    money renamed, and the contract's assets."""
    c = leases.get_contract(conn, org_id, contract_id)
    renamed = {"start": c.start_date, "end": c.end_date, "rent_per_cycle": c.rent_per_cycle_fen}
    lines = [_schedule_line(ln) for ln in rent_schedule(leases.terms_of(c))] if schedule else None
    asset_ids = leases.contract_asset_ids(conn, c.id)
    return ContractOut.model_validate(
        {**c._mapping, **renamed, "deposit": c.deposit_fen, "asset_ids": asset_ids, "schedule": lines}
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
    """A welfare post (公益性岗位) of the org, with the stipend still owed to its holder: the row's fields,
    the stipend and the term renamed."""
    p = welfare.get_post(conn, org_id, post_id)
    renamed = {"monthly_stipend": p.monthly_stipend_fen, "start": p.start_date, "end": p.end_date}
    return PostOut.model_validate({**p._mapping, **renamed, "owed": welfare.stipend_owed(conn, p.id)})


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
