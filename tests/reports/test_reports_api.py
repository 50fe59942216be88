"""Report downloads over HTTP and from the command line: formats, file names, scopes, roll-ups, the batch zip.

A community token reads its own org's reports only: another org's statement and any roll-up are 404 (their
existence does not leak); an officer reads its street's orgs and roll-ups, not another street's.
"""

from __future__ import annotations

import gc
import io
import json
import os
import re
import zipfile
from concurrent.futures import Future
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pandas as pd
import pdfplumber
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ledger.books import county_time
from ledger.books.errors import TimeLimit
from ledger.books.money import amount_in_words
from ledger.cli.reports import app as reports_cli
from reports.builders_base import ReportPeriod
from reports.builders_batch import pool, render_batch, worker_pids
from tests.factories.county import County
from tests.factories.report_books import COMMUNITY_NET, post_community_year, post_company_quarter

sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


@pytest.fixture
def two_community_years(county: County) -> County:
    """丁字口's year closed and 花花桥's left open, and the joint company's first quarter."""
    post_community_year(county.engine, county.ids["dingzikou"])
    post_community_year(county.engine, county.ids["huahuaqiao"], close=False)
    post_company_quarter(county.engine, county.ids["company"], county.stores)
    return county


def url(county: County, org: str, name: str, fmt: str, query: str = "period=2025") -> str:
    return f"/api/v1/orgs/{county.ids[org]}/reports/{name}.{fmt}?{query}"


