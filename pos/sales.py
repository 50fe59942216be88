"""Sales and refunds at the till: the hot path of the POS.

A sale is a POS record, not a journal entry: it writes its rows (sale, lines, payments, stock relief and a
receipt number) in one transaction with a handful of Core statements, and the books get one voucher per
shift when the shift closes (``pos.shifts``). The arithmetic is DESIGN §2 exactly and lives in
``pos.pricing`` (pure): line amount = quantity × unit price rounded half-up once; per sale and tax rate,
net = round(gross / (1 + rate)) and tax = gross − net, the net spread over that rate's lines by largest
remainder so that sums by category tie to the fen.

Idempotency: the client's key is unique per store; the sale keeps the fingerprint of the body and the
response it got, so the same key and body returns the original response, a different body is a 409. A
refund is a sale of kind ``refund`` with negative amounts that points at the original lines; it can never
take back more than remains refundable, and it mirrors the original's channel and tax. This module must
never post to the books, and never let one bad sale of an offline batch reject the good ones.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import IntegrityError

from ledger.access.auth import Principal
from ledger.access.messages import field_path
from ledger.books.county_time import CHINA, business_date
from ledger.books.errors import (
    Conflict,
    IdempotencyConflict,
    LedgerError,
    NotFound,
    ValidationError,
)
from ledger.books.money import (
    allocate_largest_remainder,
    check_bound,
    format_amount,
    format_quantity,
    line_amount,
    round_half_up,
)
from ledger.books.orgs import now
from ledger.db.engine import locking, run_write
from pos.catalogue import TaxRate, get_customer, open_balance, rate_on
from pos.fastsql import Sql, as_date, db_date, db_time, is_pg
from pos.messages import RefundIn, SaleIn
from pos.models import PosPayment, PosReceiptCounter, PosSale, PosSaleLine, PosShift
from pos.pricing import split_sale_tax, tender, unit_price
from pos.stock import StockRow, lock_stock, save_stock
from pos.stores import StoreRef, require_store

sale_t = PosSale.__table__
line_t = PosSaleLine.__table__
pay_t = PosPayment.__table__
shift_t = PosShift.__table__
counter_t = PosReceiptCounter.__table__

METHOD_NAMES = {
    "cash": "现金",
    "wechat": "微信支付",
    "alipay": "支付宝",
    "unionpay": "银联/云闪付",
    "ecny": "数字人民币",
    "credit": "挂账",
}
# The receipt's words in Chinese, the thermal printer's language (``receipt_text``'s default); the shell gives
# another reader's words from its catalogues (``ledger.web.till.receipt_words``, the same keys).
RECEIPT_WORDS_ZH: dict[str, str] = {
    "no": "单号",
    "time": "时间",
    "cashier": "收银",
    "customer": "客户",
    "total": "合计({count}项)",
    "tax": "其中税额",
    "change": "找零",
    "sale": "销售小票",
    "refund": "退货单",
    "thanks": "谢谢惠顾 村社联动超市",
    **METHOD_NAMES,
}
MAX_BATCH = 500

T = TypeVar("T")


@dataclass(frozen=True)
class SaleResult:
    sale_id: int
    body: str  # the response JSON, stored with the sale and returned verbatim on a retry
    created: bool


class ShiftClosed(Conflict):
    """Sales and refunds need an open shift."""

    code = "shift_closed"


class CreditLimitExceeded(Conflict):
    """A credit sale (挂账) would take the customer's open balance over the credit limit."""

    code = "credit_limit_exceeded"


class UnknownProduct(ValidationError):
    """A line names a SKU or barcode that is not in the company's active catalogue."""

    code = "unknown_product"


class RefundExceedsSale(Conflict):
    """A refund would take back more than remains refundable of a line."""

    code = "refund_exceeds_sale"


# -- shared steps ---------------------------------------------------------------------------------------


SALE_COLUMNS = (
    "org_id",
    "store_id",
    "shift_id",
    "kind",
    "original_sale_id",
    "business_date",
    "receipt_seq",
    "receipt_no",
    "sold_at",
    "channel",
    "customer_id",
    "total_fen",
    "tax_fen",
    "cost_fen",
    "tendered_fen",
    "change_fen",
    "cashier_user_id",
    "idempotency_key",
    "request_hash",
    "response_json",
    "created_at",
)
LINE_COLUMNS = (
    "org_id",
    "sale_id",
    "line_no",
    "product_id",
    "original_line_id",
    "qty_milli",
    "unit_price_fen",
    "amount_fen",
    "net_fen",
    "tax_fen",
    "tax_rate_bp",
    "product_category",
    "cost_fen",
    "override_reason",
)
PAY_COLUMNS = ("org_id", "sale_id", "method", "amount_fen", "reference")


def _insert_sql(table: str, columns: tuple[str, ...], returning: str = "") -> Sql:
    cols = ", ".join(columns)
    values = ", ".join(f":{c}" for c in columns)
    return Sql(
        f"INSERT INTO {table} ({cols}) VALUES ({values})" + (f" RETURNING {returning}" if returning else "")
    )


