"""The POS HTTP API (/api/v1/pos): stores, catalogue, customers, stock, shifts, sales, refunds, batches.

Routes only parse, call a service in one write transaction and shape the answer; the rules live in
``pos.sales``, ``pos.shifts``, ``pos.stock``, ``pos.catalogue`` and the scope checks in ``pos.stores``.
Errors are ``LedgerError``s mapped in one place (``ledger.api.errors``); no route raises HTTPException.
A sale's response is stored with it and served verbatim, so a retry gets byte-for-byte the original.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from sqlalchemy import Connection, Engine

from ledger.access.auth import Principal, audit
from ledger.api.deps import (
    CurrentUser,
    EngineDep,
    IdempotencyKey,
    client_addr,
    current_principal,
    idempotency_key,
)
from ledger.api.routes.pos_schemas import (
    CashMoveIn,
    CustomerIn,
    CustomerPatch,
    ProductBody,
    PurchaseIn,
    RefundIn,
    SaleIn,
    ShiftCloseIn,
    ShiftOpenIn,
    StockAdjustIn,
    StoreIn,
    TaxRateIn,
)
from ledger.books.errors import InvalidQuantity, ValidationError
from ledger.books.money import format_amount, format_quantity, parse_quantity
from ledger.db.engine import is_sqlite, read_tx, run_write
from pos import catalogue, sales, shifts, stock
from pos.stores import add_store, list_stores, require_company, require_store, till_principal
from pos.writer import writer_for

router = APIRouter(prefix="/api/v1/pos", tags=["pos"])

JSON = "application/json"


def _json(body: Any, status: int = 200) -> Response:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
    return Response(content=text, status_code=status, media_type=JSON)


def _lead(request: Request) -> int:
    return request.app.state.settings.max_sale_lead_seconds


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

    def resolve_and_work(conn: Connection) -> sales.SaleResult:
        user = till_principal(conn, authorization) if authorization else current_principal(request, engine)
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
    return _json(result.body, 201 if result.created else 200)


@router.post("/sales:batch")
def create_batch_route(
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    sales_in: Annotated[list[dict[str, Any]], Body(alias="sales", embed=True, max_length=sales.MAX_BATCH)],
) -> Response:
    """Up to 500 queued offline sales; each is created, a duplicate, or rejected with its reason."""
    outcomes = sales.create_batch(engine, user, sales_in, max_lead_seconds=_lead(request))
    counts = {s: sum(o.status == s for o in outcomes) for s in ("created", "duplicate", "rejected")}
    return _json({"results": [o.__dict__ for o in outcomes], **counts})


@router.get("/sales/{sale_id}")
def get_sale_route(sale_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with read_tx(engine) as conn:
        return _json(sales.get_sale(conn, user, sale_id))


@router.get("/sales/{sale_id}/receipt", response_class=PlainTextResponse)
def receipt_route(sale_id: int, user: CurrentUser, engine: EngineDep) -> PlainTextResponse:
    """The 58 mm plain-text receipt (小票), 32 columns."""
    with read_tx(engine) as conn:
        sale = json.loads(sales.get_sale(conn, user, sale_id))
    return PlainTextResponse(sales.receipt_text(sale))


@router.post("/sales/{sale_id}/refunds", status_code=201)
async def create_refund_route(sale_id: int, body: RefundIn, request: Request) -> Response:
    """Refund lines of a sale by quantity; never more than remains refundable; idempotent like a sale."""
    lead = _lead(request)
    result = await _till_write(
        request,
        lambda conn, user, key: sales.create_refund(conn, user, sale_id, body, key, max_lead_seconds=lead),
    )
    return _json(result.body, 201 if result.created else 200)


@router.get("/stores/{store_id}/sales")
def list_sales_route(
    store_id: int,
    user: CurrentUser,
    engine: EngineDep,
    day: Annotated[date, Query(alias="date")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    with read_tx(engine) as conn:
        return _json(sales.list_sales(conn, user, store_id, day, limit, offset))


# -- stores and catalogue -------------------------------------------------------------------------------


@router.post("/stores", status_code=201)
def create_store_route(body: StoreIn, user: CurrentUser, engine: EngineDep, request: Request) -> Response:
    def work(conn):  # type: ignore[no-untyped-def]
        store = add_store(conn, user, company_id=body.company_id, code=body.code, name=body.name)
        audit(
            conn,
            user,
            "pos.store.create",
            org_id=store.org_id,
            detail=store.code,
            remote_addr=client_addr(request),
        )
        return store

    store = run_write(engine, work)
    return _json(store.__dict__, 201)


@router.get("/orgs/{org_id}/stores")
def list_stores_route(org_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with read_tx(engine) as conn:
        return _json([s.__dict__ for s in list_stores(conn, user, org_id)])


def _product_out(p: dict) -> dict:
    return {
        "id": p["id"],
        "sku": p["sku"],
        "barcode": p["barcode"],
        "name": p["name"],
        "unit": p["unit"],
        "price": format_amount(p["price_fen"]),
        "tax_category": p["tax_category"],
        "category": p["category"],
        "origin_org_id": p["origin_org_id"],
        "origin": p.get("origin_code"),
        "allow_price_override": bool(p["allow_price_override"]),
        "active": bool(p["active"]),
    }


def _product_in(p: ProductBody) -> catalogue.ProductIn:
    return catalogue.ProductIn(
        sku=p.sku,
        name=p.name,
        unit=p.unit,
        price_fen=p.price,
        barcode=p.barcode,
        tax_category=p.tax_category,
        category=p.category,
        origin_org_id=p.origin_org_id,
        allow_price_override=p.allow_price_override,
        active=p.active,
    )


@router.get("/orgs/{org_id}/products")
def list_products_route(org_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with read_tx(engine) as conn:
        require_company(conn, user, org_id)
        return _json([_product_out(p) for p in catalogue.list_products(conn, org_id)])


@router.put("/orgs/{org_id}/products", status_code=200)
def upsert_products_route(
    org_id: int, body: list[ProductBody], user: CurrentUser, engine: EngineDep, request: Request
) -> Response:
    """Create or update products by SKU."""

    def work(conn):  # type: ignore[no-untyped-def]
        require_company(conn, user, org_id, write=True)
        created, updated = catalogue.upsert_products(conn, org_id, [_product_in(p) for p in body])
        audit(
            conn,
            user,
            "pos.catalogue.upsert",
            org_id=org_id,
            detail=f"{created}+{updated}",
            remote_addr=client_addr(request),
        )
        return created, updated

    created, updated = run_write(engine, work)
    return _json({"created": created, "updated": updated})


@router.post("/orgs/{org_id}/products:import")
def import_catalogue_route(
    org_id: int,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    file: Annotated[UploadFile, File(description="CSV (UTF-8/GB18030) or XLSX with the export's columns")],
) -> Response:
    data = file.file.read()

    def work(conn):  # type: ignore[no-untyped-def]
        require_company(conn, user, org_id, write=True)
        created, updated = catalogue.import_catalogue(conn, org_id, data, file.filename or "catalogue.csv")
        audit(
            conn,
            user,
            "pos.catalogue.import",
            org_id=org_id,
            detail=f"{file.filename}: {created}+{updated}",
            remote_addr=client_addr(request),
        )
        return created, updated

    created, updated = run_write(engine, work)
    return _json({"created": created, "updated": updated})


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
    return _json(
        [
            {"category": r.category, "rate_bp": r.rate_bp, "effective_from": r.effective_from.isoformat()}
            for r in rates
        ]
    )


@router.post("/orgs/{org_id}/tax-rates", status_code=201)
def set_tax_rate_route(org_id: int, body: TaxRateIn, user: CurrentUser, engine: EngineDep) -> Response:
    def work(conn):  # type: ignore[no-untyped-def]
        require_company(conn, user, org_id, write=True)
        catalogue.set_tax_rate(conn, org_id, body.category, body.rate_bp, body.effective_from)
        audit(
            conn,
            user,
            "pos.tax_rate.set",
            org_id=org_id,
            detail=f"{body.category} {body.rate_bp}bp from {body.effective_from}",
        )

    run_write(engine, work)
    return _json(body.model_dump(mode="json"), 201)


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
def create_customer_route(org_id: int, body: CustomerIn, user: CurrentUser, engine: EngineDep) -> Response:
    def work(conn):  # type: ignore[no-untyped-def]
        require_company(conn, user, org_id, write=True)
        cid = catalogue.create_customer(
            conn,
            org_id,
            name=body.name,
            channel=body.channel,
            credit_limit_fen=body.credit_limit,
            kind=body.kind,
        )
        audit(conn, user, "pos.customer.create", org_id=org_id, detail=body.name)
        c = catalogue.get_customer(conn, org_id, cid)
        c["open_balance_fen"] = 0
        return c

    return _json(_customer_out(run_write(engine, work)), 201)


@router.patch("/orgs/{org_id}/customers/{customer_id}")
def update_customer_route(
    org_id: int, customer_id: int, body: CustomerPatch, user: CurrentUser, engine: EngineDep
) -> Response:
    def work(conn):  # type: ignore[no-untyped-def]
        require_company(conn, user, org_id, write=True)
        catalogue.update_customer(
            conn, org_id, customer_id, credit_limit_fen=body.credit_limit, channel=body.channel
        )
        audit(conn, user, "pos.customer.update", org_id=org_id, detail=f"{customer_id}")
        c = catalogue.get_customer(conn, org_id, customer_id)
        c["open_balance_fen"] = catalogue.open_balance(conn, org_id, c)
        return c

    return _json(_customer_out(run_write(engine, work)))


@router.get("/orgs/{org_id}/customers")
def list_customers_route(org_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with read_tx(engine) as conn:
        require_company(conn, user, org_id)
        return _json([_customer_out(c) for c in catalogue.list_customers(conn, org_id)])


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
def purchase_route(
    store_id: int,
    body: PurchaseIn,
    user: CurrentUser,
    engine: EngineDep,
    key: IdempotencyKey,
    request: Request,
) -> Response:
    """进货: stock in at cost, Dr 1405 [store] / Cr 2202 [supplier]."""

    def work(conn):  # type: ignore[no-untyped-def]
        store = require_store(conn, user, store_id, back_office=True)
        entry_id, voucher = stock.record_purchase(
            conn,
            user,
            store,
            day=body.date,
            supplier=body.supplier,
            village_org_id=body.village_org_id,
            lines=[(ln.sku, ln.quantity, ln.cost) for ln in body.lines],
            memo=body.memo,
            idempotency_key=key or body.idempotency_key,
        )
        audit(
            conn, user, "pos.purchase", org_id=store.org_id, detail=voucher, remote_addr=client_addr(request)
        )
        return {"entry_id": entry_id, "voucher_no": voucher}

    return _json(run_write(engine, work), 201)


@router.post("/stores/{store_id}/stock-adjustments", status_code=201)
def adjust_route(store_id: int, body: StockAdjustIn, user: CurrentUser, engine: EngineDep) -> Response:
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

    def work(conn):  # type: ignore[no-untyped-def]
        store = require_store(conn, user, store_id, back_office=True)
        out = stock.adjust_stock(
            conn, user, store, day=body.date, sku=body.sku, kind=body.kind, qty_milli=qty, reason=body.reason
        )
        audit(conn, user, f"pos.stock.{body.kind}", org_id=store.org_id, detail=f"{body.sku} {raw}")
        return out

    out = run_write(engine, work)
    return _json(
        {
            "sku": body.sku,
            "quantity_change": format_quantity(out["qty_milli"]),
            "value_change": format_amount(out["value_fen"]),
            "voucher_no": out["voucher_no"],
        },
        201,
    )


@router.get("/stores/{store_id}/stock")
def stock_route(store_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with read_tx(engine) as conn:
        require_store(conn, user, store_id)
        return _json([_stock_out(r) for r in stock.stock_levels(conn, store_id)])


@router.get("/stores/{store_id}/stock-exceptions")
def stock_exceptions_route(store_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    """Products sold beyond recorded stock (negative quantity): count them or record the missing purchase."""
    with read_tx(engine) as conn:
        require_store(conn, user, store_id)
        return _json([_stock_out(r) for r in stock.stock_levels(conn, store_id, exceptions_only=True)])


# -- shifts ---------------------------------------------------------------------------------------------


@router.post("/shifts", status_code=201)
def open_shift_route(body: ShiftOpenIn, user: CurrentUser, engine: EngineDep, request: Request) -> Response:
    def work(conn):  # type: ignore[no-untyped-def]
        shift_id = shifts.open_shift(conn, user, body.store_id, body.float)
        audit(conn, user, "pos.shift.open", detail=f"shift {shift_id}", remote_addr=client_addr(request))
        return shifts.shift_report(conn, user, shift_id)

    return _json(run_write(engine, work), 201)


@router.get("/shifts/{shift_id}")
def shift_report_route(shift_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    """The shift report: takings by method and channel, expected vs counted cash, the voucher."""
    with read_tx(engine) as conn:
        return _json(shifts.shift_report(conn, user, shift_id))


@router.get("/stores/{store_id}/shifts")
def list_shifts_route(
    store_id: int, user: CurrentUser, engine: EngineDep, status: str | None = None
) -> Response:
    with read_tx(engine) as conn:
        return _json(shifts.list_shifts(conn, user, store_id, status))


@router.post("/shifts/{shift_id}/cash-moves", status_code=201)
def cash_move_route(shift_id: int, body: CashMoveIn, user: CurrentUser, engine: EngineDep) -> Response:
    """备用金 pay-in (into the drawer) or payout (out of it), counted in the expected cash."""

    def work(conn):  # type: ignore[no-untyped-def]
        move_id = shifts.record_cash_move(conn, user, shift_id, body.kind, body.amount, body.reason)
        audit(conn, user, f"pos.shift.{body.kind}", detail=f"shift {shift_id} {format_amount(body.amount)}")
        return {"id": move_id, "shift_id": shift_id, "kind": body.kind, "amount": format_amount(body.amount)}

    return _json(run_write(engine, work), 201)


@router.post("/shifts/{shift_id}/close")
def close_shift_route(
    shift_id: int, body: ShiftCloseIn, user: CurrentUser, engine: EngineDep, request: Request
) -> Response:
    """交班: counted cash in, one voucher per shift posted, the shift report out."""

    def work(conn):  # type: ignore[no-untyped-def]
        report = shifts.close_shift(conn, user, shift_id, body.counted_cash)
        audit(
            conn,
            user,
            "pos.shift.close",
            detail=f"shift {shift_id} {report['voucher_no']}",
            remote_addr=client_addr(request),
        )
        return report

    return _json(run_write(engine, work))


@router.get("/villages/{village_id}/produce-sales")
def produce_sales_route(
    village_id: int,
    user: CurrentUser,
    engine: EngineDep,
    date_from: Annotated[date, Query(alias="from")],
    date_to: Annotated[date, Query(alias="to")],
) -> Response:
    """What a partner village's produce earned (by the products' origin), by product."""
    with read_tx(engine) as conn:
        org = user.require_org(conn, village_id)
        if org.kind not in ("village", "community"):
            raise ValidationError("produce comes from a partner village or community", field="village_id")
        return _json(sales.produce_sales(conn, village_id, date_from, date_to))
