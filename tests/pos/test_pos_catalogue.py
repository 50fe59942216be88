"""The catalogue (CSV/XLSX in and out, dated tax rates), purchases (进货) and stock counts through 1901."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from ledger.books import county_time
from ledger.books.verify import verify_all
from ledger.db.engine import read_tx
from tests.factories.county import County
from tests.factories.shop import Shop, build_shop

CSV = (
    "\ufeffsku,barcode,name,unit,price,tax_category,category,origin,allow_price_override\n"
    "TEA,6902000000010,都濡月芽茶,盒,128.00,goods,茶叶,village1,0\n"
    "HONEY,,土蜂蜜,斤,45.50,goods,蜂产品,,1\n"
)


@pytest.fixture
def shop(county: County, client: TestClient) -> Shop:
    return build_shop(county, client)


def test_catalogue_imports_from_csv_and_exports_the_same_columns(shop: Shop) -> None:
    url = f"/api/v1/pos/orgs/{shop.company}/products"
    r = shop.client.post(
        url + ":import",
        files={"file": ("catalogue.csv", CSV.encode("utf-8"), "text/csv")},
        headers=shop.h("officer"),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 2, "updated": 0}
    products = {p["sku"]: p for p in shop.client.get(url, headers=shop.h()).json()}
    assert products["TEA"]["price"] == "128.00" and products["TEA"]["origin"] == "village1"
    assert products["HONEY"]["allow_price_override"] is True
    exported = shop.client.get(url + ":export", params={"format": "csv"}, headers=shop.h("officer"))
    assert exported.status_code == 200
    text = exported.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("sku,barcode,name,unit,price")
    assert "TEA,6902000000010,都濡月芽茶,盒,128.00,goods,茶叶,village1,0,1" in text
    # re-importing the export changes nothing but counts every row as updated
    again = shop.client.post(
        url + ":import", files={"file": ("x.csv", exported.content, "text/csv")}, headers=shop.h("officer")
    )
    assert again.json() == {"created": 0, "updated": len(products)}


def test_catalogue_round_trips_through_xlsx_and_gbk_csv(shop: Shop) -> None:
    url = f"/api/v1/pos/orgs/{shop.company}/products"
    xlsx = shop.client.get(url + ":export", params={"format": "xlsx"}, headers=shop.h("officer"))
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("sku", "barcode", "name", "unit", "price")
    wb = Workbook()
    sheet = wb.active
    sheet.append(["sku", "name", "unit", "price", "category"])
    sheet.append(["RICE", "大米(新)", "kg", "4.20", "粮油"])
    buf = io.BytesIO()
    wb.save(buf)
    r = shop.client.post(
        url + ":import",
        files={"file": ("new.xlsx", buf.getvalue(), "application/octet-stream")},
        headers=shop.h("officer"),
    )
    assert r.status_code == 200 and r.json() == {"created": 0, "updated": 1}
    gbk = "sku,name,unit,price\nSALT,食盐,袋,2.50\n".encode("gb18030")
    r = shop.client.post(
        url + ":import", files={"file": ("gbk.csv", gbk, "text/csv")}, headers=shop.h("officer")
    )
    assert r.json() == {"created": 1, "updated": 0}
    products = {p["sku"]: p for p in shop.client.get(url, headers=shop.h()).json()}
    assert products["RICE"]["price"] == "4.20" and products["SALT"]["name"] == "食盐"


def test_a_bad_catalogue_row_is_named_and_nothing_is_imported(shop: Shop) -> None:
    url = f"/api/v1/pos/orgs/{shop.company}/products"
    bad = "sku,name,unit,price\nA,甲,个,1.00\nB,乙,个,1.005\n"
    r = shop.client.post(
        url + ":import", files={"file": ("b.csv", bad.encode(), "text/csv")}, headers=shop.h("officer")
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "rows[3].price"
    assert "row 3" in r.json()["error"]["message"]
    skus = {p["sku"] for p in shop.client.get(url, headers=shop.h()).json()}
    assert "A" not in skus


@pytest.mark.parametrize(
    "data",
    [b"\xc3\xa6\rV\xc2\xa5K)", b'sku,name\n"A,\x00', b'sku,name,unit,price\r\nA,"\xe7\x94\xb2"x"\r'],
    ids=["bare-cr", "nul-in-quotes", "quote-then-cr"],
)
def test_a_file_that_is_not_csv_is_a_422_on_file_and_imports_nothing(shop: Shop, data: bytes) -> None:
    # found by the server fuzz: a lone CR in an unquoted field made csv raise, and the import answered 500
    url = f"/api/v1/pos/orgs/{shop.company}/products"
    before = shop.client.get(url, headers=shop.h()).json()
    r = shop.client.post(url + ":import", files={"file": ("file", data)}, headers=shop.h("officer"))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] in {"file"} or r.json()["error"]["field"].startswith("rows[")
    assert shop.client.get(url, headers=shop.h()).json() == before


def test_a_float_price_is_refused(shop: Shop) -> None:
    r = shop.client.put(
        f"/api/v1/pos/orgs/{shop.company}/products",
        json=[{"sku": "X", "name": "x", "unit": "个", "price": 1.5}],
        headers=shop.h("officer"),
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "[0].price"


def test_tax_rates_are_dated_and_a_sale_uses_the_rate_of_its_day(shop: Shop) -> None:
    url = f"/api/v1/pos/orgs/{shop.company}/tax-rates"
    rates = shop.client.get(url, headers=shop.h("officer")).json()
    assert {(r["category"], r["rate_bp"]) for r in rates} == {("goods", 100), ("services", 100)}
    today = county_time.today().isoformat()
    r = shop.client.post(
        url, json={"category": "goods", "rate_bp": 300, "effective_from": today}, headers=shop.h("officer")
    )
    assert r.status_code == 201, r.text
    sale = shop.sale([("OIL", "1")], [("cash", "68.00")]).json()
    # 6800 / 1.03 = 6601.94 → 6602, tax 198
    assert (sale["net"], sale["tax"], sale["lines"][0]["tax_rate"]) == ("66.02", "1.98", "3%")


def test_purchase_posts_stock_at_cost_and_counts_go_through_1901(shop: Shop) -> None:
    company = shop.company
    entries = shop.client.get(
        f"/api/v1/orgs/{company}/entries", params={"account": "1405"}, headers=shop.h("officer")
    ).json()["items"]
    purchase = next(e for e in entries if e["source"] == "pos")
    lines = {ln["account"]: ln for ln in purchase["lines"]}
    assert lines["1405"]["debit"] == "1236.00" and lines["2202"]["credit"] == "1236.00"
    assert lines["1405"]["store_id"] in (shop.store1, shop.store2) and lines["2202"]["counterparty_id"]
    # a count finds 98 apples (100 recorded at 6.00): a loss of 2 × 6.00 through 1901
    r = shop.client.post(
        f"/api/v1/pos/stores/{shop.store1}/stock-adjustments",
        json={
            "date": county_time.today().isoformat(),
            "sku": "APPLE",
            "kind": "count",
            "quantity": "98",
            "reason": "月末盘点",
        },
        headers=shop.h("officer"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["quantity_change"] == "-2" and r.json()["value_change"] == "-12.00"
    r = shop.client.post(
        f"/api/v1/pos/stores/{shop.store1}/stock-adjustments",
        json={
            "date": county_time.today().isoformat(),
            "sku": "RICE",
            "kind": "adjust",
            "quantity": "1.5",
            "reason": "找到一袋",
        },
        headers=shop.h("officer"),
    )
    assert r.status_code == 201 and r.json()["value_change"] == "4.50"
    stock = {
        s["sku"]: s
        for s in shop.client.get(f"/api/v1/pos/stores/{shop.store1}/stock", headers=shop.h()).json()
    }
    assert stock["APPLE"]["quantity"] == "98" and stock["APPLE"]["value"] == "588.00"
    assert stock["RICE"]["quantity"] == "51.5" and stock["RICE"]["average_cost"] == "3.00"
    with read_tx(shop.county.engine) as conn:
        assert verify_all(conn) == []


def test_verify_names_a_stock_value_that_does_not_tie_to_1405(shop: Shop) -> None:
    from sqlalchemy import update

    from ledger.db.engine import write_tx
    from pos.models import PosStock

    t = PosStock.__table__
    with write_tx(shop.county.engine) as conn:
        conn.execute(update(t).where(t.c.store_id == shop.store1).values(value_fen=t.c.value_fen + 1))
    with read_tx(shop.county.engine) as conn:
        problems = [p for p in verify_all(conn) if p.check == "pos_stock"]
    assert problems and "1405" in problems[0].message


def test_a_village_sees_what_its_produce_earned_through_the_origin(shop: Shop) -> None:
    sale = shop.sale([("APPLE", "2"), ("EGG", "1"), ("VEG", "1.5")], [("cash", "30.00")]).json()
    shop.client.post(
        f"/api/v1/pos/sales/{sale['id']}/refunds",
        json={"shift_id": shop.shift, "lines": [{"line_no": 1, "quantity": "0.5"}]},
        headers={**shop.h(), "Idempotency-Key": "refund-apple"},
    )
    day = sale["business_date"]
    url = f"/api/v1/pos/villages/{shop.county.ids['village1']}/produce-sales"
    r = shop.client.get(url, params={"from": day, "to": day}, headers=shop.h("officer"))
    assert r.status_code == 200, r.text
    rows = {x["sku"]: x for x in r.json()}
    assert set(rows) == {"APPLE", "VEG"}  # eggs come from no partner village
    assert (rows["APPLE"]["quantity"], rows["APPLE"]["amount"]) == ("1.5", "13.20")
    assert rows["VEG"]["amount"] == "3.00"
    assert (
        shop.client.get(url, params={"from": day, "to": day}, headers=shop.h("officer_tuanjie")).status_code
        == 404
    )


def test_officers_open_stores_and_cashiers_see_only_their_own(shop: Shop) -> None:
    body = {"company_id": shop.company, "code": "store9", "name": "村社联动超市九号店"}
    assert shop.client.post("/api/v1/pos/stores", json=body, headers=shop.h()).status_code == 403
    r = shop.client.post("/api/v1/pos/stores", json=body, headers=shop.h("officer"))
    assert r.status_code == 201 and r.json()["org_id"] == shop.company
    assert shop.client.post("/api/v1/pos/stores", json=body, headers=shop.h("officer")).status_code == 409
    other = {"company_id": shop.county.ids["company2"], "code": "store10", "name": "x"}
    assert shop.client.post("/api/v1/pos/stores", json=other, headers=shop.h("officer")).status_code == 404
    seen = shop.client.get(f"/api/v1/pos/orgs/{shop.company}/stores", headers=shop.h("officer")).json()
    assert {s["code"] for s in seen} == {"store1", "store2", "store9"}
    mine = shop.client.get(f"/api/v1/pos/orgs/{shop.company}/stores", headers=shop.h()).json()
    assert [s["code"] for s in mine] == ["store1"]


def _xlsx(rows: list[list[str]]) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("file_name", "data", "field", "where"),
    [
        (  # a NUL (PostgreSQL refuses it) in the name of line 3
            "c.csv",
            "sku,name,unit,price\nA,甲,个,1.00\nB,乙\x00,个,2.00\n".encode(),
            "rows[3].name",
            "line 3, column 2 (name): holds a control character (U+0000)",
        ),
        (  # a quoted cell spanning two lines: the row after it starts on line 4 of the file
            "c.csv",
            'sku,name,unit,price\nA,"甲\n乙",个,1.00\nB,丙,个\x1b,2.00\n'.encode(),
            "rows[3].unit",
            "line 4, column 3 (unit): holds a control character (U+001B)",
        ),
        (  # in the header itself
            "c.csv",
            "sku,na\x07me,unit,price\nA,甲,个,1.00\n".encode(),
            "rows[1]",
            "line 1, column 2: holds a control character (U+0007)",
        ),
        (  # a C1 control in an XLSX cell
            "c.xlsx",
            _xlsx([["sku", "name", "unit", "price"], ["A", "甲", "个", "1.00"], ["B", "乙", "个", "2\x85"]]),
            "rows[3].price",
            "line 3, column 4 (price): holds a control character (U+0085)",
        ),
    ],
    ids=["nul-csv", "after-a-two-line-cell", "header", "c1-xlsx"],
)
def test_a_control_character_refuses_the_catalogue_naming_line_and_column(
    shop: Shop, file_name: str, data: bytes, field: str, where: str
) -> None:
    """Issue 23: as a statement file, a catalogue with a control character is refused (it was stripped,
    silently changing a name or a barcode): a 422 naming line and column, and nothing written."""
    url = f"/api/v1/pos/orgs/{shop.company}/products"
    before = shop.client.get(url, headers=shop.h()).json()
    r = shop.client.post(url + ":import", files={"file": (file_name, data)}, headers=shop.h("officer"))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert where in r.json()["error"]["message"]
    assert shop.client.get(url, headers=shop.h()).json() == before
