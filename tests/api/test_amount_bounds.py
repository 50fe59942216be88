"""One largest amount (¥999,999,999.99) for any line, manual entry, sale line, sale and payment, so that every
sum the books keep fits in 64 bits; the overflows of issue 21 are now 422s naming the field, on both
databases, and a shift of any size still closes. The database refuses an out-of-bound line by itself."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ledger.books.county_time import business_date
from ledger.books.money import MAX_AMOUNT_FEN, format_amount
from ledger.books.posting import Draft, Line, post_entries
from ledger.books.trial_balance import trial_balance
from ledger.books.verify import verify_all
from ledger.db.engine import read_tx, write_tx
from pos import catalogue, stock
from pos.stores import get_store
from tests.factories.books import raw_posting
from tests.factories.county import County
from tests.factories.shop import Shop, seed_shop

MAX = format_amount(MAX_AMOUNT_FEN)  # "999999999.99"
GOLD_FEN = 900_000_000_00  # ¥900,000,000.00 a bar: three of them pass the largest amount


def _entry(client: TestClient, county: County, lines: list[dict]) -> dict:
    body = {"date": "2025-04-01", "memo": "大额", "lines": lines}
    headers = {**county.auth("officer"), "Idempotency-Key": uuid.uuid4().hex}
    r = client.post(f"/api/v1/orgs/{county.ids['dingzikou']}/entries", json=body, headers=headers)
    return {"status": r.status_code, **r.json()}


@pytest.mark.parametrize("amount", ["999999999999999.99", "1000000000000.00", "1000000000.00"])
def test_an_entry_line_beyond_the_largest_amount_is_a_422_naming_it(
    county: County, client: TestClient, amount: str
) -> None:
    answer = _entry(
        client, county, [{"account": "102", "debit": amount}, {"account": "501", "credit": amount}]
    )
    assert answer["status"] == 422, answer
    assert answer["error"]["code"] == "invalid_amount" and answer["error"]["field"] == "lines[0].debit"
    assert "999999999.99" in answer["error"]["message"]
    with read_tx(county.engine) as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM journal_entry")).scalar_one() == 0


def test_a_manual_entry_s_total_is_bounded_too(county: County, client: TestClient) -> None:
    at_max = _entry(client, county, [{"account": "102", "debit": MAX}, {"account": "501", "credit": MAX}])
    assert at_max["status"] == 201, at_max
    twice = _entry(
        client,
        county,
        [
            {"account": "102", "debit": MAX},
            {"account": "102", "debit": MAX},
            {"account": "501", "credit": MAX},
            {"account": "501", "credit": MAX},
        ],
    )
    assert twice["status"] == 422 and twice["error"]["field"] == "lines", twice


def test_twelve_hundred_entries_at_the_largest_amount_keep_exact_sums_and_reports(
    county: County, client: TestClient
) -> None:
    """The issue's 93 postings of the old largest amount overflowed SQLite's sums; at the new largest,
    1,200 of them (past 千亿, where 大写 used to stop) sum exactly, verify, and every report renders."""
    org = county.ids["dingzikou"]
    n = 1200
    drafts = [
        Draft(
            org_id=org,
            entry_date=date(2025, 4, 1 + i % 28),
            memo=f"大额 {i}",
            lines=[Line("102", debit_fen=MAX_AMOUNT_FEN), Line("501", credit_fen=MAX_AMOUNT_FEN)],
        )
        for i in range(n)
    ]
    with write_tx(county.engine) as conn:
        post_entries(conn, drafts)
    with read_tx(county.engine) as conn:
        assert verify_all(conn) == []
        rows = {row.code: row for row in trial_balance(conn, org, "2025-04")}
    assert rows["102"].debit_fen == n * MAX_AMOUNT_FEN == rows["501"].credit_fen
    for fmt in ("json", "html", "xlsx"):
        r = client.get(
            f"/api/v1/orgs/{org}/reports/trial-balance.{fmt}?period=2025-04", headers=county.auth("officer")
        )
        assert r.status_code == 200, (fmt, r.text[:300])
    html = client.get(
        f"/api/v1/orgs/{org}/reports/trial-balance.html?period=2025-04", headers=county.auth("officer")
    ).text
    assert "壹万壹仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰捌拾捌元" in html  # 1,199,999,999,988.00


def test_the_database_refuses_a_line_beyond_the_largest_amount_by_itself(county: County) -> None:
    org = county.ids["dingzikou"]
    beyond = MAX_AMOUNT_FEN + 1
    with pytest.raises(DBAPIError, match="amount"), write_tx(county.engine) as conn:
        raw_posting(conn, org, [("102", beyond, 0), ("501", 0, beyond)])
    with read_tx(county.engine) as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM journal_line")).scalar_one() == 0


# -- the till ----------------------------------------------------------------------------------------------


@pytest.fixture
def shop(engine: Engine) -> Shop:
    shop = seed_shop(engine)
    village = shop.county.ids["village1"]
    with write_tx(engine) as conn:
        catalogue.upsert_products(
            conn,
            shop.company,
            [
                catalogue.ProductIn("GOLD", "金条", "根", GOLD_FEN, category="贵金属", origin_org_id=village),
                catalogue.ProductIn(
                    "BUNDLE",
                    "农产品团购套餐",
                    "份",
                    100_00,
                    category="团购",
                    origin_org_id=village,
                    allow_price_override=True,
                    max_price_fen=50_000_00,
                ),
                catalogue.ProductIn(
                    "VEG",
                    "时令蔬菜",
                    "斤",
                    200,
                    category="蔬菜",
                    origin_org_id=village,
                    allow_price_override=True,
                ),
            ],
        )
        store = get_store(conn, shop.stores["cashier"])
        stock.record_purchase(
            conn,
            None,
            store,
            stock.Purchase(
                day=business_date(datetime.now(UTC)),
                supplier=None,
                village_org_id=village,
                lines=[("GOLD", 10_000, 10_000_00), ("VEG", 1_000_000, 100_00), ("BUNDLE", 10_000, 100_00)],
            ),
        )
    return shop


def _sale(client: TestClient, shop: Shop, lines: list[dict], pay: str) -> dict:
    body = {
        "store_id": shop.stores["cashier"],
        "shift_id": shop.shifts["cashier"],
        "sold_at": datetime.now(UTC).isoformat(),
        "lines": lines,
        "payments": [{"method": "wechat", "amount": pay}],
    }
    headers = {**shop.county.auth("cashier"), "Idempotency-Key": uuid.uuid4().hex}
    r = client.post("/api/v1/pos/sales", json=body, headers=headers)
    return {"status": r.status_code, **r.json()}


def test_a_price_override_past_its_product_s_ceiling_is_a_422(shop: Shop, client: TestClient) -> None:
    def override(price: str, sku: str = "VEG") -> dict:
        line = {"sku": sku, "quantity": "1", "unit_price": price, "override_reason": "议价"}
        return _sale(client, shop, [line], price)

    assert override("100.00")["status"] == 201  # ten times ¥2.00 is ¥20.00; the floor is ¥100.00
    too_high = override("100.01")
    assert too_high["status"] == 422 and too_high["error"]["field"] == "lines[0].unit_price", too_high
    # A negotiated bundle carries its own ceiling in the catalogue.
    assert override("50000.00", "BUNDLE")["status"] == 201
    beyond = override("50000.01", "BUNDLE")
    assert beyond["status"] == 422 and beyond["error"]["field"] == "lines[0].unit_price", beyond
    absurd = override("999999999999999.99")
    assert absurd["status"] == 422 and absurd["error"]["code"] == "invalid_amount", absurd


def test_a_sale_line_or_a_sale_past_the_largest_amount_is_a_422(shop: Shop, client: TestClient) -> None:
    line = _sale(client, shop, [{"sku": "GOLD", "quantity": "2"}], MAX)
    assert line["status"] == 422 and line["error"]["field"] == "lines[0]", line
    sale = _sale(client, shop, [{"sku": "GOLD", "quantity": "1"}, {"sku": "GOLD", "quantity": "1"}], MAX)
    assert sale["status"] == 422 and sale["error"]["field"] == "lines", sale
    with read_tx(shop.county.engine) as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM pos_sale")).scalar_one() == 0


def test_a_shift_whose_takings_pass_the_largest_amount_still_closes(shop: Shop, client: TestClient) -> None:
    for _ in range(3):
        sold = _sale(client, shop, [{"sku": "GOLD", "quantity": "1"}], format_amount(GOLD_FEN))
        assert sold["status"] == 201, sold
    shift = shop.shifts["cashier"]
    report = client.get(f"/api/v1/pos/shifts/{shift}", headers=shop.county.auth("cashier"))
    assert report.status_code == 200, report.text
    closed = client.post(
        f"/api/v1/pos/shifts/{shift}/close",
        json={"counted_cash": "500.00"},
        headers=shop.county.auth("cashier"),
    )
    assert closed.status_code == 200, closed.text
    with read_tx(shop.county.engine) as conn:
        assert verify_all(conn) == []
        lines = conn.execute(
            text(
                "SELECT l.credit_fen FROM journal_line l JOIN journal_entry e ON e.id = l.entry_id "
                "JOIN account a ON a.id = l.account_id WHERE e.source_ref = :ref AND a.code = '5001'"
            ),
            {"ref": f"shift:{shift}"},
        ).scalars()
        revenue = list(lines)
    assert len(revenue) == 3 and max(revenue) <= MAX_AMOUNT_FEN  # 3 × ¥891,089,108.91 net, in three lines