_INSERT_SALE = _insert_sql("pos_sale", SALE_COLUMNS, "id")
_INSERT_LINE = _insert_sql("pos_sale_line", LINE_COLUMNS)
_INSERT_PAY = _insert_sql("pos_payment", PAY_COLUMNS)
_REPLAY = Sql(
    "SELECT id, request_hash, response_json FROM pos_sale WHERE store_id = :store AND idempotency_key = :key"
)
_SET_RECEIPT = Sql(
    "UPDATE pos_receipt_counter SET last_no = :last WHERE store_id = :store AND business_date = :day"
)
_SHIFT = Sql("SELECT store_id, status, cashier_user_id FROM pos_shift WHERE id = :id")
_SHIFT_SHARED = Sql(_SHIFT.sqlite + " FOR SHARE")  # PostgreSQL: a concurrent close waits for this sale
_RECEIPT = Sql(
    "INSERT INTO pos_receipt_counter (store_id, business_date, org_id, last_no) "
    "VALUES (:store, :day, :org, 1) "
    "ON CONFLICT (store_id, business_date) DO UPDATE SET last_no = pos_receipt_counter.last_no + 1 "
    "RETURNING last_no"
)
_RATES = Sql("SELECT category, rate_bp, effective_from FROM pos_tax_rate WHERE org_id = :org")
_PRODUCT_COLUMNS = (
    "id, sku, barcode, name, unit, price_fen, tax_category, category, allow_price_override, max_price_fen"
)


@lru_cache(maxsize=256)
def _products_sql(n_skus: int, n_barcodes: int) -> Sql:
    cond = []
    if n_skus:
        cond.append("sku IN (" + ", ".join(f":s{i}" for i in range(n_skus)) + ")")
    if n_barcodes:
        cond.append("barcode IN (" + ", ".join(f":b{i}" for i in range(n_barcodes)) + ")")
    return Sql(
        f"SELECT {_PRODUCT_COLUMNS} FROM pos_product WHERE org_id = :org AND active AND ({' OR '.join(cond)})"
    )


def _catalogue(conn: Connection, org_id: int, skus: set[str], barcodes: set[str]) -> dict[str, dict]:
    """Active products keyed ``sku:<sku>`` and ``bar:<barcode>``: one query per sale."""
    if not skus and not barcodes:
        return {}
    params: dict[str, Any] = {"org": org_id}
    params.update({f"s{i}": v for i, v in enumerate(sorted(skus))})
    params.update({f"b{i}": v for i, v in enumerate(sorted(barcodes))})
    out: dict[str, dict] = {}
    cursor = _products_sql(len(skus), len(barcodes)).run(conn, params)
    names = [d[0] for d in cursor.description]
    for r in cursor.fetchall():
        p = dict(zip(names, r, strict=True))
        out[f"sku:{p['sku']}"] = p
        if p["barcode"]:
            out[f"bar:{p['barcode']}"] = p
    return out


def _tax_rates(conn: Connection, org_id: int) -> list[TaxRate]:
    rows = _RATES.run(conn, {"org": org_id}).fetchall()
    return sorted(
        (TaxRate(r[0], r[1], as_date(r[2])) for r in rows), key=lambda t: (t.category, t.effective_from)
    )


def with_id(sale_id: int, stored: str) -> str:
    """The stored response (kept without its id, which is only known after the insert) with the id first."""
    return f'{{"id":{sale_id},' + stored[1:]


def _replay(conn: Connection, store_id: int, key: str, fingerprint: str) -> SaleResult | None:
    row = _REPLAY.run(conn, {"store": store_id, "key": key}).fetchone()
    if row is None:
        return None
    if row[1] != fingerprint:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was already used for a different sale (id {row[0]})",
            field="idempotency_key",
        )
    return SaleResult(row[0], with_id(row[0], row[2]), created=False)


def _open_shift(conn: Connection, user: Principal, store: StoreRef, shift_id: int) -> Any:
    shift = (_SHIFT_SHARED if is_pg(conn) else _SHIFT).run(conn, {"id": shift_id}).fetchone()
    if shift is None or shift[0] != store.id:
        raise NotFound(f"shift {shift_id} is not a shift of store {store.id}", field="shift_id")
    if shift[1] != "open":
        raise ShiftClosed(f"shift {shift_id} is closed; open a new shift", field="shift_id")
    if user.role == "cashier" and shift[2] != user.user_id:
        raise NotFound(f"shift {shift_id} is not one of your shifts", field="shift_id")
    return shift


def _receipt_number(conn: Connection, store: StoreRef, day: date) -> tuple[int, str]:
    seq = _RECEIPT.run(conn, {"store": store.id, "day": db_date(conn, day), "org": store.org_id}).fetchone()[
        0
    ]
    return seq, _receipt_text(store, day, seq)


def _receipt_text(store: StoreRef, day: date, seq: int) -> str:
    """The receipt number printed and scanned: the store's code, the business day, the day's sequence."""
    return f"{store.code}-{day:%Y%m%d}-{seq:04d}"


