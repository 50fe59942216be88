"""Journal entries (记账凭证): post, read, list, reverse; and linked postings across orgs."""

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from ledger.access import bookkeeping
from ledger.access.messages import Amount, Day, Id, MoneyOut, RequestModel
from ledger.access.service import Write, org_keys
from ledger.api.deps import CurrentUser, EngineDep
from ledger.api.fields import from_row, record_from
from ledger.api.periods import day_range_params, month_param
from ledger.api.writes import Door, as_json, fingerprint
from ledger.books.errors import ValidationError
from ledger.books.journal import EntryFilter, get_entry, list_entries
from ledger.books.orgs import require_books
from ledger.books.posting import MAX_ATTACHMENTS, Draft, Line, new_link_id, post_entries
from ledger.db.engine import read_tx

router = APIRouter(prefix="/api/v1", tags=["entries"])


Strict = RequestModel  # unknown fields refused; dates in the books' years (ledger.access.messages)


class LineIn(Strict):
    account: str = Field(min_length=1, max_length=32, description="account code, e.g. 50102")
    debit: Amount | None = None
    credit: Amount | None = None
    memo: str = Field(default="", max_length=200)
    counterparty_id: Id | None = None
    store_id: Id | None = None
    channel: str | None = None
    contract_id: Id | None = None
    welfare_post_id: Id | None = None
    product_category: str | None = Field(default=None, max_length=64)


class EntryIn(Strict):
    date: date
    memo: str = Field(default="", max_length=500)
    lines: list[LineIn] = Field(max_length=1000)
    source_ref: str | None = Field(default=None, max_length=128)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)
    attachments: int = Field(default=0, ge=0, le=MAX_ATTACHMENTS, strict=True, description="附单据数")


class LinkedEntryIn(EntryIn):
    org_id: Id


class LinkedIn(Strict):
    entries: list[LinkedEntryIn] = Field(min_length=2, max_length=100)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)


class ReverseIn(Strict):
    date: date
    memo: str | None = Field(default=None, max_length=500)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=128)


class LineOut(BaseModel):
    line_no: int
    account: str
    account_name: str
    debit: MoneyOut
    credit: MoneyOut
    memo: str
    counterparty_id: int | None
    store_id: int | None
    channel: str | None
    contract_id: int | None
    welfare_post_id: int | None
    product_category: str | None


class EntryOut(BaseModel):
    id: int
    org_id: int
    voucher_no: str
    date: date
    period: str
    memo: str
    source: str
    source_ref: str | None
    link_id: str | None
    reverses_id: int | None
    reversed_by_id: int | None
    idempotency_key: str | None
    created_by: int | None
    created_at: datetime
    total: MoneyOut
    attachments: int
    hash: str
    lines: list[LineOut]


class EntryPage(BaseModel):
    items: list[EntryOut]
    total: int
    limit: int
    offset: int


def entry_out(e: dict[str, Any]) -> EntryOut:
    return from_row(
        EntryOut,
        e,
        date=e["entry_date"],
        reversed_by_id=e.get("reversed_by_id"),
        attachments=e.get("attachments") or 0,
        lines=[from_row(LineOut, ln) for ln in e["lines"]],
    )


def _draft(org_id: int, body: EntryIn, key: str | None, link_id: str | None = None) -> Draft:
    lines = []
    for i, ln in enumerate(body.lines):
        if (ln.debit is None) == (ln.credit is None):
            raise ValidationError("give exactly one of debit or credit", field=f"lines[{i}].debit")
        lines.append(record_from(Line, ln, debit_fen=ln.debit or 0, credit_fen=ln.credit or 0))
    return Draft(
        org_id=org_id,
        entry_date=body.date,
        memo=body.memo,
        lines=lines,
        source="manual",
        source_ref=body.source_ref,
        idempotency_key=key,
        link_id=link_id,
        attachments=body.attachments,
    )


def _created(result: tuple[bool, Any]) -> int:
    """201 when the books took a new entry; 200 when they answered with one posted earlier under its key."""
    return 201 if result[0] else 200