def test_community_downloads_its_own_statement_as_json(
    client: TestClient, two_community_years: County
) -> None:
    response = client.get(
        url(two_community_years, "dingzikou", "income-statement", "json"),
        headers=two_community_years.auth("community"),
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["title"] == "收益及收益分配表"
    assert data["totals"][0]["amount"] == "125500.00"
    assert data["totals"][0]["in_words"] == amount_in_words(COMMUNITY_NET)
    disposition = response.headers["content-disposition"]
    assert 'filename="dingzikou-income-statement-2025.json"' in disposition
    assert unquote(disposition.split("UTF-8''")[1]) == "丁字口社区-收益及收益分配表-2025.json"


def test_community_cannot_fetch_another_orgs_statement_or_a_roll_up(
    client: TestClient, two_community_years: County
) -> None:
    headers = two_community_years.auth("community")
    other = client.get(url(two_community_years, "huahuaqiao", "balance-sheet", "pdf"), headers=headers)
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    rollup = client.get(
        url(two_community_years, "heping", "balance-sheet", "json", "period=2025&standard=collective"),
        headers=headers,
    )
    assert rollup.status_code == 404
    county_rollup = client.get(
        url(two_community_years, "county", "income-statement", "json", "period=2025&standard=collective"),
        headers=headers,
    )
    assert county_rollup.status_code == 404
    batch = client.get(
        f"/api/v1/orgs/{two_community_years.ids['heping']}/reports:batch?name=income-statement&period=2025",
        headers=headers,
    )
    assert batch.status_code == 404
    cashier = client.get(
        url(two_community_years, "dingzikou", "balance-sheet", "json"),
        headers=two_community_years.auth("cashier"),
    )
    assert cashier.status_code == 404


def test_officer_reads_its_streets_orgs_and_roll_ups_only(
    client: TestClient, two_community_years: County
) -> None:
    headers = two_community_years.auth("officer")
    own = client.get(
        url(two_community_years, "huahuaqiao", "balance-sheet", "json", "period=2025-12"), headers=headers
    )
    assert own.status_code == 200
    rollup = client.get(
        url(two_community_years, "heping", "income-statement", "json", "period=2025&standard=collective"),
        headers=headers,
    )
    assert rollup.status_code == 200, rollup.text
    data = rollup.json()
    assert data["title"] == "收益及收益分配表（汇总）"
    assert Decimal(data["totals"][0]["amount"]) == Decimal(2 * COMMUNITY_NET) / 100  # village1 has no entries
    mixed = client.get(url(two_community_years, "heping", "income-statement", "json"), headers=headers)
    assert mixed.status_code == 422 and mixed.json()["error"]["field"] == "standard"
    elsewhere = client.get(
        url(two_community_years, "hongxingqiao", "balance-sheet", "json"),
        headers=two_community_years.auth("officer"),
    )
    assert elsewhere.status_code == 404
    county = client.get(
        url(two_community_years, "county", "balance-sheet", "json", "period=2025&standard=collective"),
        headers=headers,
    )
    assert county.status_code == 404


@pytest.mark.parametrize("name", ["..%2F..%2Fetc%2Fpasswd", "statement", "report_base", "balance_sheet"])
def test_report_names_are_registry_keys_never_paths(
    client: TestClient, two_community_years: County, name: str
) -> None:
    response = client.get(
        f"/api/v1/orgs/{two_community_years.ids['dingzikou']}/reports/{name}.json?period=2025",
        headers=two_community_years.auth("admin"),
    )
    assert response.status_code == 404


def test_bad_format_and_period_are_422(client: TestClient, two_community_years: County) -> None:
    headers = two_community_years.auth("admin")
    assert (
        client.get(url(two_community_years, "dingzikou", "balance-sheet", "exe"), headers=headers).status_code
        == 422
    )
    bad = client.get(
        url(two_community_years, "dingzikou", "balance-sheet", "json", "period=2025-13"), headers=headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "period"
    missing = client.get(url(two_community_years, "dingzikou", "balance-sheet", "json", ""), headers=headers)
    assert missing.status_code == 422


def test_list_reports_names_what_the_books_keep(client: TestClient, two_community_years: County) -> None:
    community = client.get(
        f"/api/v1/orgs/{two_community_years.ids['dingzikou']}/reports",
        headers=two_community_years.auth("community"),
    ).json()
    names = {r["name"] for r in community}
    assert {"balance-sheet", "income-statement", "disclosure", "vouchers"} <= names
    assert "channel-sales" not in names
    company = client.get(
        f"/api/v1/orgs/{two_community_years.ids['company']}/reports",
        headers=two_community_years.auth("officer"),
    ).json()
    assert {r["name"]: r["title"] for r in company}["income-statement"] == "利润表"


@sqlite_only
def test_pdf_and_xlsx_downloads_agree_with_the_json(client: TestClient, two_community_years: County) -> None:
    headers = two_community_years.auth("community")
    data = client.get(
        url(two_community_years, "dingzikou", "balance-sheet", "json", "period=2025-12"), headers=headers
    ).json()
    pdf = client.get(
        url(two_community_years, "dingzikou", "balance-sheet", "pdf", "period=2025-12"), headers=headers
    )
    assert pdf.headers["content-type"] == "application/pdf"
    with pdfplumber.open(io.BytesIO(pdf.content)) as document:
        text = re.sub(r"\s+", "", document.pages[0].extract_text())
    total = data["totals"][0]
    assert "资产负债表" in text and "2025年12月31日" in text
    assert f"资产总计（期末数）：¥{Decimal(total['amount']):,.2f}" in text
    assert total["in_words"] in text
    xlsx = client.get(
        url(two_community_years, "dingzikou", "balance-sheet", "xlsx", "period=2025-12"), headers=headers
    )
    sheet = pd.read_excel(io.BytesIO(xlsx.content), header=3)
    numbered = pd.to_numeric(sheet["行次"], errors="coerce")
    lines = sheet[numbered.notna()].set_index(numbered[numbered.notna()].astype(int))
    rows = {r["line_no"]: r for r in data["tables"][0]["rows"] if r["line_no"] is not None}
    for line_no, row in rows.items():
        assert Decimal(str(lines.at[line_no, "期末数"])).quantize(Decimal("0.01")) == Decimal(row["期末数"])
    assert Decimal(str(lines.at[17, "期末数"])) == Decimal(total["amount"])
    english = client.get(
        url(two_community_years, "dingzikou", "balance-sheet", "json", "period=2025-12&lang=en"),
        headers=headers,
    )
    assert english.json()["title"] == "Balance Sheet"


def test_batch_zips_one_statement_per_org_of_the_street(
    client: TestClient, two_community_years: County
) -> None:
    response = client.get(
        f"/api/v1/orgs/{two_community_years.ids['heping']}/reports:batch?name=income-statement&period=2025&format=json",
        headers=two_community_years.auth("officer"),
    )
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = sorted(archive.namelist())
    # Every org below 和平街道 with books: three collectives and the company (its 利润表).
    assert names == [
        "dingzikou-income-statement-2025.json",
        "heping-co-income-statement-2025.json",
        "huahuaqiao-income-statement-2025.json",
        "village1-income-statement-2025.json",
    ]
    totals = {n: json.loads(archive.read(n))["totals"][0]["amount"] for n in names}
    assert totals["dingzikou-income-statement-2025.json"] == "125500.00"
    assert response.headers["x-report-errors"] == "0"


@sqlite_only
def test_batch_pdfs_come_from_warm_workers_and_are_stored_not_deflated_again(
    two_community_years: County,
) -> None:
    """Every worker has warmed and frozen its heap before the pool is handed out; PDFs, compressed
    already, go into the zip as they are."""
    executor = pool()
    assert len(worker_pids()) == (os.cpu_count() or 1)
    assert all(f.result() > 0 for f in [executor.submit(gc.get_freeze_count) for _ in range(4)])
    db = two_community_years.engine.url.render_as_string(hide_password=False)
    orgs = [two_community_years.ids["dingzikou"], two_community_years.ids["huahuaqiao"]]
    result = render_batch(db, "income-statement", orgs, ReportPeriod("2025-01", "2025-12"), "pdf")
    archive = zipfile.ZipFile(io.BytesIO(result.zip_bytes))
    assert result.files == ("dingzikou-income-statement-2025.pdf", "huahuaqiao-income-statement-2025.pdf")
    for info in archive.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        assert archive.read(info).startswith(b"%PDF")


class _RunsAtOnce:
    """An executor that runs each task in this process as it is submitted: every worker has answered
    before ``render_batch`` starts waiting, the order a fast pool can also take."""

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args))
        return future


