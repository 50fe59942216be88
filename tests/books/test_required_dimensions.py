"""A line typed through any door names the 辅助核算 its account requires (issue 17).

``ledger/data/account_dimensions.toml`` says which: 112 应收款 its counterparty (its contract optional), 211
应付款 its counterparty, a company's 5001 主营业务收入 its store. The entry form refused a line without one,
but the API (``POST /orgs/{org}/entries``, ``/linked-entries``) and ``cunshe post`` took it, and a 明细账 by
counterparty then lost the amount. Posting refuses it now for every entered entry: a 422 naming the line's
field, nothing written. A workflow's own postings are not entered and are not asked (their registers name
what their sub-ledgers need).
"""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from ledger.books.orgs import counterparty
from ledger.cli.main import app
from ledger.db.engine import read_tx, write_tx
from ledger.db.models import JournalEntry, JournalLine
from tests.factories.county import County
from tests.factories.vouchers import entry_form, post_form, seed, voucher_data
from tests.factories.web import log_in

entry_t = JournalEntry.__table__


def entries(county: County) -> int:
    with read_tx(county.engine) as conn:
        return conn.execute(select(func.count()).select_from(entry_t)).scalar_one()


def lessee(county: County, org: str = "dingzikou", name: str = "张三") -> int:
    with write_tx(county.engine) as conn:
        return counterparty(conn, county.ids[org], "lessee", name)


