"""Over HTTP, end to end: the supermarkets' profit reaches a community's 公益性岗位, and back again by ids.

The company's 2025 sales are a POS shift voucher (source ``pos``, ``shift:901``); the company distributes;
丁字口社区's 2025 income is its dividend; its 成员大会 earmarks 30 % for 公益性岗位; in 2026 a
保洁员's stipend is posted, paid and funded from the 2025 earmark. From the payment, the API walks
back to the shift.
"""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from ledger.community import welfare
from ledger.db.engine import write_tx
from tests.factories.county import County
from tests.factories.distribution import company_with_shareholders


def _ok(response, status: int = 200):  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    return response.json()


def test_trail_from_a_stipend_payment_back_to_the_pos_shift(county: County, client: TestClient) -> None:
    company_with_shareholders(county, sales_ref="shift:901")
    officer = county.auth("officer")
    co, dz = county.ids["company"], county.ids["dingzikou"]

    plan = _ok(
        client.post(
            f"/api/v1/orgs/{co}/years/2025/plans",
            headers=officer,
            json={
                "steps": [
                    {"kind": "cover_losses"},
                    {"kind": "statutory_reserve", "rate_bp": 1000},
                    {"kind": "shareholders", "amount": "100000.01"},
                ]
            },
        ),
        201,
    )
    dry = _ok(client.get(f"/api/v1/orgs/{co}/plans/{plan['id']}/dry-run", headers=officer))
    assert dry["distributable"] == "180000.00"
    assert [s["amount"] for s in dry["lines"][-1]["shares"]] == ["50000.00", "33333.34", "16666.67"]
    assert dry["undistributed"] == "69999.99"
    _ok(
        client.post(
            f"/api/v1/orgs/{co}/plans/{plan['id']}/approve",
            headers=officer,
            json={
                "approving_body": "股东会",
                "resolution_date": "2025-12-28",
                "document_no": "和联司股决〔2025〕3号",
            },
        )
    )
    executed = _ok(client.post(f"/api/v1/orgs/{co}/plans/{plan['id']}/execute", headers=officer, json={}))
    assert executed["status"] == "executed" and len(executed["execution"]["entry_ids"]) == 5

    refused = client.post(f"/api/v1/orgs/{dz}/years/2025/close", headers=county.auth("community"))
    assert refused.status_code == 403
    closed = _ok(client.post(f"/api/v1/orgs/{dz}/years/2025/close", headers=officer))
    assert closed["profit"] == "50000.00"  # the dividend is the community's 2025 income
    for name, shares in (("王一", 3), ("王二", 2)):
        _ok(
            client.post(
                f"/api/v1/orgs/{dz}/members", headers=officer, json={"member": name, "shares": shares}
            ),
            201,
        )
    cplan = _ok(
        client.post(
            f"/api/v1/orgs/{dz}/years/2025/plans",
            headers=officer,
            json={
                "steps": [
                    {"kind": "public_reserve", "rate_bp": 1000},
                    {"kind": "welfare_post_earmark", "rate_bp": 3000},
                    {"kind": "members", "rate_bp": 5000},
                ]
            },
        ),
        201,
    )
    _ok(
        client.post(
            f"/api/v1/orgs/{dz}/plans/{cplan['id']}/approve",
            headers=officer,
            json={
                "approving_body": "成员大会",
                "resolution_date": "2025-12-30",
                "document_no": "丁社成决〔2025〕5号",
            },
        )
    )
    _ok(client.post(f"/api/v1/orgs/{dz}/plans/{cplan['id']}/execute", headers=officer, json={}))

    with write_tx(county.engine) as conn:
        post_id = welfare.create_post(
            conn,
            dz,
            welfare.NewPost(
                post="保洁员", holder="李四", monthly_stipend_fen=150_000, start=date(2026, 1, 1)
            ),
        )
        welfare.run_stipends(conn, [dz], "2026-01")
        payment_entry = welfare.pay_stipend(conn, dz, post_id, paid_on=date(2026, 2, 5))
    _ok(
        client.post(
            f"/api/v1/orgs/{dz}/welfare-funds/apply",
            headers=officer,
            json={
                "kind": "post",
                "earmark_year": 2025,
                "amount": "1500.00",
                "on": "2026-01-31",
                "post_id": post_id,
            },
        ),
        201,
    )
    over = client.post(
        f"/api/v1/orgs/{dz}/welfare-funds/apply",
        headers=officer,
        json={
            "kind": "post",
            "earmark_year": 2025,
            "amount": "13500.01",
            "on": "2026-01-31",
            "post_id": post_id,
        },
    )
    assert over.status_code == 422 and "1350000 fen left" in over.json()["error"]["message"]

    funds = _ok(client.get(f"/api/v1/orgs/{dz}/years/2026/welfare-funds", headers=officer))
    assert funds["earmarks"][0] == {
        "year": 2025,
        "kind": "post",
        "earmarked": "15000.00",
        "applied": "1500.00",
        "remaining": "13500.00",
    }
    [post] = funds["posts"]
    assert (post["stipends"], post["paid"], post["funded"], post["funded_from"]) == (
        "1500.00",
        "1500.00",
        "1500.00",
        {"2025": "1500.00"},
    )
    reach = _ok(client.get(f"/api/v1/orgs/{county.ids['heping']}/years/2025/welfare-reach", headers=officer))
    mine = next(r for r in reach if r["org_id"] == dz)
    assert (mine["dividends"], mine["post_earmark"], mine["from_company"]) == (
        "50000.00",
        "15000.00",
        "15000.00",
    )
    other = next(r for r in reach if r["org_id"] == county.ids["huahuaqiao"])
    assert other["dividends"] == "33333.34" and other["from_company"] == "0.00"  # no plan executed there yet

    # the walk back, every hop an id the API serves
    trail = _ok(client.get(f"/api/v1/orgs/{dz}/entries/{payment_entry}/trail", headers=officer))
    assert trail["welfare_post_id"] == post_id
    [funding] = trail["fundings"]
    _ok(client.get(f"/api/v1/orgs/{dz}/entries/{funding['entry_id']}", headers=officer))
    [year] = trail["earmark_years"]
    assert year["plan"]["plan_id"] == cplan["id"]
    [dividend] = year["dividends"]
    assert dividend["amount"] == "50000.00" and dividend["company_plan_id"] == plan["id"]
    dividend_entry = _ok(client.get(f"/api/v1/orgs/{dz}/entries/{dividend['entry_id']}", headers=officer))
    assert dividend_entry["link_id"] == executed["execution"]["link_id"]
    company = dividend["company"]
    assert company["profit"] == "200000.00"
    for entry_id in company["close_entry_ids"]:
        assert _ok(client.get(f"/api/v1/orgs/{co}/entries/{entry_id}", headers=officer))["source"] == "close"
    assert company["pos_entries"]["shifts"] == ["shift:901"]
    sales = _ok(
        client.get(f"/api/v1/orgs/{co}/entries/{company['pos_entries']['entry_ids'][0]}", headers=officer)
    )
    assert sales["source"] == "pos" and sales["source_ref"] == "shift:901"


