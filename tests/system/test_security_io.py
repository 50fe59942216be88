"""Hostile files and hostile filters: zip bombs refused before a reader opens them, exported text never
runs as a formula, and list filters are values, never SQL."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from ledger.books import spreadsheets
from ledger.books.errors import ValidationError
from ledger.books.spreadsheets import check_xlsx, safe_text
from ledger.db.engine import read_tx, write_tx
from ledger.reconcile.importers import StatementParseError, parse_statement
from pos.catalogue import ProductIn, export_catalogue, read_catalogue_file, upsert_products
from tests.factories.county import County


def bomb(size: int) -> bytes:
    """A zip whose one member unpacks to ``size`` bytes of zeros (a few KB on disk)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w") as f,
    ):
        chunk = b"\0" * (1 << 20)
        for _ in range(size // len(chunk)):
            f.write(chunk)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_any_reader_opens_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(spreadsheets, "MAX_UNCOMPRESSED_BYTES", 2 * 1024 * 1024)
    data = bomb(4 * 1024 * 1024)
    with pytest.raises(ValidationError, match="unpacks to 4 MB"):
        check_xlsx(data)
    with pytest.raises(ValidationError, match="unpacks to 4 MB"):
        read_catalogue_file(data, "catalogue.xlsx")
    path = tmp_path / "bank.xlsx"
    path.write_bytes(data)
    with pytest.raises(StatementParseError, match="unpacks to 4 MB"):
        parse_statement(path, "bank")


def test_a_real_workbook_passes_the_cap() -> None:
    book = openpyxl.Workbook()
    book.active.append(["sku", "name"])
    out = io.BytesIO()
    book.save(out)
    check_xlsx(out.getvalue())


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x"])
def test_text_that_would_run_as_a_formula_stays_text(text: str) -> None:
    assert safe_text(text) == "'" + text
    assert safe_text("土鸡蛋") == "土鸡蛋"


def test_the_catalogue_export_neutralises_formula_injection(county: County) -> None:
    company = county.ids["company"]
    evil = '=HYPERLINK("http://example.invalid","点我")'
    with write_tx(county.engine) as conn:
        upsert_products(conn, company, [ProductIn(sku="EVIL-1", name=evil, unit="个", price_fen=100)])
        csv_bytes = export_catalogue(conn, company, "csv")
        xlsx_bytes = export_catalogue(conn, company, "xlsx")
    row = next(csv.DictReader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert row["name"] == "'" + evil
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_bytes)).active
    assert sheet.cell(2, [c.value for c in sheet[1]].index("name") + 1).value == "'" + evil


@pytest.mark.parametrize(
    "query",
    [
        "account=' OR '1'='1",
        "source=manual' OR 1=1 --",
        "voucher_no=x'; DROP TABLE journal_entry; --",
        "period=2025-03' UNION SELECT * FROM user_account --",
    ],
)
def test_list_filters_are_values_not_sql(client: TestClient, county: County, query: str) -> None:
    org = county.ids["dingzikou"]
    body = {
        "date": "2025-03-05",
        "lines": [{"account": "102", "debit": "1.00"}, {"account": "503", "credit": "1.00"}],
    }
    assert (
        client.post(f"/api/v1/orgs/{org}/entries", json=body, headers=county.auth("officer")).status_code
        == 201
    )
    r = client.get(f"/api/v1/orgs/{org}/entries?{query}", headers=county.auth("officer"))
    assert r.status_code in (200, 422)
    if r.status_code == 200:
        assert r.json()["total"] == 0
    with read_tx(county.engine) as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM journal_entry")).scalar_one() == 1
