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

from ledger.books.orgs import counterparty
from ledger.books.verify import verify_all
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import JournalEntry
from tests.factories.county import County
from tests.factories.shop import seed_shop


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
    # 112 without a contract is an ordinary receivable: a plain entry posts it (naming its counterparty).
    with write_tx(county.engine) as conn:
        lessee = counterparty(conn, org, "lessee", "赵六")
    ok = client.post(
        f"/api/v1/orgs/{org}/entries",
        json=plain(
            [
                {"account": "112", "debit": "10.00", "counterparty_id": lessee},
                {"account": "102", "credit": "10.00"},
            ]
        ),
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


# -- the workflows that posted as "manual" (issue 21, what was left) ---------------------------------------


def source_of(engine: Engine, entry_id: int) -> str:
    with read_tx(engine) as conn:
        entry_t = JournalEntry.__table__
        return str(conn.execute(select(entry_t.c.source).where(entry_t.c.id == entry_id)).scalar_one())


def sources(engine: Engine, org_id: int) -> list[str]:
    entry_t = JournalEntry.__table__
    with read_tx(engine) as conn:
        query = select(entry_t.c.source).where(entry_t.c.org_id == org_id).order_by(entry_t.c.id)
        return list(conn.execute(query).scalars())


def welfare_post(client: TestClient, h: dict[str, str], org: int) -> int:
    body = {"post": "保洁员", "holder": "王五", "monthly_stipend": "1800.00", "start": "2025-01-01"}
    made = client.post(f"/api/v1/orgs/{org}/welfare-posts", json=body, headers=h)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_welfare_post_lines_take_no_plain_entry_and_the_stipend_run_and_payment_still_post(
    county: County, client: TestClient
) -> None:
    h = county.auth("officer")
    org = county.ids["dingzikou"]
    post = welfare_post(client, h, org)
    run = client.post(f"/api/v1/orgs/{org}/welfare-posts/stipends?through=2025-02", headers=h)
    assert run.status_code == 200 and run.json()["posted"] == 2, run.text
    paid = client.post(
        f"/api/v1/orgs/{org}/welfare-posts/{post}/payments", json={"date": "2025-03-05"}, headers=h
    )
    assert paid.status_code == 201, paid.text
    assert sources(county.engine, org) == ["welfare", "welfare", "welfare"]
    before = entries(county.engine)
    # A stipend typed by hand would count for the holder in the books but not in what is owed.
    for lines, line in (
        (
            [
                {"account": "51401", "debit": "10.00", "welfare_post_id": post},
                {"account": "212", "credit": "10.00", "welfare_post_id": post},
            ],
            0,
        ),
        (
            [
                {"account": "212", "debit": "10.00", "welfare_post_id": post},
                {"account": "102", "credit": "10.00"},
            ],
            0,
        ),
        (
            [
                {"account": "102", "debit": "10.00"},
                {"account": "212", "credit": "10.00", "welfare_post_id": post},
            ],
            1,
        ),
    ):
        r = client.post(f"/api/v1/orgs/{org}/entries", json=plain(lines), headers=h)
        message = refused_on_line(r, line)
        assert f"naming welfare post {post}" in message and "welfare posts" in message, message
    assert entries(county.engine) == before
    # 212 without a post is an ordinary wage payable.
    ok = client.post(
        f"/api/v1/orgs/{org}/entries",
        json=plain([{"account": "513", "debit": "10.00"}, {"account": "212", "credit": "10.00"}]),
        headers=h,
    )
    assert ok.status_code == 201, ok.text
    with read_tx(county.engine) as conn:
        assert verify_all(conn) == []


def test_the_voucher_page_refuses_a_welfare_post_line_and_shows_the_stipends_source(
    county: County, client: TestClient
) -> None:
    from tests.factories.vouchers import entry_form, post_form, text_of, voucher_data
    from tests.factories.web import log_in

    org = county.ids["dingzikou"]
    post = welfare_post(client, county.auth("officer"), org)
    run = client.post(
        f"/api/v1/orgs/{org}/welfare-posts/stipends?through=2026-01", headers=county.auth("officer")
    )
    assert run.status_code == 200, run.text
    with read_tx(county.engine) as conn:
        entry_t = JournalEntry.__table__
        stipend = conn.execute(select(func.max(entry_t.c.id)).where(entry_t.c.org_id == org)).scalar_one()
    log_in(client, "officer")
    page = client.get(f"/web/orgs/{org}/vouchers/{stipend}")
    assert page.status_code == 200, page.text
    shown = text_of(page.text)
    assert "公益岗位" in shown and "手工" not in shown and f"stipend:{post}:2026-01" in shown
    _html, csrf, key = entry_form(client, county)
    before = entries(county.engine)
    lines = [
        {"memo": "补贴", "account": "51401", "debit": "10.00", "welfare_post": str(post)},
        {"memo": "补贴", "account": "212", "credit": "10.00", "welfare_post": str(post)},
    ]
    refused = post_form(client, county, voucher_data(csrf, key, lines))
    assert refused.status_code == 422, refused.text
    assert "第1行：科目 51401 的这类分录由「公益岗位」业务记账" in text_of(refused.text)
    assert 'aria-invalid="true"' in refused.text
    client.get("/web/?lang=en")
    english = post_form(client, county, voucher_data(csrf, key, lines))
    assert english.status_code == 422 and "Line 1: 51401 is kept by the welfare posts" in text_of(
        english.text
    )
    assert entries(county.engine) == before


def test_3001_takes_no_plain_entry_once_the_company_has_shareholders_and_capital_paid_in_still_posts(
    county: County, client: TestClient
) -> None:
    h = county.auth("officer")
    company = county.ids["company"]
    lines = [{"account": "1002", "debit": "10.00"}, {"account": "3001", "credit": "10.00"}]
    holder = {"shareholder_org_id": county.ids["dingzikou"], "subscribed": "300000.00"}
    made = client.post(f"/api/v1/orgs/{company}/shareholdings", json=holder, headers=county.auth("admin"))
    assert made.status_code == 201, made.text
    before = entries(county.engine)
    r = client.post(f"/api/v1/orgs/{company}/entries", json=plain(lines), headers=h)
    message = refused_on_line(r, 1)
    assert "account 3001" in message and "shareholders' register" in message, message
    assert entries(county.engine) == before
    paid = client.post(
        f"/api/v1/orgs/{company}/shareholdings/{made.json()['id']}/capital",
        json={"amount": "300.00", "paid_on": "2025-01-10"},
        headers=county.auth("admin"),
    )
    assert paid.status_code == 201, paid.text
    assert sources(county.engine, company) == ["capital"]
    # The shareholder books its side with its stake (the capital tie reads both books).
    stake = {"company_org_id": company, "paid_in": "300.00", "share_bp": 1, "date": "2025-01-10"}
    side = client.post(f"/api/v1/orgs/{county.ids['dingzikou']}/stakes", json=stake, headers=h)
    assert side.status_code == 201, side.text
    with read_tx(county.engine) as conn:
        assert verify_all(conn) == []


def test_141_takes_no_plain_entry_once_the_org_holds_a_stake_and_the_stake_still_posts(
    county: County, client: TestClient
) -> None:
    h = county.auth("officer")
    org = county.ids["dingzikou"]
    lines = [{"account": "141", "debit": "10.00"}, {"account": "102", "credit": "10.00"}]
    stake = {
        "company_org_id": county.ids["company"],
        "paid_in": "200000.00",
        "share_bp": 2000,
        "date": "2025-01-10",
    }
    made = client.post(f"/api/v1/orgs/{org}/stakes", json=stake, headers=h)
    assert made.status_code == 201, made.text
    assert sources(county.engine, org) == ["stake"]
    before = entries(county.engine)
    r = client.post(f"/api/v1/orgs/{org}/entries", json=plain(lines), headers=h)
    message = refused_on_line(r, 0)
    assert "account 141" in message and "stakes" in message, message
    assert entries(county.engine) == before
    with read_tx(county.engine) as conn:
        assert verify_all(conn) == []


def test_1405_takes_no_plain_entry_in_a_company_with_a_store_before_any_stock(
    county: County, client: TestClient
) -> None:
    from ledger.books.orgs import create_org, create_store
    from ledger.db.engine import write_tx

    with write_tx(county.engine) as conn:
        company = create_org(
            conn, code="new-co", name="新联营公司", kind="company", parent_id=county.ids["heping"]
        )
    lines = [{"account": "1405", "debit": "10.00"}, {"account": "1002", "credit": "10.00"}]
    h = county.auth("officer")
    other = client.post(f"/api/v1/orgs/{company}/entries", json=plain(lines, "2025-02-01"), headers=h)
    assert other.status_code == 201, other.text  # no store: 1405 is an ordinary account
    with write_tx(county.engine) as conn:
        create_store(conn, company_id=company, code="s-kept", name="联营超市")
    before = entries(county.engine)
    r = client.post(f"/api/v1/orgs/{company}/entries", json=plain(lines), headers=h)
    assert "stock" in refused_on_line(r, 0)
    assert entries(county.engine) == before


def test_a_bulk_batch_is_refused_at_the_one_line_naming_a_kept_contract_and_writes_nothing(
    county: County, client: TestClient
) -> None:
    """Posting checks kept accounts per account code of a batch (a bulk load's 100+ drafts): the one line
    that names a contract on 112, deep in the batch, is still the one refused, by its place."""
    from datetime import date

    import pytest

    from ledger.books.errors import AccountKept
    from ledger.books.posting import BULK_DRAFTS, Draft, Line, post_entries

    h = county.auth("officer")
    org = county.ids["dingzikou"]
    body = {"code": "HT-9", "mode": "lease", "lessee": "王五", "start": "2025-01-01", "end": "2025-12-31"}
    made = client.post(f"/api/v1/orgs/{org}/leases", json={**body, "rent_per_cycle": "100.00"}, headers=h)
    assert made.status_code == 201, made.text
    contract = made.json()["id"]
    batch = [
        Draft(
            org,
            date(2025, 3, 2),
            f"bulk {n}",
            [Line("102", debit_fen=100 + n), Line("214", credit_fen=100 + n)],
        )
        for n in range(BULK_DRAFTS + 50)
    ]
    kept = Draft(
        org,
        date(2025, 3, 2),
        "bulk",
        [Line("102", debit_fen=5), Line("112", credit_fen=5, contract_id=contract)],
    )
    before = entries(county.engine)
    with pytest.raises(AccountKept) as refused, write_tx(county.engine) as conn:
        post_entries(conn, [*batch[:120], kept, *batch[120:]])
    assert refused.value.field == "entries[120].lines[1].account"
    assert entries(county.engine) == before
    with write_tx(county.engine) as conn:  # the same batch without that line posts
        assert len(post_entries(conn, batch)) == BULK_DRAFTS + 50