def _as_utc(at: datetime) -> datetime:
    return (at if at.tzinfo is not None else at.replace(tzinfo=CHINA)).astimezone(UTC)


def _rate_text(bp: int) -> str:
    return f"{bp / 100:g}%"


def _insert_sale_row(conn: Connection, row: dict, response: dict) -> tuple[SaleResult, int]:
    """Write the sale's row; the stored response is the JSON without the id."""
    stored = json.dumps(response, ensure_ascii=False, separators=(",", ":"))
    params = {
        **row,
        "response_json": stored,
        "business_date": db_date(conn, row["business_date"]),
        "sold_at": db_time(conn, row["sold_at"]),
        "created_at": db_time(conn, row["created_at"]),
    }
    sale_id = _INSERT_SALE.run(conn, params).fetchone()[0]
    return SaleResult(sale_id, with_id(sale_id, stored), created=True), sale_id


def _insert_sale(
    conn: Connection, row: dict, response: dict, lines: list[dict], payments: list[dict]
) -> SaleResult:
    """Write the sale, its lines and payments (a refund); the stored response is the JSON without the id."""
    result, sale_id = _insert_sale_row(conn, row, response)
    _INSERT_LINE.run(conn, [{**{c: ln.get(c) for c in LINE_COLUMNS}, "sale_id": sale_id} for ln in lines])
    _INSERT_PAY.run(conn, [{**{c: p.get(c) for c in PAY_COLUMNS}, "sale_id": sale_id} for p in payments])
    return result


# -- sales ----------------------------------------------------------------------------------------------


def create_sale(
    conn: Connection,
    user: Principal,
    body: SaleIn,
    key: str | None,
    *,
    max_lead_seconds: int = 300,
    store: StoreRef | None = None,
) -> SaleResult:
    """Record a sale in the caller's write transaction, or return the original one for a retried key."""
    book = SaleBook(conn, user, max_lead_seconds=max_lead_seconds)
    result = book.sale(body, key, store=store)
    book.flush()
    return result


