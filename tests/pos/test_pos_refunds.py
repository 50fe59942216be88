"""Refunds never exceed what was sold, mirror the sale's channel and tax, and return stock; 挂账 limits."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from tests.factories.county import County
from tests.factories.shop import Shop, build_shop, key


@pytest.fixture
def shop(county: County, client: TestClient) -> Shop:
    return build_shop(county, client)


def refund(shop: Shop, sale_id: int, lines: list[tuple[int, str]], *, idem: str | None = None, **extra):  # type: ignore[no-untyped-def]
    return shop.client.post(
        f"/api/v1/pos/sales/{sale_id}/refunds",
        json={
            "shift_id": extra.pop("shift_id", shop.shift),
            "lines": [{"line_no": n, "quantity": q} for n, q in lines],
            **extra,
        },
        headers={**shop.h(extra.pop("who", "cashier")), "Idempotency-Key": idem or key()},
    )


def stock_of(shop: Shop, sku: str) -> dict:
    rows = shop.client.get(f"/api/v1/pos/stores/{shop.store1}/stock", headers=shop.h()).json()
    return next(r for r in rows if r["sku"] == sku)


def test_partial_refunds_never_exceed_the_sale_and_the_last_takes_the_remainder(shop: Shop) -> None:
    sale = shop.sale([("APPLE", "1.235"), ("EGG", "3")], [("cash", "20.00")]).json()
    assert sale["total"] == "15.37"
    first = refund(shop, sale["id"], [(1, "0.5")])
    assert first.status_code == 201, first.text
    r1 = first.json()
    assert r1["kind"] == "refund" and r1["original_sale_id"] == sale["id"]
    assert r1["lines"][0]["amount"] == "-4.40" and r1["channel"] == sale["channel"]
    assert r1["lines"][0]["tax_rate"] == "1%" and r1["payments"] == [
        {"method": "cash", "amount": "-4.40", "reference": None}
    ]
    too_much = refund(shop, sale["id"], [(1, "0.736")])
    assert too_much.status_code == 409
    err = too_much.json()["error"]
    assert err["code"] == "refund_exceeds_sale" and err["field"] == "lines[0].quantity"
    assert "only 0.735 of 1.235 remains" in err["message"]
    last = refund(shop, sale["id"], [(1, "0.735"), (2, "3")]).json()
    # the two refunds of line 1 give back exactly its 10.87, net and tax included
    assert last["lines"][0]["amount"] == "-6.47" and last["lines"][1]["amount"] == "-4.50"
    line1_net = [ln["net"] for ln in (r1["lines"][0], last["lines"][0])]
    assert sum(int(x.replace(".", "").replace("-", "")) for x in line1_net) == int(
        sale["lines"][0]["net"].replace(".", "")
    )
    assert refund(shop, sale["id"], [(2, "0.001")]).status_code == 409
    assert stock_of(shop, "APPLE")["quantity"] == "100" and stock_of(shop, "APPLE")["value"] == "600.00"
    assert stock_of(shop, "EGG")["quantity"] == "300"


def test_a_refund_is_idempotent_and_a_refund_of_a_refund_is_refused(shop: Shop) -> None:
    sale = shop.sale([("EGG", "4")], [("wechat", "6.00")]).json()
    k = key()
    a = refund(shop, sale["id"], [(1, "1")], idem=k)
    b = refund(shop, sale["id"], [(1, "1")], idem=k)
    assert (a.status_code, b.status_code) == (201, 200) and a.json() == b.json()
    assert refund(shop, sale["id"], [(1, "2")], idem=k).status_code == 409
    assert refund(shop, a.json()["id"], [(1, "1")]).status_code == 422
    assert a.json()["payments"] == [{"method": "wechat", "amount": "-1.50", "reference": None}]


def test_concurrent_refunds_cannot_together_exceed_the_sale(shop: Shop) -> None:
    sale = shop.sale([("EGG", "5")], [("cash", "7.50")]).json()
    codes: list[int] = []
    barrier = threading.Barrier(8)

    def go() -> None:
        barrier.wait()
        codes.append(refund(shop, sale["id"], [(1, "1")]).status_code)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201] * 5 + [409] * 3


def test_credit_sale_over_the_limit_is_a_409_with_the_open_balance(shop: Shop) -> None:
    ok = shop.sale([("OIL", "3")], [("credit", "204.00")], customer_id=shop.customer)
    assert ok.status_code == 201, ok.text
    assert ok.json()["channel"] == "school"  # the customer's default channel
    ok2 = shop.sale([("OIL", "4")], [("credit", "272.00")], customer_id=shop.customer)
    assert ok2.status_code == 201  # 476.00 of 500.00
    over = shop.sale([("RICE", "7")], [("credit", "27.86")], customer_id=shop.customer)
    assert over.status_code == 409
    err = over.json()["error"]
    assert (
        err["code"] == "credit_limit_exceeded"
        and "owes 476.00" in err["message"]
        and "500.00" in err["message"]
    )
    customers = shop.client.get(
        f"/api/v1/pos/orgs/{shop.company}/customers", headers=shop.h("officer")
    ).json()
    assert customers[0]["open_balance"] == "476.00"
    # a refund to credit lowers the balance; after the shift closes the balance comes from the books
    assert refund(shop, ok.json()["id"], [(1, "1")]).json()["payments"][0]["method"] == "credit"
    closed = shop.client.post(
        f"/api/v1/pos/shifts/{shop.shift}/close", json={"counted_cash": "200.00"}, headers=shop.h()
    )
    assert closed.status_code == 200, closed.text
    customers = shop.client.get(
        f"/api/v1/pos/orgs/{shop.company}/customers", headers=shop.h("officer")
    ).json()
    assert customers[0]["open_balance"] == "408.00"
