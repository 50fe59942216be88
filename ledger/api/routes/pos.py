"""The POS HTTP API (/api/v1/pos): stores, catalogue, customers, stock, shifts, sales, refunds, batches.

Routes only parse, call a service in one write transaction and shape the answer; the rules live in
``pos.sales``, ``pos.shifts``, ``pos.stock``, ``pos.catalogue`` and the scope checks in ``pos.stores``.
Errors are ``LedgerError``s mapped in one place (``ledger.api.errors``); no route raises HTTPException.

Every write but the till's sales goes through the one write path (``ledger.access.service``: scope → key
→ write → audit): org-level routes with ``write_org``, store-level routes with ``_store_write`` (keys of
``store:<id>``). A sale (``POST /sales``, ``/sales:batch``) keeps its fast path (``pos.sales``,
``pos.writer``) and its own key table, scope first as well: ``require_store`` runs before ``_replay``,
whose keys are the store's own. A sale's response is stored with it and served verbatim, so a retry gets
byte-for-byte the original.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import Connection, Engine, select

from ledger.access.auth import Principal
from ledger.access.messages import Day
from ledger.access.service import Write, perform, store_keys
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
    ShiftCloseIn,
    ShiftOpenIn,
    StockAdjustIn,
    StoreIn,
    TaxRateIn,
)
from ledger.api.writes import as_json, fingerprint, write_org
from ledger.books.errors import InvalidQuantity, NotFound, ValidationError
from ledger.books.money import format_amount, format_quantity, parse_quantity
from ledger.db.engine import is_sqlite, read_tx, run_write
from pos import catalogue, sales, shifts, stock
from pos.messages import RefundIn, SaleIn
from pos.stores import (
    StoreRef,
    add_store,
    get_store,
    list_stores,
    require_company,
    require_store,
    till_principal,
)
from pos.writer import writer_for

router = APIRouter(prefix="/api/v1/pos", tags=["pos"])

JSON = "application/json"


def _json(body: Any, status: int = 200) -> Response:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, default=str)
    return Response(content=text, status_code=status, media_type=JSON)


def _lead(request: Request) -> int:
    return request.app.state.settings.max_sale_lead_seconds


# -- the write path for store-level routes ----------------------------------------------------------------


def _store_write(
    engine: Engine,
    user: Principal,
    request: Request,
    key: str | None,
    *,
    scope: Callable[[Connection], StoreRef],
    action: str,
    run: Callable[[Connection, StoreRef], Any],
    body: Any = None,
    answer: Callable[[Any], Any] = lambda result: result,
    detail: Callable[[Any], str] | str = "",
    status: int = 201,
) -> JSONResponse:
    """``respond`` for a write to one store: keys of ``store:<id>``, audited in the store's company.

    The store (so the keyspace and the org) is known only once ``scope`` has found it — from the path, the
    body, a shift or a sale — and checked the caller may work in it (404/403 otherwise). So the ``Write`` is
    built in the write transaction right after that check, and ``perform`` goes on with key → write →
    audit: another store's key is never looked up."""
    remote_addr = client_addr(request)
    request_doc = fingerprint(request, body)

    def work(conn: Connection) -> Any:
        store = scope(conn)
        write: Write[Any] = Write(
            action=action,
            keyspace=store_keys(store.id),
            org_id=store.org_id,
            scope=lambda _conn: store,  # checked just above, before any key is looked up
            run=lambda conn: run(conn, store),
            answer=lambda result: as_json(answer(result)),
            request=request_doc,
            detail=detail,
            status=status,
        )
        return perform(conn, user, write, key=key, remote_addr=remote_addr)

    done = run_write(engine, work)
    return JSONResponse(done.body, status_code=done.status)


def _shift_store(user: Principal, shift_id: int) -> Callable[[Connection], StoreRef]:
    """Scope of a shift's writes: a shift of a store the caller works in, and a cashier's own (404)."""

    def scope(conn: Connection) -> StoreRef:
        shift = shifts._shift(conn, user, shift_id, own=True)
        return get_store(conn, shift["store_id"])

    return scope


