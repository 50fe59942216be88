"""Offline batches (a bad sale never rejects the good ones) and who may touch which store (DESIGN §9)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from ledger.db.engine import read_tx
from tests.factories.county import County
from tests.factories.shop import Shop, build_shop, key


@pytest.fixture
def shop(county: County, client: TestClient) -> Shop:
    return build_shop(county, client)


def test_batch_mixes_created_duplicates_and_rejections_without_losing_good_sales(shop: Shop) -> None:
    earlier = shop.sale_body([("EGG", "2")], [("cash", "3.00")])
    assert shop.client.post("/api/v1/pos/sales", json=earlier, headers=shop.h()).status_code == 201
    good = [shop.sale_body([("APPLE", f"{i + 1}")], [("cash", "100.00")]) for i in range(5)]
    bad_float = shop.sale_body([("EGG", "1")], [("cash", "1.50")])
    bad_float["payments"][0]["amount"] = 1.5
    unknown = shop.sale_body([("NOPE", "1")], [("cash", "1.50")])
    unpaid = shop.sale_body([("OIL", "1")], [("cash", "1.00")])
    conflicting = dict(earlier, lines=[{"sku": "EGG", "quantity": "1"}])
    batch = [
        good[0],
        earlier,
        bad_float,
        good[1],
        unknown,
        good[2],
        good[2],
        unpaid,
        conflicting,
        good[3],
        good[4],
    ]
    r = shop.client.post("/api/v1/pos/sales:batch", json={"sales": batch}, headers=shop.h())
    assert r.status_code == 200, r.text
    out = r.json()
    statuses = [x["status"] for x in out["results"]]
    assert statuses == [
        "created",
        "duplicate",
        "rejected",
        "created",
        "rejected",
        "created",
        "duplicate",
        "rejected",
        "rejected",
        "created",
        "created",
    ]
    assert (out["created"], out["duplicate"], out["rejected"]) == (5, 2, 4)
    reasons = {x["index"]: x["error"] for x in out["results"] if x["error"]}
    assert reasons[2]["field"] == "payments[0].amount"
    assert reasons[4]["code"] == "unknown_product" and reasons[4]["field"] == "lines[0].sku"
    assert reasons[7]["code"] == "insufficient_payment"
    assert reasons[8]["code"] == "idempotency_conflict"
    assert shop.count("pos_sale") == 6
    # the whole batch again: everything that was created is now a duplicate, nothing new is written
    again = shop.client.post("/api/v1/pos/sales:batch", json={"sales": batch}, headers=shop.h()).json()
    assert (again["created"], again["duplicate"], again["rejected"]) == (0, 7, 4)
    assert shop.count("pos_sale") == 6
    receipt_numbers = [x["sale"]["receipt_no"] for x in out["results"] if x["status"] == "created"]
    assert len(set(receipt_numbers)) == 5


def test_batch_takes_at_most_500_sales(shop: Shop) -> None:
    body = shop.sale_body([("EGG", "1")], [("cash", "1.50")])
    r = shop.client.post("/api/v1/pos/sales:batch", json={"sales": [body] * 501}, headers=shop.h())
    assert r.status_code == 422 and r.json()["error"]["field"] == "sales"


def test_a_cashier_works_in_its_own_store_only(shop: Shop) -> None:
    mine = shop.sale([("EGG", "1")], [("cash", "1.50")]).json()
    theirs = shop.sale(
        [("EGG", "1")], [("cash", "1.50")], who="cashier2", store=shop.store2, shift=shop.shift2
    )
    assert theirs.status_code == 201, theirs.text
    theirs = theirs.json()
    # cannot read another store's sales, receipts, stock, shifts, nor sell into it
    assert shop.client.get(f"/api/v1/pos/sales/{theirs['id']}", headers=shop.h()).status_code == 404
    assert shop.client.get(f"/api/v1/pos/sales/{theirs['id']}/receipt", headers=shop.h()).status_code == 404
    assert shop.client.get(f"/api/v1/pos/stores/{shop.store2}/stock", headers=shop.h()).status_code == 404
    assert shop.client.get(f"/api/v1/pos/shifts/{shop.shift2}", headers=shop.h()).status_code == 404
    day = mine["business_date"]
    assert (
        shop.client.get(
            f"/api/v1/pos/stores/{shop.store2}/sales", params={"date": day}, headers=shop.h()
        ).status_code
        == 404
    )
    r = shop.sale([("EGG", "1")], [("cash", "1.50")], store=shop.store2, shift=shop.shift2)
    assert r.status_code == 404 and r.json()["error"]["field"] == "store_id"
    # cannot refund another store's sale, nor close another cashier's shift
    r = shop.client.post(
        f"/api/v1/pos/sales/{theirs['id']}/refunds",
        json={"shift_id": shop.shift, "lines": [{"line_no": 1, "quantity": "1"}]},
        headers={**shop.h(), "Idempotency-Key": key()},
    )
    assert r.status_code == 404
    r = shop.client.post(
        f"/api/v1/pos/shifts/{shop.shift2}/close", json={"counted_cash": "0.00"}, headers=shop.h()
    )
    assert r.status_code == 404
    # its own store's sales are visible
    listed = shop.client.get(
        f"/api/v1/pos/stores/{shop.store1}/sales", params={"date": day}, headers=shop.h()
    )
    assert [s["id"] for s in listed.json()] == [mine["id"]]


def test_a_cashier_cannot_close_another_cashiers_shift_in_the_same_store(
    shop: Shop, county: County, client: TestClient
) -> None:
    from ledger.access.auth import create_user, issue_token
    from ledger.db.engine import write_tx

    with write_tx(county.engine) as conn:
        uid = create_user(conn, username="cashier1b", role="cashier", scope_store_id=shop.store1)
        county.tokens["cashier1b"] = issue_token(conn, uid)
    r = client.post(
        f"/api/v1/pos/shifts/{shop.shift}/close", json={"counted_cash": "200.00"}, headers=shop.h("cashier1b")
    )
    assert r.status_code == 404
    r = shop.sale([("EGG", "1")], [("cash", "1.50")], who="cashier1b")
    assert r.status_code == 404 and r.json()["error"]["field"] == "shift_id"


def test_a_cashier_cannot_do_back_office_work(shop: Shop) -> None:
    h = shop.h()
    assert shop.client.put(f"/api/v1/pos/orgs/{shop.company}/products", json=[], headers=h).status_code == 403
    r = shop.client.post(
        f"/api/v1/pos/stores/{shop.store1}/purchases",
        json={
            "date": "2025-03-01",
            "supplier": "x",
            "lines": [{"sku": "EGG", "quantity": "1", "cost": "1.00"}],
        },
        headers=h,
    )
    assert r.status_code == 403
    assert shop.client.get(f"/api/v1/orgs/{shop.company}/entries", headers=h).status_code == 404
    # but it may read the catalogue its till needs
    assert shop.client.get(f"/api/v1/pos/orgs/{shop.company}/products", headers=h).status_code == 200


def test_officers_see_their_streets_company_and_nothing_else(shop: Shop) -> None:
    sale = shop.sale([("EGG", "1")], [("cash", "1.50")]).json()
    assert shop.client.get(f"/api/v1/pos/sales/{sale['id']}", headers=shop.h("officer")).status_code == 200
    assert shop.client.get(f"/api/v1/pos/shifts/{shop.shift2}", headers=shop.h("officer")).status_code == 200
    assert (
        shop.client.get(f"/api/v1/pos/sales/{sale['id']}", headers=shop.h("officer_tuanjie")).status_code
        == 404
    )
    assert (
        shop.client.get(
            f"/api/v1/pos/stores/{shop.store1}/stock", headers=shop.h("officer_tuanjie")
        ).status_code
        == 404
    )
    assert shop.client.get(f"/api/v1/pos/sales/{sale['id']}", headers=shop.h("community")).status_code == 404
    r = shop.client.post(
        f"/api/v1/pos/shifts/{shop.shift}/close", json={"counted_cash": "201.50"}, headers=shop.h("officer")
    )
    assert r.status_code == 200 and r.json()["voucher_no"]


def _store_state(shop: Shop, store: int) -> tuple[list, list]:
    with read_tx(shop.county.engine) as conn:
        stock = conn.execute(
            text(
                "SELECT product_id, qty_milli, value_fen, avg_cost_mfen FROM pos_stock "
                "WHERE store_id = :s ORDER BY product_id"
            ),
            {"s": store},
        ).all()
        sales = conn.execute(
            text(
                "SELECT s.receipt_seq, s.total_fen, s.tax_fen, s.cost_fen, s.change_fen, "
                "(SELECT count(*) FROM pos_sale_line l WHERE l.sale_id = s.id), "
                "(SELECT sum(l.cost_fen) FROM pos_sale_line l WHERE l.sale_id = s.id), "
                "(SELECT sum(p.amount_fen) FROM pos_payment p WHERE p.sale_id = s.id) "
                "FROM pos_sale s WHERE s.store_id = :s ORDER BY s.id"
            ),
            {"s": store},
        ).all()
    return [tuple(r) for r in stock], [tuple(r) for r in sales]


def test_a_batch_leaves_the_store_as_the_same_sales_sent_one_by_one(shop: Shop) -> None:
    """A batch looks its lookups up once and writes the stock, the receipt counter, the lines and the
    payments at its end (``pos.sales.SaleBook``): the stock, costs, receipt numbers, lines and payments are
    those of the same sales sent one at a time, a refused sale in the middle leaves nothing behind, and the
    next sale takes the next receipt number."""
    baskets = [
        [("APPLE", "3")],
        [("APPLE", "2.5"), ("EGG", "7")],
        [("NOPE", "1")],  # refused: no such product
        [("RICE", "1.234"), ("APPLE", "1"), ("EGG", "1")],
        [("EGG", "12")],
    ]
    one_by_one = [shop.sale_body(b, store=shop.store2, shift=shop.shift2) for b in baskets]
    for body in one_by_one:
        shop.client.post("/api/v1/pos/sales", json=body, headers=shop.h("cashier2"))
    batch = [shop.sale_body(b) for b in baskets]
    out = shop.client.post("/api/v1/pos/sales:batch", json={"sales": batch}, headers=shop.h()).json()
    assert [x["status"] for x in out["results"]] == ["created", "created", "rejected", "created", "created"]
    assert [x["sale"]["receipt_seq"] for x in out["results"] if x["sale"]] == [1, 2, 3, 4]
    batch_stock, batch_sales = _store_state(shop, shop.store1)
    single_stock, single_sales = _store_state(shop, shop.store2)
    assert [r[1:] for r in batch_stock] == [r[1:] for r in single_stock]
    assert batch_sales == single_sales and len(batch_sales) == 4
    after = shop.sale([("EGG", "1")]).json()
    assert after["receipt_seq"] == 5


def test_a_credit_sale_of_a_batch_counts_the_credit_of_the_batchs_earlier_sales(shop: Shop) -> None:
    """The credit limit (¥500) sees what the batch's earlier sales put on credit, not yet written when the
    customer's open balance is read otherwise."""
    credit = {"customer_id": shop.customer}
    batch = [shop.sale_body([("OIL", "4")], [("credit", "272.00")], **credit) for _ in range(2)]
    out = shop.client.post("/api/v1/pos/sales:batch", json={"sales": batch}, headers=shop.h()).json()
    assert [x["status"] for x in out["results"]] == ["created", "rejected"]
    assert out["results"][1]["error"]["code"] == "credit_limit_exceeded"