@sqlite_only
def test_a_batch_whose_workers_ran_out_of_time_first_is_a_time_limit_not_a_zip_of_errors(
    two_community_years: County,
) -> None:
    """CI once answered 200 with an errors.txt naming both orgs: their workers' own limits stopped them
    before the batch's wait did. One org out of time is the batch out of time."""
    db = two_community_years.engine.url.render_as_string(hide_password=False)
    orgs = [two_community_years.ids["dingzikou"], two_community_years.ids["huahuaqiao"]]
    period = ReportPeriod("2025-01", "2025-12")
    with pytest.raises(TimeLimit):
        render_batch(db, "income-statement", orgs, period, "pdf", executor=_RunsAtOnce(), seconds=1e-6)  # type: ignore[arg-type]
    result = render_batch(db, "income-statement", orgs, period, "json", executor=_RunsAtOnce(), seconds=60)  # type: ignore[arg-type]
    assert len(result.files) == 2 and result.errors == ()


@sqlite_only
def test_cli_writes_the_report_file(two_community_years: County, tmp_path: Path) -> None:
    db = two_community_years.engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    result = runner.invoke(
        reports_cli,
        [
            "report",
            "income-statement",
            "--org",
            "dingzikou",
            "--period",
            "2025",
            "--format",
            "xlsx",
            "--out",
            str(tmp_path),
            "--db",
            db,
        ],
    )
    assert result.exit_code == 0, result.output
    written = tmp_path / "dingzikou-income-statement-2025.xlsx"
    sheet = pd.read_excel(written, header=3)
    assert Decimal(str(sheet.loc[sheet["行次"] == 13, "本年数"].iloc[0])) == Decimal("125500")
    failed = runner.invoke(
        reports_cli, ["report", "balance-sheet", "--org", "heping", "--period", "2025", "--db", db]
    )
    assert failed.exit_code == 2 and "standard" in failed.output


@sqlite_only
def test_cli_batch_writes_a_zip(two_community_years: County, tmp_path: Path) -> None:
    db = two_community_years.engine.url.render_as_string(hide_password=False)
    out = tmp_path / "heping.zip"
    result = CliRunner().invoke(
        reports_cli,
        [
            "report-batch",
            "balance-sheet",
            "--org",
            "heping",
            "--period",
            "2025-12",
            "--standard",
            "collective",
            "--format",
            "json",
            "--out",
            str(out),
            "--db",
            db,
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(zipfile.ZipFile(out).namelist()) == 3


@sqlite_only
def test_channel_sales_by_origin_village_reads_the_pos_sale_lines(client: TestClient, county: County) -> None:
    """Sales rung up at the till through the POS API show under the product's origin village, net of tax."""
    from tests.factories.shop import build_shop

    shop = build_shop(county, client)
    assert shop.sale([("APPLE", "2"), ("RICE", "1")]).status_code == 201  # ¥17.60 + ¥3.98, 1% VAT inside
    assert shop.sale([("VEG", "3")]).status_code == 201  # ¥6.00
    month = county_time.today().strftime("%Y-%m")
    response = client.get(
        f"/api/v1/orgs/{county.ids['company']}/reports/channel-sales.json?period={month}",
        headers=county.auth("officer"),
    )
    assert response.status_code == 200, response.text
    by_origin = {row["origin"]: row["net"] for row in response.json()["tables"][2]["rows"]}
    assert by_origin["示范村一"] == "23.37"  # round(1760 / 1.01) + round(600 / 1.01) = 1743 + 594 fen
    assert by_origin["其他来源"] == "3.94"  # round(398 / 1.01)
    assert by_origin["合计"] == "27.31"
