"""The catalogue of a company's stores: products, the dated tax-rate table and institutional customers.

Products carry a tax-inclusive unit price in fen, a tax category whose rate comes from the org's dated
``pos_tax_rate`` table (seeded with the DESIGN §5a defaults on first use), a product category and an
origin village. The catalogue imports and exports as CSV or XLSX with the same columns. Customers are the
buyers of the six-into channels (六进) with a credit limit for 挂账; their open balance is the 1122 balance
in the books plus credit sales in shifts not yet closed. This module never writes journal entries.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from ledger.books.errors import Conflict, LedgerError, NotFound, ValidationError
from ledger.books.money import format_amount, parse_amount
from ledger.books.orgs import counterparty, now
from ledger.books.spreadsheets import check_xlsx, safe_text
from ledger.books.text import CONTROL_CHARACTERS, control_character
from ledger.db.engine import locking
from ledger.db.models import CHANNELS, Account, JournalLine, Org
from ledger.db.rows import insert_id
from pos.models import (
    TAX_CATEGORIES,
    PosCustomer,
    PosPayment,
    PosProduct,
    PosSale,
    PosShift,
    PosTaxRate,
)

product_t = PosProduct.__table__
rate_t = PosTaxRate.__table__
customer_t = PosCustomer.__table__
org_t = Org.__table__

DEFAULT_RATES_BP = {"goods": 100, "services": 100}
"""Small-scale taxpayer defaults (DESIGN §5a): goods 1%, services 1%; confirm with the local tax office."""
DEFAULT_EFFECTIVE_FROM = date(2023, 1, 1)

CUSTOMER_KINDS = ("school_canteen", "agency_canteen", "enterprise", "resettlement_centre", "other")
CATALOGUE_COLUMNS = (
    "sku",
    "barcode",
    "name",
    "unit",
    "price",
    "tax_category",
    "category",
    "origin",
    "allow_price_override",
    "active",
)


# -- tax rates ------------------------------------------------------------------------------------------


def ensure_default_rates(conn: Connection, org_id: int) -> None:
    """Seed the default rates the first time a company uses the POS."""
    if conn.execute(select(rate_t.c.id).where(rate_t.c.org_id == org_id).limit(1)).first() is None:
        conn.execute(
            insert(rate_t),
            [
                {"org_id": org_id, "category": cat, "rate_bp": bp, "effective_from": DEFAULT_EFFECTIVE_FROM}
                for cat, bp in DEFAULT_RATES_BP.items()
            ],
        )


@dataclass(frozen=True)
class TaxRate:
    category: str
    rate_bp: int
    effective_from: date


def tax_rates(conn: Connection, org_id: int) -> list[TaxRate]:
    return [
        TaxRate(r.category, r.rate_bp, r.effective_from)
        for r in conn.execute(
            select(rate_t.c.category, rate_t.c.rate_bp, rate_t.c.effective_from)
            .where(rate_t.c.org_id == org_id)
            .order_by(rate_t.c.category, rate_t.c.effective_from)
        )
    ]


def rate_on(rates: Sequence[TaxRate], category: str, day: date) -> int:
    """The rate in force on ``day``: the latest row of the category effective on or before it."""
    found: int | None = None
    for r in rates:
        if r.category == category and r.effective_from <= day:
            found = r.rate_bp
    if found is None:
        found = DEFAULT_RATES_BP[category]
    return found


def set_tax_rate(conn: Connection, org_id: int, category: str, rate_bp: int, effective_from: date) -> None:
    if category not in TAX_CATEGORIES:
        raise ValidationError(f"tax category is one of {', '.join(TAX_CATEGORIES)}", field="category")
    if not 0 <= rate_bp < 10_000:
        raise ValidationError("a rate is 0 to 99.99%", field="rate")
    ensure_default_rates(conn, org_id)
    existing = conn.execute(
        select(rate_t.c.id).where(
            rate_t.c.org_id == org_id,
            rate_t.c.category == category,
            rate_t.c.effective_from == effective_from,
        )
    ).first()
    if existing:
        conn.execute(update(rate_t).where(rate_t.c.id == existing.id).values(rate_bp=rate_bp))
    else:
        conn.execute(
            insert(rate_t).values(
                org_id=org_id, category=category, rate_bp=rate_bp, effective_from=effective_from
            )
        )


# -- products -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductIn:
    sku: str
    name: str
    unit: str
    price_fen: int
    barcode: str | None = None
    tax_category: str = "goods"
    category: str = ""
    origin_org_id: int | None = None
    allow_price_override: bool = False
    max_price_fen: int | None = None  # the override ceiling (None: ten times the price, at least ¥100)
    active: bool = True


def _check_product(conn: Connection, org_id: int, p: ProductIn, where: str = "") -> None:
    if not p.sku.strip() or len(p.sku) > 64:
        raise ValidationError("a SKU has 1 to 64 characters", field=f"{where}sku")
    if not p.name.strip():
        raise ValidationError("a product needs a name", field=f"{where}name")
    if not p.unit.strip() or len(p.unit) > 16:
        raise ValidationError("a unit (个/斤/kg/箱…) has 1 to 16 characters", field=f"{where}unit")
    if p.tax_category not in TAX_CATEGORIES:
        raise ValidationError(
            f"tax category is one of {', '.join(TAX_CATEGORIES)}", field=f"{where}tax_category"
        )
    if p.origin_org_id is not None:
        origin = conn.execute(select(org_t.c.kind).where(org_t.c.id == p.origin_org_id)).first()
        if origin is None or origin.kind not in ("village", "community"):
            raise ValidationError(
                "the origin is a partner village (or community) org", field=f"{where}origin_org_id"
            )


def upsert_products(conn: Connection, org_id: int, products: Iterable[ProductIn]) -> tuple[int, int]:
    """Create or update products by SKU; returns (created, updated)."""
    products = list(products)
    seen: set[str] = set()
    for i, p in enumerate(products):
        where = f"products[{i}]." if len(products) > 1 else ""
        _check_product(conn, org_id, p, where)
        if p.sku in seen:
            raise Conflict(f"SKU {p.sku!r} appears twice", field=f"{where}sku")
        seen.add(p.sku)
    existing = dict(
        conn.execute(
            select(product_t.c.sku, product_t.c.id).where(
                product_t.c.org_id == org_id, product_t.c.sku.in_(seen)
            )
        ).all()
    )
    barcodes = {p.barcode: p.sku for p in products if p.barcode}
    if barcodes:
        for r in conn.execute(
            select(product_t.c.sku, product_t.c.barcode).where(
                product_t.c.org_id == org_id, product_t.c.barcode.in_(barcodes), product_t.c.active
            )
        ):
            if barcodes[r.barcode] != r.sku:
                raise Conflict(f"barcode {r.barcode} already belongs to SKU {r.sku}", field="barcode")
    created = updated = 0
    stamp = now()
    new_rows = []
    for p in products:
        values = {
            "barcode": p.barcode or None,
            "name": p.name.strip(),
            "unit": p.unit.strip(),
            "price_fen": p.price_fen,
            "tax_category": p.tax_category,
            "category": p.category.strip(),
            "origin_org_id": p.origin_org_id,
            "allow_price_override": p.allow_price_override,
            "max_price_fen": p.max_price_fen,
            "active": p.active,
        }
        if p.sku in existing:
            conn.execute(update(product_t).where(product_t.c.id == existing[p.sku]).values(**values))
            updated += 1
        else:
            new_rows.append({"org_id": org_id, "sku": p.sku, "created_at": stamp, **values})
            created += 1
    if new_rows:
        conn.execute(insert(product_t), new_rows)
    ensure_default_rates(conn, org_id)
    return created, updated


def list_products(conn: Connection, org_id: int) -> list[dict]:
    origin = org_t.alias("origin")
    rows = conn.execute(
        select(product_t, origin.c.code.label("origin_code"), origin.c.name.label("origin_name"))
        .outerjoin(origin, origin.c.id == product_t.c.origin_org_id)
        .where(product_t.c.org_id == org_id)
        .order_by(product_t.c.sku)
    ).mappings()
    return [dict(r) for r in rows]


def product_shown(p: Mapping[str, Any]) -> dict[str, Any]:
    """What the till and the API both show of a product row: its codes, name, unit, price (an amount) and
    tax and sales categories."""
    return {
        "sku": p["sku"],
        "barcode": p["barcode"],
        "name": p["name"],
        "unit": p["unit"],
        "price": format_amount(p["price_fen"]),
        "tax_category": p["tax_category"],
        "category": p["category"],
    }


def get_product(conn: Connection, org_id: int, sku: str) -> dict:
    row = (
        conn.execute(select(product_t).where(product_t.c.org_id == org_id, product_t.c.sku == sku))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no product with SKU {sku!r}", field="sku")
    return dict(row)


def products_by_code(conn: Connection, org_id: int, skus: set[str], barcodes: set[str]) -> dict[str, dict]:
    """Active products keyed ``sku:<sku>`` and ``bar:<barcode>`` in one query (the cache of a sale)."""
    cond = []
    if skus:
        cond.append(product_t.c.sku.in_(skus))
    if barcodes:
        cond.append(product_t.c.barcode.in_(barcodes))
    if not cond:
        return {}

    out: dict[str, dict] = {}
    for r in conn.execute(
        select(
            product_t.c.id,
            product_t.c.sku,
            product_t.c.barcode,
            product_t.c.name,
            product_t.c.unit,
            product_t.c.price_fen,
            product_t.c.tax_category,
            product_t.c.category,
            product_t.c.allow_price_override,
            product_t.c.max_price_fen,
        ).where(product_t.c.org_id == org_id, product_t.c.active, or_(*cond))
    ).mappings():
        out[f"sku:{r['sku']}"] = dict(r)
        if r["barcode"]:
            out[f"bar:{r['barcode']}"] = dict(r)
    return out


# -- catalogue files ------------------------------------------------------------------------------------


def _truthy(value: object) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "y", "是")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    # Control characters are refused with their line and column (``_refuse_control_characters``) before a
    # cell gets here, as in statement files: stripped, they would change a name or a barcode silently.
    return str(value).strip().lstrip("\ufeff").strip()


def parse_catalogue_rows(conn: Connection, rows: Sequence[dict[str, object]]) -> list[ProductIn]:
    """Turn file rows (header → cell) into products; errors name the row (1-based, after the header)."""
    origins = {r.code: r.id for r in conn.execute(select(org_t.c.code, org_t.c.id))}
    out = []
    for n, raw in enumerate(rows, start=2):
        row = {str(k).strip().lstrip("\ufeff"): _cell(v) for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        where = f"row {n}"
        missing = [c for c in ("sku", "name", "unit", "price") if not row.get(c)]
        if missing:
            raise ValidationError(f"{where}: {', '.join(missing)} missing", field=f"rows[{n}].{missing[0]}")
        try:
            price = parse_amount(row["price"], field=f"rows[{n}].price")
        except LedgerError as exc:
            raise ValidationError(f"{where}: {exc.message}", field=exc.field) from None
        origin = row.get("origin") or ""
        origin_id = None
        if origin:
            if origin not in origins:
                raise ValidationError(f"{where}: no org with code {origin!r}", field=f"rows[{n}].origin")
            origin_id = origins[origin]
        out.append(
            ProductIn(
                sku=row["sku"],
                name=row["name"],
                unit=row["unit"],
                price_fen=price,
                barcode=row.get("barcode") or None,
                tax_category=row.get("tax_category") or "goods",
                category=row.get("category") or "",
                origin_org_id=origin_id,
                allow_price_override=_truthy(row.get("allow_price_override")),
                active=True if not row.get("active") else _truthy(row.get("active")),
            )
        )
    return out


def _refuse_control_characters(grid: Sequence[tuple[int, Sequence[object]]]) -> None:
    """The first cell holding a control character (invisible on labels and receipts; PostgreSQL refuses NUL
    in text) refuses the file, naming its line and column, as a statement file's does: nothing is written.
    ``grid`` is (line, cells) per row, the header first."""
    header = [str(h) if h is not None else "" for h in grid[0][1]] if grid else []
    for row_no, (line, cells) in enumerate(grid, start=1):
        for index, value in enumerate(cells, start=1):
            if not isinstance(value, str):
                continue
            bad = control_character(value)
            if bad is None:
                continue
            name = CONTROL_CHARACTERS.sub("", header[index - 1]).strip() if index <= len(header) else ""
            column = f"{index} ({name})" if name and row_no > 1 else str(index)
            raise ValidationError(
                f"line {line}, column {column}: holds a control character ({bad}); the file is damaged",
                field=f"rows[{row_no}].{name}" if name and row_no > 1 else f"rows[{row_no}]",
                code="invalid_text",
            )


def read_catalogue_file(data: bytes, filename: str) -> list[dict[str, object]]:
    """Rows of a CSV (UTF-8, UTF-8-BOM or GB18030) or XLSX catalogue file, as header → value dicts; a
    control character anywhere is refused with its line and column."""
    grid: list[tuple[int, Sequence[object]]]
    if filename.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        check_xlsx(data)
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = wb.worksheets[0]
        grid = [(n, row) for n, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValidationError("the file is neither UTF-8 nor GB18030 text", field="file")
        reader = csv.reader(io.StringIO(text, newline=""))
        grid = []
        try:
            line = reader.line_num + 1  # a quoted cell may span lines: a row starts after the last one read
            for row in reader:
                if row:  # a blank line is no row (as csv.DictReader, whose numbering the errors keep)
                    grid.append((line, row))
                line = reader.line_num + 1
        except csv.Error as exc:
            raise ValidationError(f"the file cannot be read as CSV: {exc}", field="file") from None
    _refuse_control_characters(grid)
    if not grid:
        return []
    header = [(_cell(h) if h is not None else "") for h in grid[0][1]]
    # cells past the header are no column's
    return [dict(zip(header, cells, strict=False)) for _, cells in grid[1:]]


def import_catalogue(conn: Connection, org_id: int, data: bytes, filename: str) -> tuple[int, int]:
    return upsert_products(conn, org_id, parse_catalogue_rows(conn, read_catalogue_file(data, filename)))


def catalogue_rows(conn: Connection, org_id: int) -> list[dict[str, str]]:
    return [
        {
            "sku": p["sku"],
            "barcode": p["barcode"] or "",
            "name": p["name"],
            "unit": p["unit"],
            "price": format_amount(p["price_fen"]),
            "tax_category": p["tax_category"],
            "category": p["category"],
            "origin": p["origin_code"] or "",
            "allow_price_override": "1" if p["allow_price_override"] else "0",
            "active": "1" if p["active"] else "0",
        }
        for p in list_products(conn, org_id)
    ]


def export_catalogue(conn: Connection, org_id: int, fmt: str = "csv") -> bytes:
    """The catalogue as CSV (UTF-8 with BOM, so Excel opens the Chinese names) or XLSX."""
    rows = catalogue_rows(conn, org_id)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=CATALOGUE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: safe_text(v) if isinstance(v, str) else v for c, v in r.items()} for r in rows)
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "catalogue"
        ws.append(list(CATALOGUE_COLUMNS))
        for r in rows:
            # Text cells: a barcode or a price must never become a float in Excel.
            ws.append([safe_text(r[c]) if isinstance(r[c], str) else r[c] for c in CATALOGUE_COLUMNS])
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    raise ValidationError("format is csv or xlsx", field="format")


# -- customers ------------------------------------------------------------------------------------------


def create_customer(
    conn: Connection,
    org_id: int,
    *,
    name: str,
    channel: str,
    credit_limit_fen: int = 0,
    kind: str = "other",
) -> int:
    if not name.strip():
        raise ValidationError("a customer needs a name", field="name")
    if channel not in CHANNELS:
        raise ValidationError(f"channel is one of {', '.join(CHANNELS)}", field="channel")
    if kind not in CUSTOMER_KINDS:
        raise ValidationError(f"kind is one of {', '.join(CUSTOMER_KINDS)}", field="kind")
    if conn.execute(
        select(customer_t.c.id).where(customer_t.c.org_id == org_id, customer_t.c.name == name.strip())
    ).first():
        raise Conflict(f"customer {name!r} already exists", field="name")
    cp = counterparty(conn, org_id, "customer", name.strip())
    return insert_id(
        conn,
        customer_t,
        org_id=org_id,
        counterparty_id=cp,
        name=name.strip(),
        kind=kind,
        channel=channel,
        credit_limit_fen=credit_limit_fen,
        created_at=now(),
    )


def update_customer(
    conn: Connection, org_id: int, customer_id: int, *, credit_limit_fen: int | None, channel: str | None
) -> None:
    get_customer(conn, org_id, customer_id)
    values: dict[str, object] = {}
    if credit_limit_fen is not None:
        values["credit_limit_fen"] = credit_limit_fen
    if channel is not None:
        if channel not in CHANNELS:
            raise ValidationError(f"channel is one of {', '.join(CHANNELS)}", field="channel")
        values["channel"] = channel
    if values:
        conn.execute(update(customer_t).where(customer_t.c.id == customer_id).values(**values))


def get_customer(conn: Connection, org_id: int, customer_id: int, *, lock: bool = False) -> dict:
    stmt = select(customer_t).where(customer_t.c.id == customer_id, customer_t.c.org_id == org_id)
    row = conn.execute(locking(conn, stmt, lock)).mappings().first()
    if row is None:
        raise NotFound(f"customer {customer_id} does not exist", field="customer_id")
    return dict(row)


def open_balance(conn: Connection, org_id: int, customer: dict) -> int:
    """What the customer owes: 1122 in the books plus 挂账 in shifts not yet closed."""
    line_t = JournalLine.__table__
    acct_t = Account.__table__
    booked = conn.execute(
        select(func.coalesce(func.sum(line_t.c.debit_fen - line_t.c.credit_fen), 0))
        .join(acct_t, acct_t.c.id == line_t.c.account_id)
        .where(
            line_t.c.org_id == org_id,
            line_t.c.counterparty_id == customer["counterparty_id"],
            acct_t.c.code.like("1122%"),
        )
    ).scalar_one()
    pay_t, sale_t, shift_t = PosPayment.__table__, PosSale.__table__, PosShift.__table__
    pending = conn.execute(
        select(func.coalesce(func.sum(pay_t.c.amount_fen), 0))
        .join(sale_t, sale_t.c.id == pay_t.c.sale_id)
        .join(shift_t, shift_t.c.id == sale_t.c.shift_id)
        .where(
            sale_t.c.org_id == org_id,
            sale_t.c.customer_id == customer["id"],
            pay_t.c.method == "credit",
            shift_t.c.status == "open",
        )
    ).scalar_one()
    return int(booked) + int(pending)


def list_customers(conn: Connection, org_id: int) -> list[dict]:
    out = []
    for r in conn.execute(
        select(customer_t).where(customer_t.c.org_id == org_id).order_by(customer_t.c.id)
    ).mappings():
        c = dict(r)
        c["open_balance_fen"] = open_balance(conn, org_id, c)
        out.append(c)
    return out
