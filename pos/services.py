"""The back office's and the till's state changes (all but a sale, which keeps its fast path in ``pos.sales``)
as services: each returns the ``Write`` a door (the API, the CLI) carries out with
``ledger.access.service.perform`` — scope, key, write, audit, in that order.

A store's writes are keyed in the store (``store:<id>``) and audited in its company; which store that is is
known only once the scope has found it (from a shift, a sale) and checked the caller may work there, so their
``keyspace`` and ``org_id`` follow from what the scope returned. A company's writes (stores, catalogue, tax
rates, customers) are keyed in the company. ``request`` is what a retry must repeat, the same from every door.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from ledger.access.auth import Principal
from ledger.access.service import Write, org_keys, store_keys
from ledger.books.errors import NotFound
from ledger.books.money import format_amount, format_quantity
from pos import catalogue, sales, shifts, stock
from pos.messages import RefundIn
from pos.stores import StoreRef, add_store, get_store, require_company, require_store


def _in_store(store: StoreRef) -> str:
    return store_keys(store.id)


def _store_org(store: StoreRef) -> int:
    return store.org_id


def _store_write(**fields: Any) -> Write[Any]:
    """A store's write: keyed in the store its ``scope`` found (a shift's, a sale's) and audited in the
    store's company."""
    return Write(keyspace=_in_store, org_id=_store_org, **fields)


def _shift_store(actor: Principal, shift_id: int) -> Callable[[Connection], StoreRef]:
    """A shift's writes: a shift of a store the caller works in, and a cashier's own (404 otherwise)."""

    def scope(conn: Connection) -> StoreRef:
        shift = shifts.shift_for(conn, actor, shift_id, own=True)
        return get_store(conn, shift["store_id"])

    return scope


def _sale_store(actor: Principal, sale_id: int) -> Callable[[Connection], StoreRef]:
    """A refund: a sale of a store the caller works in (404 for another store's sale)."""

    def scope(conn: Connection) -> StoreRef:
        store_id = conn.execute(
            select(sales.sale_t.c.store_id).where(sales.sale_t.c.id == sale_id)
        ).scalar_one_or_none()
        if store_id is None:
            raise NotFound(f"sale {sale_id} does not exist", field="sale_id")
        return require_store(conn, actor, store_id)

    return scope


# -- shifts -------------------------------------------------------------------------------------------------


def open_shift(
    actor: Principal, store_id: int, float_fen: int, *, opened_at: datetime | None = None
) -> Write[dict[str, Any]]:
    """开班: a shift of the caller's store with its cash float (备用金); answers the shift report.
    ``opened_at`` is the till's clock where it opens the shift of its own day (``pos.shifts.open_shift``)."""

    def run(conn: Connection) -> dict[str, Any]:
        shift_id = shifts.open_shift(conn, actor, store_id, float_fen, opened_at=opened_at)
        return shifts.shift_report(conn, actor, shift_id)

    return _store_write(
        action="pos.shift.open",
        scope=lambda conn: require_store(conn, actor, store_id),
        run=run,
        answer=lambda report: report,
        request={"shift.open": [store_id, float_fen, *([opened_at.isoformat()] if opened_at else [])]},
        detail=lambda report: f"shift {report['id']}",
    )


def cash_move(
    actor: Principal, shift_id: int, kind: str, amount_fen: int, reason: str
) -> Write[dict[str, Any]]:
    """备用金 pay-in (into the drawer) or payout (out of it), counted in the expected cash."""

    def run(conn: Connection) -> dict[str, Any]:
        move_id = shifts.record_cash_move(conn, actor, shift_id, kind, amount_fen, reason)
        return {"id": move_id, "shift_id": shift_id, "kind": kind, "amount": format_amount(amount_fen)}

    return _store_write(
        action=f"pos.shift.{kind}",
        scope=_shift_store(actor, shift_id),
        run=run,
        answer=lambda move: move,
        request={"shift.cash": [shift_id, kind, amount_fen, reason]},
        detail=f"shift {shift_id} {format_amount(amount_fen)}",
    )


