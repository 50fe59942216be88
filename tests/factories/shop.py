"""The one shop of the tests: a company's two stores ready to sell, built one of two ways.

``build_shop`` goes through the API like an officer and two cashiers (catalogue, stock, a credit customer, a
shift open per store), for tests that talk to the app in process. ``seed_shop`` writes the same kind of shop
through the service functions, for tests that start a real server or copy a template database afterwards.
Both return a ``Shop``."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from ledger.access.auth import principal_for_token
from ledger.books import county_time
from ledger.books.county_time import business_date
from ledger.db.engine import read_tx, write_tx
from pos import catalogue, shifts, stock
from pos.stores import get_store
from tests.factories.county import County, build_county

PRODUCTS = [
    # sku, barcode, name, unit, price, category, tax category
    ("APPLE", "6901000000011", "苹果", "斤", "8.80", "水果", "goods"),
    ("RICE", "6901000000028", "大米", "kg", "3.98", "粮油", "goods"),
    ("EGG", "6901000000035", "土鸡蛋", "个", "1.50", "禽蛋", "goods"),
    ("OIL", None, "菜籽油", "桶", "68.00", "粮油", "goods"),
    ("DELIV", None, "送货服务", "次", "10.00", "服务", "services"),
    ("VEG", None, "时令蔬菜", "斤", "2.00", "蔬菜", "goods"),
]
SEEDED_PRODUCTS = [
    # sku, name, unit, price in fen, category
    ("APPLE", "苹果", "斤", 880, "水果"),
    ("RICE", "大米", "kg", 398, "粮油"),
    ("EGG", "土鸡蛋", "个", 150, "禽蛋"),
    ("OIL", "菜籽油", "桶", 6800, "粮油"),
]
STOCK_MILLI = 10_000_000  # 10,000 of each product bought into each store before the till opens
_keys = itertools.count()


def key() -> str:
    return f"k-{next(_keys)}-{uuid.uuid4().hex[:8]}"


@dataclass
class Shop:
    """A company's stores ready to sell: whose store is which, and the shift open in each.

    ``stores`` and ``shifts`` are keyed by cashier (``cashier`` sells in store1, ``cashier2`` in store2).
    ``client`` is the in-process app ``build_shop`` went through (None after ``seed_shop``)."""

    county: County
    company: int
    stores: dict[str, int]  # cashier name → store id
    shifts: dict[str, int] = field(default_factory=dict)  # cashier name → open shift id
    client: TestClient | None = None
    customer: int = 0  # the credit customer (挂账) of build_shop
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def store1(self) -> int:
        return self.stores["cashier"]

    @property
    def store2(self) -> int:
        return self.stores["cashier2"]

    @property
    def shift(self) -> int:
        return self.shifts["cashier"]

    @property
    def shift2(self) -> int:
        return self.shifts["cashier2"]

    @property
    def http(self) -> TestClient:
        assert self.client is not None, "a seeded shop has no in-process client: use build_shop"
        return self.client

    def h(self, who: str = "cashier") -> dict[str, str]:
        return self.county.auth(who)

    def sale(
        self,
        lines: list[tuple[str, str]] | list[dict],
        payments: list[tuple[str, str]] | None = None,
        *,
        who: str = "cashier",
        store: int | None = None,
        shift: int | None = None,
        idem: str | None = None,
        **extra: Any,
    ) -> Any:
        return self.http.post(
            "/api/v1/pos/sales",
            json=self.sale_body(lines, payments, store=store, shift=shift, idem=idem, **extra),
            headers=self.h(who),
        )

    def sale_body(
        self,
        lines: list[tuple[str, str]] | list[dict],
        payments: list[tuple[str, str]] | None = None,
        *,
        store: int | None = None,
        shift: int | None = None,
        idem: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        body_lines = [ln if isinstance(ln, dict) else {"sku": ln[0], "quantity": ln[1]} for ln in lines]
        return {
            "idempotency_key": idem or key(),
            "store_id": store or self.store1,
            "shift_id": shift or self.shift,
            "sold_at": datetime.now(UTC).isoformat(),
            "lines": body_lines,
            "payments": [{"method": m, "amount": a} for m, a in (payments or [("cash", "1000.00")])],
            **extra,
        }

    def count(self, table: str) -> int:
        from sqlalchemy import table as t

        with read_tx(self.county.engine) as conn:
            return conn.execute(select(func.count()).select_from(t(table))).scalar_one()


def build_shop(county: County, client: TestClient, *, stock: bool = True) -> Shop:
    company = county.ids["company"]
    shop = Shop(county, company, {"cashier": county.stores["store1"], "cashier2": county.stores["store2"]})
    shop.client = client
    officer = county.auth("officer")
    body = [
        {
            "sku": sku,
            "barcode": bar,
            "name": name,
            "unit": unit,
            "price": price,
            "category": cat,
            "tax_category": tax,
            "origin_org_id": county.ids["village1"] if sku in ("APPLE", "VEG") else None,
            "allow_price_override": sku == "VEG",
        }
        for sku, bar, name, unit, price, cat, tax in PRODUCTS
    ]
    r = client.put(f"/api/v1/pos/orgs/{company}/products", json=body, headers=officer)
    assert r.status_code == 200, r.text
    if stock:
        for store in (shop.store1, shop.store2):
            r = client.post(
                f"/api/v1/pos/stores/{store}/purchases",
                json={
                    "date": county_time.today().isoformat(),
                    "village_org_id": county.ids["village1"],
                    "lines": [
                        {"sku": "APPLE", "quantity": "100", "cost": "600.00"},
                        {"sku": "RICE", "quantity": "50", "cost": "150.00"},
                        {"sku": "EGG", "quantity": "300", "cost": "300.00"},
                        {"sku": "OIL", "quantity": "3", "cost": "150.00"},
                        {"sku": "VEG", "quantity": "30", "cost": "36.00"},
                    ],
                },
                headers=officer,
            )
            assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/pos/orgs/{company}/customers",
        json={
            "name": "第一中学食堂",
            "kind": "school_canteen",
            "channel": "school",
            "credit_limit": "500.00",
        },
        headers=officer,
    )
    assert r.status_code == 201, r.text
    shop.customer = r.json()["id"]
    r = client.post("/api/v1/pos/shifts", json={"store_id": shop.store1, "float": "200.00"}, headers=shop.h())
    assert r.status_code == 201, r.text
    shop.shifts["cashier"] = r.json()["id"]
    r = client.post(
        "/api/v1/pos/shifts", json={"store_id": shop.store2, "float": "100.00"}, headers=shop.h("cashier2")
    )
    assert r.status_code == 201, r.text
    shop.shifts["cashier2"] = r.json()["id"]
    return shop


def seed_sales(shop: Shop, shift_id: int, n: int) -> None:
    """``n`` two-egg sales (cash or WeChat) written straight into the tables, stock relieved to match."""
    from datetime import timedelta

    from sqlalchemy import insert, update

    from ledger.books.money import split_tax_inclusive
    from ledger.db.engine import write_tx
    from pos.models import PosPayment, PosProduct, PosSale, PosSaleLine, PosStock

    sale_t, line_t, pay_t = PosSale.__table__, PosSaleLine.__table__, PosPayment.__table__
    stock_t, prod_t = PosStock.__table__, PosProduct.__table__
    net, tax = split_tax_inclusive(300, 100)
    start = datetime.now(UTC) - timedelta(hours=1)
    with write_tx(shop.county.engine) as conn:
        egg = conn.execute(
            select(prod_t.c.id).where(prod_t.c.org_id == shop.company, prod_t.c.sku == "EGG")
        ).scalar_one()
        day = start.date()
        rows = [
            {
                "org_id": shop.company,
                "store_id": shop.store1,
                "shift_id": shift_id,
                "kind": "sale",
                "business_date": day,
                "receipt_seq": 100_000 + i,
                "receipt_no": f"seed-{i}",
                "sold_at": start,
                "channel": "counter",
                "total_fen": 300,
                "tax_fen": tax,
                "cost_fen": 200,
                "tendered_fen": 300,
                "change_fen": 0,
                "idempotency_key": f"seed-{shift_id}-{i}",
                "request_hash": "seed",
                "response_json": "{}",
                "created_at": start,
            }
            for i in range(n)
        ]
        ids = (
            conn.execute(insert(sale_t).returning(sale_t.c.id, sort_by_parameter_order=True), rows)
            .scalars()
            .all()
        )
        conn.execute(
            insert(line_t),
            [
                {
                    "org_id": shop.company,
                    "sale_id": sid,
                    "line_no": 1,
                    "product_id": egg,
                    "qty_milli": 2000,
                    "unit_price_fen": 150,
                    "amount_fen": 300,
                    "net_fen": net,
                    "tax_fen": tax,
                    "tax_rate_bp": 100,
                    "product_category": "禽蛋",
                    "cost_fen": 200,
                }
                for sid in ids
            ],
        )
        conn.execute(
            insert(pay_t),
            [
                {
                    "org_id": shop.company,
                    "sale_id": sid,
                    "method": "cash" if i % 2 else "wechat",
                    "amount_fen": 300,
                }
                for i, sid in enumerate(ids)
            ],
        )
        conn.execute(
            update(stock_t)
            .where(stock_t.c.store_id == shop.store1, stock_t.c.product_id == egg)
            .values(qty_milli=stock_t.c.qty_milli - 2000 * n, value_fen=stock_t.c.value_fen - 200 * n)
        )


def seed_shop(engine: Engine) -> Shop:
    """The test county, a catalogue with plenty of stock in store1 and store2, a shift open in each: written
    through the service functions, with no app (for a server started afterwards, or a template database)."""
    county = build_county(engine)
    company, village = county.ids["company"], county.ids["village1"]
    stores = {"cashier": county.stores["store1"], "cashier2": county.stores["store2"]}
    opened: dict[str, int] = {}
    with write_tx(engine) as conn:
        catalogue.upsert_products(
            conn,
            company,
            [
                catalogue.ProductIn(
                    sku, name, unit, price, category=cat, origin_org_id=county.ids["village1"]
                )
                for sku, name, unit, price, cat in SEEDED_PRODUCTS
            ],
        )
        for cashier, store_id in stores.items():
            store = get_store(conn, store_id)
            stock.record_purchase(
                conn,
                None,
                store,
                stock.Purchase(
                    day=business_date(datetime.now(UTC)),
                    supplier=None,
                    village_org_id=village,
                    lines=[(sku, STOCK_MILLI, 10_000_000) for sku, *_ in SEEDED_PRODUCTS],
                ),
            )
            who = principal_for_token(conn, county.tokens[cashier])
            opened[cashier] = shifts.open_shift(conn, who, store_id, 50_000)
    return Shop(county, company, stores, opened)
