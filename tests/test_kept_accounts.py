"""Accounts a workflow keeps take no plain entry (issue 21, item 6 and the lease tie left open).

A plain entry Dr 112 naming a real contract of the org passed every check and broke the lease sub-ledger
tie: ``cunshe verify`` failed afterwards. Lines that a workflow's sub-ledger ties to its control account —
112 naming a contract, 1405 once a company keeps stock, 2232 once the shareholder register is kept — are
posted by that workflow's rule only; a plain entry to them is a 422 naming the line, and nothing is
written.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from ledger.books.verify import verify_all
from ledger.db.engine import read_tx
from ledger.db.models import JournalEntry
from tests.conftest import County
from tests.servers import seed_shop


def entries(engine: Engine) -> int:
    with read_tx(engine) as conn:
        return conn.execute(select(func.count()).select_from(JournalEntry.__table__)).scalar_one()


def plain(lines: list[dict[str, Any]], day: str = "2025-03-01") -> dict[str, Any]:
    return {"date": day, "memo": "调整", "lines": lines}


def refused_on_line(response: Any, line: int) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "account_not_postable" and error["field"] == f"lines[{line}].account"
    return str(error["message"])


def test_a_plain_entry_to_112_naming_a_contract_of_the_org_is_refused_and_the_tie_holds(
    county: County, client: TestClient
) -> None:
    h = county.auth("officer")
    org = county.ids["dingzikou"]
    body = {"code": "HT-1", "mode": "lease", "lessee": "王五", "start": "2025-01-01", "end": "2025-12-31"}
    made = client.post(f"/api/v1/orgs/{org}/leases", json={**body, "rent_per_cycle": "100.00"}, headers=h)
    assert made.status_code == 201, made.text
    contract = made.json()["id"]
    before = entries(county.engine)
    lines = [
        {"account": "102", "debit": "10.00"},
        {"account": "112", "credit": "10.00", "contract_id": contract},
    ]
    r = client.post(f"/api/v1/orgs/{org}/entries", json=plain(lines), headers=h)
    message = refused_on_line(r, 1)
    assert f"account 112 naming contract {contract}" in message and "lease" in message
    assert entries(county.engine) == before
    # 112 without a contract is an ordinary receivable: a plain entry posts it.
    ok = client.post(
        f"/api/v1/orgs/{org}/entries",
        json=plain([{"account": "112", "debit": "10.00"}, {"account": "102", "credit": "10.00"}]),
        headers=h,
    )
    assert ok.status_code == 201, ok.text
    with read_tx(county.engine) as conn:
        assert verify_all(conn) == []


def test_1405_takes_no_plain_entry_once_the_company_keeps_stock(engine: Engine, client: TestClient) -> None:
    shop = seed_shop(engine)  # purchases through the stock workflow: the company keeps stock
    h = shop.county.auth("officer")
    before = entries(engine)
    r = client.post(
        f"/api/v1/orgs/{shop.company}/entries",
        json=plain([{"account": "1405", "debit": "10.00"}, {"account": "1002", "credit": "10.00"}]),
        headers=h,
    )
    assert "stock" in refused_on_line(r, 0)
    assert entries(engine) == before
    with read_tx(engine) as conn:
        assert verify_all(conn) == []


def test_profit_payable_takes_no_plain_entry_once_the_company_keeps_a_shareholder_register(
    county: County, client: TestClient
) -> None:
    h = county.auth("officer")
    company = county.ids["company"]
    lines = [{"account": "3104", "debit": "10.00"}, {"account": "2232", "credit": "10.00"}]
    free = client.post(f"/api/v1/orgs/{company}/entries", json=plain(lines), headers=h)
    assert free.status_code == 201, free.text  # no register yet: 2232 is an ordinary account
    holder = {"shareholder_org_id": county.ids["dingzikou"], "subscribed": "300000.00"}
    made = client.post(f"/api/v1/orgs/{company}/shareholdings", json=holder, headers=county.auth("admin"))
    assert made.status_code == 201, made.text
    r = client.post(f"/api/v1/orgs/{company}/entries", json=plain(lines), headers=h)
    assert "distribution" in refused_on_line(r, 1)