class SaleBook:
    """Sales recorded in one write transaction, one by one, each with exactly the checks and writes of a
    sale (``create_sale`` is a book of one; the till's offline batch, ``record_batch``, a book of many).

    What does not change between the sales of one transaction is looked up once: the products named so
    far, the company's tax rates, that a shift is open and the caller's (PostgreSQL: held ``FOR SHARE``
    until the transaction ends), the stock rows of the store (locked) and the receipt counter of the
    store's day (its row locked by the first number taken). Each sale's row is inserted as it is made (its
    id is its answer, and a later sale of the batch under the same key finds it); the stock, the counters,
    the lines and the payments are written by ``flush``, which the caller runs before the transaction ends
    (and the book itself before a credit sale reads the customer's open balance). Every refusal of a sale
    comes before its first write and before it changes the book, so a refused sale leaves nothing behind."""

    def __init__(self, conn: Connection, user: Principal, *, max_lead_seconds: int = 300) -> None:
        self.conn, self.user, self.max_lead_seconds = conn, user, max_lead_seconds
        self._products: dict[int, dict[str, dict]] = {}  # org → sku:/bar: → product
        self._rates: dict[int, list[TaxRate]] = {}
        self._open_shifts: set[tuple[int, int]] = set()  # (store, shift) found open and the caller's
        self._stock: dict[int, dict[int, StockRow]] = {}  # store → product → its locked row
        self._stock_org: dict[int, int] = {}
        self._receipts: dict[tuple[int, date], list[int]] = {}  # (store, day) → [taken at first, last]
        self._lines: list[dict] = []
        self._payments: list[dict] = []

    def _catalogue(self, org_id: int, skus: set[str], barcodes: set[str]) -> dict[str, dict]:
        known = self._products.setdefault(org_id, {})
        skus = {s for s in skus if f"sku:{s}" not in known}
        barcodes = {b for b in barcodes if f"bar:{b}" not in known}
        if skus or barcodes:
            known.update(_catalogue(self.conn, org_id, skus, barcodes))
        return known

    def _tax_rates(self, org_id: int) -> list[TaxRate]:
        rates = self._rates.get(org_id)
        if rates is None:
            rates = self._rates[org_id] = _tax_rates(self.conn, org_id)
        return rates

    def _check_shift(self, store: StoreRef, shift_id: int) -> None:
        if (store.id, shift_id) not in self._open_shifts:
            _open_shift(self.conn, self.user, store, shift_id)
            self._open_shifts.add((store.id, shift_id))

    def _stock_rows(self, store: StoreRef, product_ids: list[int]) -> dict[int, StockRow]:
        rows = self._stock.setdefault(store.id, {})
        self._stock_org[store.id] = store.org_id
        missing = [pid for pid in product_ids if pid not in rows]
        if missing:
            rows.update(lock_stock(self.conn, store.org_id, store.id, missing))
        return rows

    def _receipt_number(self, store: StoreRef, day: date) -> tuple[int, str]:
        taken = self._receipts.get((store.id, day))
        if taken is None:
            seq = _receipt_number(self.conn, store, day)[0]
            self._receipts[(store.id, day)] = [seq, seq]
        else:
            taken[1] += 1
            seq = taken[1]
        return seq, _receipt_text(store, day, seq)

    def flush(self) -> None:
        """Write what the sales so far left in the book: stock, receipt counters, lines and payments."""
        conn = self.conn
        for store_id, rows in self._stock.items():
            save_stock(conn, store_id, rows)
        self._stock.clear()
        for (store_id, day), (first, last) in self._receipts.items():
            if last != first:
                _SET_RECEIPT.run(conn, {"store": store_id, "day": db_date(conn, day), "last": last})
        self._receipts.clear()
        if self._lines:
            _INSERT_LINE.run(conn, self._lines)
            self._lines = []
        if self._payments:
            _INSERT_PAY.run(conn, self._payments)
            self._payments = []

    def sale(self, body: SaleIn, key: str | None, *, store: StoreRef | None = None) -> SaleResult:
        """Record one sale (see the class), or return the original one for a retried key."""
        conn, user = self.conn, self.user
        key = key or body.idempotency_key
        if not key:
            raise ValidationError("a sale needs a client-generated idempotency key", field="idempotency_key")
        store = store or require_store(conn, user, body.store_id)
        fingerprint = body.fingerprint()
        replay = _replay(conn, store.id, key, fingerprint)
        if replay is not None:
            return replay

        sold_at = _as_utc(body.sold_at)
        stamp = now()
        if sold_at > stamp + timedelta(seconds=self.max_lead_seconds):
            raise ValidationError(
                f"sold_at {body.sold_at.isoformat()} is in the future (the till's clock is wrong?)",
                field="sold_at",
            )
        self._check_shift(store, body.shift_id)
        day = business_date(sold_at)

        skus = {ln.sku for ln in body.lines if ln.sku}
        barcodes = {ln.barcode for ln in body.lines if ln.barcode and not ln.sku}
        catalogue = self._catalogue(store.org_id, skus, barcodes)
        rates = self._tax_rates(store.org_id)

        lines: list[dict] = []
        for i, ln in enumerate(body.lines):
            where = f"lines[{i}]"
            if (ln.sku is None) == (ln.barcode is None):
                raise ValidationError("give the SKU or the barcode of the product", field=f"{where}.sku")
            product = catalogue.get(f"sku:{ln.sku}" if ln.sku else f"bar:{ln.barcode}")
            if product is None:
                what = f"SKU {ln.sku!r}" if ln.sku else f"barcode {ln.barcode!r}"
                raise UnknownProduct(
                    f"{what} is not in the catalogue", field=f"{where}.{'sku' if ln.sku else 'barcode'}"
                )
            price, reason = unit_price(product, ln, user.role, where)
            rate = rate_on(rates, product["tax_category"], day)
            lines.append(
                {
                    "org_id": store.org_id,
                    "line_no": i + 1,
                    "product_id": product["id"],
                    "original_line_id": None,
                    "qty_milli": ln.quantity,
                    "unit_price_fen": price,
                    "amount_fen": check_bound(line_amount(ln.quantity, price), where, "line's amount"),
                    "tax_rate_bp": rate,
                    "product_category": product["category"],
                    "override_reason": reason,
                    "_product": product,
                }
            )
        total, tax = split_sale_tax(lines)
        check_bound(total, "lines", "sale's total")

        customer = None
        if body.customer_id is not None:
            customer = get_customer(conn, store.org_id, body.customer_id, lock=True)
        channel = body.channel or (customer["channel"] if customer else "counter")

        payments, tendered, change = tender(body.payments, total)
        credit = sum(p["amount_fen"] for p in payments if p["method"] == "credit")
        if credit:
            if customer is None:
                raise ValidationError("a credit sale (挂账) needs the customer", field="customer_id")
            self.flush()  # the open balance counts the credit of this book's earlier sales
            balance = open_balance(conn, store.org_id, customer)
            if balance + credit > customer["credit_limit_fen"]:
                raise CreditLimitExceeded(
                    f"{customer['name']} owes {format_amount(balance)} of a credit limit of "
                    f"{format_amount(customer['credit_limit_fen'])}; {format_amount(credit)} more on credit "
                    "is over the limit",
                    field="payments",
                )

        # Nothing below refuses the sale: from here on it writes.
        stock = self._stock_rows(store, sorted({ln["product_id"] for ln in lines}))
        for line in lines:
            line["cost_fen"] = stock[line["product_id"]].relieve(line["qty_milli"])
        seq, receipt_no = self._receipt_number(store, day)

        response = _sale_response(
            kind="sale",
            store=store,
            shift_id=body.shift_id,
            receipt_no=receipt_no,
            receipt_seq=seq,
            sold_at=sold_at,
            day=day,
            channel=channel,
            customer=customer,
            lines=lines,
            payments=payments,
            total=total,
            tax=tax,
            tendered=tendered,
            change=change,
            cashier=user.username,
        )
        row = {
            "org_id": store.org_id,
            "store_id": store.id,
            "shift_id": body.shift_id,
            "kind": "sale",
            "original_sale_id": None,
            "business_date": day,
            "receipt_seq": seq,
            "receipt_no": receipt_no,
            "sold_at": sold_at,
            "channel": channel,
            "customer_id": customer["id"] if customer else None,
            "total_fen": total,
            "tax_fen": tax,
            "cost_fen": sum(ln["cost_fen"] for ln in lines),
            "tendered_fen": tendered,
            "change_fen": change,
            "cashier_user_id": user.user_id,
            "idempotency_key": key,
            "request_hash": fingerprint,
            "response_json": "",
            "created_at": stamp,
        }
        result, sale_id = _insert_sale_row(conn, row, response)
        self._lines += [{**{c: ln.get(c) for c in LINE_COLUMNS}, "sale_id": sale_id} for ln in lines]
        self._payments += [
            {
                "org_id": store.org_id,
                "sale_id": sale_id,
                "method": p["method"],
                "amount_fen": p["amount_fen"],
                "reference": p.get("reference"),
            }
            for p in payments
        ]
        return result


