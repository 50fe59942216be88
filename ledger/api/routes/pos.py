"""The POS HTTP API (/api/v1/pos): stores, catalogue, customers, stock, shifts, sales, refunds, batches.

Routes only parse, call a service in one write transaction and shape the answer; the rules live in
``pos.sales``, ``pos.shifts``, ``pos.stock``, ``pos.catalogue`` and the scope checks in ``pos.stores``.
Errors are ``LedgerError``s mapped in one place (``ledger.api.errors``); no route raises HTTPException.

Every write but the till's sales is a service of ``pos.services`` carried out through the one write path
(``ledger.access.service``: scope → key → write → audit; a store's writes keyed ``store:<id>``).
A sale (``POST /sales``, ``/sales:batch``) keeps its fast path (``pos.sales``,
``pos.writer``) and its own key table, scope first as well: ``require_store`` runs before ``_replay``,
whose keys are the store's own. A sale's response is stored with it and served verbatim, so a retry gets
byte-for-byte the original.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import Connection, Engine

from ledger.access.auth import Principal
from ledger.access.messages import Day
from ledger.access.service import Write, perform, store_keys
from ledger.api.deps import (
    CurrentUser,
    EngineDep,
    client_addr,
    current_principal,
    idempotency_key,
)
from ledger.api.fields import record_from
from ledger.api.periods import day_range_params
from ledger.api.routes.pos_schemas import (
    CashMoveIn,
    CustomerIn,
    CustomerPatch,
    ProductBody,
    PurchaseIn,
    ShiftCloseIn,
    ShiftOpenIn,
    StockAdjustIn,
    StoreIn,
    TaxRateIn,
)
from ledger.api.writes import Door, as_json, fingerprint
from ledger.books.errors import InvalidQuantity, ValidationError
from ledger.books.money import format_amount, format_quantity, parse_quantity
from ledger.db.engine import is_sqlite, read_tx
from ledger.web.i18n import reader_lang, receipt_words
from pos import catalogue, sales, services, shifts, stock
from pos.messages import RefundIn, SaleIn
from pos.stores import (
    list_stores,
    require_company,
    require_store,
    till_principal,
)
from pos.writer import writer_for

router = APIRouter(prefix="/api/v1/pos", tags=["pos"])

JSON = "application/json"


def json_answer(body: Any, status: int = 200) -> Response:
    """``body`` (JSON text, or plain data whose dates and Decimals print as strings) as a JSON response,
    without FastAPI's validation and re-encoding: the till's sales and lookups answer many small requests."""
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
    return Response(content=text, status_code=status, media_type=JSON)


def _lead(request: Request) -> int:
    return request.app.state.settings.max_sale_lead_seconds


# -- the write path for store-level routes ----------------------------------------------------------------


# -- sales and refunds (first: routes match in order; the till is the hot path) -------------------------


async def _till_write(
    request: Request, work: Callable[[Connection, Principal, str | None], sales.SaleResult]
) -> sales.SaleResult:
    """Run a till write: the caller is resolved inside the write transaction, in one statement.

    The core's dependencies are plain functions that FastAPI runs on the thread pool, one hop each, which
    costs more than the sale itself. SQLite has one writer anyway: sales go through the group-commit writer
    (``pos.writer``) instead of queueing threads on the write lock (DESIGN §12). PostgreSQL writes go to the
    thread pool, one transaction each.
    """
    engine: Engine = request.app.state.engine
    key = idempotency_key(request.headers.get("idempotency-key"))
    authorization = request.headers.get("authorization")
    hours = request.app.state.settings.till_token_hours

    def resolve_and_work(conn: Connection) -> sales.SaleResult:
        if authorization:
            user = till_principal(conn, authorization, till_token_hours=hours)
        else:
            user = current_principal(request, engine)
        return work(conn, user, key)

    if is_sqlite(engine):
        return await writer_for(request.app.state, engine).submit(resolve_and_work)
    return await run_in_threadpool(sales.write_idempotent, engine, resolve_and_work)


@router.post("/sales", status_code=201)
async def create_sale_route(body: SaleIn, request: Request) -> Response:
    """Record a sale. Same idempotency key + same body → the original response (200); different body → 409.

    Send ``Authorization: Bearer …``; the key goes in ``idempotency_key`` or the ``Idempotency-Key`` header.
    """
    lead = _lead(request)
    result = await _till_write(
        request, lambda conn, user, key: sales.create_sale(conn, user, body, key, max_lead_seconds=lead)
    )
    return json_answer(result.body, 201 if result.created else 200)


@router.post("/sales:batch")
def create_batch_route(
    door: Door,
    sales_in: Annotated[list[dict[str, Any]], Body(alias="sales", embed=True, max_length=sales.MAX_BATCH)],
) -> Response:
    """Up to 500 queued offline sales; each is created, a duplicate, or rejected with its reason.

    Every store the batch names must be the caller's (404 for the whole batch otherwise). Each sale keeps
    its own key; with an ``Idempotency-Key`` the batch's answer is kept too, so a retried upload answers
    exactly what the first one did."""
    lead = _lead(door.request)
    parsed, bodies = sales.parse_batch(sales_in)

    def answer(outcomes: list[sales.BatchOutcome]) -> dict[str, Any]:
        counts = {s: sum(o.status == s for o in outcomes) for s in ("created", "duplicate", "rejected")}
        return {"results": [o.__dict__ for o in outcomes], **counts}

    def work(conn: Connection) -> Any:
        stores = sales.batch_stores(conn, door.user, bodies)
        first = min(stores) if stores else (door.user.scope_store_id or 0)
        write: Write[Any] = Write(
            action="pos.batch",
            keyspace=store_keys(first),
            org_id=stores[first].org_id if stores else None,
            scope=lambda _conn: stores,  # every store of the batch, checked just above
            run=lambda conn: sales.record_batch(
                conn, door.user, list(parsed), bodies, stores, max_lead_seconds=lead
            ),
            answer=lambda outcomes: as_json(answer(outcomes)),
            request=fingerprint(door.request, sales_in),
            detail=lambda outcomes: None if door.key is None else f"{len(outcomes)} sales",
            status=200,
        )
        return perform(conn, door.user, write, key=door.key, remote_addr=client_addr(door.request))

    done = sales.write_idempotent(door.engine, work)
    return json_answer(done.body, done.status)


@router.get("/sales/{sale_id}")
def get_sale_route(sale_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with read_tx(engine) as conn:
        return json_answer(sales.get_sale(conn, user, sale_id))


@router.get("/sales/{sale_id}/receipt", response_class=PlainTextResponse)
def receipt_route(sale_id: int, user: CurrentUser, engine: EngineDep, request: Request) -> PlainTextResponse:
    """The 58 mm plain-text receipt (小票), 32 columns."""
    # In the reader's language: English when it is their Accept-Language's first choice, else Chinese. (Said
    # here, not in the docstring: that is the OpenAPI document's description, which this change keeps.)
    with read_tx(engine) as conn:
        sale = json.loads(sales.get_sale(conn, user, sale_id))
    words = receipt_words(reader_lang(request.headers.get("accept-language")))
    return PlainTextResponse(sales.receipt_text(sale, words=words))


@router.post("/sales/{sale_id}/refunds", status_code=201)
def create_refund_route(sale_id: int, body: RefundIn, door: Door) -> JSONResponse:
    """Refund lines of a sale by quantity; never more than remains refundable; idempotent like a sale."""
    door = door.keyed(body.idempotency_key)
    write = services.refund(door.user, sale_id, body, door.key, max_lead_seconds=_lead(door.request))
    return door.respond(write, body)


@router.get("/stores/{store_id}/sales")
def list_sales_route(
    store_id: int,
    user: CurrentUser,
    engine: EngineDep,
    day: Annotated[Day, Query(alias="date")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    with read_tx(engine) as conn:
        return json_answer(sales.list_sales(conn, user, store_id, day, limit, offset))


# -- stores and catalogue -------------------------------------------------------------------------------


@router.post("/stores", status_code=201)
def create_store_route(body: StoreIn, door: Door) -> JSONResponse:
    write = services.create_store(door.user, body.company_id, code=body.code, name=body.name)
    return door.respond(write, body)


@router.get("/orgs/{org_id}/stores")
def list_stores_route(org_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with read_tx(engine) as conn:
        return json_answer([s.__dict__ for s in list_stores(conn, user, org_id)])


def _product_out(p: dict) -> dict:
    return {
        "id": p["id"],
        **catalogue.product_shown(p),
        "origin_org_id": p["origin_org_id"],
        "origin": p.get("origin_code"),
        "allow_price_override": bool(p["allow_price_override"]),
        "max_price": format_amount(p["max_price_fen"]) if p.get("max_price_fen") is not None else None,
        "active": bool(p["active"]),
    }


@router.get("/orgs/{org_id}/products")
def list_products_route(org_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with read_tx(engine) as conn:
        require_company(conn, user, org_id)
        return json_answer([_product_out(p) for p in catalogue.list_products(conn, org_id)])


@router.put("/orgs/{org_id}/products", status_code=200)
def upsert_products_route(org_id: int, body: list[ProductBody], door: Door) -> JSONResponse:
    """Create or update products by SKU."""
    products = [record_from(catalogue.ProductIn, p) for p in body]
    write = services.upsert_products(door.user, org_id, products, request=as_json(body))
    return door.respond(write, body)


@router.post("/orgs/{org_id}/products:import")
def import_catalogue_route(
    org_id: int,
    door: Door,
    file: Annotated[UploadFile, File(description="CSV (UTF-8/GB18030) or XLSX with the export's columns")],
) -> JSONResponse:
    data = file.file.read()
    write = services.import_catalogue(door.user, org_id, data, file.filename or "catalogue.csv")
    as_before = {"filename": file.filename, "sha256": hashlib.sha256(data).hexdigest()}  # the former body
    return door.respond(write, as_before)


@router.get("/orgs/{org_id}/products:export")
def export_catalogue_route(
    org_id: int, user: CurrentUser, engine: EngineDep, format: str = "csv"
) -> Response:
    with read_tx(engine) as conn:
        require_company(conn, user, org_id)
        data = catalogue.export_catalogue(conn, org_id, format)
    media = (
        "text/csv; charset=utf-8"
        if format == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return Response(
        content=data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="catalogue-{org_id}.{format}"'},
    )


@router.get("/orgs/{org_id}/tax-rates")
def list_tax_rates_route(org_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with read_tx(engine) as conn:
        require_company(conn, user, org_id)
        rates = catalogue.tax_rates(conn, org_id)
    return json_answer(
        [
            {"category": r.category, "rate_bp": r.rate_bp, "effective_from": r.effective_from.isoformat()}
            for r in rates
        ]
    )


@router.post("/orgs/{org_id}/tax-rates", status_code=201)
def set_tax_rate_route(org_id: int, body: TaxRateIn, door: Door) -> JSONResponse:
    write = services.set_tax_rate(door.user, org_id, body.category, body.rate_bp, body.effective_from)
    return door.respond(write, body)


# -- customers ------------------------------------------------------------------------------------------


def _customer_out(c: dict) -> dict:
    return {
        "id": c["id"],
        "name": c["name"],
        "kind": c["kind"],
        "channel": c["channel"],
        "credit_limit": format_amount(c["credit_limit_fen"]),
        "open_balance": format_amount(c["open_balance_fen"]),
        "counterparty_id": c["counterparty_id"],
    }


@router.post("/orgs/{org_id}/customers", status_code=201)
def create_customer_route(org_id: int, body: CustomerIn, door: Door) -> JSONResponse:
    write = services.create_customer(
        door.user,
        org_id,
        name=body.name,
        channel=body.channel,
        credit_limit_fen=body.credit_limit,
        kind=body.kind,
    )
    return door.respond(replace(write, answer=_customer_out), body)


@router.patch("/orgs/{org_id}/customers/{customer_id}")
def update_customer_route(org_id: int, customer_id: int, body: CustomerPatch, door: Door) -> JSONResponse:
    write = services.update_customer(
        door.user, org_id, customer_id, credit_limit_fen=body.credit_limit, channel=body.channel
    )
    return door.respond(replace(write, answer=_customer_out), body)


@router.get("/orgs/{org_id}/customers")
def list_customers_route(org_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with read_tx(engine) as conn:
        require_company(conn, user, org_id)
        return json_answer([_customer_out(c) for c in catalogue.list_customers(conn, org_id)])


# -- stock ----------------------------------------------------------------------------------------------


def _stock_out(r: dict) -> dict:
    return {
        "sku": r["sku"],
        "name": r["name"],
        "unit": r["unit"],
        "quantity": format_quantity(r["qty_milli"]),
        "value": format_amount(r["value_fen"]),
        "average_cost": format_amount(round(r["avg_cost_mfen"] / 1000)) if r["avg_cost_mfen"] else "0.00",
    }


@router.post("/stores/{store_id}/purchases", status_code=201)
def purchase_route(store_id: int, body: PurchaseIn, door: Door) -> JSONResponse:
    """进货: stock in at cost, Dr 1405 [store] / Cr 2202 [supplier]."""
    door = door.keyed(body.idempotency_key)
    lines = [(ln.sku, ln.quantity, ln.cost) for ln in body.lines]
    bought = record_from(stock.Purchase, body, day=body.date, lines=lines)
    write = services.purchase(door.user, store_id, bought, idempotency_key=door.key)
    return door.respond(write, body)


@router.post("/stores/{store_id}/stock-adjustments", status_code=201)
def adjust_route(store_id: int, body: StockAdjustIn, door: Door) -> JSONResponse:
    """A stock adjustment (signed change) or a count (what is on the shelf), through 1901."""
    raw = body.quantity
    negative = raw.startswith("-")
    try:
        qty = parse_quantity(raw[1:] if negative else raw, field="quantity") if raw not in ("0", "-0") else 0
    except InvalidQuantity:
        if body.kind == "count" and raw.lstrip("-") in ("0", "0.0", "0.00", "0.000"):
            qty = 0
        else:
            raise
    if negative and body.kind == "count":
        raise ValidationError("a count is not negative", field="quantity")
    qty = -qty if negative else qty

    write = services.adjust_stock(
        door.user, store_id, day=body.date, sku=body.sku, kind=body.kind, qty_milli=qty, reason=body.reason
    )
    return door.respond(write, body)


@router.get("/stores/{store_id}/stock")
def stock_route(store_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with read_tx(engine) as conn:
        require_store(conn, user, store_id)
        return json_answer([_stock_out(r) for r in stock.stock_levels(conn, store_id)])


@router.get("/stores/{store_id}/stock-exceptions")
def stock_exceptions_route(store_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    """Products sold beyond recorded stock (negative quantity): count them or record the missing purchase."""
    with read_tx(engine) as conn:
        require_store(conn, user, store_id)
        return json_answer([_stock_out(r) for r in stock.stock_levels(conn, store_id, exceptions_only=True)])


# -- shifts ---------------------------------------------------------------------------------------------


@router.post("/shifts", status_code=201)
def open_shift_route(body: ShiftOpenIn, door: Door) -> JSONResponse:
    return door.respond(services.open_shift(door.user, body.store_id, body.float), body)


@router.get("/shifts/{shift_id}")
def shift_report_route(shift_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    """The shift report: takings by method and channel, expected vs counted cash, the voucher."""
    with read_tx(engine) as conn:
        return json_answer(shifts.shift_report(conn, user, shift_id))


@router.get("/stores/{store_id}/shifts")
def list_shifts_route(
    store_id: int, user: CurrentUser, engine: EngineDep, status: str | None = None
) -> Response:
    with read_tx(engine) as conn:
        return json_answer(shifts.list_shifts(conn, user, store_id, status))


@router.post("/shifts/{shift_id}/cash-moves", status_code=201)
def cash_move_route(shift_id: int, body: CashMoveIn, door: Door) -> JSONResponse:
    """备用金 pay-in (into the drawer) or payout (out of it), counted in the expected cash."""
    write = services.cash_move(door.user, shift_id, body.kind, body.amount, body.reason)
    return door.respond(write, body)


@router.post("/shifts/{shift_id}/close")
def close_shift_route(shift_id: int, body: ShiftCloseIn, door: Door) -> JSONResponse:
    """交班: counted cash in, one voucher per shift posted, the shift report out."""
    return door.respond(services.close_shift(door.user, shift_id, body.counted_cash), body)


@router.get("/villages/{village_id}/produce-sales")
def produce_sales_route(
    village_id: int,
    user: CurrentUser,
    engine: EngineDep,
    date_from: Annotated[Day, Query(alias="from")],
    date_to: Annotated[Day, Query(alias="to")],
) -> Response:
    """What a partner village's produce earned (by the products' origin), by product."""
    with read_tx(engine) as conn:
        org = user.require_org(conn, village_id)
        if org.kind not in ("village", "community"):
            raise ValidationError("produce comes from a partner village or community", field="village_id")
        day_range_params(conn, village_id, date_from, date_to)
        return json_answer(sales.produce_sales(conn, village_id, date_from, date_to))
