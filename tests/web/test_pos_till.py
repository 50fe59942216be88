"""What the browser till reads and how a cashier logs into it (issue 18), over real HTTP on both databases.

The till's own flows (scanning, paying, offline queue, refunds, closing) run in Chromium in
``test_till_browser.py``; here are the server's answers they rely on: the catalogue with pinyin initials,
a receipt found by number or by key with what remains refundable, the ESC/POS bytes, the login and its
token, and the PWA's files.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from ledger.access.auth import hash_token, token_t
from ledger.books.orgs import now
from ledger.db.engine import write_tx
from ledger.settings import Settings
from ledger.web.till import STATIC_DIR, STATIC_TYPES
from pos.escpos import receipt_bytes
from pos.till import initials
from tests.factories.county import County
from tests.factories.shop import Shop, build_shop, key
from tests.factories.web import log_in

PASSWORD = "correct horse battery"


@pytest.fixture
def shop(county: County, client: TestClient) -> Shop:
    return build_shop(county, client)


def test_initials_are_the_first_letters_of_the_pinyin() -> None:
    assert initials("鸡蛋") == "jd"
    assert initials("土鸡蛋") == "tjd"
    assert initials("高山大米 5kg") == "gsdm5kg"
    assert initials("ABC饼干") == "abcbg"


def test_the_till_loads_its_stores_catalogue_customers_and_open_shift(shop: Shop) -> None:
    r = shop.client.get(f"/api/v1/pos/stores/{shop.store1}/till", headers=shop.h())
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["store"] == {
        "id": shop.store1,
        "org_id": shop.company,
        "code": "store1",
        "name": "村社联动超市一号店",
    }
    products = {p["sku"]: p for p in data["products"]}
    assert products["EGG"]["initials"] == "tjd" and products["EGG"]["price"] == "1.50"
    assert products["RICE"]["weighed"] is True and products["EGG"]["weighed"] is False
    assert {r["category"] for r in data["tax_rates"]} == {"goods", "services"}
    assert data["customers"][0]["name"] == "第一中学食堂" and data["customers"][0]["initials"] == "dyzxst"
    assert data["open_shift"]["id"] == shop.shift and data["open_shift"]["cash"]["float"] == "200.00"
    assert data["channels"]["counter"] == "门店"
    # The version follows the prices: a change of price is a new version the till reloads.
    version = data["version"]
    again = shop.client.get(f"/api/v1/pos/stores/{shop.store1}/till", headers=shop.h()).json()
    assert again["version"] == version
    r = shop.client.put(
        f"/api/v1/pos/orgs/{shop.company}/products",
        json=[{"sku": "EGG", "name": "土鸡蛋", "unit": "个", "price": "1.60", "barcode": "6901000000035"}],
        headers=shop.h("officer"),
    )
    assert r.status_code == 200, r.text
    changed = shop.client.get(f"/api/v1/pos/stores/{shop.store1}/till", headers=shop.h()).json()
    assert changed["version"] != version
    # Another store's till is not there for this cashier; a community user sees no till at all.
    assert shop.client.get(f"/api/v1/pos/stores/{shop.store2}/till", headers=shop.h()).status_code == 404
    assert shop.client.get(
        f"/api/v1/pos/stores/{shop.store1}/till", headers=shop.h("community")
    ).status_code in (
        403,
        404,
    )


def test_a_receipt_is_found_by_number_or_key_with_what_remains_refundable(shop: Shop) -> None:
    idem = key()
    sale = shop.sale([("EGG", "3"), ("RICE", "2.5")], [("cash", "20.00")], idem=idem).json()
    refunded = shop.client.post(
        f"/api/v1/pos/sales/{sale['id']}/refunds",
        json={"shift_id": shop.shift, "lines": [{"line_no": 1, "quantity": "1"}]},
        headers={**shop.h(), "Idempotency-Key": key()},
    )
    assert refunded.status_code == 201, refunded.text
    for code in (sale["receipt_no"], idem):
        r = shop.client.get(f"/api/v1/pos/stores/{shop.store1}/receipts/{code}", headers=shop.h())
        assert r.status_code == 200, r.text
        found = r.json()
        assert found["id"] == sale["id"]
        assert found["refundable"] == [
            {"line_no": 1, "sold": "3", "refunded": "1", "remaining": "2"},
            {"line_no": 2, "sold": "2.5", "refunded": "0", "remaining": "2.5"},
        ]
    # A refund's own receipt is not a sale to refund; an unknown number and another store's are 404.
    refund_no = refunded.json()["receipt_no"]
    refund_receipt = shop.client.get(
        f"/api/v1/pos/stores/{shop.store1}/receipts/{refund_no}", headers=shop.h()
    )
    assert refund_receipt.status_code == 404
    missing = shop.client.get(
        f"/api/v1/pos/stores/{shop.store1}/receipts/store1-20000101-0001", headers=shop.h()
    )
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "receipt"
    other = shop.client.get(
        f"/api/v1/pos/stores/{shop.store2}/receipts/{sale['receipt_no']}", headers=shop.h("cashier2")
    )
    assert other.status_code == 404


def test_the_escpos_receipt_is_gb18030_with_a_barcode_and_a_cut(shop: Shop) -> None:
    sale = shop.sale([("EGG", "2"), ("APPLE", "1.235")], [("cash", "20.00")]).json()
    r = shop.client.get(f"/api/v1/pos/sales/{sale['id']}/receipt.escpos", headers=shop.h())
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    data = r.content
    assert data.startswith(b"\x1b@\x1c&")  # initialise, Chinese mode
    assert "村社联动超市一号店".encode("gb18030") in data
    assert "土鸡蛋".encode("gb18030") in data and "谢谢惠顾".encode("gb18030") in data
    assert "找零".encode("gb18030") + b" " in data
    number = sale["receipt_no"].encode()
    assert b"\x1dk\x49" + bytes([len(number) + 2]) + b"{B" + number in data
    assert data.endswith(b"\x1dVB\x03")
    # Another store's cashier gets nothing.
    assert (
        shop.client.get(
            f"/api/v1/pos/sales/{sale['id']}/receipt.escpos", headers=shop.h("cashier2")
        ).status_code
        == 404
    )
    # A receipt number that is not plain ASCII is printed as text only (no barcode command).
    odd = json.loads(json.dumps(sale))
    odd["receipt"]["receipt_no"] = "一号店-1"
    assert b"\x1dk" not in receipt_bytes(odd)


def test_a_cashier_logs_into_the_till_and_out_again(county: County, client: TestClient) -> None:
    r = client.post("/till/login", json={"username": "cashier", "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["store_id"] == county.stores["store1"] and body["username"] == "cashier"
    auth = {"Authorization": f"Bearer {body['token']}"}
    assert client.get(f"/api/v1/pos/stores/{body['store_id']}/till", headers=auth).status_code == 200
    assert client.post("/till/logout", headers=auth).status_code == 204
    assert client.get(f"/api/v1/pos/stores/{body['store_id']}/till", headers=auth).status_code == 401
    # The till is a cashier's: an officer is sent to the web pages; a wrong password is a 401.
    officer = client.post("/till/login", json={"username": "officer", "password": PASSWORD})
    assert officer.status_code == 403
    wrong = client.post("/till/login", json={"username": "cashier2", "password": "nope"})
    assert wrong.status_code == 401
    assert client.post("/till/login", json={"username": "cashier2"}).status_code == 422
    # Five wrong passwords from one address, then the right one is refused for a while too.
    for _ in range(4):
        assert (
            client.post("/till/login", json={"username": "cashier2", "password": "nope"}).status_code == 401
        )
    assert client.post("/till/login", json={"username": "cashier2", "password": PASSWORD}).status_code == 429


def test_the_till_page_is_an_installable_pwa(client: TestClient, county: County) -> None:
    r = client.get("/till", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/till/"
    page = client.get("/till/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "unsafe" not in csp
    assert '<link rel="manifest" href="/till/manifest.webmanifest">' in page.text
    manifest = client.get("/till/manifest.webmanifest").json()
    assert manifest["start_url"] == "/till/" and manifest["display"] == "standalone"
    assert {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200
    sw = client.get("/till/sw.js")
    assert sw.status_code == 200 and "javascript" in sw.headers["content-type"]
    for name in STATIC_TYPES:
        assert (STATIC_DIR / name).is_file()
        assert client.get(f"/till/static/{name}").status_code == 200
    assert client.get("/till/static/../till.py").status_code == 404
    assert client.get("/till/static/index.html").status_code == 404
    # A cashier who logs in on the web pages is sent to the till.
    log_in(client, "cashier")
    r = client.get("/web/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/till/"


def test_a_till_login_lasts_a_shift_then_the_till_asks_for_it_again(shop: Shop, county: County) -> None:
    """A till's token is refused (401, which the till answers by showing its login) once it is older than
    ``till_token_hours`` (14 by default), on the till's own hot path (a sale) and on every other request; a
    fresh login works, and a token that is not a till's (an API client's) never expires."""
    client = shop.http
    hours = Settings(database_url=str(county.engine.url)).till_token_hours  # the client's app's

    def login() -> str:
        r = client.post("/till/login", json={"username": "cashier", "password": PASSWORD})
        assert r.status_code == 200, r.text
        token: str = r.json()["token"]
        return token

    def issued(token: str, ago: timedelta) -> None:  # the token as if issued ``ago``
        with write_tx(county.engine) as conn:
            moved = conn.execute(
                update(token_t)
                .where(token_t.c.token_hash == hash_token(token))
                .values(created_at=now() - ago)
            )
            assert moved.rowcount == 1

    def asks(token: str) -> tuple[int, int]:  # the till's load, and a sale
        auth = {"Authorization": f"Bearer {token}"}
        loaded = client.get(f"/api/v1/pos/stores/{shop.store1}/till", headers=auth)
        sold = client.post("/api/v1/pos/sales", json=shop.sale_body([("EGG", "1")]), headers=auth)
        return loaded.status_code, sold.status_code

    old, young = login(), login()
    issued(old, timedelta(hours=hours, minutes=1))
    issued(young, timedelta(hours=hours, minutes=-1))
    issued(county.tokens["cashier"], timedelta(days=400))
    sales = shop.count("pos_sale")

    assert asks(old) == (401, 401)
    expired = client.get(f"/api/v1/pos/stores/{shop.store1}/till", headers={"Authorization": f"Bearer {old}"})
    assert "expired" in expired.json()["error"]["message"]
    assert shop.count("pos_sale") == sales  # the refused sale wrote nothing
    assert asks(young) == (200, 201)
    assert asks(login()) == (200, 201)
    assert asks(county.tokens["cashier"]) == (200, 201)  # an API token: revoked, never expired
