"""Query parameters naming months, days and years are checked alike on every route family (issue 22):
well-formed, a range in order, within the org's years — else a 422 naming the parameter (``ledger/api/
periods.py``). The books below begin in 2025 (an entry posted then); the org was created "now"."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ledger.books.orgs import now
from ledger.books.periods import POSTING_YEARS_AHEAD
from ledger.db.engine import write_tx
from ledger.reconcile.store import create_statement_account
from tests.factories.county import County


def refused(client: TestClient, county: County, url: str, field: str) -> str:
    answer = client.get(url, headers=county.auth("admin"))
    assert answer.status_code == 422, (url, answer.status_code, answer.text[:300])
    assert field in answer.text, (url, answer.text[:300])
    return answer.text


def test_the_trial_balance_refuses_a_range_backwards_or_outside_the_books(
    books_2025: County, client: TestClient
) -> None:
    org = books_2025.ids["dingzikou"]
    base = f"/api/v1/orgs/{org}/trial-balance"
    assert "is before" in refused(client, books_2025, f"{base}?from=2025-12&to=2025-01", '"to"')
    refused(client, books_2025, f"{base}?from=2025-13", '"from"')
    refused(client, books_2025, f"{base}?from=1999-01", '"from"')
    refused(client, books_2025, f"{base}?from=2025-01&to={now().year + POSTING_YEARS_AHEAD + 1}-01", '"to"')
    ok = client.get(f"{base}?from=2025-01&to=2025-12", headers=books_2025.auth("admin"))
    assert ok.status_code == 200 and ok.json()["total_debit"] == "3000.00"


def test_entries_refuse_a_malformed_period_and_days_backwards(books_2025: County, client: TestClient) -> None:
    base = f"/api/v1/orgs/{books_2025.ids['dingzikou']}/entries"
    refused(client, books_2025, f"{base}?period=abc", '"period"')
    refused(client, books_2025, f"{base}?period=1999-01", '"period"')
    refused(client, books_2025, f"{base}?from=2025-06-01&to=2025-01-01", '"to"')
    march = client.get(f"{base}?period=2025-03", headers=books_2025.auth("admin"))
    assert march.status_code == 200 and march.json()["total"] == 1


def test_reports_refuse_a_year_outside_the_books(books_2025: County, client: TestClient) -> None:
    org = books_2025.ids["dingzikou"]
    base = f"/api/v1/orgs/{org}/reports"
    refused(client, books_2025, f"{base}/disclosure.pdf?period=1999", '"period"')
    refused(client, books_2025, f"{base}/trial-balance.json?from=2025-12&to=2025-01", '"to"')
    refused(client, books_2025, f"{base}/trial-balance.json?from=1999-01&to=1999-12", '"from"')
    street = books_2025.ids["heping"]
    refused(
        client,
        books_2025,
        f"/api/v1/orgs/{street}/reports:batch?name=trial-balance&period=1999",
        '"period"',
    )
    ok = client.get(f"{base}/trial-balance.json?period=2025", headers=books_2025.auth("admin"))
    assert ok.status_code == 200, ok.text[:300]


def test_statement_lines_refuse_a_malformed_month(books_2025: County, client: TestClient) -> None:
    org = books_2025.ids["dingzikou"]
    with write_tx(books_2025.engine) as conn:
        account = create_statement_account(conn, org, kind="bank", name="农商行", ledger_account="102")
    base = f"/api/v1/orgs/{org}/statement-accounts/{account}/lines"
    refused(client, books_2025, f"{base}?period=2025-3", '"period"')
    refused(client, books_2025, f"{base}?period=1999-03", '"period"')
    assert client.get(f"{base}?period=2025-03", headers=books_2025.auth("admin")).status_code == 200


def test_the_rent_roll_subsidies_and_produce_sales_refuse_dates_outside_the_books(
    books_2025: County, client: TestClient
) -> None:
    org = books_2025.ids["dingzikou"]
    refused(client, books_2025, f"/api/v1/orgs/{org}/leases/rent-roll?as_of=1999-06-30", '"as_of"')
    refused(client, books_2025, f"/api/v1/orgs/{org}/subsidies?year=1999", '"year"')
    village = books_2025.ids["village1"]
    url = f"/api/v1/pos/villages/{village}/produce-sales?from=2026-06-01&to=2026-01-01"
    refused(client, books_2025, url, '"to"')
    assert (
        client.get(f"/api/v1/orgs/{org}/subsidies?year=2025", headers=books_2025.auth("admin")).status_code
        == 200
    )
