"""The officer's month in a real browser: Playwright drives Debian's Chromium (``/usr/bin/chromium``, never a
downloaded browser) against the real app served by uvicorn on 127.0.0.1, on a temporary SQLite file and on a
PostgreSQL database, seeded through the service functions.

Run with ``pytest -m browser``; skipped when Chromium is not installed (``make setup`` installs it).
Screenshots land in pytest's temporary directory (printed on failure).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.books.orgs import counterparty, ensure_sub_account
from ledger.books.periods import close_period, closed_through
from ledger.books.posting import Draft, Line, post_entries, post_entry
from ledger.db.engine import read_tx, write_tx
from ledger.reconcile.matching import propose_matches
from ledger.reconcile.store import create_statement_account, import_statement, list_statement_accounts
from tests.factories.browser import LiveServer, log_in, require_chromium, shot
from tests.factories.county import County
from tests.factories.statement_files import sample_bank_txns, write_bank_csv, write_wechat_trade_bill

pytestmark = pytest.mark.browser


sync_api = require_chromium()


def seed_month(county: County) -> None:
    """January's books of 丁字口社区: rent received into the bank, a service fee paid from it."""
    org = county.ids["dingzikou"]
    with write_tx(county.engine) as conn:
        post_entry(
            conn,
            Draft(
                org_id=org,
                entry_date=date(2026, 1, 10),
                memo="收到门面租金",
                lines=[Line("102", debit_fen=1_200_000), Line("501", credit_fen=1_200_000)],
            ),
        )
        post_entry(
            conn,
            Draft(
                org_id=org,
                entry_date=date(2026, 1, 20),
                memo="支付保洁服务费",
                lines=[Line("513", debit_fen=80_000), Line("102", credit_fen=80_000)],
            ),
        )


@dataclass
class CompanyMarch:
    org: int
    bank_file: Path
    wechat_file: Path


def seed_company_march(county: County, tmp_path: Path) -> CompanyMarch:
    """The joint company's March 2024 books (as in ``test_reconcile_matching``; February closed), its bank
    and WeChat Pay accounts, and the two files the officer downloads from the bank and from WeChat Pay."""
    org = county.ids["company"]
    officer = county.user_ids["officer"]
    with write_tx(county.engine) as conn:
        ensure_sub_account(conn, org, "1012", "101201", "微信")
        supplier = counterparty(conn, org, "supplier", "县供销农产品有限公司")
        create_statement_account(conn, org, ledger_account="1002", kind="bank", name="建行基本户")
        create_statement_account(conn, org, ledger_account="101201", kind="wechat", name="微信商户")
        pay = dict(counterparty_id=supplier)

        def entry(day: int, memo: str, *lines: Line) -> None:
            post_entries(conn, [Draft(org, date(2024, 3, day), memo, list(lines))], user_id=officer)

        post_entries(
            conn,
            [
                Draft(
                    org,
                    date(2024, 2, 29),
                    "开户存入",
                    [Line("1002", debit_fen=5000000), Line("3001", credit_fen=5000000)],
                )
            ],
            user_id=officer,
        )
        close_period(conn, org, "2024-02", user_id=officer)  # last month is closed already
        entry(
            3,
            "付货款 流水号 030100771420",
            Line("2202", debit_fen=1234867, **pay),
            Line("1002", credit_fen=1234867, **pay),
        )
        entry(8, "付货款", Line("2202", debit_fen=1235167, **pay), Line("1002", credit_fen=1235167, **pay))
        entry(9, "付货款一", Line("2202", debit_fen=1000000, **pay), Line("1002", credit_fen=1000000, **pay))
        entry(9, "付货款二", Line("2202", debit_fen=235467, **pay), Line("1002", credit_fen=235467, **pay))
        entry(6, "张三劳务费", Line("5602", debit_fen=40000), Line("1002", credit_fen=40000))
        entry(4, "3月4日微信收款", Line("101201", debit_fen=206745), Line("5001", credit_fen=206745))
        entry(
            2,
            "微信结算 流水号 029900771005",
            Line("1002", debit_fen=202202),
            Line("101201", credit_fen=202202),
        )
        entry(10, "存入支票", Line("1002", debit_fen=500000), Line("1122", credit_fen=500000))
    return CompanyMarch(
        org,
        write_bank_csv(tmp_path / "建行流水-2024-03.csv", sample_bank_txns(range(1, 11))),
        write_wechat_trade_bill(tmp_path / "微信支付账单-2024-03.csv"),
    )


