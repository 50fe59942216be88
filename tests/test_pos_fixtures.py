"""A company's stores ready to sell: catalogue, stock, a credit customer and an open shift, all via HTTP."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledger.db.engine import read_tx
from tests.conftest import County

PRODUCTS = [
    # sku, barcode, name, unit, price, category, tax category
    ("APPLE", "6901000000011", "苹果", "斤", "8.80", "水果", "goods"),
    ("RICE", "6901000000028", "大米", "kg", "3.98", "粮油", "goods"),
    ("EGG", "6901000000035", "土鸡蛋", "个", "1.50", "禽蛋", "goods"),
    ("OIL", None, "菜籽油", "桶", "68.00", "粮油", "goods"),
    ("DELIV", None, "送货服务", "次", "10.00", "服务", "services"),
    ("VEG", None, "时令蔬菜", "斤", "2.00", "蔬菜", "goods"),
]
_keys = itertools.count()


def key() -> str:
    return f"k-{next(_keys)}-{uuid.uuid4().hex[:8]}"


@dataclass
class Shop:
    county: County
    client: TestClient
    company: int
    store1: int
    store2: int
    shift: int = 0
    shift2: int = 0
    customer: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

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
        return self.client.post(
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
    shop = Shop(county, client, company, county.stores["store1"], county.stores["store2"])
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
                    "date": datetime.now(UTC).date().isoformat(),
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
    shop.shift = r.json()["id"]
    r = client.post(
        "/api/v1/pos/shifts", json={"store_id": shop.store2, "float": "100.00"}, headers=shop.h("cashier2")
    )
    assert r.status_code == 201, r.text
    shop.shift2 = r.json()["id"]
    return shop