def _sale_response(
    *,
    kind: str,
    store: StoreRef,
    shift_id: int,
    receipt_no: str,
    receipt_seq: int,
    sold_at: datetime,
    day: Any,
    channel: str,
    customer: dict | None,
    lines: list[dict],
    payments: list[dict],
    total: int,
    tax: int,
    tendered: int,
    change: int,
    cashier: str,
    original_sale_id: int | None = None,
) -> dict:
    out_lines = []
    for ln in lines:
        p = ln["_product"]
        out_lines.append(
            {
                "line_no": ln["line_no"],
                "sku": p["sku"],
                "barcode": p["barcode"],
                "name": p["name"],
                "unit": p["unit"],
                "quantity": format_quantity(ln["qty_milli"]),
                "unit_price": format_amount(ln["unit_price_fen"]),
                "amount": format_amount(ln["amount_fen"]),
                "tax_rate": _rate_text(ln["tax_rate_bp"]),
                "net": format_amount(ln["net_fen"]),
                "tax": format_amount(ln["tax_fen"]),
                "override_reason": ln.get("override_reason"),
            }
        )
    local = sold_at.astimezone(CHINA)
    return {
        "kind": kind,
        "original_sale_id": original_sale_id,
        "store_id": store.id,
        "shift_id": shift_id,
        "receipt_no": receipt_no,
        "receipt_seq": receipt_seq,
        "business_date": day.isoformat(),
        "sold_at": sold_at.isoformat(),
        "channel": channel,
        "customer_id": customer["id"] if customer else None,
        "lines": out_lines,
        "total": format_amount(total),
        "net": format_amount(total - tax),
        "tax": format_amount(tax),
        "tendered": format_amount(tendered),
        "change": format_amount(change),
        "payments": [
            {"method": p["method"], "amount": format_amount(p["amount_fen"]), "reference": p.get("reference")}
            for p in payments
        ],
        "receipt": {
            "title": store.name,
            "store_code": store.code,
            "receipt_no": receipt_no,
            "time": local.strftime("%Y-%m-%d %H:%M:%S"),
            "cashier": cashier,
            "customer": customer["name"] if customer else None,
            "kind": "退货单" if kind == "refund" else "销售小票",
            "item_count": len(lines),
            "total": format_amount(total),
            "tax_note": f"含税 {format_amount(tax)}",
            "payments": [f"{METHOD_NAMES[p['method']]} {format_amount(p['amount_fen'])}" for p in payments],
            "change": format_amount(change),
            "footer": "谢谢惠顾 村社联动超市",
        },
    }


# -- refunds --------------------------------------------------------------------------------------------


