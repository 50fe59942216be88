"""Shifts (开班/交班) and the one voucher per shift, as the finance office would check it."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from ledger.books.verify import verify_all
from ledger.db.engine import read_tx
from tests.factories.county import County
from tests.factories.shop import Shop, build_shop, key


@pytest.fixture
def shop(county: County, client: TestClient) -> Shop:
    return build_shop(county, client)


def fen(text: str) -> int:
    return int(Decimal(text) * 100)


def stock_value(shop: Shop, store: int) -> int:
    rows = shop.client.get(f"/api/v1/pos/stores/{store}/stock", headers=shop.h("officer")).json()
    return sum(fen(r["value"]) for r in rows)


def entry_lines(shop: Shop, entry_id: int) -> dict[str, list[dict]]:
    r = shop.client.get(f"/api/v1/orgs/{shop.company}/entries/{entry_id}", headers=shop.h("officer"))
    assert r.status_code == 200, r.text
    out: dict[str, list[dict]] = defaultdict(list)
    for ln in r.json()["lines"]:
        out[ln["account"]].append(ln)
    return out


def net_credit(lines: list[dict]) -> int:
    return sum(fen(ln["credit"]) - fen(ln["debit"]) for ln in lines)


def test_shift_close_posts_one_voucher_that_balances_and_ties_to_its_sales(shop: Shop) -> None:
    value_before = stock_value(shop, shop.store1)
    sales = [
        shop.sale([("APPLE", "2.5"), ("RICE", "1.235")], [("cash", "50.00")]).json(),
        shop.sale([("OIL", "1"), ("DELIV", "1")], [("wechat", "78.00")]).json(),
        shop.sale([("EGG", "30")], [("credit", "45.00")], customer_id=shop.customer).json(),
        shop.sale([("VEG", "3.3")], [("alipay", "5.00"), ("cash", "10.00")], channel="community").json(),
    ]
    refund = shop.client.post(
        f"/api/v1/pos/sales/{sales[0]['id']}/refunds",
        json={"shift_id": shop.shift, "lines": [{"line_no": 1, "quantity": "1"}], "reason": "坏果"},
        headers={**shop.h(), "Idempotency-Key": key()},
    )
    assert refund.status_code == 201, refund.text
    sales.append(refund.json())
    for kind, amount in (("pay_in", "50.00"), ("payout", "20.00")):
        r = shop.client.post(
            f"/api/v1/pos/shifts/{shop.shift}/cash-moves",
            json={"kind": kind, "amount": amount, "reason": "备用金"},
            headers=shop.h(),
        )
        assert r.status_code == 201, r.text

    report = shop.client.get(f"/api/v1/pos/shifts/{shop.shift}", headers=shop.h()).json()
    cash_in = sum(fen(p["amount"]) for s in sales for p in s["payments"] if p["method"] == "cash")
    change = sum(fen(s["change"]) for s in sales)
    expected = 20_000 + cash_in - change + 5_000 - 2_000
    assert fen(report["cash"]["expected"]) == expected
    with read_tx(shop.county.engine) as conn:
        assert verify_all(conn) == []  # stock + unposted COGS = 1405 while the shift is open

    counted = expected - 100  # one yuan short
    r = shop.client.post(
        f"/api/v1/pos/shifts/{shop.shift}/close",
        json={"counted_cash": f"{counted / 100:.2f}"},
        headers=shop.h(),
    )
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "closed" and closed["voucher_no"].startswith("记-")
    assert closed["cash"]["over_short"] == "-1.00"

    lines = entry_lines(shop, closed["entry_id"])
    debit = sum(fen(ln["debit"]) for ls in lines.values() for ln in ls)
    credit = sum(fen(ln["credit"]) for ls in lines.values() for ln in ls)
    assert debit == credit
    takings = sum(fen(s["total"]) for s in sales)
    revenue = sum(fen(s["net"]) for s in sales)
    vat = sum(fen(s["tax"]) for s in sales)
    assert net_credit(lines["5001"]) == revenue
    assert net_credit(lines["222101"]) == vat
    assert revenue + vat == takings
    cogs = value_before - stock_value(shop, shop.store1)
    assert -net_credit(lines["5401"]) == cogs == net_credit(lines["1405"]) > 0
    assert -net_credit(lines["1001"]) == cash_in - change - 100
    assert -net_credit(lines["1221"]) == 100 and lines["1221"][0]["counterparty_id"]
    assert -net_credit(lines["101201"]) == 7_800
    assert -net_credit(lines["101202"]) == 500
    assert -net_credit(lines["1122"]) == 4_500
    channels = {(ln["channel"], ln["product_category"]) for ln in lines["5001"]}
    assert ("school", "禽蛋") in channels and ("community", "蔬菜") in channels
    assert all(ln["store_id"] == shop.store1 for ln in lines["5001"] + lines["5401"] + lines["1405"])

    entries = shop.client.get(
        f"/api/v1/orgs/{shop.company}/entries", params={"source": "pos"}, headers=shop.h("officer")
    ).json()
    assert sum(e["source_ref"] == f"shift:{shop.shift}" for e in entries["items"]) == 1
    with read_tx(shop.county.engine) as conn:
        assert verify_all(conn) == []
    # A repeated close returns the same report; a different count is refused; sales are refused.
    again = shop.client.post(
        f"/api/v1/pos/shifts/{shop.shift}/close",
        json={"counted_cash": f"{counted / 100:.2f}"},
        headers=shop.h(),
    )
    assert again.status_code == 200 and again.json()["voucher_no"] == closed["voucher_no"]
    other = shop.client.post(
        f"/api/v1/pos/shifts/{shop.shift}/close", json={"counted_cash": "1.00"}, headers=shop.h()
    )
    assert other.status_code == 409
    late = shop.sale([("EGG", "1")], [("cash", "1.50")])
    assert late.status_code == 409 and late.json()["error"]["code"] == "shift_closed"


def test_cash_over_goes_to_non_operating_income(shop: Shop) -> None:
    shop.sale([("EGG", "2")], [("cash", "5.00")])
    r = shop.client.post(
        f"/api/v1/pos/shifts/{shop.shift}/close", json={"counted_cash": "205.50"}, headers=shop.h()
    )
    assert r.status_code == 200, r.text
    assert r.json()["cash"]["expected"] == "203.00" and r.json()["cash"]["over_short"] == "2.50"
    lines = entry_lines(shop, r.json()["entry_id"])
    assert net_credit(lines["5301"]) == 250
    assert -net_credit(lines["1001"]) == 550


def test_an_empty_shift_closes_without_a_voucher(shop: Shop) -> None:
    r = shop.client.post(
        f"/api/v1/pos/shifts/{shop.shift}/close", json={"counted_cash": "200.00"}, headers=shop.h()
    )
    assert r.status_code == 200 and r.json()["voucher_no"] is None


def test_a_month_with_an_open_shift_cannot_close(shop: Shop) -> None:
    shop.sale([("EGG", "2")], [("cash", "3.00")])
    report = shop.client.get(f"/api/v1/pos/shifts/{shop.shift}", headers=shop.h()).json()
    period = report["business_date"][:7]
    r = shop.client.post(f"/api/v1/orgs/{shop.company}/periods/{period}/close", headers=shop.h("admin"))
    assert r.status_code == 409 and "POS shift" in r.json()["error"]["message"]


def test_a_cashier_has_one_open_shift_per_store_and_sales_need_it(shop: Shop) -> None:
    r = shop.client.post(
        "/api/v1/pos/shifts", json={"store_id": shop.store1, "float": "0.00"}, headers=shop.h()
    )
    assert r.status_code == 409
    r = shop.client.post(
        "/api/v1/pos/shifts", json={"store_id": shop.store1, "float": 100.0}, headers=shop.h()
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "float"


def test_closing_a_shift_of_many_sales_is_fast(shop: Shop) -> None:
    """10,000 sales written straight into the tables, then one close through the API (target ≤ 2 s)."""
    import time

    from tests.factories.shop import seed_sales

    seed_sales(shop, shop.shift, 10_000)
    started = time.perf_counter()
    r = shop.client.post(
        f"/api/v1/pos/shifts/{shop.shift}/close", json={"counted_cash": "200.00"}, headers=shop.h()
    )
    elapsed = time.perf_counter() - started
    assert r.status_code == 200, r.text
    assert r.json()["sales"] == 10_000
    lines = entry_lines(shop, r.json()["entry_id"])
    assert sum(fen(ln["debit"]) for ls in lines.values() for ln in ls) == sum(
        fen(ln["credit"]) for ls in lines.values() for ln in ls
    )
    assert elapsed < 2.0, f"closing 10,000 sales took {elapsed:.2f} s"
