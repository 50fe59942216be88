"""The finance API over real HTTP (ASGI): amounts as strings, one error shape, idempotency, scopes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger.books.verify import verify_chain
from ledger.db.engine import read_tx, write_tx
from tests.factories.county import County


def rent_body(amount: str = "105.00", **extra: object) -> dict:
    return {
        "date": "2025-03-05",
        "memo": "收三月租金",
        "lines": [
            {"account": "102", "debit": amount},
            {"account": "50102", "credit": "100.00"},
            {"account": "214", "credit": "5.00"},
        ],
        **extra,
    }


def test_officer_posts_an_entry_and_reads_it_back(client: TestClient, sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    r = client.post(f"/api/v1/orgs/{org}/entries", json=rent_body(), headers=sub_accounts.auth("officer"))
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["voucher_no"] == "记-2025-03-0001" and entry["total"] == "105.00"
    assert [(ln["account"], ln["debit"], ln["credit"]) for ln in entry["lines"]] == [
        ("102", "105.00", "0.00"),
        ("50102", "0.00", "100.00"),
        ("214", "0.00", "5.00"),
    ]
    got = client.get(
        f"/api/v1/orgs/{org}/entries/{entry['id']}", headers=sub_accounts.auth("community")
    ).json()
    assert got["hash"] == entry["hash"]
    page = client.get(
        f"/api/v1/orgs/{org}/entries?account=501&period=2025-03", headers=sub_accounts.auth("officer")
    ).json()
    assert page["total"] == 1 and page["items"][0]["id"] == entry["id"]
    tb = client.get(
        f"/api/v1/orgs/{org}/trial-balance?from=2025-03", headers=sub_accounts.auth("officer")
    ).json()
    assert tb["total_debit"] == tb["total_credit"] == "105.00"
    assert next(r for r in tb["rows"] if r["code"] == "501")["closing"] == "-100.00"


def test_the_attachment_count_is_stored_and_read_back_and_a_bad_one_is_a_422(
    client: TestClient, sub_accounts: County
) -> None:
    org = sub_accounts.ids["dingzikou"]
    r = client.post(
        f"/api/v1/orgs/{org}/entries",
        json=rent_body(attachments=3),
        headers=sub_accounts.auth("officer"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["attachments"] == 3
    got = client.get(
        f"/api/v1/orgs/{org}/entries/{r.json()['id']}", headers=sub_accounts.auth("officer")
    ).json()
    assert got["attachments"] == 3 and got["memo"] == "收三月租金"
    plain = client.post(f"/api/v1/orgs/{org}/entries", json=rent_body(), headers=sub_accounts.auth("officer"))
    assert plain.json()["attachments"] == 0
    for bad in (-1, 1000, "2", 1.0):
        refused = client.post(
            f"/api/v1/orgs/{org}/entries",
            json=rent_body(attachments=bad),
            headers=sub_accounts.auth("officer"),
        )
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["field"] == "attachments", refused.text
    with read_tx(sub_accounts.engine) as conn:
        assert verify_chain(conn, org) == []  # the count is in the hashed bytes; the chain holds


@pytest.mark.parametrize(
    ("amount", "message"),
    [(105.0, "not numbers"), (105, "not numbers"), ("105.001", "decimal"), ("1e3", ""), ("NaN", "")],
)
def test_a_float_or_malformed_amount_is_a_422_naming_the_field(
    client: TestClient, sub_accounts: County, amount: object, message: str
) -> None:
    org = sub_accounts.ids["dingzikou"]
    r = client.post(
        f"/api/v1/orgs/{org}/entries", json=rent_body(amount), headers=sub_accounts.auth("officer")
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_amount" and err["field"] == "lines[0].debit"
    assert message in err["message"]
    page = client.get(f"/api/v1/orgs/{org}/entries", headers=sub_accounts.auth("officer")).json()
    assert page["total"] == 0


def test_unbalanced_and_unknown_account_errors_name_the_field(
    client: TestClient, sub_accounts: County
) -> None:
    org = sub_accounts.ids["dingzikou"]
    h = sub_accounts.auth("officer")
    r = client.post(f"/api/v1/orgs/{org}/entries", json=rent_body("104.99"), headers=h)
    assert r.status_code == 422 and r.json()["error"] == {
        "code": "unbalanced_entry",
        "message": "debits 10499 fen and credits 10500 fen differ by -1 fen",
        "field": "lines",
    }
    body = rent_body()
    body["lines"][1]["account"] = "9999"
    r = client.post(f"/api/v1/orgs/{org}/entries", json=body, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "lines[1].account"
    r = client.post("/api/v1/orgs/999999/entries", json=rent_body(), headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_retried_post_with_the_same_key_returns_the_original(
    client: TestClient, sub_accounts: County
) -> None:
    org = sub_accounts.ids["dingzikou"]
    h = {**sub_accounts.auth("officer"), "Idempotency-Key": "officer-2025-03-rent-1"}
    first = client.post(f"/api/v1/orgs/{org}/entries", json=rent_body(), headers=h)
    again = client.post(f"/api/v1/orgs/{org}/entries", json=rent_body(), headers=h)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = client.post(f"/api/v1/orgs/{org}/entries", json=rent_body(memo="different"), headers=h)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"


def test_reverse_route_posts_red_ink_once(client: TestClient, sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    h = sub_accounts.auth("officer")
    entry = client.post(f"/api/v1/orgs/{org}/entries", json=rent_body(), headers=h).json()
    r = client.post(
        f"/api/v1/orgs/{org}/entries/{entry['id']}/reverse", json={"date": "2025-03-31"}, headers=h
    )
    assert r.status_code == 201
    [rev] = r.json()
    assert rev["reverses_id"] == entry["id"] and rev["lines"][0]["debit"] == "-105.00"
    assert rev["memo"] == f"冲销 {entry['voucher_no']}"
    again = client.post(
        f"/api/v1/orgs/{org}/entries/{entry['id']}/reverse", json={"date": "2025-03-31"}, headers=h
    )
    assert again.status_code == 409


def test_community_and_cashier_tokens_cannot_reach_other_books(
    client: TestClient, sub_accounts: County
) -> None:
    own, other = sub_accounts.ids["dingzikou"], sub_accounts.ids["huahuaqiao"]
    community = sub_accounts.auth("community")
    assert client.get(f"/api/v1/orgs/{own}", headers=community).status_code == 200
    assert client.get(f"/api/v1/orgs/{other}", headers=community).status_code == 404
    assert client.get(f"/api/v1/orgs/{other}/entries", headers=community).status_code == 404
    assert (
        client.get(f"/api/v1/orgs/{other}/trial-balance?from=2025-01", headers=community).status_code == 404
    )
    r = client.post(f"/api/v1/orgs/{own}/entries", json=rent_body(), headers=community)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert [o["id"] for o in client.get("/api/v1/orgs", headers=community).json()] == [own]
    cashier = sub_accounts.auth("cashier")
    assert (
        client.get(f"/api/v1/orgs/{sub_accounts.ids['company']}/entries", headers=cashier).status_code == 404
    )
    assert client.post(f"/api/v1/orgs/{own}/entries", json=rent_body(), headers=cashier).status_code == 404
    assert client.get("/api/v1/orgs", headers=cashier).json() == []


def test_officer_of_another_street_sees_nothing_of_this_one(client: TestClient, sub_accounts: County) -> None:
    h = sub_accounts.auth("officer_tuanjie")
    assert client.get(f"/api/v1/orgs/{sub_accounts.ids['dingzikou']}", headers=h).status_code == 404
    assert client.get(f"/api/v1/orgs/{sub_accounts.ids['hongxingqiao']}", headers=h).status_code == 200
    linked = {
        "entries": [
            {**rent_body(), "org_id": sub_accounts.ids["hongxingqiao"]},
            {**rent_body(), "org_id": sub_accounts.ids["dingzikou"]},
        ]
    }
    r = client.post("/api/v1/linked-entries", json=linked, headers=h)
    assert r.status_code == 404
    page = client.get(f"/api/v1/orgs/{sub_accounts.ids['hongxingqiao']}/entries", headers=h).json()
    assert page["total"] == 0


def test_requests_without_a_valid_token_are_401(client: TestClient, sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    assert client.get(f"/api/v1/orgs/{org}").status_code == 401
    r = client.get(f"/api/v1/orgs/{org}", headers={"Authorization": "Bearer cs_nonsense"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"


def test_period_close_and_reopen_over_http(client: TestClient, sub_accounts: County) -> None:
    org = sub_accounts.ids["dingzikou"]
    officer, admin = sub_accounts.auth("officer"), sub_accounts.auth("admin")
    client.post(f"/api/v1/orgs/{org}/entries", json=rent_body(), headers=officer)
    r = client.post(f"/api/v1/orgs/{org}/periods/2025-03/close", headers=officer)
    assert r.status_code == 200 and r.json()["status"] == "closed"
    r = client.post(f"/api/v1/orgs/{org}/entries", json=rent_body(), headers=officer)
    assert r.status_code == 409 and r.json()["error"]["code"] == "period_closed"
    r = client.post(f"/api/v1/orgs/{org}/periods/2025-03/reopen", json={"reason": "补记"}, headers=officer)
    assert r.status_code == 403
    r = client.post(f"/api/v1/orgs/{org}/periods/2025-03/reopen", json={"reason": "补记"}, headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "open"
    events = client.get(f"/api/v1/orgs/{org}/period-events", headers=officer).json()
    assert [(e["action"], e["reason"]) for e in events] == [("close", ""), ("reopen", "补记")]


def test_every_write_is_in_the_audit_log_that_officers_can_read_and_no_one_can_edit(
    client: TestClient, sub_accounts: County
) -> None:
    org = sub_accounts.ids["dingzikou"]
    client.post(f"/api/v1/orgs/{org}/entries", json=rent_body(), headers=sub_accounts.auth("officer"))
    log = client.get(
        f"/api/v1/orgs/{sub_accounts.ids['heping']}/audit", headers=sub_accounts.auth("officer")
    ).json()
    assert log[0]["action"] == "entry.post" and log[0]["user"] == "officer" and log[0]["org_id"] == org
    assert log[0]["remote_addr"] == "testclient"
    assert (
        client.get(
            f"/api/v1/orgs/{sub_accounts.ids['heping']}/audit",
            headers=sub_accounts.auth("officer_tuanjie"),
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/orgs/{org}/audit", headers=sub_accounts.auth("community")).status_code == 403
    with pytest.raises(DBAPIError, match="immutable"), write_tx(sub_accounts.engine) as conn:
        conn.execute(text("UPDATE audit_log SET action = 'nothing'"))
