"""Requests the server will not take: bodies over their route's limit (refused before they are read, parsed
or authenticated, with or without a Content-Length), page POSTs from another origin, and ids that are not
JSON integers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from ledger.api.body_limit import DEFAULT_LIMIT
from ledger.books import county_time
from tests.factories.county import County
from tests.factories.servers import sale_body
from tests.factories.shop import Shop, seed_shop
from tests.factories.web import csrf_of, log_in


@pytest.fixture
def shop(engine: Engine) -> Shop:
    return seed_shop(engine)


def _sale_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM pos_sale")).scalar_one()


def test_a_sale_body_over_its_limit_is_refused_before_authentication(shop: Shop, client: TestClient) -> None:
    padded = {**sale_body(shop, "cashier", 1), "padding": "x" * 140_000}
    anonymous = client.post("/api/v1/pos/sales", content=json.dumps(padded))
    assert anonymous.status_code == 413  # not 401: the body was never read, let alone the token checked
    assert anonymous.json()["error"]["code"] == "body_too_large"
    headers = {**shop.county.auth("cashier"), "Idempotency-Key": uuid.uuid4().hex}
    signed = client.post("/api/v1/pos/sales", content=json.dumps(padded), headers=headers)
    assert signed.status_code == 413
    # The same sale without the padding is an ordinary sale: the limit is the body's size, nothing else.
    ordinary = client.post("/api/v1/pos/sales", json=sale_body(shop, "cashier", 1), headers=headers)
    assert ordinary.status_code == 201, ordinary.text
    assert _sale_count(shop.county.engine) == 1


def test_a_chunked_body_without_a_length_is_cut_off_at_the_limit(shop: Shop, client: TestClient) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(64):  # 64 × 16 KiB = 1 MiB, eight times what a sale may carry
            sent += 1
            yield b" " * 16_384

    headers = {**shop.county.auth("cashier"), "Idempotency-Key": uuid.uuid4().hex}
    response = client.post("/api/v1/pos/sales", content=chunks(), headers=headers)
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
    assert _sale_count(shop.county.engine) == 0


def test_any_other_route_has_the_default_limit(county: County, client: TestClient) -> None:
    body = {"code": "x", "name": "y" * (DEFAULT_LIMIT + 1), "kind": "community"}
    r = client.post("/api/v1/orgs", content=json.dumps(body), headers=county.auth("admin"))
    assert r.status_code == 413


def test_ids_are_json_integers_not_strings_or_floats(shop: Shop, client: TestClient) -> None:
    headers = {**shop.county.auth("cashier"), "Idempotency-Key": uuid.uuid4().hex}
    for field in ("store_id", "shift_id"):
        for loose in (str(shop.stores["cashier"]), float(shop.stores["cashier"]), True):
            body = {**sale_body(shop, "cashier", 1), field: loose}
            r = client.post("/api/v1/pos/sales", json=body, headers=headers)
            assert r.status_code == 422, (field, loose, r.text)
            assert r.json()["error"]["field"] == field
    entry = {
        "date": county_time.today().isoformat(),
        "memo": "办公用品",
        "lines": [
            {"account": "5602", "debit": "1.00", "store_id": str(shop.stores["cashier"])},
            {"account": "1002", "credit": "1.00"},
        ],
    }
    officer = {**shop.county.auth("officer"), "Idempotency-Key": uuid.uuid4().hex}
    r = client.post(f"/api/v1/orgs/{shop.company}/entries", json=entry, headers=officer)
    assert r.status_code == 422 and r.json()["error"]["field"] == "lines[0].store_id", r.text
    assert _sale_count(shop.county.engine) == 0


@pytest.mark.parametrize(
    "claimed",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/forms/steal.html"},
        {"Origin": "http://testserver.evil.example"},
    ],
)
def test_a_page_post_from_another_origin_is_refused_even_with_the_token(
    county: County, client: TestClient, claimed: dict[str, str]
) -> None:
    page = log_in(client, "officer")
    token = csrf_of(page)
    org = county.ids["dingzikou"]
    r = client.post(
        f"/web/orgs/{org}/close", data={"period": "2026-01", "csrf_token": token}, headers=claimed
    )
    assert r.status_code == 403 and "并非来自本站" in r.text  # with a valid token: the origin did it
    # The same form from the page's own origin goes through the checks that follow (a refusal of the close
    # itself would be another status, not this 403).
    own = client.post(
        "/web/logout",
        data={"csrf_token": token},
        headers={"Origin": "http://testserver", "Referer": "http://testserver/web/"},
        follow_redirects=False,
    )
    assert own.status_code == 303