def test_officer_month_in_the_browser(live: LiveServer, browser: object, tmp_path: Path) -> None:
    """The officer's month: log in, upload the WeChat bill and the bank statement, review the proposed
    matches with their reasons, confirm them (rejecting the one whose references conflict), download the
    银行存款余额调节表 PDF, download the 科目余额表 PDF, close March, log out."""
    month = seed_company_march(live.county, tmp_path)
    org = month.org
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True
    )  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    expect = sync_api.expect

    log_in(page, live, "officer")
    expect(page.get_by_role("heading", name="街道总览")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="和平街道村社合股联营集体经济公司")).to_contain_text(
        "2024-03"
    )
    shot(page, tmp_path, "dashboard-1366")

    # Upload the WeChat Pay bill, then the bank statement.
    page.get_by_role("link", name="和平街道村社合股联营集体经济公司").click()
    page.get_by_role("link", name="银行对账").click()
    page.get_by_label("会计期间").fill("2024-03")
    page.get_by_role("button", name="查询").click()
    upload = page.locator("form", has=page.get_by_role("button", name="上传"))
    upload.get_by_label("对账账户").select_option(label="微信商户 (微信支付)")
    upload.get_by_label("对账单文件").set_input_files(str(month.wechat_file))
    upload.get_by_role("button", name="上传").click()
    expect(page.get_by_role("status")).to_contain_text("微信支付账单-2024-03.csv：共")
    page.goto(f"{live.url}/web/orgs/{org}/statements?period=2024-03")
    upload = page.locator("form", has=page.get_by_role("button", name="上传"))
    upload.get_by_label("对账账户").select_option(label="建行基本户 (银行)")
    upload.get_by_label("对账单文件").set_input_files(str(month.bank_file))
    upload.get_by_role("button", name="上传").click()
    expect(page.get_by_role("status")).to_contain_text("建行流水-2024-03.csv：共")
    expect(page.get_by_role("heading", name="建行基本户")).to_be_visible()

    # Propose, read the reasons, confirm every match but the conflicting one, which is rejected.
    page.get_by_role("button", name="生成匹配建议").click()
    expect(page.get_by_role("status")).to_contain_text("条匹配建议")
    proposals = page.locator("table.matches").first.locator("tbody tr")
    assert proposals.count() >= 4
    expect(proposals.first.locator("ul.reasons")).to_contain_text("金额")
    shot(page, tmp_path, "matches-1366")
    decided = 0
    while page.locator("table.matches").first.locator("tbody tr").count() and decided < 40:
        row = (
            page.locator("section", has=page.get_by_role("heading", name="待确认的匹配"))
            .locator("tbody tr")
            .first
        )
        if "conflict" in (row.get_attribute("class") or ""):
            row.get_by_role("button", name=re.compile("^驳回")).click()
            expect(page.get_by_role("status")).to_contain_text("已驳回")
        else:
            row.get_by_role("button", name=re.compile("^确认")).click()
            expect(page.get_by_role("status")).to_contain_text("已确认")
        decided += 1
        if not page.get_by_role("heading", name="待确认的匹配").count():
            break
        if page.get_by_text("没有待确认的匹配。").count():
            break
    assert decided >= 4
    expect(page.get_by_role("heading", name=re.compile("已确认的匹配"))).to_be_visible()

    # The bank's charges have no entry in the books: each becomes a voucher by the bank-fee rule.
    fees = page.get_by_role("button", name=re.compile("^生成凭证: 银行手续费"))
    posted = 0
    while fees.count() and posted < 20:
        fees.first.click()
        expect(page.get_by_role("status")).to_contain_text("已生成凭证")
        posted += 1
    assert posted == 10  # one 2.00 charge a day, days 1–10
    expect(page.get_by_text("调节后余额相符")).to_be_visible()

    # Download the 银行存款余额调节表 as PDF.
    with page.expect_download() as info:
        page.get_by_role("link", name="下载 PDF").click()
    pdf = tmp_path / "reconciliation.pdf"
    info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert "银行存款余额调节表" in info.value.suggested_filename
    assert "银行存款余额调节表" in pdf_text(pdf)

    # Download the 科目余额表 from the reports page.
    page.goto(f"{live.url}/web/orgs/{org}/reports?period=2024-03")
    row = page.get_by_role("row").filter(has_text="科目余额表")
    with page.expect_download() as info:
        row.get_by_role("link", name=re.compile("PDF")).click()
    tb_pdf = tmp_path / "trial-balance.pdf"
    info.value.save_as(tb_pdf)
    assert tb_pdf.read_bytes().startswith(b"%PDF")

    # Close March.
    page.goto(f"{live.url}/web/orgs/{org}")
    close_form = page.locator("form", has=page.get_by_role("button", name="结账"))
    expect(close_form.get_by_label("会计期间")).to_have_value("2024-03")
    expect(close_form.locator("#closing-months")).to_contain_text("本次将结账: 2024-03")
    close_form.get_by_label("我已核对以上月份，确认结账").check()
    close_form.get_by_role("button", name="结账").click()
    expect(page.get_by_role("status")).to_have_text("2024-03 已结账")
    with write_tx(live.county.engine) as conn:
        assert closed_through(conn, org) == "2024-03"

    page.goto(f"{live.url}/web/")
    expect(page.get_by_role("row").filter(has_text="和平街道村社合股联营集体经济公司")).to_contain_text(
        "2024-04"
    )
    shot(page, tmp_path, "dashboard-after-month-1366")
    page.goto(f"{live.url}/web/orgs/{org}")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Trial balance")).to_be_visible()
    page.get_by_role("link", name="中文").click()
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("heading", name="登录工作台")).to_be_visible()
    assert errors == [], errors  # no CSP violations or script errors on any page
    context.close()