def test_year_close_over_http_names_the_open_sources(county: County, client: TestClient) -> None:
    dz = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        welfare.create_post(
            conn,
            dz,
            welfare.NewPost(
                post="护路员", holder="赵五", monthly_stipend_fen=100_000, start=date(2025, 12, 1)
            ),
        )
    response = client.post(f"/api/v1/orgs/{dz}/years/2025/close", headers=county.auth("officer"))
    assert response.status_code == 409
    assert (
        "2025-12: welfare stipends of 2025-12 not posted for 1 post(s)" in response.json()["error"]["message"]
    )


def test_plan_refusal_over_http_gives_every_reason(county: County, client: TestClient) -> None:
    co = county.ids["company"]
    response = client.post(
        f"/api/v1/orgs/{co}/years/2025/plans",
        headers=county.auth("officer"),
        json={
            "steps": [
                {"kind": "shareholders", "rate_bp": 5000},
                {"kind": "statutory_reserve", "amount": "10.00"},
            ]
        },
    )
    assert response.status_code == 422
    body = response.json()["error"]
    assert body["code"] == "plan_refused"
    assert "comes after shareholders" in body["message"] and "10% of the profit" in body["message"]
    floats = client.post(
        f"/api/v1/orgs/{co}/years/2025/plans",
        headers=county.auth("officer"),
        json={"steps": [{"kind": "shareholders", "amount": 10.5}]},
    )
    assert floats.status_code == 422


def test_reversal_and_dividend_payment_over_http(county: County, client: TestClient) -> None:
    from tests.factories.distribution import approved_company_plan

    company_with_shareholders(county)
    officer = county.auth("officer")
    co, v1 = county.ids["company"], county.ids["village1"]
    plan_id = approved_company_plan(county)
    _ok(client.post(f"/api/v1/orgs/{co}/plans/{plan_id}/execute", headers=officer, json={}))
    outsider = client.post(
        f"/api/v1/orgs/{co}/plans/{plan_id}/reverse",
        headers=county.auth("officer_tuanjie"),
        json={"date": "2025-12-31"},
    )
    assert outsider.status_code == 404
    reversed_ = _ok(
        client.post(
            f"/api/v1/orgs/{co}/plans/{plan_id}/reverse", headers=officer, json={"date": "2025-12-31"}
        )
    )
    assert reversed_["status"] == "reversed" and reversed_["execution"]["reversal_link_id"]
    second = approved_company_plan(county)
    _ok(client.post(f"/api/v1/orgs/{co}/plans/{second}/execute", headers=officer, json={}))
    body = {"shareholder_org_id": v1, "amount": "16666.67", "paid_on": "2026-01-20", "plan_id": second}
    paid = _ok(client.post(f"/api/v1/orgs/{co}/dividends", headers=officer, json=body), 201)
    assert paid["id"]
    too_much = client.post(f"/api/v1/orgs/{co}/dividends", headers=officer, json={**body, "amount": "0.01"})
    assert too_much.status_code == 422 and "only 0 fen" in too_much.json()["error"]["message"]
    blocked = client.post(
        f"/api/v1/orgs/{co}/plans/{second}/reverse", headers=officer, json={"date": "2026-01-31"}
    )
    assert blocked.status_code == 409
    listed = _ok(client.get(f"/api/v1/orgs/{co}/years/2025/plans", headers=officer))
    assert [(p["version"], p["status"]) for p in listed] == [(1, "reversed"), (2, "executed")]
