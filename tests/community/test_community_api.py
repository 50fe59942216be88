"""The community routes over HTTP: scope, a worked flow, and bad input that names its field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledger.db.engine import read_tx
from ledger.db.models import AuditLog, JournalEntry
from tests.factories.county import County

entry_t = JournalEntry.__table__


def lease_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "HT-2025-001",
        "mode": "lease",
        "lessee": "张三",
        "start": "2025-01-15",
        "end": "2026-01-14",
        "rent_per_cycle": "1000.00",
        "deposit": "2000.00",
    }
    body.update(over)
    return body


def entries(county: County) -> int:
    with read_tx(county.engine) as conn:
        return conn.execute(select(func.count()).select_from(entry_t)).scalar_one()


def test_officer_registers_a_lease_accrues_receives_and_reads_the_rent_roll(
    county: County, client: TestClient
) -> None:
    org = county.ids["dingzikou"]
    h = county.auth("officer")
    asset = client.post(
        f"/api/v1/orgs/{org}/assets",
        json={
            "kind": "门面",
            "name": "丁字口临街门面1号",
            "area": "56.5",
            "certificate_no": "黔(2024)沿河县0001号",
        },
        headers=h,
    )
    assert asset.status_code == 201, asset.text
    assert asset.json()["area"] == "56.5" and asset.json()["status"] == "idle"
    r = client.post(f"/api/v1/orgs/{org}/leases", json=lease_body(asset_ids=[asset.json()["id"]]), headers=h)
    assert r.status_code == 201, r.text
    contract = r.json()
    sched = contract["schedule"]
    assert [s["amount"] for s in sched[:2]] == ["548.39", "1000.00"] and sched[-1]["amount"] == "451.61"
    assert client.get(f"/api/v1/orgs/{org}/assets?status=idle", headers=h).json() == []

    r = client.post(f"/api/v1/orgs/{org}/leases/accrue?through=2025-03", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["posted"] == 3 and r.json()["amount"] == "2548.39"
    assert client.post(f"/api/v1/orgs/{org}/leases/accrue?through=2025-03", headers=h).json()["posted"] == 0

    r = client.post(
        f"/api/v1/orgs/{org}/lease-receipts",
        json={"lessee_id": contract["lessee_id"], "amount": "1000.00", "date": "2025-03-10"},
        headers={**h, "Idempotency-Key": "rcpt-1"},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["applied"], r.json()["credit"]) == ("1000.00", "0.00")
    again = client.post(
        f"/api/v1/orgs/{org}/lease-receipts",
        json={"lessee_id": contract["lessee_id"], "amount": "1000.00", "date": "2025-03-10"},
        headers={**h, "Idempotency-Key": "rcpt-1"},
    )
    assert again.status_code == 200 and again.json()["receipt_id"] == r.json()["receipt_id"]

    roll = client.get(f"/api/v1/orgs/{org}/leases/rent-roll?as_of=2025-06-15", headers=h).json()
    row = roll["contracts"][0]
    assert (row["billed"], row["received"], row["outstanding"]) == ("2548.39", "1000.00", "1548.39")
    # 548.39 due 15 Jan paid; Feb's charge (due 15 Feb) has 451.61 left, 121 days late; Mar's 1000 is 92 days
    assert roll["aging"] == {
        "current": "0.00",
        "0-30": "0.00",
        "31-90": "0.00",
        "91-180": "1548.39",
        ">180": "0.00",
    }
    street = client.get(f"/api/v1/orgs/{county.ids['heping']}/leases/rent-roll?as_of=2025-12-01", headers=h)
    assert street.status_code == 200 and [c["code"] for c in street.json()["expiring"]] == ["HT-2025-001"]

    community = county.auth("community")
    assert (
        client.get(f"/api/v1/orgs/{org}/leases/rent-roll?as_of=2025-06-15", headers=community).status_code
        == 200
    )
    assert (
        client.post(f"/api/v1/orgs/{org}/leases/accrue?through=2025-04", headers=community).status_code == 403
    )
    other = county.auth("officer_tuanjie")
    assert client.get(f"/api/v1/orgs/{org}/leases", headers=other).status_code == 404


def test_street_accrual_covers_every_community_of_the_street(county: County, client: TestClient) -> None:
    h = county.auth("officer")
    for name in ("dingzikou", "huahuaqiao"):
        r = client.post(
            f"/api/v1/orgs/{county.ids[name]}/leases", json=lease_body(start="2025-01-01"), headers=h
        )
        assert r.status_code == 201
    r = client.post(f"/api/v1/orgs/{county.ids['heping']}/leases/accrue?through=2025-02", headers=h)
    assert r.status_code == 200 and r.json()["posted"] == 4 and r.json()["orgs"] == 3  # + village1


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"end": "2024-12-31"}, "end"),
        ({"end": "9999-12-31"}, "end"),
        ({"rent_per_cycle": "-5.00"}, "rent_per_cycle"),
        ({"rent_per_cycle": 1000.0}, "rent_per_cycle"),
        ({"escalation_bp": 10_001, "escalation_every_years": 1}, "escalation_bp"),
        ({"cycle": "weekly"}, "cycle"),
        ({"mode": "gift"}, "mode"),
    ],
)
def test_bad_lease_input_is_a_4xx_naming_the_field_and_writes_nothing(
    county: County, client: TestClient, over: dict[str, Any], field: str
) -> None:
    org = county.ids["dingzikou"]
    r = client.post(f"/api/v1/orgs/{org}/leases", json=lease_body(**over), headers=county.auth("officer"))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert client.get(f"/api/v1/orgs/{org}/leases", headers=county.auth("officer")).json() == []
    with read_tx(county.engine) as conn:
        actions = conn.execute(select(AuditLog.__table__.c.action)).scalars().all()
    assert "lease.create" not in actions


def test_receipt_for_a_lessee_with_no_contract_is_a_422(county: County, client: TestClient) -> None:
    org = county.ids["dingzikou"]
    r = client.post(
        f"/api/v1/orgs/{org}/lease-receipts",
        json={"lessee": "李四", "amount": "100.00", "date": "2025-03-10"},
        headers=county.auth("officer"),
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "lessee"
    assert entries(county) == 0


def test_stipend_for_an_ended_post_is_a_422_naming_the_period(county: County, client: TestClient) -> None:
    org = county.ids["dingzikou"]
    h = county.auth("officer")
    post = client.post(
        f"/api/v1/orgs/{org}/welfare-posts",
        json={
            "post": "保洁员",
            "holder": "王五",
            "monthly_stipend": "1800.00",
            "start": "2025-01-01",
            "end": "2025-03-31",
        },
        headers=h,
    )
    assert post.status_code == 201, post.text
    pid = post.json()["id"]
    r = client.post(f"/api/v1/orgs/{org}/welfare-posts/{pid}/stipends", json={"period": "2025-04"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["field"] == "period"
    assert entries(county) == 0
    r = client.post(f"/api/v1/orgs/{org}/welfare-posts/stipends?through=2025-06", headers=h)
    assert r.json() == {"through": "2025-06", "posted": 3, "amount": "5400.00"}
    r = client.post(
        f"/api/v1/orgs/{org}/welfare-posts/{pid}/payments", json={"date": "2025-04-05"}, headers=h
    )
    assert r.status_code == 201
    assert client.get(f"/api/v1/orgs/{org}/welfare-posts", headers=h).json()[0]["owed"] == "0.00"


def test_brokerage_subsidy_and_stake_routes(county: County, client: TestClient) -> None:
    org = county.ids["dingzikou"]
    h = county.auth("officer")
    deal = client.post(
        f"/api/v1/orgs/{org}/brokerage/deals",
        json={
            "client": "沿河某劳务公司",
            "kind": "labour",
            "deal_value": "50000.00",
            "commission_rate_bp": 300,
            "earned_on": "2025-05-20",
        },
        headers=h,
    )
    assert deal.status_code == 201, deal.text
    out = client.get(f"/api/v1/orgs/{org}/brokerage/outstanding", headers=h).json()
    assert out[0]["commission"] == "1500.00" and out[0]["outstanding"] == "1500.00"
    fee = f"/api/v1/orgs/{org}/brokerage/deals/{deal.json()['deal_id']}/receipts"
    keyed = {**h, "Idempotency-Key": "fee-1"}
    r = client.post(fee, json={"amount": "1500.00", "date": "2025-06-01"}, headers=keyed)
    assert (
        r.status_code == 201
        and client.get(f"/api/v1/orgs/{org}/brokerage/outstanding", headers=h).json() == []
    )
    # The retry of a receipt that paid the fee in full is answered with the first one, not refused
    # because nothing is outstanding any more; the same key on another request is a 409.
    again = client.post(fee, json={"amount": "1500.00", "date": "2025-06-01"}, headers=keyed)
    assert again.status_code == 200 and again.json() == r.json(), again.text
    other = client.post(fee, json={"amount": "1000.00", "date": "2025-06-01"}, headers=keyed)
    assert other.status_code == 409 and other.json()["error"]["field"] == "Idempotency-Key", other.text
    r = client.post(
        f"/api/v1/orgs/{org}/subsidies",
        json={"source": "工作经费", "grantor": "沿河县财政局", "amount": "100000.00", "date": "2025-03-01"},
        headers=h,
    )
    assert r.status_code == 201
    totals = client.get(f"/api/v1/orgs/{org}/subsidies?year=2025", headers=h).json()
    assert totals == [{"org_id": org, "source": "工作经费", "amount": "100000.00"}]
    stake = {
        "company_org_id": county.ids["company"],
        "paid_in": "200000.00",
        "share_bp": 2000,
        "date": "2025-01-10",
    }
    keyed = {**h, "Idempotency-Key": "stake-1"}
    r = client.post(f"/api/v1/orgs/{org}/stakes", json=stake, headers=keyed)
    assert r.status_code == 201, r.text
    again = client.post(f"/api/v1/orgs/{org}/stakes", json=stake, headers=keyed)
    assert again.status_code == 200 and again.json() == r.json(), again.text
    listed = client.get(f"/api/v1/orgs/{org}/stakes", headers=county.auth("community")).json()
    assert [(s["company"], s["paid_in"], s["share_bp"]) for s in listed] == [
        ("和平街道村社合股联营集体经济公司", "200000.00", 2000)
    ]
    r = client.post(
        f"/api/v1/orgs/{org}/stakes",
        json={
            "company_org_id": county.ids["village1"],
            "paid_in": "1.00",
            "share_bp": 1,
            "date": "2025-01-10",
        },
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "company_org_id"


def test_a_retried_receipt_returns_the_first_even_after_the_charges_it_paid_changed(
    county: County, client: TestClient
) -> None:
    org = county.ids["dingzikou"]
    h = county.auth("officer")
    first = client.post(f"/api/v1/orgs/{org}/leases", json=lease_body(start="2025-01-01"), headers=h).json()
    second = lease_body(
        code="HT-2025-002", lessee_id=first["lessee_id"], start="2025-02-01", end="2025-12-31"
    )
    del second["lessee"]
    assert client.post(f"/api/v1/orgs/{org}/leases", json=second, headers=h).status_code == 201
    client.post(f"/api/v1/orgs/{org}/leases/accrue?through=2025-03", headers=h)
    body = {"lessee_id": first["lessee_id"], "amount": "1500.00", "date": "2025-03-10"}
    one = client.post(f"/api/v1/orgs/{org}/lease-receipts", json=body, headers={**h, "Idempotency-Key": "k1"})
    two = client.post(f"/api/v1/orgs/{org}/lease-receipts", json=body, headers={**h, "Idempotency-Key": "k1"})
    assert one.status_code == 201 and two.status_code == 200
    assert one.json() == two.json()
    other = client.post(
        f"/api/v1/orgs/{org}/lease-receipts",
        json={**body, "amount": "1.00"},
        headers={**h, "Idempotency-Key": "k1"},
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    assert entries(county) == 3 + 1  # one accrual voucher a month (five contract-months), one receipt


def test_deposit_termination_and_refund_over_http(county: County, client: TestClient) -> None:
    org = county.ids["dingzikou"]
    h = county.auth("officer")
    c = client.post(
        f"/api/v1/orgs/{org}/leases", json=lease_body(start="2025-01-01", end="2027-12-31"), headers=h
    )
    cid = c.json()["id"]
    r = client.post(
        f"/api/v1/orgs/{org}/leases/{cid}/deposit",
        json={"amount": "2000.00", "date": "2025-01-01"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    client.post(f"/api/v1/orgs/{org}/leases/accrue?through=2025-04", headers=h)
    early = client.post(
        f"/api/v1/orgs/{org}/leases/{cid}/terminate", json={"last_day": "2025-03-31"}, headers=h
    )
    assert early.status_code == 409 and early.json()["error"]["field"] == "last_day"  # April is posted
    r = client.post(
        f"/api/v1/orgs/{org}/leases/{cid}/terminate",
        json={"last_day": "2025-04-30", "settle_on": "2025-05-03", "refund_rest": False},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["deposit_applied"], r.json()["deposit_left"]) == ("2000.00", "0.00")
    assert r.json()["contract"]["terminated_on"] == "2025-04-30"
    roll = client.get(f"/api/v1/orgs/{org}/leases/rent-roll?as_of=2025-05-03", headers=h).json()
    assert roll["contracts"][0]["outstanding"] == "2000.00"
    refund = client.post(
        f"/api/v1/orgs/{org}/leases/{cid}/deposit/refund", json={"date": "2025-05-04"}, headers=h
    )
    assert refund.status_code == 422 and refund.json()["error"]["field"] == "amount"  # nothing left to refund
    renew = client.post(
        f"/api/v1/orgs/{org}/leases/{cid}/renew",
        json={"code": "HT-2026", "start": "2025-05-01", "end": "2026-04-30", "rent_per_cycle": "900.00"},
        headers=h,
    )
    assert (
        renew.status_code == 201
        and renew.json()["previous_id"] == cid
        and renew.json()["relation"] == "renewal"
    )


def test_a_renewal_over_http_bills_as_the_old_contract_unless_the_body_says_otherwise(
    county: County, client: TestClient
) -> None:
    org = county.ids["dingzikou"]
    h = county.auth("officer")
    old = client.post(
        f"/api/v1/orgs/{org}/leases",
        json=lease_body(cycle="half_yearly", timing="arrears", vat_rate_bp=300, free_months=2),
        headers=h,
    )
    assert old.status_code == 201, old.text
    renew = f"/api/v1/orgs/{org}/leases/{old.json()['id']}/renew"
    dates = {"start": "2026-01-15", "end": "2027-01-14", "rent_per_cycle": "6300.00"}
    same = client.post(renew, json={"code": "HT-2026-001", **dates}, headers=h).json()
    assert (same["cycle"], same["timing"], same["vat_rate_bp"], same["free_months"]) == (
        "half_yearly",
        "arrears",
        300,
        0,
    )
    assert same["deposit"] == "2000.00" and same["schedule"][0]["amount"] != "0.00"
    bad = client.post(renew, json={"code": "HT-2026-002", **dates, "cycle": "weekly"}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "cycle"


def test_idle_assets_per_street_and_state_assets_name_their_entrusting_body(
    county: County, client: TestClient
) -> None:
    h = county.auth("officer")
    bad = client.post(
        f"/api/v1/orgs/{county.ids['huahuaqiao']}/assets",
        json={"kind": "房屋", "name": "原粮站仓库", "ownership": "state_entrusted"},
        headers=h,
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "entrusting_body"
    for org, name in (("dingzikou", "旧村委会办公楼"), ("huahuaqiao", "原粮站仓库")):
        r = client.post(
            f"/api/v1/orgs/{county.ids[org]}/assets",
            json={
                "kind": "房屋",
                "name": name,
                "ownership": "state_entrusted",
                "entrusting_body": "沿河县机关事务服务中心",
            },
            headers=h,
        )
        assert r.status_code == 201, r.text
    idle = client.get(f"/api/v1/orgs/{county.ids['heping']}/assets?status=idle", headers=h).json()
    assert sorted(a["name"] for a in idle) == ["原粮站仓库", "旧村委会办公楼"]
    mine = client.get(
        f"/api/v1/orgs/{county.ids['dingzikou']}/assets?status=idle", headers=county.auth("community")
    )
    assert [a["name"] for a in mine.json()] == ["旧村委会办公楼"]
    assert (
        client.get(
            f"/api/v1/orgs/{county.ids['heping']}/assets", headers=county.auth("community")
        ).status_code
        == 404
    )
