"""The web workbench as a browser drives it over HTTP: the login form, a page's CSRF token, and a company
with a bank statement account and a statement file to upload."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response

from ledger.books.posting import Draft, Line, post_entry
from ledger.db.engine import write_tx
from ledger.reconcile.store import create_statement_account
from tests.factories.county import County
from tests.factories.statement_files import sample_bank_txns, write_bank_csv

PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; the page that follows. Its CSRF token serves the next forms."""
    token = csrf_of(client.get("/web/login").text)
    response = client.post(
        "/web/login", data={"username": username, "password": password, "csrf_token": token, "next": "/web/"}
    )
    assert response.status_code == 200, response.text
    return response.text


def company_with_bank(county: County, tmp_path: Path) -> tuple[int, int, Path]:
    """The company's bank account (1002) with February closed and March's payments booked, and the bank's
    March file, not yet imported."""
    org = county.ids["company"]
    with write_tx(county.engine) as conn:
        bank = create_statement_account(conn, org, ledger_account="1002", kind="bank", name="建行基本户")
        post_entry(
            conn,
            Draft(
                org,
                date(2024, 2, 29),
                "开户存入",
                [Line("1002", debit_fen=5000000), Line("3001", credit_fen=5000000)],
            ),
        )
        post_entry(
            conn,
            Draft(
                org,
                date(2024, 3, 3),
                "付货款 流水号 030100771420",
                [Line("2202", debit_fen=1234867), Line("1002", credit_fen=1234867)],
            ),
        )
    return org, bank, write_bank_csv(tmp_path / "bank.csv", sample_bank_txns(range(1, 11)))


def upload(client: TestClient, org: int, bank: int, path: Path, token: str | None) -> Response:
    data = {"statement_account_id": str(bank), "period": "2024-03"}
    if token is not None:
        data["csrf_token"] = token
    with path.open("rb") as fh:
        return client.post(
            f"/web/orgs/{org}/statements/upload", data=data, files={"file": (path.name, fh, "text/csv")}
        )