def _sale_store(user: Principal, sale_id: int) -> Callable[[Connection], StoreRef]:
    """Scope of a refund: a sale of a store the caller works in (404 for another store's sale, as today)."""

    def scope(conn: Connection) -> StoreRef:
        store_id = conn.execute(
            select(sales.sale_t.c.store_id).where(sales.sale_t.c.id == sale_id)
        ).scalar_one_or_none()
        if store_id is None:
            raise NotFound(f"sale {sale_id} does not exist", field="sale_id")
        return require_store(conn, user, store_id)

    return scope


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
    key: IdempotencyKey,
) -> Response:
    """Up to 500 queued offline sales; each is created, a duplicate, or rejected with its reason.

    Every store the batch names must be the caller's (404 for the whole batch otherwise). Each sale keeps
    its own key; with an ``Idempotency-Key`` the batch's answer is kept too, so a retried upload answers
    exactly what the first one did."""
    lead = _lead(request)
    parsed, bodies = sales.parse_batch(sales_in)

    def answer(outcomes: list[sales.BatchOutcome]) -> dict[str, Any]:
        counts = {s: sum(o.status == s for o in outcomes) for s in ("created", "duplicate", "rejected")}
        return {"results": [o.__dict__ for o in outcomes], **counts}

    def work(conn: Connection) -> Any:
        stores = sales.batch_stores(conn, user, bodies)
        first = min(stores) if stores else (user.scope_store_id or 0)
        write: Write[Any] = Write(
            action="pos.batch",
            keyspace=store_keys(first),
            org_id=stores[first].org_id if stores else None,
            scope=lambda _conn: stores,  # every store of the batch, checked just above
            run=lambda conn: sales.record_batch(
                conn, user, list(parsed), bodies, stores, max_lead_seconds=lead
            ),
            answer=lambda outcomes: as_json(answer(outcomes)),
            request=fingerprint(request, sales_in),
            detail=lambda outcomes: None if key is None else f"{len(outcomes)} sales",
            status=200,
        )
        return perform(conn, user, write, key=key, remote_addr=client_addr(request))

    done = sales.write_idempotent(engine, work)
    return _json(done.body, done.status)


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
def create_refund_route(
    sale_id: int,
    body: RefundIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    """Refund lines of a sale by quantity; never more than remains refundable; idempotent like a sale."""
    key = key or body.idempotency_key
    lead = _lead(request)

    def run(conn: Connection, store: StoreRef) -> sales.SaleResult:
        return sales.create_refund(conn, user, sale_id, body, key, max_lead_seconds=lead)

    return _store_write(
        engine,
        user,
        request,
        key,
        scope=_sale_store(user, sale_id),
        action="pos.refund",
        run=run,
        # what a retry must repeat is what the refund's own key checks (pos.sales: not the till's clock)
        body=body.model_dump(mode="json", exclude={"idempotency_key", "refunded_at"}),
        answer=lambda result: json.loads(result.body),
        detail=lambda result: f"sale {sale_id} refund {result.sale_id}",
    )


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
        return _json(sales.list_sales(conn, user, store_id, day, limit, offset))


# -- stores and catalogue -------------------------------------------------------------------------------


@router.post("/stores", status_code=201)
def create_store_route(
    body: StoreIn, user: CurrentUser, engine: EngineDep, request: Request, key: IdempotencyKey
) -> JSONResponse:
    return write_org(
        engine,
        user,
        request,
        key,
        org_id=body.company_id,
        scope=lambda conn: require_company(conn, user, body.company_id, write=True),
        action="pos.store.create",
        run=lambda conn: add_store(conn, user, company_id=body.company_id, code=body.code, name=body.name),
        body=body,
        answer=lambda store: store.__dict__,
        detail=lambda store: store.code,
    )


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
        "max_price": format_amount(p["max_price_fen"]) if p.get("max_price_fen") is not None else None,
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
        max_price_fen=p.max_price,
        active=p.active,
    )