def create_refund(
    conn: Connection,
    user: Principal,
    sale_id: int,
    body: RefundIn,
    key: str | None,
    *,
    max_lead_seconds: int = 300,
) -> SaleResult:
    """Refund lines of a sale by quantity, in the refund's shift, mirroring the sale's channel and tax."""
    key = key or body.idempotency_key
    if not key:
        raise ValidationError("a refund needs a client-generated idempotency key", field="idempotency_key")
    # Refunds of one sale queue on its row, so none can overtake what remains.
    original = conn.execute(locking(conn, select(sale_t).where(sale_t.c.id == sale_id))).mappings().first()
    if original is None:
        raise NotFound(f"sale {sale_id} does not exist", field="sale_id")
    store = require_store(conn, user, original["store_id"])
    if original["kind"] != "sale":
        raise ValidationError("a refund is made against a sale, not against another refund", field="sale_id")
    fingerprint = body.fingerprint(sale_id)
    replay = _replay(conn, store.id, key, fingerprint)
    if replay is not None:
        return replay
    stamp = now()
    at = _as_utc(body.refunded_at) if body.refunded_at else stamp
    if at > stamp + timedelta(seconds=max_lead_seconds):
        raise ValidationError("refunded_at is in the future", field="refunded_at")
    _open_shift(conn, user, store, body.shift_id)
    day = business_date(at)

    orig_lines = {
        r["line_no"]: dict(r)
        for r in conn.execute(select(line_t).where(line_t.c.sale_id == sale_id)).mappings()
    }
    done: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    refund_ids = select(sale_t.c.id).where(sale_t.c.original_sale_id == sale_id)
    for r in conn.execute(
        select(
            line_t.c.original_line_id,
            func.sum(line_t.c.qty_milli).label("qty"),
            func.sum(line_t.c.amount_fen).label("amount"),
            func.sum(line_t.c.net_fen).label("net"),
            func.sum(line_t.c.cost_fen).label("cost"),
        )
        .where(line_t.c.sale_id.in_(refund_ids))
        .group_by(line_t.c.original_line_id)
    ):
        done[r.original_line_id] = {
            "qty": -int(r.qty),
            "amount": -int(r.amount),
            "net": -int(r.net),
            "cost": -int(r.cost),
        }

    from pos.models import PosProduct

    prod_t = PosProduct.__table__
    products = {
        r["id"]: dict(r)
        for r in conn.execute(
            select(prod_t.c.id, prod_t.c.sku, prod_t.c.barcode, prod_t.c.name, prod_t.c.unit).where(
                prod_t.c.id.in_([ln["product_id"] for ln in orig_lines.values()])
            )
        ).mappings()
    }
    lines: list[dict] = []
    seen: set[int] = set()
    for i, rl in enumerate(body.lines):
        where = f"lines[{i}]"
        ol = orig_lines.get(rl.line_no)
        if ol is None:
            raise ValidationError(f"sale {sale_id} has no line {rl.line_no}", field=f"{where}.line_no")
        if rl.line_no in seen:
            raise ValidationError(f"line {rl.line_no} appears twice", field=f"{where}.line_no")
        seen.add(rl.line_no)
        prior = done.get(ol["id"], {"qty": 0, "amount": 0, "net": 0, "cost": 0})
        remaining = ol["qty_milli"] - prior["qty"]
        if rl.quantity > remaining:
            raise RefundExceedsSale(
                f"line {rl.line_no}: only {format_quantity(remaining)} of {format_quantity(ol['qty_milli'])} "
                f"remains refundable, not {format_quantity(rl.quantity)}",
                field=f"{where}.quantity",
            )
        if rl.quantity == remaining:  # the last refund of a line takes exactly what is left
            amount = ol["amount_fen"] - prior["amount"]
            net = ol["net_fen"] - prior["net"]
            cost = ol["cost_fen"] - prior["cost"]
        else:
            amount = round_half_up(ol["amount_fen"] * rl.quantity, ol["qty_milli"])
            net = round_half_up(ol["net_fen"] * rl.quantity, ol["qty_milli"])
            cost = round_half_up(ol["cost_fen"] * rl.quantity, ol["qty_milli"])
        lines.append(
            {
                "org_id": store.org_id,
                "line_no": i + 1,
                "product_id": ol["product_id"],
                "original_line_id": ol["id"],
                "qty_milli": -rl.quantity,
                "unit_price_fen": ol["unit_price_fen"],
                "amount_fen": -amount,
                "net_fen": -net,
                "tax_fen": -(amount - net),
                "tax_rate_bp": ol["tax_rate_bp"],
                "product_category": ol["product_category"],
                "cost_fen": -cost,
                "override_reason": body.reason or None,
                "_product": products[ol["product_id"]],
            }
        )
    total = sum(ln["amount_fen"] for ln in lines)  # negative
    tax = sum(ln["tax_fen"] for ln in lines)
    customer = (
        get_customer(conn, store.org_id, original["customer_id"])
        if original["customer_id"] is not None
        else None
    )
    payments = _refund_payments(conn, original, body, -total, customer)

    stock = lock_stock(conn, store.org_id, store.id, [ln["product_id"] for ln in lines])
    for ln in lines:
        stock[ln["product_id"]].receive(-ln["qty_milli"], -ln["cost_fen"])
    save_stock(conn, store.id, stock)
    seq, receipt_no = _receipt_number(conn, store, day)
    response = _sale_response(
        kind="refund",
        store=store,
        shift_id=body.shift_id,
        receipt_no=receipt_no,
        receipt_seq=seq,
        sold_at=at,
        day=day,
        channel=original["channel"],
        customer=customer,
        lines=lines,
        payments=payments,
        total=total,
        tax=tax,
        tendered=total,
        change=0,
        cashier=user.username,
        original_sale_id=sale_id,
    )
    for line in lines:
        line.pop("_product")
    for p in payments:
        p["org_id"] = store.org_id
    return _insert_sale(
        conn,
        {
            "org_id": store.org_id,
            "store_id": store.id,
            "shift_id": body.shift_id,
            "kind": "refund",
            "original_sale_id": sale_id,
            "business_date": day,
            "receipt_seq": seq,
            "receipt_no": receipt_no,
            "sold_at": at,
            "channel": original["channel"],
            "customer_id": original["customer_id"],
            "total_fen": total,
            "tax_fen": tax,
            "cost_fen": sum(ln["cost_fen"] for ln in lines),
            "tendered_fen": total,
            "change_fen": 0,
            "cashier_user_id": user.user_id,
            "idempotency_key": key,
            "request_hash": fingerprint,
            "response_json": "",
            "created_at": stamp,
        },
        response,
        lines,
        payments,
    )