@router.post("/orgs/{org_id}/entries", response_model=EntryOut, status_code=201)
def post_entry_route(org_id: int, body: EntryIn, door: Door) -> JSONResponse:
    """Post a manual entry. The same ``Idempotency-Key`` with the same body returns the original (200)."""
    door = door.keyed(body.idempotency_key)
    write = bookkeeping.post_entry(
        door.user,
        _draft(org_id, body, door.key),
        answer=lambda conn, posted: as_json(entry_out(get_entry(conn, org_id, posted.id))),
        request=fingerprint(door.request, body),
    )
    return door.respond(write, body)


@router.post("/linked-entries", response_model=list[EntryOut], status_code=201)
def post_linked_route(body: LinkedIn, door: Door) -> JSONResponse:
    """Post entries in several orgs of one tree in one transaction: all of them or none (DESIGN §3).

    The keys belong to the first org of the link; the caller must be allowed to change every org in it."""
    door = door.keyed(body.idempotency_key)
    group_key = door.key

    def scope(conn: Connection) -> None:
        for e in body.entries:
            require_books(door.user.require_org(conn, e.org_id, write=True))

    def work(conn: Connection) -> tuple[bool, list[EntryOut]]:
        link = new_link_id()
        drafts = [
            _draft(e.org_id, e, e.idempotency_key or (f"{group_key}:{i}" if group_key else None), link)
            for i, e in enumerate(body.entries)
        ]
        posted = post_entries(conn, drafts, user_id=door.user.user_id, entered=True)
        return any(p.created for p in posted), [entry_out(get_entry(conn, p.org_id, p.id)) for p in posted]

    first = body.entries[0].org_id
    write = Write(
        action="entry.post_linked",
        keyspace=org_keys(first),
        org_id=first,
        scope=scope,
        run=work,
        answer=lambda r: as_json(r[1]),
        request=fingerprint(door.request, body),
        detail=lambda r: ",".join(e.voucher_no for e in r[1]),
        status=_created,
    )
    return door.respond(write, body)


@router.get("/orgs/{org_id}/entries", response_model=EntryPage)
def list_entries_route(
    org_id: int,
    user: CurrentUser,
    engine: EngineDep,
    period: str | None = None,
    date_from: Annotated[Day | None, Query(alias="from")] = None,
    date_to: Annotated[Day | None, Query(alias="to")] = None,
    account: str | None = None,
    source: str | None = None,
    source_ref: str | None = None,
    link_id: str | None = None,
    voucher_no: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> EntryPage:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        if period is not None:
            period = month_param(conn, org_id, period)
        day_range_params(conn, org_id, date_from, date_to)
        flt = EntryFilter(period, date_from, date_to, account, source, source_ref, link_id, voucher_no)
        entries, total = list_entries(conn, org_id, flt, limit=limit, offset=offset)
    return EntryPage(items=[entry_out(e) for e in entries], total=total, limit=limit, offset=offset)


@router.get("/orgs/{org_id}/entries/{entry_id}", response_model=EntryOut)
def get_entry_route(org_id: int, entry_id: int, user: CurrentUser, engine: EngineDep) -> EntryOut:
    with read_tx(engine) as conn:
        user.require_org(conn, org_id)
        return entry_out(get_entry(conn, org_id, entry_id))


@router.post("/orgs/{org_id}/entries/{entry_id}/reverse", response_model=list[EntryOut], status_code=201)
def reverse_route(org_id: int, entry_id: int, body: ReverseIn, door: Door) -> JSONResponse:
    """红字冲销: reverse the entry (and every entry linked with it) into an open period."""
    door = door.keyed(body.idempotency_key)
    write = bookkeeping.reverse_entry(
        door.user,
        org_id,
        entry_id,
        entry_date=body.date,
        memo=body.memo,
        key=door.key,
        answer=lambda conn, posted: as_json([entry_out(get_entry(conn, p.org_id, p.id)) for p in posted]),
        request=fingerprint(door.request, body),
    )
    return door.respond(write, body)
