"""What the browser till reads: its store's catalogue with pinyin initials, a receipt to refund, the shift.

The till keeps selling when the network drops, so it loads everything it needs to price a sale in one
answer (products, tax rates, credit customers, the cashier's open shift) and caches it. Search by pinyin
initials (``jd`` finds 鸡蛋) is computed here once per name, not in the browser: a pinyin dictionary is
megabytes, the initials of a catalogue are a few kilobytes. A receipt is found by its number, or by the
sale's idempotency key (an offline receipt carries the key, since its number is given when it uploads).
This module only reads.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from sqlalchemy import Connection, func, or_, select

from ledger.access.auth import Principal
from ledger.books.errors import NotFound
from ledger.books.money import format_amount, format_quantity
from pos.catalogue import list_customers, list_products, open_balance, product_shown, tax_rates
from pos.models import PosSale, PosSaleLine
from pos.sales import get_sale, with_id
from pos.shifts import own_open_shift, shift_report
from pos.stores import require_company, require_store

sale_t = PosSale.__table__
line_t = PosSaleLine.__table__

# Units a scale weighs in: the till asks for the weight when such an item is scanned.
WEIGHED_UNITS = frozenset({"kg", "公斤", "千克", "斤", "g", "克", "两"})
CHANNELS = {
    "counter": "门店",
    "agency": "进机关",
    "school": "进学校",
    "enterprise": "进企业",
    "village": "进农村",
    "community": "进社区",
    "resettlement": "进安置点",
}


@lru_cache(maxsize=20_000)
def initials(name: str) -> str:
    """Pinyin initials of the Chinese characters of a name, other letters and digits kept: 土鸡蛋 → tjd."""
    from pypinyin import Style, lazy_pinyin  # its dictionaries take ~0.5 s to load: on the first name

    out = []
    for part in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default"):
        out.append("".join(ch for ch in part.lower() if ch.isalnum()))
    return "".join(out)


def till_data(conn: Connection, user: Principal, store_id: int) -> dict:
    """Everything a till needs to sell offline, in one document (its ``version`` changes with any price)."""
    store = require_store(conn, user, store_id)
    require_company(conn, user, store.org_id)
    products = [
        {
            **product_shown(p),
            "initials": initials(p["name"]),
            "weighed": p["unit"] in WEIGHED_UNITS,
            "allow_price_override": bool(p["allow_price_override"]),
        }
        for p in list_products(conn, store.org_id)
        if p["active"]
    ]
    customers = [
        {
            "id": c["id"],
            "name": c["name"],
            "channel": c["channel"],
            "credit_limit": format_amount(c["credit_limit_fen"]),
            "open_balance": format_amount(open_balance(conn, store.org_id, c)),
            "initials": initials(c["name"]),
        }
        for c in list_customers(conn, store.org_id)
    ]
    rates = [
        {"category": r.category, "rate_bp": r.rate_bp, "effective_from": r.effective_from.isoformat()}
        for r in tax_rates(conn, store.org_id)
    ]
    open_shift = None
    if user.role == "cashier":
        shift_id = own_open_shift(conn, user, store.id)
        if shift_id is not None:
            open_shift = shift_report(conn, user, shift_id)
    catalogue = {"products": products, "tax_rates": rates, "customers": customers}
    text = json.dumps(catalogue, sort_keys=True, ensure_ascii=False)
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    return {
        "store": {"id": store.id, "org_id": store.org_id, "code": store.code, "name": store.name},
        "cashier": {"id": user.user_id, "username": user.username, "role": user.role},
        "channels": CHANNELS,
        **catalogue,
        "version": version,
        "open_shift": open_shift,
    }


def find_receipt(conn: Connection, user: Principal, store_id: int, code: str) -> dict:
    """A sale of the store by receipt number (or idempotency key), with what remains refundable per line."""
    store = require_store(conn, user, store_id)
    code = code.strip()
    row = conn.execute(
        select(sale_t.c.id, sale_t.c.kind, sale_t.c.response_json).where(
            sale_t.c.store_id == store.id,
            or_(sale_t.c.receipt_no == code, sale_t.c.idempotency_key == code),
        )
    ).first()
    if row is None or row.kind != "sale":
        raise NotFound(f"no sale with receipt {code!r} at this store", field="receipt")
    sale = json.loads(with_id(row.id, row.response_json))
    refund_ids = select(sale_t.c.id).where(sale_t.c.original_sale_id == row.id)
    refunded = dict(
        conn.execute(
            select(line_t.c.original_line_id, func.sum(line_t.c.qty_milli))
            .where(line_t.c.sale_id.in_(refund_ids))
            .group_by(line_t.c.original_line_id)
        ).all()
    )
    sold = conn.execute(
        select(line_t.c.id, line_t.c.line_no, line_t.c.qty_milli)
        .where(line_t.c.sale_id == row.id)
        .order_by(line_t.c.line_no)
    ).all()
    sale["refundable"] = [
        {
            "line_no": ln.line_no,
            "sold": format_quantity(ln.qty_milli),
            "refunded": format_quantity(-int(refunded.get(ln.id) or 0)),
            "remaining": format_quantity(ln.qty_milli + int(refunded.get(ln.id) or 0)),
        }
        for ln in sold
    ]
    return sale


def get_receipt_sale(conn: Connection, user: Principal, sale_id: int) -> dict:
    """The sale as first answered (``pos.sales.get_sale``), as data for its printed receipt."""
    return json.loads(get_sale(conn, user, sale_id))