def _refund_payments(
    conn: Connection, original: Any, body: RefundIn, amount: int, customer: dict | None
) -> list[dict]:
    """Pay the refund back in one named method, or across the sale's methods pro rata (largest remainder)."""
    if body.method is not None:
        if body.method == "credit" and customer is None:
            raise ValidationError("only a credit customer's sale can be refunded to credit", field="method")
        return [{"method": body.method, "amount_fen": -amount, "reference": None}]
    applied: dict[str, int] = defaultdict(int)
    for r in conn.execute(
        select(pay_t.c.method, pay_t.c.amount_fen)
        .where(pay_t.c.sale_id == original["id"])
        .order_by(pay_t.c.id)
    ):
        applied[r.method] += r.amount_fen
    if "cash" in applied:
        applied["cash"] -= original["change_fen"]
    methods = [m for m, v in applied.items() if v > 0]
    parts = allocate_largest_remainder(amount, [applied[m] for m in methods])
    return [
        {"method": m, "amount_fen": -part, "reference": None}
        for m, part in zip(methods, parts, strict=True)
        if part
    ]


# -- reading --------------------------------------------------------------------------------------------


def get_sale(conn: Connection, user: Principal, sale_id: int) -> str:
    """The sale's response JSON (as first answered), if the caller may see its store."""
    row = conn.execute(
        select(sale_t.c.id, sale_t.c.store_id, sale_t.c.response_json).where(sale_t.c.id == sale_id)
    ).first()
    if row is None:
        raise NotFound(f"sale {sale_id} does not exist", field="sale_id")
    require_store(conn, user, row.store_id)
    return with_id(row.id, row.response_json)


def list_sales(
    conn: Connection, user: Principal, store_id: int, day: date, limit: int, offset: int
) -> list[dict]:
    require_store(conn, user, store_id)
    rows = conn.execute(
        select(sale_t.c.id, sale_t.c.response_json)
        .where(sale_t.c.store_id == store_id, sale_t.c.business_date == day)
        .order_by(sale_t.c.receipt_seq)
        .limit(limit)
        .offset(offset)
    )
    return [json.loads(with_id(r.id, r.response_json)) for r in rows]


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(left: str, right: str, width: int = 32) -> str:
    gap = width - _width(left) - _width(right)
    return left + " " * max(gap, 1) + right