def plain(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {"date": "2026-01-25", "memo": "收租", "lines": lines}


def errors_of(html: str) -> dict[str, str]:
    """The page's refusals by the field they stand beside (common.FormRefused's markup)."""
    markup = r'<(?:p|span) class="error" role="alert" id="error-([^"]+)">([^<]*)</(?:p|span)>'
    return {field: unescape(message) for field, message in re.findall(markup, html)}


def refused(response: Any, field: str) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    return str(error["message"])


def test_the_api_refuses_a_receivable_without_its_counterparty_and_writes_nothing(
    county: County, client: TestClient
) -> None:
    h = county.auth("officer")
    org = county.ids["dingzikou"]
    cp = lessee(county)
    url = f"/api/v1/orgs/{org}/entries"
    before = entries(county)
    bank = {"account": "102", "debit": "10.00"}
    message = refused(
        client.post(url, json=plain([bank, {"account": "112", "credit": "10.00"}]), headers=h),
        "lines[1].counterparty_id",
    )
    assert "112" in message and "counterparty" in message
    # a sub-ledger account asks for it too (211 应付款), and a second line is named as the second
    two = [
        bank,
        {"account": "211", "credit": "4.00", "counterparty_id": cp},
        {"account": "211", "credit": "6.00"},
    ]
    refused(client.post(url, json=plain(two), headers=h), "lines[2].counterparty_id")
    assert entries(county) == before
    # with its counterparty it posts; 112's contract is offered, not required
    named = [bank, {"account": "112", "credit": "10.00", "counterparty_id": cp}]
    posted = client.post(url, json=plain(named), headers=h)
    assert posted.status_code == 201, posted.text
    assert posted.json()["lines"][1]["counterparty_id"] == cp
    assert entries(county) == before + 1


def test_a_company_line_on_its_income_names_the_store_and_a_linked_posting_is_refused_whole(
    county: County, client: TestClient
) -> None:
    h = county.auth("officer")
    company = county.ids["company"]
    cash = {"account": "1001", "debit": "10.00"}
    before = entries(county)
    url = f"/api/v1/orgs/{company}/entries"
    refused(
        client.post(url, json=plain([cash, {"account": "5001", "credit": "10.00"}]), headers=h),
        "lines[1].store_id",
    )
    store = county.stores["store1"]
    ok = client.post(
        url, json=plain([cash, {"account": "5001", "credit": "10.00", "store_id": store}]), headers=h
    )
    assert ok.status_code == 201, ok.text
    # linked: the community's side is fine, the company's lacks its store; neither is written
    linked = {
        "entries": [
            {
                "org_id": county.ids["dingzikou"],
                **plain([{"account": "102", "debit": "1.00"}, {"account": "501", "credit": "1.00"}]),
            },
            {"org_id": company, **plain([cash | {"debit": "1.00"}, {"account": "5001", "credit": "1.00"}])},
        ]
    }
    r = client.post("/api/v1/linked-entries", json=linked, headers=h)
    refused(r, "entries[1].lines[1].store_id")
    assert entries(county) == before + 1


def test_the_entry_form_refuses_it_beside_the_line_before_posting(county: County, client: TestClient) -> None:
    ids = seed(county)  # 丁字口's January 2026 and its lessee 张三
    log_in(client, "officer")
    _html, csrf, key = entry_form(client, county)
    lines = [
        {"memo": "付押金", "account": "211", "debit": "10.00"},
        {"memo": "付押金", "account": "101", "credit": "10.00"},
    ]
    before = entries(county)
    response = post_form(client, county, voucher_data(csrf, key, lines))
    assert response.status_code == 422
    shown = " ".join(re.sub(r"<[^>]+>", " ", response.text).split())
    assert errors_of(response.text) == {"voucher-line-0-counterparty": "第1行：科目 211 须选择往来单位"}, (
        shown[:1500]
    )
    assert entries(county) == before
    _html, csrf, key = entry_form(client, county)
    lines[0]["counterparty"] = str(ids["zhangsan"])
    assert post_form(client, county, voucher_data(csrf, key, lines)).status_code == 303
    assert entries(county) == before + 1


def test_cunshe_post_refuses_it_naming_the_entry_and_line_and_takes_the_id_columns(
    county: County, tmp_path: Path
) -> None:
    runner = CliRunner()
    db = county.engine.url.render_as_string(hide_password=False)
    cp = lessee(county)
    before = entries(county)
    csv_path = tmp_path / "rent.csv"
    csv_path.write_text(
        "org,entry,date,memo,account,debit,credit\n"
        "dingzikou,a,2026-01-25,收租,102,10.00,\n"
        "dingzikou,a,2026-01-25,收租,112,,10.00\n",
        encoding="utf-8",
    )
    bad = runner.invoke(app, ["post", str(csv_path), "--db", db])
    assert bad.exit_code == 2 and "lines[1].counterparty_id" in bad.output, bad.output
    assert entries(county) == before
    csv_path.write_text(
        "org,entry,date,memo,account,debit,credit,counterparty_id\n"
        "dingzikou,a,2026-01-25,收租,102,10.00,,\n"
        f"dingzikou,a,2026-01-25,收租,112,,10.00,{cp}\n",
        encoding="utf-8",
    )
    ok = runner.invoke(app, ["post", str(csv_path), "--db", db])
    assert ok.exit_code == 0 and "posted 1 entries" in ok.output, ok.output
    doc = [
        {
            "org": "dingzikou",
            "date": "2026-01-26",
            "memo": "押金",
            "lines": [
                {"account": "102", "debit": "5.00"},
                {"account": "211", "credit": "5.00", "counterparty_id": "x"},
            ],
        }
    ]
    json_path = tmp_path / "deposit.json"
    json_path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    typo = runner.invoke(app, ["post", str(json_path), "--db", db])
    assert typo.exit_code == 2 and "entries[0].lines[1].counterparty_id" in typo.output, typo.output
    doc[0]["lines"][1]["counterparty_id"] = cp  # type: ignore[index]
    json_path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    ok = runner.invoke(app, ["post", str(json_path), "--db", db])
    assert ok.exit_code == 0 and "posted 1 entries" in ok.output, ok.output
    line_t = JournalLine.__table__
    with read_tx(county.engine) as conn:
        named = conn.execute(select(line_t.c.memo).where(line_t.c.counterparty_id == cp)).scalars().all()
    assert entries(county) == before + 2 and len(named) == 2