@router.get("/orgs/{org_id}/products")
def list_products_route(org_id: int, user: CurrentUser, engine: EngineDep) -> Response:
    with read_tx(engine) as conn:
        require_company(conn, user, org_id)
        return _json([_product_out(p) for p in catalogue.list_products(conn, org_id)])


def _catalogue_scope(user: Principal, org_id: int) -> Callable[[Connection], object]:
    """Scope of the back office's org-level writes: officers and admins of the company (``pos.stores``)."""
    return lambda conn: require_company(conn, user, org_id, write=True)


@router.put("/orgs/{org_id}/products", status_code=200)
def upsert_products_route(
    org_id: int,
    body: list[ProductBody],
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    """Create or update products by SKU."""
    return write_org(
        engine,
        user,
        request,
        key,
        org_id=org_id,
        scope=_catalogue_scope(user, org_id),
        action="pos.catalogue.upsert",
        run=lambda conn: catalogue.upsert_products(conn, org_id, [_product_in(p) for p in body]),
        body=body,
        answer=lambda done: {"created": done[0], "updated": done[1]},
        detail=lambda done: f"{done[0]}+{done[1]}",
        status=200,
    )


@router.post("/orgs/{org_id}/products:import")
def import_catalogue_route(
    org_id: int,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    file: Annotated[UploadFile, File(description="CSV (UTF-8/GB18030) or XLSX with the export's columns")],
    key: IdempotencyKey,
) -> JSONResponse:
    data = file.file.read()
    filename = file.filename or "catalogue.csv"
    return write_org(
        engine,
        user,
        request,
        key,
        org_id=org_id,
        scope=_catalogue_scope(user, org_id),
        action="pos.catalogue.import",
        run=lambda conn: catalogue.import_catalogue(conn, org_id, data, filename),
        body={"filename": file.filename, "sha256": hashlib.sha256(data).hexdigest()},
        answer=lambda done: {"created": done[0], "updated": done[1]},
        detail=lambda done: f"{file.filename}: {done[0]}+{done[1]}",
        status=200,
    )


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
def set_tax_rate_route(
    org_id: int,
    body: TaxRateIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    return write_org(
        engine,
        user,
        request,
        key,
        org_id=org_id,
        scope=_catalogue_scope(user, org_id),
        action="pos.tax_rate.set",
        run=lambda conn: catalogue.set_tax_rate(
            conn, org_id, body.category, body.rate_bp, body.effective_from
        ),
        body=body,
        answer=lambda _done: body.model_dump(mode="json"),
        detail=f"{body.category} {body.rate_bp}bp from {body.effective_from}",
    )


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
def create_customer_route(
    org_id: int,
    body: CustomerIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    def work(conn):  # type: ignore[no-untyped-def]
        cid = catalogue.create_customer(
            conn,
            org_id,
            name=body.name,
            channel=body.channel,
            credit_limit_fen=body.credit_limit,
            kind=body.kind,
        )
        c = catalogue.get_customer(conn, org_id, cid)
        c["open_balance_fen"] = 0
        return c

    return write_org(
        engine,
        user,
        request,
        key,
        org_id=org_id,
        scope=_catalogue_scope(user, org_id),
        action="pos.customer.create",
        run=work,
        body=body,
        answer=_customer_out,
        detail=body.name,
    )


@router.patch("/orgs/{org_id}/customers/{customer_id}")
def update_customer_route(
    org_id: int,
    customer_id: int,
    body: CustomerPatch,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    def work(conn):  # type: ignore[no-untyped-def]
        catalogue.update_customer(
            conn, org_id, customer_id, credit_limit_fen=body.credit_limit, channel=body.channel
        )
        c = catalogue.get_customer(conn, org_id, customer_id)
        c["open_balance_fen"] = catalogue.open_balance(conn, org_id, c)
        return c

    return write_org(
        engine,
        user,
        request,
        key,
        org_id=org_id,
        scope=_catalogue_scope(user, org_id),
        action="pos.customer.update",
        run=work,
        body=body,
        answer=_customer_out,
        detail=f"{customer_id}",
        status=200,
    )


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
) -> JSONResponse:
    """进货: stock in at cost, Dr 1405 [store] / Cr 2202 [supplier]."""
    key = key or body.idempotency_key

    def work(conn: Connection, store: StoreRef) -> dict[str, Any]:
        entry_id, voucher = stock.record_purchase(
            conn,
            user,
            store,
            day=body.date,
            supplier=body.supplier,
            village_org_id=body.village_org_id,
            lines=[(ln.sku, ln.quantity, ln.cost) for ln in body.lines],
            memo=body.memo,
            idempotency_key=key,
        )
        return {"entry_id": entry_id, "voucher_no": voucher}

    return _store_write(
        engine,
        user,
        request,
        key,
        scope=lambda conn: require_store(conn, user, store_id, back_office=True),
        action="pos.purchase",
        run=work,
        body=body,
        detail=lambda done: done["voucher_no"],
    )


@router.post("/stores/{store_id}/stock-adjustments", status_code=201)
def adjust_route(
    store_id: int,
    body: StockAdjustIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
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

    def work(conn: Connection, store: StoreRef) -> dict:
        return stock.adjust_stock(
            conn, user, store, day=body.date, sku=body.sku, kind=body.kind, qty_milli=qty, reason=body.reason
        )

    return _store_write(
        engine,
        user,
        request,
        key,
        scope=lambda conn: require_store(conn, user, store_id, back_office=True),
        action=f"pos.stock.{body.kind}",
        run=work,
        body=body,
        answer=lambda out: {
            "sku": body.sku,
            "quantity_change": format_quantity(out["qty_milli"]),
            "value_change": format_amount(out["value_fen"]),
            "voucher_no": out["voucher_no"],
        },
        detail=f"{body.sku} {raw}",
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
def open_shift_route(
    body: ShiftOpenIn, user: CurrentUser, engine: EngineDep, request: Request, key: IdempotencyKey
) -> JSONResponse:
    def work(conn: Connection, store: StoreRef) -> dict:
        shift_id = shifts.open_shift(conn, user, store.id, body.float)
        return shifts.shift_report(conn, user, shift_id)

    return _store_write(
        engine,
        user,
        request,
        key,
        scope=lambda conn: require_store(conn, user, body.store_id),
        action="pos.shift.open",
        run=work,
        body=body,
        detail=lambda report: f"shift {report['id']}",
    )


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
def cash_move_route(
    shift_id: int,
    body: CashMoveIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    """备用金 pay-in (into the drawer) or payout (out of it), counted in the expected cash."""

    def work(conn: Connection, store: StoreRef) -> dict:
        move_id = shifts.record_cash_move(conn, user, shift_id, body.kind, body.amount, body.reason)
        return {"id": move_id, "shift_id": shift_id, "kind": body.kind, "amount": format_amount(body.amount)}

    return _store_write(
        engine,
        user,
        request,
        key,
        scope=_shift_store(user, shift_id),
        action=f"pos.shift.{body.kind}",
        run=work,
        body=body,
        detail=f"shift {shift_id} {format_amount(body.amount)}",
    )


@router.post("/shifts/{shift_id}/close")
def close_shift_route(
    shift_id: int,
    body: ShiftCloseIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    key: IdempotencyKey,
) -> JSONResponse:
    """交班: counted cash in, one voucher per shift posted, the shift report out."""
    return _store_write(
        engine,
        user,
        request,
        key,
        scope=_shift_store(user, shift_id),
        action="pos.shift.close",
        run=lambda conn, store: shifts.close_shift(conn, user, shift_id, body.counted_cash),
        body=body,
        detail=lambda report: f"shift {shift_id} {report['voucher_no']}",
        status=200,
    )


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
        return _json(sales.produce_sales(conn, village_id, date_from, date_to))