def _wrap(text: str, width: int = 32) -> list[str]:
    """``text`` in lines of at most ``width`` columns, broken between words (a longer word is cut)."""
    lines = [""]
    for word in text.split():
        while _width(word) > width:
            cut = next(i for i in range(len(word), 0, -1) if _width(word[:i]) <= width)
            lines += [word[:cut], ""]
            word = word[cut:]
        joined = f"{lines[-1]} {word}" if lines[-1] else word
        if _width(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(word)
    return [line for line in lines if line]


def receipt_text(sale: dict, width: int = 32, words: Mapping[str, str] = RECEIPT_WORDS_ZH) -> str:
    """The 58 mm receipt (小票): 32 columns, a CJK character takes two; its words are ``words`` (the keys of
    ``RECEIPT_WORDS_ZH``), Chinese unless the reader's are given."""
    r = sale["receipt"]
    rule = "-" * width
    title = r["title"].center(max(width - _width(r["title"]) + len(r["title"]), 0)).rstrip()
    out = [title, words["refund" if sale["kind"] == "refund" else "sale"]]
    out += [f"{words['no']}: {r['receipt_no']}", f"{words['time']}: {r['time']}"]
    out.append(f"{words['cashier']}: {r['cashier']}")
    if r["customer"]:
        out.append(f"{words['customer']}: {r['customer']}")
    out.append(rule)
    for ln in sale["lines"]:
        out.append(ln["name"])
        out.append(_pad(f"  {ln['quantity']}{ln['unit']} x {ln['unit_price']}", ln["amount"], width))
    out.append(rule)
    out.append(_pad(words["total"].format(count=r["item_count"]), r["total"], width))
    out.append(_pad(words["tax"], sale["tax"], width))
    for p in sale["payments"]:
        out.append(_pad(words[p["method"]], p["amount"], width))
    out.append(_pad(words["change"], r["change"], width))
    out.append(rule)
    out += _wrap(words["thanks"], width)
    return "\n".join(out) + "\n"


# -- running writes -------------------------------------------------------------------------------------


def write_idempotent(engine: Engine, work: Callable[[Connection], T]) -> T:
    """``run_write``, once more if a concurrent request committed the same idempotency key first.

    On PostgreSQL two requests with one key can both miss the replay lookup; the second insert then hits
    the unique key, and running the work again finds the first one's row and replays it.
    """
    try:
        return run_write(engine, work)
    except IntegrityError:
        return run_write(engine, work)


@dataclass
class BatchOutcome:
    index: int
    idempotency_key: str | None
    status: str  # created | duplicate | rejected
    sale: dict | None = None
    error: dict | None = None


def parse_batch(raw_sales: list[Any]) -> tuple[list[BatchOutcome | None], list[tuple[int, SaleIn]]]:
    """An offline till's queue, read: the sales that parse (with their index) and the outcomes of those
    that do not (rejected, naming the field); nothing is looked up yet."""
    if len(raw_sales) > MAX_BATCH:
        raise ValidationError(f"a batch takes at most {MAX_BATCH} sales", field="sales")
    outcomes: list[BatchOutcome | None] = [None] * len(raw_sales)
    bodies: list[tuple[int, SaleIn]] = []
    for i, raw in enumerate(raw_sales):
        try:
            body = SaleIn.model_validate(raw)
        except PydanticValidationError as exc:
            err = exc.errors()[0]
            path = field_path(tuple(err.get("loc", ())))
            outcomes[i] = BatchOutcome(
                i,
                raw.get("idempotency_key") if isinstance(raw, dict) else None,
                "rejected",
                error={"code": str(err.get("type", "invalid")), "message": err.get("msg", ""), "field": path},
            )
            continue
        if not body.idempotency_key:
            outcomes[i] = BatchOutcome(
                i,
                None,
                "rejected",
                error={
                    "code": "invalid",
                    "message": "each sale needs its idempotency key",
                    "field": "idempotency_key",
                },
            )
            continue
        bodies.append((i, body))
    return outcomes, bodies


def batch_stores(conn: Connection, user: Principal, bodies: list[tuple[int, SaleIn]]) -> dict[int, StoreRef]:
    """The batch's stores, each one the caller may sell in (404 for another's: the whole batch is refused
    before anything is looked up or written)."""
    return {sid: require_store(conn, user, sid) for sid in sorted({body.store_id for _i, body in bodies})}


def record_batch(
    conn: Connection,
    user: Principal,
    outcomes: list[BatchOutcome | None],
    bodies: list[tuple[int, SaleIn]],
    stores: dict[int, StoreRef],
    *,
    max_lead_seconds: int = 300,
) -> list[BatchOutcome]:
    """Each parsed sale through one ``SaleBook``: the batch's lookups are made once, and a refused sale
    writes nothing (every refusal comes before a sale's first write), so it never rejects the others."""
    book = SaleBook(conn, user, max_lead_seconds=max_lead_seconds)
    for i, body in bodies:
        try:
            result = book.sale(body, None, store=stores[body.store_id])
        except LedgerError as exc:
            outcomes[i] = BatchOutcome(i, body.idempotency_key, "rejected", error=exc.to_dict())
            continue
        outcomes[i] = BatchOutcome(
            i,
            body.idempotency_key,
            "created" if result.created else "duplicate",
            sale=json.loads(result.body),
        )
    book.flush()
    return [o for o in outcomes if o is not None]


def create_batch(
    engine: Engine, user: Principal, raw_sales: list[Any], *, max_lead_seconds: int = 300
) -> list[BatchOutcome]:
    """An offline till's queue, sale by sale (``record_batch``), in one transaction; run again if a
    concurrent request committed one of its keys first (``write_idempotent``)."""
    parsed, bodies = parse_batch(raw_sales)

    def work(conn: Connection) -> list[BatchOutcome]:
        stores = batch_stores(conn, user, bodies)
        return record_batch(conn, user, list(parsed), bodies, stores, max_lead_seconds=max_lead_seconds)

    return write_idempotent(engine, work)


def produce_sales(conn: Connection, village_id: int, date_from: date, date_to: date) -> list[dict]:
    """What a partner village's produce earned (sales less refunds) by company and product."""
    from ledger.db.models import Org
    from pos.models import PosProduct

    prod_t, org_t = PosProduct.__table__, Org.__table__
    rows = conn.execute(
        select(
            org_t.c.id,
            org_t.c.name,
            prod_t.c.sku,
            prod_t.c.name,
            prod_t.c.unit,
            func.sum(line_t.c.qty_milli),
            func.sum(line_t.c.amount_fen),
            func.sum(line_t.c.net_fen),
        )
        .join(sale_t, sale_t.c.id == line_t.c.sale_id)
        .join(prod_t, prod_t.c.id == line_t.c.product_id)
        .join(org_t, org_t.c.id == sale_t.c.org_id)
        .where(
            prod_t.c.origin_org_id == village_id,
            sale_t.c.business_date >= date_from,
            sale_t.c.business_date <= date_to,
        )
        .group_by(org_t.c.id, org_t.c.name, prod_t.c.sku, prod_t.c.name, prod_t.c.unit)
        .order_by(org_t.c.id, prod_t.c.sku)
    ).all()
    return [
        {
            "company_id": r[0],
            "company": r[1],
            "sku": r[2],
            "name": r[3],
            "unit": r[4],
            "quantity": format_quantity(int(r[5])),
            "amount": format_amount(int(r[6])),
            "net": format_amount(int(r[7])),
        }
        for r in rows
    ]