def close_shift(actor: Principal, shift_id: int, counted_cash_fen: int) -> Write[dict[str, Any]]:
    """交班: the counted cash in, one voucher for the shift posted, the shift report out."""
    return _store_write(
        action="pos.shift.close",
        scope=_shift_store(actor, shift_id),
        run=lambda conn: shifts.close_shift(conn, actor, shift_id, counted_cash_fen),
        answer=lambda report: report,
        request={"shift.close": [shift_id, counted_cash_fen]},
        detail=lambda report: f"shift {shift_id} {report['voucher_no']}",
        status=200,
    )


# -- refunds ------------------------------------------------------------------------------------------------


def refund(
    actor: Principal, sale_id: int, body: RefundIn, key: str | None, *, max_lead_seconds: int = 300
) -> Write[sales.SaleResult]:
    """Refund lines of a sale by quantity, never more than remains; the answer is the refund as stored."""
    repeated = body.model_dump(mode="json", exclude={"idempotency_key", "refunded_at"})
    return _store_write(
        action="pos.refund",
        scope=_sale_store(actor, sale_id),
        run=lambda conn: sales.create_refund(
            conn, actor, sale_id, body, key, max_lead_seconds=max_lead_seconds
        ),
        answer=lambda result: json.loads(result.body),
        # what a retry must repeat is what the refund's own key checks (pos.sales: not the till's clock)
        request={"refund": [sale_id, repeated]},
        detail=lambda result: f"sale {sale_id} refund {result.sale_id}",
    )


# -- stock --------------------------------------------------------------------------------------------------


def purchase(
    actor: Principal, store_id: int, bought: stock.Purchase, *, idempotency_key: str | None = None
) -> Write[dict[str, Any]]:
    """进货: stock in at cost, Dr 1405 [store] / Cr 2202 [supplier]."""

    def run(conn: Connection) -> dict[str, Any]:
        store = get_store(conn, store_id)
        entry_id, voucher = stock.record_purchase(conn, actor, store, bought, idempotency_key=idempotency_key)
        return {"entry_id": entry_id, "voucher_no": voucher}

    return _store_write(
        action="pos.purchase",
        scope=lambda conn: require_store(conn, actor, store_id, back_office=True),
        run=run,
        answer=lambda done: done,
        request={
            "purchase": [
                store_id,
                bought.day.isoformat(),
                bought.supplier,
                bought.village_org_id,
                [*map(list, bought.lines)],
                bought.memo,
            ]
        },
        detail=lambda done: done["voucher_no"],
    )


def adjust_stock(
    actor: Principal, store_id: int, *, day: date, sku: str, kind: str, qty_milli: int, reason: str
) -> Write[dict[str, Any]]:
    """A stock adjustment (``qty_milli`` a signed change) or a count (what is on the shelf), through 1901."""

    def run(conn: Connection) -> dict[str, Any]:
        store = get_store(conn, store_id)
        return stock.adjust_stock(
            conn, actor, store, day=day, sku=sku, kind=kind, qty_milli=qty_milli, reason=reason
        )

    return _store_write(
        action=f"pos.stock.{kind}",
        scope=lambda conn: require_store(conn, actor, store_id, back_office=True),
        run=run,
        answer=lambda out: {
            "sku": sku,
            "quantity_change": format_quantity(out["qty_milli"]),
            "value_change": format_amount(out["value_fen"]),
            "voucher_no": out["voucher_no"],
        },
        request={"stock": [store_id, day.isoformat(), sku, kind, qty_milli, reason]},
        detail=f"{sku} {kind} {format_quantity(qty_milli)}",
    )


# -- the company: stores, catalogue, tax rates, customers ---------------------------------------------------


def _company_write(actor: Principal, org_id: int, **fields: Any) -> Write[Any]:
    """A company's write: keyed and audited in the company, for its officers and admins (``pos.stores``)."""
    return Write(
        keyspace=org_keys(org_id),
        org_id=org_id,
        scope=lambda conn: require_company(conn, actor, org_id, write=True),
        **fields,
    )


