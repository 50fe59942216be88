"""The officer's month on the demo county in Chromium, at 1366 px and at 390 px (issue 17, items 5–7).

The demo leaves January open at the street's joint company with its WeChat trade bill and its bank
statement on disk (``ledger.demo.officer_month``). The officer, in the pages only: imports both files,
proposes and confirms all (the button says how many and their total), matches the WeChat refund day by hand
(64.86 + 225.34 − 18.34 = 271.86 against 记-2026-01-0001, which the matcher does not propose) with the live
sum saying the totals agree, posts the bank's transfer charge by its rule, and closes January with its
confirmation. Then the dashboard shows 0 unmatched lines and the books verify.

Runs on SQLite and PostgreSQL (the demo at a small scale); skipped without Debian's Chromium.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine

from ledger.app import create_app
from ledger.books.periods import closed_through
from ledger.books.verify import verify_all
from ledger.db.engine import read_tx
from ledger.demo.build import build_demo
from ledger.settings import Settings
from tests.factories.browser import free_port, require_chromium, shot

pytestmark = pytest.mark.browser
sync_api = require_chromium()

PASSWORD = "cunshe-demo"


@dataclass
class Demo:
    url: str
    engine: Engine
    company: int
    wechat_file: Path
    bank_file: Path


@pytest.fixture
def demo(engine: Engine, tmp_path: Path) -> Iterator[Demo]:
    statements = tmp_path / "statements"
    result = build_demo(engine, year=2025, seed=2025, scale=0.02, statements_dir=statements)
    company = result.tree.companies["heping"]
    app = create_app(Settings(database_url=str(engine.url)), engine=engine)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield Demo(
        f"http://127.0.0.1:{port}",
        engine,
        company,
        statements / "heping-co-wechat-2026-01.csv",
        statements / "heping-co-bank-2026-01.csv",
    )
    server.should_exit = True
    thread.join(timeout=10)


def no_sideways_scroll(page: object, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert scroll <= width, f"{page.url} scrolls sideways at {width}px ({scroll}px)"  # type: ignore[attr-defined]


@pytest.mark.parametrize("width", [1366, 390])
def test_the_officers_month_on_the_demo(demo: Demo, browser: object, tmp_path: Path, width: int) -> None:
    phone = width < 640
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": width, "height": 844 if phone else 768}, locale="zh-CN", is_mobile=phone
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    expect = sync_api.expect
    org = demo.company

    page.goto(demo.url + "/web/")
    page.get_by_label("用户名").fill("officer-heping")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(demo.url + "/web/")
    expect(page.get_by_role("heading", name="街道总览")).to_be_visible()

    # Import both January files: the statements page opens on January, the first open month.
    for label, path in (
        ("微信支付商户号 (微信支付)", demo.wechat_file),
        ("农商银行基本户 (银行)", demo.bank_file),
    ):
        page.goto(f"{demo.url}/web/orgs/{org}/statements")
        expect(page.get_by_label("会计期间")).to_have_value("2026-01")
        upload = page.locator("form", has=page.get_by_role("button", name="上传"))
        upload.get_by_label("对账账户").select_option(label=label)
        upload.get_by_label("对账单文件").set_input_files(str(path))
        upload.get_by_role("button", name="上传").click()
        expect(page.get_by_role("status")).to_contain_text(f"{path.name}：共")
        # Propose, then confirm all: the button says how many and their total before anything is written.
        page.get_by_role("button", name="生成匹配建议").click()
        expect(page.get_by_role("status")).to_contain_text("条匹配建议")
        confirm_all = page.get_by_role(
            "button", name=re.compile(r"^确认全部 \d+ 条（对账单合计 [\d,]+\.\d\d）$")
        )
        count = int(re.search(r"确认全部 (\d+) 条", confirm_all.inner_text())[1])  # type: ignore[index]
        assert count >= 6
        confirm_all.click()
        expect(page.get_by_role("status")).to_have_text(f"已确认 {count} 条匹配")
        no_sideways_scroll(page, width)

    # The WeChat refund day, by hand: three bill lines against the day's one booked total.
    page.goto(f"{demo.url}/web/orgs/{org}/statements")
    page.get_by_role("row").filter(has_text="微信支付商户号").get_by_role("link", name="核对匹配").click()
    expect(page.get_by_role("heading", name=re.compile("微信支付对账"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("银行存款余额调节表"))).to_have_count(0)
    # The book lines offered are the month's ± 7 days; the officer looks one up by amount, at any date.
    search = page.get_by_role("search", name="查找未勾对的账簿记录")
    search.get_by_label("不限日期").check()
    search.get_by_label("金额").fill("271.86")
    search.get_by_role("button", name="查找账簿记录").click()
    expect(page.get_by_role("checkbox", name=re.compile(r"^选择 记-\d{4}-\d\d-\d{4} "))).to_have_count(1)
    expect(page.get_by_role("search").get_by_label("金额")).to_have_value("271.86")
    live = page.locator(".livesum")
    expect(live).to_have_text("尚未选择")
    for amount in ("64.86", "225.34", "-18.34"):
        page.get_by_role(
            "checkbox", name=re.compile(rf"^选择 2026-01-02 \d\d:\d\d {re.escape(amount)}$")
        ).check()
    expect(live).to_contain_text("合计不等")
    page.get_by_role("checkbox", name="选择 记-2026-01-0001 271.86").check()
    expect(live).to_have_text("已选对账单 271.86，账簿 271.86，差额 0.00 · 合计相等，可以匹配")
    shot(page, tmp_path, f"manual-match-{width}")
    no_sideways_scroll(page, width)
    page.get_by_role("button", name="手工匹配").click()
    expect(page.get_by_role("status")).to_contain_text("已手工匹配")
    expect(page.get_by_text("账单与账面收款已全部勾对")).to_be_visible()

    # The bank's transfer charge, by the bank-fee rule.
    page.goto(f"{demo.url}/web/orgs/{org}/statements")
    page.get_by_role("row").filter(has_text="农商银行基本户").get_by_role("link", name="核对匹配").click()
    page.get_by_role("button", name=re.compile("^生成凭证: 银行手续费")).click()
    expect(page.get_by_role("status")).to_contain_text("已生成凭证")
    expect(page.get_by_text("本月流水已全部勾对。")).to_be_visible()
    expect(page.get_by_text("调节后余额相符")).to_be_visible()
    no_sideways_scroll(page, width)

    # Close January, with its confirmation.
    page.goto(f"{demo.url}/web/orgs/{org}")
    close_form = page.locator("form", has=page.get_by_role("button", name="结账"))
    expect(close_form.get_by_label("会计期间")).to_have_value("2026-01")
    close_form.get_by_label("我已核对以上月份，确认结账").check()
    close_form.get_by_role("button", name="结账").click()
    expect(page.get_by_role("status")).to_have_text("2026-01 已结账")

    page.goto(f"{demo.url}/web/")
    row = page.get_by_role("row").filter(has_text="和平街道村社合股联营集体经济公司")
    expect(row.locator('td[data-label="未勾对流水"]')).to_have_text("0")
    no_sideways_scroll(page, width)
    shot(page, tmp_path, f"dashboard-after-{width}")
    with read_tx(demo.engine) as conn:
        assert closed_through(conn, org) == "2026-01"
        assert verify_all(conn) == []
    assert errors == [], errors  # no CSP violation or script error on any page
    context.close()


def test_a_community_user_of_the_demo_sees_its_own_books_under_its_own_name(
    demo: Demo,
    browser: object,
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(demo.url + "/web/")
    page.get_by_label("用户名").fill("community-dingzikou")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(demo.url + "/web/")
    expect = sync_api.expect
    expect(page.get_by_role("heading", name="丁字口社区", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="街道总览")).to_have_count(0)
    expect(page.get_by_role("heading", name="公益性岗位")).to_be_visible()
    expect(page.locator("table.welfare tbody tr").first).to_be_visible()
    assert "街道财务工作台" not in page.content()
    with page.expect_download() as info:
        page.get_by_role("button", name="下载公开榜 PDF").click()
    assert info.value.suggested_filename.endswith(".pdf")
    no_sideways_scroll(page, 390)
    page.get_by_role("link", name="查看租金台账和欠租账龄").click()
    expect(page.get_by_text("只读：社区账户可以查看租金台账")).to_be_visible()
    context.close()
