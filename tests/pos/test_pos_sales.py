"""Sales at the till through real HTTP calls, on SQLite and PostgreSQL: the arithmetic of DESIGN §2,
split tender and change, idempotency (twice, and 20 times at once), and bad input that writes nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories.county import County
from tests.factories.shop import Shop, build_shop, key


@pytest.fixture
def shop(county: County, client: TestClient) -> Shop:
    return build_shop(county, client)


def test_weighed_lines_round_half_up_once_and_tax_splits_per_sale_and_rate(shop: Shop) -> None:
    r = shop.sale(
        [
            ("APPLE", "1.235"),  # 1.235 × 8.80 = 10.868 → 10.87
            ("RICE", "2.375"),  # 2.375 × 3.98 = 9.4525 → 9.45
            {
                "sku": "VEG",
                "quantity": "0.125",
                "unit_price": "4.04",
                "override_reason": "临期打折",
            },  # 0.505 → 0.51
            ("DELIV", "1"),  # services 10.00
        ],
        [("cash", "50.00")],
    )
    assert r.status_code == 201, r.text
    sale = r.json()
    assert [ln["amount"] for ln in sale["lines"]] == ["10.87", "9.45", "0.51", "10.00"]
    # goods: gross 20.83 → net round(2083 / 1.01) = 2062.38 → 20.62, tax 0.21; services: 10.00 → 9.90 + 0.10
    assert sale["total"] == "30.83"
    assert sale["tax"] == "0.31"
    assert sale["net"] == "30.52"
    assert sum(int(ln["net"].replace(".", "")) for ln in sale["lines"][:3]) == 2062
    assert sale["lines"][3]["net"] == "9.90" and sale["lines"][3]["tax_rate"] == "1%"
    assert sale["change"] == "19.17"
    assert sale["lines"][2]["override_reason"] == "临期打折"
    assert sale["receipt_no"].startswith("store1-") and sale["receipt_no"].endswith("-0001")
    second = shop.sale([("EGG", "1")], [("cash", "1.50")]).json()
    assert second["receipt_seq"] == 2 and second["change"] == "0.00"
    assert (second["net"], second["tax"]) == ("1.49", "0.01")  # 150 / 1.01 = 148.5 → 149 (half-up)


def test_split_tender_gives_change_only_from_cash(shop: Shop) -> None:
    r = shop.sale([("OIL", "1"), ("EGG", "3")], [("wechat", "50.00"), ("cash", "30.00")])
    assert r.status_code == 201, r.text
    sale = r.json()
    assert (sale["total"], sale["tendered"], sale["change"]) == ("72.50", "80.00", "7.50")
    bad = shop.sale([("EGG", "1")], [("wechat", "2.00")])
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "insufficient_payment"
    assert (
        bad.json()["error"]["field"] == "payments"
        and "only cash gives change" in bad.json()["error"]["message"]
    )
    exact = shop.sale([("EGG", "1")], [("alipay", "1.00"), ("unionpay", "0.30"), ("ecny", "0.20")])
    assert exact.status_code == 201 and exact.json()["change"] == "0.00"


def test_sale_by_barcode_and_receipt_text_fits_58mm(shop: Shop) -> None:
    r = shop.sale([{"barcode": "6901000000011", "quantity": "2"}], [("cash", "20.00")])
    assert r.status_code == 201, r.text
    sale = r.json()
    assert sale["lines"][0]["sku"] == "APPLE" and sale["total"] == "17.60"
    text = shop.client.get(f"/api/v1/pos/sales/{sale['id']}/receipt", headers=shop.h())
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert "苹果" in text.text and sale["receipt_no"] in text.text and "找零" in text.text
    from pos.sales import _width

    assert all(_width(line) <= 32 for line in text.text.splitlines())
    got = shop.client.get(f"/api/v1/pos/sales/{sale['id']}", headers=shop.h())
    assert got.json() == sale


def test_the_receipt_is_in_the_readers_language_and_the_thermal_printers_stays_chinese(shop: Shop) -> None:
    r = shop.sale([("APPLE", "1")], [("wechat", "5.00"), ("cash", "5.00")])
    assert r.status_code == 201, r.text
    sale_id, number = r.json()["id"], r.json()["receipt_no"]
    english = {**shop.h(), "Accept-Language": "en-GB,en;q=0.9,zh-CN;q=0.8"}
    text = shop.client.get(f"/api/v1/pos/sales/{sale_id}/receipt", headers=english).text
    lines = text.splitlines()
    assert lines[1] == "Sales receipt" and f"No.: {number}" in lines
    for words in ("Total (1 items)", "of which tax", "WeChat Pay", "Cash", "Change", "Thank you"):
        assert any(line.startswith(words) for line in lines), (words, text)
    assert not any(word in text for word in ("单号", "合计", "找零", "微信支付", "谢谢惠顾"))
    from pos.sales import _width

    assert all(_width(line) <= 32 for line in lines)
    chinese = {**shop.h(), "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
    text = shop.client.get(f"/api/v1/pos/sales/{sale_id}/receipt", headers=chinese).text
    assert text.splitlines()[1] == "销售小票" and "找零" in text and "微信支付" in text
    printed = shop.client.get(f"/api/v1/pos/sales/{sale_id}/receipt.escpos", headers=english).content
    assert "找零".encode("gb18030") in printed and b"Change" not in printed


def test_the_receipts_chinese_words_are_the_catalogues() -> None:
    """The thermal printer's words (pos.sales, no catalogue below the shell) and the catalogue's agree."""
    from ledger.web.i18n import receipt_words
    from pos.sales import RECEIPT_WORDS_ZH

    assert receipt_words("zh") == RECEIPT_WORDS_ZH
    english = receipt_words("en")
    assert english.keys() == RECEIPT_WORDS_ZH.keys() and english["refund"] == "Refund"


def test_same_sale_twice_exists_once_and_returns_the_original(shop: Shop) -> None:
    body = shop.sale_body([("APPLE", "1")], [("cash", "10.00")])
    first = shop.client.post("/api/v1/pos/sales", json=body, headers=shop.h())
    again = shop.client.post("/api/v1/pos/sales", json=body, headers=shop.h())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert shop.count("pos_sale") == 1


def test_same_key_with_a_different_body_is_a_409(shop: Shop) -> None:
    body = shop.sale_body([("APPLE", "1")], [("cash", "10.00")])
    assert shop.client.post("/api/v1/pos/sales", json=body, headers=shop.h()).status_code == 201
    body["lines"][0]["quantity"] = "2"
    body["payments"][0]["amount"] = "20.00"
    r = shop.client.post("/api/v1/pos/sales", json=body, headers=shop.h())
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_conflict"
    assert shop.count("pos_sale") == 1


def test_same_sale_submitted_20_times_concurrently_exists_once(shop: Shop) -> None:
    body = shop.sale_body([("RICE", "1.5")], [("cash", "10.00")])
    statuses: list[int] = []
    bodies: list[dict] = []
    barrier = threading.Barrier(20)

    def submit() -> None:
        barrier.wait()
        r = shop.client.post("/api/v1/pos/sales", json=body, headers=shop.h())
        statuses.append(r.status_code)
        bodies.append(r.json())

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 19 + [201], statuses
    assert all(b == bodies[0] for b in bodies)
    assert shop.count("pos_sale") == 1
    stock = {
        s["sku"]: s
        for s in shop.client.get(f"/api/v1/pos/stores/{shop.store1}/stock", headers=shop.h()).json()
    }
    assert stock["RICE"]["quantity"] == "48.5"


def test_concurrent_sales_never_lose_a_stock_update(shop: Shop) -> None:
    barrier = threading.Barrier(10)
    codes: list[int] = []

    def sell() -> None:
        barrier.wait()
        for _ in range(3):
            codes.append(shop.sale([("EGG", "2")], [("cash", "3.00")]).status_code)

    threads = [threading.Thread(target=sell) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [201] * 30
    stock = {
        s["sku"]: s
        for s in shop.client.get(f"/api/v1/pos/stores/{shop.store1}/stock", headers=shop.h()).json()
    }
    assert stock["EGG"]["quantity"] == "240"  # 300 − 30 × 2
    assert stock["EGG"]["value"] == "240.00"  # bought at 1.00 each


def test_selling_beyond_stock_is_allowed_and_listed_as_an_exception(shop: Shop) -> None:
    r = shop.sale([("OIL", "5")], [("cash", "340.00")])
    assert r.status_code == 201, r.text
    exceptions = shop.client.get(
        f"/api/v1/pos/stores/{shop.store1}/stock-exceptions", headers=shop.h()
    ).json()
    assert [(e["sku"], e["quantity"], e["value"]) for e in exceptions] == [("OIL", "-2", "-100.00")]


def _closed_shift(shop: Shop) -> int:
    r = shop.client.post(
        "/api/v1/pos/shifts", json={"store_id": shop.store1, "float": "0.00"}, headers=shop.h("officer")
    )
    shift = r.json()["id"]
    shop.client.post(
        f"/api/v1/pos/shifts/{shift}/close", json={"counted_cash": "0.00"}, headers=shop.h("officer")
    )
    return shift


BAD = [
    ("float amount", lambda b, s: b["payments"][0].update(amount=10.0), 422, "payments[0].amount"),
    ("float quantity", lambda b, s: b["lines"][0].update(quantity=1.5), 422, "lines[0].quantity"),
    ("negative quantity", lambda b, s: b["lines"][0].update(quantity="-1"), 422, "lines[0].quantity"),
    ("zero quantity", lambda b, s: b["lines"][0].update(quantity="0"), 422, "lines[0].quantity"),
    ("four decimals", lambda b, s: b["lines"][0].update(quantity="1.2345"), 422, "lines[0].quantity"),
    ("three-decimal amount", lambda b, s: b["payments"][0].update(amount="1.001"), 422, "payments[0].amount"),
    (
        "zero payment",
        lambda b, s: b["payments"].append({"method": "wechat", "amount": "0"}),
        422,
        "payments[1].amount",
    ),
    ("unknown sku", lambda b, s: b["lines"].append({"sku": "NOPE", "quantity": "1"}), 422, "lines[1].sku"),
    (
        "unknown barcode",
        lambda b, s: b["lines"].append({"barcode": "000", "quantity": "1"}),
        422,
        "lines[1].barcode",
    ),
    ("unpaid", lambda b, s: b["payments"][0].update(amount="1.00"), 422, "payments"),
    ("unknown method", lambda b, s: b["payments"][0].update(method="bitcoin"), 422, "payments[0].method"),
    ("unknown channel", lambda b, s: b.update(channel="moon"), 422, "channel"),
    (
        "credit without customer",
        lambda b, s: b["payments"][0].update(method="credit", amount="8.80"),
        422,
        "customer_id",
    ),
    (
        "override not permitted",
        lambda b, s: b["lines"][0].update(unit_price="1.00", override_reason="x"),
        422,
        "lines[0].unit_price",
    ),
    (
        "override without reason",
        lambda b, s: b["lines"].append({"sku": "VEG", "quantity": "1", "unit_price": "1.00"}),
        422,
        "lines[1].override_reason",
    ),
    (
        "far future",
        lambda b, s: b.update(sold_at=(datetime.now(UTC) + timedelta(hours=2)).isoformat()),
        422,
        "sold_at",
    ),
    ("closed shift", lambda b, s: b.update(shift_id=_closed_shift(s)), 409, "shift_id"),
    ("other store's shift", lambda b, s: b.update(shift_id=s.shift2), 404, "shift_id"),
    ("no lines", lambda b, s: b.update(lines=[]), 422, "lines"),
    ("extra field", lambda b, s: b.update(discount="1.00"), 422, "discount"),
]


@pytest.mark.parametrize(("case", "spoil", "status", "field"), BAD, ids=[c[0] for c in BAD])
def test_bad_sale_is_a_clear_4xx_naming_the_field_and_writes_nothing(
    shop: Shop,
    case: str,
    spoil,
    status: int,
    field: str,  # type: ignore[no-untyped-def]
) -> None:
    body = shop.sale_body([("APPLE", "1")], [("cash", "20.00")])
    spoil(body, shop)
    sales, lines, stock_before = shop.count("pos_sale"), shop.count("pos_sale_line"), _stock(shop)
    r = shop.client.post("/api/v1/pos/sales", json=body, headers=shop.h())
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["field"] == field, err
    assert err["message"]
    assert (shop.count("pos_sale"), shop.count("pos_sale_line")) == (sales, lines)
    assert _stock(shop) == stock_before


def _stock(shop: Shop) -> list:
    return shop.client.get(f"/api/v1/pos/stores/{shop.store1}/stock", headers=shop.h("officer")).json()


def test_a_sale_needs_an_idempotency_key(shop: Shop) -> None:
    body = shop.sale_body([("APPLE", "1")], [("cash", "20.00")])
    del body["idempotency_key"]
    r = shop.client.post("/api/v1/pos/sales", json=body, headers=shop.h())
    assert r.status_code == 422 and r.json()["error"]["field"] == "idempotency_key"
    r = shop.client.post("/api/v1/pos/sales", json=body, headers={**shop.h(), "Idempotency-Key": key()})
    assert r.status_code == 201


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.integers(1, 99_999), st.integers(0, 99_999), st.sampled_from([0, 100, 300, 600])),
        min_size=1,
        max_size=8,
    )
)
def test_line_nets_sum_to_the_per_sale_per_rate_split(lines: list[tuple[int, int, int]]) -> None:
    """Whatever the lines, net + tax = gross per line, and each rate's line nets sum to round(gross/(1+r))."""
    from ledger.books.money import line_amount, split_tax_inclusive
    from pos.pricing import split_sale_tax

    rows = [
        {"qty_milli": q, "unit_price_fen": p, "amount_fen": line_amount(q, p), "tax_rate_bp": r}
        for q, p, r in lines
    ]
    total, tax = split_sale_tax(rows)
    assert total == sum(r["amount_fen"] for r in rows)
    for rate in {r["tax_rate_bp"] for r in rows}:
        group = [r for r in rows if r["tax_rate_bp"] == rate]
        net, _ = split_tax_inclusive(sum(r["amount_fen"] for r in group), rate)
        assert sum(r["net_fen"] for r in group) == net
    assert all(r["net_fen"] + r["tax_fen"] == r["amount_fen"] for r in rows)
    assert sum(r["tax_fen"] for r in rows) == tax