def create_store(actor: Principal, company_id: int, *, code: str, name: str) -> Write[StoreRef]:
    """开店: a village–community supermarket under a company, with the default tax rates if it has none."""

    def run(conn: Connection) -> StoreRef:
        store = add_store(conn, actor, company_id=company_id, code=code, name=name)
        catalogue.ensure_default_rates(conn, company_id)
        return store

    return _company_write(
        actor,
        company_id,
        action="pos.store.create",
        run=run,
        answer=lambda store: dict(store.__dict__),
        request={"store": [company_id, code, name]},
        detail=lambda store: store.code,
    )


def upsert_products(
    actor: Principal, org_id: int, products: Sequence[catalogue.ProductIn], *, request: Any
) -> Write[tuple[int, int]]:
    """Create or update products by SKU; ``request`` is the products as the caller sent them."""
    return _company_write(
        actor,
        org_id,
        action="pos.catalogue.upsert",
        run=lambda conn: catalogue.upsert_products(conn, org_id, products),
        answer=lambda done: {"created": done[0], "updated": done[1]},
        request={"products": [org_id, request]},
        detail=lambda done: f"{done[0]}+{done[1]}",
        status=200,
    )


def import_catalogue(actor: Principal, org_id: int, data: bytes, filename: str) -> Write[tuple[int, int]]:
    """导入商品: create or update products by SKU from a CSV (UTF-8/GB18030) or XLSX file."""
    return _company_write(
        actor,
        org_id,
        action="pos.catalogue.import",
        run=lambda conn: catalogue.import_catalogue(conn, org_id, data, filename),
        answer=lambda done: {"created": done[0], "updated": done[1]},
        request={"catalogue": [org_id, filename, hashlib.sha256(data).hexdigest()]},
        detail=lambda done: f"{filename}: {done[0]}+{done[1]}",
        status=200,
    )


def set_tax_rate(
    actor: Principal, org_id: int, category: str, rate_bp: int, effective_from: date
) -> Write[None]:
    """A dated row of the company's tax-rate table (confirm rates with the local tax office)."""
    return _company_write(
        actor,
        org_id,
        action="pos.tax_rate.set",
        run=lambda conn: catalogue.set_tax_rate(conn, org_id, category, rate_bp, effective_from),
        answer=lambda _done: {
            "category": category,
            "rate_bp": rate_bp,
            "effective_from": effective_from.isoformat(),
        },
        request={"tax_rate": [org_id, category, rate_bp, effective_from.isoformat()]},
        detail=f"{category} {rate_bp}bp from {effective_from}",
    )


def create_customer(
    actor: Principal, org_id: int, *, name: str, channel: str, credit_limit_fen: int, kind: str
) -> Write[dict[str, Any]]:
    """A credit customer (a canteen, an agency, a relocation site) of a 六进 channel."""

    def run(conn: Connection) -> dict[str, Any]:
        cid = catalogue.create_customer(
            conn, org_id, name=name, channel=channel, credit_limit_fen=credit_limit_fen, kind=kind
        )
        customer = catalogue.get_customer(conn, org_id, cid)
        customer["open_balance_fen"] = 0
        return customer

    return _company_write(
        actor,
        org_id,
        action="pos.customer.create",
        run=run,
        answer=lambda customer: customer,
        request={"customer": [org_id, name, channel, credit_limit_fen, kind]},
        detail=name,
    )


def update_customer(
    actor: Principal, org_id: int, customer_id: int, *, credit_limit_fen: int | None, channel: str | None
) -> Write[dict[str, Any]]:
    """A customer's credit limit or channel changed."""

    def run(conn: Connection) -> dict[str, Any]:
        catalogue.update_customer(
            conn, org_id, customer_id, credit_limit_fen=credit_limit_fen, channel=channel
        )
        customer = catalogue.get_customer(conn, org_id, customer_id)
        customer["open_balance_fen"] = catalogue.open_balance(conn, org_id, customer)
        return customer

    return _company_write(
        actor,
        org_id,
        action="pos.customer.update",
        run=run,
        answer=lambda customer: customer,
        request={"customer.update": [org_id, customer_id, credit_limit_fen, channel]},
        detail=f"{customer_id}",
        status=200,
    )