def test_the_close_form_names_every_month_it_will_close_and_asks_first(
    live: LiveServer, browser: object, tmp_path: Path
) -> None:
    """January closed, nothing in February, March booked: the form says it closes 2026-02 and 2026-03, does
    nothing until the officer confirms, then closes exactly those two months."""
    county = live.county
    org = county.ids["dingzikou"]
    seed_month(county)
    with write_tx(county.engine) as conn:
        close_period(conn, org, "2026-01")
        post_entry(
            conn,
            Draft(
                org_id=org,
                entry_date=date(2026, 3, 5),
                memo="收到门面租金",
                lines=[Line("102", debit_fen=300_000), Line("501", credit_fen=300_000)],
            ),
        )
    context = browser.new_context(locale="zh-CN")  # type: ignore[attr-defined]
    page = context.new_page()
    expect = sync_api.expect
    log_in(page, live, "officer")
    page.goto(f"{live.url}/web/orgs/{org}")
    close_form = page.locator("form", has=page.get_by_role("button", name="结账"))
    expect(close_form.get_by_label("会计期间")).to_have_value("2026-03")
    expect(close_form.locator("#closing-months")).to_contain_text("2026-02、2026-03")
    expect(close_form.locator("#closing-months")).to_contain_text("含尚未结账的前期月份 2026-02")
    close_form.get_by_role("button", name="结账").click()  # not confirmed: the browser keeps the form
    page.wait_for_timeout(500)
    expect(page.get_by_role("status")).to_have_count(0)
    with read_tx(county.engine) as conn:
        assert closed_through(conn, org) == "2026-01"
    close_form.get_by_label("我已核对以上月份，确认结账").check()
    close_form.get_by_role("button", name="结账").click()
    expect(page.get_by_role("status")).to_have_text("2026-02、2026-03 已结账")
    with read_tx(county.engine) as conn:
        assert closed_through(conn, org) == "2026-03"
        events = conn.execute(
            text("SELECT period FROM period_event WHERE org_id = :o AND action = 'close' ORDER BY id"),
            {"o": org},
        ).scalars()
        assert list(events) == ["2026-01", "2026-02", "2026-03"]
    shot(page, tmp_path, "close-form-two-months")
    context.close()


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_dashboard_is_readable_on_a_phone(live: LiveServer, browser: object, tmp_path: Path) -> None:
    seed_month(live.county)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, live, "officer")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dashboard scrolls sideways on a phone ({width}px)"
    shot(page, tmp_path, "dashboard-phone")
    page.get_by_role("link", name="丁字口社区").click()
    sync_api.expect(page.get_by_role("heading", name="科目余额表")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "org-phone")

    month = seed_company_march(live.county, tmp_path)
    with write_tx(live.county.engine) as conn:
        (bank,) = [a["id"] for a in list_statement_accounts(conn, month.org) if a["kind"] == "bank"]
        import_statement(conn, month.org, bank, month.bank_file)
        propose_matches(conn, month.org, bank, "2024-03")
    page.goto(f"{live.url}/web/orgs/{month.org}/statements/{bank}?period=2024-03")
    sync_api.expect(page.get_by_role("heading", name=re.compile("待确认的匹配"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, tmp_path, "matches-phone")
    context.close()


def test_community_user_cannot_open_another_orgs_page(live: LiveServer, browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, live, "community")
    sync_api.expect(page.get_by_role("heading", name="丁字口社区", exact=True)).to_be_visible()
    sync_api.expect(page.get_by_role("link", name="花花桥社区")).to_have_count(0)
    response = page.goto(f"{live.url}/web/orgs/{live.county.ids['huahuaqiao']}")
    assert response is not None and response.status == 404
    sync_api.expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    context.close()


def test_a_form_posted_without_the_csrf_token_is_refused_in_the_browser(
    live: LiveServer, browser: object
) -> None:
    seed_month(live.county)
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    log_in(page, live, "officer")
    page.goto(f"{live.url}/web/orgs/{live.county.ids['dingzikou']}")
    # What a forged cross-site form would send: the session cookie goes along, the token cannot.
    page.locator("input[name=csrf_token]").evaluate_all("els => els.forEach(e => e.remove())")
    page.get_by_label("我已核对以上月份，确认结账").check()
    page.get_by_role("button", name="结账").click()
    sync_api.expect(page.get_by_role("heading", name="无权操作")).to_be_visible()
    sync_api.expect(page.get_by_text("表单已失效")).to_be_visible()
    with write_tx(live.county.engine) as conn:
        assert closed_through(conn, live.county.ids["dingzikou"]) is None
    context.close()
